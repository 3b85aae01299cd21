//! The occlusion evaluation: a trained cell's test accuracy as a growing fraction of every
//! test image is occluded, by random patches or by the single most salient square (the
//! occlusion-robustness axis of the mixing literature; definitions in `docs/occlusion.md`).
//!
//! - **random**: the cells of a grid of `patch x patch` squares, `round(f * cells)` of them
//!   drawn per image without replacement from a seed of (`seed`, image id) ([`masks::PatchGrid`]),
//!   so every method sees the same patches and batching changes nothing; the occluded cells
//!   of a fraction are also occluded at every larger one.
//! - **salient**: the square of `round(sqrt(f) h) x round(sqrt(f) w)` pixels with the largest
//!   summed saliency of the model itself ([`masks::salient_window`]). The saliency is Puzzle
//!   Mix's: `sqrt(mean_c g^2)` ([`mixbench_core::maps::channel_rms_host`]) of the gradient `g`
//!   of the mean cross-entropy of the **true** labels with respect to the normalised input,
//!   model in eval mode ([`SaliencyRequest::clean_input`] with `clean_lam = 0`, the pass of the
//!   Puzzle Mix and Co-Mixup scripts), computed once per image for all fractions.
//!
//! Occluded pixels become the data set's mean colour (`fill: mean`, zero after normalisation)
//! or black (`fill: zero`). The output of a cell is `cells/<cell>/occlusion.csv` (one
//! [`OcclusionRow`] per mode and fraction, the clean accuracy first); the run-level files and
//! plots are written by [`report`]. On the CPU a rerun gives the same numbers bit for bit.

pub mod masks;
pub use mixbench_results::evaluations::occlusion::{report, rows};

use std::time::Instant;

use anyhow::{ensure, Context, Result};
use mixbench_core::maps::channel_rms_host;
use mixbench_core::SaliencyRequest;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use self::masks::{salient_side, salient_window, PatchGrid, Window};
use self::rows::write_cell_csv;
pub use self::rows::{read_cell_csv, OcclusionRow, CELL_CSV, CLEAN};
use super::kind::{Evaluation, SettingError};
use super::robustness::attacks::{image_seed, PixelNormalize};
use super::robustness::{accuracy_under, subset_indices};
use crate::cell::TrainedCell;
use crate::data::DataSpec;
use crate::engine::saliency::input_gradient;
use crate::engine::DeviceImages;
use crate::models::Classifier;
use mixbench_results::evaluations::EvaluationResults;

fn default_fractions() -> Vec<f64> {
    vec![0.1, 0.2, 0.3, 0.4, 0.5]
}
fn default_modes() -> Vec<String> {
    Mode::ALL.iter().map(|m| m.name().to_string()).collect()
}
fn default_patch() -> usize {
    4
}
fn default_fill() -> String {
    Fill::Mean.name().to_string()
}
fn default_batch_size() -> usize {
    100
}

/// What a suite's `evaluations.occlusion` asks for; every key has a default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcclusionSettings {
    /// Occluded fractions of the image area, each in (0, 1) (default 0.1 to 0.5 by 0.1).
    #[serde(default = "default_fractions")]
    pub fractions: Vec<f64>,
    /// Occlusion modes, `random` and/or `salient` (default both), in the order they run.
    #[serde(default = "default_modes")]
    pub modes: Vec<String>,
    /// Side of the random mode's grid cells in pixels (default 4, for 32x32 images).
    #[serde(default = "default_patch")]
    pub patch: usize,
    /// What occluded pixels become: `mean` (the data set's mean colour, zero after
    /// normalisation; default) or `zero` (black).
    #[serde(default = "default_fill")]
    pub fill: String,
    /// Evaluate on a seeded random subset of this many test images (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_images: Option<usize>,
    /// Images per batch (default 100).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Seed of the image subset and of the random patches (default 0).
    #[serde(default)]
    pub seed: u64,
}

