//! The verdict on one metric of one group, from the baseline's values and the run's: pure
//! functions of numbers and thresholds, with the evidence in words.
//!
//! - **Accuracy** (points, one value per seed): Welch's test of the difference of means
//!   ([`TEstimate::welch`]), one-sided in the direction of the observed change, and a minimum
//!   effect. *Regressed* when the metric got worse by at least the minimum effect **and** the
//!   test is significant (p < alpha); *improved* likewise the other way; else *unchanged*,
//!   saying which condition was not met. A side with one seed has no spread and no test: the
//!   change must then reach `one_value_factor` times the minimum effect ("one seed: threshold
//!   only").
//! - **Time** (seconds, repeated measurements): the change is the ratio of geometric means
//!   minus 1; Welch's test on the log times. *Regressed* when the run is slower by at least the
//!   relative threshold and by at least `min_seconds`, **and** the test is significant; improved
//!   the other way (faster by at least the relative threshold). One measurement on a side:
//!   threshold only, with the factor, as for accuracies.
//! - **Ratio** (one value with a 95% bootstrap interval per side): the relative change of the
//!   ratio must reach the relative threshold **and** the two intervals must be disjoint (which
//!   implies a difference at well below the 5% level). Without intervals: threshold only, with
//!   the factor.

use serde::Serialize;

use super::metric::Direction;
use super::thresholds::{AccuracyRule, TimeRule};
use crate::claims::stats::TEstimate;
use crate::claims::verdict::fmt_p;
use crate::report::stats::mean;

/// The verdict on one metric of one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Worse beyond the thresholds, and significant where there is a test.
    Regressed,
    /// A bit-exact metric differs.
    Changed,
    /// In the baseline, not in the run (its cells failed or were not run).
    Missing,
    /// Better beyond the thresholds, and significant where there is a test.
    Improved,
    /// In the run, not in the baseline.
    New,
    /// Neither regressed nor improved (or bit-exact and equal).
    Unchanged,
}

impl Verdict {
    /// The word shown in tables (as serialised in `compare.csv`).
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Changed => "changed",
            Verdict::Missing => "missing",
            Verdict::Improved => "improved",
            Verdict::New => "new",
            Verdict::Unchanged => "unchanged",
        }
    }
}

/// A verdict with its evidence.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The verdict.
    pub verdict: Verdict,
    /// Mean of the baseline's values.
    pub baseline_mean: f64,
    /// Mean of the run's values.
    pub run_mean: f64,
    /// Relative change (times and ratios: geometric-mean ratio minus 1, or ratio of ratios
    /// minus 1); `None` for accuracies.
    pub change: Option<f64>,
    /// p-value of the one-sided test in the direction of the change, when one ran.
    pub p: Option<f64>,
    /// Which test decided: `welch`, `welch on log times`, `bootstrap intervals`, or
    /// `threshold only` (a side with one value).
    pub test: &'static str,
    /// The threshold applied: minimum effect in points, or relative change.
    pub threshold: f64,
    /// The evidence in words.
    pub detail: String,
}

/// Whether a signed change is worse, better or neither, given the thresholds already met.
fn verdict_of(worse: bool, better: bool) -> Verdict {
    if worse {
        Verdict::Regressed
    } else if better {
        Verdict::Improved
    } else {
        Verdict::Unchanged
    }
}

/// `n 3 and 3 seeds`-style counts.
fn counts(n_base: usize, n_run: usize, unit: &str) -> String {
    let plural = if n_run == 1 { "" } else { "s" };
    format!("n {n_base} and {n_run} {unit}{plural}")
}

/// Judges an accuracy metric on per-seed values (`base`, `run` non-empty).
pub fn accuracy(base: &[f64], run: &[f64], rule: &AccuracyRule, direction: Direction) -> Decision {
    let (mb, mr) = (
        mean(base).unwrap_or(f64::NAN),
        mean(run).unwrap_or(f64::NAN),
    );
    let delta = mr - mb;
    let sign = match direction {
        Direction::HigherIsBetter => 1.0,
        Direction::LowerIsBetter => -1.0,
    };
    let gain = sign * delta;
    let big = |needed: f64| gain.abs() >= needed && gain != 0.0;
    let head = format!(
        "{mb:.4} -> {mr:.4}: {delta:+.4} points ({})",
        counts(base.len(), run.len(), "seed")
    );
    let Some(est) = TEstimate::welch(run, base) else {
        let needed = rule.one_value_factor * rule.min_effect;
        let verdict = verdict_of(big(needed) && gain < 0.0, big(needed) && gain > 0.0);
        return Decision {
            verdict,
            baseline_mean: mb,
            run_mean: mr,
            change: None,
            p: None,
            test: "threshold only",
            threshold: needed,
            detail: format!(
                "{head}; one seed: threshold only, |change| >= {needed:.4} ({} x minimum effect {:.4}) {}",
                rule.one_value_factor,
                rule.min_effect,
                if big(needed) { "met" } else { "not met" }
            ),
        };
    };
    // The one-sided test in the direction the values moved.
    let p = if delta < 0.0 {
        est.p_below(0.0)
    } else {
        est.p_above(0.0)
    };
    let significant = p < rule.alpha;
    let large = big(rule.min_effect);
    let why = match (significant, large) {
        (true, true) => "significant and at least the minimum effect",
        (true, false) => "significant but below the minimum effect",
        (false, true) => "at least the minimum effect but not significant",
        (false, false) => "not significant and below the minimum effect",
    };
    Decision {
        verdict: verdict_of(
            significant && large && gain < 0.0,
            significant && large && gain > 0.0,
        ),
        baseline_mean: mb,
        run_mean: mr,
        change: None,
        p: Some(p),
        test: "welch",
        threshold: rule.min_effect,
        detail: format!(
            "{head}; Welch p {} (alpha {}), minimum effect {:.4}: {why}",
            fmt_p(p),
            rule.alpha,
            rule.min_effect
        ),
    }
}

