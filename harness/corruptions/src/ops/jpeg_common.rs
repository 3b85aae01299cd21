//! The decompression arithmetic that [`super::jpeg`] (the save-and-reload of
//! `jpeg_compression`) and [`super::jpeg_decode`] (the `cv2.imread` decoder of the frost
//! pictures) share, one copy each of libjpeg-turbo's routines: the accurate integer inverse DCT
//! (jidctint.c), the "fancy" chroma upsamplers (jdsample.c) and the YCbCr-to-RGB tables
//! (jdcolor.c), with the fixed-point constants they use (also those of the forward transforms
//! in [`super::jpeg`]).

/// `SCALEBITS` of the colour conversions (jccolor.c, jdcolor.c).
pub(crate) const SCALEBITS: i32 = 16;
/// `ONE_HALF` of the colour conversions.
pub(crate) const ONE_HALF: i32 = 1 << (SCALEBITS - 1);
/// `CONST_BITS` of the integer DCTs (jfdctint.c, jidctint.c).
pub(crate) const CONST_BITS: i32 = 13;
/// `PASS1_BITS` of the integer DCTs.
pub(crate) const PASS1_BITS: i32 = 2;

/// The colour conversions' `FIX(x)`: `x` in 16-bit fixed point, rounded.
pub(crate) fn fix16(x: f64) -> i32 {
    (x * (1 << SCALEBITS) as f64 + 0.5) as i32
}

/// jfdctint.c / jidctint.c constants, `FIX(x)` with 13 fractional bits.
pub(crate) const FIX_0_298631336: i64 = 2446;
pub(crate) const FIX_0_390180644: i64 = 3196;
pub(crate) const FIX_0_541196100: i64 = 4433;
pub(crate) const FIX_0_765366865: i64 = 6270;
pub(crate) const FIX_0_899976223: i64 = 7373;
pub(crate) const FIX_1_175875602: i64 = 9633;
pub(crate) const FIX_1_501321110: i64 = 12299;
pub(crate) const FIX_1_847759065: i64 = 15137;
pub(crate) const FIX_1_961570560: i64 = 16069;
pub(crate) const FIX_2_053119869: i64 = 16819;
pub(crate) const FIX_2_562915447: i64 = 20995;
pub(crate) const FIX_3_072711026: i64 = 25172;

/// `DESCALE(x, n)`: `x / 2^n` rounded half up (arithmetic shift).
pub(crate) fn descale(x: i64, n: i32) -> i64 {
    (x + (1 << (n - 1))) >> n
}

/// jidctint.c's `jpeg_idct_islow` of one block of quantised coefficients (natural order) with
/// their quantisation table: dequantise, columns, then rows (two 1-D passes in 13-bit fixed
/// point with `PASS1_BITS` extra between them), each output `DESCALE`d, plus 128 and
/// range-limited, written as 8 rows of 8 samples `stride` apart in `out`. The columns and rows
/// whose AC terms are all zero take libjpeg's DC-only shortcut, which gives what the full pass
/// gives. The limit is the saturation of libjpeg-turbo's SIMD code (`clamp(x + 128, 0, 255)`);
/// its C table differs only for values beyond +-384 of the range, which valid JPEG data does
/// not reach. The products are formed in 64 bits, so no input overflows.
pub(crate) fn idct_islow(coef: &[i32; 64], quant: &[i32; 64], out: &mut [u8], stride: usize) {
    let mut ws = [0i64; 64];
    // Pass 1: columns; results scaled up by 2^PASS1_BITS.
    for col in 0..8 {
        let c = |k: usize| coef[k * 8 + col] as i64 * quant[k * 8 + col] as i64;
        if (1..8).all(|k| coef[k * 8 + col] == 0) {
            let dc = c(0) << PASS1_BITS;
            for k in 0..8 {
                ws[k * 8 + col] = dc;
            }
            continue;
        }
        let w = idct_1d([c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7)]);
        for (k, v) in w.into_iter().enumerate() {
            ws[k * 8 + col] = descale(v, CONST_BITS - PASS1_BITS);
        }
    }
    // Pass 2: rows; remove PASS1_BITS and the factor 8.
    let limit = |x: i64| (x + 128).clamp(0, 255) as u8;
    for row in 0..8 {
        let r = &ws[row * 8..row * 8 + 8];
        let o = &mut out[row * stride..row * stride + 8];
        if r[1..].iter().all(|&v| v == 0) {
            o.fill(limit(descale(r[0], PASS1_BITS + 3)));
            continue;
        }
        let w = idct_1d([r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]]);
        for (k, v) in w.into_iter().enumerate() {
            o[k] = limit(descale(v, CONST_BITS + PASS1_BITS + 3));
        }
    }
}

