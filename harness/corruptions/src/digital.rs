//! The digital corruptions: brightness, contrast, saturation, elastic transform, pixelation
//! and JPEG compression, each the reference function of the same name with the constants of
//! `make_cifar_c.py` or `make_imagenet_c.py`.

use crate::draws::Draws;
use crate::image::Image;
use crate::ops::color::edit_hsv;
use crate::ops::filters::gaussian_filter;
use crate::ops::warp::{affine_transform, map_coordinates_linear, warp_affine_linear};
use crate::ops::{jpeg, resize, Border};
use crate::setting::{ConstantSet, Severity};

/// `brightness`: the HSV value raised by `c` (clipped to 1), through scikit-image's
/// `rgb2hsv` / `hsv2rgb`.
pub fn brightness(x: &Image, s: Severity, set: ConstantSet) -> Image {
    let c = set.pick(s, [0.05, 0.1, 0.15, 0.2, 0.3], [0.1, 0.2, 0.3, 0.4, 0.5]);
    let mut unit = x.to_unit();
    edit_hsv(&mut unit, |[h, sat, v]| [h, sat, (v + c).clamp(0.0, 1.0)]);
    Image::from_unit(x.height, x.width, &unit)
}

/// `contrast`: each channel pulled towards its mean over the image, `(x - m) c + m`. The mean
/// is NumPy's `np.mean(x, axis=(0, 1))`, which sums the pixels in memory order.
pub fn contrast(x: &Image, s: Severity, set: ConstantSet) -> Image {
    let c = set.pick(s, [0.75, 0.5, 0.4, 0.3, 0.15], [0.4, 0.3, 0.2, 0.1, 0.05]);
    let unit = x.to_unit();
    let mut sums = [0.0f64; 3];
    for px in unit.chunks_exact(3) {
        for (sum, v) in sums.iter_mut().zip(px) {
            *sum += v;
        }
    }
    let means = sums.map(|sum| sum / x.pixels() as f64);
    let out: Vec<f64> = unit
        .iter()
        .enumerate()
        .map(|(i, v)| (v - means[i % 3]) * c + means[i % 3])
        .collect();
    Image::from_unit(x.height, x.width, &out)
}

/// `saturate`: the HSV saturation scaled by `c.0` and raised by `c.1` (clipped to `[0, 1]`).
pub fn saturate(x: &Image, s: Severity, set: ConstantSet) -> Image {
    let (scale, shift) = set.pick(
        s,
        [(0.3, 0.0), (0.1, 0.0), (1.5, 0.0), (2.0, 0.1), (2.5, 0.2)],
        [(0.3, 0.0), (0.1, 0.0), (2.0, 0.0), (5.0, 0.1), (20.0, 0.2)],
    );
    let mut unit = x.to_unit();
    edit_hsv(&mut unit, |[h, sat, v]| {
        [h, (sat * scale + shift).clamp(0.0, 1.0), v]
    });
    Image::from_unit(x.height, x.width, &unit)
}

