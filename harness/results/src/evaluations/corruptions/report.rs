//! Run-level corruption outputs, rebuilt from the cells' `corruptions.csv` files by `mixbench
//! report` (and after every run):
//!
//! | file | content |
//! |---|---|
//! | `corruptions.csv` | one row per (cell, corruption, severity): `cell, dataset, model, method, seed, corruption, severity, constants, benchmark, top1, images, generation_seconds, seconds` |
//! | `corruptions-cells.csv` | one row per cell: `clean_top1, mean_top1` (benchmark corruptions), `extra_mean_top1`, `mce`, `relative_mce` (Vanilla = 100) |
//! | `corruptions-methods.csv` | per (dataset, model, method): `n` seeds, mean and sample std of each score, `cells` |
//! | `plots/corruptions-severity-<dataset>-<model>.{png,svg}` | top-1 against severity (mean over the benchmark corruptions), clean at 0, one line per method |
//! | `plots/corruptions-grid-<dataset>.png` | one test image under every corruption and severity |
//!
//! The scores are defined in [`super::scores`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::rows::{read_cell_csv, CorruptionRow, CLEAN, GRID_PNG};
use super::scores::{scores, Errors, Scores};
use crate::evaluations::collect::collect;
use crate::evaluations::kind::EvaluationResults;
use crate::evaluations::values::{read_file, Rows, Value};
use crate::metrics::{MetricDecl, MetricKind};
use crate::records::{self, csv_bytes, CellInfo};
use crate::report::eval_charts::{write_chart, EvalChart, Line};
use crate::report::order::{method_order, BASELINE_METHOD};
use crate::report::stats::mean_std;
use crate::report::values::MetricRow;
use crate::report::{mean_std_text, Section, PLOTS_DIR};

/// The corruptions evaluation's metrics (its part of the catalogue, [`crate::metrics`]).
pub const METRICS: &[MetricDecl] = &[
    MetricDecl::new(
        "corruption_top1",
        "%",
        MetricKind::Accuracy,
        "test top-1 per corruption and severity, generated natively (corruptions.csv)",
    )
    .under("clean, <corruption>:<severity>"),
    MetricDecl::new(
        "corruption_mean_top1",
        "%",
        MetricKind::Accuracy,
        "mean top-1 over the benchmark corruptions and severities (corruptions-cells.csv)",
    ),
    MetricDecl::new(
        "corruption_mce",
        "%",
        MetricKind::Accuracy,
        "mean corruption error, Vanilla's errors = 100 (corruptions-cells.csv)",
    )
    .lower_is_better(),
    MetricDecl::new(
        "corruption_relative_mce",
        "%",
        MetricKind::Accuracy,
        "relative mCE: accuracy lost to corruptions, Vanilla's losses = 100 (corruptions-cells.csv)",
    )
    .lower_is_better(),
];

/// Run-level file with every cell's rows.
pub const RUN_CSV: &str = "corruptions.csv";
/// Run-level file with one row per cell.
pub const CELLS_CSV: &str = "corruptions-cells.csv";
/// Run-level file with one row per method.
pub const METHODS_CSV: &str = "corruptions-methods.csv";

/// The corruption numbers of a run's files, in long format: `corruption_top1` per cell under
/// `clean` or `<corruption>:<severity>` from [`RUN_CSV`], and the per-cell scores from
/// [`CELLS_CSV`] (an empty mCE, when the run has no Vanilla, is no value).
pub fn values(run_dir: &Path) -> Result<Vec<MetricRow>> {
    let mut rows = read_file(run_dir, RUN_CSV, Rows::PerCell, |line| {
        let corruption = line.get("corruption")?;
        let condition = if corruption == CLEAN {
            CLEAN.to_string()
        } else {
            format!("{corruption}:{}", line.get("severity")?)
        };
        Ok(vec![Value::new("corruption_top1", "top1").under(condition)])
    })?;
    rows.extend(read_file(run_dir, CELLS_CSV, Rows::PerCell, |_| {
        Ok(vec![
            Value::new("corruption_mean_top1", "mean_top1"),
            Value::new("corruption_mce", "mce"),
            Value::new("corruption_relative_mce", "relative_mce"),
        ])
    })?);
    Ok(rows)
}

