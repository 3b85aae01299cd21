//! The decisions on hand-computed numbers, the thresholds file's parsing, and the catalogue.

use std::path::Path;

use super::decide::{accuracy, ratio, time, RatioValue, Verdict};
use super::metric::{find, metrics, Direction, Kind};
use super::thresholds::{AccuracyRule, Thresholds, TimeRule};
use crate::evaluations::runtime::rows::{PHASES, TOTALS};

const RULE: AccuracyRule = AccuracyRule {
    alpha: 0.05,
    min_effect: 0.5,
    one_value_factor: 2.0,
};

const TIME: TimeRule = TimeRule {
    alpha: 0.05,
    relative: 0.10,
    min_seconds: 0.001,
    one_value_factor: 2.0,
};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// Welch by hand (as in `claims::stats`): base [80, 81, 82], run [78, 79, 80]: difference -2,
/// se sqrt(2/3), df 4, t = -2.449490, one-sided p = 0.035242. Significant and beyond 0.5
/// points: regressed; beyond 3 points needed: unchanged, the minimum effect not met; at alpha
/// 0.01: unchanged, not significant.
#[test]
fn accuracy_needs_both_significance_and_the_minimum_effect() {
    let (base, run) = ([80.0, 81.0, 82.0], [78.0, 79.0, 80.0]);
    let d = accuracy(&base, &run, &RULE, Direction::HigherIsBetter);
    assert_eq!(d.verdict, Verdict::Regressed, "{}", d.detail);
    assert!(close(d.p.unwrap(), 0.035_242, 1e-6), "{:?}", d.p);
    assert_eq!((d.baseline_mean, d.run_mean), (81.0, 79.0));
    assert_eq!(d.test, "welch");
    assert!(d
        .detail
        .contains("significant and at least the minimum effect"));

    let big = AccuracyRule {
        min_effect: 3.0,
        ..RULE
    };
    let d = accuracy(&base, &run, &big, Direction::HigherIsBetter);
    assert_eq!(d.verdict, Verdict::Unchanged);
    assert!(d
        .detail
        .contains("significant but below the minimum effect"));

    let strict = AccuracyRule {
        alpha: 0.01,
        ..RULE
    };
    let d = accuracy(&base, &run, &strict, Direction::HigherIsBetter);
    assert_eq!(d.verdict, Verdict::Unchanged);
    assert!(d
        .detail
        .contains("at least the minimum effect but not significant"));

    // The other way round is an improvement with the same p-value.
    let d = accuracy(&run, &base, &RULE, Direction::HigherIsBetter);
    assert_eq!(d.verdict, Verdict::Improved);
    assert!(close(d.p.unwrap(), 0.035_242, 1e-6));
    // Where lower is better (the BG-Gap), the same drop is an improvement.
    let d = accuracy(&base, &run, &RULE, Direction::LowerIsBetter);
    assert_eq!(d.verdict, Verdict::Improved);
    // Identical values: nothing moved (t = 0, one-sided p = 1/2).
    let d = accuracy(&base, &base, &RULE, Direction::HigherIsBetter);
    assert_eq!(d.verdict, Verdict::Unchanged);
    assert_eq!(d.p, Some(0.5));
}

/// One seed on a side: no test; the drop must reach 2 x 0.5 = 1 point.
#[test]
fn one_seed_is_judged_on_the_threshold_alone() {
    let d = accuracy(&[80.0], &[78.9], &RULE, Direction::HigherIsBetter);
    assert_eq!(d.verdict, Verdict::Regressed);
    assert_eq!((d.test, d.p, d.threshold), ("threshold only", None, 1.0));
    assert!(
        d.detail.contains("one seed: threshold only"),
        "{}",
        d.detail
    );
    let d = accuracy(&[80.0, 80.2], &[79.2], &RULE, Direction::HigherIsBetter);
    assert_eq!(d.verdict, Verdict::Unchanged, "{}", d.detail);
    let d = accuracy(&[80.0], &[81.5], &RULE, Direction::HigherIsBetter);
    assert_eq!(d.verdict, Verdict::Improved);
}

