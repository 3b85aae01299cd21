//! MNIST-format data sets read from their original IDX files: Fashion-MNIST (Debian's
//! `dataset-fashion-mnist` installs them in `/usr/share/datasets/fashion-mnist`), MNIST and
//! KMNIST, which share the format. The 28x28 grey images are centred on a black square of
//! `size` pixels (32 by default, the CIFAR models' input) and repeated over three channels, so
//! every model of the zoo trains on them; normalisation comes from the training images.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Result};
use serde::{Deserialize, Serialize};

use super::fashion_cifar::{DEBIAN_FASHION_DIR, FASHION_CLASSES};
use super::idx::{read_mnist_split, Items, ITEM};
use super::images::{resolve_path, Dataset, ImageSet};

fn d_root() -> PathBuf {
    PathBuf::from(DEBIAN_FASHION_DIR)
}

fn d_size() -> usize {
    32
}

/// `idx:` in a suite file: an MNIST-format data set in a folder of IDX files
/// (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, `t10k-...`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MnistSpec {
    /// Report label (default: the folder's name, e.g. `fashion-mnist`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Folder of the IDX files (default Debian's Fashion-MNIST folder); relative to the suite
    /// file.
    #[serde(default = "d_root")]
    pub root: PathBuf,
    /// Side of the images: 28 (as stored) or more (zero-padded around the centre).
    #[serde(default = "d_size")]
    pub size: usize,
    /// At most this many images of each class in each split, the first in file order
    /// (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_class: Option<usize>,
}

impl Default for MnistSpec {
    fn default() -> Self {
        MnistSpec {
            name: None,
            root: d_root(),
            size: d_size(),
            max_per_class: None,
        }
    }
}

