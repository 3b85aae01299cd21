//! The files a grid cell leaves behind, which reports are rebuilt from: `cell.json`
//! ([`CellInfo`]), `metrics.csv` (one [`EpochMetrics`] row per epoch), and the `done` marker
//! written last. These formats are an interface (documented in `docs/outputs.md`): add columns at the
//! end, never rename or reorder them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use mixbench_params::ResolvedParams;
use serde::{Deserialize, Serialize};

/// File name of a cell's description.
pub const CELL_INFO: &str = "cell.json";
/// File name of a cell's per-epoch metrics.
pub const METRICS: &str = "metrics.csv";
/// File name of the completion marker, written after everything else.
pub const DONE: &str = "done";
/// File name of the failure record of a cell whose process failed.
pub const FAILED: &str = "failed";
/// File name of a cell's resolved configuration.
pub const CONFIG: &str = "config.yaml";
/// File name of a cell's final checkpoint (model weights).
pub const CHECKPOINT: &str = "model.safetensors";
/// File name of a cell's last epoch checkpoint, from which an unfinished cell resumes; removed
/// once the cell is done.
pub const RESUME: &str = "resume.safetensors";
/// Folder under a run directory holding one sub-folder per cell.
pub const CELLS_DIR: &str = "cells";

/// Who and what produced a cell: everything a report row needs to name its source.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CellInfo {
    /// Cell identifier, also its folder name: `<dataset>-<model>-<method>-s<seed>`.
    pub cell: String,
    /// Suite name.
    pub suite: String,
    /// Dataset label.
    pub dataset: String,
    /// Model name.
    pub model: String,
    /// Method label (the registry name, or a user label for a parameter variant).
    pub method: String,
    /// Registry name of the method.
    pub method_name: String,
    /// Method parameters resolved against the method's typed struct (every default filled
    /// in; a `cell.json` written before the resolved form holds the `key=value` list of the
    /// keys its suite spelled out, read as those keys alone).
    pub method_params: ResolvedParams,
    /// Training seed.
    pub seed: u64,
    /// Number of epochs configured.
    pub epochs: usize,
    /// First 16 hex digits of the SHA-256 of the cell's resolved configuration, without the
    /// keys that only say how it runs (isolation, checkpoint interval): equal for equal
    /// computations.
    pub config_hash: String,
    /// mixbench version and git commit, e.g. `0.1.0+3f2a9c1`.
    pub code_version: String,
    /// Device the cell ran on, e.g. `cpu (2 threads)` or `cuda:0 NVIDIA H100`.
    pub device: String,
    /// libtorch version.
    pub libtorch: String,
    /// Number of trainable parameters of the model.
    pub parameters: i64,
    /// Training and test set sizes.
    pub train_images: usize,
    /// Test set size.
    pub test_images: usize,
}

/// One row of `metrics.csv`: the state after one epoch. Times are wall seconds of each phase,
/// summed over the epoch, measured with device synchronisation on CUDA.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EpochMetrics {
    /// Epoch index, from 0.
    pub epoch: usize,
    /// Learning rate used during the epoch.
    pub lr: f64,
    /// Mean training loss over the epoch's batches (the configured loss on mixed batches).
    pub train_loss: f64,
    /// Training accuracy, percent: argmax of the logits equals argmax of the soft target.
    pub train_acc: f64,
    /// Mean cross-entropy on the test set.
    pub test_loss: f64,
    /// Test top-1 accuracy, percent.
    pub test_top1: f64,
    /// Test top-5 accuracy, percent.
    pub test_top5: f64,
    /// Seconds spent assembling and augmenting batches.
    pub time_data: f64,
    /// Seconds in the saliency pass (0 for methods without one).
    pub time_saliency: f64,
    /// Seconds in the mixing method.
    pub time_mix: f64,
    /// Seconds in forward, loss and backward of the mixed batch.
    pub time_forward_backward: f64,
    /// Seconds zeroing gradients and in the optimizer step.
    pub time_optimizer: f64,
    /// Seconds evaluating the test set.
    pub time_eval: f64,
    /// Wall seconds of the whole epoch, evaluation included.
    pub time_epoch: f64,
    /// Batches whose update was skipped for a non-finite loss or gradient
    /// (`training.on_nonfinite: skip_batch`); absent in files written before the column
    /// existed, read as 0.
    #[serde(default)]
    pub skipped_batches: usize,
}

