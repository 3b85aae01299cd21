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

/// The blurred saliency maps of a batch, and the divisor of each map's normalisation.
pub struct Saliency {
    /// Blurred `mean_c |g|` per image, `[b, h, w]` row-major.
    pub maps: Vec<f32>,
    /// Per map, `sum(map)` accumulated in `f64` in pixel order, rounded to `f32` and floored at
    /// the smallest normal `f32` (so a zero map stays zero after the division).
    pub sums: Vec<f32>,
}

/// Blurred saliency `mean_c |g|` per image and the divisor of its normalisation: `g` is
/// `[b, c, h, w]`, `kernel2d` the `k x k` Gaussian (row-major); reflect padding of `k / 2`.
/// Images in parallel with rayon.
pub fn saliency(
    g: &[f32],
    b: usize,
    c: usize,
    h: usize,
    w: usize,
    kernel2d: &[f32],
    k: usize,
) -> Saliency {
    let n = h * w;
    let mut maps = vec![0f32; b * n];
    let mut sums = vec![0f32; b];
    maps.par_chunks_mut(SUM_GROUP * n)
        .zip(sums.par_chunks_mut(SUM_GROUP))
        .zip(g.par_chunks(SUM_GROUP * c * n))
        .for_each(|((dst, sums), images)| {
            for (map, img) in dst.chunks_exact_mut(n).zip(images.chunks_exact(c * n)) {
                saliency_one(img, c, h, w, kernel2d, k, map);
            }
            map_sums(dst, n, sums);
        });
    Saliency { maps, sums }
}

/// Maps per rayon task of [`saliency`], whose sums are accumulated together.
const SUM_GROUP: usize = 4;

/// The divisors of up to [`SUM_GROUP`] maps of `n` pixels (back to back in `maps`): each map's
/// `iter().map(|&v| v as f64).sum::<f64>()` (its own additions in pixel order), the maps side by
/// side so that their chains of dependent additions overlap; rounded to `f32`, floored at the
/// smallest normal `f32`.
fn map_sums(maps: &[f32], n: usize, sums: &mut [f32]) {
    let mut totals = [std::iter::empty::<f64>().sum::<f64>(); SUM_GROUP];
    let count = sums.len();
    for p in 0..n {
        for (q, total) in totals[..count].iter_mut().enumerate() {
            *total += maps[q * n + p] as f64;
        }
    }
    for (sum, total) in sums.iter_mut().zip(totals) {
        *sum = (total as f32).max(f32::MIN_POSITIVE);
    }
}

/// [`saliency`] of one image `[c, h, w]` into `dst` `[h, w]`.
fn saliency_one(
    img: &[f32],
    c: usize,
    h: usize,
    w: usize,
    kernel2d: &[f32],
    k: usize,
    dst: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { saliency_one_avx2(img, c, h, w, kernel2d, k, dst) };
        }
    }
    saliency_one_generic(img, c, h, w, kernel2d, k, dst)
}

/// [`saliency_one_generic`] compiled for 8-wide registers (identical results: no
/// floating-point contraction).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn saliency_one_avx2(
    img: &[f32],
    c: usize,
    h: usize,
    w: usize,
    kernel2d: &[f32],
    k: usize,
    dst: &mut [f32],
) {
    saliency_one_generic(img, c, h, w, kernel2d, k, dst)
}

#[inline(always)]
fn saliency_one_generic(
    img: &[f32],
    c: usize,
    h: usize,
    w: usize,
    kernel2d: &[f32],
    k: usize,
    dst: &mut [f32],
) {
    let half = k / 2;
    let reflect = |i: isize, len: usize| -> usize {
        let len = len as isize;
        let i = if i < 0 { -i } else { i };
        (if i >= len { 2 * (len - 1) - i } else { i }) as usize
    };
    // Mean over channels of |g| (summed in channel order, then divided, as torch's mean),
    // written straight into the interior of the reflect-padded map.
    let (ph, pw) = (h + 2 * half, w + 2 * half);
    let mut padded = vec![0f32; ph * pw];
    for channel in img.chunks_exact(h * w) {
        let rows = padded[half * pw..].chunks_exact_mut(pw);
        for (prow, grow) in rows.zip(channel.chunks_exact(w)) {
            for (acc, v) in prow[half..half + w].iter_mut().zip(grow) {
                *acc += v.abs();
            }
        }
    }
    for prow in padded[half * pw..(half + h) * pw].chunks_exact_mut(pw) {
        for v in &mut prow[half..half + w] {
            *v /= c as f32;
        }
        for px in (0..half).chain(half + w..pw) {
            prow[px] = prow[half + reflect(px as isize - half as isize, w)];
        }
    }
    for py in (0..half).chain(half + h..ph) {
        let source = half + reflect(py as isize - half as isize, h);
        padded.copy_within(source * pw..(source + 1) * pw, py * pw);
    }
    // Blur: 32, then 8, then single outputs at a time in registers (independent sums, so
    // several additions are in flight), each summing its taps in (ky, kx) order.
    for (y, out_row) in dst.chunks_exact_mut(w).enumerate() {
        let rows = &padded[y * pw..(y + k) * pw];
        let mut x = 0;
        while x + 32 <= w {
            out_row[x..x + 32].copy_from_slice(&blur_block::<32>(rows, pw, x, kernel2d, k));
            x += 32;
        }
        while x + 8 <= w {
            out_row[x..x + 8].copy_from_slice(&blur_block::<8>(rows, pw, x, kernel2d, k));
            x += 8;
        }
        while x < w {
            out_row[x] = blur_block::<1>(rows, pw, x, kernel2d, k)[0];
            x += 1;
        }
    }
}

