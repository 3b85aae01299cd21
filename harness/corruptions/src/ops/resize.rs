//! Pillow's `Image.resize(size, Image.BOX)` on 8-bit images (libImaging/Resample.c), which the
//! reference's pixelate calls twice: fixed-point box-filter coefficients and one pass per axis,
//! each rounded to 8 bits.

/// Fractional bits of Pillow's fixed-point coefficients (`PRECISION_BITS = 32 - 8 - 2`).
const PRECISION_BITS: u32 = 22;

/// One pass's coefficients, as Pillow's `precompute_coeffs` and `normalize_coeffs_8bpc` make
/// them: for each output index the first input index read and the fixed-point weights.
struct Coefficients {
    /// `(first input index, number of inputs)` per output index.
    bounds: Vec<(usize, usize)>,
    /// `ksize` weights per output index (unused ones 0).
    weights: Vec<i32>,
    /// Weights per output index.
    ksize: usize,
}

/// Pillow's box filter: 1 on `(-0.5, 0.5]`.
fn box_filter(x: f64) -> f64 {
    if x > -0.5 && x <= 0.5 {
        1.0
    } else {
        0.0
    }
}

impl Coefficients {
    /// `precompute_coeffs(in_size, 0, in_size, out_size, BOX)`: the filter's support (0.5)
    /// widened by the scale when shrinking, taps centred on `(o + 0.5) * scale`, normalised
    /// to sum 1, then `(int)(0.5 + w * 2^22)`.
    fn new(in_size: usize, out_size: usize) -> Self {
        let scale = in_size as f64 / out_size as f64;
        let filterscale = scale.max(1.0);
        let support = 0.5 * filterscale;
        let ksize = support.ceil() as usize * 2 + 1;
        let inv_filterscale = 1.0 / filterscale;
        let mut bounds = Vec::with_capacity(out_size);
        let mut weights = vec![0i32; out_size * ksize];
        let mut k = vec![0.0f64; ksize];
        for xx in 0..out_size {
            let center = (xx as f64 + 0.5) * scale;
            // C's (int) truncates towards zero.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize - xmin;
            let mut ww = 0.0;
            for (x, kx) in k.iter_mut().enumerate().take(xmax) {
                let w = box_filter(((x + xmin) as f64 - center + 0.5) * inv_filterscale);
                *kx = w;
                ww += w;
            }
            for (x, &kx) in k.iter().enumerate().take(xmax) {
                let w = if ww != 0.0 { kx / ww } else { kx };
                weights[xx * ksize + x] = (0.5 + w * (1u32 << PRECISION_BITS) as f64) as i32;
            }
            bounds.push((xmin, xmax));
        }
        Coefficients {
            bounds,
            weights,
            ksize,
        }
    }

    /// Output `o` of a line read through `at(i)`: `clip8((1 << 21) + sum in * k) >> 22`.
    fn apply(&self, o: usize, at: impl Fn(usize) -> u8) -> u8 {
        let (xmin, n) = self.bounds[o];
        let k = &self.weights[o * self.ksize..o * self.ksize + n];
        let mut ss: i32 = 1 << (PRECISION_BITS - 1);
        for (x, &w) in k.iter().enumerate() {
            ss += at(xmin + x) as i32 * w;
        }
        (ss >> PRECISION_BITS).clamp(0, 255) as u8
    }
}

/// One pass of Pillow's resample: the HWC image resized along its rows (`vertical`) or its
/// columns to `out` samples, each band alone.
fn resample_axis(
    data: &[u8],
    (height, width, channels): (usize, usize, usize),
    vertical: bool,
    out: usize,
) -> Vec<u8> {
    let coefficients = Coefficients::new(if vertical { height } else { width }, out);
    let (out_h, out_w) = if vertical {
        (out, width)
    } else {
        (height, out)
    };
    let mut result = vec![0u8; out_h * out_w * channels];
    for y in 0..out_h {
        for x in 0..out_w {
            for c in 0..channels {
                result[(y * out_w + x) * channels + c] = if vertical {
                    coefficients.apply(y, |i| data[(i * width + x) * channels + c])
                } else {
                    coefficients.apply(x, |i| data[(y * width + i) * channels + c])
                };
            }
        }
    }
    result
}

