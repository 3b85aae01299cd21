//! Host versions of the few large tensor reductions the saliency-based methods run per batch
//! (channel RMS of the input gradient, average pooling), bit-for-bit equal to libtorch's CPU
//! kernels (same f32 operation order), so that the mixing step issues no multi-threaded
//! libtorch calls: on a loaded machine each such call can wait a whole scheduler slice for its
//! worker threads.

/// `sqrt(mean_c g^2)` per pixel of `[B, C, H, W]` (row-major) as libtorch computes
/// `g.pow(2).mean(1).sqrt()`: squares, channel sum in order, division by `C`, square root.
pub fn channel_rms(grad: &[f32], channels: usize, plane: usize) -> Vec<f32> {
    let images = grad.len() / (channels * plane);
    let mut out = Vec::with_capacity(images * plane);
    for b in 0..images {
        let base = b * channels * plane;
        out.extend((0..plane).map(|p| {
            let mut sum = 0.0f32;
            for c in 0..channels {
                let g = grad[base + c * plane + p];
                sum += g * g;
            }
            (sum / channels as f32).sqrt()
        }));
    }
    out
}

/// `avg_pool2d(x, kernel, stride)` (no padding) of `planes` row-major `h x w` planes, as
/// libtorch's CPU kernel: each window summed row by row in f32, divided by `kernel^2`.
pub fn avg_pool(x: &[f32], h: usize, w: usize, kernel: usize, stride: usize) -> Vec<f32> {
    let planes = x.len() / (h * w);
    let (oh, ow) = ((h - kernel) / stride + 1, (w - kernel) / stride + 1);
    let area = (kernel * kernel) as f32;
    let mut out = Vec::with_capacity(planes * oh * ow);
    for p in 0..planes {
        let plane = &x[p * h * w..(p + 1) * h * w];
        for r in 0..oh {
            for c in 0..ow {
                let mut sum = 0.0f32;
                for i in r * stride..r * stride + kernel {
                    for j in c * stride..c * stride + kernel {
                        sum += plane[i * w + j];
                    }
                }
                out.push(sum / area);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind, Tensor};

    fn host(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(t.contiguous().flatten(0, -1)).unwrap()
    }

    #[test]
    fn avg_pool_is_bit_exact_with_libtorch() {
        tch::manual_seed(4);
        let x = Tensor::rand([5, 32, 32], (Kind::Float, Device::Cpu)).pow_tensor_scalar(3);
        for (k, s) in [(16, 16), (8, 8), (4, 4), (2, 2), (8, 1), (1, 1)] {
            let want = x.avg_pool2d([k, k], [s, s], [0, 0], false, true, None::<i64>);
            let got = avg_pool(&host(&x), 32, 32, k as usize, s as usize);
            assert_eq!(got, host(&want), "kernel {k} stride {s}");
        }
        let x4 = Tensor::rand([3, 3, 32, 32], (Kind::Float, Device::Cpu));
        let want = x4.avg_pool2d([4, 4], [4, 4], [0, 0], false, true, None::<i64>);
        assert_eq!(avg_pool(&host(&x4), 32, 32, 4, 4), host(&want));
    }
}
