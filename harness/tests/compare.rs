//! `mixbench compare`: synthetic runs with known injected changes (each reported, nothing
//! else), two real runs of a tiny CPU suite (nothing reported; a flipped bit is a change), a
//! saved baseline, the binary's exit status, files and errors, and the false-positive and
//! detection rates of the accuracy and time tests on simulated data.

use std::path::Path;
use std::process::Command;

use mixbench::compare::decide::{accuracy, time, Verdict};
use mixbench::compare::metric::Direction;
use mixbench::compare::thresholds::{AccuracyRule, TimeRule};
use mixbench::compare::{self, Comparison, Thresholds};
use mixbench::evaluations::background::variants::Variant;
use mixbench::evaluations::background::BackgroundRow;
use mixbench::evaluations::fewshot::{EpisodeRow, FewShotRow};
use mixbench::evaluations::robustness::RobustnessRow;
use mixbench::evaluations::runtime::rows::{write_cell, PhaseRow, RuntimeInfo, PHASES};
use mixbench::methods::registry;
use mixbench::records::{self, CellInfo, EpochMetrics};
use mixbench::suite::{self, config::LoadedSuite};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = rng.gen::<f64>().max(1e-300);
    let v: f64 = rng.gen();
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

/// `x` with 2% log-normal noise.
fn noisy(rng: &mut ChaCha8Rng, x: f64) -> f64 {
    x * (0.02 * normal(rng)).exp()
}

/// Methods of the synthetic runs and their mean accuracy.
const METHODS: [(&str, f64); 3] = [("vanilla", 80.0), ("mixup", 81.0), ("sage", 82.5)];
const SEEDS: u64 = 5;
/// Test top-1 per epoch relative to the method's accuracy: the best epoch is the fourth, the
/// last one point below it.
const CURVE: [f64; 5] = [-8.0, -6.0, -4.0, 0.0, -1.0];
const REPEATS: usize = 5;

