//! Run-level calibration outputs, rebuilt from the cells' `calibration.csv` and
//! `calibration-bins.csv` files by `mixbench report` (and after every run):
//!
//! | file | content |
//! |---|---|
//! | `calibration.csv` | one row per (cell, scaling): `cell, dataset, model, method, seed, scaling, temperature, images, fit_images, top1, ece, aece, mce, nll, brier` |
//! | `calibration-methods.csv` | per (dataset, model, method, scaling): `n` seeds, mean and sample std of `temperature`, `top1`, `ece`, `aece`, `mce`, `nll`, `brier`, `cells` |
//! | `calibration-reliability.csv` | per (dataset, model, method, scaling, bin): the bin's edges and its images pooled over the seeds: `count`, `correct`, `accuracy` (`correct / count`), `confidence` (mean) |
//! | `plots/calibration-reliability[-temperature]-<dataset>-<model>.{png,svg}` | the reliability diagram: pooled accuracy against pooled mean confidence per non-empty bin, one line per method, and the diagonal of perfect calibration |

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::rows::{read_cell_bins, read_cell_csv, BinRow, CalibrationRow, Scaling};
use crate::evaluations::collect::collect;
use crate::evaluations::kind::EvaluationResults;
use crate::evaluations::values::{read_file, Rows, Value};
use crate::metrics::{MetricDecl, MetricKind};
use crate::records::{self, csv_bytes, CellInfo};
use crate::report::eval_charts::{write_chart, EvalChart, Line};
use crate::report::order::method_order;
use crate::report::stats::mean_std;
use crate::report::values::MetricRow;
use crate::report::{Section, PLOTS_DIR};

/// The conditions of the calibration metrics.
const CONDITIONS: &str = "none, temperature";

/// The calibration evaluation's metrics (its part of the catalogue, [`crate::metrics`]): the
/// calibration errors in percentage points, lower is better, judged like accuracies; the NLL
/// and Brier score on their own scales, stored and not judged by `mixbench compare`.
pub const METRICS: &[MetricDecl] = &[
    MetricDecl::new(
        "calibration_top1",
        "%",
        MetricKind::Accuracy,
        "top-1 on the images the calibration row scores (calibration.csv)",
    )
    .under(CONDITIONS),
    MetricDecl::new(
        "calibration_ece",
        "%",
        MetricKind::Accuracy,
        "expected calibration error over equal-width bins (calibration.csv)",
    )
    .under(CONDITIONS)
    .lower_is_better(),
    MetricDecl::new(
        "calibration_aece",
        "%",
        MetricKind::Accuracy,
        "expected calibration error over equal-mass bins (calibration.csv)",
    )
    .under(CONDITIONS)
    .lower_is_better(),
    MetricDecl::new(
        "calibration_mce",
        "%",
        MetricKind::Accuracy,
        "maximum calibration error over equal-width bins (calibration.csv)",
    )
    .under(CONDITIONS)
    .lower_is_better(),
    MetricDecl::new(
        "calibration_nll",
        "nats",
        MetricKind::Loss,
        "mean negative log-likelihood of the test labels (calibration.csv)",
    )
    .under(CONDITIONS),
    MetricDecl::new(
        "calibration_brier",
        "",
        MetricKind::Loss,
        "mean Brier score, summed over classes (calibration.csv)",
    )
    .under(CONDITIONS),
];

/// Run-level file with every cell's rows.
pub const RUN_CSV: &str = "calibration.csv";
/// Run-level file with one row per method and scaling.
pub const METHODS_CSV: &str = "calibration-methods.csv";
/// Run-level file with the reliability bins pooled over seeds.
pub const RELIABILITY_CSV: &str = "calibration-reliability.csv";

/// Each metric with the column of [`RUN_CSV`] holding it.
const COLUMNS: [(&str, &str); 6] = [
    ("calibration_top1", "top1"),
    ("calibration_ece", "ece"),
    ("calibration_aece", "aece"),
    ("calibration_mce", "mce"),
    ("calibration_nll", "nll"),
    ("calibration_brier", "brier"),
];

