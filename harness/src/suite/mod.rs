//! Running a suite: load the suite file ([`config`]), expand its grid into cells, and hand the
//! executor ([`crate::executor`]) first every cell's training, then every configured
//! evaluation of every finished cell. Finished units are skipped, failures are recorded without
//! losing the grid. The claims files the suite names are checked first and recorded in the run
//! folder for `mixbench verify` ([`crate::claims`]).

pub mod changes;
pub mod config;

use std::path::Path;

use anyhow::{bail, Context, Result};

use self::config::LoadedSuite;
use crate::cell::{cell_id, CellConfig};
use crate::executor::slurm::{SlurmOptions, Submission};
use crate::executor::{self, claim, Unit};
use crate::records;

pub use crate::executor::RunOutcome;

/// Expands the grid into cell configurations, in order dataset, model, method, seed.
pub fn expand(suite: &LoadedSuite) -> Result<Vec<CellConfig>> {
    let base_dir = std::path::absolute(&suite.base_dir)
        .with_context(|| format!("resolving {}", suite.base_dir.display()))?;
    let mut cells = Vec::new();
    for dataset in &suite.suite.datasets {
        for &model in &suite.suite.models {
            for method in &suite.methods {
                for &seed in &suite.suite.seeds {
                    cells.push(CellConfig {
                        suite: suite.suite.name.clone(),
                        cell: cell_id(&dataset.label(), model, &method.label, seed),
                        dataset: dataset.clone(),
                        base_dir: base_dir.clone(),
                        model,
                        method: method.clone(),
                        seed,
                        training: suite.suite.training.clone(),
                    });
                }
            }
        }
    }
    Ok(cells)
}

/// Runs every unfinished cell of `suite` into `run_dir`, then the suite's evaluations of the
/// finished cells. Finished cells (with a `done` marker) are skipped; an unfinished one is
/// cleared and rerun; evaluations resume by their settings hash (see [`crate::executor`]).
/// Finished cells or evaluations made with another configuration are refused ([`run_with`]).
/// `suite_text` is saved as the run's `suite.yaml`.
pub fn run(suite: &LoadedSuite, run_dir: &Path, suite_text: &str) -> Result<RunOutcome> {
    run_with(suite, run_dir, suite_text, RunOptions::default())
}

/// What a run may do to an existing run folder, and with how many local workers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Retrain finished cells whose stored configuration differs from the suite's (and redo
    /// their evaluations), and redo finished evaluations whose settings differ; without it such
    /// cells and evaluations stop the run before anything is written.
    pub rerun_changed: bool,
    /// Units run at once, each in its own process (0 or 1: one at a time).
    pub jobs: usize,
    /// GPUs handed out to the workers in turn (`--devices 0,1`); empty: no pinning.
    pub devices: Vec<String>,
}

/// [`run`] with `options`. Before anything is written, finished cells whose stored
/// configuration differs from the suite's ([`changes::changed_cells`]) and finished
/// evaluations whose settings differ ([`changes::changed_evaluations`]) stop the run with an
/// error naming each and its changed keys, unless `options.rerun_changed` (the cells are then
/// cleared and retrained, the evaluations redone).
pub fn run_with(
    suite: &LoadedSuite,
    run_dir: &Path,
    suite_text: &str,
    options: RunOptions,
) -> Result<RunOutcome> {
    let cells = open_run(suite, run_dir, suite_text, &options)?;
    let cells_dir = run_dir.join(records::CELLS_DIR);
    let mut outcome = RunOutcome {
        run_dir: run_dir.to_path_buf(),
        ..Default::default()
    };
    let workers = executor::Workers {
        isolation: suite.suite.training.isolation,
        jobs: options.jobs.max(1),
        devices: options.devices.clone(),
    };
    let training = cells
        .iter()
        .map(|c| Ok((Unit::train(&cells_dir.join(&c.cell)), c.to_yaml()?)))
        .collect::<Result<Vec<_>>>()?;
    executor::run_units(&training, &workers, &mut outcome)?;

    let mut evaluations = Vec::new();
    for cell in &cells {
        let dir = cells_dir.join(&cell.cell);
        if !dir.join(records::DONE).exists() {
            continue;
        }
        for (kind, settings) in &suite.evaluations {
            if kind.applies_to(cell) {
                evaluations.push((Unit::evaluate(&dir, *kind), settings.clone()));
            }
        }
    }
    executor::run_units(&evaluations, &workers, &mut outcome)?;
    Ok(outcome)
}

