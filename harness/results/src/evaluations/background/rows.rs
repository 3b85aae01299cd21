//! What a background evaluation leaves in a cell folder: `background.csv`, one
//! [`BackgroundRow`] per test-set variant (and the backgrounds challenge when asked for).

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

/// File name of a cell's background results.
pub const CELL_CSV: &str = "background.csv";

/// File name of a cell's grid of example variants.
pub const EXAMPLES_PNG: &str = "background-examples.png";

/// One row of a cell's `background.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackgroundRow {
    /// `original`, `only_fg`, `no_fg`, `only_bg_t`, `mixed_same`, `mixed_rand`, `mixed_next`,
    /// or `challenge`.
    pub variant: String,
    /// Top-1 accuracy, percent. For `challenge`: the percent of the foregrounds correct on
    /// `original` that stay correct on every background tried (100 minus the flipped share).
    pub top1: f64,
    /// Images scored (for `challenge`: the foregrounds correct on `original`).
    pub images: usize,
    /// Wall seconds.
    pub seconds: f64,
}

/// The BG-Gap of a cell: top-1 on `mixed_same` minus top-1 on `mixed_rand` (percentage
/// points); `None` when a row is missing.
pub fn bg_gap(rows: &[BackgroundRow]) -> Option<f64> {
    Some(top1_of(rows, "mixed_same")? - top1_of(rows, "mixed_rand")?)
}

/// The top-1 of the row named `variant`.
pub fn top1_of(rows: &[BackgroundRow], variant: &str) -> Option<f64> {
    rows.iter().find(|r| r.variant == variant).map(|r| r.top1)
}

/// Writes a cell's rows to `cells/<cell>/background.csv` (atomically).
pub fn write_cell_csv(dir: &Path, rows: &[BackgroundRow]) -> Result<()> {
    crate::records::write_atomic(&dir.join(CELL_CSV), &crate::records::csv_bytes(rows)?)
}

/// Reads a cell's `background.csv`.
pub fn read_cell_csv(dir: &Path) -> Result<Vec<BackgroundRow>> {
    crate::records::read_csv(&dir.join(CELL_CSV))
}
