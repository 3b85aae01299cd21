//! The occlusion masks, as pure functions on plain slices (no tensors): which pixels of an
//! `h x w` image are occluded, row-major, `true` = occluded (`docs/occlusion.md`, *What is
//! occluded*).
//!
//! - **Random patches** ([`PatchGrid`]): the image is cut into a grid of `patch x patch`
//!   cells, `ceil(h / patch)` rows by `ceil(w / patch)` columns, the last row and column
//!   clipped to the image when `patch` does not divide the side. At fraction `f`,
//!   `k = round(f * cells)` cells are occluded: the first `k` of a uniform random permutation
//!   of the cells drawn from the image's seed. The permutation does not depend on `f`, so the
//!   cells occluded at a fraction are also occluded at every larger one.
//! - **Most salient square** ([`salient_window`]): the window of `round(sqrt(f) h) x
//!   round(sqrt(f) w)` pixels (each side at least 1) whose summed saliency is largest, found
//!   with a summed-area table in f64; ties go to the first window in row-major order of its
//!   top-left corner.

use mixbench_core::MixRng;

/// A rectangle of pixels: rows `top..top + height`, columns `left..left + width`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// First row.
    pub top: usize,
    /// First column.
    pub left: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

impl Window {
    /// The mask of this window in an `h x w` image, row-major.
    pub fn mask(&self, h: usize, w: usize) -> Vec<bool> {
        let mut mask = vec![false; h * w];
        self.paint(&mut mask, w);
        mask
    }

    /// Marks the window's pixels in the row-major mask of an image `w` pixels wide.
    fn paint(&self, mask: &mut [bool], w: usize) {
        for r in self.top..self.top + self.height {
            mask[r * w + self.left..r * w + self.left + self.width].fill(true);
        }
    }
}

/// The grid of `patch x patch` cells the random mode occludes, over an `h x w` image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PatchGrid {
    h: usize,
    w: usize,
    patch: usize,
    rows: usize,
    cols: usize,
}

impl PatchGrid {
    /// The grid of an `h x w` image; `patch` is between 1 and `min(h, w)` (the evaluation
    /// checks it against the data set before building one).
    pub fn new(h: usize, w: usize, patch: usize) -> Self {
        assert!(
            patch >= 1 && patch <= h.min(w),
            "patch {patch} for a {h}x{w} image"
        );
        PatchGrid {
            h,
            w,
            patch,
            rows: h.div_ceil(patch),
            cols: w.div_ceil(patch),
        }
    }

    /// Number of cells.
    pub fn cells(&self) -> usize {
        self.rows * self.cols
    }

    /// Cells occluded at `fraction`: `round(fraction * cells)` (halves away from zero).
    pub fn occluded_cells(&self, fraction: f64) -> usize {
        ((fraction * self.cells() as f64).round() as usize).min(self.cells())
    }

    /// Cell `index` (row-major) as a window, clipped to the image.
    pub fn cell(&self, index: usize) -> Window {
        let (r, c) = (index / self.cols, index % self.cols);
        let (top, left) = (r * self.patch, c * self.patch);
        Window {
            top,
            left,
            height: self.patch.min(self.h - top),
            width: self.patch.min(self.w - left),
        }
    }

    /// The mask of one image at `fraction`: the first [`PatchGrid::occluded_cells`] cells of
    /// a permutation of the cells drawn from a ChaCha8 stream seeded with `seed`.
    pub fn mask(&self, fraction: f64, seed: u64) -> Vec<bool> {
        let order = MixRng::seed_from(seed).permutation(self.cells());
        let mut mask = vec![false; self.h * self.w];
        for &index in &order[..self.occluded_cells(fraction)] {
            self.cell(index as usize).paint(&mut mask, self.w);
        }
        mask
    }
}

/// Side of the salient square along an axis of `side` pixels at `fraction`:
/// `round(sqrt(fraction) * side)`, at least 1 and at most `side`.
pub fn salient_side(side: usize, fraction: f64) -> usize {
    ((fraction.sqrt() * side as f64).round() as usize).clamp(1, side)
}

