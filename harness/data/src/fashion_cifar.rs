//! The Fashion-MNIST-on-CIFAR composite: real-image foregrounds with exact masks on real
//! backgrounds, with a class-to-background correlation set in the suite, so the background
//! evaluation has real data to measure (see `docs/background.md`).
//!
//! Every image is 32x32 RGB: a background image from CIFAR-10 (the JPEG class folders
//! `train/` and `test/`, read through [`FolderSpec`]; randomly flipped) with a Fashion-MNIST
//! item (28x28 grey, read by [`super::idx`]) pasted at a random offset in `0..=4` on each
//! axis. The item's mask is its pixels brighter than `threshold` (Fashion-MNIST items lie on
//! a black background), and the pasted pixels are the item's grey values. Image `i` of a split
//! has Fashion-MNIST class `i % 10` (its label) and one of that class's items (seeded order);
//! its background class is:
//!
//! - training split: with probability `correlation` the CIFAR-10 class with the label's index
//!   (0, airplane, for T-shirt/top; ...; 9, truck, for ankle boot), else a uniform draw over
//!   the ten CIFAR-10 classes;
//! - test split: a uniform draw (backgrounds carry no label information);
//! - class-background split (what the background evaluation recombines): always the label's
//!   CIFAR-10 class; the other draws (item, offset, flip, image within the pool) are the test
//!   split's, so it holds the test split's foregrounds at the same places.
//!
//! Training composites use Fashion-MNIST's training items and CIFAR-10's `train/` images, the
//! other splits Fashion-MNIST's test items and CIFAR-10's `test/` images (the first
//! `backgrounds_per_class` of each class, in name order). Image `i` of a split comes from its
//! own ChaCha8 stream keyed by (seed, split, i): the bytes do not depend on thread count.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::folder::FolderSpec;
use super::idx::{read_mnist_split, Items, ITEM};
use super::images::{resolve_path, Dataset, ImageSet};

/// The ten Fashion-MNIST classes, in label order.
pub const FASHION_CLASSES: [&str; 10] = [
    "t-shirt-top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle-boot",
];

/// Where Debian's `dataset-fashion-mnist` package installs the IDX files.
pub const DEBIAN_FASHION_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Side of the composite images (CIFAR-10's).
const SIZE: usize = 32;

fn d_fashion() -> PathBuf {
    PathBuf::from(DEBIAN_FASHION_DIR)
}
fn d_train() -> usize {
    300
}
fn d_test() -> usize {
    100
}
fn d_pool() -> usize {
    200
}
fn d_threshold() -> u8 {
    20
}

/// The composite data set's settings (`fashion_on_cifar:` in a suite file).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FashionOnCifarSpec {
    /// Report label (default "fashion-on-cifar").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Folder of the Fashion-MNIST IDX files (`train-images-idx3-ubyte[.gz]`, ...); default
    /// Debian's `/usr/share/datasets/fashion-mnist`. Relative to the suite file.
    #[serde(default = "d_fashion")]
    pub fashion: PathBuf,
    /// The CIFAR-10 JPEG folder with `train/<class>/` and `test/<class>/` (the ten classes),
    /// relative to the suite file.
    pub cifar: PathBuf,
    /// Training composites per class (default 300, at most 6,000).
    #[serde(default = "d_train")]
    pub train_per_class: usize,
    /// Test composites per class (default 100, at most 1,000); the class-background split has
    /// as many.
    #[serde(default = "d_test")]
    pub test_per_class: usize,
    /// CIFAR-10 images per class read from each of `train/` and `test/` as backgrounds
    /// (default 200).
    #[serde(default = "d_pool")]
    pub backgrounds_per_class: usize,
    /// Probability in `[0, 1]` that a training composite's background is its class's CIFAR-10
    /// class (default 0: backgrounds carry no label information).
    #[serde(default)]
    pub correlation: f64,
    /// Item pixels brighter than this are foreground (default 20).
    #[serde(default = "d_threshold")]
    pub threshold: u8,
    /// Generation seed (default 0).
    #[serde(default)]
    pub seed: u64,
}

