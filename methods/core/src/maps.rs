//! The saliency reductions of the block-based methods without libtorch's OpenMP regions:
//! average pooling on host slices, bit-for-bit equal to libtorch's CPU kernel (same f32
//! operation order), and the channel RMS of the input gradient in per-image libtorch calls.
//! libtorch's pooling starts a parallel region for any size, and after each region its worker
//! threads keep spinning on the cores the mixing step's own threads need next.

use tch::{Kind, Tensor};

/// The values of a tensor as a host `Vec<f32>`, copied with one `memcpy`: tch's `copy_data`
/// goes through a libtorch copy kernel, which opens a parallel region for large tensors.
pub fn host_f32(t: &Tensor) -> Vec<f32> {
    let t = t
        .to_device(tch::Device::Cpu)
        .to_kind(Kind::Float)
        .contiguous();
    let len = t.numel();
    if len == 0 {
        return Vec::new();
    }
    // SAFETY: `t` is a contiguous f32 CPU tensor of `len` elements that lives until the copy
    // below has finished, and nothing writes to it meanwhile.
    unsafe { std::slice::from_raw_parts(t.data_ptr() as *const f32, len) }.to_vec()
}

/// `sqrt(mean_c g^2)` of an input gradient `[B, C, H, W]` as libtorch computes
/// `g.pow(2).mean(1).sqrt()` (Puzzle Mix's and Co-Mixup's saliency), f32 `[B, H, W]`.
///
/// The channel mean runs on the host and the square root in a single libtorch call, instead of
/// three batched libtorch calls (each a parallel region whose workers keep spinning on the
/// cores the mixing step needs next).
pub fn channel_rms(grad: &Tensor) -> Tensor {
    let size = grad.size();
    let values = channel_rms_host(grad);
    Tensor::from_slice(&values).view([size[0], size[2], size[3]])
}

/// [`channel_rms`] as a host vector `[B * H * W]`: the channel mean on the host (libtorch's
/// order: squares summed channel by channel, divided by `C`), the square root by libtorch in
/// one call (its vectorised `sqrt` is not always the correctly rounded one).
pub fn channel_rms_host(grad: &Tensor) -> Vec<f32> {
    let size = grad.size();
    let (channels, plane) = (size[1] as usize, (size[2] * size[3]) as usize);
    let g = host_f32(grad);
    let mut mean = Vec::with_capacity(g.len() / channels.max(1));
    for image in g.chunks(channels * plane) {
        mean.extend((0..plane).map(|p| {
            let mut sum = 0.0f32;
            for c in 0..channels {
                let v = image[c * plane + p];
                sum += v * v;
            }
            sum / channels as f32
        }));
    }
    host_f32(&Tensor::from_slice(&mean).sqrt())
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
    let mut acc = vec![0.0f32; ow];
    for p in 0..planes {
        let plane = &x[p * h * w..(p + 1) * h * w];
        for r in 0..oh {
            // Every window of this output row at once, each summed in libtorch's order (window
            // rows, then columns), so the loop over windows vectorises.
            acc.iter_mut().for_each(|a| *a = 0.0);
            for i in r * sh..r * sh + kh {
                let line = &plane[i * w..(i + 1) * w];
                for j in 0..kw {
                    for (c, a) in acc.iter_mut().enumerate() {
                        *a += line[c * sw + j];
                    }
                }
            }
            out.extend(acc.iter().map(|a| a / area));
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
