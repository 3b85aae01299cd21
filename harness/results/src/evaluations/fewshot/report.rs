//! Run-level few-shot outputs, rebuilt from the cells' `fewshot.csv` and
//! `fewshot-episodes.csv` by `mixbench report` (and after every run):
//!
//! | file | content |
//! |---|---|
//! | `fewshot.csv` | one row per (cell, N, K): `cell, dataset, model, method, seed, ways, shots, queries, episodes, mean, ci95, std, unconverged, seconds` |
//! | `fewshot-episodes.csv` | one row per episode: `cell, method, seed, ways, shots, episode, accuracy` |
//! | `fewshot-methods.csv` | per (dataset, model, method, N, K): `n` seeds, `episodes` pooled over seeds, `mean` and `ci95` of the pooled episode accuracies, `cells` |
//! | `plots/fewshot-<N>way-<K>shot-<dataset>-<model>.{png,svg}` | mean accuracy per method with its 95% CI bar |

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::rows::{EpisodeRow, FewShotRow, CELL_CSV, CELL_EPISODES_CSV};
use crate::evaluations::collect::collect;
use crate::evaluations::kind::EvaluationResults;
use crate::evaluations::values::{read_file, Rows, Value};
use crate::metrics::{MetricDecl, MetricKind};
use crate::records::{self, csv_bytes, read_csv, CellInfo};
use crate::report::eval_charts::{write_chart, EvalChart, Spread};
use crate::report::order::method_order;
use crate::report::stats::mean_ci95;
use crate::report::values::MetricRow;
use crate::report::{Section, PLOTS_DIR};

/// The few-shot evaluation's metrics (its part of the catalogue, [`crate::metrics`]).
pub const METRICS: &[MetricDecl] = &[MetricDecl::new(
    "fewshot_accuracy",
    "%",
    MetricKind::Accuracy,
    "mean query accuracy of the episodes (fewshot.csv; per episode in fewshot-episodes.csv)",
)
.under("<N>way-<K>shot")];

/// Run-level file with every cell's (N, K) rows.
pub const RUN_CSV: &str = "fewshot.csv";
/// Run-level file with every episode.
pub const EPISODES_CSV: &str = "fewshot-episodes.csv";
/// Run-level file with one row per method and (N, K).
pub const METHODS_CSV: &str = "fewshot-methods.csv";

/// The few-shot numbers of a run's files, in long format: `fewshot_accuracy` per cell (its
/// mean over the episodes) under the condition `<N>way-<K>shot`, from [`RUN_CSV`].
pub fn values(run_dir: &Path) -> Result<Vec<MetricRow>> {
    read_file(run_dir, RUN_CSV, Rows::PerCell, |line| {
        let condition = format!("{}way-{}shot", line.get("ways")?, line.get("shots")?);
        Ok(vec![Value::new("fewshot_accuracy", "mean").under(condition)])
    })
}

/// `fewshot_accuracy` per episode, from [`EPISODES_CSV`], under the condition
/// `<N>way-<K>shot`: the samples claims test. Only the episodes of cells in [`RUN_CSV`]
/// count, and those give each episode its data set and model.
pub fn episode_values(run_dir: &Path) -> Result<Vec<MetricRow>> {
    let cells: BTreeMap<String, (String, String)> = values(run_dir)?
        .into_iter()
        .map(|v| (v.cell, (v.dataset, v.model)))
        .collect();
    read_file(run_dir, EPISODES_CSV, Rows::OfCells(&cells), |line| {
        let condition = format!("{}way-{}shot", line.get("ways")?, line.get("shots")?);
        Ok(vec![
            Value::new("fewshot_accuracy", "accuracy").under(condition)
        ])
    })
}

#[derive(Serialize)]
struct RunRow<'a> {
    cell: &'a str,
    dataset: &'a str,
    model: &'a str,
    method: &'a str,
    seed: u64,
    ways: usize,
    shots: usize,
    queries: usize,
    episodes: usize,
    mean: f64,
    ci95: f64,
    std: f64,
    unconverged: usize,
    seconds: f64,
}

#[derive(Serialize)]
struct RunEpisode<'a> {
    cell: &'a str,
    method: &'a str,
    seed: u64,
    ways: usize,
    shots: usize,
    episode: usize,
    accuracy: f64,
}

#[derive(Serialize)]
struct MethodRow {
    dataset: String,
    model: String,
    method: String,
    ways: usize,
    shots: usize,
    n: usize,
    episodes: usize,
    mean: f64,
    ci95: f64,
    cells: String,
}

struct Evaluated<'a> {
    info: &'a CellInfo,
    rows: &'a [FewShotRow],
    episodes: &'a [EpisodeRow],
}

