//! OpenCV's floating-point filters that `defocus_blur` calls: `cv2.getGaussianKernel` /
//! `cv2.GaussianBlur` of a float32 image with a 3- or 5-tap kernel (how the reference's `disk`
//! anti-aliases its kernel) and `cv2.filter2D` of a float64 image (how it blurs each channel).
//!
//! `GaussianBlur` of float32 data runs OpenCV's separable filter in float32, and where its
//! vector code fuses a multiply and an add the result is rounded once: [`gaussian_blur_f32`]
//! repeats the AVX2 dispatch of OpenCV 5.0 (8 lanes, fused multiply-adds) and its scalar tails
//! (not fused) operation for operation. It was checked bit for bit against `cv2.GaussianBlur`
//! for all ten kernels of the two scripts (17x17 with 3 taps, 21x21 with 5 taps).
//!
//! `filter2D` of float64 data with a kernel of 50 or more taps (the reference's are 17x17 or
//! 21x21) takes OpenCV's DFT path (`dftFilter2D`/`crossCorr`), whose results differ from the
//! exact correlation by a few units in the last place (about 5e-16): [`filter2d_f64`] sums the
//! correlation directly in float64, the same values up to that rounding (so a stored
//! `uint8(255 x)` can only differ where `255 x` is within about 1e-13 of a whole number).

use super::Border;

/// `cv2.getGaussianKernel(n, sigma, CV_32F)` for `sigma > 0`: OpenCV's bit-exact kernel
/// (`getGaussianKernelBitExact`: `exp(-x^2 / (2 sigma^2))` at `x = -(n-1)/2 ..`, the outer
/// half summed, doubled, plus 1 for the centre, each weight multiplied by the reciprocal of the
/// sum, in float64) rounded to float32. OpenCV's softfloat `exp` and the C library's agree on
/// the float32 kernels here (a unit test pins them).
pub fn gaussian_kernel_f32(n: usize, sigma: f64) -> Vec<f32> {
    assert!(
        n % 2 == 1 && sigma > 0.0,
        "an odd size and a positive sigma"
    );
    let scale = -0.125 / (sigma * sigma);
    let half = (n - 1) / 2;
    // x runs over 1 - n, 3 - n, .. (twice the offset from the centre).
    let outer: Vec<f64> = (0..half)
        .map(|i| {
            let x = 1 - n as i64 + 2 * i as i64;
            ((x * x) as f64 * scale).exp()
        })
        .collect();
    let sum = 2.0 * outer.iter().sum::<f64>() + 1.0;
    let mul = 1.0 / sum;
    let mut kernel = vec![0.0f32; n];
    for (i, t) in outer.iter().enumerate() {
        kernel[i] = (t * mul) as f32;
        kernel[n - 1 - i] = (t * mul) as f32;
    }
    kernel[half] = mul as f32;
    kernel
}

/// `cv2.GaussianBlur(image, (n, n), sigma)` of a one-channel float32 image (row-major
/// `height x width`), `n` 3 or 5, border `BORDER_REFLECT_101`: the row pass, then the column
/// pass, each in float32 with OpenCV's operation order (see the module comment).
pub fn gaussian_blur_f32(
    image: &[f32],
    (height, width): (usize, usize),
    n: usize,
    sigma: f64,
) -> Vec<f32> {
    assert!(
        n == 3 || n == 5,
        "OpenCV's small symmetric filters: 3 or 5 taps"
    );
    assert_eq!(image.len(), height * width);
    let kernel = gaussian_kernel_f32(n, sigma);
    // OpenCV's `kx = kernel + ksize / 2`: k[0] the centre, k[j] the weight at distance j.
    let k = &kernel[n / 2..];
    let r = (n / 2) as isize;
    let mirror = |i: isize, len: usize| Border::Mirror.index(i, len);
    // The 8-lane vector loop covers the first `len - len % 8` outputs; the 5-tap row filter's
    // vector formula also covers the next `len % 8 / 4 * 4` (a 4-lane step).
    let vector_end = |len: usize, lanes: usize| len - len % lanes;

    let mut rows = vec![0.0f32; height * width];
    for y in 0..height {
        let line = &image[y * width..(y + 1) * width];
        let at = |x: usize, o: isize| line[mirror(x as isize + o, width)];
        for x in 0..width {
            rows[y * width + x] = if n == 3 {
                let pair = at(x, -1) + at(x, 1);
                if x < vector_end(width, 8) {
                    at(x, 0).mul_add(k[0], pair * k[1])
                } else {
                    k[0] * at(x, 0) + k[1] * pair
                }
            } else if x < vector_end(width, 4) {
                let inner = at(x, 0).mul_add(k[0], (at(x, -1) + at(x, 1)) * k[1]);
                (at(x, 2) + at(x, -2)).mul_add(k[2], inner)
            } else {
                let mut s = k[0] * at(x, 0);
                for j in 1..=r {
                    s += k[j as usize] * (at(x, j) + at(x, -j));
                }
                s
            };
        }
    }

    let mut out = vec![0.0f32; height * width];
    for y in 0..height {
        let row = |o: isize| mirror(y as isize + o, height) * width;
        for x in 0..width {
            let at = |o: isize| rows[row(o) + x];
            out[y * width + x] = if x < vector_end(width, 8) {
                // SymmColumnSmallVec_32f (3 taps) and SymmColumnVec_32f (5 taps): the centre
                // product, then one fused multiply-add per pair of rows.
                let mut s = at(0) * k[0];
                for j in 1..=r {
                    s = (at(j) + at(-j)).mul_add(k[j as usize], s);
                }
                s
            } else if n == 3 {
                (at(-1) + at(1)) * k[1] + at(0) * k[0]
            } else {
                let mut s = k[0] * at(0);
                for j in 1..=r {
                    s += k[j as usize] * (at(j) + at(-j));
                }
                s
            };
        }
    }
    out
}

