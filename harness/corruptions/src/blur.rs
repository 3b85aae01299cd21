//! The blur corruptions: defocus, glass, motion, zoom and Gaussian blur, as the reference's
//! `defocus_blur`, `glass_blur`, `motion_blur`, `zoom_blur` and `gaussian_blur` compute them.

use crate::draws::Draws;
use crate::image::{truncate, Image};
use crate::ops::filters::skimage_gaussian;
use crate::ops::motion;
use crate::ops::opencv_float::{filter2d_f64, gaussian_blur_f32};
use crate::ops::zoom::{arange, clipped_zoom};
use crate::setting::{ConstantSet, Severity};

/// `defocus_blur`'s `(radius, alias_blur)` per severity.
fn defocus_constants(s: Severity, set: ConstantSet) -> (f64, f64) {
    set.pick(
        s,
        [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1.0, 0.2), (1.5, 0.1)],
        [(3.0, 0.1), (4.0, 0.5), (6.0, 0.5), (8.0, 0.5), (10.0, 0.5)],
    )
}

/// `glass_blur`'s `(sigma, max_delta, iterations)` per severity.
fn glass_constants(s: Severity, set: ConstantSet) -> (f64, usize, usize) {
    set.pick(
        s,
        [
            (0.05, 1, 1),
            (0.25, 1, 1),
            (0.4, 1, 1),
            (0.25, 1, 2),
            (0.4, 1, 2),
        ],
        [
            (0.7, 1, 2),
            (0.9, 2, 1),
            (1.0, 2, 3),
            (1.1, 3, 2),
            (1.5, 4, 2),
        ],
    )
}

/// The reference's `disk(radius, alias_blur)`: the aliased disk `x^2 + y^2 <= radius^2` on the
/// integer grid `-8 ..= 8` (radius up to 8) or `-radius ..= radius`, in float32, each inside
/// value `1 / count`, then `cv2.GaussianBlur` with a 3x3 (radius up to 8) or 5x5 kernel of
/// sigma `alias_blur`. Returns the kernel (as float64, as `filter2D` reads it) and its side.
fn disk(radius: f64, alias_blur: f64) -> (Vec<f64>, usize) {
    let (grid, taps) = if radius <= 8.0 {
        (arange(-8.0, 9.0, 1.0), 3)
    } else {
        (arange(-radius, radius + 1.0, 1.0), 5)
    };
    let side = grid.len();
    let inside: Vec<bool> = grid
        .iter()
        .flat_map(|y| grid.iter().map(move |x| x * x + y * y <= radius * radius))
        .collect();
    let count = inside.iter().filter(|&&i| i).count() as f32;
    let value = 1.0f32 / count;
    let aliased: Vec<f32> = inside
        .iter()
        .map(|&i| if i { value } else { 0.0 })
        .collect();
    let kernel = gaussian_blur_f32(&aliased, (side, side), taps, alias_blur);
    (kernel.iter().map(|&v| v as f64).collect(), side)
}

/// Smallest image side `defocus_blur` takes with the constants of `set`: OpenCV reflects the
/// image once at each border, so the kernel's half side must be below the image side (9 for
/// CIFAR's 17x17 kernels, 11 for ImageNet's 21x21 one).
pub fn defocus_min_side(set: ConstantSet) -> usize {
    Severity::ALL
        .iter()
        .map(|&s| disk_side(defocus_constants(s, set).0) / 2 + 1)
        .max()
        .unwrap_or(1)
        .max(4)
}

/// The side of `disk(radius, _)`'s kernel.
fn disk_side(radius: f64) -> usize {
    if radius <= 8.0 {
        17
    } else {
        arange(-radius, radius + 1.0, 1.0).len()
    }
}

/// Smallest image side `glass_blur` takes with the constants of `set`: the shuffle visits rows
/// and columns `max_delta + 1 ..= side - max_delta`, non-empty from `side = 2 max_delta + 1`
/// (3 for CIFAR, 9 for ImageNet), and at least 4 as every corruption.
pub fn glass_min_side(set: ConstantSet) -> usize {
    Severity::ALL
        .iter()
        .map(|&s| 2 * glass_constants(s, set).1 + 1)
        .max()
        .unwrap_or(1)
        .max(4)
}