/// `elastic_transform`: a random affine warp (the corners of a centred triangle moved by up to
/// `c.2` pixels, OpenCV's `getAffineTransform` and `warpAffine` on float32 with reflect-101
/// borders), then a smooth random displacement field (uniform noise in `[-1, 1]` blurred by
/// scikit-image's Gaussian of `sigma = c.1`, `mode='reflect'`, `truncate=3`, times `c.0`, as
/// float32), read with SciPy's `map_coordinates(order=1, mode='reflect')`.
///
/// The CIFAR constants are fractions of the image side (the reference's `IMSIZE = 32`; the
/// shorter side here); the ImageNet ones are multiples of 244 as the reference writes them (its
/// comment: "244 should have been 224"). The triangle is the reference's: its `(row, column)`
/// centre read as `(x, y)`, the same on square images.
pub fn elastic_transform(x: &Image, s: Severity, set: ConstantSet, d: &mut dyn Draws) -> Image {
    let (h, w) = (x.height, x.width);
    let (alpha, sigma, affine) = {
        let unit = match set {
            ConstantSet::Cifar => h.min(w) as f64,
            ConstantSet::ImageNet => 244.0,
        };
        let (a, b, c) = set.pick(
            s,
            [
                (0.0, 0.0, 0.08),
                (0.05, 0.2, 0.07),
                (0.08, 0.06, 0.06),
                (0.1, 0.04, 0.05),
                (0.1, 0.03, 0.03),
            ],
            [
                (2.0, 0.7, 0.1),
                (2.0, 0.08, 0.2),
                (0.05, 0.01, 0.02),
                (0.07, 0.01, 0.02),
                (0.12, 0.01, 0.02),
            ],
        );
        (unit * a, unit * b, unit * c)
    };
    let image: Vec<f32> = x.data.iter().map(|&v| v as f32 / 255.0).collect();
    // The random affine: pts1 as the reference builds it in float32, pts2 = pts1 + uniform
    // noise cast to float32.
    let centre = [(h / 2) as f32, (w / 2) as f32];
    let half = (h.min(w) / 3) as f32;
    let pts1 = [
        [centre[0] + half, centre[1] + half],
        [centre[0] + half, centre[1] - half],
        [centre[0] - half, centre[1] - half],
    ];
    let jitter = d.uniform(-affine, affine, 6);
    let pts2: [[f32; 2]; 3] =
        std::array::from_fn(|i| std::array::from_fn(|j| pts1[i][j] + jitter[2 * i + j] as f32));
    let warped = warp_affine_linear(&image, (h, w, 3), affine_transform(pts1, pts2));
    // The displacement fields, dx drawn first.
    let mut field = || -> Vec<f32> {
        let noise = d.uniform(-1.0, 1.0, h * w);
        gaussian_filter(&noise, (h, w, 1), sigma, Border::Reflect, 3.0)
            .iter()
            .map(|v| (v * alpha) as f32)
            .collect()
    };
    let dx = field();
    let dy = field();
    let rows: Vec<f64> = (0..h * w).map(|p| (p / w) as f64 + dy[p] as f64).collect();
    let cols: Vec<f64> = (0..h * w).map(|p| (p % w) as f64 + dx[p] as f64).collect();
    let out = map_coordinates_linear(&warped, (h, w, 3), &rows, &cols);
    // np.clip(float32, 0, 1) * 255 stays float32 before the uint8 cast.
    let scaled: Vec<f64> = out
        .iter()
        .map(|v| (v.clamp(0.0, 1.0) * 255.0) as f64)
        .collect();
    Image::from_255(h, w, &scaled)
}

/// `pixelate`: Pillow's box-filter resize to `c` times the size (`int(side * c)`) and back.
pub fn pixelate(x: &Image, s: Severity, set: ConstantSet) -> Image {
    let c = set.pick(s, [0.95, 0.9, 0.85, 0.75, 0.65], [0.6, 0.5, 0.4, 0.3, 0.25]);
    let (h, w) = (x.height, x.width);
    let small = ((h as f64 * c) as usize, (w as f64 * c) as usize);
    let down = resize::resize_box(&x.data, (h, w, 3), small);
    Image::new(
        h,
        w,
        resize::resize_box(&down, (small.0, small.1, 3), (h, w)),
    )
}

