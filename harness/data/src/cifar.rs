//! Readers for the official CIFAR-10 and CIFAR-100 binary releases (Krizhevsky, 2009).
//!
//! CIFAR-10 (`cifar-10-batches-bin/`): `data_batch_1.bin` .. `data_batch_5.bin` and
//! `test_batch.bin`, each 10 000 records of 1 label byte + 3072 pixel bytes (1024 red, 1024
//! green, 1024 blue, rows top to bottom: already CHW), and `batches.meta.txt` with the class
//! names. CIFAR-100 (`cifar-100-binary/`): `train.bin` (50 000 records) and `test.bin`
//! (10 000), records of coarse label byte, fine label byte, 3072 pixel bytes, plus
//! `fine_label_names.txt` / `coarse_label_names.txt`.
//!
//! Every file is read with one `read` and checked for its exact size, so a truncated download
//! or a file from another release is an error naming the file, not a silently shorter
//! training set. Normalisation constants are the ones the reference implementations use
//! (see `docs/training.md`, *Data*), not recomputed.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::images::{resolve_path, Dataset, ImageSet};

/// Pixel bytes per CIFAR image (3 x 32 x 32).
pub const IMAGE_BYTES: usize = 3 * 32 * 32;
/// Records per CIFAR-10 batch file (each of the five training batches and the test batch).
pub const CIFAR10_RECORDS_PER_FILE: usize = 10_000;
/// Records in CIFAR-100's `train.bin`.
pub const CIFAR100_TRAIN_RECORDS: usize = 50_000;
/// Records in CIFAR-100's `test.bin`.
pub const CIFAR100_TEST_RECORDS: usize = 10_000;
/// Folder the CIFAR-10 archive unpacks to.
pub const CIFAR10_DIR: &str = "cifar-10-batches-bin";
/// Folder the CIFAR-100 archive unpacks to.
pub const CIFAR100_DIR: &str = "cifar-100-binary";
/// CIFAR-10 training batch files, in order.
pub const CIFAR10_TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// CIFAR-10 test batch file.
pub const CIFAR10_TEST_FILE: &str = "test_batch.bin";
/// CIFAR-100 training file.
pub const CIFAR100_TRAIN_FILE: &str = "train.bin";
/// CIFAR-100 test file.
pub const CIFAR100_TEST_FILE: &str = "test.bin";

/// The standard CIFAR-10 class names, used when `batches.meta.txt` is absent.
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// `f32(v / 255)` with the division in `f64` and one rounding, exactly as the reference
/// pipeline computes its constants (see `docs/methods/saliencymix.md`, *Detector*: an `f32` division changes an ulp, which the
/// SaliencyMix emulation is sensitive to).
const fn over_255(v: [f64; 3]) -> [f32; 3] {
    [
        (v[0] / 255.0) as f32,
        (v[1] / 255.0) as f32,
        (v[2] / 255.0) as f32,
    ]
}

/// CIFAR-10 normalisation mean, `(125.3, 123.0, 113.9) / 255` (see `docs/training.md`, *Data*).
pub const CIFAR10_MEAN: [f32; 3] = over_255([125.3, 123.0, 113.9]);
/// CIFAR-10 normalisation std, `(63.0, 62.1, 66.7) / 255` (see `docs/training.md`, *Data*).
pub const CIFAR10_STD: [f32; 3] = over_255([63.0, 62.1, 66.7]);
/// CIFAR-100 normalisation mean, `(129.3, 124.1, 112.4) / 255` (see `docs/training.md`, *Data*).
pub const CIFAR100_MEAN: [f32; 3] = over_255([129.3, 124.1, 112.4]);
/// CIFAR-100 normalisation std, `(68.2, 65.4, 70.4) / 255` (see `docs/training.md`, *Data*).
pub const CIFAR100_STD: [f32; 3] = over_255([68.2, 65.4, 70.4]);

/// The CIFAR-10 binary release.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cifar10Spec {
    /// Report label (default "cifar10").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The folder `cifar-10-batches-bin/` itself or its parent (where `mixbench data fetch
    /// cifar10` unpacks it); relative to the suite file.
    pub root: PathBuf,
}

