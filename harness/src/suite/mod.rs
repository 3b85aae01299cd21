//! Running a suite: expand the grid, run each unfinished cell (in its own process by
//! default), record failures without losing the grid, then rebuild the report.

pub mod cell;
pub mod config;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use self::cell::{cell_id, CellConfig};
use self::config::{Isolation, LoadedSuite};
use crate::records;

/// What happened to the cells of a run.
#[derive(Debug, Default)]
pub struct RunOutcome {
    /// The run folder.
    pub run_dir: PathBuf,
    /// Cells trained in this invocation.
    pub trained: Vec<String>,
    /// Cells skipped because they had finished before.
    pub skipped: Vec<String>,
    /// Cells (and evaluations, as `<cell> (<kind>)`) that failed, with their error.
    pub failed: Vec<(String, String)>,
    /// Evaluations run in this invocation, as `<cell> (<kind>)`.
    pub evaluated: Vec<String>,
}

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
/// finished cells ([`crate::evaluate`]). Finished cells (with a `done` marker) are skipped; an
/// unfinished one is cleared and rerun; evaluations resume the same way.
pub fn run(suite: &LoadedSuite, run_dir: &Path, suite_text: &str) -> Result<RunOutcome> {
    let cells = expand(suite)?;
    std::fs::create_dir_all(run_dir.join(records::CELLS_DIR))
        .with_context(|| format!("creating {}", run_dir.display()))?;
    records::write_atomic(&run_dir.join("suite.yaml"), suite_text.as_bytes())?;
    let mut outcome = RunOutcome {
        run_dir: run_dir.to_path_buf(),
        ..Default::default()
    };
    let isolation = suite.suite.training.isolation;
    for (i, config) in cells.iter().enumerate() {
        let dir = run_dir.join(records::CELLS_DIR).join(&config.cell);
        if dir.join(records::DONE).exists() {
            eprintln!(
                "[{}/{}] {}: finished before, skipped",
                i + 1,
                cells.len(),
                config.cell
            );
            outcome.skipped.push(config.cell.clone());
            continue;
        }
        eprintln!("[{}/{}] {}", i + 1, cells.len(), config.cell);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("clearing unfinished cell {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        records::write_atomic(&dir.join(records::CONFIG), config.to_yaml()?.as_bytes())?;
        let result = match isolation {
            Isolation::Inline => cell::train_cell(&dir),
            Isolation::Process => run_cell_process(&dir),
        };
        match result {
            Ok(()) => outcome.trained.push(config.cell.clone()),
            Err(err) => {
                let message = format!("{err:#}");
                eprintln!("[{}] FAILED: {message}", config.cell);
                records::write_atomic(
                    &dir.join(records::FAILED),
                    format!("{message}\n").as_bytes(),
                )?;
                outcome.failed.push((config.cell.clone(), message));
            }
        }
    }
    crate::evaluate::run_evaluations(
        &suite.suite.evaluations,
        run_dir,
        &cells,
        isolation,
        &mut outcome,
    )?;
    Ok(outcome)
}

/// Trains a cell in a child process (`mixbench cell DIR`), so that each cell starts with
/// fresh GPU memory and a crash costs one cell.
fn run_cell_process(dir: &Path) -> Result<()> {
    let exe = std::env::current_exe().context("locating the mixbench executable")?;
    let status = Command::new(&exe)
        .arg("cell")
        .arg(dir)
        .status()
        .with_context(|| format!("starting {} cell {}", exe.display(), dir.display()))?;
    if status.success() {
        return Ok(());
    }
    let reason = std::fs::read_to_string(dir.join(records::FAILED)).unwrap_or_default();
    anyhow::bail!(
        "cell process exited with {status}{}{}",
        if reason.is_empty() { "" } else { ": " },
        reason.trim()
    )
}