/// Opens `run_dir` for `suite`: refuses (or, with `rerun_changed`, clears) finished and
/// resumable cells and finished evaluations made with another configuration, then records the
/// suite text and its claims files. Returns the suite's cells.
fn open_run(
    suite: &LoadedSuite,
    run_dir: &Path,
    suite_text: &str,
    options: &RunOptions,
) -> Result<Vec<CellConfig>> {
    let cells = expand(suite)?;
    let cells_dir = run_dir.join(records::CELLS_DIR);
    let changed = changes::changed_cells(&cells, &cells_dir, &suite.registry)?;
    let changed_evaluations =
        changes::changed_evaluations(&cells, &cells_dir, &suite.evaluations, &changed)?;
    let any_changed = !changed.is_empty() || !changed_evaluations.is_empty();
    if any_changed && !options.rerun_changed {
        let changed: Vec<&changes::ChangedCell> =
            changed.iter().chain(&changed_evaluations).collect();
        let list: Vec<String> = changed
            .iter()
            .map(|c| format!("  {}: {}", c.cell, c.changes.join("; ")))
            .collect();
        bail!(
            "{} holds {} finished or resumable cell(s) or evaluation(s) made with a different \
             configuration than this suite's:\n{}\nnothing was changed; rerun with --rerun-changed to redo \
             them, or give a new --out folder",
            run_dir.display(),
            changed.len(),
            list.join("\n")
        );
    }
    let claims = suite.read_claims()?;
    for c in &changed {
        for stale in [records::DONE, records::RESUME] {
            let path = cells_dir.join(&c.cell).join(stale);
            if path.exists() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
            }
        }
    }
    for cell in &cells {
        remove_leftover_resume(&cells_dir.join(&cell.cell))?;
    }
    std::fs::create_dir_all(&cells_dir)
        .with_context(|| format!("creating {}", run_dir.display()))?;
    records::write_atomic(&run_dir.join("suite.yaml"), suite_text.as_bytes())?;
    record_claims(run_dir, &claims)?;
    Ok(cells)
}

/// Submits the unfinished units of `suite` in `run_dir` to Slurm (see
/// [`executor::slurm`]) after the same checks as [`run_with`]: every unfinished cell not
/// running elsewhere is prepared (cleared, or kept to resume from its checkpoint) and becomes
/// a task of the training array, every unfinished evaluation of the suite's cells a task of the
/// evaluation array.
pub fn submit_slurm(
    suite: &LoadedSuite,
    run_dir: &Path,
    suite_text: &str,
    options: &RunOptions,
    slurm: &SlurmOptions,
) -> Result<Submission> {
    let cells = open_run(suite, run_dir, suite_text, options)?;
    let cells_dir = run_dir.join(records::CELLS_DIR);
    let mut training = Vec::new();
    let mut evaluations = Vec::new();
    for cell in &cells {
        let dir = cells_dir.join(&cell.cell);
        let unit = Unit::train(&dir);
        let settings = cell.to_yaml()?;
        let running = claim::read(&unit.claim_file())
            .flatten()
            .filter(|c| !c.is_stale());
        if let Some(claimant) = running {
            eprintln!(
                "{}: running in {}, not submitted",
                cell.cell,
                claimant.describe()
            );
        } else if !unit.is_finished(&settings) {
            executor::prepare(&unit, &settings)?;
            training.push(unit);
        }
        for (kind, settings) in &suite.evaluations {
            let unit = Unit::evaluate(&dir, *kind);
            if kind.applies_to(cell) && !unit.is_finished(settings) {
                executor::prepare(&unit, settings)?;
                evaluations.push(unit);
            }
        }
    }
    executor::slurm::submit(run_dir, &training, &evaluations, slurm)
}

/// Removes the resume checkpoint of a trained cell in `dir`: training deletes it right after
/// writing the `done` marker, so one is left only by a kill between the two, and the cell's
/// final files hold everything it held.
fn remove_leftover_resume(dir: &Path) -> Result<()> {
    let resume = dir.join(records::RESUME);
    if dir.join(records::DONE).exists() && resume.exists() {
        std::fs::remove_file(&resume).with_context(|| format!("removing {}", resume.display()))?;
    }
    Ok(())
}

/// Copies the suite's claims files into `RUN_DIR/claims/` (what `mixbench verify RUN_DIR`
/// checks without `--claims`), removing copies of files the suite no longer names.
fn record_claims(run_dir: &Path, claims: &[(String, String)]) -> Result<()> {
    let dir = run_dir.join(crate::claims::RUN_CLAIMS_DIR);
    for old in crate::claims::recorded_claims(run_dir)? {
        let name = old.file_name().map(|n| n.to_string_lossy().into_owned());
        if !claims.iter().any(|(n, _)| Some(n) == name.as_ref()) {
            std::fs::remove_file(&old).with_context(|| format!("removing {}", old.display()))?;
        }
    }
    if claims.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, text) in claims {
        records::write_atomic(&dir.join(name), text.as_bytes())?;
    }
    Ok(())
}