/// Changes injected into a synthetic run.
#[derive(Clone, Copy, Default)]
struct Inject {
    /// Last-epoch top-1 of `method` lowered by `points` on its first `seeds` seeds.
    drop_last: Option<(&'static str, f64, u64)>,
    /// The runtime evaluation's `mix` phase of `method` slowed by `factor`.
    slow_mix: Option<(&'static str, f64)>,
}

/// Writes a run folder as a GPU run would leave it (so no bit-exact comparison applies): for
/// each method and seed a done cell with `metrics.csv` (seed noise 0.15 points, epoch noise
/// 0.1, times with 2% noise), robustness, background and few-shot results and a runtime
/// result (5 repetitions, 2% noise); then builds its report. `seed` picks the random stream.
fn synthetic_run(dir: &Path, suite: &str, seed: u64, inject: Inject) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for (method, acc) in METHODS {
        for s in 0..SEEDS {
            let cell = format!("synth-small_cnn-{method}-s{s}");
            let cdir = dir.join(records::CELLS_DIR).join(&cell);
            std::fs::create_dir_all(&cdir).unwrap();
            let info = CellInfo {
                cell: cell.clone(),
                suite: suite.into(),
                dataset: "synth".into(),
                model: "small_cnn".into(),
                method: method.into(),
                method_name: method.into(),
                method_params: Default::default(),
                seed: s,
                epochs: CURVE.len(),
                config_hash: format!("{:016x}", s + 100),
                code_version: "0.1.0+test".into(),
                device: "cuda:0 (simulated)".into(),
                libtorch: "2.11.0".into(),
                parameters: 1000,
                train_images: 1000,
                test_images: 200,
            };
            let json = serde_json::to_string(&info).unwrap();
            std::fs::write(cdir.join(records::CELL_INFO), json).unwrap();
            let seed_effect = 0.15 * normal(&mut rng);
            let saliency = if method == "sage" { 0.3 } else { 1e-6 };
            let mut rows = Vec::new();
            for (epoch, offset) in CURVE.iter().enumerate() {
                let (data, mix, fb, opt, eval) = (
                    noisy(&mut rng, 0.02),
                    noisy(&mut rng, 0.05),
                    noisy(&mut rng, 0.7),
                    noisy(&mut rng, 0.05),
                    noisy(&mut rng, 0.1),
                );
                let sal = noisy(&mut rng, saliency);
                rows.push(EpochMetrics {
                    epoch,
                    lr: 0.1,
                    train_loss: 1.0 / (epoch + 1) as f64,
                    train_acc: 50.0 + epoch as f64,
                    test_loss: 0.5,
                    test_top1: acc + offset + seed_effect,
                    test_top5: 99.0,
                    time_data: data,
                    time_saliency: sal,
                    time_mix: mix,
                    time_forward_backward: fb,
                    time_optimizer: opt,
                    time_eval: eval,
                    time_epoch: data + sal + mix + fb + opt + eval + 0.01,
                    skipped_batches: 0,
                });
            }
            for r in &mut rows {
                r.test_top1 += 0.1 * normal(&mut rng);
            }
            if let Some((m, points, seeds)) = inject.drop_last {
                if m == method && s < seeds {
                    rows.last_mut().unwrap().test_top1 -= points;
                }
            }
            std::fs::write(
                cdir.join(records::METRICS),
                records::csv_bytes(&rows).unwrap(),
            )
            .unwrap();
            std::fs::write(cdir.join(records::DONE), "").unwrap();

            let clean = acc + seed_effect + 0.1 * normal(&mut rng);
            let robustness: Vec<RobustnessRow> = [("clean", 0, 0.0, 0.0), ("noise", 1, 0.05, 5.0)]
                .into_iter()
                .chain([("fgsm", 1, 4.0, 20.0)])
                .map(|(corruption, severity, level, loss)| RobustnessRow {
                    corruption: corruption.into(),
                    severity,
                    level,
                    top1: clean - loss,
                    images: 200,
                    seconds: 1.0,
                })
                .collect();
            std::fs::write(
                cdir.join("robustness.csv"),
                records::csv_bytes(&robustness).unwrap(),
            )
            .unwrap();
            std::fs::write(cdir.join("robustness.done"), "").unwrap();

            let background: Vec<BackgroundRow> = Variant::ALL
                .iter()
                .enumerate()
                .map(|(i, v)| (v.name(), clean - 3.0 * i as f64))
                .chain([("challenge", 40.0 + seed_effect)])
                .map(|(variant, top1)| BackgroundRow {
                    variant: variant.into(),
                    top1,
                    images: 200,
                    seconds: 1.0,
                })
                .collect();
            std::fs::write(
                cdir.join("background.csv"),
                records::csv_bytes(&background).unwrap(),
            )
            .unwrap();
            std::fs::write(cdir.join("background.done"), "").unwrap();

            let fewshot = [(1, 40.0), (5, 55.0)].map(|(shots, mean)| FewShotRow {
                ways: 5,
                shots,
                queries: 15,
                episodes: 2,
                mean: mean + seed_effect,
                ci95: 1.0,
                std: 1.0,
                unconverged: 0,
                seconds: 1.0,
            });
            let episodes: Vec<EpisodeRow> = fewshot
                .iter()
                .flat_map(|r| {
                    [-1.0, 1.0]
                        .into_iter()
                        .enumerate()
                        .map(|(episode, d)| EpisodeRow {
                            ways: r.ways,
                            shots: r.shots,
                            episode,
                            accuracy: r.mean + d,
                        })
                })
                .collect();
            std::fs::write(
                cdir.join("fewshot.csv"),
                records::csv_bytes(&fewshot).unwrap(),
            )
            .unwrap();
            std::fs::write(
                cdir.join("fewshot-episodes.csv"),
                records::csv_bytes(&episodes).unwrap(),
            )
            .unwrap();
            std::fs::write(cdir.join("fewshot.done"), "").unwrap();

            let mut phases = Vec::new();
            for repeat in 0..REPEATS {
                let base: [f64; 7] = [
                    0.5,
                    if method == "sage" { 8.0 } else { 0.001 },
                    if method == "vanilla" { 0.001 } else { 0.5 },
                    9.0,
                    0.3,
                    0.05,
                    1.0,
                ];
                let mut seconds: Vec<f64> = base.iter().map(|&b| noisy(&mut rng, b)).collect();
                if let Some((m, factor)) = inject.slow_mix {
                    if m == method {
                        seconds[2] *= factor;
                    }
                }
                let train: f64 = seconds[..6].iter().sum();
                let named = PHASES
                    .iter()
                    .zip(&seconds)
                    .map(|(p, s)| (p.to_string(), *s));
                let totals = [
                    ("train".to_string(), train),
                    ("epoch".into(), train + seconds[6]),
                ];
                phases.extend(named.chain(totals).map(|(phase, seconds)| PhaseRow {
                    repeat,
                    phase,
                    seconds,
                }));
            }
            let info = RuntimeInfo {
                device: "cuda:0 (simulated)".into(),
                libtorch: "2.11.0".into(),
                threads: 1,
                batch_size: 100,
                warmup_steps: 1,
                steps: 3,
                repeats: REPEATS,
                steps_per_epoch: 10,
                eval_images: 100,
                test_images: 200,
                sync_phases: true,
                loop_seconds: vec![1.0; REPEATS],
                images_per_second: 100.0,
                peak_memory_bytes: None,
                memory_kind: None,
                reference: None,
            };
            write_cell(&cdir, &phases, &info).unwrap();
            std::fs::write(cdir.join("runtime.done"), "").unwrap();
        }
    }
    mixbench::report::build_report(dir, &mixbench::evaluations::report_sections()).unwrap();
}

/// `(verdict, metric, group)` of every row that is not unchanged.
fn reported(c: &Comparison) -> Vec<(Verdict, String, String)> {
    c.rows
        .iter()
        .filter(|r| r.verdict != Verdict::Unchanged)
        .map(|r| (r.verdict, r.metric.to_string(), r.group()))
        .collect()
}

/// Two synthetic runs drawn from the same distributions (other random streams), the second
/// with mixup's last-epoch top-1 lowered by 2 points on 4 of 5 seeds and SAGE's mix phase of
/// the runtime evaluation twice as slow: exactly those two regress. The mix phase is 0.5 s of
/// an 11.3 s epoch, so the epoch (+4.4%) and the ratio to Vanilla stay within the 10%
/// threshold; top1_best (the fourth epoch) and the median of the last epochs do not move.
#[test]
fn injected_changes_are_each_reported_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, run, same) = (
        tmp.path().join("base"),
        tmp.path().join("run"),
        tmp.path().join("same"),
    );
    synthetic_run(&base, "synth", 1, Inject::default());
    let inject = Inject {
        drop_last: Some(("mixup", 2.0, 4)),
        slow_mix: Some(("sage", 2.0)),
    };
    synthetic_run(&run, "synth", 2, inject);
    synthetic_run(&same, "synth", 3, Inject::default());

    let c = compare::compare(&base, &run, &Thresholds::default()).unwrap();
    let lines = compare::output::terminal_lines(&c.rows);
    for line in lines.iter().take(3).chain(lines.last()) {
        println!("{line}");
    }
    assert_eq!(
        reported(&c),
        [
            (
                Verdict::Regressed,
                "top1_last".to_string(),
                "synth/small_cnn/mixup".to_string()
            ),
            (
                Verdict::Regressed,
                "runtime_mix".to_string(),
                "synth/small_cnn/sage".to_string()
            ),
        ],
        "{}",
        compare::output::terminal_lines(&c.rows).join("\n")
    );
    assert_eq!(c.exit_code(), 1);
    let row = |metric: &str, method: &str| {
        c.rows
            .iter()
            .find(|r| r.metric == metric && r.method == method && r.condition.is_empty())
            .unwrap_or_else(|| panic!("no {metric} row of {method}"))
    };
    let top1 = row("top1_last", "mixup");
    assert_eq!((top1.n_baseline, top1.n_run, top1.unit), (5, 5, "seed"));
    assert!((top1.delta.unwrap() + 1.6).abs() < 0.4, "{top1:?}");
    assert!(top1.p.unwrap() < 0.05 && top1.test == "welch");
    let mix = row("runtime_mix", "sage");
    assert_eq!((mix.n_baseline, mix.n_run, mix.unit), (25, 25, "repeat"));
    assert!((mix.change.unwrap() - 1.0).abs() < 0.05, "{mix:?}");
    let epoch = row("runtime_epoch", "sage");
    assert_eq!(epoch.verdict, Verdict::Unchanged);
    assert!(epoch.p.unwrap() < 0.05, "slower, significant, within 10%");
    assert!(epoch
        .detail
        .contains("significant but within the thresholds"));
    // Training times come per epoch from the cells' metrics.csv; the ratio with its interval.
    assert_eq!(row("epoch_time_mean", "vanilla").unit, "epoch");
    assert_eq!(row("epoch_time_mean", "vanilla").n_run, 25);
    assert_eq!(row("runtime_ratio", "sage").test, "bootstrap intervals");
    // Every metric of every group is there; simulated GPU cells get no bit-exact row.
    for metric in [
        "top1_best",
        "top1_median_last10",
        "top5_last",
        "top5_best",
        "robust_top1",
        "mix_time_mean",
        "saliency_time_mean",
        "runtime_train",
    ] {
        row(metric, "vanilla");
    }
    assert!(c.rows.iter().all(|r| r.metric != "bit_exact"));
    let conditions: Vec<&str> = c
        .rows
        .iter()
        .filter(|r| r.metric == "robustness_top1" && r.method == "sage")
        .map(|r| r.condition.as_str())
        .collect();
    assert_eq!(conditions, ["clean", "fgsm:4", "noise:0.05"]);
    let conditions = |metric: &str| -> Vec<String> {
        c.rows
            .iter()
            .filter(|r| r.metric == metric && r.method == "sage")
            .map(|r| r.condition.clone())
            .collect()
    };
    assert_eq!(conditions("fewshot_accuracy"), ["5way-1shot", "5way-5shot"]);
    assert_eq!(
        conditions("background_top1").len(),
        8,
        "7 variants and the challenge"
    );
    assert_eq!(conditions("bg_gap"), [""]);
    // mixed_same (clean - 12) minus mixed_rand (clean - 15).
    assert!((row("bg_gap", "sage").baseline_mean.unwrap() - 3.0).abs() < 1e-9);

    // Without the injections, nothing is reported.
    let c = compare::compare(&base, &same, &Thresholds::default()).unwrap();
    assert!(
        reported(&c).is_empty(),
        "{}",
        compare::output::terminal_lines(&c.rows).join("\n")
    );
    assert_eq!(c.exit_code(), 0);
}

