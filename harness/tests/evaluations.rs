//! The robustness and few-shot suites end to end: a small grid trained inline, then its
//! evaluations; invariants of the attacks on the trained model; resume; suite-file errors.

use std::path::Path;

use mixbench::cell::{load_classifier, open_trained, CellConfig};
use mixbench::evaluations::robustness::attacks::{self, PixelNormalize};
use mixbench::evaluations::robustness::{self, RobustnessRow};
use mixbench::methods::registry;
use mixbench::models::ModelKind;
use mixbench::records;
use mixbench::suite::{self, config::LoadedSuite};
use tch::{Device, Kind, Tensor};

const SUITE: &str = "\
name: evals
datasets:
  - synthetic: {classes: 4, train_per_class: 100, test_per_class: 30, size: 16, seed: 3}
  - fewshot:
      name: toy-fs
      source: {synthetic: {classes: 6, train_per_class: 60, test_per_class: 12, size: 16, seed: 4}}
      base: [0, 1, 2]
      novel: [3, 4, 5]
models: [small_cnn]
methods: [vanilla, mixup]
seeds: [0]
training:
  epochs: 5
  batch_size: 20
  lr: 0.05
  milestones: [4]
  device: cpu
  threads: 1
  isolation: inline
evaluations:
  robustness:
    noise: [0.0, 0.1]
    fgsm: [8]
    pgd: {eps: [8], steps: 3, step_size: 3}
    max_images: 100
    batch_size: 32
  fewshot:
    ways: [3]
    shots: [1, 2]
    queries: 5
    episodes: 20
";

fn load(text: &str) -> anyhow::Result<LoadedSuite> {
    LoadedSuite::from_text(text, Path::new("suite.yaml"), Path::new("."), &registry())
}

fn row<'a>(rows: &'a [RobustnessRow], corruption: &str, severity: usize) -> &'a RobustnessRow {
    rows.iter()
        .find(|r| r.corruption == corruption && r.severity == severity)
        .unwrap_or_else(|| panic!("no {corruption} {severity} row"))
}

