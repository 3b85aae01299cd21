//! The saliency reductions of the block-based methods without libtorch's OpenMP regions:
//! average pooling on host slices, bit-for-bit equal to libtorch's CPU kernel (same f32
//! operation order), and the channel RMS of the input gradient in per-image libtorch calls.
//! libtorch's pooling starts a parallel region for any size, and after each region its worker
//! threads keep spinning on the cores the mixing step's own threads need next.

use tch::{Kind, Tensor};

/// `sqrt(mean_c g^2)` of an input gradient `[B, C, H, W]` as libtorch computes
/// `g.pow(2).mean(1).sqrt()` (Puzzle Mix's and Co-Mixup's saliency), f32 `[B, H, W]`.
///
/// Computed image by image: each call then stays below libtorch's parallel grain, so no
/// OpenMP region starts; the workers of one would keep spinning on the cores the mixing step
/// needs next.
pub fn channel_rms(grad: &Tensor) -> Tensor {
    let per_image: Vec<Tensor> = (0..grad.size()[0])
        .map(|i| {
            grad.get(i)
                .to_kind(Kind::Float)
                .pow_tensor_scalar(2)
                .mean_dim([0i64].as_slice(), false, Kind::Float)
                .sqrt()
        })
        .collect();
    Tensor::stack(&per_image, 0)
}

/// `avg_pool2d(x, kernel, stride)` (square, no padding) of the row-major `h x w` planes of
/// `x`, as libtorch's CPU kernel: each window summed row by row in f32, divided by its area.
pub fn avg_pool(x: &[f32], h: usize, w: usize, kernel: usize, stride: usize) -> Vec<f32> {
    avg_pool_rect(x, h, w, (kernel, kernel), (stride, stride))
}

/// [`avg_pool`] with a `(kh, kw)` window and `(sh, sw)` strides.
pub fn avg_pool_rect(
    x: &[f32],
    h: usize,
    w: usize,
    (kh, kw): (usize, usize),
    (sh, sw): (usize, usize),
) -> Vec<f32> {
    let planes = x.len() / (h * w);
    let (oh, ow) = ((h - kh) / sh + 1, (w - kw) / sw + 1);
    let area = (kh * kw) as f32;
    let mut out = Vec::with_capacity(planes * oh * ow);
    for p in 0..planes {
        let plane = &x[p * h * w..(p + 1) * h * w];
        for r in 0..oh {
            for c in 0..ow {
                let mut sum = 0.0f32;
                for i in r * sh..r * sh + kh {
                    for j in c * sw..c * sw + kw {
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
    use tch::Device;

    fn host(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(t.contiguous().flatten(0, -1)).unwrap()
    }

    #[test]
    fn channel_rms_is_the_batched_libtorch_expression() {
        tch::manual_seed(3);
        let g = Tensor::randn([7, 3, 32, 32], (Kind::Float, Device::Cpu)) * 1e-3;
        let want = g
            .pow_tensor_scalar(2)
            .mean_dim([1i64].as_slice(), false, Kind::Float)
            .sqrt();
        assert!(channel_rms(&g).equal(&want));
    }

    #[test]
    fn rectangular_windows_are_bit_exact_with_libtorch() {
        tch::manual_seed(5);
        let x = Tensor::rand([4, 8, 32], (Kind::Float, Device::Cpu)).pow_tensor_scalar(3);
        for (kh, kw) in [(1, 4), (1, 2), (4, 1), (2, 1)] {
            let want = x.avg_pool2d([kh, kw], [kh, kw], [0, 0], false, true, None::<i64>);
            let window = (kh as usize, kw as usize);
            let got = avg_pool_rect(&host(&x), 8, 32, window, window);
            assert_eq!(got, host(&want), "window {kh}x{kw}");
        }
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
