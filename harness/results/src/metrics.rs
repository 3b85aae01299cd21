//! The vocabulary of the metric catalogue ([`crate::catalogue`]): a value in long format
//! ([`MetricRow`]) and a metric's declaration ([`MetricDecl`]). Every number mixbench reports
//! is declared once, by whoever produces it (the training summary, each evaluation), with its
//! unit, the direction that is better and its kind. `compare` judges by kind and direction, `history` stores, `claims` read and the
//! report labels by these declarations; a value under a metric nobody declared is an error
//! naming it ([`check_declared`]), never skipped.
//!
//! A metric has one name everywhere (claims files, thresholds files, `compare.csv`, the
//! history). The names claims files used before the catalogue are kept as documented aliases
//! for one release ([`ALIASES`], [`resolve_alias`]).

use anyhow::{bail, Result};

/// What a metric measures, which decides how it is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    /// Percentages or percentage points per seed (Welch's test and a minimum effect).
    Accuracy,
    /// Seconds (a relative threshold and Welch's test on log times).
    Time,
    /// A ratio of times with a bootstrap interval (a relative threshold and disjoint intervals).
    Ratio,
    /// The bound of a ratio's interval: stored and exported with the ratio, judged with it.
    RatioBound,
    /// A loss: recorded, stored and read by claims, not judged by `compare`. The training
    /// loss's scale depends on the method's soft targets, so a change is no regression by
    /// itself; the test losses (the calibration evaluation's NLL and Brier score) are on
    /// scales of their own, which the accuracy rule's minimum effect in percentage points does
    /// not fit.
    Loss,
}

impl MetricKind {
    /// The word written in `compare.csv` and the catalogue listing.
    pub fn name(self) -> &'static str {
        match self {
            MetricKind::Accuracy => "accuracy",
            MetricKind::Time => "time",
            MetricKind::Ratio => "ratio",
            MetricKind::RatioBound => "ratio_bound",
            MetricKind::Loss => "loss",
        }
    }
}

/// One value: what was measured on which cell, under which condition.
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
    /// Metric name, e.g. `top1_last`, `robustness_top1`, `runtime_epoch`.
    pub metric: String,
    /// What the value was measured under, e.g. `noise:0.1`, `5way-1shot`, a background
    /// variant; empty when the metric has one value per cell.
    pub condition: String,
    /// The value (finite).
    pub value: f64,
}

/// Which way a metric improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Accuracies.
    HigherIsBetter,
    /// Times, ratios, losses and the BG-Gap.
    LowerIsBetter,
}

impl Direction {
    /// `higher` or `lower`, as the catalogue listing writes it.
    pub fn name(self) -> &'static str {
        match self {
            Direction::HigherIsBetter => "higher",
            Direction::LowerIsBetter => "lower",
        }
    }
}

/// One declared metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricDecl {
    /// Name in the long-format values, `compare.csv`, thresholds and claims files, the history.
    pub name: &'static str,
    /// Unit of the value, e.g. `%`, `points`, `s`, `x`.
    pub unit: &'static str,
    /// Which way is better.
    pub direction: Direction,
    /// How it is compared.
    pub kind: MetricKind,
    /// What its conditions are, e.g. `clean, noise:<std>, ...`; empty when it has one value
    /// per cell.
    pub conditions: &'static str,
    /// One line: what the number is and which file holds it.
    pub doc: &'static str,
}

impl MetricDecl {
    /// A metric without conditions; `direction` follows from `kind` (accuracies higher,
    /// everything else lower is better).
    pub const fn new(
        name: &'static str,
        unit: &'static str,
        kind: MetricKind,
        doc: &'static str,
    ) -> Self {
        let direction = match kind {
            MetricKind::Accuracy => Direction::HigherIsBetter,
            _ => Direction::LowerIsBetter,
        };
        MetricDecl {
            name,
            unit,
            direction,
            kind,
            conditions: "",
            doc,
        }
    }

    /// The same metric measured under `conditions` (described for the listing).
    pub const fn under(mut self, conditions: &'static str) -> Self {
        self.conditions = conditions;
        self
    }

    /// The same metric with lower values better (the BG-Gap).
    pub const fn lower_is_better(mut self) -> Self {
        self.direction = Direction::LowerIsBetter;
        self
    }
}

/// Checks that every row's metric is declared by `producer` (`metrics`); an undeclared one is
/// an error naming it, the producer and `source` (the folder or file read).
pub fn check_declared(
    rows: &[MetricRow],
    producer: &str,
    metrics: &[MetricDecl],
    source: &str,
) -> Result<()> {
    if let Some(row) = rows
        .iter()
        .find(|r| !metrics.iter().any(|m| m.name == r.metric))
    {
        let declared: Vec<&str> = metrics.iter().map(|m| m.name).collect();
        bail!(
            "{source}: metric `{}` (cell `{}`) is not declared by `{producer}`{}; its metrics \
             are: {}",
            row.metric,
            row.cell,
            mixbench_params::did_you_mean(&row.metric, declared.iter().copied()),
            declared.join(", ")
        );
    }
    Ok(())
}

/// An old metric name of claims files and the catalogue name (and condition) it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alias {
    /// The old name.
    pub old: &'static str,
    /// The catalogue name.
    pub name: &'static str,
    /// The condition, empty for none.
    pub condition: &'static str,
}

/// The names claims files used before the catalogue, kept for one release. `top1` and `top5`
/// also take the protocol's `statistic` (see the claims documentation); the few-shot pattern
/// `fewshot_<N>way_<K>shot` is `fewshot_accuracy` under `<N>way-<K>shot`.
pub const ALIASES: [Alias; 6] = [
    Alias {
        old: "epoch_time",
        name: "epoch_time_mean",
        condition: "",
    },
    Alias {
        old: "mix_time",
        name: "mix_time_mean",
        condition: "",
    },
    Alias {
        old: "saliency_time",
        name: "saliency_time_mean",
        condition: "",
    },
    Alias {
        old: "clean_top1",
        name: "robustness_top1",
        condition: "clean",
    },
    Alias {
        old: "top1",
        name: "top1_last",
        condition: "",
    },
    Alias {
        old: "top5",
        name: "top5_last",
        condition: "",
    },
];

/// The catalogue name and condition an old claims-file name stands for (`None` for a name
/// that is no alias).
pub fn resolve_alias(old: &str) -> Option<(&'static str, String)> {
    if let Some(a) = ALIASES.iter().find(|a| a.old == old) {
        return Some((a.name, a.condition.to_string()));
    }
    let rest = old.strip_prefix("fewshot_")?;
    let (ways, shots) = rest.strip_suffix("shot")?.split_once("way_")?;
    ways.parse::<usize>().ok()?;
    shots.parse::<usize>().ok()?;
    Some(("fewshot_accuracy", format!("{ways}way-{shots}shot")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_undeclared_metric_is_an_error_naming_it() {
        let row = MetricRow {
            cell: "c1".into(),
            dataset: "d".into(),
            model: "m".into(),
            method: "vanilla".into(),
            seed: Some(0),
            metric: "runtime_warp".into(),
            condition: String::new(),
            value: 1.0,
        };
        let err = check_declared(
            &[row],
            "runtime",
            &[MetricDecl::new("runtime_epoch", "s", MetricKind::Time, "")],
            "run/runtime.csv",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`runtime_warp`")
                && err.contains("`runtime`")
                && err.contains("runtime_epoch"),
            "{err}"
        );
    }
}
