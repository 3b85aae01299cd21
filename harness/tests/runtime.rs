//! The runtime evaluation end to end: a small grid trained inline, timed, reported; the phase
//! accounting, the statistics files, the ratios and the PyTorch eager reference; bad settings.

use std::path::Path;

use mixbench::evaluations::runtime::rows::{read_cell, PHASES, TOTALS};
use mixbench::methods::registry;
use mixbench::records;
use mixbench::report::stats::median;
use mixbench::suite::{self, config::LoadedSuite};

const SUITE: &str = "\
name: runtime
datasets:
  - synthetic: {classes: 4, train_per_class: 100, test_per_class: 20, size: 16, seed: 3}
models: [small_cnn]
methods: [vanilla, mixup, cutmix]
seeds: [0]
training:
  epochs: 1
  batch_size: 20
  test_batch_size: 20
  lr: 0.05
  max_train_batches: 2
  device: cpu
  threads: 1
  isolation: inline
evaluations:
  runtime: {warmup_steps: 1, steps: 3, repeats: 3, eval_batches: 1}
";

fn load(text: &str) -> anyhow::Result<LoadedSuite> {
    LoadedSuite::from_text(text, Path::new("suite.yaml"), Path::new("."), &registry())
}

fn csv_rows(path: &Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn runtime_evaluation_accounts_for_every_phase_and_reports_ratios() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path();
    let loaded = load(SUITE).unwrap();
    let outcome = suite::run(&loaded, run_dir, SUITE).unwrap();
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    assert_eq!(outcome.evaluated.len(), 3, "{:?}", outcome.evaluated);

    for dir in records::cell_dirs(run_dir).unwrap() {
        let (rows, info) = read_cell(&dir).unwrap();
        assert_eq!(rows.len(), 3 * (PHASES.len() + TOTALS.len()));
        // A whole epoch is every full batch of the 400 training images, although the cell
        // trained 2 batches per epoch; evaluation scales 20 timed images to 80.
        assert_eq!(info.steps_per_epoch, 20);
        assert_eq!((info.eval_images, info.test_images), (20, 80));
        assert_eq!(info.loop_seconds.len(), 3);
        let expected_ips: Vec<f64> = info.loop_seconds.iter().map(|l| 60.0 / l).collect();
        let ips = median(&expected_ips).unwrap();
        assert!(
            (info.images_per_second - ips).abs() <= 1e-9 * ips,
            "{info:?}"
        );
        assert!(info.peak_memory_bytes.unwrap() > 10 << 20, "{info:?}");
        for repeat in 0..3 {
            let of = |phase: &str| {
                rows.iter()
                    .find(|r| r.repeat == repeat && r.phase == phase)
                    .unwrap_or_else(|| panic!("no {phase} row for repeat {repeat}"))
                    .seconds
            };
            // The phases add up to the epoch; `other` (loop time outside the named phases)
            // is bookkeeping only, and the loop is its repetition's time scaled 20 / 3.
            let sum: f64 = PHASES.iter().map(|p| of(p)).sum();
            assert!(
                (sum - of("epoch")).abs() <= 1e-9 * of("epoch"),
                "{sum} vs {}",
                of("epoch")
            );
            // (A context switch in that bookkeeping on a loaded machine may add a few
            // milliseconds, hence the absolute allowance, in unscaled seconds.)
            let other = of("other") * 3.0 / 20.0;
            let looped = info.loop_seconds[repeat];
            assert!(other >= -1e-9 && other <= 0.05 * looped + 0.05, "{rows:?}");
            let scaled = info.loop_seconds[repeat] * 20.0 / 3.0;
            assert!((of("train") - scaled).abs() <= 1e-9 * scaled);
            assert!(of("forward_backward") > 0.0 && of("evaluation") > 0.0);
            assert_eq!(of("saliency"), of("saliency").max(0.0));
        }
        // Vanilla cells carry the PyTorch eager reference, run or skipped with a reason.
        let is_vanilla = dir.to_string_lossy().contains("vanilla");
        assert_eq!(info.reference.is_some(), is_vanilla);
        if let Some(reference) = &info.reference {
            match &reference.skipped {
                Some(why) => eprintln!("PyTorch eager reference skipped: {why}"),
                None => assert_eq!(reference.repeat_seconds.len(), 3),
            }
        }
    }

    let build = || {
        mixbench::report::build_report(run_dir, &mixbench::evaluations::report_sections()).unwrap()
    };
    build();
    // Run-level files: 9 statistics rows per cell, one row per method with Vanilla's ratio 1
    // and every ratio inside its interval.
    assert_eq!(csv_rows(&run_dir.join("runtime.csv")).len(), 27);
    let methods = csv::Reader::from_path(run_dir.join("runtime-methods.csv"))
        .unwrap()
        .deserialize::<std::collections::HashMap<String, String>>()
        .map(Result::unwrap)
        .collect::<Vec<_>>();
    assert_eq!(methods.len(), 3);
    for m in &methods {
        let num = |k: &str| m[k].parse::<f64>().unwrap();
        assert!(
            num("ratio_lo") <= num("ratio") && num("ratio") <= num("ratio_hi"),
            "{m:?}"
        );
        assert!(num("epoch_q1") <= num("epoch_median") && num("epoch_median") <= num("epoch_q3"));
        if m["method"] == "vanilla" {
            assert_eq!(num("ratio"), 1.0);
        }
    }
    // One comparison row when the reference ran (Python with torch present), none otherwise.
    let ran = records::cell_dirs(run_dir)
        .unwrap()
        .iter()
        .filter_map(|d| read_cell(d).unwrap().1.reference)
        .filter(|r| r.skipped.is_none())
        .count();
    assert_eq!(csv_rows(&run_dir.join("runtime-reference.csv")).len(), ran);
    for stem in ["runtime-phases", "runtime-ratio"] {
        let png = run_dir.join(format!("plots/{stem}-synthetic-small_cnn.png"));
        assert!(png.is_file(), "{}", png.display());
    }
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(report.contains("## Runtime"), "{report}");
    assert!(
        report.contains("Device cpu (1 threads), libtorch "),
        "{report}"
    );
    assert!(report.contains("batch size 20"), "{report}");
    assert!(report.contains("| cutmix | 1 |"), "{report}");

    // Rebuilding the report from the cells gives identical files (seeded bootstrap).
    let before = std::fs::read(run_dir.join("runtime-methods.csv")).unwrap();
    build();
    assert_eq!(
        before,
        std::fs::read(run_dir.join("runtime-methods.csv")).unwrap()
    );
}

#[test]
fn bad_runtime_settings_name_their_key() {
    for (settings, needle) in [
        ("{repeats: 2}", "runtime.repeats: at least 3"),
        ("{steps: 0}", "runtime.steps: at least 1"),
        ("{step: 3}", "unknown field `step`"),
        ("{pytorch: maybe}", "unknown variant `maybe`"),
        (
            "{scale_to: {train_images: 0, test_images: 10}}",
            "runtime.scale_to.train_images",
        ),
    ] {
        let text = SUITE.replace(
            "{warmup_steps: 1, steps: 3, repeats: 3, eval_batches: 1}",
            settings,
        );
        let err = format!("{:#}", load(&text).unwrap_err());
        assert!(err.contains(needle), "{settings}: {err}");
        assert!(err.contains("suite.yaml"), "{settings}: {err}");
    }
}