/// `jpeg_compression`: Pillow's JPEG save at quality `c` and reload ([`jpeg::roundtrip`]).
pub fn jpeg_compression(x: &Image, s: Severity, set: ConstantSet) -> Image {
    let quality = set.pick(s, [80, 65, 58, 50, 40], [25, 18, 15, 10, 7]);
    Image::new(
        x.height,
        x.width,
        jpeg::roundtrip(&x.data, x.height, x.width, quality),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededDraws;

    fn severity(level: usize) -> Severity {
        Severity::new(level).unwrap()
    }

    /// A 32x32 image with smooth colour gradients.
    fn gradient() -> Image {
        let data = (0..32 * 32)
            .flat_map(|p| {
                let (y, x) = (p / 32, p % 32);
                [(8 * x) as u8, (8 * y) as u8, (4 * (x + y)) as u8]
            })
            .collect();
        Image::new(32, 32, data)
    }

    #[test]
    fn brightness_lifts_black_to_the_value_c_and_keeps_white() {
        let black = Image::new(4, 4, vec![0; 48]);
        // v = 0.3 at CIFAR severity 5: np.uint8(0.3 * 255) = 76.
        let out = brightness(&black, severity(5), ConstantSet::Cifar);
        assert!(out.data.iter().all(|&v| v == 76), "{:?}", &out.data[..3]);
        let white = Image::new(4, 4, vec![255; 48]);
        assert_eq!(
            brightness(&white, severity(3), ConstantSet::ImageNet),
            white
        );
    }

    #[test]
    fn contrast_keeps_a_flat_image_and_pulls_values_to_the_channel_mean() {
        let flat = Image::new(4, 4, vec![100; 48]);
        // 100 / 255 round-trips below 100 after truncation.
        let out = contrast(&flat, severity(2), ConstantSet::Cifar);
        assert!(out.data.iter().all(|&v| v == 99 || v == 100));
        let two = Image::new(1, 2, vec![0, 0, 0, 255, 255, 255]);
        // Mean 0.5, c = 0.15: 0.5 -+ 0.075.
        let out = contrast(&two, severity(5), ConstantSet::Cifar);
        assert_eq!(out.data, [108, 108, 108, 146, 146, 146]);
    }

    #[test]
    fn saturate_leaves_greys_and_desaturates_colours() {
        let grey = Image::new(2, 2, vec![128; 12]);
        assert_eq!(saturate(&grey, severity(2), ConstantSet::Cifar), grey);
        let red = Image::new(1, 1, vec![255, 0, 0]);
        // Saturation 1 -> 0.1: g = b = 255 (1 - 0.1).
        let out = saturate(&red, severity(2), ConstantSet::Cifar);
        assert_eq!(out.data, [255, 229, 229]);
    }

    #[test]
    fn pixelate_keeps_a_flat_image_and_blocks_a_gradient() {
        let flat = Image::new(32, 32, vec![77; 32 * 32 * 3]);
        assert_eq!(pixelate(&flat, severity(5), ConstantSet::Cifar), flat);
        let g = gradient();
        let out = pixelate(&g, severity(5), ConstantSet::Cifar);
        assert_ne!(out, g);
        assert_eq!(out.data.len(), g.data.len());
    }

    #[test]
    fn jpeg_compression_stays_close_and_loses_more_at_lower_quality() {
        let g = gradient();
        let error = |s: usize| {
            let out = jpeg_compression(&g, severity(s), ConstantSet::ImageNet);
            out.data
                .iter()
                .zip(&g.data)
                .map(|(&a, &b)| (a as f64 - b as f64).abs())
                .sum::<f64>()
                / g.data.len() as f64
        };
        let (mild, strong) = (error(1), error(5));
        assert!(mild < strong, "{mild} vs {strong}");
        assert!(mild < 8.0, "{mild}");
    }

    #[test]
    fn elastic_transform_draws_the_reference_calls_and_keeps_a_flat_image() {
        /// Counts the draws while passing them on.
        struct Counting(SeededDraws, Vec<usize>);
        impl Draws for Counting {
            fn normal(&mut self, loc: f64, scale: f64, n: usize) -> Vec<f64> {
                self.0.normal(loc, scale, n)
            }
            fn uniform(&mut self, low: f64, high: f64, n: usize) -> Vec<f64> {
                self.1.push(n);
                self.0.uniform(low, high, n)
            }
            fn poisson(&mut self, lam: &[f64]) -> Vec<f64> {
                self.0.poisson(lam)
            }
            fn randint(&mut self, low: i64, high: i64, n: usize) -> Vec<i64> {
                self.0.randint(low, high, n)
            }
        }
        let flat = Image::new(32, 32, vec![200; 32 * 32 * 3]);
        let mut d = Counting(SeededDraws::new(4), Vec::new());
        let out = elastic_transform(&flat, severity(4), ConstantSet::Cifar, &mut d);
        assert_eq!(d.1, [6, 1024, 1024]);
        assert_eq!(out, flat);
        let g = gradient();
        let out = elastic_transform(
            &g,
            severity(5),
            ConstantSet::Cifar,
            &mut SeededDraws::new(5),
        );
        assert_ne!(out, g);
    }
}
