//! The robustness suite: a trained cell's checkpoint evaluated on its test split under
//! Gaussian noise, FGSM, PGD and (when the user has them) the CIFAR-10-C / CIFAR-100-C
//! corruptions.
//!
//! - **Gaussian noise**: `clamp(u + std * n, 0, 1)` with `u` the image in `[0, 1]` pixel units
//!   (before normalisation) and `n` standard normal noise drawn per image from the suite's seed,
//!   so every method sees the same noise.
//! - **FGSM**: one step `clamp(u + eps/255 * sign(g), 0, 1)`, `g` the gradient of the mean
//!   cross-entropy of the true label with respect to the normalised input, eval mode,
//!   re-normalised before scoring: Puzzle Mix's `validate(fgsm=True)` (see `docs/training.md`, *FGSM evaluation*).
//! - **PGD** (option): `steps` steps of `step_size/255` along the gradient sign, each projected
//!   onto the L-infinity ball of radius `eps/255` and clamped to `[0, 1]`, from a uniform random
//!   start in the ball (seeded per image) or from the clean image.
//! - **CIFAR-C**: `<root>/<corruption>.npy` (uint8 `[5 * n, H, W, C]`, severity `s` in rows
//!   `(s - 1) * n .. s * n`) with `<root>/labels.npy`, normalised with the cell's constants.
//!
//! The output of a cell is `cells/<cell>/robustness.csv` (one [`RobustnessRow`] per corruption
//! and severity, the clean accuracy first); the run-level files and plots are written by
//! [`report`]. Everything is batched and on the cell's device (CUDA when present); on the CPU a
//! rerun gives the same numbers bit for bit.

pub mod attacks;
pub mod npy;
pub use mixbench_results::evaluations::robustness::{report, rows};

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use self::attacks::{image_seed, PixelNormalize};
use self::rows::write_cell_csv;
pub use self::rows::{average_robust, read_cell_csv, RobustnessRow, CELL_CSV};
use super::kind::{Evaluation, SettingError};
use crate::cell::TrainedCell;
use crate::data::DataSpec;
use crate::engine::DeviceImages;
use crate::models::Classifier;
use mixbench_results::evaluations::EvaluationResults;

/// The 15 benchmark corruptions of CIFAR-10-C / CIFAR-100-C (Hendrycks and Dietterich, 2019),
/// the default list of `cifar_c.corruptions`.
pub const CIFAR_C_CORRUPTIONS: [&str; 15] = [
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
];

fn default_batch_size() -> usize {
    100
}

/// What a suite's `evaluations.robustness` asks for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobustnessConfig {
    /// Standard deviations of Gaussian noise in `[0, 1]` pixel units (e.g. `[0.04, 0.08]`).
    #[serde(default)]
    pub noise: Vec<f64>,
    /// FGSM epsilons in units of 1/255 (e.g. `[4, 8]`).
    #[serde(default)]
    pub fgsm: Vec<f64>,
    /// PGD, when wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pgd: Option<PgdConfig>,
    /// CIFAR-10-C / CIFAR-100-C, when the user has the files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cifar_c: Option<CifarCConfig>,
    /// Evaluate on a seeded random subset of this many test images (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_images: Option<usize>,
    /// Images per batch.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Seed of the image subset, the noise and PGD's random start.
    #[serde(default)]
    pub seed: u64,
}

fn default_pgd_steps() -> usize {
    10
}
fn default_pgd_step_size() -> f64 {
    2.0
}
fn default_true() -> bool {
    true
}

/// PGD settings of a suite (units of 1/255).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgdConfig {
    /// Radii of the L-infinity ball, in 1/255.
    pub eps: Vec<f64>,
    /// Steps (default 10).
    #[serde(default = "default_pgd_steps")]
    pub steps: usize,
    /// Step size in 1/255 (default 2).
    #[serde(default = "default_pgd_step_size")]
    pub step_size: f64,
    /// Uniform random start in the ball (default true).
    #[serde(default = "default_true")]
    pub random_start: bool,
}

