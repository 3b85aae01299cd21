//! Where a cell runs and how a trained cell is opened again: device selection and checkpoint
//! loading, shared by training and every evaluation.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use tch::{nn, Device};

use super::config::{CellConfig, DeviceChoice};
use crate::models::{Classifier, ModelKind};
use crate::records;

/// The device a training config asks for.
pub fn select_device(choice: DeviceChoice) -> Result<Device> {
    Ok(match choice {
        DeviceChoice::Cpu => Device::Cpu,
        DeviceChoice::Auto => Device::cuda_if_available(),
        DeviceChoice::Cuda if tch::Cuda::is_available() => Device::Cuda(0),
        DeviceChoice::Cuda => {
            bail!("training.device is `cuda` but CUDA is not available (run `mixbench doctor`)")
        }
    })
}

/// A trained cell opened for evaluation: its configuration and the device it is evaluated on
/// (the training recipe's device choice and thread count, applied to this process).
pub struct TrainedCell {
    /// The cell folder.
    pub dir: PathBuf,
    /// Its resolved configuration, read from `config.yaml`.
    pub config: CellConfig,
    /// The device evaluations run on.
    pub device: Device,
}

/// Opens the trained cell in `dir`: reads its configuration, applies its thread count and
/// selects its device.
pub fn open_trained(dir: &Path) -> Result<TrainedCell> {
    let config = CellConfig::read(dir)?;
    if let Some(threads) = config.training.threads {
        tch::set_num_threads(threads);
    }
    let device = select_device(config.training.device)?;
    Ok(TrainedCell {
        dir: dir.to_path_buf(),
        config,
        device,
    })
}

impl TrainedCell {
    /// The cell's model with `num_classes` outputs, its checkpoint loaded and frozen (no
    /// parameter gradients), on the cell's device.
    pub fn load_classifier(&self, num_classes: i64) -> Result<(nn::VarStore, Box<dyn Classifier>)> {
        load_classifier(&self.dir, self.config.model, num_classes, self.device)
    }
}

/// Builds `kind` for `num_classes` outputs on `device` and loads the checkpoint of the cell in
/// `dir` into it, frozen (no parameter gradients), for evaluation.
pub fn load_classifier(
    dir: &Path,
    kind: ModelKind,
    num_classes: i64,
    device: Device,
) -> Result<(nn::VarStore, Box<dyn Classifier>)> {
    let mut vs = nn::VarStore::new(device);
    let model = kind.build(&vs.root(), num_classes);
    let path = dir.join(records::CHECKPOINT);
    vs.load(&path)
        .with_context(|| format!("loading checkpoint {}", path.display()))?;
    vs.freeze();
    Ok((vs, model))
}
