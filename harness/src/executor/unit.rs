//! A unit of work and how it runs: its files (settings, markers, claim), preparing its folder
//! ([`prepare`]), and running it here or in a child process ([`execute_with`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::cell::{train_cell, Isolation};
use crate::evaluations::EvaluationKind;
use crate::{interrupt, records};

use super::claim;

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

    /// Whether the unit must have the local machine to itself (an evaluation that measures
    /// time, see [`crate::evaluations::Evaluation::runs_alone`]).
    pub fn runs_alone(&self) -> bool {
        match self.task {
            Task::Train => false,
            Task::Evaluate(kind) => kind.runs_alone(),
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

    /// The claim of whoever runs the unit: `claim` or `<kind>.claim` (see [`claim`]).
    pub fn claim_file(&self) -> PathBuf {
        self.dir.join(match self.task {
            Task::Train => "claim".to_string(),
            Task::Evaluate(kind) => format!("{}.claim", kind.name()),
        })
    }

    /// The run folder (`RUN_DIR` of `RUN_DIR/cells/<cell>`), when the cell folder sits in one.
    pub fn run_dir(&self) -> Option<PathBuf> {
        let cells = self.dir.parent()?;
        (cells.file_name()? == records::CELLS_DIR).then(|| cells.parent().map(Path::to_path_buf))?
    }

    /// The record of a failure: `failed` or `<kind>.failed`.
    pub fn failed_file(&self) -> PathBuf {
        self.dir.join(match self.task {
            Task::Train => records::FAILED.to_string(),
            Task::Evaluate(kind) => kind.failed_file(),
        })
    }

    /// The arguments (after the executable) of the command that runs this prepared unit in
    /// another process: `cell DIR` or `evaluate DIR KIND`. Such a command claims the unit
    /// itself ([`Unit::run_claimed`]) unless `claimed` says its caller holds the claim
    /// (`--claimed`).
    pub fn command_args(&self, claimed: bool) -> Vec<OsString> {
        let mut args: Vec<OsString> = match self.task {
            Task::Train => vec!["cell".into(), self.dir.clone().into()],
            Task::Evaluate(kind) => vec![
                "evaluate".into(),
                self.dir.clone().into(),
                kind.name().into(),
            ],
        };
        if claimed {
            args.push("--claimed".into());
        }
        args
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
                if !self.dir.join(records::DONE).exists() {
                    bail!(
                        "cell {} has not finished training (no `{}` marker); its evaluations \
                         run once it has",
                        self.cell(),
                        records::DONE
                    );
                }
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

    /// Runs the prepared unit in this process as a command of its own does (`mixbench cell
    /// DIR`, `mixbench evaluate DIR KIND`: what a Slurm task runs): claims it first (a unit a
    /// live process elsewhere holds is an error; a finished one is left alone), records the
    /// attempt in the run's `attempts.log`, and records a failure in its `failed` marker.
    pub fn run_claimed(&self) -> Result<()> {
        let path = self.settings_file();
        let settings = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        if self.is_finished(&settings) {
            eprintln!("{}: finished before, nothing to do", self.label());
            return Ok(());
        }
        let _claim = match claim::try_claim(&self.claim_file())? {
            claim::Attempt::Claimed(claim) => claim,
            claim::Attempt::Held(claimant) => bail!(
                "{} is being run by {}",
                self.label(),
                claimant.map_or("another process".into(), |c| c.describe())
            ),
        };
        self.log_attempt()?;
        self.run_recording_failure()
    }

    /// Appends this process's start of the unit to the run's `attempts.log`.
    pub(super) fn log_attempt(&self) -> Result<()> {
        let Some(run_dir) = self.run_dir() else {
            return Ok(());
        };
        let record = claim::AttemptRecord {
            unit: self.label(),
            claimant: claim::Claimant::current(),
        };
        claim::log_attempt(&run_dir, &record)
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
    /// returning it (a stop on request is not a failure): what a child process started by
    /// [`execute_with`] does.
    pub fn run_recording_failure(&self) -> Result<()> {
        self.run_guarded().inspect_err(|err| {
            if !interrupt::is_interrupted(err) {
                let message = format!("{err:#}\n");
                let _ = records::write_atomic(&self.failed_file(), message.as_bytes());
            }
        })
    }

    /// Runs the prepared unit in a child process (`mixbench <command_args>`, with `env` added
    /// to its environment) in its own process group, so that a terminal's Ctrl-C reaches it
    /// once, through this process: a stop requested here ([`interrupt::requested`]) is
    /// forwarded to it as SIGTERM, and a child that exits with [`interrupt::RESUMABLE_EXIT`]
    /// comes back as [`interrupt::Interrupted`]. The child is killed if this thread dies
    /// (`PR_SET_PDEATHSIG`), so a killed run never leaves a cell training behind it.
    fn run_in_child(&self, env: &[(String, String)]) -> Result<()> {
        use std::os::unix::process::CommandExt;
        let exe = std::env::current_exe().context("locating the mixbench executable")?;
        let mut command = Command::new(&exe);
        command
            .args(self.command_args(true))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .process_group(0);
        // SAFETY: prctl(2) is async-signal-safe, as a pre_exec hook must be.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {} for {}", exe.display(), self.label()))?;
        let _tracked = interrupt::track_child(child.id());
        let mut forwarded = false;
        let status = loop {
            if let Some(status) = child.try_wait().context("waiting for a child process")? {
                break status;
            }
            if !forwarded && interrupt::requested() {
                // SAFETY: signals the child this process started and has not reaped yet.
                unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
                forwarded = true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        if status.success() {
            return Ok(());
        }
        // A child stopped before it could install its handlers dies of the forwarded signal:
        // nothing of it is lost either.
        let stopped_early = forwarded && {
            use std::os::unix::process::ExitStatusExt;
            status.signal() == Some(libc::SIGTERM)
        };
        if status.code() == Some(interrupt::RESUMABLE_EXIT.into()) || stopped_early {
            return Err(interrupt::Interrupted {
                what: self.label(),
                at: "in its own process, which saved what it had".into(),
            }
            .into());
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
        // A cell with a resume checkpoint carries on from it (training checks that the
        // checkpoint was made by the same configuration).
        Task::Train if unit.dir.join(records::RESUME).exists() => {
            let _ = std::fs::remove_file(unit.failed_file());
        }
        Task::Train => clear_cell(unit)?,
        Task::Evaluate(_) => {
            for stale in [unit.done_file(), unit.failed_file()] {
                let _ = std::fs::remove_file(stale);
            }
        }
    }
    records::write_atomic(&unit.settings_file(), settings.as_bytes())?;
    Ok(true)
}

/// Empties an unfinished cell's folder (creating it when missing), all but the claim this
/// process holds on it.
fn clear_cell(unit: &Unit) -> Result<()> {
    let context = || format!("clearing unfinished cell {}", unit.dir.display());
    std::fs::create_dir_all(&unit.dir).with_context(context)?;
    let claim = unit.claim_file();
    for entry in std::fs::read_dir(&unit.dir).with_context(context)? {
        let path = entry.with_context(context)?.path();
        if path == claim {
            continue;
        }
        if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        }
        .with_context(|| format!("removing {}", path.display()))?;
    }
    Ok(())
}

/// Runs a prepared unit with `isolation` (a child process gets `env` added to its
/// environment); a failure is recorded in the unit's `failed` marker (with the child's reason
/// when it ran in a child process) and returned. A unit stopped on request
/// ([`interrupt::Interrupted`]) is not a failure: it comes back without a marker.
pub fn execute_with(unit: &Unit, isolation: Isolation, env: &[(String, String)]) -> Result<()> {
    let result = match isolation {
        Isolation::Inline => unit.run_guarded(),
        Isolation::Process => unit.run_in_child(env),
    };
    if let Err(err) = &result {
        if !interrupt::is_interrupted(err) {
            records::write_atomic(&unit.failed_file(), format!("{err:#}\n").as_bytes())?;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::CellConfig;
    use crate::data::DataSpec;
    use crate::evaluations::{EvaluationResults, SettingError};
    use crate::executor::pool::{run_units, RunOutcome, Workers};
    use crate::metrics::MetricDecl;
    use crate::report::values::MetricRow;
    use crate::report::{Section, SectionSource};

    /// An evaluation whose run panics with the settings as message, or succeeds when they
    /// are `ok`.
    struct Panicking;

    impl SectionSource for Panicking {
        fn section(&self, _: &Path) -> Result<Option<Section>> {
            Ok(None)
        }
    }

    impl EvaluationResults for Panicking {
        fn name(&self) -> &'static str {
            "panicking"
        }
        fn metrics(&self) -> &'static [MetricDecl] {
            &[]
        }
        fn values(&self, _: &Path) -> Result<Vec<MetricRow>> {
            Ok(Vec::new())
        }
    }

    impl EvaluationKind for Panicking {
        fn name(&self) -> &'static str {
            "panicking"
        }
        fn results(&self) -> &'static dyn EvaluationResults {
            &PANICKING
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
        let cells = tmp.path().join(records::CELLS_DIR);
        let (a, b) = (cells.join("a"), cells.join("b"));
        for dir in [&a, &b] {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(records::DONE), "trained\n").unwrap();
        }
        let units = vec![
            (Unit::evaluate(&a, &PANICKING), "boom".to_string()),
            (Unit::evaluate(&b, &PANICKING), "ok".to_string()),
        ];
        let mut outcome = RunOutcome::default();
        let inline = Workers {
            isolation: Isolation::Inline,
            ..Workers::default()
        };
        run_units(&units, &inline, &mut outcome).unwrap();
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
        // Each unit was claimed once, logged in the run's attempts log, and released.
        let attempts = claim::read_attempts(tmp.path()).unwrap();
        let units: Vec<&str> = attempts.iter().map(|r| r.unit.as_str()).collect();
        assert_eq!(units, ["a (panicking)", "b (panicking)"]);
        assert!(!a.join("panicking.claim").exists() && !b.join("panicking.claim").exists());
    }
}
