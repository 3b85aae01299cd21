//! The thresholds of a comparison: defaults, and the YAML file `--thresholds FILE` that
//! changes them, globally or per metric. Parsing is strict: an unknown key, an unknown metric,
//! a key that does not apply to a metric's kind or a value out of range is an error naming the
//! file, the line and the key.
//!
//! ```yaml
//! alpha: 0.05                # significance level of every test
//! one_value_factor: 2.0      # a side with one value: the effect must reach factor x threshold
//! accuracy: {min_effect: 0.5}                  # percentage points
//! time: {relative: 0.10, min_seconds: 0.001}   # also the relative threshold of runtime_ratio
//! bit_exact: {fails: true}   # a changed bit-exact metric makes the exit status 1
//! metrics:                   # per metric, over the above
//!   top1_last: {min_effect: 1.0}
//!   runtime_mix: {relative: 0.2, alpha: 0.01}
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::metric::{self, metrics, Kind};
use crate::claims::file::parse_error;

/// Thresholds of the accuracy metrics.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccuracyDefaults {
    /// Smallest change, in percentage points, that counts (default 0.5).
    #[serde(default = "default_min_effect")]
    pub min_effect: f64,
}

/// Thresholds of the time metrics and the runtime ratio.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeDefaults {
    /// Smallest relative change that counts (default 0.10, i.e. 10%).
    #[serde(default = "default_relative")]
    pub relative: f64,
    /// Smallest absolute change of a time, seconds per epoch (default 0.001), so that phases
    /// that take next to nothing are not judged on their noise.
    #[serde(default = "default_min_seconds")]
    pub min_seconds: f64,
}

/// What a changed bit-exact metric means for the exit status.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BitExact {
    /// Whether a `changed` verdict makes the exit status 1 (default true).
    #[serde(default = "default_true")]
    pub fails: bool,
}

/// Thresholds for one metric, over the global ones; which keys apply depends on its kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// Significance level.
    pub alpha: Option<f64>,
    /// Accuracy metrics: minimum effect, points.
    pub min_effect: Option<f64>,
    /// Times and ratios: relative threshold.
    pub relative: Option<f64>,
    /// Times: absolute threshold, seconds.
    pub min_seconds: Option<f64>,
}

/// Every threshold of a comparison.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Significance level of every test (default 0.05).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// When a side has one value (one seed, one measurement) there is no test: the effect must
    /// reach this many times the threshold (default 2).
    #[serde(default = "default_factor")]
    pub one_value_factor: f64,
    /// Accuracy thresholds.
    #[serde(default)]
    pub accuracy: AccuracyDefaults,
    /// Time thresholds.
    #[serde(default)]
    pub time: TimeDefaults,
    /// Bit-exact comparison.
    #[serde(default)]
    pub bit_exact: BitExact,
    /// Per-metric thresholds, by metric name.
    #[serde(default)]
    pub metrics: BTreeMap<String, Override>,
}

/// The rule an accuracy metric is judged by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AccuracyRule {
    /// Significance level.
    pub alpha: f64,
    /// Minimum effect, points.
    pub min_effect: f64,
    /// Factor on the minimum effect when a side has one seed.
    pub one_value_factor: f64,
}

/// The rule a time or ratio metric is judged by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeRule {
    /// Significance level.
    pub alpha: f64,
    /// Relative threshold.
    pub relative: f64,
    /// Absolute threshold, seconds (times only).
    pub min_seconds: f64,
    /// Factor on the relative threshold when a side has one value.
    pub one_value_factor: f64,
}

fn default_alpha() -> f64 {
    0.05
}
fn default_factor() -> f64 {
    2.0
}
fn default_min_effect() -> f64 {
    0.5
}
fn default_relative() -> f64 {
    0.10
}
fn default_min_seconds() -> f64 {
    0.001
}
fn default_true() -> bool {
    true
}

impl Default for AccuracyDefaults {
    fn default() -> Self {
        AccuracyDefaults {
            min_effect: default_min_effect(),
        }
    }
}

impl Default for TimeDefaults {
    fn default() -> Self {
        TimeDefaults {
            relative: default_relative(),
            min_seconds: default_min_seconds(),
        }
    }
}

impl Default for BitExact {
    fn default() -> Self {
        BitExact {
            fails: default_true(),
        }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            alpha: default_alpha(),
            one_value_factor: default_factor(),
            accuracy: AccuracyDefaults::default(),
            time: TimeDefaults::default(),
            bit_exact: BitExact::default(),
            metrics: BTreeMap::new(),
        }
    }
}

