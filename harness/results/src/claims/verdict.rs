//! From a claim and a run to a verdict: match the cells, check the protocol, test, correct.
//!
//! Every claim puts bounds on one parameter (a mean, a difference of means, a ratio of means)
//! or, for a `relation`, on several differences at once. Each claim gets one test: when the
//! estimate lies inside the bounds, the test *of* the claim (one-sided t-tests against each
//! finite bound, two one-sided tests when both are finite; for a relation the largest p-value
//! over its parts, an intersection-union test), otherwise the test *against* it (the one-sided
//! test beyond the bound crossed). The p-values of one file's tested claims are adjusted with
//! Holm's method, and a claim holds (or fails) when its adjusted p-value is below the file's
//! `alpha`; otherwise it is inconclusive because the data do not decide. Intervals are
//! reported at level `1 - 2 alpha`, the level that agrees with the one-sided tests at `alpha`.

use serde::{Deserialize, Serialize};

use super::file::{Claim, ClaimsFile, Kind, Metric, Protocol};
use super::matching::{param_differences, Missing, RunData, Samples};
use super::stats::{bootstrap_ratio, holm, t_test_bounds, Bounds, TEstimate, Test};
use crate::metrics::Direction;

/// The verdict on one claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The run supports the claim (adjusted p below alpha).
    Holds,
    /// The run contradicts the claim (adjusted p below alpha).
    Fails,
    /// The run cannot decide; the reason says why.
    Inconclusive,
}

impl Verdict {
    /// The word shown in tables.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Fails => "fails",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// Why a claim is inconclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// No finished cells of a method the claim names on its data set and model.
    CellsMissing,
    /// Cells exist but lack the metric (no timing, robustness or few-shot data).
    DataMissing,
    /// Fewer than two values on a side: no spread, no interval, no test.
    FewerSeedsThanNeeded,
    /// Epochs, seeds or method parameters differ from the claim's protocol (and
    /// `--accept-protocol` was not given).
    ProtocolDiffers,
    /// The test ran but its Holm-adjusted p-value is not below alpha.
    NotSignificant,
}

impl Reason {
    /// The words shown in tables.
    pub fn name(self) -> &'static str {
        match self {
            Reason::CellsMissing => "cells missing",
            Reason::DataMissing => "data missing",
            Reason::FewerSeedsThanNeeded => "fewer seeds than needed",
            Reason::ProtocolDiffers => "protocol differs",
            Reason::NotSignificant => "not significant",
        }
    }
}

/// One row of `claims.csv`: a claim, its verdict and every number it was decided on. Field
/// order is column order; the columns are a stable interface (new ones go at the end).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Claims file (stem) the claim comes from.
    pub file: String,
    /// Claim id.
    pub id: String,
    /// Claim kind.
    pub kind: String,
    /// holds, fails or inconclusive.
    pub verdict: Verdict,
    /// Why inconclusive (empty otherwise).
    pub reason: Option<Reason>,
    /// The evidence in words: what was compared, the test, and the reason's details.
    pub detail: String,
    /// Where the claim comes from.
    pub source: String,
    /// Data set label.
    pub dataset: String,
    /// Model.
    pub model: String,
    /// Metric (for a relation, its parts' metrics joined with `+`).
    pub metric: String,
    /// Epoch statistic of accuracies.
    pub statistic: String,
    /// Method `a` (or the method of a value claim), with required parameters.
    pub a: String,
    /// Method `b` (empty for a value claim).
    pub b: String,
    /// Published value (value: the metric; ratio: the ratio), when the claim has one.
    pub published: Option<f64>,
    /// Lower bound the claim puts on its parameter (empty: none).
    pub low: Option<f64>,
    /// Upper bound (empty: none).
    pub high: Option<f64>,
    /// The parameter measured: mean (value), difference of means (order, equivalence), ratio
    /// of means (ratio); empty for a relation.
    pub estimate: Option<f64>,
    /// Interval of the estimate at `ci_level` (t-based, or bootstrap percentile for ratios).
    pub ci_low: Option<f64>,
    /// Upper end of the interval.
    pub ci_high: Option<f64>,
    /// Level of the interval, `1 - 2 alpha`.
    pub ci_level: Option<f64>,
    /// Mean of `a`'s values.
    pub mean_a: Option<f64>,
    /// Mean of `b`'s values.
    pub mean_b: Option<f64>,
    /// Values of `a` (seeds; episodes for few-shot metrics).
    pub n_a: Option<usize>,
    /// Values of `b`.
    pub n_b: Option<usize>,
    /// The test: `t`, `tost`, `welch`, `welch-tost`, `bootstrap`, `iut` (relation), and
    /// whether it was for or against the claim.
    pub test: String,
    /// p-value of the test.
    pub p: Option<f64>,
    /// Holm-adjusted p-value within the file.
    pub p_holm: Option<f64>,
    /// The file's alpha.
    pub alpha: f64,
    /// The protocol the claim assumes.
    pub protocol: String,
    /// What the run did (epochs and seeds of the matched cells).
    pub run_protocol: String,
    /// Cells used, `;`-joined.
    pub cells: String,
}

