//! The background evaluation end to end: a small grid with and without class-correlated
//! training backgrounds, trained inline, evaluated, re-evaluated for determinism and reported.

use std::path::Path;

use mixbench::evaluations;
use mixbench::evaluations::background::{self, bg_gap, top1_of};
use mixbench::methods::registry;
use mixbench::records;
use mixbench::report::build_report;
use mixbench::suite::{self, config::LoadedSuite};

const SUITE: &str = "\
name: bg
datasets:
  - synthetic: {name: toy-p0, classes: 4, train_per_class: 150, test_per_class: 30, size: 16, seed: 3}
  - synthetic: {name: toy-p1, classes: 4, train_per_class: 150, test_per_class: 30, size: 16, seed: 3, background_reliance: 1.0}
models: [small_cnn]
methods: [vanilla]
seeds: [0]
training:
  epochs: 4
  batch_size: 20
  lr: 0.05
  milestones: [3]
  device: cpu
  threads: 1
  isolation: inline
evaluations:
  background:
    max_images: 100
    batch_size: 32
    challenge: {backgrounds: 5}
    examples: 4
";

fn load(text: &str) -> anyhow::Result<LoadedSuite> {
    LoadedSuite::from_text(text, Path::new("suite.yaml"), Path::new("."), &registry())
}

#[test]
fn background_evaluation_runs_reports_and_separates_a_background_shortcut() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path();
    let loaded = load(SUITE).unwrap();
    let outcome = suite::run(&loaded, run_dir, SUITE).unwrap();
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    assert_eq!(outcome.evaluated.len(), 2, "{:?}", outcome.evaluated);
    let cells = records::cell_dirs(run_dir).unwrap();
    let mut gaps = Vec::new();
    for dir in &cells {
        let rows = background::read_cell_csv(dir).unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r.variant.as_str()).collect();
        assert_eq!(
            names,
            [
                "original",
                "only_fg",
                "no_fg",
                "only_bg_t",
                "mixed_same",
                "mixed_rand",
                "mixed_next",
                "challenge"
            ]
        );
        assert!(rows[..7].iter().all(|r| r.images == 100));
        assert!(dir.join("background.done").is_file());
        assert!(dir.join("background-examples.png").is_file());
        gaps.push((
            dir.file_name().unwrap().to_string_lossy().into_owned(),
            bg_gap(&rows).unwrap(),
            top1_of(&rows, "only_bg_t").unwrap(),
        ));
        // Determinism: evaluating again gives the same numbers.
        let kind = evaluations::find("background").unwrap();
        let settings = std::fs::read_to_string(dir.join(kind.settings_file())).unwrap();
        kind.run(dir, &settings).unwrap();
        let again = background::read_cell_csv(dir).unwrap();
        let tops = |r: &[background::BackgroundRow]| r.iter().map(|r| r.top1).collect::<Vec<_>>();
        assert_eq!(tops(&again), tops(&rows), "{}", dir.display());
    }
    eprintln!("(cell, BG-Gap, Only-BG-T top-1): {gaps:?}");
    // The model trained on class-tied backgrounds leans on them: it names the class from the
    // background alone far above chance (25%) and its BG-Gap is larger than the uncorrelated
    // model's.
    let p0 = gaps.iter().find(|g| g.0.contains("toy-p0")).unwrap();
    let p1 = gaps.iter().find(|g| g.0.contains("toy-p1")).unwrap();
    assert!(p1.1 > p0.1 + 10.0, "BG-Gap p1 {} vs p0 {}", p1.1, p0.1);
    assert!(p1.2 > 50.0, "Only-BG-T top-1 of the p1 model {}", p1.2);

    // The report: run-level files, plots and the section.
    build_report(run_dir, &evaluations::report_sections()).unwrap();
    for file in [
        "background.csv",
        "background-cells.csv",
        "background-methods.csv",
        "plots/background-variants-toy-p1-small_cnn.png",
        "plots/background-gap-toy-p1-small_cnn.svg",
        "plots/background-examples-toy-p0.png",
    ] {
        assert!(run_dir.join(file).is_file(), "{file} missing");
    }
    let md = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(
        md.contains("## Background reliance") && md.contains("| vanilla | 1 |"),
        "{md}"
    );
    let methods = std::fs::read_to_string(run_dir.join("background-methods.csv")).unwrap();
    assert!(methods.starts_with("dataset,model,method,n,original_mean,original_std,"));
    assert_eq!(methods.lines().count(), 3);
}

#[test]
fn background_settings_errors_name_file_and_line() {
    let err = |text: &str| load(text).unwrap_err().to_string();
    let e = err(&SUITE.replace("    examples: 4", "    exampels: 4"));
    assert!(
        e.starts_with("suite.yaml:21:") && e.contains("exampels"),
        "{e}"
    );
    let e = err(&SUITE.replace("{backgrounds: 5}", "{backgrounds: 0}"));
    assert!(
        e.starts_with("suite.yaml:20:") && e.contains("challenge"),
        "{e}"
    );
    let e = err(&SUITE.replace("max_images: 100", "max_images: 1"));
    assert!(e.contains("max_images at least 2"), "{e}");
}