#[test]
fn robustness_and_fewshot_run_resume_and_keep_their_invariants() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path();
    let loaded = load(SUITE).unwrap();
    let outcome = suite::run(&loaded, run_dir, SUITE).unwrap();
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    assert_eq!(outcome.trained.len(), 4);
    // Robustness on all 4 cells, few-shot on the 2 cells of the few-shot data set.
    assert_eq!(outcome.evaluated.len(), 6, "{:?}", outcome.evaluated);

    let cells = records::cell_dirs(run_dir).unwrap();
    for dir in &cells {
        let rows = robustness::read_cell_csv(dir).unwrap();
        assert_eq!(rows.len(), 5, "clean, 2 noise, fgsm, pgd");
        let clean = row(&rows, "clean", 0);
        assert_eq!(
            clean.images,
            if dir.to_string_lossy().contains("toy-fs") {
                36
            } else {
                100
            }
        );
        // Noise of std 0 reproduces the clean accuracy exactly.
        assert_eq!(row(&rows, "noise", 1).top1, clean.top1);
        assert!(dir.join("robustness.done").is_file());
    }
    // On the trained 4-class models, FGSM and PGD lower the accuracy.
    for dir in cells
        .iter()
        .filter(|d| !d.to_string_lossy().contains("toy-fs"))
    {
        let rows = robustness::read_cell_csv(dir).unwrap();
        let clean = row(&rows, "clean", 0).top1;
        assert!(clean > 60.0, "{}: clean {clean}", dir.display());
        assert!(row(&rows, "fgsm", 1).top1 < clean, "{}", dir.display());
        assert!(row(&rows, "pgd", 1).top1 < clean, "{}", dir.display());
    }

    // Attack invariants on a trained model: inside the eps ball and [0, 1].
    let dir = cells
        .iter()
        .find(|d| d.to_string_lossy().contains("synthetic-small_cnn-vanilla"))
        .unwrap();
    let (_vs, model) = load_classifier(dir, ModelKind::SmallCnn, 4, Device::Cpu).unwrap();
    let norm = PixelNormalize::new(&[0.5, 0.5, 0.5], &[0.25, 0.25, 0.25], Device::Cpu);
    tch::manual_seed(1);
    let pixels = Tensor::rand([16, 3, 16, 16], (Kind::Float, Device::Cpu));
    let labels = Tensor::from_slice(&[0i64, 1, 2, 3].repeat(4));
    let eps = 8.0 / 255.0;
    let check = |adv: &Tensor, what: &str| {
        let dist = (adv - &pixels).abs().max().double_value(&[]);
        assert!(dist <= eps + 1e-6, "{what} left the eps ball: {dist}");
        assert!(
            adv.min().double_value(&[]) >= 0.0 && adv.max().double_value(&[]) <= 1.0,
            "{what}"
        );
    };
    let fgsm = attacks::fgsm(model.as_ref(), &norm, &pixels, &labels, eps);
    check(&fgsm, "fgsm");
    assert!(dist_nonzero(&fgsm, &pixels), "fgsm moved nothing");
    for random_start in [false, true] {
        let config = attacks::Pgd {
            eps,
            step_size: 2.0 / 255.0,
            steps: 10,
            random_start,
        };
        let start = attacks::uniform_offsets(&pixels, &(0..16).collect::<Vec<u64>>());
        let pgd = attacks::pgd(
            model.as_ref(),
            &norm,
            &pixels,
            &labels,
            &config,
            Some(&start),
        );
        check(&pgd, "pgd");
    }

    // Deterministic: evaluating again gives the same numbers.
    let settings: robustness::RobustnessConfig =
        serde_norway::from_str(&std::fs::read_to_string(dir.join("robustness.yaml")).unwrap())
            .unwrap();
    assert_eq!(
        robustness::evaluate_cell(&open_trained(dir).unwrap(), &settings)
            .unwrap()
            .iter()
            .map(|r| r.top1)
            .collect::<Vec<_>>(),
        robustness::read_cell_csv(dir)
            .unwrap()
            .iter()
            .map(|r| r.top1)
            .collect::<Vec<_>>()
    );

    // CIFAR-C files: five copies of the test split as `fog`, so every severity scores the
    // clean accuracy of the same seeded subset; a malformed file is an error naming it.
    let cell = CellConfig::read(dir).unwrap();
    let data = cell.dataset.load(&cell.base_dir).unwrap();
    let (n, hw) = (data.test.len(), 16 * 16);
    let mut nhwc = Vec::new();
    let mut labels = Vec::new();
    for _ in 0..5 {
        for i in 0..n {
            let img = data.test.image(i);
            for p in 0..hw {
                nhwc.extend([img[p], img[hw + p], img[2 * hw + p]]);
            }
            labels.push(data.test.labels[i] as u8);
        }
    }
    let c_dir = tmp.path().join("cifar-c");
    std::fs::create_dir_all(&c_dir).unwrap();
    robustness::npy::write(&c_dir.join("fog.npy"), "|u1", &[5 * n, 16, 16, 3], &nhwc).unwrap();
    robustness::npy::write(&c_dir.join("labels.npy"), "|u1", &[5 * n], &labels).unwrap();
    let c_settings: robustness::RobustnessConfig = serde_norway::from_str(&format!(
        "{{cifar_c: {{root: {}, corruptions: [fog], severities: [1, 5]}}, max_images: 100}}",
        c_dir.display()
    ))
    .unwrap();
    let rows = robustness::evaluate_cell(&open_trained(dir).unwrap(), &c_settings).unwrap();
    let clean = row(&rows, "clean", 0).top1;
    assert_eq!(row(&rows, "fog", 1).top1, clean);
    assert_eq!(row(&rows, "fog", 5).top1, clean);
    robustness::npy::write(&c_dir.join("fog.npy"), "|u1", &[5 * n, 16, 3, 16], &nhwc).unwrap();
    let err = format!(
        "{:#}",
        robustness::evaluate_cell(&open_trained(dir).unwrap(), &c_settings).unwrap_err()
    );
    assert!(
        err.contains("fog.npy") && err.contains("expected uint8"),
        "{err}"
    );

    // Few-shot results: one row per (N, K), episodes kept, CI consistent with them.
    let fs_cells: Vec<_> = cells
        .iter()
        .filter(|d| d.to_string_lossy().contains("toy-fs"))
        .collect();
    assert_eq!(fs_cells.len(), 2);
    let mut first_episodes = None;
    for dir in &fs_cells {
        let text = std::fs::read_to_string(dir.join("fewshot.csv")).unwrap();
        assert!(text.starts_with("ways,shots,queries,episodes,mean,ci95,std,unconverged,seconds"));
        assert_eq!(text.lines().count(), 3);
        let episodes = std::fs::read_to_string(dir.join("fewshot-episodes.csv")).unwrap();
        assert_eq!(episodes.lines().count(), 1 + 40);
        first_episodes.get_or_insert(episodes);
    }
    for file in [
        "robustness.csv",
        "robustness-cells.csv",
        "robustness-methods.csv",
        "fewshot.csv",
        "fewshot-episodes.csv",
        "fewshot-methods.csv",
        "plots/robustness-scatter-synthetic-small_cnn.png",
        "plots/robustness-scatter-synthetic-small_cnn.svg",
        "plots/robustness-noise-synthetic-small_cnn.png",
        "plots/robustness-fgsm-synthetic-small_cnn.svg",
        "plots/fewshot-3way-1shot-toy-fs-small_cnn.png",
        "plots/fewshot-3way-2shot-toy-fs-small_cnn.svg",
    ] {
        // The report is built by the CLI after a run; build it here.
        if file == "robustness.csv" {
            mixbench::report::build_report(run_dir, &mixbench::evaluations::report_sections())
                .unwrap();
        }
        assert!(run_dir.join(file).is_file(), "missing {file}");
    }
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(report.contains("## Robustness") && report.contains("## Few-shot"));
    let run_csv = std::fs::read_to_string(run_dir.join("robustness.csv")).unwrap();
    assert!(run_csv.starts_with(
        "cell,dataset,model,method,seed,corruption,severity,level,top1,images,seconds"
    ));
    assert_eq!(run_csv.lines().count(), 1 + 4 * 5);

    // A rerun trains and evaluates nothing. New few-shot settings are refused, naming each
    // cell and the key; with `rerun_changed` they redo only the few-shot part.
    let again = suite::run(&loaded, run_dir, SUITE).unwrap();
    assert!(again.trained.is_empty() && again.evaluated.is_empty());
    let changed = SUITE.replace("episodes: 20", "episodes: 10");
    let err = format!(
        "{:#}",
        suite::run(&load(&changed).unwrap(), run_dir, &changed).unwrap_err()
    );
    assert!(
        err.contains("2 finished or resumable cell(s) or evaluation(s)"),
        "{err}"
    );
    assert!(
        err.contains("(fewshot): evaluations.fewshot.episodes: 20 -> 10"),
        "{err}"
    );
    let options = suite::RunOptions {
        rerun_changed: true,
        ..Default::default()
    };
    let again = suite::run_with(&load(&changed).unwrap(), run_dir, &changed, options).unwrap();
    assert_eq!(again.evaluated.len(), 2, "{:?}", again.evaluated);
    assert!(again.evaluated.iter().all(|e| e.ends_with("(fewshot)")));
    let episodes = std::fs::read_to_string(fs_cells[0].join("fewshot-episodes.csv")).unwrap();
    assert_eq!(episodes.lines().count(), 1 + 20);
    // Episodes are seed-fixed: the first 10 of each (N, K) are those of the 20-episode run.
    let before: Vec<&str> = first_episodes.as_ref().unwrap().lines().collect();
    let after: Vec<&str> = episodes.lines().collect();
    assert_eq!(after[1..11], before[1..11]);
}

