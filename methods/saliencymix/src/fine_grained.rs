//! OpenCV's static fine-grained saliency (Montabone and Soto, "Human detection using a mobile
//! platform and novel features derived from a visual saliency mechanism", 2010), as
//! `cv::saliency::StaticSaliencyFineGrained` in opencv_contrib (`modules/saliency`) computes
//! it, re-implemented as `docs/methods/saliencymix.md` (*Detector*) describes, without an OpenCV dependency.
//!
//! Two entry points, one per input type OpenCV accepts:
//!
//! - [`fine_grained_u8`]: the intended detector on an 8-bit image;
//! - [`fine_grained_f32`]: what OpenCV does with a `f32` image, which the SaliencyMix reference
//!   script hands it (the normalised tensor): the grey image stays `f32`, but the centre value
//!   of every window is read through an 8-bit accessor, i.e. as one raw byte of the float
//!   buffer ("float bytes", `docs/methods/saliencymix.md`, *Float bytes*).
//!
//! Both reproduce opencv-contrib-python-headless 5.0.0 (x86-64) bit for bit: the grey
//! conversion's integer coefficients and the `f32` rounding order are that build's; every later
//! step follows the C++ source, including its casts (`(uchar)` of a value above 255 wraps
//! modulo 256, which happens in the on/off mix and is kept).
//!
//! Images are `H x W x C` interleaved (`C` = 3 or 1). With 3 channels OpenCV assumes BGR
//! memory order; the reference passes RGB, so channel 0 (red) gets the blue weight. Channels
//! are taken as given, as the reference does.

/// Neighbourhood half-sizes of the six scales, in OpenCV's order.
const NEIGHBOURHOODS: [usize; 6] = [12, 24, 48, 28, 56, 112];

/// Fine-grained saliency of an 8-bit `h x w x c` image (`c` = 1 or 3): the 8-bit map OpenCV
/// returns, row-major `h x w`.
pub fn fine_grained_u8(image: &[u8], h: usize, w: usize, c: usize) -> Vec<u8> {
    assert_eq!(image.len(), h * w * c, "image must be h x w x c");
    let mut grey: Vec<u8> = match c {
        3 => image
            .chunks_exact(3)
            .map(|p| {
                let v = 7470 * p[0] as u32 + 38470 * p[1] as u32 + 19596 * p[2] as u32 + 32768;
                (v >> 16) as u8
            })
            .collect(),
        1 => image.to_vec(),
        _ => panic!("fine-grained saliency takes 1 or 3 channels, got {c}"),
    };
    for _ in 0..2 {
        grey = blur_u8(&grey, h, w);
    }
    let integral = integral(h, w, |i| grey[i] as f32);
    intensity(&integral, h, w, |y, x| grey[y * w + x] as i32)
}

/// Fine-grained saliency of a `f32` `h x w x c` image (`c` = 1 or 3) as OpenCV computes it:
/// `f32` grey, blur and integral image, but centre values read as raw bytes of the `f32`
/// grey buffer (little-endian). Row-major `h x w` 8-bit map.
pub fn fine_grained_f32(image: &[f32], h: usize, w: usize, c: usize) -> Vec<u8> {
    assert_eq!(image.len(), h * w * c, "image must be h x w x c");
    let mut grey: Vec<f32> = match c {
        // This build's SIMD rounding order: the green product is rounded, then two fused
        // multiply-adds.
        3 => image
            .chunks_exact(3)
            .map(|p| p[2].mul_add(0.299, p[0].mul_add(0.114, p[1] * 0.587)))
            .collect(),
        1 => image.to_vec(),
        _ => panic!("fine-grained saliency takes 1 or 3 channels, got {c}"),
    };
    for _ in 0..2 {
        grey = blur_f32(&grey, h, w);
    }
    let integral = integral(h, w, |i| grey[i]);
    // `gray.at<uchar>(y, x)` on a CV_32F matrix: byte `x` of row `y` (row stride 4 w bytes).
    intensity(&integral, h, w, |y, x| {
        let bits = grey[y * w + x / 4].to_bits();
        ((bits >> (8 * (x % 4))) & 255) as i32
    })
}

/// OpenCV's BORDER_REFLECT_101: index -1 reads 1, index n reads n - 2.
fn reflect101(i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let n = n as isize;
    let mut i = i;
    if i < 0 {
        i = -i;
    }
    if i >= n {
        i = 2 * n - 2 - i;
    }
    i as usize
}

