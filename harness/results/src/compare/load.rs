//! Reading one side of a comparison: a run folder, or a baseline folder holding copies of a
//! run's files. `summary.csv` is required; the evaluations' run-level CSV files and the
//! cells' `metrics.csv` and `runtime.csv` are read when present.
//!
//! The values are the long-format rows `mixbench history` stores too
//! ([`crate::report::values`], [`crate::evaluations::values`]); a judged metric
//! ([`super::metric::metrics`]) becomes a [`Series`] per group and condition, a time with its
//! repeated measurements (the epochs of `metrics.csv`, the repetitions of the cell's
//! `runtime.csv`) and the runtime ratio with its interval. Declared metrics of the kinds
//! compare does not judge alone (`train_loss_last`, the interval bounds, which come with their
//! ratio) are passed over; a metric the catalogue does not declare is an error naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::cell_files::{cell_metrics, cell_runtime};
use super::metric::{self, Kind};
use super::series::{add, add_timed, Key, Series, Table};
use crate::evaluations::read_values;
use crate::evaluations::runtime::report::{RATIO, RATIO_HI, RATIO_LO};
use crate::evaluations::runtime::rows::phase_seconds;
use crate::records::EpochMetrics;
use crate::report::values::{summary_values, MetricRow};
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
    /// The `metrics.csv` rows of each finished cell whose file the folder holds.
    pub epochs: BTreeMap<String, Vec<EpochMetrics>>,
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
        let mut epochs = BTreeMap::new();
        for row in &done {
            if let Some(rows) = cell_metrics(dir, &row.cell)? {
                epochs.insert(row.cell.clone(), rows);
            }
        }
        let mut values: Vec<MetricRow> = done.iter().flat_map(summary_values).collect();
        values.extend(read_values(dir)?);
        let table = series_of(dir, &values, &epochs)?;
        Ok(RunData {
            dir: dir.to_path_buf(),
            suites,
            done,
            epochs,
            table,
        })
    }
}

/// The column of `metrics.csv` holding a summary time's per-epoch values.
fn per_epoch_column(metric: &str) -> Option<fn(&EpochMetrics) -> f64> {
    match metric {
        "epoch_time_mean" => Some(|m| m.time_epoch),
        "mix_time_mean" => Some(|m| m.time_mix),
        "saliency_time_mean" => Some(|m| m.time_saliency),
        _ => None,
    }
}

/// The series of every judged metric among `values`.
fn series_of(
    dir: &Path,
    values: &[MetricRow],
    epochs: &BTreeMap<String, Vec<EpochMetrics>>,
) -> Result<Table> {
    let mut table = Table::new();
    let mut repetitions = BTreeMap::new();
    for v in values {
        let Some(metric) = metric::find(&v.metric) else {
            if crate::catalogue::find(&v.metric).is_none() {
                bail!(
                    "{}: metric `{}` (cell `{}`) is not in the metric catalogue; `mixbench \
                     metrics` lists the declared ones",
                    dir.display(),
                    v.metric,
                    v.cell
                );
            }
            continue;
        };
        let key = Key::new(metric.name, &v.dataset, &v.model, &v.method)
            .with_condition(v.condition.clone());
        match (metric.kind, per_epoch_column(metric.name)) {
            (Kind::Time, Some(column)) => {
                let per_epoch = epochs
                    .get(&v.cell)
                    .map(|rows| rows.iter().map(column).collect());
                add_timed(&mut table, key, &v.cell, v.value, "epoch", per_epoch);
            }
            (Kind::Time, None) => {
                let Some(phase) = metric.name.strip_prefix("runtime_") else {
                    bail!(
                        "compare: time metric `{}` has neither a metrics.csv column nor a runtime phase",
                        metric.name
                    );
                };
                if !repetitions.contains_key(&v.cell) {
                    repetitions.insert(v.cell.clone(), cell_runtime(dir, &v.cell)?);
                }
                let repeated = repetitions[&v.cell]
                    .as_ref()
                    .map(|rows| phase_seconds(rows, phase));
                add_timed(&mut table, key, &v.cell, v.value, "repeat", repeated);
            }
            (Kind::Ratio, _) => {}
            _ => add(&mut table, key, &v.cell, v.value),
        }
    }
    add_ratios(&mut table, values);
    Ok(table)
}

/// The runtime ratio of each method to Vanilla, with its bootstrap interval: one value pooled
/// over the group's cells, which are those of its epoch times.
fn add_ratios(table: &mut Table, values: &[MetricRow]) {
    let group = |v: &MetricRow| (v.dataset.clone(), v.model.clone(), v.method.clone());
    let bound = |name: &str| -> BTreeMap<_, f64> {
        values
            .iter()
            .filter(|v| v.metric == name)
            .map(|v| (group(v), v.value))
            .collect()
    };
    let (lo, hi) = (bound(RATIO_LO), bound(RATIO_HI));
    for v in values.iter().filter(|v| v.metric == RATIO) {
        let g = group(v);
        let cells = table
            .get(&Key::new("runtime_epoch", &v.dataset, &v.model, &v.method))
            .map(|s| s.cells.clone())
            .unwrap_or_default();
        let series = Series {
            cells,
            per_cell: vec![v.value],
            interval: lo.get(&g).copied().zip(hi.get(&g).copied()),
            ..Series::default()
        };
        table.insert(Key::new(RATIO, &v.dataset, &v.model, &v.method), series);
    }
}
