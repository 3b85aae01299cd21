//! An epoch's statistics ([`TrainStats`]) and where a training epoch stands between two steps
//! ([`EpochState`]), so that an epoch stopped mid-way (a signal) carries on exactly after a
//! restart: the random streams' positions, the
//! on-device sums of loss and hits, the first non-finite step and the partial statistics.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use mixbench_core::{MixRng, RngState};

/// Aggregates of one training epoch; times in wall seconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainStats {
    /// Mean loss over batches.
    pub loss: f64,
    /// Percent of samples whose arg-max logit is the arg-max of their soft target.
    pub accuracy: f64,
    /// Batches processed.
    pub batches: usize,
    /// Batches skipped for a non-finite loss or gradient (with [`super::NonFinite::SkipBatch`]).
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

/// The state of an epoch after `step` steps. Everything the rest of the epoch draws or sums
/// is here; the model, optimizer and schedule are saved beside it (see `cell::resume`).
pub struct EpochState {
    /// The epoch (0-based).
    pub epoch: usize,
    /// Steps done so far.
    pub step: usize,
    /// Augmentation stream, positioned after the epoch's visiting order and `step` batches.
    pub(super) data_rng: MixRng,
    /// Mixing stream.
    pub(super) mix_rng: MixRng,
    /// Sum of the losses of the updated batches (float, on the device).
    pub(super) loss_sum: Tensor,
    /// Correct arg-max predictions of the updated batches (int64, on the device).
    pub(super) correct: Tensor,
    /// The first non-finite step.
    pub(super) watch: NonFiniteWatch,
    /// Skipped batches and phase times so far.
    pub(super) stats: TrainStats,
}

/// The host-side part of an [`EpochState`], kept as JSON in a checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochStateMeta {
    epoch: usize,
    step: usize,
    data_rng: RngState,
    mix_rng: RngState,
    skipped: usize,
    times: [f64; 6],
}

/// Names of the tensors of an [`EpochState`] in a checkpoint.
const TENSORS: [&str; 4] = ["loss_sum", "correct", "watch_step", "watch_logits_finite"];

impl EpochState {
    /// The state before the first step of `epoch` of a run seeded with `seed`, over `len`
    /// training images: the streams derived from `(seed, epoch)`, with the visiting order
    /// ([`EpochState::order`]) already drawn from the data stream.
    pub fn start(epoch: usize, seed: u64, len: usize, device: Device) -> Self {
        let mut data_rng = MixRng::seed_from(stream_seed(seed, epoch, 0));
        data_rng.permutation(len);
        EpochState {
            epoch,
            step: 0,
            data_rng,
            mix_rng: MixRng::seed_from(stream_seed(seed, epoch, 1)),
            loss_sum: Tensor::zeros([], (Kind::Float, device)),
            correct: Tensor::zeros([], (Kind::Int64, device)),
            watch: NonFiniteWatch::new(device),
            stats: TrainStats::default(),
        }
    }

    /// Wall seconds the epoch's batch loop ran before this state was saved (0 for a fresh
    /// epoch): a resumed epoch's time includes them.
    pub fn seconds_so_far(&self) -> f64 {
        self.stats.time_loop
    }

    /// The epoch's visiting order of `len` images (the first draws of its data stream).
    pub fn order(epoch: usize, seed: u64, len: usize) -> Vec<i64> {
        MixRng::seed_from(stream_seed(seed, epoch, 0)).permutation(len)
    }

    /// Splits the state into its JSON part and its named tensors (for a checkpoint).
    pub fn to_parts(&self) -> (EpochStateMeta, Vec<(String, Tensor)>) {
        let s = &self.stats;
        let meta = EpochStateMeta {
            epoch: self.epoch,
            step: self.step,
            data_rng: self.data_rng.state(),
            mix_rng: self.mix_rng.state(),
            skipped: s.skipped,
            times: [
                s.time_data,
                s.time_saliency,
                s.time_mix,
                s.time_forward_backward,
                s.time_optimizer,
                s.time_loop,
            ],
        };
        let tensors = [
            &self.loss_sum,
            &self.correct,
            &self.watch.step,
            &self.watch.logits_finite,
        ];
        let named = TENSORS
            .iter()
            .zip(tensors)
            .map(|(name, t)| (name.to_string(), t.to_device(Device::Cpu)))
            .collect();
        (meta, named)
    }

