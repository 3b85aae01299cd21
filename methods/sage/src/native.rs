//! The whole SAGE mixing step in plain Rust for CPU batches (`docs/methods/sage.md`, *Blur* to *Mixing and labels*): saliency, blur,
//! normalisation, shift search and mixing on host slices, images in parallel with rayon. It
//! computes what the tensor path of [`crate::Sage::mix_with`] computes (same formulas and
//! `f32` operations; the blur's summation order differs from libtorch's convolution by
//! rounding only) without a libtorch kernel launch per step, which dominates at CIFAR size.

use rayon::prelude::*;

use crate::search::{self, DENOMINATOR_FLOOR};

/// torchvision's Gaussian kernel (`_get_gaussian_kernel2d`) in `f32` host arithmetic:
/// `t_i = -(k-1)/2 + i`, `pdf = exp(-0.5 (t / sigma)^2)`, normalised to sum 1, outer product.
/// Equal to [`crate::gaussian_kernel2d`] up to the last bit of `exp`.
pub fn gaussian_kernel2d(k: usize, sigma: f64) -> Vec<f32> {
    let half = (k as f32 - 1.0) * 0.5;
    let pdf: Vec<f32> = (0..k)
        .map(|i| {
            let t = (-half + i as f32) / sigma as f32;
            (-0.5 * (t * t)).exp()
        })
        .collect();
    let sum: f32 = pdf.iter().sum();
    let k1: Vec<f32> = pdf.iter().map(|&p| p / sum).collect();
    k1.iter()
        .flat_map(|&y| k1.iter().map(move |&x| y * x))
        .collect()
}

/// Blurred saliency `mean_c |g|` per image: `g` is `[b, c, h, w]`, `kernel2d` the `k x k`
/// Gaussian (row-major); reflect padding of `k / 2`. Returns `[b, h, w]`.
pub fn saliency(
    g: &[f32],
    b: usize,
    c: usize,
    h: usize,
    w: usize,
    kernel2d: &[f32],
    k: usize,
) -> Vec<f32> {
    let n = h * w;
    let half = (k / 2) as isize;
    let reflect = |i: isize, len: usize| -> usize {
        let len = len as isize;
        let i = if i < 0 { -i } else { i };
        (if i >= len { 2 * (len - 1) - i } else { i }) as usize
    };
    let mut out = vec![0f32; b * n];
    out.par_chunks_mut(n)
        .zip(g.par_chunks(c * n))
        .for_each(|(dst, img)| {
            // mean over channels of |g|, summed in channel order then divided, as torch's mean.
            let mut s = vec![0f32; n];
            for ch in img.chunks_exact(n) {
                for (acc, v) in s.iter_mut().zip(ch) {
                    *acc += v.abs();
                }
            }
            for v in s.iter_mut() {
                *v /= c as f32;
            }
            // Reflect-pad once, then accumulate whole output rows (vectorises over x); each
            // output sums its taps in (ky, kx) order.
            let (ph, pw) = (h + 2 * half as usize, w + 2 * half as usize);
            let mut padded = vec![0f32; ph * pw];
            for (py, row) in padded.chunks_exact_mut(pw).enumerate() {
                let sy = reflect(py as isize - half, h);
                for (px, v) in row.iter_mut().enumerate() {
                    *v = s[sy * w + reflect(px as isize - half, w)];
                }
            }
            for (y, out_row) in dst.chunks_exact_mut(w).enumerate() {
                out_row.fill(0.0);
                for ky in 0..k {
                    let src = &padded[(y + ky) * pw..(y + ky + 1) * pw];
                    for kx in 0..k {
                        let weight = kernel2d[ky * k + kx];
                        for (o, &v) in out_row.iter_mut().zip(&src[kx..kx + w]) {
                            *o += weight * v;
                        }
                    }
                }
            }
        });
    out
}