impl Thresholds {
    /// Reads and checks a thresholds file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading thresholds file {}", path.display()))?;
        Self::parse(&text, path)
    }

    /// Parses and checks thresholds text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let parsed: Option<Thresholds> =
            serde_norway::from_str(text).map_err(|e| parse_error(path, &e))?;
        let thresholds = parsed.unwrap_or_default();
        thresholds.check(text, path)?;
        Ok(thresholds)
    }

    /// Ranges, metric names and the keys each metric's kind takes.
    fn check(&self, text: &str, path: &Path) -> Result<()> {
        let at = |key: &str| format!("{}{}", path.display(), line_of(text, key));
        let global = [
            ("alpha", self.alpha),
            ("one_value_factor", self.one_value_factor),
            ("min_effect", self.accuracy.min_effect),
            ("relative", self.time.relative),
            ("min_seconds", self.time.min_seconds),
        ];
        for (key, value) in global {
            check_range(key, value).map_err(|what| {
                anyhow::anyhow!("{}: {key} must be {what}, got {value}", at(key))
            })?;
        }
        for (name, o) in &self.metrics {
            let Some(m) = metric::find(name) else {
                bail!(
                    "{}: metrics: unknown metric `{name}`{}; metrics: {}",
                    at(name),
                    mixbench_params::did_you_mean(name, metrics().iter().map(|m| m.name)),
                    metrics()
                        .iter()
                        .map(|m| m.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            };
            let allowed: &[&str] = match m.kind {
                Kind::Accuracy => &["alpha", "min_effect"],
                Kind::Time => &["alpha", "relative", "min_seconds"],
                Kind::Ratio => &["relative"],
                Kind::Exact => &[],
            };
            let given = [
                ("alpha", o.alpha),
                ("min_effect", o.min_effect),
                ("relative", o.relative),
                ("min_seconds", o.min_seconds),
            ];
            for (key, value) in given {
                let Some(value) = value else { continue };
                if !allowed.contains(&key) {
                    let takes = if allowed.is_empty() {
                        "no thresholds; see `bit_exact`".to_string()
                    } else {
                        format!("it takes {}", allowed.join(", "))
                    };
                    bail!(
                        "{}: metrics.{name}: `{key}` does not apply to {} metrics ({takes})",
                        at(name),
                        m.kind.name()
                    );
                }
                check_range(key, value).map_err(|what| {
                    anyhow::anyhow!(
                        "{}: metrics.{name}.{key} must be {what}, got {value}",
                        at(name)
                    )
                })?;
            }
        }
        Ok(())
    }

    fn over(&self, metric: &str) -> Override {
        self.metrics.get(metric).copied().unwrap_or_default()
    }

    /// The rule of an accuracy metric.
    pub fn accuracy_rule(&self, metric: &str) -> AccuracyRule {
        let o = self.over(metric);
        AccuracyRule {
            alpha: o.alpha.unwrap_or(self.alpha),
            min_effect: o.min_effect.unwrap_or(self.accuracy.min_effect),
            one_value_factor: self.one_value_factor,
        }
    }

    /// The rule of a time or ratio metric.
    pub fn time_rule(&self, metric: &str) -> TimeRule {
        let o = self.over(metric);
        TimeRule {
            alpha: o.alpha.unwrap_or(self.alpha),
            relative: o.relative.unwrap_or(self.time.relative),
            min_seconds: o.min_seconds.unwrap_or(self.time.min_seconds),
            one_value_factor: self.one_value_factor,
        }
    }
}

/// Checks a threshold's range; `Err` says what a valid value is.
fn check_range(key: &str, value: f64) -> std::result::Result<(), &'static str> {
    let (ok, what) = match key {
        "alpha" => (value > 0.0 && value < 0.5, "in (0, 0.5)"),
        "one_value_factor" => (value >= 1.0, "at least 1"),
        _ => (value.is_finite() && value >= 0.0, "a finite number >= 0"),
    };
    if ok {
        Ok(())
    } else {
        Err(what)
    }
}

/// `:N` for the first line where `key` (its last dotted part) is a YAML key, or "" when there
/// is none.
fn line_of(text: &str, key: &str) -> String {
    let last = key.rsplit('.').next().unwrap_or(key);
    let pattern = format!("{last}:");
    let is_key = |code: &str| {
        code.match_indices(&pattern).any(|(i, _)| {
            code[..i]
                .chars()
                .last()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
        })
    };
    text.lines()
        .position(|line| is_key(line.split('#').next().unwrap_or("")))
        .map(|i| format!(":{}", i + 1))
        .unwrap_or_default()
}
