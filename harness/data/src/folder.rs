//! A data set from a folder of images, one sub-folder per class: `root/<class>/*.{jpg,jpeg,png}`
//! (a held-out test split is drawn per class), or `root/train/<class>/...` plus
//! `root/test/<class>/...` (a fixed split).
//!
//! Unlike tch's ImageNet helper, class folders are sorted by name (labels do not depend on the
//! filesystem's listing order), files are sorted too (so `max_per_class` and the held-out
//! split are reproducible), and an unreadable image is an error unless `on_unreadable: skip`
//! asks to leave it out (then it is reported in the data set's notes, never dropped
//! silently). Only files directly inside a class folder count (no recursion); other entries
//! are listed in a note.
//!
//! With `masks: <folder>`, every image has a foreground mask: the PNG at the same path
//! relative to that folder, with the extension `.png` (`root/train/cat/001.jpg` ->
//! `masks/train/cat/001.png`), of the image's size; a pixel is foreground when any of its
//! channels is non-zero. Masks are resized with the nearest neighbour when `image_size`
//! resizes the images. A missing, unreadable or wrongly sized mask fails the image like an
//! unreadable image does (its message names the mask file).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, ensure, Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::images::{first_few, resolve_path, Dataset, ImageSet};

/// What to do with a file that has an image extension but cannot be decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unreadable {
    /// Stop with an error naming the file and the decoder's message (default): a broken file
    /// usually means a broken copy of the data set.
    #[default]
    Fail,
    /// Leave the file out and say so in the data set's notes (count and first few paths).
    Skip,
}

fn default_test_fraction() -> f64 {
    0.2
}

/// A folder of class sub-folders of images.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderSpec {
    /// Report label (default: the folder's last path component).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The folder holding the class folders (or `train/` and `test/`); relative to the suite
    /// file.
    pub root: PathBuf,
    /// Square size every image is resized to (Triangle filter, aspect ratio not kept). When
    /// absent all images must have the size of the first one.
    #[serde(default)]
    pub image_size: Option<usize>,
    /// Share of each class held out for testing, in `(0, 1)`; used only when there are no
    /// `train/` and `test/` sub-folders (default 0.2).
    #[serde(default = "default_test_fraction")]
    pub test_fraction: f64,
    /// Seed of the held-out split (default 0); the split is stratified per class.
    #[serde(default)]
    pub split_seed: u64,
    /// `fail` (default) or `skip` files that cannot be decoded.
    #[serde(default)]
    pub on_unreadable: Unreadable,
    /// Per-channel normalisation mean in `[0, 1]` units (default: computed from the training
    /// images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<Vec<f32>>,
    /// Per-channel normalisation std in `[0, 1]` units (default: computed from the training
    /// images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<Vec<f32>>,
    /// Take only the first N files (in name order) of each class folder; handy for quick
    /// checks. With `train/` and `test/` it applies to each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_class: Option<usize>,
    /// Folder of foreground masks parallel to `root` (same relative paths, `.png`, non-zero =
    /// foreground), relative to the suite file: what the background evaluation needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masks: Option<PathBuf>,
}

impl FolderSpec {
    /// A spec for `root` with every other field at its default.
    pub fn new(root: impl Into<PathBuf>) -> FolderSpec {
        FolderSpec {
            name: None,
            root: root.into(),
            image_size: None,
            test_fraction: default_test_fraction(),
            split_seed: 0,
            on_unreadable: Unreadable::Fail,
            mean: None,
            std: None,
            max_per_class: None,
            masks: None,
        }
    }