/// The `height x width` window of the `h x w` saliency map `map` (row-major) with the largest
/// sum: a box filter over a summed-area table in f64, the first window in row-major order of
/// its top-left corner on ties (a map of zeros gives the top-left window).
pub fn salient_window(map: &[f32], h: usize, w: usize, height: usize, width: usize) -> Window {
    assert_eq!(map.len(), h * w, "a {h}x{w} map");
    assert!((1..=h).contains(&height) && (1..=w).contains(&width));
    // table[(r) * (w + 1) + c]: the sum of map[..r, ..c].
    let stride = w + 1;
    let mut table = vec![0f64; (h + 1) * stride];
    for r in 0..h {
        let mut row = 0f64;
        for c in 0..w {
            row += map[r * w + c] as f64;
            table[(r + 1) * stride + c + 1] = table[r * stride + c + 1] + row;
        }
    }
    let mut best = (f64::NEG_INFINITY, 0, 0);
    for top in 0..=h - height {
        for left in 0..=w - width {
            let (bottom, right) = (top + height, left + width);
            let sum = table[bottom * stride + right]
                - table[top * stride + right]
                - table[bottom * stride + left]
                + table[top * stride + left];
            if sum > best.0 {
                best = (sum, top, left);
            }
        }
    }
    Window {
        top: best.1,
        left: best.2,
        height,
        width,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(mask: &[bool]) -> usize {
        mask.iter().filter(|&&m| m).count()
    }

    /// 32x32 with 4x4 patches: 64 cells; at 0.3, round(19.2) = 19 cells = 304 pixels; at 0.5,
    /// 32 cells = 512 pixels (half the image).
    #[test]
    fn random_masks_occlude_whole_cells_in_the_asked_number() {
        let grid = PatchGrid::new(32, 32, 4);
        assert_eq!(grid.cells(), 64);
        assert_eq!(count(&grid.mask(0.3, 7)), 19 * 16);
        assert_eq!(count(&grid.mask(0.5, 7)), 512);
        assert_eq!(grid.occluded_cells(0.99), 63);
        // Every cell is all occluded or not at all.
        let mask = grid.mask(0.3, 7);
        for i in 0..grid.cells() {
            let cell = grid.cell(i).mask(32, 32);
            let inside = mask.iter().zip(&cell).filter(|(_, &c)| c).map(|(&m, _)| m);
            let on: Vec<bool> = inside.collect();
            assert!(on.iter().all(|&m| m) || on.iter().all(|&m| !m), "cell {i}");
        }
    }

    /// 10x7 with 4x4 patches: 3 x 2 cells, clipped to 4x4, 4x3, 4x4, 4x3, 2x4, 2x3; at 0.5,
    /// round(3) = 3 whole cells, whose areas add up to the occluded count.
    #[test]
    fn cells_are_clipped_at_the_edges() {
        let grid = PatchGrid::new(10, 7, 4);
        assert_eq!(grid.cells(), 6);
        let areas: Vec<usize> = (0..6)
            .map(|i| grid.cell(i).height * grid.cell(i).width)
            .collect();
        assert_eq!(areas, [16, 12, 16, 12, 8, 6]);
        assert_eq!(areas.iter().sum::<usize>(), 70);
        let order = MixRng::seed_from(3).permutation(6);
        let want: usize = order[..3].iter().map(|&i| areas[i as usize]).sum();
        assert_eq!(count(&grid.mask(0.5, 3)), want);
        // Half-way rounds away from zero: 0.25 * 6 = 1.5 -> 2 cells.
        assert_eq!(grid.occluded_cells(0.25), 2);
    }

    /// The same seed gives the same mask, another seed another one, and a larger fraction
    /// occludes a superset of the cells.
    #[test]
    fn random_masks_are_seeded_and_nested() {
        let grid = PatchGrid::new(16, 16, 4);
        assert_eq!(grid.mask(0.4, 11), grid.mask(0.4, 11));
        assert_ne!(grid.mask(0.4, 11), grid.mask(0.4, 12));
        let (small, large) = (grid.mask(0.2, 11), grid.mask(0.6, 11));
        assert!(small.iter().zip(&large).all(|(&s, &l)| !s || l));
        assert!(count(&large) > count(&small));
    }

    /// A planted 3x3 block of high saliency at rows 4..7, columns 2..5 of an 8x8 map of small
    /// values is found by a 3x3 window exactly; a 2x2 window lands inside it, on its first
    /// position (all four 2x2 windows of the block tie).
    #[test]
    fn the_salient_window_finds_a_planted_block() {
        let (h, w) = (8, 8);
        let mut map = vec![0.01f32; h * w];
        for r in 4..7 {
            for c in 2..5 {
                map[r * w + c] = 1.0;
            }
        }
        let found = salient_window(&map, h, w, 3, 3);
        assert_eq!(
            found,
            Window {
                top: 4,
                left: 2,
                height: 3,
                width: 3
            }
        );
        assert_eq!(count(&found.mask(h, w)), 9);
        assert_eq!(salient_window(&map, h, w, 2, 2).top, 4);
        assert_eq!(salient_window(&map, h, w, 2, 2).left, 2);
        // The whole image is the only full-size window.
        assert_eq!(salient_window(&map, h, w, 8, 8).top, 0);
        // Ties go to the first window in row-major order.
        let flat = vec![0.5f32; h * w];
        let first = salient_window(&flat, h, w, 3, 5);
        assert_eq!((first.top, first.left), (0, 0));
        // A non-square image and window.
        let mut tall = vec![0f32; 6 * 4];
        tall[5 * 4 + 3] = 2.0;
        let corner = salient_window(&tall, 6, 4, 2, 3);
        assert_eq!((corner.top, corner.left), (4, 1));
    }

    /// round(sqrt(0.25) 32) = 16, round(sqrt(0.5) 16) = round(11.31) = 11, never 0 nor more
    /// than the side.
    #[test]
    fn salient_sides_round_the_square_root() {
        assert_eq!(salient_side(32, 0.25), 16);
        assert_eq!(salient_side(16, 0.5), 11);
        assert_eq!(salient_side(4, 0.001), 1);
        assert_eq!(salient_side(4, 0.999), 4);
    }
}