/// The calibration numbers of a run's files, in long format: each metric of [`METRICS`] per
/// cell under the condition of its row's scaling (`none`, `temperature`), from [`RUN_CSV`].
pub fn values(run_dir: &Path) -> Result<Vec<MetricRow>> {
    read_file(run_dir, RUN_CSV, Rows::PerCell, |line| {
        let scaling = line.get("scaling")?;
        Ok(COLUMNS
            .iter()
            .map(|(metric, column)| Value::new(*metric, column).under(scaling.to_string()))
            .collect())
    })
}

/// A row of `calibration.csv`.
#[derive(Serialize)]
struct RunRow<'a> {
    cell: &'a str,
    dataset: &'a str,
    model: &'a str,
    method: &'a str,
    seed: u64,
    scaling: Scaling,
    temperature: f64,
    images: usize,
    fit_images: usize,
    top1: f64,
    ece: f64,
    aece: f64,
    mce: f64,
    nll: f64,
    brier: f64,
}

/// A row of `calibration-methods.csv`.
#[derive(Serialize)]
struct MethodRow {
    dataset: String,
    model: String,
    method: String,
    scaling: Scaling,
    n: usize,
    temperature_mean: f64,
    temperature_std: Option<f64>,
    top1_mean: f64,
    top1_std: Option<f64>,
    ece_mean: f64,
    ece_std: Option<f64>,
    aece_mean: f64,
    aece_std: Option<f64>,
    mce_mean: f64,
    mce_std: Option<f64>,
    nll_mean: f64,
    nll_std: Option<f64>,
    brier_mean: f64,
    brier_std: Option<f64>,
    cells: String,
}

/// A row of `calibration-reliability.csv`: one bin of a method's cells, pooled over seeds.
#[derive(Serialize)]
struct PooledBin {
    dataset: String,
    model: String,
    method: String,
    scaling: Scaling,
    bin: usize,
    lower: f64,
    upper: f64,
    count: usize,
    correct: usize,
    accuracy: Option<f64>,
    confidence: Option<f64>,
}

/// One evaluated cell: its `cell.json` and its rows and bins.
type Evaluated = (CellInfo, (Vec<CalibrationRow>, Vec<BinRow>));

/// The bins of `cells` under `scaling`, pooled by bin position: the images of every cell
/// (seed) together, so counts and correct counts add up and the confidence is the mean over
/// all the images of the bin.
fn pool(
    cells: &[&Evaluated],
    scaling: Scaling,
    (dataset, model, method): (&str, &str, &str),
) -> Vec<PooledBin> {
    let mut pooled: BTreeMap<usize, (f64, f64, usize, usize, f64)> = BTreeMap::new();
    for (_, (_, bins)) in cells {
        for b in bins.iter().filter(|b| b.scaling == scaling) {
            let entry = pooled.entry(b.bin).or_insert((b.lower, b.upper, 0, 0, 0.0));
            entry.2 += b.count;
            entry.3 += b.correct;
            entry.4 += b.confidence.unwrap_or(0.0) * b.count as f64;
        }
    }
    pooled
        .into_iter()
        .map(|(bin, (lower, upper, count, correct, sum))| {
            let n = count as f64;
            PooledBin {
                dataset: dataset.to_string(),
                model: model.to_string(),
                method: method.to_string(),
                scaling,
                bin,
                lower,
                upper,
                count,
                correct,
                accuracy: (count > 0).then(|| correct as f64 / n),
                confidence: (count > 0).then(|| sum / n),
            }
        })
        .collect()
}

/// The reliability diagram's line of one method: (confidence, accuracy) of each non-empty
/// pooled bin, in confidence order.
fn reliability_line(method: &str, bins: &[PooledBin]) -> Line {
    let mut points: Vec<(f64, f64)> = bins
        .iter()
        .filter_map(|b| Some((b.confidence?, b.accuracy?)))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    Line {
        label: method.to_string(),
        points,
    }
}

/// Mean and sample std over the rows (seeds) of one column.
fn column(rows: &[&CalibrationRow], value: impl Fn(&CalibrationRow) -> f64) -> (f64, Option<f64>) {
    mean_std(&rows.iter().map(|r| value(r)).collect::<Vec<_>>())
}