    /// Rebuilds a state from [`EpochState::to_parts`]'s output on `device`.
    pub fn from_parts(
        meta: &EpochStateMeta,
        mut tensors: Vec<(String, Tensor)>,
        device: Device,
    ) -> Result<Self> {
        let mut take = |name: &str| -> Result<Tensor> {
            let at = tensors
                .iter()
                .position(|(n, _)| n == name)
                .with_context(|| format!("the epoch state has no tensor `{name}`"))?;
            Ok(tensors.swap_remove(at).1.to_device(device))
        };
        let (loss_sum, correct) = (take(TENSORS[0])?, take(TENSORS[1])?);
        let watch = NonFiniteWatch {
            step: take(TENSORS[2])?,
            logits_finite: take(TENSORS[3])?,
        };
        let rng = |state: &RngState| MixRng::from_state(state).map_err(anyhow::Error::msg);
        let [data, saliency, mix, forward_backward, optimizer, looped] = meta.times;
        Ok(EpochState {
            epoch: meta.epoch,
            step: meta.step,
            data_rng: rng(&meta.data_rng)?,
            mix_rng: rng(&meta.mix_rng)?,
            loss_sum,
            correct,
            watch,
            stats: TrainStats {
                skipped: meta.skipped,
                time_data: data,
                time_saliency: saliency,
                time_mix: mix,
                time_forward_backward: forward_backward,
                time_optimizer: optimizer,
                time_loop: looped,
                ..TrainStats::default()
            },
        })
    }

    /// The epoch's statistics after its last step (`total` batches of `batch_size`): reads the
    /// device sums once, and fails when a step had a non-finite loss.
    pub(super) fn finish(
        mut self,
        total: usize,
        batch_size: usize,
        describe_failure: impl FnOnce(usize, bool) -> String,
    ) -> Result<TrainStats> {
        if let Some((step, logits_finite)) = self.watch.first() {
            bail!("{}", describe_failure(step, logits_finite));
        }
        self.stats.batches = total;
        let used = total - self.stats.skipped;
        if used > 0 {
            self.stats.loss = self.loss_sum.double_value(&[]) / used as f64;
            self.stats.accuracy =
                100.0 * self.correct.int64_value(&[]) as f64 / (used * batch_size) as f64;
        }
        Ok(self.stats)
    }
}

/// The first step of an epoch whose logits or loss are not finite, tracked on the device so
/// that training steps need no host synchronisation (read once, at the end of the epoch).
pub(super) struct NonFiniteWatch {
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
    pub(super) fn record(&mut self, step: usize, logits: &Tensor, loss: &Tensor) {
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
/// finaliser over the three, so nearby inputs give unrelated streams). Streams 0 and 1 are
/// an epoch's data and mixing streams; stream `2 + step` seeds libtorch's generator before
/// that step for models that draw from it (dropout).
pub(super) fn stream_seed(seed: u64, epoch: usize, stream: u64) -> u64 {
    let mut z = seed
        ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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

    /// A state taken apart for a checkpoint and rebuilt has the same streams, sums, watch and
    /// statistics.
    #[test]
    fn an_epoch_state_survives_its_checkpoint_parts() {
        let mut state = EpochState::start(3, 11, 50, Device::Cpu);
        state.step = 4;
        state.data_rng.uniform(0.0, 1.0);
        state.loss_sum += 2.5;
        state.correct += 17;
        state
            .watch
            .record(2, &Tensor::from_slice(&[f32::NAN]), &Tensor::from(1.0f32));
        state.stats.skipped = 1;
        state.stats.time_mix = 0.25;
        let (meta, tensors) = state.to_parts();
        let json = serde_json::to_string(&meta).unwrap();
        let meta: EpochStateMeta = serde_json::from_str(&json).unwrap();
        let mut back = EpochState::from_parts(&meta, tensors, Device::Cpu).unwrap();
        assert_eq!((back.epoch, back.step), (3, 4));
        assert_eq!(
            back.data_rng.uniform(0.0, 1.0),
            state.data_rng.uniform(0.0, 1.0)
        );
        assert_eq!(back.mix_rng.below(1000), state.mix_rng.below(1000));
        assert_eq!(back.loss_sum.double_value(&[]), 2.5);
        assert_eq!(back.correct.int64_value(&[]), 17);
        assert_eq!(back.watch.first(), Some((2, false)));
        assert_eq!((back.stats.skipped, back.stats.time_mix), (1, 0.25));
        let missing = EpochState::from_parts(&meta, Vec::new(), Device::Cpu);
        assert!(missing.err().unwrap().to_string().contains("loss_sum"));
    }
}
