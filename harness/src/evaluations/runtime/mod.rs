//! The runtime evaluation: how long an epoch of each cell's recipe takes, phase by phase, on
//! the cell's device, and how that compares with Vanilla and with PyTorch eager.
//!
//! For each cell it builds the cell's trainer afresh ([`crate::cell::build_trainer`]) with the
//! trained checkpoint loaded (so saliency maps, and with them the graph cuts of Puzzle Mix and
//! Co-Mixup, look like those of real training), runs `warmup_steps` untimed training steps,
//! then `repeats` timed repetitions of `steps` training steps and `eval_batches` test batches,
//! and scales each phase to a whole epoch: every full batch of the training set and the whole
//! test set (or the epoch size `scale_to` names), whatever `training.max_train_batches` says,
//! so a suite can train its cells for a few batches only and still report paper-sized epochs
//! ([`measure`]). Nothing in the cell's
//! training results changes: the weights it trains here are discarded. Cells of method
//! `vanilla` also run the PyTorch eager reference ([`mod@reference`]). Each cell's output is
//! `runtime.csv` and `runtime.json` ([`rows`]); [`report`] builds the run-level files, charts
//! and report section.

pub mod measure;
pub mod reference;
pub use mixbench_results::evaluations::runtime::{report, rows};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use self::measure::Plan;
use self::rows::{write_cell, RuntimeInfo};
use super::kind::{Evaluation, SettingError};
use crate::cell::{build_trainer, trainer_config, TrainedCell};
use crate::data::DataSpec;
use crate::engine::DeviceImages;
use crate::records;
use mixbench_results::evaluations::EvaluationResults;

fn default_warmup() -> usize {
    5
}
fn default_steps() -> usize {
    20
}
fn default_repeats() -> usize {
    5
}
fn default_eval_batches() -> usize {
    2
}
fn default_true() -> bool {
    true
}

/// Whether Vanilla cells also time the PyTorch eager reference.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceChoice {
    /// When Python with torch is found; otherwise the report says why it is missing (default).
    #[default]
    Auto,
    /// Never.
    Off,
    /// Always: the evaluation fails when the reference cannot run.
    Required,
}

/// What a suite's `evaluations.runtime` asks for; every key has a default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeSettings {
    /// Untimed training steps before the first repetition (default 5).
    #[serde(default = "default_warmup")]
    pub warmup_steps: usize,
    /// Training steps per timed repetition (default 20).
    #[serde(default = "default_steps")]
    pub steps: usize,
    /// Timed repetitions (default 5): the medians, quartiles and intervals are over them.
    #[serde(default = "default_repeats")]
    pub repeats: usize,
    /// Test batches timed per repetition, scaled to the test set (default 2; 0: evaluation is
    /// not timed).
    #[serde(default = "default_eval_batches")]
    pub eval_batches: usize,
    /// Synchronise the device at every phase boundary (default true). Off, only whole
    /// repetitions are device-timed (as an eager PyTorch loop runs) and the phases are host
    /// times; on the CPU it makes no difference.
    #[serde(default = "default_true")]
    pub sync_phases: bool,
    /// The PyTorch eager reference for Vanilla cells: `auto` (default), `off`, `required`.
    #[serde(default)]
    pub pytorch: ReferenceChoice,
    /// The epoch the times are scaled to, when not the data set's own: e.g. CIFAR-100's
    /// `{train_images: 50000, test_images: 10000}` for a suite that times on a smaller data set
    /// of the same image shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_to: Option<EpochSize>,
}

/// The size of the epoch times are scaled to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochSize {
    /// Training images of an epoch (its steps are the full batches of them).
    pub train_images: usize,
    /// Test images evaluated after each epoch.
    pub test_images: usize,
}

/// The `runtime` evaluation.
pub struct Runtime;

impl Evaluation for Runtime {
    type Settings = RuntimeSettings;

