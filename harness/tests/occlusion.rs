//! The occlusion evaluation end to end: a two-method grid trained inline on synthetic data,
//! evaluated, checked against the model's own accuracy, re-evaluated for determinism and for
//! independence from the batch size, and reported.

use std::path::Path;

use mixbench::cell::{open_trained, CellConfig};
use mixbench::evaluations::occlusion::{self, OcclusionRow, OcclusionSettings};
use mixbench::evaluations::robustness::subset_indices;
use mixbench::evaluations::{self, read_values};
use mixbench::methods::registry;
use mixbench::records;
use mixbench::report::build_report;
use mixbench::suite::{self, config::LoadedSuite};
use tch::{Kind, Tensor};

const SUITE: &str = "\
name: occ
datasets:
  - synthetic: {classes: 4, train_per_class: 100, test_per_class: 30, size: 16, seed: 3}
models: [small_cnn]
methods: [vanilla, cutmix]
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
  occlusion:
    fractions: [0.25, 0.5, 0.75]
    modes: [random, salient]
    patch: 4
    max_images: 100
    batch_size: 32
";

fn load(text: &str) -> anyhow::Result<LoadedSuite> {
    LoadedSuite::from_text(text, Path::new("suite.yaml"), Path::new("."), &registry())
}

fn top1(rows: &[OcclusionRow], mode: &str, fraction: f64) -> f64 {
    rows.iter()
        .find(|r| r.mode == mode && r.fraction == fraction)
        .unwrap_or_else(|| panic!("no {mode} {fraction} row"))
        .top1
}

/// Top-1 (percent) of the cell's model on the evaluated test images, computed here from the
/// data set and the checkpoint, in batches of 32 like the evaluation.
fn model_accuracy(dir: &Path, max_images: usize) -> f64 {
    let trained = open_trained(dir).unwrap();
    let cell = CellConfig::read(dir).unwrap();
    let data = cell.dataset.load(&cell.base_dir).unwrap();
    let (_vs, model) = trained.load_classifier(data.num_classes() as i64).unwrap();
    let ids = subset_indices(data.test.len(), Some(max_images), 0);
    let set = data.test.subset(&ids);
    let column = |v: &[f32]| Tensor::from_slice(v).view([1, v.len() as i64, 1, 1]);
    let (mean, std) = (column(&data.mean), column(&data.std));
    let images = Tensor::from_slice(&set.images)
        .view([set.len() as i64, 3, 16, 16])
        .to_kind(Kind::Float)
        / 255.0;
    let labels = Tensor::from_slice(&set.labels);
    let mut hits = 0;
    for start in (0..set.len() as i64).step_by(32) {
        let len = 32.min(set.len() as i64 - start);
        let x = (images.narrow(0, start, len) - &mean) / &std;
        let predicted = tch::no_grad(|| model.forward_t(&x, false).argmax(1, false));
        hits += predicted
            .eq_tensor(&labels.narrow(0, start, len))
            .sum(Kind::Int64)
            .int64_value(&[]);
    }
    100.0 * hits as f64 / set.len() as f64
}

