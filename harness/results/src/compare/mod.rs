//! Regression reports: `mixbench compare BASELINE RUN [--thresholds FILE] [--out DIR]`.
//!
//! Compares a run folder with a baseline (another run folder, or a saved copy of one's files,
//! see [`baseline`]) metric by metric and group by group (data set, model, method, and the
//! evaluation condition where there is one), and gives each a verdict: **regressed**,
//! **improved** or **unchanged** with its evidence (means, change, test, p-value, n per side);
//! **changed** for a bit-exact metric of a deterministic CPU cell that differs ([`exact`]);
//! **missing** or **new** for what only one side has.
//!
//! One file per job: [`metric`] names the metrics and how each is judged, [`load`] reads a
//! folder's values (the long-format rows the history stores too) into [`series`] (with
//! [`cell_files`] for the per-cell files), [`thresholds`] parses the thresholds file, [`decide`] holds the tests (on
//! [`crate::claims::stats`]), [`exact`] the bit-exact check, [`row`] builds the rows of
//! `compare.csv`, [`comparison`] puts it together and [`output`] writes the table, `compare.csv`
//! and `compare.md`.
//!
//! It reads only the files a run's report leaves (and the cells' `metrics.csv` and
//! `runtime.csv`), so it sits above the evaluations and the claims (whose statistics it uses)
//! and below the command line.

pub mod baseline;
pub mod cell_files;
pub mod comparison;
pub mod decide;
pub mod exact;
pub mod load;
pub mod metric;
pub mod output;
pub mod row;
pub mod series;
pub mod thresholds;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::report::html::Page;

pub use comparison::{compare, Comparison};
pub use decide::Verdict;
pub use output::{COMPARE_CSV, COMPARE_MD};
pub use thresholds::Thresholds;

/// Folder under the run where the comparison's files go by default.
pub const DEFAULT_OUT_DIR: &str = "compare";

/// Writes `compare.csv`, `compare.md` and `compare.html` (the Markdown as one self-contained
/// page, its verdict table first) into `out` (created if needed); returns their paths.
pub fn write(c: &Comparison, out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let csv = out.join(COMPARE_CSV);
    output::write_csv(&csv, &c.rows)?;
    let text = output::markdown(c);
    let md = out.join(COMPARE_MD);
    crate::records::write_atomic(&md, text.as_bytes())
        .with_context(|| format!("writing {}", md.display()))?;
    let mut page = Page::new("mixbench compare");
    page.markdown(&text, out);
    let html = out.join(COMPARE_HTML);
    crate::records::write_atomic(&html, page.finish().as_bytes())
        .with_context(|| format!("writing {}", html.display()))?;
    Ok(vec![csv, md, html])
}

/// File name of the comparison's page, in the output folder.
pub const COMPARE_HTML: &str = "compare.html";

#[cfg(test)]
mod tests;
