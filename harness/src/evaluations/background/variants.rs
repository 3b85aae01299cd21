//! The test-set variants of the background evaluation, built on `u8` images with foreground
//! masks ([`ImageSet::masks`]), after Xiao et al., "Noise or Signal: The Role of Image
//! Backgrounds in Object Recognition" (ICLR 2021); definitions in `docs/background.md`:
//!
//! - **Original**: the image.
//! - **Only-FG**: background pixels (mask 0) black, foreground kept.
//! - **No-FG**: foreground pixels (mask 1) black, background kept.
//! - **Only-BG-T**: the foreground's bounding box filled by tiling the largest rectangle of the
//!   image that lies outside the box (the full-height strip left or right of it, or the
//!   full-width strip above or below it), so no foreground pixel is left; outside the box the
//!   image is unchanged. When the box covers the whole image the box is filled with the mean
//!   colour of the background pixels (black when there is none).
//! - **Mixed-Same**, **Mixed-Rand**, **Mixed-Next**: the foreground pasted (mask 1 pixels) on
//!   the Only-BG-T background of *another* evaluated image: of the same class (uniform among
//!   that class's other images), of a class drawn uniformly over the classes present (then an
//!   image of it other than this one), of the next present class in label order (cyclic).
//!
//! Draws are keyed by (seed, variant, image position), so a variant does not depend on the
//! order it is built in, and every method of a run sees the same images.
//!
//! The **BG-Gap** is top-1 on Mixed-Same minus top-1 on Mixed-Rand; the **backgrounds
//! challenge** tries every foreground on a fixed budget of Only-BG-T backgrounds (never its
//! own) and counts the foregrounds correct on Original that some background flips.

use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::ImageSet;
use mixbench_results::evaluations::background::rows::BackgroundRow;
pub use mixbench_results::evaluations::background::variant::Variant;

/// RNG stream id of the challenge's background draw (after the variants' ids).
const CHALLENGE_STREAM: u64 = 100;

/// The ChaCha8 stream of image `index` of `variant` (or the challenge) under `seed`.
fn rng_for(seed: u64, stream: u64, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream((stream << 48) | index as u64);
    rng
}

/// Only-BG-T of one image: `img` is `C*H*W` bytes (CHW), `mask` `H*W` bytes (1 =
/// foreground). See the module documentation for the definition.
pub fn only_bg_t(img: &[u8], mask: &[u8], c: usize, h: usize, w: usize) -> Vec<u8> {
    let mut out = img.to_vec();
    let Some((x0, y0, x1, y1)) = bounding_box(mask, h, w) else {
        return out;
    };
    // Candidate strips outside the box: (x, y, width, height), in a fixed order for ties.
    let strips = [
        (0, 0, x0, h),
        (x1 + 1, 0, w - x1 - 1, h),
        (0, 0, w, y0),
        (0, y1 + 1, w, h - y1 - 1),
    ];
    let best = strips.iter().copied().filter(|s| s.2 > 0 && s.3 > 0).fold(
        None,
        |acc: Option<(usize, usize, usize, usize)>, s| match acc {
            Some(a) if a.2 * a.3 >= s.2 * s.3 => Some(a),
            _ => Some(s),
        },
    );
    let hw = h * w;
    match best {
        Some((sx, sy, sw, sh)) => {
            for y in y0..=y1 {
                for x in x0..=x1 {
                    let from = (sy + (y - y0) % sh) * w + sx + (x - x0) % sw;
                    for ch in 0..c {
                        out[ch * hw + y * w + x] = img[ch * hw + from];
                    }
                }
            }
        }
        None => {
            let background: Vec<usize> = (0..hw).filter(|&p| mask[p] == 0).collect();
            for ch in 0..c {
                let fill = if background.is_empty() {
                    0
                } else {
                    let sum: usize = background.iter().map(|&p| img[ch * hw + p] as usize).sum();
                    (sum as f64 / background.len() as f64).round() as u8
                };
                for y in y0..=y1 {
                    for x in x0..=x1 {
                        out[ch * hw + y * w + x] = fill;
                    }
                }
            }
        }
    }
    out
}

