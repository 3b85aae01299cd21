//! CutMix (Yun et al., "CutMix: Regularization Strategy to Train Strong Classifiers with
//! Localizable Features", ICCV 2019), as the SAGE/Puzzle Mix training scripts run it on CIFAR
//! (`--method cutmix`, `alpha = 1.0`, applied to every batch).
//!
//! Per batch: a partner permutation `pi`, `lam ~ Beta(alpha, alpha)`, a box centre
//! `rx ~ U(0, H)`, `ry ~ U(0, W)` (draws in that order). The box has sides
//! `sqrt(1 - lam) * (H, W)`, is clipped to the image and truncated to whole pixels; every image
//! takes its partner's pixels inside the same box, and the own-label weight `r` is recomputed
//! from the clipped area: `r = 1 - area / (H W)`. The original CutMix repository applies the
//! mix with probability 0.5 on CIFAR (`cutmix_prob`); the SAGE comparison applies it always,
//! which is the default here (`prob = 1`).

use mixbench_core::{
    method_params, targets, Batch, MethodInfo, MixMethod, MixRng, MixSite, Mixed, Result,
};
use tch::{Kind, Tensor};

method_params! {
    /// Parameters of [`CutMix`] (`--set key=value`, suite files); the defaults are the CIFAR
    /// commands of the SAGE comparison (see docs/methods/cutmix.md).
    pub struct CutMixParams for "cutmix" {
        /// Beta(alpha, alpha) parameter of lambda
        pub alpha: f64 = 1.0,
        /// probability that a batch is mixed at all (0.5 in the original CutMix CIFAR code)
        pub prob: f64 = 1.0,
    }
    fn validate(&self) -> mixbench_core::ParamResult<()> {
        Self::in_range("alpha", self.alpha, 0.0, 1e6)?;
        Self::in_range("prob", self.prob, 0.0, 1.0)
    }
}

/// An axis-aligned box of rows `x1..x2` and columns `y1..y2` (end exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CutBox {
    /// First row.
    pub x1: i64,
    /// One past the last row.
    pub x2: i64,
    /// First column.
    pub y1: i64,
    /// One past the last column.
    pub y2: i64,
}

impl CutBox {
    /// The reference box: centre `(rx, ry)`, sides `sqrt(1 - lam) * (h, w)`, clipped to the
    /// image, bounds truncated toward zero.
    pub fn around(lam: f64, rx: f64, ry: f64, h: i64, w: i64) -> CutBox {
        let cut = (1.0 - lam).max(0.0).sqrt();
        let (rh, rw) = (cut * h as f64, cut * w as f64);
        let edge = |v: f64, hi: i64| v.clamp(0.0, hi as f64).trunc() as i64;
        CutBox {
            x1: edge(rx - rh / 2.0, h),
            x2: edge(rx + rh / 2.0, h),
            y1: edge(ry - rw / 2.0, w),
            y2: edge(ry + rw / 2.0, w),
        }
    }

    /// Number of pixels inside the box.
    pub fn area(&self) -> i64 {
        (self.x2 - self.x1) * (self.y2 - self.y1)
    }

    /// Replaces the box of every image of `images` with the same box of `source`, in place.
    pub fn paste(&self, images: &mut Tensor, source: &Tensor) {
        if self.area() == 0 {
            return;
        }
        let (dh, dw) = (self.x2 - self.x1, self.y2 - self.y1);
        images
            .narrow(2, self.x1, dh)
            .narrow(3, self.y1, dw)
            .copy_(&source.narrow(2, self.x1, dh).narrow(3, self.y1, dw));
    }

    /// Own-image weight per pixel: 0 inside the box, 1 outside; f32 `[b, 1, h, w]`.
    pub fn mask(&self, b: i64, h: i64, w: i64, device: tch::Device) -> Tensor {
        let mut mask = Tensor::ones([b, 1, h, w], (Kind::Float, device));
        self.paste(
            &mut mask,
            &Tensor::zeros([b, 1, h, w], (Kind::Float, device)),
        );
        mask
    }
}

/// CutMix with one box per batch.
#[derive(Clone, Copy, Debug)]
pub struct CutMix {
    /// Beta parameter of lambda (1.0 on CIFAR).
    pub alpha: f64,
    /// Probability of mixing a batch.
    pub prob: f64,
}

impl From<CutMixParams> for CutMix {
    fn from(p: CutMixParams) -> Self {
        CutMix {
            alpha: p.alpha,
            prob: p.prob,
        }
    }
}

