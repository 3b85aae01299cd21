//! The calibration evaluation: how well a trained cell's confidences (its largest softmax
//! probability) match its accuracy on its test split: top-1, ECE over equal-width and
//! equal-mass bins, MCE, NLL and Brier score, optionally before and after temperature scaling
//! (Guo et al., "On Calibration of Modern Neural Networks", ICML 2017).
//!
//! The logits come from the cell's checkpoint in eval mode, batch by batch on the cell's
//! device, on a seeded subset of the test split (`max_images`, the same subset the robustness
//! evaluation scores with the same seed), normalised as the robustness evaluation normalises
//! them, and are then measured in `f64` by the libtorch-free
//! [`mixbench_results::evaluations::calibration::measures`]. With `temperature_scaling`, a
//! seeded `holdout` fraction of those images fits the temperature and every row scores the
//! others. The output of a cell is `cells/<cell>/calibration.csv` and
//! `cells/<cell>/calibration-bins.csv` ([`rows`]); the run-level files and plots are written by
//! [`report`]. On the CPU a rerun gives the same numbers bit for bit. Definitions:
//! `docs/calibration.md`.

pub use mixbench_results::evaluations::calibration::{measures, report, rows};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind};

use self::measures::{fit_temperature, measure, Scores};
pub use self::rows::{read_cell_bins, read_cell_csv, BinRow, CalibrationRow, Scaling};
use super::kind::{Evaluation, SettingError};
use super::robustness::attacks::{image_seed, PixelNormalize};
use super::robustness::subset_indices;
use crate::cell::TrainedCell;
use crate::data::DataSpec;
use crate::engine::DeviceImages;
use crate::models::Classifier;
use mixbench_results::evaluations::EvaluationResults;

fn default_bins() -> usize {
    15
}
fn default_batch_size() -> usize {
    100
}
fn default_holdout() -> f64 {
    0.5
}

/// What a suite's `evaluations.calibration` asks for; every key has a default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationSettings {
    /// Bins of the ECE, the adaptive ECE and the MCE (default 15).
    #[serde(default = "default_bins")]
    pub bins: usize,
    /// Evaluate a seeded random subset of this many test images (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_images: Option<usize>,
    /// Images per forward pass (default 100).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Seed of the subset and of the temperature's held-out part (default 0).
    #[serde(default)]
    pub seed: u64,
    /// Temperature scaling, when wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_scaling: Option<TemperatureScaling>,
}

/// Temperature scaling: the part of the evaluated images that fits the temperature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemperatureScaling {
    /// Fraction of the evaluated images held out to fit the temperature, in (0, 1) (default
    /// 0.5); the rest are scored.
    #[serde(default = "default_holdout")]
    pub holdout: f64,
}

impl CalibrationSettings {
    /// Checks values serde cannot; the error names the offending key (the caller locates it).
    pub fn check(&self) -> std::result::Result<(), (&'static str, String)> {
        let bad = |key: &'static str, msg: String| Err((key, msg));
        if self.bins == 0 {
            return bad("bins", "calibration.bins: at least 1 bin".into());
        }
        if self.batch_size == 0 {
            return bad(
                "batch_size",
                "calibration.batch_size: at least 1 image".into(),
            );
        }
        if let Some(t) = &self.temperature_scaling {
            if !(t.holdout > 0.0 && t.holdout < 1.0) {
                return bad(
                    "holdout",
                    format!(
                        "calibration.temperature_scaling.holdout: a fraction strictly between 0 \
                         and 1 of the images, got {}",
                        t.holdout
                    ),
                );
            }
            if self.max_images.is_some_and(|m| m < 2) {
                return bad(
                    "max_images",
                    "calibration.max_images: at least 2 with temperature_scaling (one image \
                     fits the temperature, one is scored)"
                        .into(),
                );
            }
        }
        if self.max_images == Some(0) {
            return bad("max_images", "calibration.max_images: at least 1".into());
        }
        Ok(())
    }
}

