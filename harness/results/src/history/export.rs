//! `history export`: series as CSV (one row per point) or JSON (one object per series).

use anyhow::Result;
use serde::Serialize;

use super::series::Series;
use crate::records::csv_bytes;

/// Output format of `history export`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One row per (series, run): `metric, dataset, model, method, condition, run, run_date,
    /// commit, n, mean`.
    Csv,
    /// An array of series, each with its key and its `points` (`run, run_date, commit, n,
    /// mean`).
    Json,
}

/// A CSV row: a point with its series' key.
#[derive(Serialize)]
struct Row<'a> {
    metric: &'a str,
    dataset: &'a str,
    model: &'a str,
    method: &'a str,
    condition: &'a str,
    run: &'a str,
    run_date: &'a str,
    commit: &'a str,
    n: i64,
    mean: f64,
}

/// `series` in `format`, ending with a newline.
pub fn render(series: &[Series], format: Format) -> Result<String> {
    match format {
        Format::Csv => {
            let rows = series.iter().flat_map(|s| {
                s.points.iter().map(move |p| Row {
                    metric: &s.metric,
                    dataset: &s.dataset,
                    model: &s.model,
                    method: &s.method,
                    condition: &s.condition,
                    run: &p.run,
                    run_date: &p.run_date,
                    commit: &p.commit,
                    n: p.n,
                    mean: p.mean,
                })
            });
            Ok(String::from_utf8(csv_bytes(rows)?)?)
        }
        Format::Json => Ok(serde_json::to_string_pretty(series)? + "\n"),
    }
}
