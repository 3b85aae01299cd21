//! SAGE (Ma et al., "SAGE: Saliency-Guided Mixup with Optimal Rearrangements", BMVC 2022), as
//! the official code computes it (SamsungLabs/SAGE, `main.py --method sage` and
//! `utils_SAGE.py::sage`; see `docs/methods/sage.md`).
//!
//! Per batch (`r = update_ratio`):
//! 1. Saliency pass (the engine, [`MixMethod::saliency`]): the input gradient of
//!    `BCE(softmax(f(x)), e(y))`, times `1 - r` when `r != 1`, in train mode (eval mode with
//!    `eval_mode = true`). Its parameter gradients are kept and added to the mixed batch's,
//!    whose loss is weighted by `r` ([`MixMethod::mixed_loss_scale`]); with `r = 1` they are
//!    discarded (the reference zeroes them).
//! 2. Saliency `s = mean_c |g|`, blurred by torchvision's `GaussianBlur(blur_kernel,
//!    blur_sigma)` (reflect padding) ([`saliency`]).
//! 3. `alpha = draw_lambda(mixup_alpha) * upper_lambda` (0.5 instead of the draw when
//!    `mixup_alpha = 0`); one per batch. A batch's fixed `lam` replaces the draw (it is scaled
//!    by `upper_lambda` here).
//! 4. Partner permutation `pi`; own map `s1 = max(alpha, 1e-12) s / sum(s)`, partner map
//!    `s2 = max(1 - alpha, 1e-12) s_pi / sum(s_pi)`.
//! 5. Candidate shifts: a uniformly random subset (without replacement, random order) of
//!    `floor((2H - 1)(2W - 1) rand_pos)` of all translations (39 of 3969 on CIFAR at
//!    `rand_pos = 0.01`), shared by the batch; `rand_pos = 1` searches all of them, in the
//!    reference's enumeration order, with no draw. A subset of size 0 is an error (the
//!    reference crashes).
//! 6. Per image, the candidate `d*` maximising `sum_p s1 M + t (1 - M)` with `t = Sh_d s2`,
//!    `M = s1 / max(s1 + t, 1e-16)` (first maximum) ([`search`]).
//! 7. `x_mix = M x + (1 - M) Sh_{d*}(x_pi)`, `lam_i = mean M`, target
//!    `lam_i e(y_i) + (1 - lam_i) e(y_pi(i))`.
//!
//! Draw order in mixbench: `alpha` draw, permutation, candidate subset.
//!
//! Outputs: mask `M` `[B, 1, H, W]`; extras `shift` i64 `[B, 2]`, the chosen `(dr, dc)`
//! (the partner's content moves down `dr` rows and right `dc` columns; the reference's
//! `best_ij` is `(dr + w, dc + w)`).
//!
//! Defaults ([`SageParams`]; see `docs/methods/sage.md`, *Settings per model*): the SAGE
//! README's CIFAR-100 PreActResNet18 command. The README commands share `mixup_alpha`,
//! `rand_pos`, the blur and `eval_mode`, and differ in:
//!
//! | setting | `upper_lambda` | `update_ratio` |
//! |---|---|---|
//! | CIFAR-10, PreActResNet18 | 0.6 | 0.7 |
//! | CIFAR-100, PreActResNet18 (default) | 0.5 | 0.7 |
//! | CIFAR-100, ResNeXt29-4x24d | 0.7 | 0.5 |
//! | CIFAR-100, WRN16-8 | 0.7 | 0.5 |
//!
//! The script's own defaults, which every command overrides, are `rand_pos = 0.5`,
//! `upper_lambda = 1.0`, `update_ratio = 1.0`, and no `mixup_alpha`.
//!
//! Implementation (`search` parameter): on CPU batches the whole step runs as plain Rust on
//! host slices with rayon ([`native`]); elsewhere as batched tensor ops on the batch's device
//! (gather-based shifted windows, candidates in chunks, no `3w x 3w` canvas, no per-image
//! loop). Neither has a per-image loop over candidates. Both match the official `sage()` to
//! < 1e-6 on the parity fixture (`tests/official_parity.rs`). The native step opens no libtorch
//! parallel region (inputs read in place, outputs written into their tensors by the workers);
//! CPU figures in `docs/methods/sage.md`, *Performance*.
//!
//! One deviation: a saliency map that sums to 0 (an all-zero input gradient) gives NaN in the
//! reference; here it is treated as all-zero (the sum is floored at the smallest normal f32).