/// Seed stream of the held-out split (the robustness evaluation's noise and PGD use 1 and 2).
const HOLDOUT: u64 = 3;

/// The held-out split of `n` evaluated images: `(fit, scored)` positions, each ascending. The
/// fit part has `round(holdout * n)` images, at least 1 and at most `n - 1`, drawn by a
/// permutation seeded from `seed`.
pub fn holdout_split(n: usize, holdout: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let fit_count = ((holdout * n as f64).round() as usize).clamp(1, n.saturating_sub(1));
    let mut rng = mixbench_core::MixRng::seed_from(image_seed(seed, HOLDOUT, 0, 0));
    let order = rng.permutation(n);
    let mut fit: Vec<usize> = order[..fit_count].iter().map(|&i| i as usize).collect();
    let mut scored: Vec<usize> = order[fit_count..].iter().map(|&i| i as usize).collect();
    fit.sort_unstable();
    scored.sort_unstable();
    (fit, scored)
}

/// The logits of `model` (eval mode) on every image of `images`, batch by batch, as `f64`
/// row-major `[n, classes]`: the pixels are scaled to `[0, 1]` and normalised exactly as the
/// robustness evaluation does, so the argmax is the prediction it scores.
pub fn logits_of(
    model: &dyn Classifier,
    norm: &PixelNormalize,
    images: &DeviceImages,
    batch_size: usize,
) -> Result<Vec<f64>> {
    let n = images.len();
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        let len = batch_size.min(n - start);
        let pixels = images
            .images
            .narrow(0, start as i64, len as i64)
            .to_kind(Kind::Float)
            / 255.0;
        let logits = tch::no_grad(|| model.forward_t(&norm.apply(&pixels), false))
            .to_kind(Kind::Double)
            .to_device(Device::Cpu)
            .contiguous()
            .view(-1);
        out.extend(Vec::<f64>::try_from(&logits).context("copying logits to the host")?);
        start += len;
    }
    Ok(out)
}

/// Evaluates the trained cell: returns its rows (`none`, then `temperature` when asked) and
/// the reliability bins of each.
pub fn evaluate_cell(
    trained: &TrainedCell,
    settings: &CalibrationSettings,
) -> Result<(Vec<CalibrationRow>, Vec<BinRow>)> {
    let cell = &trained.config;
    let device = trained.device;
    let data = cell
        .dataset
        .load(&cell.base_dir)
        .with_context(|| format!("loading dataset of cell {}", cell.cell))?;
    let classes = data.num_classes();
    let (_vs, model) = trained.load_classifier(classes as i64)?;
    let mean: Vec<f64> = data.mean.iter().map(|&v| v as f64).collect();
    let std: Vec<f64> = data.std.iter().map(|&v| v as f64).collect();
    let norm = PixelNormalize::new(&mean, &std, device);
    let ids = subset_indices(data.test.len(), settings.max_images, settings.seed);
    let subset = data.test.subset(&ids);
    let images = DeviceImages::upload(&subset, device);
    let logits = logits_of(model.as_ref(), &norm, &images, settings.batch_size)?;
    let labels = subset.labels.iter().map(|&l| l as usize).collect();
    let scores = Scores::new(logits, labels, classes)
        .with_context(|| format!("scoring the test split of cell {}", cell.cell))?;
    let bins = settings.bins;
    let mut rows = Vec::new();
    let mut bin_rows = Vec::new();
    let mut push = |scaling: Scaling, t: f64, fit_images: usize, scored: &Scores| -> Result<()> {
        let measured = measure(scored, t, bins)?;
        rows.push(CalibrationRow::new(scaling, t, fit_images, &measured));
        bin_rows.extend(BinRow::of(scaling, &measured));
        Ok(())
    };
    match &settings.temperature_scaling {
        None => push(Scaling::Unscaled, 1.0, 0, &scores)?,
        Some(ts) => {
            anyhow::ensure!(
                scores.len() >= 2,
                "cell {}: temperature scaling needs at least 2 test images, the split has {}",
                cell.cell,
                scores.len()
            );
            let (fit, scored) = holdout_split(scores.len(), ts.holdout, settings.seed);
            let t = fit_temperature(&scores.select(&fit)?);
            let scored = scores.select(&scored)?;
            push(Scaling::Unscaled, 1.0, fit.len(), &scored)?;
            push(Scaling::Temperature, t, fit.len(), &scored)?;
        }
    }
    Ok((rows, bin_rows))
}

