//! The weather corruptions: snow, frost, fog and spatter (the reference's `snow`, `frost`,
//! `fog` and `spatter`), with the OpenCV, scikit-image and ImageMagick calls they make
//! reimplemented in [`crate::ops`].

use std::path::Path;

use crate::draws::Draws;
use crate::image::Image;
use crate::ops::filters::{correlate1d, gaussian_kernel, skimage_gaussian};
use crate::ops::jpeg_decode;
use crate::ops::motion::motion_blur_png8;
use crate::ops::opencv::{
    blur3_f32, blur3_u8, canny, distance_transform_l2_5, equalize_hist, filter2d_u8,
    resize_linear_u8, rgb_to_grey_f32,
};
use crate::ops::zoom::clipped_zoom;
use crate::ops::Border;
use crate::setting::{ConstantSet, CorruptionError, Severity};

/// The reference's frost pictures (`ImageNet-C/create_c/frost1.png` .. `frost6.jpg` of
/// hendrycks/robustness, which mixbench does not ship), decoded once, with the copies
/// `make_cifar_c.py` shrinks by 0.2 computed once too, so that corrupting many images
/// resizes nothing. `Sync`: one value serves every thread.
pub struct FrostPictures {
    /// The six pictures, RGB (as `cv2.imread` reads them, BGR, then the reference's swap).
    pictures: Vec<Image>,
    /// The first five after `cv2.resize(picture, (0, 0), fx=0.2, fy=0.2)` (the CIFAR set).
    shrunk: Vec<Image>,
}

impl FrostPictures {
    /// The reference's file names, in its order (`frost` indexes this list).
    pub const FILES: [&'static str; 6] = [
        "frost1.png",
        "frost2.png",
        "frost3.png",
        "frost4.jpg",
        "frost5.jpg",
        "frost6.jpg",
    ];

    /// How many pictures `frost` chooses from: `np.random.randint(5)` picks one of the first
    /// five only (a quirk of the reference: `frost6.jpg` is never used), kept so the draws and
    /// outputs match.
    pub const USED: usize = 5;

    /// `make_cifar_c.py`'s `cv2.resize(frost, (0, 0), fx=0.2, fy=0.2)`.
    pub const CIFAR_SCALE: f64 = 0.2;

    /// The six pictures [`Self::FILES`] from folder `dir` (the reference's
    /// `ImageNet-C/create_c`), decoded as `cv2.imread` decodes them: the PNGs (RGBA, the
    /// alpha dropped) by the `image` crate, the JPEGs by [`jpeg_decode::decode_rgb`]
    /// (libjpeg-turbo's arithmetic, which OpenCV uses). An error names the file that is
    /// missing or cannot be decoded.
    pub fn load(dir: &Path) -> Result<Self, CorruptionError> {
        let pictures = Self::FILES
            .iter()
            .map(|name| {
                let path = dir.join(name);
                let fail = |e: &dyn std::fmt::Display| {
                    CorruptionError::FrostPictures(format!("{}: {e}", path.display()))
                };
                let bytes = std::fs::read(&path).map_err(|e| fail(&e))?;
                if bytes.starts_with(&[0xFF, 0xD8]) {
                    let (rgb, h, w) = jpeg_decode::decode_rgb(&bytes).map_err(|e| fail(&e))?;
                    return Ok(Image::new(h, w, rgb));
                }
                let rgb = image::load_from_memory(&bytes)
                    .map_err(|e| fail(&e))?
                    .to_rgb8();
                let (w, h) = rgb.dimensions();
                Ok(Image::new(h as usize, w as usize, rgb.into_raw()))
            })
            .collect::<Result<Vec<_>, CorruptionError>>()?;
        Self::from_pictures(pictures)
    }

