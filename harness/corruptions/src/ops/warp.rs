//! The geometric transforms of the reference's elastic transform: OpenCV's
//! `getAffineTransform` and `warpAffine` (float32, `INTER_LINEAR`, `BORDER_REFLECT_101`, as
//! OpenCV 5 computes them) and SciPy's `map_coordinates(order=1, mode='reflect')`.

use super::Border;

/// `cv2.getAffineTransform(src, dst)`: the 2x3 matrix `[a, b, c, d, e, f]` (row-major) taking
/// each `src` point `(x, y)` to its `dst` point, from the 6x6 system OpenCV builds, solved in
/// float64 by its `LUImpl` (Gaussian elimination with partial pivoting, then back
/// substitution), so the matrix is the same to the last bit. Collinear points give the zero
/// matrix, as `cv::solve` leaves it when the system is singular.
pub fn affine_transform(src: [[f32; 2]; 3], dst: [[f32; 2]; 3]) -> [f64; 6] {
    let mut a = [[0.0f64; 6]; 6];
    let mut b = [0.0f64; 6];
    for i in 0..3 {
        let (x, y) = (src[i][0] as f64, src[i][1] as f64);
        a[2 * i][..3].copy_from_slice(&[x, y, 1.0]);
        a[2 * i + 1][3..].copy_from_slice(&[x, y, 1.0]);
        b[2 * i] = dst[i][0] as f64;
        b[2 * i + 1] = dst[i][1] as f64;
    }
    let m = 6;
    for i in 0..m {
        let mut k = i;
        for j in i + 1..m {
            if a[j][i].abs() > a[k][i].abs() {
                k = j;
            }
        }
        if a[k][i].abs() < f64::EPSILON * 100.0 {
            return [0.0; 6];
        }
        if k != i {
            a.swap(i, k);
            b.swap(i, k);
        }
        let d = -1.0 / a[i][i];
        let pivot = a[i];
        for j in i + 1..m {
            let alpha = a[j][i] * d;
            for (ajk, &aik) in a[j][i + 1..].iter_mut().zip(&pivot[i + 1..]) {
                *ajk += alpha * aik;
            }
            b[j] += alpha * b[i];
        }
    }
    for i in (0..m).rev() {
        let mut s = b[i];
        for k in i + 1..m {
            s -= a[i][k] * b[k];
        }
        b[i] = s / a[i][i];
    }
    b
}

/// `cv::warpAffine`'s inversion of a forward matrix (no `WARP_INVERSE_MAP`), in float64 as
/// OpenCV writes it.
fn invert_affine(m: [f64; 6]) -> [f64; 6] {
    let [mut m0, mut m1, m2, mut m3, mut m4, m5] = m;
    let d = m0 * m4 - m1 * m3;
    let d = if d != 0.0 { 1.0 / d } else { 0.0 };
    let (a11, a22) = (m4 * d, m0 * d);
    m0 = a11;
    m1 *= -d;
    m3 *= -d;
    m4 = a22;
    let b1 = -m0 * m2 - m1 * m5;
    let b2 = -m3 * m2 - m4 * m5;
    [m0, m1, b1, m3, m4, b2]
}

/// Pixels per iteration of the vector loop of OpenCV 5's `warpAffineLinearInvoker_32FC3` in
/// its AVX2 build (two 8-lane registers); the columns past the last whole group take its
/// scalar tail, whose source coordinates round differently.
const VECTOR_PIXELS: usize = 16;