/// Log times base [0, 0.1, 0.2], run [0.3, 0.4, 0.5]: geometric change e^0.3 - 1 = 34.99%;
/// Welch on the logs: difference 0.3, se sqrt(2 * 0.01 / 3) = 0.081650, df 4, t = 3.674235,
/// t^2 = 13.5, p = 1 - F_4(3.674235) = 0.010656 (closed form of F_4 as in `claims::stats`).
#[test]
fn time_is_judged_on_log_times() {
    let exp = |v: [f64; 3]| v.map(f64::exp);
    let (base, run) = (exp([0.0, 0.1, 0.2]), exp([0.3, 0.4, 0.5]));
    let d = time(&base, &run, &TIME, "epoch");
    assert_eq!(d.verdict, Verdict::Regressed, "{}", d.detail);
    assert!(close(d.change.unwrap(), 0.3f64.exp() - 1.0, 1e-12));
    assert!(close(d.p.unwrap(), 0.010_656, 1e-6), "{:?}", d.p);
    assert_eq!(d.test, "welch on log times");
    // 35% slower is within a 50% threshold; faster is improved.
    let loose = TimeRule {
        relative: 0.5,
        ..TIME
    };
    assert_eq!(
        time(&base, &run, &loose, "epoch").verdict,
        Verdict::Unchanged
    );
    assert_eq!(time(&run, &base, &TIME, "epoch").verdict, Verdict::Improved);
    // A phase of microseconds is below min_seconds whatever its relative change.
    let tiny = |v: [f64; 3]| v.map(|x| 1e-6 * x);
    let d = time(&tiny(base), &tiny(run), &TIME, "epoch");
    assert_eq!(d.verdict, Verdict::Unchanged, "{}", d.detail);
    // One measurement: the change must reach 2 x 10%.
    assert_eq!(
        time(&[1.0], &[1.15], &TIME, "cell").verdict,
        Verdict::Unchanged
    );
    let d = time(&[1.0], &[1.25], &TIME, "cell");
    assert_eq!((d.verdict, d.test), (Verdict::Regressed, "threshold only"));
}

/// Ratios: 2.0 [1.95, 2.05] against 2.4 [2.35, 2.45] is 20% higher with disjoint intervals;
/// against 2.4 [2.0, 2.8] the intervals overlap; without intervals 20% is below 2 x 10%.
#[test]
fn ratios_need_disjoint_intervals() {
    let side = |value, interval| RatioValue { value, interval };
    let base = side(2.0, Some((1.95, 2.05)));
    let d = ratio(base, side(2.4, Some((2.35, 2.45))), &TIME);
    assert_eq!(d.verdict, Verdict::Regressed, "{}", d.detail);
    assert!(close(d.change.unwrap(), 0.2, 1e-12));
    let d = ratio(base, side(2.4, Some((2.0, 2.8))), &TIME);
    assert_eq!(d.verdict, Verdict::Unchanged);
    assert!(d.detail.contains("intervals overlap"));
    let d = ratio(side(2.0, None), side(2.4, None), &TIME);
    assert_eq!((d.verdict, d.test), (Verdict::Unchanged, "threshold only"));
    let d = ratio(base, side(1.6, Some((1.55, 1.65))), &TIME);
    assert_eq!(d.verdict, Verdict::Improved);
}

#[test]
fn thresholds_have_documented_defaults_and_per_metric_overrides() {
    let t = Thresholds::parse("", Path::new("t.yaml")).unwrap();
    assert_eq!(t, Thresholds::default());
    assert_eq!(t.accuracy_rule("top1_last"), RULE);
    assert_eq!(t.time_rule("runtime_mix"), TIME);
    assert!(t.bit_exact.fails);
    let text = "\
alpha: 0.01
accuracy: {min_effect: 1.0}
metrics:
  top1_last: {min_effect: 2.0}
  runtime_mix: {relative: 0.2, alpha: 0.02}
bit_exact: {fails: false}
";
    let t = Thresholds::parse(text, Path::new("t.yaml")).unwrap();
    assert_eq!(t.accuracy_rule("top1_last").min_effect, 2.0);
    assert_eq!(t.accuracy_rule("top1_best").min_effect, 1.0);
    assert_eq!(t.accuracy_rule("top1_best").alpha, 0.01);
    let mix = t.time_rule("runtime_mix");
    assert_eq!(
        (mix.relative, mix.alpha, mix.min_seconds),
        (0.2, 0.02, 0.001)
    );
    assert!(!t.bit_exact.fails);
}