/// `Image.resize((out_w, out_h), Image.BOX)` of an 8-bit HWC image with `channels` bands:
/// Pillow 13's two-pass resample, each pass rounded to 8 bits, horizontal first unless the
/// height shrinks by more than twice as many pixels as the width (`ImagingResampleInner`).
pub fn resize_box(
    data: &[u8],
    (height, width, channels): (usize, usize, usize),
    (out_h, out_w): (usize, usize),
) -> Vec<u8> {
    let (shrink_h, shrink_w) = (height as i64 - out_h as i64, width as i64 - out_w as i64);
    if shrink_h > 0 && shrink_h > 2 * shrink_w {
        let rows = resample_axis(data, (height, width, channels), true, out_h);
        resample_axis(&rows, (out_h, width, channels), false, out_w)
    } else {
        let cols = resample_axis(data, (height, width, channels), false, out_w);
        resample_axis(&cols, (height, out_w, channels), true, out_h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_averages_two_by_two_blocks_rounding_half_up() {
        // One band, 4x4 -> 2x2: each output is the mean of a 2x2 block, Pillow rounding each
        // pass's half up: rows (10 + 11) / 2 = 10.5 -> 11 and (20 + 23) / 2 = 21.5 -> 22,
        // then (11 + 22) / 2 = 16.5 -> 17.
        let data = [
            10, 11, 0, 0, //
            20, 23, 0, 0, //
            5, 5, 255, 255, //
            5, 5, 255, 255,
        ];
        assert_eq!(resize_box(&data, (4, 4, 1), (2, 2)), [17, 0, 5, 255]);
    }

    #[test]
    fn an_unchanged_size_is_the_identity_and_upscaling_repeats_pixels() {
        let data: Vec<u8> = (0..27).map(|v| v * 9).collect();
        assert_eq!(resize_box(&data, (3, 3, 3), (3, 3)), data);
        // Doubling with a box filter copies each pixel into a 2x2 block.
        let up = resize_box(&[7, 200], (1, 2, 1), (2, 4));
        assert_eq!(up, [7, 7, 200, 200, 7, 7, 200, 200]);
    }

    #[test]
    fn the_pass_order_follows_pillow_13() {
        // 4 rows x 2 columns -> 1 x 1: the height shrinks by 3 > 2 * 1, so the columns are
        // averaged first, (10 + 5 + 5 + 5) / 4 -> 6 and 25 / 4 -> 6, then 6; rows first would
        // give 5, 10, 8, 3 and then 7.
        let data = [10, 0, 5, 15, 5, 10, 5, 0];
        assert_eq!(resize_box(&data, (4, 2, 1), (1, 1)), [6]);
        // Transposed, the width shrinks more and the rows go first: 6 again.
        let transposed = [10, 5, 5, 5, 0, 15, 10, 0];
        assert_eq!(resize_box(&transposed, (2, 4, 1), (1, 1)), [6]);
    }

    #[test]
    fn the_coefficients_follow_pillow_for_a_non_integer_ratio() {
        // 32 -> 30: scale 16/15, support 8/15. Output 0 (centre 8/15) reads input 0 alone,
        // output 7 (centre 8) inputs 7 and 8 equally.
        let c = Coefficients::new(32, 30);
        assert_eq!(c.ksize, 3);
        assert_eq!(c.bounds[0], (0, 1));
        assert_eq!(c.weights[..3], [1 << 22, 0, 0]);
        assert_eq!(c.bounds[7], (7, 2));
        assert_eq!(c.weights[21..24], [1 << 21, 1 << 21, 0]);
        // A constant line stays constant.
        for o in 0..30 {
            assert_eq!(c.apply(o, |_| 77), 77);
        }
    }
}