/// `cv2.filter2D(channel, -1, kernel)` of a one-channel float64 image (row-major
/// `height x width`) with a square odd `side x side` kernel: correlation (not convolution),
/// anchor at the centre, border `BORDER_REFLECT_101`, summed directly in float64 in the
/// kernel's row-major order (zero weights skipped, which changes nothing). One reflection must
/// reach: `height` and `width` above `side / 2`.
pub fn filter2d_f64(
    channel: &[f64],
    (height, width): (usize, usize),
    kernel: &[f64],
    side: usize,
) -> Vec<f64> {
    assert_eq!(channel.len(), height * width);
    assert_eq!(kernel.len(), side * side);
    let r = side / 2;
    assert!(
        height > r && width > r,
        "the kernel reaches past one reflection"
    );
    // The image with an r-pixel mirrored frame, so every tap is a plain index.
    let (ph, pw) = (height + 2 * r, width + 2 * r);
    let mut padded = vec![0.0; ph * pw];
    for py in 0..ph {
        let y = Border::Mirror.index(py as isize - r as isize, height);
        for px in 0..pw {
            let x = Border::Mirror.index(px as isize - r as isize, width);
            padded[py * pw + px] = channel[y * width + x];
        }
    }
    let taps: Vec<(usize, f64)> = kernel
        .iter()
        .enumerate()
        .filter(|(_, &w)| w != 0.0)
        .map(|(i, &w)| ((i / side) * pw + i % side, w))
        .collect();
    let mut out = vec![0.0; height * width];
    for y in 0..height {
        for x in 0..width {
            let origin = y * pw + x;
            out[y * width + x] = taps.iter().map(|&(o, w)| w * padded[origin + o]).sum();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gaussian_kernels_are_opencvs_to_the_bit() {
        // cv2.getGaussianKernel(n, sigma, ktype=cv2.CV_32F), OpenCV 5.0.0, as float32 bits.
        let cases: [(usize, f64, &[u32]); 6] = [
            (3, 0.1, &[0x1b69_2beb, 0x3f80_0000, 0x1b69_2beb]),
            (3, 0.2, &[0x367a_16f0, 0x3f7f_ff83, 0x367a_16f0]),
            (3, 0.4, &[0x3d25_6dc7, 0x3f6b_5247, 0x3d25_6dc7]),
            (3, 0.5, &[0x3dda_2055, 0x3f49_77eb, 0x3dda_2055]),
            (3, 0.6, &[0x3e2a_5f21, 0x3f2a_d070, 0x3e2a_5f21]),
            (
                5,
                0.5,
                &[
                    0x398a_575f,
                    0x3dda_02dd,
                    0x3f49_5cb3,
                    0x3dda_02dd,
                    0x398a_575f,
                ],
            ),
        ];
        for (n, sigma, bits) in cases {
            let k: Vec<u32> = gaussian_kernel_f32(n, sigma)
                .iter()
                .map(|v| v.to_bits())
                .collect();
            assert_eq!(k, bits, "n = {n}, sigma = {sigma}");
        }
    }

    #[test]
    fn a_blurred_constant_stays_constant_and_an_impulse_takes_the_kernels_outer_product() {
        let flat = vec![0.25f32; 9 * 11];
        for n in [3, 5] {
            let out = gaussian_blur_f32(&flat, (9, 11), n, 0.5);
            assert!(out.iter().all(|&v| (v - 0.25).abs() < 1e-7), "n = {n}");
        }
        let mut impulse = vec![0.0f32; 7 * 7];
        impulse[3 * 7 + 3] = 1.0;
        let out = gaussian_blur_f32(&impulse, (7, 7), 3, 0.6);
        let k = gaussian_kernel_f32(3, 0.6);
        for y in 0..3 {
            for x in 0..3 {
                assert_eq!(out[(y + 2) * 7 + x + 2], k[y] * k[x]);
            }
        }
        assert_eq!(out[0], 0.0);
    }

    #[test]
    fn filter2d_correlates_with_a_mirrored_border() {
        // An asymmetric kernel tells correlation from convolution: weight 1 one pixel to the
        // right reads the right neighbour.
        let image: Vec<f64> = (0..4 * 5).map(|v| v as f64).collect();
        let mut kernel = vec![0.0; 9];
        kernel[5] = 1.0;
        let out = filter2d_f64(&image, (4, 5), &kernel, 3);
        assert_eq!(
            &out[..5],
            &[1.0, 2.0, 3.0, 4.0, 3.0],
            "x = 4 reads x = 3 (reflect 101)"
        );
        let mean = vec![1.0 / 9.0; 9];
        let flat = filter2d_f64(&[0.5; 20], (4, 5), &mean, 3);
        assert!(flat.iter().all(|v| (v - 0.5).abs() < 1e-15));
    }
}
