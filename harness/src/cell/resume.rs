//! A cell's resume checkpoint, `resume.safetensors`: everything an unfinished cell needs to
//! carry on exactly where it stopped.
//!
//! One safetensors file holds the model's variables (weights and batch-norm buffers) under
//! `model/`, the optimizer's momentum buffers under `optimizer/`, the on-device sums of an
//! epoch stopped mid-way under `epoch/`, and a JSON document as a u8 tensor `meta`: the format,
//! the cell's computation hash, the epochs done, the `metrics.csv` rows so far and the host
//! side of a stopped epoch (its random streams' positions). The learning-rate schedule is a
//! function of the epoch, and each epoch's streams are derived from `(seed, epoch)`, so nothing
//! else is needed. The file is replaced atomically (write, fsync, rename): a kill leaves the
//! previous checkpoint or the new one.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::engine::epoch::EpochStateMeta;
use crate::engine::{EpochState, Trainer};
use crate::records::{self, EpochMetrics};

/// Version of the checkpoint layout; a checkpoint of another version is not resumed.
const FORMAT: u32 = 1;

/// The JSON part of a checkpoint.
#[derive(Serialize, Deserialize)]
struct Meta {
    format: u32,
    computation_hash: String,
    epochs_done: usize,
    rows: Vec<EpochMetrics>,
    epoch: Option<EpochStateMeta>,
}

/// Where a cell stands when it resumes.
pub struct Resumed {
    /// Epochs finished (their rows are in `rows`).
    pub epochs_done: usize,
    /// The `metrics.csv` rows of those epochs, as they were written.
    pub rows: Vec<EpochMetrics>,
    /// The epoch stopped mid-way, if the checkpoint was taken inside one.
    pub epoch: Option<EpochState>,
}

/// What a checkpoint saves besides the trainer.
pub struct Progress<'a> {
    /// The cell's [`crate::cell::CellConfig::computation_hash`].
    pub computation_hash: &'a str,
    /// Epochs finished.
    pub epochs_done: usize,
    /// Their metrics rows.
    pub rows: &'a [EpochMetrics],
    /// The epoch stopped mid-way, if any.
    pub epoch: Option<&'a EpochState>,
}

/// Writes the checkpoint of `trainer` at `progress` into the cell folder `dir`, atomically.
pub fn save(dir: &Path, trainer: &Trainer, progress: &Progress) -> Result<()> {
    let (epoch_meta, epoch_tensors) = match progress.epoch {
        Some(state) => {
            let (meta, tensors) = state.to_parts();
            (Some(meta), tensors)
        }
        None => (None, Vec::new()),
    };
    let meta = Meta {
        format: FORMAT,
        computation_hash: progress.computation_hash.to_string(),
        epochs_done: progress.epochs_done,
        rows: progress.rows.to_vec(),
        epoch: epoch_meta,
    };
    let json = serde_json::to_vec(&meta)?;
    let mut tensors: Vec<(String, Tensor)> = vec![("meta".into(), Tensor::from_slice(&json))];
    let mut variables: Vec<(String, Tensor)> = trainer.vs.variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    tensors.extend(
        variables
            .into_iter()
            .map(|(n, t)| (format!("model/{n}"), t)),
    );
    tensors.extend(
        (trainer.optimizer().state().into_iter()).map(|(n, t)| (format!("optimizer/{n}"), t)),
    );
    tensors.extend(
        epoch_tensors
            .into_iter()
            .map(|(n, t)| (format!("epoch/{n}"), t)),
    );
    let path = dir.join(records::RESUME);
    records::replace_atomic(&path, |tmp| {
        Tensor::write_safetensors(&tensors, tmp).map_err(anyhow::Error::from)
    })
    .context("saving the resume checkpoint")
}

/// Loads the checkpoint in the cell folder `dir` into `trainer` (on `device`) when there is
/// one made by a cell computing `computation_hash`. `Ok(None)` when there is none; an error
/// when it was made by another configuration or cannot be read (the caller decides whether to
/// start over).
pub fn load(
    dir: &Path,
    computation_hash: &str,
    trainer: &mut Trainer,
    device: Device,
) -> Result<Option<Resumed>> {
    let path = dir.join(records::RESUME);
    if !path.exists() {
        return Ok(None);
    }
    let tensors =
        Tensor::read_safetensors(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut meta_bytes = None;
    let (mut model, mut optimizer, mut epoch) = (Vec::new(), Vec::new(), Vec::new());
    for (name, tensor) in tensors {
        if name == "meta" {
            meta_bytes = Some(Vec::<u8>::try_from(&tensor.to_kind(Kind::Uint8))?);
        } else if let Some(n) = name.strip_prefix("model/") {
            model.push((n.to_string(), tensor));
        } else if let Some(n) = name.strip_prefix("optimizer/") {
            optimizer.push((n.to_string(), tensor));
        } else if let Some(n) = name.strip_prefix("epoch/") {
            epoch.push((n.to_string(), tensor));
        } else {
            bail!("{}: unexpected tensor `{name}`", path.display());
        }
    }
    let meta: Meta = serde_json::from_slice(
        &meta_bytes.with_context(|| format!("{}: no `meta` entry", path.display()))?,
    )
    .with_context(|| format!("{}: parsing its `meta` entry", path.display()))?;
    if meta.format != FORMAT {
        bail!(
            "{} has checkpoint format {}, this mixbench reads {FORMAT}",
            path.display(),
            meta.format
        );
    }
    if meta.computation_hash != computation_hash {
        bail!(
            "{} was saved by a cell with another configuration (hash {}, this cell's is \
             {computation_hash})",
            path.display(),
            meta.computation_hash
        );
    }
    let variables = trainer.vs.variables();
    if model.len() != variables.len() {
        bail!(
            "{} holds {} model variables, the model has {}",
            path.display(),
            model.len(),
            variables.len()
        );
    }
    tch::no_grad(|| -> Result<()> {
        for (name, saved) in &model {
            let mut variable = variables
                .get(name)
                .with_context(|| format!("{}: the model has no `{name}`", path.display()))?
                .shallow_clone();
            if variable.size() != saved.size() {
                bail!(
                    "{}: `{name}` is {:?}, the model's is {:?}",
                    path.display(),
                    saved.size(),
                    variable.size()
                );
            }
            variable.copy_(saved);
        }
        Ok(())
    })?;
    trainer.optimizer_mut().load_state(optimizer)?;
    let state = match &meta.epoch {
        Some(epoch_meta) => Some(EpochState::from_parts(epoch_meta, epoch, device)?),
        None => None,
    };
    Ok(Some(Resumed {
        epochs_done: meta.epochs_done,
        rows: meta.rows,
        epoch: state,
    }))
}
