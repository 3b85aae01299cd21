//! One grid cell: its resolved configuration ([`config`]), the device it runs on and how a
//! trained cell's checkpoint is loaded again ([`device`]), training it ([`train`]) and its
//! resume checkpoints ([`resume`]). Below the evaluations and the executor, above the engine.

pub mod config;
pub mod device;
pub mod resume;
pub mod train;

pub use config::{cell_id, CellConfig, DeviceChoice, Isolation, MethodSpec, TrainingConfig};
pub use device::{load_classifier, open_trained, select_device, TrainedCell};
pub use train::{build_trainer, train_cell, trainer_config, THREADS_ENV};
