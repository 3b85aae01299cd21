//! What a run folder holds for claims: the per-cell rows of `summary.csv` and the evaluation
//! files (`robustness-cells.csv`, `background-cells.csv`, `fewshot.csv` with
//! `fewshot-episodes.csv`), and the matching
//! of a claim's (data set, model, method, parameters) to the cells that ran it. Only the
//! run-level CSV files are read, so a copied report folder (`reports/cifar10-jpeg-*`) verifies
//! as well as a live run.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

use super::file::{MethodRef, Metric, Statistic};
use crate::report::summary_file;

/// One row of `summary.csv`, the columns claims read (others are ignored).
#[derive(Clone, Debug, Deserialize)]
struct SummaryRow {
    cell: String,
    status: String,
    dataset: String,
    model: String,
    method: String,
    method_params: String,
    seed: Option<u64>,
    epochs_done: usize,
    top1_last: Option<f64>,
    top1_best: Option<f64>,
    top1_median_last10: Option<f64>,
    top5_last: Option<f64>,
    top5_best: Option<f64>,
    epoch_time_mean: Option<f64>,
    mix_time_mean: Option<f64>,
    saliency_time_mean: Option<f64>,
}

/// One row of `robustness-cells.csv`.
#[derive(Clone, Debug, Deserialize)]
struct RobustnessRow {
    cell: String,
    clean_top1: f64,
    robust_top1: f64,
}

/// One row of `background-cells.csv`.
#[derive(Clone, Debug, Deserialize)]
struct BackgroundRow {
    cell: String,
    bg_gap: f64,
}

/// One row of `fewshot.csv` (the cell's dataset and model, which the episodes file lacks).
#[derive(Clone, Debug, Deserialize)]
struct FewshotCellRow {
    cell: String,
}

/// One row of `fewshot-episodes.csv`.
#[derive(Clone, Debug, Deserialize)]
struct EpisodeRow {
    cell: String,
    ways: usize,
    shots: usize,
    accuracy: f64,
}

/// The run-level files of a run folder, read once.
#[derive(Debug)]
pub struct RunData {
    rows: Vec<SummaryRow>,
    robustness: BTreeMap<String, (f64, f64)>,
    /// Cell -> BG-Gap of the background evaluation.
    background: BTreeMap<String, f64>,
    /// `(cell, ways, shots)` -> episode accuracies.
    episodes: BTreeMap<(String, usize, usize), Vec<f64>>,
    /// Whether the run has robustness / few-shot / background results at all.
    has_robustness: bool,
    has_fewshot: bool,
    has_background: bool,
}

/// Reads a CSV file into rows of `T`, naming the file and line in errors.
fn read_csv<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let mut rows = Vec::new();
    for (i, row) in reader.deserialize().enumerate() {
        rows.push(row.with_context(|| format!("{}:{}: malformed row", path.display(), i + 2))?);
    }
    Ok(rows)
}

impl RunData {
    /// Reads `summary.csv` (required) and the evaluation files present in `run_dir`.
    pub fn load(run_dir: &Path) -> Result<Self> {
        let rows: Vec<SummaryRow> = read_csv(&summary_file(run_dir)?)?;
        let robustness_csv = run_dir.join("robustness-cells.csv");
        let has_robustness = robustness_csv.exists();
        let robustness = if has_robustness {
            read_csv::<RobustnessRow>(&robustness_csv)?
                .into_iter()
                .map(|r| (r.cell, (r.clean_top1, r.robust_top1)))
                .collect()
        } else {
            BTreeMap::new()
        };
        let background_csv = run_dir.join("background-cells.csv");
        let has_background = background_csv.exists();
        let background = if has_background {
            read_csv::<BackgroundRow>(&background_csv)?
                .into_iter()
                .map(|r| (r.cell, r.bg_gap))
                .collect()
        } else {
            BTreeMap::new()
        };
        let episodes_csv = run_dir.join("fewshot-episodes.csv");
        let has_fewshot = episodes_csv.exists() && run_dir.join("fewshot.csv").exists();
        let mut episodes: BTreeMap<(String, usize, usize), Vec<f64>> = BTreeMap::new();
        if has_fewshot {
            // Cells named in fewshot.csv are the ones whose episodes count.
            let cells: Vec<String> = read_csv::<FewshotCellRow>(&run_dir.join("fewshot.csv"))?
                .into_iter()
                .map(|r| r.cell)
                .collect();
            for e in read_csv::<EpisodeRow>(&episodes_csv)? {
                if cells.contains(&e.cell) {
                    episodes
                        .entry((e.cell, e.ways, e.shots))
                        .or_default()
                        .push(e.accuracy);
                }
            }
        }
        Ok(RunData {
            rows,
            robustness,
            background,
            episodes,
            has_robustness,
            has_fewshot,
            has_background,
        })
    }
}

/// A finished cell a claim matched.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchedCell {
    /// Cell id.
    pub cell: String,
    /// Training seed.
    pub seed: u64,
    /// Epochs trained.
    pub epochs: usize,
    /// Parameters as `key=value` (the suite's).
    pub params: Vec<String>,
}

/// Why a side of a claim has no values.
#[derive(Clone, Debug, PartialEq)]
pub enum Missing {
    /// No finished cell of the method on the data set and model.
    Cells(String),
    /// Cells exist but the metric was not recorded for them.
    Metric(String),
}

