//! The few-shot suite, with the "good embedding" protocol of Tian et al. (ECCV 2020): a network
//! pre-trained on the base classes of a few-shot data set (a grid cell, trained with its
//! mixing method by the usual training loop) is frozen; for each episode (`N` novel classes,
//! `K` support and `Q` query images per class, seed-fixed and shared by all cells) a
//! multinomial logistic regression is fitted on the L2-normalised penultimate features of the
//! support images and scores the queries. Reported: the mean accuracy over episodes and its
//! 95% confidence half-width `1.96 * s / sqrt(episodes)`.
//!
//! A cell's results go to `cells/<cell>/fewshot.csv` (one [`FewShotRow`] per `(N, K)`) and
//! `cells/<cell>/fewshot-episodes.csv` (one [`EpisodeRow`] per episode); [`report`] gathers
//! them for the run.

pub mod episodes;
pub mod logreg;
pub use mixbench_results::evaluations::fewshot::{report, rows};

use std::path::Path;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use self::episodes::{sample_episodes, EpisodeShape};
use self::logreg::LogRegConfig;
pub use self::rows::{EpisodeRow, FewShotRow, CELL_CSV, CELL_EPISODES_CSV};
use super::kind::{Evaluation, SettingError};
use crate::cell::{CellConfig, TrainedCell};
use crate::data::{fewshot as data, DataSpec, ImageSet};
use crate::engine::augment::Normalize;
use crate::models::Classifier;
use crate::report::stats::mean_ci95;
use mixbench_results::evaluations::EvaluationResults;

fn default_ways() -> Vec<usize> {
    vec![5]
}
fn default_shots() -> Vec<usize> {
    vec![1, 5]
}
fn default_queries() -> usize {
    15
}
fn default_episodes() -> usize {
    600
}
fn default_batch() -> usize {
    100
}
fn default_c() -> f64 {
    1.0
}
fn default_max_iter() -> usize {
    1000
}
fn default_tol() -> f64 {
    1e-6
}

/// What a suite's `evaluations.fewshot` asks for; every key has a default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FewShotConfig {
    /// Classes per episode (default `[5]`).
    #[serde(default = "default_ways")]
    pub ways: Vec<usize>,
    /// Support images per class (default `[1, 5]`).
    #[serde(default = "default_shots")]
    pub shots: Vec<usize>,
    /// Query images per class (default 15).
    #[serde(default = "default_queries")]
    pub queries: usize,
    /// Episodes per `(N, K)` (default 600).
    #[serde(default = "default_episodes")]
    pub episodes: usize,
    /// Episode seed (default 0); the same for every cell, so methods share episodes.
    #[serde(default)]
    pub seed: u64,
    /// Images per batch when extracting features (default 100).
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Logistic regression's inverse regularisation strength (default 1.0, scikit-learn's).
    #[serde(default = "default_c")]
    pub c: f64,
    /// Logistic regression's iteration limit (default 1000, as Tian et al.).
    #[serde(default = "default_max_iter")]
    pub max_iter: usize,
    /// Logistic regression's convergence test on the largest gradient component (default 1e-6).
    #[serde(default = "default_tol")]
    pub tol: f64,
}

impl Default for FewShotConfig {
    fn default() -> Self {
        serde_norway::from_str("{}").expect("every field has a default")
    }
}