fn default_severities() -> Vec<usize> {
    vec![1, 2, 3, 4, 5]
}
fn default_corruptions() -> Vec<String> {
    CIFAR_C_CORRUPTIONS.iter().map(|s| s.to_string()).collect()
}

/// The CIFAR-10-C / CIFAR-100-C files to evaluate on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CifarCConfig {
    /// Folder holding `<corruption>.npy` and `labels.npy` (relative to the suite file).
    pub root: PathBuf,
    /// Corruption names (default: the 15 benchmark corruptions).
    #[serde(default = "default_corruptions")]
    pub corruptions: Vec<String>,
    /// Severities, 1 to 5 (default all).
    #[serde(default = "default_severities")]
    pub severities: Vec<usize>,
}

impl RobustnessConfig {
    /// Checks values serde cannot; the error names the offending key (the caller locates it).
    pub fn check(&self) -> std::result::Result<(), (&'static str, String)> {
        let bad = |key: &'static str, msg: String| Err((key, msg));
        if self.noise.is_empty()
            && self.fgsm.is_empty()
            && self.pgd.is_none()
            && self.cifar_c.is_none()
        {
            return bad(
                "robustness",
                "robustness: give at least one of `noise`, `fgsm`, `pgd`, `cifar_c`".into(),
            );
        }
        if let Some(s) = self.noise.iter().find(|s| !(0.0..=1.0).contains(*s)) {
            return bad(
                "noise",
                format!("robustness.noise: standard deviations are in [0, 1] pixel units, got {s}"),
            );
        }
        if let Some(e) = self.fgsm.iter().find(|e| !(0.0..=255.0).contains(*e)) {
            return bad(
                "fgsm",
                format!("robustness.fgsm: epsilons are in 1/255 units, in [0, 255], got {e}"),
            );
        }
        if let Some(p) = &self.pgd {
            if p.eps.is_empty() || p.eps.iter().any(|e| !(0.0..=255.0).contains(e)) {
                return bad(
                    "pgd",
                    "robustness.pgd.eps: one or more epsilons in [0, 255] (1/255 units)".into(),
                );
            }
            if p.steps == 0 || !(p.step_size > 0.0 && p.step_size.is_finite()) {
                return bad(
                    "pgd",
                    "robustness.pgd: steps >= 1 and a positive step_size".into(),
                );
            }
        }
        if let Some(c) = &self.cifar_c {
            if c.corruptions.is_empty() || c.severities.is_empty() {
                return bad(
                    "cifar_c",
                    "robustness.cifar_c: corruptions and severities must not be empty".into(),
                );
            }
            if let Some(s) = c.severities.iter().find(|s| !(1..=5).contains(*s)) {
                return bad(
                    "severities",
                    format!("robustness.cifar_c.severities: severities are 1 to 5, got {s}"),
                );
            }
        }
        if self.batch_size == 0 || self.max_images == Some(0) {
            return bad(
                "robustness",
                "robustness: batch_size and max_images must be positive".into(),
            );
        }
        Ok(())
    }
}

/// Perturbation family ids in the per-image seeds.
const NOISE: u64 = 1;
const PGD_START: u64 = 2;

/// Sorted indices of a seeded random subset of `max` out of `n` items (all when `max` is
/// absent or at least `n`).
pub fn subset_indices(n: usize, max: Option<usize>, seed: u64) -> Vec<usize> {
    match max {
        Some(m) if m < n => {
            let mut rng = mixbench_core::MixRng::seed_from(seed);
            let mut chosen: Vec<usize> = rng.permutation(n)[..m]
                .iter()
                .map(|&i| i as usize)
                .collect();
            chosen.sort_unstable();
            chosen
        }
        _ => (0..n).collect(),
    }
}

