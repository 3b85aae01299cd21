//! SAGE's shift search (see `docs/methods/sage.md`, *Shift search*): for every image, the translation of its partner's saliency
//! that maximises the saliency kept in the mixed image, over a list of candidate shifts.
//!
//! Shift operator: `Sh_d f(p) = f(p - d)` inside the image, 0 outside (content moves by
//! `d = (dr, dc)` rows/columns). The reference builds it with a zero-padded `3w x 3w` canvas and
//! nearest-neighbour `grid_sample`, one Python iteration per image; here a shifted window is a
//! gather into the partner's map (an index per output pixel, pointing at a zero slot outside
//! the image), and all images and candidates are scored at once.
//!
//! Two implementations with the same result:
//! - [`search_tensor`]: batched tensor code on the maps' device (`[B, chunk, H W]` at a time),
//!   for the GPU;
//! - [`best_native`]: plain Rust on the host, one image at a time, scoring only the rows and
//!   (8-wide blocks of) columns where the two maps overlap (elsewhere a pixel's score does not
//!   depend on the shift), for the CPU.
//!
//! Per pixel the score is the reference's `s1 M + t (1 - M)` with
//! `M = s1 / max(s1 + t, 1e-16)`, in `f32`. Native: the gains over the shift-independent part
//! are accumulated in eight `f32` lanes per candidate and added to an `f64` total; tensor:
//! summed in `f32`. The first maximum in candidate order wins, as the reference's `argmax`.

use tch::{Device, Kind, Tensor};

/// Clamp of the mask's denominator in the reference.
pub const DENOMINATOR_FLOOR: f32 = 1e-16;

/// All `(2h - 1)(2w - 1)` shifts `(dr, dc)` in the reference's enumeration order: flat index
/// `q` is `dr = q mod (2h - 1) - (h - 1)`, `dc = q div (2h - 1) - (w - 1)`.
pub fn all_shifts(h: i64, w: i64) -> Vec<(i64, i64)> {
    let (nr, nc) = (2 * h - 1, 2 * w - 1);
    (0..nr * nc)
        .map(|q| (q % nr - (h - 1), q / nr - (w - 1)))
        .collect()
}

/// For shift `(dr, dc)`: per output pixel `p` (row-major), the flat index of `p - d` in an
/// `h x w` map, or `h w` (a zero slot appended to the map) when `p - d` is outside.
pub fn shift_index(h: i64, w: i64, (dr, dc): (i64, i64)) -> Vec<i64> {
    let mut index = Vec::with_capacity((h * w) as usize);
    for r in 0..h {
        for c in 0..w {
            let (sr, sc) = (r - dr, c - dc);
            index.push(if (0..h).contains(&sr) && (0..w).contains(&sc) {
                sr * w + sc
            } else {
                h * w
            });
        }
    }
    index
}

/// Appends a zero after the last axis: `[.., n]` -> `[.., n + 1]`.
pub fn with_zero_slot(t: &Tensor) -> Tensor {
    let mut size = t.size();
    *size.last_mut().expect("at least one axis") = 1;
    Tensor::cat(
        &[
            t.shallow_clone(),
            Tensor::zeros(size, (t.kind(), t.device())),
        ],
        -1,
    )
}

/// `Sh_{d_i}` applied to every image: `x` `[B, C, H, W]`, one shift per image.
pub fn shift_images(x: &Tensor, shifts: &[(i64, i64)]) -> Tensor {
    let size = x.size();
    let (b, c, h, w) = (size[0], size[1], size[2], size[3]);
    let index: Vec<i64> = shifts.iter().flat_map(|&d| shift_index(h, w, d)).collect();
    let index = Tensor::from_slice(&index)
        .view([b, 1, h * w])
        .expand([b, c, h * w], false)
        .to_device(x.device());
    with_zero_slot(&x.reshape([b, c, h * w]))
        .gather(2, &index, false)
        .view([b, c, h, w])
}

/// The mask of the reference for own map `s1` and shifted partner map `t` (same shape).
pub fn mask(s1: &Tensor, t: &Tensor) -> Tensor {
    s1 / (s1 + t).clamp_min(DENOMINATOR_FLOOR as f64)
}