impl FewShotConfig {
    /// Checks values serde cannot; the error names the offending key.
    pub fn check(&self) -> std::result::Result<(), (&'static str, String)> {
        if self.ways.is_empty() || self.ways.iter().any(|&w| w < 2) {
            return Err(("ways", "fewshot.ways: one or more values >= 2".into()));
        }
        if self.shots.is_empty() || self.shots.contains(&0) {
            return Err(("shots", "fewshot.shots: one or more values >= 1".into()));
        }
        if self.queries == 0 || self.episodes == 0 || self.batch_size == 0 {
            return Err((
                "fewshot",
                "fewshot: queries, episodes and batch_size must be positive".into(),
            ));
        }
        if !(self.c > 0.0 && self.c.is_finite())
            || self.max_iter == 0
            || self.tol.is_nan()
            || self.tol <= 0.0
        {
            return Err((
                "fewshot",
                "fewshot: c and tol must be positive, max_iter at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// L2-normalised penultimate features `[n, D]` (row-major `f64`) of every image of `set`, in
/// eval mode, batch by batch.
pub fn extract_features(
    model: &dyn Classifier,
    normalize: &Normalize,
    set: &ImageSet,
    batch_size: usize,
    device: Device,
) -> (Vec<f64>, usize) {
    let n = set.len();
    let mut out: Vec<f64> = Vec::new();
    let mut dim = 0;
    tch::no_grad(|| {
        let mut start = 0;
        while start < n {
            let len = batch_size.min(n - start);
            let indices: Vec<usize> = (start..start + len).collect();
            let part = set.subset(&indices);
            let images = Tensor::from_slice(&part.images)
                .view([
                    len as i64,
                    set.channels as i64,
                    set.height as i64,
                    set.width as i64,
                ])
                .to_device(device);
            let features = model.features_t(&normalize.apply(&images), false);
            let norms = features
                .norm_scalaropt_dim(2, [1i64].as_slice(), true)
                .clamp_min(1e-12);
            let features = (features / norms)
                .to_kind(Kind::Double)
                .to_device(Device::Cpu);
            dim = features.size()[1] as usize;
            let flat: Vec<f64> = Vec::try_from(features.flatten(0, -1)).expect("f64 features");
            out.extend(flat);
            start += len;
        }
    });
    (out, dim)
}

/// Scores every configured `(N, K)` on precomputed features; returns the summary rows and the
/// per-episode rows.
pub fn run_episodes(
    features: &[f64],
    dim: usize,
    labels: &[i64],
    classes: usize,
    config: &FewShotConfig,
) -> Result<(Vec<FewShotRow>, Vec<EpisodeRow>)> {
    let lr = LogRegConfig {
        c: config.c,
        max_iter: config.max_iter,
        tol: config.tol,
    };
    let mut rows = Vec::new();
    let mut episode_rows = Vec::new();
    let gather = |idx: &[usize]| -> Vec<f64> {
        let mut v = Vec::with_capacity(idx.len() * dim);
        for &i in idx {
            v.extend_from_slice(&features[i * dim..(i + 1) * dim]);
        }
        v
    };
    for &ways in &config.ways {
        for &shots in &config.shots {
            let started = Instant::now();
            let shape = EpisodeShape {
                ways,
                shots,
                queries: config.queries,
            };
            let episodes = sample_episodes(labels, classes, shape, config.episodes, config.seed)?;
            let mut accuracies = Vec::with_capacity(episodes.len());
            let mut unconverged = 0;
            for (e, ep) in episodes.iter().enumerate() {
                let ys: Vec<usize> = (0..ways)
                    .flat_map(|w| std::iter::repeat_n(w, shots))
                    .collect();
                let model = logreg::fit(&gather(&ep.support), &ys, ways, &lr);
                unconverged += usize::from(!model.converged);
                let predicted = model.predict(&gather(&ep.query));
                let hits = predicted
                    .iter()
                    .enumerate()
                    .filter(|&(i, &p)| p == i / config.queries)
                    .count();
                let accuracy = 100.0 * hits as f64 / predicted.len() as f64;
                accuracies.push(accuracy);
                episode_rows.push(EpisodeRow {
                    ways,
                    shots,
                    episode: e,
                    accuracy,
                });
            }
            let (mean, ci95) = mean_ci95(&accuracies);
            let std = if accuracies.len() > 1 {
                (accuracies.iter().map(|a| (a - mean).powi(2)).sum::<f64>()
                    / (accuracies.len() - 1) as f64)
                    .sqrt()
            } else {
                0.0
            };
            rows.push(FewShotRow {
                ways,
                shots,
                queries: config.queries,
                episodes: config.episodes,
                mean,
                ci95,
                std,
                unconverged,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
    }
    Ok((rows, episode_rows))
}

/// Evaluates the trained cell in `dir` (trained on a few-shot data set's base classes) on the
/// novel classes and writes `fewshot.csv` and `fewshot-episodes.csv`.
pub fn evaluate_cell(trained: &TrainedCell, config: &FewShotConfig) -> Result<Vec<FewShotRow>> {
    let cell = &trained.config;
    let device = trained.device;
    let dir = trained.dir.as_path();
    let data = data::load_fewshot(&cell.dataset, &cell.base_dir)
        .with_context(|| format!("loading the few-shot data of cell {}", cell.cell))?;
    ensure!(
        !data.novel.is_empty(),
        "cell {}: the few-shot data set has no novel image",
        cell.cell
    );
    let (_vs, model) = trained.load_classifier(data.base.num_classes() as i64)?;
    let normalize = Normalize {
        mean: data.base.mean.iter().map(|&v| v as f64).collect(),
        std: data.base.std.iter().map(|&v| v as f64).collect(),
    };
    let (features, dim) = extract_features(
        model.as_ref(),
        &normalize,
        &data.novel,
        config.batch_size,
        device,
    );
    let (rows, episode_rows) = run_episodes(
        &features,
        dim,
        &data.novel.labels,
        data.novel_classes.len(),
        config,
    )?;
    write_csv(&dir.join(CELL_CSV), &rows)?;
    write_csv(&dir.join(CELL_EPISODES_CSV), &episode_rows)?;
    Ok(rows)
}

/// Writes serialisable rows as CSV, atomically.
pub(crate) fn write_csv<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    crate::records::write_atomic(path, &crate::records::csv_bytes(rows)?)
}

/// The `fewshot` evaluation: N-way K-shot episodes on the novel classes of cells trained on a
/// few-shot data set's base classes.
pub struct FewShot;

impl Evaluation for FewShot {
    type Settings = FewShotConfig;

    fn results(&self) -> &'static dyn EvaluationResults {
        &mixbench_results::evaluations::fewshot::FewShotResults
    }

    fn summary(&self) -> &'static str {
        "N-way K-shot accuracy of logistic regression on frozen features of the novel classes"
    }

    fn check(&self, settings: &FewShotConfig, datasets: &[DataSpec]) -> Result<(), SettingError> {
        settings
            .check()
            .map_err(|(key, message)| SettingError::new(key, message))?;
        if !datasets.iter().any(DataSpec::is_fewshot) {
            return Err(SettingError::new(
                "fewshot",
                "evaluations.fewshot needs a data set with base and novel classes \
                 (`fewshot`, `mini_imagenet` or `cifar_fs`) in `datasets`",
            ));
        }
        Ok(())
    }

    fn applies_to(&self, cell: &CellConfig) -> bool {
        cell.dataset.is_fewshot()
    }

    fn evaluate(&self, cell: &TrainedCell, settings: &FewShotConfig) -> Result<()> {
        evaluate_cell(cell, settings).map(drop)
    }
}
