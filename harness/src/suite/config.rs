//! Suite files: YAML that names the grid (datasets x models x methods x seeds), the training
//! recipe, the evaluations and the output folder. Parsing is strict: unknown keys, models,
//! methods, method parameters or evaluations are errors naming the file, the line and the
//! closest valid name.
//!
//! A suite may start from other files: `include: base.yaml` (or a list, applied in order;
//! paths relative to the including file) reads those first and lays the including file's keys
//! over them. Mappings merge key by key, everything else (lists included) is replaced; and
//! `method_params: {<label>: {key: value}}` changes parameters of methods listed earlier, so a
//! family of suites can share one recipe (the SAGE paper suites do). Data paths in any of the
//! files are resolved against the folder of the file that is run, as for the merged document.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_norway::{Mapping, Value};

use mixbench_core::{Params, Registry};

use crate::cell::{MethodSpec, TrainingConfig};
use crate::claims::ClaimsFile;
use crate::data::DataSpec;
use crate::evaluations::{self, EvaluationKind};
use crate::models::ModelKind;

/// A whole suite file (after its includes are applied).
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
    /// Models of the grid (names as in docs/suites.md, *Models*).
    pub models: Vec<ModelKind>,
    /// Methods of the grid: a name, or a one-key map from name to parameters.
    pub methods: Vec<MethodEntry>,
    /// Parameters laid over methods listed in `methods` (by label): how a suite that includes
    /// another changes one method's parameters without repeating the list.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub method_params: BTreeMap<String, BTreeMap<String, Value>>,
    /// Training seeds of the grid.
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Training recipe shared by every cell.
    #[serde(default)]
    pub training: TrainingConfig,
    /// Output folder; a relative one is relative to the suite file's folder, like every path
    /// in a suite file. Default: `runs/<name>` under the current folder.
    #[serde(default)]
    pub output: Option<PathBuf>,
    /// Evaluations of the trained cells, by registered name (see `crate::evaluations`); none
    /// by default.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub evaluations: BTreeMap<String, Value>,
    /// Claims files the run is checked against (`mixbench verify`, see `crate::claims`): one
    /// path or a list, relative to the suite file's folder like every path. The run records
    /// a copy of each in `RUN_DIR/claims/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<ClaimsKey>,
}

/// The `claims:` key: one file or a list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClaimsKey {
    /// One claims file.
    One(PathBuf),
    /// Several, verified in order.
    Many(Vec<PathBuf>),
}

/// A claims file a suite names: its resolved path, and its text when it is compiled in (the
/// quickstart's) rather than read from disk.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimsSource {
    /// The path, resolved against the suite file's folder.
    pub path: PathBuf,
    /// Built-in text, used instead of reading `path`.
    pub text: Option<String>,
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
    WithParams(BTreeMap<String, BTreeMap<String, Value>>),
}

