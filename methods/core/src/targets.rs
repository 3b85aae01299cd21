//! Soft-target helpers shared by the pairwise methods.

use tch::{Kind, Tensor};

use crate::{Batch, MixRng, Result};

/// One-hot rows, f32 `[B, K]`.
pub fn one_hot(labels: &Tensor, num_classes: i64) -> Tensor {
    labels.one_hot(num_classes).to_kind(Kind::Float)
}

/// `r_i e(y_i) + (1 - r_i) e(y_perm[i])` per sample, f32 `[B, K]`; `r` is f32 `[B]`.
pub fn pairwise(labels: &Tensor, perm: &Tensor, r: &Tensor, num_classes: i64) -> Tensor {
    let own = one_hot(labels, num_classes);
    let partner = own.index_select(0, perm);
    let r = r.unsqueeze(1);
    &own * &r + partner * (1.0 - r)
}

/// The batch's fixed permutation, or one drawn from `rng`, as i64 `[B]` on the images'
/// device.
pub fn partner(batch: &Batch, rng: &mut MixRng) -> Result<Tensor> {
    let device = batch.images.device();
    Ok(match &batch.perm {
        Some(perm) => perm.to_kind(Kind::Int64).to_device(device),
        None => Tensor::from_slice(&rng.permutation(batch.len() as usize)).to_device(device),
    })
}
