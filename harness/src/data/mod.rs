//! Datasets: what a suite file says about its data ([`DataSpec`]), and the in-memory form every
//! loader produces ([`Dataset`], two [`ImageSet`]s of `u8` pixels plus the normalisation
//! constants).
//!
//! Loaders:
//! - [`synthetic`]: the embedded default (coloured shapes on textured backgrounds, with
//!   foreground masks and an optional background-reliance setting), needs no files;
//! - [`cifar`]: the official CIFAR-10 / CIFAR-100 binary releases;
//! - [`folder`]: any `root/<class>/*.jpg|png` tree (or `root/{train,test}/<class>/...`);
//! - [`fetch`]: downloads and unpacks the CIFAR archives (md5-checked).
//!
//! Pixels stay `u8` until the engine builds a batch: 50 000 CIFAR images take 150 MiB this way
//! instead of 600 MiB as `f32`, and augmentation (crop, flip) works on bytes. This module does
//! not depend on tch, so it can be built and tested without libtorch.

pub mod cifar;
pub mod fetch;
pub mod folder;
pub mod synthetic;

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Result};
use serde::{Deserialize, Serialize};

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
    /// Foreground masks, N*H*W, 1 = foreground (synthetic data only).
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

/// What a suite file says about data. serde, externally tagged so a YAML file reads:
///   data: { synthetic: { classes: 10, train_per_class: 500 } }
///   data: { cifar10: { root: data } }
///   data: { cifar100: { root: data, labels: coarse } }
///   data: { folder: { root: my_images, image_size: 32, test_fraction: 0.2 } }
///
/// (De)serialised through [`DataSpecRepr`], a struct with one optional field per kind: YAML
/// libraries of the serde_yaml 0.9 family (serde_norway included) read and write externally
/// tagged enums only as YAML tags (`!synthetic {..}`), not as the one-key mapping above. The
/// same form works with any serde format (JSON: `{"cifar10": {"root": "data"}}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DataSpecRepr", into = "DataSpecRepr")]
pub enum DataSpec {
    /// Generated shapes on textures ([`synthetic::SyntheticSpec`]); needs no files.
    Synthetic(synthetic::SyntheticSpec),
    /// The CIFAR-10 binary release ([`cifar::Cifar10Spec`]).
    Cifar10(cifar::Cifar10Spec),
    /// The CIFAR-100 binary release ([`cifar::Cifar100Spec`]).
    Cifar100(cifar::Cifar100Spec),
    /// A folder of images, one sub-folder per class ([`folder::FolderSpec`]).
    Folder(folder::FolderSpec),
    /// Any data set with base and novel classes ([`crate::fewshot::data::FewShotSpec`]).
    Fewshot(crate::fewshot::data::FewShotSpec),
    /// mini-ImageNet with the Ravi-Larochelle split ([`crate::fewshot::data::MiniImagenetSpec`]).
    MiniImagenet(crate::fewshot::data::MiniImagenetSpec),
    /// CIFAR-FS ([`crate::fewshot::data::CifarFsSpec`]).
    CifarFs(crate::fewshot::data::CifarFsSpec),
}

/// The serde form of [`DataSpec`]: a mapping with exactly one of these keys. `synthetic:` with
/// no value (YAML null) means the default synthetic data set.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpecRepr {
    /// See [`DataSpec::Synthetic`].
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub synthetic: Option<synthetic::SyntheticSpec>,
    /// See [`DataSpec::Cifar10`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cifar10: Option<cifar::Cifar10Spec>,
    /// See [`DataSpec::Cifar100`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cifar100: Option<cifar::Cifar100Spec>,
    /// See [`DataSpec::Folder`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<folder::FolderSpec>,
    /// See [`DataSpec::Fewshot`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fewshot: Option<crate::fewshot::data::FewShotSpec>,
    /// See [`DataSpec::MiniImagenet`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mini_imagenet: Option<crate::fewshot::data::MiniImagenetSpec>,
    /// See [`DataSpec::CifarFs`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cifar_fs: Option<crate::fewshot::data::CifarFsSpec>,
}

