//! The OpenCV routines of the reference's `frost`, `snow` and `spatter`, reimplemented with the
//! algorithm and rounding of the OpenCV build that made the fixtures (opencv-python 5.0, Intel
//! IPP enabled, as pip installs it): `cv2.resize` (`INTER_LINEAR`, 8-bit), `cv2.cvtColor`
//! (`COLOR_RGB2GRAY`, float32), `cv2.Canny`, `cv2.distanceTransform` (`DIST_L2`, 5x5 mask),
//! `cv2.blur` (3x3, float32 and 8-bit), `cv2.equalizeHist` and `cv2.filter2D` (8-bit, 3x3
//! integer kernel).
//!
//! Where IPP computes something differently from OpenCV's own code (the distance transform,
//! the grey conversion), the IPP result is the one reproduced, checked against `cv2` on random
//! inputs.
//!
//! Images are row-major slices (`height * width * channels`); every routine here is
//! single-channel except [`resize_linear_u8`] and [`rgb_to_grey_f32`]. OpenCV's default border,
//! `BORDER_REFLECT_101` ([`Border::Mirror`]), applies where a filter reads outside the image.

use super::Border;

/// `INTER_RESIZE_COEF_BITS`: the fixed-point precision of 8-bit linear resizing.
const RESIZE_COEF_BITS: u32 = 11;

/// OpenCV's `cvRound` / `saturate_cast<int>` of a double: to nearest, ties to even.
fn cv_round(v: f64) -> i64 {
    v.round_ties_even() as i64
}

/// The source index and the two fixed-point weights of each output position of one axis of
/// [`resize_linear_u8`] (`(float)((d + 0.5) * scale - 0.5)`, floored; clamped to the edges
/// with weight 0 on the outside, as OpenCV's `resize` does for `INTER_LINEAR`).
fn resize_taps(n_in: usize, n_out: usize, scale: f64) -> Vec<(usize, [i32; 2])> {
    let one = (1i32 << RESIZE_COEF_BITS) as f32;
    (0..n_out)
        .map(|d| {
            let f = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let s = f.floor();
            let (mut s, mut frac) = (s as i64, f - s);
            if s < 0 {
                (s, frac) = (0, 0.0);
            }
            if s >= n_in as i64 - 1 {
                (s, frac) = (n_in as i64 - 1, 0.0);
            }
            let w0 = ((1.0 - frac) * one).round_ties_even() as i32;
            let w1 = (frac * one).round_ties_even() as i32;
            (s as usize, [w0, w1])
        })
        .collect()
}

/// `cv2.resize(src, (0, 0), fx=fx, fy=fy)` of an 8-bit HWC image (`INTER_LINEAR`, the
/// default): the output is `round(w fx) x round(h fy)`; each output pixel `d` reads source
/// position `(d + 0.5) / f - 0.5` with 11-bit fixed-point weights, rows first (`int` sums),
/// then columns, rounded back with `(v + 2^21) >> 22`. Returns `(pixels, height, width)`.
///
/// OpenCV's vectorised column pass rounds differently from this (scalar) rule when a weight
/// pair is not `(2048, 0)`; the reference's only use, `fx = fy = 0.2`, samples every fifth
/// pixel exactly (`5 d + 2`, weights `(2048, 0)`), where every path is exact.
pub fn resize_linear_u8(
    src: &[u8],
    (height, width, channels): (usize, usize, usize),
    fx: f64,
    fy: f64,
) -> (Vec<u8>, usize, usize) {
    assert_eq!(src.len(), height * width * channels, "an HWC image");
    let out_w = cv_round(width as f64 * fx).max(1) as usize;
    let out_h = cv_round(height as f64 * fy).max(1) as usize;
    let xs = resize_taps(width, out_w, 1.0 / fx);
    let ys = resize_taps(height, out_h, 1.0 / fy);
    let row_pass = |y: usize| -> Vec<i32> {
        let row = &src[y * width * channels..(y + 1) * width * channels];
        let mut out = Vec::with_capacity(out_w * channels);
        for &(sx, [w0, w1]) in &xs {
            let next = (sx + 1).min(width - 1);
            for c in 0..channels {
                let a = row[sx * channels + c] as i32;
                let b = row[next * channels + c] as i32;
                out.push(a * w0 + b * w1);
            }
        }
        out
    };
    let rows: Vec<Vec<i32>> = (0..height).map(row_pass).collect();
    let mut out = Vec::with_capacity(out_h * out_w * channels);
    for &(sy, [w0, w1]) in &ys {
        let (r0, r1) = (&rows[sy], &rows[(sy + 1).min(height - 1)]);
        for (a, b) in r0.iter().zip(r1) {
            let v = (*a as i64 * w0 as i64 + *b as i64 * w1 as i64 + (1 << 21)) >> 22;
            out.push(v.clamp(0, 255) as u8);
        }
    }
    (out, out_h, out_w)
}

