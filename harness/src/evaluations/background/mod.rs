//! The background evaluation ("Noise or Signal", Xiao et al., ICLR 2021): how much a trained
//! cell relies on image backgrounds, measured on variants of test images whose foregrounds and
//! backgrounds are recombined through foreground masks ([`variants`]; definitions in
//! `docs/background.md`).
//!
//! The images come from [`DataSpec::load_background_test`]: test images whose backgrounds go
//! with their class, as the class-correlated training backgrounds do (the synthetic data set's
//! and the Fashion-MNIST-on-CIFAR composite's class-background split; a mask folder's test
//! split as it is). Each cell's output is `cells/<cell>/background.csv` (one
//! [`BackgroundRow`] per variant and, when asked, the backgrounds challenge) and
//! `cells/<cell>/background-examples.png` (a grid of example variants); the run-level files
//! and plots are written by [`report`].

pub use mixbench_results::evaluations::background::{report, rows};
pub mod variants;

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tch::Kind;

pub use self::rows::{bg_gap, read_cell_csv, top1_of, BackgroundRow, CELL_CSV};
use self::rows::{write_cell_csv, EXAMPLES_PNG};
use self::variants::{Variant, Variants};
use super::kind::{Evaluation, SettingError};
use super::robustness::attacks::PixelNormalize;
use super::robustness::subset_indices;
use crate::cell::{CellConfig, TrainedCell};
use crate::data::{DataSpec, ImageSet};
use crate::engine::DeviceImages;
use crate::report::image_grid::ImageGrid;
use mixbench_results::evaluations::EvaluationResults;

fn default_batch_size() -> usize {
    200
}
fn default_examples() -> usize {
    6
}

/// What a suite's `evaluations.background` asks for; every key has a default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackgroundSettings {
    /// Evaluate a seeded random subset of this many images (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_images: Option<usize>,
    /// Images per forward pass (default 200).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Seed of the subset, the backgrounds of the mixed variants and the challenge's
    /// backgrounds (default 0); every method of a suite sees the same images.
    #[serde(default)]
    pub seed: u64,
    /// The backgrounds challenge, when wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<ChallengeSettings>,
    /// Rows of the example grid `background-examples.png` (default 6; 0: no grid).
    #[serde(default = "default_examples")]
    pub examples: usize,
}

/// The backgrounds challenge: every foreground tried on a budget of backgrounds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeSettings {
    /// Number of backgrounds tried (Only-BG-T of seeded random evaluated images).
    pub backgrounds: usize,
}

/// The `background` evaluation: accuracy on the background variants, the BG-Gap and the
/// backgrounds challenge, for cells whose data set has foreground masks.
pub struct Background;

impl Evaluation for Background {
    type Settings = BackgroundSettings;

    fn results(&self) -> &'static dyn EvaluationResults {
        &mixbench_results::evaluations::background::BackgroundResults
    }

    fn summary(&self) -> &'static str {
        "top-1 on foreground/background recombinations of the test images (Only-FG, Mixed-Same, \
         Mixed-Rand, ...), the BG-Gap and the backgrounds challenge"
    }

    fn check(&self, s: &BackgroundSettings, datasets: &[DataSpec]) -> Result<(), SettingError> {
        if s.batch_size == 0 || s.max_images.is_some_and(|m| m < 2) {
            return Err(SettingError::new(
                "background",
                "background: batch_size must be positive and max_images at least 2",
            ));
        }
        if s.challenge.as_ref().is_some_and(|c| c.backgrounds == 0) {
            return Err(SettingError::new(
                "challenge",
                "background.challenge.backgrounds: at least 1",
            ));
        }
        if s.examples > 64 {
            return Err(SettingError::new(
                "examples",
                format!("background.examples: at most 64 rows, got {}", s.examples),
            ));
        }
        if !datasets.iter().any(DataSpec::has_masks) {
            return Err(SettingError::new(
                "background",
                "background: no data set of the suite has foreground masks (use `synthetic`, \
                 `fashion_on_cifar`, or a `folder` with `masks:`)",
            ));
        }
        Ok(())
    }

    fn applies_to(&self, cell: &CellConfig) -> bool {
        cell.dataset.has_masks()
    }

    fn evaluate(&self, cell: &TrainedCell, s: &BackgroundSettings) -> Result<()> {
        let config = &cell.config;
        let (data, images) = config
            .dataset
            .load_background_test(&config.base_dir)
            .with_context(|| format!("loading the background test images of {}", config.cell))?;
        let k = data.num_classes();
        let (_vs, model) = cell.load_classifier(k as i64)?;
        let mean: Vec<f64> = data.mean.iter().map(|&v| v as f64).collect();
        let std: Vec<f64> = data.std.iter().map(|&v| v as f64).collect();
        let norm = PixelNormalize::new(&mean, &std, cell.device);
        let ids = subset_indices(images.len(), s.max_images, s.seed);
        let images = images.subset(&ids);
        let mut predict = |set: &ImageSet| -> Result<Vec<i64>> {
            let on_device = DeviceImages::upload(set, cell.device);
            let mut out = Vec::with_capacity(set.len());
            let mut start = 0;
            while start < set.len() {
                let len = s.batch_size.min(set.len() - start);
                let pixels = on_device
                    .images
                    .narrow(0, start as i64, len as i64)
                    .to_kind(Kind::Float)
                    / 255.0;
                let predicted = tch::no_grad(|| {
                    model
                        .forward_t(&norm.apply(&pixels), false)
                        .argmax(1, false)
                        .to_device(tch::Device::Cpu)
                });
                out.extend(Vec::<i64>::try_from(&predicted)?);
                start += len;
            }
            Ok(out)
        };
        let rows = variants::evaluate(
            &images,
            k,
            s.seed,
            s.challenge.as_ref().map(|c| c.backgrounds),
            &mut predict,
        )?;
        write_cell_csv(&cell.dir, &rows)?;
        if s.examples > 0 {
            write_examples(
                &images,
                &data.class_names,
                s.seed,
                s.examples,
                &cell.dir.join(EXAMPLES_PNG),
            )?;
        }
        Ok(())
    }
}

/// Draws `rows` images (the first of each class, then the others in order) in every variant
/// to `path`, one column per variant, each row labelled with its class name.
pub fn write_examples(
    set: &ImageSet,
    class_names: &[String],
    seed: u64,
    rows: usize,
    path: &Path,
) -> Result<()> {
    let classes = class_names.len();
    let variants = Variants::new(set, classes, seed)?;
    let built: Vec<ImageSet> = Variant::ALL.iter().map(|&v| variants.build(v)).collect();
    let mut picked: Vec<usize> = Vec::new();
    for c in 0..classes as i64 {
        if let Some(i) = set.labels.iter().position(|&l| l == c) {
            picked.push(i);
        }
    }
    let rest: Vec<usize> = (0..set.len()).filter(|i| !picked.contains(i)).collect();
    picked.extend(rest);
    picked.truncate(rows);
    let grid_rows: Vec<Vec<Vec<u8>>> = picked
        .iter()
        .map(|&i| built.iter().map(|b| b.image(i).to_vec()).collect())
        .collect();
    let columns: Vec<String> = Variant::ALL.iter().map(|v| v.title().to_string()).collect();
    let labels: Vec<String> = picked
        .iter()
        .map(|&i| class_names[set.labels[i] as usize].clone())
        .collect();
    ImageGrid {
        shape: (set.channels, set.height, set.width),
        columns: &columns,
        row_labels: &labels,
        rows: &grid_rows,
    }
    .write_png(path)
}
