//! The evaluations' run-level CSV files, read into series when a folder has them:
//! `robustness-cells.csv` (clean and average robust top-1), `robustness.csv` (top-1 per
//! perturbation and level), `fewshot.csv` (mean episode accuracy per N-way K-shot),
//! `background.csv` (top-1 per variant), `background-cells.csv` (BG-Gap), `runtime.csv` (per-cell phase medians,
//! with each cell's repetitions from `cells/<cell>/runtime.csv` when present) and
//! `runtime-methods.csv` (the ratio to Vanilla with its bootstrap interval).
//!
//! Every value is per cell (per seed); few-shot episodes are averaged within the cell, so the
//! unit of the test is the training seed, as for the other accuracies.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::cell_files::cell_runtime;
use super::metric;
use super::series::{add, add_timed, Key, Series, Table};
use crate::evaluations::runtime::rows::phase_seconds;
use crate::evaluations::{background, fewshot, robustness, runtime};
use crate::records;

/// Declares a row type of an evaluation file: the columns naming the cell and its group,
/// then the given ones (other columns are ignored).
macro_rules! row {
    ($name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        #[derive(Deserialize)]
        struct $name {
            cell: String,
            dataset: String,
            model: String,
            method: String,
            $($field: $ty),*
        }

        impl $name {
            fn key(&self, metric: &'static str) -> Key {
                Key::new(metric, &self.dataset, &self.model, &self.method)
            }
        }
    };
}

row!(RobustnessCellRow {
    clean_top1: f64,
    robust_top1: f64
});
row!(RobustnessRunRow {
    corruption: String,
    level: f64,
    top1: f64
});
row!(FewshotRunRow {
    ways: usize,
    shots: usize,
    mean: f64
});
row!(BackgroundRunRow {
    variant: String,
    top1: f64
});
row!(BackgroundCellRow { bg_gap: Option<f64> });
row!(RuntimeRunRow {
    phase: String,
    median: f64
});

/// A row of `runtime-methods.csv`.
#[derive(Deserialize)]
struct RuntimeMethodRow {
    dataset: String,
    model: String,
    method: String,
    ratio: Option<f64>,
    ratio_lo: Option<f64>,
    ratio_hi: Option<f64>,
}

/// The rows of `dir/name`, or none when the file is absent.
fn rows<T: DeserializeOwned>(dir: &Path, name: &str) -> Result<Vec<T>> {
    let path = dir.join(name);
    if path.is_file() {
        records::read_csv(&path)
    } else {
        Ok(Vec::new())
    }
}

/// Adds the series of every evaluation file `dir` holds.
pub fn add_evaluations(table: &mut Table, dir: &Path) -> Result<()> {
    for r in rows::<RobustnessCellRow>(dir, robustness::report::CELLS_CSV)? {
        add(table, r.key("clean_top1"), &r.cell, r.clean_top1);
        add(table, r.key("robust_top1"), &r.cell, r.robust_top1);
    }
    for r in rows::<RobustnessRunRow>(dir, robustness::report::RUN_CSV)? {
        if r.corruption != "clean" {
            let key = r
                .key("robustness_top1")
                .with_condition(format!("{} {}", r.corruption, r.level));
            add(table, key, &r.cell, r.top1);
        }
    }
    for r in rows::<FewshotRunRow>(dir, fewshot::report::RUN_CSV)? {
        let key = r
            .key("fewshot_accuracy")
            .with_condition(format!("{}-way {}-shot", r.ways, r.shots));
        add(table, key, &r.cell, r.mean);
    }
    add_background(table, dir)?;
    add_runtime(table, dir)
}

/// `background.csv` (top-1 per variant, the challenge among them) and `background-cells.csv`
/// (the BG-Gap).
fn add_background(table: &mut Table, dir: &Path) -> Result<()> {
    for r in rows::<BackgroundRunRow>(dir, background::report::RUN_CSV)? {
        let key = r.key("background_top1").with_condition(r.variant.clone());
        add(table, key, &r.cell, r.top1);
    }
    for r in rows::<BackgroundCellRow>(dir, background::report::CELLS_CSV)? {
        if let Some(gap) = r.bg_gap.filter(|v| v.is_finite()) {
            add(table, r.key("bg_gap"), &r.cell, gap);
        }
    }
    Ok(())
}

/// `runtime.csv` (a value per cell and phase, with the cell's repetitions when its
/// `runtime.csv` is there) and `runtime-methods.csv` (ratios).
fn add_runtime(table: &mut Table, dir: &Path) -> Result<()> {
    let mut repeats = BTreeMap::new();
    for r in rows::<RuntimeRunRow>(dir, runtime::report::RUN_CSV)? {
        let Some(metric) = metric::find(&format!("runtime_{}", r.phase)) else {
            continue;
        };
        if !repeats.contains_key(&r.cell) {
            repeats.insert(r.cell.clone(), cell_runtime(dir, &r.cell)?);
        }
        let repeated = repeats[&r.cell]
            .as_ref()
            .map(|rows| phase_seconds(rows, &r.phase));
        let key = r.key(metric.name);
        add_timed(table, key, &r.cell, r.median, "repeat", repeated);
    }
    for r in rows::<RuntimeMethodRow>(dir, runtime::report::METHODS_CSV)? {
        let Some(ratio) = r.ratio.filter(|v| v.is_finite()) else {
            continue;
        };
        let key = Key::new("runtime_ratio", &r.dataset, &r.model, &r.method);
        // The ratio pools the group's cells: they are those of its epoch times.
        let cells = table
            .get(&Key::new("runtime_epoch", &r.dataset, &r.model, &r.method))
            .map(|s| s.cells.clone())
            .unwrap_or_default();
        let series = Series {
            cells,
            per_cell: vec![ratio],
            interval: r.ratio_lo.zip(r.ratio_hi),
            ..Series::default()
        };
        table.insert(key, series);
    }
    Ok(())
}
