use tch::{Kind, Tensor};

use crate::{MixError, Result};

/// One training batch as a method sees it, after augmentation and normalisation.
///
/// The optional fields let a caller (the `mixbench mix` command, a parity test) fix what a
/// method would otherwise draw or compute, so that its output can be compared with a reference
/// implementation on the same inputs.
pub struct Batch {
    /// Normalised images, f32 `[B, C, H, W]`.
    pub images: Tensor,
    /// Class indices, i64 `[B]`.
    pub labels: Tensor,
    /// Number of classes `K` of the soft targets.
    pub num_classes: i64,
    /// Gradient of the saliency pass's loss with respect to `images`, f32 `[B, C, H, W]`;
    /// present when the method asked for a saliency pass.
    pub grad: Option<Tensor>,
    /// Partner permutation (image `i` is mixed with image `perm[i]`), i64 `[B]`; drawn from
    /// the method's random stream when absent.
    pub perm: Option<Tensor>,
    /// Raw mixing-ratio draw, before any method-specific scaling; drawn when absent.
    pub lam: Option<f64>,
    /// Mixing layer of methods that mix inside the model (Manifold Mixup: 0 is the input, `k`
    /// the output of the model's `k`-th stage); drawn when absent, ignored by input methods.
    pub layer: Option<usize>,
    /// Initial labelling of methods that optimise a block labelling from a random start
    /// (Co-Mixup: i64 `[B, g, g]`, input indices local to each partition); drawn when absent.
    pub init: Option<Tensor>,
    /// The perturbation the saliency pass ran on, when the method asked for one
    /// ([`crate::MixMethod::perturbation`]).
    pub perturbation: Option<crate::Perturbation>,
    /// Per-channel normalisation mean (pixel units in `[0, 1]`), for methods that look at raw
    /// pixel values.
    pub mean: Vec<f64>,
    /// Per-channel normalisation standard deviation, as `mean`.
    pub std: Vec<f64>,
}

impl Batch {
    /// A batch with only images and labels; every optional input absent and unit
    /// normalisation.
    pub fn new(images: Tensor, labels: Tensor, num_classes: i64) -> Self {
        let channels = images.size().get(1).copied().unwrap_or(3) as usize;
        Batch {
            images,
            labels,
            num_classes,
            grad: None,
            perm: None,
            lam: None,
            layer: None,
            init: None,
            perturbation: None,
            mean: vec![0.0; channels],
            std: vec![1.0; channels],
        }
    }

    /// The batch with every tensor moved to `device` (the draws and constants unchanged).
    pub fn to_device(&self, device: tch::Device) -> Batch {
        let on = |t: &Tensor| t.to_device(device);
        Batch {
            images: on(&self.images),
            labels: on(&self.labels),
            num_classes: self.num_classes,
            grad: self.grad.as_ref().map(on),
            perm: self.perm.as_ref().map(on),
            lam: self.lam,
            layer: self.layer,
            init: self.init.as_ref().map(on),
            perturbation: self.perturbation.as_ref().map(|p| crate::Perturbation {
                noise: on(&p.noise),
                flags: p.flags.clone(),
            }),
            mean: self.mean.clone(),
            std: self.std.clone(),
        }
    }

