//! The `Evaluation` trait every evaluation implements, and its object-safe face
//! `EvaluationKind` that the registry ([`super::registry`]) holds.

use std::path::Path;

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::cell::{open_trained, CellConfig, TrainedCell};
use crate::data::DataSpec;
use mixbench_results::evaluations::EvaluationResults;

/// A setting that is invalid: the key to locate in the suite file, and the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingError {
    /// The offending key (located in the suite file by name).
    pub key: String,
    /// What is wrong, naming the key's path, e.g. `robustness.noise: ...`.
    pub message: String,
}

impl SettingError {
    /// An error at `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        SettingError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// One kind of evaluation, with its typed settings.
///
/// Implementations decide (parse, check, compute rows, build report sections); the executor
/// acts (writes settings and markers, isolates processes, records failures).
pub trait Evaluation: Send + Sync + 'static {
    /// The settings under `evaluations.<name>`; deserialised strictly (unknown fields are
    /// errors) and serialised canonically into `<name>.yaml`, whose hash is the resume marker.
    type Settings: Serialize + DeserializeOwned;

    /// What the evaluation leaves in a run folder: its files, report section, metrics and
    /// values, read back by the libtorch-free `mixbench-results` crate.
    fn results(&self) -> &'static dyn EvaluationResults;

    /// Key under `evaluations:`, stem of the per-cell files and markers (its results' name).
    fn name(&self) -> &'static str {
        self.results().name()
    }

    /// One line for listings: what is measured.
    fn summary(&self) -> &'static str;

    /// Checks values serde cannot, and what the suite must hold for this evaluation (e.g.
    /// few-shot needs a data set with novel classes).
    fn check(&self, settings: &Self::Settings, datasets: &[DataSpec]) -> Result<(), SettingError>;

    /// Whether a cell is evaluated at all (few-shot: only cells trained on few-shot data).
    fn applies_to(&self, _cell: &CellConfig) -> bool {
        true
    }

    /// Whether the results are times that other work on the machine would distort (runtime):
    /// the local executor then starts such a unit only when none of its other units runs, and
    /// starts nothing beside it.
    fn runs_alone(&self) -> bool {
        false
    }

    /// Evaluates one trained cell and writes its result files into the cell folder.
    fn evaluate(&self, cell: &TrainedCell, settings: &Self::Settings) -> Result<()>;
}

/// The object-safe face of every [`Evaluation`], with settings as canonical YAML text:
/// what the registry holds and the suite loader, executor and report use.
pub trait EvaluationKind: Send + Sync {
    /// See [`Evaluation::name`].
    fn name(&self) -> &'static str;

    /// See [`Evaluation::summary`].
    fn summary(&self) -> &'static str;

    /// Parses and checks the suite's settings; returns their canonical YAML text.
    fn resolve(
        &self,
        value: serde_norway::Value,
        datasets: &[DataSpec],
    ) -> Result<String, SettingError>;

    /// See [`Evaluation::applies_to`].
    fn applies_to(&self, cell: &CellConfig) -> bool;

    /// See [`Evaluation::runs_alone`] (default: no).
    fn runs_alone(&self) -> bool {
        false
    }

    /// Evaluates the trained cell in `dir` with canonical settings `settings`.
    fn run(&self, dir: &Path, settings: &str) -> Result<()>;

    /// See [`Evaluation::results`].
    fn results(&self) -> &'static dyn EvaluationResults;

    /// `<name>.yaml`: the settings an evaluation ran with.
    fn settings_file(&self) -> String {
        format!("{}.yaml", self.name())
    }

    /// `<name>.done`: written last, holds the settings' hash.
    fn done_file(&self) -> String {
        self.results().done_file()
    }

    /// `<name>.failed`: the error of a failed evaluation.
    fn failed_file(&self) -> String {
        self.results().failed_file()
    }
}

impl<E: Evaluation> EvaluationKind for E {
    fn name(&self) -> &'static str {
        Evaluation::name(self)
    }

    fn summary(&self) -> &'static str {
        Evaluation::summary(self)
    }

    fn resolve(
        &self,
        value: serde_norway::Value,
        datasets: &[DataSpec],
    ) -> Result<String, SettingError> {
        let name = Evaluation::name(self);
        let settings: E::Settings = serde_norway::from_value(value).map_err(|e| {
            let message = e.to_string();
            let key = unknown_field(&message).unwrap_or(name).to_string();
            SettingError::new(key, format!("evaluations.{name}: {message}"))
        })?;
        self.check(&settings, datasets)?;
        serde_norway::to_string(&settings)
            .map_err(|e| SettingError::new(name, format!("evaluations.{name}: {e}")))
    }

    fn applies_to(&self, cell: &CellConfig) -> bool {
        Evaluation::applies_to(self, cell)
    }

    fn runs_alone(&self) -> bool {
        Evaluation::runs_alone(self)
    }

    fn run(&self, dir: &Path, settings: &str) -> Result<()> {
        let name = Evaluation::name(self);
        let settings: E::Settings = serde_norway::from_str(settings)
            .with_context(|| format!("parsing the {name} settings of {}", dir.display()))?;
        let cell = open_trained(dir)?;
        self.evaluate(&cell, &settings)
    }

    fn results(&self) -> &'static dyn EvaluationResults {
        Evaluation::results(self)
    }
}

/// The field named by serde's "unknown field `x`, expected ..." message.
fn unknown_field(message: &str) -> Option<&str> {
    message.split("unknown field `").nth(1)?.split('`').next()
}
