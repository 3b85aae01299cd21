//! Few-shot data sets: base classes to pre-train on, novel classes to draw episodes from.
//!
//! - [`FewShotSpec`] (`fewshot:` in a suite): any data set of the harness with user-given
//!   base and novel class lists (names or indices). Base training images are the source's
//!   training images of the base classes, relabelled in list order; the base test split (the
//!   accuracy logged per epoch) is the source's test images of the base classes; the novel pool
//!   is the source's `novel_from` images (default `test`) of the novel classes.
//! - [`MiniImagenetSpec`] (`mini_imagenet:`): the common distribution of mini-ImageNet (Vinyals
//!   et al., 2016) with the Ravi and Larochelle (2017) split: `root/images/*.jpg` and
//!   `root/{train,val,test}.csv`, each a header `filename,label` then one row per image (64 base,
//!   16 validation and 20 novel classes of 600 images). Images are resized to `image_size`
//!   (default 84). Malformed rows and missing or unreadable images are errors naming the CSV
//!   file and line.
//! - [`CifarFsSpec`] (`cifar_fs:`): CIFAR-FS (Bertinetto et al., ICLR 2019), the CIFAR-100
//!   binary release split 64/16/20 by class ([`CIFAR_FS_TRAIN`], [`CIFAR_FS_VAL`],
//!   [`CIFAR_FS_TEST`]); the novel pool holds all 600 images of each novel class (training and
//!   test images), base training uses the 500 training images of each base class and the 100
//!   test images for the per-epoch accuracy.
//!
//! Like the rest of this crate, this module does not use tch.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::{anyhow, bail, ensure, Context, Result};
use rayon::prelude::*;

use super::cifar::{Cifar100Spec, LabelKind};
use super::images::{resolve_path, Dataset, ImageSet};
use super::spec::{
    CifarFsSpec, ClassRef, DataSpec, FewShotSpec, MiniImagenetSpec, NovelFrom, NovelSplit,
};

/// A data set split for few-shot evaluation.
#[derive(Clone, Debug)]
pub struct FewShotData {
    /// Base classes: what the network is pre-trained on (labels `0..base classes`).
    pub base: Dataset,
    /// Novel-class images, labels `0..novel classes` (indices into `novel_classes`).
    pub novel: ImageSet,
    /// Names of the novel classes.
    pub novel_classes: Vec<String>,
}

/// The 64 CIFAR-FS training (base) classes: the CIFAR-100 fine classes in neither
/// [`CIFAR_FS_VAL`] nor [`CIFAR_FS_TEST`], in CIFAR-100 label order. The split is Bertinetto et
/// al.'s (`data/cifar-fs/splits/bertinetto/{train,val,test}.txt` of github.com/bertinetto/r2d2),
/// which RFS (Tian et al., 2020) and MetaOptNet use.
pub const CIFAR_FS_TRAIN: [&str; 64] = [
    "apple",
    "aquarium_fish",
    "bear",
    "bee",
    "bottle",
    "bowl",
    "boy",
    "bridge",
    "bus",
    "can",
    "castle",
    "caterpillar",
    "chair",
    "clock",
    "cloud",
    "cockroach",
    "couch",
    "cup",
    "dinosaur",
    "dolphin",
    "elephant",
    "forest",
    "girl",
    "hamster",
    "house",
    "kangaroo",
    "keyboard",
    "lawn_mower",
    "lion",
    "lizard",
    "lobster",
    "mountain",
    "mouse",
    "mushroom",
    "oak_tree",
    "orange",
    "orchid",
    "palm_tree",
    "pear",
    "pine_tree",
    "plate",
    "porcupine",
    "possum",
    "rabbit",
    "raccoon",
    "ray",
    "road",
    "seal",
    "shrew",
    "skunk",
    "skyscraper",
    "snake",
    "spider",
    "squirrel",
    "streetcar",
    "sunflower",
    "tank",
    "tiger",
    "train",
    "trout",
    "tulip",
    "turtle",
    "willow_tree",
    "wolf",
];

