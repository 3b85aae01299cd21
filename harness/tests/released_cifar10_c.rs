//! Generated against released corruptions, for a user who has the released CIFAR-10-C files:
//! one small CNN trained briefly on the CIFAR-10 JPEGs (`../shared/datasets`, or
//! `$MIXBENCH_SHARED_DIR/datasets`) is scored by the
//! robustness evaluation's `cifar_c` reader on the released `.npy` files and by the
//! corruptions evaluation on the corruptions mixbench generates from the same 10,000 test
//! images, and the two accuracies must agree per corruption and severity.
//!
//! Runs only where `MIXBENCH_CIFAR10_C` names the folder of the released files
//! (`<corruption>.npy`, `labels.npy`) and the JPEG archive is present; otherwise it says why
//! and passes. Frost is compared too when `MIXBENCH_FROST_PICTURES` names the reference's
//! pictures. The images cannot be equal (the reference drew its noise from one global NumPy
//! stream over the whole data set, and left impulse noise unseeded; the JPEG copy re-encodes
//! the clean images), so the check is on accuracy: within 3 points per corruption and
//! severity, and 1 point on average (about twice the binomial standard error of a
//! 10,000-image accuracy near 50%, for each of the two sides). Run it with `--nocapture` to see
//! the per-corruption differences (docs/corruptions.md asks for them to be reported).

use std::path::{Path, PathBuf};

use mixbench::evaluations::corruptions::rows;
use mixbench::evaluations::robustness;
use mixbench::methods::registry;
use mixbench::suite::{self, config::LoadedSuite};

/// The largest difference allowed for one corruption and severity, in points.
const CELL_TOLERANCE: f64 = 3.0;
/// The largest mean absolute difference over all of them, in points.
const MEAN_TOLERANCE: f64 = 1.0;

fn released_folder() -> Option<PathBuf> {
    std::env::var_os("MIXBENCH_CIFAR10_C").map(PathBuf::from)
}

/// The CIFAR-10 JPEG archive in the shared folder: `$MIXBENCH_SHARED_DIR` when set (as the
/// real-data scripts read it), else the workspace's `../shared`.
fn jpeg_archive() -> PathBuf {
    let shared = std::env::var_os("MIXBENCH_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    shared.join("datasets/cifar10-jpeg.tar.gz")
}

#[test]
fn released_and_generated_corruptions_give_the_same_accuracy() {
    let Some(released) = released_folder() else {
        eprintln!(
            "skipped: MIXBENCH_CIFAR10_C does not name a folder of the released CIFAR-10-C files"
        );
        return;
    };
    let archive = jpeg_archive();
    if !archive.exists() {
        eprintln!(
            "skipped: {} not found (the CIFAR-10 JPEG copy)",
            archive.display()
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(tmp.path())
        .status()
        .unwrap();
    assert!(status.success(), "tar -xzf {}", archive.display());
    let frost = std::env::var("MIXBENCH_FROST_PICTURES").ok();
    // The benchmark corruptions, frost only with its pictures.
    let names: Vec<&str> = robustness::CIFAR_C_CORRUPTIONS
        .into_iter()
        .filter(|name| *name != "frost" || frost.is_some())
        .collect();
    let frost_line = frost
        .map(|f| format!("\n    frost_pictures: {f}"))
        .unwrap_or_default();
    let suite_text = format!(
        "\
name: released-cifar10-c
datasets:
  - folder: {{name: cifar10-jpeg, root: {root}, image_size: 32}}
models: [small_cnn]
methods: [vanilla]
seeds: [0]
training:
  epochs: 1
  batch_size: 100
  lr: 0.05
  max_train_batches: 200
  device: cpu
  isolation: inline
evaluations:
  robustness:
    noise: [0.0]
    cifar_c: {{root: {released}, corruptions: [{list}]}}
  corruptions:
    corruptions: [{list}]{frost_line}
",
        root = tmp.path().join("cifar10-jpeg").display(),
        released = released.display(),
        list = names.join(", "),
    );
    let loaded = LoadedSuite::from_text(
        &suite_text,
        Path::new("released-cifar10-c.yaml"),
        Path::new("."),
        &registry(),
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    let run_dir = tmp.path().join("run");
    let outcome = suite::run(&loaded, &run_dir, &suite_text).unwrap();
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    let cell = &mixbench::records::cell_dirs(&run_dir).unwrap()[0];
    let generated = rows::read_cell_csv(cell).unwrap();
    let on_released = robustness::read_cell_csv(cell).unwrap();
    // Same model, same clean images: the clean rows agree exactly.
    assert_eq!(generated[0].top1, on_released[0].top1);
    println!("corruption severity released generated difference");
    let mut differences = Vec::new();
    for g in &generated[1..] {
        let r = on_released
            .iter()
            .find(|r| r.corruption == g.corruption && r.severity == g.severity)
            .unwrap_or_else(|| {
                panic!(
                    "{} {} not read from the released files",
                    g.corruption, g.severity
                )
            });
        let difference = g.top1 - r.top1;
        println!(
            "{} {} {:.2} {:.2} {:+.2}",
            g.corruption, g.severity, r.top1, g.top1, difference
        );
        differences.push((g.corruption.clone(), g.severity, difference));
    }
    assert_eq!(differences.len(), names.len() * 5);
    let mean = differences.iter().map(|d| d.2.abs()).sum::<f64>() / differences.len() as f64;
    println!("mean absolute difference {mean:.2} points");
    let worst: Vec<_> = differences
        .iter()
        .filter(|d| d.2.abs() > CELL_TOLERANCE)
        .collect();
    assert!(
        worst.is_empty(),
        "more than {CELL_TOLERANCE} points apart: {worst:?}"
    );
    assert!(
        mean <= MEAN_TOLERANCE,
        "mean absolute difference {mean:.2} points"
    );
}