/// A suite as loaded from a file: the parsed suite, the file's folder (relative dataset paths
/// are resolved against it), the methods resolved against the method registry and the
/// evaluations against the evaluation registry.
#[derive(Clone)]
pub struct LoadedSuite {
    /// The method registry the methods were resolved against (and are built from).
    pub registry: Registry,
    /// The parsed file.
    pub suite: Suite,
    /// Where it came from (for messages).
    pub path: PathBuf,
    /// Folder relative data paths are resolved against.
    pub base_dir: PathBuf,
    /// Methods, validated.
    pub methods: Vec<MethodSpec>,
    /// The configured evaluations in registry order, each with its canonical settings.
    pub evaluations: Vec<(&'static dyn EvaluationKind, String)>,
    /// The suite as run: the file's text, or, when it includes others, the merged document.
    pub text: String,
    /// The claims files the suite names (`claims:`), in order.
    pub claims: Vec<ClaimsSource>,
}

impl fmt::Debug for LoadedSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedSuite")
            .field("suite", &self.suite)
            .field("path", &self.path)
            .field("base_dir", &self.base_dir)
            .field("methods", &self.methods)
            .field(
                "evaluations",
                &self
                    .evaluations
                    .iter()
                    .map(|(k, _)| k.name())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The files a suite was read from, the including file first, for locating keys in errors.
struct Sources(Vec<(PathBuf, String)>);

impl Sources {
    /// `path:line` of the first file (including file first) where `token` appears as a YAML
    /// key or value; the including file's path alone when none has it.
    fn locate(&self, token: &str) -> String {
        for (path, text) in &self.0 {
            let line = line_of(text, token);
            if !line.is_empty() {
                return format!("{}{line}", path.display());
            }
        }
        self.0[0].0.display().to_string()
    }
}

impl LoadedSuite {
    /// Reads and validates a suite file.
    pub fn from_file(path: &Path, registry: &Registry) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading suite file {}", path.display()))?;
        // A bare file name (`suite.yaml`) has an empty parent: the current folder.
        let base = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Self::from_text(&text, path, &base, registry)
    }

    /// Parses and validates suite text; `path` names it in errors, `base_dir` is the folder
    /// relative data paths (and includes) are resolved against.
    pub fn from_text(
        text: &str,
        path: &Path,
        base_dir: &Path,
        registry: &Registry,
    ) -> Result<Self> {
        let mut sources = Sources(vec![(path.to_path_buf(), text.to_string())]);
        let document: Value = serde_norway::from_str(text).map_err(|e| parse_error(path, &e))?;
        let (suite, text): (Suite, String) = if has_include(&document) {
            let merged = resolve_includes(document, base_dir, &mut sources, &mut Vec::new())?;
            let suite = serde_norway::from_value(merged.clone()).map_err(|e| {
                let message = e.to_string();
                let token = message
                    .split("unknown field `")
                    .nth(1)
                    .and_then(|r| r.split('`').next())
                    .unwrap_or("");
                anyhow!(
                    "{}: {message}{}",
                    sources.locate(token),
                    unknown_field_hint(&message)
                )
            })?;
            (suite, serde_norway::to_string(&merged)?)
        } else {
            let suite = serde_norway::from_str(text).map_err(|e| parse_error(path, &e))?;
            (suite, text.to_string())
        };
        let at = |token: &str, msg: String| anyhow!("{}: {msg}", sources.locate(token));
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
        suite
            .training
            .check()
            .map_err(|(key, message)| at(key, message))?;
        for spec in &suite.datasets {
            spec.check()
                .map_err(|e| at(spec.kind(), format!("datasets: {e:#}")))?;
        }
        let evaluations = resolve_evaluations(&suite, &at)?;
        let mut given: Vec<GivenMethod> = Vec::new();
        for entry in &suite.methods {
            let method = GivenMethod::of(entry).map_err(|e| at("methods", format!("{e:#}")))?;
            if given.iter().any(|m| m.label == method.label) {
                return Err(at(
                    &method.label,
                    format!(
                        "two methods share the label `{}`; give one a `label:`",
                        method.label
                    ),
                ));
            }
            given.push(method);
        }
        for (label, params) in &suite.method_params {
            let Some(method) = given.iter_mut().find(|m| &m.label == label) else {
                let labels = given.iter().map(|m| m.label.as_str());
                return Err(at(
                    label,
                    format!(
                        "method_params: no method labelled `{label}` in `methods`{}",
                        mixbench_core::did_you_mean(label, labels)
                    ),
                ));
            };
            for (key, value) in params {
                method
                    .params
                    .set_value(key, value.clone())
                    .map_err(|e| at(key, format!("method_params: `{label}.{key}`: {e}")))?;
            }
        }
        // Every method resolved once, here: its defaults filled in, its values checked.
        let mut methods = Vec::new();
        for method in &given {
            methods.push(
                MethodSpec::resolve(registry, &method.name, &method.label, &method.params)
                    .map_err(|e| at(&method.name, format!("{e:#}")))?,
            );
        }
        let claims = match &suite.claims {
            None => Vec::new(),
            Some(ClaimsKey::One(p)) => vec![p.clone()],
            Some(ClaimsKey::Many(ps)) => ps.clone(),
        }
        .into_iter()
        .map(|p| ClaimsSource {
            path: crate::data::resolve_path(base_dir, &p),
            text: None,
        })
        .collect();
        Ok(LoadedSuite {
            registry: registry.clone(),
            suite,
            path: path.to_path_buf(),
            base_dir: base_dir.to_path_buf(),
            methods,
            evaluations,
            text,
            claims,
        })
    }

    /// Gives the claims files named `name` (file name) the built-in `text`, so a compiled-in
    /// suite (the quickstart) needs no files on disk.
    pub fn with_builtin_claims(mut self, name: &str, text: &str) -> Self {
        for source in &mut self.claims {
            if source.path.file_name().is_some_and(|n| n == name) {
                source.text = Some(text.to_string());
            }
        }
        self
    }

    /// Reads and checks every claims file the suite names: `(file name, text)` pairs, in
    /// order. A missing or malformed file is an error naming the suite file and the claims
    /// file's line.
    pub fn read_claims(&self) -> Result<Vec<(String, String)>> {
        let mut out: Vec<(String, String)> = Vec::new();
        for source in &self.claims {
            let text = match &source.text {
                Some(text) => text.clone(),
                None => std::fs::read_to_string(&source.path).with_context(|| {
                    format!(
                        "{}{}: claims: reading {}",
                        self.path.display(),
                        line_of(&self.text, "claims"),
                        source.path.display()
                    )
                })?,
            };
            ClaimsFile::parse(&text, &source.path)
                .with_context(|| format!("{}: claims file of the suite", self.path.display()))?;
            let name = source
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "claims.yaml".into());
            if out.iter().any(|(n, _)| *n == name) {
                bail!(
                    "{}: claims: two claims files are named `{name}`",
                    self.path.display()
                );
            }
            out.push((name, text));
        }
        Ok(out)
    }

