//! Run-level background outputs, rebuilt from the cells' `background.csv` files by `mixbench
//! report` (and after every run):
//!
//! | file | content |
//! |---|---|
//! | `background.csv` | one row per (cell, variant): `cell, dataset, model, method, seed, variant, top1, images, seconds` |
//! | `background-cells.csv` | one row per cell: `cell, dataset, model, method, seed`, the top-1 of each variant, `bg_gap`, `challenge` |
//! | `background-methods.csv` | per (dataset, model, method): `n` seeds, mean and sample std of each variant's top-1, of `bg_gap` and of `challenge`, `cells` |
//! | `plots/background-variants-<dataset>-<model>.{png,svg}` | top-1 per method and variant, bars grouped by method (± std over seeds) |
//! | `plots/background-gap-<dataset>-<model>.{png,svg}` | BG-Gap per method, mean ± std over seeds |
//! | `plots/background-examples-<dataset>.png` | the example grid of the first evaluated cell of the data set (the images are the same for every cell of it) |

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::rows::{bg_gap, read_cell_csv, top1_of, BackgroundRow, EXAMPLES_PNG};
use super::variant::Variant;
use crate::evaluations::collect::collect;
use crate::evaluations::kind::EvaluationResults;
use crate::evaluations::values::{read_file, Rows, Value};
use crate::metrics::{MetricDecl, MetricKind};
use crate::records::{self, csv_bytes, CellInfo};
use crate::report::eval_charts::{write_chart, EvalChart, Spread};
use crate::report::order::method_order;
use crate::report::stats::mean_std;
use crate::report::values::MetricRow;
use crate::report::{Section, PLOTS_DIR};

/// The background evaluation's metrics (its part of the catalogue, [`crate::metrics`]).
pub const METRICS: &[MetricDecl] = &[
    MetricDecl::new(
        "background_top1",
        "%",
        MetricKind::Accuracy,
        "top-1 per test-set variant (background.csv)",
    )
    .under("original, only_fg, no_fg, only_bg_t, mixed_same, mixed_rand, mixed_next, challenge"),
    MetricDecl::new(
        "bg_gap",
        "points",
        MetricKind::Accuracy,
        "Mixed-Same minus Mixed-Rand top-1 (background-cells.csv)",
    )
    .lower_is_better(),
];

/// Run-level file with every cell's rows.
pub const RUN_CSV: &str = "background.csv";
/// Run-level file with one row per cell.
pub const CELLS_CSV: &str = "background-cells.csv";
/// Run-level file with one row per method.
pub const METHODS_CSV: &str = "background-methods.csv";

/// The background numbers of a run's files, in long format: `background_top1` per cell under
/// the condition of its variant (`original`, `mixed_rand`, ..., `challenge`), from
/// [`RUN_CSV`], and `bg_gap` per cell from [`CELLS_CSV`].
pub fn values(run_dir: &Path) -> Result<Vec<MetricRow>> {
    let mut rows = read_file(run_dir, RUN_CSV, Rows::PerCell, |line| {
        let variant = line.get("variant")?.to_string();
        Ok(vec![Value::new("background_top1", "top1").under(variant)])
    })?;
    rows.extend(read_file(run_dir, CELLS_CSV, Rows::PerCell, |_| {
        Ok(vec![Value::new("bg_gap", "bg_gap")])
    })?);
    Ok(rows)
}

/// A row of `background.csv`.
#[derive(Serialize)]
struct RunRow<'a> {
    cell: &'a str,
    dataset: &'a str,
    model: &'a str,
    method: &'a str,
    seed: u64,
    variant: &'a str,
    top1: f64,
    images: usize,
    seconds: f64,
}

/// The measures of a cell, in column order: the seven variants, `bg_gap`, `challenge`.
fn measures(rows: &[BackgroundRow]) -> Vec<Option<f64>> {
    let mut out: Vec<Option<f64>> = Variant::ALL
        .iter()
        .map(|v| top1_of(rows, v.name()))
        .collect();
    out.push(bg_gap(rows));
    out.push(top1_of(rows, "challenge"));
    out
}