/// `defocus_blur`: each channel of `x / 255` correlated (`cv2.filter2D`, float64,
/// `BORDER_REFLECT_101`) with the anti-aliased disk of the severity's radius, clipped to
/// `[0, 1]`. OpenCV computes these large kernels through a DFT, a few units in the last place
/// away from the direct sum here (see [`filter2d_f64`]).
pub fn defocus_blur(x: &Image, s: Severity, set: ConstantSet) -> Image {
    let (radius, alias_blur) = defocus_constants(s, set);
    let (kernel, side) = disk(radius, alias_blur);
    let (h, w) = (x.height, x.width);
    let unit = x.to_unit();
    let mut out = vec![0.0; unit.len()];
    for c in 0..3 {
        let channel: Vec<f64> = unit.iter().skip(c).step_by(3).copied().collect();
        let blurred = filter2d_f64(&channel, (h, w), &kernel, side);
        for (i, v) in blurred.into_iter().enumerate() {
            out[i * 3 + c] = v;
        }
    }
    Image::from_unit(h, w, &out)
}

/// `glass_blur`: `uint8(255 gaussian(x / 255, sigma))` (scikit-image, truncated), then
/// `iterations` passes of the reference's local pixel shuffle, then `gaussian` again of the
/// result `/ 255`, clipped to `[0, 1]`.
///
/// The shuffle visits rows `h` from `height - max_delta` down to `max_delta + 1` and, in each,
/// columns `w` likewise (the reference's `range(32 - c[1], c[1], -1)`, here with the image's own
/// sides), drawing `(dx, dy) = randint(-max_delta, max_delta, 2)` per visit: numpy's high is
/// exclusive, so `+max_delta` is never drawn (a reference quirk, kept). The reference's
/// "swap" `x[h, w], x[h', w'] = x[h', w'], x[h, w]` assigns numpy views, so the second
/// assignment copies back the pixel the first one just wrote: the pixel at `(h + dy, w + dx)`
/// is *copied* to `(h, w)` and keeps its own value (a reference quirk, kept).
pub fn glass_blur(x: &Image, s: Severity, set: ConstantSet, d: &mut dyn Draws) -> Image {
    let (sigma, max_delta, iterations) = glass_constants(s, set);
    let (h, w) = (x.height, x.width);
    let shape = (h, w, 3);
    let first = skimage_gaussian(&x.to_unit(), shape, sigma);
    let mut pixels: Vec<u8> = first.iter().map(|v| truncate(v * 255.0)).collect();
    let md = max_delta as i64;
    for _ in 0..iterations {
        for row in (max_delta + 1..=h.saturating_sub(max_delta)).rev() {
            for col in (max_delta + 1..=w.saturating_sub(max_delta)).rev() {
                let offsets = d.randint(-md, md, 2);
                let (dx, dy) = (offsets[0], offsets[1]);
                let from_row = (row as i64 + dy) as usize;
                let from_col = (col as i64 + dx) as usize;
                let to = (row * w + col) * 3;
                let from = (from_row * w + from_col) * 3;
                pixels.copy_within(from..from + 3, to);
            }
        }
    }
    let shuffled: Vec<f64> = pixels.iter().map(|&v| v as f64 / 255.0).collect();
    Image::from_unit(h, w, &skimage_gaussian(&shuffled, shape, sigma))
}

/// `motion_blur`: ImageMagick's `MotionBlurImage(radius, sigma, angle)` of the image, the angle
/// drawn as `uniform(-45, 45)` degrees, through the reference's PNG round trip
/// ([`motion::motion_blur_png8`]: 8-bit in, Q16 blur, truncated back to 8 bits).
pub fn motion_blur(x: &Image, s: Severity, set: ConstantSet, d: &mut dyn Draws) -> Image {
    let (radius, sigma) = set.pick(
        s,
        [(6.0, 1.0), (6.0, 1.5), (6.0, 2.0), (8.0, 2.0), (9.0, 2.5)],
        [
            (10.0, 3.0),
            (15.0, 5.0),
            (15.0, 8.0),
            (15.0, 12.0),
            (20.0, 15.0),
        ],
    );
    let angle = d.uniform(-45.0, 45.0, 1)[0];
    let shape = (x.height, x.width, 3);
    Image::new(
        x.height,
        x.width,
        motion::motion_blur_png8(&x.data, shape, radius, sigma, angle),
    )
}

