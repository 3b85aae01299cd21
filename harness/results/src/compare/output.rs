//! What a comparison shows: the table on the terminal (verdict first, worst first),
//! `compare.csv` (every row with all its evidence) and `compare.md`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use super::comparison::Comparison;
use super::decide::Verdict;
use super::row::Row;
use super::thresholds::Thresholds;
use crate::claims::verdict::fmt_p;
use crate::records;

/// File name of the rows, in the output folder.
pub const COMPARE_CSV: &str = "compare.csv";
/// File name of the Markdown report, in the output folder.
pub const COMPARE_MD: &str = "compare.md";

/// Every verdict, worst first (the order of the tables and the counts).
const VERDICTS: [Verdict; 6] = [
    Verdict::Regressed,
    Verdict::Changed,
    Verdict::Missing,
    Verdict::Improved,
    Verdict::New,
    Verdict::Unchanged,
];

/// `2 regressed, 0 changed, ...`: how many rows got each verdict.
pub fn counts_line(rows: &[Row]) -> String {
    VERDICTS
        .iter()
        .map(|v| {
            let n = rows.iter().filter(|r| r.verdict == *v).count();
            format!("{n} {}", v.name())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rows, worst verdict first (then in catalogue order).
fn worst_first(rows: &[Row]) -> Vec<&Row> {
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by_key(|r| r.verdict);
    sorted
}

/// The terminal table: one line per row, verdict first, worst first, then the counts.
pub fn terminal_lines(rows: &[Row]) -> Vec<String> {
    let width = rows.iter().map(|r| r.metric.len()).max().unwrap_or(0);
    let mut lines: Vec<String> = worst_first(rows)
        .into_iter()
        .map(|r| {
            format!(
                "{:<9}  {:<width$}  {}: {}",
                r.verdict.name(),
                r.metric,
                r.group(),
                r.detail
            )
        })
        .collect();
    lines.push(counts_line(rows));
    lines
}

/// Writes `compare.csv`.
pub fn write_csv(path: &Path, rows: &[Row]) -> Result<()> {
    let bytes = records::csv_bytes(rows).context("serialising compare.csv")?;
    records::write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))
}

fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"))
}

/// The thresholds in one paragraph.
fn thresholds_text(t: &Thresholds) -> String {
    let mut text = format!(
        "alpha {}; accuracy: minimum effect {} points; times: {}% and {} s; a side with one value: {} x the threshold, no test; a changed bit-exact metric {}.",
        t.alpha,
        t.accuracy.min_effect,
        100.0 * t.time.relative,
        t.time.min_seconds,
        t.one_value_factor,
        if t.bit_exact.fails {
            "counts as a regression"
        } else {
            "is reported only"
        }
    );
    for (name, o) in &t.metrics {
        let set: Vec<String> = [
            ("alpha", o.alpha),
            ("min_effect", o.min_effect),
            ("relative", o.relative),
            ("min_seconds", o.min_seconds),
        ]
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k} {v}")))
        .collect();
        let _ = write!(text, " `{name}`: {}.", set.join(", "));
    }
    text
}

/// A Markdown table of `rows`.
fn table(rows: &[&Row]) -> String {
    let mut md = String::from(
        "| verdict | metric | group | baseline | run | change | test | p | n | evidence |\n\
         |---|---|---|---:|---:|---:|---|---:|---:|---|\n",
    );
    for r in rows {
        let change = match (r.change, r.delta) {
            (Some(c), _) => format!("{:+.1}%", 100.0 * c),
            (None, Some(d)) => format!("{d:+.4}"),
            _ => "-".to_string(),
        };
        let _ = writeln!(
            md,
            "| **{}** | {} | {} | {} | {} | {change} | {} | {} | {}/{} | {} |",
            r.verdict.name(),
            r.metric,
            r.group(),
            number(r.baseline_mean),
            number(r.run_mean),
            r.test,
            r.p.map_or_else(|| "-".to_string(), fmt_p),
            r.n_baseline,
            r.n_run,
            r.detail.replace('|', "\\|")
        );
    }
    md
}

/// `compare.md`: the folders, the thresholds, the counts, the rows that are not unchanged,
/// then every row.
pub fn markdown(c: &Comparison) -> String {
    let mut md = format!(
        "# Comparison\n\nBaseline `{}`, run `{}` (suite {}).\n\nThresholds: {}\n\n**{}.** Exit status {}.\n\n",
        c.baseline.display(),
        c.run.display(),
        c.suites.join(", "),
        thresholds_text(&c.thresholds),
        counts_line(&c.rows),
        c.exit_code()
    );
    let notable: Vec<&Row> = worst_first(&c.rows)
        .into_iter()
        .filter(|r| r.verdict != Verdict::Unchanged)
        .collect();
    md.push_str("## Regressions, changes and improvements\n\n");
    if notable.is_empty() {
        md.push_str("None: every metric is unchanged.\n\n");
    } else {
        md.push_str(&table(&notable));
        md.push('\n');
    }
    md.push_str("## Every comparison\n\n");
    md.push_str(&table(&c.rows.iter().collect::<Vec<_>>()));
    md
}
