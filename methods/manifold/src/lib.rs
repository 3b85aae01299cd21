//! Manifold Mixup (Verma et al., "Manifold Mixup: Better Representations by Interpolating
//! Hidden States", ICML 2019), as the SAGE / Puzzle Mix / Co-Mixup training scripts run it on
//! CIFAR (`--method manifold`, `alpha = 2.0`, mixing layers {0, 1, 2}).
//!
//! Per batch: a mixing layer `k` uniform in `min_layer..=max_layer`, then a partner
//! permutation `pi`, then `lam ~ Beta(alpha, alpha)` (the reference's draw order: layer,
//! permutation, lambda). Layer 0 is Input Mixup with this `alpha` (the [`Mixup`] code runs).
//! Layer `k >= 1` mixes the model's hidden state after its `k`-th stage,
//! `h_mix = lam h + (1 - lam) h_pi`, so the method returns the unmixed images with
//! [`MixSite::Hidden`] and the model applies [`Mixed::blend_hidden`] during its forward pass.
//! Targets are `lam e(y) + (1 - lam) e(y_pi)` at every layer. Where each model's stages end:
//! `docs/methods/manifold.md`.

use mixbench_core::{
    method_params, targets, Batch, MethodInfo, MixError, MixMethod, MixRng, MixSite, Mixed, Result,
};
use mixbench_mixup::Mixup;
use tch::{Kind, Tensor};

/// The deepest mixing layer every model offers (after its second stage, as in the reference).
pub const DEEPEST_LAYER: usize = 2;

method_params! {
    /// Parameters of [`ManifoldMixup`] (`--set key=value`, suite files); the defaults are the
    /// CIFAR commands of the SAGE, Puzzle Mix and Co-Mixup scripts (see
    /// docs/methods/manifold.md).
    pub struct ManifoldParams for "manifold" {
        /// Beta(alpha, alpha) parameter of lambda; 0 disables mixing (lambda = 1)
        pub alpha: f64 = 2.0,
        /// shallowest mixing layer drawn (0 = the input)
        pub min_layer: usize = 0,
        /// deepest mixing layer drawn (1, 2 = after the model's first, second stage)
        pub max_layer: usize = DEEPEST_LAYER,
    }
    fn validate(&self) -> mixbench_core::ParamResult<()> {
        Self::in_range("alpha", self.alpha, 0.0, 1e6)?;
        if self.max_layer > DEEPEST_LAYER {
            return Err(Self::bad(
                "max_layer",
                self.max_layer,
                &format!("a layer in 0..={DEEPEST_LAYER} (the models mix at most after their second stage)"),
            ));
        }
        if self.min_layer > self.max_layer {
            return Err(Self::bad(
                "min_layer",
                self.min_layer,
                &format!("a layer no deeper than max_layer = {}", self.max_layer),
            ));
        }
        Ok(())
    }
}

/// Manifold Mixup: Mixup of the input or of a hidden state, the layer drawn per batch.
#[derive(Clone, Copy, Debug)]
pub struct ManifoldMixup {
    /// Beta parameter; the CIFAR reproduction forces 2.0.
    pub alpha: f64,
    /// Shallowest layer drawn.
    pub min_layer: usize,
    /// Deepest layer drawn.
    pub max_layer: usize,
}

impl From<ManifoldParams> for ManifoldMixup {
    fn from(p: ManifoldParams) -> Self {
        ManifoldMixup {
            alpha: p.alpha,
            min_layer: p.min_layer,
            max_layer: p.max_layer,
        }
    }
}

impl Default for ManifoldMixup {
    /// [`ManifoldParams`]' defaults.
    fn default() -> Self {
        ManifoldParams::default().into()
    }
}

impl ManifoldMixup {
    /// The layer of this batch: the batch's own when it fixes one (checked against the
    /// configured range), else a uniform draw from `min_layer..=max_layer`.
    fn layer(&self, batch: &Batch, rng: &mut MixRng) -> Result<usize> {
        match batch.layer {
            Some(k) if k > self.max_layer => Err(MixError::Shape(format!(
                "`layer` {k} is deeper than max_layer = {}",
                self.max_layer
            ))),
            Some(k) => Ok(k),
            None => Ok(self.min_layer + rng.below(self.max_layer - self.min_layer + 1)),
        }
    }
}

