//! One model, one method, one optimizer: training epochs and evaluation.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Tensor};

use mixbench_core::{Batch, MixMethod, MixSite, Mixed};

use super::augment::{Augment, Normalize};
use super::epoch::{stream_seed, EpochState, TrainStats};
use super::loss::LossKind;
use super::saliency::input_gradient;
use super::schedule::StepSchedule;
use super::sgd::{Sgd, SgdConfig};
use super::timer::Stopwatch;
use crate::data::ImageSet;
use crate::models::{Classifier, MixHook, ModelKind};

/// A split of a dataset held on the training device: u8 images and i64 labels.
pub struct DeviceImages {
    /// u8 `[N, C, H, W]`.
    pub images: Tensor,
    /// i64 `[N]`.
    pub labels: Tensor,
}

impl DeviceImages {
    /// Copies an in-memory image set to `device` once; batches are then gathered there.
    pub fn upload(set: &ImageSet, device: Device) -> Self {
        let shape = [
            set.len() as i64,
            set.channels as i64,
            set.height as i64,
            set.width as i64,
        ];
        DeviceImages {
            images: Tensor::from_slice(&set.images)
                .view(shape)
                .to_device(device),
            labels: Tensor::from_slice(&set.labels).to_device(device),
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.size()[0] as usize
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What training does with a batch whose loss is NaN or infinite.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NonFinite {
    /// Stop the cell at the end of the epoch with an error naming the epoch and the first
    /// non-finite batch (default). Checked on the device: steps need no host synchronisation.
    #[default]
    Fail,
    /// Skip the batch's update (its gradients are also checked, and the batch skipped when one
    /// is not finite) and count it in `metrics.csv`; each step synchronises with the host to
    /// decide. Batch-norm running statistics of the
    /// skipped forward pass are not rolled back.
    SkipBatch,
}

impl NonFinite {
    /// True for the default, [`NonFinite::Fail`] (left out of `config.yaml`, so that cells
    /// configured before this setting existed keep their configuration hash).
    pub fn is_default(&self) -> bool {
        *self == NonFinite::Fail
    }
}

/// Recipe of a training run.
#[derive(Clone, Debug)]
pub struct TrainerConfig {
    /// Training batch size; the last incomplete batch of an epoch is dropped.
    pub batch_size: usize,
    /// Evaluation batch size.
    pub test_batch_size: usize,
    /// Learning-rate schedule.
    pub schedule: StepSchedule,
    /// SGD settings.
    pub sgd: SgdConfig,
    /// Training loss.
    pub loss: LossKind,
    /// Training-time augmentation.
    pub augment: Augment,
    /// Per-channel normalisation of the dataset.
    pub normalize: Normalize,
    /// Stop each epoch after this many batches (quick checks); all batches when `None`.
    pub max_train_batches: Option<usize>,
    /// What a non-finite loss does.
    pub on_nonfinite: NonFinite,
    /// Synchronise the device at every phase boundary, so phase times are device times
    /// (default). Off, only whole epochs are device-timed and the phases measure host time.
    pub sync_phases: bool,
}

/// How [`Trainer::run_epoch`] ended.
pub enum EpochEnd {
    /// Every step ran: the epoch's statistics.
    Finished(TrainStats),
    /// Asked to stop: the state after the last step run, to carry on later.
    Stopped(Box<EpochState>),
}

/// Test-set evaluation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EvalStats {
    /// Mean cross-entropy.
    pub loss: f64,
    /// Top-1 accuracy, percent.
    pub top1: f64,
    /// Top-5 accuracy, percent (top-K when K < 5).
    pub top5: f64,
    /// Wall seconds.
    pub time: f64,
}

/// A model under training with its optimizer and mixing method.
pub struct Trainer {
    /// The model's variables (weights and BN buffers), for checkpoints.
    pub vs: nn::VarStore,
    model: Box<dyn Classifier>,
    sgd: Sgd,
    method: Box<dyn MixMethod>,
    config: TrainerConfig,
    num_classes: i64,
    device: Device,
}

impl Trainer {
    /// Builds `model` on `device`, its weights drawn from libtorch's generator seeded with
    /// `seed`. Fails when the method may mix at a layer the model does not offer.
    pub fn new(
        model: ModelKind,
        num_classes: i64,
        method: Box<dyn MixMethod>,
        config: TrainerConfig,
        device: Device,
        seed: u64,
    ) -> Result<Self> {
        // libtorch's generator is global: hold a lock from seeding to the last draw so that
        // trainers built concurrently in one process (tests, inline runs) stay deterministic.
        static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let model_kind = model;
        let vs = nn::VarStore::new(device);
        let model = {
            let _guard = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            tch::manual_seed(seed as i64);
            model.build(&vs.root(), num_classes)
        };
        if method.max_mix_layer() > model.hidden_mix_layers() {
            bail!(
                "method `{}` mixes at layers up to {}, but model `{}` offers mixing layers 0..={}",
                method.name(),
                method.max_mix_layer(),
                model_kind,
                model.hidden_mix_layers()
            );
        }
        let sgd = Sgd::new(vs.trainable_variables(), config.sgd);
        Ok(Trainer {
            vs,
            model,
            sgd,
            method,
            config,
            num_classes,
            device,
        })
    }

    /// The model.
    pub fn model(&self) -> &dyn Classifier {
        self.model.as_ref()
    }

    /// Learning rate of `epoch` under the configured schedule.
    pub fn lr_at(&self, epoch: usize) -> f64 {
        self.config.schedule.lr_at(epoch)
    }

    /// Stops each epoch after `batches` batches (all when `None`), overriding the recipe: the
    /// runtime evaluation's warm-up and timed repetitions.
    pub fn limit_batches(&mut self, batches: Option<usize>) {
        self.config.max_train_batches = batches;
    }

    /// The optimizer (its state goes into checkpoints).
    pub fn optimizer(&self) -> &Sgd {
        &self.sgd
    }

    /// The optimizer, to restore its state from a checkpoint.
    pub fn optimizer_mut(&mut self) -> &mut Sgd {
        &mut self.sgd
    }

    /// Trains one epoch. The visiting order, augmentation and mixing draws come from streams
    /// derived from `(seed, epoch)`, so an epoch is reproducible on its own. `on_batch` is
    /// called with (batches done, batches in the epoch) for progress display.
    pub fn train_epoch(
        &mut self,
        epoch: usize,
        data: &DeviceImages,
        seed: u64,
        on_batch: impl FnMut(usize, usize),
    ) -> Result<TrainStats> {
        let state = EpochState::start(epoch, seed, data.len(), self.device);
        match self.run_epoch(state, data, seed, || false, on_batch)? {
            EpochEnd::Finished(stats) => Ok(stats),
            EpochEnd::Stopped(_) => unreachable!("an epoch that is never asked to stop ends"),
        }
    }

    /// Carries `state` (from [`EpochState::start`], or a checkpoint of an epoch stopped
    /// mid-way) on to the end of its epoch, or until `stop()` returns true after a step: the
    /// state after that step comes back, ready to be saved and carried on later with the same
    /// result as an epoch never stopped. `on_batch` is called with (batches done, batches in
    /// the epoch).
    pub fn run_epoch(
        &mut self,
        mut state: EpochState,
        data: &DeviceImages,
        seed: u64,
        stop: impl Fn() -> bool,
        mut on_batch: impl FnMut(usize, usize),
    ) -> Result<EpochEnd> {
        let epoch = state.epoch;
        let lr = self.config.schedule.lr_at(epoch);
        let order = EpochState::order(epoch, seed, data.len());
        let bs = self.config.batch_size;
        let total = (order.len() / bs).min(self.config.max_train_batches.unwrap_or(usize::MAX));
        let saliency = self.method.saliency();
        let mixed_scale = self.method.mixed_loss_scale();
        let reseed = self.model.draws_randomness();
        let stats = &mut state.stats;
        let mut clock = Stopwatch::start_with(self.device, self.config.sync_phases);
        let loop_start = std::time::Instant::now();
        let chunks = order.chunks_exact(bs).take(total).enumerate();
        for (step, chunk) in chunks.skip(state.step) {
            if reseed {
                // Each step draws from its own libtorch seed, so a resumed step draws alike.
                tch::manual_seed(stream_seed(seed, epoch, 2 + step as u64) as i64);
            }
            let index = Tensor::from_slice(chunk).to_device(self.device);
            let raw = data.images.index_select(0, &index);
            let labels = data.labels.index_select(0, &index);
            let images = self
                .config
                .normalize
                .apply(&self.config.augment.apply(&raw, &mut state.data_rng));
            stats.time_data += clock.split();

            self.sgd.zero_grad()?;
            stats.time_optimizer += clock.split();
            let mut batch = Batch::new(images, labels, self.num_classes);
            batch.mean = self.config.normalize.mean.clone();
            batch.std = self.config.normalize.std.clone();
            batch.perturbation = self.method.perturbation(&batch, &mut state.mix_rng)?;
            let perturbed = batch
                .perturbation
                .as_ref()
                .map(|p| p.apply(&batch.images, &batch.mean, &batch.std));
            batch.grad = saliency.map(|request| {
                input_gradient(
                    self.model.as_ref(),
                    perturbed.as_ref().unwrap_or(&batch.images),
                    &batch.labels,
                    self.num_classes,
                    &request,
                )
            });
            stats.time_saliency += clock.split();

            let mixed = self
                .method
                .mix(&batch, &mut state.mix_rng)
                .with_context(|| {
                    format!(
                        "method `{}` failed at epoch {epoch}, step {step}",
                        self.method.name()
                    )
                })?;
            stats.time_mix += clock.split();

            let logits = mixed_logits(self.model.as_ref(), &mixed, true);
            let loss = match self.config.on_nonfinite {
                // No host synchronisation: the loss of the logits with non-finite values
                // replaced (libtorch's BCE refuses NaN probabilities; finite logits are left
                // as they are) is computed, and the first non-finite step is recorded on the
                // device and checked once at the end of the epoch.
                NonFinite::Fail => {
                    let loss = self
                        .config
                        .loss
                        .loss(&logits.nan_to_num(0.0, None, None), &mixed.targets);
                    state.watch.record(step, &logits, &loss);
                    Some(loss)
                }
                // Logits first: the loss of non-finite logits is not even defined.
                NonFinite::SkipBatch => is_finite(&logits)
                    .then(|| self.config.loss.loss(&logits, &mixed.targets))
                    .filter(is_finite),
            };
            let skip = loss.is_none();
            if let Some(loss) = &loss {
                (loss * mixed_scale).backward();
            }
            stats.time_forward_backward += clock.split();
            if skip || (self.config.on_nonfinite == NonFinite::SkipBatch && !self.grads_finite()) {
                self.sgd.zero_grad()?;
                stats.skipped += 1;
                stats.time_optimizer += clock.split();
            } else {
                self.sgd.step(lr)?;
                stats.time_optimizer += clock.split();
                if let Some(loss) = &loss {
                    state.loss_sum += loss.detach();
                }
                state.correct += logits
                    .argmax(1, false)
                    .eq_tensor(&mixed.targets.argmax(1, false))
                    .sum(Kind::Int64);
            }
            state.step = step + 1;
            on_batch(step + 1, total);
            if state.step < total && stop() {
                super::timer::synchronize(self.device);
                state.stats.time_loop += loop_start.elapsed().as_secs_f64();
                return Ok(EpochEnd::Stopped(Box::new(state)));
            }
        }
        super::timer::synchronize(self.device);
        state.stats.time_loop += loop_start.elapsed().as_secs_f64();
        let method = self.method.name();
        let stats = state.finish(total, bs, |step, logits_finite| {
            format!(
                "non-finite training loss at epoch {epoch}, batch {step} (method `{method}`, lr \
                 {lr}; the logits are {}finite); `training.on_nonfinite: skip_batch` skips such \
                 batches",
                if logits_finite { "" } else { "not " }
            )
        })?;
        Ok(EpochEnd::Finished(stats))
    }

    /// Whether every parameter gradient is finite (one reduction per parameter; only run when
    /// non-finite batches are skipped).
    fn grads_finite(&self) -> bool {
        self.vs
            .trainable_variables()
            .iter()
            .all(|v| !v.grad().defined() || is_finite(&v.grad()))
    }

    /// Evaluates on `data` in eval mode (running BN statistics), in fixed order.
    pub fn evaluate(&self, data: &DeviceImages) -> EvalStats {
        let mut clock = Stopwatch::start(self.device);
        let n = data.len() as i64;
        let k = self.num_classes.min(5);
        // Sums stay on the device and are read once, so batches are not synchronised.
        let mut loss = Tensor::zeros([], (Kind::Double, self.device));
        let mut top1 = Tensor::zeros([], (Kind::Int64, self.device));
        let mut top5 = Tensor::zeros([], (Kind::Int64, self.device));
        tch::no_grad(|| {
            let mut start = 0;
            while start < n {
                let len = (self.config.test_batch_size as i64).min(n - start);
                let images = self
                    .config
                    .normalize
                    .apply(&data.images.narrow(0, start, len));
                let labels = data.labels.narrow(0, start, len);
                let logits = self.model.forward_t(&images, false);
                loss += logits
                    .cross_entropy_for_logits(&labels)
                    .to_kind(Kind::Double)
                    * len as f64;
                let (_, top) = logits.topk(k, 1, true, true);
                let hits = top.eq_tensor(&labels.unsqueeze(1));
                top1 += hits.narrow(1, 0, 1).sum(Kind::Int64);
                top5 += hits.sum(Kind::Int64);
                start += len;
            }
        });
        let (loss, top1, top5) = (
            loss.double_value(&[]),
            top1.int64_value(&[]),
            top5.int64_value(&[]),
        );
        let n = n.max(1) as f64;
        EvalStats {
            loss: loss / n,
            top1: 100.0 * top1 as f64 / n,
            top5: 100.0 * top5 as f64 / n,
            time: clock.split(),
        }
    }
}

/// Logits of a mixed batch: the plain forward pass on the images of a method that mixes its
/// inputs; for a mix at a hidden layer ([`MixSite::Hidden`]), the forward pass whose hidden
/// state at that layer is blended by [`Mixed::blend_hidden`].
pub fn mixed_logits(model: &dyn Classifier, mixed: &Mixed, train: bool) -> Tensor {
    match mixed.site {
        MixSite::Input => model.forward_t(&mixed.images, train),
        MixSite::Hidden(layer) => {
            let blend = |h: &Tensor| mixed.blend_hidden(h);
            let hook = MixHook { layer, mix: &blend };
            model.forward_hooked_t(&mixed.images, train, &hook)
        }
    }
}

/// Whether every element of `t` is finite (a host sync).
fn is_finite(t: &Tensor) -> bool {
    t.isfinite().all().int64_value(&[]) == 1
}