    /// Report label: `name`, else the last component of `root` (else "folder").
    pub fn label(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        self.root
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "folder".into())
    }

    /// Checks the fields that do not need the files (run when a suite is loaded, and again
    /// before loading).
    pub fn check(&self) -> Result<()> {
        ensure!(
            self.test_fraction > 0.0 && self.test_fraction < 1.0,
            "folder data: test_fraction must be in (0, 1), got {}",
            self.test_fraction
        );
        if let Some(s) = self.image_size {
            ensure!(s > 0, "folder data: image_size must be positive");
        }
        if let Some(n) = self.max_per_class {
            ensure!(n > 0, "folder data: max_per_class must be positive");
        }
        if let Some(m) = &self.mean {
            ensure!(
                m.len() == 3 && m.iter().all(|v| v.is_finite()),
                "folder data: mean must be 3 finite values (R, G, B), got {m:?}"
            );
        }
        if let Some(s) = &self.std {
            ensure!(
                s.len() == 3 && s.iter().all(|v| v.is_finite() && *v > 0.0),
                "folder data: std must be 3 positive values (R, G, B), got {s:?}"
            );
        }
        Ok(())
    }

    /// Lists, splits, decodes (in parallel) and assembles the data set from `root` resolved
    /// against `base_dir`.
    pub fn load(&self, base_dir: &Path) -> Result<Dataset> {
        self.check()?;
        let root = resolve_path(base_dir, &self.root);
        ensure!(
            root.is_dir(),
            "image folder {} not found (or not a folder)",
            root.display()
        );
        let mut notes = Vec::new();
        let mut ignored: Vec<String> = Vec::new();
        let train_dir = root.join("train");
        let test_dir = root.join("test");
        let (class_names, entries) = match (train_dir.is_dir(), test_dir.is_dir()) {
            (true, true) => {
                let train_classes = list_classes(&train_dir)?;
                let test_classes = list_classes(&test_dir)?;
                if train_classes != test_classes {
                    let only = |a: &[String], b: &[String]| -> Vec<String> {
                        a.iter().filter(|c| !b.contains(c)).cloned().collect()
                    };
                    bail!(
                        "{} and {} must hold the same class folders; only in train/: [{}], only \
                         in test/: [{}]",
                        train_dir.display(),
                        test_dir.display(),
                        only(&train_classes, &test_classes).join(", "),
                        only(&test_classes, &train_classes).join(", ")
                    );
                }
                let mut entries = Vec::new();
                for (dir, is_train) in [(&train_dir, true), (&test_dir, false)] {
                    for (label, class) in train_classes.iter().enumerate() {
                        let files = self.list_class_files(&dir.join(class), &mut ignored)?;
                        entries.extend(files.into_iter().map(|path| Entry {
                            path,
                            label,
                            train: is_train,
                        }));
                    }
                }
                (train_classes, entries)
            }
            (true, false) | (false, true) => bail!(
                "{}: found only one of train/ and test/; use both (a fixed split) or one folder \
                 per class directly under it (a held-out split)",
                root.display()
            ),
            (false, false) => {
                ensure!(
                    self.test_fraction > 0.0 && self.test_fraction < 1.0,
                    "folder data {}: test_fraction must be in (0, 1), got {}",
                    root.display(),
                    self.test_fraction
                );
                let classes = list_classes(&root)?;
                let mut entries = Vec::new();
                for (label, class) in classes.iter().enumerate() {
                    let files = self.list_class_files(&root.join(class), &mut ignored)?;
                    let mut is_test = vec![false; files.len()];
                    for i in held_out(files.len(), self.test_fraction, self.split_seed, class) {
                        is_test[i] = true;
                    }
                    entries.extend(files.into_iter().zip(is_test).map(|(path, test)| Entry {
                        path,
                        label,
                        train: !test,
                    }));
                }
                (classes, entries)
            }
        };
        if !ignored.is_empty() {
            notes.push(format!(
                "ignored {} entries in class folders that are not .jpg/.jpeg/.png files: {}",
                ignored.len(),
                first_few(&ignored, 5)
            ));
        }

        let size = self.image_size;
        let mask_root = self.masks.as_ref().map(|m| resolve_path(base_dir, m));
        let decoded: Vec<Result<Decoded, String>> = entries
            .par_iter()
            .map(|e| {
                let mut img = decode(&e.path, size)?;
                if let Some(masks) = &mask_root {
                    let rel = e.path.strip_prefix(&root).unwrap_or(&e.path);
                    let path = masks.join(rel).with_extension("png");
                    img.mask = Some(decode_mask(&path, img.original, size)?);
                }
                Ok(img)
            })
            .collect();

        // Sequential pass in entry order, so errors and notes do not depend on thread timing.
        let mut failed: Vec<(usize, String)> = Vec::new();
        let mut first: Option<(usize, u32, u32)> = None;
        for (i, d) in decoded.iter().enumerate() {
            match d {
                Err(msg) => failed.push((i, msg.clone())),
                Ok(img) => match first {
                    None => first = Some((i, img.width, img.height)),
                    Some((f, w, h)) => {
                        if (img.width, img.height) != (w, h) {
                            bail!(
                                "{} is {}x{} but {} is {}x{} (width x height); set `image_size` \
                                 to resize all images to one square size",
                                entries[i].path.display(),
                                img.width,
                                img.height,
                                entries[f].path.display(),
                                w,
                                h
                            );
                        }
                    }
                },
            }
        }
        if !failed.is_empty() {
            let (i, msg) = &failed[0];
            match self.on_unreadable {
                Unreadable::Fail => {
                    let more = if failed.len() > 1 {
                        format!(" ({} unreadable files in all)", failed.len())
                    } else {
                        String::new()
                    };
                    bail!(
                        "cannot decode image {}: {msg}{more}; fix or remove it, or set \
                         `on_unreadable: skip`",
                        entries[*i].path.display()
                    );
                }
                Unreadable::Skip => {
                    let paths: Vec<String> = failed
                        .iter()
                        .map(|(i, _)| entries[*i].path.display().to_string())
                        .collect();
                    notes.push(format!(
                        "skipped {} unreadable images: {} (first error: {msg})",
                        failed.len(),
                        first_few(&paths, 5)
                    ));
                }
            }
        }
        let (_, w, h) =
            first.ok_or_else(|| anyhow!("no readable image under {}", root.display()))?;
        let (w, h) = (w as usize, h as usize);

        let mut train = ImageSet::empty(3, h, w);
        let mut test = ImageSet::empty(3, h, w);
        if mask_root.is_some() {
            train.masks = Some(Vec::new());
            test.masks = Some(Vec::new());
        }
        for (e, d) in entries.iter().zip(decoded) {
            if let Ok(img) = d {
                let set = if e.train { &mut train } else { &mut test };
                set.images.extend_from_slice(&img.chw);
                set.labels.push(e.label as i64);
                if let (Some(out), Some(mask)) = (set.masks.as_mut(), img.mask) {
                    out.extend(mask);
                }
            }
        }
        let k = class_names.len();
        let mut train_counts = vec![0usize; k];
        for &l in &train.labels {
            train_counts[l as usize] += 1;
        }
        if let Some(c) = train_counts.iter().position(|&n| n == 0) {
            bail!(
                "class {} has no readable training image under {}",
                class_names[c],
                root.display()
            );
        }
        ensure!(
            !test.is_empty(),
            "no readable test image under {}",
            root.display()
        );
        let mut test_counts = vec![0usize; k];
        for &l in &test.labels {
            test_counts[l as usize] += 1;
        }
        let no_test: Vec<&str> = (0..k)
            .filter(|&c| test_counts[c] == 0)
            .map(|c| class_names[c].as_str())
            .collect();
        if !no_test.is_empty() {
            notes.push(format!(
                "classes without a test image ({}): {}",
                no_test.len(),
                first_few(&no_test, 5)
            ));
        }

        let (mean, std) = match (&self.mean, &self.std) {
            (Some(m), Some(s)) => (m.clone(), s.clone()),
            (m, s) => {
                let (cm, cs) = train.channel_stats();
                (m.clone().unwrap_or(cm), s.clone().unwrap_or(cs))
            }
        };
        train.validate()?;
        test.validate()?;
        Ok(Dataset {
            name: self.label(),
            class_names,
            train,
            test,
            mean,
            std,
            notes,
        })
    }

    /// The image files of one class folder, sorted by name, truncated to `max_per_class`;
    /// other entries are appended to `ignored`. An empty folder is an error.
    fn list_class_files(&self, dir: &Path, ignored: &mut Vec<String>) -> Result<Vec<PathBuf>> {
        let mut files: Vec<(OsString, PathBuf)> = Vec::new();
        for entry in read_dir_sorted(dir)? {
            let (name, path) = entry;
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_file() && has_image_extension(&path) {
                files.push((name, path));
            } else {
                ignored.push(path.display().to_string());
            }
        }
        ensure!(
            !files.is_empty(),
            "class folder {} holds no .jpg/.jpeg/.png file",
            dir.display()
        );
        if let Some(n) = self.max_per_class {
            files.truncate(n);
        }
        Ok(files.into_iter().map(|(_, p)| p).collect())
    }
}

