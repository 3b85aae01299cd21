//! The metrics `mixbench compare` judges: the bit-exact check of `metrics.csv` and every
//! catalogue metric ([`crate::catalogue`]) of an accuracy, time or ratio kind, each with how it
//! is judged and which way is better, in the order of `compare.csv` and the tables. A ratio's
//! interval bounds are judged with the ratio and a training loss is not judged (see
//! [`crate::metrics::MetricKind`]); the values come from [`super::load`].

use std::sync::OnceLock;

pub use crate::metrics::Direction;
use crate::metrics::MetricKind;

/// How a metric is judged (see [`super::decide`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// The non-timing columns of `metrics.csv`, compared bit for bit.
    Exact,
    /// Percentage points per seed: Welch's test on the per-seed values and a minimum effect.
    Accuracy,
    /// Seconds: a relative threshold and Welch's test on the log times of the repeated
    /// measurements.
    Time,
    /// A ratio with a bootstrap interval (the runtime ratio to Vanilla): a relative threshold
    /// and disjoint intervals.
    Ratio,
}

impl Kind {
    /// The word written in `compare.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Accuracy => "accuracy",
            Kind::Time => "time",
            Kind::Ratio => "ratio",
            Kind::Exact => "exact",
        }
    }

    /// How a catalogue kind is judged; `None` for kinds compare does not judge on their own.
    fn of(kind: MetricKind) -> Option<Kind> {
        match kind {
            MetricKind::Accuracy => Some(Kind::Accuracy),
            MetricKind::Time => Some(Kind::Time),
            MetricKind::Ratio => Some(Kind::Ratio),
            MetricKind::RatioBound | MetricKind::Loss => None,
        }
    }
}

/// One comparable metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metric {
    /// Name in `compare.csv`, on the terminal and in the thresholds file.
    pub name: &'static str,
    /// How it is judged.
    pub kind: Kind,
    /// Which way is better.
    pub direction: Direction,
}

/// Name of the bit-exact check of the cells' `metrics.csv` (compare's own, not a value).
pub const BIT_EXACT: &str = "bit_exact";

/// Every judged metric, in the order of `compare.csv` and the tables: the bit-exact check,
/// then the catalogue's accuracies, times and ratios, each kind in catalogue order.
pub fn metrics() -> &'static [Metric] {
    static METRICS: OnceLock<Vec<Metric>> = OnceLock::new();
    METRICS.get_or_init(|| {
        let mut out = vec![Metric {
            name: BIT_EXACT,
            kind: Kind::Exact,
            direction: Direction::LowerIsBetter,
        }];
        for producer in crate::catalogue::catalogue() {
            for m in producer.metrics {
                if let Some(kind) = Kind::of(m.kind) {
                    out.push(Metric {
                        name: m.name,
                        kind,
                        direction: m.direction,
                    });
                }
            }
        }
        // Stable: within a kind, the catalogue's order.
        out.sort_by_key(|m| m.kind);
        out
    })
}

/// The judged metric named `name`.
pub fn find(name: &str) -> Option<&'static Metric> {
    metrics().iter().find(|m| m.name == name)
}

/// Position of a metric in [`metrics`] (the order of the tables).
pub fn position(name: &str) -> usize {
    metrics()
        .iter()
        .position(|m| m.name == name)
        .unwrap_or(metrics().len())
}