/// How the occluded pixels are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Random cells of a patch grid, per image.
    Random,
    /// The one square where the model's saliency is largest.
    Salient,
}

impl Mode {
    /// Every mode, in the default order.
    pub const ALL: [Mode; 2] = [Mode::Random, Mode::Salient];

    /// The name in settings and result files.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Random => "random",
            Mode::Salient => "salient",
        }
    }

    /// The mode called `name`, or a message with the closest name and the list.
    pub fn parse(name: &str) -> Result<Mode, String> {
        parse_name(&Mode::ALL, name, Mode::name, "mode", "modes")
    }
}

/// What occluded pixels become.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fill {
    /// The data set's per-channel mean colour (zero after normalisation).
    Mean,
    /// Black: pixel value 0 before normalisation.
    Zero,
}

impl Fill {
    /// Every fill.
    pub const ALL: [Fill; 2] = [Fill::Mean, Fill::Zero];

    /// The name in settings files.
    pub fn name(self) -> &'static str {
        match self {
            Fill::Mean => "mean",
            Fill::Zero => "zero",
        }
    }

    /// The fill called `name`, or a message with the closest name and the list.
    pub fn parse(name: &str) -> Result<Fill, String> {
        parse_name(&Fill::ALL, name, Fill::name, "fill", "fills")
    }

    /// The fill colour of a data set with per-channel `mean` (pixel units, `[0, 1]`).
    pub fn colour(self, mean: &[f64]) -> Vec<f64> {
        match self {
            Fill::Mean => mean.to_vec(),
            Fill::Zero => vec![0.0; mean.len()],
        }
    }
}

/// The item of `all` whose `name` is `name`; else "unknown <what> `x`, did you mean ...;
/// <plural>: a, b".
fn parse_name<T: Copy>(
    all: &[T],
    name: &str,
    name_of: fn(T) -> &'static str,
    what: &str,
    plural: &str,
) -> Result<T, String> {
    all.iter()
        .copied()
        .find(|&t| name_of(t) == name)
        .ok_or_else(|| {
            let names = all.iter().map(|&t| name_of(t));
            format!(
                "unknown {what} `{name}`{}; {plural}: {}",
                mixbench_core::did_you_mean(name, names.clone()),
                names.collect::<Vec<_>>().join(", ")
            )
        })
}

impl OcclusionSettings {
    /// Checks values serde cannot; the error names the offending key.
    pub fn check(&self) -> Result<(), SettingError> {
        let bad = |key: &str, message: String| Err(SettingError::new(key, message));
        if self.fractions.is_empty() {
            return bad("fractions", "occlusion.fractions: give one or more".into());
        }
        if let Some(f) = self.fractions.iter().find(|f| !(**f > 0.0 && **f < 1.0)) {
            return bad(
                "fractions",
                format!("occlusion.fractions: fractions of the image area are in (0, 1), got {f}"),
            );
        }
        if let Some(f) = duplicate(&self.fractions) {
            return bad(
                "fractions",
                format!("occlusion.fractions: {f} is listed twice"),
            );
        }
        if self.modes.is_empty() {
            return bad(
                "modes",
                "occlusion.modes: give one or more of random, salient".into(),
            );
        }
        for mode in &self.modes {
            Mode::parse(mode)
                .map_err(|e| SettingError::new("modes", format!("occlusion.modes: {e}")))?;
        }
        if let Some(m) = duplicate(&self.modes) {
            return bad("modes", format!("occlusion.modes: `{m}` is listed twice"));
        }
        if self.patch == 0 {
            return bad("patch", "occlusion.patch: at least 1 pixel".into());
        }
        Fill::parse(&self.fill)
            .map_err(|e| SettingError::new("fill", format!("occlusion.fill: {e}")))?;
        if self.batch_size == 0 {
            return bad("batch_size", "occlusion.batch_size: at least 1".into());
        }
        if self.max_images == Some(0) {
            return bad("max_images", "occlusion.max_images: at least 1".into());
        }
        Ok(())
    }
}