/// `cv2.warpAffine(src, m, (width, height), flags=INTER_LINEAR,
/// borderMode=BORDER_REFLECT_101)` of a float32 HWC image (`m` the forward matrix), as OpenCV 5
/// computes it: the inverse matrix rounded to float32, each destination pixel's source position
/// in float32 (`fma(m0, x, m1 y + m2)` in the vector loop, `fma(x, m0, m1 y) + m2` in the
/// scalar tail), its floor and fraction, the four neighbours through the reflect-101 border,
/// and two fused linear interpolations, columns then rows (`fma(a, p01 - p00, p00)`). (OpenCV
/// before 4.11 quantised the position to 1/32 pixel instead.)
pub fn warp_affine_linear(
    src: &[f32],
    (height, width, channels): (usize, usize, usize),
    m: [f64; 6],
) -> Vec<f32> {
    let mi = invert_affine(m).map(|v| v as f32);
    let vector_end = width - width % VECTOR_PIXELS;
    let mut out = vec![0.0f32; src.len()];
    let at = |y: isize, x: isize, c: usize| {
        let (y, x) = (
            Border::Mirror.index(y, height),
            Border::Mirror.index(x, width),
        );
        src[(y * width + x) * channels + c]
    };
    for y in 0..height {
        let yf = y as f32;
        let (row_x, row_y) = (yf * mi[1], yf * mi[4]);
        let (vec_x, vec_y) = (row_x + mi[2], row_y + mi[5]);
        for x in 0..width {
            let xf = x as f32;
            let (sx, sy) = if x < vector_end {
                (mi[0].mul_add(xf, vec_x), mi[3].mul_add(xf, vec_y))
            } else {
                (
                    xf.mul_add(mi[0], row_x) + mi[2],
                    xf.mul_add(mi[3], row_y) + mi[5],
                )
            };
            let (fx, fy) = (sx.floor(), sy.floor());
            let (ax, ay) = (sx - fx, sy - fy);
            let (ix, iy) = (fx as isize, fy as isize);
            for c in 0..channels {
                let (p00, p01) = (at(iy, ix, c), at(iy, ix + 1, c));
                let (p10, p11) = (at(iy + 1, ix, c), at(iy + 1, ix + 1, c));
                let v0 = ax.mul_add(p01 - p00, p00);
                let v1 = ax.mul_add(p11 - p10, p10);
                out[(y * width + x) * channels + c] = ay.mul_add(v1 - v0, v0);
            }
        }
    }
    out
}

/// SciPy's `map_coordinate` for `mode='reflect'`: a coordinate outside `[0, len - 1]` folded
/// back about the half-sample edges (`-0.25` becomes `-0.75`, read between the reflected
/// neighbours `-1 -> 0` and `0`).
fn reflect_coordinate(c: f64, len: usize) -> f64 {
    let n = len as f64;
    if len <= 1 {
        return if c < 0.0 || c > n - 1.0 { 0.0 } else { c };
    }
    let sz2 = 2.0 * n;
    if c < 0.0 {
        let mut c = c;
        if c < -sz2 {
            c += sz2 * ((-c / sz2) as i64) as f64;
        }
        if c < -n {
            c + sz2
        } else {
            (if c > -1e-15 { 1e-15 } else { -c }) - 1.0
        }
    } else if c > n - 1.0 {
        let c = c - sz2 * ((c / sz2) as i64) as f64;
        if c >= n {
            sz2 - c - 1.0
        } else {
            c
        }
    } else {
        c
    }
}

/// One axis of an order-1 spline read: the two sample indices (reflected as SciPy folds them
/// at the edges) and their weights `1 - t`, `1 - (1 - t)`.
fn linear_taps(coordinate: f64, len: usize) -> ([usize; 2], [f64; 2]) {
    let cc = reflect_coordinate(coordinate, len);
    let floor = cc.floor();
    let start = floor as isize;
    let fold = |i: isize| reflect_coordinate(i as f64, len) as usize;
    let idx = if start < 0 || start + 1 >= len as isize {
        [fold(start), fold(start + 1)]
    } else {
        [start as usize, start as usize + 1]
    };
    let w0 = 1.0 - (cc - floor);
    (idx, [w0, 1.0 - w0])
}