pub mod native;
pub mod search;

use mixbench_core::maps::{HostTensor, HostView};
use mixbench_core::{
    method_params, targets, Batch, Composition, MethodInfo, MixError, MixMethod, MixRng, MixSite,
    Mixed, ModelMode, ParamGrads, Params, Result, SaliencyLoss, SaliencyRequest,
};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Candidates scored at once by the tensor search (`[B, chunk, H W]` values).
const TENSOR_CHUNK: usize = 128;

/// Implementation of the mixing step (saliency to mixed images); written `auto`, `native` or
/// `tensor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchImpl {
    /// Native for CPU batches, tensor code elsewhere.
    Auto,
    /// Plain Rust with rayon on the host ([`native`]); the batch is copied to the host and
    /// the results back.
    Native,
    /// Batched tensor code on the batch's device: gather-based shifted windows, candidates
    /// scored `[B, 128, H W]` at a time ([`search::scores_tensor`]).
    Tensor,
}

method_params! {
    /// Parameters of [`Sage`] (`--set key=value`, suite files); the defaults are the SAGE
    /// README's CIFAR-100 PreActResNet18 command (see docs/methods/sage.md).
    pub struct SageParams for "sage" {
        /// scale of the lambda draw (README: 0.6 C10/PreActResNet18, 0.5 C100/PreActResNet18, 0.7 C100/ResNeXt29 and WRN16-8)
        pub upper_lambda: f64 = 0.5,
        /// weight of the mixed loss; the saliency pass's gradients get 1 - update_ratio (README: 0.7 PreActResNet18, 0.5 ResNeXt29 and WRN16-8)
        pub update_ratio: f64 = 0.7,
        /// fraction of the (2w-1)^2 candidate shifts searched per batch; 1 searches all
        pub rand_pos: f64 = 0.01,
        /// Beta(alpha, alpha) parameter of the lambda draw; 0 uses 0.5
        pub mixup_alpha: f64 = 1.0,
        /// Gaussian blur kernel size (odd)
        pub blur_kernel: i64 = 5,
        /// Gaussian blur sigma
        pub blur_sigma: f64 = 1.0,
        /// saliency pass with the model in eval mode (running BN statistics)
        pub eval_mode: bool = false,
        /// implementation of the mixing step: native (plain Rust with rayon on the host), tensor (batched tensor ops on the batch's device) or auto (native for CPU batches, tensor elsewhere); same result up to rounding
        pub search: SearchImpl = SearchImpl::Auto,
    }
    fn validate(&self) -> mixbench_core::ParamResult<()> {
        if self.blur_kernel < 1 || self.blur_kernel % 2 == 0 {
            return Err(Self::bad("blur_kernel", self.blur_kernel, "a positive odd integer"));
        }
        Self::in_range("rand_pos", self.rand_pos, 0.0, 1.0)?;
        if self.rand_pos <= 0.0 {
            return Err(Self::bad("rand_pos", self.rand_pos, "a fraction in (0, 1]"));
        }
        Self::in_range("blur_sigma", self.blur_sigma, 0.0, 1e6)?;
        if self.blur_sigma <= 0.0 {
            return Err(Self::bad("blur_sigma", self.blur_sigma, "a positive number"));
        }
        Self::in_range("upper_lambda", self.upper_lambda, 0.0, 1.0)?;
        Self::in_range("update_ratio", self.update_ratio, 0.0, 1.0)?;
        Self::in_range("mixup_alpha", self.mixup_alpha, 0.0, 1e6)
    }
}