/// The first item of `items` that an earlier one equals.
fn duplicate<T: PartialEq>(items: &[T]) -> Option<&T> {
    items
        .iter()
        .enumerate()
        .find(|(i, x)| items[..*i].contains(x))
        .map(|(_, x)| x)
}

/// Perturbation family id of the random patches in the per-image seeds ([`image_seed`]).
const RANDOM_PATCHES: u64 = 16;

/// `pixels` `[B, C, H, W]` with the pixels of `masks` (`B * H * W` values, row-major per
/// image, `true` = occluded) replaced by `fill` `[1, C, 1, 1]`, every channel alike.
pub fn occlude(pixels: &Tensor, masks: &[bool], fill: &Tensor) -> Tensor {
    let size = pixels.size();
    let mask = Tensor::from_slice(masks)
        .view([size[0], 1, size[2], size[3]])
        .to_device(pixels.device());
    fill.where_self(&mask, pixels)
}

/// Runs every mode and fraction `settings` ask for on the trained cell; returns the rows, the
/// clean accuracy first, then each mode's fractions in the order the settings list them.
pub fn evaluate_cell(
    trained: &TrainedCell,
    settings: &OcclusionSettings,
) -> Result<Vec<OcclusionRow>> {
    let cell = &trained.config;
    let device = trained.device;
    let modes = settings
        .modes
        .iter()
        .map(|m| Mode::parse(m).map_err(anyhow::Error::msg))
        .collect::<Result<Vec<_>>>()?;
    let fill = Fill::parse(&settings.fill).map_err(anyhow::Error::msg)?;
    let data = cell
        .dataset
        .load(&cell.base_dir)
        .with_context(|| format!("loading dataset of cell {}", cell.cell))?;
    let classes = data.num_classes() as i64;
    let (_vs, model) = trained.load_classifier(classes)?;
    let model = model.as_ref();
    let (h, w) = (data.test.height, data.test.width);
    ensure!(
        settings.patch <= h.min(w),
        "occlusion.patch: {} pixels does not fit the {h}x{w} test images of {} (cell {})",
        settings.patch,
        cell.dataset.label(),
        cell.cell
    );
    let mean: Vec<f64> = data.mean.iter().map(|&v| v as f64).collect();
    let std: Vec<f64> = data.std.iter().map(|&v| v as f64).collect();
    let norm = PixelNormalize::new(&mean, &std, device);
    let colour = fill.colour(&mean);
    let fill = Tensor::from_slice(&colour)
        .to_kind(Kind::Float)
        .to_device(device)
        .view([1, colour.len() as i64, 1, 1]);
    let ids = subset_indices(data.test.len(), settings.max_images, settings.seed);
    let test = DeviceImages::upload(&data.test.subset(&ids), device);
    let n = test.len();
    let bs = settings.batch_size;
    let grid = PatchGrid::new(h, w, settings.patch);

    let started = Instant::now();
    let clean = accuracy_under(model, &norm, &test, &ids, bs, |px, _, _| px.shallow_clone());
    let mut rows = vec![OcclusionRow {
        mode: CLEAN.into(),
        fraction: 0.0,
        area: 0.0,
        top1: clean,
        images: n,
        seconds: started.elapsed().as_secs_f64(),
    }];
    for mode in modes {
        let (windows, shared) = match mode {
            Mode::Random => (Vec::new(), 0.0),
            Mode::Salient => {
                let started = Instant::now();
                let windows =
                    salient_windows(model, &norm, &test, classes, &settings.fractions, bs);
                let share = started.elapsed().as_secs_f64() / settings.fractions.len() as f64;
                (windows, share)
            }
        };
        for (level, &fraction) in settings.fractions.iter().enumerate() {
            let started = Instant::now();
            let mut occluded = 0usize;
            let top1 = accuracy_under(model, &norm, &test, &ids, bs, |px, _, batch| {
                let masks: Vec<bool> = batch
                    .iter()
                    .flat_map(|&id| match mode {
                        Mode::Random => grid.mask(
                            fraction,
                            image_seed(settings.seed, RANDOM_PATCHES, 0, id as u64),
                        ),
                        Mode::Salient => {
                            // `ids` is sorted (subset_indices): the image's position.
                            let at = ids.binary_search(&id).expect("an evaluated image");
                            windows[at][level].mask(h, w)
                        }
                    })
                    .collect();
                occluded += masks.iter().filter(|&&m| m).count();
                occlude(px, &masks, &fill)
            });
            rows.push(OcclusionRow {
                mode: mode.name().into(),
                fraction,
                area: occluded as f64 / (n * h * w).max(1) as f64,
                top1,
                images: n,
                seconds: started.elapsed().as_secs_f64() + shared,
            });
        }
    }
    Ok(rows)
}

