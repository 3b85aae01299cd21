//! The fewshot evaluation's files: its per-cell rows ([`rows`]), and the run-level files,
//! charts, report section and values built from them ([`report`]).

pub mod report;
pub mod rows;

use std::path::Path;

use anyhow::Result;

use super::kind::EvaluationResults;
use crate::metrics::MetricDecl;
use crate::report::values::MetricRow;
use crate::report::{Section, SectionSource};

/// The fewshot evaluation's results (few-shot episode accuracy of the frozen features).
pub struct FewShotResults;

impl EvaluationResults for FewShotResults {
    fn name(&self) -> &'static str {
        "fewshot"
    }

    fn metrics(&self) -> &'static [MetricDecl] {
        report::METRICS
    }

    fn values(&self, run_dir: &Path) -> Result<Vec<MetricRow>> {
        report::values(run_dir)
    }

    fn samples(&self, run_dir: &Path) -> Result<Vec<MetricRow>> {
        report::episode_values(run_dir)
    }
}

impl SectionSource for FewShotResults {
    fn section(&self, run_dir: &Path) -> Result<Option<Section>> {
        report::build(run_dir, self)
    }
}