/// Options of a verification.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Test claims whose protocol differs from the run's instead of calling them inconclusive.
    pub accept_protocol: bool,
}

/// What one claim's evaluation produced before the correction.
struct Pending {
    outcome: Outcome,
    test: Option<Test>,
}

/// Evaluates every claim of `file` on `run`, with Holm's correction across the file's tested
/// claims.
pub fn verify_file(file: &ClaimsFile, run: &RunData, options: Options) -> Vec<Outcome> {
    let mut pending: Vec<Pending> = file
        .claims
        .iter()
        .map(|claim| evaluate(claim, file, run, options))
        .collect();
    let tested: Vec<usize> = (0..pending.len())
        .filter(|&i| pending[i].test.is_some())
        .collect();
    let p: Vec<f64> = tested.iter().map(|&i| pending[i].test.unwrap().p).collect();
    for (&i, adjusted) in tested.iter().zip(holm(&p)) {
        let test = pending[i].test.unwrap();
        let o = &mut pending[i].outcome;
        o.p = Some(test.p);
        o.p_holm = Some(adjusted);
        if adjusted < file.alpha {
            o.verdict = if test.for_claim {
                Verdict::Holds
            } else {
                Verdict::Fails
            };
            o.reason = None;
        } else {
            o.verdict = Verdict::Inconclusive;
            o.reason = Some(Reason::NotSignificant);
            o.detail.push_str(&format!(
                "; p = {} (Holm-adjusted {} over {} tested claims) is not below alpha {}",
                fmt_p(test.p),
                fmt_p(adjusted),
                tested.len(),
                file.alpha
            ));
        }
    }
    pending.into_iter().map(|p| p.outcome).collect()
}

/// A p-value for reading: four decimals, scientific notation below 1e-4, `< 1e-16` below that.
pub fn fmt_p(p: f64) -> String {
    if p < 1e-16 {
        // Below what f64 resolves next to 1 (the t tail is computed as 1 - CDF).
        "< 1e-16".into()
    } else if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// ` (lower is better)` for a metric whose declaration says so, else nothing: a comparison
/// claim compares values, so its evidence says when a higher value is the worse one.
fn lower_is_better_note(metric: Metric) -> &'static str {
    if metric.direction() == Direction::LowerIsBetter {
        " (lower is better)"
    } else {
        ""
    }
}

fn seeds_text(n: usize) -> String {
    if n == 1 {
        "1 seed".into()
    } else {
        format!("{n} seeds")
    }
}

fn fmt_opt(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.4}")
    } else {
        "none".into()
    }
}

fn protocol_text(p: &Protocol) -> String {
    let mut parts = Vec::new();
    if let Some(e) = p.epochs {
        parts.push(format!("{e} epochs"));
    }
    if let Some(s) = p.seeds {
        parts.push(format!("{s} seeds"));
    }
    parts.push(format!("statistic {}", p.statistic.name()));
    parts.join(", ")
}

