//! Small statistics on plain slices: mean, sample standard deviation, median, confidence
//! half-widths. `None` where the
//! value does not exist (no data, or one value for a standard deviation), so that CSV fields are
//! left empty rather than filled with a made-up number.

use rand::{Rng, SeedableRng};

/// Arithmetic mean; `None` for an empty slice.
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Sample standard deviation (divisor n - 1); `None` for fewer than two values.
pub fn sample_std(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let m = mean(values)?;
    let squares: f64 = values.iter().map(|v| (v - m) * (v - m)).sum();
    Some((squares / (values.len() - 1) as f64).sqrt())
}

/// Median; for an even count, the mean of the two middle values. `None` for an empty slice.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Median of the last `min(window, len)` values, the "median of the last 10 epochs" some
/// papers report.
pub fn median_of_last(values: &[f64], window: usize) -> Option<f64> {
    median(&values[values.len().saturating_sub(window)..])
}

/// Minimum and maximum; `None` for an empty slice.
pub fn min_max(values: &[f64]) -> Option<(f64, f64)> {
    let first = *values.first()?;
    Some(
        values
            .iter()
            .fold((first, first), |(lo, hi), &v| (lo.min(v), hi.max(v))),
    )
}

/// Mean (NaN for an empty slice) and sample standard deviation (`None` for fewer than two
/// values), the "mean ± std over seeds" of the evaluation tables.
pub fn mean_std(values: &[f64]) -> (f64, Option<f64>) {
    (mean(values).unwrap_or(f64::NAN), sample_std(values))
}

/// Mean and 95% confidence half-width `1.96 * s / sqrt(n)`, with `s` the sample standard
/// deviation (`n - 1` in the denominator); the half-width is 0 for a single value and both are
/// NaN for none. The few-shot convention for per-episode accuracies.
pub fn mean_ci95(values: &[f64]) -> (f64, f64) {
    match (mean(values), sample_std(values)) {
        (None, _) => (f64::NAN, f64::NAN),
        (Some(m), None) => (m, 0.0),
        (Some(m), Some(s)) => (m, 1.96 * s / (values.len() as f64).sqrt()),
    }
}

/// The `q`-quantile (`0 <= q <= 1`) with linear interpolation between order statistics
/// (NumPy's default, R's type 7); `None` for an empty slice.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    quantile_sorted(&sorted, q)
}

fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = q.clamp(0.0, 1.0) * last as f64;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    let weight = position - below as f64;
    Some(sorted[below] + weight * (sorted[above] - sorted[below]))
}

/// Median and interquartile range of repeated measurements: `(q1, median, q3)`, `None` for
/// an empty slice.
pub fn quartiles(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some((
        quantile_sorted(&sorted, 0.25)?,
        quantile_sorted(&sorted, 0.5)?,
        quantile_sorted(&sorted, 0.75)?,
    ))
}