/// First 16 hex digits of the SHA-256 of `text`: the settings hash of cell configurations
/// (`cell.json`'s `config_hash`) and of evaluation settings (the `<kind>.done` markers).
pub fn short_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads `cell.json` from a cell folder.
pub fn read_cell_info(dir: &Path) -> Result<CellInfo> {
    let path = dir.join(CELL_INFO);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Reads every row of `metrics.csv` from a cell folder.
pub fn read_metrics(dir: &Path) -> Result<Vec<EpochMetrics>> {
    read_csv(&dir.join(METRICS))
}

/// Reads CSV rows, naming the file and row in errors.
pub fn read_csv<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    reader
        .deserialize()
        .enumerate()
        .map(|(i, row)| row.with_context(|| format!("{}: row {}", path.display(), i + 2)))
        .collect()
}

/// Serialisable rows as CSV bytes, the header taken from the first row.
pub fn csv_bytes<T: Serialize>(rows: impl IntoIterator<Item = T>) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.serialize(row)?;
    }
    Ok(w.into_inner()?)
}

/// Writes `bytes` to `path` atomically: a temporary file `<name>.<pid>.tmp` in the same folder,
/// written and flushed to disk (fsync), then renamed over `path`, and the folder synced. A
/// crash, a kill or a full disk leaves either the old file or the new one, never half of one;
/// a failed write removes its temporary file and leaves `path` as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_atomic(path, |tmp| {
        use std::io::Write;
        let mut file = std::fs::File::create(tmp)?;
        file.write_all(bytes)?;
        Ok(())
    })
}

/// As [`write_atomic`], for a file that `write` creates at the temporary path it is given
/// (a safetensors file written by libtorch, say); the file is then flushed to disk, renamed
/// over `path` and the folder synced.
pub fn replace_atomic(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    // One temporary name per process: processes sharing a run folder may replace the same
    // run-level file at once (each rename is atomic; the last one wins).
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    replace_through(path, &path.with_file_name(name), write)
}

/// As [`replace_atomic`], for a PNG image that `draw` writes at the temporary path it is given:
/// that path is `.<name>.<pid>.partial.png`, hidden and ending in `.png` so that image encoders
/// pick the format from it.
pub fn replace_png_atomic(path: &Path, draw: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.{}.partial.png", std::process::id()));
    replace_through(path, &tmp, draw)
}

/// Writes `path` through the temporary file `tmp`: `write` creates it, then it is synced,
/// renamed over `path` and the folder synced; on failure `tmp` is removed.
fn replace_through(path: &Path, tmp: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let written = write(tmp).and_then(|()| Ok(std::fs::File::open(tmp)?.sync_all()?));
    if let Err(err) = written {
        let _ = std::fs::remove_file(tmp);
        return Err(err).with_context(|| format!("writing {}", tmp.display()));
    }
    std::fs::rename(tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    // The rename is durable once the folder's entry is; best effort where folders cannot be
    // opened for syncing.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

/// An exclusive advisory lock (`flock`) on a file, held until dropped (or the process ends,
/// so a killed holder never leaves it taken).
pub struct FileLock {
    _file: std::fs::File,
}

/// Takes an exclusive lock on `path` (created if missing), waiting while another process
/// holds it. Serialises work that rewrites the same files, such as two `run` processes
/// building one run's report at the end.
pub fn lock_exclusive(path: &Path) -> Result<FileLock> {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening lock file {}", path.display()))?;
    loop {
        // SAFETY: flock on a descriptor this function owns; no memory is shared with the call.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(FileLock { _file: file });
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).with_context(|| format!("locking {}", path.display()));
        }
    }
}

/// The cell folders of a run directory, sorted by name.
pub fn cell_dirs(run_dir: &Path) -> Result<Vec<PathBuf>> {
    let cells = run_dir.join(CELLS_DIR);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&cells)
        .with_context(|| format!("listing {}", cells.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write that fails (its temporary file cannot be created: a folder stands there) is an
    /// error naming the file and leaves the existing file byte for byte; a good write replaces
    /// it and leaves no temporary file.
    #[test]
    fn a_failed_write_leaves_the_old_file_intact() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("metrics.csv");
        write_atomic(&path, b"epoch\n0\n").unwrap();
        let blocker = tmp
            .path()
            .join(format!("metrics.csv.{}.tmp", std::process::id()));
        std::fs::create_dir(&blocker).unwrap();
        let err = format!("{:#}", write_atomic(&path, b"epoch\n1\n").unwrap_err());
        assert!(err.contains(&*blocker.to_string_lossy()), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"epoch\n0\n");
        std::fs::remove_dir(&blocker).unwrap();
        write_atomic(&path, b"epoch\n1\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"epoch\n1\n");
        let names: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["metrics.csv"]);
        // A folder that does not exist: the error names the file.
        let missing = tmp.path().join("no-such-folder/done");
        let err = format!("{:#}", write_atomic(&missing, b"x").unwrap_err());
        assert!(err.contains("no-such-folder/done."), "{err}");
    }
}
