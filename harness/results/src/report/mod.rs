//! Reports of a run, rebuilt from the cells' files alone (`cell.json`, `metrics.csv`, `done`,
//! `failed`; see [`crate::records`]). Raw per-run numbers are kept next to the aggregates, and
//! every aggregate and plot is derived from them, so a report can be rebuilt at any time (also
//! while a grid is still running) and always tells which cells a number came from.
//!
//! Files written under the run directory, each atomically:
//!
//! | file | content |
//! |------|---------|
//! | `summary.csv` | one row per cell folder, finished or not (columns: see [`SUMMARY_CSV`]) |
//! | `methods.csv` | per (dataset, model, method): mean and std over the seeds of done cells (see [`METHODS_CSV`]) |
//! | `plots/<kind>-<dataset>-<model>.{png,svg}` | `accuracy`, `final` and `epoch-time` plots per (dataset, model) |
//! | `report.md` | the human-readable summary, linking the plots |
//! | evaluation files and plots | when cells have evaluation results, each [`SectionSource`] passed in (the evaluations, see [`crate::evaluations`]) writes its run-level files and plots and adds a section to `report.md` |
//!
//! One file per job: `cells` reads cell folders, `summary` makes one row per cell,
//! `aggregate` groups done cells and computes the per-method rows, `plot_data` turns them
//! into series, `charts` draws series on any plotters backend, `plots` writes the image
//! files, `markdown` renders `report.md`. Shared with the evaluations' sections: `stats` (the
//! small statistics helpers), `order` (method order), `eval_charts` (their charts),
//! `image_grid` (PNG grids of the images an evaluation tested). `values` names a run's numbers
//! in long format for the comparisons and the history.
//!
//! This module sits below the evaluations: it never names one. Their sections come in through
//! [`SectionSource`].

mod aggregate;
mod cells;
pub(crate) mod charts;
pub mod eval_charts;
pub mod html;
pub mod image_grid;
mod markdown;
pub mod order;
mod plot_data;
mod plots;
pub mod stats;
mod summary;
#[cfg(test)]
mod tests;
pub mod values;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::records;

pub use aggregate::METHODS_CSV;
pub(crate) use markdown::mean_std_text;
pub use markdown::REPORT_MD;
pub use plots::PLOTS_DIR;
pub(crate) use plots::{ensure_font, sanitise};
pub use summary::{
    read_summary, summary_file, SummaryRow, METRICS as SUMMARY_METRICS, SUMMARY_CSV,
};

/// A section of `report.md` contributed by a part of mixbench above the report (an
/// evaluation), with the plots it wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    /// Markdown appended to `report.md`, starting with its `## ` heading.
    pub markdown: String,
    /// Plots written for it (PNG and SVG), under the run's `plots/`.
    pub plots: Vec<PathBuf>,
    /// A section of verdicts (claims): `report.html` shows it first.
    pub verdicts: bool,
}

/// Something that adds a section to a run's report: reads the run's cell folders, writes its
/// own run-level files and plots, and returns its section (`None` when it has nothing to
/// show).
pub trait SectionSource: Send + Sync {
    /// The section for the run in `run_dir`.
    fn section(&self, run_dir: &Path) -> Result<Option<Section>>;
}

/// Paths of the files [`build_report`] wrote, so callers can print or open them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportFiles {
    /// `RUN_DIR/summary.csv`: one row per cell.
    pub summary_csv: PathBuf,
    /// `RUN_DIR/methods.csv`: one row per (dataset, model, method) over seeds.
    pub methods_csv: PathBuf,
    /// `RUN_DIR/report.md`: tables, provenance, failures and plot links.
    pub report_md: PathBuf,
    /// `RUN_DIR/report.html`: the same as one self-contained page, verdicts first.
    pub report_html: PathBuf,
    /// Every plot written, PNG and SVG, under `RUN_DIR/plots/`, in group order.
    pub plots: Vec<PathBuf>,
    /// Cells whose files are unreadable or inconsistent, as `(cell, problem)`: counted as
    /// failed in the report, never as done; callers warn about them.
    pub corrupt: Vec<(String, String)>,
}

/// Lock file under a run directory held while its report is built.
pub const REPORT_LOCK: &str = ".report.lock";

/// Rebuilds every derived file of a run from the cells' files alone.
///
/// Reads `RUN_DIR/cells/*/`, then writes `summary.csv`, `methods.csv`, the plots and
/// `report.md` (in that order, each atomically), and removes plots of an earlier build whose
/// (dataset, model) group no longer exists. Cells that failed, or whose files cannot be read,
/// are reported in `summary.csv` and `report.md` instead of aborting the report; only I/O errors
/// on the run directory itself (no `cells/` folder, unwritable outputs) are errors. Each of
/// `sections` then adds its files and section, in order. The result depends only on the
/// cells' files: building twice gives identical files.
///
/// Builds of one run directory are serialised through the lock file `RUN_DIR/.report.lock`:
/// two `run` processes finishing together (`run --jobs` started twice, say) rebuild the report
/// one after the other instead of racing on the same plot and table files.
pub fn build_report(run_dir: &Path, sections: &[&dyn SectionSource]) -> Result<ReportFiles> {
    // A missing run folder is reported by `load_cells`, naming the run.
    let _lock = run_dir
        .is_dir()
        .then(|| records::lock_exclusive(&run_dir.join(REPORT_LOCK)))
        .transpose()?;
    let cells = cells::load_cells(run_dir)?;
    let name = run_name(run_dir);
    let rows = summary::summarise(&name, &cells);
    let summary_csv = run_dir.join(SUMMARY_CSV);
    write_file(&summary_csv, &summary::to_csv(&rows)?)?;

    let groups = aggregate::group_done(&rows);
    let method_rows = aggregate::method_rows(&groups, &rows);
    let methods_csv = run_dir.join(METHODS_CSV);
    write_file(&methods_csv, &aggregate::to_csv(&method_rows)?)?;

    let stems = plots::plot_stems(&groups);
    let mut plots = plots::write_plots(run_dir, &groups, &stems, &cells, &rows)?;

    let report_md = run_dir.join(REPORT_MD);
    let main = markdown::render(&markdown::ReportInput {
        run_dir,
        rows: &rows,
        groups: &groups,
        method_rows: &method_rows,
        stems: &stems,
    });
    let mut added = Vec::new();
    for source in sections {
        added.extend(source.section(run_dir)?);
    }
    let text: String = std::iter::once(main.as_str())
        .chain(added.iter().map(|s| s.markdown.as_str()))
        .collect();
    write_file(&report_md, text.as_bytes())?;
    plots.extend(added.iter().flat_map(|s| s.plots.iter().cloned()));
    let report_html = run_dir.join(html::REPORT_HTML);
    let page = html::run_page(&name, run_dir, &main, &added, &rows);
    write_file(&report_html, page.as_bytes())?;

    let corrupt = cells
        .iter()
        .filter_map(|c| Some((c.name.clone(), c.corrupt.clone()?)))
        .collect();
    Ok(ReportFiles {
        summary_csv,
        methods_csv,
        report_md,
        report_html,
        plots,
        corrupt,
    })
}

/// The run's name as shown in `summary.csv`: the last component of the run directory (resolved,
/// so that `.` gives the folder's real name).
fn run_name(run_dir: &Path) -> String {
    let resolved = run_dir
        .canonicalize()
        .unwrap_or_else(|_| run_dir.to_path_buf());
    resolved
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| resolved.display().to_string())
}

/// Writes a derived file atomically, naming it in the error.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    records::write_atomic(path, bytes)
        .with_context(|| format!("writing report file {}", path.display()))
}
