//! SaliencyMix (Uddin et al., "SaliencyMix: A Saliency Guided Data Augmentation Strategy for
//! Better Regularization", ICLR 2021), as the SAGE repository's training script runs it on
//! CIFAR (`main.py --method saliencymix`, `saliency_bbox`; see `docs/methods/saliencymix.md`).
//!
//! Per batch (draws in this order):
//! 1. `u ~ U[0, 1)`; the batch is mixed only if `u < prob` (`prob = 0.5`, hard-coded in the
//!    reference); otherwise it is returned unchanged with one-hot targets and nothing else is
//!    drawn.
//! 2. `lam ~ Beta(alpha, alpha)` (`alpha = 1`, hard-coded in the reference), then the partner
//!    permutation `pi`.
//! 3. The saliency map of **one** image, the partner of sample 0 (`x[pi[0]]`), by OpenCV's
//!    static fine-grained detector ([`fine_grained`]); its first arg-max `(xr, yc)`.
//! 4. A box centred there: `cut = trunc(H sqrt(1 - lam))` rows and `trunc(W sqrt(1 - lam))`
//!    columns, corners `clamp(xr -/+ cut / 2, 0, H)` (integer halves), likewise for columns.
//! 5. Every image takes its partner's pixels inside that one box; the own-label weight is
//!    `r = 1 - area / (H W)` from the clipped box.
//!
//! What the detector sees (`saliency_input`):
//! - `float_bytes` (default, the reference): the normalised `f32` image in RGB memory order,
//!   which OpenCV processes as a float image but whose centre values it reads as raw bytes of
//!   the floats (`docs/methods/saliencymix.md`, *Float bytes*): the resulting map is essentially unrelated to what is salient.
//!   Public copies of the SaliencyMix authors' code do the same, so the published numbers
//!   share it.
//! - `u8`: the intended detector: the image de-normalised to 8 bits (`round(255 u)`, RGB
//!   memory order kept, as the reference's channel order).
//!
//! `per_image_boxes = true` places one box per image, from the saliency of that image's own
//! partner (not in the reference; off by default).
//!
//! Outputs: mask `[B, 1, H, W]` (0 inside the box, 1 outside), extras `box` i64 `[B, 4]`,
//! rows `(x1, x2, y1, y2)` (rows `x1..x2`, columns `y1..y2`, end exclusive; all rows equal
//! unless `per_image_boxes`; all zero when the batch is not mixed).

pub mod fine_grained;

use mixbench_core::{
    method_params, targets, Batch, MethodInfo, MixError, MixMethod, MixRng, MixSite, Mixed, Params,
    Result,
};
use mixbench_cutmix::CutBox;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

pub use fine_grained::{fine_grained_f32, fine_grained_u8, first_argmax};

/// What the fine-grained detector is given; written `float_bytes` or `u8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaliencyInput {
    /// The normalised `f32` image, read by OpenCV partly as raw bytes (the reference).
    FloatBytes,
    /// The de-normalised 8-bit image (the intended detector).
    U8,
}

method_params! {
    /// Parameters of [`SaliencyMix`] (`--set key=value`, suite files); the defaults are the
    /// values hard-coded in the reference script (see docs/methods/saliencymix.md).
    pub struct SaliencyMixParams for "saliencymix" {
        /// probability that a batch is mixed (0.5, hard-coded in the reference)
        pub prob: f64 = 0.5,
        /// Beta(alpha, alpha) parameter of lambda (1.0, hard-coded in the reference)
        pub alpha: f64 = 1.0,
        /// what the detector sees: float_bytes (the normalised f32 image, as the reference) or u8 (the 8-bit image, the intended detector)
        pub saliency_input: SaliencyInput = SaliencyInput::FloatBytes,
        /// one box per image from its own partner's saliency instead of one box per batch
        pub per_image_boxes: bool = false,
    }
    fn validate(&self) -> mixbench_core::ParamResult<()> {
        Self::in_range("prob", self.prob, 0.0, 1.0)?;
        Self::in_range("alpha", self.alpha, 0.0, 1e6)
    }
}

