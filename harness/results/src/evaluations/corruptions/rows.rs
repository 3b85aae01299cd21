//! What a corruptions evaluation leaves in a cell folder: `corruptions.csv`, one
//! [`CorruptionRow`] per corruption and severity after the clean row, and
//! `corruptions-grid.png`, one test image under every corruption and severity.

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

/// File name of a cell's corruption results.
pub const CELL_CSV: &str = "corruptions.csv";
/// File name of a cell's picture grid.
pub const GRID_PNG: &str = "corruptions-grid.png";
/// The `corruption` of the row of uncorrupted test images.
pub const CLEAN: &str = "clean";

/// Top-1 of a cell under one corruption at one severity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorruptionRow {
    /// `clean` or a corruption's name (`gaussian_noise`, ...).
    pub corruption: String,
    /// 1 to 5 (`clean`: 0).
    pub severity: usize,
    /// Which constants generated it: `cifar` or `imagenet` (`clean`: empty).
    pub constants: String,
    /// Whether the corruption is one of the 15 of the benchmark (mean accuracy and mCE
    /// average those).
    pub benchmark: bool,
    /// Top-1 accuracy, percent.
    pub top1: f64,
    /// Images evaluated.
    pub images: usize,
    /// Wall seconds generating the corrupted images.
    pub generation_seconds: f64,
    /// Wall seconds evaluating them.
    pub seconds: f64,
}

/// Writes a cell's rows to `cells/<cell>/corruptions.csv` (atomically).
pub fn write_cell_csv(dir: &Path, rows: &[CorruptionRow]) -> Result<()> {
    crate::records::write_atomic(&dir.join(CELL_CSV), &crate::records::csv_bytes(rows)?)
}

/// Reads a cell's `corruptions.csv`.
pub fn read_cell_csv(dir: &Path) -> Result<Vec<CorruptionRow>> {
    crate::records::read_csv(&dir.join(CELL_CSV))
}