/// SAGE with the CIFAR-100 PreActResNet18 defaults.
#[derive(Clone, Copy, Debug)]
pub struct Sage {
    /// Scale of the lambda draw.
    pub upper_lambda: f64,
    /// Weight of the mixed loss (1 - weight of the saliency pass).
    pub update_ratio: f64,
    /// Fraction of candidate shifts searched.
    pub rand_pos: f64,
    /// Beta parameter of the lambda draw.
    pub mixup_alpha: f64,
    /// Blur kernel size.
    pub blur_kernel: i64,
    /// Blur sigma.
    pub blur_sigma: f64,
    /// Saliency pass in eval mode.
    pub eval_mode: bool,
    /// Shift-search implementation.
    pub search: SearchImpl,
}

impl From<SageParams> for Sage {
    fn from(p: SageParams) -> Self {
        Sage {
            upper_lambda: p.upper_lambda,
            update_ratio: p.update_ratio,
            rand_pos: p.rand_pos,
            mixup_alpha: p.mixup_alpha,
            blur_kernel: p.blur_kernel,
            blur_sigma: p.blur_sigma,
            eval_mode: p.eval_mode,
            search: p.search,
        }
    }
}

impl Default for Sage {
    /// [`SageParams`]' defaults.
    fn default() -> Self {
        SageParams::default().into()
    }
}

/// torchvision's `GaussianBlur(kernel, sigma)` on f32 `[B, C, H, W]`: the 2-D kernel is the
/// outer product of `exp(-t^2 / (2 sigma^2))`, `t` evenly spaced on
/// `[-(k-1)/2, (k-1)/2]`, normalised to sum 1 (in f32), applied per channel after reflect
/// padding of `k / 2` (edge not repeated).
pub fn gaussian_blur(x: &Tensor, kernel: i64, sigma: f64) -> Tensor {
    let k2 = gaussian_kernel2d(kernel, sigma, x.device());
    let c = x.size()[1];
    let weight = k2.expand([c, 1, kernel, kernel], false);
    let pad = kernel / 2;
    x.reflection_pad2d([pad, pad, pad, pad]).conv2d(
        &weight,
        None::<Tensor>,
        [1, 1],
        [0, 0],
        [1, 1],
        c,
    )
}

/// torchvision's 2-D Gaussian kernel, f32 `[kernel, kernel]`, computed as torchvision does
/// (`linspace`, `exp`, normalisation and outer product in f32 tensor ops).
pub fn gaussian_kernel2d(kernel: i64, sigma: f64, device: Device) -> Tensor {
    let half = (kernel - 1) as f64 * 0.5;
    let t = Tensor::linspace(-half, half, kernel, (Kind::Float, device));
    let pdf = ((&t / sigma).pow_tensor_scalar(2) * -0.5).exp();
    let k1 = &pdf / pdf.sum(Kind::Float);
    k1.unsqueeze(1).mm(&k1.unsqueeze(0))
}

/// SAGE's saliency map from an input gradient `[B, C, H, W]`: `mean_c |g|`, blurred;
/// f32 `[B, 1, H, W]`.
pub fn saliency(grad: &Tensor, kernel: i64, sigma: f64) -> Tensor {
    let s = grad
        .to_kind(Kind::Float)
        .abs()
        .mean_dim([1i64].as_slice(), true, Kind::Float);
    gaussian_blur(&s, kernel, sigma)
}

/// `max(weight, 1e-12) * s / sum(s)` per image (the reference's `normalize_grad`).
fn normalise(s: &Tensor, weight: f64) -> Tensor {
    let sum = s
        .sum_dim_intlist([1i64, 2, 3].as_slice(), true, Kind::Float)
        .clamp_min(f32::MIN_POSITIVE as f64);
    (s / sum) * weight.max(1e-12)
}

