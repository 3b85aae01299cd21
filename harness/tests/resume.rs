//! Exact resume, stop signals and several workers on one run folder, through the `mixbench`
//! binary: kill -9 at several points then rerun gives byte-identical weights and the same
//! metrics (all but timing columns) as an uninterrupted run, with the rows written before the
//! kill unchanged; SIGTERM saves a checkpoint and exits with the resumable status; two
//! processes with two workers each never train a cell twice; stale claims are taken over.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mixbench::executor::claim;
use mixbench::records::{self, EpochMetrics};

/// Two cells of six epochs of 30 steps each: long enough to be stopped in the middle of an
/// epoch, short enough for a test.
const SUITE: &str = "\
name: resume
datasets:
  - synthetic: {classes: 3, train_per_class: 200, test_per_class: 20, size: 16, seed: 2}
models: [small_cnn]
methods: [mixup, cutmix]
seeds: [0]
training:
  epochs: 6
  batch_size: 20
  lr: 0.05
  milestones: [3]
  device: cpu
  threads: 1
";

fn mixbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mixbench"))
}

/// Writes `text` as a suite file in `dir`.
fn suite_file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("suite.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts `mixbench run SUITE --out OUT [extra]` with its output captured.
fn start_run(suite: &Path, out: &Path, extra: &[&str]) -> Child {
    mixbench()
        .arg("run")
        .arg(suite)
        .arg("--out")
        .arg(out)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs `mixbench run SUITE --out OUT` to its end.
fn run(suite: &Path, out: &Path) -> Output {
    start_run(suite, out, &[]).wait_with_output().unwrap()
}

fn cell(out: &Path, method: &str) -> PathBuf {
    out.join(records::CELLS_DIR)
        .join(format!("synthetic-small_cnn-{method}-s0"))
}

/// Rows of a cell's `metrics.csv` so far (0 when it does not exist yet).
fn rows_written(dir: &Path) -> usize {
    records::read_metrics(dir).map_or(0, |rows| rows.len())
}

/// Polls `condition` every few milliseconds for up to two minutes.
fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The processes whose parent is `parent` (from Linux's `/proc/<pid>/stat`).
fn children(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                // `pid (comm) state ppid ...`; the name may hold spaces and parentheses.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(parent)
            })
        })
        .collect()
}

/// Whether process `pid` runs the `mixbench` subcommand `command`: a forked child shows its
/// parent's command line (and handlers) until it has exec'd.
fn runs(pid: u32, command: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|line| line.split(|&b| b == 0).nth(1) == Some(command.as_bytes()))
}

/// Whether process `pid` catches SIGTERM (its handler is installed), from the `SigCgt` mask of
/// `/proc/<pid>/status`.
fn catches_sigterm(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .is_some_and(|mask| mask & (1 << (libc::SIGTERM - 1)) != 0)
    })
}

/// The non-timing columns of a metrics row.
fn values(row: &EpochMetrics) -> (usize, f64, f64, f64, f64, f64, f64, usize) {
    (
        row.epoch,
        row.lr,
        row.train_loss,
        row.train_acc,
        row.test_loss,
        row.test_top1,
        row.test_top5,
        row.skipped_batches,
    )
}

/// `out`'s cells have the same metrics (non-timing columns) and byte-identical final weights
/// as `reference`'s.
fn assert_same_results(reference: &Path, out: &Path) {
    for method in ["mixup", "cutmix"] {
        let (a, b) = (cell(reference, method), cell(out, method));
        assert!(
            b.join(records::DONE).is_file(),
            "{} unfinished",
            b.display()
        );
        let (ra, rb) = (
            records::read_metrics(&a).unwrap(),
            records::read_metrics(&b).unwrap(),
        );
        assert_eq!(
            ra.iter().map(values).collect::<Vec<_>>(),
            rb.iter().map(values).collect::<Vec<_>>(),
            "{method}: metrics differ"
        );
        assert!(
            std::fs::read(a.join(records::CHECKPOINT)).unwrap()
                == std::fs::read(b.join(records::CHECKPOINT)).unwrap(),
            "{method}: final weights differ"
        );
        assert!(
            !b.join(records::RESUME).exists(),
            "a finished cell keeps no resume checkpoint"
        );
    }
}

/// The lines of `before` (a `metrics.csv` read at the kill) are the first lines of the file
/// now: rows written before a kill are never rewritten.
fn assert_rows_kept(before: &str, dir: &Path) {
    let now = std::fs::read_to_string(dir.join(records::METRICS)).unwrap();
    for (i, line) in before.lines().enumerate() {
        assert_eq!(
            now.lines().nth(i),
            Some(line),
            "row {i} of {}",
            dir.display()
        );
    }
}

