//! The saliency reductions of the block-based methods without libtorch's OpenMP regions:
//! average pooling on host slices, bit-for-bit equal to libtorch's CPU kernel (same f32
//! operation order), the channel RMS of the input gradient, and host views of tensors and
//! tensors filled from the host without libtorch kernels.
//! libtorch's pooling starts a parallel region for any size, and after each region its worker
//! threads keep spinning on the cores the mixing step's own threads need next.

use tch::{Device, Kind, Tensor};

/// A tensor size (elements) that libtorch's vectorised math kernels (MKL VML: `sqrt`, `exp`,
/// ...) process on the calling thread: they open a parallel region from 2048 elements on
/// (their grain size), and its worker threads then keep spinning on the cores that the mixing
/// step's own threads need.
const SERIAL_ELEMENTS: usize = 2_047;

/// Read-only host access to the values of a tensor as f32, without copying them when the
/// tensor already is a contiguous f32 CPU tensor (otherwise one conversion).
///
/// The slice is plain memory: unlike the tensor it can be shared with rayon's workers.
pub struct HostView {
    tensor: Tensor,
}

impl HostView {
    /// A view of `t` (converted to a contiguous f32 CPU tensor if it is not one).
    pub fn new(t: &Tensor) -> Self {
        HostView {
            tensor: t.to_device(Device::Cpu).to_kind(Kind::Float).contiguous(),
        }
    }

    /// The values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        let len = self.tensor.numel();
        if len == 0 {
            return &[];
        }
        // SAFETY: `tensor` is a contiguous f32 CPU tensor of `len` elements owned by `self`
        // (it keeps the storage alive for the borrow), and nothing writes to it through this
        // view.
        unsafe { std::slice::from_raw_parts(self.tensor.data_ptr() as *const f32, len) }
    }
}

/// The values of a tensor as a host `Vec<f32>`, copied with one `memcpy`: tch's `copy_data`
/// goes through a libtorch copy kernel, which opens a parallel region for large tensors.
pub fn host_f32(t: &Tensor) -> Vec<f32> {
    HostView::new(t).as_slice().to_vec()
}

/// A new contiguous f32 CPU tensor written from the host, without libtorch kernels.
///
/// tch's `Tensor::from_slice` zero-fills a new tensor before copying into it, and that fill
/// opens a libtorch parallel region for large tensors, whose worker threads then keep spinning
/// on the cores the next mixing step needs. This tensor's values are written once, on the
/// caller's threads (rayon's workers may fill disjoint chunks).
pub struct HostTensor {
    tensor: Tensor,
}

impl HostTensor {
    /// A tensor of `shape` with unspecified values (`Tensor::empty`): write every element
    /// before [`HostTensor::into_tensor`].
    pub fn empty(shape: &[i64]) -> Self {
        HostTensor {
            tensor: Tensor::empty(shape, (Kind::Float, Device::Cpu)),
        }
    }

    /// The values, row-major, for writing.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        let len = self.tensor.numel();
        if len == 0 {
            return &mut [];
        }
        // SAFETY: `tensor` is a contiguous f32 CPU tensor of `len` elements created by `empty`
        // and owned by `self` alone: no other handle reads or writes it during the borrow.
        unsafe { std::slice::from_raw_parts_mut(self.tensor.data_ptr() as *mut f32, len) }
    }

    /// The finished tensor.
    pub fn into_tensor(self) -> Tensor {
        self.tensor
    }
}

/// A new f32 CPU tensor of `shape` holding `values` (one copy; see [`HostTensor`]).
pub fn tensor_f32(values: &[f32], shape: &[i64]) -> Tensor {
    let mut t = HostTensor::empty(shape);
    t.as_mut_slice().copy_from_slice(values);
    t.into_tensor()
}

/// `sqrt(mean_c g^2)` of an input gradient `[B, C, H, W]` as libtorch computes
/// `g.pow(2).mean(1).sqrt()` (Puzzle Mix's and Co-Mixup's saliency), f32 `[B, H, W]`.
///
/// The channel mean runs on the host and the square root in libtorch calls too small for a
/// parallel region, instead of three batched libtorch calls (each a parallel region whose
/// workers keep spinning on the cores the mixing step needs next).
pub fn channel_rms(grad: &Tensor) -> Tensor {
    let size = grad.size();
    let values = channel_rms_host(grad);
    tensor_f32(&values, &[size[0], size[2], size[3]])
}

/// [`channel_rms`] as a host vector `[B * H * W]`: the channel mean on the host (libtorch's
/// order: squares summed channel by channel, divided by `C`), the square root by libtorch (its
/// vectorised `sqrt` is not always the correctly rounded one) in calls small enough not to open
/// a parallel region.
pub fn channel_rms_host(grad: &Tensor) -> Vec<f32> {
    let size = grad.size();
    let (channels, plane) = (size[1] as usize, (size[2] * size[3]) as usize);
    let view = HostView::new(grad);
    let g = view.as_slice();
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
    for chunk in mean.chunks_mut(SERIAL_ELEMENTS) {
        let root = tensor_f32(chunk, &[chunk.len() as i64]).sqrt();
        chunk.copy_from_slice(HostView::new(&root).as_slice());
    }
    mean
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
                    // Column `j` of every window: `line[c * sw + j]` for output column `c`.
                    if sw == 1 {
                        acc.iter_mut()
                            .zip(&line[j..j + ow])
                            .for_each(|(a, &x)| *a += x);
                    } else {
                        acc.iter_mut()
                            .zip(line[j..].iter().step_by(sw))
                            .for_each(|(a, &x)| *a += x);
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
    fn host_tensors_and_views_round_trip() {
        let values: Vec<f32> = (0..40_000).map(|v| v as f32 * 0.5 - 3.0).collect();
        let t = tensor_f32(&values, &[4, 100, 100]);
        assert_eq!(t.size(), [4, 100, 100]);
        assert!(t.equal(&Tensor::from_slice(&values).view([4, 100, 100])));
        assert_eq!(HostView::new(&t).as_slice(), values.as_slice());
        // A non-contiguous view is converted.
        let view = HostView::new(&t.transpose(1, 2));
        assert_eq!(view.as_slice()[1], values[100]);
        assert!(tensor_f32(&[], &[0, 3]).size() == [0, 3]);
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
