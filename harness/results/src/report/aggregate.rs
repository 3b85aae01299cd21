//! Grouping done cells by (dataset, model, method) and `methods.csv`: mean and spread over
//! seeds, with the list of cells behind every row.

use anyhow::{Context, Result};
use serde::Serialize;

use super::stats;
use super::summary::SummaryRow;

/// File name of the per-method aggregate, `RUN_DIR/methods.csv`.
///
/// One row per (dataset, model, method) with at least one done cell; failed and incomplete
/// cells are left out (they are listed in `summary.csv` and `report.md`). Rows are ordered by
/// dataset, then model; within a group `vanilla` comes first, then the other methods in order
/// of first appearance in `summary.csv` (cell folder order). Means are over seeds, std is the
/// sample standard deviation (n - 1), empty for n = 1. Columns (a public interface: new ones go
/// at the end):
///
/// | column | meaning |
/// |--------|---------|
/// | `dataset`, `model`, `method` | the group |
/// | `method_params` | the method's parameters as in `summary.csv` (distinct values joined with ` \| ` if the cells disagree) |
/// | `n` | number of done cells (seeds) aggregated |
/// | `top1_last_mean`, `top1_last_std` | test top-1 (%) of the last epoch |
/// | `top1_best_mean`, `top1_best_std` | best-epoch test top-1 (%) |
/// | `top1_median_last10_mean`, `top1_median_last10_std` | median test top-1 (%) of the last 10 epochs |
/// | `top5_last_mean`, `top5_last_std` | test top-5 (%) of the last epoch |
/// | `epoch_time_mean`, `epoch_time_std` | wall seconds per epoch (over seeds of `summary.csv`'s `epoch_time_mean`) |
/// | `devices`, `code_versions`, `libtorch` | distinct values over the cells, joined with `;` |
/// | `cells` | the aggregated cells, joined with `;` |
///
/// A mean or std is computed over the cells that have the value (a done cell without any
/// epoch contributes to `n` only).
pub const METHODS_CSV: &str = "methods.csv";

/// The method listed first in every group: the baseline the others are read against.
use super::order::BASELINE_METHOD as BASELINE;

/// The done cells of one (dataset, model) pair, split by method.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Group {
    pub dataset: String,
    pub model: String,
    /// Methods in report order (baseline first, then first appearance).
    pub methods: Vec<MethodCells>,
}

/// The done cells of one method within a [`Group`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MethodCells {
    pub method: String,
    /// Indices into the summary rows (and the cells, which share their order).
    pub members: Vec<usize>,
}

/// One row of `methods.csv`; field order is column order (see [`METHODS_CSV`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct MethodRow {
    pub dataset: String,
    pub model: String,
    pub method: String,
    pub method_params: String,
    pub n: usize,
    pub top1_last_mean: Option<f64>,
    pub top1_last_std: Option<f64>,
    pub top1_best_mean: Option<f64>,
    pub top1_best_std: Option<f64>,
    pub top1_median_last10_mean: Option<f64>,
    pub top1_median_last10_std: Option<f64>,
    pub top5_last_mean: Option<f64>,
    pub top5_last_std: Option<f64>,
    pub epoch_time_mean: Option<f64>,
    pub epoch_time_std: Option<f64>,
    pub devices: String,
    pub code_versions: String,
    pub libtorch: String,
    pub cells: String,
}

/// Groups the done rows by (dataset, model), sorted by name, and by method within each.
pub(crate) fn group_done(rows: &[SummaryRow]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for (index, row) in rows.iter().enumerate().filter(|(_, r)| r.is_done()) {
        let group = match groups
            .iter()
            .position(|g| g.dataset == row.dataset && g.model == row.model)
        {
            Some(i) => &mut groups[i],
            None => {
                groups.push(Group {
                    dataset: row.dataset.clone(),
                    model: row.model.clone(),
                    methods: Vec::new(),
                });
                groups.last_mut().expect("just pushed")
            }
        };
        match group.methods.iter_mut().find(|m| m.method == row.method) {
            Some(method) => method.members.push(index),
            None => group.methods.push(MethodCells {
                method: row.method.clone(),
                members: vec![index],
            }),
        }
    }
    for group in &mut groups {
        // Stable sort: the baseline moves to the front, the others keep first-appearance order.
        group.methods.sort_by_key(|m| m.method != BASELINE);
    }
    groups.sort_by(|a, b| (&a.dataset, &a.model).cmp(&(&b.dataset, &b.model)));
    groups
}

