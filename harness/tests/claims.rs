//! The committed claims files and the committed real-data runs, checked without training:
//! every claims file validates, the SAGE file holds the numbers of the paper's Table 1 as
//! quoted, the paper suites name it, and `mixbench verify` on copies of
//! `reports/cifar10-jpeg-*` gives the verdicts their claims files document.

use std::path::{Path, PathBuf};
use std::process::Command;

use mixbench::claims::file::{Kind, Metric};
use mixbench::claims::{ClaimsFile, Outcome, Verdict, CLAIMS_CSV};
use mixbench::methods::registry;
use mixbench::suite::config::LoadedSuite;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn committed_claims_files_validate() {
    let dir = root().join("reports/claims");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(root().join("suites/quickstart-claims.yaml"));
    assert!(files.len() >= 4, "{files:?}");
    for file in &files {
        ClaimsFile::from_file(file).unwrap_or_else(|e| panic!("{e:#}"));
    }
    // The compiled-in copy is the file.
    let on_disk = std::fs::read_to_string(root().join("suites/quickstart-claims.yaml")).unwrap();
    assert_eq!(mixbench::QUICKSTART_CLAIMS, on_disk);
}

/// Table 1 as quoted in issue 12 (seven methods) plus Manifold Mixup, each a value claim with
/// its source; the few-shot figures, the runtime ratios and the robustness relation.
#[test]
fn the_sage_file_holds_table_1_and_the_ratios() {
    let file = ClaimsFile::from_file(&root().join("reports/claims/sage-bmvc2022.yaml")).unwrap();
    let value = |id: &str| {
        let c = file
            .claims
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no claim {id}"));
        assert!(c.source.contains("Table 1") || c.kind != Kind::Value || id.starts_with("fewshot"));
        c.published.unwrap()
    };
    let rows: [(&str, [f64; 8]); 4] = [
        (
            "c10-prn18",
            [95.07, 95.97, 96.27, 96.15, 96.62, 96.23, 96.95, 96.28],
        ),
        (
            "c100-prn18",
            [76.8, 77.40, 78.96, 78.85, 79.65, 79.68, 79.91, 78.51],
        ),
        (
            "c100-wrn16_8",
            [78.55, 79.83, 80.03, 80.16, 80.73, 80.42, 80.45, 79.77],
        ),
        (
            "c100-rnx29",
            [78.77, 78.23, 77.43, 78.89, 79.20, 80.27, 80.35, 77.97],
        ),
    ];
    let methods = [
        "vanilla",
        "mixup",
        "cutmix",
        "saliencymix",
        "puzzlemix",
        "comixup",
        "sage",
        "manifold",
    ];
    for (row, values) in rows {
        for (m, v) in methods.iter().zip(values) {
            assert_eq!(value(&format!("table1-{row}-{m}")), v, "{row} {m}");
        }
    }
    let table1 = file
        .claims
        .iter()
        .filter(|c| c.id.starts_with("table1-") && c.kind == Kind::Value);
    assert_eq!(table1.count(), 32);
    for (m, v) in [
        ("sage", 2.0),
        ("puzzlemix", 2.3),
        ("comixup", 3.6),
        ("mixup", 1.0),
        ("cutmix", 1.0),
        ("saliencymix", 1.0),
    ] {
        let c = file
            .claims
            .iter()
            .find(|c| c.id == format!("time-{m}"))
            .unwrap();
        assert_eq!(
            (c.kind, c.published, c.metric),
            (Kind::Ratio, Some(v), Metric::EpochTime)
        );
    }
    for (m, v) in [
        ("sage", 79.8),
        ("comixup", 79.0),
        ("mixup", 78.9),
        ("saliencymix", 78.6),
        ("puzzlemix", 78.6),
        ("cutmix", 78.4),
        ("vanilla", 77.9),
    ] {
        assert_eq!(value(&format!("fewshot-{m}")), v);
    }
    assert!(file.claims.iter().any(|c| c.kind == Kind::Relation));
    assert!(file.claims.iter().any(|c| c.kind == Kind::Equivalence));
    // Every claim names where it comes from.
    assert!(file.claims.iter().all(|c| !c.source.trim().is_empty()));
}

#[test]
fn paper_suites_name_the_sage_claims() {
    for entry in std::fs::read_dir(root().join("suites/paper")).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let suite = LoadedSuite::from_file(&path, &registry()).unwrap();
        let claims = suite.read_claims().unwrap_or_else(|e| panic!("{e:#}"));
        let names: Vec<&str> = claims.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(names, ["sage-bmvc2022.yaml"], "{}", path.display());
    }
}

