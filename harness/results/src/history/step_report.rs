//! `history steps`: the step detector ([`super::steps`]) run over each series of a metric, and
//! each step found as a line naming the run (and commit) where the metric moved.

use super::series::{Point, Series};
use super::steps::detect_steps;

/// A step found in a series.
#[derive(Clone, Debug, PartialEq)]
pub struct FoundStep<'a> {
    /// The series.
    pub series: &'a Series,
    /// Position of `at` in the series' points.
    pub index: usize,
    /// The first run at the new level.
    pub at: &'a Point,
    /// The run before it.
    pub previous: &'a Point,
    /// Level before the step.
    pub before: f64,
    /// Level from `at` on.
    pub after: f64,
    /// The series' robust noise estimate.
    pub noise: f64,
}

impl FoundStep<'_> {
    /// One line: metric, series, the move, where it happened and the noise it stands out of.
    pub fn line(&self) -> String {
        let change = self.after - self.before;
        let relative = if self.before != 0.0 {
            format!(", {:+.2}%", 100.0 * change / self.before.abs())
        } else {
            String::new()
        };
        format!(
            "{} {}: {:.4} -> {:.4} ({change:+.4}{relative}) at run {} (commit {}, {}), \
             after run {} (commit {}); noise {:.4} over {} runs",
            self.series.metric,
            self.series.label(),
            self.before,
            self.after,
            self.at.run,
            self.at.commit,
            self.at.run_date,
            self.previous.run,
            self.previous.commit,
            self.noise,
            self.series.points.len()
        )
    }
}

/// The steps of every series, series in order, steps in run order.
pub fn find_steps(series: &[Series]) -> Vec<FoundStep<'_>> {
    series
        .iter()
        .flat_map(|s| {
            let values: Vec<f64> = s.points.iter().map(|p| p.mean).collect();
            let fit = detect_steps(&values);
            fit.steps()
                .into_iter()
                .map(|step| FoundStep {
                    series: s,
                    index: step.index,
                    at: &s.points[step.index],
                    previous: &s.points[step.index - 1],
                    before: step.before,
                    after: step.after,
                    noise: fit.noise,
                })
                .collect::<Vec<_>>()
        })
        .collect()
}
