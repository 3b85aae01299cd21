//! The timed loop of the runtime evaluation: warm-up steps, then repetitions of training
//! steps and of evaluation batches, each phase scaled to a whole epoch of the recipe.

use anyhow::Result;

use crate::engine::{DeviceImages, TrainStats, Trainer};
use mixbench_results::evaluations::runtime::rows::PhaseRow;

/// How much is timed and how it scales to an epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plan {
    /// Untimed steps first (libtorch's kernel selection, allocator growth, caches), followed by
    /// one untimed evaluation pass.
    pub warmup_steps: usize,
    /// Training steps per timed repetition.
    pub steps: usize,
    /// Timed repetitions.
    pub repeats: usize,
    /// Training steps of a whole epoch: every full batch of the training set.
    pub steps_per_epoch: usize,
    /// Test images of a whole epoch's evaluation.
    pub test_images: usize,
}

/// What the timed repetitions measured.
pub struct Measured {
    /// One row per (repetition, phase or total), seconds per epoch.
    pub rows: Vec<PhaseRow>,
    /// Seconds of each repetition's training loop, unscaled.
    pub loop_seconds: Vec<f64>,
}

/// Runs the plan: after the warm-up (training steps and one pass over `eval`), `trainer`
/// trains on `train` (epochs 0, 1, ... give each repetition its own
/// data order and draws, seeded by `seed`) and is evaluated on `eval` (a prefix of the test
/// set) after each repetition.
pub fn run(
    trainer: &mut Trainer,
    train: &DeviceImages,
    eval: &DeviceImages,
    seed: u64,
    plan: Plan,
) -> Result<Measured> {
    if plan.warmup_steps > 0 {
        trainer.limit_batches(Some(plan.warmup_steps));
        trainer.train_epoch(0, train, seed, |_, _| {})?;
        if !eval.is_empty() {
            trainer.evaluate(eval);
        }
    }
    trainer.limit_batches(Some(plan.steps));
    let mut rows = Vec::new();
    let mut loop_seconds = Vec::new();
    for repeat in 0..plan.repeats {
        let stats = trainer.train_epoch(repeat + 1, train, seed, |_, _| {})?;
        let evaluation = if eval.is_empty() {
            0.0
        } else {
            trainer.evaluate(eval).time * plan.test_images as f64 / eval.len() as f64
        };
        let scale = plan.steps_per_epoch as f64 / stats.batches.max(1) as f64;
        loop_seconds.push(stats.time_loop);
        rows.extend(
            epoch_phases(&stats, scale, evaluation)
                .into_iter()
                .map(|(phase, seconds)| PhaseRow {
                    repeat,
                    phase: phase.to_string(),
                    seconds,
                }),
        );
    }
    Ok(Measured { rows, loop_seconds })
}

/// The phases of one repetition scaled to an epoch (`scale` = steps per epoch / steps timed),
/// with `evaluation` already scaled: the five training phases, `other` (loop time outside
/// them), `evaluation`, and the totals `train` (the loop) and `epoch` (`train` +
/// `evaluation`). The phases add up to `epoch` by construction; `other` says how much of the
/// loop the phases do not explain.
pub fn epoch_phases(stats: &TrainStats, scale: f64, evaluation: f64) -> Vec<(&'static str, f64)> {
    let phases = [
        stats.time_data,
        stats.time_saliency,
        stats.time_mix,
        stats.time_forward_backward,
        stats.time_optimizer,
    ];
    let named: f64 = phases.iter().sum();
    let train = stats.time_loop * scale;
    vec![
        ("data", phases[0] * scale),
        ("saliency", phases[1] * scale),
        ("mix", phases[2] * scale),
        ("forward_backward", phases[3] * scale),
        ("optimizer", phases[4] * scale),
        ("other", (stats.time_loop - named) * scale),
        ("evaluation", evaluation),
        ("train", train),
        ("epoch", train + evaluation),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::rows::{PHASES, TOTALS};
    use super::*;

    /// Phases scale by steps per epoch over steps timed, `other` is the loop minus the named
    /// phases, and the names are the documented phases then totals.
    #[test]
    fn epoch_phases_scale_and_account_for_the_loop() {
        let stats = TrainStats {
            batches: 4,
            time_data: 0.1,
            time_saliency: 0.2,
            time_mix: 0.3,
            time_forward_backward: 1.0,
            time_optimizer: 0.2,
            time_loop: 2.0,
            ..Default::default()
        };
        let phases = epoch_phases(&stats, 25.0, 3.0);
        let names: Vec<&str> = phases.iter().map(|p| p.0).collect();
        let expected: Vec<&str> = PHASES.iter().chain(TOTALS.iter()).copied().collect();
        assert_eq!(names, expected);
        let of = |n: &str| phases.iter().find(|p| p.0 == n).unwrap().1;
        assert!((of("other") - 0.2 * 25.0).abs() < 1e-12);
        assert!((of("train") - 50.0).abs() < 1e-12);
        assert!((of("epoch") - 53.0).abs() < 1e-12);
        let sum: f64 = PHASES.iter().map(|p| of(p)).sum();
        assert!((sum - of("epoch")).abs() < 1e-12);
    }
}
