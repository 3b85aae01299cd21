//! The numbers each plot shows, computed from the done cells of one (dataset, model) group.
//! Pure functions, so the plotted values can be tested without looking at images. Accuracies
//! that are not finite (a diverged run) are left out of the plots; the CSV files keep them.

use std::collections::BTreeMap;

use super::aggregate::{Group, MethodCells};
use super::cells::Cell;
use super::stats;
use super::summary::SummaryRow;
use crate::records::EpochMetrics;

/// Names of the phases of an epoch, in stacking order; `other` is the part of the epoch's wall
/// time that no phase timer covers.
pub(crate) const PHASES: [&str; 7] = [
    "data",
    "saliency",
    "mix",
    "forward_backward",
    "optimizer",
    "eval",
    "other",
];

/// Test top-1 of one epoch over a method's seeds.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CurvePoint {
    pub epoch: usize,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// One method's accuracy curve.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Curve {
    /// Legend text: method and number of seeds.
    pub label: String,
    pub points: Vec<CurvePoint>,
}

/// One method's final (last-epoch) test top-1 over seeds.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FinalPoint {
    /// Axis text: method and number of seeds.
    pub label: String,
    /// Each seed's value.
    pub values: Vec<f64>,
    pub mean: Option<f64>,
    pub std: Option<f64>,
}

/// One method's mean seconds per epoch in each of [`PHASES`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PhaseBar {
    /// Axis text: method and number of seeds.
    pub label: String,
    pub seconds: [f64; PHASES.len()],
}

/// Text naming a method and the number of seeds behind its numbers.
fn label(method: &str, n: usize) -> String {
    format!("{method} (n={n})")
}

/// The metrics of a method's cells that recorded at least one epoch.
fn method_metrics<'a>(method: &MethodCells, cells: &'a [Cell]) -> Vec<&'a [EpochMetrics]> {
    method
        .members
        .iter()
        .map(|&i| cells[i].metrics.as_slice())
        .filter(|m| !m.is_empty())
        .collect()
}

/// Per method, test top-1 per epoch: mean, min and max over the seeds that reached the epoch.
pub(crate) fn accuracy_curves(group: &Group, cells: &[Cell]) -> Vec<Curve> {
    group
        .methods
        .iter()
        .map(|method| {
            let runs = method_metrics(method, cells);
            let mut by_epoch: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
            let rows = runs.iter().flat_map(|m| m.iter());
            for row in rows.filter(|r| r.test_top1.is_finite()) {
                by_epoch.entry(row.epoch).or_default().push(row.test_top1);
            }
            let points = by_epoch
                .into_iter()
                .filter_map(|(epoch, v)| curve_point(epoch, &v))
                .collect();
            Curve {
                label: label(&method.method, runs.len()),
                points,
            }
        })
        .collect()
}

/// Mean, min and max of one epoch's values.
fn curve_point(epoch: usize, values: &[f64]) -> Option<CurvePoint> {
    let (min, max) = stats::min_max(values)?;
    Some(CurvePoint {
        epoch,
        mean: stats::mean(values)?,
        min,
        max,
    })
}

/// Per method, the last-epoch test top-1 of each seed with mean and sample std.
pub(crate) fn final_points(group: &Group, rows: &[SummaryRow]) -> Vec<FinalPoint> {
    group
        .methods
        .iter()
        .map(|method| {
            let values: Vec<f64> = method
                .members
                .iter()
                .filter_map(|&i| rows[i].top1_last)
                .filter(|v| v.is_finite())
                .collect();
            FinalPoint {
                label: label(&method.method, values.len()),
                mean: stats::mean(&values),
                std: stats::sample_std(&values),
                values,
            }
        })
        .collect()
}

/// Per method, mean seconds per epoch in each phase: averaged over each seed's epochs, then
/// over seeds (each seed weighs the same).
pub(crate) fn phase_bars(group: &Group, cells: &[Cell]) -> Vec<PhaseBar> {
    group
        .methods
        .iter()
        .map(|method| {
            let runs = method_metrics(method, cells);
            let per_run: Vec<[f64; PHASES.len()]> = runs.iter().map(|m| run_phases(m)).collect();
            let mut seconds = [0.0; PHASES.len()];
            for (phase, slot) in seconds.iter_mut().enumerate() {
                let values: Vec<f64> = per_run.iter().map(|p| p[phase]).collect();
                *slot = stats::mean(&values).unwrap_or(0.0);
            }
            PhaseBar {
                label: label(&method.method, runs.len()),
                seconds,
            }
        })
        .collect()
}

/// One run's mean seconds per epoch in each phase; `other` is what the timers leave out of
/// the epoch's wall time (never negative).
fn run_phases(metrics: &[EpochMetrics]) -> [f64; PHASES.len()] {
    let mean = |f: fn(&EpochMetrics) -> f64| {
        stats::mean(&metrics.iter().map(f).collect::<Vec<_>>()).unwrap_or(0.0)
    };
    let timed = [
        mean(|m| m.time_data),
        mean(|m| m.time_saliency),
        mean(|m| m.time_mix),
        mean(|m| m.time_forward_backward),
        mean(|m| m.time_optimizer),
        mean(|m| m.time_eval),
    ];
    let other = (mean(|m| m.time_epoch) - timed.iter().sum::<f64>()).max(0.0);
    [
        timed[0], timed[1], timed[2], timed[3], timed[4], timed[5], other,
    ]
}
