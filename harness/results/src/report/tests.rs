//! End-to-end tests: a fake run directory with hand-made cells goes through [`build_report`],
//! then every promised file and field is checked. All expected numbers are computed by hand
//! from the accuracy series written by [`fixture`]; each assertion says how.

use std::collections::HashMap;
use std::path::Path;

use super::*;
use crate::records::{CellInfo, EpochMetrics};

/// Test top-1 per epoch of the 12-epoch cells (epochs 0..=11).
/// vanilla s0: last 71; best 75 at epoch 7; last 10 (epochs 2..=11) sorted
/// [30 40 50 60 70 71 72 73 74 75] -> median (70 + 71) / 2 = 70.5 (the median of all 12 would
/// be 65, so the window matters).
const VANILLA_S0: [f64; 12] = [10., 20., 30., 40., 50., 60., 70., 75., 72., 74., 73., 71.];
/// mixup s0: last 77.5; best 80 at epoch 10; last 10 sorted
/// [35 45 55 65 70 76 77.5 78 79 80] -> median (70 + 76) / 2 = 73.
const MIXUP_S0: [f64; 12] = [15., 25., 35., 45., 55., 65., 70., 78., 79., 76., 80., 77.5];
/// svhn vanilla s0, 5 epochs: last 58; best 60 first reached at epoch 1 (tie with epoch 2);
/// window min(10, 5) = 5, sorted [50 55 58 60 60] -> median 58.
const SVHN_S0: [f64; 5] = [50., 60., 60., 55., 58.];

/// Seconds per phase of every fixture epoch: data, saliency, mix, forward_backward,
/// optimizer, eval; the epoch takes their sum plus 0.125 s of untimed work.
fn phase_times(method: &str) -> [f64; 6] {
    let mix = if method == "mixup" { 0.25 } else { 0.0 };
    [0.25, 0.0, mix, 0.75, 0.125, 0.25]
}

/// One `metrics.csv` row for epoch `epoch` with test top-1 `top1` (top-5 is top-1 + 10).
fn epoch_row(method: &str, epoch: usize, top1: f64) -> EpochMetrics {
    let t = phase_times(method);
    EpochMetrics {
        epoch,
        lr: 0.1,
        train_loss: 2.0 - 0.125 * epoch as f64,
        train_acc: top1 - 5.0,
        test_loss: 1.0,
        test_top1: top1,
        test_top5: top1 + 10.0,
        time_data: t[0],
        time_saliency: t[1],
        time_mix: t[2],
        time_forward_backward: t[3],
        time_optimizer: t[4],
        time_eval: t[5],
        time_epoch: t.iter().sum::<f64>() + 0.125,
        skipped_batches: 0,
    }
}

/// How a fixture cell ended.
#[derive(Clone, Copy, PartialEq)]
enum End {
    Done,
    Failed,
    Running,
}

/// Writes one cell folder: `cell.json`, `metrics.csv` with `top1` as test top-1, and the
/// marker for `end`.
fn write_cell(run: &Path, dataset: &str, method: &str, seed: u64, top1: &[f64], end: End) {
    let cell = format!("{dataset}-resnet18-{method}-s{seed}");
    let dir = run.join(records::CELLS_DIR).join(&cell);
    std::fs::create_dir_all(&dir).unwrap();
    let info = CellInfo {
        cell: cell.clone(),
        suite: "smoke".into(),
        dataset: dataset.into(),
        model: "resnet18".into(),
        method: method.into(),
        method_name: method.into(),
        method_params: if method == "mixup" {
            mixbench_params::ResolvedParams::parse_text("alpha=1;prob=1").unwrap()
        } else {
            Default::default()
        },
        seed,
        epochs: 12,
        config_hash: format!("hash{seed}"),
        code_version: "0.1.0+test".into(),
        device: "cpu (2 threads)".into(),
        libtorch: "2.11.0".into(),
        parameters: 11_173_962,
        train_images: 100,
        test_images: 50,
    };
    std::fs::write(
        dir.join(records::CELL_INFO),
        serde_json::to_string_pretty(&info).unwrap(),
    )
    .unwrap();
    let mut writer = csv::Writer::from_path(dir.join(records::METRICS)).unwrap();
    for (epoch, &acc) in top1.iter().enumerate() {
        writer.serialize(epoch_row(method, epoch, acc)).unwrap();
    }
    writer.flush().unwrap();
    match end {
        End::Done => std::fs::write(dir.join(records::DONE), "").unwrap(),
        End::Failed => std::fs::write(
            dir.join(records::FAILED),
            "CUDA out of memory while allocating 2.00 GiB\n  at train.rs:42\n",
        )
        .unwrap(),
        End::Running => {}
    }
}