/// Writes the run-level few-shot files and plots; returns the `report.md` section and the
/// plots, or `None` when no cell has few-shot results.
pub fn build(run_dir: &Path, kind: &dyn EvaluationResults) -> Result<Option<Section>> {
    let collected = collect(run_dir, kind, |dir| {
        Ok((
            read_csv::<FewShotRow>(&dir.join(CELL_CSV))?,
            read_csv::<EpisodeRow>(&dir.join(CELL_EPISODES_CSV))?,
        ))
    })?;
    if collected.is_empty() {
        return Ok(None);
    }
    let cells: Vec<Evaluated> = collected
        .cells
        .iter()
        .map(|(info, (rows, episodes))| Evaluated {
            info,
            rows,
            episodes,
        })
        .collect();
    let run_rows = cells.iter().flat_map(|c| {
        c.rows.iter().map(move |row| RunRow {
            cell: &c.info.cell,
            dataset: &c.info.dataset,
            model: &c.info.model,
            method: &c.info.method,
            seed: c.info.seed,
            ways: row.ways,
            shots: row.shots,
            queries: row.queries,
            episodes: row.episodes,
            mean: row.mean,
            ci95: row.ci95,
            std: row.std,
            unconverged: row.unconverged,
            seconds: row.seconds,
        })
    });
    records::write_atomic(&run_dir.join(RUN_CSV), &csv_bytes(run_rows)?)?;
    let episode_rows = cells.iter().flat_map(|c| {
        c.episodes.iter().map(move |e| RunEpisode {
            cell: &c.info.cell,
            method: &c.info.method,
            seed: c.info.seed,
            ways: e.ways,
            shots: e.shots,
            episode: e.episode,
            accuracy: e.accuracy,
        })
    });
    records::write_atomic(&run_dir.join(EPISODES_CSV), &csv_bytes(episode_rows)?)?;

    let mut groups: BTreeMap<(String, String), Vec<&Evaluated>> = BTreeMap::new();
    for c in &cells {
        groups
            .entry((c.info.dataset.clone(), c.info.model.clone()))
            .or_default()
            .push(c);
    }
    let mut md = String::from("## Few-shot\n\n");
    let _ = writeln!(
        md,
        "Query accuracy (%) of logistic regression on the frozen, L2-normalised penultimate \
         features of each cell (pre-trained on the base classes), over seed-fixed episodes \
         shared by all methods: mean ± 95% CI (1.96 s / sqrt(episodes), episodes of all seeds \
         pooled). Raw numbers: `{RUN_CSV}`, `{EPISODES_CSV}`, `{METHODS_CSV}`.\n"
    );
    let mut method_rows = Vec::new();
    let mut plots = Vec::new();
    let plot_dir = run_dir.join(PLOTS_DIR);
    for ((dataset, model), members) in &groups {
        let order = method_order(members.iter().map(|c| c.info.method.as_str()));
        let mut shapes: Vec<(usize, usize)> = Vec::new();
        for c in members {
            for r in c.rows {
                if !shapes.contains(&(r.ways, r.shots)) {
                    shapes.push((r.ways, r.shots));
                }
            }
        }
        let _ = writeln!(md, "### {dataset} / {model}\n");
        let _ = writeln!(
            md,
            "| method | n | {} |\n|---|---:|{}",
            shapes
                .iter()
                .map(|(w, s)| format!("{w}-way {s}-shot"))
                .collect::<Vec<_>>()
                .join(" | "),
            "---:|".repeat(shapes.len())
        );
        let mut per_shape: BTreeMap<(usize, usize), Vec<(String, Spread)>> = BTreeMap::new();
        for method in &order {
            let of: Vec<&&Evaluated> = members
                .iter()
                .filter(|c| &c.info.method == method)
                .collect();
            let mut cells_text = Vec::new();
            for &(ways, shots) in &shapes {
                let pooled: Vec<f64> = of
                    .iter()
                    .flat_map(|c| c.episodes.iter())
                    .filter(|e| e.ways == ways && e.shots == shots)
                    .map(|e| e.accuracy)
                    .collect();
                if pooled.is_empty() {
                    cells_text.push("-".to_string());
                    continue;
                }
                let (mean, ci) = mean_ci95(&pooled);
                cells_text.push(format!("{mean:.2} ± {ci:.2}"));
                per_shape.entry((ways, shots)).or_default().push((
                    method.clone(),
                    Spread {
                        value: mean,
                        half: Some(ci),
                    },
                ));
                method_rows.push(MethodRow {
                    dataset: dataset.clone(),
                    model: model.clone(),
                    method: method.clone(),
                    ways,
                    shots,
                    n: of.len(),
                    episodes: pooled.len(),
                    mean,
                    ci95: ci,
                    cells: of
                        .iter()
                        .map(|c| c.info.cell.as_str())
                        .collect::<Vec<_>>()
                        .join(";"),
                });
            }
            let _ = writeln!(
                md,
                "| {method} | {} | {} |",
                of.len(),
                cells_text.join(" | ")
            );
        }
        md.push('\n');
        let stem = crate::report::sanitise(&format!("{dataset}-{model}"));
        for ((ways, shots), points) in &per_shape {
            let name = format!("fewshot-{ways}way-{shots}shot-{stem}");
            plots.extend(write_chart(
                &plot_dir,
                &name,
                &EvalChart::Points {
                    points,
                    y_axis: "query accuracy (%)",
                },
                &format!("{ways}-way {shots}-shot accuracy, {dataset} / {model} (mean, 95% CI)"),
            )?);
            let _ = writeln!(
                md,
                "![few-shot {ways}-way {shots}-shot]({}/{name}.png)\n",
                PLOTS_DIR
            );
        }
    }
    records::write_atomic(&run_dir.join(METHODS_CSV), &csv_bytes(&method_rows)?)?;
    md.push_str(&collected.problems_markdown("Few-shot evaluations that failed or cannot be read"));
    Ok(Some(Section {
        markdown: md,
        plots,
        verdicts: false,
    }))
}
