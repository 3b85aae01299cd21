//! What defines a grid cell: the resolved [`CellConfig`] written to its `config.yaml` (and hashed
//! into its `cell.json`), with the training recipe, method and device choices it holds.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use mixbench_core::Params;

use crate::data::DataSpec;
use crate::engine::loss::LossKind;
use crate::models::ModelKind;
use crate::records;

/// Everything that defines a cell; serialised to its `config.yaml` and hashed into its id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellConfig {
    /// Suite name.
    pub suite: String,
    /// Cell id (also the folder name).
    pub cell: String,
    /// Dataset.
    pub dataset: DataSpec,
    /// Folder relative dataset paths are resolved against (absolute).
    pub base_dir: PathBuf,
    /// Model.
    pub model: ModelKind,
    /// Method.
    pub method: MethodSpec,
    /// Seed of weights, data order, augmentation and mixing draws.
    pub seed: u64,
    /// Training recipe.
    pub training: TrainingConfig,
}

impl CellConfig {
    /// The YAML written to `config.yaml`.
    pub fn to_yaml(&self) -> Result<String> {
        Ok(serde_norway::to_string(self)?)
    }

    /// Reads a cell's `config.yaml`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(records::CONFIG);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        serde_norway::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// First 16 hex digits of the SHA-256 of the resolved configuration.
    pub fn hash(&self) -> Result<String> {
        Ok(records::short_hash(&self.to_yaml()?))
    }
}

/// A folder-safe cell id: `<dataset>-<model>-<method>-s<seed>`.
pub fn cell_id(dataset: &str, model: ModelKind, method: &str, seed: u64) -> String {
    format!("{dataset}-{model}-{method}-s{seed}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
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
