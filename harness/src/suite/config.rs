//! Suite files: YAML that names the grid (datasets x models x methods x seeds), the training
//! recipe and the output folder. Parsing is strict: unknown keys, models or methods are errors
//! naming the file, the line and the closest valid name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use mixbench_core::{Params, Registry};

use crate::data::DataSpec;
use crate::engine::loss::LossKind;
use crate::models::ModelKind;

/// A whole suite file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Suite name; the default output folder is `runs/<name>`.
    pub name: String,
    /// Free text shown in reports.
    #[serde(default)]
    pub description: String,
    /// Datasets of the grid.
    pub datasets: Vec<DataSpec>,
    /// Models of the grid (names as in `mixbench methods`/README).
    pub models: Vec<ModelKind>,
    /// Methods of the grid: a name, or a one-key map from name to parameters.
    pub methods: Vec<MethodEntry>,
    /// Training seeds of the grid.
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Training recipe shared by every cell.
    #[serde(default)]
    pub training: TrainingConfig,
    /// Output folder, relative to the working directory; default `runs/<name>`.
    #[serde(default)]
    pub output: Option<PathBuf>,
    /// Evaluations of the trained cells (robustness, few-shot); none by default.
    #[serde(
        default,
        skip_serializing_if = "crate::evaluate::Evaluations::is_empty"
    )]
    pub evaluations: crate::evaluate::Evaluations,
}

fn default_seeds() -> Vec<u64> {
    vec![0]
}

/// One method of the grid, as written in YAML: `mixup`, or `{mixup: {alpha: 0.4}}`. The
/// reserved parameter `label` names the variant in reports (default: the method name).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MethodEntry {
    /// Just the name: default parameters.
    Name(String),
    /// Name mapped to parameters.
    WithParams(BTreeMap<String, BTreeMap<String, serde_norway::Value>>),
}

/// A method resolved for one cell: registry name, report label, parameters as `key=value`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodSpec {
    /// Registry name.
    pub name: String,
    /// Label in reports and cell names.
    pub label: String,
    /// Parameters as `key=value`, sorted by key.
    pub params: Vec<String>,
}

impl MethodSpec {
    /// The parameters in the form method constructors take.
    pub fn params(&self) -> Result<Params> {
        Ok(Params::parse(
            &self.name,
            self.params.iter().map(String::as_str),
        )?)
    }
}

/// Which device to train on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceChoice {
    /// CUDA device 0 when available, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device 0; an error when CUDA is unavailable.
    Cuda,
}

/// How grid cells are run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// Each cell in its own process (GPU memory is freed between cells; a crash loses one
    /// cell, not the grid).
    #[default]
    Process,
    /// All cells in the calling process (debugging).
    Inline,
}

/// The training recipe. Defaults are the SAGE paper's CIFAR protocol (see `docs/training.md`): batch 100,
/// SGD lr 0.2, momentum 0.9, Nesterov, weight decay 1e-4, 300 epochs, x0.1 at 100 and 200,
/// BCE on softmax, flip + crop with zero padding 2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingConfig {
    /// Epochs.
    pub epochs: usize,
    /// Training batch size.
    pub batch_size: usize,
    /// Evaluation batch size.
    pub test_batch_size: usize,
    /// Initial learning rate.
    pub lr: f64,
    /// SGD momentum.
    pub momentum: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// Weight decay.
    pub weight_decay: f64,
    /// Epochs at which the learning rate is multiplied by `gamma`.
    pub milestones: Vec<usize>,
    /// Learning-rate factor at each milestone (one value, or one per milestone).
    pub gamma: Vec<f64>,
    /// Training loss.
    pub loss: LossKind,
    /// Zero padding of the random crop (0: no crop).
    pub crop_padding: i64,
    /// Random horizontal flip.
    pub flip: bool,
    /// Training device.
    pub device: DeviceChoice,
    /// libtorch intra-op threads (default: libtorch's choice).
    pub threads: Option<i32>,
    /// Stop each epoch after this many batches (quick checks).
    pub max_train_batches: Option<usize>,
    /// How cells are run.
    pub isolation: Isolation,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        TrainingConfig {
            epochs: 300,
            batch_size: 100,
            test_batch_size: 100,
            lr: 0.2,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-4,
            milestones: vec![100, 200],
            gamma: vec![0.1],
            loss: LossKind::BceSoftmax,
            crop_padding: 2,
            flip: true,
            device: DeviceChoice::Auto,
            threads: None,
            max_train_batches: None,
            isolation: Isolation::Process,
        }
    }
}