/// The values of one method's metric in a run: one per seed (per episode for few-shot), with
/// the cells they came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Samples {
    /// The cells matched (finished, of the data set, model and label).
    pub cells: Vec<MatchedCell>,
    /// `(seed, value)`: one per cell, or one per episode for few-shot metrics.
    pub values: Vec<(u64, f64)>,
}

impl Samples {
    /// The values alone.
    pub fn plain(&self) -> Vec<f64> {
        self.values.iter().map(|v| v.1).collect()
    }

    /// Distinct seeds of the matched cells.
    pub fn seeds(&self) -> usize {
        let mut seeds: Vec<u64> = self.cells.iter().map(|c| c.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        seeds.len()
    }
}

impl RunData {
    /// The samples of `method`'s `metric` on `dataset` / `model`; `statistic` picks the epoch
    /// for accuracies. Only finished (`done`) cells count.
    pub fn samples(
        &self,
        dataset: &str,
        model: &str,
        method: &MethodRef,
        metric: Metric,
        statistic: Statistic,
    ) -> Result<Samples, Missing> {
        let rows: Vec<&SummaryRow> = self
            .rows
            .iter()
            .filter(|r| r.dataset == dataset && r.model == model && r.method == method.label())
            .collect();
        let done: Vec<&SummaryRow> = rows
            .iter()
            .copied()
            .filter(|r| r.status == "done")
            .collect();
        if done.is_empty() {
            let what = format!("{} on {dataset} / {model}", method.label());
            return Err(Missing::Cells(if rows.is_empty() {
                let labels: Vec<String> = self.labels(dataset, model);
                if labels.is_empty() {
                    format!("no cells of {what} (the run has no cells of {dataset} / {model})")
                } else {
                    format!("no cells of {what} (the run has {})", labels.join(", "))
                }
            } else {
                format!("none of the {} cells of {what} finished", rows.len())
            }));
        }
        let mut samples = Samples {
            cells: Vec::new(),
            values: Vec::new(),
        };
        let mut lacking = Vec::new();
        for r in done {
            let seed = r.seed.unwrap_or(0);
            samples.cells.push(MatchedCell {
                cell: r.cell.clone(),
                seed,
                epochs: r.epochs_done,
                params: r
                    .method_params
                    .split(';')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect(),
            });
            let value = match metric {
                Metric::Top1 => match statistic {
                    Statistic::Last => r.top1_last,
                    Statistic::Best => r.top1_best,
                    Statistic::MedianLast10 => r.top1_median_last10,
                },
                Metric::Top5 => match statistic {
                    Statistic::Best => r.top5_best,
                    _ => r.top5_last,
                },
                Metric::EpochTime => r.epoch_time_mean,
                Metric::MixTime => r.mix_time_mean,
                Metric::SaliencyTime => r.saliency_time_mean,
                Metric::CleanTop1 => self.robustness.get(&r.cell).map(|v| v.0),
                Metric::RobustTop1 => self.robustness.get(&r.cell).map(|v| v.1),
                Metric::BgGap => self.background.get(&r.cell).copied(),
                Metric::Fewshot { ways, shots } => {
                    match self.episodes.get(&(r.cell.clone(), ways, shots)) {
                        Some(accs) => {
                            samples.values.extend(accs.iter().map(|&a| (seed, a)));
                            continue;
                        }
                        None => None,
                    }
                }
            };
            match value.filter(|v| v.is_finite()) {
                Some(v) => samples.values.push((seed, v)),
                None => lacking.push(r.cell.clone()),
            }
        }
        if !lacking.is_empty() {
            let source = match metric {
                Metric::CleanTop1 | Metric::RobustTop1 if !self.has_robustness => {
                    "the run has no robustness results (robustness-cells.csv)".to_string()
                }
                Metric::BgGap if !self.has_background => {
                    "the run has no background results (background-cells.csv)".to_string()
                }
                Metric::Fewshot { .. } if !self.has_fewshot => {
                    "the run has no few-shot results (fewshot-episodes.csv)".to_string()
                }
                Metric::EpochTime | Metric::MixTime | Metric::SaliencyTime => {
                    format!("no timing data for {}", lacking.join(", "))
                }
                _ => format!("not recorded for {}", lacking.join(", ")),
            };
            return Err(Missing::Metric(source));
        }
        Ok(samples)
    }

    /// Method labels present on a data set and model, for messages.
    fn labels(&self, dataset: &str, model: &str) -> Vec<String> {
        let mut labels: Vec<String> = Vec::new();
        for r in &self.rows {
            if r.dataset == dataset && r.model == model && !labels.contains(&r.method) {
                labels.push(r.method.clone());
            }
        }
        labels
    }
}

/// Parameters a method reference asks for that some matched cell lacks, as
/// `key=wanted (cell has ...)` texts; numbers compare by value (`1` = `1.0`).
pub fn param_differences(method: &MethodRef, cells: &[MatchedCell]) -> Vec<String> {
    let mut out = Vec::new();
    for (key, wanted) in method.params() {
        for cell in cells {
            let has = cell
                .params
                .iter()
                .find_map(|p| p.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v));
            let same = match has {
                Some(v) => match (v.parse::<f64>(), wanted.parse::<f64>()) {
                    (Ok(a), Ok(b)) => a == b,
                    _ => v == wanted,
                },
                None => false,
            };
            if !same {
                out.push(format!(
                    "{} ran with {key}={} where the claim assumes {key}={wanted}",
                    cell.cell,
                    has.unwrap_or("(default)")
                ));
            }
        }
    }
    out
}
