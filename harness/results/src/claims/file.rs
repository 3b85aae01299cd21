//! Claims files: YAML that states what a paper (or you) claims, as data with sources. Parsing
//! is strict like the suite files': unknown keys, kinds, metrics or statistics are errors
//! naming the file, the line and the closest valid name; each kind says which keys it needs.
//! The format is described in `docs/claims.md` (*The file format*); a claim comparing one method
//! with several (`b: [x, y]`) is expanded into one claim per pair, with ids `<id>/<b>`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use serde_norway::Value;

use super::stats::Bounds;
use crate::metrics::{Direction, MetricDecl, MetricKind};

/// What a claim asserts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A method's metric equals a published value within a tolerance (or lies above / below a
    /// bound).
    Value,
    /// Method `a`'s mean exceeds method `b`'s by more than `margin`: `a` beats `b` on a
    /// higher-is-better metric. Values are compared whatever the metric's direction, so on a
    /// lower-is-better one (times, errors, the BG-Gap) the claim that `a` is better names it
    /// as `b` (see docs/claims.md).
    Order,
    /// The ratio of `a`'s metric to `b`'s (a runtime ratio) lies within bounds.
    Ratio,
    /// Several comparisons of `a` with `b` hold together (e.g. higher clean accuracy and robust
    /// accuracy not lower).
    Relation,
    /// `a` and `b` do not differ by more than `margin`.
    Equivalence,
}

impl Kind {
    /// The name as written in files and `claims.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Value => "value",
            Kind::Order => "order",
            Kind::Ratio => "ratio",
            Kind::Relation => "relation",
            Kind::Equivalence => "equivalence",
        }
    }
}

/// Which epoch's accuracy a claim assumes (see docs/training.md, *Evaluation*): the last, the
/// best, or the median of the last 10.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// `top1_last` / `top5_last` of `summary.csv`.
    Last,
    /// `top1_best` / `top5_best`.
    Best,
    /// `top1_median_last10` (top-1 only).
    MedianLast10,
}

impl Statistic {
    /// The name as written in files.
    pub fn name(self) -> &'static str {
        match self {
            Statistic::Last => "last",
            Statistic::Best => "best",
            Statistic::MedianLast10 => "median_last10",
        }
    }
}

/// A metric a claim compares, and where in a run folder it is read. The variants but the last
/// are the metrics with short names (aliases of catalogue metrics, [`SHORT`]); every other
/// catalogue metric is [`Metric::Declared`]. Parsing gives each metric one value: a catalogue
/// name with a short name parses to its variant, never to `Declared`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Test top-1 (%), `summary.csv`, at the protocol's statistic.
    Top1,
    /// Test top-5 (%), `summary.csv` (`last` or `best`).
    Top5,
    /// Mean wall seconds per epoch, `summary.csv` `epoch_time_mean`.
    EpochTime,
    /// Mean seconds per epoch in the mixing method, `mix_time_mean`.
    MixTime,
    /// Mean seconds per epoch in the saliency pass, `saliency_time_mean`.
    SaliencyTime,
    /// Clean top-1 of the robustness evaluation, `robustness-cells.csv`.
    CleanTop1,
    /// Average robust top-1, `robustness-cells.csv`.
    RobustTop1,
    /// BG-Gap (Mixed-Same minus Mixed-Rand top-1, points) of the background evaluation,
    /// `background-cells.csv`.
    BgGap,
    /// Few-shot query accuracy (%) of N-way K-shot episodes, `fewshot-episodes.csv`.
    Fewshot {
        /// Classes per episode.
        ways: usize,
        /// Support images per class.
        shots: usize,
    },
    /// Any other metric of the catalogue ([`crate::catalogue`]) under one of its conditions,
    /// e.g. `corruption_mce`, `calibration_ece [none]`, `robustness_top1 [fog:3]`; its unit,
    /// direction and kind are its declaration's ([`Metric::declaration`]).
    Declared {
        /// The catalogue name.
        name: &'static str,
        /// The condition (any text for a metric declared with conditions, which needs one;
        /// empty for a metric without). Interned ([`intern`]) so that a metric stays `Copy`.
        condition: &'static str,
        /// Who declares it: `training` or the evaluation's name.
        producer: &'static str,
    },
}

/// The short names of claims files (other than the few-shot pattern
/// `fewshot_<N>way_<K>shot`) and their metrics; each is an alias of a catalogue metric
/// ([`Metric::source`]), whose name a claim may write instead.
const SHORT: [(&str, Metric); 8] = [
    ("top1", Metric::Top1),
    ("top5", Metric::Top5),
    ("epoch_time", Metric::EpochTime),
    ("mix_time", Metric::MixTime),
    ("saliency_time", Metric::SaliencyTime),
    ("clean_top1", Metric::CleanTop1),
    ("robust_top1", Metric::RobustTop1),
    ("bg_gap", Metric::BgGap),
];

/// Every statistic, `last` first (the one a statistic-free name reads).
const STATISTICS: [Statistic; 3] = [Statistic::Last, Statistic::Best, Statistic::MedianLast10];

/// The catalogue metric of the few-shot variant, whose condition is `<N>way-<K>shot`.
const FEWSHOT_ACCURACY: &str = "fewshot_accuracy";

/// `text` as a `&'static str`, each distinct text allocated once for the process: the
/// conditions of [`Metric::Declared`], of which claims files name a handful.
fn intern(text: &str) -> &'static str {
    static SEEN: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut seen = SEEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(&known) = seen.get(text) {
        return known;
    }
    let text: &'static str = Box::leak(text.into());
    seen.insert(text);
    text
}

/// `name [condition]` split into the name and the condition (`None` without brackets).
fn split_condition(name: &str) -> (&str, Option<&str>) {
    match name.split_once(" [") {
        Some((base, rest)) => (base, Some(rest.strip_suffix(']').unwrap_or(rest).trim())),
        None => (name, None),
    }
}