/// The butterflies of one `jpeg_idct_islow` pass (the even part rotated by c(-6), the odd part
/// as in the forward DCT), before descaling.
fn idct_1d(x: [i64; 8]) -> [i64; 8] {
    let (z2, z3) = (x[2], x[6]);
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 + z3 * -FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;
    let tmp0 = (x[0] + x[4]) << CONST_BITS;
    let tmp1 = (x[0] - x[4]) << CONST_BITS;
    let tmp10 = tmp0 + tmp3;
    let tmp13 = tmp0 - tmp3;
    let tmp11 = tmp1 + tmp2;
    let tmp12 = tmp1 - tmp2;
    let (t0, t1, t2, t3) = (x[7], x[5], x[3], x[1]);
    let z1 = t0 + t3;
    let z2 = t1 + t2;
    let z3 = t0 + t2;
    let z4 = t1 + t3;
    let z5 = (z3 + z4) * FIX_1_175875602;
    let z1 = z1 * -FIX_0_899976223;
    let z2 = z2 * -FIX_2_562915447;
    let z3 = z3 * -FIX_1_961570560 + z5;
    let z4 = z4 * -FIX_0_390180644 + z5;
    let t0 = t0 * FIX_0_298631336 + z1 + z3;
    let t1 = t1 * FIX_2_053119869 + z2 + z4;
    let t2 = t2 * FIX_3_072711026 + z2 + z3;
    let t3 = t3 * FIX_1_501321110 + z1 + z4;
    [
        tmp10 + t3,
        tmp11 + t2,
        tmp12 + t1,
        tmp13 + t0,
        tmp13 - t0,
        tmp12 - t1,
        tmp11 - t2,
        tmp10 - t3,
    ]
}

/// jdsample.c's `h2v1_fancy_upsample` of one row of `n` samples into `2 n`: each output
/// sample `3/4` of the nearer input and `1/4` of the farther, rounded alternately up and down
/// (biases 1 and 2); the edge samples are copied. (One sample is doubled.) libjpeg-turbo
/// installs it only for rows of more than 2 samples (`h2v1_upsample`, each sample doubled,
/// otherwise); [`super::jpeg_decode`] calls it for every width.
pub(crate) fn h2v1_fancy_upsample(input: &[u8], n: usize, out: &mut [u8]) {
    if n == 1 {
        out[0] = input[0];
        out[1] = input[0];
        return;
    }
    let at = |i: usize| input[i] as i32;
    out[0] = input[0];
    out[1] = ((at(0) * 3 + at(1) + 2) >> 2) as u8;
    for i in 1..n - 1 {
        out[2 * i] = ((at(i) * 3 + at(i - 1) + 1) >> 2) as u8;
        out[2 * i + 1] = ((at(i) * 3 + at(i + 1) + 2) >> 2) as u8;
    }
    out[2 * n - 2] = ((at(n - 1) * 3 + at(n - 2) + 1) >> 2) as u8;
    out[2 * n - 1] = input[n - 1];
}

/// jdsample.c's `h2v2_fancy_upsample` of the `w x h` samples of `plane` (rows `stride` apart)
/// into `2w x 2h` (rows `out_w` apart): column sums `3 nearer row + farther row` (the row
/// above for the upper output row, below for the lower, the first and last rows repeated as
/// context, as jdmainct.c provides them), then across as `(3 this + other + 8 or 7) >> 4`, the
/// edge columns `(4 this + 8 or 7) >> 4`. (One column, `w == 1`, gives both of its outputs
/// from its own sum.) libjpeg-turbo installs it only for chroma wider than 2 samples
/// (`h2v2_upsample` otherwise), as [`super::jpeg`] does; [`super::jpeg_decode`] calls it for
/// every width.
pub(crate) fn h2v2_fancy_upsample(
    plane: &[u8],
    stride: usize,
    (w, h): (usize, usize),
    out: &mut [u8],
    out_w: usize,
) {
    let mut sums = vec![0i32; w];
    for oy in 0..2 * h {
        let (row, other) = if oy % 2 == 0 {
            (oy / 2, (oy / 2).saturating_sub(1))
        } else {
            (oy / 2, (oy / 2 + 1).min(h - 1))
        };
        for (x, s) in sums.iter_mut().enumerate() {
            *s = plane[row * stride + x] as i32 * 3 + plane[other * stride + x] as i32;
        }
        let o = &mut out[oy * out_w..];
        if w == 1 {
            o[0] = ((sums[0] * 4 + 8) >> 4) as u8;
            o[1] = ((sums[0] * 4 + 7) >> 4) as u8;
            continue;
        }
        o[0] = ((sums[0] * 4 + 8) >> 4) as u8;
        o[1] = ((sums[0] * 3 + sums[1] + 7) >> 4) as u8;
        for x in 1..w - 1 {
            o[2 * x] = ((sums[x] * 3 + sums[x - 1] + 8) >> 4) as u8;
            o[2 * x + 1] = ((sums[x] * 3 + sums[x + 1] + 7) >> 4) as u8;
        }
        o[2 * w - 2] = ((sums[w - 1] * 3 + sums[w - 2] + 8) >> 4) as u8;
        o[2 * w - 1] = ((sums[w - 1] * 4 + 7) >> 4) as u8;
    }
}