/// `cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)` of a float32 RGB image: `0.299 R + 0.587 G +
/// 0.114 B` with float32 coefficients, evaluated as the build's IPP path does it,
/// `fma(B, 0.114, fma(R, 0.299, G * 0.587))` (OpenCV's own vector loop orders it
/// differently; this order matched `cv2.cvtColor` on every pixel of the test images, the
/// others tried did not).
pub fn rgb_to_grey_f32(rgb: &[f32]) -> Vec<f32> {
    rgb.chunks_exact(3)
        .map(|p| p[2].mul_add(0.114, p[0].mul_add(0.299, p[1] * 0.587)))
        .collect()
}

/// The 3x3 Sobel derivatives of `cv2.Canny` (`BORDER_REPLICATE`): `(d/dx, d/dy)` per pixel.
fn sobel3(src: &[u8], height: usize, width: usize) -> (Vec<i32>, Vec<i32>) {
    let at = |y: isize, x: isize| {
        let (y, x) = (
            Border::Nearest.index(y, height),
            Border::Nearest.index(x, width),
        );
        src[y * width + x] as i32
    };
    let mut dx = Vec::with_capacity(height * width);
    let mut dy = Vec::with_capacity(height * width);
    for y in 0..height as isize {
        for x in 0..width as isize {
            let gx = |yy: isize| at(yy, x + 1) - at(yy, x - 1);
            let gy = |xx: isize| at(y + 1, xx) - at(y - 1, xx);
            dx.push(gx(y - 1) + 2 * gx(y) + gx(y + 1));
            dy.push(gy(x - 1) + 2 * gy(x) + gy(x + 1));
        }
    }
    (dx, dy)
}

