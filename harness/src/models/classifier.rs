//! The interface every model implements, below the models themselves.

use tch::Tensor;

/// A classifier: features, then a linear head.
pub trait Classifier: Send {
    /// Penultimate features `[B, D]` (after global pooling, before the linear head).
    fn features_t(&self, xs: &Tensor, train: bool) -> Tensor;

    /// Logits `[B, K]` from penultimate features.
    fn head(&self, features: &Tensor) -> Tensor;

    /// Logits `[B, K]`; `train` selects batch statistics (and updates BN running stats).
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.head(&self.features_t(xs, train))
    }
}
