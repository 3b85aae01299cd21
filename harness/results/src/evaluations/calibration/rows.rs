//! What a calibration evaluation leaves in a cell folder: `calibration.csv`, one
//! [`CalibrationRow`] per scaling (`none`, then `temperature` when asked), and
//! `calibration-bins.csv`, one [`BinRow`] per scaling and equal-width bin (the reliability
//! diagram's numbers).

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::measures::Calibration;

/// File name of a cell's calibration results.
pub const CELL_CSV: &str = "calibration.csv";
/// File name of a cell's reliability bins.
pub const CELL_BINS_CSV: &str = "calibration-bins.csv";

/// Which probabilities a row scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scaling {
    /// The model's own softmax (`T = 1`), written `none`.
    #[serde(rename = "none")]
    Unscaled,
    /// The softmax of the logits divided by the fitted temperature, written `temperature`.
    #[serde(rename = "temperature")]
    Temperature,
}

impl Scaling {
    /// The name in the files and the values' condition: `none` or `temperature`.
    pub fn name(self) -> &'static str {
        match self {
            Scaling::Unscaled => "none",
            Scaling::Temperature => "temperature",
        }
    }
}

/// The calibration of a cell under one scaling, on the images the row names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationRow {
    /// `none` or `temperature`.
    pub scaling: Scaling,
    /// The temperature the logits were divided by (1 for `none`).
    pub temperature: f64,
    /// Images scored: all evaluated images, or with temperature scaling those not used to fit
    /// the temperature (both rows then score the same images).
    pub images: usize,
    /// Images the temperature was fitted on (0 without temperature scaling).
    pub fit_images: usize,
    /// Top-1 accuracy, percent.
    pub top1: f64,
    /// ECE over equal-width bins, percent.
    pub ece: f64,
    /// ECE over equal-mass bins (adaptive ECE), percent.
    pub aece: f64,
    /// MCE over equal-width bins, percent.
    pub mce: f64,
    /// Mean negative log-likelihood of the labels, nats.
    pub nll: f64,
    /// Mean Brier score (summed over classes, in `[0, 2]`).
    pub brier: f64,
}

impl CalibrationRow {
    /// The row of `measured` under `scaling` at `temperature`, with `fit_images` images used
    /// to fit it; fractions become percent.
    pub fn new(
        scaling: Scaling,
        temperature: f64,
        fit_images: usize,
        measured: &Calibration,
    ) -> Self {
        CalibrationRow {
            scaling,
            temperature,
            images: measured.images,
            fit_images,
            top1: 100.0 * measured.top1,
            ece: 100.0 * measured.ece,
            aece: 100.0 * measured.aece,
            mce: 100.0 * measured.mce,
            nll: measured.nll,
            brier: measured.brier,
        }
    }
}

/// One equal-width bin of a cell's reliability diagram under one scaling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BinRow {
    /// `none` or `temperature`.
    pub scaling: Scaling,
    /// Position from 0; the last (`bins`) is the bin `[1, 1]` of confidences of exactly 1.
    pub bin: usize,
    /// Lower edge (a confidence in `[0, 1]`).
    pub lower: f64,
    /// Upper edge.
    pub upper: f64,
    /// Images in the bin.
    pub count: usize,
    /// Of those, correctly predicted.
    pub correct: usize,
    /// Fraction correct (not percent); empty for an empty bin.
    pub accuracy: Option<f64>,
    /// Mean confidence; empty for an empty bin.
    pub confidence: Option<f64>,
}

impl BinRow {
    /// The bins of `measured` under `scaling`.
    pub fn of(scaling: Scaling, measured: &Calibration) -> Vec<BinRow> {
        measured
            .bins
            .iter()
            .enumerate()
            .map(|(bin, b)| BinRow {
                scaling,
                bin,
                lower: b.lower,
                upper: b.upper,
                count: b.count,
                correct: b.correct,
                accuracy: b.accuracy(),
                confidence: b.confidence(),
            })
            .collect()
    }
}

/// Writes a cell's rows and bins to `calibration.csv` and `calibration-bins.csv` (each
/// atomically).
pub fn write_cell_files(dir: &Path, rows: &[CalibrationRow], bins: &[BinRow]) -> Result<()> {
    crate::records::write_atomic(&dir.join(CELL_CSV), &crate::records::csv_bytes(rows)?)?;
    crate::records::write_atomic(&dir.join(CELL_BINS_CSV), &crate::records::csv_bytes(bins)?)
}

/// Reads a cell's `calibration.csv`.
pub fn read_cell_csv(dir: &Path) -> Result<Vec<CalibrationRow>> {
    crate::records::read_csv(&dir.join(CELL_CSV))
}

/// Reads a cell's `calibration-bins.csv`.
pub fn read_cell_bins(dir: &Path) -> Result<Vec<BinRow>> {
    crate::records::read_csv(&dir.join(CELL_BINS_CSV))
}
