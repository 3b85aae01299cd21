//! Writing the plot files: for each (dataset, model) group, `accuracy`, `final` and
//! `epoch-time`, each as PNG and SVG, under `RUN_DIR/plots/`.
//!
//! Text is rendered with DejaVu Sans compiled into the binary (the `dejavu` crate) through
//! plotters' pure-Rust `ab_glyph` font path, so no system font library (fontconfig) is needed.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::aggregate::Group;
use super::cells::Cell;
use super::charts::{Chart, FONT};
use super::eval_charts::{write_chart, Drawable};
use super::plot_data;
use super::summary::SummaryRow;

/// Folder under the run directory that holds the plots, `RUN_DIR/plots/`.
///
/// Files are named `<kind>-<dataset>-<model>.{png,svg}` with `kind` one of `accuracy` (test
/// top-1 per epoch), `final` (last-epoch top-1 per method) and `epoch-time` (seconds per epoch
/// by phase); names are reduced to the characters `[A-Za-z0-9._-]`.
pub const PLOTS_DIR: &str = "plots";

/// The plot kinds, in the order they are written and linked.
pub(crate) const KINDS: [&str; 3] = ["accuracy", "final", "epoch-time"];

/// Replaces every character outside `[A-Za-z0-9._-]` with `_`, for use in file names.
pub(crate) fn sanitise(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// File-name stem `<dataset>-<model>` of each group, sanitised; a stem that collides with an
/// earlier one after sanitising gets a `-2`, `-3`, ... suffix.
pub(crate) fn plot_stems(groups: &[Group]) -> Vec<String> {
    let mut stems: Vec<String> = Vec::new();
    for group in groups {
        let base = sanitise(&format!("{}-{}", group.dataset, group.model));
        let mut stem = base.clone();
        let mut k = 2;
        while stems.contains(&stem) {
            stem = format!("{base}-{k}");
            k += 1;
        }
        stems.push(stem);
    }
    stems
}

/// File name of one plot, relative to [`PLOTS_DIR`].
pub(crate) fn plot_file(kind: &str, stem: &str, ext: &str) -> String {
    format!("{}.{ext}", plot_name(kind, stem))
}

/// Name of one plot without its extension: `<kind>-<stem>`.
fn plot_name(kind: &str, stem: &str) -> String {
    format!("{kind}-{stem}")
}

/// Writes all plots of all groups; returns their paths (PNG then SVG, kind by kind, group by
/// group). Plots of groups that no longer exist are removed.
pub(crate) fn write_plots(
    run_dir: &Path,
    groups: &[Group],
    stems: &[String],
    cells: &[Cell],
    rows: &[SummaryRow],
) -> Result<Vec<PathBuf>> {
    let dir = run_dir.join(PLOTS_DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    ensure_font()?;
    let mut written = Vec::new();
    for (group, stem) in groups.iter().zip(stems) {
        let name = format!("{} / {}", group.dataset, group.model);
        let curves = plot_data::accuracy_curves(group, cells);
        let finals = plot_data::final_points(group, rows);
        let bars = plot_data::phase_bars(group, cells);
        let charts = [
            (
                Chart::Accuracy(&curves),
                format!("Test top-1 per epoch, {name} (mean over seeds, band: min-max)"),
            ),
            (
                Chart::Final(&finals),
                format!("Final test top-1 (last epoch), {name}: seeds, mean ± 1 std"),
            ),
            (
                Chart::EpochTime(&bars),
                format!("Mean wall time per epoch by phase, {name}"),
            ),
        ];
        for (kind, (chart, title)) in KINDS.iter().zip(charts) {
            written.extend(write_chart(&dir, &plot_name(kind, stem), &chart, &title)?);
        }
    }
    remove_stale(&dir, &written)?;
    Ok(written)
}

impl Drawable for Chart<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, title: &str) -> Result<()> {
        Chart::draw(self, area, title)
    }
}

/// Removes plot files of an earlier build (named like ours) that this build did not write,
/// so the folder matches `report.md`. Other files are left alone.
fn remove_stale(dir: &Path, written: &[PathBuf]) -> Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if is_plot_name(&path) && !written.contains(&path) {
            std::fs::remove_file(&path)
                .with_context(|| format!("removing stale plot {}", path.display()))?;
        }
    }
    Ok(())
}

/// Whether a file name looks like one of ours: `<kind>-<stem>.png` or `.svg`, or the hidden
/// temporary PNG an interrupted build left behind.
fn is_plot_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let leftover = name.starts_with('.') && name.ends_with(".partial.png");
    let ours = KINDS
        .iter()
        .any(|kind| name.starts_with(&format!("{kind}-")));
    leftover || (ours && (name.ends_with(".png") || name.ends_with(".svg")))
}

/// Registers DejaVu Sans as [`FONT`] with plotters, once per process.
pub(crate) fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = REGISTERED.get_or_init(|| {
        let fonts = [
            (FontStyle::Normal, dejavu::sans::regular()),
            (FontStyle::Bold, dejavu::sans::bold()),
        ];
        for (style, bytes) in fonts {
            plotters::style::register_font(FONT, style, bytes)
                .map_err(|_| format!("registering the DejaVu Sans font ({})", style.as_str()))?;
        }
        Ok(())
    });
    result.clone().map_err(|e| anyhow!(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitise_keeps_only_safe_characters() {
        assert_eq!(sanitise("CIFAR-100/wrn 28.10_x"), "CIFAR-100_wrn_28.10_x");
    }

    #[test]
    fn stems_are_unique_after_sanitising() {
        let group = |d: &str, m: &str| Group {
            dataset: d.into(),
            model: m.into(),
            methods: vec![],
        };
        let stems = plot_stems(&[group("a/b", "m"), group("a_b", "m"), group("c", "m")]);
        assert_eq!(stems, ["a_b-m", "a_b-m-2", "c-m"]);
    }
}
