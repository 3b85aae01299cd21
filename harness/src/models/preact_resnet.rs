//! PreActResNet18 as the SAGE / Puzzle Mix code builds it (see `docs/training.md`, *PreActResNet18*): 3x3 stem without BN,
//! pre-activation basic blocks whose projection shortcut takes the *activated* input, and no
//! BN/ReLU before the final pooling (a quirk of the reference, reproduced: `docs/methods/README.md`, *Quirks*, row 6).

use tch::{nn, Tensor};

use super::classifier::{Classifier, MixHook};
use super::init::{batch_norm, conv, linear};

/// Pre-activation basic block `PB(in, out, stride)`.
#[derive(Debug)]
struct PreActBlock {
    bn1: nn::BatchNorm,
    conv1: nn::Conv2D,
    bn2: nn::BatchNorm,
    conv2: nn::Conv2D,
    shortcut: Option<nn::Conv2D>,
}

impl PreActBlock {
    fn new(vs: &nn::Path, cin: i64, cout: i64, stride: i64) -> Self {
        PreActBlock {
            bn1: batch_norm(&(vs / "bn1"), cin, 0.1),
            conv1: conv(&(vs / "conv1"), cin, cout, 3, stride, 1, false),
            bn2: batch_norm(&(vs / "bn2"), cout, 0.1),
            conv2: conv(&(vs / "conv2"), cout, cout, 3, 1, 1, false),
            shortcut: (stride != 1 || cin != cout)
                .then(|| conv(&(vs / "shortcut"), cin, cout, 1, stride, 1, false)),
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let a = x.apply_t(&self.bn1, train).relu_();
        let shortcut = match &self.shortcut {
            Some(proj) => a.apply(proj),
            None => x.shallow_clone(),
        };
        let h = a
            .apply(&self.conv1)
            .apply_t(&self.bn2, train)
            .relu_()
            .apply(&self.conv2);
        h + shortcut
    }
}

/// PreActResNet18: stem, four stages of two blocks (64, 128, 256, 512 channels), global
/// average pooling, linear head.
#[derive(Debug)]
pub struct PreActResNet18 {
    stem: nn::Conv2D,
    blocks: Vec<PreActBlock>,
    fc: nn::Linear,
}

impl PreActResNet18 {
    /// Builds the network for `num_classes` outputs.
    pub fn new(vs: &nn::Path, num_classes: i64) -> Self {
        let mut blocks = Vec::new();
        let mut cin = 64;
        for (stage, (cout, stride)) in [(64, 1), (128, 2), (256, 2), (512, 2)]
            .into_iter()
            .enumerate()
        {
            for (i, s) in [stride, 1].into_iter().enumerate() {
                blocks.push(PreActBlock::new(
                    &(vs / format!("layer{}", stage + 1) / i),
                    cin,
                    cout,
                    s,
                ));
                cin = cout;
            }
        }
        PreActResNet18 {
            stem: conv(&(vs / "conv1"), 3, 64, 3, 1, 1, false),
            blocks,
            fc: linear(&(vs / "linear"), 512, num_classes),
        }
    }
}

impl Classifier for PreActResNet18 {
    fn hidden_mix_layers(&self) -> usize {
        2
    }

    /// Mixing layers: 1 is the output of layer1 (64x32x32 for 32x32 input), 2 that of layer2
    /// (128x16x16), as the reference's `layer_mix`.
    fn features_hooked_t(&self, xs: &Tensor, train: bool, hook: Option<&MixHook>) -> Tensor {
        let mut h = MixHook::at(hook, 0, xs.shallow_clone()).apply(&self.stem);
        for (i, block) in self.blocks.iter().enumerate() {
            h = block.forward_t(&h, train);
            // Two blocks per stage: blocks 1 and 3 end layer1 and layer2.
            if i == 1 || i == 3 {
                h = MixHook::at(hook, i / 2 + 1, h);
            }
        }
        h.adaptive_avg_pool2d([1, 1]).flatten(1, -1)
    }

    fn head(&self, features: &Tensor) -> Tensor {
        features.apply(&self.fc)
    }
}
