//! The corruptions evaluation's files: its per-cell rows ([`rows`]), the mCE scores
//! ([`scores`]), and the run-level files, charts, report section and values built from them
//! ([`report`]).

pub mod report;
pub mod rows;
pub mod scores;

use std::path::Path;

use anyhow::Result;

use super::kind::EvaluationResults;
use crate::metrics::MetricDecl;
use crate::report::values::MetricRow;
use crate::report::{Section, SectionSource};

/// The corruptions evaluation's results (accuracy under natively generated common
/// corruptions, mCE).
pub struct CorruptionsResults;

impl EvaluationResults for CorruptionsResults {
    fn name(&self) -> &'static str {
        "corruptions"
    }

    fn metrics(&self) -> &'static [MetricDecl] {
        report::METRICS
    }

    fn values(&self, run_dir: &Path) -> Result<Vec<MetricRow>> {
        report::values(run_dir)
    }
}

impl SectionSource for CorruptionsResults {
    fn section(&self, run_dir: &Path) -> Result<Option<Section>> {
        report::build(run_dir, self)
    }
}