/// Appends `max(weight, 1e-12) * s / sum(s)` for one map to `out`, in `f32` (divide, then
/// multiply, as the reference's `normalize_grad`); a zero sum is floored at the smallest
/// normal `f32`.
pub fn normalise_into(s: &[f32], weight: f64, out: &mut Vec<f32>) {
    let sum = (s.iter().map(|&v| v as f64).sum::<f64>() as f32).max(f32::MIN_POSITIVE);
    let weight = weight.max(1e-12) as f32;
    out.extend(s.iter().map(|&v| (v / sum) * weight));
}

/// Result of [`mix`]: mixed images `[b, c, h, w]`, mask `[b, h, w]`, per-sample lambda.
pub struct NativeMix {
    /// Mixed images.
    pub images: Vec<f32>,
    /// Mask `M` at the chosen shift.
    pub mask: Vec<f32>,
    /// `mean M` per image.
    pub lam: Vec<f32>,
    /// Chosen shift per image.
    pub shifts: Vec<(i64, i64)>,
}

/// Search and mix: `x` `[b, c, h, w]`, `s1`, `s2` normalised maps `[b, h, w]` (`s2` already
/// re-indexed by `perm`), `perm` the partner of each image.
#[allow(clippy::too_many_arguments)]
pub fn mix(
    x: &[f32],
    s1: &[f32],
    s2: &[f32],
    perm: &[i64],
    c: usize,
    h: usize,
    w: usize,
    candidates: &[(i64, i64)],
) -> NativeMix {
    let n = h * w;
    let best = search::search_native(s1, s2, h, w, candidates);
    let shifts: Vec<(i64, i64)> = best.iter().map(|&(k, _)| candidates[k]).collect();
    let mut images = vec![0f32; x.len()];
    let mut mask = vec![0f32; s1.len()];
    let mut lam = vec![0f32; perm.len()];
    images
        .par_chunks_mut(c * n)
        .zip(mask.par_chunks_mut(n))
        .zip(lam.par_iter_mut())
        .enumerate()
        .for_each(|(i, ((out, m), lam))| {
            let (dr, dc) = shifts[i];
            let own = &x[i * c * n..(i + 1) * c * n];
            let partner = &x[perm[i] as usize * c * n..(perm[i] as usize + 1) * c * n];
            let (a, t_src) = (&s1[i * n..(i + 1) * n], &s2[i * n..(i + 1) * n]);
            // Row by row: the shifted partner's row (its saliency, then each channel) is copied
            // into a zeroed buffer over the overlap's columns, then whole rows are blended.
            let (c0, c1) = (dc.max(0) as usize, (w as i64 + dc.min(0)) as usize);
            let (src0, src1) = ((c0 as i64 - dc) as usize, (c1 as i64 - dc) as usize);
            let mut shifted = vec![0f32; w];
            let mut sum = 0f64;
            for r in 0..h {
                let sr = r as i64 - dr;
                let source_row = (0..h as i64).contains(&sr).then_some(sr as usize);
                let fill = |shifted: &mut [f32], src: &[f32]| {
                    shifted.fill(0.0);
                    if let Some(sr) = source_row {
                        shifted[c0..c1].copy_from_slice(&src[sr * w + src0..sr * w + src1]);
                    }
                };
                fill(&mut shifted, t_src);
                let m_row = &mut m[r * w..(r + 1) * w];
                for ((mp, &a), &t) in m_row.iter_mut().zip(&a[r * w..(r + 1) * w]).zip(&shifted) {
                    *mp = a / (a + t).max(DENOMINATOR_FLOOR);
                }
                sum += m_row.iter().map(|&v| v as f64).sum::<f64>();
                for ch in 0..c {
                    fill(&mut shifted, &partner[ch * n..(ch + 1) * n]);
                    let base = ch * n + r * w;
                    let out_row = &mut out[base..base + w];
                    for (((o, &x), &xs), &mp) in out_row
                        .iter_mut()
                        .zip(&own[base..base + w])
                        .zip(&shifted)
                        .zip(&*m_row)
                    {
                        *o = x * mp + xs * (1.0 - mp);
                    }
                }
            }
            *lam = (sum / n as f64) as f32;
        });
    NativeMix {
        images,
        mask,
        lam,
        shifts,
    }
}
