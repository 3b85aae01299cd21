//! What a robustness evaluation leaves in a cell folder: `robustness.csv`, one
//! [`RobustnessRow`] per corruption and severity, the clean accuracy first.

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

/// File name of a cell's robustness results.
pub const CELL_CSV: &str = "robustness.csv";

/// One evaluation of a cell: top-1 under one corruption at one severity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RobustnessRow {
    /// `clean`, `noise`, `fgsm`, `pgd`, or a CIFAR-C corruption name.
    pub corruption: String,
    /// Position of the level in its list, from 1 (CIFAR-C: the severity, 1-5; clean: 0).
    pub severity: usize,
    /// The level itself: noise std (pixel units), FGSM/PGD eps (1/255), CIFAR-C severity.
    pub level: f64,
    /// Top-1 accuracy, percent.
    pub top1: f64,
    /// Images evaluated.
    pub images: usize,
    /// Wall seconds of the evaluation.
    pub seconds: f64,
}

/// Average robust accuracy of a cell: the mean top-1 over every row but `clean`.
pub fn average_robust(rows: &[RobustnessRow]) -> Option<f64> {
    let robust: Vec<f64> = rows
        .iter()
        .filter(|r| r.corruption != "clean")
        .map(|r| r.top1)
        .collect();
    (!robust.is_empty()).then(|| robust.iter().sum::<f64>() / robust.len() as f64)
}

/// Writes a cell's rows to `cells/<cell>/robustness.csv` (atomically).
pub fn write_cell_csv(dir: &Path, rows: &[RobustnessRow]) -> Result<()> {
    crate::records::write_atomic(&dir.join(CELL_CSV), &crate::records::csv_bytes(rows)?)
}

/// Reads a cell's `robustness.csv`.
pub fn read_cell_csv(dir: &Path) -> Result<Vec<RobustnessRow>> {
    crate::records::read_csv(&dir.join(CELL_CSV))
}
