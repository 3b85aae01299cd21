//! What a run folder holds for claims, and the matching of a claim's (data set, model,
//! method, parameters) to the cells that ran it. The values are read through the one reader
//! that `compare` and `history` use too: the `summary.csv` rows ([`crate::report::SummaryRow`],
//! [`crate::report::values`]) and each evaluation's samples
//! ([`crate::evaluations::EvaluationResults::samples`]), in long format under the catalogue's
//! metric names. Only run-level files are read, so a copied report folder
//! (`reports/cifar10-jpeg-*`) verifies as well as a live run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Result;

use super::file::{MethodRef, Metric, Statistic};
use crate::report::values::{summary_values, MetricRow};
use crate::report::{read_summary, SummaryRow};

/// `(dataset, model, method, metric, condition)`.
type MethodKey = (String, String, String, String, String);

/// The run-level files of a run folder, read once.
#[derive(Debug)]
pub struct RunData {
    rows: Vec<SummaryRow>,
    /// `(cell, metric, condition)` -> the values (one per cell; one per episode for few-shot).
    values: BTreeMap<(String, String, String), Vec<f64>>,
    /// `(dataset, model, method, metric, condition)` -> the values of a method as a whole
    /// (rows without a cell: the runtime ratio and its bounds).
    method_values: BTreeMap<MethodKey, Vec<f64>>,
    /// The evaluations with any values in the run.
    evaluated: BTreeSet<&'static str>,
}

impl RunData {
    /// Reads `summary.csv` (required) and the evaluations' run-level files present in
    /// `run_dir`; a value under a metric its evaluation does not declare is an error.
    pub fn load(run_dir: &Path) -> Result<Self> {
        let rows = read_summary(run_dir)?;
        let mut long: Vec<MetricRow> = rows.iter().flat_map(summary_values).collect();
        let mut evaluated = BTreeSet::new();
        for (name, samples) in crate::evaluations::read_each(run_dir, |k| k.samples(run_dir))? {
            if !samples.is_empty() {
                evaluated.insert(name);
            }
            long.extend(samples);
        }
        let mut values: BTreeMap<(String, String, String), Vec<f64>> = BTreeMap::new();
        let mut method_values: BTreeMap<MethodKey, Vec<f64>> = BTreeMap::new();
        for v in long {
            if v.cell.is_empty() {
                method_values
                    .entry((v.dataset, v.model, v.method, v.metric, v.condition))
                    .or_default()
                    .push(v.value);
            } else {
                values
                    .entry((v.cell, v.metric, v.condition))
                    .or_default()
                    .push(v.value);
            }
        }
        Ok(RunData {
            rows,
            values,
            method_values,
            evaluated,
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
    /// `(seed, value)`: one per cell, or one per episode for few-shot metrics; a value of the
    /// method as a whole (the runtime ratio) is one value, under seed 0.
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
        let done: Vec<&SummaryRow> = rows.iter().copied().filter(|r| r.is_done()).collect();
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
        let (name, condition) = metric.source(statistic);
        let of_method = self.method_values.get(&(
            dataset.to_string(),
            model.to_string(),
            method.label().to_string(),
            name.to_string(),
            condition.clone(),
        ));
        if let Some(found) = of_method {
            samples.values.extend(found.iter().map(|&v| (0, v)));
        }
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
            if of_method.is_some() {
                continue;
            }
            match self
                .values
                .get(&(r.cell.clone(), name.to_string(), condition.clone()))
            {
                Some(found) => samples.values.extend(found.iter().map(|&v| (seed, v))),
                None => lacking.push(r.cell.clone()),
            }
        }
        if !lacking.is_empty() {
            let producer = metric.producer();
            let source = if producer != "training" && !self.evaluated.contains(producer) {
                format!("the run has no {}", metric.producer_title())
            } else if metric.is_time() {
                format!("no timing data for {}", lacking.join(", "))
            } else {
                format!("not recorded for {}", lacking.join(", "))
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
