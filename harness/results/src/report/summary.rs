//! `summary.csv`: one row per cell folder, the raw per-run numbers every aggregate is derived
//! from.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::cells::{Cell, Status};
use super::stats;
use crate::metrics::{MetricDecl, MetricKind};
use crate::records::EpochMetrics;

/// The metrics of a `summary.csv` row (the training summary's part of the metric catalogue,
/// [`crate::metrics`]), in column order, each named as its column.
pub const METRICS: &[MetricDecl] = &[
    MetricDecl::new(
        "top1_last",
        "%",
        MetricKind::Accuracy,
        "test top-1 after the last epoch (summary.csv)",
    ),
    MetricDecl::new(
        "top1_best",
        "%",
        MetricKind::Accuracy,
        "best test top-1 over the epochs (summary.csv)",
    ),
    MetricDecl::new(
        "top1_median_last10",
        "%",
        MetricKind::Accuracy,
        "median test top-1 of the last 10 epochs (summary.csv)",
    ),
    MetricDecl::new(
        "top5_last",
        "%",
        MetricKind::Accuracy,
        "test top-5 after the last epoch (summary.csv)",
    ),
    MetricDecl::new(
        "top5_best",
        "%",
        MetricKind::Accuracy,
        "best test top-5 over the epochs (summary.csv)",
    ),
    MetricDecl::new(
        "train_loss_last",
        "nats",
        MetricKind::Loss,
        "mean training loss of the last epoch (summary.csv)",
    ),
    MetricDecl::new(
        "epoch_time_mean",
        "s",
        MetricKind::Time,
        "mean wall time of an epoch (summary.csv; repeated times from metrics.csv)",
    ),
    MetricDecl::new(
        "mix_time_mean",
        "s",
        MetricKind::Time,
        "mean time per epoch in the mixing method (summary.csv)",
    ),
    MetricDecl::new(
        "saliency_time_mean",
        "s",
        MetricKind::Time,
        "mean time per epoch in the saliency pass (summary.csv)",
    ),
];

/// File name of the per-cell summary, `RUN_DIR/summary.csv`.
///
/// One row per cell folder, in folder-name order, including unfinished and failed cells. The
/// columns are a public interface: new columns go at the end, none is renamed or reordered.
/// A field is empty when its value does not exist (no epochs recorded, no `cell.json`).
///
/// | column | meaning |
/// |--------|---------|
/// | `run` | name of the run directory |
/// | `cell` | cell folder name, `<dataset>-<model>-<method>-s<seed>` |
/// | `status` | `done` (marker written), `failed` (`failed` file, or unreadable files) or `incomplete` |
/// | `suite` | suite name |
/// | `dataset` | dataset label |
/// | `model` | model name |
/// | `method` | method label |
/// | `method_params` | method parameters `key=value`, joined with `;` |
/// | `seed` | training seed |
/// | `epochs_done` | rows in `metrics.csv` |
/// | `top1_last` | test top-1 (%) of the last recorded epoch |
/// | `top1_best` | highest test top-1 (%) over the recorded epochs |
/// | `best_epoch` | epoch (as numbered in `metrics.csv`, from 0) of `top1_best`; the first on ties |
/// | `top1_median_last10` | median test top-1 (%) of the last min(10, n) epochs (mean of the two middle values for an even count) |
/// | `top5_last` | test top-5 (%) of the last recorded epoch |
/// | `top5_best` | highest test top-5 (%) |
/// | `train_loss_last` | mean training loss of the last recorded epoch |
/// | `epoch_time_mean` | mean wall seconds per epoch (`time_epoch`, evaluation included) |
/// | `mix_time_mean` | mean seconds per epoch in the mixing method (`time_mix`) |
/// | `saliency_time_mean` | mean seconds per epoch in the saliency pass (`time_saliency`) |
/// | `config_hash` | hash of the cell's resolved configuration |
/// | `code_version` | mixbench version and commit |
/// | `device` | device the cell ran on |
/// | `libtorch` | libtorch version |
/// | `parameters` | trainable parameters of the model |
/// | `error` | first line of the error of a failed cell (or why its files could not be read) |
pub const SUMMARY_CSV: &str = "summary.csv";

/// Window of the "median of the last epochs" accuracy.
pub(crate) const MEDIAN_WINDOW: usize = 10;

/// One row of `summary.csv`; field order is column order (see [`SUMMARY_CSV`]). Read back by
/// [`read_summary`] (comparisons, the history), columns missing from older files empty.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SummaryRow {
    /// The run folder's name.
    pub run: String,
    /// Cell folder name.
    pub cell: String,
    /// `done`, `failed` or `incomplete`.
    pub status: String,
    /// Suite name.
    pub suite: String,
    /// Dataset label.
    pub dataset: String,
    /// Model name.
    pub model: String,
    /// Method label.
    pub method: String,
    /// Method parameters, `;`-joined.
    pub method_params: String,
    /// Training seed (empty without `cell.json`).
    pub seed: Option<u64>,
    /// Epochs recorded.
    pub epochs_done: usize,
    /// Test top-1 of the last epoch.
    pub top1_last: Option<f64>,
    /// Best test top-1.
    pub top1_best: Option<f64>,
    /// Epoch of the best test top-1 (first on ties).
    pub best_epoch: Option<usize>,
    /// Median test top-1 of the last 10 epochs.
    pub top1_median_last10: Option<f64>,
    /// Test top-5 of the last epoch.
    pub top5_last: Option<f64>,
    /// Best test top-5.
    pub top5_best: Option<f64>,
    /// Training loss of the last epoch.
    pub train_loss_last: Option<f64>,
    /// Mean seconds per epoch.
    pub epoch_time_mean: Option<f64>,
    /// Mean seconds per epoch in the mixing method.
    pub mix_time_mean: Option<f64>,
    /// Mean seconds per epoch in the saliency pass.
    pub saliency_time_mean: Option<f64>,
    /// Configuration hash.
    pub config_hash: String,
    /// mixbench version and commit, `version+commit`.
    pub code_version: String,
    /// Device.
    pub device: String,
    /// libtorch version.
    pub libtorch: String,
    /// Trainable parameters.
    pub parameters: Option<i64>,
    /// First line of a failed cell's error.
    pub error: String,
}

