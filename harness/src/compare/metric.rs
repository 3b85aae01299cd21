//! The metrics `mixbench compare` knows: each one's name (as written in `compare.csv` and in a
//! thresholds file), how it is judged and which way is better; the values come from [`super::load`].

/// How a metric is judged (see [`super::decide`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Percentage points per seed: Welch's test on the per-seed values and a minimum effect.
    Accuracy,
    /// Seconds: a relative threshold and Welch's test on the log times of the repeated
    /// measurements.
    Time,
    /// A ratio with a bootstrap interval (the runtime ratio to Vanilla): a relative threshold
    /// and disjoint intervals.
    Ratio,
    /// The non-timing columns of `metrics.csv`, compared bit for bit.
    Exact,
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
}

/// Which way a metric improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Accuracies.
    HigherIsBetter,
    /// Times, ratios and the BG-Gap.
    LowerIsBetter,
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

const fn metric(name: &'static str, kind: Kind) -> Metric {
    let direction = match kind {
        Kind::Accuracy => Direction::HigherIsBetter,
        _ => Direction::LowerIsBetter,
    };
    Metric {
        name,
        kind,
        direction,
    }
}

/// Every metric, in the order of `compare.csv` and the tables.
pub const METRICS: [Metric; 24] = [
    metric("bit_exact", Kind::Exact),
    metric("top1_last", Kind::Accuracy),
    metric("top1_best", Kind::Accuracy),
    metric("top1_median_last10", Kind::Accuracy),
    metric("top5_last", Kind::Accuracy),
    metric("top5_best", Kind::Accuracy),
    metric("robust_top1", Kind::Accuracy),
    metric("robustness_top1", Kind::Accuracy),
    metric("fewshot_accuracy", Kind::Accuracy),
    metric("background_top1", Kind::Accuracy),
    Metric {
        name: "bg_gap",
        kind: Kind::Accuracy,
        direction: Direction::LowerIsBetter,
    },
    metric("epoch_time_mean", Kind::Time),
    metric("mix_time_mean", Kind::Time),
    metric("saliency_time_mean", Kind::Time),
    metric("runtime_data", Kind::Time),
    metric("runtime_saliency", Kind::Time),
    metric("runtime_mix", Kind::Time),
    metric("runtime_forward_backward", Kind::Time),
    metric("runtime_optimizer", Kind::Time),
    metric("runtime_other", Kind::Time),
    metric("runtime_evaluation", Kind::Time),
    metric("runtime_train", Kind::Time),
    metric("runtime_epoch", Kind::Time),
    metric("runtime_ratio", Kind::Ratio),
];

/// The metric named `name`.
pub fn find(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name == name)
}

/// Position of a metric in [`METRICS`] (the order of the tables).
pub fn position(name: &str) -> usize {
    METRICS
        .iter()
        .position(|m| m.name == name)
        .unwrap_or(METRICS.len())
}