/// Scores of every candidate for every image, f32 `[B, K]`, batched on the maps' device, in
/// chunks of at most `chunk` candidates (`[B, chunk, H W]` values live at a time).
/// `s1`, `s2`: f32 `[B, 1, H, W]` (own and partner maps, already normalised).
pub fn scores_tensor(s1: &Tensor, s2: &Tensor, shifts: &[(i64, i64)], chunk: usize) -> Tensor {
    let size = s1.size();
    let (b, h, w) = (size[0], size[2], size[3]);
    let s1 = s1.reshape([b, 1, h * w]);
    let s2 = with_zero_slot(&s2.reshape([b, h * w]));
    let parts: Vec<Tensor> = shifts
        .chunks(chunk.max(1))
        .map(|part| {
            let index: Vec<i64> = part.iter().flat_map(|&d| shift_index(h, w, d)).collect();
            let index = Tensor::from_slice(&index).to_device(s1.device());
            let t = s2
                .index_select(1, &index)
                .view([b, part.len() as i64, h * w]);
            let m = mask(&s1, &t);
            let one_minus: Tensor = 1.0 - &m;
            let kept: Tensor = &s1 * &m + &t * one_minus;
            kept.sum_dim_intlist([-1i64].as_slice(), false, Kind::Float)
        })
        .collect();
    Tensor::cat(&parts, 1)
}

/// Index into `shifts` of the best candidate per image (first maximum), tensor path.
pub fn search_tensor(s1: &Tensor, s2: &Tensor, shifts: &[(i64, i64)], chunk: usize) -> Vec<usize> {
    let best = scores_tensor(s1, s2, shifts, chunk)
        .argmax(1, false)
        .to_device(Device::Cpu);
    Vec::<i64>::try_from(best)
        .expect("i64 indices")
        .into_iter()
        .map(|i| i as usize)
        .collect()
}

#[inline(always)]
fn pixel_score(a: f32, t: f32) -> f32 {
    let m = a / (a + t).max(DENOMINATOR_FLOOR);
    a * m + t * (1.0 - m)
}

/// Adds `score(a, t) - base` of one row of the overlap to eight independent `f32` lanes
/// (iterators only: no index arithmetic, so the loop vectorises even with overflow checks).
#[inline(always)]
fn add_row_gain(lanes: &mut [f32; 8], own: &[f32], other: &[f32], own_base: &[f32]) {
    let (a8, t8, b8) = (
        own.chunks_exact(8),
        other.chunks_exact(8),
        own_base.chunks_exact(8),
    );
    let (a_rest, t_rest, b_rest) = (a8.remainder(), t8.remainder(), b8.remainder());
    for ((a, t), b) in a8.zip(t8).zip(b8) {
        for ((lane, (&a, &t)), &b) in lanes.iter_mut().zip(a.iter().zip(t)).zip(b) {
            *lane += pixel_score(a, t) - b;
        }
    }
    for (((lane, &a), &t), &b) in lanes.iter_mut().zip(a_rest).zip(t_rest).zip(b_rest) {
        *lane += pixel_score(a, t) - b;
    }
}

/// Score of every candidate for one image, native path. `s1`, `s2`: row-major `h x w`.
///
/// The partner map is padded with `w - 1` zero columns on both sides, so that the shifted
/// partner's row under an overlapping own row is one contiguous slice (zeros where the
/// partner is absent, which add exactly 0); each row is scored over the overlap's columns
/// widened to whole 8-lane blocks, so the loop vectorises without remainders. On x86-64 CPUs
/// with AVX2 the same code is compiled a second time for 8-wide registers (identical results:
/// no floating-point contraction).
pub fn scores_native_one(
    s1: &[f32],
    s2: &[f32],
    h: usize,
    w: usize,
    shifts: &[(i64, i64)],
) -> Vec<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { scores_avx2(s1, s2, h, w, shifts) };
        }
    }
    scores_generic(s1, s2, h, w, shifts)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scores_avx2(
    s1: &[f32],
    s2: &[f32],
    h: usize,
    w: usize,
    shifts: &[(i64, i64)],
) -> Vec<f64> {
    scores_generic(s1, s2, h, w, shifts)
}

#[inline(always)]
fn scores_generic(s1: &[f32], s2: &[f32], h: usize, w: usize, shifts: &[(i64, i64)]) -> Vec<f64> {
    // Where the shifted partner is absent (t = 0) a pixel scores `base`, whatever the shift.
    let base: Vec<f32> = s1.iter().map(|&a| pixel_score(a, 0.0)).collect();
    let padded_w = 3 * w - 2;
    let mut padded = vec![0f32; h * padded_w];
    for (dst, src) in padded.chunks_exact_mut(padded_w).zip(s2.chunks_exact(w)) {
        dst[w - 1..2 * w - 1].copy_from_slice(src);
    }
    // The shift-independent total `sum_p base` (in f64, in pixel order, from the start value of
    // `Iterator::sum`) advances by a slice per candidate: its chain of dependent additions then
    // overlaps the candidates' vector work. It joins each candidate's gains at the end.
    let n = base.len();
    let slice = n.div_ceil(shifts.len().max(1));
    let mut total: f64 = std::iter::empty::<f64>().sum();
    // A plain loop (no closure): everything stays inlined in the AVX2 copy of this function.
    let mut gains = Vec::with_capacity(shifts.len());
    for (q, &(dr, dc)) in shifts.iter().enumerate() {
        for &v in &base[(q * slice).min(n)..((q + 1) * slice).min(n)] {
            total += v as f64;
        }
        let (dr, dc) = (dr as isize, dc as isize);
        let (r0, r1) = (dr.max(0) as usize, (h as isize + dr.min(0)) as usize);
        let (c0, c1) = (dc.max(0) as usize, (w as isize + dc.min(0)) as usize);
        let (lo, hi) = (c0 / 8 * 8, (c1.div_ceil(8) * 8).min(w));
        let start = (w as isize - 1 - dc) as usize;
        let mut lanes = [0f32; 8];
        for r in r0..r1 {
            let sr = (r as isize - dr) as usize;
            let other = &padded[sr * padded_w + start + lo..sr * padded_w + start + hi];
            add_row_gain(
                &mut lanes,
                &s1[r * w + lo..r * w + hi],
                other,
                &base[r * w + lo..r * w + hi],
            );
        }
        gains.push(lanes.iter().map(|&v| v as f64).sum::<f64>());
    }
    for &v in &base[(shifts.len() * slice).min(n)..] {
        total += v as f64;
    }
    let mut scores = gains;
    for score in &mut scores {
        *score += total;
    }
    scores
}