/// The candidate shifts of one batch: all of them in the reference's order for
/// `rand_pos >= 1`, else `floor(n rand_pos)` drawn without replacement, in drawn order.
pub fn candidate_shifts(
    h: i64,
    w: i64,
    rand_pos: f64,
    rng: &mut MixRng,
) -> Result<Vec<(i64, i64)>> {
    let all = search::all_shifts(h, w);
    if rand_pos >= 1.0 {
        return Ok(all);
    }
    let count = (all.len() as f64 * rand_pos) as usize;
    if count == 0 {
        return Err(mixbench_core::ParamError::BadValue {
            method: "sage".into(),
            key: "rand_pos".into(),
            value: rand_pos.to_string(),
            expected: format!(
                "a fraction that selects at least one of the {} candidate shifts (>= {})",
                all.len(),
                1.0 / all.len() as f64
            ),
        }
        .into());
    }
    // Partial Fisher-Yates: the first `count` entries are a uniform ordered sample.
    let mut order: Vec<usize> = (0..all.len()).collect();
    for i in 0..count {
        let j = i + rng.below(all.len() - i);
        order.swap(i, j);
    }
    Ok(order[..count].iter().map(|&q| all[q]).collect())
}

/// Everything [`Sage::mix_with`] computed, for tests and tools.
pub struct SageOutput {
    /// The method's result.
    pub mixed: Mixed,
    /// The scaled `alpha` used.
    pub alpha: f64,
    /// The candidate shifts searched, in order.
    pub candidates: Vec<(i64, i64)>,
    /// Own normalised map `s1`, f32 `[B, 1, H, W]`.
    pub s1: Tensor,
    /// Partner normalised map `s2` (already re-indexed by the permutation).
    pub s2: Tensor,
}

/// The batch's input gradient, or the error naming it.
fn input_gradient(batch: &Batch) -> Result<&Tensor> {
    batch.grad.as_ref().ok_or_else(|| MixError::MissingInput {
        method: "sage".into(),
        input: "grad".into(),
        why: "SAGE's saliency is the gradient of the loss with respect to the input images".into(),
    })
}

