//! The values of one run that a comparison reads: per metric and group ([`Key`]), a
//! [`Series`] of one value per cell (seed) and, for times, the repeated measurements pooled
//! over the cells.

use std::collections::BTreeMap;

/// A metric of one (dataset, model, method) group, under one evaluation condition (a
/// robustness perturbation and level, a few-shot N-way K-shot, a background variant; empty
/// for the others).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// Metric name (one of [`super::metric::metrics`]).
    pub metric: &'static str,
    /// Data set label.
    pub dataset: String,
    /// Model name.
    pub model: String,
    /// Method label.
    pub method: String,
    /// Evaluation condition, e.g. `noise:0.05` or `5way-1shot`; empty when there is none.
    pub condition: String,
}

impl Key {
    /// The key of `metric` for a group, without a condition.
    pub fn new(metric: &'static str, dataset: &str, model: &str, method: &str) -> Self {
        Key {
            metric,
            dataset: dataset.to_string(),
            model: model.to_string(),
            method: method.to_string(),
            condition: String::new(),
        }
    }

    /// The same key under `condition`.
    pub fn with_condition(mut self, condition: String) -> Self {
        self.condition = condition;
        self
    }

    /// `dataset/model/method`, and the condition after a space when there is one.
    pub fn group(&self) -> String {
        let group = format!("{}/{}/{}", self.dataset, self.model, self.method);
        if self.condition.is_empty() {
            group
        } else {
            format!("{group} {}", self.condition)
        }
    }
}

/// One metric of one group in one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// Cells the values came from, in the order added.
    pub cells: Vec<String>,
    /// One value per cell (ratios: the one value pooled over the cells).
    pub per_cell: Vec<f64>,
    /// Times only: every repeated measurement (epochs of training, repetitions of the runtime
    /// evaluation) of every cell, pooled; `None` when some cell's file with them is absent.
    pub repeated: Option<Vec<f64>>,
    /// What a repeated measurement is (`epoch`, `repeat`).
    pub repeated_unit: &'static str,
    /// Ratio metrics: the 95% bootstrap interval of the single value.
    pub interval: Option<(f64, f64)>,
}

/// A run's series by key.
pub type Table = BTreeMap<Key, Series>;

/// Adds one cell's value to the series of `key`.
pub fn add(table: &mut Table, key: Key, cell: &str, value: f64) {
    let series = table.entry(key).or_default();
    series.cells.push(cell.to_string());
    series.per_cell.push(value);
}

/// Adds one cell's time to the series of `key`, with the cell's repeated measurements (each a
/// `unit`), or `None` when the file holding them is absent (the series then has none).
pub fn add_timed(
    table: &mut Table,
    key: Key,
    cell: &str,
    value: f64,
    unit: &'static str,
    repeated: Option<Vec<f64>>,
) {
    let series = table.entry(key).or_default();
    series.repeated = if series.cells.is_empty() {
        repeated
    } else {
        match (series.repeated.take(), repeated) {
            (Some(mut all), Some(more)) => {
                all.extend(more);
                Some(all)
            }
            _ => None,
        }
    };
    series.repeated_unit = unit;
    series.cells.push(cell.to_string());
    series.per_cell.push(value);
}
