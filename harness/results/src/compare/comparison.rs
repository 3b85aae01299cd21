//! A whole comparison: both folders read, checked to be runs of the same suite, every metric
//! judged; and the exit status it gives.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::decide::Verdict;
use super::exact::compare_exact;
use super::load::RunData;
use super::row::{rows, Row};
use super::thresholds::Thresholds;
use crate::report::SUMMARY_CSV;

/// The result of comparing a run with a baseline.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// The baseline folder.
    pub baseline: PathBuf,
    /// The run folder.
    pub run: PathBuf,
    /// The suite(s) both compared folders ran.
    pub suites: Vec<String>,
    /// The thresholds applied.
    pub thresholds: Thresholds,
    /// One row per metric and group, in catalogue order.
    pub rows: Vec<Row>,
}

impl Comparison {
    /// Exit status of `mixbench compare`: 1 when some metric regressed, is missing from the
    /// run, or (unless `bit_exact.fails` is false) changed; else 0.
    pub fn exit_code(&self) -> u8 {
        let fails = |r: &Row| match r.verdict {
            Verdict::Regressed | Verdict::Missing => true,
            Verdict::Changed => self.thresholds.bit_exact.fails,
            Verdict::Improved | Verdict::New | Verdict::Unchanged => false,
        };
        u8::from(self.rows.iter().any(fails))
    }
}

/// Compares the run in `run` with the baseline in `baseline` (a run folder or a saved
/// baseline). Errors name the file: a folder without `summary.csv`, a malformed CSV file,
/// folders of different suites, folders with no metric in common.
pub fn compare(baseline: &Path, run: &Path, thresholds: &Thresholds) -> Result<Comparison> {
    let base = RunData::load(baseline)?;
    let new = RunData::load(run)?;
    if base.suites != new.suites {
        let names = |d: &RunData| d.suites.iter().cloned().collect::<Vec<_>>().join(", ");
        bail!(
            "{} is of suite `{}` but {} is of suite `{}`: compare runs of the same suite",
            base.dir.join(SUMMARY_CSV).display(),
            names(&base),
            new.dir.join(SUMMARY_CSV).display(),
            names(&new)
        );
    }
    if !base.table.keys().any(|k| new.table.contains_key(k)) {
        bail!(
            "{} and {} have no finished metric in common (no cell of the same data set, model and method finished in both)",
            base.dir.join(SUMMARY_CSV).display(),
            new.dir.join(SUMMARY_CSV).display()
        );
    }
    let exact = compare_exact(&base, &new);
    Ok(Comparison {
        baseline: baseline.to_path_buf(),
        run: run.to_path_buf(),
        suites: new.suites.iter().cloned().collect(),
        thresholds: thresholds.clone(),
        rows: rows(&base, &new, exact, thresholds),
    })
}