/// SaliencyMix with the reference's defaults.
#[derive(Clone, Copy, Debug)]
pub struct SaliencyMix {
    /// Probability of mixing a batch.
    pub prob: f64,
    /// Beta parameter of lambda.
    pub alpha: f64,
    /// Detector input.
    pub input: SaliencyInput,
    /// One box per image instead of one per batch.
    pub per_image_boxes: bool,
}

impl From<SaliencyMixParams> for SaliencyMix {
    fn from(p: SaliencyMixParams) -> Self {
        SaliencyMix {
            prob: p.prob,
            alpha: p.alpha,
            input: p.saliency_input,
            per_image_boxes: p.per_image_boxes,
        }
    }
}

impl Default for SaliencyMix {
    /// [`SaliencyMixParams`]' defaults.
    fn default() -> Self {
        SaliencyMixParams::default().into()
    }
}

/// Fine-grained saliency of image `i` of a normalised batch, as the 8-bit map (row-major
/// `H x W`). `mean`/`std` are used only by the `u8` input.
pub fn detector_map(
    images: &Tensor,
    i: i64,
    input: SaliencyInput,
    mean: &[f64],
    std: &[f64],
) -> Result<Vec<u8>> {
    let size = images.size();
    let (c, h, w) = (size[1] as usize, size[2] as usize, size[3] as usize);
    // [C, H, W] -> H x W x C interleaved, as `img.cpu().numpy().transpose(1, 2, 0)`.
    let hwc = images
        .get(i)
        .to_device(Device::Cpu)
        .to_kind(Kind::Float)
        .permute([1, 2, 0])
        .contiguous();
    let values = Vec::<f32>::try_from(hwc.flatten(0, -1))?;
    if c != 1 && c != 3 {
        return Err(MixError::Shape(format!(
            "saliencymix needs 1 or 3 channels, got {c}"
        )));
    }
    Ok(match input {
        SaliencyInput::FloatBytes => fine_grained_f32(&values, h, w, c),
        SaliencyInput::U8 => {
            let bytes: Vec<u8> = values
                .iter()
                .enumerate()
                .map(|(k, &v)| {
                    let ch = k % c;
                    let u = v * std[ch] as f32 + mean[ch] as f32;
                    (255.0 * u).round().clamp(0.0, 255.0) as u8
                })
                .collect();
            fine_grained_u8(&bytes, h, w, c)
        }
    })
}

/// The detector's map for every image of a normalised batch, `S / 255` as f32 `[B, H, W]` in
/// `[0, 1]` (what `mixbench saliency` writes).
pub fn saliency_maps(
    images: &Tensor,
    input: SaliencyInput,
    mean: &[f64],
    std: &[f64],
) -> Result<Tensor> {
    let size = images.size();
    let (b, h, w) = (size[0], size[2], size[3]);
    let mut all = Vec::with_capacity((b * h * w) as usize);
    for i in 0..b {
        all.extend(
            detector_map(images, i, input, mean, std)?
                .iter()
                .map(|&v| v as f32 / 255.0),
        );
    }
    Ok(Tensor::from_slice(&all)
        .view([b, h, w])
        .to_device(images.device()))
}

/// The reference's `saliency_bbox`: a box of `trunc(side sqrt(1 - lam))` per axis centred on
/// `(xr, yc)`, integer halves, clipped to the image.
pub fn saliency_box(lam: f64, xr: usize, yc: usize, h: i64, w: i64) -> CutBox {
    let ratio = (1.0 - lam).max(0.0).sqrt();
    let (cut_h, cut_w) = ((h as f64 * ratio) as i64, (w as f64 * ratio) as i64);
    let (xr, yc) = (xr as i64, yc as i64);
    CutBox {
        x1: (xr - cut_h / 2).clamp(0, h),
        x2: (xr + cut_h / 2).clamp(0, h),
        y1: (yc - cut_w / 2).clamp(0, w),
        y2: (yc + cut_w / 2).clamp(0, w),
    }
}

