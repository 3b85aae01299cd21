//! A small VGG-style network for quick CPU runs (the quickstart, tests, real-data checks on a
//! laptop): 3x3 conv + BN + ReLU layers of 16, 32, 64 and 128 channels, a 2x2 max-pool after
//! the first and the third, global average pooling and a linear head; about 0.1 M parameters
//! and 11 M multiply-adds per 32x32 image.

use tch::{nn, Tensor};

use super::classifier::{Classifier, MixHook};
use super::init::{batch_norm, conv, linear};

/// Channels of the four conv layers; a max-pool follows the first and the third.
const WIDTHS: [i64; 4] = [16, 32, 64, 128];

/// The small network.
#[derive(Debug)]
pub struct SmallCnn {
    layers: Vec<(nn::Conv2D, nn::BatchNorm)>,
    fc: nn::Linear,
}

impl SmallCnn {
    /// Builds the network for `num_classes` outputs.
    pub fn new(vs: &nn::Path, num_classes: i64) -> Self {
        let mut cin = 3;
        let layers = WIDTHS
            .iter()
            .enumerate()
            .map(|(i, &cout)| {
                let layer = (
                    conv(&(vs / format!("conv{i}")), cin, cout, 3, 1, 1, false),
                    batch_norm(&(vs / format!("bn{i}")), cout, 0.1),
                );
                cin = cout;
                layer
            })
            .collect();
        SmallCnn {
            layers,
            fc: linear(&(vs / "linear"), cin, num_classes),
        }
    }
}

impl Classifier for SmallCnn {
    fn hidden_mix_layers(&self) -> usize {
        2
    }

    /// Mixing layers: 1 is the output of the first conv layer and its pool (16x16x16 for 32x32
    /// input), 2 that of the second conv layer (32x16x16).
    fn features_hooked_t(&self, xs: &Tensor, train: bool, hook: Option<&MixHook>) -> Tensor {
        let mut h = MixHook::at(hook, 0, xs.shallow_clone());
        for (i, (conv, bn)) in self.layers.iter().enumerate() {
            h = h.apply(conv).apply_t(bn, train).relu_();
            if i == 0 || i == 2 {
                h = h.max_pool2d_default(2);
            }
            if i < 2 {
                h = MixHook::at(hook, i + 1, h);
            }
        }
        h.adaptive_avg_pool2d([1, 1]).flatten(1, -1)
    }

    fn head(&self, features: &Tensor) -> Tensor {
        features.apply(&self.fc)
    }
}
