//! ResNeXt29-4x24d as the SAGE / Puzzle Mix code builds it (see `docs/training.md`, *ResNeXt29-4x24d*): bottlenecks of
//! grouped 3x3 convs (cardinality 4, base width 24), no conv bias, and the reference's own
//! initialisation (conv `N(0, sqrt(2 / (k k out)))`, linear Kaiming normal, zero biases).

use tch::nn::{self, ConvConfig, Init, LinearConfig};
use tch::Tensor;

use super::classifier::{Classifier, MixHook};
use super::init::batch_norm;

const CARDINALITY: i64 = 4;
const BASE_WIDTH: i64 = 24;

/// A bias-free convolution with the ResNeXt initialisation.
fn conv(vs: &nn::Path, cin: i64, cout: i64, k: i64, stride: i64, groups: i64) -> nn::Conv2D {
    let std = (2.0 / (k * k * cout) as f64).sqrt();
    nn::conv2d(
        vs,
        cin,
        cout,
        k,
        ConvConfig {
            stride,
            padding: k / 2,
            groups,
            bias: false,
            ws_init: Init::Randn {
                mean: 0.0,
                stdev: std,
            },
            ..Default::default()
        },
    )
}

/// Bottleneck `RB(in, planes, stride)`.
#[derive(Debug)]
struct Bottleneck {
    reduce: nn::Conv2D,
    bn_reduce: nn::BatchNorm,
    grouped: nn::Conv2D,
    bn_grouped: nn::BatchNorm,
    expand: nn::Conv2D,
    bn_expand: nn::BatchNorm,
    shortcut: Option<(nn::Conv2D, nn::BatchNorm)>,
}

impl Bottleneck {
    fn new(vs: &nn::Path, cin: i64, planes: i64, stride: i64) -> Self {
        let width = planes * BASE_WIDTH / 64 * CARDINALITY;
        let cout = 4 * planes;
        Bottleneck {
            reduce: conv(&(vs / "conv_reduce"), cin, width, 1, 1, 1),
            bn_reduce: batch_norm(&(vs / "bn_reduce"), width, 0.1),
            grouped: conv(&(vs / "conv_conv"), width, width, 3, stride, CARDINALITY),
            bn_grouped: batch_norm(&(vs / "bn"), width, 0.1),
            expand: conv(&(vs / "conv_expand"), width, cout, 1, 1, 1),
            bn_expand: batch_norm(&(vs / "bn_expand"), cout, 0.1),
            shortcut: (stride != 1 || cin != cout).then(|| {
                (
                    conv(&(vs / "downsample_conv"), cin, cout, 1, stride, 1),
                    batch_norm(&(vs / "downsample_bn"), cout, 0.1),
                )
            }),
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let h = x
            .apply(&self.reduce)
            .apply_t(&self.bn_reduce, train)
            .relu_();
        let h = h
            .apply(&self.grouped)
            .apply_t(&self.bn_grouped, train)
            .relu_();
        let h = h.apply(&self.expand).apply_t(&self.bn_expand, train);
        let residual = match &self.shortcut {
            Some((proj, bn)) => x.apply(proj).apply_t(bn, train),
            None => x.shallow_clone(),
        };
        (h + residual).relu_()
    }
}

/// ResNeXt29-4x24d: stem, three stages of three bottlenecks (256, 512, 1024 channels),
/// global average pooling, linear head.
#[derive(Debug)]
pub struct ResNeXt29 {
    stem: nn::Conv2D,
    stem_bn: nn::BatchNorm,
    blocks: Vec<Bottleneck>,
    fc: nn::Linear,
}

impl ResNeXt29 {
    /// Builds the network for `num_classes` outputs.
    pub fn new(vs: &nn::Path, num_classes: i64) -> Self {
        let mut blocks = Vec::new();
        let mut cin = 64;
        for (stage, (planes, stride)) in [(64, 1), (128, 2), (256, 2)].into_iter().enumerate() {
            for i in 0..3 {
                let s = if i == 0 { stride } else { 1 };
                blocks.push(Bottleneck::new(
                    &(vs / format!("stage_{}", stage + 1) / i),
                    cin,
                    planes,
                    s,
                ));
                cin = 4 * planes;
            }
        }
        let fc = nn::linear(
            vs / "classifier",
            cin,
            num_classes,
            LinearConfig {
                ws_init: Init::Randn {
                    mean: 0.0,
                    stdev: (2.0 / cin as f64).sqrt(),
                },
                bs_init: Some(Init::Const(0.0)),
                bias: true,
            },
        );
        ResNeXt29 {
            stem: conv(&(vs / "conv_1_3x3"), 3, 64, 3, 1, 1),
            stem_bn: batch_norm(&(vs / "bn_1"), 64, 0.1),
            blocks,
            fc,
        }
    }
}

impl Classifier for ResNeXt29 {
    fn hidden_mix_layers(&self) -> usize {
        2
    }

    /// Mixing layers: 1 is the output of stage_1 (256x32x32 for 32x32 input), 2 that of
    /// stage_2 (512x16x16), as the reference's `layer_mix`.
    fn features_hooked_t(&self, xs: &Tensor, train: bool, hook: Option<&MixHook>) -> Tensor {
        let mut h = MixHook::at(hook, 0, xs.shallow_clone())
            .apply(&self.stem)
            .apply_t(&self.stem_bn, train)
            .relu_();
        for (i, block) in self.blocks.iter().enumerate() {
            h = block.forward_t(&h, train);
            // Three blocks per stage: blocks 2 and 5 end stage_1 and stage_2.
            if i == 2 || i == 5 {
                h = MixHook::at(hook, i / 3 + 1, h);
            }
        }
        h.adaptive_avg_pool2d([1, 1]).flatten(1, -1)
    }

    fn head(&self, features: &Tensor) -> Tensor {
        features.apply(&self.fc)
    }
}