    /// The pictures given as images (RGB), in the order of [`Self::FILES`]; an error unless
    /// there are six.
    pub fn from_pictures(pictures: Vec<Image>) -> Result<Self, CorruptionError> {
        if pictures.len() != Self::FILES.len() {
            return Err(CorruptionError::FrostPictures(format!(
                "{} pictures given, the reference has {}",
                pictures.len(),
                Self::FILES.len()
            )));
        }
        let shrunk = pictures[..Self::USED]
            .iter()
            .map(|p| {
                let (data, h, w) = resize_linear_u8(
                    &p.data,
                    (p.height, p.width, 3),
                    Self::CIFAR_SCALE,
                    Self::CIFAR_SCALE,
                );
                Image::new(h, w, data)
            })
            .collect();
        Ok(FrostPictures { pictures, shrunk })
    }

    /// The five pictures `frost` crops with the constants of `set`: shrunk for CIFAR, as they
    /// are for ImageNet.
    fn for_set(&self, set: ConstantSet) -> &[Image] {
        match set {
            ConstantSet::Cifar => &self.shrunk,
            ConstantSet::ImageNet => &self.pictures[..Self::USED],
        }
    }
}

/// `snow`: a layer of flakes, `N(c0, c1)` per pixel, zoomed by `c2` (`clipped_zoom`),
/// cut below `c3`, stored as an 8-bit grey PNG and motion-blurred by ImageMagick (radius `c4`,
/// sigma `c5`, angle `uniform(-135, -45)`); the image is whitened towards
/// `max(x, 1.5 grey + 0.5)` by `1 - c6` (float32, OpenCV's grey) and the layer added twice, as
/// is and turned by 180 degrees.
pub fn snow(x: &Image, s: Severity, set: ConstantSet, d: &mut dyn Draws) -> Image {
    let (c0, c1, c2, c3, c4, c5, c6) = set.pick(
        s,
        [
            (0.1, 0.2, 1.0, 0.6, 8.0, 3.0, 0.95),
            (0.1, 0.2, 1.0, 0.5, 10.0, 4.0, 0.9),
            (0.15, 0.3, 1.75, 0.55, 10.0, 4.0, 0.9),
            (0.25, 0.3, 2.25, 0.6, 12.0, 6.0, 0.85),
            (0.3, 0.3, 1.25, 0.65, 14.0, 12.0, 0.8),
        ],
        [
            (0.1, 0.3, 3.0, 0.5, 10.0, 4.0, 0.8),
            (0.2, 0.3, 2.0, 0.5, 12.0, 4.0, 0.7),
            (0.55, 0.3, 4.0, 0.9, 12.0, 8.0, 0.7),
            (0.55, 0.3, 4.5, 0.85, 12.0, 8.0, 0.65),
            (0.55, 0.3, 2.5, 0.85, 12.0, 12.0, 0.55),
        ],
    );
    let (h, w) = (x.height, x.width);
    let layer = d.normal(c0, c1, h * w);
    let layer = clipped_zoom(&layer, (h, w, 1), c2, |v| v);
    // `layer[layer < c3] = 0`, then `(np.clip(layer, 0, 1) * 255).astype(np.uint8)`.
    let flakes: Vec<u8> = layer
        .iter()
        .map(|&v| (if v < c3 { 0.0 } else { v }).clamp(0.0, 1.0) * 255.0)
        .map(|v| v as u8)
        .collect();
    let angle = d.uniform(-135.0, -45.0, 1)[0];
    let blurred = motion_blur_png8(&flakes, (h, w, 1), c4, c5, angle);
    let flakes: Vec<f64> = blurred.iter().map(|&v| v as f64 / 255.0).collect();

    // `np.array(x, dtype=np.float32) / 255.` and the whitening, all in float32.
    let xf: Vec<f32> = x.data.iter().map(|&v| v as f32 / 255.0).collect();
    let grey = rgb_to_grey_f32(&xf);
    let (keep, whiten) = (c6 as f32, (1.0 - c6) as f32);
    let n = h * w;
    let mut out = Vec::with_capacity(x.data.len());
    for (p, (rgb, &g)) in xf.chunks_exact(3).zip(&grey).enumerate() {
        let bright = g * 1.5 + 0.5;
        let (flake, turned) = (flakes[p], flakes[n - 1 - p]);
        for &v in rgb {
            let whitened = keep * v + whiten * v.max(bright);
            out.push(whitened as f64 + flake + turned);
        }
    }
    Image::from_unit(h, w, &out)
}

