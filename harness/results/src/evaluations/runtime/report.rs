//! Run-level runtime outputs, rebuilt from the cells' `runtime.csv` and `runtime.json` by
//! `mixbench report` (and after every run):
//!
//! | file | content |
//! |---|---|
//! | `runtime.csv` | one row per (cell, phase): `cell, dataset, model, method, seed, device, threads, batch_size, phase, n, median, q1, q3, iqr, min, max`, seconds per epoch over the timed repetitions |
//! | `runtime-methods.csv` | per (dataset, model, method): cells, pooled repetitions, epoch seconds (median, quartiles), `ratio` to Vanilla's epoch with its bootstrap 95% interval `ratio_lo`, `ratio_hi`, the median of each phase, images per second, peak memory, and the phase adding the most time over Vanilla's (`main_extra_phase`, `main_extra_seconds`) |
//! | `runtime-reference.csv` | per Vanilla cell with the PyTorch eager reference: milliseconds per training step of both, `speedup` = PyTorch's time / mixbench's (above 1: mixbench faster) with its bootstrap 95% interval, images per second of both, versions and threads |
//! | `plots/runtime-phases-<dataset>-<model>.{png,svg}` | median seconds per epoch of each method, stacked by phase |
//! | `plots/runtime-ratio-<dataset>-<model>.{png,svg}` | epoch time relative to Vanilla per method, with bootstrap 95% intervals |

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::rows::{phase_seconds, read_cell, PhaseRow, RuntimeInfo, PHASES, TOTALS};
use crate::evaluations::collect::collect;
use crate::evaluations::kind::EvaluationResults;
use crate::evaluations::values::{read_file, Rows, Value};
use crate::metrics::{MetricDecl, MetricKind};
use crate::records::{self, csv_bytes, CellInfo};
use crate::report::eval_charts::{write_chart, EvalChart};
use crate::report::order::method_order;
use crate::report::stats::{bootstrap_ratio_of_medians, median, min_max, quartiles};
use crate::report::values::MetricRow;
use crate::report::{Section, PLOTS_DIR};

/// Run-level file with every cell's phase statistics.
pub const RUN_CSV: &str = "runtime.csv";
/// Run-level file with one row per method.
pub const METHODS_CSV: &str = "runtime-methods.csv";
/// Run-level file comparing mixbench's Vanilla step with PyTorch eager.
pub const REFERENCE_CSV: &str = "runtime-reference.csv";

/// Metric of each method's epoch time over Vanilla's (one value per method).
pub const RATIO: &str = "runtime_ratio";
/// Metric of the lower bound of [`RATIO`]'s bootstrap 95% interval.
pub const RATIO_LO: &str = "runtime_ratio_lo";
/// Metric of the upper bound of [`RATIO`]'s bootstrap 95% interval.
pub const RATIO_HI: &str = "runtime_ratio_hi";
/// The bounds of [`RATIO`]'s interval: stored beside it so the interval can be exported and
/// judged with it by `mixbench compare`, but not series of their own in `mixbench history
/// steps` and `html`.
pub const RATIO_BOUNDS: [&str; 2] = [RATIO_LO, RATIO_HI];

/// The runtime evaluation's metrics (its part of the catalogue, [`crate::metrics`]): one
/// `runtime_<phase>` per phase and total of a cell's `runtime.csv`, and the ratio to Vanilla.
pub const METRICS: &[MetricDecl] = &[
    phase("runtime_data"),
    phase("runtime_saliency"),
    phase("runtime_mix"),
    phase("runtime_forward_backward"),
    phase("runtime_optimizer"),
    phase("runtime_other"),
    phase("runtime_evaluation"),
    phase("runtime_train"),
    phase("runtime_epoch"),
    MetricDecl::new(
        RATIO,
        "x",
        MetricKind::Ratio,
        "median epoch time over Vanilla's, per method (runtime-methods.csv)",
    ),
    MetricDecl::new(
        RATIO_LO,
        "x",
        MetricKind::RatioBound,
        "lower bound of the ratio's bootstrap 95% interval",
    ),
    MetricDecl::new(
        RATIO_HI,
        "x",
        MetricKind::RatioBound,
        "upper bound of the ratio's bootstrap 95% interval",
    ),
];

/// The metric of one phase (or total) of `runtime.csv`.
const fn phase(name: &'static str) -> MetricDecl {
    MetricDecl::new(
        name,
        "s",
        MetricKind::Time,
        "median seconds per epoch in the phase (runtime.csv)",
    )
}