/// `cv2.Canny(src, low, high)` (3x3 Sobel, L1 gradient `|dx| + |dy|`): 255 on edges, 0 elsewhere.
///
/// As OpenCV: the thresholds are floored to integers; a pixel whose magnitude is above `low`
/// survives non-maximum suppression when it beats its two neighbours across the gradient,
/// the direction chosen with the fixed-point tangent of 22.5 degrees (`tan(22.5) 2^15`,
/// rounded) and the ties broken as OpenCV breaks them (`>` towards the previous neighbour,
/// `>=` towards the next, `>` both ways on diagonals); magnitudes outside the image are 0.
/// Survivors above `high` are edges, and so is every survivor 8-connected to an edge through
/// survivors (hysteresis, which OpenCV runs with a stack: the set it reaches is the same).
pub fn canny(src: &[u8], (height, width): (usize, usize), low: f64, high: f64) -> Vec<u8> {
    assert_eq!(src.len(), height * width, "a one-channel image");
    let (low, high) = if low > high { (high, low) } else { (low, high) };
    let (low, high) = (low.floor() as i32, high.floor() as i32);
    let (dx, dy) = sobel3(src, height, width);
    let mag: Vec<i32> = dx.iter().zip(&dy).map(|(a, b)| a.abs() + b.abs()).collect();
    let m = |y: isize, x: isize| -> i32 {
        if (0..height as isize).contains(&y) && (0..width as isize).contains(&x) {
            mag[y as usize * width + x as usize]
        } else {
            0
        }
    };
    const SHIFT: u32 = 15;
    let tg22 = (0.414_213_562_373_095_05 * (1 << SHIFT) as f64 + 0.5) as i32;
    // 0: suppressed, 1: survivor (maybe an edge), 2: edge.
    let mut state = vec![0u8; height * width];
    let mut stack = Vec::new();
    for y in 0..height as isize {
        for x in 0..width as isize {
            let i = y as usize * width + x as usize;
            let v = mag[i];
            if v <= low {
                continue;
            }
            let (xs, ys) = (dx[i], dy[i]);
            let ax = xs.abs();
            let ay = ys.abs() << SHIFT;
            let tg22x = ax * tg22;
            let keep = if ay < tg22x {
                v > m(y, x - 1) && v >= m(y, x + 1)
            } else if ay > tg22x + (ax << (SHIFT + 1)) {
                v > m(y - 1, x) && v >= m(y + 1, x)
            } else {
                let s = if (xs ^ ys) < 0 { -1 } else { 1 };
                v > m(y - 1, x - s) && v > m(y + 1, x + s)
            };
            if keep {
                state[i] = if v > high { 2 } else { 1 };
                if v > high {
                    stack.push(i);
                }
            }
        }
    }
    while let Some(i) = stack.pop() {
        let (y, x) = ((i / width) as isize, (i % width) as isize);
        for (ny, nx) in (-1..=1).flat_map(|a| (-1..=1).map(move |b| (y + a, x + b))) {
            if (0..height as isize).contains(&ny) && (0..width as isize).contains(&nx) {
                let j = ny as usize * width + nx as usize;
                if state[j] == 1 {
                    state[j] = 2;
                    stack.push(j);
                }
            }
        }
    }
    state
        .iter()
        .map(|&s| if s == 2 { 255 } else { 0 })
        .collect()
}

/// `cv2.distanceTransform(src, cv2.DIST_L2, 5)`: for each non-zero pixel, the chamfer distance
/// to the nearest zero pixel with OpenCV's 5x5 weights for `DIST_L2` (1 along a row or
/// column, 1.4 diagonally, 2.1969 for a knight's move), in float32: a forward pass (rows top
/// to bottom, left to right, over the neighbours above and to the left) and a backward pass
/// (the mirror image), each distance the minimum of `neighbour + weight` added in float32,
/// outside the image never nearer; pixels with no zero pixel at all stay at `f32::MAX`. This is how the IPP build computes it
/// (`ippiDistanceTransform_5x5_8u32f_C1R`); OpenCV's own fallback uses 16-bit fixed point.
pub fn distance_transform_l2_5(src: &[u8], (height, width): (usize, usize)) -> Vec<f32> {
    assert_eq!(src.len(), height * width, "a one-channel image");
    const A: f32 = 1.0;
    const B: f32 = 1.4;
    const C: f32 = 2.1969;
    // (dy, dx, weight) of the forward mask; the backward mask is its mirror image.
    const MASK: [(isize, isize, f32); 8] = [
        (-2, -1, C),
        (-2, 1, C),
        (-1, -2, C),
        (-1, -1, B),
        (-1, 0, A),
        (-1, 1, B),
        (-1, 2, C),
        (0, -1, A),
    ];
    let mut d: Vec<f32> = src
        .iter()
        .map(|&v| if v == 0 { 0.0 } else { f32::MAX })
        .collect();
    let (h, w) = (height as isize, width as isize);
    let relax = |y: isize, x: isize, sign: isize, d: &mut [f32]| {
        let i = (y * w + x) as usize;
        let mut t = d[i];
        if t == 0.0 {
            return;
        }
        for &(dy, dx, weight) in &MASK {
            let (yy, xx) = (y + sign * dy, x + sign * dx);
            if (0..h).contains(&yy) && (0..w).contains(&xx) {
                t = t.min(d[(yy * w + xx) as usize] + weight);
            }
        }
        d[i] = t;
    };
    for y in 0..h {
        for x in 0..w {
            relax(y, x, 1, &mut d);
        }
    }
    for y in (0..h).rev() {
        for x in (0..w).rev() {
            relax(y, x, -1, &mut d);
        }
    }
    d
}

