//! Datasets: what a suite file says about its data ([`DataSpec`]), and the in-memory form every
//! loader produces ([`Dataset`], two [`ImageSet`]s of `u8` pixels plus the normalisation
//! constants).
//!
//! Loaders:
//! - [`synthetic`]: the embedded default (coloured shapes on textured backgrounds, with
//!   foreground masks and an optional background-reliance setting), needs no files;
//! - [`cifar`]: the official CIFAR-10 / CIFAR-100 binary releases;
//! - [`folder`]: any `root/<class>/*.jpg|png` tree (or `root/{train,test}/<class>/...`),
//!   optionally with a parallel folder of foreground masks;
//! - [`fashion_cifar`]: Fashion-MNIST items (read by [`idx`]) pasted on CIFAR-10 JPEG
//!   backgrounds, with masks and a class-to-background correlation;
//! - [`fetch`]: downloads and unpacks the CIFAR archives (md5-checked).
//!
//! Pixels stay `u8` until the engine builds a batch: 50 000 CIFAR images take 150 MiB this way
//! instead of 600 MiB as `f32`, and augmentation (crop, flip) works on bytes. This crate
//! (`mixbench-data`, re-exported as `mixbench::data`) does not depend on tch, so Cargo keeps
//! it buildable and testable without libtorch.

pub mod cifar;
pub mod fashion_cifar;
pub mod fetch;
pub mod fewshot;
pub mod folder;
pub mod idx;
pub mod images;
pub mod mnist;
pub mod spec;
pub mod synthetic;

use std::path::Path;

use anyhow::{bail, Context, Result};

pub use images::{resolve_path, Dataset, ImageSet};
pub use spec::DataSpec;

impl DataSpec {
    /// Checks the settings that need no files (sizes, counts, fractions, normalisation), so a
    /// suite with an out-of-range value is refused when it is loaded, not when its cell runs.
    pub fn check(&self) -> Result<()> {
        match self {
            DataSpec::Synthetic(s) => s.validate(),
            DataSpec::Folder(s) => s.check(),
            DataSpec::Fewshot(s) => {
                anyhow::ensure!(
                    !s.base.is_empty() && !s.novel.is_empty(),
                    "fewshot data: `base` and `novel` must each name at least one class"
                );
                s.source.check()
            }
            DataSpec::MiniImagenet(s) => {
                anyhow::ensure!(
                    s.image_size > 0,
                    "mini_imagenet: image_size must be positive"
                );
                Ok(())
            }
            DataSpec::FashionOnCifar(s) => s.check(),
            DataSpec::Idx(s) => s.check(),
            DataSpec::Cifar10(_) | DataSpec::Cifar100(_) | DataSpec::CifarFs(_) => Ok(()),
        }
    }

    /// The data set and the masked test images the background evaluation recombines: test
    /// images whose backgrounds go with their class, as class-correlated training backgrounds
    /// do. `synthetic` and `fashion_on_cifar` generate them (their class-background split,
    /// the same whatever the training correlation); a `folder` with `masks:` gives its test
    /// split as it is (natural images, whose backgrounds go with the class by nature). Other
    /// data sets have no masks: an error.
    pub fn load_background_test(&self, base_dir: &Path) -> Result<(Dataset, ImageSet)> {
        let (mut ds, set) = match self {
            DataSpec::Synthetic(s) => {
                let ds = s.generate()?;
                let set = s.generate_split(synthetic::Split::ClassBackground);
                (ds, set)
            }
            DataSpec::FashionOnCifar(s) => {
                let (ds, set) = s.generate(base_dir, true)?;
                (
                    ds,
                    set.context("the class-background split was not generated")?,
                )
            }
            DataSpec::Folder(s) if s.masks.is_some() => {
                let ds = s.load(base_dir)?;
                let set = ds.test.clone();
                (ds, set)
            }
            other => bail!(
                "data set `{}` has no foreground masks (use `synthetic`, `fashion_on_cifar`, or \
                 a `folder` with `masks:`)",
                other.label()
            ),
        };
        ds.name = self.label();
        ds.validate()?;
        set.validate()
            .context("the background evaluation's test images")?;
        Ok((ds, set))
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
            DataSpec::FashionOnCifar(s) => s.generate(base_dir, false)?.0,
            DataSpec::Idx(s) => s.load(base_dir)?,
            // A few-shot data set trains on its base classes.
            DataSpec::Fewshot(_) | DataSpec::MiniImagenet(_) | DataSpec::CifarFs(_) => {
                fewshot::load_fewshot(self, base_dir)?.base
            }
        };
        ds.name = self.label();
        ds.validate()?;
        Ok(ds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use images::first_few;
    use serde::Deserialize;

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