#[test]
fn occlusion_curves_run_rerun_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path();
    let loaded = load(SUITE).unwrap();
    let outcome = suite::run(&loaded, run_dir, SUITE).unwrap();
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    assert_eq!(outcome.evaluated.len(), 2, "{:?}", outcome.evaluated);
    let kind = evaluations::find("occlusion").unwrap();
    let cells = records::cell_dirs(run_dir).unwrap();
    for dir in &cells {
        assert!(dir.join("occlusion.done").is_file());
        let rows = occlusion::read_cell_csv(dir).unwrap();
        let conditions: Vec<(&str, f64)> =
            rows.iter().map(|r| (r.mode.as_str(), r.fraction)).collect();
        assert_eq!(
            conditions,
            [
                ("clean", 0.0),
                ("random", 0.25),
                ("random", 0.5),
                ("random", 0.75),
                ("salient", 0.25),
                ("salient", 0.5),
                ("salient", 0.75)
            ]
        );
        assert!(rows.iter().all(|r| r.images == 100));
        // Areas: 16x16 images in 16 cells of 4x4, so 4, 8 and 12 whole cells; the salient
        // squares have sides round(sqrt(f) 16) = 8, 11, 14.
        let areas: Vec<f64> = rows.iter().map(|r| r.area).collect();
        let squares = [64.0, 121.0, 196.0].map(|a: f64| a / 256.0);
        assert_eq!(
            areas,
            [0.0, 0.25, 0.5, 0.75, squares[0], squares[1], squares[2]]
        );

        // The clean row is the model's accuracy on the evaluated images.
        let clean = top1(&rows, "clean", 0.0);
        assert_eq!(clean, model_accuracy(dir, 100), "{}", dir.display());
        assert!(clean > 60.0, "{}: clean {clean}", dir.display());
        // Covering three quarters of each image where the model looks costs accuracy.
        let salient = top1(&rows, "salient", 0.75);
        assert!(
            salient < clean,
            "{}: salient 0.75 {salient} vs clean {clean}",
            dir.display()
        );
        // The most salient square costs more than random patches of the same area.
        assert!(
            top1(&rows, "salient", 0.25) < top1(&rows, "random", 0.25),
            "{}",
            dir.display()
        );
        eprintln!(
            "{}: {:?}",
            dir.display(),
            rows.iter()
                .map(|r| (r.mode.as_str(), r.fraction, r.top1))
                .collect::<Vec<_>>()
        );

        // A rerun is bit-identical on the CPU.
        let settings = std::fs::read_to_string(dir.join(kind.settings_file())).unwrap();
        kind.run(dir, &settings).unwrap();
        let again = occlusion::read_cell_csv(dir).unwrap();
        let numbers = |r: &[OcclusionRow]| r.iter().map(|r| (r.top1, r.area)).collect::<Vec<_>>();
        assert_eq!(numbers(&again), numbers(&rows), "{}", dir.display());

        // The random patches are drawn per image: another batch size scores the same.
        let mut other: OcclusionSettings = serde_norway::from_str(&settings).unwrap();
        other.batch_size = 7;
        let rebatched = occlusion::evaluate_cell(&open_trained(dir).unwrap(), &other).unwrap();
        assert_eq!(
            numbers(&rebatched[..4]),
            numbers(&rows[..4]),
            "{}",
            dir.display()
        );
    }

    // A patch larger than the images fails the cell's evaluation, naming the key and sizes.
    let mut too_big: OcclusionSettings = serde_norway::from_str("{patch: 17}").unwrap();
    too_big.max_images = Some(10);
    let err = occlusion::evaluate_cell(&open_trained(&cells[0]).unwrap(), &too_big)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("occlusion.patch: 17 pixels") && err.contains("16x16"),
        "{err}"
    );

    // The report: run-level files, plots, the section and the values.
    build_report(run_dir, &evaluations::report_sections()).unwrap();
    for file in [
        "occlusion.csv",
        "occlusion-cells.csv",
        "occlusion-methods.csv",
        "plots/occlusion-random-synthetic-small_cnn.png",
        "plots/occlusion-salient-synthetic-small_cnn.svg",
    ] {
        assert!(run_dir.join(file).is_file(), "{file} missing");
    }
    let md = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(
        md.contains("## Occlusion") && md.contains("| vanilla | 1 |") && md.contains("salient AUC"),
        "{md}"
    );
    let values = read_values(run_dir).unwrap();
    for cell in [
        "synthetic-small_cnn-vanilla-s0",
        "synthetic-small_cnn-cutmix-s0",
    ] {
        for (metric, condition) in [
            ("occlusion_top1", "clean"),
            ("occlusion_top1", "salient:0.5"),
            ("occlusion_auc", "random"),
            ("occlusion_auc", "salient"),
        ] {
            assert!(
                values
                    .iter()
                    .any(|v| v.cell == cell && v.metric == metric && v.condition == condition),
                "{cell}: no {metric} under {condition}"
            );
        }
    }
}

#[test]
fn occlusion_settings_errors_name_file_and_line() {
    let err = |text: &str| load(text).unwrap_err().to_string();
    let e = err(&SUITE.replace("[random, salient]", "[random, salent]"));
    assert!(
        e.starts_with("suite.yaml:18:") && e.contains("did you mean `salient`"),
        "{e}"
    );
    let e = err(&SUITE.replace("[0.25, 0.5, 0.75]", "[0.25, 1.5]"));
    assert!(
        e.starts_with("suite.yaml:17:") && e.contains("occlusion.fractions"),
        "{e}"
    );
    let e = err(&SUITE.replace("    patch: 4", "    pach: 4"));
    assert!(e.starts_with("suite.yaml:19:") && e.contains("pach"), "{e}");
}