/// A row of `corruptions.csv`.
#[derive(Serialize)]
struct RunRow<'a> {
    cell: &'a str,
    dataset: &'a str,
    model: &'a str,
    method: &'a str,
    seed: u64,
    corruption: &'a str,
    severity: usize,
    constants: &'a str,
    benchmark: bool,
    top1: f64,
    images: usize,
    generation_seconds: f64,
    seconds: f64,
}

/// A row of `corruptions-cells.csv`.
#[derive(Serialize)]
struct CellRow<'a> {
    cell: &'a str,
    dataset: &'a str,
    model: &'a str,
    method: &'a str,
    seed: u64,
    clean_top1: Option<f64>,
    mean_top1: Option<f64>,
    extra_mean_top1: Option<f64>,
    mce: Option<f64>,
    relative_mce: Option<f64>,
}

/// A row of `corruptions-methods.csv`.
#[derive(Serialize)]
struct MethodRow {
    dataset: String,
    model: String,
    method: String,
    n: usize,
    clean_top1_mean: Option<f64>,
    clean_top1_std: Option<f64>,
    mean_top1_mean: Option<f64>,
    mean_top1_std: Option<f64>,
    mce_mean: Option<f64>,
    mce_std: Option<f64>,
    relative_mce_mean: Option<f64>,
    relative_mce_std: Option<f64>,
    cells: String,
}

/// One evaluated cell with its scores.
struct Scored<'a> {
    info: &'a CellInfo,
    rows: &'a [CorruptionRow],
    scores: Scores,
}

impl Scored<'_> {
    fn clean(&self) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.corruption == CLEAN)
            .map(|r| r.top1)
    }
}

/// Mean and sample std of the values present.
fn spread(values: impl IntoIterator<Item = Option<f64>>) -> (Option<f64>, Option<f64>) {
    let v: Vec<f64> = values.into_iter().flatten().collect();
    if v.is_empty() {
        (None, None)
    } else {
        let (m, s) = mean_std(&v);
        (Some(m), s)
    }
}

