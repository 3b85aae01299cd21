//! One model, one method, one optimizer: training epochs and evaluation.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Tensor};

use mixbench_core::{Batch, MixMethod, MixRng, MixSite, Mixed};

use super::augment::{Augment, Normalize};
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

/// Aggregates of one training epoch; times in wall seconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainStats {
    /// Mean loss over batches.
    pub loss: f64,
    /// Percent of samples whose arg-max logit is the arg-max of their soft target.
    pub accuracy: f64,
    /// Batches processed.
    pub batches: usize,
    /// Batches skipped for a non-finite loss or gradient (with [`NonFinite::SkipBatch`]).
    pub skipped: usize,
    /// Gathering and augmenting batches.
    pub time_data: f64,
    /// Saliency pass.
    pub time_saliency: f64,
    /// Mixing.
    pub time_mix: f64,
    /// Forward, loss and backward of the mixed batch.
    pub time_forward_backward: f64,
    /// Zeroing gradients and the optimizer step.
    pub time_optimizer: f64,
    /// Wall seconds of the whole batch loop, device synchronised at its end: the phases plus
    /// what lies between them (progress callbacks, bookkeeping).
    pub time_loop: f64,
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

    /// Trains one epoch. The visiting order, augmentation and mixing draws come from streams
    /// derived from `(seed, epoch)`, so an epoch is reproducible on its own. `on_batch` is
    /// called with (batches done, batches in the epoch) for progress display.
    pub fn train_epoch(
        &mut self,
        epoch: usize,
        data: &DeviceImages,
        seed: u64,
        mut on_batch: impl FnMut(usize, usize),
    ) -> Result<TrainStats> {
        let lr = self.config.schedule.lr_at(epoch);
        let mut data_rng = MixRng::seed_from(stream_seed(seed, epoch, 0));
        let mut mix_rng = MixRng::seed_from(stream_seed(seed, epoch, 1));
        let order = data_rng.permutation(data.len());
        let bs = self.config.batch_size;
        let total = (order.len() / bs).min(self.config.max_train_batches.unwrap_or(usize::MAX));
        let mut stats = TrainStats::default();
        let mut loss_sum = Tensor::zeros([], (Kind::Float, self.device));
        let mut correct = Tensor::zeros([], (Kind::Int64, self.device));
        let saliency = self.method.saliency();
        let mixed_scale = self.method.mixed_loss_scale();
        let mut watch = NonFiniteWatch::new(self.device);
        let mut clock = Stopwatch::start_with(self.device, self.config.sync_phases);
        let loop_start = std::time::Instant::now();
        for (step, chunk) in order.chunks_exact(bs).take(total).enumerate() {
            let index = Tensor::from_slice(chunk).to_device(self.device);
            let raw = data.images.index_select(0, &index);
            let labels = data.labels.index_select(0, &index);
            let images = self
                .config
                .normalize
                .apply(&self.config.augment.apply(&raw, &mut data_rng));
            stats.time_data += clock.split();

            self.sgd.zero_grad()?;
            stats.time_optimizer += clock.split();
            let mut batch = Batch::new(images, labels, self.num_classes);
            batch.mean = self.config.normalize.mean.clone();
            batch.std = self.config.normalize.std.clone();
            batch.perturbation = self.method.perturbation(&batch, &mut mix_rng)?;
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

            let mixed = self.method.mix(&batch, &mut mix_rng).with_context(|| {
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
                    watch.record(step, &logits, &loss);
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
                on_batch(step + 1, total);
                continue;
            }

            self.sgd.step(lr)?;
            stats.time_optimizer += clock.split();

            if let Some(loss) = &loss {
                loss_sum += loss.detach();
            }
            correct += logits
                .argmax(1, false)
                .eq_tensor(&mixed.targets.argmax(1, false))
                .sum(Kind::Int64);
            on_batch(step + 1, total);
        }
        super::timer::synchronize(self.device);
        stats.time_loop = loop_start.elapsed().as_secs_f64();
        if let Some((step, logits_finite)) = watch.first() {
            bail!(
                "non-finite training loss at epoch {epoch}, batch {step} (method `{}`, lr {lr}; \
                 the logits are {}finite); `training.on_nonfinite: skip_batch` skips such batches",
                self.method.name(),
                if logits_finite { "" } else { "not " }
            );
        }
        stats.batches = total;
        let used = total - stats.skipped;
        if used > 0 {
            stats.loss = loss_sum.double_value(&[]) / used as f64;
            stats.accuracy = 100.0 * correct.int64_value(&[]) as f64 / (used * bs) as f64;
        }
        Ok(stats)
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

/// The first step of an epoch whose logits or loss are not finite, tracked on the device so
/// that training steps need no host synchronisation (read once, at the end of the epoch).
struct NonFiniteWatch {
    /// Index of the first bad step, -1 while there is none.
    step: Tensor,
    /// Whether that step's logits were finite (only its loss was not).
    logits_finite: Tensor,
}

impl NonFiniteWatch {
    fn new(device: Device) -> Self {
        NonFiniteWatch {
            step: Tensor::full([], -1, (Kind::Int64, device)),
            logits_finite: Tensor::ones([], (Kind::Bool, device)),
        }
    }

    /// Records `step` if it is the first whose logits or loss are not finite.
    fn record(&mut self, step: usize, logits: &Tensor, loss: &Tensor) {
        let logits_ok = logits.isfinite().all();
        let bad = logits_ok.logical_and(&loss.isfinite()).logical_not();
        let first = bad.logical_and(&self.step.lt(0));
        let here = Tensor::full([], step as i64, (Kind::Int64, self.step.device()));
        self.step = here.where_self(&first, &self.step);
        self.logits_finite = logits_ok.where_self(&first, &self.logits_finite);
    }

    /// The first bad step and whether its logits were finite (a host synchronisation).
    fn first(&self) -> Option<(usize, bool)> {
        let step = self.step.int64_value(&[]);
        (step >= 0).then(|| (step as usize, self.logits_finite.int64_value(&[]) != 0))
    }
}

/// Seed of random stream `stream` of `epoch` in a run seeded with `seed` (SplitMix64
/// finaliser over the three, so nearby inputs give unrelated streams).
fn stream_seed(seed: u64, epoch: usize, stream: u64) -> u64 {
    let mut z = seed
        ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Whether every element of `t` is finite (a host sync).
fn is_finite(t: &Tensor) -> bool {
    t.isfinite().all().int64_value(&[]) == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The watch keeps the first step whose logits or loss are not finite, and whether its
    /// logits were finite; finite steps before and bad steps after leave it unchanged.
    #[test]
    fn nonfinite_watch_keeps_the_first_bad_step() {
        let ok = Tensor::from_slice(&[1.0f32, 2.0]);
        let nan = Tensor::from_slice(&[1.0f32, f32::NAN]);
        let loss = |v: f32| Tensor::from_slice(&[v]).squeeze();
        let mut watch = NonFiniteWatch::new(Device::Cpu);
        watch.record(0, &ok, &loss(0.5));
        assert_eq!(watch.first(), None);
        watch.record(1, &ok, &loss(f32::INFINITY));
        watch.record(2, &nan, &loss(0.5));
        assert_eq!(watch.first(), Some((1, true)));
        let mut watch = NonFiniteWatch::new(Device::Cpu);
        watch.record(3, &nan, &loss(0.5));
        assert_eq!(watch.first(), Some((3, false)));
    }
}