/// `GaussianBlur(3x3, sigma 0)` on 8-bit grey: kernel `(1, 2, 1) / 4` both ways, one rounding
/// per 2-D pass (OpenCV's fixed-point path is exact here).
fn blur_u8(src: &[u8], h: usize, w: usize) -> Vec<u8> {
    const K: [u32; 3] = [1, 2, 1];
    let mut out = vec![0u8; h * w];
    for y in 0..h {
        for x in 0..w {
            let mut sum = 0u32;
            for (dy, ky) in K.iter().enumerate() {
                let yy = reflect101(y as isize + dy as isize - 1, h);
                for (dx, kx) in K.iter().enumerate() {
                    let xx = reflect101(x as isize + dx as isize - 1, w);
                    sum += ky * kx * src[yy * w + xx] as u32;
                }
            }
            out[y * w + x] = ((sum + 8) >> 4) as u8;
        }
    }
    out
}

/// `GaussianBlur(3x3, sigma 0)` on `f32` grey: horizontal then vertical pass, each
/// `0.25 (left + right) + 0.5 centre` in `f32`.
fn blur_f32(src: &[f32], h: usize, w: usize) -> Vec<f32> {
    let tap = |l: f32, c: f32, r: f32| (l + r) * 0.25 + c * 0.5;
    let mut horizontal = vec![0f32; h * w];
    for y in 0..h {
        let row = &src[y * w..(y + 1) * w];
        for x in 0..w {
            let l = row[reflect101(x as isize - 1, w)];
            let r = row[reflect101(x as isize + 1, w)];
            horizontal[y * w + x] = tap(l, row[x], r);
        }
    }
    let mut out = vec![0f32; h * w];
    for y in 0..h {
        let up = reflect101(y as isize - 1, h);
        let down = reflect101(y as isize + 1, h);
        for x in 0..w {
            out[y * w + x] = tap(
                horizontal[up * w + x],
                horizontal[y * w + x],
                horizontal[down * w + x],
            );
        }
    }
    out
}

/// `integral(gray, T, CV_32F)`: `(h + 1) x (w + 1)`, zero first row and column, accumulated
/// row by row with a running `f32` row sum.
fn integral(h: usize, w: usize, value: impl Fn(usize) -> f32) -> Vec<f32> {
    let stride = w + 1;
    let mut t = vec![0f32; (h + 1) * stride];
    for y in 0..h {
        let mut row = 0f32;
        for x in 0..w {
            row += value(y * w + x);
            t[(y + 1) * stride + x + 1] = t[y * stride + x + 1] + row;
        }
    }
    t
}

/// C's `(uchar)` of a float already known to be positive: truncation, then the low byte.
fn to_uchar(v: f64) -> u8 {
    (v as i64 & 255) as u8
}

/// `calcIntensityChannel` after the integral image: six on/off scales, `mixScales`,
/// `mixOnOff`. `centre(y, x)` is what OpenCV's `gray.at<uchar>(y, x)` reads.
fn intensity(t: &[f32], h: usize, w: usize, centre: impl Fn(usize, usize) -> i32) -> Vec<u8> {
    let stride = w + 1;
    let mut on_sum = vec![0u16; h * w];
    let mut off_sum = vec![0u16; h * w];
    let clamp = |v: isize, hi: usize| v.clamp(0, hi as isize) as usize;
    for &n in &NEIGHBOURHOODS {
        let n = n as isize;
        for y in 0..h {
            let (y1, y2) = (clamp(y as isize - n + 1, h), clamp(y as isize + n + 1, h));
            for x in 0..w {
                let (x1, x2) = (clamp(x as isize - n + 1, w), clamp(x as isize + n + 1, w));
                let c = centre(y, x);
                let s = ((t[y2 * stride + x2] + t[y1 * stride + x1]) - t[y2 * stride + x1])
                    - t[y1 * stride + x2];
                let area = ((x2 - x1) * (y2 - y1)) as i64 - 1;
                let mean = (s - c as f32) / area as f32;
                let on = c as f32 - mean;
                let off = mean - c as f32;
                if on > 0.0 {
                    on_sum[y * w + x] += to_uchar(on as f64) as u16;
                }
                if off > 0.0 {
                    off_sum[y * w + x] += to_uchar(off as f64) as u16;
                }
            }
        }
    }
    let rescale = |sums: &[u16]| -> Vec<u8> {
        let max = sums.iter().copied().max().unwrap_or(0);
        if max == 0 {
            // 0 / 0 in the C++ (undefined); 0 here.
            return vec![0; sums.len()];
        }
        sums.iter()
            .map(|&v| to_uchar(255.0 * (v as f32 / max as f32) as f64))
            .collect()
    };
    let (on, off) = (rescale(&on_sum), rescale(&off_sum));
    let max = on.iter().chain(off.iter()).copied().max().unwrap_or(0);
    if max == 0 {
        return vec![0; h * w];
    }
    on.iter()
        .zip(&off)
        .map(|(&a, &b)| {
            to_uchar(255.0 * ((a as i32 + b as i32) as f32 as f64) / (max as f32 as f64))
        })
        .collect()
}

