//! Vanilla training: no mixing. Targets are the one-hot labels.

use tch::{Kind, Tensor};

use crate::{method_params, targets, Batch, MethodInfo, MixMethod, MixRng, MixSite, Mixed, Result};

method_params! {
    /// Parameters of [`Vanilla`]: none.
    pub struct VanillaParams for "vanilla" {}
}

/// The identity method: returns the batch unchanged with one-hot targets.
#[derive(Clone, Copy, Debug, Default)]
pub struct Vanilla;

impl From<VanillaParams> for Vanilla {
    fn from(_: VanillaParams) -> Self {
        Vanilla
    }
}

impl MixMethod for Vanilla {
    fn name(&self) -> &'static str {
        "vanilla"
    }

    fn mix(&self, batch: &Batch, _rng: &mut MixRng) -> Result<Mixed> {
        let b = batch.len();
        let device = batch.images.device();
        Ok(Mixed {
            site: MixSite::Input,
            images: batch.images.shallow_clone(),
            targets: targets::one_hot(&batch.labels, batch.num_classes),
            mask: None,
            lam: Tensor::ones([b], (Kind::Float, device)),
            perm: Tensor::arange(b, (Kind::Int64, device)),
            extras: Vec::new(),
        })
    }
}

/// Registry entry of [`Vanilla`].
pub fn info() -> MethodInfo {
    MethodInfo::of::<VanillaParams, Vanilla>(
        "no mixing: one-hot targets (the baseline of every comparison)",
    )
}
