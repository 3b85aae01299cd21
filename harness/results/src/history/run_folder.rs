//! What `mixbench history add` takes from a run folder: its provenance, its cells (the rows of
//! `summary.csv`) and their values as long-format metric rows (the summary's numbers of done
//! cells, [`crate::report::values`], then the evaluations' run-level files,
//! [`crate::evaluations::values`]). Only run-level files are read, so a copied report folder
//! is stored like a live run.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::UNIX_EPOCH;

use anyhow::{bail, Result};

use crate::evaluations::read_values;
use crate::records::{self, DONE};
use crate::report::values::{summary_values, MetricRow};
use crate::report::{read_summary, SummaryRow, SUMMARY_CSV};

/// Who made a run and with what: each field holds the distinct values of the run's cells,
/// `, `-joined (one, unless the run mixed builds or machines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// Name the run is stored under.
    pub name: String,
    /// Suite name(s).
    pub suite: String,
    /// mixbench version(s) and commit(s), `version+commit`.
    pub code_version: String,
    /// The commit part(s) of `code_version`.
    pub commit: String,
    /// libtorch version(s).
    pub libtorch: String,
    /// Device(s).
    pub device: String,
}

/// Everything `history add` stores of a run folder.
#[derive(Clone, Debug)]
pub struct RunFolder {
    /// Provenance.
    pub provenance: Provenance,
    /// When the run finished, in seconds since 1970: the newest `done` marker of its cells
    /// (else the time `summary.csv` was written).
    pub finished_unix: i64,
    /// Every cell of `summary.csv`.
    pub cells: Vec<SummaryRow>,
    /// The values of the done cells and of the evaluation files.
    pub metrics: Vec<MetricRow>,
}

/// Reads the run folder `run_dir`, to be stored as `name` (default: the folder's name).
pub fn read(run_dir: &Path, name: Option<&str>) -> Result<RunFolder> {
    let cells = read_summary(run_dir)?;
    if cells.is_empty() {
        bail!("{}: no cells", run_dir.join(SUMMARY_CSV).display());
    }
    let name = match name {
        Some(n) => n.to_string(),
        None => folder_name(run_dir)?,
    };
    let distinct = |field: fn(&SummaryRow) -> &str| {
        let values: BTreeSet<&str> = cells.iter().map(field).filter(|v| !v.is_empty()).collect();
        values.into_iter().collect::<Vec<_>>().join(", ")
    };
    let provenance = Provenance {
        name,
        suite: distinct(|c| &c.suite),
        code_version: distinct(|c| &c.code_version),
        commit: distinct(|c| commit_of(&c.code_version)),
        libtorch: distinct(|c| &c.libtorch),
        device: distinct(|c| &c.device),
    };
    let mut metrics: Vec<MetricRow> = cells.iter().flat_map(summary_values).collect();
    metrics.extend(read_values(run_dir)?);
    Ok(RunFolder {
        provenance,
        finished_unix: finished_unix(run_dir, &cells)?,
        cells,
        metrics,
    })
}

/// The commit of a code version `version+commit` (the whole text when it has no `+`).
fn commit_of(code_version: &str) -> &str {
    code_version
        .split_once('+')
        .map_or(code_version, |(_, commit)| commit)
}

/// The last component of the run folder's path (made absolute first, so `.` has a name).
fn folder_name(run_dir: &Path) -> Result<String> {
    let absolute = std::path::absolute(run_dir)?;
    match absolute.file_name() {
        Some(n) => Ok(n.to_string_lossy().into_owned()),
        None => bail!(
            "{}: the run folder has no name; pass --name",
            run_dir.display()
        ),
    }
}

/// When the run finished: the newest modification time of its cells' `done` markers, else of
/// its `summary.csv`.
fn finished_unix(run_dir: &Path, cells: &[SummaryRow]) -> Result<i64> {
    let cells_dir = run_dir.join(records::CELLS_DIR);
    let modified = |path: &Path| path.metadata().and_then(|m| m.modified()).ok();
    let newest = cells
        .iter()
        .filter_map(|c| modified(&cells_dir.join(&c.cell).join(DONE)))
        .max()
        .or_else(|| modified(&run_dir.join(SUMMARY_CSV)));
    let seconds = match newest.map(|t| t.duration_since(UNIX_EPOCH)) {
        Some(Ok(d)) => d.as_secs(),
        _ => bail!(
            "{}: cannot tell when the run finished (no file times); pass --date",
            run_dir.display()
        ),
    };
    Ok(i64::try_from(seconds)?)
}
