//! What an occlusion evaluation leaves in a cell folder: `occlusion.csv`, one
//! [`OcclusionRow`] per (mode, fraction), the clean accuracy (mode `clean`, fraction 0) first;
//! and the per-cell summary of a mode's curve, its normalised area ([`auc`]).

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

/// File name of a cell's occlusion results.
pub const CELL_CSV: &str = "occlusion.csv";

/// The mode of the unoccluded row.
pub const CLEAN: &str = "clean";

/// One evaluation of a cell: top-1 with one occluded fraction of every image in one mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OcclusionRow {
    /// `clean`, `random` (random grid patches) or `salient` (the most salient square).
    pub mode: String,
    /// Fraction of the image area asked to be occluded, in (0, 1); 0 for `clean`.
    pub fraction: f64,
    /// Fraction of the pixels actually occluded, mean over the images: the grid's or the
    /// square's rounding of `fraction` (see `docs/occlusion.md`).
    pub area: f64,
    /// Top-1 accuracy, percent.
    pub top1: f64,
    /// Images scored.
    pub images: usize,
    /// Wall seconds of the row (`salient` rows each include an equal share of the one saliency
    /// pass).
    pub seconds: f64,
}

/// The top-1 of the clean row, when there is one.
pub fn clean_top1(rows: &[OcclusionRow]) -> Option<f64> {
    rows.iter().find(|r| r.mode == CLEAN).map(|r| r.top1)
}

/// The occlusion modes of `rows` (every mode but `clean`), in order of first appearance.
pub fn modes(rows: &[OcclusionRow]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for r in rows {
        if r.mode != CLEAN && !out.contains(&r.mode.as_str()) {
            out.push(&r.mode);
        }
    }
    out
}

/// The accuracy curve of `mode`: `(fraction, top1)` by increasing fraction, starting at
/// `(0, clean top-1)`; `None` without a clean row or without a row of `mode`.
pub fn curve(rows: &[OcclusionRow], mode: &str) -> Option<Vec<(f64, f64)>> {
    let clean = clean_top1(rows)?;
    let mut points: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| r.mode == mode)
        .map(|r| (r.fraction, r.top1))
        .collect();
    if points.is_empty() {
        return None;
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points.insert(0, (0.0, clean));
    Some(points)
}

/// The area under a curve of `(fraction, top1)` points sorted by fraction and starting at 0,
/// by the trapezoid rule from 0 to the largest fraction, divided by that fraction: the mean
/// top-1 (percent) over the range of fractions, the clean top-1 for a model occlusion does not
/// affect. `None` for a curve without a positive fraction.
pub fn normalised_area(points: &[(f64, f64)]) -> Option<f64> {
    let last = points.last()?.0;
    let area: f64 = points
        .windows(2)
        .map(|p| (p[1].0 - p[0].0) * (p[0].1 + p[1].1) / 2.0)
        .sum();
    (last > 0.0).then(|| area / last)
}

/// The normalised area under the accuracy curve of `mode` ([`curve`], [`normalised_area`]).
pub fn auc(rows: &[OcclusionRow], mode: &str) -> Option<f64> {
    normalised_area(&curve(rows, mode)?)
}

/// Writes a cell's rows to `cells/<cell>/occlusion.csv` (atomically).
pub fn write_cell_csv(dir: &Path, rows: &[OcclusionRow]) -> Result<()> {
    crate::records::write_atomic(&dir.join(CELL_CSV), &crate::records::csv_bytes(rows)?)
}

/// Reads a cell's `occlusion.csv`.
pub fn read_cell_csv(dir: &Path) -> Result<Vec<OcclusionRow>> {
    crate::records::read_csv(&dir.join(CELL_CSV))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(mode: &str, fraction: f64, top1: f64) -> OcclusionRow {
        OcclusionRow {
            mode: mode.into(),
            fraction,
            area: fraction,
            top1,
            images: 10,
            seconds: 0.0,
        }
    }

    /// The curve starts at the clean accuracy and is sorted; the area is the trapezoid rule
    /// normalised by the largest fraction, by hand:
    /// ((0.1 - 0) (90 + 80) / 2 + (0.3 - 0.1) (80 + 40) / 2) / 0.3 = (8.5 + 12) / 0.3 = 68.33...
    #[test]
    fn the_area_is_the_normalised_trapezoid_from_zero() {
        let rows = vec![
            row(CLEAN, 0.0, 90.0),
            row("random", 0.3, 40.0),
            row("random", 0.1, 80.0),
            row("salient", 0.1, 20.0),
        ];
        assert_eq!(modes(&rows), ["random", "salient"]);
        assert_eq!(
            curve(&rows, "random").unwrap(),
            [(0.0, 90.0), (0.1, 80.0), (0.3, 40.0)]
        );
        let area = auc(&rows, "random").unwrap();
        assert!((area - 20.5 / 0.3).abs() < 1e-9, "{area}");
        // One fraction: the mean of the clean and occluded accuracies.
        assert!((auc(&rows, "salient").unwrap() - 55.0).abs() < 1e-12);
        // A flat curve has the clean accuracy as its area.
        assert_eq!(
            normalised_area(&[(0.0, 70.0), (0.2, 70.0), (0.5, 70.0)]),
            Some(70.0)
        );
        assert_eq!(auc(&rows, "center"), None);
        assert_eq!(auc(&rows[1..], "random"), None, "no clean row");
        assert_eq!(normalised_area(&[(0.0, 70.0)]), None);
    }
}
