//! The block-level quantities of `mixup_graph` (see `docs/methods/puzzlemix.md`, *Block terms*), computed with the same tensor
//! operations in the same order as the official code so that they agree with it bit for bit
//! on the CPU: pooled and normalised saliency, the boundary dissimilarities of neighbouring
//! blocks, the data costs of showing each image with half of every boundary table folded in,
//! and the edge strengths.

use mixbench_core::maps::{self, HostView};
use tch::{Kind, Tensor};

/// What the graph cut and the transport need, per image, as host `f32` arrays.
#[derive(Debug)]
pub struct BlockTerms {
    /// Blocks per side `n`.
    pub blocks: usize,
    /// Cost of showing the image itself ("A") in each block, `[B, n, n]` (the official
    /// `unary2` after the boundary halves, fed to the graph cut as its first unary).
    pub cost_own: Vec<f32>,
    /// Cost of showing the partner ("B") in each block, `[B, n, n]`.
    pub cost_partner: Vec<f32>,
    /// Edge strengths `omega` of vertical neighbour pairs, `[B, n - 1, n]`.
    pub vertical: Vec<f32>,
    /// Edge strengths of horizontal neighbour pairs, `[B, n, n - 1]`.
    pub horizontal: Vec<f32>,
}

/// Puzzle Mix's saliency `sqrt(mean_c g^2)`, f32 `[B, H, W]`.
pub fn saliency(grad: &Tensor) -> Tensor {
    maps::channel_rms(grad)
}

/// The batch on the host, read once per step: the large per-pixel arrays are pooled natively
/// (bit-exact with libtorch, [`mixbench_core::maps`]) so that only small tensors reach libtorch.
pub struct HostBatch {
    /// Batch size.
    pub len: usize,
    /// Channels.
    pub channels: usize,
    /// Image side.
    pub side: usize,
    images: HostView,
    saliency: HostView,
    /// Per-channel mean and standard deviation (pixel units) as f32, as the reference's tensors.
    pub mean: Vec<f32>,
    /// See `mean`.
    pub std: Vec<f32>,
}

impl HostBatch {
    /// Host views of `images` `[B, C, H, W]` and of the saliency `s` `[B, H, W]` (no copy for
    /// contiguous f32 CPU tensors).
    pub fn new(images: &Tensor, s: &Tensor, mean: &[f64], std: &[f64]) -> Self {
        let size = images.size();
        HostBatch {
            len: size[0] as usize,
            channels: size[1] as usize,
            side: size[3] as usize,
            images: HostView::new(images),
            saliency: HostView::new(s),
            mean: mean.iter().map(|&m| m as f32).collect(),
            std: std.iter().map(|&v| v as f32).collect(),
        }
    }

    /// Normalised images `[B, C, H, W]`, row-major.
    pub fn images(&self) -> &[f32] {
        self.images.as_slice()
    }

    /// Saliency `[B, H, W]`, row-major.
    pub fn saliency(&self) -> &[f32] {
        self.saliency.as_slice()
    }

    /// The saliency average-pooled by `size` and normalised to sum 1 per image:
    /// `[B, side / size, side / size]`.
    pub fn pooled_distribution(&self, size: usize) -> Tensor {
        let m = (self.side / size) as i64;
        let pooled = maps::avg_pool(self.saliency(), self.side, self.side, size, size);
        let pooled = Tensor::from_slice(&pooled).view([self.len as i64, m, m]);
        let b = self.len as i64;
        &pooled
            / pooled
                .reshape([b, -1])
                .sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
                .reshape([b, 1, 1])
    }

    /// The images in pixel units (`x std + mean`, the reference's order), average-pooled by
    /// `size`: `[B, C, side / size, side / size]`.
    fn pooled_pixels(&self, size: usize) -> Tensor {
        let plane = self.side * self.side;
        let g = (self.side / size) as i64;
        let mut pooled = Vec::with_capacity(self.len * self.channels * (g * g) as usize);
        let mut pixels = vec![0.0f32; plane];
        for (k, x) in self.images().chunks(plane).enumerate() {
            let c = k % self.channels;
            let (std, mean) = (self.std[c], self.mean[c]);
            pixels
                .iter_mut()
                .zip(x)
                .for_each(|(p, &x)| *p = x * std + mean);
            pooled.extend(maps::avg_pool(&pixels, self.side, self.side, size, size));
        }
        Tensor::from_slice(&pooled).view([self.len as i64, self.channels as i64, g, g])
    }
}

