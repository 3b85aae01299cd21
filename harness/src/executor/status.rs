//! `mixbench status RUN_DIR`: where each unit of a run stands, read from its folder alone
//! (markers, claims, resume checkpoints, metrics rows), so it works while local workers or
//! Slurm tasks are running, from any machine that sees the folder.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use super::claim::{self, Claimant};
use super::slurm;
use super::unit::{Task, Unit};
use crate::cell::CellConfig;
use crate::{evaluations, records};

/// The state of one unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Its `done` marker exists.
    Done,
    /// Claimed by a live process (or one on another host, which cannot be checked from
    /// here).
    Running(Claimant),
    /// Claimed by a process that is gone (killed without cleaning up): the next worker takes
    /// it over.
    Stale(Claimant),
    /// Its last run failed; the `failed` marker's first line.
    Failed(String),
    /// Not started, or stopped and waiting to be resumed.
    Pending,
}

impl State {
    /// The state's name, as the first column of the status table.
    pub fn name(&self) -> &'static str {
        match self {
            State::Done => "done",
            State::Running(_) => "running",
            State::Stale(_) => "stale",
            State::Failed(_) => "failed",
            State::Pending => "pending",
        }
    }
}

/// One row of the status table.
#[derive(Clone, Debug)]
pub struct UnitStatus {
    /// `<cell>` or `<cell> (<kind>)`.
    pub label: String,
    /// Where it stands.
    pub state: State,
    /// Training progress (`epoch 3/8`, `epoch 3/8, resumable`), empty for evaluations.
    pub progress: String,
    /// Its Slurm task and queue state when the run was submitted and Slurm still lists it
    /// (`12_3 PENDING (Dependency)`).
    pub queue: Option<String>,
}

/// The status of every unit of the run in `run_dir`: each cell's training, then its
/// evaluations (those whose settings file is in its folder), cells in name order.
pub fn run_status(run_dir: &Path) -> Result<Vec<UnitStatus>> {
    let mut rows = Vec::new();
    for dir in records::cell_dirs(run_dir)? {
        let train = Unit::train(&dir);
        rows.push(UnitStatus {
            label: train.label(),
            state: unit_state(&train),
            progress: training_progress(&dir),
            queue: None,
        });
        for kind in evaluations::registry() {
            let unit = Unit::evaluate(&dir, *kind);
            if unit.settings_file().exists() {
                rows.push(UnitStatus {
                    label: unit.label(),
                    state: unit_state(&unit),
                    progress: String::new(),
                    queue: None,
                });
            }
        }
    }
    add_slurm_queue(run_dir, &mut rows);
    Ok(rows)
}

/// Fills in the Slurm queue state of the units of a submitted run that Slurm still lists.
fn add_slurm_queue(run_dir: &Path, rows: &mut [UnitStatus]) {
    let Some(submission) = slurm::read_submission(run_dir) else {
        return;
    };
    for (name, job) in [
        ("train", &submission.train),
        ("evaluate", &submission.evaluate),
    ] {
        let Some(job) = job else { continue };
        let listed = slurm::listed_units(run_dir, name);
        for (index, state) in slurm::queued_tasks(&job.job) {
            let Some((kind, dir)) = listed.get(index) else {
                continue;
            };
            let cell = dir.file_name().unwrap_or_default().to_string_lossy();
            let label = match kind.as_str() {
                "" => cell.into_owned(),
                kind => format!("{cell} ({kind})"),
            };
            if let Some(row) = rows.iter_mut().find(|r| r.label == label) {
                row.queue = Some(format!("Slurm task {}_{index} {state}", job.job));
            }
        }
    }
}

/// A unit's state from its markers and claim. An evaluation counts as done when its marker
/// holds the hash of its settings file.
fn unit_state(unit: &Unit) -> State {
    let finished = match unit.task {
        Task::Train => unit.done_file().exists(),
        Task::Evaluate(_) => std::fs::read_to_string(unit.settings_file())
            .is_ok_and(|settings| unit.is_finished(&settings)),
    };
    if finished {
        return State::Done;
    }
    if let Some(claimant) = claim::read(&unit.claim_file()).flatten() {
        return if claimant.is_stale() {
            State::Stale(claimant)
        } else {
            State::Running(claimant)
        };
    }
    match std::fs::read_to_string(unit.failed_file()) {
        Ok(reason) => State::Failed(reason.lines().next().unwrap_or("").to_string()),
        Err(_) => State::Pending,
    }
}

/// `epoch K/N` from the rows of `metrics.csv` and the recipe, with `resumable` when a resume
/// checkpoint waits.
fn training_progress(dir: &Path) -> String {
    let epochs = CellConfig::read(dir).ok().map(|c| c.training.epochs);
    let done = records::read_metrics(dir).map_or(0, |rows| rows.len());
    let Some(epochs) = epochs else {
        return String::new();
    };
    let resumable = if dir.join(records::DONE).exists() || !dir.join(records::RESUME).exists() {
        ""
    } else {
        ", resumable"
    };
    format!("epoch {done}/{epochs}{resumable}")
}

/// The status table as text: one line per unit (state, unit, progress, who runs it or why it
/// failed), then the count of each state.
pub fn render(rows: &[UnitStatus]) -> String {
    let width = rows.iter().map(|r| r.label.len()).max().unwrap_or(4);
    let mut out = String::new();
    for row in rows {
        let detail = match &row.state {
            State::Running(c) => format!("by {}", c.describe()),
            State::Stale(c) => format!("claimed by {}, which is gone", c.describe()),
            State::Failed(reason) => reason.clone(),
            State::Done | State::Pending => String::new(),
        };
        let detail = match (&row.queue, &row.state) {
            (Some(queue), State::Pending | State::Failed(_)) => format!("{queue} {detail}"),
            _ => detail,
        };
        let line = format!(
            "{:<8} {:<width$}  {:<22} {detail}",
            row.state.name(),
            row.label,
            row.progress
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let mut counts = Vec::new();
    for name in ["done", "running", "stale", "failed", "pending"] {
        let n = rows.iter().filter(|r| r.state.name() == name).count();
        if n > 0 {
            counts.push(format!("{n} {name}"));
        }
    }
    let _ = writeln!(out, "{} units: {}", rows.len(), counts.join(", "));
    out
}
