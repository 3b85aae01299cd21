//! The per-cell files a comparison reads when a folder holds them: `cells/<cell>/metrics.csv`
//! (per-epoch times, bit-exact metrics) and `cells/<cell>/runtime.csv` (runtime repetitions).
//! A baseline folder may lack them; their absence is not an error, a malformed file is.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::evaluations::runtime::rows::{PhaseRow, CELL_CSV as RUNTIME_CSV};
use crate::records::{self, EpochMetrics};

/// The folder of a cell of a run or baseline folder.
pub fn cell_dir(dir: &Path, cell: &str) -> PathBuf {
    dir.join(records::CELLS_DIR).join(cell)
}

/// A cell's `metrics.csv`, when the folder holds it.
pub fn cell_metrics(dir: &Path, cell: &str) -> Result<Option<Vec<EpochMetrics>>> {
    let cell_dir = cell_dir(dir, cell);
    if !cell_dir.join(records::METRICS).is_file() {
        return Ok(None);
    }
    records::read_metrics(&cell_dir).map(Some)
}

/// A cell's runtime repetitions (`runtime.csv`), when the folder holds them.
pub fn cell_runtime(dir: &Path, cell: &str) -> Result<Option<Vec<PhaseRow>>> {
    let path = cell_dir(dir, cell).join(RUNTIME_CSV);
    if !path.is_file() {
        return Ok(None);
    }
    records::read_csv(&path).map(Some)
}
