//! The interface every model implements, below the models themselves.

use tch::Tensor;

/// A rewrite of one hidden state during a forward pass: Manifold Mixup's mix of the state at
/// mixing layer `layer` (0: the input images; `k >= 1`: the output of the model's `k`-th
/// stage, as each model documents).
pub struct MixHook<'a> {
    /// Mixing layer whose state is rewritten.
    pub layer: usize,
    /// The rewrite, `[B, ...] -> [B, ...]` of the same shape.
    pub mix: &'a dyn Fn(&Tensor) -> Tensor,
}

impl MixHook<'_> {
    /// `h` rewritten when `k` is this hook's layer, else `h` unchanged; a model calls this at
    /// every mixing layer `k` of its forward pass.
    pub fn at(hook: Option<&MixHook>, k: usize, h: Tensor) -> Tensor {
        match hook {
            Some(hook) if hook.layer == k => (hook.mix)(&h),
            _ => h,
        }
    }
}

/// A classifier: features, then a linear head.
pub trait Classifier: Send {
    /// Hidden mixing layers the model offers (`1..=n`, after its first `n` stages); each
    /// model offers the reference's two.
    fn hidden_mix_layers(&self) -> usize;

    /// Penultimate features `[B, D]` (after global pooling, before the linear head), with the
    /// hidden state at `hook`'s layer rewritten when a hook is given; `train` selects batch
    /// statistics (and updates BN running stats).
    fn features_hooked_t(&self, xs: &Tensor, train: bool, hook: Option<&MixHook>) -> Tensor;

    /// Logits `[B, K]` from penultimate features.
    fn head(&self, features: &Tensor) -> Tensor;

    /// Whether a training forward pass draws from libtorch's global generator (dropout):
    /// training then seeds it before every step, so that a step resumed from a checkpoint
    /// draws what it drew the first time.
    fn draws_randomness(&self) -> bool {
        false
    }

    /// Penultimate features `[B, D]` of the plain forward pass.
    fn features_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.features_hooked_t(xs, train, None)
    }

    /// Logits `[B, K]`; `train` selects batch statistics (and updates BN running stats).
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.head(&self.features_t(xs, train))
    }

    /// Logits `[B, K]` of a forward pass whose hidden state at `hook`'s layer is rewritten.
    fn forward_hooked_t(&self, xs: &Tensor, train: bool, hook: &MixHook) -> Tensor {
        self.head(&self.features_hooked_t(xs, train, Some(hook)))
    }
}
