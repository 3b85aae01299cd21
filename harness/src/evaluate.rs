//! Evaluations of trained cells that a suite asks for under `evaluations:` (robustness,
//! few-shot), run after training. Each evaluation of a cell leaves, in the cell's folder,
//! `<kind>.yaml` (the evaluation settings it ran with), its result files and, last,
//! `<kind>.done` holding the hash of those settings: a rerun of the suite skips evaluations
//! whose marker matches the current settings and redoes the others, as training cells resume.
//! Like cells, each evaluation runs in its own process by default (`mixbench evaluate DIR
//! KIND`, internal).

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::{nn, Device};

use crate::fewshot::FewShotConfig;
use crate::models::{Classifier, ModelKind};
use crate::records;
use crate::robustness::RobustnessConfig;
use crate::suite::cell::CellConfig;
use crate::suite::config::Isolation;
use crate::suite::RunOutcome;

/// The `evaluations:` section of a suite file. Absent keys: no such evaluation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evaluations {
    /// Noise, FGSM, PGD and CIFAR-C accuracy of every trained cell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub robustness: Option<RobustnessConfig>,
    /// Few-shot episodes on the novel classes, for cells trained on a few-shot data set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fewshot: Option<FewShotConfig>,
}

impl Evaluations {
    /// True when no evaluation is configured.
    pub fn is_empty(&self) -> bool {
        self.robustness.is_none() && self.fewshot.is_none()
    }
}

/// The kinds of evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EvalKind {
    /// See [`crate::robustness`].
    Robustness,
    /// See [`crate::fewshot`].
    Fewshot,
}

impl EvalKind {
    /// Name used in file names and messages.
    pub fn name(self) -> &'static str {
        match self {
            EvalKind::Robustness => "robustness",
            EvalKind::Fewshot => "fewshot",
        }
    }

    /// `<kind>.yaml`: the settings an evaluation ran with.
    pub fn settings_file(self) -> String {
        format!("{}.yaml", self.name())
    }

    /// `<kind>.done`: written last, holds the settings' hash.
    pub fn done_file(self) -> String {
        format!("{}.done", self.name())
    }

    /// `<kind>.failed`: the error of a failed evaluation.
    pub fn failed_file(self) -> String {
        format!("{}.failed", self.name())
    }
}

/// Builds `kind` for `num_classes` outputs on `device` and loads a cell's checkpoint into it,
/// frozen (no parameter gradients), for evaluation.
pub fn load_classifier(
    dir: &Path,
    kind: ModelKind,
    num_classes: i64,
    device: Device,
) -> Result<(nn::VarStore, Box<dyn Classifier>)> {
    let mut vs = nn::VarStore::new(device);
    let model = kind.build(&vs.root(), num_classes);
    let path = dir.join(records::CHECKPOINT);
    vs.load(&path)
        .with_context(|| format!("loading checkpoint {}", path.display()))?;
    vs.freeze();
    Ok((vs, model))
}

/// First 16 hex digits of the SHA-256 of `text`.
fn hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The settings text of `kind` in `evaluations`, when configured and applicable to `cell`.
fn settings(
    evaluations: &Evaluations,
    kind: EvalKind,
    cell: &CellConfig,
) -> Result<Option<String>> {
    Ok(match kind {
        EvalKind::Robustness => match &evaluations.robustness {
            Some(c) => Some(serde_norway::to_string(c)?),
            None => None,
        },
        EvalKind::Fewshot => match &evaluations.fewshot {
            Some(c) if cell.dataset.is_fewshot() => Some(serde_norway::to_string(c)?),
            _ => None,
        },
    })
}

/// Runs every configured evaluation of every finished cell whose evaluation is missing or was
/// made with other settings; records what ran in `outcome` (`evaluated`, `failed`).
pub fn run_evaluations(
    evaluations: &Evaluations,
    run_dir: &Path,
    cells: &[CellConfig],
    isolation: Isolation,
    outcome: &mut RunOutcome,
) -> Result<()> {
    for cell in cells {
        let dir = run_dir.join(records::CELLS_DIR).join(&cell.cell);
        if !dir.join(records::DONE).exists() {
            continue;
        }
        for kind in [EvalKind::Robustness, EvalKind::Fewshot] {
            let Some(text) = settings(evaluations, kind, cell)? else {
                continue;
            };
            let marker = hash(&text);
            let done = dir.join(kind.done_file());
            let label = format!("{} ({})", cell.cell, kind.name());
            if std::fs::read_to_string(&done).is_ok_and(|t| t.trim() == marker) {
                eprintln!("{label}: evaluated before, skipped");
                continue;
            }
            eprintln!("{label}: evaluating");
            for stale in [kind.done_file(), kind.failed_file()] {
                let _ = std::fs::remove_file(dir.join(stale));
            }
            records::write_atomic(&dir.join(kind.settings_file()), text.as_bytes())?;
            let result = match isolation {
                Isolation::Inline => evaluate_cell(&dir, kind),
                Isolation::Process => evaluate_in_child(&dir, kind),
            };
            match result {
                Ok(()) => outcome.evaluated.push(label),
                Err(err) => {
                    let message = format!("{err:#}");
                    eprintln!("[{label}] FAILED: {message}");
                    records::write_atomic(
                        &dir.join(kind.failed_file()),
                        format!("{message}\n").as_bytes(),
                    )?;
                    outcome.failed.push((label, message));
                }
            }
        }
    }
    Ok(())
}

/// Runs one evaluation of the cell in `dir` with the settings in its `<kind>.yaml`, writes the
/// results and, last, the `<kind>.done` marker.
pub fn evaluate_cell(dir: &Path, kind: EvalKind) -> Result<()> {
    let path = dir.join(kind.settings_file());
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let started = std::time::Instant::now();
    match kind {
        EvalKind::Robustness => {
            let config: RobustnessConfig = serde_norway::from_str(&text)
                .with_context(|| format!("parsing {}", path.display()))?;
            let rows = crate::robustness::evaluate_cell(dir, &config)?;
            crate::robustness::write_cell_csv(dir, &rows)?;
        }
        EvalKind::Fewshot => {
            let config: FewShotConfig = serde_norway::from_str(&text)
                .with_context(|| format!("parsing {}", path.display()))?;
            crate::fewshot::evaluate_cell(dir, &config)?;
        }
    }
    eprintln!(
        "[{}] {} evaluated in {:.1} s",
        dir.file_name().unwrap_or_default().to_string_lossy(),
        kind.name(),
        started.elapsed().as_secs_f64()
    );
    records::write_atomic(
        &dir.join(kind.done_file()),
        format!("{}\n", hash(&text)).as_bytes(),
    )
}

/// Runs `mixbench evaluate DIR KIND` in a child process.
fn evaluate_in_child(dir: &Path, kind: EvalKind) -> Result<()> {
    let exe = std::env::current_exe().context("locating the mixbench executable")?;
    let status = Command::new(&exe)
        .arg("evaluate")
        .arg(dir)
        .arg(kind.name())
        .status()
        .with_context(|| format!("starting {} evaluate {}", exe.display(), dir.display()))?;
    if status.success() {
        return Ok(());
    }
    let reason = std::fs::read_to_string(dir.join(kind.failed_file())).unwrap_or_default();
    bail!(
        "evaluation process exited with {status}{}{}",
        if reason.is_empty() { "" } else { ": " },
        reason.trim()
    )
}
