//! Step detection: where a metric's series (one value per run, runs in date order) moved to a
//! new level and stayed there.
//!
//! The series is fitted with a piecewise-constant function by optimal partitioning (PELT,
//! Killick, Fearnhead & Eckley 2012: exact, with pruning) under an L2 cost: the sum over
//! segments of the squared deviations from the segment's mean, plus a penalty per segment.
//! The penalty is BIC-like, `PENALTY_FACTOR * sigma^2 * ln(n)`, with `sigma` a robust estimate
//! of the run-to-run noise from the differences of consecutive values, so that a few real steps
//! barely move it: Rousseeuw and Croux's Qn scale of the differences (`2.2219` times the `k`-th
//! smallest of their pairwise distances, `k = h(h-1)/2`, `h = m/2 + 1` of `m` differences;
//! efficient and robust to half of them being off) over `sqrt(2)`. When more than about half of
//! the differences are equal (a mostly bit-exact metric) that scale is 0, and their root mean
//! square over `sqrt(2)` is used instead. Below [`SHORT_SERIES`] runs the noise is the larger of
//! the two: Qn of a handful of differences is itself so noisy that it often comes out a fraction
//! of the true noise (then 27% of flat 4-run series showed a step, and a 3-run series drifting
//! by 12% and 14% of its value showed two); the root mean square is steadier but counts real
//! steps as noise, which is the price of judging a short history.
//! asv (airspeed velocity) detects regressions the same way: a penalised piecewise-constant
//! fit whose penalty scales with the noise (it uses an L1 cost and picks the penalty by an
//! information criterion).
//!
//! A new segment is worth its penalty when the squared error it removes exceeds
//! `PENALTY_FACTOR * ln(n)` noise variances: a lasting shift of `d` over `k` runs after `m` runs
//! removes about `d^2 * k * m / (k + m)`. A single outlying run inside the series becomes a
//! segment of its own (two steps: away and back) only when it lies more than about
//! `sqrt(2 * PENALTY_FACTOR * ln(n))` noise deviations from its neighbours; the newest run, at
//! the end, needs `sqrt(PENALTY_FACTOR * ln(n))` (one step), so a regression shows on the night
//! it appears when it is large enough.

/// Penalty per segment, in units of `sigma^2 * ln(n)`. BIC charges `ln(n)` per parameter and a
/// step has two (its position and its new level); this charges twice that, chosen by simulation
/// (`false_steps_are_rare_and_real_ones_are_found` below, 1,000 seeded Gaussian series per
/// case): a flat series shows a false step in 0% of 3-run series, 7.3% at 4 runs, 3.1% at 6,
/// 3.9% at 8, 4.8% at 10, 2.1% at 20, 0.5% at 50 and 0.1% at 100 (Qn overestimates the noise of short series, by about 20% at 10 runs, which
/// keeps them conservative), while two steps of 3 noise deviations in 70 runs are both found
/// 99.7% of the time (94.6% both within one run of their true place) and one step of 2
/// deviations in 40 runs 97.2%.
pub const PENALTY_FACTOR: f64 = 4.0;

/// A stretch of the series fitted by one level: values `start..end` (end exclusive).
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    /// Index of the segment's first value.
    pub start: usize,
    /// One past the index of its last value.
    pub end: usize,
    /// The segment's level: the mean of its values.
    pub level: f64,
}

/// Where the series moved: the first value at the new level, and the levels on both sides.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Index of the first value of the new level (the run where the metric moved).
    pub index: usize,
    /// Level of the segment before.
    pub before: f64,
    /// Level of the segment from `index` on.
    pub after: f64,
}

/// The piecewise-constant fit of a series.
#[derive(Clone, Debug, PartialEq)]
pub struct StepFit {
    /// The segments, in order, covering the whole series (none for an empty one).
    pub segments: Vec<Segment>,
    /// The robust noise estimate `sigma` the penalty was scaled by.
    pub noise: f64,
}

impl StepFit {
    /// The steps between consecutive segments, in order.
    pub fn steps(&self) -> Vec<Step> {
        self.segments
            .windows(2)
            .map(|w| Step {
                index: w[1].start,
                before: w[0].level,
                after: w[1].level,
            })
            .collect()
    }
}