/// `frost`: `clip(c0 x + c1 frost, 0, 255)`, `frost` an image-sized crop of one of the first
/// five frost pictures (`randint(5)`), at offsets `randint(0, H - h)`, `randint(0, W - w)`
/// (rows, then columns; the exclusive high never reaches the last offset). CIFAR's pictures
/// are shrunk by 0.2 first, ImageNet's are not. An error when one of the five is not larger
/// than the image on both sides (numpy's `randint(0, 0)` raises): a 64x64 image is too tall
/// for `frost2.png` and `frost3.png` shrunk to 112x63.
pub fn frost(
    x: &Image,
    s: Severity,
    set: ConstantSet,
    d: &mut dyn Draws,
    p: &FrostPictures,
) -> Result<Image, CorruptionError> {
    let (c0, c1) = set.pick(
        s,
        [
            (1.0, 0.2),
            (1.0, 0.3),
            (0.9, 0.4),
            (0.85, 0.4),
            (0.75, 0.45),
        ],
        [(1.0, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)],
    );
    let pictures = p.for_set(set);
    for (picture, name) in pictures.iter().zip(FrostPictures::FILES) {
        if picture.height <= x.height || picture.width <= x.width {
            let how = match set {
                ConstantSet::Cifar => " after the CIFAR set's resize by 0.2",
                ConstantSet::ImageNet => "",
            };
            return Err(CorruptionError::FrostPictures(format!(
                "{name} is {}x{}{how}, too small to crop a {}x{} image from (it must be \
                 larger on both sides)",
                picture.height, picture.width, x.height, x.width
            )));
        }
    }
    let picture = &pictures[d.randint(0, FrostPictures::USED as i64, 1)[0] as usize];
    let top = d.randint(0, (picture.height - x.height) as i64, 1)[0] as usize;
    let left = d.randint(0, (picture.width - x.width) as i64, 1)[0] as usize;
    let row = x.width * 3;
    let mut out = Vec::with_capacity(x.data.len());
    for y in 0..x.height {
        let start = ((top + y) * picture.width + left) * 3;
        let crop = &picture.data[start..start + row];
        let clean = &x.data[y * row..(y + 1) * row];
        for (&v, &f) in clean.iter().zip(crop) {
            out.push((c0 * v as f64 + c1 * f as f64).clamp(0.0, 255.0));
        }
    }
    Ok(Image::from_255(x.height, x.width, &out))
}

/// The reference's `plasma_fractal(mapsize, wibbledecay)`: a diamond-square height map of side
/// `mapsize` (a power of two), normalised to `[0, 1]`. Each step fills the square centres, then
/// the two diamond sets, each from the mean of its four neighbours (wrapping around, as
/// `np.roll` does) plus `wibble * uniform(-wibble, wibble)` (one draw of the whole set per
/// fill, in that order); `wibble` starts at 100 and is divided by `wibbledecay` per step.
fn plasma_fractal(mapsize: usize, wibbledecay: f64, d: &mut dyn Draws) -> Vec<f64> {
    let n = mapsize;
    let mut map = vec![0.0; n * n];
    let mut step = n;
    let mut wibble = 100.0;
    while step >= 2 {
        let (half, m) = (step / 2, n / step);
        let corner = |map: &[f64], i: usize, j: usize| map[(i % m) * step * n + (j % m) * step];
        let centre = |map: &[f64], i: usize, j: usize| {
            map[((i % m) * step + half) * n + (j % m) * step + half]
        };
        // Squares: the centre of each square of corners.
        let u = d.uniform(-wibble, wibble, m * m);
        for i in 0..m {
            for j in 0..m {
                let left = corner(&map, i, j) + corner(&map, i + 1, j);
                let right = corner(&map, i, j + 1) + corner(&map, i + 1, j + 1);
                map[(i * step + half) * n + j * step + half] =
                    (left + right) / 4.0 + wibble * u[i * m + j];
            }
        }
        // Diamonds on the corner rows (between two corners of a row)...
        let u = d.uniform(-wibble, wibble, m * m);
        for i in 0..m {
            for j in 0..m {
                let centres = centre(&map, i, j) + centre(&map, i + m - 1, j);
                let corners = corner(&map, i, j) + corner(&map, i, j + 1);
                map[i * step * n + j * step + half] =
                    (centres + corners) / 4.0 + wibble * u[i * m + j];
            }
        }
        // ...and on the corner columns (between two corners of a column).
        let u = d.uniform(-wibble, wibble, m * m);
        for i in 0..m {
            for j in 0..m {
                let centres = centre(&map, i, j) + centre(&map, i, j + m - 1);
                let corners = corner(&map, i, j) + corner(&map, i + 1, j);
                map[(i * step + half) * n + j * step] =
                    (centres + corners) / 4.0 + wibble * u[i * m + j];
            }
        }
        step /= 2;
        wibble /= wibbledecay;
    }
    let min = map.iter().copied().fold(f64::INFINITY, f64::min);
    for v in &mut map {
        *v -= min;
    }
    let max = map.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    map.iter().map(|v| v / max).collect()
}

