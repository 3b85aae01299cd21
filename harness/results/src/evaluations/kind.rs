//! The trait every evaluation's results implement ([`EvaluationResults`]).

use std::path::Path;

use anyhow::Result;

use crate::metrics::MetricDecl;
use crate::report::values::MetricRow;
use crate::report::SectionSource;

/// What one kind of evaluation leaves in a run folder, read without running it: the stem of
/// its files and markers, the metrics its numbers are declared under, its values and (as a
/// [`SectionSource`]) its report section.
pub trait EvaluationResults: SectionSource + Send + Sync {
    /// Key under a suite's `evaluations:`, stem of the per-cell files and markers.
    fn name(&self) -> &'static str;

    /// Every metric [`EvaluationResults::values`] reports, with its unit, direction and kind:
    /// the evaluation's part of the metric catalogue ([`crate::metrics::catalogue`]).
    fn metrics(&self) -> &'static [MetricDecl];

    /// The numbers of the run-level files the report wrote into `run_dir` (a run or a
    /// baseline folder), as long-format rows: what `mixbench compare` judges, `mixbench
    /// history` stores and claims read (see [`super::values`]).
    fn values(&self, run_dir: &Path) -> Result<Vec<MetricRow>>;

    /// The finest-grained numbers of the run-level files, for claims' statistics: one row per
    /// episode where the evaluation has episodes (few-shot), else [`EvaluationResults::values`].
    fn samples(&self, run_dir: &Path) -> Result<Vec<MetricRow>> {
        self.values(run_dir)
    }

    /// `<name>.done`: written last in a cell folder, holds the settings' hash.
    fn done_file(&self) -> String {
        format!("{}.done", self.name())
    }

    /// `<name>.failed`: the error of a failed evaluation.
    fn failed_file(&self) -> String {
        format!("{}.failed", self.name())
    }
}