/// `zoom_blur`: the mean of the image and its `clipped_zoom`s by the severity's factors
/// (`np.arange(1, stop, step)`), all in float32 as the reference computes it: `x / 255` rounded
/// to float32, each zoom (SciPy, linear) stored as float32 and accumulated in float32 in the
/// factors' order, `(x + sum) / (len + 1)` and the final `clip(.., 0, 1) * 255` in float32,
/// truncated to 8 bits.
pub fn zoom_blur(x: &Image, s: Severity, set: ConstantSet) -> Image {
    let (stop, step) = set.pick(
        s,
        [
            (1.06, 0.01),
            (1.11, 0.01),
            (1.16, 0.01),
            (1.21, 0.01),
            (1.26, 0.01),
        ],
        [
            (1.11, 0.01),
            (1.16, 0.01),
            (1.21, 0.02),
            (1.26, 0.02),
            (1.31, 0.03),
        ],
    );
    let factors = arange(1.0, stop, step);
    let shape = (x.height, x.width, 3);
    let unit: Vec<f64> = x.to_unit().iter().map(|&v| v as f32 as f64).collect();
    let mut sum = vec![0.0f32; unit.len()];
    for &z in &factors {
        let zoomed = clipped_zoom(&unit, shape, z, |v| v as f32 as f64);
        for (acc, v) in sum.iter_mut().zip(zoomed) {
            *acc += v as f32;
        }
    }
    let count = (factors.len() + 1) as f32;
    let data = unit
        .iter()
        .zip(&sum)
        .map(|(&u, &acc)| {
            let mean = (u as f32 + acc) / count;
            truncate((mean.clamp(0.0, 1.0) * 255.0) as f64)
        })
        .collect();
    Image::new(x.height, x.width, data)
}