/// The runtime numbers of a run's files, in long format: `runtime_<phase>` per cell (the
/// median seconds per epoch of `data`, ..., `train`, `epoch`) from [`RUN_CSV`], and per method
/// as a whole (no cell, no seed) `runtime_ratio` (epoch time over Vanilla's) with its bootstrap
/// interval `runtime_ratio_lo`, `runtime_ratio_hi` from [`METHODS_CSV`].
pub fn values(run_dir: &Path) -> Result<Vec<MetricRow>> {
    let mut rows = read_file(run_dir, RUN_CSV, Rows::PerCell, |line| {
        let metric = format!("runtime_{}", line.get("phase")?);
        Ok(vec![Value::new(metric, "median")])
    })?;
    rows.extend(read_file(run_dir, METHODS_CSV, Rows::PerMethod, |_| {
        Ok(vec![
            Value::new(RATIO, "ratio"),
            Value::new(RATIO_LO, "ratio_lo"),
            Value::new(RATIO_HI, "ratio_hi"),
        ])
    })?);
    Ok(rows)
}

/// Resamples of every bootstrap interval, and the generator's seed (fixed, so a report
/// rebuilt from the same cells is identical).
const BOOTSTRAP_RESAMPLES: usize = 2000;
const BOOTSTRAP_SEED: u64 = 0;

/// The method whose epoch time is the denominator of the ratios.
use crate::report::order::BASELINE_METHOD as BASELINE;

type Cell = (CellInfo, (Vec<PhaseRow>, RuntimeInfo));

/// A row of `runtime.csv`.
#[derive(Serialize)]
struct RunRow<'a> {
    cell: &'a str,
    dataset: &'a str,
    model: &'a str,
    method: &'a str,
    seed: u64,
    device: &'a str,
    threads: usize,
    batch_size: usize,
    phase: &'a str,
    n: usize,
    median: f64,
    q1: f64,
    q3: f64,
    iqr: f64,
    min: f64,
    max: f64,
}

/// A row of `runtime-methods.csv`.
#[derive(Serialize)]
struct MethodRow {
    dataset: String,
    model: String,
    method: String,
    device: String,
    cells: usize,
    repeats: usize,
    epoch_median: f64,
    epoch_q1: f64,
    epoch_q3: f64,
    ratio: Option<f64>,
    ratio_lo: Option<f64>,
    ratio_hi: Option<f64>,
    data: f64,
    saliency: f64,
    mix: f64,
    forward_backward: f64,
    optimizer: f64,
    other: f64,
    evaluation: f64,
    images_per_second: f64,
    peak_memory_mib: Option<f64>,
    memory_kind: String,
    main_extra_phase: String,
    main_extra_seconds: Option<f64>,
}

/// A row of `runtime-reference.csv`.
#[derive(Serialize)]
struct ReferenceRow {
    cell: String,
    dataset: String,
    model: String,
    device: String,
    batch_size: usize,
    libtorch: String,
    torch: String,
    mixbench_threads: usize,
    pytorch_threads: usize,
    mixbench_step_ms: f64,
    pytorch_step_ms: f64,
    speedup: f64,
    speedup_lo: f64,
    speedup_hi: f64,
    mixbench_images_per_second: f64,
    pytorch_images_per_second: f64,
    mixbench_peak_memory_mib: Option<f64>,
    pytorch_peak_memory_mib: Option<f64>,
}

fn mib(bytes: Option<u64>) -> Option<f64> {
    bytes.map(|b| b as f64 / (1024.0 * 1024.0))
}