/// The 3x3 sums of a one-channel image under `BORDER_REFLECT_101`, in f64 (exact for the
/// float32 and 8-bit values [`blur3_f32`] and [`blur3_u8`] sum).
fn box_sums3(value: impl Fn(usize) -> f64, (height, width): (usize, usize)) -> Vec<f64> {
    let mut out = Vec::with_capacity(height * width);
    for y in 0..height as isize {
        let rows = [y - 1, y, y + 1].map(|r| Border::Mirror.index(r, height));
        for x in 0..width as isize {
            let cols = [x - 1, x, x + 1].map(|c| Border::Mirror.index(c, width));
            let mut s = 0.0;
            for r in rows {
                for c in cols {
                    s += value(r * width + c);
                }
            }
            out.push(s);
        }
    }
    out
}

/// `cv2.blur(src, (3, 3))` of a float32 image: the 3x3 mean (`BORDER_REFLECT_101`), the sum
/// of the nine values (exact in double) times `1 / 9.` rounded to float32.
pub fn blur3_f32(src: &[f32], shape: (usize, usize)) -> Vec<f32> {
    assert_eq!(src.len(), shape.0 * shape.1, "a one-channel image");
    box_sums3(|i| src[i] as f64, shape)
        .into_iter()
        .map(|s| (s * (1.0 / 9.0)) as f32)
        .collect()
}

/// `cv2.blur(src, (3, 3))` of an 8-bit image: the 3x3 sum `s` (`BORDER_REFLECT_101`) divided
/// by 9 in OpenCV's fixed point, `(s + 4) * 932068 >> 23` (`932068 = 2^23 / 9`, rounded up),
/// which is `s / 9` rounded to nearest.
pub fn blur3_u8(src: &[u8], shape: (usize, usize)) -> Vec<u8> {
    assert_eq!(src.len(), shape.0 * shape.1, "a one-channel image");
    box_sums3(|i| src[i] as f64, shape)
        .into_iter()
        .map(|s| (((s as u64 + 4) * 932_068) >> 23) as u8)
        .collect()
}

/// `cv2.equalizeHist(src)`: the histogram's cumulative sum from the first occupied level
/// `i0` (which maps to 0), scaled by `255 / (total - hist[i0])` in float32 and rounded half to
/// even; a one-level image becomes that level everywhere.
pub fn equalize_hist(src: &[u8]) -> Vec<u8> {
    let mut hist = [0usize; 256];
    for &v in src {
        hist[v as usize] += 1;
    }
    let Some(first) = hist.iter().position(|&n| n > 0) else {
        return Vec::new();
    };
    if hist[first] == src.len() {
        return vec![first as u8; src.len()];
    }
    let scale = 255.0f32 / (src.len() - hist[first]) as f32;
    let mut lut = [0u8; 256];
    let mut sum = 0usize;
    for level in first + 1..256 {
        sum += hist[level];
        lut[level] = (sum as f32 * scale).round_ties_even().clamp(0.0, 255.0) as u8;
    }
    src.iter().map(|&v| lut[v as usize]).collect()
}

