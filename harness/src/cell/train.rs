//! Training one cell from its `config.yaml` alone, leaving `cell.json`, `metrics.csv`, the
//! checkpoint and, last, the `done` marker.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use tch::{Device, Tensor};

use super::config::{CellConfig, TrainingConfig};
use super::device::select_device;
use super::resume;
use crate::data::Dataset;
use crate::engine::augment::{Augment, Normalize};
use crate::engine::schedule::StepSchedule;
use crate::engine::sgd::SgdConfig;
use crate::engine::{DeviceImages, EpochEnd, EpochState, Trainer, TrainerConfig};
use crate::interrupt;
use crate::methods::registry;
use crate::models::parameter_count;
use crate::records::{self, CellInfo, EpochMetrics};
use crate::system;

/// Environment variable with the libtorch threads of a cell whose recipe leaves
/// `training.threads` out: how `run --jobs` shares the CPU among its workers.
pub const THREADS_ENV: &str = "MIXBENCH_THREADS";

/// Trains the cell whose `config.yaml` is in `dir`, from its resume checkpoint when it has
/// one made by the same configuration (see [`super::resume`]). A stop request
/// ([`interrupt::requested`]) saves a checkpoint at the next step boundary and ends with
/// [`interrupt::Interrupted`].
pub fn train_cell(dir: &Path) -> Result<()> {
    let config = CellConfig::read(dir)?;
    let t = &config.training;
    let threads = t
        .threads
        .or_else(|| std::env::var(THREADS_ENV).ok().and_then(|v| v.parse().ok()));
    if let Some(threads) = threads {
        tch::set_num_threads(threads);
    }
    let device = select_device(t.device)?;
    let started = Instant::now();
    let data = config
        .dataset
        .load(&config.base_dir)
        .with_context(|| format!("loading dataset of cell {}", config.cell))?;
    for note in &data.notes {
        eprintln!("[{}] note: {note}", config.cell);
    }
    let recipe = trainer_config(&config.training, &data);
    let num_classes = data.num_classes() as i64;
    let mut trainer = build_trainer(&config, recipe.clone(), num_classes, device)?;
    let info = CellInfo {
        cell: config.cell.clone(),
        suite: config.suite.clone(),
        dataset: config.dataset.label(),
        model: config.model.to_string(),
        method: config.method.label.clone(),
        method_name: config.method.name.clone(),
        method_params: config.method.params.clone(),
        seed: config.seed,
        epochs: t.epochs,
        config_hash: config.computation_hash()?,
        code_version: system::code_version(),
        device: system::device_description(device),
        libtorch: system::libtorch_version().to_string(),
        parameters: parameter_count(&trainer.vs),
        train_images: data.train.len(),
        test_images: data.test.len(),
    };
    records::write_atomic(
        &dir.join(records::CELL_INFO),
        serde_json::to_string_pretty(&info)?.as_bytes(),
    )?;
    let train = DeviceImages::upload(&data.train, device);
    let test = DeviceImages::upload(&data.test, device);
    drop(data);

    remove_partial_checkpoints(dir);
    let computation_hash = config.computation_hash()?;
    let progress = Progress::new(&config.cell, t.epochs);
    let resumed = match resume::load(dir, &computation_hash, &mut trainer, device) {
        Ok(resumed) => resumed,
        Err(err) => {
            progress.log(&format!("not resuming ({err:#}); training from the start"));
            // The failed load may have overwritten some weights: start from a fresh trainer.
            trainer = build_trainer(&config, recipe, num_classes, device)?;
            None
        }
    };
    // Rewritten whole and atomically after every epoch (a few rows), so a kill never leaves
    // half a row behind; a resumed cell first writes back the rows of its checkpoint, exactly
    // as they were.
    let metrics_path = dir.join(records::METRICS);
    let (first_epoch, mut rows, mut stopped) = match resumed {
        Some(r) => {
            progress.log(&match &r.epoch {
                Some(state) => format!(
                    "resuming epoch {} after step {} from {}",
                    state.epoch,
                    state.step,
                    records::RESUME
                ),
                None => format!(
                    "resuming after epoch {} from {}",
                    r.epochs_done,
                    records::RESUME
                ),
            });
            records::write_atomic(&metrics_path, &records::csv_bytes(&r.rows)?)?;
            (r.epochs_done, r.rows, r.epoch)
        }
        None => {
            let _ = std::fs::remove_file(&metrics_path);
            (0, Vec::with_capacity(t.epochs), None)
        }
    };
    // The first checkpoint says what checkpoints cost, so a user can choose the interval.
    let first_checkpoint = std::cell::Cell::new(true);
    let checkpoint = |trainer: &Trainer, rows: &[EpochMetrics], epoch: Option<&EpochState>| {
        let started = Instant::now();
        let at = resume::Progress {
            computation_hash: &computation_hash,
            epochs_done: rows.len(),
            rows,
            epoch,
        };
        resume::save(dir, trainer, &at)?;
        if first_checkpoint.replace(false) {
            let bytes = std::fs::metadata(dir.join(records::RESUME)).map_or(0, |m| m.len());
            progress.log(&format!(
                "checkpoint: {:.1} MB in {:.2} s (every {} epoch(s): training.checkpoint_every)",
                bytes as f64 / 1e6,
                started.elapsed().as_secs_f64(),
                t.checkpoint_every
            ));
        }
        Ok::<(), anyhow::Error>(())
    };
    for epoch in first_epoch..t.epochs {
        let epoch_start = Instant::now();
        let state = match stopped.take() {
            Some(state) if state.epoch == epoch => state,
            _ => EpochState::start(epoch, config.seed, train.len(), device),
        };
        let before = state.seconds_so_far();
        let run = trainer.run_epoch(
            state,
            &train,
            config.seed,
            interrupt::requested,
            |done, total| progress.batch(epoch, done, total),
        )?;
        let stats = match run {
            EpochEnd::Finished(stats) => stats,
            EpochEnd::Stopped(state) => {
                checkpoint(&trainer, &rows, Some(&state))?;
                return Err(interrupt::Interrupted {
                    what: format!("cell {}", config.cell),
                    at: format!("epoch {epoch} after step {}, checkpoint saved", state.step),
                }
                .into());
            }
        };
        let eval = trainer.evaluate(&test);
        let row = EpochMetrics {
            epoch,
            lr: trainer.lr_at(epoch),
            train_loss: stats.loss,
            train_acc: stats.accuracy,
            test_loss: eval.loss,
            test_top1: eval.top1,
            test_top5: eval.top5,
            time_data: stats.time_data,
            time_saliency: stats.time_saliency,
            time_mix: stats.time_mix,
            time_forward_backward: stats.time_forward_backward,
            time_optimizer: stats.time_optimizer,
            time_eval: eval.time,
            time_epoch: before + epoch_start.elapsed().as_secs_f64(),
            skipped_batches: stats.skipped,
        };
        progress.epoch(&row);
        rows.push(row);
        // The checkpoint before the rows: a kill between the two leaves a checkpoint whose rows
        // are written back on resume.
        let last = epoch + 1 == t.epochs;
        let due = t.checkpoint_every > 0 && (epoch + 1) % t.checkpoint_every == 0;
        if !last && (due || interrupt::requested()) {
            checkpoint(&trainer, &rows, None)?;
        }
        records::write_atomic(&metrics_path, &records::csv_bytes(&rows)?)?;
        if !last && interrupt::requested() {
            return Err(interrupt::Interrupted {
                what: format!("cell {}", config.cell),
                at: format!("after epoch {epoch}, checkpoint saved"),
            }
            .into());
        }
    }
    trainer
        .vs
        .save(dir.join(records::CHECKPOINT))
        .context("saving the model checkpoint")?;
    let state = trainer.optimizer().state();
    if !state.is_empty() {
        Tensor::write_safetensors(&state, dir.join("optimizer.safetensors"))
            .context("saving the optimizer state")?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    records::write_atomic(
        &dir.join(records::DONE),
        format!("finished in {elapsed:.1} s\n").as_bytes(),
    )?;
    // The final files hold everything now.
    let _ = std::fs::remove_file(dir.join(records::RESUME));
    progress.finish(elapsed);
    Ok(())
}

/// Removes the temporary files of checkpoints whose writing was cut off (by a kill): the
/// checkpoint itself is only ever replaced whole, so they hold nothing to keep.
fn remove_partial_checkpoints(dir: &Path) {
    let prefix = format!("{}.", records::RESUME);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The trainer of a cell: its method and model for `num_classes` classes with `recipe` (from
/// [`trainer_config`]) on `device`, the weights drawn from the cell's seed. Training and the
/// runtime evaluation build it alike.
pub fn build_trainer(
    config: &CellConfig,
    recipe: TrainerConfig,
    num_classes: i64,
    device: Device,
) -> Result<Trainer> {
    let method = config.method.build(&registry())?;
    Trainer::new(
        config.model,
        num_classes,
        method,
        recipe,
        device,
        config.seed,
    )
}

/// The engine's recipe from a cell's training settings and its data set's normalisation.
pub fn trainer_config(t: &TrainingConfig, data: &Dataset) -> TrainerConfig {
    TrainerConfig {
        batch_size: t.batch_size,
        test_batch_size: t.test_batch_size,
        schedule: StepSchedule {
            lr: t.lr,
            milestones: t.milestones.clone(),
            gammas: t.gamma.clone(),
        },
        sgd: SgdConfig {
            momentum: t.momentum,
            nesterov: t.nesterov,
            weight_decay: t.weight_decay,
        },
        loss: t.loss,
        augment: Augment {
            crop_padding: t.crop_padding,
            flip: t.flip,
        },
        normalize: Normalize {
            mean: data.mean.iter().map(|&v| v as f64).collect(),
            std: data.std.iter().map(|&v| v as f64).collect(),
        },
        max_train_batches: t.max_train_batches,
        on_nonfinite: t.on_nonfinite,
        sync_phases: true,
    }
}

/// A progress bar with ETA on a terminal; one log line per epoch otherwise.
struct Progress {
    cell: String,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(cell: &str, epochs: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{prefix} {bar:30} {pos}/{len} batches, ETA {eta} {msg}",
                )
                .expect("valid template"),
            );
            bar
        });
        let progress = Progress {
            cell: cell.to_string(),
            bar,
        };
        progress.log(&format!("training {epochs} epochs"));
        progress
    }

    fn batch(&self, epoch: usize, done: usize, total: usize) {
        if let Some(bar) = &self.bar {
            if done == 1 {
                bar.set_length(total as u64);
                bar.set_prefix(format!("[{}] epoch {epoch}", self.cell));
            }
            bar.set_position(done as u64);
        }
    }

    fn epoch(&self, row: &EpochMetrics) {
        self.log(&format!(
            "epoch {:>3}  lr {:.4}  train loss {:.4} acc {:5.2}  test top1 {:5.2} top5 {:5.2}  {:.1} s",
            row.epoch, row.lr, row.train_loss, row.train_acc, row.test_top1, row.test_top5, row.time_epoch
        ));
    }

    fn finish(&self, seconds: f64) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.log(&format!("done in {seconds:.1} s"));
    }

    /// One line about the cell, above the progress bar when there is one.
    fn log(&self, message: &str) {
        let line = format!("[{}] {message}", self.cell);
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }
}
