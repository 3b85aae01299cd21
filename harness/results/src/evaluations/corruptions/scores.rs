//! The corruption scores of a cell (Hendrycks and Dietterich, 2019, section 4), with Vanilla
//! as the normaliser:
//!
//! - **mean corruption accuracy**: the mean top-1 over the benchmark corruptions and
//!   severities evaluated;
//! - **corruption error** of corruption `c`: `CE_c = 100 * sum_s E_{s,c} / sum_s V_{s,c}`, with
//!   `E = 100 - top1` the cell's error and `V` Vanilla's (mean over Vanilla's cells of the
//!   same data set and model), summed over the severities both evaluated;
//! - **relative corruption error**: `rCE_c = 100 * sum_s (E_{s,c} - E_clean) / sum_s (V_{s,c} -
//!   V_clean)`, how much accuracy the corruption costs, relative to what it costs Vanilla;
//! - **mCE** and **relative mCE**: the means of `CE_c` and `rCE_c` over the benchmark
//!   corruptions. Vanilla's own are 100 by construction.

use std::collections::BTreeMap;

use super::rows::{CorruptionRow, CLEAN};

/// Errors (`100 - top1`) of one cell or of Vanilla's mean: per (corruption, severity), and clean.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Errors {
    /// Clean error.
    pub clean: Option<f64>,
    /// Error per (corruption, severity), benchmark corruptions and extra ones.
    pub corrupted: BTreeMap<(String, usize), f64>,
    /// The names of the benchmark corruptions among them.
    pub benchmark: Vec<String>,
}

impl Errors {
    /// The errors of a cell's rows.
    pub fn of(rows: &[CorruptionRow]) -> Self {
        Self::mean_of(&[rows])
    }

    /// The mean errors of several cells (Vanilla's seeds), per key over the cells that have it.
    pub fn mean_of(cells: &[&[CorruptionRow]]) -> Self {
        let mut sums: BTreeMap<(String, usize), (f64, usize)> = BTreeMap::new();
        let mut benchmark = Vec::new();
        for rows in cells {
            for r in rows.iter() {
                let e = sums.entry((r.corruption.clone(), r.severity)).or_default();
                e.0 += 100.0 - r.top1;
                e.1 += 1;
                if r.benchmark && !benchmark.contains(&r.corruption) {
                    benchmark.push(r.corruption.clone());
                }
            }
        }
        let mut errors = Errors {
            benchmark,
            ..Default::default()
        };
        for ((corruption, severity), (sum, n)) in sums {
            let mean = sum / n as f64;
            if corruption == CLEAN {
                errors.clean = Some(mean);
            } else {
                errors.corrupted.insert((corruption, severity), mean);
            }
        }
        errors
    }
}

/// The scores of one cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    /// Mean top-1 over the benchmark corruptions and severities evaluated.
    pub mean_top1: Option<f64>,
    /// Mean top-1 over the extra corruptions evaluated.
    pub extra_mean_top1: Option<f64>,
    /// mCE, percent of Vanilla's errors.
    pub mce: Option<f64>,
    /// Relative mCE, percent of Vanilla's accuracy losses.
    pub relative_mce: Option<f64>,
    /// `CE_c` per benchmark corruption (those Vanilla also has).
    pub ce: BTreeMap<String, f64>,
}