    /// Output folder of the run: `output` resolved against the suite file's folder, or
    /// `runs/<name>` under the current folder.
    pub fn output_dir(&self) -> PathBuf {
        match &self.suite.output {
            Some(output) => crate::data::resolve_path(&self.base_dir, output),
            None => PathBuf::from("runs").join(&self.suite.name),
        }
    }
}

/// The suite's `evaluations:` resolved against the evaluation registry, in registry order;
/// unknown names get a did-you-mean, invalid settings the located key.
fn resolve_evaluations(
    suite: &Suite,
    at: &dyn Fn(&str, String) -> anyhow::Error,
) -> Result<Vec<(&'static dyn EvaluationKind, String)>> {
    for name in suite.evaluations.keys() {
        evaluations::find(name).map_err(|e| at(name, e.to_string()))?;
    }
    let mut resolved = Vec::new();
    for kind in evaluations::registry() {
        if let Some(value) = suite.evaluations.get(kind.name()) {
            let settings = kind.resolve(value.clone(), &suite.datasets).map_err(|e| {
                at(
                    &e.key,
                    format!("{}{}", e.message, unknown_field_hint(&e.message)),
                )
            })?;
            resolved.push((*kind, settings));
        }
    }
    Ok(resolved)
}

/// True when a suite document starts from other files.
fn has_include(document: &Value) -> bool {
    matches!(document, Value::Mapping(m) if m.contains_key("include"))
}

/// Applies the `include:` chain of `document` (read from `dir`): each included file is
/// resolved the same way, then the document's keys are laid over it. `stack` holds the files
/// being included, to refuse cycles.
fn resolve_includes(
    document: Value,
    dir: &Path,
    sources: &mut Sources,
    stack: &mut Vec<PathBuf>,
) -> Result<Value> {
    let Value::Mapping(mut map) = document else {
        return Ok(document);
    };
    let Some(include) = map.remove("include") else {
        return Ok(Value::Mapping(map));
    };
    let here = sources.locate("include");
    let files: Vec<String> = match include {
        Value::String(s) => vec![s],
        Value::Sequence(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(anyhow!("{here}: `include` lists file names, got {other:?}")),
            })
            .collect::<Result<_>>()?,
        other => bail!("{here}: `include` is a file name or a list of them, got {other:?}"),
    };
    let mut merged = Value::Mapping(Mapping::new());
    for file in files {
        let path = dir.join(&file);
        let canonical = path
            .canonicalize()
            .with_context(|| format!("{here}: included file {} not found", path.display()))?;
        if stack.contains(&canonical) {
            bail!("{here}: `include` of {} makes a cycle", path.display());
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{here}: reading included file {}", path.display()))?;
        let value: Value = serde_norway::from_str(&text).map_err(|e| parse_error(&path, &e))?;
        sources.0.push((path.clone(), text));
        stack.push(canonical);
        let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = resolve_includes(value, &parent, sources, stack)?;
        stack.pop();
        merge(&mut merged, base);
    }
    merge(&mut merged, Value::Mapping(map));
    Ok(merged)
}