    /// Checks shapes and dtypes: `images` 4-D float, `labels` i64 `[B]` in `0..K`, optional
    /// tensors consistent with them.
    pub fn validate(&self) -> Result<()> {
        let size = self.images.size();
        if size.len() != 4 {
            return Err(MixError::Shape(format!(
                "images must be [B,C,H,W], got {size:?}"
            )));
        }
        if self.images.kind() != Kind::Float {
            return Err(MixError::Shape(format!(
                "images must be f32, got {:?}",
                self.images.kind()
            )));
        }
        let b = size[0];
        if self.labels.size() != [b] || self.labels.kind() != Kind::Int64 {
            return Err(MixError::Shape(format!(
                "labels must be i64 [{b}], got {:?} {:?}",
                self.labels.kind(),
                self.labels.size()
            )));
        }
        if b > 0 {
            let (lo, hi) = (
                self.labels.min().int64_value(&[]),
                self.labels.max().int64_value(&[]),
            );
            if lo < 0 || hi >= self.num_classes {
                return Err(MixError::Shape(format!(
                    "`labels` must lie in 0..{} (the number of classes), found {lo}..={hi}",
                    self.num_classes
                )));
            }
        }
        if let Some(grad) = &self.grad {
            if grad.size() != size {
                return Err(MixError::Shape(format!(
                    "grad must have the shape of images {size:?}, got {:?}",
                    grad.size()
                )));
            }
        }
        if let Some(perm) = &self.perm {
            let mut sorted: Vec<i64> = Vec::<i64>::try_from(perm.to_kind(Kind::Int64))?;
            sorted.sort_unstable();
            if sorted != (0..b).collect::<Vec<_>>() {
                return Err(MixError::Shape(format!(
                    "`perm` must be a permutation of 0..{b} (each image's partner)"
                )));
            }
        }
        if self.mean.len() != size[1] as usize || self.std.len() != size[1] as usize {
            return Err(MixError::Shape(format!(
                "mean and std need one value per channel ({}), got {} and {}",
                size[1],
                self.mean.len(),
                self.std.len()
            )));
        }
        Ok(())
    }

    /// Reads a batch stored with the tensor names of `mixbench mix` (see
    /// [`Batch::from_named`]).
    pub fn read_safetensors(path: &std::path::Path, num_classes: Option<i64>) -> Result<Batch> {
        Batch::from_named(&crate::NamedTensors::read(path)?, num_classes)
    }

    /// A batch from tensors named as in `mixbench mix`: `images` f32 `[B, C, H, W]`, `labels`
    /// integer `[B]`, optional `grad`, `perm`, `lam` (one value), `layer` (one non-negative
    /// integer), `init`, `mean`, `std` (`[C]`). `K` is `num_classes`, or the largest label plus one. Absent `mean`/`std` keep
    /// the unit normalisation of [`Batch::new`].
    pub fn from_named(named: &crate::NamedTensors, num_classes: Option<i64>) -> Result<Batch> {
        let source = named.source();
        let images = named.require("images", "f32 [B,C,H,W]")?;
        let labels = named.require("labels", "i64 [B]")?;
        if images.kind() != Kind::Float {
            return Err(MixError::Shape(format!(
                "{source}: `images` must be f32, got {:?}",
                images.kind()
            )));
        }
        if !matches!(labels.kind(), Kind::Int64 | Kind::Int) {
            return Err(MixError::Shape(format!(
                "{source}: `labels` must be integer, got {:?}",
                labels.kind()
            )));
        }
        let labels = labels.to_kind(Kind::Int64);
        let k = match num_classes {
            Some(k) => k,
            None if labels.numel() > 0 => labels.max().int64_value(&[]) + 1,
            None => 1,
        };
        let mut batch = Batch::new(images, labels, k);
        batch.grad = named.get("grad").map(|g| g.to_kind(Kind::Float));
        batch.perm = named.get("perm").map(|p| p.to_kind(Kind::Int64));
        batch.init = named.get("init").map(|t| t.to_kind(Kind::Int64));
        if let Some(lam) = named.get("lam") {
            if lam.numel() != 1 {
                return Err(MixError::Shape(format!(
                    "{source}: `lam` must hold one value, got shape {:?}",
                    lam.size()
                )));
            }
            // `[1]` or a 0-dim scalar alike (a 0-dim tensor has no index 0).
            batch.lam = Some(lam.to_kind(Kind::Double).flatten(0, -1).double_value(&[0]));
        }
        if let Some(layer) = named.get("layer") {
            let value = (layer.numel() == 1 && !layer.is_floating_point())
                .then(|| layer.to_kind(Kind::Int64).flatten(0, -1).int64_value(&[0]))
                .filter(|k| *k >= 0);
            batch.layer = Some(value.ok_or_else(|| {
                MixError::Shape(format!(
                    "{source}: `layer` must hold one non-negative integer, got {:?} {:?}",
                    layer.kind(),
                    layer.size()
                ))
            })? as usize);
        }
        if let Some(m) = named.get("mean") {
            batch.mean = Vec::<f64>::try_from(m.to_kind(Kind::Double).flatten(0, -1))?;
        }
        if let Some(s) = named.get("std") {
            batch.std = Vec::<f64>::try_from(s.to_kind(Kind::Double).flatten(0, -1))?;
        }
        Ok(batch)
    }