/// Column names of [`measures`].
fn measure_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = Variant::ALL.iter().map(|v| v.name()).collect();
    names.extend(["bg_gap", "challenge"]);
    names
}

/// A CSV cell for an optional number (empty when absent).
fn field(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

/// Writes the run-level background files and plots; returns the `report.md` section and the
/// plots written, or `None` when no cell has background results.
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
            variant: &r.variant,
            top1: r.top1,
            images: r.images,
            seconds: r.seconds,
        })
    });
    records::write_atomic(&run_dir.join(RUN_CSV), &csv_bytes(run_rows)?)?;

    let names = measure_names();
    let mut cells_csv = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["cell", "dataset", "model", "method", "seed"];
    header.extend(&names);
    cells_csv.write_record(&header)?;
    for (info, rows) in &collected.cells {
        let mut record = vec![
            info.cell.clone(),
            info.dataset.clone(),
            info.model.clone(),
            info.method.clone(),
            info.seed.to_string(),
        ];
        record.extend(measures(rows).into_iter().map(field));
        cells_csv.write_record(&record)?;
    }
    let bytes = cells_csv
        .into_inner()
        .context("writing background-cells.csv")?;
    records::write_atomic(&run_dir.join(CELLS_CSV), &bytes)?;

    let mut methods_csv = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "dataset".to_string(),
        "model".into(),
        "method".into(),
        "n".into(),
    ];
    for n in &names {
        header.push(format!("{n}_mean"));
        header.push(format!("{n}_std"));
    }
    header.push("cells".into());
    methods_csv.write_record(&header)?;

    let mut md = String::from("## Background reliance\n\n");
    let _ = writeln!(
        md,
        "Top-1 (%) of each trained cell on variants of test images whose backgrounds go with \
         their class, with foregrounds and backgrounds recombined through the foreground masks \
         (Xiao et al., \"Noise or Signal\", ICLR 2021; definitions in `docs/background.md`), \
         mean ± std over seeds. **BG-Gap** = Mixed-Same − Mixed-Rand (percentage points): how \
         much accuracy depends on the background going with the class. **flipped**: percent \
         of the foregrounds correct on Original that some background of the challenge's \
         budget makes wrong. Raw numbers: `{RUN_CSV}`, `{CELLS_CSV}`, `{METHODS_CSV}`.\n"
    );
    let mut plots = Vec::new();
    let plot_dir = run_dir.join(PLOTS_DIR);
    let mut examples_done: Vec<String> = Vec::new();
    let groups = collected.by_dataset_model();
    for ((dataset, model), members) in &groups {
        let order = method_order(members.iter().map(|c| c.0.method.as_str()));
        let _ = writeln!(md, "### {dataset} / {model}\n");
        let titles: Vec<&str> = Variant::ALL.iter().map(|v| v.title()).collect();
        let _ = writeln!(
            md,
            "| method | n | {} | BG-Gap | flipped |\n|---|---:|{}---:|---:|",
            titles.join(" | "),
            "---:|".repeat(titles.len())
        );
        let mut groups: Vec<(String, Vec<Spread>)> = Vec::new();
        let mut gaps: Vec<(String, Spread)> = Vec::new();
        for method in &order {
            let of: Vec<&&(CellInfo, Vec<BackgroundRow>)> =
                members.iter().filter(|c| &c.0.method == method).collect();
            let per_cell: Vec<Vec<Option<f64>>> = of.iter().map(|c| measures(&c.1)).collect();
            let stats: Vec<Option<(f64, Option<f64>)>> = (0..names.len())
                .map(|m| {
                    let values: Vec<f64> = per_cell.iter().filter_map(|v| v[m]).collect();
                    (!values.is_empty()).then(|| mean_std(&values))
                })
                .collect();
            let fmt = |s: &Option<(f64, Option<f64>)>| match s {
                Some((m, Some(sd))) => format!("{m:.2} ± {sd:.2}"),
                Some((m, None)) => format!("{m:.2}"),
                None => "-".into(),
            };
            let n_variants = Variant::ALL.len();
            let flipped = stats[n_variants + 1].map(|(m, s)| (100.0 - m, s));
            let _ = writeln!(
                md,
                "| {method} | {} | {} | {} | {} |",
                of.len(),
                stats[..n_variants]
                    .iter()
                    .map(fmt)
                    .collect::<Vec<_>>()
                    .join(" | "),
                fmt(&stats[n_variants]),
                fmt(&flipped)
            );
            let spread = |s: &Option<(f64, Option<f64>)>| Spread {
                value: s.map_or(f64::NAN, |s| s.0),
                half: s.and_then(|s| s.1),
            };
            groups.push((
                method.clone(),
                stats[..n_variants].iter().map(spread).collect(),
            ));
            if stats[n_variants].is_some() {
                gaps.push((method.clone(), spread(&stats[n_variants])));
            }
            let mut record = vec![
                dataset.clone(),
                model.clone(),
                method.clone(),
                of.len().to_string(),
            ];
            for s in &stats {
                record.push(field(s.map(|s| s.0)));
                record.push(field(s.and_then(|s| s.1)));
            }
            record.push(
                of.iter()
                    .map(|c| c.0.cell.as_str())
                    .collect::<Vec<_>>()
                    .join(";"),
            );
            methods_csv.write_record(&record)?;
        }
        md.push('\n');
        let stem = crate::report::sanitise(&format!("{dataset}-{model}"));
        let series: Vec<String> = titles.iter().map(|t| t.to_string()).collect();
        let name = format!("background-variants-{stem}");
        plots.extend(write_chart(
            &plot_dir,
            &name,
            &EvalChart::GroupedBars {
                groups: &groups,
                series: &series,
                y_axis: "top-1 (%)",
            },
            &format!("Top-1 per test-set variant, {dataset} / {model} (± std over seeds)"),
        )?);
        let _ = writeln!(md, "![background variants]({PLOTS_DIR}/{name}.png)\n");
        let name = format!("background-gap-{stem}");
        plots.extend(write_chart(
            &plot_dir,
            &name,
            &EvalChart::Points {
                points: &gaps,
                y_axis: "BG-Gap: Mixed-Same - Mixed-Rand (points)",
            },
            &format!("BG-Gap, {dataset} / {model} (± std over seeds)"),
        )?);
        let _ = writeln!(md, "![background gap]({PLOTS_DIR}/{name}.png)\n");
        if !examples_done.contains(dataset) {
            let source = members
                .iter()
                .map(|c| run_dir.join("cells").join(&c.0.cell).join(EXAMPLES_PNG))
                .find(|p| p.is_file());
            if let Some(source) = source {
                let name = format!(
                    "background-examples-{}.png",
                    crate::report::sanitise(dataset)
                );
                let target = plot_dir.join(&name);
                let bytes = std::fs::read(&source)
                    .with_context(|| format!("reading {}", source.display()))?;
                records::write_atomic(&target, &bytes)?;
                plots.push(target);
                let _ = writeln!(
                    md,
                    "Example images of {dataset}, one column per variant (the Mixed variants' \
                     backgrounds are drawn from the seed, the same for every cell):\n\n\
                     ![background examples]({PLOTS_DIR}/{name})\n"
                );
            }
            examples_done.push(dataset.clone());
        }
    }
    let bytes = methods_csv
        .into_inner()
        .context("writing background-methods.csv")?;
    records::write_atomic(&run_dir.join(METHODS_CSV), &bytes)?;
    md.push_str(
        &collected.problems_markdown("Background evaluations that failed or cannot be read"),
    );
    Ok(Some(Section {
        markdown: md,
        plots,
        verdicts: false,
    }))
}
