//! The training engine: batches on the device, the reference augmentation, the optional
//! saliency pass, the method's mixing, the loss, SGD, evaluation, and per-phase timing.

pub mod augment;
pub mod epoch;
pub mod loss;
pub mod saliency;
pub mod schedule;
pub mod sgd;
pub mod timer;
mod trainer;

pub use epoch::{EpochState, TrainStats};
pub use trainer::{
    mixed_logits, DeviceImages, EpochEnd, EvalStats, NonFinite, Trainer, TrainerConfig,
};