/// Writes the run-level runtime files and plots; returns the `report.md` section, or `None`
/// when no cell has runtime results.
pub fn build(run_dir: &Path, kind: &dyn EvaluationResults) -> Result<Option<Section>> {
    let collected = collect(run_dir, kind, read_cell)?;
    if collected.is_empty() {
        return Ok(None);
    }
    write_run_csv(run_dir, &collected.cells)?;

    let mut md = String::from("## Runtime\n\n");
    let _ = writeln!(
        md,
        "Seconds per epoch of each cell's recipe, measured by the `runtime` evaluation: the \
         cell's trainer with its trained weights, untimed warm-up steps, then timed repetitions \
         of training steps and test batches, each phase scaled to a whole epoch (median over \
         repetitions, pooled over seeds; `[q1-q3]` the interquartile range). **ratio**: epoch \
         time relative to Vanilla's, with a bootstrap 95% interval ({BOOTSTRAP_RESAMPLES} \
         resamples of the repetitions). **other**: loop time outside the named phases. Raw \
         numbers: `{RUN_CSV}`, `{METHODS_CSV}`, `{REFERENCE_CSV}`.\n"
    );
    let mut methods = Vec::new();
    let mut plots = Vec::new();
    let plot_dir = run_dir.join(PLOTS_DIR);
    for ((dataset, model), members) in collected.by_dataset_model() {
        let _ = writeln!(md, "### {dataset} / {model}\n");
        let _ = writeln!(md, "{}\n", conditions(&members));
        let order = method_order(members.iter().map(|c| c.0.method.as_str()));
        let pooled = |method: &str, phase: &str| -> Vec<f64> {
            members
                .iter()
                .filter(|c| c.0.method == method)
                .flat_map(|c| phase_seconds(&c.1 .0, phase))
                .collect()
        };
        let baseline = pooled(BASELINE, "epoch");
        let baseline_phases: Vec<Option<f64>> = PHASES
            .iter()
            .map(|p| median(&pooled(BASELINE, p)))
            .collect();
        let _ = writeln!(
            md,
            "| method | cells | epoch (s) | ratio to Vanilla [95% CI] | {} | img/s | peak memory | most added over Vanilla |\n|---|---:|---:|---:|{}---:|---:|---|",
            PHASES.join(" | "),
            "---:|".repeat(PHASES.len())
        );
        let mut stacks = Vec::new();
        let mut ratios = Vec::new();
        for method in &order {
            let of: Vec<&&Cell> = members.iter().filter(|c| &c.0.method == method).collect();
            let epoch = pooled(method, "epoch");
            let Some((q1, mid, q3)) = quartiles(&epoch) else {
                continue;
            };
            let ratio = (!baseline.is_empty())
                .then(|| {
                    bootstrap_ratio_of_medians(
                        &epoch,
                        &baseline,
                        BOOTSTRAP_RESAMPLES,
                        BOOTSTRAP_SEED,
                    )
                })
                .flatten();
            let phase_medians: Vec<f64> = PHASES
                .iter()
                .map(|p| median(&pooled(method, p)).unwrap_or(f64::NAN))
                .collect();
            let images_per_second = median(
                &of.iter()
                    .map(|c| c.1 .1.images_per_second)
                    .collect::<Vec<_>>(),
            )
            .unwrap_or(f64::NAN);
            let peak = of.iter().filter_map(|c| c.1 .1.peak_memory_bytes).max();
            let memory_kind = of
                .iter()
                .find_map(|c| c.1 .1.memory_kind.clone())
                .unwrap_or_default();
            let cause = main_extra_phase(&phase_medians, &baseline_phases);
            let _ = writeln!(
                md,
                "| {method} | {} | {mid:.2} [{q1:.2}-{q3:.2}] | {} | {} | {images_per_second:.0} | {} | {} |",
                of.len(),
                ratio.map_or("-".into(), |(r, lo, hi)| format!("{r:.2} [{lo:.2}-{hi:.2}]")),
                phase_medians
                    .iter()
                    .map(|v| format!("{v:.2}"))
                    .collect::<Vec<_>>()
                    .join(" | "),
                mib(peak).map_or("-".into(), |m| format!("{m:.0} MiB")),
                cause.map_or("-".into(), |(p, extra)| format!("{p} +{extra:.2} s"))
            );
            stacks.push((method.clone(), phase_medians.clone()));
            if let Some((r, lo, hi)) = ratio {
                ratios.push((method.clone(), r, (lo, hi)));
            }
            methods.push(MethodRow {
                dataset: dataset.clone(),
                model: model.clone(),
                method: method.clone(),
                device: of[0].1 .1.device.clone(),
                cells: of.len(),
                repeats: epoch.len(),
                epoch_median: mid,
                epoch_q1: q1,
                epoch_q3: q3,
                ratio: ratio.map(|r| r.0),
                ratio_lo: ratio.map(|r| r.1),
                ratio_hi: ratio.map(|r| r.2),
                data: phase_medians[0],
                saliency: phase_medians[1],
                mix: phase_medians[2],
                forward_backward: phase_medians[3],
                optimizer: phase_medians[4],
                other: phase_medians[5],
                evaluation: phase_medians[6],
                images_per_second,
                peak_memory_mib: mib(peak),
                memory_kind,
                main_extra_phase: cause.map(|c| c.0.to_string()).unwrap_or_default(),
                main_extra_seconds: cause.map(|c| c.1),
            });
        }
        md.push('\n');
        if baseline.is_empty() {
            let _ = writeln!(md, "No Vanilla cell: no ratios.\n");
        }
        let stem = crate::report::sanitise(&format!("{dataset}-{model}"));
        let series: Vec<String> = PHASES.iter().map(|p| p.to_string()).collect();
        let name = format!("runtime-phases-{stem}");
        plots.extend(write_chart(
            &plot_dir,
            &name,
            &EvalChart::StackedBars {
                groups: &stacks,
                series: &series,
                y_axis: "seconds per epoch (median)",
            },
            &format!("Epoch time by phase, {dataset} / {model}"),
        )?);
        let _ = writeln!(md, "![runtime phases]({PLOTS_DIR}/{name}.png)\n");
        if !ratios.is_empty() {
            let name = format!("runtime-ratio-{stem}");
            plots.extend(write_chart(
                &plot_dir,
                &name,
                &EvalChart::Intervals {
                    points: &ratios,
                    reference: Some((1.0, "Vanilla".into())),
                    y_axis: "epoch time / Vanilla's",
                },
                &format!("Epoch time relative to Vanilla, {dataset} / {model} (95% bootstrap CI)"),
            )?);
            let _ = writeln!(md, "![runtime ratio]({PLOTS_DIR}/{name}.png)\n");
        }
    }
    records::write_atomic(&run_dir.join(METHODS_CSV), &csv_bytes(&methods)?)?;
    md.push_str(&reference_section(run_dir, &collected.cells)?);
    md.push_str(&collected.problems_markdown("Runtime evaluations that failed or cannot be read"));
    Ok(Some(Section {
        markdown: md,
        plots,
        verdicts: false,
    }))
}

