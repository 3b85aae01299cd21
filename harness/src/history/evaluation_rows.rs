//! The evaluations' run-level files as long-format metric rows, for the files a run has:
//!
//! | file | metric | condition | value |
//! |---|---|---|---|
//! | `robustness.csv` | `robustness_top1` | `clean`, or `<corruption>:<level>` (`noise:0.1`, `fgsm:8`, `fog:3`) | top-1 |
//! | `robustness-cells.csv` | `robust_top1` | | the average robust accuracy |
//! | `fewshot.csv` | `fewshot_accuracy` | `<N>way-<K>shot` | mean episode accuracy |
//! | `background.csv` | `background_top1` | the variant (`original`, `mixed_rand`, ...) | top-1 |
//! | `background-cells.csv` | `bg_gap` | | Mixed-Same − Mixed-Rand |
//! | `runtime.csv` | `runtime_seconds` | the phase (`data`, ..., `train`, `epoch`) | median seconds per epoch |
//! | `runtime-methods.csv` | `runtime_ratio` | | epoch time over Vanilla's, per method (no cell, no seed) |

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use csv::StringRecord;

use super::metric_row::MetricRow;
use crate::evaluations::{background, fewshot, robustness, runtime};

/// How one run-level file becomes metric rows.
struct Source {
    /// File name in the run folder.
    file: &'static str,
    /// Metric name of its values.
    metric: &'static str,
    /// Column holding the value (an empty field is no value).
    value: &'static str,
    /// The condition of a row.
    condition: fn(&Line) -> Result<String>,
    /// Whether rows name a cell (`cell`, `seed` columns) or a method as a whole.
    per_cell: bool,
}

const SOURCES: [Source; 7] = [
    Source {
        file: robustness::report::RUN_CSV,
        metric: "robustness_top1",
        value: "top1",
        condition: |line| {
            let corruption = line.get("corruption")?;
            // The level as Rust prints the number: `fgsm:8` whether the file says 8 or 8.0.
            Ok(match (corruption, line.number("level")?) {
                ("clean", _) => corruption.to_string(),
                (_, Some(level)) => format!("{corruption}:{level}"),
                (_, None) => format!("{corruption}:"),
            })
        },
        per_cell: true,
    },
    Source {
        file: robustness::report::CELLS_CSV,
        metric: "robust_top1",
        value: "robust_top1",
        condition: no_condition,
        per_cell: true,
    },
    Source {
        file: fewshot::report::RUN_CSV,
        metric: "fewshot_accuracy",
        value: "mean",
        condition: |line| {
            Ok(format!(
                "{}way-{}shot",
                line.get("ways")?,
                line.get("shots")?
            ))
        },
        per_cell: true,
    },
    Source {
        file: background::report::RUN_CSV,
        metric: "background_top1",
        value: "top1",
        condition: |line| Ok(line.get("variant")?.to_string()),
        per_cell: true,
    },
    Source {
        file: background::report::CELLS_CSV,
        metric: "bg_gap",
        value: "bg_gap",
        condition: no_condition,
        per_cell: true,
    },
    Source {
        file: runtime::report::RUN_CSV,
        metric: "runtime_seconds",
        value: "median",
        condition: |line| Ok(line.get("phase")?.to_string()),
        per_cell: true,
    },
    Source {
        file: runtime::report::METHODS_CSV,
        metric: "runtime_ratio",
        value: "ratio",
        condition: no_condition,
        per_cell: false,
    },
];

fn no_condition(_: &Line) -> Result<String> {
    Ok(String::new())
}

/// One row of a CSV file, its fields found by column name.
struct Line<'a> {
    path: &'a Path,
    number: usize,
    headers: &'a StringRecord,
    record: &'a StringRecord,
}

impl Line<'_> {
    /// The field of column `name`; an error naming the file, row and column when it is missing.
    fn get(&self, name: &str) -> Result<&str> {
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
    fn number(&self, name: &str) -> Result<Option<f64>> {
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

    /// The metric row of this line for `source`, `None` without a (finite) value.
    fn metric_row(&self, source: &Source) -> Result<Option<MetricRow>> {
        let Some(value) = self.number(source.value)?.filter(|v| v.is_finite()) else {
            return Ok(None);
        };
        let (cell, seed) = if source.per_cell {
            let seed = self.get("seed")?;
            let seed = seed.parse().with_context(|| {
                format!(
                    "{}: row {}: seed `{seed}` is not a whole number",
                    self.path.display(),
                    self.number
                )
            })?;
            (self.get("cell")?.to_string(), Some(seed))
        } else {
            (String::new(), None)
        };
        Ok(Some(MetricRow {
            cell,
            dataset: self.get("dataset")?.to_string(),
            model: self.get("model")?.to_string(),
            method: self.get("method")?.to_string(),
            seed,
            metric: source.metric.to_string(),
            condition: (source.condition)(self)?,
            value,
        }))
    }
}

/// The metric rows of every evaluation file in `run_dir` (see the module documentation);
/// empty and non-finite values are left out.
pub fn read(run_dir: &Path) -> Result<Vec<MetricRow>> {
    let mut rows = Vec::new();
    for source in &SOURCES {
        let path: PathBuf = run_dir.join(source.file);
        if !path.is_file() {
            continue;
        }
        let mut reader =
            csv::Reader::from_path(&path).with_context(|| format!("opening {}", path.display()))?;
        let headers = reader
            .headers()
            .with_context(|| format!("{}: reading the header", path.display()))?
            .clone();
        for (i, record) in reader.records().enumerate() {
            let record = record.with_context(|| format!("{}: row {}", path.display(), i + 2))?;
            let line = Line {
                path: &path,
                number: i + 2,
                headers: &headers,
                record: &record,
            };
            rows.extend(line.metric_row(source)?);
        }
    }
    Ok(rows)
}