/// Lays `over` onto `base`: mappings merge key by key (recursively), anything else replaces.
fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (key, value) in o {
                match b.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        b.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// A method entry of a suite as given: registry name, label and parameters, before
/// `method_params:` is laid over them and the method resolves them.
struct GivenMethod {
    name: String,
    label: String,
    params: Params,
}

impl GivenMethod {
    /// Reads one YAML method entry (`label:` is the label, every other key a parameter).
    fn of(entry: &MethodEntry) -> Result<Self> {
        match entry {
            MethodEntry::Name(name) => Ok(GivenMethod {
                name: name.clone(),
                label: name.clone(),
                params: Params::new(name),
            }),
            MethodEntry::WithParams(map) => {
                let mut items = map.iter();
                let (Some((name, values)), None) = (items.next(), items.next()) else {
                    bail!(
                        "a method entry with parameters is a map with exactly one key, the method name"
                    );
                };
                let mut method = GivenMethod {
                    name: name.clone(),
                    label: name.clone(),
                    params: Params::new(name),
                };
                for (key, value) in values {
                    if key == "label" {
                        method.label = match value {
                            Value::String(s) => s.clone(),
                            Value::Number(n) => n.to_string(),
                            Value::Bool(b) => b.to_string(),
                            other => {
                                bail!("the `label` of `{name}` must be a scalar, got {other:?}")
                            }
                        };
                    } else {
                        method.params.set_value(key, value.clone())?;
                    }
                }
                Ok(method)
            }
        }
    }
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
    use mixbench_core::ResolvedParams;

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
                params: ResolvedParams::parse_text("alpha=0.4").unwrap()
            }
        );
        // Resolved: every parameter of the method, defaults filled in.
        assert_eq!(s.methods[0].params, ResolvedParams::default());
        assert_eq!(s.suite.training.epochs, 2);
        assert_eq!(s.suite.training.lr, 0.2);
        assert_eq!(s.output_dir(), PathBuf::from("runs/t"));
        // A relative `output` is relative to the suite file's folder, as data paths are.
        let s = LoadedSuite::from_text(
            &format!("{BASE}output: out/t\n"),
            Path::new("suites/s.yaml"),
            Path::new("suites"),
            &registry(),
        )
        .unwrap();
        assert_eq!(s.output_dir(), PathBuf::from("suites/out/t"));
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

    /// Writes `files` (name, text) into a temporary folder.
    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = tmp.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        tmp
    }

    const RECIPE: &str = "methods:\n  - vanilla\n  - mixup: {alpha: 0.4}\nseeds: [0, 1]\ntraining:\n  epochs: 5\n  lr: 0.1\n";

    #[test]
    fn include_lays_keys_over_the_base_and_method_params_change_one_method() {
        let tmp = folder(&[
            ("base/recipe.yaml", RECIPE),
            (
                "grid.yaml",
                "include: base/recipe.yaml\nname: g\ndatasets:\n  - synthetic: {classes: 3}\nmodels: [small_cnn]\ntraining:\n  epochs: 2\nmethod_params:\n  mixup: {alpha: 0.2, label: ignored-not}\n",
            ),
        ]);
        let err = LoadedSuite::from_file(&tmp.path().join("grid.yaml"), &registry())
            .unwrap_err()
            .to_string();
        // `label` is not a parameter of mixup: the error names the method and the key.
        assert!(err.contains("`label`"), "{err}");

        std::fs::write(
            tmp.path().join("grid.yaml"),
            "include: base/recipe.yaml\nname: g\ndatasets:\n  - synthetic: {classes: 3}\nmodels: [small_cnn]\ntraining:\n  epochs: 2\nmethod_params:\n  mixup: {alpha: 0.2}\n",
        )
        .unwrap();
        let s = LoadedSuite::from_file(&tmp.path().join("grid.yaml"), &registry()).unwrap();
        // Mappings merge key by key: epochs from the grid, lr from the base.
        assert_eq!(s.suite.training.epochs, 2);
        assert_eq!(s.suite.training.lr, 0.1);
        assert_eq!(s.suite.seeds, [0, 1]);
        assert_eq!(s.methods[1].params.text(), "alpha=0.2");
        assert!(s.methods[0].params.is_empty());
        // The run records the merged document, which loads to the same suite on its own.
        assert!(!s.text.contains("include"), "{}", s.text);
        let again = load(&s.text).unwrap();
        assert_eq!(again.methods, s.methods);
        assert_eq!(again.suite.training, s.suite.training);
    }

    #[test]
    fn include_errors_name_the_file_and_line() {
        let tmp = folder(&[
            ("a.yaml", "include: b.yaml\nname: a\n"),
            ("b.yaml", "include: a.yaml\n"),
            (
                "typo.yaml",
                "include: base.yaml\nname: t\ndatasets:\n  - synthetic: {classes: 3}\nmodels: [small_cnn]\n",
            ),
            ("base.yaml", "methods: [vanilla]\ntraining:\n  epoch: 3\n"),
            (
                "missing.yaml",
                "name: m\ninclude: nowhere.yaml\n",
            ),
            (
                "unknown.yaml",
                "include: base.yaml\nname: t\ndatasets:\n  - synthetic: {classes: 3}\nmodels: [small_cnn]\nmethod_params:\n  mixpu: {alpha: 1}\n",
            ),
        ]);
        let load_file = |name: &str| {
            LoadedSuite::from_file(&tmp.path().join(name), &registry())
                .unwrap_err()
                .to_string()
        };
        let err = load_file("a.yaml");
        assert!(err.contains("cycle"), "{err}");
        // The unknown key lives in the included file: its path and line are named.
        let err = load_file("typo.yaml");
        assert!(
            err.contains("base.yaml:3") && err.contains("did you mean `epochs`"),
            "{err}"
        );
        let err = load_file("missing.yaml");
        assert!(
            err.contains("missing.yaml:2") && err.contains("nowhere.yaml"),
            "{err}"
        );
        std::fs::write(tmp.path().join("base.yaml"), "methods: [vanilla, mixup]\n").unwrap();
        let err = load_file("unknown.yaml");
        assert!(
            err.contains("unknown.yaml:7") && err.contains("did you mean `mixup`"),
            "{err}"
        );
    }

    #[test]
    fn evaluations_are_resolved_against_the_registry() {
        let err = load(&format!(
            "{BASE}evaluations:\n  robustnes: {{noise: [0.1]}}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("suite.yaml:11:") && err.contains("did you mean `robustness`"),
            "{err}"
        );
        let err = load(&format!(
            "{BASE}evaluations:\n  robustness: {{nosie: [0.1]}}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("suite.yaml:11:") && err.contains("did you mean `noise`"),
            "{err}"
        );
        let s = load(&format!(
            "{BASE}evaluations:\n  robustness: {{noise: [0.1]}}\n"
        ))
        .unwrap();
        assert_eq!(s.evaluations.len(), 1);
        assert_eq!(s.evaluations[0].0.name(), "robustness");
        assert!(
            s.evaluations[0].1.contains("noise:"),
            "{}",
            s.evaluations[0].1
        );
    }

    /// Bad numbers in the recipe are refused at load time with the file, line and key.
    #[test]
    fn bad_training_numbers_are_located() {
        for (change, line, key) in [
            ("epochs: 2\n  lr: .nan", 10, "training.lr"),
            (
                "epochs: 2\n  weight_decay: .inf",
                10,
                "training.weight_decay",
            ),
            ("epochs: 2\n  lr: -0.1", 10, "training.lr"),
            ("epochs: 2\n  milestones: [3, 2]", 10, "training.milestones"),
            (
                "epochs: 2\n  milestones: [1, 2]\n  gamma: [0.1, 0.1, 0.1]",
                11,
                "training.gamma",
            ),
            ("epochs: 2\n  crop_padding: -2", 10, "training.crop_padding"),
            ("epochs: 2\n  threads: -1", 10, "training.threads"),
            ("epochs: 0", 9, "training.epochs"),
        ] {
            let err = load(&BASE.replace("epochs: 2", change))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with(&format!("suite.yaml:{line}: {key}")),
                "{change}: {err}"
            );
        }
    }

    /// Data settings that need no files are checked when the suite is loaded.
    #[test]
    fn out_of_range_data_settings_are_refused_at_load() {
        for (change, expected) in [
            ("synthetic: {classes: 0}", "classes must be at least 1"),
            (
                "synthetic: {classes: 3, size: 4}",
                "size must be between 8 and 512",
            ),
            (
                "synthetic: {classes: 3, background_reliance: 1.5}",
                "background_reliance",
            ),
            (
                "folder: {root: x, test_fraction: 1.5}",
                "test_fraction must be in (0, 1)",
            ),
            (
                "folder: {root: x, image_size: 0}",
                "image_size must be positive",
            ),
        ] {
            let err = load(&BASE.replace("synthetic: {classes: 3}", change))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("suite.yaml:3: datasets:") && err.contains(expected),
                "{change}: {err}"
            );
        }
    }
}