/// The 16 CIFAR-FS validation classes (Bertinetto et al.'s `val.txt`).
pub const CIFAR_FS_VAL: [&str; 16] = [
    "otter",
    "motorcycle",
    "television",
    "lamp",
    "crocodile",
    "shark",
    "butterfly",
    "beaver",
    "beetle",
    "tractor",
    "flatfish",
    "maple_tree",
    "camel",
    "crab",
    "sea",
    "cattle",
];

/// The 20 CIFAR-FS test (novel) classes (Bertinetto et al.'s `test.txt`).
pub const CIFAR_FS_TEST: [&str; 20] = [
    "baby",
    "bed",
    "bicycle",
    "chimpanzee",
    "fox",
    "leopard",
    "man",
    "pickup_truck",
    "plain",
    "poppy",
    "rocket",
    "rose",
    "snail",
    "sweet_pepper",
    "table",
    "telephone",
    "wardrobe",
    "whale",
    "woman",
    "worm",
];

/// mini-ImageNet normalisation as RFS (Tian et al.) uses it: mean (120.40, 115.59, 104.54) /
/// 255, std (70.68, 68.28, 72.54) / 255.
pub const MINI_IMAGENET_MEAN: [f32; 3] =
    [120.395_86 / 255.0, 115.593_61 / 255.0, 104.540_13 / 255.0];
/// See [`MINI_IMAGENET_MEAN`].
pub const MINI_IMAGENET_STD: [f32; 3] = [70.681_88 / 255.0, 68.276_35 / 255.0, 72.545_06 / 255.0];

impl FewShotSpec {
    /// Loads the source and splits it into base and novel classes.
    pub fn load_split(&self, base_dir: &Path) -> Result<FewShotData> {
        ensure!(
            !self.source.is_fewshot(),
            "fewshot data: the source must be a plain data set, not another few-shot one"
        );
        let source = self.source.load(base_dir)?;
        split_classes(
            source,
            &self.base,
            &self.novel,
            self.novel_from,
            &self.label(),
        )
    }
}

/// Resolves class references against `names`; duplicates and unknown classes are errors.
fn resolve_classes(refs: &[ClassRef], names: &[String], what: &str) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(refs.len());
    for r in refs {
        let i = match r {
            ClassRef::Index(i) => {
                ensure!(
                    *i < names.len(),
                    "fewshot data: {what} class index {i} is out of range (the source has {} classes)",
                    names.len()
                );
                *i
            }
            ClassRef::Name(n) => names.iter().position(|c| c == n).ok_or_else(|| {
                anyhow!(
                    "fewshot data: unknown {what} class `{n}`{}",
                    mixbench_params::did_you_mean(n, names.iter().map(String::as_str))
                )
            })?,
        };
        ensure!(
            !out.contains(&i),
            "fewshot data: {what} class `{}` is listed twice",
            names[i]
        );
        out.push(i);
    }
    ensure!(!out.is_empty(), "fewshot data: no {what} classes given");
    Ok(out)
}

/// The images of `set` whose label is in `classes`, relabelled by position in `classes`.
fn select(set: &ImageSet, classes: &[usize]) -> ImageSet {
    let mut map = vec![None; classes.iter().max().map_or(0, |m| m + 1)];
    for (new, &old) in classes.iter().enumerate() {
        map[old] = Some(new as i64);
    }
    let keep: Vec<usize> = (0..set.len())
        .filter(|&i| map.get(set.labels[i] as usize).copied().flatten().is_some())
        .collect();
    let mut out = set.subset(&keep);
    for l in out.labels.iter_mut() {
        *l = map[*l as usize].expect("selected");
    }
    out
}