/// Fits `values` (finite numbers, in run order) with levels and steps: see the module
/// documentation for the rule. A constant series, and one of fewer than three values, has a
/// single segment.
pub fn detect_steps(values: &[f64]) -> StepFit {
    debug_assert!(values.iter().all(|v| v.is_finite()), "{values:?}");
    let noise = noise(values);
    let n = values.len();
    if n < 3 || noise == 0.0 {
        return StepFit {
            segments: segments(values, &[0]),
            noise,
        };
    }
    let penalty = PENALTY_FACTOR * noise * noise * (n as f64).ln();
    StepFit {
        segments: segments(values, &optimal_partition(values, penalty)),
        noise,
    }
}

/// Series shorter than this have their noise bounded from below by the root mean square of
/// their differences (see the module documentation).
pub const SHORT_SERIES: usize = 10;

/// The robust run-to-run noise of a series: see the module documentation. 0 for fewer than two
/// values and for a constant series.
pub fn noise(values: &[f64]) -> f64 {
    let diffs: Vec<f64> = values.windows(2).map(|w| w[1] - w[0]).collect();
    if diffs.is_empty() {
        return 0.0;
    }
    let sigma = qn_scale(&diffs) / std::f64::consts::SQRT_2;
    if sigma > 0.0 && values.len() >= SHORT_SERIES {
        return sigma;
    }
    let mean_square = diffs.iter().map(|d| d * d).sum::<f64>() / diffs.len() as f64;
    sigma.max(mean_square.sqrt() / std::f64::consts::SQRT_2)
}

/// Rousseeuw and Croux's Qn scale estimate (1993) of `x`, without the small-sample correction:
/// `2.2219` times the `k`-th smallest pairwise distance, `k = h(h-1)/2`, `h = len/2 + 1`. 0 for
/// fewer than two values.
fn qn_scale(x: &[f64]) -> f64 {
    let mut distances: Vec<f64> = x
        .iter()
        .enumerate()
        .flat_map(|(i, a)| x[i + 1..].iter().map(move |b| (a - b).abs()))
        .collect();
    if distances.is_empty() {
        return 0.0;
    }
    let h = x.len() / 2 + 1;
    let k = (h * (h - 1) / 2).clamp(1, distances.len());
    let (_, kth, _) = distances.select_nth_unstable_by(k - 1, f64::total_cmp);
    2.2219 * *kth
}

/// Start indices of the segments minimising the L2 cost plus `penalty` per segment, by PELT:
/// `best[t]` is the optimal cost of the first `t` values, found over the last segment's start
/// `s`; a start that cannot beat `best[t]` now never will (the L2 cost only grows as a segment
/// extends), so it is dropped.
fn optimal_partition(values: &[f64], penalty: f64) -> Vec<usize> {
    let n = values.len();
    // Prefix sums of the centred values, so that segment costs lose little to cancellation.
    let centre = values.iter().sum::<f64>() / n as f64;
    let (mut sum, mut squares) = (vec![0.0; n + 1], vec![0.0; n + 1]);
    for (i, v) in values.iter().enumerate() {
        let d = v - centre;
        sum[i + 1] = sum[i] + d;
        squares[i + 1] = squares[i] + d * d;
    }
    let cost = |a: usize, b: usize| {
        let s = sum[b] - sum[a];
        (squares[b] - squares[a] - s * s / (b - a) as f64).max(0.0)
    };
    let mut best = vec![0.0; n + 1];
    let mut start_of_last = vec![0usize; n + 1];
    best[0] = -penalty;
    let mut candidates = vec![0usize];
    for t in 1..=n {
        // Candidates are in increasing order and only a strictly lower cost wins, so ties
        // keep the earliest start: the fewest segments.
        let (mut arg, mut min) = (0, f64::INFINITY);
        for &s in &candidates {
            let c = best[s] + cost(s, t) + penalty;
            if c < min {
                (arg, min) = (s, c);
            }
        }
        best[t] = min;
        start_of_last[t] = arg;
        candidates.retain(|&s| best[s] + cost(s, t) <= best[t]);
        candidates.push(t);
    }
    let mut starts = Vec::new();
    let mut t = n;
    while t > 0 {
        t = start_of_last[t];
        starts.push(t);
    }
    starts.reverse();
    starts
}