impl Metric {
    /// Parses a metric name: a claims-file short name (`top1`, `fewshot_5way_1shot`, ...) or
    /// a catalogue name, with its condition where the metric has conditions (`top1_best`,
    /// `robustness_top1 [clean]`, `fewshot_accuracy [5way-1shot]`, `corruption_mce`,
    /// `calibration_ece [none]`, ...). A catalogue name of top-1 or top-5 also names the
    /// statistic, returned beside the metric. A metric declared with conditions needs one (any
    /// text: the run's values say which exist), one without takes none; unknown names get the
    /// closest valid one.
    pub fn parse(name: &str) -> Result<(Self, Option<Statistic>)> {
        let (base, condition) = split_condition(name);
        if let Some(found) = Self::dedicated(base, condition.unwrap_or("")) {
            return Ok(found);
        }
        if let Some(&(_, metric)) = SHORT.iter().find(|(n, _)| *n == name) {
            return Ok((metric, None));
        }
        let fewshot = name
            .strip_prefix("fewshot_")
            .and_then(|r| r.split_once("way_"))
            .and_then(|(w, s)| Some((w.parse().ok()?, s.strip_suffix("shot")?.parse().ok()?)));
        if let Some((ways, shots)) = fewshot.filter(|&(w, s)| w >= 2 && s >= 1) {
            return Ok((Metric::Fewshot { ways, shots }, None));
        }
        if let Some(declared) = Self::declared(name, base, condition) {
            return declared.map(|metric| (metric, None));
        }
        let catalogue = crate::catalogue::catalogue();
        let names: Vec<&str> = catalogue
            .iter()
            .flat_map(|p| p.metrics.iter().map(|m| m.name))
            .collect();
        bail!(
            "unknown metric `{name}`{}; metrics: {}, fewshot_<N>way_<K>shot, or a catalogue \
             metric as `name` or `name [condition]` (`mixbench metrics` describes them): {}",
            mixbench_params::did_you_mean(
                base,
                SHORT
                    .iter()
                    .map(|s| s.0)
                    .chain(["fewshot_5way_1shot"])
                    .chain(names.iter().copied())
            ),
            SHORT.map(|s| s.0).join(", "),
            names.join(", ")
        )
    }

    /// The variant (and statistic of top-1 and top-5) whose catalogue name and condition are
    /// `base` and `condition`, if any.
    fn dedicated(base: &str, condition: &str) -> Option<(Self, Option<Statistic>)> {
        let fewshot = (base == FEWSHOT_ACCURACY)
            .then(|| condition.strip_suffix("shot")?.split_once("way-"))
            .flatten()
            .and_then(|(w, s)| Some((w.parse().ok()?, s.parse().ok()?)))
            .filter(|&(ways, shots)| ways >= 2 && shots >= 1)
            .map(|(ways, shots)| (Metric::Fewshot { ways, shots }, None));
        // Any other catalogue name is the source of a short name at some statistic.
        fewshot.or_else(|| {
            SHORT.iter().find_map(|&(_, metric)| {
                STATISTICS.iter().find_map(|&statistic| {
                    let (name, cond) = metric.source(statistic);
                    (name == base && cond == condition).then_some((
                        metric,
                        matches!(metric, Metric::Top1 | Metric::Top5).then_some(statistic),
                    ))
                })
            })
        })
    }

    /// The catalogue metric `base` under `condition` as [`Metric::Declared`], an error when
    /// the condition does not fit its declaration, `None` when the catalogue has no `base`.
    fn declared(name: &str, base: &str, condition: Option<&str>) -> Option<Result<Self>> {
        let (producer, decl) = crate::catalogue::catalogue().into_iter().find_map(|p| {
            p.metrics
                .iter()
                .find(|m| m.name == base)
                .map(|m| (p.name, m))
        })?;
        let metric = |condition: &str| Metric::Declared {
            name: decl.name,
            condition: intern(condition),
            producer,
        };
        Some(match (decl.conditions.is_empty(), condition) {
            (true, None) => Ok(metric("")),
            (true, Some(_)) => Err(anyhow!(
                "metric `{name}`: `{base}` has one value per cell and no conditions; write \
                 `{base}`"
            )),
            (false, None | Some("")) => Err(anyhow!(
                "metric `{name}`: `{base}` is measured under conditions, write `{base} \
                 [<condition>]`; its conditions: {}",
                decl.conditions
            )),
            (false, Some(_)) if base == FEWSHOT_ACCURACY => Err(anyhow!(
                "metric `{name}`: the condition of `{base}` is `<N>way-<K>shot` with N at \
                 least 2 and K at least 1, e.g. `{base} [5way-1shot]`"
            )),
            (false, Some(condition)) => Ok(metric(condition)),
        })
    }

    /// The catalogue metric and condition the values come from; `statistic` picks the epoch
    /// of top-1 and top-5.
    pub fn source(self, statistic: Statistic) -> (&'static str, String) {
        let plain = |name: &'static str| (name, String::new());
        match self {
            Metric::Top1 => plain(match statistic {
                Statistic::Last => "top1_last",
                Statistic::Best => "top1_best",
                Statistic::MedianLast10 => "top1_median_last10",
            }),
            Metric::Top5 => plain(match statistic {
                Statistic::Best => "top5_best",
                _ => "top5_last",
            }),
            Metric::EpochTime => plain("epoch_time_mean"),
            Metric::MixTime => plain("mix_time_mean"),
            Metric::SaliencyTime => plain("saliency_time_mean"),
            Metric::CleanTop1 => ("robustness_top1", "clean".into()),
            Metric::RobustTop1 => plain("robust_top1"),
            Metric::BgGap => plain("bg_gap"),
            Metric::Fewshot { ways, shots } => (FEWSHOT_ACCURACY, format!("{ways}way-{shots}shot")),
            Metric::Declared {
                name, condition, ..
            } => (name, condition.to_string()),
        }
    }