/// Splits a loaded data set into base and novel classes.
fn split_classes(
    source: Dataset,
    base: &[ClassRef],
    novel: &[ClassRef],
    novel_from: NovelFrom,
    label: &str,
) -> Result<FewShotData> {
    let base_idx = resolve_classes(base, &source.class_names, "base")?;
    let novel_idx = resolve_classes(novel, &source.class_names, "novel")?;
    if let Some(&c) = base_idx.iter().find(|c| novel_idx.contains(c)) {
        bail!(
            "fewshot data: class `{}` is both a base and a novel class",
            source.class_names[c]
        );
    }
    let mut novel_set = match novel_from {
        NovelFrom::Test => select(&source.test, &novel_idx),
        NovelFrom::Train => select(&source.train, &novel_idx),
        NovelFrom::All => {
            let mut a = select(&source.train, &novel_idx);
            let b = select(&source.test, &novel_idx);
            a.images.extend_from_slice(&b.images);
            a.labels.extend_from_slice(&b.labels);
            a
        }
    };
    novel_set.masks = None;
    let base_set = Dataset {
        name: label.to_string(),
        class_names: base_idx
            .iter()
            .map(|&i| source.class_names[i].clone())
            .collect(),
        train: select(&source.train, &base_idx),
        test: select(&source.test, &base_idx),
        mean: source.mean.clone(),
        std: source.std.clone(),
        notes: source.notes.clone(),
    };
    Ok(FewShotData {
        base: base_set,
        novel: novel_set,
        novel_classes: novel_idx
            .iter()
            .map(|&i| source.class_names[i].clone())
            .collect(),
    })
}

impl CifarFsSpec {
    /// Loads CIFAR-100 and splits it as CIFAR-FS.
    pub fn load_split(&self, base_dir: &Path) -> Result<FewShotData> {
        let source = Cifar100Spec {
            name: None,
            root: self.root.clone(),
            labels: LabelKind::Fine,
        }
        .load(base_dir)?;
        cifar_fs_split(source, self.novel_split, &self.label())
    }
}

/// The CIFAR-100 fine label of a CIFAR-100 class name: its rank among the 100 names sorted in
/// byte order (the official `fine_label_names.txt` is in that order), so the split does not
/// depend on that optional file.
pub fn cifar100_fine_label(name: &str) -> Option<usize> {
    let mut all: Vec<&str> = CIFAR_FS_TRAIN
        .iter()
        .chain(&CIFAR_FS_VAL)
        .chain(&CIFAR_FS_TEST)
        .copied()
        .collect();
    all.sort_unstable();
    all.iter().position(|n| *n == name)
}

/// Splits a loaded CIFAR-100 (fine labels) as CIFAR-FS.
pub fn cifar_fs_split(
    source: Dataset,
    novel_split: NovelSplit,
    label: &str,
) -> Result<FewShotData> {
    ensure!(
        source.num_classes() == 100,
        "cifar_fs: the source must have the 100 CIFAR-100 fine classes, it has {}",
        source.num_classes()
    );
    let refs = |list: &[&str]| -> Vec<ClassRef> {
        list.iter()
            .map(|n| ClassRef::Index(cifar100_fine_label(n).expect("a CIFAR-100 name")))
            .collect()
    };
    let novel: &[&str] = match novel_split {
        NovelSplit::Test => &CIFAR_FS_TEST,
        NovelSplit::Val => &CIFAR_FS_VAL,
    };
    let mut data = split_classes(
        source,
        &refs(&CIFAR_FS_TRAIN),
        &refs(novel),
        NovelFrom::All,
        label,
    )?;
    // Name the classes as CIFAR-FS does, whether or not the names file was there.
    data.base.class_names = CIFAR_FS_TRAIN.iter().map(|s| s.to_string()).collect();
    data.novel_classes = novel.iter().map(|s| s.to_string()).collect();
    Ok(data)
}

/// One row of a split file: image file name, class, line number (from 1).
#[derive(Clone, Debug, PartialEq)]
pub struct SplitRow {
    /// Image file name, relative to `images/`.
    pub filename: String,
    /// Class (a WordNet id such as `n01532829`).
    pub label: String,
    /// Line in the CSV file, from 1 (the header is line 1).
    pub line: usize,
}

