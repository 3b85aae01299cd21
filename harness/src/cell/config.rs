//! What defines a grid cell: the resolved [`CellConfig`] written to its `config.yaml` (and hashed
//! into its `cell.json`), with the training recipe, method and device choices it holds.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use mixbench_core::{Params, Registry, ResolvedParams};

use crate::data::DataSpec;
use crate::engine::loss::LossKind;
use crate::engine::NonFinite;
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

    /// The hash of what the cell computes: [`CellConfig::hash`] with the settings that only
    /// say how it is run ([`RUN_ONLY_KEYS`]) at their defaults. A resume checkpoint carries
    /// it, so a cell resumes across such changes and never across others.
    pub fn computation_hash(&self) -> Result<String> {
        let mut plain = self.clone();
        let defaults = TrainingConfig::default();
        plain.training.isolation = defaults.isolation;
        plain.training.checkpoint_every = defaults.checkpoint_every;
        plain.base_dir = PathBuf::new();
        plain.hash()
    }
}

/// Configuration keys that say how a cell is run, not what it computes: a change there is not
/// a change of the cell. `base_dir` is where the suite's checkout lies: the same suite run from
/// two clones at different paths computes the same cells (so `compare` checks them bit for bit,
/// and a moved checkout resumes its run).
pub const RUN_ONLY_KEYS: [&str; 3] = [
    "base_dir",
    "training.isolation",
    "training.checkpoint_every",
];

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

/// A method resolved for one cell: registry name, report label, and its parameters resolved
/// against the method's typed struct, every default filled in (so `config.yaml` and the
/// configuration hash cover the defaults, and a changed default is a changed configuration).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodSpec {
    /// Registry name.
    pub name: String,
    /// Label in reports and cell names.
    pub label: String,
    /// Every parameter, sorted by key.
    pub params: ResolvedParams,
}

impl MethodSpec {
    /// The method resolved from its registry name, label and parameters as given (a suite's
    /// YAML values or `--set` items): unknown keys and bad values are errors naming them.
    pub fn resolve(registry: &Registry, name: &str, label: &str, given: &Params) -> Result<Self> {
        Ok(MethodSpec {
            name: name.to_string(),
            label: label.to_string(),
            params: registry.info(name)?.resolve(given)?,
        })
    }

    /// The method, built by `registry` from the resolved parameters.
    pub fn build(&self, registry: &Registry) -> Result<Box<dyn mixbench_core::MixMethod>> {
        Ok(registry.info(&self.name)?.build_resolved(&self.params)?)
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
    /// What a batch with a NaN or infinite loss does: `fail` (default: the cell stops with an
    /// error naming the epoch and batch) or `skip_batch` (no update; counted in `metrics.csv`).
    #[serde(skip_serializing_if = "NonFinite::is_default")]
    pub on_nonfinite: NonFinite,
    /// How cells are run.
    pub isolation: Isolation,
    /// Save a resume checkpoint (model, optimizer, random streams, metrics so far) every this
    /// many epochs, and after the last; 0: only when stopped by a signal. An unfinished cell
    /// resumes from its last checkpoint.
    #[serde(skip_serializing_if = "is_every_epoch")]
    pub checkpoint_every: usize,
}

/// True for the default `checkpoint_every` (left out of `config.yaml`, so that cells
/// configured before this setting existed keep their configuration hash).
fn is_every_epoch(every: &usize) -> bool {
    *every == 1
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
            on_nonfinite: NonFinite::Fail,
            isolation: Isolation::Process,
            checkpoint_every: 1,
        }
    }
}