/// The most salient window of every image of `images` at every fraction (`[image][fraction]`):
/// Puzzle Mix's saliency `sqrt(mean_c g^2)` of the input gradient `g` of the mean
/// cross-entropy of the true labels (eval mode), batch by batch.
fn salient_windows(
    model: &dyn Classifier,
    norm: &PixelNormalize,
    images: &DeviceImages,
    classes: i64,
    fractions: &[f64],
    batch_size: usize,
) -> Vec<Vec<Window>> {
    let size = images.images.size();
    let (h, w) = (size[2] as usize, size[3] as usize);
    let sides: Vec<(usize, usize)> = fractions
        .iter()
        .map(|&f| (salient_side(h, f), salient_side(w, f)))
        .collect();
    let request = SaliencyRequest::clean_input(0.0);
    let n = images.len();
    let mut windows = Vec::with_capacity(n);
    let mut start = 0;
    while start < n {
        let len = batch_size.min(n - start);
        let pixels = images
            .images
            .narrow(0, start as i64, len as i64)
            .to_kind(Kind::Float)
            / 255.0;
        let labels = images.labels.narrow(0, start as i64, len as i64);
        let grad = input_gradient(model, &norm.apply(&pixels), &labels, classes, &request);
        for map in channel_rms_host(&grad).chunks_exact(h * w) {
            windows.push(
                sides
                    .iter()
                    .map(|&(sh, sw)| salient_window(map, h, w, sh, sw))
                    .collect(),
            );
        }
        start += len;
    }
    windows
}

/// The `occlusion` evaluation: accuracy of each trained cell with random patches or the most
/// salient square occluding a growing fraction of every test image.
pub struct Occlusion;

impl Evaluation for Occlusion {
    type Settings = OcclusionSettings;

