//! The evaluations' numbers in long format: each evaluation turns the run-level files its
//! report wrote into [`MetricRow`]s ([`super::Evaluation::values`]) with [`read_file`], and
//! [`super::read_values`] gathers those of every registered evaluation. `mixbench compare` judges these rows and `mixbench history`
//! stores them, so both name a metric and its condition alike.
//!
//! Files are read one row at a time by column name ([`Line`]), with errors naming the file,
//! the row and the column; an empty field is no value (a bound that could not be computed),
//! a non-finite number is an error.

use std::path::Path;

use anyhow::{bail, Context, Result};
use csv::StringRecord;

use crate::report::values::MetricRow;

/// One value of a CSV row: its metric, its condition and the column holding it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    /// Metric name.
    pub metric: String,
    /// Condition (empty when the metric has one value per cell).
    pub condition: String,
    /// Column holding the number.
    pub column: &'static str,
}

impl Value {
    /// The value of `metric` in `column`, without a condition.
    pub fn new(metric: impl Into<String>, column: &'static str) -> Self {
        Value {
            metric: metric.into(),
            condition: String::new(),
            column,
        }
    }

    /// The same value under `condition`.
    pub fn under(mut self, condition: String) -> Self {
        self.condition = condition;
        self
    }
}

/// Whose numbers the rows of a file are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows<'a> {
    /// A cell's: the row has `cell` and `seed` columns.
    PerCell,
    /// A cell's, in a file without `dataset` and `model` columns (the few-shot episodes):
    /// those come from this map of cell -> (dataset, model), and rows of cells it lacks are
    /// left out.
    OfCells(&'a std::collections::BTreeMap<String, (String, String)>),
    /// A method's as a whole (the runtime ratio): no cell, no seed.
    PerMethod,
}

/// One row of a CSV file, its fields found by column name.
pub struct Line<'a> {
    path: &'a Path,
    number: usize,
    headers: &'a StringRecord,
    record: &'a StringRecord,
}

impl Line<'_> {
    /// The field of column `name`; an error naming the file, row and column when it is missing.
    pub fn get(&self, name: &str) -> Result<&str> {
        self.headers
            .iter()
            .position(|h| h == name)
            .and_then(|i| self.record.get(i))
            .with_context(|| {
                format!(
                    "{}: row {}: no `{name}` column",
                    self.path.display(),
                    self.number
                )
            })
    }

    /// The number in column `name`; `None` for an empty field.
    pub fn number(&self, name: &str) -> Result<Option<f64>> {
        let text = self.get(name)?;
        if text.is_empty() {
            return Ok(None);
        }
        text.parse().map(Some).with_context(|| {
            format!(
                "{}: row {}: `{name}` is `{text}`, not a number",
                self.path.display(),
                self.number
            )
        })
    }

    /// The row's cell and seed (`rows` per cell), or neither (per method).
    fn cell_and_seed(&self, rows: Rows<'_>) -> Result<(String, Option<u64>)> {
        if matches!(rows, Rows::PerMethod) {
            return Ok((String::new(), None));
        }
        let seed = self.get("seed")?;
        let seed = seed.parse().with_context(|| {
            format!(
                "{}: row {}: seed `{seed}` is not a whole number",
                self.path.display(),
                self.number
            )
        })?;
        Ok((self.get("cell")?.to_string(), Some(seed)))
    }

    /// The metric rows of `values` in this line; an empty field is no value and is left out,
    /// a non-finite number is an error (mixbench never writes one). The row's cell, seed and
    /// group are checked whether or not it holds a value.
    fn metric_rows(&self, rows: Rows<'_>, values: Vec<Value>) -> Result<Vec<MetricRow>> {
        let (cell, seed) = self.cell_and_seed(rows)?;
        let (dataset, model) = match rows {
            Rows::OfCells(cells) => match cells.get(&cell) {
                Some((dataset, model)) => (dataset.as_str(), model.as_str()),
                None => return Ok(Vec::new()),
            },
            _ => (self.get("dataset")?, self.get("model")?),
        };
        let method = self.get("method")?;
        let mut out = Vec::new();
        for v in values {
            let Some(value) = self.number(v.column)? else {
                continue;
            };
            if !value.is_finite() {
                bail!(
                    "{}: row {}: `{}` is `{value}`, not a finite number",
                    self.path.display(),
                    self.number,
                    v.column
                );
            }
            out.push(MetricRow {
                cell: cell.clone(),
                dataset: dataset.to_string(),
                model: model.to_string(),
                method: method.to_string(),
                seed,
                metric: v.metric,
                condition: v.condition,
                value,
            });
        }
        Ok(out)
    }
}

/// The metric rows of `run_dir/file` (none when the file is absent): `values` says which
/// numbers each line holds, under which metric and condition.
pub fn read_file(
    run_dir: &Path,
    file: &str,
    rows: Rows<'_>,
    values: impl Fn(&Line) -> Result<Vec<Value>>,
) -> Result<Vec<MetricRow>> {
    let path = run_dir.join(file);
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let mut reader =
        csv::Reader::from_path(&path).with_context(|| format!("opening {}", path.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("{}: reading the header", path.display()))?
        .clone();
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: row {}", path.display(), i + 2))?;
        let line = Line {
            path: &path,
            number: i + 2,
            headers: &headers,
            record: &record,
        };
        out.extend(line.metric_rows(rows, values(&line)?)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "cell,dataset,model,method,seed,top1\n";

    fn read(body: &str) -> Result<Vec<MetricRow>> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.csv"), format!("{HEADER}{body}")).unwrap();
        read_file(dir.path(), "x.csv", Rows::PerCell, |_| {
            Ok(vec![Value::new("x_top1", "top1").under("clean".into())])
        })
    }

    /// Each number becomes a row under its metric and condition; an empty field is no value.
    #[test]
    fn numbers_become_rows_and_empty_fields_are_left_out() {
        let rows = read("a,d,m,vanilla,0,81.5\nb,d,m,mixup,1,\n").unwrap();
        assert_eq!(
            rows,
            [MetricRow {
                cell: "a".into(),
                dataset: "d".into(),
                model: "m".into(),
                method: "vanilla".into(),
                seed: Some(0),
                metric: "x_top1".into(),
                condition: "clean".into(),
                value: 81.5,
            }]
        );
        assert!(read("").unwrap().is_empty());
    }

    /// A non-finite number, a bad seed (even on a row without a value) and a field that is not
    /// a number are errors naming the file, the row and the column.
    #[test]
    fn bad_fields_are_errors_naming_file_row_and_column() {
        for (body, says) in [
            (
                "a,d,m,vanilla,0,81\nb,d,m,mixup,1,NaN\n",
                "row 3: `top1` is `NaN`, not a finite number",
            ),
            (
                "a,d,m,vanilla,0,inf\n",
                "row 2: `top1` is `inf`, not a finite number",
            ),
            (
                "a,d,m,vanilla,x,\n",
                "row 2: seed `x` is not a whole number",
            ),
            (
                "a,d,m,vanilla,0,high\n",
                "row 2: `top1` is `high`, not a number",
            ),
        ] {
            let err = format!("{:#}", read(body).unwrap_err());
            assert!(
                err.contains("x.csv") && err.contains(says),
                "{body:?}: {err}"
            );
        }
    }
}