impl Sage {
    /// Mixes a batch, returning the intermediate maps as well.
    pub fn mix_with(&self, batch: &Batch, rng: &mut MixRng) -> Result<SageOutput> {
        batch.validate()?;
        let grad = input_gradient(batch)?;
        let size = batch.images.size();
        let (b, h, w) = (size[0], size[2], size[3]);
        let device = batch.images.device();
        let alpha0 = match batch.lam {
            Some(lam) => lam,
            None if self.mixup_alpha == 0.0 => 0.5,
            None => rng.lambda(self.mixup_alpha),
        };
        let alpha = alpha0 * self.upper_lambda;
        let perm = targets::partner(batch, rng)?;
        let candidates = candidate_shifts(h, w, self.rand_pos, rng)?;
        let native = match self.search {
            SearchImpl::Native => true,
            SearchImpl::Tensor => false,
            SearchImpl::Auto => device == Device::Cpu,
        };
        let (images, m, lam, targets, chosen, s1, s2) = if native {
            let c = size[1];
            let (bu, cu, hu, wu) = (b as usize, c as usize, h as usize, w as usize);
            // Inputs read in place, outputs written by the workers straight into their tensors:
            // no libtorch kernel that would open a parallel region (see the doc's Performance).
            let (g, x) = (HostView::new(grad), HostView::new(&batch.images));
            let kernel = native::gaussian_kernel2d(self.blur_kernel as usize, self.blur_sigma);
            let k = self.blur_kernel as usize;
            let s = native::saliency(g.as_slice(), bu, cu, hu, wu, &kernel, k);
            let perm_host = Vec::<i64>::try_from(perm.to_device(Device::Cpu))?;
            let labels = Vec::<i64>::try_from(batch.labels.to_device(Device::Cpu))?;
            let mut images = HostTensor::empty(&[b, c, h, w]);
            let mut m = HostTensor::empty(&[b, 1, h, w]);
            let mut lam = HostTensor::empty(&[b]);
            let mut s1 = HostTensor::empty(&[b, 1, h, w]);
            let mut s2 = HostTensor::empty(&[b, 1, h, w]);
            let chosen = native::mix(
                x.as_slice(),
                &s,
                &perm_host,
                alpha,
                (cu, hu, wu),
                &candidates,
                native::MixOutputs {
                    images: images.as_mut_slice(),
                    mask: m.as_mut_slice(),
                    lam: lam.as_mut_slice(),
                    s1: s1.as_mut_slice(),
                    s2: s2.as_mut_slice(),
                },
            );
            let targets =
                targets::pairwise_host(&labels, &perm_host, lam.as_mut_slice(), batch.num_classes);
            let tensor = |t: HostTensor| t.into_tensor().to_device(device);
            (
                tensor(images),
                tensor(m),
                tensor(lam),
                targets.to_device(device),
                chosen,
                tensor(s1),
                tensor(s2),
            )
        } else {
            let s = saliency(grad, self.blur_kernel, self.blur_sigma);
            let s1 = normalise(&s, alpha);
            let s2 = normalise(&s.index_select(0, &perm), 1.0 - alpha);
            let best = search::search_tensor(&s1, &s2, &candidates, TENSOR_CHUNK);
            let chosen: Vec<(i64, i64)> = best.iter().map(|&k| candidates[k]).collect();
            let t = search::shift_images(&s2, &chosen);
            let m = search::mask(&s1, &t);
            let x = &batch.images;
            let shifted = search::shift_images(&x.index_select(0, &perm), &chosen);
            let images = x * &m + shifted * (1.0 - &m);
            let lam = m.mean_dim([1i64, 2, 3].as_slice(), false, Kind::Float);
            let targets = targets::pairwise(&batch.labels, &perm, &lam, batch.num_classes);
            (images, m, lam, targets, chosen, s1, s2)
        };
        let shift: Vec<i64> = chosen.iter().flat_map(|&(dr, dc)| [dr, dc]).collect();
        let mixed = Mixed {
            site: MixSite::Input,
            images,
            targets,
            mask: Some(m),
            lam,
            perm,
            extras: vec![("shift".into(), Tensor::from_slice(&shift).view([b, 2]))],
        };
        Ok(SageOutput {
            mixed,
            alpha,
            candidates,
            s1,
            s2,
        })
    }
}

impl MixMethod for Sage {
    fn name(&self) -> &'static str {
        "sage"
    }

    fn saliency(&self) -> Option<SaliencyRequest> {
        let keep = self.update_ratio != 1.0;
        Some(SaliencyRequest {
            mode: if self.eval_mode {
                ModelMode::Eval
            } else {
                ModelMode::Train
            },
            loss: SaliencyLoss::BceSoftmax {
                scale: if keep { 1.0 - self.update_ratio } else { 1.0 },
            },
            param_grads: if keep {
                ParamGrads::Keep
            } else {
                ParamGrads::Discard
            },
        })
    }

    fn saliency_map(&self, batch: &Batch) -> Result<Option<Tensor>> {
        let grad = input_gradient(batch)?;
        Ok(Some(
            saliency(grad, self.blur_kernel, self.blur_sigma).squeeze_dim(1),
        ))
    }

    fn composition(&self) -> Composition {
        Composition::Transformed
    }

    fn mixed_loss_scale(&self) -> f64 {
        if self.update_ratio != 1.0 {
            self.update_ratio
        } else {
            1.0
        }
    }

    fn mix(&self, batch: &Batch, rng: &mut MixRng) -> Result<Mixed> {
        Ok(self.mix_with(batch, rng)?.mixed)
    }
}

/// Builds [`Sage`] from `key=value` parameters (read as [`SageParams`]).
pub fn from_params(params: &Params) -> Result<Sage> {
    Ok(params.typed::<SageParams>()?.into())
}

/// Registry entry of [`Sage`].
pub fn info() -> MethodInfo {
    MethodInfo::of::<SageParams, Sage>(
        "SAGE (Ma et al., BMVC 2022): saliency-weighted mask with the partner translated to the best of a set of shifts",
    )
}