/// Each bad file is refused with the file, the line and the key.
#[test]
fn thresholds_files_are_parsed_strictly() {
    let err = |text: &str| {
        format!(
            "{:#}",
            Thresholds::parse(text, Path::new("th.yaml")).unwrap_err()
        )
    };
    let e = err("alpha: 0.05\naccuracy: {min_efect: 1}\n");
    assert!(e.starts_with("th.yaml:2:"), "{e}");
    assert!(
        e.contains("min_efect") && e.contains("did you mean `min_effect`"),
        "{e}"
    );
    let e = err("tim: {relative: 0.1}\n");
    assert!(e.contains("th.yaml:1") && e.contains("tim"), "{e}");
    let e = err("metrics:\n  top1_lst: {min_effect: 1}\n");
    assert!(e.starts_with("th.yaml:2: "), "{e}");
    assert!(e.contains("did you mean `top1_last`"), "{e}");
    let e = err("metrics:\n  top1_last: {relative: 0.2}\n");
    assert!(e.starts_with("th.yaml:2: "), "{e}");
    assert!(
        e.contains("`relative` does not apply to accuracy metrics (it takes alpha, min_effect)"),
        "{e}"
    );
    let e = err("metrics:\n  bit_exact: {alpha: 0.01}\n");
    assert!(
        e.contains("bit_exact") && e.contains("does not apply"),
        "{e}"
    );
    let e = err("\n\nalpha: 0.7\n");
    assert!(e.starts_with("th.yaml:3: alpha must be in (0, 0.5)"), "{e}");
    let e = err("time: {relative: -0.1}\n");
    assert!(e.starts_with("th.yaml:1: relative must be"), "{e}");
    let e = err("metrics:\n  runtime_mix: {min_seconds: .nan}\n");
    assert!(e.contains("metrics.runtime_mix.min_seconds must be"), "{e}");
    let e = err("one_value_factor: 0.5\n");
    assert!(e.contains("one_value_factor must be at least 1"), "{e}");
}

/// Every runtime phase and total has its metric; names are unique.
#[test]
fn the_catalogue_covers_every_runtime_phase() {
    for phase in PHASES.iter().chain(TOTALS.iter()) {
        let m = find(&format!("runtime_{phase}")).unwrap_or_else(|| panic!("{phase}"));
        assert_eq!(
            (m.kind, m.direction),
            (Kind::Time, Direction::LowerIsBetter)
        );
    }
    let mut names: Vec<&str> = metrics().iter().map(|m| m.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), metrics().len());
}

/// The judged metrics keep the order `compare.csv` had before they came from the catalogue.
#[test]
fn judged_metrics_are_in_the_order_of_compare_csv() {
    let names: Vec<&str> = metrics().iter().map(|m| m.name).collect();
    assert_eq!(
        names,
        [
            "bit_exact",
            "top1_last",
            "top1_best",
            "top1_median_last10",
            "top5_last",
            "top5_best",
            "robust_top1",
            "robustness_top1",
            "corruption_top1",
            "corruption_mean_top1",
            "corruption_mce",
            "corruption_relative_mce",
            "fewshot_accuracy",
            "background_top1",
            "bg_gap",
            "calibration_top1",
            "calibration_ece",
            "calibration_aece",
            "calibration_mce",
            "occlusion_top1",
            "occlusion_auc",
            "epoch_time_mean",
            "mix_time_mean",
            "saliency_time_mean",
            "runtime_data",
            "runtime_saliency",
            "runtime_mix",
            "runtime_forward_backward",
            "runtime_optimizer",
            "runtime_other",
            "runtime_evaluation",
            "runtime_train",
            "runtime_epoch",
            "runtime_ratio",
        ]
    );
    let bg_gap = find("bg_gap").unwrap();
    assert_eq!(
        (bg_gap.kind, bg_gap.direction),
        (Kind::Accuracy, Direction::LowerIsBetter)
    );
}
