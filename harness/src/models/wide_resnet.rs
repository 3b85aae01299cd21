//! Wide ResNet as the SAGE / Puzzle Mix code builds WRN16-8 (see `docs/training.md`, *WRN16-8*): biased convs, the
//! stride on the block's *second* conv, a projection shortcut on the raw input, no dropout,
//! and a final BN with momentum 0.9 (a quirk of the reference, reproduced: `docs/methods/README.md`, *Quirks*, row 5).

use tch::{nn, Tensor};

use super::classifier::{Classifier, MixHook};
use super::init::{batch_norm, conv, linear};

/// Wide basic block `WB(in, out, stride)`.
#[derive(Debug)]
struct WideBlock {
    bn1: nn::BatchNorm,
    conv1: nn::Conv2D,
    bn2: nn::BatchNorm,
    conv2: nn::Conv2D,
    shortcut: Option<nn::Conv2D>,
}

impl WideBlock {
    fn new(vs: &nn::Path, cin: i64, cout: i64, stride: i64) -> Self {
        WideBlock {
            bn1: batch_norm(&(vs / "bn1"), cin, 0.1),
            conv1: conv(&(vs / "conv1"), cin, cout, 3, 1, 1, true),
            bn2: batch_norm(&(vs / "bn2"), cout, 0.1),
            conv2: conv(&(vs / "conv2"), cout, cout, 3, stride, 1, true),
            shortcut: (stride != 1 || cin != cout)
                .then(|| conv(&(vs / "shortcut"), cin, cout, 1, stride, 1, true)),
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let h = x.apply_t(&self.bn1, train).relu_().apply(&self.conv1);
        let h = h.apply_t(&self.bn2, train).relu_().apply(&self.conv2);
        let shortcut = match &self.shortcut {
            Some(proj) => x.apply(proj),
            None => x.shallow_clone(),
        };
        h + shortcut
    }
}

/// Wide ResNet with `n` blocks per group.
#[derive(Debug)]
pub struct WideResNet {
    stem: nn::Conv2D,
    blocks: Vec<WideBlock>,
    bn: nn::BatchNorm,
    fc: nn::Linear,
}

impl WideResNet {
    /// WRN16-8: depth 16 (`n = 2`), widen factor 8 (widths 128, 256, 512).
    pub fn wrn16_8(vs: &nn::Path, num_classes: i64) -> Self {
        Self::new(vs, num_classes, 2, 8)
    }

    fn new(vs: &nn::Path, num_classes: i64, n: usize, widen: i64) -> Self {
        let mut blocks = Vec::new();
        let mut cin = 16;
        for (group, (cout, stride)) in [(16 * widen, 1), (32 * widen, 2), (64 * widen, 2)]
            .into_iter()
            .enumerate()
        {
            for i in 0..n {
                let s = if i == 0 { stride } else { 1 };
                blocks.push(WideBlock::new(
                    &(vs / format!("layer{}", group + 1) / i),
                    cin,
                    cout,
                    s,
                ));
                cin = cout;
            }
        }
        WideResNet {
            stem: conv(&(vs / "conv1"), 3, 16, 3, 1, 1, true),
            blocks,
            bn: batch_norm(&(vs / "bn"), cin, 0.9),
            fc: linear(&(vs / "linear"), cin, num_classes),
        }
    }
}

impl Classifier for WideResNet {
    fn hidden_mix_layers(&self) -> usize {
        2
    }

    /// Mixing layers: 1 is the output of layer1 (128x32x32 for WRN16-8 on 32x32 input), 2 that
    /// of layer2 (256x16x16), as the reference's `layer_mix`.
    fn features_hooked_t(&self, xs: &Tensor, train: bool, hook: Option<&MixHook>) -> Tensor {
        let mut h = MixHook::at(hook, 0, xs.shallow_clone()).apply(&self.stem);
        let per_group = self.blocks.len() / 3;
        for (i, block) in self.blocks.iter().enumerate() {
            h = block.forward_t(&h, train);
            let stage = (i + 1) / per_group;
            if (i + 1) % per_group == 0 && stage <= 2 {
                h = MixHook::at(hook, stage, h);
            }
        }
        h.apply_t(&self.bn, train)
            .relu_()
            .adaptive_avg_pool2d([1, 1])
            .flatten(1, -1)
    }

    fn head(&self, features: &Tensor) -> Tensor {
        features.apply(&self.fc)
    }
}