/// One image file to read: its path, class and split.
struct Entry {
    path: PathBuf,
    label: usize,
    train: bool,
}

/// A decoded image: its size (after any resize), its size in the file, its RGB pixels in CHW order and, for a
/// folder with masks, its mask (`H*W` bytes of 0 or 1, at the final size).
pub(crate) struct Decoded {
    width: u32,
    height: u32,
    /// (width, height) as stored in the file, before any resize.
    original: (u32, u32),
    pub(crate) chw: Vec<u8>,
    mask: Option<Vec<u8>>,
}

/// True for `.jpg`, `.jpeg`, `.png` in any letter case.
fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| {
            let e = e.to_ascii_lowercase();
            e == "jpg" || e == "jpeg" || e == "png"
        })
        .unwrap_or(false)
}

/// Entries of `dir` as (file name, path), sorted by file name (byte order).
fn read_dir_sorted(dir: &Path) -> Result<Vec<(OsString, PathBuf)>> {
    let mut out = Vec::new();
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("cannot list folder {}", dir.display()))?
    {
        let entry = entry.with_context(|| format!("cannot list folder {}", dir.display()))?;
        out.push((entry.file_name(), entry.path()));
    }
    out.sort();
    Ok(out)
}

/// Sub-folder names of `dir` (hidden ones excluded), sorted by name; none is an error.
fn list_classes(dir: &Path) -> Result<Vec<String>> {
    let mut classes = Vec::new();
    for (name, path) in read_dir_sorted(dir)? {
        let name = name
            .into_string()
            .map_err(|n| anyhow!("{}: folder name {n:?} is not UTF-8", dir.display()))?;
        if !name.starts_with('.') && path.is_dir() {
            classes.push(name);
        }
    }
    ensure!(
        !classes.is_empty(),
        "no class folders in {} (expected one sub-folder of images per class)",
        dir.display()
    );
    Ok(classes)
}

