//! Run-level occlusion outputs, rebuilt from the cells' `occlusion.csv` files by `mixbench
//! report` (and after every run):
//!
//! | file | content |
//! |---|---|
//! | `occlusion.csv` | one row per (cell, mode, fraction): `cell, dataset, model, method, seed, mode, fraction, area, top1, images, seconds` (the clean row: mode `clean`, fraction 0) |
//! | `occlusion-cells.csv` | one row per (cell, mode): `cell, dataset, model, method, seed, mode, clean_top1, auc, max_fraction` |
//! | `occlusion-methods.csv` | per (dataset, model, method, mode, fraction): `n` cells, mean and sample std of `top1` over seeds, mean and sample std of the mode's `auc` (the same on every row of the mode, empty on the clean row), `cells` |
//! | `plots/occlusion-<mode>-<dataset>-<model>.{png,svg}` | top-1 against the occluded fraction, one line per method (mean over seeds), the clean accuracy at 0 |
//!
//! The area (`auc`) is [`super::rows::auc`]: the trapezoid rule under top-1 against the
//! fraction from 0 (clean) to the largest fraction, divided by that fraction.

use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::rows::{auc, clean_top1, curve, modes, read_cell_csv, OcclusionRow, CLEAN};
use crate::evaluations::collect::collect;
use crate::evaluations::kind::EvaluationResults;
use crate::evaluations::values::{read_file, Rows, Value};
use crate::metrics::{MetricDecl, MetricKind};
use crate::records::{self, csv_bytes, CellInfo};
use crate::report::eval_charts::{write_chart, EvalChart, Line};
use crate::report::order::method_order;
use crate::report::stats::mean_std;
use crate::report::values::MetricRow;
use crate::report::{mean_std_text, Section, PLOTS_DIR};

/// The occlusion evaluation's metrics (its part of the catalogue, [`crate::metrics`]).
pub const METRICS: &[MetricDecl] = &[
    MetricDecl::new(
        "occlusion_top1",
        "%",
        MetricKind::Accuracy,
        "test top-1 with a fraction of each image occluded (occlusion.csv)",
    )
    .under("clean, random:<fraction>, salient:<fraction>"),
    MetricDecl::new(
        "occlusion_auc",
        "%",
        MetricKind::Accuracy,
        "area under top-1 against the occluded fraction, 0 to the largest, divided by it \
         (occlusion-cells.csv)",
    )
    .under("random, salient"),
];

/// Run-level file with every cell's rows.
pub const RUN_CSV: &str = "occlusion.csv";
/// Run-level file with one row per (cell, mode).
pub const CELLS_CSV: &str = "occlusion-cells.csv";
/// Run-level file with one row per (method, mode, fraction).
pub const METHODS_CSV: &str = "occlusion-methods.csv";

/// The occlusion numbers of a run's files, in long format: `occlusion_top1` per cell under
/// the condition `clean` or `<mode>:<fraction>` (`random:0.1`, `salient:0.5`; the fraction as
/// Rust prints the number), from [`RUN_CSV`], and `occlusion_auc` per cell under the
/// condition `<mode>`, from [`CELLS_CSV`].
pub fn values(run_dir: &Path) -> Result<Vec<MetricRow>> {
    let mut rows = read_file(run_dir, RUN_CSV, Rows::PerCell, |line| {
        let mode = line.get("mode")?;
        let condition = match (mode, line.number("fraction")?) {
            (CLEAN, _) => mode.to_string(),
            (_, Some(fraction)) => format!("{mode}:{fraction}"),
            (_, None) => format!("{mode}:"),
        };
        Ok(vec![Value::new("occlusion_top1", "top1").under(condition)])
    })?;
    rows.extend(read_file(run_dir, CELLS_CSV, Rows::PerCell, |line| {
        let mode = line.get("mode")?.to_string();
        Ok(vec![Value::new("occlusion_auc", "auc").under(mode)])
    })?);
    Ok(rows)
}

