//! One row of a comparison (a line of `compare.csv`): a metric of a group, its verdict and the
//! evidence; and the judging of every metric the two folders have.

use serde::Serialize;

use super::decide::{self, Decision, RatioValue, Verdict};
use super::exact::ExactGroup;
use super::load::RunData;
use super::metric::{self, Kind};
use super::series::{Key, Series};
use super::thresholds::Thresholds;
use crate::report::stats::mean;

/// A row of `compare.csv`; field order is column order (new columns go at the end).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// `regressed`, `changed`, `missing`, `improved`, `new` or `unchanged`.
    pub verdict: Verdict,
    /// Metric name.
    pub metric: &'static str,
    /// `accuracy`, `time`, `ratio` or `exact`.
    pub kind: &'static str,
    /// Data set label.
    pub dataset: String,
    /// Model name.
    pub model: String,
    /// Method label.
    pub method: String,
    /// Evaluation condition (empty when there is none).
    pub condition: String,
    /// What one value is: `seed` (accuracies), `epoch` or `repeat` (times), `cell` (times
    /// from per-cell means or medians; bit-exact rows), `ratio`; empty for missing and new
    /// rows.
    pub unit: &'static str,
    /// Mean of the baseline's values.
    pub baseline_mean: Option<f64>,
    /// Mean of the run's values.
    pub run_mean: Option<f64>,
    /// `run_mean - baseline_mean`.
    pub delta: Option<f64>,
    /// Relative change (times, ratios).
    pub change: Option<f64>,
    /// p-value of the test, when one ran.
    pub p: Option<f64>,
    /// The test that decided.
    pub test: &'static str,
    /// Values on the baseline's side.
    pub n_baseline: usize,
    /// Values on the run's side.
    pub n_run: usize,
    /// Threshold applied (points, or a relative change).
    pub threshold: Option<f64>,
    /// Significance level, when a test ran.
    pub alpha: Option<f64>,
    /// The evidence in words.
    pub detail: String,
    /// The baseline's cells, `;`-joined.
    pub baseline_cells: String,
    /// The run's cells, `;`-joined.
    pub run_cells: String,
}

impl Row {
    /// The metric's group as `dataset/model/method[ condition]`.
    pub fn group(&self) -> String {
        self.key().group()
    }

    fn key(&self) -> Key {
        Key::new(self.metric, &self.dataset, &self.model, &self.method)
            .with_condition(self.condition.clone())
    }

    /// Sort order: the metric's place in the catalogue, then the group.
    pub fn order(&self) -> (usize, Key) {
        (metric::position(self.metric), self.key())
    }
}

/// A row with the key's columns and nothing else filled in.
fn blank(key: &Key, verdict: Verdict) -> Row {
    let metric = metric::find(key.metric).expect("keys name catalogue metrics");
    Row {
        verdict,
        metric: metric.name,
        kind: metric.kind.name(),
        dataset: key.dataset.clone(),
        model: key.model.clone(),
        method: key.method.clone(),
        condition: key.condition.clone(),
        unit: "",
        baseline_mean: None,
        run_mean: None,
        delta: None,
        change: None,
        p: None,
        test: "",
        n_baseline: 0,
        n_run: 0,
        threshold: None,
        alpha: None,
        detail: String::new(),
        baseline_cells: String::new(),
        run_cells: String::new(),
    }
}

/// The row of a key found on one side only.
fn one_sided(key: &Key, series: &Series, in_baseline: bool) -> Row {
    let mut row = blank(
        key,
        if in_baseline {
            Verdict::Missing
        } else {
            Verdict::New
        },
    );
    let m = mean(&series.per_cell);
    let cells = series.cells.join(";");
    if in_baseline {
        row.baseline_mean = m;
        row.n_baseline = series.per_cell.len();
        row.baseline_cells = cells;
        row.detail = format!(
            "in the baseline ({} value(s)), not in the run: its cells failed, were not run, or lack the evaluation",
            series.per_cell.len()
        );
    } else {
        row.run_mean = m;
        row.n_run = series.per_cell.len();
        row.run_cells = cells;
        row.detail = format!(
            "in the run ({} value(s)), not in the baseline",
            series.per_cell.len()
        );
    }
    row
}

/// The row of a key both sides have, judged by its metric's kind.
fn judged(key: &Key, base: &Series, run: &Series, thresholds: &Thresholds) -> Row {
    let metric = metric::find(key.metric).expect("keys name catalogue metrics");
    let (decision, unit, n, alpha): (Decision, &'static str, (usize, usize), Option<f64>) =
        match metric.kind {
            Kind::Accuracy => {
                let rule = thresholds.accuracy_rule(metric.name);
                let d = decide::accuracy(&base.per_cell, &run.per_cell, &rule, metric.direction);
                let n = (base.per_cell.len(), run.per_cell.len());
                (d, "seed", n, Some(rule.alpha))
            }
            Kind::Time => {
                let rule = thresholds.time_rule(metric.name);
                let (b, r, unit) = match (&base.repeated, &run.repeated) {
                    (Some(b), Some(r)) if !b.is_empty() && !r.is_empty() => {
                        (b.as_slice(), r.as_slice(), base.repeated_unit)
                    }
                    _ => (base.per_cell.as_slice(), run.per_cell.as_slice(), "cell"),
                };
                let d = decide::time(b, r, &rule, unit);
                (d, unit, (b.len(), r.len()), Some(rule.alpha))
            }
            Kind::Exact => unreachable!("bit-exact rows come from exact.rs, not from tables"),
            Kind::Ratio => {
                let rule = thresholds.time_rule(metric.name);
                let side = |s: &Series| RatioValue {
                    value: s.per_cell[0],
                    interval: s.interval,
                };
                let d = decide::ratio(side(base), side(run), &rule);
                (d, "ratio", (base.cells.len(), run.cells.len()), None)
            }
        };
    let mut row = blank(key, decision.verdict);
    row.unit = unit;
    row.baseline_mean = Some(decision.baseline_mean);
    row.run_mean = Some(decision.run_mean);
    row.delta = Some(decision.run_mean - decision.baseline_mean);
    row.change = decision.change;
    row.p = decision.p;
    row.test = decision.test;
    (row.n_baseline, row.n_run) = n;
    row.threshold = Some(decision.threshold);
    row.alpha = alpha;
    row.detail = decision.detail;
    row.baseline_cells = base.cells.join(";");
    row.run_cells = run.cells.join(";");
    row
}

/// Every metric either folder has, judged, and the bit-exact groups.
pub fn rows(base: &RunData, run: &RunData, exact: Vec<ExactGroup>, th: &Thresholds) -> Vec<Row> {
    let mut rows = Vec::new();
    for (key, b) in &base.table {
        rows.push(match run.table.get(key) {
            Some(r) => judged(key, b, r, th),
            None => one_sided(key, b, true),
        });
    }
    for (key, r) in &run.table {
        if !base.table.contains_key(key) {
            rows.push(one_sided(key, r, false));
        }
    }
    for group in exact {
        let mut row = blank(&group.key, group.verdict);
        row.unit = "cell";
        row.test = "bit-exact";
        (row.n_baseline, row.n_run) = (group.cells.len(), group.cells.len());
        row.baseline_cells = group.cells.join(";");
        row.run_cells = row.baseline_cells.clone();
        row.detail = group.detail;
        rows.push(row);
    }
    rows.sort_by_key(Row::order);
    rows
}
