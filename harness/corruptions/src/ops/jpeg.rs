//! A JPEG save and reload as Pillow does it with its bundled libjpeg-turbo (the reference's
//! `x.save(BytesIO(), 'JPEG', quality=q)` then `PILImage.open`): baseline, the IJG tables
//! scaled by `jpeg_set_quality(q, force_baseline=TRUE)`, YCbCr with 4:2:0 chroma (libjpeg's
//! default for RGB), the integer DCT (`JDCT_ISLOW`) both ways, and "fancy" (triangular) chroma
//! upsampling on decoding. Huffman coding is lossless, so the bit stream is never formed: each
//! block goes through the forward DCT, quantisation, dequantisation and the inverse DCT, with
//! libjpeg-turbo's integer arithmetic step for step (jccolor.c, jcsample.c, jcprepct.c,
//! jfdctint.c, jcdctmgr.c, jidctint.c, jdsample.c, jdcolor.c). The decoding side (the inverse
//! DCT, fancy upsampling, the YCbCr-to-RGB tables) is `jpeg_common.rs`'s, shared with
//! [`super::jpeg_decode`], which decodes JPEG files.

use super::jpeg_common::{
    descale, fix16, h2v2_fancy_upsample, idct_islow, YccTables, CONST_BITS, FIX_0_298631336,
    FIX_0_390180644, FIX_0_541196100, FIX_0_765366865, FIX_0_899976223, FIX_1_175875602,
    FIX_1_501321110, FIX_1_847759065, FIX_1_961570560, FIX_2_053119869, FIX_2_562915447,
    FIX_3_072711026, ONE_HALF, PASS1_BITS, SCALEBITS,
};