impl Default for Cifar10Spec {
    /// `root: data`, where `mixbench data fetch cifar10` puts it by default.
    fn default() -> Self {
        Cifar10Spec {
            name: None,
            root: PathBuf::from("data"),
        }
    }
}

/// Which CIFAR-100 label a record's class is: the 100 fine classes or the 20 superclasses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelKind {
    /// The 100 fine classes (the usual benchmark).
    #[default]
    Fine,
    /// The 20 coarse superclasses.
    Coarse,
}

/// The CIFAR-100 binary release.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cifar100Spec {
    /// Report label (default "cifar100").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The folder `cifar-100-binary/` itself or its parent; relative to the suite file.
    pub root: PathBuf,
    /// Fine (100 classes, default) or coarse (20 superclasses) labels.
    #[serde(default)]
    pub labels: LabelKind,
}

impl Default for Cifar100Spec {
    /// `root: data`, fine labels.
    fn default() -> Self {
        Cifar100Spec {
            name: None,
            root: PathBuf::from("data"),
            labels: LabelKind::Fine,
        }
    }
}

impl Cifar10Spec {
    /// Reads the six batch files (official record counts enforced) from `root` resolved
    /// against `base_dir`.
    pub fn load(&self, base_dir: &Path) -> Result<Dataset> {
        let root = resolve_path(base_dir, &self.root);
        let dir = find_dir(&root, CIFAR10_DIR, CIFAR10_TEST_FILE, "cifar10")?;
        let mut ds = load_cifar10_dir(&dir, CIFAR10_RECORDS_PER_FILE, CIFAR10_RECORDS_PER_FILE)?;
        if let Some(n) = &self.name {
            ds.name = n.clone();
        }
        Ok(ds)
    }
}

impl Cifar100Spec {
    /// Reads `train.bin` and `test.bin` (official record counts enforced) from `root` resolved
    /// against `base_dir`, with the fine or coarse labels.
    pub fn load(&self, base_dir: &Path) -> Result<Dataset> {
        let root = resolve_path(base_dir, &self.root);
        let dir = find_dir(&root, CIFAR100_DIR, CIFAR100_TEST_FILE, "cifar100")?;
        let mut ds = load_cifar100_dir(
            &dir,
            self.labels,
            CIFAR100_TRAIN_RECORDS,
            CIFAR100_TEST_RECORDS,
        )?;
        if let Some(n) = &self.name {
            ds.name = n.clone();
        }
        Ok(ds)
    }
}

/// The data files of an unpacked release and their exact sizes in bytes (used by the fetcher
/// to decide whether an existing folder is complete).
pub fn expected_files(cifar100: bool) -> Vec<(&'static str, u64)> {
    if cifar100 {
        vec![
            (
                CIFAR100_TRAIN_FILE,
                (CIFAR100_TRAIN_RECORDS * (2 + IMAGE_BYTES)) as u64,
            ),
            (
                CIFAR100_TEST_FILE,
                (CIFAR100_TEST_RECORDS * (2 + IMAGE_BYTES)) as u64,
            ),
        ]
    } else {
        let size = (CIFAR10_RECORDS_PER_FILE * (1 + IMAGE_BYTES)) as u64;
        CIFAR10_TRAIN_FILES
            .iter()
            .chain(std::iter::once(&CIFAR10_TEST_FILE))
            .map(|f| (*f, size))
            .collect()
    }
}

/// `root` if it holds `marker`, else `root/folder` if that does; otherwise an error listing
/// both paths tried and how to get the data.
fn find_dir(root: &Path, folder: &str, marker: &str, fetch_name: &str) -> Result<PathBuf> {
    let candidates = [root.to_path_buf(), root.join(folder)];
    for c in &candidates {
        if c.join(marker).is_file() {
            return Ok(c.clone());
        }
    }
    bail!(
        "{fetch_name} data not found: looked for {} and {}. Run `mixbench data fetch {fetch_name}` \
         (or unpack the official binary archive there), or point `root` at the folder holding \
         `{folder}/`",
        candidates[0].join(marker).display(),
        candidates[1].join(marker).display()
    )
}

/// One label byte of a record format: its offset in the record, the exclusive upper bound of
/// its values, and what to call it in errors.
struct LabelField {
    offset: usize,
    limit: u8,
    what: &'static str,
}