impl SaliencyMix {
    fn box_for(&self, batch: &Batch, partner: i64, lam: f64) -> Result<CutBox> {
        let size = batch.images.size();
        let (h, w) = (size[2], size[3]);
        let map = detector_map(&batch.images, partner, self.input, &batch.mean, &batch.std)?;
        let (xr, yc) = first_argmax(&map, w as usize);
        Ok(saliency_box(lam, xr, yc, h, w))
    }
}

impl MixMethod for SaliencyMix {
    fn name(&self) -> &'static str {
        "saliencymix"
    }

    fn saliency_map(&self, batch: &Batch) -> Result<Option<Tensor>> {
        saliency_maps(&batch.images, self.input, &batch.mean, &batch.std).map(Some)
    }

    fn mix(&self, batch: &Batch, rng: &mut MixRng) -> Result<Mixed> {
        batch.validate()?;
        let size = batch.images.size();
        let (b, h, w) = (size[0], size[2], size[3]);
        let device = batch.images.device();
        let apply = rng.uniform(0.0, 1.0) < self.prob;
        if !apply || b == 0 {
            let mut out = mixbench_core::vanilla::Vanilla.mix(batch, rng)?;
            out.mask = Some(Tensor::ones([b, 1, h, w], (Kind::Float, device)));
            out.extras = vec![(
                "box".into(),
                Tensor::zeros([b, 4], (Kind::Int64, Device::Cpu)),
            )];
            return Ok(out);
        }
        let lam = batch.lam.unwrap_or_else(|| rng.lambda(self.alpha));
        let perm = targets::partner(batch, rng)?;
        let perm_host = Vec::<i64>::try_from(perm.to_device(Device::Cpu))?;
        let boxes: Vec<CutBox> = if self.per_image_boxes {
            perm_host
                .iter()
                .map(|&p| self.box_for(batch, p, lam))
                .collect::<Result<_>>()?
        } else {
            vec![self.box_for(batch, perm_host[0], lam)?; b as usize]
        };
        let partners = batch.images.index_select(0, &perm);
        let mut images = batch.images.copy();
        let mut mask = Tensor::ones([b, 1, h, w], (Kind::Float, device));
        let zeros = Tensor::zeros([b, 1, h, w], (Kind::Float, device));
        if self.per_image_boxes {
            for (i, cut) in boxes.iter().enumerate() {
                let i = i as i64;
                cut.paste(&mut images.narrow(0, i, 1), &partners.narrow(0, i, 1));
                cut.paste(&mut mask.narrow(0, i, 1), &zeros.narrow(0, i, 1));
            }
        } else {
            boxes[0].paste(&mut images, &partners);
            boxes[0].paste(&mut mask, &zeros);
        }
        let r: Vec<f32> = boxes
            .iter()
            .map(|cut| (1.0 - cut.area() as f64 / (h * w) as f64) as f32)
            .collect();
        let lam_per_sample = Tensor::from_slice(&r).to_device(device);
        let corners: Vec<i64> = boxes
            .iter()
            .flat_map(|c| [c.x1, c.x2, c.y1, c.y2])
            .collect();
        Ok(Mixed {
            site: MixSite::Input,
            images,
            targets: targets::pairwise(&batch.labels, &perm, &lam_per_sample, batch.num_classes),
            mask: Some(mask),
            lam: lam_per_sample,
            perm,
            extras: vec![("box".into(), Tensor::from_slice(&corners).view([b, 4]))],
        })
    }
}

/// Builds [`SaliencyMix`] from `key=value` parameters (read as [`SaliencyMixParams`]).
pub fn from_params(params: &Params) -> Result<SaliencyMix> {
    Ok(params.typed::<SaliencyMixParams>()?.into())
}

/// Registry entry of [`SaliencyMix`].
pub fn info() -> MethodInfo {
    MethodInfo::of::<SaliencyMixParams, SaliencyMix>(
        "SaliencyMix (Uddin et al., ICLR 2021): paste a box of the partner centred on its fine-grained saliency peak",
    )
}
