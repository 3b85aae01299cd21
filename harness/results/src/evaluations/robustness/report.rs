//! Run-level robustness outputs, rebuilt from the cells' `robustness.csv` files by `mixbench
//! report` (and after every run):
//!
//! | file | content |
//! |---|---|
//! | `robustness.csv` | one row per (cell, corruption, severity): `cell, dataset, model, method, seed, corruption, severity, level, top1, images, seconds` |
//! | `robustness-cells.csv` | one row per cell: `cell, dataset, model, method, seed, clean_top1, robust_top1` (mean over every non-clean row), `evaluations` |
//! | `robustness-methods.csv` | per (dataset, model, method): `n` seeds, mean and sample std of `clean_top1` and `robust_top1`, `cells` |
//! | `plots/robustness-scatter-<dataset>-<model>.{png,svg}` | standard against average robust accuracy, one point per method (± std over seeds), Vanilla's robust accuracy as a dashed line |
//! | `plots/robustness-<family>-<dataset>-<model>.{png,svg}` | top-1 against the level (noise std, FGSM/PGD eps, CIFAR-C severity averaged over corruptions), clean accuracy at level 0 |

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::rows::{average_robust, read_cell_csv, RobustnessRow};
use crate::evaluations::collect::collect;
use crate::evaluations::kind::EvaluationResults;
use crate::evaluations::values::{read_file, Rows, Value};
use crate::metrics::{MetricDecl, MetricKind};
use crate::records::{self, csv_bytes, CellInfo};
use crate::report::eval_charts::{write_chart, EvalChart, Line, ScatterPoint, Spread};
use crate::report::order::method_order;
use crate::report::stats::mean_std;
use crate::report::values::MetricRow;
use crate::report::{Section, PLOTS_DIR};

/// The robustness evaluation's metrics (its part of the catalogue, [`crate::metrics`]).
pub const METRICS: &[MetricDecl] = &[
    MetricDecl::new(
        "robust_top1",
        "%",
        MetricKind::Accuracy,
        "average top-1 over the perturbed conditions (robustness-cells.csv)",
    ),
    MetricDecl::new(
        "robustness_top1",
        "%",
        MetricKind::Accuracy,
        "test top-1 per condition (robustness.csv)",
    )
    .under("clean, noise:<std>, fgsm:<eps>, pgd:<eps>, <corruption>:<severity>"),
];

/// Run-level file with every cell's rows.
pub const RUN_CSV: &str = "robustness.csv";
/// Run-level file with one row per cell.
pub const CELLS_CSV: &str = "robustness-cells.csv";
/// Run-level file with one row per method.
pub const METHODS_CSV: &str = "robustness-methods.csv";

/// The robustness numbers of a run's files, in long format: `robustness_top1` per cell under
/// the condition `clean` or `<corruption>:<level>` (`noise:0.1`, `fgsm:8`, `fog:3`; the level as
/// Rust prints the number, whether the file says 8 or 8.0), from [`RUN_CSV`], and
/// `robust_top1` (the average robust accuracy) per cell from [`CELLS_CSV`].
pub fn values(run_dir: &Path) -> Result<Vec<MetricRow>> {
    let mut rows = read_file(run_dir, RUN_CSV, Rows::PerCell, |line| {
        let corruption = line.get("corruption")?;
        let condition = match (corruption, line.number("level")?) {
            ("clean", _) => corruption.to_string(),
            (_, Some(level)) => format!("{corruption}:{level}"),
            (_, None) => format!("{corruption}:"),
        };
        Ok(vec![Value::new("robustness_top1", "top1").under(condition)])
    })?;
    rows.extend(read_file(run_dir, CELLS_CSV, Rows::PerCell, |_| {
        Ok(vec![Value::new("robust_top1", "robust_top1")])
    })?);
    Ok(rows)
}

/// A row of `robustness.csv`.
#[derive(Serialize)]
struct RunRow<'a> {
    cell: &'a str,
    dataset: &'a str,
    model: &'a str,
    method: &'a str,
    seed: u64,
    corruption: &'a str,
    severity: usize,
    level: f64,
    top1: f64,
    images: usize,
    seconds: f64,
}

/// A row of `robustness-cells.csv`.
#[derive(Serialize)]
struct CellRow<'a> {
    cell: &'a str,
    dataset: &'a str,
    model: &'a str,
    method: &'a str,
    seed: u64,
    clean_top1: f64,
    robust_top1: Option<f64>,
    evaluations: usize,
}