/// `L` blurred outputs of one row from column `x0`, each summing its taps in (ky, kx) order:
/// `rows` are the `k` padded rows (width `pw`) under the output row.
#[inline(always)]
fn blur_block<const L: usize>(
    rows: &[f32],
    pw: usize,
    x0: usize,
    kernel2d: &[f32],
    k: usize,
) -> [f32; L] {
    let mut acc = [0f32; L];
    for (ky, taps) in kernel2d.chunks_exact(k).enumerate() {
        let src = &rows[ky * pw + x0..];
        for (kx, &weight) in taps.iter().enumerate() {
            let v: &[f32; L] = src[kx..kx + L].try_into().expect("L values");
            for (a, &v) in acc.iter_mut().zip(v) {
                *a += weight * v;
            }
        }
    }
    acc
}

/// `(s / sum) * weight` per pixel, in `f32` (divide, then multiply, as the reference's
/// `normalize_grad`).
fn normalise(s: &[f32], sum: f32, weight: f32, out: &mut [f32]) {
    for (o, &v) in out.iter_mut().zip(s) {
        *o = (v / sum) * weight;
    }
}

/// Output buffers of [`mix`], `b` images back to back in each; every element is written.
pub struct MixOutputs<'a> {
    /// Mixed images `[b, c, h, w]`.
    pub images: &'a mut [f32],
    /// Mask `M` at the chosen shift, `[b, h, w]`.
    pub mask: &'a mut [f32],
    /// `mean M` per image, `[b]`.
    pub lam: &'a mut [f32],
    /// Own normalised maps `s1`, `[b, h, w]`.
    pub s1: &'a mut [f32],
    /// Partner normalised maps `s2` (already re-indexed by `perm`), `[b, h, w]`.
    pub s2: &'a mut [f32],
}

/// What every image's task of [`mix`] reads.
struct Step<'a> {
    x: &'a [f32],
    saliency: &'a Saliency,
    perm: &'a [i64],
    own_weight: f32,
    partner_weight: f32,
    c: usize,
    h: usize,
    w: usize,
    candidates: &'a [(i64, i64)],
}

/// One image's share of [`MixOutputs`].
struct ImageOutputs<'a> {
    image: &'a mut [f32],
    mask: &'a mut [f32],
    lam: &'a mut f32,
    s1: &'a mut [f32],
    s2: &'a mut [f32],
}

/// Normalisation, shift search and mixing, one rayon task per image: `x` `[b, c, h, w]`,
/// `saliency` its blurred maps, `perm` the partner of each image, `alpha` the batch's weight
/// (`s1 = max(alpha, 1e-12) s / sum(s)`, `s2 = max(1 - alpha, 1e-12) s_pi / sum(s_pi)`).
/// Writes every output of `out` and returns the chosen shift per image.
pub fn mix(
    x: &[f32],
    saliency: &Saliency,
    perm: &[i64],
    alpha: f64,
    (c, h, w): (usize, usize, usize),
    candidates: &[(i64, i64)],
    out: MixOutputs<'_>,
) -> Vec<(i64, i64)> {
    let n = h * w;
    let step = Step {
        x,
        saliency,
        perm,
        own_weight: alpha.max(1e-12) as f32,
        partner_weight: (1.0 - alpha).max(1e-12) as f32,
        c,
        h,
        w,
        candidates,
    };
    let mut shifts = vec![(0i64, 0i64); perm.len()];
    out.images
        .par_chunks_mut(c * n)
        .zip(out.mask.par_chunks_mut(n))
        .zip(out.lam.par_iter_mut())
        .zip(out.s1.par_chunks_mut(n))
        .zip(out.s2.par_chunks_mut(n))
        .zip(shifts.par_iter_mut())
        .enumerate()
        .for_each(|(i, (((((image, mask), lam), s1), s2), shift))| {
            let out = ImageOutputs {
                image,
                mask,
                lam,
                s1,
                s2,
            };
            *shift = mix_one(&step, i, out);
        });
    shifts
}