/// The fixture run: cifar10 x {vanilla, mixup} x seeds {0, 1} done (seed 1 = seed 0 shifted
/// by +2 for vanilla, +1 for mixup), cutmix s0 failed after 2 epochs, cutmix s1 still running
/// after 3 epochs, and svhn vanilla s0 done (a second group with n = 1).
fn fixture(run: &Path) {
    let shift = |s: &[f64], d: f64| s.iter().map(|v| v + d).collect::<Vec<_>>();
    write_cell(run, "cifar10", "vanilla", 0, &VANILLA_S0, End::Done);
    write_cell(
        run,
        "cifar10",
        "vanilla",
        1,
        &shift(&VANILLA_S0, 2.0),
        End::Done,
    );
    write_cell(run, "cifar10", "mixup", 0, &MIXUP_S0, End::Done);
    write_cell(
        run,
        "cifar10",
        "mixup",
        1,
        &shift(&MIXUP_S0, 1.0),
        End::Done,
    );
    write_cell(run, "cifar10", "cutmix", 0, &[10.0, 20.0], End::Failed);
    write_cell(
        run,
        "cifar10",
        "cutmix",
        1,
        &[11.0, 21.0, 31.0],
        End::Running,
    );
    write_cell(run, "svhn", "vanilla", 0, &SVHN_S0, End::Done);
}

/// Builds the fixture's report in a fresh temporary run directory.
fn built() -> (tempfile::TempDir, ReportFiles) {
    let tmp = tempfile::tempdir().unwrap();
    fixture(tmp.path());
    let files = build_report(tmp.path(), &[]).unwrap();
    (tmp, files)
}

/// A CSV file as one map (column -> field) per record.
fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .zip(r.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The field `column` of `row` as a number.
fn num(row: &HashMap<String, String>, column: &str) -> f64 {
    row[column]
        .parse()
        .unwrap_or_else(|e| panic!("{column} = {:?}: {e}", row[column]))
}

/// Asserts `actual` equals `expected` to 1e-9 (all fixture values are sums of binary fractions).
fn close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() < 1e-9,
        "{what}: {actual} != {expected}"
    );
}

