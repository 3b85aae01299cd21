//! Image classifiers: the three CIFAR architectures of the SAGE comparison, built exactly as
//! the reference code builds them (see `docs/training.md`, *Models*; parameter counts are checked in tests),
//! plus a small network for quick CPU runs.
//!
//! Every model exposes its penultimate features (few-shot evaluation fits a classifier on
//! them) and its logits.

mod classifier;
mod init;
mod preact_resnet;
mod resnet12;
mod resnext;
mod small_cnn;
mod wide_resnet;

use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

pub use classifier::{Classifier, MixHook};

/// The architectures mixbench can build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ModelKind {
    /// A four-conv network (about 0.1 M parameters) for minutes-long CPU runs.
    SmallCnn,
    /// PreActResNet18 (He et al., 2016), 11.17 M parameters at K = 10.
    PreactResnet18,
    /// Wide ResNet 16-8 (Zagoruyko and Komodakis, 2016), 10.97 M parameters at K = 10.
    Wrn16_8,
    /// ResNeXt29 with cardinality 4 and base width 24 (Xie et al., 2017), 4.85 M at K = 10.
    Resnext29_4_24,
    /// ResNet-12 as Tian et al. (ECCV 2020) build it for few-shot learning, 12.42 M + head.
    Resnet12,
}

impl ModelKind {
    /// Every model, in the order of reports.
    pub const ALL: [ModelKind; 5] = [
        ModelKind::SmallCnn,
        ModelKind::PreactResnet18,
        ModelKind::Wrn16_8,
        ModelKind::Resnext29_4_24,
        ModelKind::Resnet12,
    ];

    /// Name used in suite files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::SmallCnn => "small_cnn",
            ModelKind::PreactResnet18 => "preact_resnet18",
            ModelKind::Wrn16_8 => "wrn16_8",
            ModelKind::Resnext29_4_24 => "resnext29_4_24",
            ModelKind::Resnet12 => "resnet12",
        }
    }

    /// Builds the model's variables under `vs` for `num_classes` outputs and 3-channel input.
    pub fn build(self, vs: &nn::Path, num_classes: i64) -> Box<dyn Classifier> {
        match self {
            ModelKind::SmallCnn => Box::new(small_cnn::SmallCnn::new(vs, num_classes)),
            ModelKind::PreactResnet18 => {
                Box::new(preact_resnet::PreActResNet18::new(vs, num_classes))
            }
            ModelKind::Wrn16_8 => Box::new(wide_resnet::WideResNet::wrn16_8(vs, num_classes)),
            ModelKind::Resnext29_4_24 => Box::new(resnext::ResNeXt29::new(vs, num_classes)),
            ModelKind::Resnet12 => Box::new(resnet12::ResNet12::new(vs, num_classes)),
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        if let Some(kind) = ModelKind::ALL.into_iter().find(|k| k.name() == s) {
            return Ok(kind);
        }
        let names = ModelKind::ALL.map(ModelKind::name);
        bail!(
            "unknown model `{s}`{}; available models: {}",
            mixbench_core::did_you_mean(s, names),
            names.join(", ")
        )
    }
}

impl TryFrom<String> for ModelKind {
    type Error = anyhow::Error;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<ModelKind> for String {
    fn from(kind: ModelKind) -> String {
        kind.name().to_string()
    }
}

/// Number of trainable parameters in a variable store (BN running buffers excluded).
pub fn parameter_count(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(Tensor::numel)
        .sum::<usize>() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    use super::classifier::MixHook;

    fn count(kind: ModelKind, classes: i64) -> i64 {
        let vs = nn::VarStore::new(Device::Cpu);
        let _model = kind.build(&vs.root(), classes);
        parameter_count(&vs)
    }

    /// Totals listed in `docs/training.md` (*Models*), which match the reference PyTorch models.
    #[test]
    fn parameter_counts_match_the_reference_models() {
        assert_eq!(count(ModelKind::PreactResnet18, 10), 11_171_146);
        assert_eq!(count(ModelKind::PreactResnet18, 100), 11_217_316);
        assert_eq!(count(ModelKind::Wrn16_8, 10), 10_965_866);
        assert_eq!(count(ModelKind::Wrn16_8, 100), 11_012_036);
        assert_eq!(count(ModelKind::Resnext29_4_24, 10), 4_845_002);
        assert_eq!(count(ModelKind::Resnext29_4_24, 100), 4_937_252);
        // RFS's resnet12 (avg_pool=True): backbone 12,424,320 (counted layer by layer in the
        // module doc's terms, and by PyTorch on the RFS definition), plus a 640 x K head.
        assert_eq!(count(ModelKind::Resnet12, 64), 12_424_320 + 640 * 64 + 64);
    }

    #[test]
    fn output_and_feature_shapes() {
        tch::manual_seed(0);
        let xs = Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu));
        for (kind, dim) in [
            (ModelKind::SmallCnn, 128),
            (ModelKind::PreactResnet18, 512),
            (ModelKind::Wrn16_8, 512),
            (ModelKind::Resnext29_4_24, 1024),
            (ModelKind::Resnet12, 640),
        ] {
            let vs = nn::VarStore::new(Device::Cpu);
            let model = kind.build(&vs.root(), 7);
            let features = model.features_t(&xs, false);
            assert_eq!(features.size(), [2, dim], "{kind}");
            assert_eq!(model.forward_t(&xs, true).size(), [2, 7], "{kind}");
        }
    }

    /// Mixing layer 0 is the input and 1, 2 the documented stage outputs; each hook runs
    /// exactly once, and a hook that returns its input changes nothing.
    #[test]
    fn mixing_layers_are_the_documented_stage_outputs() {
        tch::manual_seed(0);
        let xs = Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu));
        for (kind, hidden) in [
            (ModelKind::SmallCnn, [[16, 16, 16], [32, 16, 16]]),
            (ModelKind::PreactResnet18, [[64, 32, 32], [128, 16, 16]]),
            (ModelKind::Wrn16_8, [[128, 32, 32], [256, 16, 16]]),
            (ModelKind::Resnext29_4_24, [[256, 32, 32], [512, 16, 16]]),
            (ModelKind::Resnet12, [[64, 16, 16], [160, 8, 8]]),
        ] {
            let vs = nn::VarStore::new(Device::Cpu);
            let model = kind.build(&vs.root(), 7);
            assert_eq!(model.hidden_mix_layers(), 2, "{kind}");
            let plain = model.forward_t(&xs, false);
            for layer in 0..=2 {
                let seen = std::cell::RefCell::new(Vec::new());
                let record = |h: &Tensor| {
                    seen.borrow_mut().push(h.size());
                    h.shallow_clone()
                };
                let hook = MixHook {
                    layer,
                    mix: &record,
                };
                let out = model.forward_hooked_t(&xs, false, &hook);
                let expected = match layer {
                    0 => vec![2, 3, 32, 32],
                    k => [&[2][..], &hidden[k - 1][..]].concat(),
                };
                assert_eq!(seen.into_inner(), [expected], "{kind} layer {layer}");
                assert!(out.equal(&plain), "{kind} layer {layer}");
            }
        }
    }

    #[test]
    fn unknown_model_suggests_a_name() {
        let err = "preact_resnet"
            .parse::<ModelKind>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean `preact_resnet18`"), "{err}");
    }
}
