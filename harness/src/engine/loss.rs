//! Training losses on soft targets.

use serde::{Deserialize, Serialize};
use tch::{Kind, Reduction, Tensor};

/// Which loss trains the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Binary cross-entropy of the softmax output against the soft target, averaged over
    /// batch and classes, logs clamped at -100: the loss of every SAGE / Puzzle Mix / Co-Mixup
    /// reference script (see `docs/methods/README.md`, *Training loss*; the reference lr 0.2 is tuned for it).
    #[default]
    BceSoftmax,
    /// Cross-entropy against the soft target, `-sum_k t_k log softmax_k`, batch mean.
    SoftCrossEntropy,
}

impl LossKind {
    /// The loss of `logits` `[B, K]` against soft `targets` `[B, K]`, a scalar.
    pub fn loss(self, logits: &Tensor, targets: &Tensor) -> Tensor {
        match self {
            LossKind::BceSoftmax => logits
                .softmax(1, Kind::Float)
                .binary_cross_entropy::<Tensor>(targets, None, Reduction::Mean),
            LossKind::SoftCrossEntropy => -(targets * logits.log_softmax(1, Kind::Float))
                .sum_dim_intlist(1, false, Kind::Float)
                .mean(Kind::Float),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn bce_softmax_matches_the_formula() {
        let logits = Tensor::from_slice(&[1.0f32, 2.0, 0.5, -1.0, 0.0, 3.0]).view([2, 3]);
        let targets = Tensor::from_slice(&[0.3f32, 0.7, 0.0, 0.0, 0.0, 1.0]).view([2, 3]);
        let p = Vec::<f32>::try_from(logits.softmax(1, Kind::Float).flatten(0, -1)).unwrap();
        let t = Vec::<f32>::try_from(targets.flatten(0, -1)).unwrap();
        let expected: f32 = -p
            .iter()
            .zip(&t)
            .map(|(p, t)| t * p.ln() + (1.0 - t) * (1.0 - p).ln())
            .sum::<f32>()
            / 6.0;
        let got = LossKind::BceSoftmax
            .loss(&logits, &targets)
            .double_value(&[]) as f32;
        assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
    }

    #[test]
    fn soft_cross_entropy_on_one_hot_is_cross_entropy() {
        let logits = Tensor::randn([4, 5], (Kind::Float, Device::Cpu));
        let labels = Tensor::from_slice(&[0i64, 4, 2, 2]);
        let targets = labels.one_hot(5).to_kind(Kind::Float);
        let a = LossKind::SoftCrossEntropy.loss(&logits, &targets);
        let b = logits.cross_entropy_for_logits(&labels);
        assert!(a.allclose(&b, 1e-6, 1e-6, false));
    }
}
