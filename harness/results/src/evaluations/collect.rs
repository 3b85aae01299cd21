//! What every evaluation's report starts from: the cells of a run that finished this
//! evaluation, with their results read back, and the problems (failed evaluations, unreadable
//! files) that the report must show instead of hiding.

use std::fmt::Write;
use std::path::Path;

use anyhow::Result;

use super::kind::EvaluationResults;
use crate::records::{self, CellInfo};

/// The evaluated cells of a run for one evaluation kind.
pub struct Collected<T> {
    /// Cells with a `<name>.done` marker whose files could be read: their `cell.json` and the
    /// results `read` returned.
    pub cells: Vec<(CellInfo, T)>,
    /// One line per cell whose evaluation failed (`<name>.failed`) or whose files cannot be
    /// read.
    pub problems: Vec<String>,
}

/// Reads every cell folder of `run_dir` that finished `kind`, with `read` reading the cell's
/// results; failed evaluations and unreadable cells become problems, never errors.
pub fn collect<T>(
    run_dir: &Path,
    kind: &dyn EvaluationResults,
    read: impl Fn(&Path) -> Result<T>,
) -> Result<Collected<T>> {
    let mut cells = Vec::new();
    let mut problems = Vec::new();
    for dir in records::cell_dirs(run_dir)? {
        if !dir.join(kind.done_file()).exists() {
            if let Ok(err) = std::fs::read_to_string(dir.join(kind.failed_file())) {
                problems.push(format!(
                    "{}: {}",
                    dir.file_name().unwrap_or_default().to_string_lossy(),
                    err.lines().next().unwrap_or("")
                ));
            }
            continue;
        }
        match records::read_cell_info(&dir).and_then(|info| Ok((info, read(&dir)?))) {
            Ok(cell) => cells.push(cell),
            Err(e) => problems.push(format!("{e:#}")),
        }
    }
    Ok(Collected { cells, problems })
}

impl<T> Collected<T> {
    /// True when no cell has results or problems of this kind: the report has no section.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty() && self.problems.is_empty()
    }

    /// The report's list of problems, headed by `title` (empty when there is none).
    pub fn problems_markdown(&self, title: &str) -> String {
        let mut md = String::new();
        if !self.problems.is_empty() {
            let _ = writeln!(md, "{title}:\n");
            for p in &self.problems {
                let _ = writeln!(md, "- {p}");
            }
            md.push('\n');
        }
        md
    }

    /// The cells grouped by (dataset, model), groups sorted, cells in folder order.
    pub fn by_dataset_model(
        &self,
    ) -> std::collections::BTreeMap<(String, String), Vec<&(CellInfo, T)>> {
        let mut groups: std::collections::BTreeMap<(String, String), Vec<&(CellInfo, T)>> =
            Default::default();
        for c in &self.cells {
            groups
                .entry((c.0.dataset.clone(), c.0.model.clone()))
                .or_default()
                .push(c);
        }
        groups
    }
}
