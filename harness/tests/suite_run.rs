//! End-to-end runs of small suites: outputs, resume, determinism and error reporting, through
//! the library and through the `mixbench` binary.

use std::path::Path;
use std::process::Command;

use mixbench::methods::registry;
use mixbench::records;
use mixbench::suite::{self, config::LoadedSuite};

const SUITE: &str = "\
name: tiny
datasets:
  - synthetic: {classes: 3, train_per_class: 40, test_per_class: 10, size: 16, seed: 1}
models: [small_cnn]
methods: [vanilla, mixup, cutmix]
seeds: [0]
training:
  epochs: 2
  batch_size: 20
  lr: 0.05
  milestones: [1]
  device: cpu
  threads: 1
  isolation: inline
";

fn run(text: &str, dir: &Path) -> suite::RunOutcome {
    let loaded =
        LoadedSuite::from_text(text, Path::new("tiny.yaml"), Path::new("."), &registry()).unwrap();
    suite::run(&loaded, dir, text).unwrap()
}

#[test]
fn a_run_leaves_every_promised_file_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let outcome = run(SUITE, tmp.path());
    assert_eq!(outcome.trained.len(), 3);
    assert!(outcome.failed.is_empty());
    let cells = records::cell_dirs(tmp.path()).unwrap();
    assert_eq!(cells.len(), 3);
    for dir in &cells {
        for file in [
            records::CONFIG,
            records::CELL_INFO,
            records::METRICS,
            records::CHECKPOINT,
            records::DONE,
        ] {
            assert!(dir.join(file).is_file(), "{} lacks {file}", dir.display());
        }
        let rows = records::read_metrics(dir).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows
            .iter()
            .all(|r| (0.0..=100.0).contains(&r.test_top1) && r.test_top5 >= r.test_top1));
        assert!((rows[1].lr - 0.005).abs() < 1e-12, "milestone at epoch 1");
        let info = records::read_cell_info(dir).unwrap();
        assert_eq!(info.train_images, 120);
        assert_eq!(info.config_hash.len(), 16);
    }
    let report =
        mixbench::report::build_report(tmp.path(), &mixbench::evaluations::report_sections())
            .unwrap();
    assert!(report.summary_csv.is_file() && report.report_md.is_file());

    // A rerun skips finished cells and keeps their results untouched.
    let before = std::fs::read(cells[0].join(records::METRICS)).unwrap();
    let again = run(SUITE, tmp.path());
    assert_eq!((again.trained.len(), again.skipped.len()), (0, 3));
    assert_eq!(
        std::fs::read(cells[0].join(records::METRICS)).unwrap(),
        before
    );

    // An unfinished cell (no `done`) is rerun; the others are not.
    std::fs::remove_file(cells[1].join(records::DONE)).unwrap();
    let resumed = run(SUITE, tmp.path());
    assert_eq!(
        resumed.trained,
        vec![cells[1].file_name().unwrap().to_string_lossy().to_string()]
    );
    assert!(cells[1].join(records::DONE).is_file());
}

/// Same seed, same CPU metrics: everything but the wall times agrees bit for bit.
#[test]
fn cpu_runs_are_deterministic() {
    let text = SUITE
        .replace("methods: [vanilla, mixup, cutmix]", "methods: [cutmix]")
        .replace("epochs: 2", "epochs: 1");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run(&text, a.path());
    run(&text, b.path());
    let rows = |dir: &Path| records::read_metrics(&records::cell_dirs(dir).unwrap()[0]).unwrap();
    let (ra, rb) = (rows(a.path()), rows(b.path()));
    assert_eq!(ra.len(), 1);
    assert_eq!(
        (
            ra[0].train_loss,
            ra[0].train_acc,
            ra[0].test_loss,
            ra[0].test_top1
        ),
        (
            rb[0].train_loss,
            rb[0].train_acc,
            rb[0].test_loss,
            rb[0].test_top1
        )
    );
    // A different seed gives a different run.
    let c = tempfile::tempdir().unwrap();
    run(&text.replace("seeds: [0]", "seeds: [1]"), c.path());
    assert_ne!(rows(c.path())[0].train_loss, ra[0].train_loss);
}