/// A suite as loaded from a file: the parsed suite, the file's folder (relative dataset paths
/// are resolved against it) and the methods resolved against the registry.
#[derive(Clone, Debug)]
pub struct LoadedSuite {
    /// The parsed file.
    pub suite: Suite,
    /// Where it came from (for messages).
    pub path: PathBuf,
    /// Folder relative data paths are resolved against.
    pub base_dir: PathBuf,
    /// Methods, validated.
    pub methods: Vec<MethodSpec>,
}

impl LoadedSuite {
    /// Reads and validates a suite file.
    pub fn from_file(path: &Path, registry: &Registry) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading suite file {}", path.display()))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::from_text(&text, path, &base, registry)
    }

    /// Parses and validates suite text; `path` names it in errors.
    pub fn from_text(
        text: &str,
        path: &Path,
        base_dir: &Path,
        registry: &Registry,
    ) -> Result<Self> {
        let suite: Suite = serde_norway::from_str(text).map_err(|e| parse_error(path, &e))?;
        let at =
            |token: &str, msg: String| anyhow!("{}{}: {msg}", path.display(), line_of(text, token));
        if suite.datasets.is_empty()
            || suite.models.is_empty()
            || suite.methods.is_empty()
            || suite.seeds.is_empty()
        {
            bail!(
                "{}: `datasets`, `models`, `methods` and `seeds` must each list at least one entry",
                path.display()
            );
        }
        let t = &suite.training;
        if t.epochs == 0 || t.batch_size < 2 || t.test_batch_size == 0 {
            bail!(
                "{}: training needs epochs >= 1, batch_size >= 2 and test_batch_size >= 1",
                path.display()
            );
        }
        let evals = &suite.evaluations;
        if let Some(r) = &evals.robustness {
            r.check().map_err(|(key, msg)| at(key, msg))?;
        }
        if let Some(f) = &evals.fewshot {
            f.check().map_err(|(key, msg)| at(key, msg))?;
            if !suite.datasets.iter().any(DataSpec::is_fewshot) {
                return Err(at(
                    "fewshot",
                    "evaluations.fewshot needs a data set with base and novel classes \
                     (`fewshot`, `mini_imagenet` or `cifar_fs`) in `datasets`"
                        .into(),
                ));
            }
        }
        let mut methods = Vec::new();
        for entry in &suite.methods {
            let spec = resolve_method(entry).map_err(|e| at("methods", e.to_string()))?;
            let params = spec.params().map_err(|e| at(&spec.name, e.to_string()))?;
            registry
                .build(&spec.name, &params)
                .map_err(|e| at(&spec.name, e.to_string()))?;
            if methods.iter().any(|m: &MethodSpec| m.label == spec.label) {
                return Err(at(
                    &spec.label,
                    format!(
                        "two methods share the label `{}`; give one a `label:`",
                        spec.label
                    ),
                ));
            }
            methods.push(spec);
        }
        Ok(LoadedSuite {
            suite,
            path: path.to_path_buf(),
            base_dir: base_dir.to_path_buf(),
            methods,
        })
    }

    /// Output folder of the run.
    pub fn output_dir(&self) -> PathBuf {
        self.suite
            .output
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs").join(&self.suite.name))
    }
}