fn dist_nonzero(a: &Tensor, b: &Tensor) -> bool {
    (a - b).abs().max().double_value(&[]) > 0.0
}

#[test]
fn evaluation_settings_errors_name_file_and_line() {
    let err = |text: &str| load(text).unwrap_err().to_string();
    let e = err(&SUITE.replace("    fgsm: [8]", "    fgms: [8]"));
    assert!(
        e.starts_with("suite.yaml:23:") && e.contains("did you mean `fgsm`"),
        "{e}"
    );
    let e = err(&SUITE.replace("noise: [0.0, 0.1]", "noise: [0.0, 2.5]"));
    assert!(
        e.starts_with("suite.yaml:22:") && e.contains("[0, 1]"),
        "{e}"
    );
    let e = err(&SUITE.replace("shots: [1, 2]", "shots: [0]"));
    assert!(
        e.starts_with("suite.yaml:29:") && e.contains("fewshot.shots"),
        "{e}"
    );
    let e = err(&SUITE.replace(
        "      novel: [3, 4, 5]",
        "      novel: [3, 4, 5]\n      bse: [1]",
    ));
    assert!(
        e.starts_with("suite.yaml:") && e.contains("unknown field `bse`"),
        "{e}"
    );
    // Few-shot episodes need a data set with base and novel classes.
    let no_fs = SUITE.replace(
        "  - fewshot:\n      name: toy-fs\n      source: {synthetic: {classes: 6, train_per_class: 60, test_per_class: 12, size: 16, seed: 4}}\n      base: [0, 1, 2]\n      novel: [3, 4, 5]\n",
        "",
    );
    let e = err(&no_fs);
    assert!(
        e.contains("evaluations.fewshot needs a data set with base and novel classes"),
        "{e}"
    );
    let e = err(&SUITE.replace(
        "pgd: {eps: [8], steps: 3, step_size: 3}",
        "pgd: {eps: [8], steps: 0}",
    ));
    assert!(e.contains("pgd") && e.contains("steps >= 1"), "{e}");
}
