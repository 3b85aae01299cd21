//! The corruptions evaluation end to end: a small grid trained inline, its corruptions
//! generated from the test split and evaluated; the clean row agrees with robustness's, the
//! generated images are the same for every method and every rerun, Vanilla's mCE is 100, the
//! report has its section and picture grid; bad settings name file and line.

use std::path::Path;

use mixbench::cell::open_trained;
use mixbench::evaluations::corruptions::{self, rows, CorruptionsConfig};
use mixbench::evaluations::robustness;
use mixbench::methods::registry;
use mixbench::records;
use mixbench::suite::{self, config::LoadedSuite};

const SUITE: &str = "\
name: corrupt
datasets:
  - synthetic: {classes: 4, train_per_class: 60, test_per_class: 15, size: 32, seed: 5}
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
    max_images: 40
  corruptions:
    corruptions: [gaussian_noise, defocus_blur, fog, contrast, saturate]
    severities: [1, 5]
    max_images: 40
    batch_size: 16
";

fn load(text: &str) -> anyhow::Result<LoadedSuite> {
    LoadedSuite::from_text(text, Path::new("suite.yaml"), Path::new("."), &registry())
}

#[test]
fn corruptions_run_report_and_are_the_same_for_every_method_and_rerun() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path();
    let loaded = load(SUITE).unwrap();
    let outcome = suite::run(&loaded, run_dir, SUITE).unwrap();
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    let cells = records::cell_dirs(run_dir).unwrap();
    assert_eq!(cells.len(), 2);
    let mut grids = Vec::new();
    for dir in &cells {
        let rows = rows::read_cell_csv(dir).unwrap();
        assert_eq!(
            rows.len(),
            1 + 5 * 2,
            "clean, then 5 corruptions x 2 severities"
        );
        assert_eq!(rows[0].corruption, rows::CLEAN);
        assert!(rows
            .iter()
            .all(|r| r.images == 40 && (0.0..=100.0).contains(&r.top1)));
        assert!(rows[1..]
            .iter()
            .all(|r| r.constants == "cifar" && r.benchmark == (r.corruption != "saturate")));
        // The clean images are robustness's (same subset seed and size), so the accuracy is too.
        let clean = robustness::read_cell_csv(dir).unwrap();
        assert_eq!(clean[0].top1, rows[0].top1, "{}", dir.display());
        // A rerun generates the same images and gets the same numbers, bit for bit.
        let settings: CorruptionsConfig =
            serde_norway::from_str(&std::fs::read_to_string(dir.join("corruptions.yaml")).unwrap())
                .unwrap();
        let again = corruptions::evaluate_cell(&open_trained(dir).unwrap(), &settings).unwrap();
        let tops = |r: &[rows::CorruptionRow]| r.iter().map(|r| r.top1).collect::<Vec<_>>();
        assert_eq!(tops(&again), tops(&rows));
        grids.push(std::fs::read(dir.join(rows::GRID_PNG)).unwrap());
    }
    exported_corruptions_read_back_through_cifar_c_give_the_same_accuracy(&cells[0]);
    assert_eq!(
        grids[0], grids[1],
        "every method sees the same corrupted images"
    );

    // The report is built by the CLI after a run; build it here.
    mixbench::report::build_report(run_dir, &mixbench::evaluations::report_sections()).unwrap();
    let cells_csv = std::fs::read_to_string(run_dir.join("corruptions-cells.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(cells_csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        if &record[col("method")] == "vanilla" {
            let mce: f64 = record[col("mce")].parse().unwrap();
            assert!(
                (mce - 100.0).abs() < 1e-9,
                "Vanilla's mCE is 100 by definition: {mce}"
            );
        } else {
            assert!(
                !record[col("mce")].is_empty(),
                "mixup has an mCE against Vanilla"
            );
        }
    }
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(report.contains("## Corruptions"), "{report}");
    assert!(report.contains("| mixup | 1 |"), "{report}");
    assert!(
        report.contains("benchmark corruptions evaluated (4 of the 15)")
            && report.contains("the held-out ones (1 of the 4)"),
        "the report counts the corruptions the means are over: {report}"
    );
    assert!(
        run_dir
            .join("plots")
            .join("corruptions-grid-synthetic.png")
            .exists()
            || report.contains("corruptions-grid-")
    );
    let values = mixbench::evaluations::read_values(run_dir).unwrap();
    assert!(values
        .iter()
        .any(|v| v.metric == "corruption_top1" && v.condition == "fog:5" && v.method == "mixup"));
    assert_eq!(
        values
            .iter()
            .filter(|v| v.metric == "corruption_mce")
            .count(),
        2
    );
}

/// `mixbench data corrupt`'s files, read by the robustness evaluation's CIFAR-C reader, are
/// the evaluation's own images: the same accuracies on the same subset.
fn exported_corruptions_read_back_through_cifar_c_give_the_same_accuracy(dir: &Path) {
    let trained = open_trained(dir).unwrap();
    let data = trained
        .config
        .dataset
        .load(&trained.config.base_dir)
        .unwrap();
    let settings: CorruptionsConfig =
        serde_norway::from_str(&std::fs::read_to_string(dir.join("corruptions.yaml")).unwrap())
            .unwrap();
    let out = dir.join("exported");
    let times = corruptions::export::export(&data.test, &settings, dir, &out).unwrap();
    assert_eq!(times.len(), 5);
    let names: Vec<&str> = times.iter().map(|t| t.corruption.name()).collect();
    let cifar_c: robustness::RobustnessConfig = serde_norway::from_str(&format!(
        "{{cifar_c: {{root: {}, corruptions: [{}], severities: [1, 5]}}, max_images: 40, batch_size: 16}}",
        out.display(),
        names.join(", ")
    ))
    .unwrap();
    let read_back = robustness::evaluate_cell(&trained, &cifar_c).unwrap();
    let ours = rows::read_cell_csv(dir).unwrap();
    for r in &ours[1..] {
        let theirs = read_back
            .iter()
            .find(|b| b.corruption == r.corruption && b.severity == r.severity)
            .unwrap();
        assert_eq!(
            theirs.top1, r.top1,
            "{} severity {}",
            r.corruption, r.severity
        );
    }
}

#[test]
fn corruption_settings_errors_name_file_and_line() {
    let err = |text: &str| load(text).unwrap_err().to_string();
    let e = err(&SUITE.replace("gaussian_noise, defocus", "gausian_noise, defocus"));
    assert!(
        e.starts_with("suite.yaml:") && e.contains("did you mean `gaussian_noise`"),
        "{e}"
    );
    let e = err(&SUITE.replace("severities: [1, 5]", "severities: [1, 6]"));
    assert!(
        e.starts_with("suite.yaml:21:") && e.contains("1 to 5, got 6"),
        "{e}"
    );
    let e = err(&SUITE.replace("fog, contrast", "fog, frost"));
    assert!(
        e.contains("frost_pictures") && e.contains("leave frost out"),
        "{e}"
    );
    let e = err(&SUITE.replace("    batch_size: 16\n", "    batchsize: 16\n"));
    assert!(e.contains("unknown field `batchsize`"), "{e}");
}