    /// Checks the values of a batch read from a file, which [`Batch::validate`] (shapes and
    /// indices, cheap enough for every training step) leaves alone: `images` and `grad`
    /// finite, `lam` finite in `[0, 1]`, `std` finite and positive. Errors name the tensor.
    pub fn validate_values(&self) -> Result<()> {
        let all_finite = |t: &Tensor| t.isfinite().all().int64_value(&[]) == 1;
        if !all_finite(&self.images) {
            return Err(MixError::Shape(
                "`images` holds NaN or infinite values".into(),
            ));
        }
        if self.grad.as_ref().is_some_and(|g| !all_finite(g)) {
            return Err(MixError::Shape(
                "`grad` holds NaN or infinite values".into(),
            ));
        }
        if let Some(lam) = self.lam.filter(|l| !(0.0..=1.0).contains(l)) {
            return Err(MixError::Shape(format!(
                "`lam` must be a number in [0, 1], got {lam}"
            )));
        }
        if let Some(s) = self.std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(MixError::Shape(format!(
                "`std` values must be finite and positive, got {s}"
            )));
        }
        Ok(())
    }

    /// Batch size `B`.
    pub fn len(&self) -> i64 {
        self.images.size()[0]
    }

    /// True for a batch of no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Per-channel `[1, C, 1, 1]` f32 constants on `like`'s device (the reference's `args.mean`
/// and `args.std` tensors).
pub fn channel_constants(values: &[f64], like: &Tensor) -> Tensor {
    let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    Tensor::from_slice(&v)
        .view([1, -1, 1, 1])
        .to_device(like.device())
}

/// Normalised images back to pixel units: `x * std + mean` (the reference's order).
pub fn to_pixels(images: &Tensor, mean: &[f64], std: &[f64]) -> Tensor {
    images * channel_constants(std, images) + channel_constants(mean, images)
}

/// Pixel-unit images normalised: `(u - mean) / std`.
pub fn from_pixels(pixels: &Tensor, mean: &[f64], std: &[f64]) -> Tensor {
    (pixels - channel_constants(mean, pixels)) / channel_constants(std, pixels)
}

/// Where a method mixes: the images, or a hidden state of the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MixSite {
    /// The input images are mixed; the model runs its plain forward pass on them.
    #[default]
    Input,
    /// The model's hidden state after its `k`-th stage (`k >= 1`) is mixed, by
    /// [`Mixed::blend_hidden`], during the forward pass (Manifold Mixup).
    Hidden(usize),
}

/// What a method returns: mixed images, soft targets, and what it did, for tests and plots.
#[derive(Debug)]
pub struct Mixed {
    /// Mixed normalised images, f32 `[B, C, H, W]`; for a [`MixSite::Hidden`] mix, the
    /// unmixed images that enter the model.
    pub images: Tensor,
    /// Soft targets, f32 `[B, K]`, rows summing to 1.
    pub targets: Tensor,
    /// Weight of each sample's own image per pixel, f32 `[B, 1, H, W]`, for pairwise methods.
    pub mask: Option<Tensor>,
    /// Weight of each sample's own label in its target, f32 `[B]` (the method's lambda).
    pub lam: Tensor,
    /// Partner permutation used, i64 `[B]` (identity for Vanilla).
    pub perm: Tensor,
    /// Method-specific outputs (such as SAGE's chosen shift), named as documented.
    pub extras: Vec<(String, Tensor)>,
    /// Where the mix happens; the engine's forward pass applies a hidden mix.
    pub site: MixSite,
}

impl Mixed {
    /// A hidden state `h` `[B, ...]` mixed as the images of a pairwise blend are:
    /// `lam_i h_i + (1 - lam_i) h_perm(i)` per sample (Manifold Mixup's rule).
    pub fn blend_hidden(&self, h: &Tensor) -> Tensor {
        let mut shape = vec![-1i64];
        shape.resize(h.dim(), 1);
        let lam = self.lam.to_kind(h.kind()).view(shape.as_slice());
        h * &lam + h.index_select(0, &self.perm) * (1.0 - lam)
    }
}
