//! A run's values in long format, one [`MetricRow`] per number: the vocabulary that
//! `mixbench compare` judges and `mixbench history` stores, so a metric has one name
//! everywhere. This module holds the row and the values of `summary.csv`; the evaluations add
//! theirs (`crate::evaluations::values`).

use super::summary::SummaryRow;

/// One value: what was measured on which cell, under which condition.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricRow {
    /// Cell name; empty for a value of a method as a whole (the runtime ratio).
    pub cell: String,
    /// Dataset label.
    pub dataset: String,
    /// Model name.
    pub model: String,
    /// Method label.
    pub method: String,
    /// Seed; `None` for a value of a method as a whole.
    pub seed: Option<u64>,
    /// Metric name, e.g. `top1_last`, `robustness_top1`, `runtime_epoch`.
    pub metric: String,
    /// What the value was measured under, e.g. `noise:0.1`, `5way-1shot`, a background
    /// variant; empty when the metric has one value per cell.
    pub condition: String,
    /// The value (finite).
    pub value: f64,
}

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
