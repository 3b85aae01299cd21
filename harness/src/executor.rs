//! The executor: one mechanism that runs every unit of work of a run, training cells and
//! evaluations of trained cells alike.
//!
//! A [`Unit`] is one task on one cell folder: "train this cell" or "evaluate this cell with
//! this evaluation". It is small and explicit so that another process can run it from a command
//! line ([`Unit::command_args`]: `mixbench cell DIR`, `mixbench evaluate DIR KIND`); local
//! workers and cluster schedulers plug in here.
//!
//! The rules, the same for both tasks:
//! - **settings**: before a unit runs, its settings are written into the cell folder
//!   (`config.yaml` for training, `<kind>.yaml` for an evaluation); the unit runs from that file
//!   alone;
//! - **markers**: a unit that succeeds leaves its `done` marker last (`done`, `<kind>.done`
//!   holding the settings' hash); one that fails leaves its error in `failed` / `<kind>.failed`;
//! - **what is unfinished** ([`prepare`]): a cell is finished when its `done` marker exists; an
//!   evaluation when its marker holds the hash of the current settings. Unfinished units are
//!   cleared of stale state (an unfinished cell folder is emptied; an evaluation's old markers
//!   removed) and rerun;
//! - **isolation** ([`Isolation`]): each unit in a child process (default: GPU memory is freed
//!   between units and a crash costs one unit) or all in this process.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::cell::{train_cell, Isolation};
use crate::evaluations::EvaluationKind;
use crate::records;

/// What a unit does to its cell folder.
#[derive(Clone, Copy)]
pub enum Task {
    /// Train the cell from its `config.yaml`.
    Train,
    /// Evaluate the trained cell with the settings in its `<kind>.yaml`.
    Evaluate(&'static dyn EvaluationKind),
}

/// One unit of work: a task on a cell folder.
#[derive(Clone)]
pub struct Unit {
    /// The cell folder, `RUN_DIR/cells/<cell>`.
    pub dir: PathBuf,
    /// What to do there.
    pub task: Task,
}

impl Unit {
    /// Training the cell in `dir`.
    pub fn train(dir: &Path) -> Self {
        Unit {
            dir: dir.to_path_buf(),
            task: Task::Train,
        }
    }

    /// Evaluating the trained cell in `dir` with `kind`.
    pub fn evaluate(dir: &Path, kind: &'static dyn EvaluationKind) -> Self {
        Unit {
            dir: dir.to_path_buf(),
            task: Task::Evaluate(kind),
        }
    }

    /// The cell's name (its folder name).
    pub fn cell(&self) -> String {
        self.dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    }

    /// `<cell>` for training, `<cell> (<kind>)` for an evaluation: how messages and run
    /// outcomes name the unit.
    pub fn label(&self) -> String {
        match self.task {
            Task::Train => self.cell(),
            Task::Evaluate(kind) => format!("{} ({})", self.cell(), kind.name()),
        }
    }

    /// The file the unit runs from: `config.yaml` or `<kind>.yaml`.
    pub fn settings_file(&self) -> PathBuf {
        self.dir.join(match self.task {
            Task::Train => records::CONFIG.to_string(),
            Task::Evaluate(kind) => kind.settings_file(),
        })
    }

    /// The marker written last on success: `done` or `<kind>.done`.
    pub fn done_file(&self) -> PathBuf {
        self.dir.join(match self.task {
            Task::Train => records::DONE.to_string(),
            Task::Evaluate(kind) => kind.done_file(),
        })
    }

    /// The record of a failure: `failed` or `<kind>.failed`.
    pub fn failed_file(&self) -> PathBuf {
        self.dir.join(match self.task {
            Task::Train => records::FAILED.to_string(),
            Task::Evaluate(kind) => kind.failed_file(),
        })
    }

    /// The arguments (after the executable) of the command that runs this prepared unit in
    /// another process: `cell DIR` or `evaluate DIR KIND`.
    pub fn command_args(&self) -> Vec<OsString> {
        match self.task {
            Task::Train => vec!["cell".into(), self.dir.clone().into()],
            Task::Evaluate(kind) => vec![
                "evaluate".into(),
                self.dir.clone().into(),
                kind.name().into(),
            ],
        }
    }