/// The smallest box `(x0, y0, x1, y1)` (inclusive) holding every foreground pixel; `None` for
/// an empty mask.
fn bounding_box(mask: &[u8], h: usize, w: usize) -> Option<(usize, usize, usize, usize)> {
    let mut bbox: Option<(usize, usize, usize, usize)> = None;
    for y in 0..h {
        for x in 0..w {
            if mask[y * w + x] != 0 {
                bbox = Some(match bbox {
                    None => (x, y, x, y),
                    Some((a, b, c, d)) => (a.min(x), b.min(y), c.max(x), d.max(y)),
                });
            }
        }
    }
    bbox
}

/// The images of an evaluation with everything the variants are built from: the images and
/// their Only-BG-T backgrounds.
pub struct Variants<'a> {
    set: &'a ImageSet,
    masks: &'a [u8],
    backgrounds: Vec<u8>,
    /// Image positions of each class, by label.
    by_class: Vec<Vec<usize>>,
    seed: u64,
}

impl<'a> Variants<'a> {
    /// Prepares the variants of `set` (which must have masks) with `classes` classes; the
    /// draws of the mixed variants follow `seed`. Errors when the set has no masks, a label is
    /// out of range, or a class has exactly one image (Mixed-Same needs another image of the
    /// class).
    pub fn new(set: &'a ImageSet, classes: usize, seed: u64) -> Result<Variants<'a>> {
        let masks = set
            .masks
            .as_deref()
            .context("the background evaluation needs foreground masks on the test images")?;
        ensure!(
            set.len() >= 2,
            "the background evaluation needs at least two images"
        );
        let mut by_class = vec![Vec::new(); classes];
        for (i, &l) in set.labels.iter().enumerate() {
            ensure!(
                l >= 0 && (l as usize) < classes,
                "image {i} has label {l}, outside the {classes} classes"
            );
            by_class[l as usize].push(i);
        }
        if let Some(c) = by_class.iter().position(|v| v.len() == 1) {
            bail!(
                "class {c} has a single evaluated image: Mixed-Same needs another image of the \
                 same class (evaluate more images)"
            );
        }
        let (c, h, w) = (set.channels, set.height, set.width);
        let mut backgrounds = Vec::with_capacity(set.images.len());
        for i in 0..set.len() {
            backgrounds.extend(only_bg_t(set.image(i), set.mask(i).unwrap_or(&[]), c, h, w));
        }
        Ok(Variants {
            set,
            masks,
            backgrounds,
            by_class,
            seed,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// True when there is no image (never, after [`Variants::new`]).
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// The Only-BG-T background of image `i` (`C*H*W` bytes).
    pub fn background(&self, i: usize) -> &[u8] {
        let n = self.set.image_len();
        &self.backgrounds[i * n..(i + 1) * n]
    }

    /// For a mixed variant, the image whose background each image gets; `None` for the
    /// others. Never the image itself.
    pub fn sources(&self, variant: Variant) -> Option<Vec<usize>> {
        let present: Vec<usize> = (0..self.by_class.len())
            .filter(|&c| !self.by_class[c].is_empty())
            .collect();
        let k = self.by_class.len();
        let other_of = |rng: &mut ChaCha8Rng, class: usize, i: usize| -> usize {
            let members = &self.by_class[class];
            loop {
                let j = members[rng.gen_range(0..members.len())];
                if j != i {
                    return j;
                }
            }
        };
        let pick = |i: usize| -> usize {
            let label = self.set.labels[i] as usize;
            let mut rng = rng_for(self.seed, variant.stream(), i);
            match variant {
                Variant::MixedSame => other_of(&mut rng, label, i),
                Variant::MixedRand => loop {
                    let class = present[rng.gen_range(0..present.len())];
                    // A class whose only image is this one has no other background.
                    if self.by_class[class].iter().any(|&j| j != i) {
                        return other_of(&mut rng, class, i);
                    }
                },
                _ => {
                    let next = (1..=k)
                        .map(|d| (label + d) % k)
                        .find(|&c| self.by_class[c].iter().any(|&j| j != i))
                        .unwrap_or(label);
                    other_of(&mut rng, next, i)
                }
            }
        };
        match variant {
            Variant::MixedSame | Variant::MixedRand | Variant::MixedNext => {
                Some((0..self.len()).map(pick).collect())
            }
            _ => None,
        }
    }

    /// The images of `variant`, labels unchanged (masks dropped).
    pub fn build(&self, variant: Variant) -> ImageSet {
        let set = self.set;
        let (c, hw) = (set.channels, set.height * set.width);
        let mut out = ImageSet::empty(c, set.height, set.width);
        out.labels = set.labels.clone();
        out.images = Vec::with_capacity(set.images.len());
        let sources = self.sources(variant);
        for i in 0..set.len() {
            let img = set.image(i);
            let mask = &self.masks[i * hw..(i + 1) * hw];
            match variant {
                Variant::Original => out.images.extend_from_slice(img),
                Variant::OnlyBgT => out.images.extend_from_slice(self.background(i)),
                Variant::OnlyFg | Variant::NoFg => {
                    let keep = (variant == Variant::OnlyFg) as u8;
                    for ch in 0..c {
                        for p in 0..hw {
                            let v = img[ch * hw + p];
                            out.images
                                .push(if (mask[p] != 0) as u8 == keep { v } else { 0 });
                        }
                    }
                }
                Variant::MixedSame | Variant::MixedRand | Variant::MixedNext => {
                    let j = sources.as_ref().map_or(i, |s| s[i]);
                    out.images.extend(paste(img, mask, self.background(j), c));
                }
            }
        }
        out
    }

    /// The foreground of every image pasted on the Only-BG-T background of image `j`.
    pub fn on_background(&self, j: usize) -> ImageSet {
        let set = self.set;
        let (c, hw) = (set.channels, set.height * set.width);
        let mut out = ImageSet::empty(c, set.height, set.width);
        out.labels = set.labels.clone();
        out.images = Vec::with_capacity(set.images.len());
        for i in 0..set.len() {
            let mask = &self.masks[i * hw..(i + 1) * hw];
            out.images
                .extend(paste(set.image(i), mask, self.background(j), c));
        }
        out
    }

    /// The challenge's backgrounds: `budget` distinct image positions drawn from `seed` (all
    /// images when `budget >= len`), sorted.
    pub fn challenge_backgrounds(&self, budget: usize) -> Vec<usize> {
        let n = self.len();
        let mut rng = rng_for(self.seed, CHALLENGE_STREAM, 0);
        let mut chosen = rand::seq::index::sample(&mut rng, n, budget.min(n)).into_vec();
        chosen.sort_unstable();
        chosen
    }
}

/// `fg` where `mask` is non-zero, `bg` elsewhere (`C*H*W` bytes each, CHW).
fn paste(fg: &[u8], mask: &[u8], bg: &[u8], c: usize) -> Vec<u8> {
    let hw = mask.len();
    let mut out = bg.to_vec();
    for ch in 0..c {
        for p in 0..hw {
            if mask[p] != 0 {
                out[ch * hw + p] = fg[ch * hw + p];
            }
        }
    }
    out
}

/// Percent of `labels` equal to `predicted`.
fn top1(predicted: &[i64], labels: &[i64]) -> f64 {
    let hits = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    100.0 * hits as f64 / labels.len().max(1) as f64
}

/// Scores `predict` (a classifier from images to predicted labels) on every variant of `set`
/// and, when `challenge` gives a budget of backgrounds, runs the backgrounds challenge. Rows:
/// the seven variants in [`Variant::ALL`] order, then `challenge` (percent of the foregrounds
/// correct on Original that stay correct on every background tried; `images` is their count).
pub fn evaluate(
    set: &ImageSet,
    classes: usize,
    seed: u64,
    challenge: Option<usize>,
    predict: &mut dyn FnMut(&ImageSet) -> Result<Vec<i64>>,
) -> Result<Vec<BackgroundRow>> {
    let variants = Variants::new(set, classes, seed)?;
    let mut rows = Vec::new();
    let mut original = Vec::new();
    for variant in Variant::ALL {
        let started = Instant::now();
        let images = variants.build(variant);
        let predicted = predict(&images)?;
        ensure!(
            predicted.len() == images.len(),
            "the classifier returned {} predictions for {} images",
            predicted.len(),
            images.len()
        );
        rows.push(BackgroundRow {
            variant: variant.name().into(),
            top1: top1(&predicted, &images.labels),
            images: images.len(),
            seconds: started.elapsed().as_secs_f64(),
        });
        if variant == Variant::Original {
            original = predicted;
        }
    }
    if let Some(budget) = challenge {
        let started = Instant::now();
        // Foregrounds correct on Original still standing after every background so far.
        let mut standing: Vec<bool> = original
            .iter()
            .zip(&set.labels)
            .map(|(p, l)| p == l)
            .collect();
        let correct = standing.iter().filter(|&&s| s).count();
        for j in variants.challenge_backgrounds(budget) {
            let predicted = predict(&variants.on_background(j))?;
            for (i, s) in standing.iter_mut().enumerate() {
                // An image on its own background is not a new background for it.
                if i != j && predicted[i] != set.labels[i] {
                    *s = false;
                }
            }
        }
        let kept = standing.iter().filter(|&&s| s).count();
        rows.push(BackgroundRow {
            variant: "challenge".into(),
            top1: 100.0 * kept as f64 / correct.max(1) as f64,
            images: correct,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One 3x4x5 image (C x H x W): channel `ch`, pixel `p` holds `10 * ch + p`; the
    /// foreground is the 2x2 block at rows 1-2, columns 3-4.
    fn hand_made() -> (Vec<u8>, Vec<u8>) {
        let (c, h, w) = (3, 4, 5);
        let img: Vec<u8> = (0..c * h * w)
            .map(|i| (10 * (i / (h * w)) + i % (h * w)) as u8 + 1)
            .collect();
        let mut mask = vec![0u8; h * w];
        for (y, x) in [(1, 3), (1, 4), (2, 3), (2, 4)] {
            mask[y * w + x] = 1;
        }
        (img, mask)
    }

    fn set_of(images: &[(Vec<u8>, Vec<u8>, i64)], c: usize, h: usize, w: usize) -> ImageSet {
        let mut set = ImageSet::empty(c, h, w);
        let mut masks = Vec::new();
        for (img, mask, label) in images {
            set.images.extend_from_slice(img);
            masks.extend_from_slice(mask);
            set.labels.push(*label);
        }
        set.masks = Some(masks);
        set.validate().unwrap();
        set
    }

    #[test]
    fn only_bg_t_tiles_the_largest_strip_over_the_box() {
        let (img, mask) = hand_made();
        let (c, h, w) = (3, 4, 5);
        let out = only_bg_t(&img, &mask, c, h, w);
        // Box: x 3..=4, y 1..=2. Strips: left 3x4 = 12 (largest), right none, top 5x1, bottom
        // 5x1. The box pixel (x, y) takes the left strip's ((x - 3) % 3, (y - 1) % 4).
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    let p = ch * h * w + y * w + x;
                    let inside = (3..=4).contains(&x) && (1..=2).contains(&y);
                    let want = if inside {
                        img[ch * h * w + ((y - 1) % 4) * w + (x - 3)]
                    } else {
                        img[p]
                    };
                    assert_eq!(out[p], want, "ch {ch} y {y} x {x}");
                }
            }
        }
        // No foreground pixel value survives anywhere in the box.
        for ch in 0..c {
            for p in (0..h * w).filter(|&p| mask[p] == 1) {
                assert_ne!(out[ch * h * w + p], img[ch * h * w + p]);
            }
        }
        // A box covering everything: filled with the mean background colour.
        let mut full = vec![0u8; h * w];
        full[0] = 1;
        full[h * w - 1] = 1;
        let out = only_bg_t(&img, &full, c, h, w);
        for ch in 0..c {
            let bg: Vec<f64> = (1..h * w - 1).map(|p| img[ch * h * w + p] as f64).collect();
            let mean = (bg.iter().sum::<f64>() / bg.len() as f64).round() as u8;
            assert!(out[ch * h * w..(ch + 1) * h * w].iter().all(|&v| v == mean));
        }
        // No foreground: unchanged.
        assert_eq!(only_bg_t(&img, &[0u8; 20], c, h, w), img);
    }

    #[test]
    fn each_variant_is_its_definition_on_a_hand_made_image() {
        let (c, h, w) = (3, 4, 5);
        let hw = h * w;
        let (a, mask_a) = hand_made();
        // A second image of the same class: constant 200, foreground the top-left pixel.
        let b = vec![200u8; c * hw];
        let mut mask_b = vec![0u8; hw];
        mask_b[0] = 1;
        let set = set_of(
            &[(a.clone(), mask_a.clone(), 0), (b.clone(), mask_b, 0)],
            c,
            h,
            w,
        );
        let v = Variants::new(&set, 1, 7).unwrap();
        let bg_b = only_bg_t(&b, set.mask(1).unwrap(), c, h, w);
        assert_eq!(v.build(Variant::Original).image(0), &a[..]);
        let only_fg = v.build(Variant::OnlyFg);
        let no_fg = v.build(Variant::NoFg);
        let only_bg = v.build(Variant::OnlyBgT);
        assert_eq!(only_bg.image(0), &only_bg_t(&a, &mask_a, c, h, w)[..]);
        for variant in [Variant::MixedSame, Variant::MixedRand, Variant::MixedNext] {
            // The only other image is b, whichever variant.
            assert_eq!(v.sources(variant).unwrap(), vec![1, 0]);
            let mixed = v.build(variant);
            for ch in 0..c {
                for (p, &m) in mask_a.iter().enumerate() {
                    let q = ch * hw + p;
                    let want = if m == 1 { a[q] } else { bg_b[q] };
                    assert_eq!(mixed.image(0)[q], want, "{variant:?} ch {ch} p {p}");
                }
            }
            assert_eq!(mixed.labels, set.labels);
        }
        for ch in 0..c {
            for (p, &m) in mask_a.iter().enumerate() {
                let q = ch * hw + p;
                let fg = m == 1;
                assert_eq!(only_fg.image(0)[q], if fg { a[q] } else { 0 });
                assert_eq!(no_fg.image(0)[q], if fg { 0 } else { a[q] });
            }
        }
        // Labels follow the images in every variant.
        for variant in Variant::ALL {
            assert_eq!(v.build(variant).labels, set.labels);
        }
    }

    /// `k` classes of `per` images of 2x2, one channel; pixel values encode the image index.
    fn labelled(k: usize, per: usize) -> ImageSet {
        let mut images = Vec::new();
        for i in 0..k * per {
            images.push((vec![i as u8; 4], vec![1, 0, 0, 0], (i % k) as i64));
        }
        set_of(&images, 1, 2, 2)
    }

    #[test]
    fn mixed_variants_draw_from_the_right_classes_and_never_the_image_itself() {
        let (k, per) = (5, 40);
        let set = labelled(k, per);
        let v = Variants::new(&set, k, 3).unwrap();
        let same = v.sources(Variant::MixedSame).unwrap();
        let rand = v.sources(Variant::MixedRand).unwrap();
        let next = v.sources(Variant::MixedNext).unwrap();
        let label = |i: usize| set.labels[i] as usize;
        for i in 0..set.len() {
            assert_ne!(same[i], i);
            assert_ne!(rand[i], i);
            assert_ne!(next[i], i);
            assert_eq!(label(same[i]), label(i), "Mixed-Same drew another class");
            assert_eq!(label(next[i]), (label(i) + 1) % k);
        }
        // Mixed-Same spreads over the class's other images rather than repeating one.
        let distinct: std::collections::BTreeSet<usize> = same.iter().copied().collect();
        assert!(distinct.len() > set.len() / 2, "{}", distinct.len());
        // Variants without a draw have no sources.
        for variant in [
            Variant::Original,
            Variant::OnlyFg,
            Variant::NoFg,
            Variant::OnlyBgT,
        ] {
            assert!(v.sources(variant).is_none());
        }
        // Mixed-Rand: classes uniform, including the image's own class. Pearson's chi-square
        // over 10 seeds of 200 images (2,000 draws, 4 degrees of freedom) stays below 18.5
        // (p = 0.001); the source's class is independent of the image's class (same-class share
        // near 1/k).
        let mut counts = vec![0f64; k];
        let mut same_class = 0usize;
        let mut total = 0usize;
        for seed in 0..10 {
            let v = Variants::new(&set, k, seed).unwrap();
            for (i, &j) in v.sources(Variant::MixedRand).unwrap().iter().enumerate() {
                counts[label(j)] += 1.0;
                same_class += (label(j) == label(i)) as usize;
                total += 1;
            }
        }
        let expected = total as f64 / k as f64;
        let chi2: f64 = counts
            .iter()
            .map(|c| (c - expected).powi(2) / expected)
            .sum();
        assert!(
            chi2 < 18.5,
            "Mixed-Rand class counts {counts:?}, chi-square {chi2}"
        );
        let share = same_class as f64 / total as f64;
        assert!((share - 0.2).abs() < 0.04, "same-class share {share}");
    }

    #[test]
    fn deterministic_by_seed() {
        let set = labelled(4, 10);
        let a = Variants::new(&set, 4, 11).unwrap();
        let b = Variants::new(&set, 4, 11).unwrap();
        let c = Variants::new(&set, 4, 12).unwrap();
        for variant in Variant::ALL {
            assert_eq!(a.build(variant), b.build(variant), "{variant:?}");
        }
        assert_eq!(a.challenge_backgrounds(5), b.challenge_backgrounds(5));
        assert_ne!(a.sources(Variant::MixedRand), c.sources(Variant::MixedRand));
        // A budget beyond the set takes every image once.
        assert_eq!(a.challenge_backgrounds(100), (0..40).collect::<Vec<_>>());
    }

    #[test]
    fn bad_sets_are_errors() {
        let mut set = labelled(2, 3);
        set.masks = None;
        assert!(Variants::new(&set, 2, 0)
            .err()
            .unwrap()
            .to_string()
            .contains("masks"));
        let set = labelled(3, 1);
        let err = Variants::new(&set, 3, 0).err().unwrap().to_string();
        assert!(err.contains("single evaluated image"), "{err}");
        let set = labelled(3, 2);
        assert!(Variants::new(&set, 2, 0).is_err());
    }

    /// The toy world of the classifier tests: `k` classes of 12x12 RGB images; class `c` has
    /// foreground colour `FG[c]` (a square of side 4-6 that always covers the centre pixel) and
    /// background colour `BG[c]` (plus per-pixel noise of +-10), as in a test set whose
    /// backgrounds go with the class.
    const FG: [[u8; 3]; 4] = [[230, 30, 30], [30, 230, 30], [30, 30, 230], [230, 230, 30]];
    const BG: [[u8; 3]; 4] = [
        [60, 60, 60],
        [120, 20, 120],
        [20, 120, 120],
        [160, 160, 160],
    ];

    fn toy_world(per: usize, seed: u64) -> ImageSet {
        let (s, k) = (12usize, 4usize);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut images = Vec::new();
        for i in 0..k * per {
            let c = i % k;
            let side = rng.gen_range(4..=6);
            let x0 = rng.gen_range(6 + 1 - side..=5);
            let y0 = rng.gen_range(6 + 1 - side..=5);
            let mut img = vec![0u8; 3 * s * s];
            let mut mask = vec![0u8; s * s];
            for y in 0..s {
                for x in 0..s {
                    let p = y * s + x;
                    let fg = (x0..x0 + side).contains(&x) && (y0..y0 + side).contains(&y);
                    mask[p] = fg as u8;
                    for ch in 0..3 {
                        let base = if fg { FG[c][ch] } else { BG[c][ch] } as i32;
                        img[ch * s * s + p] = (base + rng.gen_range(-10..=10)).clamp(0, 255) as u8;
                    }
                }
            }
            images.push((img, mask, c as i64));
        }
        set_of(&images, 3, s, s)
    }

    /// Nearest colour of `palette` to `rgb`.
    fn nearest(palette: &[[u8; 3]; 4], rgb: [f64; 3]) -> i64 {
        (0..4)
            .min_by(|&a, &b| {
                let d = |c: usize| -> f64 {
                    (0..3)
                        .map(|ch| (rgb[ch] - palette[c][ch] as f64).powi(2))
                        .sum()
                };
                d(a).total_cmp(&d(b))
            })
            .unwrap() as i64
    }

    /// A classifier on background statistics: the mean colour of the four corner pixels
    /// (never foreground), matched to the class background colours.
    fn background_model(set: &ImageSet) -> Result<Vec<i64>> {
        let (s, hw) = (set.width, set.height * set.width);
        Ok((0..set.len())
            .map(|i| {
                let img = set.image(i);
                let corners = [0, s - 1, hw - s, hw - 1];
                let rgb = [0, 1, 2].map(|ch| {
                    corners
                        .iter()
                        .map(|&p| img[ch * hw + p] as f64)
                        .sum::<f64>()
                        / 4.0
                });
                nearest(&BG, rgb)
            })
            .collect())
    }

    /// A classifier that sees only the foreground: the colour of the centre pixel (always
    /// inside the foreground square), matched to the class foreground colours.
    fn foreground_model(set: &ImageSet) -> Result<Vec<i64>> {
        let (s, hw) = (set.width, set.height * set.width);
        Ok((0..set.len())
            .map(|i| {
                let img = set.image(i);
                let p = (s / 2) * s + s / 2;
                nearest(&FG, [0, 1, 2].map(|ch| img[ch * hw + p] as f64))
            })
            .collect())
    }

    fn gap(rows: &[BackgroundRow]) -> f64 {
        let of = |name: &str| rows.iter().find(|r| r.variant == name).unwrap().top1;
        of("mixed_same") - of("mixed_rand")
    }

    #[test]
    fn a_background_model_has_a_large_gap_and_a_foreground_model_none() {
        let set = toy_world(50, 1);
        let bg = evaluate(&set, 4, 0, Some(10), &mut background_model).unwrap();
        let fg = evaluate(&set, 4, 0, Some(10), &mut foreground_model).unwrap();
        let of = |rows: &[BackgroundRow], name: &str| {
            rows.iter().find(|r| r.variant == name).unwrap().top1
        };
        eprintln!("background model: {bg:?}\nforeground model: {fg:?}");
        // Background model: perfect with its class's background, chance (25%) with a random
        // one, wrong with the next class's; Only-FG and No-FG show what it looks at.
        assert_eq!(of(&bg, "original"), 100.0);
        assert_eq!(of(&bg, "mixed_same"), 100.0);
        assert_eq!(of(&bg, "only_bg_t"), 100.0);
        assert_eq!(of(&bg, "no_fg"), 100.0);
        assert_eq!(of(&bg, "mixed_next"), 0.0);
        assert!((15.0..35.0).contains(&of(&bg, "mixed_rand")));
        assert!(gap(&bg) > 60.0, "background model BG-Gap {}", gap(&bg));
        // Most foregrounds are flipped by some background.
        assert!(of(&bg, "challenge") < 10.0);
        // Foreground model: the background changes nothing.
        assert_eq!(gap(&fg), 0.0);
        for name in [
            "original",
            "only_fg",
            "mixed_same",
            "mixed_rand",
            "mixed_next",
        ] {
            assert_eq!(of(&fg, name), 100.0, "{name}");
        }
        assert_eq!(of(&fg, "challenge"), 100.0);
        // Rows come in the documented order, with the image counts.
        let names: Vec<&str> = bg.iter().map(|r| r.variant.as_str()).collect();
        let mut want: Vec<&str> = Variant::ALL.iter().map(|v| v.name()).collect();
        want.push("challenge");
        assert_eq!(names, want);
        assert!(bg[..7].iter().all(|r| r.images == 200));
        assert_eq!(bg[7].images, 200);
        // Same seed, same numbers.
        let again = evaluate(&set, 4, 0, Some(10), &mut background_model).unwrap();
        let tops = |rows: &[BackgroundRow]| rows.iter().map(|r| r.top1).collect::<Vec<_>>();
        assert_eq!(tops(&again), tops(&bg));
    }
}