/// Top-1 (percent) of `model` on `images` after `perturb(pixels, labels, image ids)`, batch by
/// batch. `ids[i]` is the id of image `i` of `images` (its index in the full test split), from
/// which per-image random draws are seeded.
pub fn accuracy_under(
    model: &dyn Classifier,
    norm: &PixelNormalize,
    images: &DeviceImages,
    ids: &[usize],
    batch_size: usize,
    mut perturb: impl FnMut(&Tensor, &Tensor, &[usize]) -> Tensor,
) -> f64 {
    let n = images.len();
    let mut hits = 0i64;
    let mut start = 0;
    while start < n {
        let len = batch_size.min(n - start);
        let pixels = images
            .images
            .narrow(0, start as i64, len as i64)
            .to_kind(Kind::Float)
            / 255.0;
        let labels = images.labels.narrow(0, start as i64, len as i64);
        let perturbed = perturb(&pixels, &labels, &ids[start..start + len]);
        hits += attacks::correct(model, norm, &perturbed, &labels);
        start += len;
    }
    100.0 * hits as f64 / n.max(1) as f64
}

/// Runs every evaluation `config` asks for on the trained cell in `dir`; returns the rows, the
/// clean accuracy first. Relative CIFAR-C paths are resolved against the cell's suite folder.
pub fn evaluate_cell(
    trained: &TrainedCell,
    config: &RobustnessConfig,
) -> Result<Vec<RobustnessRow>> {
    let cell = &trained.config;
    let device = trained.device;
    let data = cell
        .dataset
        .load(&cell.base_dir)
        .with_context(|| format!("loading dataset of cell {}", cell.cell))?;
    let (_vs, model) = trained.load_classifier(data.num_classes() as i64)?;
    let mean: Vec<f64> = data.mean.iter().map(|&v| v as f64).collect();
    let std: Vec<f64> = data.std.iter().map(|&v| v as f64).collect();
    let norm = PixelNormalize::new(&mean, &std, device);
    let ids = subset_indices(data.test.len(), config.max_images, config.seed);
    let test = DeviceImages::upload(&data.test.subset(&ids), device);
    let n = test.len();
    let bs = config.batch_size;
    let model = model.as_ref();
    let seed = config.seed;
    let mut rows = Vec::new();
    let mut timed = |corruption: &str, severity: usize, level: f64, f: &mut dyn FnMut() -> f64| {
        let started = Instant::now();
        let top1 = f();
        rows.push(RobustnessRow {
            corruption: corruption.into(),
            severity,
            level,
            top1,
            images: n,
            seconds: started.elapsed().as_secs_f64(),
        });
    };
    timed("clean", 0, 0.0, &mut || {
        accuracy_under(model, &norm, &test, &ids, bs, |px, _, _| px.shallow_clone())
    });
    for (i, &s) in config.noise.iter().enumerate() {
        timed("noise", i + 1, s, &mut || {
            accuracy_under(model, &norm, &test, &ids, bs, |px, _, id| {
                let seeds: Vec<u64> = id
                    .iter()
                    .map(|&j| image_seed(seed, NOISE, i as u64, j as u64))
                    .collect();
                attacks::gaussian_noise(px, s, &seeds)
            })
        });
    }
    for (i, &e) in config.fgsm.iter().enumerate() {
        timed("fgsm", i + 1, e, &mut || {
            accuracy_under(model, &norm, &test, &ids, bs, |px, lb, _| {
                attacks::fgsm(model, &norm, px, lb, e / 255.0)
            })
        });
    }
    if let Some(p) = &config.pgd {
        for (i, &e) in p.eps.iter().enumerate() {
            let pgd = attacks::Pgd {
                eps: e / 255.0,
                step_size: p.step_size / 255.0,
                steps: p.steps,
                random_start: p.random_start,
            };
            timed("pgd", i + 1, e, &mut || {
                accuracy_under(model, &norm, &test, &ids, bs, |px, lb, id| {
                    let start = pgd.random_start.then(|| {
                        let seeds: Vec<u64> = id
                            .iter()
                            .map(|&j| image_seed(seed, PGD_START, i as u64, j as u64))
                            .collect();
                        attacks::uniform_offsets(px, &seeds)
                    });
                    attacks::pgd(model, &norm, px, lb, &pgd, start.as_ref())
                })
            });
        }
    }
    drop(test);
    if let Some(c) = &config.cifar_c {
        let root = crate::data::resolve_path(&cell.base_dir, &c.root);
        let shape = (data.test.channels, data.test.height, data.test.width);
        let k = data.num_classes() as i64;
        let labels_path = root.join("labels.npy");
        let labels = npy::read_integers(&labels_path)?;
        ensure!(
            labels.shape.len() == 1,
            "{}: labels must be one-dimensional, found shape {:?}",
            labels_path.display(),
            labels.shape
        );
        if let Some(bad) = labels.data.iter().find(|&&l| l < 0 || l >= k) {
            anyhow::bail!(
                "{}: label {bad} out of range for the cell's {k} classes",
                labels_path.display()
            );
        }
        for name in &c.corruptions {
            let path = root.join(format!("{name}.npy"));
            let array = npy::read_u8(&path)?;
            let s = &array.shape;
            ensure!(
                s.len() == 4 && s[0] % 5 == 0 && (s[3], s[1], s[2]) == shape,
                "{}: expected uint8 [5 * n, {}, {}, {}] (five severities of n test images, \
                 height, width, channels), found {:?}",
                path.display(),
                shape.1,
                shape.2,
                shape.0,
                s
            );
            ensure!(
                labels.data.len() == s[0],
                "{}: {} images but {} has {} labels",
                path.display(),
                s[0],
                labels_path.display(),
                labels.data.len()
            );
            let block = s[0] / 5;
            let ids = subset_indices(block, config.max_images, config.seed);
            for &severity in &c.severities {
                let rows_of: Vec<usize> = ids.iter().map(|&i| (severity - 1) * block + i).collect();
                let images = nhwc_to_device(&array.data, s, &rows_of, device);
                let set = DeviceImages {
                    images,
                    labels: Tensor::from_slice(
                        &rows_of.iter().map(|&r| labels.data[r]).collect::<Vec<_>>(),
                    )
                    .to_device(device),
                };
                let started = Instant::now();
                let top1 =
                    accuracy_under(model, &norm, &set, &ids, bs, |px, _, _| px.shallow_clone());
                rows.push(RobustnessRow {
                    corruption: name.clone(),
                    severity,
                    level: severity as f64,
                    top1,
                    images: ids.len(),
                    seconds: started.elapsed().as_secs_f64(),
                });
            }
        }
    }
    Ok(rows)
}

