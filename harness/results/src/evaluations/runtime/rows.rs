//! What a runtime evaluation leaves in a cell folder: `runtime.csv`, one [`PhaseRow`] per
//! (timed repetition, phase) in seconds per epoch, and `runtime.json`, the [`RuntimeInfo`]
//! that says what was measured and on what.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// File name of a cell's per-repetition phase times.
pub const CELL_CSV: &str = "runtime.csv";
/// File name of a cell's measurement record.
pub const CELL_JSON: &str = "runtime.json";

/// The phases of an epoch, in stacking order: the five training phases of a step, the
/// training time no phase accounts for, and evaluation on the test set.
pub const PHASES: [&str; 7] = [
    "data",
    "saliency",
    "mix",
    "forward_backward",
    "optimizer",
    "other",
    "evaluation",
];

/// Totals derived from the phases: the training loop (`train`), and `epoch` = `train` +
/// `evaluation`.
pub const TOTALS: [&str; 2] = ["train", "epoch"];

/// One row of a cell's `runtime.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseRow {
    /// Timed repetition, from 0.
    pub repeat: usize,
    /// One of [`PHASES`] or [`TOTALS`].
    pub phase: String,
    /// Seconds per epoch: the repetition's time scaled from its steps (or evaluation images) to
    /// a whole epoch of the recipe.
    pub seconds: f64,
}

/// The PyTorch eager reference measured beside a Vanilla cell (`None` fields when skipped).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferenceResult {
    /// Why it did not run (Python or torch missing, a model it does not define, an error), or
    /// `None` when it ran.
    pub skipped: Option<String>,
    /// torch version of the reference.
    pub torch: Option<String>,
    /// intra-op threads of the reference.
    pub threads: Option<usize>,
    /// Seconds of each timed repetition of `steps` training steps.
    pub repeat_seconds: Vec<f64>,
    /// Peak memory of the reference process, bytes.
    pub peak_memory_bytes: Option<u64>,
}

/// `runtime.json`: the conditions of the measurement and the figures that are not per phase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuntimeInfo {
    /// Device description (`cpu (N threads)`, `cuda:0 <name>`).
    pub device: String,
    /// libtorch version.
    pub libtorch: String,
    /// libtorch intra-op threads.
    pub threads: usize,
    /// Training batch size.
    pub batch_size: usize,
    /// Untimed warm-up steps.
    pub warmup_steps: usize,
    /// Training steps per timed repetition.
    pub steps: usize,
    /// Timed repetitions.
    pub repeats: usize,
    /// Training steps of a whole epoch of the recipe (the scale of the training phases).
    pub steps_per_epoch: usize,
    /// Test images timed per repetition, and in the whole test set (the scale of evaluation).
    pub eval_images: usize,
    /// Test images of an epoch's evaluation (the data set's, or `scale_to`'s).
    pub test_images: usize,
    /// Whether the device was synchronised at every phase boundary.
    pub sync_phases: bool,
    /// Seconds of each repetition's training loop (`steps` steps), unscaled.
    pub loop_seconds: Vec<f64>,
    /// Training images per second: median over repetitions.
    pub images_per_second: f64,
    /// Peak memory in bytes, and what the figure is (see `system::peak_memory`).
    pub peak_memory_bytes: Option<u64>,
    /// What `peak_memory_bytes` measures.
    pub memory_kind: Option<String>,
    /// The PyTorch eager reference, for Vanilla cells.
    pub reference: Option<ReferenceResult>,
}

/// Writes a cell's rows and record (atomically; the record last).
pub fn write_cell(dir: &Path, rows: &[PhaseRow], info: &RuntimeInfo) -> Result<()> {
    crate::records::write_atomic(&dir.join(CELL_CSV), &crate::records::csv_bytes(rows)?)?;
    crate::records::write_atomic(
        &dir.join(CELL_JSON),
        serde_json::to_string_pretty(info)?.as_bytes(),
    )
}

/// Reads a cell's rows and record.
pub fn read_cell(dir: &Path) -> Result<(Vec<PhaseRow>, RuntimeInfo)> {
    let rows = crate::records::read_csv(&dir.join(CELL_CSV))?;
    let path = dir.join(CELL_JSON);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let info =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok((rows, info))
}

/// The seconds per epoch of `phase` over repetitions, in repetition order.
pub fn phase_seconds(rows: &[PhaseRow], phase: &str) -> Vec<f64> {
    rows.iter()
        .filter(|r| r.phase == phase)
        .map(|r| r.seconds)
        .collect()
}