/// Runs `mixbench verify` on a copy of a committed report folder with its claims file.
fn verify_copy(folder: &str, extra: &[&str]) -> (i32, Vec<Outcome>, String, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join(folder);
    std::fs::create_dir_all(&run).unwrap();
    for entry in std::fs::read_dir(root().join("reports").join(folder)).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, run.join(path.file_name().unwrap())).unwrap();
        }
    }
    let claims = root().join(format!("reports/claims/{folder}.yaml"));
    let output = Command::new(env!("CARGO_BIN_EXE_mixbench"))
        .args([
            "verify",
            run.to_str().unwrap(),
            "--claims",
            claims.to_str().unwrap(),
        ])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut reader = csv::Reader::from_path(run.join(CLAIMS_CSV)).unwrap();
    let outcomes = reader.deserialize().map(|r| r.unwrap()).collect();
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("\n## Claims\n"), "{report}");
    (output.status.code().unwrap(), outcomes, stdout, tmp)
}

fn verdict_of<'a>(outcomes: &'a [Outcome], id: &str) -> &'a Outcome {
    outcomes
        .iter()
        .find(|o| o.id == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

#[test]
fn the_small_real_data_run_cannot_decide_the_papers_claims() {
    let (code, outcomes, stdout, _tmp) = verify_copy("cifar10-jpeg-small", &[]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(outcomes.len(), 9);
    assert!(outcomes.iter().all(|o| o.verdict == Verdict::Inconclusive));
    let reason = |id: &str| verdict_of(&outcomes, id).reason.map(|r| r.name());
    assert_eq!(
        reason("sage-best-paper-protocol/cutmix"),
        Some("protocol differs")
    );
    assert!(verdict_of(&outcomes, "sage-best-paper-protocol/cutmix")
        .detail
        .contains("trained 6 epochs where the claim assumes 300"));
    assert_eq!(
        reason("comixup-above-vanilla"),
        Some("fewer seeds than needed")
    );
    assert_eq!(reason("sage-time"), Some("fewer seeds than needed"));
    assert_eq!(reason("manifold-top1"), Some("cells missing"));
    // With the protocol accepted, one seed still decides nothing; --strict makes that a failure.
    let (code, outcomes, _, _tmp) =
        verify_copy("cifar10-jpeg-small", &["--accept-protocol", "--strict"]);
    assert_eq!(code, 1);
    assert_eq!(
        verdict_of(&outcomes, "sage-best-paper-protocol/cutmix")
            .reason
            .map(|r| r.name()),
        Some("fewer seeds than needed")
    );
}

#[test]
fn the_small_fewshot_run_decides_its_fewshot_claims() {
    let (code, outcomes, stdout, _tmp) = verify_copy("cifar10-jpeg-robustness-fewshot", &[]);
    // Mixup below Vanilla (52.43 vs 54.54 over 600 episodes each) refutes the carried-over
    // paper order on this run: exit 1.
    assert_eq!(code, 1, "{stdout}");
    let v = |id: &str| verdict_of(&outcomes, id);
    assert_eq!(v("fewshot-above-chance").verdict, Verdict::Holds);
    assert_eq!(v("fewshot-sage-like-vanilla").verdict, Verdict::Holds);
    assert_eq!(v("fewshot-paper-order").verdict, Verdict::Fails);
    let mixup = v("fewshot-mixup-above-vanilla");
    assert_eq!(mixup.verdict, Verdict::Fails);
    assert!(
        (mixup.estimate.unwrap() - (52.428_889 - 54.54)).abs() < 1e-4,
        "{mixup:?}"
    );
    assert_eq!((mixup.n_a, mixup.n_b), (Some(600), Some(600)));
    assert_eq!(
        v("robustness-sage-vs-vanilla").reason.map(|r| r.name()),
        Some("fewer seeds than needed")
    );
    assert_eq!(
        v("fewshot-comixup").reason.map(|r| r.name()),
        Some("cells missing")
    );
    assert!(stdout.contains("fails"), "{stdout}");
}

#[test]
fn the_background_run_reads_bg_gap_but_one_seed_decides_nothing() {
    let (code, outcomes, stdout, _tmp) = verify_copy("background-small", &[]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(outcomes.len(), 6);
    assert!(outcomes.iter().all(|o| o.verdict == Verdict::Inconclusive));
    for o in &outcomes {
        assert_eq!(
            o.reason.map(|r| r.name()),
            Some("fewer seeds than needed"),
            "{o:?}"
        );
    }
    // The metric was found (not "data missing") and is the committed run's BG-Gap.
    let synthetic = verdict_of(&outcomes, "shortcut-learned-synthetic");
    assert_eq!(synthetic.n_a, Some(1), "{synthetic:?}");
}

#[test]
fn the_corruptions_run_reads_every_new_metric_but_one_seed_decides_nothing() {
    let (code, outcomes, stdout, _tmp) = verify_copy("cifar10-jpeg-corruptions", &[]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(outcomes.len(), 8);
    for o in &outcomes {
        assert_eq!(o.verdict, Verdict::Inconclusive, "{o:?}");
        assert_eq!(
            o.reason.map(|r| r.name()),
            Some("fewer seeds than needed"),
            "{o:?}"
        );
    }
    // Each claim found its metric in the committed CSVs: the means are the README's numbers.
    let means = |id: &str| {
        let o = verdict_of(&outcomes, id);
        (o.mean_a.unwrap(), o.mean_b)
    };
    let close = |got: f64, want: f64| (got - want).abs() < 5e-3;
    let (sage, vanilla) = means("sage-corruptions-not-below-vanilla");
    assert!(close(sage, 37.30) && close(vanilla.unwrap(), 39.53));
    let (vanilla, cutmix) = means("mixing-loses-less-to-corruptions/cutmix");
    assert!(close(vanilla, 100.0) && close(cutmix.unwrap(), 72.95));
    let (mixup, vanilla) = means("mixup-calibrated-after-temperature");
    assert!(close(mixup, 2.92) && close(vanilla.unwrap(), 3.92));
    let (cutmix, vanilla) = means("cutmix-occlusion-random");
    assert!(close(cutmix, 33.10) && close(vanilla.unwrap(), 32.95));
    assert!(close(means("vanilla-salient-auc").0, 37.51));
}

/// A suite that names a claims file: `run` records it in the run folder, and `verify RUN_DIR`
/// without `--claims` checks it; changing the suite's claims replaces the recorded copy.
#[test]
fn run_records_the_suites_claims_and_verify_uses_them() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = "\
name: tiny
datasets:
  - synthetic: {classes: 3, train_per_class: 20, test_per_class: 5, size: 16, seed: 1}
models: [small_cnn]
methods: [vanilla, mixup]
seeds: [0, 1]
training: {epochs: 1, batch_size: 20, lr: 0.05, milestones: [1], device: cpu, threads: 1, isolation: inline}
claims: mine.yaml
";
    let claims = "\
title: mine
source: a test
claims:
  - id: above-zero
    kind: value
    source: top-1 is a percentage
    dataset: synthetic
    model: small_cnn
    method: vanilla
    at_least: -1
  - id: two-epochs
    kind: value
    source: a protocol this run does not follow
    dataset: synthetic
    model: small_cnn
    method: vanilla
    at_least: -1
    protocol: {epochs: 2}
";
    std::fs::write(tmp.path().join("suite.yaml"), suite).unwrap();
    std::fs::write(tmp.path().join("mine.yaml"), claims).unwrap();
    let run = tmp.path().join("run");
    let mixbench = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mixbench"))
            .current_dir(tmp.path())
            .args(args)
            .output()
            .unwrap()
    };
    let out = mixbench(&["run", "suite.yaml", "--out", "run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(run.join("claims/mine.yaml")).unwrap(),
        claims
    );
    let out = mixbench(&["verify", "run"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let mut reader = csv::Reader::from_path(run.join(CLAIMS_CSV)).unwrap();
    let outcomes: Vec<Outcome> = reader.deserialize().map(|r| r.unwrap()).collect();
    // Top-1 of two seeds is above -1: holds, unless the two seeds tie exactly (no spread).
    let first = verdict_of(&outcomes, "above-zero");
    assert!(
        first.verdict == Verdict::Holds || first.p.is_none(),
        "{first:?}"
    );
    assert_eq!(
        verdict_of(&outcomes, "two-epochs").reason.map(|r| r.name()),
        Some("protocol differs")
    );
    // The rebuilt report keeps the claims section (from claims.csv).
    let out = mixbench(&["report", "run"]);
    assert!(out.status.success());
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(
        report.contains("\n## Claims\n") && report.contains("two-epochs"),
        "{report}"
    );
    // A suite without claims drops the recorded copy on its next run.
    std::fs::write(
        tmp.path().join("suite.yaml"),
        suite.replace("claims: mine.yaml\n", ""),
    )
    .unwrap();
    let out = mixbench(&["run", "suite.yaml", "--out", "run"]);
    assert!(out.status.success());
    assert!(!run.join("claims/mine.yaml").exists());
}