/// Reads a whole file of `records` records of `labels.len()` label bytes + 3072 pixel bytes,
/// checks its size and every label, appends the pixels to `images` and the label at
/// `labels[use_label]` to `out_labels`.
fn read_records(
    path: &Path,
    records: usize,
    labels: &[LabelField],
    use_label: usize,
    images: &mut Vec<u8>,
    out_labels: &mut Vec<i64>,
) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let record = labels.len() + IMAGE_BYTES;
    let expected = records * record;
    if bytes.len() != expected {
        bail!(
            "{}: size is {} bytes, expected {} ({} records of {} bytes); the file is truncated, \
             damaged or not from this release (fetch it again)",
            path.display(),
            bytes.len(),
            expected,
            records,
            record
        );
    }
    images.reserve(records * IMAGE_BYTES);
    out_labels.reserve(records);
    for (i, rec) in bytes.chunks_exact(record).enumerate() {
        for f in labels {
            let v = rec[f.offset];
            if v >= f.limit {
                bail!(
                    "{}: record {i} has {} {v}, must be below {} (the file is damaged or not \
                     from this release)",
                    path.display(),
                    f.what,
                    f.limit
                );
            }
        }
        out_labels.push(rec[labels[use_label].offset] as i64);
        images.extend_from_slice(&rec[labels.len()..]);
    }
    Ok(())
}

/// Non-empty trimmed lines of a names file, when it exists and lists exactly `count` names;
/// otherwise `fallback(i)` for each class and a note saying why.
fn read_names(
    path: &Path,
    count: usize,
    fallback: impl Fn(usize) -> String,
    notes: &mut Vec<String>,
) -> Result<Vec<String>> {
    let fallback_names = || (0..count).map(&fallback).collect::<Vec<_>>();
    if !path.exists() {
        notes.push(format!(
            "{} not found: using default class names",
            path.display()
        ));
        return Ok(fallback_names());
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read class names from {}", path.display()))?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() != count {
        notes.push(format!(
            "{} lists {} class names, expected {count}: using default class names",
            path.display(),
            names.len()
        ));
        return Ok(fallback_names());
    }
    Ok(names)
}

/// Loads an unpacked CIFAR-10 folder with `train_per_file` records in each training batch and
/// `test_records` in the test batch (the official counts are 10 000; tests use fewer).
pub fn load_cifar10_dir(dir: &Path, train_per_file: usize, test_records: usize) -> Result<Dataset> {
    let fields = [LabelField {
        offset: 0,
        limit: 10,
        what: "label",
    }];
    let mut train = ImageSet::empty(3, 32, 32);
    for f in CIFAR10_TRAIN_FILES {
        read_records(
            &dir.join(f),
            train_per_file,
            &fields,
            0,
            &mut train.images,
            &mut train.labels,
        )?;
    }
    let mut test = ImageSet::empty(3, 32, 32);
    read_records(
        &dir.join(CIFAR10_TEST_FILE),
        test_records,
        &fields,
        0,
        &mut test.images,
        &mut test.labels,
    )?;
    let mut notes = Vec::new();
    let class_names = read_names(
        &dir.join("batches.meta.txt"),
        10,
        |i| CIFAR10_CLASSES[i].to_string(),
        &mut notes,
    )?;
    Ok(Dataset {
        name: "cifar10".into(),
        class_names,
        train,
        test,
        mean: CIFAR10_MEAN.to_vec(),
        std: CIFAR10_STD.to_vec(),
        notes,
    })
}