#[test]
fn every_promised_file_exists_and_is_well_formed() {
    let (tmp, files) = built();
    for path in [&files.summary_csv, &files.methods_csv, &files.report_md] {
        assert!(
            std::fs::metadata(path).unwrap().len() > 0,
            "{} is empty",
            path.display()
        );
    }
    // 2 groups (cifar10/resnet18, svhn/resnet18) x 3 kinds x {png, svg}.
    assert_eq!(files.plots.len(), 12);
    for stem in ["cifar10-resnet18", "svhn-resnet18"] {
        for kind in ["accuracy", "final", "epoch-time"] {
            let png = tmp.path().join("plots").join(format!("{kind}-{stem}.png"));
            let svg = tmp.path().join("plots").join(format!("{kind}-{stem}.svg"));
            assert!(
                files.plots.contains(&png) && files.plots.contains(&svg),
                "{kind}-{stem} not listed"
            );
            let bytes = std::fs::read(&png).unwrap();
            assert!(
                bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
                "{} is not a PNG",
                png.display()
            );
            assert!(
                std::fs::read_to_string(&svg).unwrap().contains("<svg"),
                "{} is not an SVG",
                svg.display()
            );
        }
    }
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("plots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn summary_has_one_row_per_cell_with_exact_statistics() {
    let (_tmp, files) = built();
    let rows = read_csv(&files.summary_csv);
    let by_cell: HashMap<&str, &HashMap<String, String>> =
        rows.iter().map(|r| (r["cell"].as_str(), r)).collect();
    assert_eq!(rows.len(), 7);
    let status = |cell: &str| by_cell[cell]["status"].clone();
    assert_eq!(status("cifar10-resnet18-vanilla-s0"), "done");
    assert_eq!(status("cifar10-resnet18-cutmix-s0"), "failed");
    assert_eq!(status("cifar10-resnet18-cutmix-s1"), "incomplete");
    // Only the first line of the `failed` file.
    assert_eq!(
        by_cell["cifar10-resnet18-cutmix-s0"]["error"],
        "CUDA out of memory while allocating 2.00 GiB"
    );
    assert_eq!(by_cell["cifar10-resnet18-cutmix-s1"]["error"], "");
    assert_eq!(by_cell["cifar10-resnet18-cutmix-s1"]["epochs_done"], "3");

    // Expected values: see the comments on VANILLA_S0, MIXUP_S0 and SVHN_S0.
    let v0 = by_cell["cifar10-resnet18-vanilla-s0"];
    close(num(v0, "top1_last"), 71.0, "vanilla s0 top1_last");
    close(num(v0, "top1_best"), 75.0, "vanilla s0 top1_best");
    assert_eq!(v0["best_epoch"], "7");
    close(
        num(v0, "top1_median_last10"),
        70.5,
        "vanilla s0 median of last 10",
    );
    close(
        num(v0, "top5_last"),
        81.0,
        "vanilla s0 top5_last (top-1 + 10)",
    );
    close(num(v0, "top5_best"), 85.0, "vanilla s0 top5_best");
    close(
        num(v0, "train_loss_last"),
        2.0 - 0.125 * 11.0,
        "vanilla s0 train loss at epoch 11",
    );
    // Epoch: 0.25 + 0 + 0 + 0.75 + 0.125 + 0.25 timed + 0.125 untimed = 1.5 s, every epoch.
    close(num(v0, "epoch_time_mean"), 1.5, "vanilla s0 epoch time");
    close(num(v0, "mix_time_mean"), 0.0, "vanilla s0 mix time");
    assert_eq!(v0["epochs_done"], "12");
    assert_eq!(v0["seed"], "0");
    assert_eq!(
        v0["run"],
        _tmp.path().file_name().unwrap().to_string_lossy()
    );

    let m0 = by_cell["cifar10-resnet18-mixup-s0"];
    close(num(m0, "top1_last"), 77.5, "mixup s0 top1_last");
    close(num(m0, "top1_best"), 80.0, "mixup s0 top1_best");
    assert_eq!(m0["best_epoch"], "10");
    close(
        num(m0, "top1_median_last10"),
        73.0,
        "mixup s0 median of last 10",
    );
    close(num(m0, "mix_time_mean"), 0.25, "mixup s0 mix time");
    assert_eq!(m0["method_params"], "alpha=1;prob=1");

    let s0 = by_cell["svhn-resnet18-vanilla-s0"];
    close(num(s0, "top1_last"), 58.0, "svhn top1_last");
    assert_eq!(s0["best_epoch"], "1", "first epoch of a tie");
    close(
        num(s0, "top1_median_last10"),
        58.0,
        "svhn median of the 5 epochs there are",
    );

    // Rows follow cell folder order.
    let order: Vec<&str> = rows.iter().map(|r| r["cell"].as_str()).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
}

#[test]
fn methods_aggregate_done_cells_only_with_sample_std() {
    let (_tmp, files) = built();
    let rows = read_csv(&files.methods_csv);
    let keys: Vec<String> = rows
        .iter()
        .map(|r| format!("{}/{}/{}", r["dataset"], r["model"], r["method"]))
        .collect();
    // Dataset order, then vanilla first, then first appearance; cutmix has no done cell.
    assert_eq!(
        keys,
        [
            "cifar10/resnet18/vanilla",
            "cifar10/resnet18/mixup",
            "svhn/resnet18/vanilla"
        ]
    );

    // vanilla: seeds' values differ by 2 -> mean = midpoint, std = sqrt((1 + 1) / (2 - 1)) = sqrt(2).
    let vanilla = &rows[0];
    assert_eq!(vanilla["n"], "2");
    close(
        num(vanilla, "top1_last_mean"),
        72.0,
        "vanilla last mean of 71, 73",
    );
    close(
        num(vanilla, "top1_last_std"),
        2f64.sqrt(),
        "vanilla last std",
    );
    close(
        num(vanilla, "top1_best_mean"),
        76.0,
        "vanilla best mean of 75, 77",
    );
    close(
        num(vanilla, "top1_best_std"),
        2f64.sqrt(),
        "vanilla best std",
    );
    close(
        num(vanilla, "top1_median_last10_mean"),
        71.5,
        "vanilla median mean of 70.5, 72.5",
    );
    close(
        num(vanilla, "top5_last_mean"),
        82.0,
        "vanilla top5 mean of 81, 83",
    );
    close(num(vanilla, "epoch_time_mean"), 1.5, "vanilla epoch time");
    close(
        num(vanilla, "epoch_time_std"),
        0.0,
        "vanilla epoch time std",
    );
    assert_eq!(
        vanilla["cells"],
        "cifar10-resnet18-vanilla-s0;cifar10-resnet18-vanilla-s1"
    );

    // mixup: values differ by 1 -> std = sqrt((0.25 + 0.25) / 1) = sqrt(0.5).
    let mixup = &rows[1];
    close(
        num(mixup, "top1_last_mean"),
        78.0,
        "mixup last mean of 77.5, 78.5",
    );
    close(num(mixup, "top1_last_std"), 0.5f64.sqrt(), "mixup last std");
    close(
        num(mixup, "top1_median_last10_mean"),
        73.5,
        "mixup median mean of 73, 74",
    );
    // 0.25 + 0 + 0.25 + 0.75 + 0.125 + 0.25 + 0.125 untimed = 1.75 s.
    close(num(mixup, "epoch_time_mean"), 1.75, "mixup epoch time");
    assert_eq!(mixup["method_params"], "alpha=1;prob=1");

    let svhn = &rows[2];
    assert_eq!(svhn["n"], "1");
    assert_eq!(svhn["top1_last_std"], "", "no std for n = 1");
    close(num(svhn, "top1_last_mean"), 58.0, "svhn last");

    let text = std::fs::read_to_string(&files.methods_csv).unwrap();
    assert!(
        !text.contains("cutmix"),
        "failed or incomplete cells aggregated:\n{text}"
    );
}

#[test]
fn report_names_methods_failures_plots_and_sources() {
    let (_tmp, files) = built();
    let md = std::fs::read_to_string(&files.report_md).unwrap();
    for needle in [
        "# mixbench report: smoke",
        "higher is better",
        "| vanilla |",
        "| mixup |",
        "72.00 ± 1.41",
        "cifar10-resnet18-cutmix-s0",
        "CUDA out of memory while allocating 2.00 GiB",
        "cifar10-resnet18-cutmix-s1",
        "![accuracy: cifar10-resnet18](plots/accuracy-cifar10-resnet18.png)",
        "(plots/epoch-time-svhn-resnet18.svg)",
        "cpu (2 threads)",
        "0.1.0+test",
        "2.11.0",
        "summary.csv",
        "methods.csv",
    ] {
        assert!(md.contains(needle), "report.md lacks {needle:?}:\n{md}");
    }
    assert!(
        !md.contains("at train.rs:42"),
        "only the first line of an error belongs in the report"
    );
}

#[test]
fn rebuilding_gives_identical_files() {
    let (tmp, first) = built();
    let read = |p: &Path| std::fs::read(p).unwrap();
    let before = [
        read(&first.summary_csv),
        read(&first.methods_csv),
        read(&first.report_md),
    ];
    let svg_before = read(&first.plots[1]);
    let second = build_report(tmp.path(), &[]).unwrap();
    assert_eq!(first, second);
    let after = [
        read(&second.summary_csv),
        read(&second.methods_csv),
        read(&second.report_md),
    ];
    assert!(
        before == after,
        "summary.csv, methods.csv or report.md changed on rebuild"
    );
    assert!(
        svg_before == read(&second.plots[1]),
        "an SVG plot changed on rebuild"
    );
}

#[test]
fn concurrent_builds_of_one_run_all_succeed_with_the_same_files() {
    // Two `run` processes finishing together both rebuild the report: without the report lock
    // they raced on the same temporary plot files and one failed renaming a vanished file.
    let (tmp, first) = built();
    let run = tmp.path();
    let builders: Vec<_> = (0..4)
        .map(|_| {
            let run = run.to_path_buf();
            std::thread::spawn(move || {
                (0..3)
                    .map(|_| build_report(&run, &[]).map_err(|e| format!("{e:#}")))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for builder in builders {
        for built in builder.join().unwrap() {
            assert_eq!(
                built.as_ref(),
                Ok(&first),
                "a concurrent build failed or differed"
            );
        }
    }
    let plots: Vec<_> = std::fs::read_dir(run.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        plots.iter().all(|p| first.plots.contains(p)),
        "unexpected files in plots/: {plots:?}"
    );
}

/// Replaces the svhn cell's `metrics.csv` of the built fixture in `run` with `text`, rebuilds
/// the report, and returns its files and the cell's `summary.csv` row.
fn rebuilt_with_svhn_metrics(run: &Path, text: &str) -> (ReportFiles, HashMap<String, String>) {
    let dir = run.join("cells/svhn-resnet18-vanilla-s0");
    std::fs::write(dir.join(records::METRICS), text).unwrap();
    let files = build_report(run, &[]).unwrap();
    let svhn = read_csv(&files.summary_csv)
        .into_iter()
        .find(|r| r["cell"] == "svhn-resnet18-vanilla-s0")
        .unwrap();
    (files, svhn)
}

#[test]
fn stale_plots_are_removed_and_unreadable_done_cells_reported() {
    let (tmp, _) = built();
    let other = tmp.path().join("plots/notes.txt");
    std::fs::write(&other, "keep me").unwrap();
    // The svhn cell's metrics become unreadable: the cell turns failed, its group disappears.
    let (files, svhn) = rebuilt_with_svhn_metrics(tmp.path(), "epoch,lr\nnot-a-number,0.1\n");
    assert_eq!(svhn["status"], "failed");
    assert!(
        svhn["error"].starts_with("report: ") && svhn["error"].contains("metrics.csv"),
        "{}",
        svhn["error"]
    );
    assert!(
        !tmp.path().join("plots/accuracy-svhn-resnet18.png").exists(),
        "stale plot kept"
    );
    assert!(other.exists(), "a file that is not a plot was removed");
    assert_eq!(files.plots.len(), 6);
    assert_eq!(files.corrupt.len(), 1, "{:?}", files.corrupt);
    assert_eq!(files.corrupt[0].0, "svhn-resnet18-vanilla-s0");
    assert!(
        files.corrupt[0].1.contains("metrics.csv"),
        "{:?}",
        files.corrupt
    );
}

/// A done cell whose `metrics.csv` holds only its header (or nothing) is failed and corrupt,
/// never done with blank numbers.
#[test]
fn a_done_cell_with_empty_metrics_is_failed_not_done() {
    for text in ["", "epoch,lr\n"] {
        let (tmp, _) = built();
        let (files, svhn) = rebuilt_with_svhn_metrics(tmp.path(), text);
        assert_eq!(svhn["status"], "failed", "{text:?}");
        assert_eq!(files.corrupt.len(), 1, "{text:?}: {:?}", files.corrupt);
        let methods = std::fs::read_to_string(&files.methods_csv).unwrap();
        assert!(!methods.contains("svhn"), "{methods}");
    }
    // The untouched fixture has nothing corrupt.
    let (_tmp, files) = built();
    assert!(files.corrupt.is_empty(), "{:?}", files.corrupt);
}

#[test]
fn a_run_without_cells_still_gets_a_report() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join(records::CELLS_DIR)).unwrap();
    let files = build_report(tmp.path(), &[]).unwrap();
    let summary = std::fs::read_to_string(&files.summary_csv).unwrap();
    assert!(summary.starts_with("run,cell,status,"), "{summary}");
    assert!(files.plots.is_empty());
    assert!(
        build_report(&tmp.path().join("missing"), &[]).is_err(),
        "a run dir without cells/ is an error"
    );
}

#[test]
fn plotted_values_come_from_done_cells() {
    let tmp = tempfile::tempdir().unwrap();
    fixture(tmp.path());
    let cells = cells::load_cells(tmp.path()).unwrap();
    let rows = summary::summarise("run", &cells);
    let groups = aggregate::group_done(&rows);
    let cifar = &groups[0];
    assert_eq!(
        (cifar.dataset.as_str(), cifar.methods.len()),
        ("cifar10", 2),
        "cutmix has no done cell"
    );

    // vanilla epoch 0: seeds 10 and 12 (seed 1 = seed 0 + 2) -> mean 11, band 10..12.
    let curves = plot_data::accuracy_curves(cifar, &cells);
    assert_eq!(curves[0].label, "vanilla (n=2)");
    assert_eq!(curves[0].points.len(), 12);
    let first = &curves[0].points[0];
    assert_eq!(
        (first.epoch, first.mean, first.min, first.max),
        (0, 11.0, 10.0, 12.0)
    );

    // mixup last epoch: 77.5 and 78.5 -> mean 78, std sqrt(0.5) (as in methods.csv).
    let finals = plot_data::final_points(cifar, &rows);
    assert_eq!(finals[1].values, [77.5, 78.5]);
    close(finals[1].mean.unwrap(), 78.0, "mixup final mean");
    close(finals[1].std.unwrap(), 0.5f64.sqrt(), "mixup final std");

    // mixup phases per epoch: see phase_times; `other` is the 0.125 s no timer covers.
    let bars = plot_data::phase_bars(cifar, &cells);
    assert_eq!(bars[1].seconds, [0.25, 0.0, 0.25, 0.75, 0.125, 0.25, 0.125]);
}