/// The binary runs cells in their own processes, reports, and exits 0.
#[test]
fn binary_runs_a_suite_in_child_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("tiny.yaml");
    let text = SUITE
        .replace("isolation: inline", "isolation: process")
        .replace("methods: [vanilla, mixup, cutmix]", "methods: [mixup]")
        .replace("epochs: 2", "epochs: 1");
    std::fs::write(&suite, text).unwrap();
    let out = tmp.path().join("run");
    let status = Command::new(env!("CARGO_BIN_EXE_mixbench"))
        .args([
            "run",
            suite.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(out
        .join("cells/synthetic-small_cnn-mixup-s0/done")
        .is_file());
    assert!(out.join("report.md").is_file() && out.join("summary.csv").is_file());
}

/// `mixbench run suite.yaml` with a bare file name runs from the current folder (it used to
/// fail with "cannot make an empty path absolute"), and its output lands under `runs/`.
#[test]
fn binary_runs_a_suite_given_by_a_bare_file_name() {
    let tmp = tempfile::tempdir().unwrap();
    let text = SUITE
        .replace("methods: [vanilla, mixup, cutmix]", "methods: [vanilla]")
        .replace("epochs: 2", "epochs: 1");
    std::fs::write(tmp.path().join("bare.yaml"), text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mixbench"))
        .current_dir(tmp.path())
        .args(["run", "bare.yaml"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(tmp
        .path()
        .join("runs/tiny/cells/synthetic-small_cnn-vanilla-s0/done")
        .is_file());
}

/// A bad suite file exits non-zero with the file and line in the message.
#[test]
fn binary_rejects_a_bad_suite_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("bad.yaml");
    std::fs::write(
        &suite,
        SUITE.replace(
            "methods: [vanilla, mixup, cutmix]",
            "methods: [vanilla, cutmx]",
        ),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mixbench"))
        .args(["run", suite.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.yaml:5") && stderr.contains("did you mean `cutmix`"),
        "{stderr}"
    );
}

/// A cell that fails is recorded and the others still run; the exit code says so.
#[test]
fn a_failing_cell_does_not_lose_the_grid() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("fail.yaml");
    // The folder dataset does not exist: every cell of that dataset fails, the synthetic ones run.
    let text = SUITE
        .replace(
            "  - synthetic:",
            "  - folder: {root: does-not-exist}\n  - synthetic:",
        )
        .replace("methods: [vanilla, mixup, cutmix]", "methods: [vanilla]")
        .replace("epochs: 2", "epochs: 1");
    std::fs::write(&suite, text).unwrap();
    let out = tmp.path().join("run");
    let output = Command::new(env!("CARGO_BIN_EXE_mixbench"))
        .args([
            "run",
            suite.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(out
        .join("cells/does-not-exist-small_cnn-vanilla-s0/failed")
        .is_file());
    assert!(out
        .join("cells/synthetic-small_cnn-vanilla-s0/done")
        .is_file());
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(
        summary.contains("failed") && summary.contains("done"),
        "{summary}"
    );
}

/// Every committed suite file and the embedded quickstart parse and validate against the
/// registry (datasets are not loaded: the paper suites need downloaded CIFAR).
#[test]
fn committed_suites_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../suites");
    // Every suite under suites/, found by walking it: what is included by others
    // (`paper/base/`), claims files and thresholds files are not suites.
    fn suites(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                if !matches!(name.as_str(), "base" | "thresholds") {
                    suites(&path, out);
                }
            } else if name.ends_with(".yaml") && !name.contains("claims") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    suites(&root, &mut files);
    for expected in [
        "background/background.yaml",
        "runtime/cpu.yaml",
        "quickstart.yaml",
    ] {
        assert!(
            files.contains(&root.join(expected)),
            "{expected}: {files:?}"
        );
    }
    for file in &files {
        let suite = LoadedSuite::from_file(file, &registry()).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(!suite.methods.is_empty(), "{}", file.display());
    }
    let quickstart = LoadedSuite::from_text(
        mixbench::QUICKSTART_SUITE,
        Path::new("q.yaml"),
        Path::new("."),
        &registry(),
    )
    .unwrap();
    let registered: Vec<&str> = registry().methods().iter().map(|m| m.name).collect();
    let listed: Vec<&str> = quickstart.methods.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        listed, registered,
        "the quickstart runs every registered method"
    );
}

/// The six SAGE paper grids share one recipe through `include:` and differ only in data set,
/// model and SAGE's per-model parameters (the SAGE README commands: 0.6 / 0.7 for CIFAR-10
/// PreActResNet18, 0.5 / 0.7 for CIFAR-100 PreActResNet18, 0.7 / 0.5 otherwise).
#[test]
fn paper_suites_share_the_recipe_and_set_sage_per_model() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../suites/paper");
    for (file, sage) in [
        ("sage-cifar10-preact_resnet18.yaml", (0.6, 0.7)),
        ("sage-cifar100-preact_resnet18.yaml", (0.5, 0.7)),
        ("sage-cifar10-wrn16_8.yaml", (0.7, 0.5)),
        ("sage-cifar100-wrn16_8.yaml", (0.7, 0.5)),
        ("sage-cifar10-resnext29_4_24.yaml", (0.7, 0.5)),
        ("sage-cifar100-resnext29_4_24.yaml", (0.7, 0.5)),
    ] {
        let suite = LoadedSuite::from_file(&root.join(file), &registry()).unwrap();
        let labels: Vec<&str> = suite.methods.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "vanilla",
                "mixup",
                "manifold",
                "cutmix",
                "saliencymix",
                "sage",
                "puzzlemix",
                "comixup"
            ],
            "{file}"
        );
        // Resolved parameters: the paper's values where the suite sets them.
        let param = |method: usize, key: &str| {
            suite.methods[method]
                .params
                .get(key)
                .and_then(|v| v.as_f64())
                .unwrap_or_else(|| panic!("{file}: {key}"))
        };
        assert_eq!(
            [
                param(5, "mixup_alpha"),
                param(5, "rand_pos"),
                param(5, "update_ratio"),
                param(5, "upper_lambda"),
            ],
            [1.0, 0.01, sage.1, sage.0],
            "{file}"
        );
        assert_eq!(param(1, "alpha"), 1.0, "{file}");
        assert_eq!(suite.suite.seeds, [0, 1, 2], "{file}");
        assert_eq!(suite.suite.training.epochs, 300, "{file}");
        assert_eq!(suite.suite.datasets.len(), 1, "{file}");
        assert_eq!(suite.suite.models.len(), 1, "{file}");
        assert_eq!(suite.suite.name, file.trim_end_matches(".yaml"), "{file}");
    }
}

/// `mixbench report` on a run with a garbled `metrics.csv` warns naming the cell folder, keeps
/// the cell out of the done ones, exits 1, and exits 0 with `--accept-corrupt`.
#[test]
fn binary_report_fails_on_a_corrupt_cell_unless_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let text = SUITE
        .replace(
            "methods: [vanilla, mixup, cutmix]",
            "methods: [vanilla, mixup]",
        )
        .replace("epochs: 2", "epochs: 1");
    run(&text, tmp.path());
    let cell = tmp.path().join("cells/synthetic-small_cnn-mixup-s0");
    let before = std::fs::read(cell.join("cell.json")).unwrap();
    std::fs::write(cell.join("metrics.csv"), "epoch,lr\ngarbage,x\n").unwrap();
    let report = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mixbench"))
            .arg("report")
            .arg(tmp.path())
            .args(extra)
            .output()
            .unwrap()
    };
    let output = report(&[]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning:")
            && stderr.contains("synthetic-small_cnn-mixup-s0")
            && stderr.contains("metrics.csv"),
        "{stderr}"
    );
    let summary = std::fs::read_to_string(tmp.path().join("summary.csv")).unwrap();
    let mixup = summary
        .lines()
        .find(|l| l.contains("synthetic-small_cnn-mixup-s0"))
        .unwrap();
    assert!(mixup.contains(",failed,"), "{mixup}");
    assert!(report(&["--accept-corrupt"]).status.success());
    // The report never rewrites a cell's own files.
    assert_eq!(std::fs::read(cell.join("cell.json")).unwrap(), before);
}