/// The `calibration` evaluation: top-1, ECE, adaptive ECE, MCE, NLL and Brier score of each
/// trained cell, optionally before and after temperature scaling.
pub struct Calibration;

impl Evaluation for Calibration {
    type Settings = CalibrationSettings;

    fn results(&self) -> &'static dyn EvaluationResults {
        &mixbench_results::evaluations::calibration::CalibrationResults
    }

    fn summary(&self) -> &'static str {
        "ECE, adaptive ECE, MCE, NLL and Brier score on the test split, before and after \
         temperature scaling"
    }

    fn check(&self, settings: &CalibrationSettings, _: &[DataSpec]) -> Result<(), SettingError> {
        settings
            .check()
            .map_err(|(key, message)| SettingError::new(key, message))
    }

    fn evaluate(&self, cell: &TrainedCell, settings: &CalibrationSettings) -> Result<()> {
        let (rows, bins) = evaluate_cell(cell, settings)?;
        rows::write_cell_files(&cell.dir, &rows, &bins)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> CalibrationSettings {
        serde_norway::from_str(text).unwrap()
    }

    /// Defaults, and each bad value an error naming its key.
    #[test]
    fn settings_have_defaults_and_bad_values_name_their_key() {
        let s = settings("{}");
        assert_eq!((s.bins, s.batch_size, s.seed), (15, 100, 0));
        assert_eq!((&s.max_images, &s.temperature_scaling), (&None, &None));
        assert_eq!(
            settings("{temperature_scaling: {}}").temperature_scaling,
            Some(TemperatureScaling { holdout: 0.5 })
        );
        assert!(s.check().is_ok());
        for (text, key, says) in [
            ("{bins: 0}", "bins", "calibration.bins"),
            ("{batch_size: 0}", "batch_size", "calibration.batch_size"),
            ("{max_images: 0}", "max_images", "calibration.max_images"),
            ("{temperature_scaling: {holdout: 1.0}}", "holdout", "got 1"),
            (
                "{temperature_scaling: {holdout: 0}}",
                "holdout",
                "strictly between 0 and 1",
            ),
            (
                "{temperature_scaling: {holdout: .nan}}",
                "holdout",
                "got NaN",
            ),
            (
                "{max_images: 1, temperature_scaling: {}}",
                "max_images",
                "at least 2",
            ),
        ] {
            let (k, message) = settings(text).check().unwrap_err();
            assert_eq!(k, key, "{text}");
            assert!(message.contains(says), "{text}: {message}");
        }
        let err = serde_norway::from_str::<CalibrationSettings>("{binz: 3}").unwrap_err();
        assert!(err.to_string().contains("binz"), "{err}");
    }

    /// The split is seeded, disjoint, covers every image and keeps both parts non-empty.
    #[test]
    fn holdout_split_is_seeded_and_disjoint() {
        let (fit, scored) = holdout_split(10, 0.3, 5);
        assert_eq!((fit.len(), scored.len()), (3, 7));
        let mut all: Vec<usize> = fit.iter().chain(&scored).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(holdout_split(10, 0.3, 5), (fit.clone(), scored));
        assert_ne!(holdout_split(10, 0.3, 6).0, fit);
        assert_eq!(holdout_split(2, 0.01, 0).0.len(), 1);
        assert_eq!(holdout_split(2, 0.99, 0).1.len(), 1);
    }
}
