use crate::{Batch, MixRng, Mixed, Result};

/// Which mode the model is in during a saliency pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelMode {
    /// Batch statistics; BN running statistics are updated.
    Train,
    /// Running statistics; nothing in the model changes.
    Eval,
}

/// The loss whose input gradient a saliency pass computes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SaliencyLoss {
    /// Mean cross-entropy against the true labels, times `scale`.
    CrossEntropy {
        /// Factor applied to the loss (and so to every gradient of the pass).
        scale: f64,
    },
    /// Binary cross-entropy on softmax outputs against one-hot labels (the training loss of
    /// the reference scripts), times `scale`.
    BceSoftmax {
        /// Factor applied to the loss.
        scale: f64,
    },
}

/// What happens to the parameter gradients of a saliency pass.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamGrads {
    /// Only the input gradient is computed; parameter gradients are never formed.
    Discard,
    /// Parameter gradients are kept and added to those of the mixed batch before the single
    /// optimizer step (SAGE's `update_ratio`, Co-Mixup's `clean_lam`); the loss scale of the
    /// pass already weights them.
    Keep,
}

/// A method's request for model saliency, answered by the engine before [`MixMethod::mix`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SaliencyRequest {
    /// Model mode during the pass.
    pub mode: ModelMode,
    /// Loss differentiated.
    pub loss: SaliencyLoss,
    /// Fate of the pass's parameter gradients.
    pub param_grads: ParamGrads,
}

/// A mixing method: takes a batch, returns mixed images and soft targets.
///
/// Implementations are pure functions of the batch and the random stream: same batch, same
/// stream state, same result on CPU.
pub trait MixMethod: Send {
    /// Registry name of the method.
    fn name(&self) -> &'static str;

    /// The saliency pass this method needs, if any; `None` for methods that look only at the
    /// images.
    fn saliency(&self) -> Option<SaliencyRequest> {
        None
    }

    /// Weight of the mixed batch's loss in the update; SAGE weights it by `update_ratio` and
    /// the kept saliency-pass gradients by `1 - update_ratio`. 1 for every other method.
    fn mixed_loss_scale(&self) -> f64 {
        1.0
    }

    /// Mixes one batch. Draws come from `rng` unless the batch fixes them.
    fn mix(&self, batch: &Batch, rng: &mut MixRng) -> Result<Mixed>;
}