    /// The metric's declaration in the catalogue: unit, direction, kind, conditions (of top-1
    /// and top-5, the last epoch's: their statistics share unit, direction and kind).
    pub fn declaration(self) -> MetricDecl {
        let (name, _) = self.source(Statistic::Last);
        crate::catalogue::find(name).expect("every claims metric is a catalogue metric")
    }

    /// Which way the metric improves (its declaration's): claims compare values whatever the
    /// direction, and say so where it is lower-is-better (see docs/claims.md).
    pub fn direction(self) -> Direction {
        self.declaration().direction
    }

    /// Who produces the metric: `training` or the evaluation's name.
    pub fn producer(self) -> &'static str {
        match self {
            Metric::CleanTop1 | Metric::RobustTop1 => "robustness",
            Metric::BgGap => "background",
            Metric::Fewshot { .. } => "fewshot",
            Metric::Declared { producer, .. } => producer,
            _ => "training",
        }
    }

    /// The producer's results as a message names them (where they are read): for the
    /// evaluations without a fixed title, the files their declarations name.
    pub fn producer_title(self) -> String {
        let producer = self.producer();
        let fixed = match producer {
            "robustness" => "robustness results (robustness.csv, robustness-cells.csv)",
            "background" => "background results (background-cells.csv)",
            "fewshot" => "few-shot results (fewshot.csv, fewshot-episodes.csv)",
            "training" => "training results (summary.csv)",
            _ => "",
        };
        if !fixed.is_empty() {
            return fixed.to_string();
        }
        // Each declaration's doc ends with the file holding it, `(... file.csv)`.
        let mut files: Vec<&str> = Vec::new();
        let catalogue = crate::catalogue::catalogue();
        for decl in catalogue
            .iter()
            .filter(|p| p.name == producer)
            .flat_map(|p| p.metrics)
        {
            let file = decl
                .doc
                .strip_suffix(')')
                .and_then(|d| d.rsplit(['(', ' ']).next())
                .filter(|f| f.ends_with(".csv"));
            if let Some(file) = file.filter(|f| !files.contains(f)) {
                files.push(file);
            }
        }
        if files.is_empty() {
            format!("{producer} results")
        } else {
            format!("{producer} results ({})", files.join(", "))
        }
    }

    /// Whether the metric is a time (seconds, kind `time`), for ratios and for charts.
    pub fn is_time(self) -> bool {
        self.declaration().kind == MetricKind::Time
    }
}

impl fmt::Display for Metric {
    /// The short name (`top1`, `fewshot_5way_1shot`, ...), or the catalogue name and condition
    /// of a declared metric (`corruption_mce`, `calibration_ece [none]`), as `claims.csv`
    /// writes it; either parses back to the same metric.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Fewshot { ways, shots } => write!(f, "fewshot_{ways}way_{shots}shot"),
            Metric::Declared {
                name,
                condition: "",
                ..
            } => f.write_str(name),
            Metric::Declared {
                name, condition, ..
            } => write!(f, "{name} [{condition}]"),
            other => {
                let (name, _) = SHORT
                    .iter()
                    .find(|(_, m)| m == other)
                    .expect("every metric but few-shot and declared ones has a short name");
                f.write_str(name)
            }
        }
    }
}

/// The protocol a claim assumes, as written (every key optional; a claim's keys are laid over
/// the file's).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolSpec {
    /// Training epochs of every cell.
    pub epochs: Option<usize>,
    /// Seeds (runs) the published figure averages.
    pub seeds: Option<usize>,
    /// Which epoch's accuracy (default `last`).
    pub statistic: Option<Statistic>,
}

impl ProtocolSpec {
    /// `self` laid over `base`.
    fn over(&self, base: &ProtocolSpec) -> ProtocolSpec {
        ProtocolSpec {
            epochs: self.epochs.or(base.epochs),
            seeds: self.seeds.or(base.seeds),
            statistic: self.statistic.or(base.statistic),
        }
    }
}

/// The protocol of one claim, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Protocol {
    /// Epochs every matched cell must have trained (`None`: any).
    pub epochs: Option<usize>,
    /// Seeds the run must have for each method (`None`: any, at least the statistical minimum).
    pub seeds: Option<usize>,
    /// Which epoch's accuracy.
    pub statistic: Statistic,
}

/// A method as a claim names it: the label of the run's cells (`method` column of
/// `summary.csv`), optionally with parameters the cells must have been run with.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum MethodRef {
    /// Just the label.
    Label(String),
    /// A label with parameters: `{method: sage, params: {upper_lambda: 0.6}}`.
    WithParams {
        /// The label.
        method: String,
        /// Parameters as the suite sets them (`key: value`).
        params: BTreeMap<String, Value>,
    },
}

impl MethodRef {
    /// The label.
    pub fn label(&self) -> &str {
        match self {
            MethodRef::Label(l) | MethodRef::WithParams { method: l, .. } => l,
        }
    }

    /// Required parameters as `key=value` texts (empty for a bare label).
    pub fn params(&self) -> Vec<(String, String)> {
        match self {
            MethodRef::Label(_) => Vec::new(),
            MethodRef::WithParams { params, .. } => params
                .iter()
                .map(|(k, v)| (k.clone(), scalar_text(v)))
                .collect(),
        }
    }
}

impl fmt::Display for MethodRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())?;
        let params = self.params();
        if !params.is_empty() {
            let text: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            write!(f, " ({})", text.join(";"))?;
        }
        Ok(())
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

/// One method or a list (`b: vanilla` or `b: [vanilla, mixup]`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(MethodRef),
    Many(Vec<MethodRef>),
}