/// 64-bit FNV-1a of a string: a stable per-class stream id, so a class's split depends only on
/// its own files, the seed and its name (not on the other classes).
fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Indices (into a class's sorted file list of length `n`) held out for testing:
/// `round(n * fraction)` of them, at least 1 when `n >= 2`, and never all (one file stays for
/// training), drawn without replacement from a ChaCha8 stream keyed by (seed, class name).
fn held_out(n: usize, fraction: f64, seed: u64, class: &str) -> Vec<usize> {
    let mut k = (n as f64 * fraction).round() as usize;
    if n >= 2 {
        k = k.clamp(1, n - 1);
    } else {
        k = 0;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(fnv1a(class));
    let mut idx = rand::seq::index::sample(&mut rng, n, k).into_vec();
    idx.sort_unstable();
    idx
}

/// Decodes one file (format guessed from its content), converts to RGB, resizes to
/// `size x size` when given and the image differs, and lays the pixels out CHW. The error is
/// the decoder's message.
pub(crate) fn decode(path: &Path, size: Option<usize>) -> Result<Decoded, String> {
    let img = image::ImageReader::open(path)
        .map_err(|e| e.to_string())?
        .with_guessed_format()
        .map_err(|e| e.to_string())?
        .decode()
        .map_err(|e| e.to_string())?;
    let mut rgb = img.to_rgb8();
    let original = rgb.dimensions();
    if let Some(s) = size {
        let s = s as u32;
        if rgb.dimensions() != (s, s) {
            rgb = image::imageops::resize(&rgb, s, s, image::imageops::FilterType::Triangle);
        }
    }
    let (width, height) = rgb.dimensions();
    let hw = (width * height) as usize;
    let mut chw = vec![0u8; 3 * hw];
    for (p, px) in rgb.as_raw().chunks_exact(3).enumerate() {
        chw[p] = px[0];
        chw[hw + p] = px[1];
        chw[2 * hw + p] = px[2];
    }
    Ok(Decoded {
        width,
        height,
        original,
        chw,
        mask: None,
    })
}

/// Decodes the mask at `path` of an image of `image` (width, height) before resizing: 1 where
/// any channel is non-zero; resized to `size x size` with the nearest neighbour when given.
/// The error names the mask file.
fn decode_mask(path: &Path, image: (u32, u32), size: Option<usize>) -> Result<Vec<u8>, String> {
    let img = image::ImageReader::open(path)
        .map_err(|e| format!("mask {}: {e}", path.display()))?
        .with_guessed_format()
        .map_err(|e| format!("mask {}: {e}", path.display()))?
        .decode()
        .map_err(|e| format!("mask {}: {e}", path.display()))?;
    let rgb = img.to_rgb8();
    if rgb.dimensions() != image {
        return Err(format!(
            "mask {} is {}x{} but its image is {}x{} (width x height)",
            path.display(),
            rgb.width(),
            rgb.height(),
            image.0,
            image.1
        ));
    }
    let binary = image::GrayImage::from_fn(rgb.width(), rgb.height(), |x, y| {
        image::Luma([rgb.get_pixel(x, y).0.iter().any(|&v| v != 0) as u8])
    });
    let binary = match size {
        Some(s) if binary.dimensions() != (s as u32, s as u32) => image::imageops::resize(
            &binary,
            s as u32,
            s as u32,
            image::imageops::FilterType::Nearest,
        ),
        _ => binary,
    };
    Ok(binary.into_raw())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};
    use std::io::Read;

    /// A PNG whose pixel (x, y) is (x * 10, y * 10, tag).
    fn write_png(path: &Path, w: u32, h: u32, tag: u8) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        RgbImage::from_fn(w, h, |x, y| Rgb([(x * 10) as u8, (y * 10) as u8, tag]))
            .save(path)
            .unwrap();
    }

    /// A uniform JPEG of colour `c`.
    fn write_jpg(path: &Path, w: u32, h: u32, c: [u8; 3]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        RgbImage::from_pixel(w, h, Rgb(c)).save(path).unwrap();
    }

    fn blue_channel(set: &ImageSet, i: usize) -> u8 {
        let hw = set.height * set.width;
        set.image(i)[2 * hw]
    }

    #[test]
    fn classes_sorted_by_name_and_pixels_chw() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("pets");
        // Created in non-sorted order; byte order puts "Mango" < "apple" < "zebra".
        for (class, tag0) in [("zebra", 30u8), ("apple", 10), ("Mango", 20)] {
            for i in 0..5u8 {
                write_png(&root.join(class).join(format!("{i}.png")), 4, 3, tag0 + i);
            }
        }
        // Extensions in any case count; other files are ignored with a note.
        write_png(&root.join("apple").join("extra.PNG"), 4, 3, 99);
        std::fs::write(root.join("apple").join("readme.txt"), "x").unwrap();
        let mut spec = FolderSpec::new("pets");
        spec.test_fraction = 0.4;
        let ds = spec.load(tmp.path()).unwrap();
        ds.validate().unwrap();
        assert_eq!(ds.name, "pets");
        assert_eq!(ds.class_names, ["Mango", "apple", "zebra"]);
        assert_eq!((ds.train.height, ds.train.width), (3, 4));
        // apple has 6 files: 2 test, 4 train; the others 5: 2 test, 3 train.
        assert_eq!(ds.train.len(), 10);
        assert_eq!(ds.test.len(), 6);
        for set in [&ds.train, &ds.test] {
            for i in 0..set.len() {
                let tag = blue_channel(set, i);
                let expected = match set.labels[i] {
                    0 => 20..25,
                    1 => 10..15,
                    _ => 30..35,
                };
                assert!(
                    expected.contains(&tag) || tag == 99,
                    "label {} tag {tag}",
                    set.labels[i]
                );
            }
        }
        // CHW: channel 0 holds x * 10, channel 1 holds y * 10.
        let img = ds.train.image(0);
        let (h, w) = (3, 4);
        for y in 0..h {
            for x in 0..w {
                assert_eq!(img[y * w + x], (x * 10) as u8);
                assert_eq!(img[h * w + y * w + x], (y * 10) as u8);
            }
        }
        assert_eq!(ds.notes.len(), 1, "{:?}", ds.notes);
        assert!(ds.notes[0].contains("readme.txt"));
    }

    #[test]
    fn train_test_layout_and_class_mismatch() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("tt");
        for (split, n) in [("train", 3u8), ("test", 2u8)] {
            for class in ["b", "a"] {
                for i in 0..n {
                    let tag = if split == "train" { i } else { 100 + i };
                    write_png(
                        &root.join(split).join(class).join(format!("{i}.png")),
                        2,
                        2,
                        tag,
                    );
                }
            }
        }
        let ds = FolderSpec::new(&root).load(Path::new("/")).unwrap();
        assert_eq!(ds.class_names, ["a", "b"]);
        assert_eq!(ds.train.labels, [0, 0, 0, 1, 1, 1]);
        assert_eq!(ds.test.labels, [0, 0, 1, 1]);
        assert!((0..6).all(|i| blue_channel(&ds.train, i) < 100));
        assert!((0..4).all(|i| blue_channel(&ds.test, i) >= 100));
        // max_per_class applies to each split.
        let mut spec = FolderSpec::new(&root);
        spec.max_per_class = Some(1);
        let ds = spec.load(Path::new("/")).unwrap();
        assert_eq!((ds.train.len(), ds.test.len()), (2, 2));
        // A class only in test/ is an error naming it.
        write_png(&root.join("test").join("c").join("0.png"), 2, 2, 0);
        let err = format!(
            "{:#}",
            FolderSpec::new(&root).load(Path::new("/")).unwrap_err()
        );
        assert!(err.contains("only in test/: [c]"), "{err}");
        // train/ without test/ is an error.
        std::fs::remove_dir_all(root.join("test")).unwrap();
        let err = format!(
            "{:#}",
            FolderSpec::new(&root).load(Path::new("/")).unwrap_err()
        );
        assert!(err.contains("only one of train/ and test/"), "{err}");
    }

    #[test]
    fn masks_folder_gives_a_mask_per_image() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("seg");
        let masks = tmp.path().join("seg-masks");
        for split in ["train", "test"] {
            for class in ["a", "b"] {
                for i in 0..2u32 {
                    let rel = Path::new(split).join(class);
                    let c = [200, 40 * i as u8, 0];
                    write_jpg(&root.join(&rel).join(format!("{i}.jpg")), 4, 4, c);
                    // Foreground: column i (a grey of 1 counts, black does not).
                    let mask = image::RgbImage::from_fn(4, 4, |x, _| {
                        Rgb(if x == i { [0, 1, 0] } else { [0, 0, 0] })
                    });
                    std::fs::create_dir_all(masks.join(&rel)).unwrap();
                    mask.save(masks.join(&rel).join(format!("{i}.png")))
                        .unwrap();
                }
            }
        }
        let mut spec = FolderSpec::new(&root);
        spec.masks = Some(masks.clone());
        let ds = spec.load(Path::new("/")).unwrap();
        for set in [&ds.train, &ds.test] {
            set.validate().unwrap();
            for i in 0..set.len() {
                let want: Vec<u8> = (0..16).map(|p| (p % 4 == i % 2) as u8).collect();
                assert_eq!(set.mask(i).unwrap(), &want[..], "image {i}");
            }
        }
        // Resizing resizes the masks with the nearest neighbour.
        spec.image_size = Some(8);
        let ds = spec.load(Path::new("/")).unwrap();
        assert_eq!(
            ds.test.mask(0).unwrap().iter().filter(|&&v| v == 1).count(),
            16
        );
        spec.image_size = None;
        // Without `masks:` there are none.
        assert!(FolderSpec::new(&root)
            .load(Path::new("/"))
            .unwrap()
            .test
            .masks
            .is_none());
        // A missing mask and a wrongly sized one are errors naming the mask file.
        std::fs::remove_file(masks.join("test/b/1.png")).unwrap();
        let err = format!("{:#}", spec.load(Path::new("/")).unwrap_err());
        assert!(
            err.contains("mask") && err.contains("test/b/1.png"),
            "{err}"
        );
        image::RgbImage::new(3, 4)
            .save(masks.join("test/b/1.png"))
            .unwrap();
        let err = format!("{:#}", spec.load(Path::new("/")).unwrap_err());
        assert!(err.contains("is 3x4 but its image is 4x4"), "{err}");
    }

    #[test]
    fn held_out_split_is_deterministic_and_stratified() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("split");
        for i in 0..10u8 {
            write_png(&root.join("a").join(format!("{i:02}.png")), 2, 2, i);
        }
        for i in 0..20u8 {
            write_png(&root.join("b").join(format!("{i:02}.png")), 2, 2, 100 + i);
        }
        let load = |seed: u64| {
            let mut spec = FolderSpec::new(&root);
            spec.split_seed = seed;
            spec.load(Path::new("/")).unwrap()
        };
        let a = load(7);
        let b = load(7);
        assert_eq!(a.train, b.train);
        assert_eq!(a.test, b.test);
        // Stratified: 20% of each class.
        assert_eq!(a.test.labels.iter().filter(|&&l| l == 0).count(), 2);
        assert_eq!(a.test.labels.iter().filter(|&&l| l == 1).count(), 4);
        assert_eq!(a.train.len(), 24);
        // Train and test are disjoint and cover every file.
        let mut tags: Vec<u8> = (0..a.train.len())
            .map(|i| blue_channel(&a.train, i))
            .chain((0..a.test.len()).map(|i| blue_channel(&a.test, i)))
            .collect();
        tags.sort();
        let all: Vec<u8> = (0..10).chain(100..120).collect();
        assert_eq!(tags, all);
        // Another seed draws another split (for these two seeds).
        let c = load(8);
        assert_ne!(a.test.images, c.test.images);
        // The split of a class does not depend on the other classes.
        for i in 0..3u8 {
            write_png(&root.join("c").join(format!("{i}.png")), 2, 2, 200 + i);
        }
        let d = load(7);
        let test_tags = |ds: &Dataset, label: i64| -> Vec<u8> {
            (0..ds.test.len())
                .filter(|&i| ds.test.labels[i] == label)
                .map(|i| blue_channel(&ds.test, i))
                .collect()
        };
        assert_eq!(test_tags(&a, 0), test_tags(&d, 0));
        assert_eq!(test_tags(&a, 1), test_tags(&d, 1));
        assert_eq!(test_tags(&d, 2).len(), 1);
    }

    #[test]
    fn held_out_counts() {
        assert_eq!(held_out(1, 0.2, 0, "x"), Vec::<usize>::new());
        assert_eq!(held_out(2, 0.2, 0, "x").len(), 1);
        assert_eq!(held_out(10, 0.99, 0, "x").len(), 9);
        assert_eq!(held_out(100, 0.25, 0, "x").len(), 25);
    }

    #[test]
    fn resize_to_square() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("r");
        for class in ["x", "y"] {
            for i in 0..3 {
                let c = if class == "x" {
                    [200, 10, 10]
                } else {
                    [10, 10, 200]
                };
                write_jpg(&root.join(class).join(format!("{i}.jpeg")), 40 + i, 20, c);
            }
        }
        let mut spec = FolderSpec::new(&root);
        spec.image_size = Some(16);
        spec.test_fraction = 0.34;
        let ds = spec.load(Path::new("/")).unwrap();
        assert_eq!(
            (ds.train.channels, ds.train.height, ds.train.width),
            (3, 16, 16)
        );
        assert_eq!((ds.train.len(), ds.test.len()), (4, 2));
        // A uniform image stays (nearly) uniform after JPEG and resize.
        let img = ds.train.image(0);
        assert_eq!(ds.train.labels[0], 0);
        let hw = 256;
        assert!(img[..hw].iter().all(|&v| v > 180));
        assert!(img[2 * hw..].iter().all(|&v| v < 40));
        // Without image_size, different sizes are an error naming both files and sizes.
        let err = format!(
            "{:#}",
            FolderSpec::new(&root).load(Path::new("/")).unwrap_err()
        );
        assert!(err.contains("41x20") && err.contains("40x20"), "{err}");
        assert!(
            err.contains(&root.join("x").join("1.jpeg").display().to_string()),
            "{err}"
        );
        assert!(
            err.contains(&root.join("x").join("0.jpeg").display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn unreadable_file_fail_and_skip() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("u");
        for class in ["a", "b"] {
            for i in 0..4 {
                write_jpg(&root.join(class).join(format!("{i}.jpg")), 8, 8, [1, 2, 3]);
            }
        }
        let bad = root.join("b").join("2.jpg");
        std::fs::write(&bad, b"this is not a jpeg at all").unwrap();
        let err = format!(
            "{:#}",
            FolderSpec::new(&root).load(Path::new("/")).unwrap_err()
        );
        assert!(err.contains(&bad.display().to_string()), "{err}");
        assert!(err.contains("on_unreadable: skip"), "{err}");
        let mut spec = FolderSpec::new(&root);
        spec.on_unreadable = Unreadable::Skip;
        let ds = spec.load(Path::new("/")).unwrap();
        assert_eq!(ds.train.len() + ds.test.len(), 7);
        let note = ds
            .notes
            .iter()
            .find(|n| n.starts_with("skipped"))
            .unwrap_or_else(|| panic!("no skip note in {:?}", ds.notes));
        assert!(note.contains("skipped 1 unreadable"), "{note}");
        assert!(note.contains(&bad.display().to_string()), "{note}");
    }

    #[test]
    fn empty_class_and_missing_folders_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("e");
        std::fs::create_dir_all(&root).unwrap();
        let err = format!(
            "{:#}",
            FolderSpec::new(&root).load(Path::new("/")).unwrap_err()
        );
        assert!(err.contains("no class folders") && err.contains(&root.display().to_string()));
        write_png(&root.join("a").join("0.png"), 2, 2, 0);
        write_png(&root.join("a").join("1.png"), 2, 2, 0);
        std::fs::create_dir_all(root.join("b")).unwrap();
        std::fs::write(root.join("b").join("notes.txt"), "").unwrap();
        let err = format!(
            "{:#}",
            FolderSpec::new(&root).load(Path::new("/")).unwrap_err()
        );
        assert!(err.contains(&root.join("b").display().to_string()), "{err}");
        let err = format!(
            "{:#}",
            FolderSpec::new("absent").load(tmp.path()).unwrap_err()
        );
        assert!(
            err.contains(&tmp.path().join("absent").display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn normalisation_given_or_computed() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("n");
        for class in ["a", "b"] {
            for i in 0..5 {
                std::fs::create_dir_all(root.join(class)).unwrap();
                RgbImage::from_pixel(2, 2, Rgb([51, 102, if i % 2 == 0 { 0 } else { 255 }]))
                    .save(root.join(class).join(format!("{i}.png")))
                    .unwrap();
            }
        }
        let mut spec = FolderSpec::new(&root);
        spec.test_fraction = 0.2;
        let ds = spec.load(Path::new("/")).unwrap();
        assert!((ds.mean[0] - 0.2).abs() < 1e-6 && (ds.mean[1] - 0.4).abs() < 1e-6);
        assert!(ds.std[2] > 0.4);
        let (m, s) = ds.train.channel_stats();
        assert_eq!((m, s.clone()), (ds.mean.clone(), ds.std.clone()));
        spec.mean = Some(vec![0.5, 0.5, 0.5]);
        let ds2 = spec.load(Path::new("/")).unwrap();
        assert_eq!(ds2.mean, vec![0.5, 0.5, 0.5]);
        assert_eq!(ds2.std, s);
        spec.std = Some(vec![0.5, 0.5]);
        assert!(spec.load(Path::new("/")).is_err());
        let mut spec = FolderSpec::new(&root);
        spec.test_fraction = 1.0;
        assert!(spec.load(Path::new("/")).is_err());
    }

    /// `datasets/<file>` in the shared reference folder: `$MIXBENCH_SHARED_DIR` when set, else
    /// `../../../shared` from the crate (the workspace's `../shared`).
    fn shared_dataset_path(file: &str) -> PathBuf {
        let shared = match std::env::var_os("MIXBENCH_SHARED_DIR") {
            Some(d) => PathBuf::from(d),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
        };
        shared.join("datasets").join(file)
    }

    #[test]
    fn real_cifar10_jpeg_subset() {
        let archive = shared_dataset_path("cifar10-jpeg.tar.gz");
        if !archive.is_file() {
            eprintln!(
                "skipping: {} not found (set MIXBENCH_SHARED_DIR to the shared folder)",
                archive.display()
            );
            return;
        }
        // Stream through the archive, keeping the first 60 training and 20 test images of
        // each class.
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("cifar10-sub");
        let file = std::fs::File::open(&archive).unwrap();
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let mut counts = std::collections::HashMap::new();
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry.path().unwrap().into_owned();
            let parts: Vec<String> = path
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            assert_eq!(parts.len(), 4, "{}", path.display());
            let (split, class, name) = (&parts[1], &parts[2], &parts[3]);
            let limit = if split == "train" { 60 } else { 20 };
            let n = counts.entry((split.clone(), class.clone())).or_insert(0);
            if *n >= limit {
                continue;
            }
            *n += 1;
            let out = root.join(split).join(class).join(name);
            std::fs::create_dir_all(out.parent().unwrap()).unwrap();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            std::fs::write(out, bytes).unwrap();
        }
        let ds = FolderSpec::new(&root).load(Path::new("/")).unwrap();
        ds.validate().unwrap();
        assert_eq!(ds.class_names, crate::cifar::CIFAR10_CLASSES);
        assert_eq!(
            (ds.train.channels, ds.train.height, ds.train.width),
            (3, 32, 32)
        );
        assert_eq!((ds.train.len(), ds.test.len()), (600, 200));
        assert!(ds.notes.is_empty(), "{:?}", ds.notes);
        for (c, (m, expected)) in ds.mean.iter().zip([0.490f32, 0.480, 0.444]).enumerate() {
            assert!(
                (m - expected).abs() < 0.03,
                "channel {c}: mean {m}, expected ~{expected}"
            );
        }
        for s in &ds.std {
            assert!((0.2..0.3).contains(s), "std {s}");
        }
    }
}
