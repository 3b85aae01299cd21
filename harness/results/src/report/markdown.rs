//! `report.md`: the human-readable report. The template is this code (compiled into the
//! binary), so a report never depends on files beside the executable.

use std::fmt::Write;
use std::path::Path;

use super::aggregate::{self, Group, MethodRow};
use super::plots::{plot_file, KINDS, PLOTS_DIR};
use super::summary::SummaryRow;
use super::METHODS_CSV;
use super::SUMMARY_CSV;

/// File name of the report, `RUN_DIR/report.md`: per (dataset, model) a table of every method
/// (n, top-1 last / best / median of the last 10 epochs as mean ± std, top-5, epoch time), the
/// devices, code versions and libtorch behind it, the plots, and the failed and incomplete
/// cells with their errors.
pub const REPORT_MD: &str = "report.md";

/// What the report is rendered from; everything was computed by the other report modules.
pub(crate) struct ReportInput<'a> {
    pub run_dir: &'a Path,
    pub rows: &'a [SummaryRow],
    pub groups: &'a [Group],
    pub method_rows: &'a [MethodRow],
    /// Plot file stems, one per group.
    pub stems: &'a [String],
}

/// The whole of `report.md`.
pub(crate) fn render(input: &ReportInput) -> String {
    let mut out = String::new();
    header(&mut out, input);
    for (group, stem) in input.groups.iter().zip(input.stems) {
        group_section(&mut out, group, stem, input.method_rows);
    }
    if input.groups.is_empty() {
        out.push_str("No cell has finished yet, so there is nothing to aggregate.\n\n");
    }
    provenance(&mut out, input.rows);
    problems(&mut out, input.rows);
    let _ = writeln!(
        out,
        "## Raw numbers\n\n`{SUMMARY_CSV}` holds one row per cell (every run's own numbers, failed and incomplete \
         cells included) and `{METHODS_CSV}` the per-method aggregates, each with the list of cells it is \
         computed from. Both are rebuilt from `cells/` by `build_report`."
    );
    out
}

/// Title, run directory, cell counts and how to read the numbers.
fn header(out: &mut String, input: &ReportInput) {
    let all: Vec<&SummaryRow> = input.rows.iter().collect();
    let suites = aggregate::distinct(&all, |r| &r.suite, ", ");
    let suites = if suites.is_empty() {
        "(unknown suite)".to_string()
    } else {
        suites
    };
    let count = |status: &str| input.rows.iter().filter(|r| r.status == status).count();
    let _ = writeln!(out, "# mixbench report: {}\n", escape(&suites));
    let _ = writeln!(
        out,
        "Run directory: `{}`. Cells: {} ({} done, {} failed, {} incomplete).\n",
        input.run_dir.display(),
        input.rows.len(),
        count("done"),
        count("failed"),
        count("incomplete"),
    );
    let _ = writeln!(
        out,
        "**How to read.** Accuracies are test top-1 (and top-5) in percent; higher is better. Papers \
         report different epochs, so all three are shown: **last** (the final epoch), **best** (the best \
         epoch, chosen on the test set, hence optimistic) and **median last 10** (the median of the last min(10, n) epochs). \
         Values are mean ± sample std over the n seeds of done cells (no std for n = 1). Epoch time is \
         mean wall seconds per epoch, evaluation included.\n"
    );
}