/// `fog`: `x + c0 plasma`, rescaled by `max / (max + c0)` (`max` the whole image's maximum),
/// `plasma` a [`plasma_fractal`] of decay `c1` cropped to the image. The reference's map sides
/// (32 in `make_cifar_c.py`, 256 in `make_imagenet_c.py` for 224x224 crops) are the next power
/// of two of the image's larger side, which is the side used for any size.
pub fn fog(x: &Image, s: Severity, set: ConstantSet, d: &mut dyn Draws) -> Image {
    let (c0, decay) = set.pick(
        s,
        [(0.2, 3.0), (0.5, 3.0), (0.75, 2.5), (1.0, 2.0), (1.5, 1.75)],
        [(1.5, 2.0), (2.0, 2.0), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)],
    );
    let mapsize = x.height.max(x.width).next_power_of_two();
    let plasma = plasma_fractal(mapsize, decay, d);
    let unit = x.to_unit();
    let max = unit.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut out = Vec::with_capacity(unit.len());
    for (p, rgb) in unit.chunks_exact(3).enumerate() {
        let fog = c0 * plasma[(p / x.width) * mapsize + p % x.width];
        for &v in rgb {
            out.push((v + fog) * max / (max + c0));
        }
    }
    Image::from_unit(x.height, x.width, &out)
}

/// `skimage.filters.gaussian` of a float32 map (default mode `nearest`): SciPy filters axis
/// by axis in float64 and stores each pass in the float32 output.
fn skimage_gaussian_f32(data: &[f32], (height, width): (usize, usize), sigma: f64) -> Vec<f32> {
    let weights = gaussian_kernel(sigma, 4.0);
    let shape = (height, width, 1);
    let wide: Vec<f64> = data.iter().map(|&v| v as f64).collect();
    let rows: Vec<f64> = correlate1d(&wide, shape, 0, &weights, Border::Nearest)
        .into_iter()
        .map(|v| v as f32 as f64)
        .collect();
    correlate1d(&rows, shape, 1, &weights, Border::Nearest)
        .into_iter()
        .map(|v| v as f32)
        .collect()
}

/// `(liquid * 255).astype(np.uint8)` of a non-negative float64: truncated, and beyond 255
/// wrapped modulo 256 as numpy's C cast does (a smoothed layer can exceed 1).
fn to_u8_wrapping(v: f64) -> u8 {
    (v as i64) as u8
}