impl SummaryRow {
    /// Whether the row counts towards aggregates and plots.
    pub(crate) fn is_done(&self) -> bool {
        self.status == Status::Done.as_str()
    }
}

/// One row per cell, in the cells' order.
pub(crate) fn summarise(run: &str, cells: &[Cell]) -> Vec<SummaryRow> {
    cells.iter().map(|cell| summary_row(run, cell)).collect()
}

/// The summary row of one cell: its description, then statistics of its metrics.
fn summary_row(run: &str, cell: &Cell) -> SummaryRow {
    let mut row = SummaryRow {
        run: run.to_string(),
        cell: cell.name.clone(),
        status: cell.status.as_str().to_string(),
        error: cell.error.clone().unwrap_or_default(),
        ..SummaryRow::default()
    };
    if let Some(info) = &cell.info {
        row.suite = info.suite.clone();
        row.dataset = info.dataset.clone();
        row.model = info.model.clone();
        row.method = info.method.clone();
        row.method_params = info.method_params.text();
        row.seed = Some(info.seed);
        row.config_hash = info.config_hash.clone();
        row.code_version = info.code_version.clone();
        row.device = info.device.clone();
        row.libtorch = info.libtorch.clone();
        row.parameters = Some(info.parameters);
    }
    fill_metrics(&mut row, &cell.metrics);
    row
}

/// Fills the metric columns from the per-epoch rows (left empty when there are none).
fn fill_metrics(row: &mut SummaryRow, metrics: &[EpochMetrics]) {
    let column = |f: fn(&EpochMetrics) -> f64| metrics.iter().map(f).collect::<Vec<f64>>();
    let top1 = column(|m| m.test_top1);
    let best = best_index(&top1);
    row.epochs_done = metrics.len();
    row.top1_last = top1.last().copied();
    row.top1_best = best.map(|i| top1[i]);
    row.best_epoch = best.map(|i| metrics[i].epoch);
    row.top1_median_last10 = stats::median_of_last(&top1, MEDIAN_WINDOW);
    row.top5_last = metrics.last().map(|m| m.test_top5);
    row.top5_best = stats::min_max(&column(|m| m.test_top5)).map(|(_, hi)| hi);
    row.train_loss_last = metrics.last().map(|m| m.train_loss);
    row.epoch_time_mean = stats::mean(&column(|m| m.time_epoch));
    row.mix_time_mean = stats::mean(&column(|m| m.time_mix));
    row.saliency_time_mean = stats::mean(&column(|m| m.time_saliency));
}

/// Index of the highest value, the first one on ties, ignoring NaN; `None` if there is none.
fn best_index(values: &[f64]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, &v) in values.iter().enumerate() {
        if !v.is_nan() && best.is_none_or(|b| v > values[b]) {
            best = Some(i);
        }
    }
    best
}

/// The rows of `RUN_DIR/summary.csv` (an error names the file and row; see
/// [`summary_file`] for a missing one).
pub fn read_summary(run_dir: &Path) -> Result<Vec<SummaryRow>> {
    crate::records::read_csv(&summary_file(run_dir)?)
}

/// `RUN_DIR/summary.csv`, or an error saying the folder is not a run (or saved baseline) or its
/// report was never built, with the command that builds it.
pub fn summary_file(run_dir: &Path) -> Result<std::path::PathBuf> {
    let summary = run_dir.join(SUMMARY_CSV);
    if !summary.is_file() {
        anyhow::bail!(
            "{}: no {SUMMARY_CSV} (not a run folder or a saved baseline, or its report was never \
             built: `mixbench report {}`)",
            run_dir.display(),
            run_dir.display()
        );
    }
    Ok(summary)
}

/// `summary.csv` as bytes: a header and one record per row.
pub(crate) fn to_csv(rows: &[SummaryRow]) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        writer.write_record(HEADER)?;
    }
    for row in rows {
        writer
            .serialize(row)
            .with_context(|| format!("serialising the summary row of {}", row.cell))?;
    }
    writer.into_inner().context("finishing summary.csv")
}

/// Column names, for a `summary.csv` of a run without cells (serde writes them otherwise).
const HEADER: [&str; 26] = [
    "run",
    "cell",
    "status",
    "suite",
    "dataset",
    "model",
    "method",
    "method_params",
    "seed",
    "epochs_done",
    "top1_last",
    "top1_best",
    "best_epoch",
    "top1_median_last10",
    "top5_last",
    "top5_best",
    "train_loss_last",
    "epoch_time_mean",
    "mix_time_mean",
    "saliency_time_mean",
    "config_hash",
    "code_version",
    "device",
    "libtorch",
    "parameters",
    "error",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_csv_header_matches_serde_header() {
        let with_row = String::from_utf8(to_csv(&[SummaryRow::default()]).unwrap()).unwrap();
        let empty = String::from_utf8(to_csv(&[]).unwrap()).unwrap();
        assert_eq!(with_row.lines().next(), empty.lines().next());
    }

    #[test]
    fn best_index_takes_the_first_of_ties() {
        assert_eq!(best_index(&[1.0, 3.0, 2.0, 3.0]), Some(1));
        assert_eq!(best_index(&[f64::NAN, 2.0, f64::NAN]), Some(1));
        assert_eq!(best_index(&[]), None);
    }
}