/// jdcolor.c's YCbCr-to-RGB conversion: the tables of `build_ycc_rgb_table` (16-bit fixed
/// point) and `ycc_rgb_convert` of one sample with them, range-limited.
pub(crate) struct YccTables {
    cr_r: [i32; 256],
    cb_b: [i32; 256],
    cr_g: [i64; 256],
    cb_g: [i64; 256],
}

impl YccTables {
    /// `build_ycc_rgb_table`: `Cr_r = round(1.402 x)`, `Cb_b = round(1.772 x)`,
    /// `Cr_g = -FIX(0.71414) x`, `Cb_g = -FIX(0.34414) x + ONE_HALF`, for `x = i - 128`.
    pub(crate) fn new() -> Self {
        let fix = |x: f64| fix16(x) as i64;
        let half = ONE_HALF as i64;
        let mut t = YccTables {
            cr_r: [0; 256],
            cb_b: [0; 256],
            cr_g: [0; 256],
            cb_g: [0; 256],
        };
        for i in 0..256 {
            let x = i as i64 - 128;
            t.cr_r[i] = ((fix(1.40200) * x + half) >> SCALEBITS) as i32;
            t.cb_b[i] = ((fix(1.77200) * x + half) >> SCALEBITS) as i32;
            t.cr_g[i] = -fix(0.71414) * x;
            t.cb_g[i] = -fix(0.34414) * x + half;
        }
        t
    }

    /// `ycc_rgb_convert` of one sample: `(R, G, B)`.
    pub(crate) fn rgb(&self, y: u8, cb: u8, cr: u8) -> [u8; 3] {
        let (y, cb, cr) = (y as i32, cb as usize, cr as usize);
        let g = ((self.cb_g[cb] + self.cr_g[cr]) >> SCALEBITS) as i32;
        [y + self.cr_r[cr], y + g, y + self.cb_b[cb]].map(|v| v.clamp(0, 255) as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dc_only_block_is_flat_and_rounded_like_libjpeg() {
        // DC 10 with quantiser 8: 80 / 8 = 10 above the centre, so 138 everywhere.
        let mut coefs = [0; 64];
        coefs[0] = 10;
        let mut quant = [1; 64];
        quant[0] = 8;
        let mut out = [0u8; 64];
        idct_islow(&coefs, &quant, &mut out, 8);
        assert!(out.iter().all(|&v| v == 138), "{out:?}");
        // An odd DC of 1 (1 / 8 = 0.125): rounds to 128.
        coefs[0] = 1;
        idct_islow(&coefs, &[1; 64], &mut out, 8);
        assert!(out.iter().all(|&v| v == 128));
    }

    #[test]
    fn the_first_horizontal_frequency_is_a_cosine_across_the_block() {
        let mut coefs = [0; 64];
        coefs[1] = 100;
        let mut out = [0u8; 64];
        idct_islow(&coefs, &[1; 64], &mut out, 8);
        let row: Vec<i32> = out[..8].iter().map(|&v| v as i32 - 128).collect();
        // A half cosine from left to right: decreasing and antisymmetric about the middle.
        assert!(row.windows(2).all(|p| p[0] > p[1]), "{row:?}");
        assert!((0..4).all(|x| (row[x] + row[7 - x]).abs() <= 1), "{row:?}");
        assert!(out.chunks(8).all(|r| r == &out[..8]), "every row alike");
    }

    #[test]
    fn fancy_upsampling_weighs_the_nearer_sample_three_to_one() {
        let mut out = [0u8; 6];
        h2v1_fancy_upsample(&[0, 100, 200], 3, &mut out);
        assert_eq!(out, [0, 25, 75, 125, 175, 200]);
        // A 2x2 plane [[0, 100], [100, 200]] doubled both ways: column sums `3 near + far`
        // (edge rows repeated), then `(3 this + other + 8 or 7) >> 4` across.
        let mut full = [0u8; 16];
        h2v2_fancy_upsample(&[0, 100, 100, 200], 2, (2, 2), &mut full, 4);
        let expected = [
            0, 25, 75, 100, 25, 50, 100, 125, 75, 100, 150, 175, 100, 125, 175, 200,
        ];
        assert_eq!(full, expected);
    }

    #[test]
    fn grey_ycc_is_grey_and_the_tables_follow_jdcolor() {
        let t = YccTables::new();
        assert_eq!(t.rgb(100, 128, 128), [100, 100, 100]);
        // Cr 255: R = y + round(1.402 * 127) = y + 178.
        assert_eq!(t.rgb(50, 128, 255)[0], 228);
        assert_eq!(t.rgb(50, 255, 128)[2], 255, "clamped");
    }
}