/// `spatter`: a liquid layer, `N(c0, c1)` per pixel smoothed by a Gaussian of sigma `c2`
/// (scikit-image) and cut below `c3`. Severities with `c5 = 0` draw water: the layer's
/// Canny edges, their distance transform (capped at 20, box-blurred, equalised, embossed with
/// `filter2D`, blurred again) times the layer, normalised to its maximum and scaled by `c4`,
/// add pale turquoise `(175, 238, 238) / 255`. Severities with `c5 = 1` draw mud: the
/// layer's mask above `c3`, smoothed with sigma `c4` (float32) and cut below 0.8, blends in
/// mud brown `(63, 42, 20) / 255`. Water is computed in float32 as the reference is; when the
/// layer is empty (its maximum 0, where the reference divides 0 by 0) no water is added.
pub fn spatter(x: &Image, s: Severity, set: ConstantSet, d: &mut dyn Draws) -> Image {
    let (c0, c1, c2, c3, c4, mud) = set.pick(
        s,
        [
            (0.62, 0.1, 0.7, 0.7, 0.5, false),
            (0.65, 0.1, 0.8, 0.7, 0.5, false),
            (0.65, 0.3, 1.0, 0.69, 0.5, false),
            (0.65, 0.1, 0.7, 0.69, 0.6, true),
            (0.65, 0.1, 0.5, 0.68, 0.6, true),
        ],
        [
            (0.65, 0.3, 4.0, 0.69, 0.6, false),
            (0.65, 0.3, 3.0, 0.68, 0.6, false),
            (0.65, 0.3, 2.0, 0.68, 0.5, false),
            (0.65, 0.3, 1.0, 0.65, 1.5, true),
            (0.67, 0.4, 1.0, 0.65, 1.5, true),
        ],
    );
    let (h, w) = (x.height, x.width);
    let xf: Vec<f32> = x.data.iter().map(|&v| v as f32 / 255.0).collect();
    let liquid = d.normal(c0, c1, h * w);
    let liquid: Vec<f64> = skimage_gaussian(&liquid, (h, w, 1), c2)
        .into_iter()
        .map(|v| if v < c3 { 0.0 } else { v })
        .collect();
    let out: Vec<u8> = if !mud {
        let liquid: Vec<u8> = liquid.iter().map(|&v| to_u8_wrapping(v * 255.0)).collect();
        let not_edges: Vec<u8> = canny(&liquid, (h, w), 50.0, 150.0)
            .iter()
            .map(|&e| 255 - e)
            .collect();
        // `cv2.threshold(dist, 20, 20, cv2.THRESH_TRUNC)`.
        let dist: Vec<f32> = distance_transform_l2_5(&not_edges, (h, w))
            .into_iter()
            .map(|v| if v > 20.0 { 20.0 } else { v })
            .collect();
        let dist: Vec<u8> = blur3_f32(&dist, (h, w)).iter().map(|&v| v as u8).collect();
        let dist = equalize_hist(&dist);
        let emboss = [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]];
        let dist = blur3_u8(&filter2d_u8(&dist, (h, w), &emboss), (h, w));
        let water: Vec<f32> = liquid
            .iter()
            .zip(&dist)
            .map(|(&l, &t)| l as f32 * t as f32)
            .collect();
        let max = water.iter().copied().fold(0.0f32, f32::max);
        let colour = [175.0 / 255.0, 238.0 / 255.0, 238.0 / 255.0].map(|c: f64| c as f32);
        let strength = c4 as f32;
        xf.chunks_exact(3)
            .zip(&water)
            .flat_map(|(rgb, &m)| {
                let m = if max > 0.0 { m / max * strength } else { 0.0 };
                [0, 1, 2].map(|c| ((rgb[c] + m * colour[c]).clamp(0.0, 1.0) * 255.0) as u8)
            })
            .collect()
    } else {
        let mask: Vec<f32> = liquid
            .iter()
            .map(|&v| if v > c3 { 1.0 } else { 0.0 })
            .collect();
        let mask: Vec<f32> = skimage_gaussian_f32(&mask, (h, w), c4)
            .into_iter()
            .map(|m| if m < 0.8 { 0.0 } else { m })
            .collect();
        let colour = [63.0 / 255.0, 42.0 / 255.0, 20.0 / 255.0].map(|c: f64| c as f32);
        xf.chunks_exact(3)
            .zip(&mask)
            .flat_map(|(rgb, &m)| {
                [0, 1, 2].map(|c| {
                    let v = rgb[c] * (1.0 - m) + colour[c] * m;
                    (v.clamp(0.0, 1.0) * 255.0) as u8
                })
            })
            .collect()
    };
    Image::new(h, w, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededDraws;

    fn severity(level: usize) -> Severity {
        Severity::new(level).unwrap()
    }

    fn gradient(h: usize, w: usize) -> Image {
        Image::new(h, w, (0..h * w * 3).map(|i| (i * 5 % 256) as u8).collect())
    }

    /// Draws that count the calls and hand out fixed values: uniform draws at `low`,
    /// randint at `low`, normals at `loc`.
    #[derive(Default)]
    struct Recorder {
        calls: Vec<(&'static str, usize, f64, f64)>,
    }

    impl Draws for Recorder {
        fn normal(&mut self, loc: f64, scale: f64, n: usize) -> Vec<f64> {
            self.calls.push(("normal", n, loc, scale));
            vec![loc; n]
        }
        fn uniform(&mut self, low: f64, high: f64, n: usize) -> Vec<f64> {
            self.calls.push(("uniform", n, low, high));
            vec![low; n]
        }
        fn poisson(&mut self, lam: &[f64]) -> Vec<f64> {
            self.calls.push(("poisson", lam.len(), 0.0, 0.0));
            lam.to_vec()
        }
        fn randint(&mut self, low: i64, high: i64, n: usize) -> Vec<i64> {
            self.calls.push(("randint", n, low as f64, high as f64));
            vec![low; n]
        }
    }

    #[test]
    fn the_plasma_fractal_draws_three_sets_per_step_and_spans_zero_to_one() {
        let mut rec = Recorder::default();
        let map = plasma_fractal(8, 2.0, &mut SeededRecorder::new(&mut rec, 5));
        let sizes: Vec<(usize, f64)> = rec.calls.iter().map(|c| (c.1, c.3)).collect();
        // Steps 8, 4, 2: sets of 1, 4, 16 values, wibble 100, 50, 25.
        assert_eq!(
            sizes,
            [
                (1, 100.0),
                (1, 100.0),
                (1, 100.0),
                (4, 50.0),
                (4, 50.0),
                (4, 50.0)
            ]
            .into_iter()
            .chain([(16, 25.0); 3])
            .collect::<Vec<_>>()
        );
        assert_eq!(map.len(), 64);
        let (min, max) = map
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        assert_eq!((min, max), (0.0, 1.0));
    }

    /// Seeded draws that also record the calls into a [`Recorder`].
    struct SeededRecorder<'a> {
        rec: &'a mut Recorder,
        seeded: SeededDraws,
    }

    impl<'a> SeededRecorder<'a> {
        fn new(rec: &'a mut Recorder, seed: u64) -> Self {
            SeededRecorder {
                rec,
                seeded: SeededDraws::new(seed),
            }
        }
    }

    impl Draws for SeededRecorder<'_> {
        fn normal(&mut self, loc: f64, scale: f64, n: usize) -> Vec<f64> {
            self.rec.normal(loc, scale, n);
            self.seeded.normal(loc, scale, n)
        }
        fn uniform(&mut self, low: f64, high: f64, n: usize) -> Vec<f64> {
            self.rec.uniform(low, high, n);
            self.seeded.uniform(low, high, n)
        }
        fn poisson(&mut self, lam: &[f64]) -> Vec<f64> {
            self.rec.poisson(lam);
            self.seeded.poisson(lam)
        }
        fn randint(&mut self, low: i64, high: i64, n: usize) -> Vec<i64> {
            self.rec.randint(low, high, n);
            self.seeded.randint(low, high, n)
        }
    }

    #[test]
    fn a_flat_plasma_step_averages_its_neighbours() {
        // A 2x2 map with every draw at -wibble: the centre is 0 / 4 - 100^2; each diamond
        // reads the centre twice (the roll wraps around) and two corners of 0:
        // (-2 10^4 + 0) / 4 - 10^4 = -15000. Raw [0, -15000; -15000, -10000], shifted by
        // 15000 and divided by 15000.
        let mut rec = Recorder::default();
        let map = plasma_fractal(2, 3.0, &mut rec);
        assert_eq!(map, [1.0, 0.0, 0.0, 1.0 / 3.0]);
    }

    #[test]
    fn fog_keeps_the_size_darkens_nothing_past_black_and_uses_the_mapsize_of_the_image() {
        for (h, w, n) in [(32, 32, 1023), (20, 28, 1023), (40, 33, 4095)] {
            let mut rec = Recorder::default();
            let x = gradient(h, w);
            let out = fog(
                &x,
                severity(3),
                ConstantSet::Cifar,
                &mut SeededRecorder::new(&mut rec, 1),
            );
            assert_eq!((out.height, out.width), (h, w));
            let drawn: usize = rec.calls.iter().map(|c| c.1).sum();
            assert_eq!(drawn, n, "{h}x{w}");
        }
        let black = Image::new(8, 8, vec![0; 192]);
        assert_eq!(
            fog(
                &black,
                severity(5),
                ConstantSet::Cifar,
                &mut SeededDraws::new(2)
            ),
            black
        );
    }

    fn pictures(sizes: [(usize, usize); 6]) -> FrostPictures {
        let pictures = sizes
            .iter()
            .enumerate()
            .map(|(k, &(h, w))| {
                let data = (0..h * w * 3)
                    .map(|i| ((i / 3 + 40 * k) % 256) as u8)
                    .collect();
                Image::new(h, w, data)
            })
            .collect();
        FrostPictures::from_pictures(pictures).unwrap()
    }

    #[test]
    fn frost_crops_the_drawn_picture_at_the_drawn_offsets() {
        let p = pictures([(200, 250); 6]);
        assert_eq!((p.shrunk[0].height, p.shrunk[0].width), (40, 50));
        let x = gradient(32, 32);
        let mut rec = Recorder::default();
        let out = frost(&x, severity(1), ConstantSet::Cifar, &mut rec, &p).unwrap();
        assert_eq!(
            rec.calls,
            [
                ("randint", 1, 0.0, 5.0),
                ("randint", 1, 0.0, 8.0),
                ("randint", 1, 0.0, 18.0)
            ]
        );
        // Severity 1: x + 0.2 frost, the crop at (0, 0) of picture 0 shrunk: pixel (y, x) of
        // the shrunk picture is (5 y + 2, 5 x + 2) of the original, value (row * 250 + col) %
        // 256 in every channel.
        for (i, &v) in out.data.iter().enumerate() {
            let (yy, xx) = (i / 3 / 32, i / 3 % 32);
            let f = (((5 * yy + 2) * 250 + 5 * xx + 2) % 256) as f64;
            assert_eq!(
                v,
                (x.data[i] as f64 + 0.2 * f).clamp(0.0, 255.0) as u8,
                "value {i}"
            );
        }
    }

    #[test]
    fn frost_refuses_pictures_too_small_for_the_image() {
        let mut sizes = [(400, 400); 6];
        sizes[1] = (160, 400);
        let p = pictures(sizes);
        let x = gradient(32, 32);
        let err = frost(
            &x,
            severity(2),
            ConstantSet::Cifar,
            &mut SeededDraws::new(0),
            &p,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("frost2.png is 32x80"), "{err}");
        // The same picture is large enough unshrunk, and frost6 (never used) may be tiny.
        sizes[5] = (1, 1);
        let p = pictures(sizes);
        assert!(frost(
            &x,
            severity(2),
            ConstantSet::ImageNet,
            &mut SeededDraws::new(0),
            &p
        )
        .is_ok());
        assert!(FrostPictures::from_pictures(vec![]).is_err());
    }

    #[test]
    fn loading_names_the_missing_picture() {
        let dir = std::env::temp_dir().join("mixbench-no-frost-pictures");
        let err = FrostPictures::load(&dir).err().unwrap().to_string();
        assert!(err.contains("frost1.png"), "{err}");
    }

    #[test]
    fn snow_draws_the_layer_then_the_angle_and_whitens() {
        let x = gradient(16, 20);
        let mut rec = Recorder::default();
        let out = snow(&x, severity(1), ConstantSet::Cifar, &mut rec);
        assert_eq!(
            rec.calls,
            [("normal", 320, 0.1, 0.2), ("uniform", 1, -135.0, -45.0)]
        );
        // A layer of 0.1 everywhere is cut (below 0.6): only the whitening remains, which
        // never darkens (beyond the float32 round trip of `v / 255`, which can lose a level).
        assert!(out
            .data
            .iter()
            .zip(&x.data)
            .all(|(&o, &c)| o as u16 + 1 >= c as u16));
        assert!(out.data.iter().zip(&x.data).any(|(&o, &c)| o > c));
        let out = snow(
            &x,
            severity(5),
            ConstantSet::ImageNet,
            &mut SeededDraws::new(3),
        );
        assert_eq!((out.height, out.width), (16, 20));
    }

    /// Draws whose normal layer is a given one (other draws are not expected).
    struct Layer(Vec<f64>);

    impl Draws for Layer {
        fn normal(&mut self, _: f64, _: f64, n: usize) -> Vec<f64> {
            assert_eq!(n, self.0.len());
            self.0.clone()
        }
        fn uniform(&mut self, _: f64, _: f64, _: usize) -> Vec<f64> {
            unreachable!()
        }
        fn poisson(&mut self, _: &[f64]) -> Vec<f64> {
            unreachable!()
        }
        fn randint(&mut self, _: i64, _: i64, _: usize) -> Vec<i64> {
            unreachable!()
        }
    }

    #[test]
    fn spatter_water_and_mud_change_the_image_only_near_the_liquid() {
        // Liquid (0.95) in the block rows and columns 8..20 of a 32x32 image, none elsewhere.
        let (h, w) = (32, 32);
        let layer: Vec<f64> = (0..h * w)
            .map(|i| {
                if (8..20).contains(&(i / w)) && (8..20).contains(&(i % w)) {
                    0.95
                } else {
                    0.0
                }
            })
            .collect();
        let x = gradient(h, w);
        // Without liquid each value is `uint8(float32(v / 255) * 255)`.
        let dry: Vec<u8> = x
            .data
            .iter()
            .map(|&v| (v as f32 / 255.0 * 255.0) as u8)
            .collect();
        for level in 1..=5 {
            let out = spatter(
                &x,
                severity(level),
                ConstantSet::Cifar,
                &mut Layer(layer.clone()),
            );
            let near = |i: usize| (4..24).contains(&(i / 3 / w)) && (4..24).contains(&(i / 3 % w));
            for (i, (&o, &v)) in out.data.iter().zip(&dry).enumerate() {
                if !near(i) {
                    assert_eq!(o, v, "severity {level}, value {i} is far from the liquid");
                }
            }
            assert!(
                out.data.iter().zip(&dry).any(|(o, v)| o != v),
                "severity {level}"
            );
        }
        // A layer entirely below the cut: no water and no 0 / 0.
        let mut rec = Recorder::default();
        let out = spatter(&x, severity(1), ConstantSet::Cifar, &mut rec);
        assert_eq!(rec.calls, [("normal", 1024, 0.62, 0.1)]);
        assert_eq!(out.data, dry);
    }

    #[test]
    fn every_severity_and_set_takes_small_and_oblong_images() {
        // 400 / 5 = 80 > 64: the CIFAR set's shrunk pictures still fit a 64x64 image.
        let p = pictures([(400, 400); 6]);
        for (h, w) in [(4, 4), (4, 9), (13, 5), (64, 64)] {
            let x = gradient(h, w);
            for set in [ConstantSet::Cifar, ConstantSet::ImageNet] {
                for level in 1..=5 {
                    let mut d = SeededDraws::new(level as u64);
                    let s = severity(level);
                    for out in [
                        snow(&x, s, set, &mut d),
                        fog(&x, s, set, &mut d),
                        spatter(&x, s, set, &mut d),
                        frost(&x, s, set, &mut d, &p).unwrap(),
                    ] {
                        assert_eq!((out.height, out.width), (h, w));
                    }
                }
            }
        }
    }

    #[test]
    fn numpys_uint8_cast_wraps_above_255() {
        assert_eq!(to_u8_wrapping(255.9), 255);
        assert_eq!(to_u8_wrapping(300.7), 44);
        assert_eq!(to_u8_wrapping(1000.0), 232);
    }
}