/// `scipy.ndimage.map_coordinates(src, (rows, cols, channel), order=1, mode='reflect')` of a
/// float32 HWC image, where output pixel `p` reads position `(rows[p], cols[p])` of each
/// channel: the four neighbours' products `value * w_row * w_col` summed in SciPy's order in
/// float64, then stored as float32. (The channel coordinate is whole, its second tap weighs 0.)
pub fn map_coordinates_linear(
    src: &[f32],
    (height, width, channels): (usize, usize, usize),
    rows: &[f64],
    cols: &[f64],
) -> Vec<f32> {
    let mut out = vec![0.0f32; src.len()];
    for (p, (&r, &c)) in rows.iter().zip(cols).enumerate() {
        let ([y0, y1], [wy0, wy1]) = linear_taps(r, height);
        let ([x0, x1], [wx0, wx1]) = linear_taps(c, width);
        for k in 0..channels {
            let v = |y: usize, x: usize| src[(y * width + x) * channels + k] as f64;
            let mut t = 0.0;
            t += v(y0, x0) * wy0 * wx0;
            t += v(y0, x1) * wy0 * wx1;
            t += v(y1, x0) * wy1 * wx0;
            t += v(y1, x1) * wy1 * wx1;
            out[p * channels + k] = t as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(h: usize, w: usize) -> Vec<f32> {
        (0..h * w * 3).map(|i| (i % 97) as f32 / 97.0).collect()
    }

    #[test]
    fn the_affine_matrix_maps_the_points_and_a_shift_is_exact() {
        let src = [[26.0, 26.0], [26.0, 6.0], [6.0, 6.0]];
        let shifted = src.map(|[x, y]| [x + 1.0, y]);
        let m = affine_transform(src, shifted);
        assert_eq!(m, [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
        let dst = [[27.5, 25.25], [26.75, 7.0], [5.5, 6.5]];
        let m = affine_transform(src, dst);
        for (s, d) in src.iter().zip(&dst) {
            let x = m[0] * s[0] as f64 + m[1] * s[1] as f64 + m[2];
            let y = m[3] * s[0] as f64 + m[4] * s[1] as f64 + m[5];
            assert!((x - d[0] as f64).abs() < 1e-12 && (y - d[1] as f64).abs() < 1e-12);
        }
        assert_eq!(
            affine_transform([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], dst),
            [0.0; 6]
        );
    }

    #[test]
    fn identity_warps_copy_and_a_one_pixel_shift_reflects_at_the_edge() {
        let (h, w) = (5, 20);
        let src = ramp(h, w);
        let identity = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
        assert_eq!(warp_affine_linear(&src, (h, w, 3), identity), src);
        // Forward x + 1: destination x reads source x - 1, and column 0 reads column 1
        // (reflect-101).
        let out = warp_affine_linear(&src, (h, w, 3), [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
        for y in 0..h {
            for x in 0..w {
                let from = if x == 0 { 1 } else { x - 1 };
                for c in 0..3 {
                    assert_eq!(out[(y * w + x) * 3 + c], src[(y * w + from) * 3 + c]);
                }
            }
        }
    }

    #[test]
    fn map_coordinates_interpolates_and_reflects_about_half_samples() {
        let (h, w) = (4, 6);
        let src = ramp(h, w);
        let n = h * w;
        let (rows, cols): (Vec<f64>, Vec<f64>) =
            (0..n).map(|p| ((p / w) as f64, (p % w) as f64)).unzip();
        assert_eq!(map_coordinates_linear(&src, (h, w, 3), &rows, &cols), src);
        // A shift by one column: column x reads x + 1, the last column reads itself
        // (reflect: index 6 -> 5).
        let shifted: Vec<f64> = cols.iter().map(|c| c + 1.0).collect();
        let out = map_coordinates_linear(&src, (h, w, 3), &rows, &shifted);
        for p in 0..n {
            let from = (p / w) * w + (p % w + 1).min(w - 1);
            assert_eq!(out[p * 3..p * 3 + 3], src[from * 3..from * 3 + 3]);
        }
        // Half a pixel left of column 0 is column 0; a quarter between 0 and 1 mixes them.
        assert_eq!(reflect_coordinate(-0.25, 6), -0.75);
        assert_eq!(reflect_coordinate(-1.5, 6), 0.5);
        assert_eq!(reflect_coordinate(6.25, 6), 4.75);
        let ([a, b], [wa, wb]) = linear_taps(0.25, 6);
        assert_eq!((a, b, wa, wb), (0, 1, 0.75, 0.25));
        assert_eq!(linear_taps(-0.25, 6).0, [0, 0]);
    }
}
