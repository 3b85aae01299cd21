//! Claims as data, and their verification on a run: `mixbench verify RUN_DIR [--claims FILE]`.
//!
//! A claims file ([`mod@file`]) states what a paper (or you) claims, each claim with its source,
//! the protocol it assumes and a kind (`value`, `order`, `ratio`, `relation`, `equivalence`).
//! Verification reads the run's CSV files ([`matching`]), matches each claim to the cells of
//! its data set, model and methods, checks the protocol, tests the claim with statistics fit
//! for few seeds ([`stats`]) and decides holds / fails / inconclusive with Holm's correction
//! across a file's claims ([`verdict`]). It writes `claims.csv`, the published-versus-measured
//! charts and the "Claims" section of `report.md` ([`report`], [`chart`]).
//!
//! This module reads only the files a run leaves (`summary.csv` and the evaluations'
//! run-level CSVs), so it sits above the evaluations and the executor and below the suite,
//! which records the claims files a suite names in its run folder (`claims/`).

pub mod chart;
pub mod file;
pub mod matching;
pub mod report;
pub mod stats;
pub mod verdict;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub use file::ClaimsFile;
pub use report::{ClaimsSection, CLAIMS_CSV};
pub use verdict::{Options, Outcome, Verdict};

use crate::report::SectionSource;

/// Folder of a run holding copies of the claims files its suite names.
pub const RUN_CLAIMS_DIR: &str = "claims";

/// What [`verify`] produced.
#[derive(Debug)]
pub struct Verification {
    /// One outcome per claim, files in order.
    pub outcomes: Vec<Outcome>,
    /// Files written: `claims.csv`, the charts, `report.md`.
    pub written: Vec<PathBuf>,
}

impl Verification {
    /// Exit status of `mixbench verify`: 1 when a claim fails (or, with `strict`, is
    /// inconclusive), else 0.
    pub fn exit_code(&self, strict: bool) -> u8 {
        let bad = |o: &Outcome| {
            o.verdict == Verdict::Fails || (strict && o.verdict == Verdict::Inconclusive)
        };
        u8::from(self.outcomes.iter().any(bad))
    }
}

/// The claims files recorded in a run folder (`RUN_DIR/claims/*.yaml`), sorted by name.
pub fn recorded_claims(run_dir: &Path) -> Result<Vec<PathBuf>> {
    let dir = run_dir.join(RUN_CLAIMS_DIR);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Verifies `files` on the run in `run_dir`: writes `claims.csv`, the charts and the claims
/// section of `report.md`, and returns the outcomes.
pub fn verify(run_dir: &Path, files: &[ClaimsFile], options: Options) -> Result<Verification> {
    if files.is_empty() {
        bail!(
            "{}: no claims to verify: the run's suite names no claims file (`claims:`), pass --claims FILE",
            run_dir.display()
        );
    }
    let mut stems: Vec<String> = Vec::new();
    for f in files {
        if stems.contains(&f.stem()) {
            bail!(
                "two claims files are named `{}`; claims.csv tells them apart by name",
                f.stem()
            );
        }
        stems.push(f.stem());
    }
    let run = matching::RunData::load(run_dir)?;
    let outcomes: Vec<Outcome> = files
        .iter()
        .flat_map(|f| verdict::verify_file(f, &run, options))
        .collect();
    let mut written = vec![report::write_csv(run_dir, &outcomes)?];
    let section = ClaimsSection
        .section(run_dir)?
        .context("claims.csv was just written")?;
    written.extend(section.plots);
    written.push(report::splice(run_dir, &section.markdown)?);
    Ok(Verification { outcomes, written })
}

/// The verdicts as lines for the terminal: one per claim, verdict first.
pub fn summary_lines(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| {
            let verdict = match o.reason {
                Some(r) => format!("{} ({})", o.verdict.name(), r.name()),
                None => o.verdict.name().to_string(),
            };
            let p = match (o.p, o.p_holm) {
                (Some(p), Some(h)) => {
                    format!(" [p {}, Holm {}]", verdict::fmt_p(p), verdict::fmt_p(h))
                }
                _ => String::new(),
            };
            format!("{verdict:<32} {}/{}: {}{p}", o.file, o.id, o.detail)
        })
        .collect()
}

#[cfg(test)]
mod tests;
