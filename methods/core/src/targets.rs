//! Soft-target helpers shared by the pairwise methods.

use tch::{Kind, Tensor};

use crate::maps::HostTensor;
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

/// [`pairwise`] written from the host, bit for bit, as an f32 CPU tensor `[B, K]`: per element
/// `own * r_i + partner * (1 - r_i)` in `f32` with one-hot `own` and `partner`, each operation
/// rounded once as in libtorch's element-wise kernels, but without a libtorch kernel (none
/// opens a parallel region whose worker threads then spin on the cores the caller needs).
/// `labels`, `perm` (the partner of each sample) and `r` have one entry per sample.
pub fn pairwise_host(labels: &[i64], perm: &[i64], r: &[f32], num_classes: i64) -> Tensor {
    let mut targets = HostTensor::empty(&[labels.len() as i64, num_classes]);
    let classes = num_classes as usize;
    if classes > 0 {
        let rows = targets.as_mut_slice().chunks_exact_mut(classes);
        for (((row, &r), &own), &p) in rows.zip(r).zip(labels).zip(perm) {
            let partner = labels[p as usize];
            let rest = 1.0 - r;
            for (k, t) in row.iter_mut().enumerate() {
                let own = if k as i64 == own { 1.0f32 } else { 0.0 };
                let partner = if k as i64 == partner { 1.0f32 } else { 0.0 };
                *t = own * r + partner * rest;
            }
        }
    }
    targets.into_tensor()
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

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn host_pairwise_targets_are_bit_exact() {
        // Random weights (with 0 and 1) and labels from few classes, so that many samples share
        // their partner's label.
        tch::manual_seed(6);
        for (b, k) in [(50i64, 3i64), (100, 10), (7, 100), (0, 5)] {
            let labels = Tensor::randint(k.min(4), [b], (Kind::Int64, Device::Cpu));
            let perm = Tensor::randperm(b, (Kind::Int64, Device::Cpu));
            let r = Tensor::rand([b], (Kind::Float, Device::Cpu));
            if b > 2 {
                let _ = r.get(0).fill_(0.0);
                let _ = r.get(1).fill_(1.0);
            }
            let want = pairwise(&labels, &perm, &r, k);
            let host = |t: &Tensor| Vec::<i64>::try_from(t).unwrap();
            let r_host = Vec::<f32>::try_from(&r).unwrap();
            let got = pairwise_host(&host(&labels), &host(&perm), &r_host, k);
            assert_eq!(got.size(), want.size());
            assert!(got.equal(&want), "b {b} k {k}");
        }
    }
}