/// `gaussian_blur`: scikit-image's `gaussian(x / 255, sigma)` (SciPy's separable filter,
/// `mode='nearest'`, truncated at 4 sigma, channels apart), clipped to `[0, 1]`.
pub fn gaussian_blur(x: &Image, s: Severity, set: ConstantSet) -> Image {
    let sigma = set.pick(s, [0.4, 0.6, 0.7, 0.8, 1.0], [1.0, 2.0, 3.0, 4.0, 6.0]);
    let out = skimage_gaussian(&x.to_unit(), (x.height, x.width, 3), sigma);
    Image::from_unit(x.height, x.width, &out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededDraws;

    fn severity(level: usize) -> Severity {
        Severity::new(level).unwrap()
    }

    /// A deterministic, textured test image.
    fn texture(h: usize, w: usize) -> Image {
        let data = (0..h * w * 3)
            .map(|i| ((i * 37 + (i / 3) * 11 + (i / (3 * w)) * 5) % 256) as u8)
            .collect();
        Image::new(h, w, data)
    }

    /// Draws that replay fixed values, as the parity tests' replay of numpy's draws does.
    struct Fixed {
        ints: Vec<i64>,
        uniforms: Vec<f64>,
    }

    impl Draws for Fixed {
        fn normal(&mut self, _: f64, _: f64, _: usize) -> Vec<f64> {
            unreachable!("the blurs draw no normals")
        }
        fn uniform(&mut self, _: f64, _: f64, n: usize) -> Vec<f64> {
            self.uniforms.drain(..n).collect()
        }
        fn poisson(&mut self, _: &[f64]) -> Vec<f64> {
            unreachable!("the blurs draw no Poisson counts")
        }
        fn randint(&mut self, _: i64, _: i64, n: usize) -> Vec<i64> {
            self.ints.drain(..n).collect()
        }
    }

    #[test]
    fn the_disk_kernels_are_the_references() {
        // From the reference's `disk` under OpenCV 5.0.0: the side, the float64 sum of the
        // kernel (in row-major order) and a hash of its float32 bits (h = 1000003 h + bits,
        // wrapping), so every weight is checked to the bit. Note the sums on either side of 1:
        // a flat region truncates to one level less where the sum is below 1.
        let cases: [(f64, f64, usize, f64, u64); 10] = [
            (0.3, 0.4, 17, 1.000_000_001_396_983_9, 0x1f92_6aaa_2c3e_1b51),
            (0.4, 0.5, 17, 1.000_000_018_626_451_5, 0xf409_9c37_743a_169b),
            (0.5, 0.6, 17, 1.000_000_044_703_483_6, 0x86fd_dafc_1d5d_d819),
            (1.0, 0.2, 17, 1.000_000_018_072_052_3, 0x8d78_6c51_933a_c9e9),
            (1.5, 0.1, 17, 1.000_000_007_450_580_6, 0x0630_49e7_0a16_2d35),
            (3.0, 0.1, 17, 0.999_999_996_274_709_7, 0x9fc7_9f26_254f_5c3f),
            (4.0, 0.5, 17, 0.999_999_965_773_895_4, 0xb328_4c35_0eca_9c6b),
            (6.0, 0.5, 17, 0.999_999_993_597_157_3, 0x57d3_d209_5a2e_14ba),
            (8.0, 0.5, 17, 1.012_975_454_010_302_2, 0xb1ea_c8d3_e487_5a1c),
            (
                10.0,
                0.5,
                21,
                1.010_785_795_175_180_2,
                0x1e48_633d_f7dd_7ffd,
            ),
        ];
        for (radius, alias, side, sum, hash) in cases {
            let (k, s) = disk(radius, alias);
            assert_eq!(s, side);
            assert_eq!(disk_side(radius), side);
            assert_eq!(k.iter().sum::<f64>(), sum, "radius {radius}");
            let h = k.iter().fold(0u64, |h, &v| {
                h.wrapping_mul(1_000_003)
                    .wrapping_add((v as f32).to_bits() as u64)
            });
            assert_eq!(h, hash, "radius {radius}");
        }
    }

    #[test]
    fn min_sides_fit_the_kernels_and_the_shuffle() {
        assert_eq!(defocus_min_side(ConstantSet::Cifar), 9);
        assert_eq!(defocus_min_side(ConstantSet::ImageNet), 11);
        assert_eq!(glass_min_side(ConstantSet::Cifar), 4);
        assert_eq!(glass_min_side(ConstantSet::ImageNet), 9);
        // Every corruption runs on images of exactly its minimum side.
        for set in [ConstantSet::Cifar, ConstantSet::ImageNet] {
            for s in Severity::ALL {
                let side = defocus_min_side(set);
                let _ = defocus_blur(&texture(side, side), s, set);
                let side = glass_min_side(set);
                let _ = glass_blur(&texture(side, side), s, set, &mut SeededDraws::new(1));
            }
        }
    }

    #[test]
    fn a_constant_image_stays_constant_under_the_deterministic_blurs() {
        // Truncation after a kernel that sums to slightly below 1 can lower a flat value by
        // one level (the reference does the same), so the check allows that.
        let flat = Image::new(12, 14, vec![120; 12 * 14 * 3]);
        for s in Severity::ALL {
            for out in [
                gaussian_blur(&flat, s, ConstantSet::Cifar),
                zoom_blur(&flat, s, ConstantSet::Cifar),
                defocus_blur(&flat, s, ConstantSet::Cifar),
                motion_blur(&flat, s, ConstantSet::Cifar, &mut SeededDraws::new(4)),
            ] {
                assert!(out.data.iter().all(|&v| v == 120 || v == 119), "{s:?}");
            }
        }
        let white = Image::new(12, 14, vec![255; 12 * 14 * 3]);
        assert_eq!(
            gaussian_blur(&white, severity(5), ConstantSet::Cifar),
            white
        );
    }

    #[test]
    fn glass_blur_with_zero_offsets_is_the_two_gaussian_blurs() {
        let x = texture(10, 12);
        let s = severity(4);
        let (sigma, max_delta, iterations) = glass_constants(s, ConstantSet::Cifar);
        let visits = iterations * (10 - 2 * max_delta) * (12 - 2 * max_delta);
        let mut zeros = Fixed {
            ints: vec![0; 2 * visits],
            uniforms: vec![],
        };
        let out = glass_blur(&x, s, ConstantSet::Cifar, &mut zeros);
        assert!(zeros.ints.is_empty(), "one randint of 2 per visit");
        let shape = (10, 12, 3);
        let once: Vec<f64> = skimage_gaussian(&x.to_unit(), shape, sigma)
            .iter()
            .map(|v| truncate(v * 255.0) as f64 / 255.0)
            .collect();
        assert_eq!(
            out,
            Image::from_unit(10, 12, &skimage_gaussian(&once, shape, sigma))
        );
    }

    #[test]
    fn glass_blur_copies_the_drawn_neighbour_in_the_references_order() {
        // Sigma 0.05 leaves an 8-bit image as it is, so the shuffle is visible. A 4x4 image
        // with max_delta 1 visits (3, 3), (3, 2), (2, 3), (2, 2); the first visit draws
        // (dx, dy) = (-1, 0): (3, 3) takes (3, 2)'s pixel, which keeps its own.
        let x = texture(4, 4);
        let mut draws = Fixed {
            ints: vec![-1, 0, 0, 0, 0, 0, 0, 0],
            uniforms: vec![],
        };
        let out = glass_blur(&x, severity(1), ConstantSet::Cifar, &mut draws);
        let px = |img: &Image, y: usize, x: usize| img.data[(y * 4 + x) * 3..][..3].to_vec();
        assert_eq!(px(&out, 3, 3), px(&x, 3, 2));
        assert_eq!(px(&out, 3, 2), px(&x, 3, 2));
        let changed = (0..16)
            .filter(|&i| px(&out, i / 4, i % 4) != px(&x, i / 4, i % 4))
            .count();
        assert_eq!(changed, 1);
    }

    #[test]
    fn motion_blur_at_angle_zero_blurs_along_rows_only() {
        // Vertical stripes are constant down each column: a blur along the rows changes them,
        // and every row stays equal to the first.
        let (h, w) = (6, 20);
        let data = (0..h * w * 3)
            .map(|i| if (i / 3) % w % 4 < 2 { 200 } else { 20 })
            .collect();
        let x = Image::new(h, w, data);
        let mut draws = Fixed {
            ints: vec![],
            uniforms: vec![0.0],
        };
        let out = motion_blur(&x, severity(3), ConstantSet::Cifar, &mut draws);
        assert_ne!(out, x);
        let row = |y: usize| &out.data[y * w * 3..(y + 1) * w * 3];
        assert!((1..h).all(|y| row(y) == row(0)));
        // Horizontal stripes are constant along each row: unchanged.
        let data = (0..h * w * 3)
            .map(|i| if (i / 3) / w % 2 == 0 { 200 } else { 20 })
            .collect();
        let y = Image::new(h, w, data);
        let mut draws = Fixed {
            ints: vec![],
            uniforms: vec![0.0],
        };
        assert_eq!(
            motion_blur(&y, severity(3), ConstantSet::Cifar, &mut draws),
            y
        );
    }

    #[test]
    fn zoom_blur_uses_numpys_factor_count_and_keeps_the_centre() {
        assert_eq!(arange(1.0, 1.06, 0.01).len(), 7);
        // A one-pixel image: every zoom of it is itself.
        let x = Image::new(1, 1, vec![10, 100, 250]);
        assert_eq!(zoom_blur(&x, severity(5), ConstantSet::ImageNet), x);
        // A 3x3 image with a bright centre keeps it brightest.
        let mut data = vec![0u8; 27];
        data[12..15].copy_from_slice(&[255, 255, 255]);
        let out = zoom_blur(&Image::new(3, 3, data), severity(2), ConstantSet::Cifar);
        let centre = out.data[12];
        assert!(out.data.iter().all(|&v| v <= centre));
    }

    #[test]
    fn gaussian_blur_spreads_an_impulse_by_the_severitys_sigma() {
        let mut data = vec![0u8; 9 * 9 * 3];
        data[(4 * 9 + 4) * 3] = 255;
        let x = Image::new(9, 9, data);
        let mild = gaussian_blur(&x, severity(1), ConstantSet::Cifar);
        let strong = gaussian_blur(&x, severity(5), ConstantSet::Cifar);
        let centre = (4 * 9 + 4) * 3;
        assert!(strong.data[centre] < mild.data[centre]);
        assert_eq!(mild.data[centre + 1], 0, "channels are blurred apart");
    }
}