/// Reads a Ravi-Larochelle split file: the header `filename,label`, then one `filename,label`
/// row per image (blank lines ignored). Errors name the file and the line.
pub fn read_split_csv(path: &Path) -> Result<Vec<SplitRow>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("mini-ImageNet split file {} cannot be read", path.display()))?;
    let mut lines = text.lines().enumerate();
    let header = lines
        .next()
        .map(|(_, l)| l.trim_start_matches('\u{feff}').trim())
        .unwrap_or("");
    ensure!(
        header == "filename,label",
        "{}:1: expected the header `filename,label`, found `{header}`",
        path.display()
    );
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for (i, line) in lines {
        let line_no = i + 1;
        let l = line.trim();
        if l.is_empty() {
            continue;
        }
        let fields: Vec<&str> = l.split(',').map(str::trim).collect();
        if fields.len() != 2 || fields[0].is_empty() || fields[1].is_empty() {
            bail!(
                "{}:{line_no}: expected `filename,label` (two non-empty fields), found `{l}`",
                path.display()
            );
        }
        if !seen.insert(fields[0].to_string()) {
            bail!(
                "{}:{line_no}: image `{}` is listed twice",
                path.display(),
                fields[0]
            );
        }
        rows.push(SplitRow {
            filename: fields[0].to_string(),
            label: fields[1].to_string(),
            line: line_no,
        });
    }
    ensure!(!rows.is_empty(), "{}: no image rows", path.display());
    Ok(rows)
}

/// The decoded images (CHW bytes) of one class.
type ClassImages = Vec<Vec<u8>>;

/// The images of one split file, classes sorted by name, images of a class in file order
/// (the first `max_per_class` when given). Returns the class names and, per class, the
/// decoded images (CHW bytes).
fn load_split_images(
    root: &Path,
    file: &str,
    size: usize,
    max_per_class: Option<usize>,
) -> Result<(Vec<String>, Vec<ClassImages>)> {
    let csv = root.join(file);
    let rows = read_split_csv(&csv)?;
    let mut by_class: BTreeMap<String, Vec<SplitRow>> = BTreeMap::new();
    for row in rows {
        by_class.entry(row.label.clone()).or_default().push(row);
    }
    let images_dir = root.join("images");
    let mut classes = Vec::new();
    let mut wanted: Vec<(usize, SplitRow)> = Vec::new();
    for (c, (name, mut rows)) in by_class.into_iter().enumerate() {
        if let Some(m) = max_per_class {
            rows.truncate(m);
        }
        classes.push(name);
        wanted.extend(rows.into_iter().map(|r| (c, r)));
    }
    for (_, row) in &wanted {
        let path = images_dir.join(&row.filename);
        ensure!(
            path.is_file(),
            "{}:{}: image {} not found",
            csv.display(),
            row.line,
            path.display()
        );
    }
    let decoded: Vec<Result<Vec<u8>>> = wanted
        .par_iter()
        .map(|(_, row)| {
            let path = images_dir.join(&row.filename);
            super::folder::decode(&path, Some(size))
                .map(|d| d.chw)
                .map_err(|e| {
                    anyhow!(
                        "{}:{}: cannot decode image {}: {e}",
                        csv.display(),
                        row.line,
                        path.display()
                    )
                })
        })
        .collect();
    let mut per_class: Vec<ClassImages> = vec![Vec::new(); classes.len()];
    for ((c, _), image) in wanted.iter().zip(decoded) {
        per_class[*c].push(image?);
    }
    Ok((classes, per_class))
}

