//! Reading the cell folders of a run into [`Cell`]s, deciding each cell's [`Status`].
//!
//! A cell whose files cannot be read does not abort the report: the problem is kept as the
//! cell's error message, so it shows in `summary.csv` and `report.md` instead of being lost.

use std::path::Path;

use anyhow::{Context, Result};

use crate::records::{self, CellInfo, EpochMetrics};

/// Where a cell stands, as written in the `status` column of `summary.csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// The `done` marker exists and `cell.json` and `metrics.csv` could be read.
    Done,
    /// A `failed` file exists, or the cell is marked done but its files cannot be read.
    Failed,
    /// Neither marker exists: the cell is running, was interrupted, or has not started.
    Incomplete,
}

impl Status {
    /// The word used in `summary.csv` and `report.md`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Done => "done",
            Status::Failed => "failed",
            Status::Incomplete => "incomplete",
        }
    }
}

/// Everything the report knows about one cell folder.
#[derive(Clone, Debug)]
pub(crate) struct Cell {
    /// Folder name (the cell identifier).
    pub name: String,
    /// Done, failed or incomplete.
    pub status: Status,
    /// Contents of `cell.json`, when it exists and parses.
    pub info: Option<CellInfo>,
    /// Rows of `metrics.csv`; empty when it is missing or unreadable.
    pub metrics: Vec<EpochMetrics>,
    /// One-line error: the first line of `failed`, or why the cell's files could not be read.
    pub error: Option<String>,
    /// Why the cell's files are unreadable or inconsistent (a garbled or empty `metrics.csv`,
    /// a done cell without `cell.json`), when they are; the report warns about these.
    pub corrupt: Option<String>,
}

/// Reads every cell folder of `run_dir`, in folder-name order.
pub(crate) fn load_cells(run_dir: &Path) -> Result<Vec<Cell>> {
    let dirs = records::cell_dirs(run_dir)
        .with_context(|| format!("reading the cells of run {}", run_dir.display()))?;
    Ok(dirs.iter().map(|dir| load_cell(dir)).collect())
}

/// Reads one cell folder; never fails, problems end up in [`Cell::error`].
fn load_cell(dir: &Path) -> Cell {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut problems = Vec::new();
    let info = read_optional(
        dir,
        records::CELL_INFO,
        records::read_cell_info,
        &mut problems,
    );
    let metrics = read_optional(dir, records::METRICS, records::read_metrics, &mut problems);
    let done = dir.join(records::DONE).exists();
    if done && metrics.as_ref().is_some_and(Vec::is_empty) {
        problems.push(format!("{} has no rows", records::METRICS));
    }
    let metrics = metrics.unwrap_or_default();
    let failed = dir
        .join(records::FAILED)
        .exists()
        .then(|| failure_message(dir));
    if done && failed.is_none() {
        if info.is_none() {
            problems.push(format!("{} missing", records::CELL_INFO));
        }
        if !dir.join(records::METRICS).exists() {
            problems.push(format!("{} missing", records::METRICS));
        }
    }
    let corrupt = (!problems.is_empty()).then(|| problems.join("; "));
    let problems = corrupt.as_ref().map(|p| format!("report: {p}"));
    let (status, error) = match (failed, done) {
        (Some(message), _) => (Status::Failed, Some(message)),
        (None, true) if problems.is_some() => (Status::Failed, problems),
        (None, true) => (Status::Done, None),
        (None, false) => (Status::Incomplete, problems),
    };
    Cell {
        name,
        status,
        info,
        metrics,
        error,
        corrupt,
    }
}

/// Reads `file` with `read` if it exists; a read error is pushed to `problems` as one line.
fn read_optional<T>(
    dir: &Path,
    file: &str,
    read: fn(&Path) -> Result<T>,
    problems: &mut Vec<String>,
) -> Option<T> {
    if !dir.join(file).exists() {
        return None;
    }
    read(dir)
        .map_err(|e| problems.push(one_line(&format!("{e:#}"))))
        .ok()
}

/// The first non-empty line of the cell's `failed` file (the error message of its process).
fn failure_message(dir: &Path) -> String {
    let path = dir.join(records::FAILED);
    match std::fs::read_to_string(&path) {
        Ok(text) => first_line(&text).unwrap_or_else(|| "failed (empty error message)".to_string()),
        Err(e) => format!("failed (cannot read {}: {e})", path.display()),
    }
}

/// The first line of `text` that is not blank, trimmed.
pub(crate) fn first_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

/// Collapses a multi-line message into one line, so it fits a CSV field and a table cell.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