/// One `methods.csv` row per method of every group, in group order.
pub(crate) fn method_rows(groups: &[Group], rows: &[SummaryRow]) -> Vec<MethodRow> {
    groups
        .iter()
        .flat_map(|g| g.methods.iter().map(move |m| method_row(g, m, rows)))
        .collect()
}

/// The aggregate of one method's cells.
fn method_row(group: &Group, method: &MethodCells, rows: &[SummaryRow]) -> MethodRow {
    let members: Vec<&SummaryRow> = method.members.iter().map(|&i| &rows[i]).collect();
    let values = |f: fn(&SummaryRow) -> Option<f64>| {
        members.iter().filter_map(|r| f(r)).collect::<Vec<f64>>()
    };
    let (top1_last_mean, top1_last_std) = mean_std(&values(|r| r.top1_last));
    let (top1_best_mean, top1_best_std) = mean_std(&values(|r| r.top1_best));
    let (top1_median_last10_mean, top1_median_last10_std) =
        mean_std(&values(|r| r.top1_median_last10));
    let (top5_last_mean, top5_last_std) = mean_std(&values(|r| r.top5_last));
    let (epoch_time_mean, epoch_time_std) = mean_std(&values(|r| r.epoch_time_mean));
    MethodRow {
        dataset: group.dataset.clone(),
        model: group.model.clone(),
        method: method.method.clone(),
        method_params: distinct(&members, |r| &r.method_params, " | "),
        n: members.len(),
        top1_last_mean,
        top1_last_std,
        top1_best_mean,
        top1_best_std,
        top1_median_last10_mean,
        top1_median_last10_std,
        top5_last_mean,
        top5_last_std,
        epoch_time_mean,
        epoch_time_std,
        devices: distinct(&members, |r| &r.device, ";"),
        code_versions: distinct(&members, |r| &r.code_version, ";"),
        libtorch: distinct(&members, |r| &r.libtorch, ";"),
        cells: members
            .iter()
            .map(|r| r.cell.as_str())
            .collect::<Vec<_>>()
            .join(";"),
    }
}

/// Mean and sample standard deviation of a column.
fn mean_std(values: &[f64]) -> (Option<f64>, Option<f64>) {
    (stats::mean(values), stats::sample_std(values))
}

/// Distinct non-empty values of a field, in first-appearance order, joined with `sep`.
pub(crate) fn distinct<'a>(
    rows: &[&'a SummaryRow],
    field: fn(&'a SummaryRow) -> &'a String,
    sep: &str,
) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for row in rows {
        let value = field(row).as_str();
        if !value.is_empty() && !seen.contains(&value) {
            seen.push(value);
        }
    }
    seen.join(sep)
}

/// `methods.csv` as bytes: a header and one record per row.
pub(crate) fn to_csv(rows: &[MethodRow]) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        writer.write_record(HEADER)?;
    }
    for row in rows {
        writer.serialize(row).with_context(|| {
            format!(
                "serialising the methods row of {}/{}/{}",
                row.dataset, row.model, row.method
            )
        })?;
    }
    writer.into_inner().context("finishing methods.csv")
}

/// Column names, for a `methods.csv` without rows (serde writes them otherwise).
const HEADER: [&str; 19] = [
    "dataset",
    "model",
    "method",
    "method_params",
    "n",
    "top1_last_mean",
    "top1_last_std",
    "top1_best_mean",
    "top1_best_std",
    "top1_median_last10_mean",
    "top1_median_last10_std",
    "top5_last_mean",
    "top5_last_std",
    "epoch_time_mean",
    "epoch_time_std",
    "devices",
    "code_versions",
    "libtorch",
    "cells",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_csv_header_matches_serde_header() {
        let row = MethodRow {
            dataset: String::new(),
            model: String::new(),
            method: String::new(),
            method_params: String::new(),
            n: 0,
            top1_last_mean: None,
            top1_last_std: None,
            top1_best_mean: None,
            top1_best_std: None,
            top1_median_last10_mean: None,
            top1_median_last10_std: None,
            top5_last_mean: None,
            top5_last_std: None,
            epoch_time_mean: None,
            epoch_time_std: None,
            devices: String::new(),
            code_versions: String::new(),
            libtorch: String::new(),
            cells: String::new(),
        };
        let with_row = String::from_utf8(to_csv(&[row]).unwrap()).unwrap();
        let empty = String::from_utf8(to_csv(&[]).unwrap()).unwrap();
        assert_eq!(with_row.lines().next(), empty.lines().next());
    }
}