/// Judges a time metric on repeated measurements in seconds (`base`, `run` non-empty; `unit`
/// names a measurement: `epoch`, `repeat`, `cell`).
pub fn time(base: &[f64], run: &[f64], rule: &TimeRule, unit: &str) -> Decision {
    // A phase that did not run can read 0 s; its log is taken at 1 ns.
    let logs = |v: &[f64]| v.iter().map(|&x| x.max(1e-9).ln()).collect::<Vec<f64>>();
    let (lb, lr) = (logs(base), logs(run));
    let (mb, mr) = (
        mean(base).unwrap_or(f64::NAN),
        mean(run).unwrap_or(f64::NAN),
    );
    let delta = mr - mb;
    let change = (mean(&lr).unwrap_or(f64::NAN) - mean(&lb).unwrap_or(f64::NAN)).exp() - 1.0;
    let absolute = delta.abs() >= rule.min_seconds && delta != 0.0;
    let head = format!(
        "{mb:.6} s -> {mr:.6} s: {:+.1}% (geometric means; {})",
        100.0 * change,
        counts(base.len(), run.len(), unit)
    );
    let Some(est) = TEstimate::welch(&lr, &lb) else {
        let needed = rule.one_value_factor * rule.relative;
        let large = change.abs() >= needed && absolute;
        return Decision {
            verdict: verdict_of(large && change > 0.0, large && change < 0.0),
            baseline_mean: mb,
            run_mean: mr,
            change: Some(change),
            p: None,
            test: "threshold only",
            threshold: needed,
            detail: format!(
                "{head}; one {unit}: threshold only, |change| >= {:.1}% ({} x {:.1}%) and >= {} s {}",
                100.0 * needed,
                rule.one_value_factor,
                100.0 * rule.relative,
                rule.min_seconds,
                if large { "met" } else { "not met" }
            ),
        };
    };
    let p = if change > 0.0 {
        est.p_above(0.0)
    } else {
        est.p_below(0.0)
    };
    let significant = p < rule.alpha;
    let large = change.abs() >= rule.relative && absolute;
    let why = match (significant, large) {
        (true, true) => "significant and beyond the thresholds",
        (true, false) => "significant but within the thresholds",
        (false, true) => "beyond the thresholds but not significant",
        (false, false) => "not significant and within the thresholds",
    };
    Decision {
        verdict: verdict_of(
            significant && large && change > 0.0,
            significant && large && change < 0.0,
        ),
        baseline_mean: mb,
        run_mean: mr,
        change: Some(change),
        p: Some(p),
        test: "welch on log times",
        threshold: rule.relative,
        detail: format!(
            "{head}; Welch on log times p {} (alpha {}), thresholds {:.1}% and {} s: {why}",
            fmt_p(p),
            rule.alpha,
            100.0 * rule.relative,
            rule.min_seconds
        ),
    }
}

/// One side of a ratio: the value and its 95% bootstrap interval, when known.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RatioValue {
    /// The ratio.
    pub value: f64,
    /// Its 95% interval.
    pub interval: Option<(f64, f64)>,
}

/// Judges a ratio (lower is better) from one value with its interval per side.
pub fn ratio(base: RatioValue, run: RatioValue, rule: &TimeRule) -> Decision {
    let change = run.value / base.value - 1.0;
    let show = |r: RatioValue| match r.interval {
        Some((lo, hi)) => format!("{:.4} [{lo:.4}, {hi:.4}]", r.value),
        None => format!("{:.4}", r.value),
    };
    let head = format!("{} -> {}: {:+.1}%", show(base), show(run), 100.0 * change);
    let (verdict, test, threshold, tail) = match (base.interval, run.interval) {
        (Some((blo, bhi)), Some((rlo, rhi))) => {
            let large = change.abs() >= rule.relative;
            let disjoint = rlo > bhi || rhi < blo;
            let why = match (disjoint, large) {
                (true, true) => "intervals disjoint and beyond the threshold",
                (true, false) => "intervals disjoint but within the threshold",
                (false, true) => "beyond the threshold but the intervals overlap",
                (false, false) => "intervals overlap and within the threshold",
            };
            (
                verdict_of(
                    large && rlo > bhi && change > 0.0,
                    large && rhi < blo && change < 0.0,
                ),
                "bootstrap intervals",
                rule.relative,
                format!(
                    "95% bootstrap intervals, threshold {:.1}%: {why}",
                    100.0 * rule.relative
                ),
            )
        }
        _ => {
            let needed = rule.one_value_factor * rule.relative;
            let large = change.abs() >= needed;
            (
                verdict_of(large && change > 0.0, large && change < 0.0),
                "threshold only",
                needed,
                format!(
                    "no interval: threshold only, |change| >= {:.1}% ({} x {:.1}%) {}",
                    100.0 * needed,
                    rule.one_value_factor,
                    100.0 * rule.relative,
                    if large { "met" } else { "not met" }
                ),
            )
        }
    };
    Decision {
        verdict,
        baseline_mean: base.value,
        run_mean: run.value,
        change: Some(change),
        p: None,
        test,
        threshold,
        detail: format!("{head}; {tail}"),
    }
}
