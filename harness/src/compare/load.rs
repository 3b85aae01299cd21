//! Reading one side of a comparison: a run folder, or a baseline folder holding copies of a
//! run's files. `summary.csv` is required; the evaluations' run-level CSV files and the
//! cells' `metrics.csv` and `runtime.csv` are read when present (see
//! [`super::load_evals`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::cell_files::cell_metrics;
use super::load_evals;
use super::series::{add, add_timed, Key, Table};
use crate::records::EpochMetrics;
use crate::report::{read_summary, SummaryRow};

/// One side of a comparison.
#[derive(Clone, Debug)]
pub struct RunData {
    /// The folder.
    pub dir: PathBuf,
    /// Suite names in `summary.csv`.
    pub suites: BTreeSet<String>,
    /// The finished (`done`) cells' rows of `summary.csv`.
    pub done: Vec<SummaryRow>,
    /// Every metric's series.
    pub table: Table,
}

impl RunData {
    /// Reads a run (or baseline) folder.
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            bail!("{}: no such folder", dir.display());
        }
        let rows = read_summary(dir)?;
        let suites = rows.iter().map(|r| r.suite.clone()).collect();
        let done: Vec<SummaryRow> = rows.into_iter().filter(SummaryRow::is_done).collect();
        let mut table = Table::new();
        for row in &done {
            add_summary(&mut table, dir, row)?;
        }
        load_evals::add_evaluations(&mut table, dir)?;
        Ok(RunData {
            dir: dir.to_path_buf(),
            suites,
            done,
            table,
        })
    }
}

/// The accuracies of a finished cell's summary row, and its training times with their
/// per-epoch values when its `metrics.csv` is there.
fn add_summary(table: &mut Table, dir: &Path, row: &SummaryRow) -> Result<()> {
    let key = |metric| Key::new(metric, &row.dataset, &row.model, &row.method);
    let accuracies = [
        ("top1_last", row.top1_last),
        ("top1_best", row.top1_best),
        ("top1_median_last10", row.top1_median_last10),
        ("top5_last", row.top5_last),
    ];
    for (metric, value) in accuracies {
        if let Some(v) = value.filter(|v| v.is_finite()) {
            add(table, key(metric), &row.cell, v);
        }
    }
    let epochs = cell_metrics(dir, &row.cell)?;
    let column = |f: fn(&EpochMetrics) -> f64| {
        epochs
            .as_ref()
            .map(|rows| rows.iter().map(f).collect::<Vec<f64>>())
    };
    let times = [
        (
            "epoch_time",
            row.epoch_time_mean,
            column(|m: &EpochMetrics| m.time_epoch),
        ),
        ("mix_time", row.mix_time_mean, column(|m| m.time_mix)),
        (
            "saliency_time",
            row.saliency_time_mean,
            column(|m| m.time_saliency),
        ),
    ];
    for (metric, value, per_epoch) in times {
        if let Some(v) = value.filter(|v| v.is_finite()) {
            add_timed(table, key(metric), &row.cell, v, "epoch", per_epoch);
        }
    }
    Ok(())
}
