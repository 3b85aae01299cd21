//! The occlusion evaluation's files: its per-cell rows ([`rows`]), and the run-level files,
//! charts, report section and values built from them ([`report`]).

pub mod report;
pub mod rows;

use std::path::Path;

use anyhow::Result;

use super::kind::EvaluationResults;
use crate::metrics::MetricDecl;
use crate::report::values::MetricRow;
use crate::report::{Section, SectionSource};

/// The occlusion evaluation's results (top-1 as random patches or the most salient square
/// cover a growing fraction of every test image).
pub struct OcclusionResults;

impl EvaluationResults for OcclusionResults {
    fn name(&self) -> &'static str {
        "occlusion"
    }

    fn metrics(&self) -> &'static [MetricDecl] {
        report::METRICS
    }

    fn values(&self, run_dir: &Path) -> Result<Vec<MetricRow>> {
        report::values(run_dir)
    }
}

impl SectionSource for OcclusionResults {
    fn section(&self, run_dir: &Path) -> Result<Option<Section>> {
        report::build(run_dir, self)
    }
}
