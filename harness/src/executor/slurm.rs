//! Submitting a run's units to Slurm: Slurm is the scheduler, mixbench only writes the job
//! scripts and calls `sbatch`.
//!
//! Three submissions, in `RUN_DIR/slurm/`:
//! - `train.sbatch`: a job array with one task per unfinished cell (`train.units` lists the
//!   cell folders; task *i* trains line *i + 1* with `mixbench cell DIR`), `%N` throttled when
//!   asked, `--requeue`, and `--signal=B:USR1@120`: two minutes before the time limit the task
//!   is told to stop, saves a checkpoint and queues itself again (`scontrol requeue`), and the
//!   next run of the task resumes it. A preempted or requeued task gets SIGTERM from Slurm,
//!   saves its checkpoint the same way, and Slurm queues it again;
//! - `evaluate.sbatch`: an array with one task per evaluation to run (`evaluate.units`, one
//!   `KIND DIR` per line), after the training array (`--dependency=afterany`);
//! - `report.sbatch`: `mixbench report RUN_DIR`, after the evaluations.
//!
//! The tasks claim their units like local workers do, so a local `mixbench run` on the same
//! folder never runs a unit a task is running. `submitted.json` records the job ids for
//! `mixbench status`. The mixbench executable and the run folder must be at the same paths on
//! the compute nodes (a shared file system).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::unit::{Task, Unit};
use crate::records;

/// Folder of the job scripts, unit lists, logs and `submitted.json` in a run folder.
pub const SLURM_DIR: &str = "slurm";

/// Seconds before the time limit at which a training task is told to checkpoint and requeue.
pub const TIME_LIMIT_GRACE_S: u32 = 120;

/// How to submit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlurmOptions {
    /// Extra `sbatch` arguments for every submission (`--partition`, `--time`, `--gres`,
    /// `--cpus-per-task`, `--account`...), split on whitespace.
    pub args: Vec<String>,
    /// At most this many training tasks at once (`--array=0-N%K`).
    pub throttle: Option<usize>,
}

/// A submitted job: its id and how many array tasks it has (1 for a plain job).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmittedJob {
    /// Slurm job id (the array's id for an array).
    pub job: String,
    /// Array tasks.
    pub tasks: usize,
}

/// What `submit` submitted, also saved as `RUN_DIR/slurm/submitted.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// The training array, when some cell was unfinished.
    pub train: Option<SubmittedJob>,
    /// The evaluation array, when some evaluation was unfinished.
    pub evaluate: Option<SubmittedJob>,
    /// The report job.
    pub report: SubmittedJob,
}

