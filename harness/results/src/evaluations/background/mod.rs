//! The background evaluation's files: its per-cell rows ([`rows`]), and the run-level files,
//! charts, report section and values built from them ([`report`]).

pub mod report;
pub mod rows;
pub mod variant;

use std::path::Path;

use anyhow::Result;

use super::kind::EvaluationResults;
use crate::metrics::MetricDecl;
use crate::report::values::MetricRow;
use crate::report::{Section, SectionSource};

/// The background evaluation's results (reliance on backgrounds (Noise or Signal variants)).
pub struct BackgroundResults;

impl EvaluationResults for BackgroundResults {
    fn name(&self) -> &'static str {
        "background"
    }

    fn metrics(&self) -> &'static [MetricDecl] {
        report::METRICS
    }

    fn values(&self, run_dir: &Path) -> Result<Vec<MetricRow>> {
        report::values(run_dir)
    }
}

impl SectionSource for BackgroundResults {
    fn section(&self, run_dir: &Path) -> Result<Option<Section>> {
        report::build(run_dir, self)
    }
}