/// The phase that adds the most time over Vanilla's (median seconds per epoch), with the time
/// it adds: where a method's epoch is slower than Vanilla's, the phase to look at. `None` when
/// there is no Vanilla, or no phase takes longer than Vanilla's.
fn main_extra_phase(phases: &[f64], baseline: &[Option<f64>]) -> Option<(&'static str, f64)> {
    PHASES
        .iter()
        .zip(phases.iter().zip(baseline))
        .filter_map(|(name, (own, base))| Some((*name, own - (*base)?)))
        .filter(|(_, extra)| *extra > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// The line stating what every figure of a group was measured on.
fn conditions(members: &[&Cell]) -> String {
    let distinct = |f: &dyn Fn(&RuntimeInfo) -> String| -> String {
        let values: BTreeSet<String> = members.iter().map(|c| f(&c.1 .1)).collect();
        values.into_iter().collect::<Vec<_>>().join(", ")
    };
    format!(
        "Device {}, libtorch {}, {} threads, batch size {}; {} warm-up steps, {} repetitions of \
         {} steps per cell, scaled to {} steps per epoch; device synchronised at every phase: {}.",
        distinct(&|i| i.device.clone()),
        distinct(&|i| i.libtorch.clone()),
        distinct(&|i| i.threads.to_string()),
        distinct(&|i| i.batch_size.to_string()),
        distinct(&|i| i.warmup_steps.to_string()),
        distinct(&|i| i.repeats.to_string()),
        distinct(&|i| i.steps.to_string()),
        distinct(&|i| i.steps_per_epoch.to_string()),
        distinct(&|i| if i.sync_phases {
            "yes".into()
        } else {
            "no".into()
        }),
    )
}

/// Writes `runtime.csv`.
fn write_run_csv(run_dir: &Path, cells: &[Cell]) -> Result<()> {
    let mut rows = Vec::new();
    for (info, (phases, runtime)) in cells {
        for phase in PHASES.iter().chain(TOTALS.iter()) {
            let values = phase_seconds(phases, phase);
            let (Some((q1, median, q3)), Some((min, max))) = (quartiles(&values), min_max(&values))
            else {
                continue;
            };
            rows.push(RunRow {
                cell: &info.cell,
                dataset: &info.dataset,
                model: &info.model,
                method: &info.method,
                seed: info.seed,
                device: &runtime.device,
                threads: runtime.threads,
                batch_size: runtime.batch_size,
                phase,
                n: values.len(),
                median,
                q1,
                q3,
                iqr: q3 - q1,
                min,
                max,
            });
        }
    }
    records::write_atomic(&run_dir.join(RUN_CSV), &csv_bytes(rows)?)
}

/// `runtime-reference.csv` and its part of the section: mixbench's Vanilla step beside
/// PyTorch eager's, or why the reference is missing.
fn reference_section(run_dir: &Path, cells: &[Cell]) -> Result<String> {
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for (info, (_, runtime)) in cells {
        let Some(reference) = &runtime.reference else {
            continue;
        };
        if let Some(why) = &reference.skipped {
            skipped.push(format!("{}: {why}", info.cell));
            continue;
        }
        let per_step = |seconds: &[f64]| -> Vec<f64> {
            seconds.iter().map(|s| s / runtime.steps as f64).collect()
        };
        let ours = per_step(&runtime.loop_seconds);
        let theirs = per_step(&reference.repeat_seconds);
        let Some((speedup, lo, hi)) =
            bootstrap_ratio_of_medians(&theirs, &ours, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED)
        else {
            continue;
        };
        let (ours_ms, theirs_ms) = (
            median(&ours).unwrap_or(f64::NAN) * 1e3,
            median(&theirs).unwrap_or(f64::NAN) * 1e3,
        );
        rows.push(ReferenceRow {
            cell: info.cell.clone(),
            dataset: info.dataset.clone(),
            model: info.model.clone(),
            device: runtime.device.clone(),
            batch_size: runtime.batch_size,
            libtorch: runtime.libtorch.clone(),
            torch: reference.torch.clone().unwrap_or_default(),
            mixbench_threads: runtime.threads,
            pytorch_threads: reference.threads.unwrap_or(0),
            mixbench_step_ms: ours_ms,
            pytorch_step_ms: theirs_ms,
            speedup,
            speedup_lo: lo,
            speedup_hi: hi,
            mixbench_images_per_second: runtime.batch_size as f64 / ours_ms * 1e3,
            pytorch_images_per_second: runtime.batch_size as f64 / theirs_ms * 1e3,
            mixbench_peak_memory_mib: mib(runtime.peak_memory_bytes),
            pytorch_peak_memory_mib: mib(reference.peak_memory_bytes),
        });
    }
    records::write_atomic(&run_dir.join(REFERENCE_CSV), &csv_bytes(&rows)?)
        .context("writing runtime-reference.csv")?;
    let mut md = String::new();
    if rows.is_empty() && skipped.is_empty() {
        return Ok(md);
    }
    let _ = writeln!(
        md,
        "### mixbench Vanilla against PyTorch eager\n\nThe same training step (model, recipe, \
         batch, device, threads) in PyTorch eager mode (`tools/pytorch_eager/train_step.py`, \
         `torch.optim.SGD` with its defaults), timed in the same run. **speedup** = PyTorch's \
         step time / mixbench's (above 1: mixbench is faster), with a bootstrap 95% interval.\n"
    );
    if !rows.is_empty() {
        let _ = writeln!(
            md,
            "| cell | device | threads (mixbench / PyTorch) | batch | libtorch / torch | mixbench ms/step | PyTorch ms/step | speedup [95% CI] |\n|---|---|---:|---:|---|---:|---:|---:|"
        );
        for r in &rows {
            let _ = writeln!(
                md,
                "| {} | {} | {} / {} | {} | {} / {} | {:.1} | {:.1} | {:.3} [{:.3}-{:.3}] |",
                r.cell,
                r.device,
                r.mixbench_threads,
                r.pytorch_threads,
                r.batch_size,
                r.libtorch,
                r.torch,
                r.mixbench_step_ms,
                r.pytorch_step_ms,
                r.speedup,
                r.speedup_lo,
                r.speedup_hi
            );
        }
        md.push('\n');
    }
    for s in skipped {
        let _ = writeln!(md, "- PyTorch eager reference not run for {s}");
    }
    md.push('\n');
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The phase with the largest positive difference to Vanilla's is named; none when no
    /// phase is slower or there is no Vanilla.
    #[test]
    fn main_extra_phase_is_the_largest_addition() {
        let base = [0.1, 0.0, 0.0, 1.0, 0.1, 0.0, 0.2].map(Some);
        let sage = [0.1, 0.9, 0.2, 1.1, 0.1, 0.0, 0.2];
        let (phase, extra) = main_extra_phase(&sage, &base).unwrap();
        assert_eq!(phase, "saliency");
        assert!((extra - 0.9).abs() < 1e-12);
        let faster = [0.1, 0.0, 0.0, 0.9, 0.1, 0.0, 0.2];
        assert_eq!(main_extra_phase(&faster, &base), None);
        assert_eq!(main_extra_phase(&sage, &[None; 7]), None);
    }
}