/// The uninterrupted run the others are compared with.
fn reference_run(root: &Path) -> (PathBuf, PathBuf) {
    let suite = suite_file(root, SUITE);
    let reference = root.join("reference");
    let output = run(&suite, &reference);
    assert!(output.status.success(), "{output:?}");
    (suite, reference)
}

/// kill -9 in the middle of an epoch, while a checkpoint is being replaced (emulated: a
/// half-written temporary file beside the last complete checkpoint, which is what such a kill
/// leaves), and between cells; each time the rerun finishes with exactly the results of the
/// uninterrupted run and keeps the rows written before the kill.
#[test]
fn kill_9_anywhere_then_rerun_gives_identical_results() {
    let tmp = tempfile::tempdir().unwrap();
    let (suite, reference) = reference_run(tmp.path());
    type KillPoint = (&'static str, Box<dyn Fn(&Path) -> bool>);
    let points: Vec<KillPoint> = vec![
        (
            "mid-epoch",
            Box::new(|out| rows_written(&cell(out, "mixup")) >= 2),
        ),
        (
            "during a checkpoint write",
            Box::new(|out| rows_written(&cell(out, "mixup")) >= 4),
        ),
        (
            "between cells",
            Box::new(|out| cell(out, "mixup").join(records::DONE).exists()),
        ),
    ];
    for (name, point) in points {
        let out = tmp.path().join(name.replace(' ', "-"));
        let mut child = start_run(&suite, &out, &[]);
        wait_for(name, || point(&out));
        if name == "mid-epoch" {
            // Into the next epoch's steps.
            std::thread::sleep(Duration::from_millis(40));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let mixup = cell(&out, "mixup");
        let before = std::fs::read_to_string(mixup.join(records::METRICS)).unwrap();
        if name == "during a checkpoint write" {
            std::fs::write(
                mixup.join("resume.safetensors.999999.tmp"),
                b"\x08\x00\x00\x00\x00\x00\x00\x00{\"a\"",
            )
            .unwrap();
        }
        let output = run(&suite, &out);
        assert!(output.status.success(), "{name}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        if name != "between cells" {
            assert!(stderr.contains("resuming"), "{name}: {stderr}");
        }
        assert_same_results(&reference, &out);
        assert_rows_kept(&before, &mixup);
        assert!(
            !mixup.join("resume.safetensors.999999.tmp").exists(),
            "{name}: a cut-off checkpoint write is cleaned up"
        );
    }
    // A kill between a cell's `done` marker and the removal of its resume checkpoint leaves
    // both; the next run removes the checkpoint and keeps the cell's results.
    let out = tmp.path().join("between-cells");
    let mixup = cell(&out, "mixup");
    let before = std::fs::read_to_string(mixup.join(records::METRICS)).unwrap();
    std::fs::write(mixup.join(records::RESUME), b"left by a kill").unwrap();
    let output = run(&suite, &out);
    assert!(output.status.success(), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("finished before, skipped"),
        "{output:?}"
    );
    assert_same_results(&reference, &out);
    assert_eq!(
        std::fs::read_to_string(mixup.join(records::METRICS)).unwrap(),
        before
    );
}

/// SIGTERM stops the run at a step boundary with a checkpoint holding the epoch so far and
/// exit status 75; `status` shows the cell pending and resumable; a changed recipe is refused
/// with the changed key named; the rerun resumes inside the epoch and ends with the
/// uninterrupted run's results. A second signal (a second later)
/// exits at once (143).
#[test]
fn sigterm_checkpoints_and_exits_resumable_then_a_rerun_finishes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let (suite, reference) = reference_run(tmp.path());
    let out = tmp.path().join("stopped");
    let child = start_run(&suite, &out, &[]);
    let mixup = cell(&out, "mixup");
    wait_for("an epoch", || rows_written(&mixup) >= 1);
    std::thread::sleep(Duration::from_millis(40));
    // SAFETY: signals the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(75), "{stderr}");
    assert!(
        stderr.contains("rerun the same command to resume"),
        "{stderr}"
    );
    assert!(mixup.join(records::RESUME).is_file());
    assert!(!mixup.join(records::DONE).exists() && !mixup.join(records::FAILED).exists());
    assert!(!mixup.join("claim").exists(), "the claim is released");
    let status = mixbench().arg("status").arg(&out).output().unwrap();
    let table = String::from_utf8_lossy(&status.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("pending") && l.contains("mixup") && l.contains("resumable")),
        "{table}"
    );
    let before = std::fs::read_to_string(mixup.join(records::METRICS)).unwrap();
    // A changed recipe is refused before anything is touched, naming the cell and the key.
    let changed = tmp.path().join("changed.yaml");
    std::fs::write(&changed, SUITE.replace("lr: 0.05", "lr: 0.1")).unwrap();
    let refused = run(&changed, &out);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("synthetic-small_cnn-mixup-s0: training.lr: 0.05 -> 0.1"),
        "{stderr}"
    );
    assert!(mixup.join(records::RESUME).is_file());
    let output = run(&suite, &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("resuming"), "{stderr}");
    assert_same_results(&reference, &out);
    assert_rows_kept(&before, &mixup);

    // Two signals: out at once with 128 + SIGTERM, the unit's process killed with it. The
    // first arrives during a runtime evaluation, which runs to its end on one signal.
    let text = format!(
        "{}evaluations:\n  runtime: {{warmup_steps: 1, steps: 4000, repeats: 3, eval_batches: 1, pytorch: off}}\n",
        SUITE
            .replace("methods: [mixup, cutmix]", "methods: [vanilla]")
            .replace("epochs: 6", "epochs: 1\n  max_train_batches: 2")
            .replace("train_per_class: 200", "train_per_class: 1000")
    );
    let suite = suite_file(tmp.path(), &text);
    let out = tmp.path().join("twice");
    let child = start_run(&suite, &out, &[]);
    let vanilla = cell(&out, "vanilla");
    wait_for("the runtime evaluation", || {
        vanilla.join("runtime.claim").exists()
    });
    wait_for(
        "the evaluation's process to install its signal handlers",
        || {
            children(child.id())
                .into_iter()
                .any(|pid| runs(pid, "evaluate") && catches_sigterm(pid))
        },
    );
    // Into its measurements (thousands of steps: seconds).
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: as above.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    // Signals within half a second of the first are the same request; a later one is a second.
    std::thread::sleep(Duration::from_millis(700));
    assert!(vanilla.join("runtime.claim").exists(), "still evaluating");
    // SAFETY: as above; the child is not reaped before `wait_with_output`.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(143), "{output:?}");
    assert!(!vanilla.join("runtime.done").exists());
}

