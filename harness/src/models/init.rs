//! Explicit initialisers: tch's defaults differ from PyTorch's (and between versions), so every
//! layer states its initialisation.

use tch::nn::{self, BatchNormConfig, ConvConfig, Init, LinearConfig};

/// PyTorch's default for conv and linear layers (`kaiming_uniform(a = sqrt(5))`, and the
/// bias likewise): `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`.
pub fn torch_default(fan_in: i64) -> Init {
    let bound = 1.0 / (fan_in as f64).sqrt();
    Init::Uniform {
        lo: -bound,
        up: bound,
    }
}

/// A `k x k` convolution with PyTorch's default initialisation.
pub fn conv(
    vs: &nn::Path,
    cin: i64,
    cout: i64,
    k: i64,
    stride: i64,
    groups: i64,
    bias: bool,
) -> nn::Conv2D {
    let init = torch_default(cin / groups * k * k);
    nn::conv2d(
        vs,
        cin,
        cout,
        k,
        ConvConfig {
            stride,
            padding: k / 2,
            groups,
            bias,
            ws_init: init,
            bs_init: init,
            ..Default::default()
        },
    )
}

/// A linear layer with PyTorch's default initialisation.
pub fn linear(vs: &nn::Path, din: i64, dout: i64) -> nn::Linear {
    let init = torch_default(din);
    nn::linear(
        vs,
        din,
        dout,
        LinearConfig {
            ws_init: init,
            bs_init: Some(init),
            bias: true,
        },
    )
}

/// Batch norm with weight 1, bias 0, eps 1e-5 and the given momentum (PyTorch convention:
/// fraction of the new batch statistic).
pub fn batch_norm(vs: &nn::Path, channels: i64, momentum: f64) -> nn::BatchNorm {
    nn::batch_norm2d(
        vs,
        channels,
        BatchNormConfig {
            momentum,
            eps: 1e-5,
            ws_init: Init::Const(1.0),
            bs_init: Init::Const(0.0),
            ..Default::default()
        },
    )
}
