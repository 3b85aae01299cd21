//! The reference training transform, batched on the training device: random horizontal flip
//! (p = 0.5), random crop with zero padding (offsets uniform in `0..=2p` per axis, as
//! torchvision's `RandomCrop(padding=p)`), conversion to `[0, 1]` and per-channel
//! normalisation. Flip and crop are one gather per axis on the u8 batch.

use tch::{Device, Kind, Tensor};

use mixbench_core::MixRng;

/// Per-channel normalisation constants, pixel units in `[0, 1]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalize {
    /// Mean per channel.
    pub mean: Vec<f64>,
    /// Standard deviation per channel.
    pub std: Vec<f64>,
}

impl Normalize {
    /// `(u8 / 255 - mean) / std` for a u8 `[B, C, H, W]` batch.
    pub fn apply(&self, images_u8: &Tensor) -> Tensor {
        let (mean, std) = self.constants(images_u8.device());
        (images_u8.to_kind(Kind::Float) / 255.0 - mean) / std
    }

    /// Back to pixel space `[0, 1]` (unclamped).
    pub fn invert(&self, images: &Tensor) -> Tensor {
        let (mean, std) = self.constants(images.device());
        images * std + mean
    }

    /// Mean and std as f32 `[1, C, 1, 1]` tensors on `device`.
    fn constants(&self, device: Device) -> (Tensor, Tensor) {
        let column = |values: &[f64]| {
            Tensor::from_slice(values)
                .to_kind(Kind::Float)
                .to_device(device)
                .view([1, values.len() as i64, 1, 1])
        };
        (column(&self.mean), column(&self.std))
    }
}

/// Random flip and padded crop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Augment {
    /// Zero padding on each side before the crop (2 in the SAGE/Puzzle Mix CIFAR code, 4 in
    /// many others); 0 disables cropping.
    pub crop_padding: i64,
    /// Whether to flip horizontally with probability 0.5.
    pub flip: bool,
}

impl Augment {
    /// Augments a u8 batch `[B, C, H, W]`: per sample a flip decision then crop offsets
    /// `(row, col)`, drawn in that order from `rng`. Returns u8 `[B, C, H, W]`.
    pub fn apply(&self, images_u8: &Tensor, rng: &mut MixRng) -> Tensor {
        let size = images_u8.size();
        let (b, c, h, w) = (size[0], size[1], size[2], size[3]);
        let p = self.crop_padding;
        let (mut rows, mut cols) = (
            Vec::with_capacity((b * h) as usize),
            Vec::with_capacity((b * w) as usize),
        );
        for _ in 0..b {
            let flip = self.flip && rng.bernoulli(0.5);
            let (oy, ox) = if p > 0 {
                (
                    rng.below(2 * p as usize + 1) as i64,
                    rng.below(2 * p as usize + 1) as i64,
                )
            } else {
                (0, 0)
            };
            rows.extend((0..h).map(|i| oy + i));
            // Flipping first, then cropping column ox.., reads padded column (w + 2p - 1) - (ox + j).
            cols.extend((0..w).map(|j| if flip { w + 2 * p - 1 - ox - j } else { ox + j }));
        }
        let device = images_u8.device();
        let index =
            |v: Vec<i64>, shape: [i64; 4]| Tensor::from_slice(&v).to_device(device).view(shape);
        let padded = if p > 0 {
            images_u8.constant_pad_nd([p, p, p, p])
        } else {
            images_u8.shallow_clone()
        };
        let rows = index(rows, [b, 1, h, 1]).expand([b, c, h, w + 2 * p], false);
        let cols = index(cols, [b, 1, 1, w]).expand([b, c, h, w], false);
        padded.gather(2, &rows, false).gather(3, &cols, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(b: i64, h: i64, w: i64) -> Tensor {
        Tensor::arange(b * 3 * h * w, (Kind::Int64, Device::Cpu))
            .remainder(251)
            .to_kind(Kind::Uint8)
            .view([b, 3, h, w])
    }

    #[test]
    fn no_padding_no_flip_is_identity() {
        let x = ramp(4, 8, 8);
        let out = Augment {
            crop_padding: 0,
            flip: false,
        }
        .apply(&x, &mut MixRng::seed_from(0));
        assert!(out.equal(&x));
    }

    /// Each output is a flip and/or an integer translation of its input with zeros filling in:
    /// check against a direct per-sample construction.
    #[test]
    fn crop_and_flip_match_a_direct_construction() {
        let (b, h, w, p) = (16, 6, 7, 2);
        let x = ramp(b, h, w);
        let aug = Augment {
            crop_padding: p,
            flip: true,
        };
        let out = aug.apply(&x, &mut MixRng::seed_from(5));
        let mut rng = MixRng::seed_from(5);
        let mut flips = 0;
        for i in 0..b {
            let flip = rng.bernoulli(0.5);
            flips += flip as i32;
            let (oy, ox) = (rng.below(5) as i64, rng.below(5) as i64);
            let mut img = x.get(i);
            if flip {
                img = img.flip([2]);
            }
            let expected = img
                .constant_pad_nd([p, p, p, p])
                .narrow(1, oy, h)
                .narrow(2, ox, w);
            assert!(out.get(i).equal(&expected), "sample {i}");
        }
        assert!(flips > 0 && flips < b as i32);
    }

    #[test]
    fn normalize_round_trips() {
        let norm = Normalize {
            mean: vec![0.5, 0.4, 0.3],
            std: vec![0.2, 0.25, 0.3],
        };
        let x = ramp(2, 4, 4);
        let back = norm.invert(&norm.apply(&x)) * 255.0;
        assert!(back.allclose(&x.to_kind(Kind::Float), 1e-4, 1e-3, false));
    }
}