/// The blank outcome of a claim, before any data.
fn outcome_of(claim: &Claim, file: &ClaimsFile) -> Outcome {
    let metric = if claim.kind == Kind::Relation {
        claim
            .parts
            .iter()
            .map(|p| p.metric.to_string())
            .collect::<Vec<_>>()
            .join("+")
    } else {
        claim.metric.to_string()
    };
    let finite = |v: f64| v.is_finite().then_some(v);
    Outcome {
        file: file.stem(),
        id: claim.id.clone(),
        kind: claim.kind.name().into(),
        verdict: Verdict::Inconclusive,
        reason: None,
        detail: String::new(),
        source: claim.source.clone(),
        dataset: claim.dataset.clone(),
        model: claim.model.clone(),
        metric,
        statistic: claim.protocol.statistic.name().into(),
        a: claim.a.to_string(),
        b: claim.b.as_ref().map(|b| b.to_string()).unwrap_or_default(),
        published: claim.published,
        low: finite(claim.bounds.low),
        high: finite(claim.bounds.high),
        estimate: None,
        ci_low: None,
        ci_high: None,
        ci_level: None,
        mean_a: None,
        mean_b: None,
        n_a: None,
        n_b: None,
        test: String::new(),
        p: None,
        p_holm: None,
        alpha: file.alpha,
        protocol: protocol_text(&claim.protocol),
        run_protocol: String::new(),
        cells: String::new(),
    }
}

fn inconclusive(mut outcome: Outcome, reason: Reason, detail: String) -> Pending {
    outcome.verdict = Verdict::Inconclusive;
    outcome.reason = Some(reason);
    outcome.detail = detail;
    Pending {
        outcome,
        test: None,
    }
}