/// A row of `occlusion.csv`.
#[derive(Serialize)]
struct RunRow<'a> {
    cell: &'a str,
    dataset: &'a str,
    model: &'a str,
    method: &'a str,
    seed: u64,
    mode: &'a str,
    fraction: f64,
    area: f64,
    top1: f64,
    images: usize,
    seconds: f64,
}

/// A row of `occlusion-cells.csv`.
#[derive(Serialize)]
struct CellRow<'a> {
    cell: &'a str,
    dataset: &'a str,
    model: &'a str,
    method: &'a str,
    seed: u64,
    mode: &'a str,
    clean_top1: Option<f64>,
    auc: Option<f64>,
    max_fraction: Option<f64>,
}

/// A row of `occlusion-methods.csv`.
#[derive(Serialize)]
struct MethodRow<'a> {
    dataset: &'a str,
    model: &'a str,
    method: String,
    mode: &'a str,
    fraction: f64,
    n: usize,
    top1_mean: f64,
    top1_std: Option<f64>,
    auc_mean: Option<f64>,
    auc_std: Option<f64>,
    cells: String,
}

/// The top-1 of a cell's row of `mode` at `fraction`.
fn top1_at(rows: &[OcclusionRow], mode: &str, fraction: f64) -> Option<f64> {
    rows.iter()
        .find(|r| r.mode == mode && r.fraction == fraction)
        .map(|r| r.top1)
}

/// Mean and sample std of the values present, `None` when none is.
fn stats(values: impl Iterator<Item = Option<f64>>) -> Option<(f64, Option<f64>)> {
    let present: Vec<f64> = values.flatten().collect();
    (!present.is_empty()).then(|| mean_std(&present))
}