/// Table, provenance line and plots of one (dataset, model) group.
fn group_section(out: &mut String, group: &Group, stem: &str, method_rows: &[MethodRow]) {
    let _ = writeln!(
        out,
        "## {} / {}\n",
        escape(&group.dataset),
        escape(&group.model)
    );
    out.push_str("| method | params | n | top-1 last | top-1 best | top-1 median last 10 | top-5 last | epoch time (s) |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
    let rows: Vec<&MethodRow> = method_rows
        .iter()
        .filter(|r| r.dataset == group.dataset && r.model == group.model)
        .collect();
    for row in &rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            escape(&row.method),
            // Spaced so that a table cell of every resolved parameter wraps.
            escape(&row.method_params.replace(';', "; ")),
            row.n,
            mean_std_text(row.top1_last_mean, row.top1_last_std, 2),
            mean_std_text(row.top1_best_mean, row.top1_best_std, 2),
            mean_std_text(row.top1_median_last10_mean, row.top1_median_last10_std, 2),
            mean_std_text(row.top5_last_mean, row.top5_last_std, 2),
            mean_std_text(row.epoch_time_mean, row.epoch_time_std, 3),
        );
    }
    let joined = |f: fn(&MethodRow) -> &str| {
        let mut seen: Vec<&str> = Vec::new();
        for value in rows
            .iter()
            .flat_map(|r| f(r).split(';'))
            .filter(|v| !v.is_empty())
        {
            if !seen.contains(&value) {
                seen.push(value);
            }
        }
        escape(&seen.join("; "))
    };
    let devices = joined(|r| &r.devices);
    let _ = writeln!(
        out,
        "\nDevice: {devices}. Code: {}. libtorch: {}.{}\n",
        joined(|r| &r.code_versions),
        joined(|r| &r.libtorch),
        if devices.contains("; ") {
            " Devices differ between rows: see `devices` in methods.csv."
        } else {
            ""
        },
    );
    for kind in KINDS {
        let png = plot_file(kind, stem, "png");
        let svg = plot_file(kind, stem, "svg");
        let _ = writeln!(
            out,
            "![{kind}: {stem}]({PLOTS_DIR}/{png})  \n[{kind} as SVG]({PLOTS_DIR}/{svg})\n"
        );
    }
}

/// Devices, code versions and libtorch over all cells of the run.
fn provenance(out: &mut String, rows: &[SummaryRow]) {
    let all: Vec<&SummaryRow> = rows.iter().collect();
    let list = |f: fn(&SummaryRow) -> &String| {
        let values = aggregate::distinct(&all, f, "`, `");
        if values.is_empty() {
            "unknown".to_string()
        } else {
            format!("`{values}`")
        }
    };
    let _ = writeln!(
        out,
        "## Provenance\n\n- Devices: {}\n- Code versions: {}\n- libtorch: {}\n\nEach cell's device, code \
         version and configuration hash are in `{SUMMARY_CSV}`, each method row's in `{METHODS_CSV}`.\n",
        list(|r| &r.device),
        list(|r| &r.code_version),
        list(|r| &r.libtorch),
    );
}

/// The failed and incomplete cells with their errors.
fn problems(out: &mut String, rows: &[SummaryRow]) {
    out.push_str("## Failed and incomplete cells\n\n");
    let unfinished: Vec<&SummaryRow> = rows.iter().filter(|r| !r.is_done()).collect();
    if unfinished.is_empty() {
        out.push_str("None: every cell finished.\n\n");
        return;
    }
    out.push_str("These cells are left out of the tables and plots above.\n\n");
    out.push_str("| cell | status | epochs recorded | error |\n|---|---|---:|---|\n");
    for row in unfinished {
        let error = match row.error.as_str() {
            "" if row.status == "incomplete" => {
                "no `done` or `failed` marker: running or interrupted"
            }
            e => e,
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            escape(&row.cell),
            row.status,
            row.epochs_done,
            escape(error)
        );
    }
    out.push('\n');
}

/// `mean ± std` with `decimals` decimals; only the mean for n = 1, `-` without a value.
pub(crate) fn mean_std_text(mean: Option<f64>, std: Option<f64>, decimals: usize) -> String {
    match (mean, std) {
        (Some(m), Some(s)) => format!("{m:.decimals$} ± {s:.decimals$}"),
        (Some(m), None) => format!("{m:.decimals$}"),
        (None, _) => "-".to_string(),
    }
}

/// Makes text safe inside a Markdown table cell: no pipes, no line breaks.
fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_std_formats() {
        assert_eq!(
            mean_std_text(Some(72.0), Some(2f64.sqrt()), 2),
            "72.00 ± 1.41"
        );
        assert_eq!(mean_std_text(Some(72.0), None, 2), "72.00");
        assert_eq!(mean_std_text(None, None, 2), "-");
    }

    #[test]
    fn escape_removes_pipes_and_newlines() {
        assert_eq!(escape("a|b\nc"), "a\\|b c");
    }
}
