//! The in-memory form every loader produces: [`Dataset`], two [`ImageSet`]s of `u8` pixels
//! plus the normalisation constants, and the path rule shared by the loaders.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Result};

/// A set of images with their labels, kept as `u8` in memory in NCHW order: image `i` occupies
/// `images[i*C*H*W .. (i+1)*C*H*W]`, channel-major within the image (the layout libtorch wants,
/// so a batch is one copy away from a tensor).
#[derive(Clone, Debug, PartialEq)]
pub struct ImageSet {
    /// Pixels, `N*C*H*W` bytes, NCHW order.
    pub images: Vec<u8>,
    /// One class index per image, in `0..num_classes`.
    pub labels: Vec<i64>,
    /// Channels per image (3 for RGB).
    pub channels: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// Foreground masks, N*H*W, 1 = foreground (synthetic and `fashion_on_cifar` data, and
    /// image folders with `masks:`).
    pub masks: Option<Vec<u8>>,
}

impl ImageSet {
    /// An empty set of images of the given shape (the start of a set built image by image).
    pub fn empty(channels: usize, height: usize, width: usize) -> ImageSet {
        ImageSet {
            images: Vec::new(),
            labels: Vec::new(),
            channels,
            height,
            width,
            masks: None,
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the set holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Bytes per image, `C*H*W`.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The pixels of image `i` (`C*H*W` bytes, CHW order). Panics when `i >= len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.images[i * n..(i + 1) * n]
    }

    /// The foreground mask of image `i` (`H*W` bytes, 1 = foreground), when the set has masks.
    /// Panics when `i >= len()`.
    pub fn mask(&self, i: usize) -> Option<&[u8]> {
        let n = self.height * self.width;
        self.masks.as_ref().map(|m| &m[i * n..(i + 1) * n])
    }

    /// A new set holding the images at `indices`, in that order (repeats allowed); masks follow
    /// their images. Used for subsets (quick runs, validation splits). Panics on an index out of
    /// range.
    pub fn subset(&self, indices: &[usize]) -> ImageSet {
        let n = self.image_len();
        let hw = self.height * self.width;
        let mut images = Vec::with_capacity(indices.len() * n);
        let mut labels = Vec::with_capacity(indices.len());
        let mut masks = self
            .masks
            .as_ref()
            .map(|_| Vec::with_capacity(indices.len() * hw));
        for &i in indices {
            assert!(
                i < self.len(),
                "ImageSet::subset: index {i} out of range (set has {} images)",
                self.len()
            );
            images.extend_from_slice(&self.images[i * n..(i + 1) * n]);
            labels.push(self.labels[i]);
            if let (Some(out), Some(m)) = (masks.as_mut(), self.masks.as_ref()) {
                out.extend_from_slice(&m[i * hw..(i + 1) * hw]);
            }
        }
        ImageSet {
            images,
            labels,
            channels: self.channels,
            height: self.height,
            width: self.width,
            masks,
        }
    }

    /// Checks internal consistency: non-zero dimensions, `images.len() == N*C*H*W`, labels
    /// non-negative, masks (when present) `N*H*W` bytes of 0 or 1. Loaders call it before
    /// handing a set out, so the engine can index without checks.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.channels > 0 && self.height > 0 && self.width > 0,
            "image set has a zero dimension (C={}, H={}, W={})",
            self.channels,
            self.height,
            self.width
        );
        let expected = self.len() * self.image_len();
        ensure!(
            self.images.len() == expected,
            "image set holds {} pixel bytes, expected {} ({} images x {}x{}x{})",
            self.images.len(),
            expected,
            self.len(),
            self.channels,
            self.height,
            self.width
        );
        if let Some(i) = self.labels.iter().position(|&l| l < 0) {
            bail!("image {i} has a negative label ({})", self.labels[i]);
        }
        if let Some(m) = &self.masks {
            let expected = self.len() * self.height * self.width;
            ensure!(
                m.len() == expected,
                "mask buffer holds {} bytes, expected {} ({} images x {}x{})",
                m.len(),
                expected,
                self.len(),
                self.height,
                self.width
            );
            if let Some(p) = m.iter().position(|&v| v > 1) {
                let hw = self.height * self.width;
                bail!(
                    "mask of image {} holds the value {} (masks must be 0 or 1)",
                    p / hw,
                    m[p]
                );
            }
        }
        Ok(())
    }

    /// Per-channel mean and (population) standard deviation of all pixels, in `[0, 1]` pixel
    /// units: the normalisation constants for data sets that do not come with published ones.
    /// Exact (integer sums), so the result does not depend on thread count or order.
    pub fn channel_stats(&self) -> (Vec<f32>, Vec<f32>) {
        let c = self.channels;
        let hw = self.height * self.width;
        let mut sum = vec![0u64; c];
        let mut sum_sq = vec![0u64; c];
        for img in self.images.chunks_exact(self.image_len().max(1)) {
            for (ch, plane) in img.chunks_exact(hw.max(1)).enumerate() {
                let (mut s, mut s2) = (0u64, 0u64);
                for &v in plane {
                    let v = v as u64;
                    s += v;
                    s2 += v * v;
                }
                sum[ch] += s;
                sum_sq[ch] += s2;
            }
        }
        let count = (self.len() * hw) as f64;
        if count == 0.0 {
            return (vec![0.0; c], vec![1.0; c]);
        }
        let mut mean = Vec::with_capacity(c);
        let mut std = Vec::with_capacity(c);
        for ch in 0..c {
            let m = sum[ch] as f64 / count;
            let var = (sum_sq[ch] as f64 / count - m * m).max(0.0);
            mean.push((m / 255.0) as f32);
            std.push((var.sqrt() / 255.0) as f32);
        }
        (mean, std)
    }
}

/// A loaded data set: training and test images, class names and the normalisation constants
/// the engine applies after converting pixels to `[0, 1]`.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Label used in reports, e.g. "cifar10", "synthetic", the folder name.
    pub name: String,
    /// Class names, indexed by label.
    pub class_names: Vec<String>,
    /// Training images.
    pub train: ImageSet,
    /// Held-out images the accuracy is measured on.
    pub test: ImageSet,
    /// Per-channel normalisation mean, in `[0, 1]` pixel units.
    pub mean: Vec<f32>,
    /// Per-channel normalisation standard deviation, in `[0, 1]` pixel units.
    pub std: Vec<f32>,
    /// Human-readable warnings, e.g. "skipped 3 unreadable images: a.jpg, ...".
    pub notes: Vec<String>,
}

impl Dataset {
    /// Number of classes (the length of `class_names`).
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Checks that the parts agree: both sets valid and of the same image shape, every label
    /// below `num_classes()`, one positive finite `std` and finite `mean` per channel.
    pub fn validate(&self) -> Result<()> {
        for (split, set) in [("train", &self.train), ("test", &self.test)] {
            set.validate()
                .map_err(|e| e.context(format!("data set {}: {split} split", self.name)))?;
            let k = self.num_classes() as i64;
            if let Some(i) = set.labels.iter().position(|&l| l >= k) {
                bail!(
                    "data set {}: {split} image {i} has label {} but there are only {k} classes",
                    self.name,
                    set.labels[i]
                );
            }
        }
        ensure!(
            (self.train.channels, self.train.height, self.train.width)
                == (self.test.channels, self.test.height, self.test.width),
            "data set {}: train images are {}x{}x{} but test images are {}x{}x{}",
            self.name,
            self.train.channels,
            self.train.height,
            self.train.width,
            self.test.channels,
            self.test.height,
            self.test.width
        );
        let c = self.train.channels;
        ensure!(
            self.mean.len() == c && self.std.len() == c,
            "data set {}: normalisation has {} mean and {} std values for {c} channels",
            self.name,
            self.mean.len(),
            self.std.len()
        );
        ensure!(
            self.mean.iter().all(|m| m.is_finite()),
            "data set {}: normalisation mean {:?} is not finite",
            self.name,
            self.mean
        );
        ensure!(
            self.std.iter().all(|s| s.is_finite() && *s > 0.0),
            "data set {}: normalisation std {:?} must be positive (a constant channel has std 0; \
             set `std` explicitly)",
            self.name,
            self.std
        );
        Ok(())
    }
}

/// `path` if absolute, else `base_dir/path`: spec paths are relative to the suite file, not to
/// the working directory, so a suite runs the same from anywhere.
pub fn resolve_path(base_dir: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base_dir.join(path)
    }
}

/// Lists the first few items of a list for a message: `a, b, c and 7 more`.
pub(crate) fn first_few<T: std::fmt::Display>(items: &[T], max: usize) -> String {
    let shown: Vec<String> = items.iter().take(max).map(|s| s.to_string()).collect();
    let mut s = shown.join(", ");
    if items.len() > max {
        s.push_str(&format!(" and {} more", items.len() - max));
    }
    s
}