/// The mean of `values`, `None` when empty.
fn mean(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = values.into_iter().collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The scores of `cell` against Vanilla's errors `vanilla` (`None`: no Vanilla in the group,
/// so no mCE).
pub fn scores(cell: &Errors, vanilla: Option<&Errors>) -> Scores {
    let is_benchmark = |c: &str| cell.benchmark.iter().any(|b| b == c);
    let mean_top1 = mean(
        cell.corrupted
            .iter()
            .filter(|((c, _), _)| is_benchmark(c))
            .map(|(_, e)| 100.0 - e),
    );
    let extra_mean_top1 = mean(
        cell.corrupted
            .iter()
            .filter(|((c, _), _)| !is_benchmark(c))
            .map(|(_, e)| 100.0 - e),
    );
    let mut ce = BTreeMap::new();
    let mut rce = Vec::new();
    if let Some(v) = vanilla {
        for name in &cell.benchmark {
            let shared: Vec<(f64, f64)> = cell
                .corrupted
                .iter()
                .filter(|((c, _), _)| c == name)
                .filter_map(|(key, e)| v.corrupted.get(key).map(|ve| (*e, *ve)))
                .collect();
            if shared.is_empty() {
                continue;
            }
            let (sum_e, sum_v) = shared
                .iter()
                .fold((0.0, 0.0), |(a, b), (e, ve)| (a + e, b + ve));
            if sum_v > 0.0 {
                ce.insert(name.clone(), 100.0 * sum_e / sum_v);
            }
            if let (Some(ec), Some(vc)) = (cell.clean, v.clean) {
                let lost: f64 = shared.iter().map(|(e, _)| e - ec).sum();
                let vanilla_lost: f64 = shared.iter().map(|(_, ve)| ve - vc).sum();
                if vanilla_lost > 0.0 {
                    rce.push(100.0 * lost / vanilla_lost);
                }
            }
        }
    }
    Scores {
        mean_top1,
        extra_mean_top1,
        mce: mean(ce.values().copied()),
        relative_mce: mean(rce),
        ce,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(corruption: &str, severity: usize, top1: f64, benchmark: bool) -> CorruptionRow {
        CorruptionRow {
            corruption: corruption.into(),
            severity,
            constants: "cifar".into(),
            benchmark,
            top1,
            images: 100,
            generation_seconds: 0.0,
            seconds: 0.0,
        }
    }

    /// Hand-computed: Vanilla errors 10 clean, fog 20/40, noise 30/50; the cell errors 5
    /// clean, fog 15/25, noise 30/30. CE_fog = 40/60, CE_noise = 60/80; rCE_fog = (10 + 20) /
    /// (10 + 30), rCE_noise = (25 + 25) / (20 + 40).
    #[test]
    fn scores_follow_the_definitions_on_a_hand_case() {
        let vanilla = [
            row(CLEAN, 0, 90.0, false),
            row("fog", 1, 80.0, true),
            row("fog", 2, 60.0, true),
            row("gaussian_noise", 1, 70.0, true),
            row("gaussian_noise", 2, 50.0, true),
        ];
        let cell = [
            row(CLEAN, 0, 95.0, false),
            row("fog", 1, 85.0, true),
            row("fog", 2, 75.0, true),
            row("gaussian_noise", 1, 70.0, true),
            row("gaussian_noise", 2, 70.0, true),
            row("saturate", 1, 93.0, false),
        ];
        let v = Errors::of(&vanilla);
        let s = scores(&Errors::of(&cell), Some(&v));
        let close = |a: Option<f64>, b: f64| assert!((a.unwrap() - b).abs() < 1e-9, "{a:?} vs {b}");
        close(s.mean_top1, 75.0);
        close(s.extra_mean_top1, 93.0);
        close(s.ce.get("fog").copied(), 100.0 * 40.0 / 60.0);
        close(s.mce, 100.0 * (40.0 / 60.0 + 60.0 / 80.0) / 2.0);
        close(s.relative_mce, 100.0 * (30.0 / 40.0 + 50.0 / 60.0) / 2.0);
        let own = scores(&v, Some(&v));
        close(own.mce, 100.0);
        close(own.relative_mce, 100.0);
        assert_eq!(
            scores(&Errors::of(&cell), None).mce,
            None,
            "no Vanilla, no mCE"
        );
    }

    #[test]
    fn vanillas_errors_are_averaged_over_its_seeds() {
        let a = [row(CLEAN, 0, 90.0, false), row("fog", 1, 80.0, true)];
        let b = [row(CLEAN, 0, 80.0, false), row("fog", 1, 60.0, true)];
        let v = Errors::mean_of(&[&a, &b]);
        assert_eq!(v.clean, Some(15.0));
        assert_eq!(v.corrupted[&("fog".to_string(), 1)], 30.0);
    }
}
