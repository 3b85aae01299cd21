//! The reference's `clipped_zoom`: a centre crop scaled back up with
//! `scipy.ndimage.zoom(order=1)` and trimmed to the original size.

/// Python's `round` (half to even), as `scipy.ndimage.zoom` rounds its output shape.
fn round_half_even(v: f64) -> usize {
    let r = v.round();
    if (v - v.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        (r - v.signum()) as usize
    } else {
        r as usize
    }
}

/// `scipy.ndimage.zoom(a, (z, z, 1), order=1)` of an HWC array: output side
/// `round(side * z)`, output index `o` reads input position `o * (in - 1) / (out - 1)`,
/// linearly interpolated (in float64; `store` rounds each result as the output dtype does).
pub fn zoom_linear(
    data: &[f64],
    (height, width, channels): (usize, usize, usize),
    zoom: f64,
    store: impl Fn(f64) -> f64,
) -> (Vec<f64>, usize, usize) {
    let (out_h, out_w) = (
        round_half_even(height as f64 * zoom),
        round_half_even(width as f64 * zoom),
    );
    let scale = |n_in: usize, n_out: usize| {
        if n_out > 1 {
            (n_in as f64 - 1.0) / (n_out as f64 - 1.0)
        } else {
            0.0
        }
    };
    let (sy, sx) = (scale(height, out_h), scale(width, out_w));
    let taps = |o: usize, s: f64, n: usize| {
        let pos = o as f64 * s;
        let lo = (pos.floor() as usize).min(n - 1);
        let hi = (lo + 1).min(n - 1);
        (lo, hi, pos - lo as f64)
    };
    let mut out = vec![0.0; out_h * out_w * channels];
    for oy in 0..out_h {
        let (y0, y1, fy) = taps(oy, sy, height);
        for ox in 0..out_w {
            let (x0, x1, fx) = taps(ox, sx, width);
            for c in 0..channels {
                let at = |y: usize, x: usize| data[(y * width + x) * channels + c];
                let v = (1.0 - fy) * ((1.0 - fx) * at(y0, x0) + fx * at(y0, x1))
                    + fy * ((1.0 - fx) * at(y1, x0) + fx * at(y1, x1));
                out[(oy * out_w + ox) * channels + c] = store(v);
            }
        }
    }
    (out, out_h, out_w)
}

/// The reference's `clipped_zoom(img, z)`: the centre `ceil(side / z)` square (top-left at
/// `(side - crop) // 2`, per side here, the reference's square images using the height for
/// both), zoomed by `z`, trimmed back to `height x width` around the centre.
pub fn clipped_zoom(
    data: &[f64],
    (height, width, channels): (usize, usize, usize),
    zoom: f64,
    store: impl Fn(f64) -> f64,
) -> Vec<f64> {
    let crop = |n: usize| (n as f64 / zoom).ceil() as usize;
    let (ch, cw) = (crop(height), crop(width));
    let (top, left) = ((height - ch) / 2, (width - cw) / 2);
    let mut cropped = Vec::with_capacity(ch * cw * channels);
    for y in top..top + ch {
        let row = (y * width + left) * channels;
        cropped.extend_from_slice(&data[row..row + cw * channels]);
    }
    let (zoomed, zh, zw) = zoom_linear(&cropped, (ch, cw, channels), zoom, store);
    let (trim_y, trim_x) = ((zh - height) / 2, (zw - width) / 2);
    let mut out = Vec::with_capacity(height * width * channels);
    for y in trim_y..trim_y + height {
        let row = (y * zw + trim_x) * channels;
        out.extend_from_slice(&zoomed[row..row + width * channels]);
    }
    out
}

/// `np.arange(start, stop, step)`: `ceil((stop - start) / step)` values `start + i * delta`,
/// where `delta = (start + step) - start` as numpy's fill computes it from the first two values
/// (so `np.arange(1, 1.11, 0.01)` has 12 values, its last 1.11, and `np.arange(1, 1.26, 0.01)[25]`
/// is 1.2500000000000002, not 1.25: float quirks the reference's zoom factors inherit, and the
/// second one changes a zoomed size, `round(26 * z)`, from 32 to 33).
pub fn arange(start: f64, stop: f64, step: f64) -> Vec<f64> {
    let n = ((stop - start) / step).ceil().max(0.0) as usize;
    let delta = (start + step) - start;
    (0..n).map(|i| start + i as f64 * delta).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_keeps_the_corners_and_interpolates_between() {
        let data = [0.0, 1.0, 2.0, 3.0]; // 2x2, one channel
        let (out, h, w) = zoom_linear(&data, (2, 2, 1), 1.5, |v| v);
        assert_eq!((h, w), (3, 3));
        assert_eq!(out, [0.0, 0.5, 1.0, 1.0, 1.5, 2.0, 2.0, 2.5, 3.0]);
    }

    #[test]
    fn clipped_zoom_keeps_the_size_and_a_zoom_of_one_is_the_identity() {
        let data: Vec<f64> = (0..32 * 32 * 3).map(|i| (i % 97) as f64).collect();
        assert_eq!(clipped_zoom(&data, (32, 32, 3), 1.0, |v| v), data);
        assert_eq!(
            clipped_zoom(&data, (32, 32, 3), 1.17, |v| v).len(),
            data.len()
        );
    }

    #[test]
    fn arange_has_numpys_length_quirk() {
        assert_eq!(arange(1.0, 1.06, 0.01).len(), 7);
        assert_eq!(arange(1.0, 1.11, 0.01).len(), 12);
        assert_eq!(arange(1.0, 1.26, 0.01)[25], 1.250_000_000_000_000_2);
        assert_eq!(
            arange(-8.0, 9.0, 1.0),
            (-8..=8).map(f64::from).collect::<Vec<_>>()
        );
        assert_eq!(round_half_even(2.5), 2);
        assert_eq!(round_half_even(3.5), 4);
        assert_eq!(round_half_even(32.32), 32);
    }
}
