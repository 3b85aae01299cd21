//! `mixbench data corrupt`: a data set's test split under the common corruptions, written in
//! the layout of the released CIFAR-10-C files (`<corruption>.npy`, uint8 `[5 * n, H, W, C]`
//! with severity `s` in rows `(s - 1) * n .. s * n`, and `labels.npy`), generated exactly as
//! the corruptions evaluation generates them, so the robustness evaluation's `cifar_c`
//! reader can evaluate them, and other tools can use them.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use mixbench_corruptions::{Corruption, Severity};

use super::{CorruptionsConfig, Generator};
use crate::data::ImageSet;
use crate::evaluations::robustness::npy;
use crate::records::write_atomic;

/// Seconds one corruption took to generate, all five severities.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    /// The corruption.
    pub corruption: Corruption,
    /// Wall seconds generating its `5 * n` images.
    pub seconds: f64,
}

/// Writes every corruption `config` selects, at all five severities, of every image of `test`
/// (image `i` seeded as image `i` of the test split) into `out`, and `labels.npy`; returns
/// the generation time of each. `base_dir` resolves a relative `frost_pictures`.
pub fn export(
    test: &ImageSet,
    config: &CorruptionsConfig,
    base_dir: &Path,
    out: &Path,
) -> Result<Vec<Generated>> {
    config.check().map_err(|e| anyhow::anyhow!(e.message))?;
    let selected = config.selected().map_err(|e| anyhow::anyhow!(e.message))?;
    let frost = super::load_frost(config, base_dir)?;
    let generator = Generator::new(config, test.height, test.width, frost.as_ref(), &selected)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let ids: Vec<usize> = (0..test.len()).collect();
    let (n, c, h, w) = (test.len(), test.channels, test.height, test.width);
    let mut times = Vec::new();
    for corruption in selected {
        let started = Instant::now();
        let mut nhwc = Vec::with_capacity(5 * n * h * w * c);
        for severity in Severity::ALL {
            let set = generator.corrupt(test, &ids, corruption, severity)?;
            for image in set.images.chunks_exact(c * h * w) {
                for p in 0..h * w {
                    nhwc.extend((0..c).map(|ch| image[ch * h * w + p]));
                }
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let path = out.join(format!("{}.npy", corruption.name()));
        write_atomic(&path, &npy::encode("|u1", &[5 * n, h, w, c], &nhwc))?;
        times.push(Generated {
            corruption,
            seconds,
        });
    }
    let labels: Vec<u8> = (0..5)
        .flat_map(|_| test.labels.iter().flat_map(|l| l.to_le_bytes()))
        .collect();
    write_atomic(
        &out.join("labels.npy"),
        &npy::encode("<i8", &[5 * n], &labels),
    )?;
    Ok(times)
}