/// A run whose SAGE cells failed: every SAGE metric is `missing` (exit 1); the other way round
/// they are `new` (not a regression).
#[test]
fn what_only_one_side_has_is_missing_or_new() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, run) = (tmp.path().join("base"), tmp.path().join("run"));
    synthetic_run(&base, "synth", 1, Inject::default());
    synthetic_run(&run, "synth", 2, Inject::default());
    // The run's SAGE cells failed: every SAGE metric is missing from it.
    for s in 0..SEEDS {
        let cell = run.join(format!("cells/synth-small_cnn-sage-s{s}"));
        std::fs::remove_file(cell.join(records::DONE)).unwrap();
        std::fs::write(cell.join(records::FAILED), "out of memory").unwrap();
        for kind in ["robustness", "runtime", "background", "fewshot"] {
            std::fs::remove_file(cell.join(format!("{kind}.done"))).unwrap();
        }
    }
    mixbench::report::build_report(&run, &mixbench::evaluations::report_sections()).unwrap();
    let c = compare::compare(&base, &run, &Thresholds::default()).unwrap();
    let missing: Vec<_> = c
        .rows
        .iter()
        .filter(|r| r.verdict == Verdict::Missing)
        .collect();
    assert!(!missing.is_empty() && missing.iter().all(|r| r.method == "sage"));
    assert!(c
        .rows
        .iter()
        .filter(|r| r.method == "sage")
        .all(|r| r.verdict == Verdict::Missing));
    assert_eq!(c.exit_code(), 1);
    // The other way round the same rows are new, which is no regression.
    let c = compare::compare(&run, &base, &Thresholds::default()).unwrap();
    assert!(c
        .rows
        .iter()
        .filter(|r| r.method == "sage")
        .all(|r| r.verdict == Verdict::New));
    assert_eq!(c.exit_code(), 0);
}