impl MiniImagenetSpec {
    /// Reads the split files and images.
    pub fn load_split(&self, base_dir: &Path) -> Result<FewShotData> {
        ensure!(
            self.image_size > 0,
            "mini_imagenet: image_size must be positive"
        );
        let root = resolve_path(base_dir, &self.root);
        ensure!(
            root.is_dir(),
            "mini-ImageNet folder {} not found",
            root.display()
        );
        let s = self.image_size;
        let (base_classes, base_images) =
            load_split_images(&root, "train.csv", s, self.max_per_class)?;
        let novel_file = match self.novel_split {
            NovelSplit::Test => "test.csv",
            NovelSplit::Val => "val.csv",
        };
        let (novel_classes, novel_images) =
            load_split_images(&root, novel_file, s, self.max_per_class)?;
        if let Some(c) = base_classes.iter().find(|c| novel_classes.contains(c)) {
            bail!(
                "{}: class {c} is in both train.csv and {novel_file}",
                root.display()
            );
        }
        let mut train = ImageSet::empty(3, s, s);
        let mut test = ImageSet::empty(3, s, s);
        for (c, images) in base_images.iter().enumerate() {
            let held = images.len().saturating_sub(self.base_test_per_class);
            ensure!(
                held > 0,
                "mini_imagenet: base_test_per_class {} leaves no training image of class {}",
                self.base_test_per_class,
                base_classes[c]
            );
            for (i, img) in images.iter().enumerate() {
                let set = if i < held { &mut train } else { &mut test };
                set.images.extend_from_slice(img);
                set.labels.push(c as i64);
            }
        }
        let mut novel = ImageSet::empty(3, s, s);
        for (c, images) in novel_images.iter().enumerate() {
            for img in images {
                novel.images.extend_from_slice(img);
                novel.labels.push(c as i64);
            }
        }
        Ok(FewShotData {
            base: Dataset {
                name: self.label(),
                class_names: base_classes,
                train,
                test,
                mean: MINI_IMAGENET_MEAN.to_vec(),
                std: MINI_IMAGENET_STD.to_vec(),
                notes: Vec::new(),
            },
            novel,
            novel_classes,
        })
    }
}

