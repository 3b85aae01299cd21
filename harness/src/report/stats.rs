//! Small statistics on plain slices: mean, sample standard deviation, median, confidence
//! half-widths. `None` where the
//! value does not exist (no data, or one value for a standard deviation), so that CSV fields are
//! left empty rather than filled with a made-up number.

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

#[cfg(test)]
mod tests {
    use super::*;

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