/// A NaN or infinite training loss stops the cell with an error naming the epoch and batch
/// (the grid goes on); with `on_nonfinite: skip_batch` the cell finishes and `metrics.csv`
/// counts the skipped batches. A learning rate of 1e30 blows the weights up after the first
/// update, so the losses after it are not finite.
#[test]
fn a_nonfinite_loss_fails_the_cell_or_skips_the_batch() {
    let text = SUITE
        .replace("lr: 0.05", "lr: 1.0e30")
        .replace(
            "methods: [vanilla, mixup, cutmix]",
            "methods: [vanilla, mixup]",
        )
        .replace("epochs: 2", "epochs: 1");
    let tmp = tempfile::tempdir().unwrap();
    let outcome = run(&text, tmp.path());
    assert_eq!(outcome.failed.len(), 2, "{:?}", outcome.failed);
    for (cell, message) in &outcome.failed {
        assert!(
            message.contains("non-finite training loss") && message.contains("at epoch 0, batch"),
            "{cell}: {message}"
        );
        assert!(tmp.path().join("cells").join(cell).join("failed").is_file());
    }

    let skipping = text.replace(
        "  isolation: inline",
        "  isolation: inline\n  on_nonfinite: skip_batch",
    );
    let tmp = tempfile::tempdir().unwrap();
    let outcome = run(&skipping, tmp.path());
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    for dir in records::cell_dirs(tmp.path()).unwrap() {
        let rows = records::read_metrics(&dir).unwrap();
        // 120 training images in batches of 20: 6 batches, the first one updates.
        assert!(
            (1..6).contains(&rows[0].skipped_batches),
            "{}: {:?}",
            dir.display(),
            rows[0]
        );
        assert!(rows[0].train_loss.is_finite(), "{:?}", rows[0]);
    }
}