/// The segments that start at `starts` (sorted, the first 0) and run to the next start.
fn segments(values: &[f64], starts: &[usize]) -> Vec<Segment> {
    if values.is_empty() {
        return Vec::new();
    }
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let end = starts.get(i + 1).copied().unwrap_or(values.len());
            let part = &values[start..end];
            Segment {
                start,
                end,
                level: part.iter().sum::<f64>() / part.len() as f64,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// `levels` as (length, level) runs plus seeded normal noise of std `sigma` (Box-Muller
    /// on ChaCha8 uniforms).
    fn series(levels: &[(usize, f64)], sigma: f64, seed: u64) -> Vec<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut normal = move || {
            let (u, v): (f64, f64) = (1.0 - rng.gen::<f64>(), rng.gen());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        };
        levels
            .iter()
            .flat_map(|&(len, level)| std::iter::repeat_n(level, len))
            .map(|level| level + sigma * normal())
            .collect()
    }

    /// Steps of 4 and 5 noise deviations, injected at runs 20 and 45 of 70, are found at their
    /// runs (or one away), with levels near the injected ones, on every one of 20 noise draws.
    #[test]
    fn injected_steps_are_found_where_they_were_put() {
        for seed in 0..20 {
            let values = series(&[(20, 90.0), (25, 86.0), (25, 91.0)], 1.0, seed);
            let fit = detect_steps(&values);
            let steps = fit.steps();
            assert_eq!(
                steps.len(),
                2,
                "seed {seed}: {steps:?} (noise {})",
                fit.noise
            );
            assert!(steps[0].index.abs_diff(20) <= 1, "seed {seed}: {steps:?}");
            assert!(steps[1].index.abs_diff(45) <= 1, "seed {seed}: {steps:?}");
            assert!((steps[0].before - 90.0).abs() < 1.0, "{steps:?}");
            assert!((steps[0].after - 86.0).abs() < 1.0, "{steps:?}");
            assert!((steps[1].after - 91.0).abs() < 1.0, "{steps:?}");
            assert!(
                (0.6..1.5).contains(&fit.noise),
                "seed {seed}: noise {}",
                fit.noise
            );
        }
    }

    /// Large steps are placed exactly, and the segments cover the series in order.
    #[test]
    fn clear_steps_are_placed_exactly() {
        let values = series(&[(8, 10.0), (8, 20.0), (8, 5.0)], 0.5, 7);
        let fit = detect_steps(&values);
        let bounds: Vec<(usize, usize)> = fit.segments.iter().map(|s| (s.start, s.end)).collect();
        assert_eq!(bounds, [(0, 8), (8, 16), (16, 24)]);
    }

    /// Flat series of pure noise (30, 50 and 100 runs, 20 draws each) have no step.
    #[test]
    fn flat_noisy_series_have_no_step() {
        for len in [30, 50, 100] {
            for seed in 0..20 {
                let values = series(&[(len, 75.0)], 2.0, 1000 + seed);
                let fit = detect_steps(&values);
                assert_eq!(fit.segments.len(), 1, "length {len}, seed {seed}: {fit:?}");
            }
        }
    }

    /// The rates [`PENALTY_FACTOR`]'s documentation quotes, over 1,000 seeded series per case:
    /// false steps on flat series of 10 to 100 runs, and how often real steps are found.
    #[test]
    fn false_steps_are_rare_and_real_ones_are_found() {
        let draws = 1000;
        let rate = |hits: usize| hits as f64 / draws as f64;
        for (len, most) in [
            (3, 0.10),
            (4, 0.10),
            (6, 0.06),
            (8, 0.05),
            (10, 0.10),
            (20, 0.03),
            (50, 0.01),
            (100, 0.005),
        ] {
            let false_steps = (0..draws)
                .filter(|&seed| {
                    detect_steps(&series(&[(len, 0.0)], 1.0, seed as u64))
                        .segments
                        .len()
                        > 1
                })
                .count();
            eprintln!("{len} runs: false steps in {:.3}", rate(false_steps));
            assert!(
                rate(false_steps) <= most,
                "{len} runs: {}",
                rate(false_steps)
            );
        }
        let (mut both, mut placed) = (0, 0);
        for seed in 0..draws {
            let values = series(&[(20, 0.0), (25, -3.0), (25, 0.0)], 1.0, 5000 + seed as u64);
            let at: Vec<usize> = detect_steps(&values)
                .steps()
                .iter()
                .map(|s| s.index)
                .collect();
            if at.len() == 2 {
                both += 1;
                placed += usize::from(at[0].abs_diff(20) <= 1 && at[1].abs_diff(45) <= 1);
            }
        }
        eprintln!(
            "two 3-sigma steps: found {:.3}, within one run {:.3}",
            rate(both),
            rate(placed)
        );
        assert!(rate(both) >= 0.99 && rate(placed) >= 0.93);
        let small = (0..draws)
            .filter(|&seed| {
                let values = series(&[(20, 0.0), (20, 2.0)], 1.0, 9000 + seed as u64);
                detect_steps(&values).steps().len() == 1
            })
            .count();
        eprintln!("one 2-sigma step in 40 runs: found {:.3}", rate(small));
        assert!(rate(small) >= 0.95);
    }

    /// A bit-exact metric (deterministic CPU runs) that changed twice: the MAD of its
    /// differences is 0, the fallback noise estimate is not, and both changes are steps.
    #[test]
    fn an_exact_series_steps_at_each_change() {
        let mut values = vec![91.6; 6];
        values.extend([92.4; 5]);
        values.extend([91.0; 4]);
        let fit = detect_steps(&values);
        let at: Vec<usize> = fit.steps().iter().map(|s| s.index).collect();
        assert_eq!(at, [6, 11]);
        assert!(fit.noise > 0.0);
    }

    /// Degenerate series: empty, one value, constant.
    #[test]
    fn short_and_constant_series_have_one_level() {
        assert!(detect_steps(&[]).segments.is_empty());
        assert_eq!(detect_steps(&[3.0]).segments.len(), 1);
        let flat = detect_steps(&[2.5; 10]);
        assert_eq!((flat.segments.len(), flat.noise), (1, 0.0));
        assert_eq!(flat.segments[0].level, 2.5);
    }

    /// Why short series bound the noise from below: with Qn alone, a flat 4-run series shows a
    /// false step far more often than the penalty intends (the rate the documentation quotes).
    #[test]
    fn qn_alone_underestimates_the_noise_of_short_series() {
        let draws = 1000;
        let false_steps = (0..draws)
            .filter(|&seed| {
                let values = series(&[(4, 0.0)], 1.0, seed as u64);
                let diffs: Vec<f64> = values.windows(2).map(|w| w[1] - w[0]).collect();
                let sigma = qn_scale(&diffs) / std::f64::consts::SQRT_2;
                let penalty = PENALTY_FACTOR * sigma * sigma * 4f64.ln();
                sigma > 0.0 && optimal_partition(&values, penalty).len() > 1
            })
            .count();
        let rate = false_steps as f64 / draws as f64;
        eprintln!("4 runs, Qn alone: false steps in {rate:.3}");
        assert!(rate > 0.2, "{rate}");
    }

    /// Three nightly runs of a ratio drifting with the machine (the runtime ratio of Co-Mixup
    /// in three quiet runs of the same code): no step, where Qn alone saw two.
    #[test]
    fn a_short_drifting_series_has_no_step() {
        let values = [2.2213, 1.9841, 1.7004];
        let fit = detect_steps(&values);
        assert_eq!(fit.segments.len(), 1, "{fit:?}");
        let diffs = [values[1] - values[0], values[2] - values[1]];
        let qn = qn_scale(&diffs) / std::f64::consts::SQRT_2;
        let with_qn = optimal_partition(&values, PENALTY_FACTOR * qn * qn * 3f64.ln());
        assert_eq!(with_qn.len(), 3, "Qn alone: {with_qn:?}");
    }

    /// The noise estimate ignores a few real steps: a series with two large steps has the
    /// same estimate, within a fifth, as its noise alone.
    #[test]
    fn the_noise_estimate_is_robust_to_steps() {
        let noisy = series(&[(60, 0.0)], 1.0, 3);
        let stepped: Vec<f64> = noisy
            .iter()
            .enumerate()
            .map(|(i, v)| v + if (20..40).contains(&i) { 50.0 } else { 0.0 })
            .collect();
        let (a, b) = (noise(&noisy), noise(&stepped));
        assert!((a - b).abs() < 0.2 * a, "{a} vs {b}");
    }
}