impl MnistSpec {
    /// Report label: `name`, else the folder's name.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            self.root
                .file_name()
                .map_or_else(|| "idx".into(), |n| n.to_string_lossy().into_owned())
        })
    }

    /// Checks the settings that need no files.
    pub fn check(&self) -> Result<()> {
        ensure!(
            self.size >= ITEM,
            "idx.size: at least {ITEM} (the stored images' side), got {}",
            self.size
        );
        ensure!(
            self.max_per_class != Some(0),
            "idx.max_per_class: at least 1 (or leave it out)"
        );
        Ok(())
    }

    /// Reads both splits. Class names are Fashion-MNIST's when the folder or name says
    /// `fashion`, else the digits `0`-`9`.
    pub fn load(&self, base_dir: &Path) -> Result<Dataset> {
        self.check()?;
        let root = resolve_path(base_dir, &self.root);
        let hint = format!(
            "set `idx.root` to the folder holding the IDX files (Fashion-MNIST: apt-get install \
             dataset-fashion-mnist installs them in {DEBIAN_FASHION_DIR})"
        );
        let train = self.to_images(&read_mnist_split(&root, "train", &hint)?);
        let test = self.to_images(&read_mnist_split(&root, "t10k", &hint)?);
        let (mean, std) = train.channel_stats();
        let fashion = self.label().contains("fashion")
            || root.to_string_lossy().to_lowercase().contains("fashion");
        let class_names = (0..10)
            .map(|k| match fashion {
                true => FASHION_CLASSES[k].to_string(),
                false => k.to_string(),
            })
            .collect();
        Ok(Dataset {
            name: self.label(),
            class_names,
            train,
            test,
            mean,
            std,
            notes: Vec::new(),
        })
    }

    /// The split's items (capped per class) as `size`x`size` RGB images, centred.
    fn to_images(&self, items: &Items) -> ImageSet {
        let size = self.size;
        let offset = (size - ITEM) / 2;
        let mut set = ImageSet::empty(3, size, size);
        let mut taken = [0usize; 10];
        let cap = self.max_per_class.unwrap_or(usize::MAX);
        for (i, &label) in items.labels.iter().enumerate() {
            let count = &mut taken[label as usize];
            if *count >= cap {
                continue;
            }
            *count += 1;
            let item = &items.images[i * ITEM * ITEM..(i + 1) * ITEM * ITEM];
            let mut plane = vec![0u8; size * size];
            for (row, pixels) in item.chunks_exact(ITEM).enumerate() {
                let start = (row + offset) * size + offset;
                plane[start..start + ITEM].copy_from_slice(pixels);
            }
            for _ in 0..3 {
                set.images.extend_from_slice(&plane);
            }
            set.labels.push(label as i64);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idx::to_idx_bytes;

    /// Writes a tiny MNIST-format folder: `per` items of each class per split, item `i` filled
    /// with grey value `i + 1`.
    fn fixture(dir: &Path, per: usize) {
        for prefix in ["train", "t10k"] {
            let n = per * 10;
            let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
            let images: Vec<u8> = (0..n)
                .flat_map(|i| std::iter::repeat_n((i + 1) as u8, ITEM * ITEM))
                .collect();
            std::fs::write(
                dir.join(format!("{prefix}-images-idx3-ubyte")),
                to_idx_bytes(&[n, ITEM, ITEM], &images),
            )
            .unwrap();
            std::fs::write(
                dir.join(format!("{prefix}-labels-idx1-ubyte")),
                to_idx_bytes(&[n], &labels),
            )
            .unwrap();
        }
    }

    /// Images are centred on a black square, repeated over three channels, capped per class in
    /// file order; labels and class names follow the files and the folder.
    #[test]
    fn items_are_padded_grey_rgb_and_capped_per_class() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("fashion-mnist");
        std::fs::create_dir(&root).unwrap();
        fixture(&root, 3);
        let spec = MnistSpec {
            root: root.clone(),
            max_per_class: Some(2),
            ..MnistSpec::default()
        };
        let ds = spec.load(tmp.path()).unwrap();
        ds.validate().unwrap();
        assert_eq!((ds.train.len(), ds.test.len()), (20, 20));
        assert_eq!(&ds.train.labels[..3], &[0, 1, 2]);
        assert_eq!(ds.name, "fashion-mnist");
        assert_eq!(ds.class_names[9], "ankle-boot");
        let image = ds.train.image(0);
        assert_eq!(image.len(), 3 * 32 * 32);
        // Border black, centre the item's value (1), the same in every channel.
        assert_eq!(image[0], 0);
        assert_eq!(image[2 * 32 + 2], 1);
        assert_eq!(image[29 * 32 + 29], 1);
        assert_eq!(image[30 * 32 + 30], 0);
        assert_eq!(&image[..1024], &image[1024..2048]);
        // The cap keeps the first items of each class: items 0..20 of the file.
        assert_eq!(ds.train.image(19)[2 * 32 + 2], 20);

        let digits = MnistSpec {
            name: Some("mnist".into()),
            root: root.clone(),
            size: 28,
            max_per_class: None,
        };
        // The folder says fashion; a name without it and another folder give digits.
        let other = tmp.path().join("digits");
        std::fs::create_dir(&other).unwrap();
        fixture(&other, 1);
        let ds = MnistSpec {
            root: other,
            ..digits.clone()
        }
        .load(tmp.path())
        .unwrap();
        assert_eq!(ds.class_names[3], "3");
        assert_eq!(ds.train.height, 28);
        assert_eq!(ds.train.image(0)[0], 1);
    }

    /// Too small a size and an empty cap are refused with their keys; missing files name the
    /// file and where to get them.
    #[test]
    fn bad_settings_and_missing_files_are_errors() {
        let small = MnistSpec {
            size: 20,
            ..MnistSpec::default()
        };
        assert!(small.check().unwrap_err().to_string().contains("idx.size"));
        let empty = MnistSpec {
            max_per_class: Some(0),
            ..MnistSpec::default()
        };
        assert!(empty
            .check()
            .unwrap_err()
            .to_string()
            .contains("idx.max_per_class"));
        let tmp = tempfile::tempdir().unwrap();
        let missing = MnistSpec {
            root: tmp.path().join("nowhere"),
            ..MnistSpec::default()
        };
        let err = format!("{:#}", missing.load(tmp.path()).unwrap_err());
        assert!(
            err.contains("nowhere/train-images-idx3-ubyte") && err.contains("idx.root"),
            "{err}"
        );
    }
}