/// Writes the run-level corruption files and plots; returns the `report.md` section, or
/// `None` when no cell has corruption results.
pub fn build(run_dir: &Path, kind: &dyn EvaluationResults) -> Result<Option<Section>> {
    let collected = collect(run_dir, kind, read_cell_csv)?;
    if collected.is_empty() {
        return Ok(None);
    }
    let run_rows = collected.cells.iter().flat_map(|(info, rows)| {
        rows.iter().map(move |r| RunRow {
            cell: &info.cell,
            dataset: &info.dataset,
            model: &info.model,
            method: &info.method,
            seed: info.seed,
            corruption: &r.corruption,
            severity: r.severity,
            constants: &r.constants,
            benchmark: r.benchmark,
            top1: r.top1,
            images: r.images,
            generation_seconds: r.generation_seconds,
            seconds: r.seconds,
        })
    });
    records::write_atomic(&run_dir.join(RUN_CSV), &csv_bytes(run_rows)?)?;

    let groups = collected.by_dataset_model();
    let mut scored: BTreeMap<(String, String), Vec<Scored>> = BTreeMap::new();
    for (key, members) in &groups {
        let vanilla: Vec<&[CorruptionRow]> = members
            .iter()
            .filter(|(info, _)| info.method == BASELINE_METHOD)
            .map(|(_, rows)| rows.as_slice())
            .collect();
        let vanilla = (!vanilla.is_empty()).then(|| Errors::mean_of(&vanilla));
        scored.insert(
            key.clone(),
            members
                .iter()
                .map(|(info, rows)| Scored {
                    info,
                    rows,
                    scores: scores(&Errors::of(rows), vanilla.as_ref()),
                })
                .collect(),
        );
    }
    let cell_rows = scored.values().flatten().map(|c| CellRow {
        cell: &c.info.cell,
        dataset: &c.info.dataset,
        model: &c.info.model,
        method: &c.info.method,
        seed: c.info.seed,
        clean_top1: c.clean(),
        mean_top1: c.scores.mean_top1,
        extra_mean_top1: c.scores.extra_mean_top1,
        mce: c.scores.mce,
        relative_mce: c.scores.relative_mce,
    });
    records::write_atomic(&run_dir.join(CELLS_CSV), &csv_bytes(cell_rows)?)?;

    let (generation, evaluation) = collected
        .cells
        .iter()
        .flat_map(|(_, rows)| rows.iter())
        .fold((0.0, 0.0), |(g, e), r| {
            (g + r.generation_seconds, e + r.seconds)
        });
    let evaluated: BTreeSet<(&str, bool)> = collected
        .cells
        .iter()
        .flat_map(|(_, rows)| rows.iter())
        .filter(|r| r.corruption != CLEAN)
        .map(|r| (r.corruption.as_str(), r.benchmark))
        .collect();
    let benchmark_count = evaluated.iter().filter(|(_, benchmark)| *benchmark).count();
    let extra_count = evaluated.len() - benchmark_count;
    let mut md = String::from("## Corruptions\n\n");
    let _ = writeln!(
        md,
        "Top-1 (%) of each trained cell on its test split under the common corruptions of \
         CIFAR-10-C / ImageNet-C, generated by mixbench from the split itself (seeded: every \
         method sees the same corrupted images), mean ± std over seeds. \"mean\" averages the \
         benchmark corruptions evaluated ({benchmark_count} of the 15) over the severities \
         evaluated, \"extra\" the held-out ones ({extra_count} of the 4); mCE and relative mCE are percentages of Vanilla's errors and of Vanilla's \
         accuracy losses (Vanilla = 100; lower is better; empty without Vanilla). Generating \
         the corrupted images took {generation:.1} s in all, evaluating them {evaluation:.1} \
         s. Raw numbers: `{RUN_CSV}`, `{CELLS_CSV}`, `{METHODS_CSV}`.\n"
    );
    let plot_dir = run_dir.join(PLOTS_DIR);
    let mut plots = Vec::new();
    let mut method_rows = Vec::new();
    let mut grids_done = Vec::new();
    for ((dataset, model), members) in &scored {
        let order = method_order(members.iter().map(|c| c.info.method.as_str()));
        let _ = writeln!(md, "### {dataset} / {model}\n");
        let _ = writeln!(
            md,
            "| method | n | clean | mean | mCE | relative mCE | extra |\n|---|---:|---:|---:|---:|---:|---:|"
        );
        let mut corruption_names: Vec<&str> = Vec::new();
        for c in members {
            for r in c.rows {
                if r.corruption != CLEAN && !corruption_names.contains(&r.corruption.as_str()) {
                    corruption_names.push(&r.corruption);
                }
            }
        }
        let mut per_corruption = String::new();
        let _ = writeln!(
            per_corruption,
            "| method | {} |\n|---|{}",
            corruption_names.join(" | "),
            "---:|".repeat(corruption_names.len())
        );
        let mut lines = Vec::new();
        for method in &order {
            let of: Vec<&Scored> = members
                .iter()
                .filter(|c| &c.info.method == method)
                .collect();
            let clean = spread(of.iter().map(|c| c.clean()));
            let mean = spread(of.iter().map(|c| c.scores.mean_top1));
            let mce = spread(of.iter().map(|c| c.scores.mce));
            let rmce = spread(of.iter().map(|c| c.scores.relative_mce));
            let extra = spread(of.iter().map(|c| c.scores.extra_mean_top1));
            let _ = writeln!(
                md,
                "| {method} | {} | {} | {} | {} | {} | {} |",
                of.len(),
                mean_std_text(clean.0, clean.1, 2),
                mean_std_text(mean.0, mean.1, 2),
                mean_std_text(mce.0, mce.1, 2),
                mean_std_text(rmce.0, rmce.1, 2),
                mean_std_text(extra.0, extra.1, 2),
            );
            let by_corruption: Vec<String> = corruption_names
                .iter()
                .map(|name| {
                    let per_cell = of.iter().filter_map(|c| {
                        let v: Vec<f64> = c
                            .rows
                            .iter()
                            .filter(|r| r.corruption == *name)
                            .map(|r| r.top1)
                            .collect();
                        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
                    });
                    spread(per_cell.map(Some))
                        .0
                        .map_or("-".into(), |v| format!("{v:.1}"))
                })
                .collect();
            let _ = writeln!(
                per_corruption,
                "| {method} | {} |",
                by_corruption.join(" | ")
            );
            let mut points: Vec<(f64, f64)> = clean.0.map(|c| (0.0, c)).into_iter().collect();
            for severity in 1..=5 {
                let per_cell = of.iter().filter_map(|c| {
                    let v: Vec<f64> = c
                        .rows
                        .iter()
                        .filter(|r| r.benchmark && r.severity == severity)
                        .map(|r| r.top1)
                        .collect();
                    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
                });
                if let (Some(m), _) = spread(per_cell.map(Some)) {
                    points.push((severity as f64, m));
                }
            }
            lines.push(Line {
                label: method.clone(),
                points,
            });
            method_rows.push(MethodRow {
                dataset: dataset.clone(),
                model: model.clone(),
                method: method.clone(),
                n: of.len(),
                clean_top1_mean: clean.0,
                clean_top1_std: clean.1,
                mean_top1_mean: mean.0,
                mean_top1_std: mean.1,
                mce_mean: mce.0,
                mce_std: mce.1,
                relative_mce_mean: rmce.0,
                relative_mce_std: rmce.1,
                cells: of
                    .iter()
                    .map(|c| c.info.cell.as_str())
                    .collect::<Vec<_>>()
                    .join(";"),
            });
        }
        let _ = writeln!(
            md,
            "\nTop-1 per corruption (mean over severities and seeds):\n\n{per_corruption}"
        );
        let stem = crate::report::sanitise(&format!("{dataset}-{model}"));
        let name = format!("corruptions-severity-{stem}");
        plots.extend(write_chart(
            &plot_dir,
            &name,
            &EvalChart::Lines {
                lines: &lines,
                axes: (
                    "severity (mean over the benchmark corruptions; 0: clean)",
                    "top-1 (%)",
                ),
            },
            &format!("Top-1 under corruptions, {dataset} / {model} (mean over seeds)"),
        )?);
        let _ = writeln!(md, "![corruptions by severity]({PLOTS_DIR}/{name}.png)\n");
        if !grids_done.contains(dataset) {
            if let Some(grid) = members
                .iter()
                .map(|c| {
                    run_dir
                        .join(records::CELLS_DIR)
                        .join(&c.info.cell)
                        .join(GRID_PNG)
                })
                .find(|p| p.exists())
            {
                let name = format!("corruptions-grid-{}.png", crate::report::sanitise(dataset));
                let target = plot_dir.join(&name);
                let bytes =
                    std::fs::read(&grid).with_context(|| format!("reading {}", grid.display()))?;
                records::write_atomic(&target, &bytes)?;
                let _ = writeln!(
                    md,
                    "One test image of {dataset} under every corruption (rows) and severity \
                     (columns 1-5, the clean image first):\n\n![corruption grid]({PLOTS_DIR}/{name})\n"
                );
                plots.push(target);
            }
            grids_done.push(dataset.clone());
        }
    }
    records::write_atomic(&run_dir.join(METHODS_CSV), &csv_bytes(&method_rows)?)?;
    md.push_str(
        &collected.problems_markdown("Corruption evaluations that failed or cannot be read"),
    );
    Ok(Some(Section {
        markdown: md,
        plots,
        verdicts: false,
    }))
}
