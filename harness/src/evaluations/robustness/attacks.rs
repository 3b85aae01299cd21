//! The perturbations of the robustness suite, on pixel-space batches `[B, C, H, W]` in `[0, 1]`:
//! Gaussian noise, FGSM and PGD. The model always sees normalised images; the attacks step in
//! pixel space and clamp to `[0, 1]`, as Puzzle Mix's `validate(fgsm=True)` does (see `docs/training.md`, *FGSM evaluation*).

use tch::{Device, Kind, Tensor};

use mixbench_core::MixRng;

use crate::models::Classifier;

/// Per-channel normalisation as f32 `[1, C, 1, 1]` tensors, for float pixel batches.
pub struct PixelNormalize {
    mean: Tensor,
    std: Tensor,
}

impl PixelNormalize {
    /// Constants in `[0, 1]` pixel units, on `device`.
    pub fn new(mean: &[f64], std: &[f64], device: Device) -> Self {
        let column = |v: &[f64]| {
            Tensor::from_slice(v)
                .to_kind(Kind::Float)
                .to_device(device)
                .view([1, v.len() as i64, 1, 1])
        };
        PixelNormalize {
            mean: column(mean),
            std: column(std),
        }
    }

    /// `(u - mean) / std`.
    pub fn apply(&self, pixels: &Tensor) -> Tensor {
        (pixels - &self.mean) / &self.std
    }
}

/// Number of correct top-1 predictions of `model` (eval mode) on a pixel batch.
pub fn correct(
    model: &dyn Classifier,
    norm: &PixelNormalize,
    pixels: &Tensor,
    labels: &Tensor,
) -> i64 {
    tch::no_grad(|| {
        model
            .forward_t(&norm.apply(pixels), false)
            .argmax(1, false)
            .eq_tensor(labels)
            .sum(Kind::Int64)
            .int64_value(&[])
    })
}

/// Gradient of the mean cross-entropy of the true labels with respect to the *normalised*
/// input, evaluated at the pixel batch `pixels` (eval mode). Its sign is the sign of the
/// pixel-space gradient, since every std is positive.
pub fn loss_gradient(
    model: &dyn Classifier,
    norm: &PixelNormalize,
    pixels: &Tensor,
    labels: &Tensor,
) -> Tensor {
    let x = norm.apply(pixels).detach().set_requires_grad(true);
    let loss = model.forward_t(&x, false).cross_entropy_for_logits(labels);
    let grads = Tensor::run_backward(&[loss], &[&x], false, false);
    grads.into_iter().next().expect("one gradient").detach()
}

/// FGSM (Goodfellow et al., 2015) as Puzzle Mix's `validate(fgsm=True)`: one step of
/// `eps` (pixel units, e.g. `8/255`) along the sign of the loss gradient, clamped to `[0, 1]`.
/// No random start.
pub fn fgsm(
    model: &dyn Classifier,
    norm: &PixelNormalize,
    pixels: &Tensor,
    labels: &Tensor,
    eps: f64,
) -> Tensor {
    let g = loss_gradient(model, norm, pixels, labels);
    (pixels + g.sign() * eps).clamp(0.0, 1.0)
}

/// PGD settings in pixel units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pgd {
    /// Radius of the L-infinity ball.
    pub eps: f64,
    /// Step size.
    pub step_size: f64,
    /// Number of steps.
    pub steps: usize,
    /// Start from a uniform draw in the ball (Madry et al., 2018) instead of the clean image.
    pub random_start: bool,
}

/// Projected gradient descent (Madry et al., 2018) in the L-infinity ball of radius `eps`
/// around `pixels`, each iterate clamped to `[0, 1]`. `start` holds the uniform random-start
/// offsets in `[-1, 1]` (scaled by `eps` here), when random start is on.
pub fn pgd(
    model: &dyn Classifier,
    norm: &PixelNormalize,
    pixels: &Tensor,
    labels: &Tensor,
    config: &Pgd,
    start: Option<&Tensor>,
) -> Tensor {
    let lo = (pixels - config.eps).clamp_min(0.0);
    let hi = (pixels + config.eps).clamp_max(1.0);
    let mut adv = match start {
        Some(offsets) if config.random_start => {
            (pixels + offsets * config.eps).clamp_tensor(Some(&lo), Some(&hi))
        }
        _ => pixels.copy(),
    };
    for _ in 0..config.steps {
        let g = loss_gradient(model, norm, &adv, labels);
        adv = (&adv + g.sign() * config.step_size).clamp_tensor(Some(&lo), Some(&hi));
    }
    adv
}

/// `pixels + std * n`, clamped to `[0, 1]`, with `n` standard normal noise drawn per image
/// from `seeds[i]` (Box-Muller on a ChaCha8 stream), so the noise of an image does not depend
/// on the batch it is in nor on the device.
pub fn gaussian_noise(pixels: &Tensor, std: f64, seeds: &[u64]) -> Tensor {
    let noise = per_image_draws(pixels, seeds, |rng, out| {
        let mut i = 0;
        while i < out.len() {
            let u1 = 1.0 - rng.uniform(0.0, 1.0); // in (0, 1]
            let u2 = rng.uniform(0.0, 1.0);
            let r = (-2.0 * u1.ln()).sqrt();
            let t = 2.0 * std::f64::consts::PI * u2;
            out[i] = (r * t.cos()) as f32;
            if i + 1 < out.len() {
                out[i + 1] = (r * t.sin()) as f32;
            }
            i += 2;
        }
    });
    (pixels + noise * std).clamp(0.0, 1.0)
}

/// Uniform draws in `[-1, 1]` shaped like `pixels`, per image from `seeds[i]` (PGD's random
/// start).
pub fn uniform_offsets(pixels: &Tensor, seeds: &[u64]) -> Tensor {
    per_image_draws(pixels, seeds, |rng, out| {
        for v in out.iter_mut() {
            *v = rng.uniform(-1.0, 1.0) as f32;
        }
    })
}

/// A float tensor shaped like `pixels` (on its device) whose image `i` is filled by `fill`
/// from a stream seeded with `seeds[i]`.
fn per_image_draws(
    pixels: &Tensor,
    seeds: &[u64],
    fill: impl Fn(&mut MixRng, &mut [f32]),
) -> Tensor {
    let size = pixels.size();
    let per_image = size[1..].iter().product::<i64>() as usize;
    assert_eq!(seeds.len() as i64, size[0], "one seed per image");
    let mut values = vec![0f32; per_image * seeds.len()];
    for (chunk, &seed) in values.chunks_exact_mut(per_image).zip(seeds) {
        fill(&mut MixRng::seed_from(seed), chunk);
    }
    Tensor::from_slice(&values)
        .view(size.as_slice())
        .to_device(pixels.device())
}

/// Seed of the draws of image `image` under perturbation `family` at level `level`, in a run
/// seeded with `seed` (SplitMix64 finaliser).
pub fn image_seed(seed: u64, family: u64, level: u64, image: u64) -> u64 {
    let mut z = seed
        ^ family.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ level.wrapping_mul(0xD1B5_4A32_D192_ED03)
        ^ image.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
