//! The training engine: batches on the device, the reference augmentation, the optional
//! saliency pass, the method's mixing, the loss, SGD, evaluation, and per-phase timing.

pub mod augment;
pub mod loss;
pub mod saliency;
pub mod schedule;
pub mod sgd;
pub mod timer;
mod trainer;

pub use trainer::{
    mixed_logits, DeviceImages, EvalStats, NonFinite, TrainStats, Trainer, TrainerConfig,
};