/// The official `neigh_penalty`: mean absolute colour jump across every block boundary,
/// vertical pairs `[B, n - 1, n]` and horizontal pairs `[B, n, n - 1]`, when the upper/left
/// block comes from `upper` and the lower/right one from `lower`.
fn neigh_penalty(upper: &Tensor, lower: &Tensor, k: i64) -> (Tensor, Tensor) {
    let g = upper.size()[2];
    let pw_x = upper.narrow(2, 0, g - 1) - lower.narrow(2, 1, g - 1);
    let pw_y = upper.narrow(3, 0, g - 1) - lower.narrow(3, 1, g - 1);
    let pw_x = pw_x.slice(2, k - 1, g - 1, k);
    let pw_y = pw_y.slice(3, k - 1, g - 1, k);
    let mean_abs = |t: &Tensor| t.abs().mean_dim([1i64].as_slice(), false, Kind::Float);
    // libtorch's avg_pool2d, natively (it opens a parallel region at any size).
    let pool = |t: &Tensor, window: (usize, usize)| {
        let size = t.size();
        let (h, w) = (size[1] as usize, size[2] as usize);
        let pooled = maps::avg_pool_rect(&host(t), h, w, window, window);
        let (oh, ow) = (h / window.0, w / window.1);
        Tensor::from_slice(&pooled).view([size[0], oh as i64, ow as i64])
    };
    let k = k as usize;
    let pw_x = pool(&mean_abs(&pw_x), (1, k));
    let pw_y = pool(&mean_abs(&pw_y), (k, 1));
    (pw_x, pw_y)
}

/// Host copy of a float tensor.
pub fn host(t: &Tensor) -> Vec<f32> {
    maps::host_f32(t)
}

/// The grid and weights of the block terms.
#[derive(Clone, Copy, Debug)]
pub struct TermSettings {
    /// Blocks per side `n`.
    pub blocks: i64,
    /// Label smoothness already divided by `16 n`.
    pub beta: f64,
    /// Boundary smoothness.
    pub gamma: f64,
    /// Pooling size of the boundary term.
    pub neigh: i64,
}

/// Block terms of a batch (`docs/methods/puzzlemix.md`, *Block terms* and *Energy*) with partner permutation `perm` i64 `[B]`.
pub fn block_terms(batch: &HostBatch, perm: &Tensor, settings: TermSettings) -> BlockTerms {
    let TermSettings {
        blocks,
        beta,
        gamma,
        neigh,
    } = settings;
    let block_size = batch.side as i64 / blocks;
    let unary_own = batch.pooled_distribution(block_size as usize);
    let unary_partner = unary_own.index_select(0, perm);

    let own_pool = batch.pooled_pixels(neigh as usize);
    let partner_pool = own_pool.index_select(0, perm);
    let k = block_size / neigh;
    // Index 0 is the partner ("input2"), 1 the image itself ("input1"), as in the official
    // `pw_x[:, a, b]` with `a` the source of the upper/left block.
    let scale = beta * gamma;
    let table = |a: &Tensor, b: &Tensor| {
        let (x, y) = neigh_penalty(a, b, k);
        (x * scale, y * scale)
    };
    let (x00, y00) = table(&partner_pool, &partner_pool);
    let (x01, y01) = table(&partner_pool, &own_pool);
    let (x10, y10) = table(&own_pool, &partner_pool);
    let (x11, y11) = table(&own_pool, &own_pool);

    // The official code names the image's own saliency `unary1` and the partner's `unary2`;
    // showing the image itself costs the partner's saliency (cross-wiring, `docs/methods/puzzlemix.md`, *Block terms*).
    let cost_partner = unary_own.copy();
    let cost_own = unary_partner.copy();
    let n = blocks;
    let add = |t: &Tensor, dim: i64, start: i64, v: &Tensor| {
        let mut view = t.narrow(dim, start, n - 1);
        let _ = view.g_add_(v);
    };
    add(&cost_own, 1, 0, &((&x10 + &x11) / 2.0));
    add(&cost_partner, 1, 0, &((&x01 + &x00) / 2.0));
    add(&cost_own, 1, 1, &((&x01 + &x11) / 2.0));
    add(&cost_partner, 1, 1, &((&x10 + &x00) / 2.0));
    add(&cost_own, 2, 0, &((&y10 + &y11) / 2.0));
    add(&cost_partner, 2, 0, &((&y01 + &y00) / 2.0));
    add(&cost_own, 2, 1, &((&y01 + &y11) / 2.0));
    add(&cost_partner, 2, 1, &((&y10 + &y00) / 2.0));

    let vertical = (&x10 + &x01 - &x11 - &x00) / 2.0;
    let horizontal = (&y10 + &y01 - &y11 - &y00) / 2.0;
    BlockTerms {
        blocks: blocks as usize,
        cost_own: host(&cost_own),
        cost_partner: host(&cost_partner),
        vertical: host(&vertical),
        horizontal: host(&horizontal),
    }
}