/// Writes the run-level occlusion files and plots; returns the `report.md` section and the
/// plots written, or `None` when no cell has occlusion results.
pub fn build(run_dir: &Path, kind: &dyn EvaluationResults) -> Result<Option<Section>> {
    let collected = collect(run_dir, kind, read_cell_csv)?;
    if collected.is_empty() {
        return Ok(None);
    }
    let run_rows = collected.cells.iter().flat_map(|(info, rows)| {
        rows.iter().map(move |r| RunRow {
            cell: &info.cell,
            dataset: &info.dataset,
            model: &info.model,
            method: &info.method,
            seed: info.seed,
            mode: &r.mode,
            fraction: r.fraction,
            area: r.area,
            top1: r.top1,
            images: r.images,
            seconds: r.seconds,
        })
    });
    records::write_atomic(&run_dir.join(RUN_CSV), &csv_bytes(run_rows)?)?;
    let cell_rows = collected.cells.iter().flat_map(|(info, rows)| {
        modes(rows).into_iter().map(move |mode| CellRow {
            cell: &info.cell,
            dataset: &info.dataset,
            model: &info.model,
            method: &info.method,
            seed: info.seed,
            mode,
            clean_top1: clean_top1(rows),
            auc: auc(rows, mode),
            max_fraction: curve(rows, mode).and_then(|c| c.last().map(|p| p.0)),
        })
    });
    records::write_atomic(&run_dir.join(CELLS_CSV), &csv_bytes(cell_rows)?)?;

    let mut md = String::from("## Occlusion\n\n");
    let _ = writeln!(
        md,
        "Top-1 (%) of each trained cell on its test split with a growing fraction of every \
         image occluded, mean ± std over seeds: `random` occludes cells of a grid of \
         patch-sized squares drawn per image from the seed (the same for every method), \
         `salient` the one square of that area where the model's own input-gradient saliency \
         of the true label is largest (definitions in `docs/occlusion.md`). **AUC**: area \
         under top-1 against the fraction, trapezoid rule from 0 (clean) to the largest \
         fraction, divided by it (the mean top-1 over the range). Raw numbers: `{RUN_CSV}`, \
         `{CELLS_CSV}`, `{METHODS_CSV}`.\n"
    );
    let mut method_rows: Vec<MethodRow> = Vec::new();
    let mut plots = Vec::new();
    let plot_dir = run_dir.join(PLOTS_DIR);
    let groups = collected.by_dataset_model();
    for ((dataset, model), members) in &groups {
        let order = method_order(members.iter().map(|c| c.0.method.as_str()));
        // Modes in first-appearance order, each with its fractions in increasing order.
        let mut group_modes: Vec<&str> = Vec::new();
        for c in members {
            for mode in modes(&c.1) {
                if !group_modes.contains(&mode) {
                    group_modes.push(mode);
                }
            }
        }
        let columns: Vec<(&str, Vec<f64>)> = group_modes
            .iter()
            .map(|&mode| {
                let mut fractions: Vec<f64> = Vec::new();
                for r in members.iter().flat_map(|c| c.1.iter()) {
                    if r.mode == mode && !fractions.contains(&r.fraction) {
                        fractions.push(r.fraction);
                    }
                }
                fractions.sort_by(f64::total_cmp);
                (mode, fractions)
            })
            .collect();
        let _ = writeln!(md, "### {dataset} / {model}\n");
        let header: Vec<String> = columns
            .iter()
            .flat_map(|(mode, fractions)| {
                fractions
                    .iter()
                    .map(move |f| format!("{mode} {f}"))
                    .chain(std::iter::once(format!("{mode} AUC")))
            })
            .collect();
        let _ = writeln!(
            md,
            "| method | n | clean | {} |\n|---|---:|---:|{}",
            header.join(" | "),
            "---:|".repeat(header.len())
        );
        let mut lines: Vec<Vec<Line>> = vec![Vec::new(); columns.len()];
        for method in &order {
            let of: Vec<&&(CellInfo, Vec<OcclusionRow>)> =
                members.iter().filter(|c| &c.0.method == method).collect();
            let names = || {
                of.iter()
                    .map(|c| c.0.cell.as_str())
                    .collect::<Vec<_>>()
                    .join(";")
            };
            let clean = stats(of.iter().map(|c| clean_top1(&c.1)));
            let mut cells_md = Vec::new();
            if let Some((mean, std)) = clean {
                method_rows.push(MethodRow {
                    dataset,
                    model,
                    method: method.clone(),
                    mode: CLEAN,
                    fraction: 0.0,
                    n: of.iter().filter(|c| clean_top1(&c.1).is_some()).count(),
                    top1_mean: mean,
                    top1_std: std,
                    auc_mean: None,
                    auc_std: None,
                    cells: names(),
                });
            }
            for ((mode, fractions), lines) in columns.iter().zip(&mut lines) {
                let area = stats(of.iter().map(|c| auc(&c.1, mode)));
                let mut points: Vec<(f64, f64)> = clean.map(|c| (0.0, c.0)).into_iter().collect();
                for &f in fractions {
                    let at = stats(of.iter().map(|c| top1_at(&c.1, mode, f)));
                    cells_md.push(mean_std_text(at.map(|s| s.0), at.and_then(|s| s.1), 2));
                    if let Some((mean, std)) = at {
                        points.push((f, mean));
                        method_rows.push(MethodRow {
                            dataset,
                            model,
                            method: method.clone(),
                            mode,
                            fraction: f,
                            n: of
                                .iter()
                                .filter(|c| top1_at(&c.1, mode, f).is_some())
                                .count(),
                            top1_mean: mean,
                            top1_std: std,
                            auc_mean: area.map(|a| a.0),
                            auc_std: area.and_then(|a| a.1),
                            cells: names(),
                        });
                    }
                }
                cells_md.push(mean_std_text(area.map(|s| s.0), area.and_then(|s| s.1), 2));
                if points.len() > 1 {
                    lines.push(Line {
                        label: method.clone(),
                        points,
                    });
                }
            }
            let _ = writeln!(
                md,
                "| {method} | {} | {} | {} |",
                of.len(),
                mean_std_text(clean.map(|s| s.0), clean.and_then(|s| s.1), 2),
                cells_md.join(" | ")
            );
        }
        md.push('\n');
        let stem = crate::report::sanitise(&format!("{dataset}-{model}"));
        for ((mode, _), lines) in columns.iter().zip(&lines) {
            let name = format!("occlusion-{}-{stem}", crate::report::sanitise(mode));
            plots.extend(write_chart(
                &plot_dir,
                &name,
                &EvalChart::Lines {
                    lines,
                    axes: ("occluded fraction of the image area", "top-1 (%)"),
                },
                &format!(
                    "Top-1 under {mode} occlusion, {dataset} / {model} (mean over seeds; 0: clean)"
                ),
            )?);
            let _ = writeln!(md, "![occlusion {mode}]({PLOTS_DIR}/{name}.png)\n");
        }
    }
    records::write_atomic(&run_dir.join(METHODS_CSV), &csv_bytes(&method_rows)?)?;
    md.push_str(
        &collected.problems_markdown("Occlusion evaluations that failed or cannot be read"),
    );
    Ok(Some(Section {
        markdown: md,
        plots,
        verdicts: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluations::occlusion::rows::write_cell_csv;
    use crate::evaluations::occlusion::OcclusionResults;
    use crate::report::SectionSource;

    /// A finished cell folder `toy-small_cnn-<method>-s<seed>` with an occlusion curve:
    /// clean `clean`, random 0.25 / 0.5 at `random`, salient 0.5 at `salient`.
    fn write_cell(run: &Path, method: &str, seed: u64, clean: f64, random: [f64; 2], salient: f64) {
        let cell = format!("toy-small_cnn-{method}-s{seed}");
        let dir = run.join(records::CELLS_DIR).join(&cell);
        std::fs::create_dir_all(&dir).unwrap();
        let info = CellInfo {
            cell,
            suite: "occ".into(),
            dataset: "toy".into(),
            model: "small_cnn".into(),
            method: method.into(),
            method_name: method.into(),
            method_params: Default::default(),
            seed,
            epochs: 1,
            config_hash: format!("hash{seed}"),
            code_version: "0.1.0+test".into(),
            device: "cpu (1 threads)".into(),
            libtorch: "2.11.0".into(),
            parameters: 10,
            train_images: 10,
            test_images: 10,
        };
        std::fs::write(
            dir.join(records::CELL_INFO),
            serde_json::to_string(&info).unwrap(),
        )
        .unwrap();
        let row = |mode: &str, fraction: f64, top1: f64| OcclusionRow {
            mode: mode.into(),
            fraction,
            area: fraction,
            top1,
            images: 40,
            seconds: 0.5,
        };
        let rows = [
            row(CLEAN, 0.0, clean),
            row("random", 0.25, random[0]),
            row("random", 0.5, random[1]),
            row("salient", 0.5, salient),
        ];
        write_cell_csv(&dir, &rows).unwrap();
        std::fs::write(dir.join(OcclusionResults.done_file()), "hash").unwrap();
    }

    /// Every run-level file, value and chart from three hand-made cells; each expected number
    /// is computed by hand from the curves written above.
    #[test]
    fn run_level_files_values_and_section_follow_from_the_cells() {
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path();
        // vanilla s0: random AUC = (0.25 (80 + 60) / 2 + 0.25 (60 + 40) / 2) / 0.5 = 60,
        //             salient AUC = (80 + 20) / 2 = 50.
        write_cell(run, "vanilla", 0, 80.0, [60.0, 40.0], 20.0);
        // vanilla s1: random AUC = (0.25 (90 + 70) / 2 + 0.25 (70 + 50) / 2) / 0.5 = 70.
        write_cell(run, "vanilla", 1, 90.0, [70.0, 50.0], 30.0);
        write_cell(run, "cutmix", 0, 85.0, [85.0, 85.0], 85.0);
        let section = OcclusionResults.section(run).unwrap().unwrap();

        let cells = std::fs::read_to_string(run.join(CELLS_CSV)).unwrap();
        assert!(
            cells.starts_with("cell,dataset,model,method,seed,mode,clean_top1,auc,max_fraction\n"),
            "{cells}"
        );
        assert!(
            cells.contains("toy-small_cnn-vanilla-s0,toy,small_cnn,vanilla,0,random,80.0,60.0,0.5")
        );
        assert!(cells
            .contains("toy-small_cnn-vanilla-s1,toy,small_cnn,vanilla,1,salient,90.0,60.0,0.5"));
        assert_eq!(cells.lines().count(), 1 + 3 * 2);

        // Vanilla over its two seeds: random 0.5 top-1 mean 45, std sqrt(((40-45)^2 +
        // (50-45)^2) / 1) = 7.07..; random AUC mean 65, std 7.07...
        let methods = std::fs::read_to_string(run.join(METHODS_CSV)).unwrap();
        let line = methods
            .lines()
            .find(|l| l.starts_with("toy,small_cnn,vanilla,random,0.5,"))
            .unwrap();
        let fields: Vec<&str> = line.split(',').collect();
        let sqrt50 = 50f64.sqrt();
        assert_eq!(fields[5], "2");
        assert_eq!(fields[6].parse::<f64>().unwrap(), 45.0);
        assert!((fields[7].parse::<f64>().unwrap() - sqrt50).abs() < 1e-9);
        assert_eq!(fields[8].parse::<f64>().unwrap(), 65.0);
        assert!((fields[9].parse::<f64>().unwrap() - sqrt50).abs() < 1e-9);
        assert_eq!(
            fields[10],
            "toy-small_cnn-vanilla-s0;toy-small_cnn-vanilla-s1"
        );
        // The clean row has no area; one seed has no std.
        assert!(methods.contains("toy,small_cnn,vanilla,clean,0.0,2,85.0,"));
        assert!(methods.contains("toy,small_cnn,cutmix,salient,0.5,1,85.0,,85.0,,"));
        // clean + 2 random + 1 salient, per method.
        assert_eq!(methods.lines().count(), 1 + 2 * 4);

        let values = values(run).unwrap();
        let find = |metric: &str, condition: &str, cell: &str| {
            values
                .iter()
                .find(|v| v.metric == metric && v.condition == condition && v.cell == cell)
                .map(|v| v.value)
        };
        assert_eq!(
            find("occlusion_top1", "clean", "toy-small_cnn-vanilla-s1"),
            Some(90.0)
        );
        assert_eq!(
            find("occlusion_top1", "random:0.25", "toy-small_cnn-vanilla-s0"),
            Some(60.0)
        );
        assert_eq!(
            find("occlusion_top1", "salient:0.5", "toy-small_cnn-cutmix-s0"),
            Some(85.0)
        );
        assert_eq!(
            find("occlusion_auc", "random", "toy-small_cnn-vanilla-s1"),
            Some(70.0)
        );
        assert_eq!(
            find("occlusion_auc", "salient", "toy-small_cnn-vanilla-s0"),
            Some(50.0)
        );
        assert_eq!(values.len(), 3 * 4 + 3 * 2);
        crate::metrics::check_declared(&values, "occlusion", METRICS, "run").unwrap();

        let md = &section.markdown;
        assert!(md.starts_with("## Occlusion\n"), "{md}");
        assert!(
            md.contains("| method | n | clean | random 0.25 | random 0.5 | random AUC | salient 0.5 | salient AUC |"),
            "{md}"
        );
        assert!(
            md.contains("| vanilla | 2 | 85.00 ± 7.07 | 65.00 ± 7.07 | 45.00 ± 7.07 | 65.00 ± 7.07 | 25.00 ± 7.07 | 55.00 ± 7.07 |"),
            "{md}"
        );
        for mode in ["random", "salient"] {
            for ext in ["png", "svg"] {
                let plot = run.join(format!("plots/occlusion-{mode}-toy-small_cnn.{ext}"));
                assert!(plot.is_file(), "{}", plot.display());
                assert!(section.plots.contains(&plot));
            }
        }
    }
}