/// Evaluates one claim up to its uncorrected test.
fn evaluate(claim: &Claim, file: &ClaimsFile, run: &RunData, options: Options) -> Pending {
    let mut outcome = outcome_of(claim, file);
    // The metrics each side is read on: the claim's, or every part's.
    let metrics: Vec<Metric> = if claim.kind == Kind::Relation {
        claim.parts.iter().map(|p| p.metric).collect()
    } else {
        vec![claim.metric]
    };
    let mut sides = vec![&claim.a];
    sides.extend(claim.b.as_ref());
    // samples[side][metric]
    let mut samples: Vec<Vec<Samples>> = Vec::new();
    for method in &sides {
        let mut per_metric = Vec::new();
        for &metric in &metrics {
            match run.samples(
                &claim.dataset,
                &claim.model,
                method,
                metric,
                claim.protocol.statistic,
            ) {
                Ok(s) => per_metric.push(s),
                Err(Missing::Cells(why)) => {
                    return inconclusive(outcome, Reason::CellsMissing, why)
                }
                Err(Missing::Metric(why)) => {
                    return inconclusive(outcome, Reason::DataMissing, format!("{metric}: {why}"))
                }
            }
        }
        samples.push(per_metric);
    }
    let mut cells: Vec<String> = samples
        .iter()
        .flat_map(|s| s[0].cells.iter().map(|c| c.cell.clone()))
        .collect();
    cells.dedup();
    outcome.cells = cells.join(";");

    // Protocol: epochs of every cell, seeds per method, parameters the claim pins.
    let mut differences = Vec::new();
    let mut run_protocol = Vec::new();
    for (method, s) in sides.iter().zip(&samples) {
        let s = &s[0];
        let mut epochs: Vec<usize> = s.cells.iter().map(|c| c.epochs).collect();
        epochs.sort_unstable();
        epochs.dedup();
        let epochs_text = epochs
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("/");
        run_protocol.push(format!(
            "{}: {epochs_text} epochs, {}",
            method.label(),
            seeds_text(s.seeds())
        ));
        if let Some(want) = claim.protocol.epochs {
            if epochs.iter().any(|&e| e != want) {
                differences.push(format!(
                    "{} trained {epochs_text} epochs where the claim assumes {want}",
                    method.label()
                ));
            }
        }
        if let Some(want) = claim.protocol.seeds {
            if s.seeds() < want {
                differences.push(format!(
                    "{} has {} where the claim assumes {want}",
                    method.label(),
                    seeds_text(s.seeds())
                ));
            }
        }
        differences.extend(param_differences(method, &s.cells));
    }
    outcome.run_protocol = run_protocol.join("; ");
    let mut prefix = String::new();
    if !differences.is_empty() {
        if !options.accept_protocol {
            return inconclusive(
                outcome,
                Reason::ProtocolDiffers,
                format!(
                    "{} (--accept-protocol tests it anyway)",
                    differences.join("; ")
                ),
            );
        }
        prefix = format!("protocol differs, accepted: {}; ", differences.join("; "));
    }

    let level = 1.0 - 2.0 * file.alpha;
    let values: Vec<Vec<Vec<f64>>> = samples
        .iter()
        .map(|per| per.iter().map(Samples::plain).collect())
        .collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    outcome.mean_a = Some(mean(&values[0][0]));
    outcome.n_a = Some(values[0][0].len());
    if values.len() > 1 {
        outcome.mean_b = Some(mean(&values[1][0]));
        outcome.n_b = Some(values[1][0].len());
    }
    let too_few = |outcome: Outcome, what: String| {
        inconclusive(
            outcome,
            Reason::FewerSeedsThanNeeded,
            format!("{prefix}{what}: an interval needs at least 2"),
        )
    };
    for (method, per) in sides.iter().zip(&values) {
        for (metric, v) in metrics.iter().zip(per) {
            if v.len() < 2 {
                return too_few(
                    outcome,
                    format!("{} has {} value of {metric}", method.label(), v.len()),
                );
            }
        }
    }
    let bounds_text = |b: Bounds, what: &str| match (b.low.is_finite(), b.high.is_finite()) {
        (true, true) => format!("{} < {what} < {}", fmt_opt(b.low), fmt_opt(b.high)),
        (true, false) => format!("{what} > {}", fmt_opt(b.low)),
        (false, true) => format!("{what} < {}", fmt_opt(b.high)),
        (false, false) => format!("{what} unbounded"),
    };
    let test_name = |base: &str, b: Bounds, test: &Test| {
        let two = b.low.is_finite() && b.high.is_finite();
        let name = if test.for_claim && two {
            format!("{base}-tost")
        } else {
            base.to_string()
        };
        format!(
            "{name} ({})",
            if test.for_claim {
                "for the claim"
            } else {
                "against the claim"
            }
        )
    };
    let a = claim.a.label();
    let b = claim.b.as_ref().map(|b| b.label()).unwrap_or("");
    let test = match claim.kind {
        Kind::Value => {
            let est = TEstimate::mean_of(&values[0][0]).expect("two values checked");
            let test = t_test_bounds(&est, claim.bounds);
            let (lo, hi) = est.interval(level);
            outcome.estimate = Some(est.estimate);
            (outcome.ci_low, outcome.ci_high) = (Some(lo), Some(hi));
            outcome.test = test_name("t", claim.bounds, &test);
            outcome.detail = format!(
                "{prefix}{a}: mean {:.4} over {} values, {:.0}% t-interval [{lo:.4}, {hi:.4}] (df {}); claim: {}",
                est.estimate,
                values[0][0].len(),
                100.0 * level,
                est.df,
                bounds_text(claim.bounds, "mean")
            );
            test
        }
        Kind::Order | Kind::Equivalence => {
            let est = TEstimate::welch(&values[0][0], &values[1][0]).expect("two values checked");
            let test = t_test_bounds(&est, claim.bounds);
            let (lo, hi) = est.interval(level);
            outcome.estimate = Some(est.estimate);
            (outcome.ci_low, outcome.ci_high) = (Some(lo), Some(hi));
            outcome.test = test_name("welch", claim.bounds, &test);
            outcome.detail = format!(
                "{prefix}{a} - {b}: {:.4} (means {:.4} and {:.4}, n {} and {}), {:.0}% Welch interval [{lo:.4}, {hi:.4}] (df {:.2}); claim: {}{}",
                est.estimate,
                mean(&values[0][0]),
                mean(&values[1][0]),
                values[0][0].len(),
                values[1][0].len(),
                100.0 * level,
                est.df,
                bounds_text(claim.bounds, "difference"),
                match lower_is_better_note(claim.metric) {
                    "" => String::new(),
                    _ => format!(" ({}: lower is better)", claim.metric),
                }
            );
            test
        }
        Kind::Ratio => {
            // Pairs by seed: the seeds both methods ran.
            let mut pairs = Vec::new();
            for &(seed, va) in &samples[0][0].values {
                if let Some(&(_, vb)) = samples[1][0].values.iter().find(|v| v.0 == seed) {
                    pairs.push((va, vb));
                }
            }
            let (pa, pb): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
            let Some(boot) = bootstrap_ratio(&pa, &pb, file.bootstrap.reps, file.bootstrap.seed)
            else {
                return too_few(outcome, format!("{a} and {b} share {} seeds", pa.len()));
            };
            let test = boot.test_bounds(claim.bounds);
            let (lo, hi) = boot.interval(level);
            outcome.estimate = Some(boot.estimate);
            (outcome.ci_low, outcome.ci_high) = (Some(lo), Some(hi));
            outcome.test = test_name("bootstrap", claim.bounds, &test);
            outcome.detail = format!(
                "{prefix}{a} / {b}: {:.4} over {} shared seeds, {:.0}% paired bootstrap interval [{lo:.4}, {hi:.4}] ({} resamples, seed {}); claim: {}",
                boot.estimate,
                pa.len(),
                100.0 * level,
                file.bootstrap.reps,
                file.bootstrap.seed,
                bounds_text(claim.bounds, "ratio")
            );
            test
        }
        Kind::Relation => {
            let mut details = Vec::new();
            let mut tests = Vec::new();
            for (i, part) in claim.parts.iter().enumerate() {
                let est = TEstimate::welch(&values[0][i], &values[1][i]).expect("checked");
                let bounds = part.compare.bounds(part.margin);
                let test = t_test_bounds(&est, bounds);
                let (lo, hi) = est.interval(level);
                details.push(format!(
                    "{}{}: {a} - {b} = {:.4}, {:.0}% Welch interval [{lo:.4}, {hi:.4}], claim {}, p = {} ({})",
                    part.metric,
                    lower_is_better_note(part.metric),
                    est.estimate,
                    100.0 * level,
                    bounds_text(bounds, "difference"),
                    fmt_p(test.p),
                    if test.for_claim { "for" } else { "against" }
                ));
                tests.push(test);
            }
            // Intersection-union: all parts must hold (largest p); any part failing refutes
            // the whole (smallest p against, Bonferroni over the parts).
            let against: Vec<f64> = tests.iter().filter(|t| !t.for_claim).map(|t| t.p).collect();
            let test = if against.is_empty() {
                Test {
                    for_claim: true,
                    p: tests.iter().map(|t| t.p).fold(0.0, f64::max),
                }
            } else {
                Test {
                    for_claim: false,
                    p: (against.iter().copied().fold(1.0, f64::min) * tests.len() as f64).min(1.0),
                }
            };
            outcome.test = format!(
                "iut over {} welch tests ({})",
                tests.len(),
                if test.for_claim {
                    "for the claim"
                } else {
                    "against the claim"
                }
            );
            outcome.detail = format!("{prefix}{}", details.join("; "));
            test
        }
    };
    outcome.ci_level = Some(level);
    Pending {
        outcome,
        test: Some(test),
    }
}