/// `cv2.filter2D(src, cv2.CV_8U, kernel)` of an 8-bit image with a 3x3 integer kernel:
/// correlation (the kernel is not flipped) centred on each pixel, `BORDER_REFLECT_101`, the
/// sum (a whole number, exact in OpenCV's float arithmetic) saturated to `0 ..= 255`.
pub fn filter2d_u8(src: &[u8], (height, width): (usize, usize), kernel: &[[i32; 3]; 3]) -> Vec<u8> {
    assert_eq!(src.len(), height * width, "a one-channel image");
    let mut out = Vec::with_capacity(src.len());
    for y in 0..height as isize {
        let rows = [y - 1, y, y + 1].map(|r| Border::Mirror.index(r, height));
        for x in 0..width as isize {
            let cols = [x - 1, x, x + 1].map(|c| Border::Mirror.index(c, width));
            let mut s = 0i32;
            for (kr, &r) in kernel.iter().zip(&rows) {
                for (k, &c) in kr.iter().zip(&cols) {
                    s += k * src[r * width + c] as i32;
                }
            }
            out.push(s.clamp(0, 255) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resizing_by_a_fifth_samples_every_fifth_pixel_from_the_third() {
        let (h, w) = (10, 15);
        let src: Vec<u8> = (0..h * w * 3).map(|i| (i * 7 % 251) as u8).collect();
        let (out, oh, ow) = resize_linear_u8(&src, (h, w, 3), 0.2, 0.2);
        assert_eq!((oh, ow), (2, 3));
        for y in 0..oh {
            for x in 0..ow {
                for c in 0..3 {
                    let s = ((5 * y + 2) * w + 5 * x + 2) * 3 + c;
                    assert_eq!(out[(y * ow + x) * 3 + c], src[s]);
                }
            }
        }
        // OpenCV's output size rounds half to even: 527 * 0.2 = 105.4 -> 105, 12.5 -> 12.
        assert_eq!(
            resize_linear_u8(&vec![0; 527], (1, 527, 1), 0.2, 1.0).2,
            105
        );
        assert_eq!(resize_linear_u8(&[0; 25], (1, 25, 1), 0.5, 1.0).2, 12);
    }

    #[test]
    fn doubling_interpolates_with_quarter_weights() {
        // Upscaling [0, 100] by 2: positions -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
        let (out, _, w) = resize_linear_u8(&[0, 100], (1, 2, 1), 2.0, 1.0);
        assert_eq!(w, 4);
        assert_eq!(out, [0, 25, 75, 100]);
    }

    #[test]
    fn grey_uses_the_rec601_weights() {
        let g = rgb_to_grey_f32(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
        assert_eq!(&g[..3], &[0.299, 0.587, 0.114]);
        assert!((g[3] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn canny_finds_both_sides_of_a_step_edge_and_nothing_in_flat_areas() {
        // A vertical step 0 | 200 between columns 3 and 4: |dx| = 800 on columns 3 and 4,
        // equal, so the tie rule keeps the left one (`>` left, `>=` right) only.
        let (h, w) = (6, 8);
        let src: Vec<u8> = (0..h * w)
            .map(|i| if i % w >= 4 { 200 } else { 0 })
            .collect();
        let edges = canny(&src, (h, w), 50.0, 150.0);
        for y in 0..h {
            let row: Vec<u8> = edges[y * w..(y + 1) * w].to_vec();
            assert_eq!(row, [0, 0, 0, 255, 0, 0, 0, 0], "row {y}");
        }
        assert!(canny(&[77; 64], (8, 8), 50.0, 150.0)
            .iter()
            .all(|&v| v == 0));
    }

    #[test]
    fn canny_hysteresis_follows_weak_edges_only_from_strong_ones() {
        // A faint step (magnitude 4 * 20 = 80, between the thresholds) is no edge on its own,
        // but it is when a strong step continues it.
        let (h, w) = (6, 8);
        let faint: Vec<u8> = (0..h * w)
            .map(|i| if i % w >= 4 { 20 } else { 0 })
            .collect();
        assert!(canny(&faint, (h, w), 50.0, 150.0).iter().all(|&v| v == 0));
        let mut mixed = faint.clone();
        for x in 4..w {
            mixed[(h - 1) * w + x] = 200;
            mixed[(h - 2) * w + x] = 200;
        }
        // What cv2.Canny(mixed, 50, 150) returns: the faint step's column 3 is kept above
        // the strong rows, which bend the edge along row 3.
        let expected: [[u8; 8]; 6] = [
            [0, 0, 0, 255, 0, 0, 0, 0],
            [0, 0, 0, 255, 0, 0, 0, 0],
            [0, 0, 0, 255, 0, 0, 0, 0],
            [0, 0, 0, 0, 255, 255, 255, 255],
            [0, 0, 0, 0, 255, 0, 0, 0],
            [0, 0, 0, 255, 0, 0, 0, 0],
        ];
        assert_eq!(canny(&mixed, (h, w), 50.0, 150.0), expected.concat());
    }

    #[test]
    fn distances_use_the_chamfer_weights_and_no_border() {
        // One zero pixel in the corner of a 3x4 image.
        let mut src = vec![1u8; 12];
        src[0] = 0;
        let d = distance_transform_l2_5(&src, (3, 4));
        let (b, c) = (1.4f32, 2.1969f32);
        assert_eq!(d[0], 0.0);
        assert_eq!(&d[1..4], &[1.0, 2.0, 3.0]);
        assert_eq!(&d[4..8], &[1.0, b, c, c + 1.0]);
        assert_eq!(&d[8..12], &[2.0, c, b + b, b + c]);
        // No zero pixel: everything is as far as a float32 goes (IPP's start value).
        assert_eq!(distance_transform_l2_5(&[5; 4], (2, 2)), [f32::MAX; 4]);
    }

    #[test]
    fn blurs_average_nine_values_with_the_mirror_border() {
        // Row 0 of [[0, 9, 0], [0, 0, 0]] reads rows (1, 0, 1) and columns (1, 0, 1) at x = 0.
        let src = [0u8, 9, 0, 0, 0, 0];
        let f: Vec<f32> = src.iter().map(|&v| v as f32).collect();
        let mean = blur3_f32(&f, (2, 3));
        assert_eq!(mean[0], (9.0f64 * 2.0 / 9.0) as f32);
        assert_eq!(mean[1], (9.0f64 / 9.0) as f32);
        // Row 1 reads rows (0, 1, 0): 2 * (9 + 0 + 9) = 36 at x = 0.
        assert_eq!(mean[3], 4.0);
        assert_eq!(blur3_u8(&src, (2, 3)), [2, 1, 2, 4, 2, 4]);
        // One row reads itself three times: 3 * 5 = 15, 15 / 9 rounds to 2; 2295 / 9 = 255.
        assert_eq!(blur3_u8(&[5, 0, 0, 0], (1, 4)), [2, 2, 0, 0]);
        assert_eq!(blur3_u8(&[255; 9], (3, 3)), [255; 9]);
    }

    #[test]
    fn equalize_hist_spreads_levels_from_the_first_occupied_one() {
        // Levels 10 (x2), 20, 30: scale 255 / 2, cumulative 1 and 2 above the first level.
        assert_eq!(equalize_hist(&[10, 10, 20, 30]), [0, 0, 128, 255]);
        assert_eq!(equalize_hist(&[7, 7, 7]), [7, 7, 7]);
    }

    #[test]
    fn filter2d_correlates_and_saturates() {
        let k = [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]];
        // A flat image: the kernel sums to 1, so it is unchanged.
        assert_eq!(filter2d_u8(&[40; 9], (3, 3), &k), [40; 9]);
        // An impulse at the centre of a 3x3 zero image: the centre reads it with weight 1; an
        // edge pixel reads it twice through the mirror (weights -1 and 1, or -2 and 2 at the
        // corners), so everything else is 0 (cv2.filter2D gives the same).
        let mut impulse = [0u8; 9];
        impulse[4] = 100;
        assert_eq!(
            filter2d_u8(&impulse, (3, 3), &k),
            [0, 0, 0, 0, 100, 0, 0, 0, 0]
        );
        // Saturation: a bright pixel under the weight-2 tap of a dark neighbourhood.
        let mut bright = [0u8; 16];
        bright[10] = 200;
        assert_eq!(
            filter2d_u8(&bright, (4, 4), &k)[5],
            255,
            "2 * 200 saturates"
        );
    }
}