/// Writes the job scripts for `training` and `evaluations` (prepared units of the run in
/// `run_dir`), submits them with `sbatch` and returns (and records) what was submitted.
pub fn submit(
    run_dir: &Path,
    training: &[Unit],
    evaluations: &[Unit],
    options: &SlurmOptions,
) -> Result<Submission> {
    let run_dir =
        std::path::absolute(run_dir).with_context(|| format!("resolving {}", run_dir.display()))?;
    let dir = run_dir.join(SLURM_DIR);
    std::fs::create_dir_all(dir.join("logs"))
        .with_context(|| format!("creating {}", dir.display()))?;
    let exe = std::env::current_exe().context("locating the mixbench executable")?;
    let sbatch = |script: &Path, dependency: Option<&SubmittedJob>| -> Result<String> {
        let mut command = Command::new("sbatch");
        command.arg("--parsable").args(&options.args);
        if let Some(after) = dependency {
            command.arg(format!("--dependency=afterany:{}", after.job));
        }
        let output = command
            .arg(script)
            .output()
            .context("running sbatch (is Slurm installed and its controller reachable?)")?;
        if !output.status.success() {
            bail!(
                "sbatch {} failed ({}): {}",
                script.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        // `--parsable` prints `id` or `id;cluster`.
        let text = String::from_utf8_lossy(&output.stdout);
        let id = text.trim().split(';').next().unwrap_or("").to_string();
        if id.is_empty() {
            bail!("sbatch {} printed no job id", script.display());
        }
        Ok(id)
    };

    let train = if training.is_empty() {
        None
    } else {
        let list = dir.join("train.units");
        let lines: Vec<String> = training.iter().map(|u| path_line(&u.dir)).collect();
        records::write_atomic(&list, lines.join("\n").as_bytes())?;
        let script = dir.join("train.sbatch");
        let array = array_spec(training.len(), options.throttle);
        records::write_atomic(&script, train_script(&exe, &dir, &list, &array).as_bytes())?;
        let job = sbatch(&script, None)?;
        Some(SubmittedJob {
            job,
            tasks: training.len(),
        })
    };
    let evaluate = if evaluations.is_empty() {
        None
    } else {
        let list = dir.join("evaluate.units");
        let lines: Vec<String> = evaluations
            .iter()
            .map(|u| match u.task {
                Task::Evaluate(kind) => format!("{} {}", kind.name(), path_line(&u.dir)),
                Task::Train => unreachable!("only evaluations are listed here"),
            })
            .collect();
        records::write_atomic(&list, lines.join("\n").as_bytes())?;
        let script = dir.join("evaluate.sbatch");
        let array = array_spec(evaluations.len(), None);
        records::write_atomic(
            &script,
            evaluate_script(&exe, &dir, &list, &array).as_bytes(),
        )?;
        let job = sbatch(&script, train.as_ref())?;
        Some(SubmittedJob {
            job,
            tasks: evaluations.len(),
        })
    };
    let script = dir.join("report.sbatch");
    records::write_atomic(&script, report_script(&exe, &dir, &run_dir).as_bytes())?;
    let report = SubmittedJob {
        job: sbatch(&script, evaluate.as_ref().or(train.as_ref()))?,
        tasks: 1,
    };
    let submission = Submission {
        train,
        evaluate,
        report,
    };
    records::write_atomic(
        &dir.join("submitted.json"),
        serde_json::to_string_pretty(&submission)?.as_bytes(),
    )?;
    Ok(submission)
}

/// The submission recorded in `RUN_DIR/slurm/submitted.json`, if any.
pub fn read_submission(run_dir: &Path) -> Option<Submission> {
    let text = std::fs::read_to_string(run_dir.join(SLURM_DIR).join("submitted.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// The queue state of each task of `job` still known to Slurm (`squeue`), by array index:
/// `PENDING (Dependency)`, `RUNNING`... Empty when `squeue` is missing or fails.
pub fn queued_tasks(job: &str) -> Vec<(usize, String)> {
    let Ok(output) = Command::new("squeue")
        .args(["-h", "-r", "-j", job, "-o", "%K|%T|%r"])
        .output()
    else {
        return Vec::new();
    };
    if !output.status.success() {
        return Vec::new();
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('|');
            let index = fields.next()?.trim().parse().ok()?;
            let state = fields.next()?.trim().to_string();
            let reason = fields.next().unwrap_or("").trim();
            Some(match reason {
                "" | "None" => (index, state),
                _ => (index, format!("{state} ({reason})")),
            })
        })
        .collect()
}

/// The unit folders listed in `RUN_DIR/slurm/<name>.units`, as `(kind or "", folder)`.
pub fn listed_units(run_dir: &Path, name: &str) -> Vec<(String, PathBuf)> {
    let path = run_dir.join(SLURM_DIR).join(format!("{name}.units"));
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .map(|line| match name {
            "evaluate" => {
                let (kind, dir) = line.split_once(' ').unwrap_or(("", line));
                (kind.to_string(), PathBuf::from(dir))
            }
            _ => (String::new(), PathBuf::from(line)),
        })
        .collect()
}

/// `0-{n-1}` with `%throttle` when given.
fn array_spec(n: usize, throttle: Option<usize>) -> String {
    match throttle {
        Some(k) => format!("0-{}%{k}", n - 1),
        None => format!("0-{}", n - 1),
    }
}

/// A path on one line of a unit list (newlines in cell folders are impossible: cell ids are
/// folder-safe).
fn path_line(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// `text` quoted for bash.
fn quote(text: &Path) -> String {
    format!("'{}'", text.to_string_lossy().replace('\'', r"'\''"))
}

/// The first lines of every script: interpreter, provenance, job name and log file.
fn header(name: &str, dir: &Path, log: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/bash");
    let _ = writeln!(
        s,
        "# Written by `mixbench run --slurm`; see docs/resume-and-slurm.md (Slurm)."
    );
    let _ = writeln!(s, "#SBATCH --job-name=mixbench-{name}");
    let _ = writeln!(s, "#SBATCH --output={}/logs/{log}", dir.to_string_lossy());
    let _ = writeln!(s, "#SBATCH --open-mode=append");
    s
}

/// The training array's script (see the module documentation).
fn train_script(exe: &Path, dir: &Path, list: &Path, array: &str) -> String {
    let mut s = header("train", dir, "train-%A_%a.log");
    let _ = writeln!(s, "#SBATCH --array={array}");
    let _ = writeln!(s, "#SBATCH --requeue");
    let _ = writeln!(s, "#SBATCH --signal=B:USR1@{TIME_LIMIT_GRACE_S}");
    s.push_str(&format!(
        r#"set -u
cell=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" {list})
# Cells whose recipe leaves training.threads out use the task's CPUs.
if [ -n "${{SLURM_CPUS_PER_TASK:-}}" ]; then export MIXBENCH_THREADS=$SLURM_CPUS_PER_TASK; fi
{exe} cell "$cell" &
child=$!
# Near the time limit (USR1, to this shell only): stop with a checkpoint, then queue the task
# again. A requeue or preemption signals every process itself (SIGTERM); Slurm queues it again.
near_limit=0
trap 'near_limit=1; kill -TERM "$child" 2>/dev/null' USR1
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
status=0
wait "$child" || status=$?
while kill -0 "$child" 2>/dev/null; do status=0; wait "$child" || status=$?; done
if [ "$status" -eq {resumable} ] && [ "$near_limit" -eq 1 ]; then
  scontrol requeue "$SLURM_JOB_ID"
fi
exit "$status"
"#,
        list = quote(list),
        exe = quote(exe),
        resumable = crate::interrupt::RESUMABLE_EXIT,
    ));
    s
}

/// The evaluation array's script.
fn evaluate_script(exe: &Path, dir: &Path, list: &Path, array: &str) -> String {
    let mut s = header("evaluate", dir, "evaluate-%A_%a.log");
    let _ = writeln!(s, "#SBATCH --array={array}");
    s.push_str(&format!(
        r#"set -u
line=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" {list})
exec {exe} evaluate "${{line#* }}" "${{line%% *}}"
"#,
        list = quote(list),
        exe = quote(exe),
    ));
    s
}

/// The report job's script.
fn report_script(exe: &Path, dir: &Path, run_dir: &Path) -> String {
    let mut s = header("report", dir, "report-%j.log");
    let _ = writeln!(s, "exec {} report {}", quote(exe), quote(run_dir));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The training script reads its cell from the list by task index, passes the stop on
    /// to mixbench and requeues itself only when stopped near the time limit; paths are quoted
    /// for the shell.
    #[test]
    fn the_training_script_stops_with_a_checkpoint_and_requeues_near_the_limit() {
        let script = train_script(
            Path::new("/opt/mix bench/mixbench"),
            Path::new("/runs/r/slurm"),
            Path::new("/runs/r/slurm/train.units"),
            &array_spec(12, Some(4)),
        );
        for line in [
            "#SBATCH --array=0-11%4",
            "#SBATCH --requeue",
            "#SBATCH --signal=B:USR1@120",
            "#SBATCH --output=/runs/r/slurm/logs/train-%A_%a.log",
            "'/opt/mix bench/mixbench' cell \"$cell\" &",
            "if [ \"$status\" -eq 75 ] && [ \"$near_limit\" -eq 1 ]; then",
        ] {
            assert!(script.lines().any(|l| l == line), "{line}\n{script}");
        }
        assert_eq!(quote(Path::new("it's")), r"'it'\''s'");
        assert_eq!(array_spec(1, None), "0-0");
    }
}