/// Index into `shifts` of the best candidate for one image (first maximum), native path.
/// `s1`, `s2`: row-major `h x w`.
pub fn best_native(s1: &[f32], s2: &[f32], h: usize, w: usize, shifts: &[(i64, i64)]) -> usize {
    let scores = scores_native_one(s1, s2, h, w, shifts);
    let mut best = 0;
    for (k, &v) in scores.iter().enumerate() {
        if v > scores[best] {
            best = k;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifting_a_one_hot_image_moves_the_pixel_by_d() {
        // Every one of the 3969 shifts of a 32x32 image is an exact integer shift.
        let (h, w) = (32i64, 32i64);
        let (pr, pc) = (17i64, 5i64);
        let mut base = vec![0f32; 1024];
        base[(pr * w + pc) as usize] = 1.0;
        let shifts = all_shifts(h, w);
        assert_eq!(shifts.len(), 3969);
        let x = Tensor::from_slice(&base)
            .view([1, 1, h, w])
            .expand([shifts.len() as i64, 1, h, w], false)
            .contiguous();
        let moved = shift_images(&x, &shifts);
        for (k, &(dr, dc)) in shifts.iter().enumerate() {
            let img = moved.get(k as i64).view([-1]);
            let (r, c) = (pr + dr, pc + dc);
            let inside = (0..h).contains(&r) && (0..w).contains(&c);
            let sum = img.sum(Kind::Float).double_value(&[]);
            if inside {
                assert_eq!(img.double_value(&[r * w + c]), 1.0, "shift {dr},{dc}");
                assert_eq!(sum, 1.0);
            } else {
                assert_eq!(sum, 0.0, "shift {dr},{dc} moves the pixel out");
            }
        }
    }

    #[test]
    fn reference_enumeration_order() {
        let s = all_shifts(32, 32);
        assert_eq!(s[0], (-31, -31));
        assert_eq!(s[1], (-30, -31));
        assert_eq!(s[63], (-31, -30));
        assert_eq!(s[3968], (31, 31));
    }

    #[test]
    fn native_and_tensor_scores_agree() {
        tch::manual_seed(3);
        let (b, h, w) = (3i64, 9i64, 7i64);
        let s1 = Tensor::rand([b, 1, h, w], (Kind::Float, Device::Cpu)) * 0.01;
        let s2 = Tensor::rand([b, 1, h, w], (Kind::Float, Device::Cpu)) * 0.02;
        let shifts = all_shifts(h, w);
        let tensor = scores_tensor(&s1, &s2, &shifts, 17);
        let a = Vec::<f32>::try_from(s1.flatten(0, -1)).unwrap();
        let t = Vec::<f32>::try_from(s2.flatten(0, -1)).unwrap();
        for i in 0..b as usize {
            let n = (h * w) as usize;
            let native = scores_native_one(
                &a[i * n..(i + 1) * n],
                &t[i * n..(i + 1) * n],
                h as usize,
                w as usize,
                &shifts,
            );
            for (k, v) in native.iter().enumerate() {
                let reference = tensor.double_value(&[i as i64, k as i64]);
                assert!(
                    (v - reference).abs() < 1e-6,
                    "image {i} shift {k}: {v} vs {reference}"
                );
            }
        }
        let n = (h * w) as usize;
        let native_best: Vec<usize> = a
            .chunks(n)
            .zip(t.chunks(n))
            .map(|(a, t)| best_native(a, t, h as usize, w as usize, &shifts))
            .collect();
        assert_eq!(native_best, search_tensor(&s1, &s2, &shifts, 64));
    }
}