/// How a part of a `relation` compares `a`'s values with `b`'s (the words on merit of
/// [`CompareSpec`] resolved).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// `a - b > margin`.
    Greater,
    /// `a - b < -margin`.
    Less,
    /// `a - b > -margin` (non-inferiority).
    NotLess,
    /// `a - b < margin`.
    NotGreater,
}

impl Compare {
    /// The bounds on `a - b` the comparison asserts.
    pub fn bounds(self, margin: f64) -> Bounds {
        let inf = f64::INFINITY;
        match self {
            Compare::Greater => Bounds {
                low: margin,
                high: inf,
            },
            Compare::Less => Bounds {
                low: -inf,
                high: -margin,
            },
            Compare::NotLess => Bounds {
                low: -margin,
                high: inf,
            },
            Compare::NotGreater => Bounds {
                low: -inf,
                high: margin,
            },
        }
    }

    /// The name as written in files.
    pub fn name(self) -> &'static str {
        match self {
            Compare::Greater => "greater",
            Compare::Less => "less",
            Compare::NotLess => "not_less",
            Compare::NotGreater => "not_greater",
        }
    }
}

/// How a part of a `relation` compares, as written: on the values (`greater`, ...), or on
/// merit (`better`, ...), which the metric's direction turns into a comparison of values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum CompareSpec {
    Greater,
    Less,
    NotLess,
    NotGreater,
    /// `greater` where higher is better, `less` where lower is.
    Better,
    /// `less` where higher is better, `greater` where lower is.
    Worse,
    /// `not_less` where higher is better, `not_greater` where lower is.
    NotWorse,
    /// `not_greater` where higher is better, `not_less` where lower is.
    NotBetter,
}

impl CompareSpec {
    /// The comparison of values it is on a metric improving in `direction`.
    fn resolve(self, direction: Direction) -> Compare {
        let higher = direction == Direction::HigherIsBetter;
        match self {
            CompareSpec::Greater => Compare::Greater,
            CompareSpec::Less => Compare::Less,
            CompareSpec::NotLess => Compare::NotLess,
            CompareSpec::NotGreater => Compare::NotGreater,
            CompareSpec::Better if higher => Compare::Greater,
            CompareSpec::Better => Compare::Less,
            CompareSpec::Worse if higher => Compare::Less,
            CompareSpec::Worse => Compare::Greater,
            CompareSpec::NotWorse if higher => Compare::NotLess,
            CompareSpec::NotWorse => Compare::NotGreater,
            CompareSpec::NotBetter if higher => Compare::NotGreater,
            CompareSpec::NotBetter => Compare::NotLess,
        }
    }
}

/// A part of a relation, as written.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartSpec {
    metric: String,
    compare: CompareSpec,
    #[serde(default)]
    margin: f64,
}

/// A part of a relation, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// Metric compared.
    pub metric: Metric,
    /// How the values compare (`better` and the like resolved by the metric's direction).
    pub compare: Compare,
    /// Margin (same units as the metric).
    pub margin: f64,
}

/// One claim as written in the file (every key of every kind; [`ClaimsFile::parse`] checks
/// which apply).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimSpec {
    id: String,
    kind: Kind,
    source: String,
    #[serde(default)]
    note: Option<String>,
    dataset: String,
    model: String,
    #[serde(default)]
    metric: Option<String>,
    #[serde(default)]
    method: Option<MethodRef>,
    #[serde(default)]
    a: Option<MethodRef>,
    #[serde(default)]
    b: Option<OneOrMany>,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default)]
    tolerance: Option<f64>,
    #[serde(default)]
    at_least: Option<f64>,
    #[serde(default)]
    at_most: Option<f64>,
    #[serde(default)]
    margin: Option<f64>,
    #[serde(default)]
    parts: Option<Vec<PartSpec>>,
    #[serde(default)]
    protocol: ProtocolSpec,
}

/// Bootstrap settings of a file.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapSpec {
    /// Resamples (default 10,000).
    #[serde(default = "default_reps")]
    pub reps: usize,
    /// Seed of the resampling stream (default 0).
    #[serde(default)]
    pub seed: u64,
}

impl Default for BootstrapSpec {
    fn default() -> Self {
        BootstrapSpec {
            reps: default_reps(),
            seed: 0,
        }
    }
}

fn default_reps() -> usize {
    10_000
}

fn default_alpha() -> f64 {
    0.05
}

/// A claims file as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    title: String,
    source: String,
    #[serde(default)]
    description: String,
    #[serde(default = "default_alpha")]
    alpha: f64,
    #[serde(default)]
    bootstrap: BootstrapSpec,
    #[serde(default)]
    protocol: ProtocolSpec,
    claims: Vec<ClaimSpec>,
}

/// One claim, resolved and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    /// Unique id within the file (`<id>/<b>` for expanded pairs).
    pub id: String,
    /// What it asserts.
    pub kind: Kind,
    /// Where the number or statement comes from (paper, table or figure, row).
    pub source: String,
    /// Free text (what could not be checked, how the number was read).
    pub note: String,
    /// Data set label, as in the run's `dataset` column.
    pub dataset: String,
    /// Model name.
    pub model: String,
    /// Metric (for `relation`, the first part's).
    pub metric: Metric,
    /// The method (`value`) or the first of a comparison.
    pub a: MethodRef,
    /// The second of a comparison (the baseline of a ratio).
    pub b: Option<MethodRef>,
    /// The published value (`value`: the metric; `ratio`: the ratio), when there is one.
    pub published: Option<f64>,
    /// The bounds the claim puts on its parameter (`value`: the mean; `order`, `equivalence`:
    /// `a - b`; `ratio`: `a / b`). Unused by `relation`, whose parts carry their own.
    pub bounds: Bounds,
    /// Parts of a `relation`.
    pub parts: Vec<Part>,
    /// Protocol assumed.
    pub protocol: Protocol,
    /// Line of the claim in its file.
    pub line: usize,
}