impl TrainingConfig {
    /// Checks every numeric setting: finite, in range, lists of consistent length and order.
    /// The error names the offending key (the suite loader locates it in the file) and says
    /// what a valid value looks like. Run when a suite is loaded, so a bad recipe never reaches
    /// training (where NaN rates train to NaN losses and negative sizes panic in libtorch).
    pub fn check(&self) -> std::result::Result<(), (&'static str, String)> {
        let bad = |key: &'static str, message: String| Err((key, message));
        if self.epochs == 0 {
            return bad("epochs", "training.epochs: at least 1".into());
        }
        if self.batch_size < 2 {
            return bad(
                "batch_size",
                format!(
                    "training.batch_size: at least 2 (mixing needs a partner), got {}",
                    self.batch_size
                ),
            );
        }
        if self.test_batch_size == 0 {
            return bad(
                "test_batch_size",
                "training.test_batch_size: at least 1".into(),
            );
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(
                "lr",
                format!("training.lr: a finite positive number, got {}", self.lr),
            );
        }
        if !(self.momentum.is_finite() && (0.0..1.0).contains(&self.momentum)) {
            return bad(
                "momentum",
                format!(
                    "training.momentum: a number in [0, 1), got {}",
                    self.momentum
                ),
            );
        }
        if self.nesterov && self.momentum == 0.0 {
            return bad(
                "nesterov",
                "training.nesterov: Nesterov momentum needs momentum > 0".into(),
            );
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(
                "weight_decay",
                format!(
                    "training.weight_decay: a finite number >= 0, got {}",
                    self.weight_decay
                ),
            );
        }
        if self.milestones.windows(2).any(|w| w[0] >= w[1]) {
            return bad(
                "milestones",
                format!(
                    "training.milestones: strictly increasing epochs, got {:?}",
                    self.milestones
                ),
            );
        }
        if self.gamma.is_empty() && !self.milestones.is_empty() {
            return bad(
                "gamma",
                "training.gamma: one factor, or one per milestone".into(),
            );
        }
        if self.gamma.len() > 1 && self.gamma.len() != self.milestones.len() {
            return bad(
                "gamma",
                format!(
                    "training.gamma: one factor, or one per milestone ({} milestones), got {} factors",
                    self.milestones.len(),
                    self.gamma.len()
                ),
            );
        }
        if let Some(g) = self.gamma.iter().find(|g| !(g.is_finite() && **g > 0.0)) {
            return bad(
                "gamma",
                format!("training.gamma: finite positive factors, got {g}"),
            );
        }
        if self.crop_padding < 0 {
            return bad(
                "crop_padding",
                format!(
                    "training.crop_padding: 0 (no crop) or more pixels, got {}",
                    self.crop_padding
                ),
            );
        }
        if let Some(t) = self.threads.filter(|&t| t < 1) {
            return bad("threads", format!("training.threads: at least 1, got {t}"));
        }
        if self.max_train_batches == Some(0) {
            return bad(
                "max_train_batches",
                "training.max_train_batches: at least 1 (or leave it out)".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cell as a suite at `base_dir` resolves it.
    fn cell_at(base_dir: &str) -> CellConfig {
        let yaml = format!(
            "suite: s\ncell: c\ndataset: {{folder: {{name: d, root: data, image_size: 32}}}}\n\
             base_dir: {base_dir}\nmodel: small_cnn\n\
             method: {{name: mixup, label: mixup, params: []}}\nseed: 0\ntraining: {{epochs: 2}}\n"
        );
        serde_norway::from_str(&yaml).unwrap()
    }

    /// The computation hash ignores each of [`RUN_ONLY_KEYS`] (the same list the changed-
    /// configuration check uses; a key added there fails here until it has another value
    /// below, and then until `computation_hash` resets it) and follows everything else.
    #[test]
    fn computation_hash_ignores_run_only_keys_only() {
        let here = cell_at("/a/suites");
        let hash = here.computation_hash().unwrap();
        let others = [
            ("base_dir", "/b/clone/suites"),
            ("training.isolation", "inline"),
            ("training.checkpoint_every", "5"),
        ];
        let mut keys: Vec<&str> = others.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        let mut listed = RUN_ONLY_KEYS.to_vec();
        listed.sort_unstable();
        assert_eq!(keys, listed, "every run-only key needs another value here");
        for (key, value) in others {
            let mut yaml: serde_norway::Value =
                serde_norway::from_str(&here.to_yaml().unwrap()).unwrap();
            // Parents exist; the leaf may be left out at its default.
            let (parents, leaf) = key.rsplit_once('.').unwrap_or(("", key));
            let mut node = &mut yaml;
            for part in parents.split('.').filter(|p| !p.is_empty()) {
                node = node.get_mut(part).unwrap_or_else(|| panic!("{key}"));
            }
            let new_value = serde_norway::from_str(value).unwrap();
            node.as_mapping_mut()
                .unwrap_or_else(|| panic!("{key}"))
                .insert(leaf.into(), new_value);
            let changed: CellConfig = serde_norway::from_value(yaml).unwrap();
            assert_ne!(changed.hash().unwrap(), here.hash().unwrap(), "{key}");
            assert_eq!(changed.computation_hash().unwrap(), hash, "{key}");
        }
        let mut reseeded = cell_at("/a/suites");
        reseeded.seed = 1;
        assert_ne!(reseeded.computation_hash().unwrap(), hash);
        let mut longer = cell_at("/a/suites");
        longer.training.epochs = 3;
        assert_ne!(longer.computation_hash().unwrap(), hash);
    }

    /// Each bad value is refused with its key; the defaults (the SAGE recipe) pass.
    #[test]
    fn check_refuses_every_bad_number_and_names_its_key() {
        assert_eq!(TrainingConfig::default().check(), Ok(()));
        type Change = Box<dyn Fn(&mut TrainingConfig)>;
        let cases: Vec<(&str, Change)> = vec![
            ("epochs", Box::new(|t| t.epochs = 0)),
            ("batch_size", Box::new(|t| t.batch_size = 1)),
            ("test_batch_size", Box::new(|t| t.test_batch_size = 0)),
            ("lr", Box::new(|t| t.lr = f64::NAN)),
            ("lr", Box::new(|t| t.lr = -0.1)),
            ("lr", Box::new(|t| t.lr = f64::INFINITY)),
            ("momentum", Box::new(|t| t.momentum = 1.0)),
            ("nesterov", Box::new(|t| t.momentum = 0.0)),
            ("weight_decay", Box::new(|t| t.weight_decay = f64::INFINITY)),
            ("weight_decay", Box::new(|t| t.weight_decay = -1e-4)),
            ("milestones", Box::new(|t| t.milestones = vec![3, 2])),
            ("milestones", Box::new(|t| t.milestones = vec![2, 2])),
            ("gamma", Box::new(|t| t.gamma = vec![0.1, 0.2, 0.3])),
            ("gamma", Box::new(|t| t.gamma = vec![])),
            ("gamma", Box::new(|t| t.gamma = vec![f64::NAN])),
            ("crop_padding", Box::new(|t| t.crop_padding = -1)),
            ("threads", Box::new(|t| t.threads = Some(0))),
            (
                "max_train_batches",
                Box::new(|t| t.max_train_batches = Some(0)),
            ),
        ];
        for (key, change) in cases {
            let mut t = TrainingConfig::default();
            change(&mut t);
            let err = t.check().unwrap_err();
            assert_eq!(err.0, key, "{err:?}");
            assert!(err.1.starts_with(&format!("training.{key}")), "{err:?}");
        }
        // One factor per milestone, and momentum 0 without Nesterov, are valid.
        let t = TrainingConfig {
            gamma: vec![0.1, 0.2],
            nesterov: false,
            momentum: 0.0,
            ..Default::default()
        };
        assert_eq!(t.check(), Ok(()));
    }
}
