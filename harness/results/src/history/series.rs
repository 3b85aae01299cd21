//! A metric's series: per (dataset, model, method, condition), one point per stored run in
//! date order, the mean of the run's values (over seeds) with their count.

use std::path::Path;

use anyhow::{bail, Context, Result};
use rusqlite::{params, Connection};
use serde::Serialize;

use crate::evaluations::runtime::report::RATIO_BOUNDS;

/// One run's point of a series.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    /// Run name.
    pub run: String,
    /// Run date (UTC).
    pub run_date: String,
    /// The run's commit(s).
    pub commit: String,
    /// Values averaged (seeds; 1 for a per-method value).
    pub n: i64,
    /// Their mean.
    pub mean: f64,
}

/// The series of one metric for one (dataset, model, method, condition).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Series {
    /// Metric name.
    pub metric: String,
    /// Dataset label.
    pub dataset: String,
    /// Model name.
    pub model: String,
    /// Method label.
    pub method: String,
    /// Condition (empty when the metric has one value per cell).
    pub condition: String,
    /// One point per run that has the metric, oldest first.
    pub points: Vec<Point>,
}

impl Series {
    /// `dataset/model/method`, with `[condition]` when there is one.
    pub fn label(&self) -> String {
        let mut label = format!("{}/{}/{}", self.dataset, self.model, self.method);
        if !self.condition.is_empty() {
            label.push_str(&format!(" [{}]", self.condition));
        }
        label
    }
}

/// The metric names stored, sorted.
pub fn metric_names(conn: &Connection, db: &Path) -> Result<Vec<String>> {
    conn.prepare("SELECT DISTINCT metric FROM metrics ORDER BY metric")
        .and_then(|mut q| q.query_map([], |row| row.get(0))?.collect())
        .with_context(|| format!("{}: listing metrics", db.display()))
}

/// The stored metrics that are series of their own, sorted: all but the bounds of an interval
/// (those of the runtime ratio), which move with the value they bound. What `history steps`
/// and `history html` look at when no metric is named.
pub fn tracked_metric_names(conn: &Connection, db: &Path) -> Result<Vec<String>> {
    let mut names = metric_names(conn, db)?;
    names.retain(|name| !RATIO_BOUNDS.contains(&name.as_str()));
    Ok(names)
}

/// The series of `metric` (of one method when `method` is given), sorted by dataset, model,
/// method and condition; an error naming the stored metrics (or the method) when there is
/// none.
pub fn series(
    conn: &Connection,
    db: &Path,
    metric: &str,
    method: Option<&str>,
) -> Result<Vec<Series>> {
    let mut query = conn
        .prepare(
            "SELECT m.dataset, m.model, m.method, m.condition, r.name, r.run_date, \
             r.commit_hash, count(*), avg(m.value) \
             FROM metrics m JOIN runs r ON r.id = m.run_id \
             WHERE m.metric = ?1 AND (?2 IS NULL OR m.method = ?2) \
             GROUP BY m.dataset, m.model, m.method, m.condition, r.id \
             ORDER BY m.dataset, m.model, m.method, m.condition, r.run_date, r.id",
        )
        .with_context(|| format!("{}: reading metric `{metric}`", db.display()))?;
    let rows = query
        .query_map(params![metric, method], |row| {
            let key: [String; 4] = [row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?];
            let point = Point {
                run: row.get(4)?,
                run_date: row.get(5)?,
                commit: row.get(6)?,
                n: row.get(7)?,
                mean: row.get(8)?,
            };
            Ok((key, point))
        })
        .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
        .with_context(|| format!("{}: reading metric `{metric}`", db.display()))?;
    let mut out: Vec<Series> = Vec::new();
    for ([dataset, model, method, condition], point) in rows {
        match out.last_mut() {
            Some(s)
                if (&s.dataset, &s.model, &s.method, &s.condition)
                    == (&dataset, &model, &method, &condition) =>
            {
                s.points.push(point)
            }
            _ => out.push(Series {
                metric: metric.to_string(),
                dataset,
                model,
                method,
                condition,
                points: vec![point],
            }),
        }
    }
    if out.is_empty() {
        let names = metric_names(conn, db)?;
        match method {
            Some(m) if names.iter().any(|n| n == metric) => bail!(
                "{}: no values of metric `{metric}` for method `{m}`",
                db.display()
            ),
            _ => bail!(
                "{}: no values of metric `{metric}`; stored metrics: {}",
                db.display(),
                names.join(", ")
            ),
        }
    }
    Ok(out)
}