/// Rerunning into a folder after changing the recipe stops before anything is written, naming
/// every finished cell and the changed keys; `rerun_changed` retrains exactly those cells, and a
/// change in how cells are run (`isolation`) is not a change.
#[test]
fn a_changed_recipe_is_refused_or_retrained_never_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let one_method = SUITE.replace("[vanilla, mixup, cutmix]", "[vanilla, mixup]");
    run(&one_method, tmp.path());
    let suite_before = std::fs::read(tmp.path().join("suite.yaml")).unwrap();

    let changed = one_method.replace("epochs: 2", "epochs: 3");
    let loaded = LoadedSuite::from_text(
        &changed,
        Path::new("tiny.yaml"),
        Path::new("."),
        &registry(),
    )
    .unwrap();
    let err = format!(
        "{:#}",
        suite::run(&loaded, tmp.path(), &changed).unwrap_err()
    );
    assert!(
        err.contains("2 finished or resumable cell(s) or evaluation(s)"),
        "{err}"
    );
    assert!(
        err.contains("synthetic-small_cnn-vanilla-s0: training.epochs: 2 -> 3"),
        "{err}"
    );
    assert!(err.contains("--rerun-changed"), "{err}");
    assert_eq!(
        std::fs::read(tmp.path().join("suite.yaml")).unwrap(),
        suite_before,
        "suite.yaml must keep describing the folder"
    );

    let options = suite::RunOptions {
        rerun_changed: true,
        ..Default::default()
    };
    let outcome = suite::run_with(&loaded, tmp.path(), &changed, options).unwrap();
    assert_eq!(outcome.trained.len(), 2);
    for dir in records::cell_dirs(tmp.path()).unwrap() {
        assert_eq!(records::read_metrics(&dir).unwrap().len(), 3);
    }

    // Running the same recipe in process instead of inline changes nothing.
    let process = changed.replace("isolation: inline", "isolation: process");
    let loaded = LoadedSuite::from_text(
        &process,
        Path::new("tiny.yaml"),
        Path::new("."),
        &registry(),
    )
    .unwrap();
    let again = suite::run(&loaded, tmp.path(), &process).unwrap();
    assert_eq!((again.trained.len(), again.skipped.len()), (0, 2));
}