impl MixMethod for ManifoldMixup {
    fn name(&self) -> &'static str {
        "manifold"
    }

    fn max_mix_layer(&self) -> usize {
        self.max_layer
    }

    fn mix(&self, batch: &Batch, rng: &mut MixRng) -> Result<Mixed> {
        let layer = self.layer(batch, rng)?;
        if layer == 0 {
            return Mixup { alpha: self.alpha }.mix(batch, rng);
        }
        let perm = targets::partner(batch, rng)?;
        let lam = batch.lam.unwrap_or_else(|| rng.lambda(self.alpha));
        let lam = Tensor::full([batch.len()], lam, (Kind::Float, batch.images.device()));
        Ok(Mixed {
            images: batch.images.shallow_clone(),
            targets: targets::pairwise(&batch.labels, &perm, &lam, batch.num_classes),
            mask: None,
            lam,
            perm,
            extras: Vec::new(),
            site: MixSite::Hidden(layer),
        })
    }
}

/// Registry entry of [`ManifoldMixup`].
pub fn info() -> MethodInfo {
    MethodInfo::of::<ManifoldParams, ManifoldMixup>(
        "Manifold Mixup (Verma et al., ICML 2019): Mixup of the input or a hidden state",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use mixbench_core::MethodParams;
    use tch::Device;

    fn batch(b: i64) -> Batch {
        tch::manual_seed(0);
        let images = Tensor::randn([b, 3, 4, 4], (Kind::Float, Device::Cpu));
        Batch::new(images, Tensor::arange(b, (Kind::Int64, Device::Cpu)), b)
    }

    #[test]
    fn layer_zero_is_mixup_with_the_same_draws() {
        let mut batch = batch(6);
        batch.layer = Some(0);
        let method = ManifoldMixup::default();
        let ours = method.mix(&batch, &mut MixRng::seed_from(4)).unwrap();
        let mixup = Mixup { alpha: 2.0 }
            .mix(&batch, &mut MixRng::seed_from(4))
            .unwrap();
        assert_eq!(ours.site, MixSite::Input);
        assert!(ours.images.equal(&mixup.images));
        assert!(ours.targets.equal(&mixup.targets));
        assert!(ours.perm.equal(&mixup.perm));
    }

    #[test]
    fn hidden_layers_return_the_input_and_mix_hidden_states_by_the_formula() {
        let mut batch = batch(4);
        batch.layer = Some(2);
        batch.perm = Some(Tensor::from_slice(&[2i64, 0, 3, 1]));
        batch.lam = Some(0.25);
        let out = ManifoldMixup::default()
            .mix(&batch, &mut MixRng::seed_from(0))
            .unwrap();
        assert_eq!(out.site, MixSite::Hidden(2));
        assert!(out.images.equal(&batch.images));
        assert!(out.mask.is_none());
        let h = Tensor::randn([4, 5, 2, 2], (Kind::Float, Device::Cpu));
        let expected = &h * 0.25 + h.index_select(0, &Tensor::from_slice(&[2i64, 0, 3, 1])) * 0.75;
        assert!(out.blend_hidden(&h).allclose(&expected, 1e-7, 1e-7, false));
        let t = Vec::<f32>::try_from(out.targets.flatten(0, -1)).unwrap();
        // Sample 0 keeps 0.25 of class 0 and takes 0.75 of its partner's class 2.
        assert_eq!(&t[0..4], &[0.25, 0.0, 0.75, 0.0]);
    }

    /// The reference draws `randint(0, 2)`: each of the three layers with probability 1/3.
    #[test]
    fn layer_draws_cover_the_official_set_uniformly() {
        let method = ManifoldMixup::default();
        let batch = batch(2);
        let mut rng = MixRng::seed_from(1);
        let mut counts = [0usize; DEEPEST_LAYER + 1];
        let n = 30_000;
        for _ in 0..n {
            counts[method.layer(&batch, &mut rng).unwrap()] += 1;
        }
        for (layer, &c) in counts.iter().enumerate() {
            let p = c as f64 / n as f64;
            // 5 standard errors of a proportion of 1/3 over 30,000 draws is 0.0136.
            assert!((p - 1.0 / 3.0).abs() < 0.0136, "layer {layer}: {p}");
        }
    }

    #[test]
    fn layer_range_is_respected_and_checked() {
        let method: ManifoldMixup = ManifoldParams {
            min_layer: 1,
            max_layer: 1,
            ..Default::default()
        }
        .into();
        let mut batch = batch(2);
        let mut rng = MixRng::seed_from(2);
        assert!((0..50).all(|_| method.layer(&batch, &mut rng).unwrap() == 1));
        batch.layer = Some(2);
        assert!(method.mix(&batch, &mut rng).is_err());
        let bad = ManifoldParams {
            min_layer: 2,
            max_layer: 1,
            ..Default::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("min_layer"));
        let deep = ManifoldParams {
            max_layer: 3,
            ..Default::default()
        };
        assert!(deep
            .validate()
            .unwrap_err()
            .to_string()
            .contains("max_layer"));
    }
}