/// Which split a composite belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// Training composites (backgrounds correlated with probability `correlation`).
    Train,
    /// Test composites (backgrounds uniform over classes).
    Test,
    /// The test foregrounds on their own class's backgrounds.
    ClassBackground,
}

/// Reads one split of the Fashion-MNIST IDX files in `dir` (`prefix`: `train` or `t10k`).
pub fn read_fashion_split(dir: &Path, prefix: &str) -> Result<Items> {
    read_mnist_split(
        dir,
        prefix,
        "install Debian's `dataset-fashion-mnist` (apt-get install dataset-fashion-mnist) or \
         set `fashion:` to the folder holding the IDX files",
    )
}

/// Loaded sources: items and background pools of both sides.
struct Sources {
    train_items: Items,
    test_items: Items,
    /// Per CIFAR-10 class, its training and test background images.
    train_pool: Vec<Vec<Vec<u8>>>,
    test_pool: Vec<Vec<Vec<u8>>>,
}

impl FashionOnCifarSpec {
    /// Report label.
    pub fn label(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| "fashion-on-cifar".into())
    }

    /// Checks the settings that need no files.
    pub fn check(&self) -> Result<()> {
        let p = self.correlation;
        ensure!(
            p.is_finite() && (0.0..=1.0).contains(&p),
            "fashion_on_cifar data: correlation must be a probability in [0, 1], got {p}"
        );
        ensure!(
            (1..=6000).contains(&self.train_per_class) && (1..=1000).contains(&self.test_per_class),
            "fashion_on_cifar data: train_per_class must be in 1..=6000 and test_per_class in \
             1..=1000 (Fashion-MNIST's items per class), got {} and {}",
            self.train_per_class,
            self.test_per_class
        );
        ensure!(
            self.backgrounds_per_class >= 1,
            "fashion_on_cifar data: backgrounds_per_class must be at least 1"
        );
        Ok(())
    }

    /// Generates the training and test splits; with `class_backgrounds`, also the
    /// class-background split (for the background evaluation).
    pub fn generate(
        &self,
        base_dir: &Path,
        class_backgrounds: bool,
    ) -> Result<(Dataset, Option<ImageSet>)> {
        self.check()?;
        let sources = self.sources(base_dir)?;
        let train = self.split(&sources, Split::Train);
        let test = self.split(&sources, Split::Test);
        let extra = class_backgrounds.then(|| self.split(&sources, Split::ClassBackground));
        let (mean, std) = train.channel_stats();
        let mut notes = Vec::new();
        if self.correlation > 0.0 {
            notes.push(format!(
                "correlation {}: that share of training backgrounds is the class's CIFAR-10 \
                 class; test backgrounds are independent of the class",
                self.correlation
            ));
        }
        let ds = Dataset {
            name: self.label(),
            class_names: FASHION_CLASSES.iter().map(|s| s.to_string()).collect(),
            train,
            test,
            mean,
            std,
            notes,
        };
        Ok((ds, extra))
    }

    /// Reads the Fashion-MNIST items and the CIFAR-10 background pools.
    fn sources(&self, base_dir: &Path) -> Result<Sources> {
        let fashion = resolve_path(base_dir, &self.fashion);
        let train_items = read_fashion_split(&fashion, "train")?;
        let test_items = read_fashion_split(&fashion, "t10k")?;
        let mut folder = FolderSpec::new(resolve_path(base_dir, &self.cifar));
        folder.image_size = Some(SIZE);
        folder.max_per_class = Some(self.backgrounds_per_class);
        let cifar = folder
            .load(base_dir)
            .context("reading the CIFAR-10 backgrounds of fashion_on_cifar")?;
        ensure!(
            cifar.num_classes() == 10,
            "fashion_on_cifar: {} holds {} class folders, expected CIFAR-10's 10",
            self.cifar.display(),
            cifar.num_classes()
        );
        let pool = |set: &ImageSet| {
            let mut by_class = vec![Vec::new(); 10];
            for i in 0..set.len() {
                by_class[set.labels[i] as usize].push(set.image(i).to_vec());
            }
            by_class
        };
        let (train_pool, test_pool) = (pool(&cifar.train), pool(&cifar.test));
        if let Some(c) = (0..10).find(|&c| train_pool[c].is_empty() || test_pool[c].is_empty()) {
            anyhow::bail!(
                "fashion_on_cifar: CIFAR-10 class {} of {} has no training or no test image",
                cifar.class_names[c],
                self.cifar.display()
            );
        }
        for (c, items) in [&train_items, &test_items].iter().enumerate() {
            let need = if c == 0 {
                self.train_per_class
            } else {
                self.test_per_class
            };
            for class in 0..10u8 {
                let have = items.labels.iter().filter(|&&l| l == class).count();
                ensure!(
                    have >= need,
                    "fashion_on_cifar: Fashion-MNIST has {have} {} items of class {class}, \
                     {need} asked for",
                    if c == 0 { "training" } else { "test" }
                );
            }
        }
        Ok(Sources {
            train_items,
            test_items,
            train_pool,
            test_pool,
        })
    }

    /// One split: `10 * per_class` composites, image `i` of class `i % 10`, with masks.
    fn split(&self, sources: &Sources, split: Split) -> ImageSet {
        let (items, pool, per_class) = match split {
            Split::Train => (
                &sources.train_items,
                &sources.train_pool,
                self.train_per_class,
            ),
            _ => (&sources.test_items, &sources.test_pool, self.test_per_class),
        };
        // Items of each class in a seeded order (the same order for the test and
        // class-background splits, so they share foregrounds).
        let side = match split {
            Split::Train => 0u64,
            _ => 1u64,
        };
        let order: Vec<Vec<usize>> = (0..10u8)
            .map(|c| {
                let mut of: Vec<usize> = (0..items.labels.len())
                    .filter(|&i| items.labels[i] == c)
                    .collect();
                let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
                rng.set_stream((1 << 40) | (side << 8) | c as u64);
                for i in (1..of.len()).rev() {
                    of.swap(i, rng.gen_range(0..=i));
                }
                of
            })
            .collect();
        let n = 10 * per_class;
        let mut set = ImageSet::empty(3, SIZE, SIZE);
        set.images = vec![0u8; n * 3 * SIZE * SIZE];
        let mut masks = vec![0u8; n * SIZE * SIZE];
        set.images
            .par_chunks_mut(3 * SIZE * SIZE)
            .zip(masks.par_chunks_mut(SIZE * SIZE))
            .enumerate()
            .for_each(|(i, (img, mask))| {
                let class = i % 10;
                let item = order[class][i / 10];
                let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
                // The class-background split replays the test split's draws (same items, flips
                // and offsets), only the background class differs.
                let stream = match split {
                    Split::Train => 0u64,
                    Split::Test | Split::ClassBackground => 1 << 62,
                };
                rng.set_stream(stream | i as u64);
                // Draw order is fixed: background class, background image, flip, offset.
                let coin: f64 = rng.gen();
                let uniform = rng.gen_range(0..10usize);
                let bg_class = match split {
                    Split::Train if coin < self.correlation => class,
                    Split::ClassBackground => class,
                    _ => uniform,
                };
                let choices = &pool[bg_class];
                let bg = &choices[rng.gen_range(0..choices.len())];
                let flip = rng.gen_bool(0.5);
                let (dx, dy) = (
                    rng.gen_range(0..=SIZE - ITEM),
                    rng.gen_range(0..=SIZE - ITEM),
                );
                let hw = SIZE * SIZE;
                for ch in 0..3 {
                    for y in 0..SIZE {
                        for x in 0..SIZE {
                            let sx = if flip { SIZE - 1 - x } else { x };
                            img[ch * hw + y * SIZE + x] = bg[ch * hw + y * SIZE + sx];
                        }
                    }
                }
                let pixels = &items.images[item * ITEM * ITEM..(item + 1) * ITEM * ITEM];
                for y in 0..ITEM {
                    for x in 0..ITEM {
                        let v = pixels[y * ITEM + x];
                        if v > self.threshold {
                            let p = (y + dy) * SIZE + x + dx;
                            mask[p] = 1;
                            for ch in 0..3 {
                                img[ch * hw + p] = v;
                            }
                        }
                    }
                }
            });
        set.labels = (0..n).map(|i| (i % 10) as i64).collect();
        set.masks = Some(masks);
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idx::to_idx_bytes;

    /// Colour of every CIFAR stand-in image of class `k`.
    fn colour(k: usize) -> [u8; 3] {
        [(20 * k) as u8, 50, 255 - (20 * k) as u8]
    }

    /// Fake sources under `dir`: Fashion-MNIST IDX files with `per` items per class (item of
    /// class c: rows c..c+10, columns 5..15 at brightness 100 + c, every other pixel 10, below
    /// the threshold), gzip for the training files; CIFAR stand-ins `cifar/{train,test}/c<k>/`
    /// of two uniform PNGs of colour `colour(k)`.
    fn fixture(dir: &Path, per: usize) {
        use std::io::Write;
        let fashion = dir.join("fashion");
        std::fs::create_dir_all(&fashion).unwrap();
        for (prefix, gz) in [("train", true), ("t10k", false)] {
            let n = 10 * per;
            let mut images = Vec::with_capacity(n * 784);
            let mut labels = Vec::with_capacity(n);
            for i in 0..n {
                let c = i % 10;
                labels.push(c as u8);
                for y in 0..28 {
                    for x in 0..28 {
                        let fg = (c..c + 10).contains(&y) && (5..15).contains(&x);
                        images.push(if fg { 100 + c as u8 } else { 10 });
                    }
                }
            }
            for (stem, dims, data) in [
                (
                    format!("{prefix}-images-idx3-ubyte"),
                    vec![n, 28, 28],
                    images,
                ),
                (format!("{prefix}-labels-idx1-ubyte"), vec![n], labels),
            ] {
                let bytes = to_idx_bytes(&dims, &data);
                if gz {
                    let mut e = flate2::write::GzEncoder::new(Vec::new(), Default::default());
                    e.write_all(&bytes).unwrap();
                    std::fs::write(fashion.join(format!("{stem}.gz")), e.finish().unwrap())
                        .unwrap();
                } else {
                    std::fs::write(fashion.join(stem), bytes).unwrap();
                }
            }
        }
        for split in ["train", "test"] {
            for k in 0..10 {
                let d = dir.join("cifar").join(split).join(format!("c{k}"));
                std::fs::create_dir_all(&d).unwrap();
                for i in 0..2 {
                    image::RgbImage::from_pixel(32, 32, image::Rgb(colour(k)))
                        .save(d.join(format!("{i}.png")))
                        .unwrap();
                }
            }
        }
    }

    fn spec(p: f64, seed: u64) -> FashionOnCifarSpec {
        FashionOnCifarSpec {
            name: None,
            fashion: "fashion".into(),
            cifar: "cifar".into(),
            train_per_class: 20,
            test_per_class: 10,
            backgrounds_per_class: 2,
            correlation: p,
            threshold: 20,
            seed,
        }
    }

    /// The background class of image `i` of `set`: the class whose colour its first background
    /// pixel has.
    fn background_class(set: &ImageSet, i: usize) -> usize {
        let hw = set.height * set.width;
        let (img, mask) = (set.image(i), set.mask(i).unwrap());
        let p = (0..hw).find(|&p| mask[p] == 0).unwrap();
        (0..10)
            .find(|&k| colour(k) == [img[p], img[hw + p], img[2 * hw + p]])
            .expect("background pixel of no class colour")
    }

    #[test]
    fn composites_follow_their_definition() {
        let tmp = tempfile::tempdir().unwrap();
        fixture(tmp.path(), 30);
        let (ds, bg) = spec(1.0, 3).generate(tmp.path(), true).unwrap();
        let bg = bg.unwrap();
        ds.validate().unwrap();
        bg.validate().unwrap();
        assert_eq!((ds.train.len(), ds.test.len(), bg.len()), (200, 100, 100));
        assert_eq!(ds.class_names[9], "ankle-boot");
        let hw = 32 * 32;
        for (set, correlated) in [(&ds.train, true), (&bg, true), (&ds.test, false)] {
            let mut same = 0;
            for i in 0..set.len() {
                let c = i % 10;
                assert_eq!(set.labels[i], c as i64);
                let (img, mask) = (set.image(i), set.mask(i).unwrap());
                // The mask is the item's 10x10 bright block, placed at an offset in 0..=4,
                // and its pixels are the item's grey.
                let fg: Vec<usize> = (0..hw).filter(|&p| mask[p] == 1).collect();
                assert_eq!(fg.len(), 100, "image {i}");
                let (y0, x0) = (fg[0] / 32, fg[0] % 32);
                assert!(
                    (c..=c + 4).contains(&y0) && (5..=9).contains(&x0),
                    "{y0} {x0}"
                );
                for &p in &fg {
                    assert_eq!([img[p], img[hw + p], img[2 * hw + p]], [100 + c as u8; 3]);
                }
                same += (background_class(set, i) == c) as usize;
            }
            if correlated {
                assert_eq!(same, set.len());
            } else {
                assert!(
                    same < set.len() / 3,
                    "test backgrounds follow the class: {same}"
                );
            }
        }
        // The class-background split holds the test split's foregrounds at the same places.
        assert_eq!(bg.masks, ds.test.masks);
        // No correlation: training backgrounds are drawn over all classes.
        let (plain, none) = spec(0.0, 3).generate(tmp.path(), false).unwrap();
        assert!(none.is_none());
        let same = (0..200)
            .filter(|&i| background_class(&plain.train, i) == i % 10)
            .count();
        assert!(same < 60, "{same}");
        // The test split does not depend on the correlation; the seed changes everything.
        assert_eq!(plain.test, ds.test);
        let (again, _) = spec(1.0, 3).generate(tmp.path(), false).unwrap();
        assert_eq!(again.train, ds.train);
        let (other, _) = spec(1.0, 4).generate(tmp.path(), false).unwrap();
        assert_ne!(other.train.images, ds.train.images);
    }

    #[test]
    fn bad_settings_and_missing_files_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        for bad in [
            FashionOnCifarSpec {
                correlation: 1.5,
                ..spec(0.0, 0)
            },
            FashionOnCifarSpec {
                test_per_class: 1001,
                ..spec(0.0, 0)
            },
            FashionOnCifarSpec {
                backgrounds_per_class: 0,
                ..spec(0.0, 0)
            },
        ] {
            assert!(bad.check().is_err());
        }
        let err = format!(
            "{:#}",
            spec(0.0, 0).generate(tmp.path(), false).unwrap_err()
        );
        assert!(
            err.contains("dataset-fashion-mnist") && err.contains("train-images"),
            "{err}"
        );
        // More items asked for than the files hold.
        fixture(tmp.path(), 5);
        let err = format!(
            "{:#}",
            spec(0.0, 0).generate(tmp.path(), false).unwrap_err()
        );
        assert!(
            err.contains("5 training items of class 0, 20 asked for"),
            "{err}"
        );
    }

    /// The real sources, when present: Debian's Fashion-MNIST and the shared CIFAR-10 JPEGs
    /// unpacked at `runs/data/cifar10-jpeg` (by `ci/background-check.sh`).
    #[test]
    fn real_sources_when_present() {
        let cifar = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../runs/data/cifar10-jpeg");
        let fashion = Path::new(DEBIAN_FASHION_DIR);
        if !fashion.is_dir() || !cifar.join("test").is_dir() {
            eprintln!(
                "skipping: needs {} (apt-get install dataset-fashion-mnist) and {} (bash \
                 ci/background-check.sh unpacks it)",
                fashion.display(),
                cifar.display()
            );
            return;
        }
        let s = FashionOnCifarSpec {
            fashion: fashion.into(),
            cifar,
            train_per_class: 50,
            test_per_class: 20,
            backgrounds_per_class: 20,
            correlation: 1.0,
            ..spec(1.0, 0)
        };
        let (ds, bg) = s.generate(Path::new("/"), true).unwrap();
        ds.validate().unwrap();
        let bg = bg.unwrap();
        let share = |set: &ImageSet| {
            let m = set.masks.as_ref().unwrap();
            m.iter().map(|&v| v as f64).sum::<f64>() / m.len() as f64
        };
        // Fashion-MNIST items cover roughly a third to a half of a 32x32 composite.
        for set in [&ds.train, &ds.test, &bg] {
            assert!((0.2..0.6).contains(&share(set)), "{}", share(set));
        }
    }
}
