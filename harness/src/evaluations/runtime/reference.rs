//! The PyTorch eager reference: `tools/pytorch_eager/train_step.py`, embedded in the binary,
//! run with the recipe of a Vanilla cell on the same device so that the report puts
//! mixbench's step beside PyTorch's, measured in the same run.
//!
//! Python is `$MIXBENCH_PYTHON` or `python3`. When mixbench was built against a PyTorch
//! wheel's `torch/` folder (as `ci/setup-libtorch.sh` installs it) and that folder still
//! exists, it goes first on `PYTHONPATH`, so both sides run the very same libtorch.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use tch::Device;

use super::measure::Plan;
use crate::cell::TrainingConfig;
use crate::data::Dataset;
use crate::engine::loss::LossKind;
use crate::models::ModelKind;
use mixbench_results::evaluations::runtime::rows::ReferenceResult;

/// The script, as committed under `tools/pytorch_eager/`.
const SCRIPT: &str = include_str!("../../../../tools/pytorch_eager/train_step.py");

/// Models the script defines.
const MODELS: [ModelKind; 2] = [ModelKind::PreactResnet18, ModelKind::SmallCnn];

/// What the script prints.
#[derive(Deserialize)]
struct ScriptOutput {
    torch: String,
    threads: usize,
    repeat_seconds: Vec<f64>,
    peak_memory_bytes: u64,
}

/// Everything the reference needs to run the same step as the cell.
pub struct Job<'a> {
    /// The cell's model.
    pub model: ModelKind,
    /// The cell's recipe.
    pub training: &'a TrainingConfig,
    /// The cell's data set (shape, classes, training images).
    pub data: &'a Dataset,
    /// The device of the cell.
    pub device: Device,
    /// libtorch threads of mixbench's measurement.
    pub threads: usize,
    /// The runtime plan (warm-up, steps, repetitions).
    pub plan: Plan,
}

/// Runs the reference, or says why it was skipped: never an error when Python or torch is
/// missing (`required` turns those into errors in the caller).
pub fn run(job: &Job) -> ReferenceResult {
    match try_run(job) {
        Ok(out) => ReferenceResult {
            skipped: None,
            torch: Some(out.torch),
            threads: Some(out.threads),
            repeat_seconds: out.repeat_seconds,
            peak_memory_bytes: Some(out.peak_memory_bytes),
        },
        Err(e) => ReferenceResult {
            skipped: Some(format!("{e:#}")),
            torch: None,
            threads: None,
            repeat_seconds: Vec::new(),
            peak_memory_bytes: None,
        },
    }
}

fn try_run(job: &Job) -> Result<ScriptOutput> {
    if !MODELS.contains(&job.model) {
        bail!(
            "the PyTorch eager reference defines {} only, not `{}`",
            MODELS.map(|m| m.to_string()).join(" and "),
            job.model
        );
    }
    let script = std::env::temp_dir().join(format!("mixbench-eager-{}.py", std::process::id()));
    std::fs::write(&script, SCRIPT).with_context(|| format!("writing {}", script.display()))?;
    let output = command(job, &script).output();
    let _ = std::fs::remove_file(&script);
    let python = python();
    let output = output.with_context(|| format!("running `{python}` (set MIXBENCH_PYTHON)"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        bail!(
            "`{python}` failed ({}): {}",
            output.status,
            last.unwrap_or("no message")
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().rev().find(|l| l.starts_with('{'));
    serde_json::from_str(line.unwrap_or(""))
        .with_context(|| format!("reading the reference's output: {stdout}"))
}

fn python() -> String {
    std::env::var("MIXBENCH_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// The script's command line for `job`.
fn command(job: &Job, script: &Path) -> Command {
    let t = job.training;
    let train = &job.data.train;
    let device = match job.device {
        Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".into(),
    };
    let loss = match t.loss {
        LossKind::BceSoftmax => "bce_softmax",
        LossKind::SoftCrossEntropy => "soft_cross_entropy",
    };
    let mut cmd = Command::new(python());
    cmd.arg(script);
    let args: [(&str, String); 18] = [
        ("--model", job.model.to_string()),
        ("--classes", job.data.num_classes().to_string()),
        ("--channels", train.channels.to_string()),
        ("--size", train.height.to_string()),
        ("--images", train.len().to_string()),
        ("--batch-size", t.batch_size.to_string()),
        ("--loss", loss.to_string()),
        ("--lr", t.lr.to_string()),
        ("--momentum", t.momentum.to_string()),
        ("--nesterov", u8::from(t.nesterov).to_string()),
        ("--weight-decay", t.weight_decay.to_string()),
        ("--crop-padding", t.crop_padding.to_string()),
        ("--flip", u8::from(t.flip).to_string()),
        ("--device", device),
        ("--threads", job.threads.to_string()),
        ("--warmup", job.plan.warmup_steps.to_string()),
        ("--steps", job.plan.steps.to_string()),
        ("--repeats", job.plan.repeats.to_string()),
    ];
    for (flag, value) in args {
        cmd.arg(flag).arg(value);
    }
    let wheel = Path::new(crate::system::libtorch_dir());
    if wheel.join("__init__.py").exists() {
        if let Some(site) = wheel.parent() {
            let mut path = site.as_os_str().to_owned();
            if let Some(old) = std::env::var_os("PYTHONPATH") {
                path.push(":");
                path.push(old);
            }
            cmd.env("PYTHONPATH", path);
        }
    }
    cmd
}