/// A present key with a null value becomes `Some(T::default())` (an absent key stays `None`
/// through `#[serde(default)]`).
fn null_as_default<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Some(Option::<T>::deserialize(d)?.unwrap_or_default()))
}

impl TryFrom<DataSpecRepr> for DataSpec {
    type Error = String;

    fn try_from(r: DataSpecRepr) -> std::result::Result<Self, String> {
        let mut found = Vec::new();
        if let Some(s) = r.synthetic {
            found.push(DataSpec::Synthetic(s));
        }
        if let Some(s) = r.cifar10 {
            found.push(DataSpec::Cifar10(s));
        }
        if let Some(s) = r.cifar100 {
            found.push(DataSpec::Cifar100(s));
        }
        if let Some(s) = r.folder {
            found.push(DataSpec::Folder(s));
        }
        if let Some(s) = r.fewshot {
            found.push(DataSpec::Fewshot(s));
        }
        if let Some(s) = r.mini_imagenet {
            found.push(DataSpec::MiniImagenet(s));
        }
        if let Some(s) = r.cifar_fs {
            found.push(DataSpec::CifarFs(s));
        }
        match found.len() {
            1 => Ok(found.pop().unwrap()),
            0 => Err(
                "data: give one of `synthetic`, `cifar10`, `cifar100`, `folder`, `fewshot`, \
                      `mini_imagenet`, `cifar_fs`"
                    .into(),
            ),
            _ => Err(format!(
                "data: give only one of `synthetic`, `cifar10`, `cifar100`, `folder`, `fewshot`, \
                 `mini_imagenet`, `cifar_fs` (found {})",
                found
                    .iter()
                    .map(DataSpec::kind)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

impl From<DataSpec> for DataSpecRepr {
    fn from(d: DataSpec) -> Self {
        let mut r = DataSpecRepr::default();
        match d {
            DataSpec::Synthetic(s) => r.synthetic = Some(s),
            DataSpec::Cifar10(s) => r.cifar10 = Some(s),
            DataSpec::Cifar100(s) => r.cifar100 = Some(s),
            DataSpec::Folder(s) => r.folder = Some(s),
            DataSpec::Fewshot(s) => r.fewshot = Some(s),
            DataSpec::MiniImagenet(s) => r.mini_imagenet = Some(s),
            DataSpec::CifarFs(s) => r.cifar_fs = Some(s),
        }
        r
    }
}

impl Default for DataSpec {
    /// The embedded synthetic data set with its defaults: a suite without a `data` entry runs
    /// anywhere, offline.
    fn default() -> Self {
        DataSpec::Synthetic(synthetic::SyntheticSpec::default())
    }
}

impl DataSpec {
    /// The kind's key in a suite file: "synthetic", "cifar10", "cifar100" or "folder".
    pub fn kind(&self) -> &'static str {
        match self {
            DataSpec::Synthetic(_) => "synthetic",
            DataSpec::Cifar10(_) => "cifar10",
            DataSpec::Cifar100(_) => "cifar100",
            DataSpec::Folder(_) => "folder",
            DataSpec::Fewshot(_) => "fewshot",
            DataSpec::MiniImagenet(_) => "mini_imagenet",
            DataSpec::CifarFs(_) => "cifar_fs",
        }
    }

    /// Report label: the spec's optional `name` field, else "synthetic" / "cifar10" / "cifar100" / the folder's last path component.
    pub fn label(&self) -> String {
        match self {
            DataSpec::Synthetic(s) => s.name.clone().unwrap_or_else(|| "synthetic".into()),
            DataSpec::Cifar10(s) => s.name.clone().unwrap_or_else(|| "cifar10".into()),
            DataSpec::Cifar100(s) => s.name.clone().unwrap_or_else(|| "cifar100".into()),
            DataSpec::Folder(s) => s.label(),
            DataSpec::Fewshot(s) => s.label(),
            DataSpec::MiniImagenet(s) => s.label(),
            DataSpec::CifarFs(s) => s.label(),
        }
    }

    /// True for the data sets with a base/novel class split (`fewshot`, `mini_imagenet`,
    /// `cifar_fs`), which the few-shot evaluation needs.
    pub fn is_fewshot(&self) -> bool {
        matches!(
            self,
            DataSpec::Fewshot(_) | DataSpec::MiniImagenet(_) | DataSpec::CifarFs(_)
        )
    }

    /// Loads the dataset; relative paths are resolved against `base_dir` (the suite file's folder).
    /// The returned data set is named by [`DataSpec::label`] and has passed
    /// [`Dataset::validate`].
    pub fn load(&self, base_dir: &Path) -> Result<Dataset> {
        let mut ds = match self {
            DataSpec::Synthetic(s) => s.generate()?,
            DataSpec::Cifar10(s) => s.load(base_dir)?,
            DataSpec::Cifar100(s) => s.load(base_dir)?,
            DataSpec::Folder(s) => s.load(base_dir)?,
            // A few-shot data set trains on its base classes.
            DataSpec::Fewshot(_) | DataSpec::MiniImagenet(_) | DataSpec::CifarFs(_) => {
                crate::fewshot::data::load_fewshot(self, base_dir)?.base
            }
        };
        ds.name = self.label();
        ds.validate()?;
        Ok(ds)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn toy_set() -> ImageSet {
        // 3 images of 2x2x2, image i filled with i, mask with i % 2.
        let mut images = Vec::new();
        let mut masks = Vec::new();
        for i in 0..3u8 {
            images.extend(std::iter::repeat_n(i, 8));
            masks.extend(std::iter::repeat_n(i % 2, 4));
        }
        ImageSet {
            images,
            labels: vec![0, 1, 2],
            channels: 2,
            height: 2,
            width: 2,
            masks: Some(masks),
        }
    }

    #[test]
    fn image_and_subset_follow_nchw_layout() {
        let s = toy_set();
        s.validate().unwrap();
        assert_eq!(s.len(), 3);
        assert!(!s.is_empty());
        assert_eq!(s.image(2), &[2u8; 8]);
        let sub = s.subset(&[2, 0, 2]);
        sub.validate().unwrap();
        assert_eq!(sub.labels, vec![2, 0, 2]);
        assert_eq!(sub.image(0), &[2u8; 8]);
        assert_eq!(sub.image(1), &[0u8; 8]);
        assert_eq!(sub.mask(1).unwrap(), &[0u8; 4]);
        assert_eq!(sub.mask(0).unwrap(), &[0u8; 4]);
        let sub = s.subset(&[1]);
        assert_eq!(sub.mask(0).unwrap(), &[1u8; 4]);
        assert!(s.subset(&[]).is_empty());
    }

    #[test]
    fn validate_catches_inconsistencies() {
        let mut s = toy_set();
        s.images.pop();
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("pixel bytes"));
        let mut s = toy_set();
        s.labels[1] = -1;
        assert!(s.validate().is_err());
        let mut s = toy_set();
        s.masks.as_mut().unwrap()[5] = 255;
        assert!(s.validate().unwrap_err().to_string().contains("image 1"));
        let mut s = toy_set();
        s.masks.as_mut().unwrap().push(0);
        assert!(s.validate().is_err());
    }

    #[test]
    fn channel_stats_are_exact() {
        // One image, channel 0 all 0 and 255 half each; channel 1 constant 51.
        let s = ImageSet {
            images: vec![0, 255, 0, 255, 51, 51, 51, 51],
            labels: vec![0],
            channels: 2,
            height: 2,
            width: 2,
            masks: None,
        };
        let (m, sd) = s.channel_stats();
        assert!((m[0] - 0.5).abs() < 1e-6 && (sd[0] - 0.5).abs() < 1e-6);
        assert!((m[1] - 0.2).abs() < 1e-6 && sd[1].abs() < 1e-6);
    }

    #[test]
    fn spec_yaml_forms_parse() {
        let cases = [
            "synthetic: { classes: 10, train_per_class: 500 }",
            "cifar10: { root: data }",
            "cifar100: { root: data, labels: coarse }",
            "folder: { root: my_images, image_size: 32, test_fraction: 0.2 }",
            "synthetic: {}",
        ];
        let specs: Vec<DataSpec> = cases
            .iter()
            .map(|c| serde_norway::from_str(c).unwrap_or_else(|e| panic!("{c}: {e}")))
            .collect();
        assert!(
            matches!(&specs[0], DataSpec::Synthetic(s) if s.classes == 10 && s.train_per_class == 500 && s.test_per_class == 100)
        );
        assert!(
            matches!(&specs[1], DataSpec::Cifar10(s) if s.root == Path::new("data") && s.name.is_none())
        );
        assert!(matches!(&specs[2], DataSpec::Cifar100(s) if s.labels == cifar::LabelKind::Coarse));
        assert!(
            matches!(&specs[3], DataSpec::Folder(s) if s.image_size == Some(32) && s.test_fraction == 0.2)
        );
        assert_eq!(specs[4], DataSpec::default());
        let labels: Vec<String> = specs.iter().map(|s| s.label()).collect();
        assert_eq!(
            labels,
            ["synthetic", "cifar10", "cifar100", "my_images", "synthetic"]
        );
        // Round trip through YAML.
        for s in &specs {
            let text = serde_norway::to_string(s).unwrap();
            assert!(text.starts_with(s.kind()), "{text}");
            let back: DataSpec = serde_norway::from_str(&text).unwrap();
            assert_eq!(&back, s, "{text}");
        }
        // Unknown fields and unknown kinds are errors, not silently ignored.
        assert!(serde_norway::from_str::<DataSpec>("cifar10: { root: d, rot: x }").is_err());
        assert!(serde_norway::from_str::<DataSpec>("synthetic: { clases: 3 }").is_err());
        assert!(serde_norway::from_str::<DataSpec>("imagenet: { root: d }").is_err());
        // The path is required.
        assert!(serde_norway::from_str::<DataSpec>("cifar10: {}").is_err());
        // Exactly one kind.
        let err = serde_norway::from_str::<DataSpec>("{ cifar10: { root: a }, synthetic: {} }")
            .unwrap_err()
            .to_string();
        assert!(err.contains("only one"), "{err}");
        assert!(serde_norway::from_str::<DataSpec>("{}").is_err());
        // `synthetic:` alone means the default synthetic data set.
        assert_eq!(
            serde_norway::from_str::<DataSpec>("synthetic:").unwrap(),
            DataSpec::default()
        );
        // Nested in a larger document, as in a suite file.
        #[derive(Deserialize)]
        struct Suite {
            data: DataSpec,
        }
        let suite: Suite = serde_norway::from_str(
            "data:\n  cifar100:\n    root: data\n    labels: coarse\n    name: c100c\n",
        )
        .unwrap();
        assert_eq!(suite.data.label(), "c100c");
        assert_eq!(suite.data.kind(), "cifar100");
    }

    #[test]
    fn name_field_overrides_label() {
        let s: DataSpec =
            serde_norway::from_str("folder: { root: a/b/pets/, name: mypets }").unwrap();
        assert_eq!(s.label(), "mypets");
        let s: DataSpec = serde_norway::from_str("folder: { root: a/b/pets/ }").unwrap();
        assert_eq!(s.label(), "pets");
        let s: DataSpec = serde_norway::from_str("synthetic: { name: toy }").unwrap();
        assert_eq!(s.label(), "toy");
    }

    #[test]
    fn load_names_the_dataset_by_label() {
        let s: DataSpec = serde_norway::from_str(
            "synthetic: { name: tiny, classes: 3, train_per_class: 2, test_per_class: 1, size: 16 }",
        )
        .unwrap();
        let ds = s.load(Path::new(".")).unwrap();
        assert_eq!(ds.name, "tiny");
        assert_eq!(ds.num_classes(), 3);
        assert_eq!(ds.train.len(), 6);
        assert_eq!(ds.test.len(), 3);
    }

    #[test]
    fn resolve_path_keeps_absolute_paths() {
        assert_eq!(
            resolve_path(Path::new("/suite"), Path::new("data")),
            Path::new("/suite/data")
        );
        assert_eq!(
            resolve_path(Path::new("/suite"), Path::new("/abs")),
            Path::new("/abs")
        );
    }

    #[test]
    fn first_few_truncates() {
        assert_eq!(first_few(&["a", "b"], 3), "a, b");
        assert_eq!(first_few(&["a", "b", "c", "d"], 2), "a, b and 2 more");
    }
}
