//! The `mixbench history` subcommands: their arguments and what each prints.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;

use super::export::{self, Format};
use super::store::{self, RunDate, RunEntry, RunFilter};
use super::{page, run_folder, schema, series, step_report};

/// `mixbench history ...`.
#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Store a run folder (its provenance, every cell of summary.csv and the values of the
    /// evaluations' files) in the history database, in one transaction. A run name already
    /// stored is refused.
    Add {
        /// Run folder (the one holding summary.csv).
        run_dir: PathBuf,
        /// History database (SQLite), created when missing.
        #[arg(long, value_name = "FILE")]
        db: PathBuf,
        /// Name to store the run under (default: the run folder's name).
        #[arg(long)]
        name: Option<String>,
        /// When the run ran, UTC (`YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`; default: when its last
        /// cell finished, from the `done` markers' times).
        #[arg(long)]
        date: Option<String>,
    },
    /// List the stored runs, oldest first.
    List {
        /// History database.
        #[arg(long, value_name = "FILE")]
        db: PathBuf,
        /// Only runs of this suite.
        #[arg(long)]
        suite: Option<String>,
        /// Only runs on or after this date (UTC, `YYYY-MM-DD[ HH:MM:SS]`).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
    },
    /// Print a metric's series: per dataset, model, method and condition, one row per run in
    /// date order with the mean over seeds.
    Export {
        /// History database.
        #[arg(long, value_name = "FILE")]
        db: PathBuf,
        /// Metric (e.g. top1_last, robustness_top1, fewshot_accuracy, runtime_ratio).
        #[arg(long)]
        metric: String,
        /// Only this method's series.
        #[arg(long)]
        method: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
    },
    /// Write the history as one self-contained HTML page: the detected steps first, then a
    /// trend chart per metric and (dataset, model, condition) with the steps marked.
    Html {
        /// History database.
        #[arg(long, value_name = "FILE")]
        db: PathBuf,
        /// The page to write (e.g. history.html).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Only these metrics (repeat; default: every stored metric but interval bounds).
        #[arg(long)]
        metric: Vec<String>,
    },
    /// Find the steps of each series: the runs where a metric moved to a new level and stayed.
    Steps {
        /// History database.
        #[arg(long, value_name = "FILE")]
        db: PathBuf,
        /// Only this metric (default: every stored metric but interval bounds).
        #[arg(long)]
        metric: Option<String>,
    },
}

/// Runs a `history` subcommand, printing its result on stdout (notes on stderr).
pub fn run(command: &HistoryCommand) -> Result<()> {
    match command {
        HistoryCommand::Add {
            run_dir,
            db,
            name,
            date,
        } => {
            let folder = run_folder::read(run_dir, name.as_deref())?;
            let date = match date {
                Some(text) => RunDate::Given(text.clone()),
                None => RunDate::Unix(folder.finished_unix),
            };
            let mut conn = schema::open_or_create(db)?;
            let source = std::path::absolute(run_dir)?;
            let added = store::add(&mut conn, db, &folder, &date, &source)?;
            println!(
                "stored run `{}` (run date {}, {} cells, {} values) in {}",
                added.name,
                added.run_date,
                added.cells,
                added.values,
                db.display()
            );
        }
        HistoryCommand::List { db, suite, since } => {
            let conn = schema::open_existing(db)?;
            let filter = RunFilter {
                suite: suite.clone(),
                since: since.clone(),
            };
            print!("{}", table(&store::list(&conn, db, &filter)?));
        }
        HistoryCommand::Export {
            db,
            metric,
            method,
            format,
        } => {
            let conn = schema::open_existing(db)?;
            let found = series::series(&conn, db, metric, method.as_deref())?;
            print!("{}", export::render(&found, *format)?);
        }
        HistoryCommand::Html { db, out, metric } => {
            let conn = schema::open_existing(db)?;
            let metrics = match metric.is_empty() {
                true => series::tracked_metric_names(&conn, db)?,
                false => metric.clone(),
            };
            let found = metrics
                .iter()
                .map(|m| Ok((m.clone(), series::series(&conn, db, m, None)?)))
                .collect::<Result<Vec<_>>>()?;
            let name = db.file_name().unwrap_or_default().to_string_lossy();
            crate::records::write_atomic(out, page::history_page(&name, &found).as_bytes())?;
            println!("{}", out.display());
        }
        HistoryCommand::Steps { db, metric } => {
            let conn = schema::open_existing(db)?;
            let metrics = match metric {
                Some(m) => vec![m.clone()],
                None => series::tracked_metric_names(&conn, db)?,
            };
            let (mut count, mut steps) = (0, 0);
            for m in &metrics {
                let found = series::series(&conn, db, m, None)?;
                count += found.len();
                for step in step_report::find_steps(&found) {
                    println!("{}", step.line());
                    steps += 1;
                }
            }
            eprintln!(
                "{steps} step(s) in {count} series of {} metric(s)",
                metrics.len()
            );
        }
    }
    Ok(())
}

/// The runs as an aligned text table with a header.
fn table(runs: &[RunEntry]) -> String {
    let header = [
        "run",
        "run_date",
        "suite",
        "code_version",
        "libtorch",
        "device",
        "cells",
        "values",
        "added",
        "source",
    ];
    let rows: Vec<[String; 10]> = runs
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.run_date.clone(),
                r.suite.clone(),
                r.code_version.clone(),
                r.libtorch.clone(),
                r.device.clone(),
                format!("{}/{} done", r.done, r.cells),
                r.values.to_string(),
                r.added.clone(),
                r.source.clone(),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |fields: &[&str]| {
        let padded: Vec<String> = fields
            .iter()
            .zip(&widths)
            .map(|(f, w)| format!("{f:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(&header);
    for r in &rows {
        out.push_str(&line(&r.each_ref().map(String::as_str)));
    }
    out
}