/// Two `mixbench run --jobs 2` processes on one folder work through a grid of twelve tiny
/// cells together: every cell is trained exactly once (the attempts log), all finish, and
/// both processes succeed.
#[test]
fn two_processes_with_two_workers_never_train_a_cell_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let text = SUITE
        .replace("train_per_class: 200", "train_per_class: 20")
        .replace(
            "methods: [mixup, cutmix]",
            "methods: [vanilla, mixup, cutmix]",
        )
        .replace("seeds: [0]", "seeds: [0, 1, 2, 3]")
        .replace("epochs: 6", "epochs: 1");
    let suite = suite_file(tmp.path(), &text);
    let out = tmp.path().join("shared");
    let a = start_run(&suite, &out, &["--jobs", "2"]);
    let b = start_run(&suite, &out, &["--jobs", "2"]);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{a:?}");
    assert!(b.status.success(), "{b:?}");
    let attempts = claim::read_attempts(&out).unwrap();
    let mut units: Vec<&str> = attempts.iter().map(|r| r.unit.as_str()).collect();
    units.sort_unstable();
    let cells = records::cell_dirs(&out).unwrap();
    assert_eq!(cells.len(), 12);
    let mut expected: Vec<String> = cells
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    expected.sort_unstable();
    assert_eq!(units, expected, "each cell trained exactly once");
    assert!(cells.iter().all(|d| d.join(records::DONE).is_file()));
    assert!(cells.iter().all(|d| !d.join("claim").exists()));
}

/// A claim left by a process that is gone shows as stale, and the next run takes it over.
#[test]
fn a_stale_claim_is_shown_and_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    let text = SUITE
        .replace("methods: [mixup, cutmix]", "methods: [mixup]")
        .replace("train_per_class: 200", "train_per_class: 20")
        .replace("epochs: 6", "epochs: 1");
    let suite = suite_file(tmp.path(), &text);
    let out = tmp.path().join("run");
    let mixup = cell(&out, "mixup");
    std::fs::create_dir_all(&mixup).unwrap();
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let stale = claim::Claimant {
        pid: gone.id(),
        pid_start: 1,
        ..claim::Claimant::current()
    };
    std::fs::write(mixup.join("claim"), serde_json::to_vec(&stale).unwrap()).unwrap();
    let status = mixbench().arg("status").arg(&out).output().unwrap();
    let table = String::from_utf8_lossy(&status.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("stale") && l.contains("which is gone")),
        "{table}"
    );
    let output = run(&suite, &out);
    assert!(output.status.success(), "{output:?}");
    assert!(mixup.join(records::DONE).is_file());
    assert_eq!(claim::read_attempts(&out).unwrap().len(), 1);
    let status = mixbench().arg("status").arg(&out).output().unwrap();
    let table = String::from_utf8_lossy(&status.stdout);
    assert!(table.contains("1 units: 1 done"), "{table}");
}
