//! The long-format row every stored value becomes: `(cell, dataset, model, method, seed,
//! metric, condition, value)`, the columns of the `metrics` table (see [`super::schema`]).

/// One stored value: what was measured on which cell, under which condition.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricRow {
    /// Cell name; empty for a value of a method as a whole (the runtime ratio).
    pub cell: String,
    /// Dataset label.
    pub dataset: String,
    /// Model name.
    pub model: String,
    /// Method label.
    pub method: String,
    /// Seed; `None` for a value of a method as a whole.
    pub seed: Option<u64>,
    /// Metric name, e.g. `top1_last`, `robustness_top1`, `fewshot_accuracy`.
    pub metric: String,
    /// What the value was measured under, e.g. `noise:0.1`, `5way-1shot`, a runtime phase;
    /// empty when the metric has one value per cell.
    pub condition: String,
    /// The value (finite).
    pub value: f64,
}