    fn results(&self) -> &'static dyn EvaluationResults {
        &mixbench_results::evaluations::runtime::RuntimeResults
    }

    fn summary(&self) -> &'static str {
        "seconds per epoch by phase (median and IQR over timed repetitions), the ratio to \
         Vanilla with a bootstrap interval, images per second, peak memory, and PyTorch eager's \
         Vanilla step beside mixbench's"
    }

    /// Timed steps beside another cell's training would measure the contention, not the
    /// method: with `--jobs N` the runtime evaluations run one at a time, after the others.
    fn runs_alone(&self) -> bool {
        true
    }

    fn check(&self, s: &RuntimeSettings, _datasets: &[DataSpec]) -> Result<(), SettingError> {
        for (key, value) in [("steps", s.steps), ("repeats", s.repeats)] {
            if value == 0 {
                return Err(SettingError::new(key, format!("runtime.{key}: at least 1")));
            }
        }
        if let Some(size) = s.scale_to {
            if size.train_images == 0 {
                return Err(SettingError::new(
                    "scale_to",
                    "runtime.scale_to.train_images: at least one batch of images",
                ));
            }
        }
        if s.repeats < 3 {
            return Err(SettingError::new(
                "repeats",
                format!(
                    "runtime.repeats: at least 3 (quartiles and intervals need repetitions), got {}",
                    s.repeats
                ),
            ));
        }
        Ok(())
    }

    fn evaluate(&self, cell: &TrainedCell, s: &RuntimeSettings) -> Result<()> {
        let config = &cell.config;
        let data = config
            .dataset
            .load(&config.base_dir)
            .with_context(|| format!("loading dataset of cell {}", config.cell))?;
        let t = &config.training;
        let mut recipe = trainer_config(t, &data);
        recipe.sync_phases = s.sync_phases;
        let num_classes = data.num_classes() as i64;
        let mut trainer = build_trainer(config, recipe, num_classes, cell.device)?;
        let checkpoint = cell.dir.join(records::CHECKPOINT);
        trainer
            .vs
            .load(&checkpoint)
            .with_context(|| format!("loading checkpoint {}", checkpoint.display()))?;
        let train = DeviceImages::upload(&data.train, cell.device);
        let test = DeviceImages::upload(&data.test, cell.device);
        let eval_images = (s.eval_batches * t.test_batch_size).min(test.len());
        let eval = DeviceImages {
            images: test.images.narrow(0, 0, eval_images as i64),
            labels: test.labels.narrow(0, 0, eval_images as i64),
        };
        let epoch = s.scale_to.unwrap_or(EpochSize {
            train_images: train.len(),
            test_images: test.len(),
        });
        let plan = Plan {
            warmup_steps: s.warmup_steps,
            steps: s.steps,
            repeats: s.repeats,
            steps_per_epoch: epoch.train_images / t.batch_size,
            test_images: epoch.test_images,
        };
        if plan.steps_per_epoch == 0 {
            bail!(
                "cell {}: {} training images make no batch of {}",
                config.cell,
                train.len(),
                t.batch_size
            );
        }
        let measured = measure::run(&mut trainer, &train, &eval, config.seed, plan)?;
        let memory = crate::system::peak_memory(cell.device);
        let threads = tch::get_num_threads().max(1) as usize;
        let reference = (config.method.name == mixbench_results::report::order::BASELINE_METHOD
            && s.pytorch != ReferenceChoice::Off)
            .then(|| {
                reference::run(&reference::Job {
                    model: config.model,
                    training: t,
                    data: &data,
                    device: cell.device,
                    threads,
                    plan,
                })
            });
        if s.pytorch == ReferenceChoice::Required {
            if let Some(why) = reference.as_ref().and_then(|r| r.skipped.as_ref()) {
                bail!("runtime.pytorch is `required` but the reference did not run: {why}");
            }
        }
        let loop_seconds = measured.loop_seconds;
        let images_per_second = crate::report::stats::median(
            &loop_seconds
                .iter()
                .map(|l| (s.steps * t.batch_size) as f64 / l)
                .collect::<Vec<_>>(),
        )
        .unwrap_or(f64::NAN);
        let info = RuntimeInfo {
            device: crate::system::device_description(cell.device),
            libtorch: crate::system::libtorch_version().to_string(),
            threads,
            batch_size: t.batch_size,
            warmup_steps: s.warmup_steps,
            steps: s.steps,
            repeats: s.repeats,
            steps_per_epoch: plan.steps_per_epoch,
            eval_images,
            test_images: plan.test_images,
            sync_phases: s.sync_phases,
            loop_seconds,
            images_per_second,
            peak_memory_bytes: memory.map(|m| m.0),
            memory_kind: memory.map(|m| m.1.to_string()),
            reference,
        };
        write_cell(&cell.dir, &measured.rows, &info)
    }
}