/// The ratio of medians `median(a) / median(b)` with a percentile-bootstrap 95% interval:
/// `resamples` times, both samples are redrawn with replacement (from a generator seeded with
/// `seed`, so the interval is reproducible) and the ratio recomputed; the interval is the 2.5th
/// and 97.5th percentiles of those ratios. `None` when a sample is empty.
pub fn bootstrap_ratio_of_medians(
    a: &[f64],
    b: &[f64],
    resamples: usize,
    seed: u64,
) -> Option<(f64, f64, f64)> {
    let ratio = median(a)? / median(b)?;
    // The stream of `mixbench_core::MixRng::seed_from(seed)`, drawn as its `below` draws.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut redraw = |sample: &[f64]| -> f64 {
        let drawn: Vec<f64> = (0..sample.len())
            .map(|_| sample[rng.gen_range(0..sample.len())])
            .collect();
        median(&drawn).unwrap_or(f64::NAN)
    };
    let mut ratios: Vec<f64> = (0..resamples).map(|_| redraw(a) / redraw(b)).collect();
    ratios.sort_by(f64::total_cmp);
    let lo = quantile_sorted(&ratios, 0.025).unwrap_or(ratio);
    let hi = quantile_sorted(&ratios, 0.975).unwrap_or(ratio);
    Some((ratio, lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NumPy: `np.percentile([7, 1, 3, 5, 9], [25, 50, 75])` is `[3, 5, 7]`;
    /// `np.percentile([1, 2, 3, 4], [25, 50, 75])` is `[1.75, 2.5, 3.25]`.
    #[test]
    fn quartiles_match_numpy() {
        assert_eq!(quartiles(&[7.0, 1.0, 3.0, 5.0, 9.0]), Some((3.0, 5.0, 7.0)));
        assert_eq!(quartiles(&[4.0, 2.0, 1.0, 3.0]), Some((1.75, 2.5, 3.25)));
        assert_eq!(quantile(&[2.0], 0.9), Some(2.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    /// With `a = [1, 3]` a resample's median is 1, 2 or 3 with probabilities 1/4, 1/2, 1/4, and
    /// with `b = [1, 1]` always 1: the ratio is 2 and its 95% interval [1, 3]. Constant samples
    /// give a degenerate interval; the interval is reproducible from its seed.
    #[test]
    fn bootstrap_interval_on_a_known_sample() {
        let (ratio, lo, hi) =
            bootstrap_ratio_of_medians(&[1.0, 3.0], &[1.0, 1.0], 4000, 7).unwrap();
        assert_eq!((ratio, lo, hi), (2.0, 1.0, 3.0));
        let same = bootstrap_ratio_of_medians(&[4.0; 5], &[2.0; 3], 500, 1).unwrap();
        assert_eq!(same, (2.0, 2.0, 2.0));
        let a = [1.2, 1.1, 1.3, 1.25, 1.15];
        let b = [1.0, 0.95, 1.05, 1.02, 0.98];
        let first = bootstrap_ratio_of_medians(&a, &b, 1000, 3).unwrap();
        assert_eq!(first, bootstrap_ratio_of_medians(&a, &b, 1000, 3).unwrap());
        assert!(first.1 < first.0 && first.0 < first.2, "{first:?}");
        assert_eq!(bootstrap_ratio_of_medians(&[], &b, 10, 0), None);
    }

    #[test]
    fn median_odd_even_and_window() {
        // Hand-computed: sorted [1, 2, 3] -> 2; [1, 2, 3, 4] -> (2 + 3) / 2.
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        // Last 2 of [9, 1, 5] are [1, 5] -> 3; a window longer than the data takes all.
        assert_eq!(median_of_last(&[9.0, 1.0, 5.0], 2), Some(3.0));
        assert_eq!(median_of_last(&[9.0, 1.0, 5.0], 10), Some(5.0));
    }

    #[test]
    fn mean_and_sample_std() {
        // [1, 3]: mean 2, squared deviations 1 + 1 over n - 1 = 1 -> sqrt(2).
        assert_eq!(mean(&[1.0, 3.0]), Some(2.0));
        assert_eq!(sample_std(&[1.0, 3.0]), Some(2f64.sqrt()));
        assert_eq!(sample_std(&[1.0]), None);
        assert_eq!(mean(&[]), None);
        assert_eq!(min_max(&[2.0, -1.0, 5.0]), Some((-1.0, 5.0)));
    }

    /// Hand computation: values 60, 80, 100, 80 have mean 80 and sample variance
    /// (400 + 0 + 400 + 0) / 3 = 266.67, so the half-width is 1.96 * sqrt(266.67) / 2 = 16.0033.
    #[test]
    fn confidence_interval_matches_a_hand_computation() {
        let (mean, ci) = mean_ci95(&[60.0, 80.0, 100.0, 80.0]);
        assert_eq!(mean, 80.0);
        assert!((ci - 16.003_333).abs() < 1e-5, "{ci}");
        assert_eq!(mean_ci95(&[42.0]), (42.0, 0.0));
    }
}
