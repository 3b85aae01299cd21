//! Input Mixup (Zhang et al., "mixup: Beyond Empirical Risk Minimization", ICLR 2018), as the
//! SAGE/Puzzle Mix training scripts run it on CIFAR (`--method input`, `alpha = 1.0`).
//!
//! Per batch: a partner permutation `pi`, then `lam ~ Beta(alpha, alpha)`;
//! `x_mix = lam x + (1 - lam) x_pi` in normalised space, target
//! `lam e(y) + (1 - lam) e(y_pi)`. Draw order in mixbench: permutation, `lam`.

use mixbench_core::{
    method_params, targets, Batch, MethodInfo, MixMethod, MixRng, MixSite, Mixed, Result,
};
use tch::{Kind, Tensor};

method_params! {
    /// Parameters of [`Mixup`] (`--set key=value`, suite files); the defaults are the CIFAR
    /// commands of the SAGE and Puzzle Mix scripts (see docs/methods/mixup.md).
    pub struct MixupParams for "mixup" {
        /// Beta(alpha, alpha) parameter of lambda; 0 disables mixing (lambda = 1)
        pub alpha: f64 = 1.0,
    }
    fn validate(&self) -> mixbench_core::ParamResult<()> {
        Self::in_range("alpha", self.alpha, 0.0, 1e6)
    }
}

/// Input Mixup with a per-batch `lam ~ Beta(alpha, alpha)`.
#[derive(Clone, Copy, Debug)]
pub struct Mixup {
    /// Beta parameter; the CIFAR reproduction forces 1.0.
    pub alpha: f64,
}

impl From<MixupParams> for Mixup {
    fn from(p: MixupParams) -> Self {
        Mixup { alpha: p.alpha }
    }
}

impl Default for Mixup {
    /// [`MixupParams`]' defaults.
    fn default() -> Self {
        MixupParams::default().into()
    }
}

impl MixMethod for Mixup {
    fn name(&self) -> &'static str {
        "mixup"
    }

    fn mix(&self, batch: &Batch, rng: &mut MixRng) -> Result<Mixed> {
        let perm = targets::partner(batch, rng)?;
        let lam = batch.lam.unwrap_or_else(|| rng.lambda(self.alpha));
        let x = &batch.images;
        let images = x * lam + x.index_select(0, &perm) * (1.0 - lam);
        let size = x.size();
        let options = (Kind::Float, x.device());
        let lam_per_sample = Tensor::full([size[0]], lam, options);
        Ok(Mixed {
            site: MixSite::Input,
            targets: targets::pairwise(&batch.labels, &perm, &lam_per_sample, batch.num_classes),
            mask: Some(Tensor::full([size[0], 1, size[2], size[3]], lam, options)),
            images,
            lam: lam_per_sample,
            perm,
            extras: Vec::new(),
        })
    }
}

/// Registry entry of [`Mixup`].
pub fn info() -> MethodInfo {
    MethodInfo::of::<MixupParams, Mixup>(
        "Input Mixup (Zhang et al., ICLR 2018): convex combination of image pairs",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(lam: f64, perm: &[i64]) -> Batch {
        let b = perm.len() as i64;
        let images = Tensor::randn([b, 3, 4, 4], (Kind::Float, tch::Device::Cpu));
        let mut batch = Batch::new(
            images,
            Tensor::arange(b, (Kind::Int64, tch::Device::Cpu)),
            b,
        );
        batch.perm = Some(Tensor::from_slice(perm));
        batch.lam = Some(lam);
        batch
    }

    #[test]
    fn mixes_exactly_as_the_formula() {
        let batch = batch(0.3, &[1, 2, 0]);
        let out = Mixup::default()
            .mix(&batch, &mut MixRng::seed_from(0))
            .unwrap();
        let x = &batch.images;
        let expected = x * 0.3 + x.index_select(0, &Tensor::from_slice(&[1i64, 2, 0])) * 0.7;
        assert!(out.images.allclose(&expected, 0.0, 0.0, false));
        let t = Vec::<f32>::try_from(out.targets.flatten(0, -1)).unwrap();
        // Sample 0 keeps 0.3 of class 0 and takes 0.7 of class 1 (its partner's label).
        assert_eq!(&t[0..3], &[0.3, 0.7, 0.0]);
    }

    #[test]
    fn lam_one_returns_the_batch() {
        let batch = batch(1.0, &[2, 0, 1]);
        let out = Mixup::default()
            .mix(&batch, &mut MixRng::seed_from(0))
            .unwrap();
        assert!(out.images.equal(&batch.images));
    }
}