const SUITE: &str = "\
name: tiny-compare
datasets:
  - synthetic: {classes: 3, train_per_class: 40, test_per_class: 10, size: 16, seed: 1}
models: [small_cnn]
methods: [vanilla, cutmix]
seeds: [0]
training:
  epochs: 2
  batch_size: 20
  lr: 0.05
  milestones: [1]
  device: cpu
  threads: 1
  isolation: inline
evaluations:
  robustness: {noise: [0.1], fgsm: [4], max_images: 30, batch_size: 30}
";

fn run_suite(dir: &Path) {
    let loaded =
        LoadedSuite::from_text(SUITE, Path::new("tiny.yaml"), Path::new("."), &registry()).unwrap();
    let outcome = suite::run(&loaded, dir, SUITE).unwrap();
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    mixbench::report::build_report(dir, &mixbench::evaluations::report_sections()).unwrap();
}

/// Wall-clock times of two real runs on a shared machine are not judged here (the time test
/// is checked on synthetic data above and below): a 1000-fold threshold.
fn untimed() -> Thresholds {
    Thresholds::parse("time: {relative: 1000}\n", Path::new("untimed.yaml")).unwrap()
}

/// Two runs of the same CPU suite: every accuracy, robustness result and bit-exact check is
/// unchanged. One bit of one cell's `metrics.csv` flipped (the last bit of epoch 1's test
/// loss, which no summary column shows) is reported as `changed` with the cell, epoch and
/// column, and nothing else is. A saved baseline compares like the run folder it came from.
#[test]
fn two_runs_of_a_cpu_suite_report_nothing_and_a_flipped_bit_is_a_change() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    run_suite(&a);
    run_suite(&b);
    let c = compare::compare(&a, &b, &untimed()).unwrap();
    assert!(
        reported(&c).is_empty(),
        "{}",
        compare::output::terminal_lines(&c.rows).join("\n")
    );
    let exact: Vec<_> = c.rows.iter().filter(|r| r.metric == "bit_exact").collect();
    assert_eq!(exact.len(), 2, "one per method");
    assert!(exact
        .iter()
        .all(|r| r.detail.contains("equal bit for bit") && r.n_run == 1));
    assert!(c.rows.iter().any(|r| r.metric == "robustness_top1"));
    assert_eq!(c.exit_code(), 0);

    // A saved baseline: the run-level files and each cell's metrics, not its checkpoint.
    let saved = tmp.path().join("baselines/tiny-compare");
    let written = compare::baseline::save(&a, &saved).unwrap();
    assert!(written.contains(&saved.join("summary.csv")));
    assert!(saved.join("robustness-cells.csv").is_file());
    let cell = records::cell_dirs(&a).unwrap()[1].clone();
    let name = cell.file_name().unwrap().to_owned();
    assert!(saved
        .join("cells")
        .join(&name)
        .join("metrics.csv")
        .is_file());
    assert!(!saved
        .join("cells")
        .join(&name)
        .join(records::CHECKPOINT)
        .exists());
    let from_saved = compare::compare(&saved, &b, &untimed()).unwrap();
    assert_eq!(from_saved.rows, c.rows);
    let err = compare::baseline::save(&a, &saved).unwrap_err();
    assert!(format!("{err:#}").contains("not empty"), "{err:#}");

    // One bit of one cell's test loss.
    let cell_b = b.join("cells").join(&name);
    let mut rows = records::read_metrics(&cell_b).unwrap();
    rows[1].test_loss = f64::from_bits(rows[1].test_loss.to_bits() ^ 1);
    std::fs::write(
        cell_b.join(records::METRICS),
        records::csv_bytes(&rows).unwrap(),
    )
    .unwrap();
    mixbench::report::build_report(&b, &mixbench::evaluations::report_sections()).unwrap();
    let c = compare::compare(&saved, &b, &untimed()).unwrap();
    let changed = reported(&c);
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].0, Verdict::Changed);
    assert_eq!(changed[0].1, "bit_exact");
    let row = c
        .rows
        .iter()
        .find(|r| r.verdict == Verdict::Changed)
        .unwrap();
    println!("{}", row.detail);
    let where_ = format!("{}, epoch 1, test_loss", name.to_string_lossy());
    assert!(row.detail.contains(&where_), "{}", row.detail);
    assert_eq!(c.exit_code(), 1);
    // Reported but not failing when the thresholds say so.
    let lenient = Thresholds::parse(
        "time: {relative: 1000}\nbit_exact: {fails: false}\n",
        Path::new("t.yaml"),
    )
    .unwrap();
    assert_eq!(
        compare::compare(&saved, &b, &lenient).unwrap().exit_code(),
        0
    );
}

