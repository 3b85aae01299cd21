//! Saved baselines: `mixbench baseline RUN_DIR DEST` copies what a comparison reads out of a
//! run folder into a folder of its own (for instance `reports/baselines/<suite>/`, kept in the
//! repository), which `mixbench compare` then takes as BASELINE like a run folder:
//!
//! - every run-level CSV file (`summary.csv`, `methods.csv`, the evaluations' files);
//! - `suite.yaml`, when the run has it, to say what was run;
//! - per cell, `cells/<cell>/cell.json`, `metrics.csv` and `runtime.csv` when present (the
//!   per-epoch times, the bit-exact metrics, the runtime repetitions).
//!
//! Checkpoints, plots and markers are left behind: a baseline is a few hundred kilobytes.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::load::RunData;
use crate::evaluations::runtime::rows::CELL_CSV as RUNTIME_CSV;
use crate::records;

/// The per-cell files a baseline keeps.
const CELL_FILES: [&str; 3] = [records::CELL_INFO, records::METRICS, RUNTIME_CSV];

/// Copies `from` to `to` atomically, creating `to`'s folder.
fn copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let bytes = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    records::write_atomic(to, &bytes)
}

/// Saves the baseline of the run in `run` into `dest`, which must not exist or be empty (a
/// baseline is replaced whole, never merged). Returns the files written.
pub fn save(run: &Path, dest: &Path) -> Result<Vec<PathBuf>> {
    RunData::load(run)?;
    if dest.exists() {
        let mut entries =
            std::fs::read_dir(dest).with_context(|| format!("reading {}", dest.display()))?;
        if entries.next().is_some() {
            bail!(
                "{}: not empty; a baseline is replaced whole: remove the folder first",
                dest.display()
            );
        }
    }
    let mut written = Vec::new();
    let mut top: Vec<PathBuf> = std::fs::read_dir(run)
        .with_context(|| format!("listing {}", run.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && (p.extension().is_some_and(|e| e == "csv")
                    || p.file_name().is_some_and(|n| n == "suite.yaml"))
        })
        .collect();
    top.sort();
    for from in top {
        let to = dest.join(from.file_name().unwrap_or_default());
        copy(&from, &to)?;
        written.push(to);
    }
    if run.join(records::CELLS_DIR).is_dir() {
        for cell in records::cell_dirs(run)? {
            let name = cell.file_name().unwrap_or_default();
            for file in CELL_FILES {
                let from = cell.join(file);
                if from.is_file() {
                    let to = dest.join(records::CELLS_DIR).join(name).join(file);
                    copy(&from, &to)?;
                    written.push(to);
                }
            }
        }
    }
    Ok(written)
}
