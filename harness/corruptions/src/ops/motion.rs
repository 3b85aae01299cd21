//! ImageMagick 6's `MotionBlurImage` (magick/effect.c, the `MagickMotionBlurImage` the
//! reference calls through Wand for `motion_blur` and `snow`), as Debian's ImageMagick 6.9.11
//! Q16 (no HDRI) computes it, and the PNG round trip around it.
//!
//! The algorithm:
//! - the kernel width is `GetOptimalKernelWidth1D(radius, sigma)`: `2 ceil(radius) + 1` for a
//!   positive radius (else the width where the Gaussian tail falls below one quantum step);
//! - the weights are one-sided, `exp(-i^2 / (2 sigma^2)) / (sqrt(2 pi) sigma)` for
//!   `i = 0 .. width - 1`, divided by their sum (so the blur trails behind each pixel and the
//!   pixel itself weighs most);
//! - weight `i` reads the pixel at `(x + ceil(i cos(angle) - 0.5), y + ceil(i sin(angle) - 0.5))`
//!   (angle in degrees, 0 along the columns, positive angles going down the rows), computed
//!   through the same `width * sin`, `width * cos` and `hypot` as ImageMagick so that offsets on
//!   a half agree;
//! - outside the image the edge pixel repeats (the default, undefined virtual-pixel method,
//!   which ImageMagick treats as `EdgeVirtualPixelMethod`);
//! - the weighted sum is in double over 16-bit quantum values and stored with `ClampToQuantum`
//!   (clamped to `0 ..= 65535`, `+ 0.5` and truncated).
//!
//! The round trip (reference: PIL saves an 8-bit PNG, ImageMagick reads it, blurs, writes it
//! with `make_blob`, OpenCV decodes it with `IMREAD_UNCHANGED`): an 8-bit value `v` reads as the
//! quantum `257 v`; the image keeps depth 8, so the PNG coder calls `SetImageDepth(image, 8)`,
//! whose `ScaleQuantumToAny` *truncates* (`floor(255 q / 65535)`, not the rounding of
//! `ScaleQuantumToChar`), and writes an 8-bit PNG (RGB, grey or palette as the colours allow,
//! which all decode to the same values). OpenCV therefore returns `uint8` values and the
//! reference's `np.clip(x, 0, 255)` changes nothing.

/// ImageMagick's `MagickEpsilon`.
const MAGICK_EPSILON: f64 = 1.0e-12;
/// ImageMagick's `MagickSQ2PI` (`sqrt(2 pi)` as written in image-private.h).
const MAGICK_SQ2PI: f64 = 2.506_628_274_631_000_241_612_355_239_340_104_162_693_023_681_640_62;
/// ImageMagick's `MagickPI`.
const MAGICK_PI: f64 = std::f64::consts::PI;

/// The largest Q16 quantum value (`QuantumRange`).
pub const QUANTUM_RANGE: f64 = 65535.0;

/// ImageMagick's `PerceptibleReciprocal`: `1 / x`, with `x` kept at least `MagickEpsilon` in
/// magnitude.
fn perceptible_reciprocal(x: f64) -> f64 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    if sign * x >= MAGICK_EPSILON {
        1.0 / x
    } else {
        sign / MAGICK_EPSILON
    }
}

/// `GetOptimalKernelWidth1D(radius, sigma)` (magick/gem.c): `2 ceil(radius) + 1` when the
/// radius is positive; else the widest odd width whose outermost normalised two-sided Gaussian
/// weight is still at least one Q16 step (`1 / 65535`), 3 for a zero sigma.
pub fn kernel_width(radius: f64, sigma: f64) -> usize {
    if radius > MAGICK_EPSILON {
        return (2.0 * radius.ceil() + 1.0) as usize;
    }
    let gamma = sigma.abs();
    if gamma <= MAGICK_EPSILON {
        return 3;
    }
    let alpha = perceptible_reciprocal(2.0 * gamma * gamma);
    let beta = perceptible_reciprocal(MAGICK_SQ2PI * gamma);
    let mut width = 5usize;
    loop {
        let j = (width as isize - 1) / 2;
        let normalize: f64 = (-j..=j)
            .map(|i| (-((i * i) as f64) * alpha).exp() * beta)
            .sum();
        let value = (-((j * j) as f64) * alpha).exp() * beta / normalize;
        if value < 1.0 / QUANTUM_RANGE || value < MAGICK_EPSILON {
            break;
        }
        width += 2;
    }
    width - 2
}