fn mixbench(args: &[&Path]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mixbench"))
        .arg("compare")
        .args(args)
        .output()
        .unwrap()
}

/// The binary: the table on stdout (worst first), compare.csv and compare.md under RUN/compare
/// (or --out), exit 1 on a regression, 0 without, 2 on bad input with the file named.
#[test]
fn the_command_writes_its_files_and_exits_by_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, run, same, other) = (
        tmp.path().join("base"),
        tmp.path().join("run"),
        tmp.path().join("same"),
        tmp.path().join("other"),
    );
    synthetic_run(&base, "synth", 1, Inject::default());
    let inject = Inject {
        drop_last: Some(("mixup", 2.0, 4)),
        ..Inject::default()
    };
    synthetic_run(&run, "synth", 2, inject);
    synthetic_run(&same, "synth", 3, Inject::default());
    synthetic_run(&other, "other-suite", 3, Inject::default());

    let out = mixbench(&[&base, &run]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with("regressed  top1_last"),
        "worst first: {stdout}"
    );
    assert!(stdout.trim_end().ends_with("unchanged"), "{stdout}");
    let csv = std::fs::read_to_string(run.join("compare/compare.csv")).unwrap();
    assert!(csv.starts_with(
        "verdict,metric,kind,dataset,model,method,condition,unit,baseline_mean,run_mean,delta,change,p,test,n_baseline,n_run,threshold,alpha,detail,baseline_cells,run_cells\n"
    ));
    assert!(csv.contains("regressed,top1_last,accuracy,synth,small_cnn,mixup,,seed,"));
    let md = std::fs::read_to_string(run.join("compare/compare.md")).unwrap();
    assert!(md.contains("**1 regressed, 0 changed, 0 missing, 0 improved, 0 new,"));
    assert!(md.contains("| **regressed** | top1_last | synth/small_cnn/mixup |"));
    let html = std::fs::read_to_string(run.join("compare/compare.html")).unwrap();
    assert!(html.contains(
        "<td class=\"verdict-regressed\"><strong>regressed</strong></td><td>top1_last</td>"
    ));

    let dest = tmp.path().join("report");
    let out = Command::new(env!("CARGO_BIN_EXE_mixbench"))
        .args(["compare".as_ref(), base.as_os_str(), same.as_os_str()])
        .arg("--out")
        .arg(&dest)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(dest.join("compare.csv").is_file() && dest.join("compare.md").is_file());

    // Bad input: exit 2, the file named, nothing written.
    let missing = tmp.path().join("nowhere");
    let out = mixbench(&[&base, &missing]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nowhere"), "{err}");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = mixbench(&[&empty, &run]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains(&format!("{}: no summary.csv", empty.display())),
        "{err}"
    );
    let out = mixbench(&[&base, &other]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("suite `synth`") && err.contains("suite `other-suite`"),
        "{err}"
    );
    assert!(!other.join("compare").exists());
    // A value under a metric no producer declares (a runtime phase this version does not
    // know): exit 2 naming it, never a silent skip.
    std::fs::write(
        same.join("runtime.csv"),
        "cell,dataset,model,method,seed,phase,median\nsynth-small_cnn-mixup-s0,synth,small_cnn,mixup,0,warp,1.5\n",
    )
    .unwrap();
    let out = mixbench(&[&base, &same]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("metric `runtime_warp`") && err.contains("not declared by `runtime`"),
        "{err}"
    );
    std::fs::remove_file(same.join("runtime.csv")).unwrap();
    let thresholds = tmp.path().join("thresholds.yaml");
    std::fs::write(&thresholds, "accuracy:\n  min_efect: 1\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mixbench"))
        .args(["compare".as_ref(), base.as_os_str(), same.as_os_str()])
        .arg("--thresholds")
        .arg(&thresholds)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains(&format!("{}:2:", thresholds.display())) && err.contains("min_efect"),
        "{err}"
    );
}