/// A claims file, parsed and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimsFile {
    /// Where it was read from (for messages and `claims.csv`).
    pub path: PathBuf,
    /// Short title.
    pub title: String,
    /// The paper or other source of the file's claims.
    pub source: String,
    /// Free text.
    pub description: String,
    /// Family-wise error rate of the file's decisions (Holm), default 0.05.
    pub alpha: f64,
    /// Bootstrap settings of `ratio` claims.
    pub bootstrap: BootstrapSpec,
    /// The claims, pairs expanded, in file order.
    pub claims: Vec<Claim>,
}

impl ClaimsFile {
    /// Reads and checks a claims file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading claims file {}", path.display()))?;
        Self::parse(&text, path)
    }

    /// Parses and checks claims text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let spec: FileSpec = serde_norway::from_str(text).map_err(|e| parse_error(path, &e))?;
        let file_line = |token: &str| format!("{}{}", path.display(), line_suffix(text, 0, token));
        if !(spec.alpha > 0.0 && spec.alpha < 0.5) {
            bail!(
                "{}: alpha must be in (0, 0.5), got {}",
                file_line("alpha"),
                spec.alpha
            );
        }
        if spec.bootstrap.reps < 100 {
            bail!("{}: bootstrap.reps must be at least 100", file_line("reps"));
        }
        if spec.claims.is_empty() {
            bail!("{}: `claims` lists no claim", file_line("claims"));
        }
        let mut claims: Vec<Claim> = Vec::new();
        let mut written: Vec<&str> = Vec::new();
        for c in &spec.claims {
            let start = id_line(text, &c.id);
            let at = |token: &str, message: String| {
                anyhow!(
                    "{}{}: claim `{}`: {message}",
                    path.display(),
                    line_suffix(text, start, token),
                    c.id
                )
            };
            if written.contains(&c.id.as_str()) {
                return Err(at("id", format!("id `{}` is used twice", c.id)));
            }
            written.push(&c.id);
            for claim in resolve_claim(c, &spec.protocol, start + 1, &at)? {
                if claims.iter().any(|o| o.id == claim.id) {
                    return Err(at("id", format!("id `{}` is used twice", claim.id)));
                }
                claims.push(claim);
            }
        }
        Ok(ClaimsFile {
            path: path.to_path_buf(),
            title: spec.title,
            source: spec.source,
            description: spec.description,
            alpha: spec.alpha,
            bootstrap: spec.bootstrap,
            claims,
        })
    }

    /// The file's name without extension, for `claims.csv` and plot names.
    pub fn stem(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "claims".into())
    }
}

/// Which keys each kind takes (besides id, kind, source, note, dataset, model, protocol).
fn allowed(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Value => &[
            "metric",
            "method",
            "value",
            "tolerance",
            "at_least",
            "at_most",
        ],
        Kind::Order => &["metric", "a", "b", "margin"],
        Kind::Equivalence => &["metric", "a", "b", "margin"],
        Kind::Ratio => &[
            "metric",
            "a",
            "b",
            "value",
            "tolerance",
            "at_least",
            "at_most",
        ],
        Kind::Relation => &["a", "b", "parts"],
    }
}