/// Loads an unpacked CIFAR-100 folder with `train_records` / `test_records` records (the
/// official counts are 50 000 / 10 000; tests use fewer). Both label bytes are checked
/// whichever is used.
pub fn load_cifar100_dir(
    dir: &Path,
    kind: LabelKind,
    train_records: usize,
    test_records: usize,
) -> Result<Dataset> {
    let fields = [
        LabelField {
            offset: 0,
            limit: 20,
            what: "coarse label",
        },
        LabelField {
            offset: 1,
            limit: 100,
            what: "fine label",
        },
    ];
    let use_label = match kind {
        LabelKind::Coarse => 0,
        LabelKind::Fine => 1,
    };
    let mut train = ImageSet::empty(3, 32, 32);
    read_records(
        &dir.join(CIFAR100_TRAIN_FILE),
        train_records,
        &fields,
        use_label,
        &mut train.images,
        &mut train.labels,
    )?;
    let mut test = ImageSet::empty(3, 32, 32);
    read_records(
        &dir.join(CIFAR100_TEST_FILE),
        test_records,
        &fields,
        use_label,
        &mut test.images,
        &mut test.labels,
    )?;
    let mut notes = Vec::new();
    let (names_file, count) = match kind {
        LabelKind::Fine => ("fine_label_names.txt", 100),
        LabelKind::Coarse => ("coarse_label_names.txt", 20),
    };
    let class_names = read_names(
        &dir.join(names_file),
        count,
        |i| format!("class_{i}"),
        &mut notes,
    )?;
    Ok(Dataset {
        name: "cifar100".into(),
        class_names,
        train,
        test,
        mean: CIFAR100_MEAN.to_vec(),
        std: CIFAR100_STD.to_vec(),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pixels of record `i` of a file tagged `tag`: byte `j` is `(i * 7 + j + tag) % 256`.
    fn pixels(tag: usize, i: usize) -> Vec<u8> {
        (0..IMAGE_BYTES)
            .map(|j| ((i * 7 + j + tag) % 256) as u8)
            .collect()
    }

    /// Writes a CIFAR-10 file of `n` records with label `(i + tag) % 10`.
    fn write_c10(path: &Path, tag: usize, n: usize) {
        let mut bytes = Vec::new();
        for i in 0..n {
            bytes.push(((i + tag) % 10) as u8);
            bytes.extend(pixels(tag, i));
        }
        std::fs::write(path, bytes).unwrap();
    }

    /// Writes a CIFAR-100 file of `n` records with fine label `(i * 3 + tag) % 100` and coarse
    /// label `fine / 5`.
    fn write_c100(path: &Path, tag: usize, n: usize) {
        let mut bytes = Vec::new();
        for i in 0..n {
            let fine = (i * 3 + tag) % 100;
            bytes.push((fine / 5) as u8);
            bytes.push(fine as u8);
            bytes.extend(pixels(tag, i));
        }
        std::fs::write(path, bytes).unwrap();
    }

    fn mini_cifar10(root: &Path, n: usize) -> PathBuf {
        let dir = root.join(CIFAR10_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        for (k, f) in CIFAR10_TRAIN_FILES.iter().enumerate() {
            write_c10(&dir.join(f), k, n);
        }
        write_c10(&dir.join(CIFAR10_TEST_FILE), 5, n);
        dir
    }

    fn mini_cifar100(root: &Path, n_train: usize, n_test: usize) -> PathBuf {
        let dir = root.join(CIFAR100_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        write_c100(&dir.join(CIFAR100_TRAIN_FILE), 0, n_train);
        write_c100(&dir.join(CIFAR100_TEST_FILE), 1, n_test);
        dir
    }

    #[test]
    fn cifar10_reads_labels_and_pixels_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = mini_cifar10(tmp.path(), 4);
        std::fs::write(
            dir.join("batches.meta.txt"),
            "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n",
        )
        .unwrap();
        let ds = load_cifar10_dir(&dir, 4, 4).unwrap();
        ds.validate().unwrap();
        assert_eq!(ds.train.len(), 20);
        assert_eq!(ds.test.len(), 4);
        assert_eq!(
            (ds.train.channels, ds.train.height, ds.train.width),
            (3, 32, 32)
        );
        // Train: file k record i has label (i + k) % 10 and pixels(k, i).
        for k in 0..5 {
            for i in 0..4 {
                let idx = k * 4 + i;
                assert_eq!(ds.train.labels[idx], ((i + k) % 10) as i64);
                assert_eq!(ds.train.image(idx), &pixels(k, i)[..]);
            }
        }
        assert_eq!(ds.test.labels, vec![5, 6, 7, 8]);
        assert_eq!(ds.test.image(3), &pixels(5, 3)[..]);
        assert_eq!(
            ds.class_names,
            ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
        );
        assert!(ds.notes.is_empty());
        assert!((ds.mean[0] - 125.3 / 255.0).abs() < 1e-7);
        assert!((ds.std[2] - 66.7 / 255.0).abs() < 1e-7);
    }

    #[test]
    fn cifar10_default_names_when_meta_absent() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = mini_cifar10(tmp.path(), 2);
        let ds = load_cifar10_dir(&dir, 2, 2).unwrap();
        assert_eq!(ds.class_names, CIFAR10_CLASSES);
        assert_eq!(ds.notes.len(), 1);
        assert!(ds.notes[0].contains("batches.meta.txt"));
    }

    #[test]
    fn truncated_file_is_an_error_naming_file_and_sizes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = mini_cifar10(tmp.path(), 3);
        let f = dir.join("data_batch_3.bin");
        let bytes = std::fs::read(&f).unwrap();
        std::fs::write(&f, &bytes[..bytes.len() - 100]).unwrap();
        let err = format!("{:#}", load_cifar10_dir(&dir, 3, 3).unwrap_err());
        assert!(err.contains("data_batch_3.bin"), "{err}");
        assert!(err.contains(&(3 * 3073 - 100).to_string()), "{err}");
        assert!(err.contains(&(3 * 3073).to_string()), "{err}");
    }

    #[test]
    fn public_loader_insists_on_official_counts() {
        let tmp = tempfile::tempdir().unwrap();
        mini_cifar10(tmp.path(), 2);
        let spec = Cifar10Spec {
            name: None,
            root: tmp.path().to_path_buf(),
        };
        let err = format!("{:#}", spec.load(Path::new("/")).unwrap_err());
        assert!(err.contains("data_batch_1.bin"), "{err}");
        assert!(err.contains("30730000"), "{err}");
    }

    #[test]
    fn out_of_range_label_names_file_and_record() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = mini_cifar10(tmp.path(), 3);
        let f = dir.join(CIFAR10_TEST_FILE);
        let mut bytes = std::fs::read(&f).unwrap();
        bytes[2 * 3073] = 10; // record 2's label
        std::fs::write(&f, bytes).unwrap();
        let err = format!("{:#}", load_cifar10_dir(&dir, 3, 3).unwrap_err());
        assert!(err.contains("test_batch.bin"), "{err}");
        assert!(err.contains("record 2"), "{err}");

        let dir = mini_cifar100(tmp.path(), 3, 2);
        let f = dir.join(CIFAR100_TRAIN_FILE);
        let mut bytes = std::fs::read(&f).unwrap();
        bytes[3074] = 20; // record 1's coarse label
        std::fs::write(&f, &bytes).unwrap();
        // Checked even when fine labels are used.
        let err = format!(
            "{:#}",
            load_cifar100_dir(&dir, LabelKind::Fine, 3, 2).unwrap_err()
        );
        assert!(
            err.contains("train.bin") && err.contains("record 1"),
            "{err}"
        );
        assert!(err.contains("coarse label 20"), "{err}");
        bytes[3074] = 0;
        bytes[2 * 3074 + 1] = 100; // record 2's fine label
        std::fs::write(&f, &bytes).unwrap();
        let err = format!(
            "{:#}",
            load_cifar100_dir(&dir, LabelKind::Coarse, 3, 2).unwrap_err()
        );
        assert!(
            err.contains("record 2") && err.contains("fine label 100"),
            "{err}"
        );
    }

    #[test]
    fn missing_folder_lists_paths_and_suggests_fetch() {
        let tmp = tempfile::tempdir().unwrap();
        let spec = Cifar10Spec {
            name: None,
            root: PathBuf::from("nowhere"),
        };
        let err = format!("{:#}", spec.load(tmp.path()).unwrap_err());
        assert!(err.contains("mixbench data fetch cifar10"), "{err}");
        assert!(
            err.contains(
                &tmp.path()
                    .join("nowhere")
                    .join(CIFAR10_TEST_FILE)
                    .display()
                    .to_string()
            ),
            "{err}"
        );
        assert!(
            err.contains(
                &tmp.path()
                    .join("nowhere")
                    .join(CIFAR10_DIR)
                    .join(CIFAR10_TEST_FILE)
                    .display()
                    .to_string()
            ),
            "{err}"
        );
        let spec = Cifar100Spec {
            root: PathBuf::from("nowhere"),
            ..Default::default()
        };
        let err = format!("{:#}", spec.load(tmp.path()).unwrap_err());
        assert!(err.contains("mixbench data fetch cifar100"), "{err}");
    }

    #[test]
    fn root_may_be_the_folder_or_its_parent() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = mini_cifar10(tmp.path(), 1);
        assert_eq!(
            find_dir(tmp.path(), CIFAR10_DIR, CIFAR10_TEST_FILE, "cifar10").unwrap(),
            dir
        );
        assert_eq!(
            find_dir(&dir, CIFAR10_DIR, CIFAR10_TEST_FILE, "cifar10").unwrap(),
            dir
        );
        // A missing training batch is named.
        std::fs::remove_file(dir.join("data_batch_4.bin")).unwrap();
        let err = format!("{:#}", load_cifar10_dir(&dir, 1, 1).unwrap_err());
        assert!(err.contains("data_batch_4.bin"), "{err}");
    }

    #[test]
    fn cifar100_fine_and_coarse_labels() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = mini_cifar100(tmp.path(), 40, 7);
        let fine = load_cifar100_dir(&dir, LabelKind::Fine, 40, 7).unwrap();
        let coarse = load_cifar100_dir(&dir, LabelKind::Coarse, 40, 7).unwrap();
        fine.validate().unwrap();
        coarse.validate().unwrap();
        assert_eq!(fine.train.len(), 40);
        assert_eq!(fine.test.len(), 7);
        for i in 0..40 {
            let f = ((i * 3) % 100) as i64;
            assert_eq!(fine.train.labels[i], f);
            assert_eq!(coarse.train.labels[i], f / 5);
        }
        assert_eq!(fine.test.labels[2], 7);
        assert_eq!(coarse.test.labels[2], 1);
        // Same pixels either way.
        assert_eq!(fine.train.images, coarse.train.images);
        assert_eq!(fine.train.image(39), &pixels(0, 39)[..]);
        assert_eq!(fine.test.image(6), &pixels(1, 6)[..]);
        // No names files: class_N fallback, with notes.
        assert_eq!(fine.num_classes(), 100);
        assert_eq!(coarse.num_classes(), 20);
        assert_eq!(fine.class_names[42], "class_42");
        assert_eq!(fine.notes.len(), 1);
        assert!((fine.mean[1] - 124.1 / 255.0).abs() < 1e-7);
        // With names files.
        let fine_names: String = (0..100).map(|i| format!("f{i}\n")).collect();
        let coarse_names: String = (0..20).map(|i| format!("c{i}\n")).collect();
        std::fs::write(dir.join("fine_label_names.txt"), fine_names).unwrap();
        std::fs::write(dir.join("coarse_label_names.txt"), coarse_names).unwrap();
        let coarse = load_cifar100_dir(&dir, LabelKind::Coarse, 40, 7).unwrap();
        assert_eq!(coarse.class_names[19], "c19");
        assert!(coarse.notes.is_empty());
        let fine = load_cifar100_dir(&dir, LabelKind::Fine, 40, 7).unwrap();
        assert_eq!(fine.class_names[99], "f99");
    }

    #[test]
    fn normalisation_constants_divide_in_f64() {
        let check = |c: [f32; 3], v: [f64; 3]| {
            for i in 0..3 {
                assert_eq!(c[i].to_bits(), ((v[i] / 255.0) as f32).to_bits());
            }
        };
        check(CIFAR10_MEAN, [125.3, 123.0, 113.9]);
        check(CIFAR10_STD, [63.0, 62.1, 66.7]);
        check(CIFAR100_MEAN, [129.3, 124.1, 112.4]);
        check(CIFAR100_STD, [68.2, 65.4, 70.4]);
        // The case `docs/methods/saliencymix.md` (*Detector*) warns about: an f32 division gives another value for at least one
        // constant.
        let f32_path = [63.0f32 / 255.0, 62.1f32 / 255.0, 66.7f32 / 255.0];
        assert_ne!(f32_path, CIFAR10_STD);
    }

    #[test]
    fn expected_sizes_match_the_official_release() {
        let c10 = expected_files(false);
        assert_eq!(c10.len(), 6);
        assert!(c10.iter().all(|(_, s)| *s == 30_730_000));
        let c100 = expected_files(true);
        assert_eq!(
            c100,
            vec![("train.bin", 153_700_000), ("test.bin", 30_740_000)]
        );
    }
}
