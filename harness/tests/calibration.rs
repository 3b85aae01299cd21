//! The calibration evaluation end to end: a small grid trained inline, evaluated beside the
//! robustness evaluation on the same seeded images, checked for consistent numbers,
//! re-evaluated for determinism, with and without temperature scaling, and reported.

use std::path::Path;

use mixbench::evaluations;
use mixbench::evaluations::calibration::{self, measures, CalibrationRow, Scaling};
use mixbench::evaluations::robustness;
use mixbench::methods::registry;
use mixbench::records;
use mixbench::report::build_report;
use mixbench::suite::{self, config::LoadedSuite};

const SUITE: &str = "\
name: calib
datasets:
  - synthetic: {name: toy, classes: 4, train_per_class: 100, test_per_class: 40, size: 16, seed: 3}
models: [small_cnn]
methods: [vanilla, mixup]
seeds: [0]
training:
  epochs: 3
  batch_size: 20
  lr: 0.05
  milestones: [2]
  device: cpu
  threads: 1
  isolation: inline
evaluations:
  robustness:
    noise: [0.0]
    max_images: 120
    batch_size: 40
    seed: 1
  calibration:
    bins: 10
    max_images: 120
    batch_size: 40
    seed: 1
";

/// The same settings with temperature scaling.
const SCALED: &str =
    "{bins: 10, max_images: 120, batch_size: 40, seed: 1, temperature_scaling: {holdout: 0.5}}";

fn load(text: &str) -> anyhow::Result<LoadedSuite> {
    LoadedSuite::from_text(text, Path::new("suite.yaml"), Path::new("."), &registry())
}

/// The text of a cell's two calibration files.
fn files(dir: &Path) -> (String, String) {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    (
        read(calibration::rows::CELL_CSV),
        read(calibration::rows::CELL_BINS_CSV),
    )
}

/// The invariants of one row and its bins: errors in range, MCE at least ECE, the bins
/// holding every scored image and giving back top-1 and ECE.
fn check_row(row: &CalibrationRow, bins: &[calibration::BinRow], bin_count: usize) {
    assert!((0.0..=100.0).contains(&row.ece), "{row:?}");
    assert!((0.0..=100.0).contains(&row.aece), "{row:?}");
    assert!(row.mce >= row.ece && row.mce <= 100.0, "{row:?}");
    assert!(row.nll > 0.0 && row.nll.is_finite(), "{row:?}");
    assert!((0.0..=2.0).contains(&row.brier), "{row:?}");
    let of: Vec<_> = bins.iter().filter(|b| b.scaling == row.scaling).collect();
    assert_eq!(of.len(), bin_count + 1, "bins and the [1, 1] bin");
    let n: usize = of.iter().map(|b| b.count).sum();
    let correct: usize = of.iter().map(|b| b.correct).sum();
    assert_eq!(n, row.images);
    assert!((100.0 * correct as f64 / n as f64 - row.top1).abs() < 1e-9);
    let ece: f64 = of
        .iter()
        .filter_map(|b| Some(b.count as f64 / n as f64 * (b.accuracy? - b.confidence?).abs()))
        .sum();
    assert!((100.0 * ece - row.ece).abs() < 1e-9, "{ece} vs {row:?}");
}