    fn results(&self) -> &'static dyn EvaluationResults {
        &mixbench_results::evaluations::occlusion::OcclusionResults
    }

    fn summary(&self) -> &'static str {
        "top-1 with a growing fraction of each test image occluded by random patches or the \
         most salient square, and the area under that curve"
    }

    fn check(&self, settings: &OcclusionSettings, _: &[DataSpec]) -> Result<(), SettingError> {
        settings.check()
    }

    fn evaluate(&self, cell: &TrainedCell, settings: &OcclusionSettings) -> Result<()> {
        let rows = evaluate_cell(cell, settings)?;
        write_cell_csv(&cell.dir, &rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn settings(text: &str) -> OcclusionSettings {
        serde_norway::from_str(text).unwrap()
    }

    /// Every key has a default, and the canonical form reads back the same.
    #[test]
    fn defaults_cover_every_key() {
        let s = settings("{}");
        assert_eq!(s.fractions, [0.1, 0.2, 0.3, 0.4, 0.5]);
        assert_eq!(s.modes, ["random", "salient"]);
        assert_eq!(
            (s.patch, s.fill.as_str(), s.batch_size, s.seed),
            (4, "mean", 100, 0)
        );
        assert_eq!(s.max_images, None);
        s.check().unwrap();
        let text = serde_norway::to_string(&s).unwrap();
        assert_eq!(settings(&text), s);
    }

    /// Each invalid value is an error at its key, saying what is wrong.
    #[test]
    fn invalid_settings_name_their_key() {
        let cases = [
            ("{fractions: []}", "fractions", "one or more"),
            ("{fractions: [0.1, 1.0]}", "fractions", "in (0, 1), got 1"),
            ("{fractions: [0]}", "fractions", "in (0, 1), got 0"),
            ("{fractions: [-0.2]}", "fractions", "got -0.2"),
            ("{fractions: [.nan]}", "fractions", "got NaN"),
            (
                "{fractions: [0.2, 0.2]}",
                "fractions",
                "0.2 is listed twice",
            ),
            ("{modes: []}", "modes", "one or more"),
            (
                "{modes: [random, salent]}",
                "modes",
                "unknown mode `salent`, did you mean `salient`?; modes: random, salient",
            ),
            (
                "{modes: [random, random]}",
                "modes",
                "`random` is listed twice",
            ),
            ("{patch: 0}", "patch", "at least 1 pixel"),
            (
                "{fill: zeros}",
                "fill",
                "unknown fill `zeros`, did you mean `zero`?; fills: mean, zero",
            ),
            ("{batch_size: 0}", "batch_size", "at least 1"),
            ("{max_images: 0}", "max_images", "at least 1"),
        ];
        for (text, key, message) in cases {
            let err = settings(text).check().unwrap_err();
            assert_eq!(err.key, key, "{text}");
            assert!(
                err.message.starts_with(&format!("occlusion.{key}: "))
                    && err.message.contains(message),
                "{text}: {}",
                err.message
            );
        }
    }

    /// With the mean fill, the occluded pixels are exactly 0 after normalisation and the
    /// others unchanged; with the zero fill they are black in pixel units.
    #[test]
    fn occluded_pixels_take_the_fill_colour() {
        tch::manual_seed(2);
        let pixels = Tensor::rand([2, 3, 4, 4], (Kind::Float, Device::Cpu));
        let (mean, std) = ([0.49, 0.48, 0.45], [0.25, 0.24, 0.26]);
        let norm = PixelNormalize::new(&mean, &std, Device::Cpu);
        let window = Window {
            top: 1,
            left: 2,
            height: 2,
            width: 2,
        };
        let mut masks = window.mask(4, 4);
        masks.extend(vec![false; 16]);
        let column = |v: Vec<f64>| {
            Tensor::from_slice(&v)
                .to_kind(Kind::Float)
                .view([1, 3, 1, 1])
        };
        let mean_fill = occlude(&pixels, &masks, &column(Fill::Mean.colour(&mean)));
        let normalised = norm.apply(&mean_fill);
        let patch = normalised.narrow(0, 0, 1).narrow(2, 1, 2).narrow(3, 2, 2);
        assert_eq!(patch.abs().max().double_value(&[]), 0.0);
        // Image 0 outside the window and all of image 1 are untouched.
        let untouched = Tensor::from_slice(&masks)
            .logical_not()
            .view([2, 1, 4, 4])
            .expand([2, 3, 4, 4], false);
        assert!(mean_fill
            .masked_select(&untouched)
            .equal(&pixels.masked_select(&untouched)));
        let zero_fill = occlude(&pixels, &masks, &column(Fill::Zero.colour(&mean)));
        let patch = zero_fill.narrow(0, 0, 1).narrow(2, 1, 2).narrow(3, 2, 2);
        assert_eq!(patch.abs().max().double_value(&[]), 0.0);
        assert_eq!(
            zero_fill.eq(0.0).sum(Kind::Int64).int64_value(&[]),
            3 * 4,
            "the window's 4 pixels in each of 3 channels (rand draws no exact 0 here)"
        );
    }
}