/// Resolves one written claim into one claim per compared pair.
fn resolve_claim(
    c: &ClaimSpec,
    file_protocol: &ProtocolSpec,
    line: usize,
    at: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<Vec<Claim>> {
    let present: Vec<(&str, bool)> = vec![
        ("metric", c.metric.is_some()),
        ("method", c.method.is_some()),
        ("a", c.a.is_some()),
        ("b", c.b.is_some()),
        ("value", c.value.is_some()),
        ("tolerance", c.tolerance.is_some()),
        ("at_least", c.at_least.is_some()),
        ("at_most", c.at_most.is_some()),
        ("margin", c.margin.is_some()),
        ("parts", c.parts.is_some()),
    ];
    for (key, is_set) in &present {
        if *is_set && !allowed(c.kind).contains(key) {
            return Err(at(
                key,
                format!(
                    "`{key}` does not apply to {} claims (their keys: {})",
                    c.kind.name(),
                    allowed(c.kind).join(", ")
                ),
            ));
        }
    }
    let need = |key: &str, set: bool| {
        if set {
            Ok(())
        } else {
            Err(at(
                "kind",
                format!("a {} claim needs `{key}`", c.kind.name()),
            ))
        }
    };
    if c.id.trim().is_empty() || c.id.contains(',') {
        return Err(at("id", "an id is non-empty and has no comma".into()));
    }
    let (metric, named_statistic) = match &c.metric {
        Some(m) => Metric::parse(m).map_err(|e| at("metric", e.to_string()))?,
        None => (Metric::Top1, None),
    };
    let protocol = c.protocol.over(file_protocol);
    let statistic = match (named_statistic, protocol.statistic) {
        (Some(named), Some(given)) if named != given => {
            return Err(at(
                "statistic",
                format!(
                    "metric `{}` is the `{}` statistic, the protocol says `{}`",
                    c.metric.as_deref().unwrap_or_default(),
                    named.name(),
                    given.name()
                ),
            ))
        }
        (Some(named), _) => named,
        (None, given) => given.unwrap_or(Statistic::Last),
    };
    if statistic == Statistic::MedianLast10 && metric == Metric::Top5 {
        return Err(at(
            "statistic",
            "top5 is recorded at the last and the best epoch only (statistic `last` or `best`)"
                .into(),
        ));
    }
    if protocol.seeds == Some(0) || protocol.epochs == Some(0) {
        return Err(at(
            "protocol",
            "protocol `seeds` and `epochs` are at least 1".into(),
        ));
    }
    let protocol = Protocol {
        epochs: protocol.epochs,
        seeds: protocol.seeds,
        statistic,
    };
    for (key, v) in [
        ("value", c.value),
        ("tolerance", c.tolerance),
        ("at_least", c.at_least),
        ("at_most", c.at_most),
        ("margin", c.margin),
    ] {
        if let Some(v) = v {
            if !v.is_finite() {
                return Err(at(key, format!("`{key}` must be a finite number, got {v}")));
            }
        }
    }
    if c.tolerance.is_some_and(|t| t <= 0.0) || c.margin.is_some_and(|m| m < 0.0) {
        let key = if c.tolerance.is_some() {
            "tolerance"
        } else {
            "margin"
        };
        return Err(at(
            key,
            "`tolerance` must be positive and `margin` not negative".into(),
        ));
    }
    let inf = f64::INFINITY;
    // value / ratio: the published value with a tolerance, or bounds, not both.
    let value_bounds = || -> Result<Bounds> {
        match (c.value, c.tolerance, c.at_least, c.at_most) {
            (Some(v), Some(t), None, None) => Ok(Bounds { low: v - t, high: v + t }),
            (_, None, lo, hi) if lo.is_some() || hi.is_some() => {
                let b = Bounds { low: lo.unwrap_or(-inf), high: hi.unwrap_or(inf) };
                if b.low >= b.high {
                    return Err(at("at_least", "`at_least` must be below `at_most`".into()));
                }
                Ok(b)
            }
            (Some(_), None, None, None) => Err(at(
                "value",
                format!("a {} claim with a `value` needs a `tolerance` (or give `at_least` / `at_most`)", c.kind.name()),
            )),
            (None, Some(_), _, _) => Err(at("tolerance", "`tolerance` needs a `value`".into())),
            (_, Some(_), _, _) => Err(at(
                "tolerance",
                "give `value` with `tolerance`, or `at_least` / `at_most`, not both".into(),
            )),
            _ => Err(at(
                "kind",
                format!("a {} claim needs `value` and `tolerance`, or `at_least` / `at_most`", c.kind.name()),
            )),
        }
    };
    let base = |a: MethodRef, b: Option<MethodRef>, bounds: Bounds, parts: Vec<Part>| Claim {
        id: c.id.clone(),
        kind: c.kind,
        source: c.source.clone(),
        note: c.note.clone().unwrap_or_default(),
        dataset: c.dataset.clone(),
        model: c.model.clone(),
        metric: parts.first().map(|p: &Part| p.metric).unwrap_or(metric),
        a,
        b,
        published: c.value,
        bounds,
        parts,
        protocol: protocol.clone(),
        line,
    };
    if c.kind == Kind::Value {
        need("method", c.method.is_some())?;
        let bounds = value_bounds()?;
        return Ok(vec![base(
            c.method.clone().unwrap(),
            None,
            bounds,
            Vec::new(),
        )]);
    }
    need("a", c.a.is_some())?;
    need("b", c.b.is_some())?;
    let bs = match c.b.clone().unwrap() {
        OneOrMany::One(b) => vec![b],
        OneOrMany::Many(bs) if !bs.is_empty() => bs,
        OneOrMany::Many(_) => return Err(at("b", "`b` lists no method".into())),
    };
    let a = c.a.clone().unwrap();
    let (bounds, parts) = match c.kind {
        Kind::Order => (Compare::Greater.bounds(c.margin.unwrap_or(0.0)), Vec::new()),
        Kind::Equivalence => {
            need("margin", c.margin.is_some_and(|m| m > 0.0))?;
            let m = c.margin.unwrap();
            (Bounds { low: -m, high: m }, Vec::new())
        }
        Kind::Ratio => {
            let b = value_bounds()?;
            if b.low < 0.0 && b.high <= 0.0 {
                return Err(at("value", "a ratio of times is positive".into()));
            }
            (b, Vec::new())
        }
        Kind::Relation => {
            let specs = c.parts.clone().unwrap_or_default();
            need("parts", !specs.is_empty())?;
            let mut parts = Vec::new();
            for p in specs {
                if !(p.margin.is_finite() && p.margin >= 0.0) {
                    return Err(at(
                        "margin",
                        "a part's `margin` is a number, not negative".into(),
                    ));
                }
                let (metric, named) =
                    Metric::parse(&p.metric).map_err(|e| at(&p.metric, e.to_string()))?;
                if named.is_some_and(|named| named != statistic) {
                    return Err(at(
                        &p.metric,
                        format!(
                            "part `{}` names another statistic than the claim's `{}`",
                            p.metric,
                            statistic.name()
                        ),
                    ));
                }
                parts.push(Part {
                    metric,
                    compare: p.compare.resolve(metric.direction()),
                    margin: p.margin,
                });
            }
            (
                Bounds {
                    low: -inf,
                    high: inf,
                },
                parts,
            )
        }
        Kind::Value => unreachable!("handled above"),
    };
    let many = bs.len() > 1;
    Ok(bs
        .into_iter()
        .map(|b| {
            let mut claim = base(a.clone(), Some(b.clone()), bounds, parts.clone());
            if many {
                claim.id = format!("{}/{}", c.id, b.label());
            }
            claim
        })
        .collect())
}

/// 0-based index of the line holding `id: <id>` (0 when not found).
fn id_line(text: &str, id: &str) -> usize {
    text.lines()
        .position(|l| {
            let code = l
                .split(" #")
                .next()
                .unwrap_or("")
                .trim()
                .trim_start_matches("- ");
            code.strip_prefix("id:")
                .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\'') == id)
                .unwrap_or(false)
        })
        .unwrap_or(0)
}

/// `:N` for the first line at or after line index `from` where `token` is a key (`token:`),
/// else where it appears as a word, else the line `from` itself.
fn line_suffix(text: &str, from: usize, token: &str) -> String {
    let lines = || text.lines().enumerate().skip(from);
    let code = |line: &str| line.split('#').next().unwrap_or("").to_string();
    let as_key = lines().find(|(_, line)| {
        let code = code(line);
        let code = code.trim_start().trim_start_matches("- ");
        code.starts_with(&format!("{token}:"))
            || code.starts_with('{') && code.contains(&format!("{token}:"))
    });
    let as_word = || {
        lines().find(|(_, line)| {
            code(line)
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
                .any(|w| w == token)
        })
    };
    let found = as_key.or_else(as_word);
    format!(":{}", found.map(|(i, _)| i).unwrap_or(from) + 1)
}

