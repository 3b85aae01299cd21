//! ResNet-12 as Tian et al. build it for few-shot learning ("Rethinking few-shot image
//! classification: a good embedding is all you need?", ECCV 2020; `models/resnet.py` of
//! github.com/WangYueFt/rfs, `resnet12(avg_pool=True, drop_rate=0.1, ...)`).
//!
//! Four residual blocks of 64, 160, 320 and 640 channels. Block: three 3x3 convolutions (no
//! bias), each followed by batch norm, LeakyReLU(0.1) after the first two; a 1x1 convolution
//! plus batch norm on the shortcut; the sum goes through LeakyReLU(0.1) and a 2x2 max-pool. In
//! training, blocks 1-2 apply dropout (p = 0.1) after the pool, blocks 3-4 DropBlock (Ghiasi et
//! al., 2018) with the drop rate ramped linearly from 0 to 0.1 over 40,000 training batches,
//! block size 5 for inputs of 64 pixels or more (mini-ImageNet's 84) and 2 below (CIFAR-FS's
//! 32), as RFS configures them per data set. Global average pooling gives the 640 penultimate
//! features. Init as RFS: convolutions Kaiming normal (fan-out, gain sqrt(2)), BN weight 1 and
//! bias 0, the linear head PyTorch's default. 12,424,320 backbone parameters.

use std::sync::atomic::{AtomicI64, Ordering};

use tch::nn::{self, ConvConfig, Init};
use tch::{Kind, Tensor};

use super::classifier::{Classifier, MixHook};
use super::init::{batch_norm, linear};

/// Channels of the four blocks.
const WIDTHS: [i64; 4] = [64, 160, 320, 640];
/// Dropout / DropBlock rate.
const DROP_RATE: f64 = 0.1;
/// Training batches over which DropBlock's rate ramps up (RFS: `20 * 2000`).
const RAMP_BATCHES: f64 = 40_000.0;

/// A bias-free `k x k` convolution with Kaiming-normal (fan-out) weights.
fn conv_fan_out(vs: &nn::Path, cin: i64, cout: i64, k: i64) -> nn::Conv2D {
    let std = (2.0 / (cout * k * k) as f64).sqrt();
    nn::conv2d(
        vs,
        cin,
        cout,
        k,
        ConvConfig {
            stride: 1,
            padding: k / 2,
            bias: false,
            ws_init: Init::Randn {
                mean: 0.0,
                stdev: std,
            },
            ..Default::default()
        },
    )
}

/// One residual block.
#[derive(Debug)]
struct Block {
    convs: [nn::Conv2D; 3],
    bns: [nn::BatchNorm; 3],
    shortcut: (nn::Conv2D, nn::BatchNorm),
    drop_block: bool,
    /// Training batches seen (DropBlock's ramp).
    batches: AtomicI64,
}

impl Block {
    fn new(vs: &nn::Path, cin: i64, cout: i64, drop_block: bool) -> Self {
        Block {
            convs: [
                conv_fan_out(&(vs / "conv1"), cin, cout, 3),
                conv_fan_out(&(vs / "conv2"), cout, cout, 3),
                conv_fan_out(&(vs / "conv3"), cout, cout, 3),
            ],
            bns: [
                batch_norm(&(vs / "bn1"), cout, 0.1),
                batch_norm(&(vs / "bn2"), cout, 0.1),
                batch_norm(&(vs / "bn3"), cout, 0.1),
            ],
            shortcut: (
                conv_fan_out(&(vs / "downsample" / "0"), cin, cout, 1),
                batch_norm(&(vs / "downsample" / "1"), cout, 0.1),
            ),
            drop_block,
            batches: AtomicI64::new(0),
        }
    }

    fn forward_t(&self, x: &Tensor, train: bool, block_size: i64) -> Tensor {
        let mut h = x.shallow_clone();
        for (i, (conv, bn)) in self.convs.iter().zip(&self.bns).enumerate() {
            h = h.apply(conv).apply_t(bn, train);
            if i < 2 {
                h = leaky(&h);
            }
        }
        let residual = x.apply(&self.shortcut.0).apply_t(&self.shortcut.1, train);
        let out = leaky(&(h + residual)).max_pool2d_default(2);
        if !train {
            return out;
        }
        if !self.drop_block {
            return out.dropout(DROP_RATE, true);
        }
        let seen = self.batches.fetch_add(1, Ordering::Relaxed) + 1;
        let keep = (1.0 - DROP_RATE / RAMP_BATCHES * seen as f64).max(1.0 - DROP_RATE);
        drop_block(&out, 1.0 - keep, block_size)
    }
}

