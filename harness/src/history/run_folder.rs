//! What `mixbench history add` takes from a run folder: its provenance, its cells (the rows of
//! `summary.csv`) and their values as long-format metric rows (the summary's numbers of done
//! cells, then the evaluations' run-level files, see [`super::evaluation_rows`]). Only
//! run-level files are read, so a copied report folder is stored like a live run.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::UNIX_EPOCH;

use anyhow::{bail, Result};

use super::evaluation_rows;
use super::metric_row::MetricRow;
use crate::records::{self, DONE};
use crate::report::{read_summary, SummaryRow, SUMMARY_CSV};

/// A cell's summary numbers as `(metric, value)` (absent values as `None`).
fn summary_values(row: &SummaryRow) -> [(&'static str, Option<f64>); 9] {
    [
        ("top1_last", row.top1_last),
        ("top1_best", row.top1_best),
        ("top1_median_last10", row.top1_median_last10),
        ("top5_last", row.top5_last),
        ("top5_best", row.top5_best),
        ("train_loss_last", row.train_loss_last),
        ("epoch_time_mean", row.epoch_time_mean),
        ("mix_time_mean", row.mix_time_mean),
        ("saliency_time_mean", row.saliency_time_mean),
    ]
}

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
    let mut metrics: Vec<MetricRow> = cells
        .iter()
        .filter(|c| c.is_done())
        .flat_map(|c| {
            summary_values(c)
                .into_iter()
                .filter_map(move |(metric, value)| {
                    Some(MetricRow {
                        cell: c.cell.clone(),
                        dataset: c.dataset.clone(),
                        model: c.model.clone(),
                        method: c.method.clone(),
                        seed: c.seed,
                        metric: metric.to_string(),
                        condition: String::new(),
                        value: value.filter(|v| v.is_finite())?,
                    })
                })
        })
        .collect();
    metrics.extend(evaluation_rows::read(run_dir)?);
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