/// First maximum of a row-major `h x w` map: `(row, column)`.
pub fn first_argmax(map: &[u8], w: usize) -> (usize, usize) {
    let mut best = 0;
    for (i, &v) in map.iter().enumerate() {
        if v > map[best] {
            best = i;
        }
    }
    (best / w, best % w)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CIFAR-10 normalisation as the reference pipeline computes it (`docs/methods/saliencymix.md`, *Detector*; `docs/training.md`, *Data*):
    /// `u = f32(v) / 255`, then `(u - mean) / std` in `f32`, constants `f32(m / 255)` with the
    /// division in `f64`.
    fn normalise(image: &[u8]) -> Vec<f32> {
        let mean = [125.3f64, 123.0, 113.9].map(|m| (m / 255.0) as f32);
        let std = [63.0f64, 62.1, 66.7].map(|s| (s / 255.0) as f32);
        image
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let c = i % 3;
                (v as f32 / 255.0 - mean[c]) / std[c]
            })
            .collect()
    }

    fn disk() -> Vec<u8> {
        let mut image = vec![60u8; 32 * 32 * 3];
        for r in 0..32i32 {
            for c in 0..32i32 {
                if (r - 20).pow(2) + (c - 11).pow(2) <= 25 {
                    for ch in 0..3 {
                        image[((r * 32 + c) * 3 + ch) as usize] = 220;
                    }
                }
            }
        }
        image
    }

    fn ramp() -> Vec<u8> {
        let mut image = vec![0u8; 32 * 32 * 3];
        for r in 0..32usize {
            for c in 0..32usize {
                for ch in 0..3usize {
                    image[(r * 32 + c) * 3 + ch] =
                        ((7 * c + 13 * r + 29 * ch + (c * r % 17)) % 256) as u8;
                }
            }
        }
        image
    }

    fn summary(map: &[u8]) -> ((usize, usize), u64) {
        (first_argmax(map, 32), map.iter().map(|&v| v as u64).sum())
    }

    // Expected values: the test vectors of `docs/methods/saliencymix.md` (*Test vectors*) (OpenCV 5.0.0 x86-64, reproduced here with
    // opencv-contrib-python-headless 5.0.0.93).
    #[test]
    fn disk_u8_matches_the_spec_vector() {
        assert_eq!(
            summary(&fine_grained_u8(&disk(), 32, 32, 3)),
            ((18, 11), 173577)
        );
    }

    #[test]
    fn disk_f32_matches_the_spec_vector() {
        let map = fine_grained_f32(&normalise(&disk()), 32, 32, 3);
        assert_eq!(summary(&map), ((14, 24), 172570));
        assert_eq!(&map[0..8], &[230, 144, 119, 196, 230, 144, 119, 196]);
    }

    #[test]
    fn ramp_u8_matches_the_spec_vector() {
        assert_eq!(
            summary(&fine_grained_u8(&ramp(), 32, 32, 3)),
            ((0, 0), 145943)
        );
    }

    #[test]
    fn ramp_f32_matches_the_spec_vector() {
        let map = fine_grained_f32(&normalise(&ramp()), 32, 32, 3);
        assert_eq!(summary(&map), ((4, 17), 122659));
        assert_eq!(
            &map[0..12],
            &[57, 118, 143, 191, 210, 155, 137, 191, 103, 226, 118, 191]
        );
    }

    #[test]
    fn flat_image_gives_a_zero_map() {
        assert!(fine_grained_u8(&[77u8; 8 * 8 * 3], 8, 8, 3)
            .iter()
            .all(|&v| v == 0));
    }

    #[test]
    fn reflect101_reads_the_mirror_without_the_edge() {
        assert_eq!(reflect101(-1, 5), 1);
        assert_eq!(reflect101(5, 5), 3);
        assert_eq!(reflect101(2, 5), 2);
    }
}
