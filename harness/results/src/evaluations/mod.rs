//! The evaluations' results as a run folder holds them: each kind's per-cell and run-level
//! files ([`robustness`], [`fewshot`], [`background`], [`calibration`], [`runtime`], [`occlusion`]), the
//! report section built from them, the metrics they declare and their values in long
//! format. The computations that write the per-cell files need libtorch and live in the
//! `mixbench` crate, whose evaluations name their [`EvaluationResults`] here; everything that
//! only reads results (reports, claims, comparisons, the history) goes through [`registry`].

pub mod background;
pub mod calibration;
pub mod collect;
pub mod corruptions;
pub mod fewshot;
mod kind;
pub mod occlusion;
pub mod robustness;
pub mod runtime;
pub mod values;

use std::path::Path;

use anyhow::Result;

use crate::report::values::MetricRow;
use crate::report::SectionSource;

pub use kind::EvaluationResults;

/// Every evaluation's results, in the order they run and appear in reports. The `mixbench`
/// crate's evaluation registry holds the same kinds in the same order (checked by its tests).
pub fn registry() -> &'static [&'static dyn EvaluationResults] {
    &[
        &robustness::RobustnessResults,
        &corruptions::CorruptionsResults,
        &fewshot::FewShotResults,
        &background::BackgroundResults,
        &calibration::CalibrationResults,
        &runtime::RuntimeResults,
        &occlusion::OcclusionResults,
    ]
}

/// The report sections of every evaluation, for [`crate::report::build_report`].
pub fn report_sections() -> Vec<&'static dyn SectionSource> {
    registry()
        .iter()
        .map(|e| *e as &'static dyn SectionSource)
        .collect()
}

/// The numbers of every evaluation's run-level files in the run (or baseline) folder
/// `run_dir`, as long-format rows, in the registry's order (see [`values`]); a row under a
/// metric its evaluation does not declare is an error naming it.
pub fn read_values(run_dir: &Path) -> Result<Vec<MetricRow>> {
    Ok(read_each(run_dir, |kind| kind.values(run_dir))?
        .into_iter()
        .flat_map(|(_, rows)| rows)
        .collect())
}

/// Each evaluation's rows as `read` gives them from `run_dir` (its values or its samples),
/// with its name, in the registry's order; a row under a metric its evaluation does not
/// declare is an error naming it.
pub fn read_each(
    run_dir: &Path,
    read: impl Fn(&dyn EvaluationResults) -> Result<Vec<MetricRow>>,
) -> Result<Vec<(&'static str, Vec<MetricRow>)>> {
    let mut out = Vec::new();
    for kind in registry() {
        let rows = read(*kind)?;
        crate::metrics::check_declared(
            &rows,
            kind.name(),
            kind.metrics(),
            &run_dir.display().to_string(),
        )?;
        out.push((kind.name(), rows));
    }
    Ok(out)
}