/// Loads the few-shot split of a few-shot data spec (`fewshot`, `mini_imagenet`, `cifar_fs`);
/// an error for other specs.
pub fn load_fewshot(spec: &DataSpec, base_dir: &Path) -> Result<FewShotData> {
    let mut data = match spec {
        DataSpec::Fewshot(s) => s.load_split(base_dir)?,
        DataSpec::MiniImagenet(s) => s.load_split(base_dir)?,
        DataSpec::CifarFs(s) => s.load_split(base_dir)?,
        other => bail!(
            "data set `{}` has no base/novel split (use `fewshot`, `mini_imagenet` or `cifar_fs`)",
            other.label()
        ),
    };
    data.base.name = spec.label();
    data.base.validate()?;
    data.novel.validate()?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cifar::load_cifar100_dir;
    use image::{Rgb, RgbImage};

    /// Writes a miniature mini-ImageNet: `classes` per split file, `per` images of 6x5 pixels
    /// each (class-coloured), and the three CSV files.
    fn mini_copy(root: &Path, per: usize) {
        std::fs::create_dir_all(root.join("images")).unwrap();
        let splits = [
            ("train.csv", vec!["n01", "n02", "n03"]),
            ("val.csv", vec!["n04", "n05"]),
            ("test.csv", vec!["n06", "n07", "n08"]),
        ];
        for (file, classes) in splits {
            let mut csv = String::from("filename,label\n");
            for (c, class) in classes.iter().enumerate() {
                for i in 0..per {
                    let name = format!("{class}{i:08}.jpg");
                    let img = RgbImage::from_pixel(6, 5, Rgb([40 * c as u8, i as u8, 7]));
                    img.save_with_format(root.join("images").join(&name), image::ImageFormat::Png)
                        .unwrap();
                    csv.push_str(&format!("{name},{class}\n"));
                }
            }
            std::fs::write(root.join(file), csv).unwrap();
        }
    }

    fn spec(root: &Path) -> MiniImagenetSpec {
        MiniImagenetSpec {
            name: None,
            root: root.to_path_buf(),
            image_size: 8,
            novel_split: NovelSplit::Test,
            base_test_per_class: 1,
            max_per_class: None,
        }
    }

    #[test]
    fn mini_imagenet_reads_a_miniature_copy() {
        let dir = tempfile::tempdir().unwrap();
        mini_copy(dir.path(), 4);
        let data = load_fewshot(&DataSpec::MiniImagenet(spec(dir.path())), Path::new("/")).unwrap();
        assert_eq!(data.base.class_names, ["n01", "n02", "n03"]);
        assert_eq!(data.base.train.len(), 9, "3 of 4 per class train");
        assert_eq!(
            data.base.test.len(),
            3,
            "the last of each class is held out"
        );
        assert_eq!((data.base.train.height, data.base.train.width), (8, 8));
        assert_eq!(data.novel_classes, ["n06", "n07", "n08"]);
        assert_eq!(data.novel.labels, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
        // Class-coloured pixels survive decoding and resizing: red channel 40 * class.
        assert_eq!(data.novel.image(5)[0], 40);
        assert_eq!(data.base.name, "mini-imagenet");
        let mut val = spec(dir.path());
        val.novel_split = NovelSplit::Val;
        let data = val.load_split(Path::new("/")).unwrap();
        assert_eq!(data.novel_classes, ["n04", "n05"]);
    }

    #[test]
    fn mini_imagenet_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        mini_copy(dir.path(), 2);
        let root = dir.path();
        let load = || {
            spec(root)
                .load_split(Path::new("/"))
                .unwrap_err()
                .to_string()
        };
        let test_csv = root.join("test.csv");
        let good = std::fs::read_to_string(&test_csv).unwrap();

        std::fs::write(&test_csv, good.replace("filename,label", "file,label")).unwrap();
        let err = load();
        assert!(
            err.contains("test.csv:1:") && err.contains("header"),
            "{err}"
        );

        std::fs::write(
            &test_csv,
            good.replacen("n0600000001.jpg,n06", "n0600000001.jpg", 1),
        )
        .unwrap();
        let err = load();
        assert!(
            err.contains("test.csv:3:") && err.contains("filename,label"),
            "{err}"
        );

        std::fs::write(
            &test_csv,
            good.replacen("n0700000000.jpg", "missing.jpg", 1),
        )
        .unwrap();
        let err = load();
        assert!(
            err.contains("test.csv:4:") && err.contains("missing.jpg") && err.contains("not found"),
            "{err}"
        );

        std::fs::write(
            &test_csv,
            good.replacen("n0700000000.jpg", "n0600000000.jpg", 1),
        )
        .unwrap();
        let err = load();
        assert!(
            err.contains("test.csv:4:") && err.contains("listed twice"),
            "{err}"
        );

        std::fs::write(&test_csv, &good).unwrap();
        std::fs::write(root.join("images/n0800000001.jpg"), b"not an image").unwrap();
        let err = load();
        assert!(
            err.contains("test.csv:7:") && err.contains("cannot decode"),
            "{err}"
        );

        std::fs::remove_file(root.join("val.csv")).unwrap();
        let mut val = spec(root);
        val.novel_split = NovelSplit::Val;
        let err = val.load_split(Path::new("/")).unwrap_err().to_string();
        assert!(err.contains("val.csv"), "{err}");
    }

    /// The class lists: 64 + 16 + 20 distinct CIFAR-100 names, whose byte-order ranks are the
    /// official fine labels (checked on a few from `fine_label_names.txt`).
    #[test]
    fn cifar_fs_class_lists_cover_cifar100() {
        let mut all: Vec<&str> = CIFAR_FS_TRAIN
            .iter()
            .chain(&CIFAR_FS_VAL)
            .chain(&CIFAR_FS_TEST)
            .copied()
            .collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 100);
        for (name, label) in [
            ("apple", 0),
            ("man", 46),
            ("maple_tree", 47),
            ("sea", 71),
            ("seal", 72),
            ("sweet_pepper", 83),
            ("worm", 99),
        ] {
            assert_eq!(cifar100_fine_label(name), Some(label), "{name}");
        }
    }

    /// A miniature CIFAR-100 binary release (3 training and 1 test record per fine class),
    /// read by the CIFAR-100 reader and split as CIFAR-FS.
    #[test]
    fn cifar_fs_splits_a_miniature_cifar100() {
        let dir = tempfile::tempdir().unwrap();
        let write = |file: &str, per: usize| {
            let mut bytes = Vec::new();
            for fine in 0..100u8 {
                for i in 0..per {
                    bytes.push(fine / 5);
                    bytes.push(fine);
                    bytes.extend(std::iter::repeat_n(fine.wrapping_add(i as u8), 3072));
                }
            }
            std::fs::write(dir.path().join(file), bytes).unwrap();
        };
        write("train.bin", 3);
        write("test.bin", 1);
        let source = load_cifar100_dir(dir.path(), LabelKind::Fine, 300, 100).unwrap();
        let data = cifar_fs_split(source, NovelSplit::Test, "cifar-fs").unwrap();
        assert_eq!(data.base.num_classes(), 64);
        assert_eq!(data.base.train.len(), 64 * 3);
        assert_eq!(data.base.test.len(), 64);
        assert_eq!(data.novel_classes.len(), 20);
        assert_eq!(
            data.novel.len(),
            20 * 4,
            "novel classes pool train and test images"
        );
        // Base class 0 is "apple" (fine label 0): its pixels carry the fine label.
        assert_eq!(data.base.class_names[0], "apple");
        assert_eq!(data.base.train.image(0)[0], 0);
        // Novel class 0 is "baby" (fine label 2).
        assert_eq!(data.novel_classes[0], "baby");
        assert_eq!(data.novel.image(0)[0], 2);
        // A truncated file is an error naming it.
        std::fs::write(dir.path().join("test.bin"), [0u8; 10]).unwrap();
        let err = load_cifar100_dir(dir.path(), LabelKind::Fine, 300, 100).unwrap_err();
        assert!(format!("{err:#}").contains("test.bin"), "{err:#}");
    }

    fn toy_source() -> Dataset {
        let mut train = ImageSet::empty(1, 1, 1);
        let mut test = ImageSet::empty(1, 1, 1);
        for c in 0..4i64 {
            for i in 0..3 {
                train.images.push((10 * c + i) as u8);
                train.labels.push(c);
            }
            test.images.push((100 + c) as u8);
            test.labels.push(c);
        }
        Dataset {
            name: "toy".into(),
            class_names: vec!["a".into(), "b".into(), "c".into(), "d".into()],
            train,
            test,
            mean: vec![0.5],
            std: vec![0.25],
            notes: vec![],
        }
    }

    #[test]
    fn user_class_lists_split_and_relabel() {
        let data = split_classes(
            toy_source(),
            &[ClassRef::Name("c".into()), ClassRef::Index(0)],
            &[ClassRef::Index(3), ClassRef::Name("b".into())],
            NovelFrom::Test,
            "toy-fs",
        )
        .unwrap();
        assert_eq!(data.base.class_names, ["c", "a"]);
        assert_eq!(data.base.train.labels, [1, 1, 1, 0, 0, 0]);
        assert_eq!(data.base.train.images, [0, 1, 2, 20, 21, 22]);
        assert_eq!(data.novel_classes, ["d", "b"]);
        assert_eq!(data.novel.images, [101, 103]);
        assert_eq!(data.novel.labels, [1, 0]);
        let err = |base: &[ClassRef], novel: &[ClassRef]| {
            split_classes(toy_source(), base, novel, NovelFrom::All, "t")
                .unwrap_err()
                .to_string()
        };
        let e = err(&[ClassRef::Name("aa".into())], &[ClassRef::Index(1)]);
        assert!(e.contains("unknown base class `aa`"), "{e}");
        let e = err(&[ClassRef::Index(0)], &[ClassRef::Index(0)]);
        assert!(e.contains("both a base and a novel class"), "{e}");
        let e = err(&[ClassRef::Index(9)], &[ClassRef::Index(0)]);
        assert!(e.contains("out of range"), "{e}");
    }
}