/// A row of `robustness-methods.csv`.
#[derive(Serialize)]
struct MethodRow {
    dataset: String,
    model: String,
    method: String,
    n: usize,
    clean_top1_mean: f64,
    clean_top1_std: Option<f64>,
    robust_top1_mean: Option<f64>,
    robust_top1_std: Option<f64>,
    cells: String,
}

/// One evaluated cell.
struct Evaluated<'a> {
    info: &'a CellInfo,
    rows: &'a [RobustnessRow],
}

impl Evaluated<'_> {
    fn clean(&self) -> f64 {
        self.rows
            .iter()
            .find(|r| r.corruption == "clean")
            .map_or(f64::NAN, |r| r.top1)
    }
}

/// The perturbation family of a row: `noise`, `fgsm`, `pgd`, or `corruptions` (CIFAR-C).
fn family(corruption: &str) -> &str {
    match corruption {
        "noise" | "fgsm" | "pgd" | "clean" => corruption,
        _ => "corruptions",
    }
}

/// Writes the run-level robustness files and plots; returns the `report.md` section and the
/// plots written, or `None` when no cell has robustness results.
pub fn build(run_dir: &Path, kind: &dyn EvaluationResults) -> Result<Option<Section>> {
    let collected = collect(run_dir, kind, read_cell_csv)?;
    if collected.is_empty() {
        return Ok(None);
    }
    let cells: Vec<Evaluated> = collected
        .cells
        .iter()
        .map(|(info, rows)| Evaluated { info, rows })
        .collect();
    let run_rows = cells.iter().flat_map(|c| {
        c.rows.iter().map(move |r| RunRow {
            cell: &c.info.cell,
            dataset: &c.info.dataset,
            model: &c.info.model,
            method: &c.info.method,
            seed: c.info.seed,
            corruption: &r.corruption,
            severity: r.severity,
            level: r.level,
            top1: r.top1,
            images: r.images,
            seconds: r.seconds,
        })
    });
    records::write_atomic(&run_dir.join(RUN_CSV), &csv_bytes(run_rows)?)?;
    let cell_rows = cells.iter().map(|c| CellRow {
        cell: &c.info.cell,
        dataset: &c.info.dataset,
        model: &c.info.model,
        method: &c.info.method,
        seed: c.info.seed,
        clean_top1: c.clean(),
        robust_top1: average_robust(c.rows),
        evaluations: c.rows.len(),
    });
    records::write_atomic(&run_dir.join(CELLS_CSV), &csv_bytes(cell_rows)?)?;

    let mut groups: BTreeMap<(String, String), Vec<&Evaluated>> = BTreeMap::new();
    for c in &cells {
        groups
            .entry((c.info.dataset.clone(), c.info.model.clone()))
            .or_default()
            .push(c);
    }
    let mut method_rows = Vec::new();
    let mut md = String::from("## Robustness\n\n");
    let _ = writeln!(
        md,
        "Top-1 (%) of each trained cell on its test split under the configured perturbations \
         (noise std in [0, 1] pixel units; FGSM and PGD eps in 1/255; CIFAR-C severities 1-5), \
         mean ± std over seeds. \"robust\" is the mean over every perturbation and level. Raw \
         numbers: `{RUN_CSV}` (per cell and level), `{CELLS_CSV}`, `{METHODS_CSV}`.\n"
    );
    let mut plots = Vec::new();
    let plot_dir = run_dir.join(PLOTS_DIR);
    for ((dataset, model), members) in &groups {
        let order = method_order(members.iter().map(|c| c.info.method.as_str()));
        // Levels in first-appearance order, per family and level (CIFAR-C: per severity).
        let mut columns: Vec<(String, f64)> = Vec::new();
        for c in members {
            for r in c.rows {
                let key = (family(&r.corruption).to_string(), r.level);
                if r.corruption != "clean" && !columns.contains(&key) {
                    columns.push(key);
                }
            }
        }
        let _ = writeln!(md, "### {dataset} / {model}\n");
        let header: Vec<String> = columns
            .iter()
            .map(|(f, l)| match f.as_str() {
                "noise" => format!("noise {l}"),
                "corruptions" => format!("C-sev {l}"),
                _ => format!("{f} {l}"),
            })
            .collect();
        let _ = writeln!(
            md,
            "| method | n | clean | robust | {} |\n|---|---:|---:|---:|{}",
            header.join(" | "),
            "---:|".repeat(columns.len())
        );
        let mut scatter = Vec::new();
        let mut vanilla_robust = None;
        let mut lines_by_family: BTreeMap<String, Vec<Line>> = BTreeMap::new();
        for method in &order {
            let of: Vec<&&Evaluated> = members
                .iter()
                .filter(|c| &c.info.method == method)
                .collect();
            let clean: Vec<f64> = of.iter().map(|c| c.clean()).collect();
            let robust: Vec<f64> = of.iter().filter_map(|c| average_robust(c.rows)).collect();
            let (cm, cs) = mean_std(&clean);
            let (rm, rs) = if robust.is_empty() {
                (None, None)
            } else {
                let (m, s) = mean_std(&robust);
                (Some(m), s)
            };
            if method == crate::report::order::BASELINE_METHOD {
                vanilla_robust = rm;
            }
            let fmt = |m: Option<f64>, s: Option<f64>| match (m, s) {
                (Some(m), Some(s)) => format!("{m:.2} ± {s:.2}"),
                (Some(m), None) => format!("{m:.2}"),
                _ => "-".into(),
            };
            let level_means: Vec<Option<f64>> = columns
                .iter()
                .map(|(f, l)| {
                    let per_cell: Vec<f64> = of
                        .iter()
                        .filter_map(|c| {
                            let v: Vec<f64> = c
                                .rows
                                .iter()
                                .filter(|r| {
                                    family(&r.corruption) == f
                                        && r.level == *l
                                        && r.corruption != "clean"
                                })
                                .map(|r| r.top1)
                                .collect();
                            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
                        })
                        .collect();
                    (!per_cell.is_empty()).then(|| mean_std(&per_cell).0)
                })
                .collect();
            let _ = writeln!(
                md,
                "| {method} | {} | {} | {} | {} |",
                of.len(),
                fmt(Some(cm), cs),
                fmt(rm, rs),
                level_means
                    .iter()
                    .map(|v| v.map_or("-".into(), |v| format!("{v:.2}")))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
            for ((f, l), v) in columns.iter().zip(&level_means) {
                if let Some(v) = v {
                    let lines = lines_by_family.entry(f.clone()).or_default();
                    match lines.iter_mut().find(|line| &line.label == method) {
                        Some(line) => line.points.push((*l, *v)),
                        None => lines.push(Line {
                            label: method.clone(),
                            points: vec![(0.0, cm), (*l, *v)],
                        }),
                    }
                }
            }
            if let Some(rm) = rm {
                scatter.push(ScatterPoint {
                    label: method.clone(),
                    x: Spread {
                        value: cm,
                        half: cs,
                    },
                    y: Spread {
                        value: rm,
                        half: rs,
                    },
                });
            }
            method_rows.push(MethodRow {
                dataset: dataset.clone(),
                model: model.clone(),
                method: method.clone(),
                n: of.len(),
                clean_top1_mean: cm,
                clean_top1_std: cs,
                robust_top1_mean: rm,
                robust_top1_std: rs,
                cells: of
                    .iter()
                    .map(|c| c.info.cell.as_str())
                    .collect::<Vec<_>>()
                    .join(";"),
            });
        }
        md.push('\n');
        let stem = crate::report::sanitise(&format!("{dataset}-{model}"));
        let reference = vanilla_robust.map(|v| (v, format!("vanilla robust {v:.2}")));
        let name = format!("robustness-scatter-{stem}");
        plots.extend(write_chart(
            &plot_dir,
            &name,
            &EvalChart::Scatter {
                points: &scatter,
                reference,
                axes: ("standard top-1 (%)", "average robust top-1 (%)"),
            },
            &format!("Standard vs average robust accuracy, {dataset} / {model} (± std over seeds)"),
        )?);
        let _ = writeln!(md, "![robustness scatter]({}/{name}.png)\n", PLOTS_DIR);
        for (f, lines) in &mut lines_by_family {
            for line in lines.iter_mut() {
                line.points.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
            let name = format!("robustness-{f}-{stem}");
            let x_axis = match f.as_str() {
                "noise" => "noise std (pixel units)",
                "corruptions" => "CIFAR-C severity (mean over corruptions)",
                _ => "eps (1/255)",
            };
            plots.extend(write_chart(
                &plot_dir,
                &name,
                &EvalChart::Lines {
                    lines,
                    axes: (x_axis, "top-1 (%)"),
                },
                &format!("Top-1 under {f}, {dataset} / {model} (mean over seeds; 0: clean)"),
            )?);
            let _ = writeln!(md, "![robustness {f}]({}/{name}.png)\n", PLOTS_DIR);
        }
    }
    records::write_atomic(&run_dir.join(METHODS_CSV), &csv_bytes(&method_rows)?)?;
    md.push_str(
        &collected.problems_markdown("Robustness evaluations that failed or cannot be read"),
    );
    Ok(Some(Section {
        markdown: md,
        plots,
        verdicts: false,
    }))
}