/// Turns one YAML method entry into a [`MethodSpec`].
fn resolve_method(entry: &MethodEntry) -> Result<MethodSpec> {
    match entry {
        MethodEntry::Name(name) => Ok(MethodSpec {
            name: name.clone(),
            label: name.clone(),
            params: Vec::new(),
        }),
        MethodEntry::WithParams(map) => {
            let mut items = map.iter();
            let (Some((name, values)), None) = (items.next(), items.next()) else {
                bail!(
                    "a method entry with parameters is a map with exactly one key, the method name"
                );
            };
            let mut label = name.clone();
            let mut params = Vec::new();
            for (key, value) in values {
                let text = scalar_text(value)
                    .with_context(|| format!("parameter `{key}` of `{name}` must be a scalar"))?;
                if key == "label" {
                    label = text;
                } else {
                    params.push(format!("{key}={text}"));
                }
            }
            Ok(MethodSpec {
                name: name.clone(),
                label,
                params,
            })
        }
    }
}

/// The text of a YAML scalar.
fn scalar_text(value: &serde_norway::Value) -> Result<String> {
    use serde_norway::Value;
    Ok(match value {
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => bail!("got {value:?}"),
    })
}

/// A parse error with file, line and column, and a did-you-mean for unknown fields.
fn parse_error(path: &Path, err: &serde_norway::Error) -> anyhow::Error {
    let message = err.to_string();
    let location = err
        .location()
        .map(|l| format!(":{}:{}", l.line(), l.column()))
        .unwrap_or_default();
    let hint = unknown_field_hint(&message);
    anyhow!("{}{location}: {message}{hint}", path.display())
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (or "expected `a`"), a
/// did-you-mean suffix.
fn unknown_field_hint(message: &str) -> String {
    let Some(rest) = message
        .strip_prefix("unknown field `")
        .or_else(|| message.split("unknown field `").nth(1))
    else {
        return String::new();
    };
    let Some((field, expected)) = rest.split_once('`') else {
        return String::new();
    };
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    mixbench_core::did_you_mean(field, candidates.iter().copied())
}

/// `:N` for the first line where `token` appears as a YAML key or value, or "" when absent.
fn line_of(text: &str, token: &str) -> String {
    text.lines()
        .position(|line| {
            let code = line.split('#').next().unwrap_or("");
            code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
                .any(|w| w == token)
        })
        .map(|i| format!(":{}", i + 1))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::registry;

    fn load(text: &str) -> Result<LoadedSuite> {
        LoadedSuite::from_text(text, Path::new("suite.yaml"), Path::new("."), &registry())
    }

    const BASE: &str = "name: t\ndatasets:\n  - synthetic: {classes: 3}\nmodels: [small_cnn]\nmethods:\n  - vanilla\n  - mixup: {alpha: 0.4, label: mixup-0.4}\ntraining:\n  epochs: 2\n";

    #[test]
    fn parses_a_suite_and_resolves_methods() {
        let s = load(BASE).unwrap();
        assert_eq!(
            s.methods[1],
            MethodSpec {
                name: "mixup".into(),
                label: "mixup-0.4".into(),
                params: vec!["alpha=0.4".into()]
            }
        );
        assert_eq!(s.suite.training.epochs, 2);
        assert_eq!(s.suite.training.lr, 0.2);
        assert_eq!(s.output_dir(), PathBuf::from("runs/t"));
    }

    #[test]
    fn unknown_method_names_line_and_suggestion() {
        let err = load(&BASE.replace("  - vanilla", "  - vanila"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("suite.yaml:6:"), "{err}");
        assert!(err.contains("did you mean `vanilla`"), "{err}");
    }

    #[test]
    fn unknown_model_and_key_are_located() {
        let err = load(&BASE.replace("small_cnn", "smallcnn"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("suite.yaml:4") && err.contains("did you mean `small_cnn`"),
            "{err}"
        );
        let err = load(&BASE.replace("epochs: 2", "epoch: 2"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("suite.yaml:9:") && err.contains("did you mean `epochs`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_method_parameter_is_located() {
        let err = load(&BASE.replace("alpha: 0.4", "alpah: 0.4"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("suite.yaml:7") && err.contains("did you mean `alpha`"),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let err = load("name: t\ndatasets: [\n").unwrap_err().to_string();
        assert!(err.starts_with("suite.yaml:"), "{err}");
    }
}
