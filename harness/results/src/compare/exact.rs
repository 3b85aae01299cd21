//! Bit-exact comparison of deterministic CPU cells. A cell that finished in both folders with
//! the same `config_hash` on a CPU device computed the same thing, whatever the code version:
//! training on the CPU is bit-exact on one processor model (see `docs/regression-and-history.md`, *Determinism and the baseline*), so every non-timing column of its
//! `metrics.csv` (`epoch`, `lr`, `train_loss`, `train_acc`, `test_loss`, `test_top1`,
//! `test_top5`, `skipped_batches`) must be equal bit for bit. Any difference is a change,
//! reported with the first cell, epoch and column where it appears.

use std::collections::BTreeMap;

use super::decide::Verdict;
use super::load::RunData;
use super::series::Key;
use crate::records::EpochMetrics;
use crate::report::SummaryRow;

/// A column of `metrics.csv`: its name and how to read it.
type Column = (&'static str, fn(&EpochMetrics) -> f64);

/// The non-timing columns of `metrics.csv`, in column order.
const COLUMNS: [Column; 8] = [
    ("epoch", |m| m.epoch as f64),
    ("lr", |m| m.lr),
    ("train_loss", |m| m.train_loss),
    ("train_acc", |m| m.train_acc),
    ("test_loss", |m| m.test_loss),
    ("test_top1", |m| m.test_top1),
    ("test_top5", |m| m.test_top5),
    ("skipped_batches", |m| m.skipped_batches as f64),
];

/// The bit-exact comparison of one (dataset, model, method) group.
#[derive(Clone, Debug, PartialEq)]
pub struct ExactGroup {
    /// The group (metric `bit_exact`).
    pub key: Key,
    /// `changed` or `unchanged`.
    pub verdict: Verdict,
    /// Cells compared bit for bit.
    pub cells: Vec<String>,
    /// The evidence in words: cells compared, the first difference, cells left out and why.
    pub detail: String,
}

/// The cells of a group as the comparison goes through them.
#[derive(Default)]
struct Tally {
    /// Cells compared bit for bit.
    compared: Vec<String>,
    /// `cell, epoch E, column: a -> b` of each cell that differs.
    differences: Vec<String>,
    /// `cell (why)` of each cell not compared.
    left_out: Vec<String>,
}

/// Where two `metrics.csv` files first differ, in words; `None` when they are equal.
fn first_difference(base: &[EpochMetrics], run: &[EpochMetrics]) -> Option<String> {
    for (b, r) in base.iter().zip(run) {
        for (name, get) in COLUMNS {
            let (vb, vr) = (get(b), get(r));
            if vb.to_bits() != vr.to_bits() {
                return Some(format!("epoch {}, {name}: {vb:?} -> {vr:?}", b.epoch));
            }
        }
    }
    (base.len() != run.len()).then(|| {
        format!(
            "epoch {}: {} rows -> {} rows",
            base.len().min(run.len()),
            base.len(),
            run.len()
        )
    })
}

/// Why a cell finished in both folders is not compared bit for bit, or `None` when it is.
fn not_comparable(b: &SummaryRow, r: &SummaryRow) -> Option<&'static str> {
    if b.config_hash.is_empty() || b.config_hash != r.config_hash {
        Some("configuration differs")
    } else if !(b.device.starts_with("cpu") && r.device.starts_with("cpu")) {
        Some("not on the CPU")
    } else {
        None
    }
}

/// Compares every eligible cell of `run` with the same cell of `base`, by group. Groups with
/// no eligible cell get no entry.
pub fn compare_exact(base: &RunData, run: &RunData) -> Vec<ExactGroup> {
    let base_rows: BTreeMap<&str, &SummaryRow> =
        base.done.iter().map(|r| (r.cell.as_str(), r)).collect();
    let mut groups: BTreeMap<Key, Tally> = BTreeMap::new();
    let mut cells: Vec<&SummaryRow> = run.done.iter().collect();
    cells.sort_by(|a, b| a.cell.cmp(&b.cell));
    for r in cells {
        let Some(b) = base_rows.get(r.cell.as_str()) else {
            continue;
        };
        let key = Key::new("bit_exact", &r.dataset, &r.model, &r.method);
        let tally = groups.entry(key).or_default();
        if let Some(why) = not_comparable(b, r) {
            tally.left_out.push(format!("{} ({why})", r.cell));
            continue;
        }
        let (Some(mb), Some(mr)) = (base.epochs.get(&r.cell), run.epochs.get(&r.cell)) else {
            tally.left_out.push(format!("{} (no metrics.csv)", r.cell));
            continue;
        };
        tally.compared.push(r.cell.clone());
        if let Some(diff) = first_difference(mb, mr) {
            tally.differences.push(format!("{}, {diff}", r.cell));
        }
    }
    groups
        .into_iter()
        .filter(|(_, tally)| !tally.compared.is_empty())
        .map(|(key, t)| {
            let Tally {
                compared,
                differences,
                left_out,
            } = t;
            let mut detail = match differences.first() {
                None => format!(
                    "{} cell(s) with the same config_hash on the CPU: metrics.csv equal bit for bit",
                    compared.len()
                ),
                Some(first) => format!(
                    "{} of {} cell(s) with the same config_hash on the CPU differ; first: {first}",
                    differences.len(),
                    compared.len()
                ),
            };
            if !left_out.is_empty() {
                detail.push_str(&format!("; not compared: {}", left_out.join(", ")));
            }
            ExactGroup {
                key,
                verdict: if differences.is_empty() {
                    Verdict::Unchanged
                } else {
                    Verdict::Changed
                },
                cells: compared,
                detail,
            }
        })
        .collect()
}