#[test]
fn calibration_runs_matches_robustness_top1_is_deterministic_and_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path();
    let loaded = load(SUITE).unwrap();
    let outcome = suite::run(&loaded, run_dir, SUITE).unwrap();
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    assert_eq!(outcome.trained.len(), 2);
    assert_eq!(outcome.evaluated.len(), 4, "{:?}", outcome.evaluated);
    let kind = evaluations::find("calibration").unwrap();
    let cells = records::cell_dirs(run_dir).unwrap();
    for dir in &cells {
        let rows = calibration::read_cell_csv(dir).unwrap();
        let bins = calibration::read_cell_bins(dir).unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        let row = &rows[0];
        assert_eq!(
            (row.scaling, row.temperature, row.images, row.fit_images),
            (Scaling::Unscaled, 1.0, 120, 0)
        );
        check_row(row, &bins, 10);
        // The same 120 images (same seed and batches) as the robustness evaluation's clean row.
        let clean = robustness::read_cell_csv(dir)
            .unwrap()
            .into_iter()
            .find(|r| r.corruption == "clean")
            .unwrap();
        assert_eq!(clean.images, row.images);
        assert!(
            (clean.top1 - row.top1).abs() < 1e-9,
            "{}: robustness {} vs calibration {}",
            dir.display(),
            clean.top1,
            row.top1
        );
        assert!(dir.join("calibration.done").is_file());
        // Determinism: evaluating again writes the same bytes.
        let before = files(dir);
        let settings = std::fs::read_to_string(dir.join(kind.settings_file())).unwrap();
        kind.run(dir, &settings).unwrap();
        assert_eq!(files(dir), before, "{}", dir.display());
    }

    build_report(run_dir, &evaluations::report_sections()).unwrap();
    for file in [
        "calibration.csv",
        "calibration-methods.csv",
        "calibration-reliability.csv",
        "plots/calibration-reliability-toy-small_cnn.png",
        "plots/calibration-reliability-toy-small_cnn.svg",
    ] {
        assert!(run_dir.join(file).is_file(), "{file} missing");
    }
    let md = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(
        md.contains("## Calibration") && md.contains("| vanilla | 1 | 120 |"),
        "{md}"
    );
    let methods = std::fs::read_to_string(run_dir.join("calibration-methods.csv")).unwrap();
    assert!(methods.starts_with("dataset,model,method,scaling,n,temperature_mean,"));
    assert_eq!(methods.lines().count(), 3);
    let values = evaluations::read_values(run_dir).unwrap();
    let ece: Vec<_> = values
        .iter()
        .filter(|v| v.metric == "calibration_ece")
        .collect();
    assert_eq!(ece.len(), 2);
    assert!(ece.iter().all(|v| v.condition == "none"));

    // Temperature scaling: half the images fit T, both rows score the other half.
    for dir in &cells {
        kind.run(dir, SCALED).unwrap();
        let rows = calibration::read_cell_csv(dir).unwrap();
        let bins = calibration::read_cell_bins(dir).unwrap();
        let scalings: Vec<Scaling> = rows.iter().map(|r| r.scaling).collect();
        assert_eq!(scalings, [Scaling::Unscaled, Scaling::Temperature]);
        let (t0, t) = (&rows[0], &rows[1]);
        assert_eq!((t0.images, t0.fit_images), (60, 60));
        assert_eq!((t.images, t.fit_images), (60, 60));
        assert_eq!(t0.temperature, 1.0);
        let (low, high) = measures::TEMPERATURE_BOUNDS;
        assert!(t.temperature >= low && t.temperature <= high, "{t:?}");
        assert_eq!(t.top1, t0.top1);
        for row in &rows {
            check_row(row, &bins, 10);
        }
        let before = files(dir);
        kind.run(dir, SCALED).unwrap();
        assert_eq!(files(dir), before, "{}", dir.display());
    }
    build_report(run_dir, &evaluations::report_sections()).unwrap();
    assert!(run_dir
        .join("plots/calibration-reliability-temperature-toy-small_cnn.png")
        .is_file());
    let md = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(md.contains("| T | ECE (T) |"), "{md}");
    let values = evaluations::read_values(run_dir).unwrap();
    let scaled = values
        .iter()
        .filter(|v| v.metric == "calibration_nll" && v.condition == "temperature")
        .count();
    assert_eq!(scaled, 2);
}

#[test]
fn calibration_settings_errors_name_file_and_line() {
    let err = |text: &str| load(text).unwrap_err().to_string();
    let e = err(&SUITE.replace("    bins: 10", "    binz: 10"));
    assert!(e.starts_with("suite.yaml:22:") && e.contains("binz"), "{e}");
    let e = err(&SUITE.replace("    bins: 10", "    bins: 0"));
    assert!(
        e.starts_with("suite.yaml:22:") && e.contains("calibration.bins"),
        "{e}"
    );
    let e = err(&format!(
        "{SUITE}    temperature_scaling: {{holdout: 1.5}}\n"
    ));
    assert!(
        e.starts_with("suite.yaml:26:") && e.contains("holdout") && e.contains("1.5"),
        "{e}"
    );
}