/// The kernel of `MotionBlurImage(radius, sigma, angle)`: one weight and one pixel offset
/// `(dx, dy)` (columns, rows) per tap, tap 0 the pixel itself.
#[derive(Clone, Debug, PartialEq)]
pub struct MotionKernel {
    /// `GetMotionBlurKernel(width, sigma)`: one-sided Gaussian weights summing to 1.
    pub weights: Vec<f64>,
    /// Where each weight reads, relative to the output pixel: `(dx, dy)`.
    pub offsets: Vec<(isize, isize)>,
}

impl MotionKernel {
    /// The kernel ImageMagick builds for `radius`, `sigma` (pixels) and `angle` (degrees).
    pub fn new(radius: f64, sigma: f64, angle: f64) -> Self {
        let width = kernel_width(radius, sigma);
        let s = if sigma.abs() < MAGICK_EPSILON {
            MAGICK_EPSILON
        } else {
            sigma
        };
        let mut weights: Vec<f64> = (0..width)
            .map(|i| (-((i * i) as f64) / (2.0 * s * s)).exp() / (MAGICK_SQ2PI * s))
            .collect();
        let normalize: f64 = weights.iter().sum();
        for w in &mut weights {
            *w /= normalize;
        }
        let radians = MAGICK_PI * angle / 180.0;
        let (px, py) = (width as f64 * radians.sin(), width as f64 * radians.cos());
        let length = px.hypot(py);
        let offset = |v: f64| (v / length - 0.5).ceil() as isize;
        let offsets = (0..width)
            .map(|i| (offset(i as f64 * py), offset(i as f64 * px)))
            .collect();
        MotionKernel { weights, offsets }
    }
}

/// `ClampToQuantum` of Q16 without HDRI: 0 below 0, 65535 above, else `value + 0.5` truncated.
pub fn clamp_to_quantum(value: f64) -> f64 {
    if value.is_nan() || value <= 0.0 {
        0.0
    } else if value >= QUANTUM_RANGE {
        QUANTUM_RANGE
    } else {
        (value + 0.5).trunc()
    }
}

/// `MotionBlurImage(radius, sigma, angle)` of an HWC image of any channel count, in Q16
/// quantum units (`0 ..= 65535`; an 8-bit value `v` is `257 v`): each channel blurred alone, no
/// alpha weighting (the reference's images have no alpha), the result `clamp_to_quantum`'d
/// (whole numbers).
pub fn motion_blur(
    data: &[f64],
    (height, width, channels): (usize, usize, usize),
    radius: f64,
    sigma: f64,
    angle: f64,
) -> Vec<f64> {
    assert_eq!(data.len(), height * width * channels, "an HWC image");
    let kernel = MotionKernel::new(radius, sigma, angle);
    let clamp = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
    let mut out = vec![0.0; data.len()];
    let mut acc = vec![0.0; channels];
    for y in 0..height {
        for x in 0..width {
            acc.fill(0.0);
            for (w, &(dx, dy)) in kernel.weights.iter().zip(&kernel.offsets) {
                let (yy, xx) = (
                    clamp(y as isize + dy, height),
                    clamp(x as isize + dx, width),
                );
                let pixel = &data[(yy * width + xx) * channels..][..channels];
                for (a, p) in acc.iter_mut().zip(pixel) {
                    *a += w * p;
                }
            }
            let o = (y * width + x) * channels;
            for (slot, a) in out[o..o + channels].iter_mut().zip(&acc) {
                *slot = clamp_to_quantum(*a);
            }
        }
    }
    out
}

/// A Q16 quantum written to an 8-bit PNG of a depth-8 image: `SetImageDepth(image, 8)`'s
/// `ScaleQuantumToAny`, `floor(255 q / 65535)` (truncating), then the exact 8-bit export.
pub fn quantum_to_png8(q: f64) -> u8 {
    (255.0 * q / QUANTUM_RANGE) as u8
}