/// The images at `rows` of an NHWC u8 array, as a u8 NCHW tensor on `device`.
fn nhwc_to_device(data: &[u8], shape: &[usize], rows: &[usize], device: Device) -> Tensor {
    let per = shape[1] * shape[2] * shape[3];
    let mut out = Vec::with_capacity(rows.len() * per);
    for &r in rows {
        out.extend_from_slice(&data[r * per..(r + 1) * per]);
    }
    Tensor::from_slice(&out)
        .view([
            rows.len() as i64,
            shape[1] as i64,
            shape[2] as i64,
            shape[3] as i64,
        ])
        .permute([0, 3, 1, 2])
        .contiguous()
        .to_device(device)
}

/// The `robustness` evaluation: accuracy of each trained cell under noise, FGSM, PGD and
/// CIFAR-C.
pub struct Robustness;

impl Evaluation for Robustness {
    type Settings = RobustnessConfig;

    fn results(&self) -> &'static dyn EvaluationResults {
        &mixbench_results::evaluations::robustness::RobustnessResults
    }

    fn summary(&self) -> &'static str {
        "top-1 under Gaussian noise, FGSM, PGD and CIFAR-10-C / CIFAR-100-C corruptions"
    }

    fn check(&self, settings: &RobustnessConfig, _: &[DataSpec]) -> Result<(), SettingError> {
        settings
            .check()
            .map_err(|(key, message)| SettingError::new(key, message))
    }

    fn evaluate(&self, cell: &TrainedCell, settings: &RobustnessConfig) -> Result<()> {
        let rows = evaluate_cell(cell, settings)?;
        write_cell_csv(&cell.dir, &rows)
    }
}