    /// Whether the unit finished before with `settings`: training when `done` exists, an
    /// evaluation when its marker holds the hash of `settings`.
    pub fn is_finished(&self, settings: &str) -> bool {
        match self.task {
            Task::Train => self.done_file().exists(),
            Task::Evaluate(_) => std::fs::read_to_string(self.done_file())
                .is_ok_and(|t| t.trim() == records::short_hash(settings)),
        }
    }

    /// Runs the prepared unit in this process, from the settings file in its folder, and
    /// writes its `done` marker last.
    pub fn run_here(&self) -> Result<()> {
        match self.task {
            Task::Train => train_cell(&self.dir),
            Task::Evaluate(kind) => {
                let path = self.settings_file();
                let settings = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let started = Instant::now();
                kind.run(&self.dir, &settings)?;
                eprintln!(
                    "[{}] {} evaluated in {:.1} s",
                    self.cell(),
                    kind.name(),
                    started.elapsed().as_secs_f64()
                );
                records::write_atomic(
                    &self.done_file(),
                    format!("{}\n", records::short_hash(&settings)).as_bytes(),
                )
            }
        }
    }

    /// As [`Unit::run_here`], with a panic (libtorch reports some errors by panicking) turned
    /// into an error naming the unit, so that no panic ends a grid.
    pub fn run_guarded(&self) -> Result<()> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run_here())) {
            Ok(result) => result,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| payload.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)");
                // libtorch appends its C++ stack to the message: keep the first line of it.
                let first = message.split("\\n").next().unwrap_or(message);
                let first = first.lines().next().unwrap_or(first);
                bail!("{} panicked: {first}", self.label())
            }
        }
    }

    /// As [`Unit::run_guarded`], recording an error in the unit's `failed` marker before
    /// returning it: what a child process started by [`execute`] does.
    pub fn run_recording_failure(&self) -> Result<()> {
        self.run_guarded().inspect_err(|err| {
            let _ = records::write_atomic(&self.failed_file(), format!("{err:#}\n").as_bytes());
        })
    }

    /// Runs the prepared unit in a child process (`mixbench <command_args>`).
    fn run_in_child(&self) -> Result<()> {
        let exe = std::env::current_exe().context("locating the mixbench executable")?;
        let status = Command::new(&exe)
            .args(self.command_args())
            .status()
            .with_context(|| format!("starting {} for {}", exe.display(), self.label()))?;
        if status.success() {
            return Ok(());
        }
        let reason = std::fs::read_to_string(self.failed_file()).unwrap_or_default();
        let what = match self.task {
            Task::Train => "cell",
            Task::Evaluate(_) => "evaluation",
        };
        bail!(
            "{what} process exited with {status}{}{}",
            if reason.is_empty() { "" } else { ": " },
            reason.trim()
        )
    }
}

/// Decides whether `unit` must run with `settings` and, if so, prepares its folder: clears
/// stale state (an unfinished cell folder is emptied; an evaluation's old markers are removed)
/// and writes `settings` into the unit's settings file. Returns false for a finished unit,
/// which is left untouched.
pub fn prepare(unit: &Unit, settings: &str) -> Result<bool> {
    if unit.is_finished(settings) {
        return Ok(false);
    }
    match unit.task {
        Task::Train => {
            if unit.dir.exists() {
                std::fs::remove_dir_all(&unit.dir)
                    .with_context(|| format!("clearing unfinished cell {}", unit.dir.display()))?;
            }
            std::fs::create_dir_all(&unit.dir)
                .with_context(|| format!("creating {}", unit.dir.display()))?;
        }
        Task::Evaluate(_) => {
            for stale in [unit.done_file(), unit.failed_file()] {
                let _ = std::fs::remove_file(stale);
            }
        }
    }
    records::write_atomic(&unit.settings_file(), settings.as_bytes())?;
    Ok(true)
}

/// Runs a prepared unit with `isolation`; a failure is recorded in the unit's `failed` marker
/// (with the child's reason when it ran in a child process) and returned.
pub fn execute(unit: &Unit, isolation: Isolation) -> Result<()> {
    let result = match isolation {
        Isolation::Inline => unit.run_guarded(),
        Isolation::Process => unit.run_in_child(),
    };
    if let Err(err) = &result {
        records::write_atomic(&unit.failed_file(), format!("{err:#}\n").as_bytes())?;
    }
    result
}

