//! Storing a run (`history add`, one transaction) and listing the stored runs (`history
//! list`).

use std::path::Path;

use anyhow::{bail, Context, Result};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::run_folder::RunFolder;

/// When a run happened, as `history add` is told or finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunDate {
    /// Seconds since 1970 (UTC): when the run's last cell finished.
    Unix(i64),
    /// A date as given on the command line: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]` (UTC) or
    /// anything else SQLite's `datetime()` reads.
    Given(String),
}

/// What [`add`] stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Added {
    /// Name the run is stored under.
    pub name: String,
    /// Its run date, `YYYY-MM-DD HH:MM:SS` (UTC).
    pub run_date: String,
    /// Cells stored.
    pub cells: usize,
    /// Metric rows stored.
    pub values: usize,
}

/// A stored run, as `history list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunEntry {
    /// Name.
    pub name: String,
    /// When it ran (UTC).
    pub run_date: String,
    /// When it was stored (UTC).
    pub added: String,
    /// Suite name(s).
    pub suite: String,
    /// mixbench version(s) and commit(s).
    pub code_version: String,
    /// libtorch version(s).
    pub libtorch: String,
    /// Device(s).
    pub device: String,
    /// Cells stored.
    pub cells: i64,
    /// Cells of them that finished.
    pub done: i64,
    /// Metric rows stored.
    pub values: i64,
    /// The run folder it was read from.
    pub source: String,
}

/// Which runs `history list` shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Only runs of this suite.
    pub suite: Option<String>,
    /// Only runs on or after this date (as [`RunDate::Given`] reads it).
    pub since: Option<String>,
}

/// Stores `run` (read from the folder `source`) in the database `db` in one transaction: the
/// run, its cells and its values appear together or not at all. A run whose name is already
/// stored is refused.
pub fn add(
    conn: &mut Connection,
    db: &Path,
    run: &RunFolder,
    date: &RunDate,
    source: &Path,
) -> Result<Added> {
    let p = &run.provenance;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .with_context(|| format!("{}: waiting for the write lock", db.display()))?;
    let existing: Option<String> = tx
        .query_row("SELECT added FROM runs WHERE name = ?1", [&p.name], |row| {
            row.get(0)
        })
        .optional()
        .with_context(|| format!("{}: looking up run `{}`", db.display(), p.name))?;
    if let Some(added) = existing {
        bail!(
            "{}: a run named `{}` is already stored (added {added} UTC); a run is stored once: \
             pass --name to store this folder ({}) under another name",
            db.display(),
            p.name,
            source.display()
        );
    }
    let run_date = match date {
        RunDate::Unix(seconds) => sql_date(&tx, "datetime(?1, 'unixepoch')", seconds)?
            .with_context(|| format!("{seconds} s since 1970: outside SQLite's dates"))?,
        RunDate::Given(text) => sql_date(&tx, "datetime(?1)", text)?.with_context(|| {
            format!("--date `{text}`: not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)")
        })?,
    };
    let context = || format!("{}: storing run `{}`", db.display(), p.name);
    tx.execute(
        "INSERT INTO runs (name, suite, code_version, commit_hash, libtorch, device, run_date, \
         added, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, datetime('now'), ?8)",
        params![
            p.name,
            p.suite,
            p.code_version,
            p.commit,
            p.libtorch,
            p.device,
            run_date,
            source.display().to_string()
        ],
    )
    .with_context(context)?;
    let run_id = tx.last_insert_rowid();
    {
        let mut cell = tx
            .prepare(
                "INSERT INTO cells (run_id, cell, status, suite, dataset, model, method, \
                 method_params, seed, epochs_done, config_hash, code_version, device, libtorch, \
                 parameters, error) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )
            .with_context(context)?;
        for c in &run.cells {
            cell.execute(params![
                run_id,
                c.cell,
                c.status,
                c.suite,
                c.dataset,
                c.model,
                c.method,
                c.method_params,
                c.seed.map(i64::try_from).transpose()?,
                i64::try_from(c.epochs_done)?,
                c.config_hash,
                c.code_version,
                c.device,
                c.libtorch,
                c.parameters,
                c.error
            ])
            .with_context(|| format!("{}: cell {}", context(), c.cell))?;
        }
        let mut metric = tx
            .prepare(
                "INSERT INTO metrics (run_id, cell, dataset, model, method, seed, metric, \
                 condition, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .with_context(context)?;
        for m in &run.metrics {
            metric
                .execute(params![
                    run_id,
                    m.cell,
                    m.dataset,
                    m.model,
                    m.method,
                    m.seed.map(i64::try_from).transpose()?,
                    m.metric,
                    m.condition,
                    m.value
                ])
                .with_context(|| format!("{}: {} of {}", context(), m.metric, m.cell))?;
        }
    }
    tx.commit().with_context(context)?;
    Ok(Added {
        name: p.name.clone(),
        run_date,
        cells: run.cells.len(),
        values: run.metrics.len(),
    })
}

/// The stored runs that pass `filter`, oldest first (by run date, then by when they were
/// stored).
pub fn list(conn: &Connection, db: &Path, filter: &RunFilter) -> Result<Vec<RunEntry>> {
    let since = match &filter.since {
        Some(text) => Some(sql_date(conn, "datetime(?1)", text)?.with_context(|| {
            format!("--since `{text}`: not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)")
        })?),
        None => None,
    };
    let mut query = conn
        .prepare(
            "SELECT r.name, r.run_date, r.added, r.suite, r.code_version, r.libtorch, \
             r.device, r.source, \
             (SELECT count(*) FROM cells c WHERE c.run_id = r.id), \
             (SELECT count(*) FROM cells c WHERE c.run_id = r.id AND c.status = 'done'), \
             (SELECT count(*) FROM metrics m WHERE m.run_id = r.id) \
             FROM runs r \
             WHERE (?1 IS NULL OR r.suite = ?1) AND (?2 IS NULL OR r.run_date >= ?2) \
             ORDER BY r.run_date, r.id",
        )
        .with_context(|| format!("{}: listing runs", db.display()))?;
    let rows = query
        .query_map(params![filter.suite, since], |row| {
            Ok(RunEntry {
                name: row.get(0)?,
                run_date: row.get(1)?,
                added: row.get(2)?,
                suite: row.get(3)?,
                code_version: row.get(4)?,
                libtorch: row.get(5)?,
                device: row.get(6)?,
                source: row.get(7)?,
                cells: row.get(8)?,
                done: row.get(9)?,
                values: row.get(10)?,
            })
        })
        .and_then(Iterator::collect)
        .with_context(|| format!("{}: listing runs", db.display()))?;
    Ok(rows)
}

/// SQLite's reading of a date: `function` (with `?1`) applied to `value`, `YYYY-MM-DD
/// HH:MM:SS` in UTC; `None` when SQLite cannot read it.
fn sql_date(
    conn: &Connection,
    function: &str,
    value: impl rusqlite::ToSql,
) -> Result<Option<String>> {
    conn.query_row(&format!("SELECT {function}"), [value], |row| row.get(0))
        .with_context(|| format!("reading a date with SQLite's {function}"))
}