/// Share of `draws` simulated comparisons that `judge` calls regressed and improved.
fn rates(draws: usize, mut judge: impl FnMut() -> Verdict) -> (f64, f64) {
    let (mut worse, mut better) = (0, 0);
    for _ in 0..draws {
        match judge() {
            Verdict::Regressed => worse += 1,
            Verdict::Improved => better += 1,
            _ => {}
        }
    }
    (worse as f64 / draws as f64, better as f64 / draws as f64)
}

/// Null data: both sides drawn from one distribution, 4,000 times. The tests alone (thresholds
/// 0) call "regressed" at the configured level, alpha = 0.05, within 4 binomial standard
/// deviations (0.0138); with the default thresholds less often still. Shifted data: the
/// detection rates are printed (`cargo test --test compare -- --nocapture`) and grow with
/// the shift. Accuracies: 5 seeds per side, seed noise 0.5 points. Times: 10 epochs per side,
/// log-normal noise of 3%.
#[test]
fn false_positive_rates_match_alpha_and_shifts_are_detected() {
    const DRAWS: usize = 4000;
    let alpha = 0.05;
    let tolerance = 4.0 * (alpha * (1.0 - alpha) / DRAWS as f64).sqrt();
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let test_only = AccuracyRule {
        alpha,
        min_effect: 0.0,
        one_value_factor: 2.0,
    };
    let default_rule = Thresholds::default().accuracy_rule("top1_last");
    let seeds = |rng: &mut ChaCha8Rng, mean: f64| -> Vec<f64> {
        (0..5).map(|_| mean + 0.5 * normal(rng)).collect()
    };
    let accuracy_rates = |rule: &AccuracyRule, shift: f64, rng: &mut ChaCha8Rng| {
        rates(DRAWS, || {
            let (b, r) = (seeds(rng, 80.0), seeds(rng, 80.0 - shift));
            accuracy(&b, &r, rule, Direction::HigherIsBetter).verdict
        })
    };
    let (worse, better) = accuracy_rates(&test_only, 0.0, &mut rng);
    println!("accuracy, Welch alone, null: regressed {worse:.4}, improved {better:.4}");
    assert!((worse - alpha).abs() <= tolerance, "{worse}");
    assert!((better - alpha).abs() <= tolerance, "{better}");
    let (worse, _) = accuracy_rates(&default_rule, 0.0, &mut rng);
    println!("accuracy, default thresholds, null: regressed {worse:.4}");
    assert!(worse <= alpha + tolerance);
    let mut detected = Vec::new();
    for shift in [0.5, 1.0, 2.0] {
        let (worse, _) = accuracy_rates(&default_rule, shift, &mut rng);
        println!("accuracy, default thresholds, drop of {shift} points: detected {worse:.4}");
        detected.push(worse);
    }
    assert!(detected.windows(2).all(|w| w[0] < w[1]) && detected[2] > 0.9);

    let test_only = TimeRule {
        alpha,
        relative: 0.0,
        min_seconds: 0.0,
        one_value_factor: 2.0,
    };
    let default_rule = Thresholds::default().time_rule("epoch_time_mean");
    let epochs = |rng: &mut ChaCha8Rng, seconds: f64| -> Vec<f64> {
        (0..10)
            .map(|_| seconds * (0.03 * normal(rng)).exp())
            .collect()
    };
    let time_rates = |rule: &TimeRule, factor: f64, rng: &mut ChaCha8Rng| {
        rates(DRAWS, || {
            let (b, r) = (epochs(rng, 2.0), epochs(rng, 2.0 * factor));
            time(&b, &r, rule, "epoch").verdict
        })
    };
    let (worse, better) = time_rates(&test_only, 1.0, &mut rng);
    println!("time, Welch on log times alone, null: regressed {worse:.4}, improved {better:.4}");
    assert!((worse - alpha).abs() <= tolerance, "{worse}");
    assert!((better - alpha).abs() <= tolerance, "{better}");
    let (worse, _) = time_rates(&default_rule, 1.0, &mut rng);
    println!("time, default thresholds, null: regressed {worse:.4}");
    assert!(worse <= alpha + tolerance);
    let mut detected = Vec::new();
    for factor in [1.05, 1.10, 1.15, 1.20] {
        let (worse, _) = time_rates(&default_rule, factor, &mut rng);
        println!("time, default thresholds, {factor}x slower: detected {worse:.4}");
        detected.push(worse);
    }
    assert!(detected.windows(2).all(|w| w[0] < w[1]) && detected[3] > 0.95);
}

/// The nightly CPU job's thresholds file parses strictly and widens only the time rules.
#[test]
fn the_nightly_thresholds_file_widens_times_only() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../suites/nightly/thresholds/cpu.yaml");
    let nightly = Thresholds::from_file(&file).unwrap_or_else(|e| panic!("{e:#}"));
    let defaults = Thresholds::default();
    for metric in ["epoch_time_mean", "runtime_train", "runtime_ratio"] {
        let rule = nightly.time_rule(metric);
        assert_eq!((rule.relative, rule.min_seconds), (0.25, 0.05), "{metric}");
        assert_eq!(rule.alpha, defaults.time_rule(metric).alpha, "{metric}");
    }
    for metric in ["top1_last", "robust_top1"] {
        assert_eq!(
            nightly.accuracy_rule(metric),
            defaults.accuracy_rule(metric)
        );
    }
}