/// `mean ± std` (or the mean alone, for one seed) with `digits` decimals.
fn fmt((mean, std): (f64, Option<f64>), digits: usize) -> String {
    match std {
        Some(s) => format!("{mean:.digits$} ± {s:.digits$}"),
        None => format!("{mean:.digits$}"),
    }
}

/// Writes the run-level calibration files and plots; returns the `report.md` section and the
/// plots written, or `None` when no cell has calibration results.
pub fn build(run_dir: &Path, kind: &dyn EvaluationResults) -> Result<Option<Section>> {
    let collected = collect(run_dir, kind, |dir| {
        Ok((read_cell_csv(dir)?, read_cell_bins(dir)?))
    })?;
    if collected.is_empty() {
        return Ok(None);
    }
    let run_rows = collected.cells.iter().flat_map(|(info, (rows, _))| {
        rows.iter().map(move |r| RunRow {
            cell: &info.cell,
            dataset: &info.dataset,
            model: &info.model,
            method: &info.method,
            seed: info.seed,
            scaling: r.scaling,
            temperature: r.temperature,
            images: r.images,
            fit_images: r.fit_images,
            top1: r.top1,
            ece: r.ece,
            aece: r.aece,
            mce: r.mce,
            nll: r.nll,
            brier: r.brier,
        })
    });
    records::write_atomic(&run_dir.join(RUN_CSV), &csv_bytes(run_rows)?)?;

    let mut md = String::from("## Calibration\n\n");
    let _ = writeln!(
        md,
        "How far each cell's confidence (its largest softmax probability) is from its accuracy \
         on the test split, mean ± std over seeds. ECE: expected calibration error over \
         equal-width confidence bins; aECE: the same over equal-mass bins; MCE: the largest gap \
         of an equal-width bin (all three in percentage points); NLL: mean negative \
         log-likelihood of the label (nats); Brier: mean squared distance of the probabilities \
         to the one-hot label, summed over classes. Lower is better for all but top-1. With \
         temperature scaling, a temperature T (minimum NLL) is fitted on a held-out part of the \
         evaluated images, and both groups of columns score the other images (\"images\"), \
         before and after dividing the logits by T. Definitions: `docs/calibration.md`. Raw \
         numbers: `{RUN_CSV}` (per cell), `{METHODS_CSV}`, `{RELIABILITY_CSV}` (reliability \
         bins pooled over seeds).\n"
    );
    let mut method_rows = Vec::new();
    let mut pooled_rows = Vec::new();
    let mut plots = Vec::new();
    let plot_dir = run_dir.join(PLOTS_DIR);
    for ((dataset, model), members) in &collected.by_dataset_model() {
        let order = method_order(members.iter().map(|c| c.0.method.as_str()));
        let scalings: Vec<Scaling> = [Scaling::Unscaled, Scaling::Temperature]
            .into_iter()
            .filter(|s| {
                members
                    .iter()
                    .any(|c| c.1 .0.iter().any(|r| r.scaling == *s))
            })
            .collect();
        let _ = writeln!(md, "### {dataset} / {model}\n");
        let mut header = String::from("| method | n | images |");
        for scaling in &scalings {
            header.push_str(match scaling {
                Scaling::Unscaled => " top-1 | ECE | aECE | MCE | NLL | Brier |",
                Scaling::Temperature => " T | ECE (T) | aECE (T) | MCE (T) | NLL (T) | Brier (T) |",
            });
        }
        let _ = writeln!(
            md,
            "{header}\n|---|---:|---:|{}",
            "---:|".repeat(6 * scalings.len())
        );
        let mut lines: BTreeMap<Scaling, Vec<Line>> = BTreeMap::new();
        for method in &order {
            let of: Vec<&Evaluated> = members
                .iter()
                .copied()
                .filter(|c| &c.0.method == method)
                .collect();
            let images: BTreeSet<usize> = of
                .iter()
                .flat_map(|c| c.1 .0.iter().map(|r| r.images))
                .collect();
            let images: Vec<String> = images.iter().map(|i| i.to_string()).collect();
            let mut table = format!("| {method} | {} | {} |", of.len(), images.join("/"));
            for &scaling in &scalings {
                let scored: Vec<&Evaluated> = of
                    .iter()
                    .copied()
                    .filter(|c| c.1 .0.iter().any(|r| r.scaling == scaling))
                    .collect();
                let rows: Vec<&CalibrationRow> = scored
                    .iter()
                    .flat_map(|c| c.1 .0.iter().filter(|r| r.scaling == scaling))
                    .collect();
                if rows.is_empty() {
                    table.push_str(&" - |".repeat(6));
                    continue;
                }
                let [t, top1, ece, aece, mce, nll, brier] = [
                    column(&rows, |r| r.temperature),
                    column(&rows, |r| r.top1),
                    column(&rows, |r| r.ece),
                    column(&rows, |r| r.aece),
                    column(&rows, |r| r.mce),
                    column(&rows, |r| r.nll),
                    column(&rows, |r| r.brier),
                ];
                let first = match scaling {
                    Scaling::Unscaled => fmt(top1, 2),
                    Scaling::Temperature => fmt(t, 3),
                };
                let _ = write!(
                    table,
                    " {first} | {} | {} | {} | {} | {} |",
                    fmt(ece, 2),
                    fmt(aece, 2),
                    fmt(mce, 2),
                    fmt(nll, 3),
                    fmt(brier, 3)
                );
                method_rows.push(MethodRow {
                    dataset: dataset.clone(),
                    model: model.clone(),
                    method: method.clone(),
                    scaling,
                    n: rows.len(),
                    temperature_mean: t.0,
                    temperature_std: t.1,
                    top1_mean: top1.0,
                    top1_std: top1.1,
                    ece_mean: ece.0,
                    ece_std: ece.1,
                    aece_mean: aece.0,
                    aece_std: aece.1,
                    mce_mean: mce.0,
                    mce_std: mce.1,
                    nll_mean: nll.0,
                    nll_std: nll.1,
                    brier_mean: brier.0,
                    brier_std: brier.1,
                    cells: scored
                        .iter()
                        .map(|c| c.0.cell.as_str())
                        .collect::<Vec<_>>()
                        .join(";"),
                });
                let pooled = pool(&scored, scaling, (dataset, model, method));
                lines
                    .entry(scaling)
                    .or_default()
                    .push(reliability_line(method, &pooled));
                pooled_rows.extend(pooled);
            }
            let _ = writeln!(md, "{table}");
        }
        md.push('\n');
        let stem = crate::report::sanitise(&format!("{dataset}-{model}"));
        for (scaling, mut lines) in lines {
            // Last, so that each method keeps the colour it has in the other charts.
            lines.push(Line {
                label: "perfect calibration".into(),
                points: vec![(0.0, 0.0), (1.0, 1.0)],
            });
            let (name, what) = match scaling {
                Scaling::Unscaled => (format!("calibration-reliability-{stem}"), "T = 1"),
                Scaling::Temperature => (
                    format!("calibration-reliability-temperature-{stem}"),
                    "temperature-scaled",
                ),
            };
            plots.extend(write_chart(
                &plot_dir,
                &name,
                &EvalChart::Lines {
                    lines: &lines,
                    axes: ("mean confidence of the bin", "accuracy of the bin"),
                },
                &format!("Reliability, {dataset} / {model} ({what}; images pooled over seeds)"),
            )?);
            let _ = writeln!(md, "![calibration reliability]({PLOTS_DIR}/{name}.png)\n");
        }
    }
    records::write_atomic(&run_dir.join(METHODS_CSV), &csv_bytes(&method_rows)?)?;
    records::write_atomic(&run_dir.join(RELIABILITY_CSV), &csv_bytes(&pooled_rows)?)?;
    md.push_str(
        &collected.problems_markdown("Calibration evaluations that failed or cannot be read"),
    );
    Ok(Some(Section {
        markdown: md,
        plots,
        verdicts: false,
    }))
}
