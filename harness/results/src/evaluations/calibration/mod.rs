//! The calibration evaluation's files: the measures in plain Rust ([`measures`]: ECE over
//! equal-width and equal-mass bins, MCE, NLL, Brier score, the temperature fit), its per-cell
//! rows ([`rows`]), and the run-level files, charts, report section and values built from
//! them ([`report`]). Definitions and the check against torchmetrics and netcal:
//! `docs/calibration.md`.

pub mod measures;
pub mod report;
pub mod rows;

use std::path::Path;

use anyhow::Result;

use super::kind::EvaluationResults;
use crate::metrics::MetricDecl;
use crate::report::values::MetricRow;
use crate::report::{Section, SectionSource};

/// The calibration evaluation's results (how well each cell's confidences match its accuracy,
/// before and after temperature scaling).
pub struct CalibrationResults;

impl EvaluationResults for CalibrationResults {
    fn name(&self) -> &'static str {
        "calibration"
    }

    fn metrics(&self) -> &'static [MetricDecl] {
        report::METRICS
    }

    fn values(&self, run_dir: &Path) -> Result<Vec<MetricRow>> {
        report::values(run_dir)
    }
}

impl SectionSource for CalibrationResults {
    fn section(&self, run_dir: &Path) -> Result<Option<Section>> {
        report::build(run_dir, self)
    }
}