/// DropBlock: zeroes `block_size` x `block_size` squares whose top-left corners are drawn with
/// probability `gamma = rate / bs^2 * s^2 / (s - bs + 1)^2` (s the feature side), then rescales
/// by (elements / kept elements), as RFS's `DropBlock`.
fn drop_block(x: &Tensor, rate: f64, block_size: i64) -> Tensor {
    let size = x.size();
    let (b, c, h, w) = (size[0], size[1], size[2], size[3]);
    if rate <= 0.0 || h < block_size || w < block_size {
        return x.shallow_clone();
    }
    let bs = block_size;
    let gamma = rate / (bs * bs) as f64 * (h * w) as f64 / ((h - bs + 1) * (w - bs + 1)) as f64;
    let seeds = Tensor::rand([b, c, h - bs + 1, w - bs + 1], (Kind::Float, x.device()))
        .lt(gamma)
        .to_kind(Kind::Float);
    // A seed at (i, j) covers [i, i + bs) x [j, j + bs): max-pool of the seeds padded by bs - 1.
    let covered = seeds
        .constant_pad_nd([bs - 1, bs - 1, bs - 1, bs - 1])
        .max_pool2d([bs, bs], [1, 1], [0, 0], [1, 1], false);
    let keep = -covered + 1.0;
    let scale = keep.sum(Kind::Float).clamp_min(1.0).reciprocal() * (b * c * h * w) as f64;
    x * &keep * scale
}

/// LeakyReLU with slope 0.1: `max(x, 0.1 x)`.
fn leaky(x: &Tensor) -> Tensor {
    x.maximum(&(x * 0.1))
}

/// ResNet-12 (RFS).
#[derive(Debug)]
pub struct ResNet12 {
    blocks: Vec<Block>,
    fc: nn::Linear,
}

impl ResNet12 {
    /// Builds the network for `num_classes` outputs.
    pub fn new(vs: &nn::Path, num_classes: i64) -> Self {
        let mut cin = 3;
        let blocks = WIDTHS
            .iter()
            .enumerate()
            .map(|(i, &cout)| {
                let block = Block::new(&(vs / format!("layer{}", i + 1)), cin, cout, i >= 2);
                cin = cout;
                block
            })
            .collect();
        ResNet12 {
            blocks,
            fc: linear(&(vs / "classifier"), cin, num_classes),
        }
    }
}

impl Classifier for ResNet12 {
    fn hidden_mix_layers(&self) -> usize {
        2
    }

    /// Dropout and DropBlock draw from libtorch's generator.
    fn draws_randomness(&self) -> bool {
        true
    }

    /// Mixing layers (not in RFS, which has no Manifold Mixup; chosen like the CIFAR models'):
    /// 1 is the output of the first block (64x16x16 for 32x32 input), 2 that of the second
    /// (160x8x8).
    fn features_hooked_t(&self, xs: &Tensor, train: bool, hook: Option<&MixHook>) -> Tensor {
        let block_size = if xs.size()[2] >= 64 { 5 } else { 2 };
        let mut h = MixHook::at(hook, 0, xs.shallow_clone());
        for (i, block) in self.blocks.iter().enumerate() {
            h = block.forward_t(&h, train, block_size);
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

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    /// DropBlock zeroes whole squares and rescales the rest so the sum is kept.
    #[test]
    fn drop_block_zeroes_squares_and_keeps_the_sum() {
        tch::manual_seed(3);
        let x = Tensor::ones([2, 4, 10, 10], (Kind::Float, Device::Cpu));
        let y = drop_block(&x, 0.1, 5);
        let values: Vec<f32> = Vec::try_from(y.flatten(0, -1)).unwrap();
        let zeros = values.iter().filter(|v| **v == 0.0).count();
        assert!(zeros > 0, "rate 0.1 drops something");
        let kept: Vec<f32> = values.iter().copied().filter(|v| *v != 0.0).collect();
        assert!(
            kept.windows(2).all(|w| w[0] == w[1]),
            "one scale for all kept values"
        );
        let sum: f64 = values.iter().map(|&v| v as f64).sum();
        assert!((sum - 800.0).abs() < 1e-2, "{sum}");
        // A zeroed pixel's block: every zero lies in some all-zero 5x5 window of its map.
        let plane = y.get(0).get(0);
        let zero_mask = plane.eq(0.0).to_kind(Kind::Float);
        let full = zero_mask
            .view([1, 1, 10, 10])
            .avg_pool2d([5, 5], [1, 1], [0, 0], false, true, None::<i64>)
            .eq(1.0)
            .to_kind(Kind::Float);
        let covered = full
            .constant_pad_nd([4, 4, 4, 4])
            .max_pool2d([5, 5], [1, 1], [0, 0], [1, 1], false)
            .view([10, 10]);
        assert!(covered.ge_tensor(&zero_mask).all().int64_value(&[]) == 1);
        // Eval mode and rate 0 leave the input alone.
        assert!(drop_block(&x, 0.0, 5).equal(&x));
    }

    #[test]
    fn forward_at_84_pixels_in_train_and_eval_mode() {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = ResNet12::new(&vs.root(), 5);
        let xs = Tensor::randn([2, 3, 84, 84], (Kind::Float, Device::Cpu));
        assert_eq!(model.features_t(&xs, true).size(), [2, 640]);
        assert_eq!(model.forward_t(&xs, false).size(), [2, 5]);
    }
}