impl Default for CutMix {
    /// [`CutMixParams`]' defaults.
    fn default() -> Self {
        CutMixParams::default().into()
    }
}

impl MixMethod for CutMix {
    fn name(&self) -> &'static str {
        "cutmix"
    }

    fn mix(&self, batch: &Batch, rng: &mut MixRng) -> Result<Mixed> {
        let size = batch.images.size();
        let (b, h, w) = (size[0], size[2], size[3]);
        let perm = targets::partner(batch, rng)?;
        let lam = batch.lam.unwrap_or_else(|| rng.lambda(self.alpha));
        let (rx, ry) = (rng.uniform(0.0, h as f64), rng.uniform(0.0, w as f64));
        let apply = self.prob >= 1.0 || rng.bernoulli(self.prob);
        let cut = if apply {
            CutBox::around(lam, rx, ry, h, w)
        } else {
            CutBox {
                x1: 0,
                x2: 0,
                y1: 0,
                y2: 0,
            }
        };
        let mut images = batch.images.copy();
        cut.paste(&mut images, &batch.images.index_select(0, &perm));
        let r = 1.0 - cut.area() as f64 / (h * w) as f64;
        let device = batch.images.device();
        let lam_per_sample = Tensor::full([b], r, (Kind::Float, device));
        Ok(Mixed {
            site: MixSite::Input,
            images,
            targets: targets::pairwise(&batch.labels, &perm, &lam_per_sample, batch.num_classes),
            mask: Some(cut.mask(b, h, w, device)),
            lam: lam_per_sample,
            perm,
            // One box per batch, repeated per image: `[B, 4]` like SaliencyMix's.
            extras: vec![(
                "box".into(),
                Tensor::from_slice(&[cut.x1, cut.x2, cut.y1, cut.y2])
                    .view([1, 4])
                    .repeat([b, 1]),
            )],
        })
    }
}

/// Registry entry of [`CutMix`].
pub fn info() -> MethodInfo {
    MethodInfo::of::<CutMixParams, CutMix>(
        "CutMix (Yun et al., ICCV 2019): paste a random box of the partner image",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    /// Worked example of `docs/methods/cutmix.md` (*Worked example*): lam 0.75, centre (10, 30) on 32x32.
    #[test]
    fn box_matches_the_spec_vector() {
        let cut = CutBox::around(0.75, 10.0, 30.0, 32, 32);
        assert_eq!(
            cut,
            CutBox {
                x1: 2,
                x2: 18,
                y1: 22,
                y2: 32
            }
        );
        assert_eq!(cut.area(), 160);
        assert_eq!(1.0 - cut.area() as f64 / 1024.0, 0.84375);
    }

    #[test]
    fn only_the_box_changes_and_r_is_the_unchanged_fraction() {
        let images = Tensor::randn([4, 3, 32, 32], (Kind::Float, Device::Cpu));
        let mut batch = Batch::new(images, Tensor::from_slice(&[0i64, 1, 2, 3]), 4);
        batch.perm = Some(Tensor::from_slice(&[1i64, 2, 3, 0]));
        let out = CutMix::default()
            .mix(&batch, &mut MixRng::seed_from(7))
            .unwrap();
        let changed = out
            .images
            .ne_tensor(&batch.images)
            .any_dim(1, false)
            .to_kind(Kind::Float);
        let unchanged = 1.0 - changed.mean(Kind::Float).double_value(&[]);
        let r = out.lam.double_value(&[0]);
        assert!((unchanged - r).abs() < 1e-9, "unchanged {unchanged} r {r}");
        // `box` is `[B, 4]` (`x1, x2, y1, y2`), the same box for every image, and its area
        // is the changed fraction.
        let (name, boxes) = &out.extras[0];
        assert_eq!(name, "box");
        assert_eq!(boxes.size(), [4, 4]);
        let rows = Vec::<i64>::try_from(boxes.flatten(0, -1)).unwrap();
        assert!(rows.chunks(4).all(|r| r == &rows[..4]), "{rows:?}");
        let area = (rows[1] - rows[0]) * (rows[3] - rows[2]);
        assert!((1.0 - area as f64 / 1024.0 - r).abs() < 1e-9);
        // The mask is exactly the unchanged region.
        assert!(
            out.mask
                .unwrap()
                .squeeze_dim(1)
                .eq_tensor(&(1.0 - changed))
                .all()
                .int64_value(&[])
                == 1
        );
    }
}