/// A parse error with file, line and column, and a did-you-mean for unknown fields and
/// variants (also used for `mixbench compare`'s thresholds files).
pub fn parse_error(path: &Path, err: &serde_norway::Error) -> anyhow::Error {
    let message = err.to_string();
    let location = err
        .location()
        .map(|l| format!(":{}:{}", l.line(), l.column()))
        .unwrap_or_default();
    anyhow!("{}{location}: {message}{}", path.display(), hint(&message))
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (and "unknown variant"), a
/// did-you-mean suffix.
fn hint(message: &str) -> String {
    for prefix in ["unknown field `", "unknown variant `"] {
        if let Some(rest) = message.split(prefix).nth(1) {
            if let Some((name, expected)) = rest.split_once('`') {
                let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
                return mixbench_params::did_you_mean(name, candidates.iter().copied());
            }
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
title: t
source: a paper
protocol: {epochs: 300, seeds: 3, statistic: median_last10}
claims:
  - id: v
    kind: value
    source: Table 1
    dataset: cifar100
    model: preact_resnet18
    method: sage
    value: 79.91
    tolerance: 1.0
  - id: o
    kind: order
    source: Table 1
    dataset: cifar100
    model: preact_resnet18
    a: sage
    b: [vanilla, {method: cutmix, params: {prob: 1.0}}]
    margin: 0.5
";

    fn parse(text: &str) -> Result<ClaimsFile> {
        ClaimsFile::parse(text, Path::new("claims.yaml"))
    }

    #[test]
    fn parses_and_expands_pairs() {
        let f = parse(FILE).unwrap();
        assert_eq!(f.alpha, 0.05);
        let ids: Vec<&str> = f.claims.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["v", "o/vanilla", "o/cutmix"]);
        let v = &f.claims[0];
        assert_eq!(
            v.bounds,
            Bounds {
                low: 78.91,
                high: 80.91
            }
        );
        assert_eq!(v.protocol.statistic, Statistic::MedianLast10);
        assert_eq!(v.protocol.epochs, Some(300));
        assert_eq!(v.line, 5);
        let o = &f.claims[2];
        assert_eq!(
            o.bounds,
            Bounds {
                low: 0.5,
                high: f64::INFINITY
            }
        );
        assert_eq!(
            o.b.as_ref().unwrap().params(),
            [("prob".into(), "1.0".into())]
        );
    }

    #[test]
    fn errors_name_file_line_and_suggestion() {
        for (change, with, needles) in [
            (
                "    tolerance: 1.0\n",
                "    tolerence: 1.0\n",
                &["claims.yaml:12", "did you mean `tolerance`"][..],
            ),
            (
                "kind: order",
                "kind: ordre",
                &["claims.yaml:14", "did you mean `order`"],
            ),
            (
                "statistic: median_last10",
                "statistic: median",
                &["claims.yaml:3", "median_last10"],
            ),
            (
                "    margin: 0.5\n",
                "    margin: 0.5\n    metric: top_1\n",
                &["claims.yaml:21", "did you mean `top1`"],
            ),
            (
                "    margin: 0.5\n",
                "    margin: 0.5\n    tolerance: 1\n",
                &["claims.yaml:21", "does not apply to order claims"],
            ),
            (
                "    tolerance: 1.0\n",
                "",
                &["claims.yaml:11", "needs a `tolerance`"],
            ),
            ("id: o", "id: v", &["claims.yaml:5", "used twice"]),
            (
                "    method: sage\n",
                "",
                &["claims.yaml:6", "needs `method`"],
            ),
        ] {
            assert!(FILE.contains(change), "{change}");
            let err = parse(&FILE.replacen(change, with, 1))
                .unwrap_err()
                .to_string();
            for needle in needles {
                assert!(
                    err.contains(needle),
                    "{change} -> {with}: `{needle}` not in {err}"
                );
            }
        }
    }

    #[test]
    fn metrics_parse_with_the_fewshot_pattern() {
        assert_eq!(
            Metric::parse("fewshot_5way_1shot").unwrap(),
            (Metric::Fewshot { ways: 5, shots: 1 }, None)
        );
        assert_eq!(
            Metric::parse("fewshot_5way_1shot").unwrap().0.to_string(),
            "fewshot_5way_1shot"
        );
        assert!(Metric::parse("fewshot_5way").is_err());
        assert!(Metric::parse("epoch_tme")
            .unwrap_err()
            .to_string()
            .contains("`epoch_time`"));
    }

    /// The catalogue's names are the same metrics as the short names they are aliases of, and
    /// read from the values the catalogue names.
    #[test]
    fn catalogue_names_are_the_short_names_metrics() {
        for (catalogue, short, statistic) in [
            ("top1_best", "top1", Some(Statistic::Best)),
            ("top1_median_last10", "top1", Some(Statistic::MedianLast10)),
            ("top5_last", "top5", Some(Statistic::Last)),
            ("epoch_time_mean", "epoch_time", None),
            ("robustness_top1 [clean]", "clean_top1", None),
            ("fewshot_accuracy [5way-1shot]", "fewshot_5way_1shot", None),
            ("robust_top1", "robust_top1", None),
        ] {
            let (metric, named) = Metric::parse(catalogue).unwrap();
            assert_eq!(metric, Metric::parse(short).unwrap().0, "{catalogue}");
            assert_eq!(named, statistic, "{catalogue}");
            let (name, condition) = metric.source(statistic.unwrap_or(Statistic::Last));
            let written = if condition.is_empty() {
                name.to_string()
            } else {
                format!("{name} [{condition}]")
            };
            assert_eq!(written, catalogue);
            assert!(crate::catalogue::find(name).is_some(), "{name}");
        }
        // Conditions other than the short names' are the catalogue metric as declared.
        assert_eq!(
            Metric::parse("robustness_top1 [noise:0.1]").unwrap(),
            (
                Metric::Declared {
                    name: "robustness_top1",
                    condition: "noise:0.1",
                    producer: "robustness"
                },
                None
            )
        );
        for (name, metric) in SHORT {
            assert_eq!(Metric::parse(name).unwrap(), (metric, None), "{name}");
            assert_eq!(metric.to_string(), name);
        }
    }

    /// Every catalogue metric parses by its name (with a condition where it has conditions),
    /// reads the values it names, writes itself back as a name that parses to it, and has the
    /// declaration's producer, direction and kind.
    #[test]
    fn every_catalogue_metric_parses_by_its_name() {
        for producer in crate::catalogue::catalogue() {
            for decl in producer.metrics {
                let condition = match (decl.name, decl.conditions.is_empty()) {
                    (_, true) => "",
                    ("fewshot_accuracy", _) => "5way-5shot",
                    ("robustness_top1", _) => "fog:3",
                    _ => decl.conditions.split(", ").last().unwrap(),
                };
                let name = if condition.is_empty() {
                    decl.name.to_string()
                } else {
                    format!("{} [{condition}]", decl.name)
                };
                let (metric, statistic) = Metric::parse(&name).unwrap_or_else(|e| panic!("{e}"));
                let statistic = statistic.unwrap_or(Statistic::Last);
                assert_eq!(
                    metric.source(statistic),
                    (decl.name, condition.to_string()),
                    "{name}"
                );
                assert_eq!(
                    Metric::parse(&metric.to_string()).unwrap().0,
                    metric,
                    "{name}"
                );
                assert_eq!(metric.producer(), producer.name, "{name}");
                let read = metric.declaration();
                assert_eq!(
                    (read.unit, read.direction, read.kind),
                    (decl.unit, decl.direction, decl.kind),
                    "{name}"
                );
                assert_eq!(metric.is_time(), decl.kind == MetricKind::Time, "{name}");
                assert!(
                    metric.producer_title().contains(" results ("),
                    "{name}: {}",
                    metric.producer_title()
                );
            }
        }
        let (mce, _) = Metric::parse("corruption_mce").unwrap();
        assert_eq!(mce.to_string(), "corruption_mce");
        assert_eq!(mce.direction(), Direction::LowerIsBetter);
        assert_eq!(
            mce.producer_title(),
            "corruptions results (corruptions.csv, corruptions-cells.csv)"
        );
        let (ece, _) = Metric::parse("calibration_ece [none]").unwrap();
        assert_eq!(ece.to_string(), "calibration_ece [none]");
        assert_eq!(Metric::parse("calibration_ece [ none ]").unwrap().0, ece);
        assert_ne!(
            Metric::parse("calibration_ece [temperature]").unwrap().0,
            ece
        );
        assert_eq!(Metric::BgGap.direction(), Direction::LowerIsBetter);
        assert_eq!(Metric::Top1.direction(), Direction::HigherIsBetter);
    }

    /// A metric with conditions needs one, a metric without takes none, few-shot's is its
    /// pattern; an unknown name gets the closest catalogue name.
    #[test]
    fn conditions_fit_the_declaration() {
        for (name, needles) in [
            (
                "calibration_ece",
                &[
                    "`calibration_ece [<condition>]`",
                    "conditions: none, temperature",
                ][..],
            ),
            ("calibration_ece []", &["conditions: none, temperature"]),
            (
                "robustness_top1",
                &["conditions: clean, noise:<std>, fgsm:<eps>"],
            ),
            (
                "corruption_mce [clean]",
                &["no conditions; write `corruption_mce`"],
            ),
            ("top1_best [clean]", &["no conditions; write `top1_best`"]),
            ("fewshot_accuracy [5way]", &["`<N>way-<K>shot`"]),
            (
                "corruption_mean_top",
                &["did you mean `corruption_mean_top1`", "calibration_ece"],
            ),
            ("occlusoin_auc [salient]", &["did you mean `occlusion_auc`"]),
        ] {
            let err = Metric::parse(name).unwrap_err().to_string();
            for needle in needles {
                assert!(err.contains(needle), "{name}: `{needle}` not in {err}");
            }
        }
    }

    /// `better` and the like compare on merit: the metric's direction turns them into
    /// comparisons of values.
    #[test]
    fn compare_words_on_merit_follow_the_direction() {
        let text = FILE.replace(
            "    margin: 0.5\n",
            "    margin: 0.5\n\
             \x20 - id: r\n    kind: relation\n    source: s\n    dataset: d\n    model: m\n\
             \x20   a: sage\n    b: vanilla\n    parts:\n\
             \x20     - {metric: corruption_mce, compare: better}\n\
             \x20     - {metric: corruption_mean_top1, compare: not_worse}\n\
             \x20     - {metric: bg_gap, compare: worse}\n\
             \x20     - {metric: \"calibration_ece [none]\", compare: not_better}\n\
             \x20     - {metric: clean_top1, compare: greater}\n",
        );
        let f = parse(&text).unwrap();
        let compares: Vec<Compare> = f
            .claims
            .last()
            .unwrap()
            .parts
            .iter()
            .map(|p| p.compare)
            .collect();
        assert_eq!(
            compares,
            [
                Compare::Less,
                Compare::NotLess,
                Compare::Greater,
                Compare::NotLess,
                Compare::Greater
            ]
        );
        // An error in a part names the claim and its line.
        let err = parse(&text.replace("calibration_ece [none]", "calibration_ece"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("claims.yaml:32")
                && err.contains("claim `r`")
                && err.contains("none, temperature"),
            "{err}"
        );
    }
}