/// The reference's whole round trip of an 8-bit image (any channel count, HWC): saved as an
/// 8-bit PNG, read by ImageMagick (`v -> 257 v`), blurred by [`motion_blur`], written by `make_blob`
/// as an 8-bit PNG ([`quantum_to_png8`]) and decoded by OpenCV: the bytes OpenCV returns (in
/// the input's channel order; the reference's BGR-to-RGB swap undoes OpenCV's).
pub fn motion_blur_png8(
    data: &[u8],
    shape: (usize, usize, usize),
    radius: f64,
    sigma: f64,
    angle: f64,
) -> Vec<u8> {
    let quanta: Vec<f64> = data.iter().map(|&v| 257.0 * v as f64).collect();
    motion_blur(&quanta, shape, radius, sigma, angle)
        .into_iter()
        .map(quantum_to_png8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_widths_follow_get_optimal_kernel_width_1d() {
        assert_eq!(kernel_width(6.0, 1.0), 13);
        assert_eq!(kernel_width(2.5, 1.0), 7, "ceil(2.5) = 3");
        assert_eq!(kernel_width(0.0, 0.0), 3);
        // Radius 0: the tail exp(-j^2 / 2) / sum must fall below 1 / 65535; j = 4 is the last
        // above it for sigma 1 (weight 1.3e-4), so the width is 9.
        assert_eq!(kernel_width(0.0, 1.0), 9);
    }

    #[test]
    fn the_kernel_is_one_sided_sums_to_one_and_follows_the_angle() {
        let k = MotionKernel::new(6.0, 2.0, 0.0);
        assert_eq!(k.weights.len(), 13);
        assert!((k.weights.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!(
            k.weights.windows(2).all(|w| w[0] > w[1]),
            "decreasing from the pixel"
        );
        let along_x: Vec<(isize, isize)> = (0..13).map(|i| (i, 0)).collect();
        assert_eq!(k.offsets, along_x);
        let down = MotionKernel::new(3.0, 1.0, 90.0);
        assert_eq!(down.offsets, (0..7).map(|i| (0, i)).collect::<Vec<_>>());
        // 45 degrees: i / sqrt(2), rounded half down (ceil(v - 0.5)).
        let diagonal = MotionKernel::new(2.0, 1.0, 45.0);
        assert_eq!(diagonal.offsets, [(0, 0), (1, 1), (1, 1), (2, 2), (3, 3)]);
        let up = MotionKernel::new(2.0, 1.0, -45.0);
        assert_eq!(up.offsets, [(0, 0), (1, -1), (1, -1), (2, -2), (3, -3)]);
    }

    #[test]
    fn a_constant_image_stays_constant() {
        let flat = vec![100u8; 7 * 9 * 3];
        for angle in [-45.0, 0.0, 12.5, 90.0] {
            assert_eq!(motion_blur_png8(&flat, (7, 9, 3), 6.0, 2.0, angle), flat);
        }
    }

    #[test]
    fn angle_zero_blurs_along_the_row_only_and_the_edge_repeats() {
        // One bright column: at angle 0 each pixel averages itself and the pixels to its
        // right, so only the pixels left of the column (and the column) change, on every row
        // alike.
        let (h, w) = (4, 10);
        let mut grey = vec![0.0; h * w];
        for y in 0..h {
            grey[y * w + 5] = QUANTUM_RANGE;
        }
        let out = motion_blur(&grey, (h, w, 1), 3.0, 1.0, 0.0);
        let k = MotionKernel::new(3.0, 1.0, 0.0).weights;
        for y in 0..h {
            let row = &out[y * w..(y + 1) * w];
            assert_eq!(row, &out[..w], "rows alike");
            for x in 0..w {
                let expect = if (0..7).contains(&(5 - x as isize)) {
                    k[5 - x]
                } else {
                    0.0
                };
                assert_eq!(row[x], clamp_to_quantum(expect * QUANTUM_RANGE), "x = {x}");
            }
        }
        // The last column repeats past the right edge: a bright last column stays bright.
        let mut edge = vec![0.0; w];
        edge[w - 1] = QUANTUM_RANGE;
        assert_eq!(
            motion_blur(&edge, (1, w, 1), 3.0, 1.0, 0.0)[w - 1],
            QUANTUM_RANGE
        );
    }

    #[test]
    fn quanta_are_rounded_then_truncated_to_eight_bits() {
        assert_eq!(clamp_to_quantum(-3.0), 0.0);
        assert_eq!(clamp_to_quantum(1e9), QUANTUM_RANGE);
        assert_eq!(clamp_to_quantum(25828.5), 25829.0);
        assert_eq!(quantum_to_png8(257.0 * 100.0), 100);
        assert_eq!(
            quantum_to_png8(257.0 * 100.0 + 256.0),
            100,
            "truncated, not rounded"
        );
        assert_eq!(quantum_to_png8(QUANTUM_RANGE), 255);
    }
}