/// What happened to the units of a run.
#[derive(Debug, Default)]
pub struct RunOutcome {
    /// The run folder.
    pub run_dir: PathBuf,
    /// Cells trained in this invocation.
    pub trained: Vec<String>,
    /// Cells skipped because they had finished before.
    pub skipped: Vec<String>,
    /// Units that failed, by label (`<cell>` or `<cell> (<kind>)`), with their error.
    pub failed: Vec<(String, String)>,
    /// Evaluations run in this invocation, as `<cell> (<kind>)`.
    pub evaluated: Vec<String>,
}

/// Runs every unfinished unit of `units` (each with its settings text) in order, with
/// `isolation`, and records what happened in `outcome`. A failing unit never stops the others.
pub fn run_units(
    units: &[(Unit, String)],
    isolation: Isolation,
    outcome: &mut RunOutcome,
) -> Result<()> {
    for (i, (unit, settings)) in units.iter().enumerate() {
        let counter = format!("[{}/{}]", i + 1, units.len());
        let label = unit.label();
        if !prepare(unit, settings)? {
            eprintln!("{counter} {label}: finished before, skipped");
            if let Task::Train = unit.task {
                outcome.skipped.push(label);
            }
            continue;
        }
        eprintln!("{counter} {label}");
        match execute(unit, isolation) {
            Ok(()) => match unit.task {
                Task::Train => outcome.trained.push(label),
                Task::Evaluate(_) => outcome.evaluated.push(label),
            },
            Err(err) => {
                let message = format!("{err:#}");
                eprintln!("[{label}] FAILED: {message}");
                outcome.failed.push((label, message));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::CellConfig;
    use crate::data::DataSpec;
    use crate::evaluations::SettingError;
    use crate::report::{Section, SectionSource};

    /// An evaluation whose run panics with the settings as message, or succeeds when they
    /// are `ok`.
    struct Panicking;

    impl SectionSource for Panicking {
        fn section(&self, _: &Path) -> Result<Option<Section>> {
            Ok(None)
        }
    }

    impl EvaluationKind for Panicking {
        fn name(&self) -> &'static str {
            "panicking"
        }
        fn summary(&self) -> &'static str {
            "panics"
        }
        fn resolve(&self, _: serde_norway::Value, _: &[DataSpec]) -> Result<String, SettingError> {
            Ok(String::new())
        }
        fn applies_to(&self, _: &CellConfig) -> bool {
            true
        }
        fn run(&self, _: &Path, settings: &str) -> Result<()> {
            if settings != "ok" {
                panic!("{settings}");
            }
            Ok(())
        }
    }

    static PANICKING: Panicking = Panicking;

    /// A panic inside a unit run inline fails that unit (recorded in its `failed` marker with
    /// the panic's message) and the next unit still runs; a finished unit is skipped, and
    /// changed settings run it again.
    #[test]
    fn inline_panics_fail_one_unit_and_markers_decide_what_runs() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        for dir in [&a, &b] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let units = vec![
            (Unit::evaluate(&a, &PANICKING), "boom".to_string()),
            (Unit::evaluate(&b, &PANICKING), "ok".to_string()),
        ];
        let mut outcome = RunOutcome::default();
        run_units(&units, Isolation::Inline, &mut outcome).unwrap();
        assert_eq!(outcome.failed.len(), 1, "{:?}", outcome.failed);
        assert_eq!(outcome.failed[0].0, "a (panicking)");
        assert!(
            outcome.failed[0].1.contains("panicked: boom"),
            "{:?}",
            outcome.failed
        );
        let failed = std::fs::read_to_string(a.join("panicking.failed")).unwrap();
        assert!(failed.contains("panicked: boom"), "{failed}");
        assert!(!a.join("panicking.done").exists());
        assert_eq!(outcome.evaluated, ["b (panicking)"]);
        assert_eq!(
            std::fs::read_to_string(b.join("panicking.done"))
                .unwrap()
                .trim(),
            records::short_hash("ok")
        );

        // Finished with the same settings: not prepared again. Other settings: prepared, with
        // the old marker removed and the new settings written.
        assert!(!prepare(&units[1].0, "ok").unwrap());
        assert!(prepare(&units[1].0, "other").unwrap());
        assert!(!b.join("panicking.done").exists());
        assert_eq!(
            std::fs::read_to_string(b.join("panicking.yaml")).unwrap(),
            "other"
        );
    }
}
