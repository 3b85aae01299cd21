//! A run's values in long format, one [`MetricRow`] per number: the vocabulary that
//! `mixbench compare` judges and `mixbench history` stores, so a metric has one name
//! everywhere. This module holds the row and the values of `summary.csv`; the evaluations add
//! theirs (`crate::evaluations::values`).

use super::summary::SummaryRow;

pub use crate::metrics::MetricRow;

/// A metric of `summary.csv`: its name and the column holding it.
type SummaryMetric = (&'static str, fn(&SummaryRow) -> Option<f64>);

/// The metrics of a `summary.csv` row, in column order (each named as its column).
const SUMMARY_METRICS: [SummaryMetric; 9] = [
    ("top1_last", |r| r.top1_last),
    ("top1_best", |r| r.top1_best),
    ("top1_median_last10", |r| r.top1_median_last10),
    ("top5_last", |r| r.top5_last),
    ("top5_best", |r| r.top5_best),
    ("train_loss_last", |r| r.train_loss_last),
    ("epoch_time_mean", |r| r.epoch_time_mean),
    ("mix_time_mean", |r| r.mix_time_mean),
    ("saliency_time_mean", |r| r.saliency_time_mean),
];

/// The finite values of a finished (`done`) cell's summary row; none for other cells, whose
/// numbers are partial.
pub fn summary_values(row: &SummaryRow) -> Vec<MetricRow> {
    if !row.is_done() {
        return Vec::new();
    }
    SUMMARY_METRICS
        .iter()
        .filter_map(|(metric, get)| {
            Some(MetricRow {
                cell: row.cell.clone(),
                dataset: row.dataset.clone(),
                model: row.model.clone(),
                method: row.method.clone(),
                seed: row.seed,
                metric: metric.to_string(),
                condition: String::new(),
                value: get(row).filter(|v| v.is_finite())?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values read from `summary.csv` are the metrics the training summary declares.
    #[test]
    fn summary_values_are_the_declared_metrics() {
        let read: Vec<&str> = SUMMARY_METRICS.iter().map(|m| m.0).collect();
        let declared: Vec<&str> = crate::report::SUMMARY_METRICS
            .iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(read, declared);
    }
}
