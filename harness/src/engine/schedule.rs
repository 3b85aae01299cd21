//! Step learning-rate schedule of the reference scripts: the rate for epoch `e` (from 0) is
//! `lr * prod(gamma_i for milestone_i <= e)`.

use serde::{Deserialize, Serialize};

/// Milestones and their factors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSchedule {
    /// Initial learning rate.
    pub lr: f64,
    /// Epochs at which the rate is multiplied by the matching gamma.
    pub milestones: Vec<usize>,
    /// One factor per milestone, or a single factor for all.
    pub gammas: Vec<f64>,
}

impl StepSchedule {
    /// Learning rate during epoch `epoch`.
    pub fn lr_at(&self, epoch: usize) -> f64 {
        self.milestones
            .iter()
            .enumerate()
            .filter(|(_, &m)| m <= epoch)
            .fold(self.lr, |lr, (i, _)| {
                lr * self
                    .gammas
                    .get(i)
                    .or(self.gammas.last())
                    .copied()
                    .unwrap_or(1.0)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SAGE CIFAR recipe: 0.2, x0.1 at 100 and 200.
    #[test]
    fn reference_recipe() {
        let s = StepSchedule {
            lr: 0.2,
            milestones: vec![100, 200],
            gammas: vec![0.1],
        };
        assert_eq!(s.lr_at(0), 0.2);
        assert_eq!(s.lr_at(99), 0.2);
        assert!((s.lr_at(100) - 0.02).abs() < 1e-12);
        assert!((s.lr_at(250) - 0.002).abs() < 1e-12);
    }
}
