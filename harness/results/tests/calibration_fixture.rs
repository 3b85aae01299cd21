//! mixbench's calibration measures against torchmetrics, netcal, PyTorch, SciPy and
//! scikit-learn on the same logits: `fixtures/calibration/calibration_fixture.json`, made by
//! `tools/official/calibration_fixture.py` (2,000 seeded random images of 10 classes whose
//! logits are three times their calibrated ones; package versions in the file and in
//! `fixtures/calibration/README.md`). Tolerances: 1e-9 relative against the float64
//! computations; 1e-6 absolute against torchmetrics' `MulticlassCalibrationError` as users
//! call it, which casts the confidences to float32 (see `docs/calibration.md`).

use mixbench_results::evaluations::calibration::measures::{
    equal_width_bins, expected_error, fit_temperature, max_error, measure, Calibration, Scores,
    TopLabel,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    classes: usize,
    bins: usize,
    logits: Vec<Vec<f64>>,
    labels: Vec<usize>,
    expected: Expected,
}

#[derive(Deserialize)]
struct Expected {
    unscaled: Figures,
    temperature_brentq: f64,
    temperature_minimize_scalar: f64,
    temperature_scaled: Figures,
    edge_case: EdgeCase,
}

/// The packages' figures at one temperature (fractions, NLL in nats).
#[derive(Deserialize)]
struct Figures {
    top1: f64,
    ece_torchmetrics: f64,
    mce_torchmetrics: f64,
    ece_torchmetrics_float32: f64,
    mce_torchmetrics_float32: f64,
    ece_netcal: f64,
    aece_netcal: f64,
    mce_netcal: f64,
    nll_torch: f64,
    nll_scipy: f64,
    brier_sklearn: f64,
}

#[derive(Deserialize)]
struct EdgeCase {
    bins: usize,
    confidences: Vec<f64>,
    correct: Vec<bool>,
    ece_torchmetrics: f64,
    mce_torchmetrics: f64,
}

fn fixture() -> Fixture {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/calibration/calibration_fixture.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn scores(f: &Fixture) -> Scores {
    let logits = f.logits.iter().flatten().copied().collect();
    Scores::new(logits, f.labels.clone(), f.classes).unwrap()
}

/// Relative difference of `ours` from `theirs`.
fn rel(ours: f64, theirs: f64) -> f64 {
    (ours - theirs).abs() / theirs.abs()
}

/// Every figure of `m` against the packages' `f`: 1e-9 relative for float64 computations,
/// 1e-6 absolute for torchmetrics' float32 path.
fn check(what: &str, m: &Calibration, f: &Figures) {
    let pairs = [
        ("top1 (sklearn accuracy_score)", m.top1, f.top1),
        (
            "ECE (torchmetrics, float64 binning)",
            m.ece,
            f.ece_torchmetrics,
        ),
        ("ECE (netcal ECE)", m.ece, f.ece_netcal),
        (
            "aECE (netcal ECE equal_intervals=False)",
            m.aece,
            f.aece_netcal,
        ),
        (
            "MCE (torchmetrics, float64 binning)",
            m.mce,
            f.mce_torchmetrics,
        ),
        ("MCE (netcal MCE)", m.mce, f.mce_netcal),
        ("NLL (torch cross_entropy)", m.nll, f.nll_torch),
        ("NLL (scipy log_softmax)", m.nll, f.nll_scipy),
        ("Brier (sklearn brier_score_loss)", m.brier, f.brier_sklearn),
    ];
    for (name, ours, theirs) in pairs {
        eprintln!(
            "{what}: {name}: {ours} vs {theirs}, relative {:.1e}",
            rel(ours, theirs)
        );
        assert!(
            rel(ours, theirs) <= 1e-9,
            "{what}: {name}: {ours} vs {theirs}"
        );
    }
    for (name, ours, theirs) in [
        (
            "ECE (torchmetrics float32)",
            m.ece,
            f.ece_torchmetrics_float32,
        ),
        (
            "MCE (torchmetrics float32)",
            m.mce,
            f.mce_torchmetrics_float32,
        ),
    ] {
        eprintln!(
            "{what}: {name}: {ours} vs {theirs}, absolute {:.1e}",
            (ours - theirs).abs()
        );
        assert!(
            (ours - theirs).abs() <= 1e-6,
            "{what}: {name}: {ours} vs {theirs}"
        );
    }
}

/// Top-1, ECE, aECE, MCE, NLL and Brier score agree with the packages before temperature
/// scaling.
#[test]
fn calibration_unscaled_figures_agree_with_torchmetrics_netcal_torch_scipy_and_sklearn() {
    let f = fixture();
    let m = measure(&scores(&f), 1.0, f.bins).unwrap();
    assert_eq!(m.images, 2000);
    check("T = 1", &m, &f.expected.unscaled);
}

/// The fitted temperature is SciPy's root of the NLL's derivative (and its bounded minimum of
/// the NLL), close to the factor 3 the logits were inflated by; the figures at it agree with
/// the packages, and scaling lowers the NLL and the ECE without changing top-1.
#[test]
fn calibration_temperature_fit_agrees_with_scipy_and_undoes_the_inflation() {
    let f = fixture();
    let s = scores(&f);
    let t = fit_temperature(&s);
    let e = &f.expected;
    eprintln!(
        "T = {t}; brentq {} (relative {:.1e}); minimize_scalar {} (relative {:.1e})",
        e.temperature_brentq,
        rel(t, e.temperature_brentq),
        e.temperature_minimize_scalar,
        rel(t, e.temperature_minimize_scalar)
    );
    assert!(rel(t, e.temperature_brentq) <= 1e-9);
    assert!(rel(t, e.temperature_minimize_scalar) <= 1e-6);
    assert!((t - 3.0).abs() < 0.1, "T = {t}");
    let before = measure(&s, 1.0, f.bins).unwrap();
    let after = measure(&s, t, f.bins).unwrap();
    check("T fitted", &after, &e.temperature_scaled);
    assert!(after.nll <= before.nll && after.ece < before.ece);
    assert_eq!(after.top1, before.top1);
}

/// torchmetrics' binning of confidences on the edges of 4 bins (an edge goes to the bin above;
/// 1 has a bin of its own).
#[test]
fn calibration_edge_confidences_are_binned_as_torchmetrics_bins_them() {
    let e = fixture().expected.edge_case;
    let tops: Vec<TopLabel> = e
        .confidences
        .iter()
        .zip(&e.correct)
        .map(|(&confidence, &correct)| TopLabel {
            confidence,
            correct,
        })
        .collect();
    let bins = equal_width_bins(&tops, e.bins);
    assert!(rel(expected_error(&bins), e.ece_torchmetrics) <= 1e-12);
    assert!(rel(max_error(&bins), e.mce_torchmetrics) <= 1e-12);
}
