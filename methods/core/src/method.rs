use tch::Tensor;

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
    /// Mean cross-entropy divided by the number of classes `K`, times `scale`: the
    /// "clean input regularisation" pass of Puzzle Mix and Co-Mixup (`2 clean_lam CE / K`),
    /// whose parameter gradients join the update.
    CrossEntropyPerClass {
        /// Factor applied to `CE / K`.
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

impl SaliencyRequest {
    /// The saliency pass of the Puzzle Mix and Co-Mixup scripts: with `clean_lam = 0`, the
    /// mean cross-entropy in eval mode, input gradient only; with `clean_lam > 0`, train mode
    /// and `2 clean_lam CE / K`, whose parameter gradients join the update ("clean input
    /// regularisation").
    pub fn clean_input(clean_lam: f64) -> Self {
        if clean_lam > 0.0 {
            SaliencyRequest {
                mode: ModelMode::Train,
                loss: SaliencyLoss::CrossEntropyPerClass {
                    scale: 2.0 * clean_lam,
                },
                param_grads: ParamGrads::Keep,
            }
        } else {
            SaliencyRequest {
                mode: ModelMode::Eval,
                loss: SaliencyLoss::CrossEntropy { scale: 1.0 },
                param_grads: ParamGrads::Discard,
            }
        }
    }
}

/// A random input perturbation a method asks for before its saliency pass (Puzzle Mix's
/// adversarial option): the engine runs the pass on `clamp(u + noise, 0, 1)`, renormalised,
/// where `u` is the batch in pixel units, and hands the perturbation back to
/// [`MixMethod::mix`] in [`crate::Batch::perturbation`].
#[derive(Debug)]
pub struct Perturbation {
    /// Pixel-unit noise, f32 `[B, C, H, W]`, already clamped so that `u + noise` lies in
    /// `[0, 1]`.
    pub noise: tch::Tensor,
    /// Method-specific switches drawn with the noise (Puzzle Mix: whether the image and
    /// whether the partner receive it).
    pub flags: Vec<bool>,
}

impl Perturbation {
    /// The perturbation that keeps `u + noise` in `[0, 1]`: `clamp(u + raw, 0, 1) - u`, from
    /// normalised `images` and raw pixel-unit noise.
    pub fn clamped(
        images: &tch::Tensor,
        raw: &tch::Tensor,
        mean: &[f64],
        std: &[f64],
        flags: Vec<bool>,
    ) -> Self {
        let pixels = crate::batch::to_pixels(images, mean, std);
        let noise = (&pixels + raw).clamp(0.0, 1.0) - &pixels;
        Perturbation { noise, flags }
    }

    /// The normalised batch the saliency pass sees.
    pub fn apply(&self, images: &tch::Tensor, mean: &[f64], std: &[f64]) -> tch::Tensor {
        let pixels = crate::batch::to_pixels(images, mean, std);
        crate::batch::from_pixels(&(pixels + &self.noise).clamp(0.0, 1.0), mean, std)
    }
}

/// How a method forms its outputs from its inputs, which says what [`Mixed::mask`] and
/// [`Mixed::perm`] mean (and which invariants a test can check on them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Composition {
    /// Each output blends its own image with its partner's in place:
    /// `mixed = mask x + (1 - mask) x[perm]` (Mixup, CutMix, SaliencyMix; Vanilla with no
    /// mask). Mixing an image with itself returns it.
    Blend,
    /// As [`Composition::Blend`], but of transformed sources (SAGE translates the partner,
    /// Puzzle Mix transports blocks or adds adversarial noise): the mask weighs the
    /// transformed images, and mixing an image with itself still changes it.
    Transformed,
    /// Each output mixes many inputs, with no own image or partner (Co-Mixup): no mask, the
    /// identity `perm`, and targets that may weigh any label of the output's partition.
    Joint,
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

    /// A perturbation of the saliency pass's input, drawn before the pass; `None` (the
    /// default) for an unperturbed pass.
    fn perturbation(&self, _batch: &Batch, _rng: &mut MixRng) -> Result<Option<Perturbation>> {
        Ok(None)
    }

    /// The saliency map `[B, H, W]` this method uses per image (what `mixbench saliency`
    /// writes), or `None` (the default) for a method that uses none. Methods whose map comes
    /// from the input gradient fail with [`crate::MixError::MissingInput`] when the batch has
    /// no `grad`.
    fn saliency_map(&self, _batch: &Batch) -> Result<Option<Tensor>> {
        Ok(None)
    }

    /// How the outputs are formed from the inputs; [`Composition::Blend`] by default.
    fn composition(&self) -> Composition {
        Composition::Blend
    }

    /// The deepest mixing layer this method may draw (see [`crate::MixSite`]): 0, the
    /// default, for methods that only mix inputs. Training checks that the model offers it.
    fn max_mix_layer(&self) -> usize {
        0
    }

    /// Weight of the mixed batch's loss in the update; SAGE weights it by `update_ratio` and
    /// the kept saliency-pass gradients by `1 - update_ratio`. 1 for every other method.
    fn mixed_loss_scale(&self) -> f64 {
        1.0
    }

    /// Mixes one batch. Draws come from `rng` unless the batch fixes them.
    fn mix(&self, batch: &Batch, rng: &mut MixRng) -> Result<Mixed>;
}