/// The luminance table of the JPEG standard's Annex K, natural (row-major) order.
const STD_LUMINANCE: [u32; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/// The chrominance table of Annex K, natural order.
const STD_CHROMINANCE: [u32; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

/// `jpeg_quality_scaling(quality)`: `5000 / q` below 50, `200 - 2 q` from 50 (q clamped to
/// 1..=100).
fn quality_scaling(quality: u32) -> u32 {
    let q = quality.clamp(1, 100);
    if q < 50 {
        5000 / q
    } else {
        200 - q * 2
    }
}

/// `jpeg_add_quant_table(basic, scale, force_baseline=TRUE)`: `(basic * scale + 50) / 100`,
/// clamped to 1..=255.
fn quant_table(basic: &[u32; 64], quality: u32) -> [u32; 64] {
    let scale = quality_scaling(quality);
    basic.map(|b| ((b * scale + 50) / 100).clamp(1, 255))
}

/// One quantiser as libjpeg-turbo's `compute_reciprocal` prepares it for the divisor
/// `8 * quantval` (16-bit `DCTELEM`s of its SIMD builds): `q = ((|x| + corr) * recip) >> shift`.
#[derive(Clone, Copy)]
struct Divisor {
    recip: u32,
    corr: u32,
    shift: u32,
}

impl Divisor {
    fn new(quantval: u32) -> Self {
        let divisor = quantval << 3;
        // flss(divisor) - 1: the index of the highest set bit.
        let b = 31 - divisor.leading_zeros();
        let mut r = 16 + b;
        let mut fq = (1u32 << r) / divisor;
        let fr = (1u32 << r) % divisor;
        let mut c = divisor / 2;
        if fr == 0 {
            fq >>= 1;
            r -= 1;
        } else if fr <= divisor / 2 {
            c += 1;
        } else {
            fq += 1;
        }
        Divisor {
            recip: fq,
            corr: c,
            shift: r,
        }
    }

    /// libjpeg-turbo's `quantize` of one DCT output.
    fn quantize(self, x: i32) -> i32 {
        let q = ((x.unsigned_abs() + self.corr) * self.recip) >> self.shift;
        if x < 0 {
            -(q as i32)
        } else {
            q as i32
        }
    }
}

/// jfdctint.c's `jpeg_fdct_islow` on one block of samples already less 128, in place: rows,
/// then columns; outputs scaled up by 8.
fn fdct_islow(data: &mut [i64; 64]) {
    for pass in 0..2 {
        // Pass 1 keeps PASS1_BITS of extra precision, pass 2 removes them.
        let odd = if pass == 0 {
            CONST_BITS - PASS1_BITS
        } else {
            CONST_BITS + PASS1_BITS
        };
        let even = |x: i64| {
            if pass == 0 {
                x << PASS1_BITS
            } else {
                descale(x, PASS1_BITS)
            }
        };
        for i in 0..8 {
            let (at, step): (usize, usize) = if pass == 0 { (i * 8, 1) } else { (i, 8) };
            let d = |k: usize| data[at + k * step];
            let tmp0 = d(0) + d(7);
            let tmp7 = d(0) - d(7);
            let tmp1 = d(1) + d(6);
            let tmp6 = d(1) - d(6);
            let tmp2 = d(2) + d(5);
            let tmp5 = d(2) - d(5);
            let tmp3 = d(3) + d(4);
            let tmp4 = d(3) - d(4);
            let tmp10 = tmp0 + tmp3;
            let tmp13 = tmp0 - tmp3;
            let tmp11 = tmp1 + tmp2;
            let tmp12 = tmp1 - tmp2;
            let z1 = (tmp12 + tmp13) * FIX_0_541196100;
            let out2 = descale(z1 + tmp13 * FIX_0_765366865, odd);
            let out6 = descale(z1 + tmp12 * -FIX_1_847759065, odd);
            let out0 = even(tmp10 + tmp11);
            let out4 = even(tmp10 - tmp11);
            let z1 = tmp4 + tmp7;
            let z2 = tmp5 + tmp6;
            let z3 = tmp4 + tmp6;
            let z4 = tmp5 + tmp7;
            let z5 = (z3 + z4) * FIX_1_175875602;
            let tmp4 = tmp4 * FIX_0_298631336;
            let tmp5 = tmp5 * FIX_2_053119869;
            let tmp6 = tmp6 * FIX_3_072711026;
            let tmp7 = tmp7 * FIX_1_501321110;
            let z1 = z1 * -FIX_0_899976223;
            let z2 = z2 * -FIX_2_562915447;
            let z3 = z3 * -FIX_1_961570560 + z5;
            let z4 = z4 * -FIX_0_390180644 + z5;
            let out7 = descale(tmp4 + z1 + z3, odd);
            let out5 = descale(tmp5 + z2 + z4, odd);
            let out3 = descale(tmp6 + z2 + z3, odd);
            let out1 = descale(tmp7 + z1 + z4, odd);
            for (k, v) in [out0, out1, out2, out3, out4, out5, out6, out7]
                .into_iter()
                .enumerate()
            {
                data[at + k * step] = v;
            }
        }
    }
}

/// A component plane: `width x height` samples, whole 8x8 blocks.
struct Plane {
    width: usize,
    height: usize,
    samples: Vec<u8>,
}

impl Plane {
    /// Every block through FDCT, quantisation with `table`, and the inverse DCT, in place.
    fn compress_and_decode(&mut self, table: &[u32; 64]) {
        let divisors = table.map(Divisor::new);
        let quant = table.map(|q| q as i32);
        let mut block = [0i64; 64];
        let mut coef = [0i32; 64];
        for by in (0..self.height).step_by(8) {
            for bx in (0..self.width).step_by(8) {
                for (k, b) in block.iter_mut().enumerate() {
                    *b = self.samples[(by + k / 8) * self.width + bx + k % 8] as i64 - 128;
                }
                fdct_islow(&mut block);
                for k in 0..64 {
                    coef[k] = divisors[k].quantize(block[k] as i32);
                }
                let at = by * self.width + bx;
                idct_islow(&coef, &quant, &mut self.samples[at..], self.width);
            }
        }
    }
}

/// Pillow's JPEG save at `quality` and reload, of an RGB HWC image: the decoded RGB bytes.
pub fn roundtrip(rgb: &[u8], height: usize, width: usize, quality: u32) -> Vec<u8> {
    // jccolor.c: RGB -> YCbCr in 16-bit fixed point (Cb, Cr rounded with 0.5 - epsilon).
    let cbcr_offset = 128 << SCALEBITS;
    let mut ycc = [
        vec![0u8; height * width],
        vec![0u8; height * width],
        vec![0u8; height * width],
    ];
    let (ry, gy, by) = (fix16(0.299), fix16(0.587), fix16(0.114));
    let (rcb, gcb, bcb) = (-fix16(0.16874), -fix16(0.33126), fix16(0.5));
    let (gcr, bcr) = (-fix16(0.41869), -fix16(0.08131));
    for (i, p) in rgb.chunks_exact(3).enumerate() {
        let (r, g, b) = (p[0] as i32, p[1] as i32, p[2] as i32);
        ycc[0][i] = ((ry * r + gy * g + by * b + ONE_HALF) >> SCALEBITS) as u8;
        ycc[1][i] = ((rcb * r + gcb * g + bcb * b + cbcr_offset + ONE_HALF - 1) >> SCALEBITS) as u8;
        ycc[2][i] = ((bcb * r + gcr * g + bcr * b + cbcr_offset + ONE_HALF - 1) >> SCALEBITS) as u8;
    }
    // Luma: whole blocks, edges replicated (jcsample.c expand_right_edge, jcprepct.c
    // expand_bottom_edge).
    let (lw, lh) = (8 * width.div_ceil(8), 8 * height.div_ceil(8));
    let mut luma = Plane {
        width: lw,
        height: lh,
        samples: (0..lh * lw)
            .map(|k| ycc[0][(k / lw).min(height - 1) * width + (k % lw).min(width - 1)])
            .collect(),
    };
    // Chroma: h2v2_downsample of the columns replicated to twice the padded chroma width and
    // the rows padded to an even count, 2x2 sums with the alternating bias 1, 2; rows past the
    // image's last chroma row repeat it.
    let (dw, dh) = (width.div_ceil(2), height.div_ceil(2));
    let (cw, chh) = (8 * width.div_ceil(16), 8 * height.div_ceil(16));
    let chroma = |plane: &[u8]| {
        let at = |y: usize, x: usize| plane[y.min(height - 1) * width + x.min(width - 1)] as u32;
        let mut samples = vec![0u8; chh * cw];
        for i in 0..chh {
            let y = 2 * i.min(dh - 1);
            for j in 0..cw {
                let x = 2 * j;
                let sum = at(y, x) + at(y, x + 1) + at(y + 1, x) + at(y + 1, x + 1);
                samples[i * cw + j] = ((sum + 1 + (j as u32 & 1)) >> 2) as u8;
            }
        }
        Plane {
            width: cw,
            height: chh,
            samples,
        }
    };
    let mut cb = chroma(&ycc[1]);
    let mut cr = chroma(&ycc[2]);
    luma.compress_and_decode(&quant_table(&STD_LUMINANCE, quality));
    let chroma_table = quant_table(&STD_CHROMINANCE, quality);
    cb.compress_and_decode(&chroma_table);
    cr.compress_and_decode(&chroma_table);
    let cb = upsample_h2v2(&cb, dh, dw, height, width);
    let cr = upsample_h2v2(&cr, dh, dw, height, width);
    // jdcolor.c: YCbCr -> RGB with its rounded tables, range-limited.
    let tables = YccTables::new();
    let mut out = Vec::with_capacity(height * width * 3);
    for y in 0..height {
        for x in 0..width {
            let (l, i) = (luma.samples[y * lw + x], y * width + x);
            out.extend_from_slice(&tables.rgb(l, cb[i], cr[i]));
        }
    }
    out
}

/// jdsample.c's chroma upsampling of the decoded `dh x dw` samples to `height x width`:
/// [`h2v2_fancy_upsample`] (3/4 nearer, 1/4 further sample in each direction, biases 8 and 7,
/// the first and last rows and columns repeated as context) when the chroma is wider than 2
/// samples, else `h2v2_upsample` (each sample in a 2x2 block).
fn upsample_h2v2(plane: &Plane, dh: usize, dw: usize, height: usize, width: usize) -> Vec<u8> {
    if dw <= 2 {
        let at = |y: usize, x: usize| plane.samples[y * plane.width + x];
        return (0..height * width)
            .map(|k| at(k / width / 2, k % width / 2))
            .collect();
    }
    let mut full = vec![0u8; 4 * dh * dw];
    h2v2_fancy_upsample(&plane.samples, plane.width, (dw, dh), &mut full, 2 * dw);
    (0..height)
        .flat_map(|y| full[2 * dw * y..2 * dw * y + width].iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_scales_the_standard_tables_as_libjpeg_does() {
        // Quality 50 is the table itself, 80 scales by 0.4, 10 by 5 (clamped to 255).
        assert_eq!(quant_table(&STD_LUMINANCE, 50), STD_LUMINANCE);
        assert_eq!(quant_table(&STD_LUMINANCE, 80)[..3], [6, 4, 4]);
        let q10 = quant_table(&STD_LUMINANCE, 10);
        assert_eq!(q10[0], 80);
        assert_eq!(q10[63], 255);
        assert_eq!(quant_table(&STD_CHROMINANCE, 100), [1; 64]);
    }

    #[test]
    fn reciprocal_quantisation_rounds_like_a_division() {
        for q in [1, 2, 3, 7, 16, 99, 121, 255] {
            let d = Divisor::new(q);
            let divisor = (8 * q) as i32;
            for x in -8192i32..8192 {
                let expected = (x.abs() + divisor / 2) / divisor * x.signum();
                assert_eq!(d.quantize(x), expected, "x {x} / {divisor}");
            }
        }
    }

    #[test]
    fn the_dcts_are_inverse_without_quantisation_and_flat_blocks_stay_flat() {
        let mut block = [0i64; 64];
        let samples: Vec<i64> = (0..64).map(|k| ((k * 37 + 11) % 256) as i64).collect();
        for k in 0..64 {
            block[k] = samples[k] - 128;
        }
        fdct_islow(&mut block);
        // Quantiser 1 (divisor 8) removes only the DCT's scale.
        let one = Divisor::new(1);
        let coef = block.map(|v| one.quantize(v as i32));
        let mut out = [0u8; 64];
        idct_islow(&coef, &[1; 64], &mut out, 8);
        for k in 0..64 {
            assert!(
                (out[k] as i64 - samples[k]).abs() <= 1,
                "{k}: {} vs {}",
                out[k],
                samples[k]
            );
        }
        let flat = roundtrip(&[90u8, 140, 200].repeat(16 * 16), 16, 16, 75);
        for p in flat.chunks_exact(3) {
            for (c, want) in [90, 140, 200].into_iter().enumerate() {
                assert!((p[c] as i32 - want).abs() <= 2, "{p:?}");
            }
        }
    }

    #[test]
    fn fancy_upsampling_weights_nearer_samples_three_to_one() {
        // A 2x4 chroma plane: row 0 all 0, row 1 all 160. Output row 1 (nearer row 0, further
        // row 1) is (3 * 0 + 160) * 4 / 16 = 40 rounded with bias 8 or 7.
        let plane = Plane {
            width: 8,
            height: 8,
            samples: (0..64).map(|k| if k / 8 == 1 { 160 } else { 0 }).collect(),
        };
        let up = upsample_h2v2(&plane, 2, 4, 4, 8);
        assert_eq!(up[..8], [0; 8], "the first row's context is itself");
        assert_eq!(up[8..16], [40; 8]);
        assert_eq!(up[16..24], [120; 8]);
        assert_eq!(up[24..], [160; 8]);
    }

    #[test]
    fn odd_sizes_decode_to_the_asked_size() {
        let rgb: Vec<u8> = (0..13 * 7 * 3).map(|v| (v * 5 % 256) as u8).collect();
        let out = roundtrip(&rgb, 13, 7, 60);
        assert_eq!(out.len(), rgb.len());
        let small = roundtrip(&[10, 20, 30, 40, 50, 60], 1, 2, 90);
        assert_eq!(small.len(), 6);
    }
}