/// [`mix`] for image `i`; returns its shift.
fn mix_one(step: &Step<'_>, i: usize, out: ImageOutputs<'_>) -> (i64, i64) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { mix_one_avx2(step, i, out) };
        }
    }
    mix_one_generic(step, i, out)
}

/// [`mix_one_generic`] compiled for 8-wide registers (identical results: no floating-point
/// contraction).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn mix_one_avx2(step: &Step<'_>, i: usize, out: ImageOutputs<'_>) -> (i64, i64) {
    mix_one_generic(step, i, out)
}

/// Row `r` of `src` (`h x w`) shifted right by `dc` columns into `shifted`, zeros where it has
/// no source (`source_row` is the row `r - dr` when it lies inside the image).
#[inline(always)]
fn shifted_row(shifted: &mut [f32], src: &[f32], source_row: Option<usize>, dc: i64) {
    let w = shifted.len();
    let (c0, c1) = (dc.max(0) as usize, (w as i64 + dc.min(0)) as usize);
    let (src0, src1) = ((c0 as i64 - dc) as usize, (c1 as i64 - dc) as usize);
    shifted.fill(0.0);
    if let Some(sr) = source_row {
        shifted[c0..c1].copy_from_slice(&src[sr * w + src0..sr * w + src1]);
    }
}

#[inline(always)]
fn mix_one_generic(step: &Step<'_>, i: usize, out: ImageOutputs<'_>) -> (i64, i64) {
    let (c, h, w) = (step.c, step.h, step.w);
    let n = h * w;
    let p = step.perm[i] as usize;
    let (maps, sums) = (&step.saliency.maps, &step.saliency.sums);
    normalise(&maps[i * n..(i + 1) * n], sums[i], step.own_weight, out.s1);
    normalise(
        &maps[p * n..(p + 1) * n],
        sums[p],
        step.partner_weight,
        out.s2,
    );
    let (a, t_src) = (&*out.s1, &*out.s2);
    let (dr, dc) = step.candidates[search::best_native(a, t_src, h, w, step.candidates)];
    let own = &step.x[i * c * n..(i + 1) * c * n];
    let partner = &step.x[p * c * n..(p + 1) * c * n];
    // Row by row: the shifted partner's row (its saliency, then each channel) is copied into a
    // zeroed buffer over the overlap's columns, then whole rows are blended.
    let mut shifted = vec![0f32; w];
    for r in 0..h {
        let sr = r as i64 - dr;
        let source_row = (0..h as i64).contains(&sr).then_some(sr as usize);
        shifted_row(&mut shifted, t_src, source_row, dc);
        let m_row = &mut out.mask[r * w..(r + 1) * w];
        for ((mp, &a), &t) in m_row.iter_mut().zip(&a[r * w..(r + 1) * w]).zip(&shifted) {
            *mp = a / (a + t).max(DENOMINATOR_FLOOR);
        }
        for ch in 0..c {
            shifted_row(&mut shifted, &partner[ch * n..(ch + 1) * n], source_row, dc);
            let base = ch * n + r * w;
            let out_row = &mut out.image[base..base + w];
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
    *out.lam = (sum_of_row_sums(out.mask, w) / n as f64) as f32;
    (dr, dc)
}

/// `mean M` before the division: `sum += row.iter().map(|&v| v as f64).sum::<f64>()` over the
/// rows of `mask` (width `w`) in order. Four rows are summed at a time (each in its own order,
/// so the same additions), so that their chains of dependent additions overlap.
#[inline(always)]
fn sum_of_row_sums(mask: &[f32], w: usize) -> f64 {
    let start: f64 = std::iter::empty::<f64>().sum();
    let mut sum = 0f64;
    let mut groups = mask.chunks_exact(4 * w);
    for group in &mut groups {
        let mut rows = [start; 4];
        for j in 0..w {
            for (q, row) in rows.iter_mut().enumerate() {
                *row += group[q * w + j] as f64;
            }
        }
        for row in rows {
            sum += row;
        }
    }
    for row in groups.remainder().chunks_exact(w) {
        sum += row.iter().map(|&v| v as f64).sum::<f64>();
    }
    sum
}
