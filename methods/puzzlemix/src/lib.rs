//! Puzzle Mix (Kim, Choo and Song, "Puzzle Mix: Exploiting Saliency and Local Statistics for
//! Optimal Mixup", ICML 2020), as the official `mixup_graph` computes it (snu-mllab/PuzzleMix
//! `mixup.py`, driven by `main.py`; see `docs/methods/puzzlemix.md`), with the graph cuts and the transport in
//! native Rust.
//!
//! Per batch:
//! 1. Saliency pass (the engine): input gradient of the mean cross-entropy in eval mode,
//!    parameter gradients discarded (`clean_lam = 0`); with `clean_lam > 0`, train mode and
//!    `2 clean_lam CE / K` whose parameter gradients join the update. Saliency
//!    `sqrt(mean_c g^2)` ([`terms::saliency`]).
//! 2. Draws, in this order: with `adv_p > 0`, two Bernoulli(`adv_p`) switches and (if either
//!    is on) uniform noise of `adv_eps / 255` before the pass ([`MixMethod::perturbation`]),
//!    then the noise scale `c ~ U(0, 1)`; the block count `n` uniform among 2, 4, 8, 16 (those
//!    that divide the image size; unless `block_num` fixes it); the partner permutation;
//!    `lam ~ Beta(alpha, alpha)`.
//! 3. Block terms (`docs/methods/puzzlemix.md`, *Block terms*; [`terms`]): pooled saliency per block, boundary colour jumps,
//!    data costs with half of every boundary table, edge strengths.
//! 4. One multi-label graph cut per image ([`energy`]): GCO's alpha-beta swap on the
//!    reference's integer energies, solved by the shared solver in
//!    [`mixbench_core::graphcut`], images in parallel with rayon. Labels `l` in `0..L` give
//!    mask values `1 - l / (L - 1)` (label 0 = the image itself).
//! 5. Optional adversarial noise on the image and/or partner (`docs/methods/puzzlemix.md`, *Adversarial noise*).
//! 6. Transport (`docs/methods/puzzlemix.md`, *Transport*; [`transport`]) of the image's blocks into the locations it shows and
//!    of the partner's into the rest, at `min(t_size, block size)` pixels per block.
//! 7. `x_mix = m T(x) + (1 - m) T(x_pi)` with the mask `m` upsampled to pixels; the label
//!    weight `r_i = mean(m_i)`; target `r e(y) + (1 - r) e(y_pi)`.
//!
//! The solver is GCO's swap, not an exact solver, so that the labels are those of the
//! official code (the sink-side tie rule of [`mixbench_core::graphcut::maxflow`] is the one
//! GCO's max-flow applies). Deliberate deviation: energies are `i64`, where GCO's float mode
//! wraps data costs around in `i32` for blocks holding more than ~8% of an image's saliency
//! at `n = 16` (see `docs/methods/puzzlemix.md`, *Deviations*).
//!
//! Outputs: `mask` `[B, 1, H, W]` (weight of the transported image itself); extras
//! `block_labels` i64 `[B, n, n]` (graph-cut labels) and `block_num` i64 `[1]`.
//!
//! Defaults: [`PuzzleMixParams`], the official CIFAR commands (see `docs/methods/puzzlemix.md`,
//! *Parameters*).

pub mod energy;
pub mod terms;
pub mod transport;

use mixbench_core::graphcut::SwapSolver;
use mixbench_core::maps::HostTensor;
use mixbench_core::{
    batch, method_params, targets, Batch, Composition, MethodInfo, MixError, MixMethod, MixRng,
    MixSite, Mixed, Params, Perturbation, Result, SaliencyRequest,
};
use rayon::prelude::*;
use serde::de::{self, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tch::{Device, Tensor};

use energy::BlockProblem;
use transport::{Transport, TransportCosts};

/// Blocks per side of the label grid: drawn per batch as the official code does, or fixed.
/// Written `random` or an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockNum {
    /// 2, 4, 8 or 16, drawn per batch among those that divide the image size.
    Random,
    /// This many blocks per side (a divisor of the image size, at least 2).
    Fixed(usize),
}

impl From<BlockNum> for Option<usize> {
    fn from(n: BlockNum) -> Self {
        match n {
            BlockNum::Random => None,
            BlockNum::Fixed(n) => Some(n),
        }
    }
}

impl Serialize for BlockNum {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            BlockNum::Random => s.serialize_str("random"),
            BlockNum::Fixed(n) => s.serialize_u64(*n as u64),
        }
    }
}

impl<'de> Deserialize<'de> for BlockNum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct BlockNumVisitor;
        impl Visitor<'_> for BlockNumVisitor {
            type Value = BlockNum;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("random or an integer >= 2")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<BlockNum, E> {
                match v {
                    "random" => Ok(BlockNum::Random),
                    _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<BlockNum, E> {
                Ok(BlockNum::Fixed(v as usize))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<BlockNum, E> {
                u64::try_from(v)
                    .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
                    .and_then(|v| self.visit_u64(v))
            }
        }
        d.deserialize_any(BlockNumVisitor)
    }
}

/// Transport block size: the label block size, or a size in pixels. Written `-1` or a
/// positive integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportSize {
    /// The label block size (`-1`).
    LabelBlock,
    /// This many pixels per side (at least 1; capped at the label block size).
    Pixels(usize),
}

impl From<TransportSize> for Option<usize> {
    fn from(t: TransportSize) -> Self {
        match t {
            TransportSize::LabelBlock => None,
            TransportSize::Pixels(n) => Some(n),
        }
    }
}

impl Serialize for TransportSize {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            TransportSize::LabelBlock => s.serialize_i64(-1),
            TransportSize::Pixels(n) => s.serialize_u64(*n as u64),
        }
    }
}

impl<'de> Deserialize<'de> for TransportSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match i64::deserialize(d)? {
            -1 => Ok(TransportSize::LabelBlock),
            n if n >= 0 => Ok(TransportSize::Pixels(n as usize)),
            n => Err(de::Error::invalid_value(
                Unexpected::Signed(n),
                &"-1 or a positive integer",
            )),
        }
    }
}

method_params! {
    /// Parameters of [`PuzzleMix`] (`--set key=value`, suite files); the defaults are the
    /// official CIFAR commands (see docs/methods/puzzlemix.md).
    pub struct PuzzleMixParams for "puzzlemix" {
        /// Beta(alpha, alpha) parameter of the prior's lambda
        pub mixup_alpha: f64 = 1.0,
        /// blocks per side of the label grid: random (2, 4, 8 or 16 per batch, as the official code) or a fixed divisor of the image size
        pub block_num: BlockNum = BlockNum::Random,
        /// mixing levels per block (2, 3 or 4)
        pub n_labels: usize = 3,
        /// label smoothness weight
        pub beta: f64 = 1.2,
        /// data (boundary colour) smoothness weight
        pub gamma: f64 = 0.5,
        /// weight of the label prior
        pub eta: f64 = 0.2,
        /// pooling size of the boundary term (pixels)
        pub neigh_size: usize = 4,
        /// rearrange blocks by the optimal-transport step
        pub transport: bool = true,
        /// transport block size in pixels (-1: the label block size)
        pub t_size: TransportSize = TransportSize::Pixels(4),
        /// distance weight of the transport cost
        pub t_eps: f64 = 0.8,
        /// 0: saliency pass in eval mode, gradients discarded; > 0: train mode, loss 2 clean_lam CE / K added to the update
        pub clean_lam: f64 = 0.0,
        /// probability of adversarial noise on each of the two images
        pub adv_p: f64 = 0.0,
        /// adversarial noise bound in 1/255 pixel units
        pub adv_eps: f64 = 10.0,
    }
    fn validate(&self) -> mixbench_core::ParamResult<()> {
        if let BlockNum::Fixed(n) = self.block_num {
            if n < 2 {
                return Err(Self::bad("block_num", n, "random or an integer >= 2"));
            }
        }
        if !(2..=4).contains(&self.n_labels) {
            return Err(Self::bad("n_labels", self.n_labels, "2, 3 or 4"));
        }
        if self.neigh_size == 0 {
            return Err(Self::bad("neigh_size", 0, "a positive integer"));
        }
        if self.t_size == TransportSize::Pixels(0) {
            return Err(Self::bad("t_size", 0, "-1 or a positive integer"));
        }
        Self::in_range("mixup_alpha", self.mixup_alpha, 0.0, 1e6)?;
        Self::in_range("beta", self.beta, 0.0, 1e6)?;
        Self::in_range("gamma", self.gamma, 0.0, 1e6)?;
        Self::in_range("eta", self.eta, 0.0, 1e6)?;
        Self::in_range("t_eps", self.t_eps, 0.0, 1e6)?;
        Self::in_range("clean_lam", self.clean_lam, 0.0, 1e6)?;
        Self::in_range("adv_p", self.adv_p, 0.0, 1.0)?;
        Self::in_range("adv_eps", self.adv_eps, 0.0, 255.0)
    }
}

/// Puzzle Mix with the official CIFAR defaults.
#[derive(Clone, Debug)]
pub struct PuzzleMix {
    /// Beta parameter of `lam`.
    pub mixup_alpha: f64,
    /// Fixed blocks per side, or `None` for the official random draw.
    pub block_num: Option<usize>,
    /// Mixing levels per block.
    pub n_labels: usize,
    /// Label smoothness.
    pub beta: f64,
    /// Boundary smoothness.
    pub gamma: f64,
    /// Prior weight.
    pub eta: f64,
    /// Boundary pooling size.
    pub neigh_size: usize,
    /// Whether blocks are transported.
    pub transport: bool,
    /// Transport block size in pixels; `None` = the label block size (`t_size = -1`).
    pub t_size: Option<usize>,
    /// Distance weight of the transport cost.
    pub t_eps: f64,
    /// Clean-input regularisation weight.
    pub clean_lam: f64,
    /// Adversarial-noise probability.
    pub adv_p: f64,
    /// Adversarial-noise bound, 1/255 units.
    pub adv_eps: f64,
}

impl From<PuzzleMixParams> for PuzzleMix {
    fn from(p: PuzzleMixParams) -> Self {
        PuzzleMix {
            mixup_alpha: p.mixup_alpha,
            block_num: p.block_num.into(),
            n_labels: p.n_labels,
            beta: p.beta,
            gamma: p.gamma,
            eta: p.eta,
            neigh_size: p.neigh_size,
            transport: p.transport,
            t_size: p.t_size.into(),
            t_eps: p.t_eps,
            clean_lam: p.clean_lam,
            adv_p: p.adv_p,
            adv_eps: p.adv_eps,
        }
    }
}

impl Default for PuzzleMix {
    /// [`PuzzleMixParams`]' defaults.
    fn default() -> Self {
        PuzzleMixParams::default().into()
    }
}

/// Everything [`PuzzleMix::mix_with`] computed.
pub struct PuzzleOutput {
    /// The method's result.
    pub mixed: Mixed,
    /// Blocks per side used.
    pub block_num: usize,
    /// The prior's `lam`.
    pub lam: f64,
    /// Graph-cut labels, `[B * n * n]`, row-major per image.
    pub labels: Vec<usize>,
}

/// The draws and inputs of one mixing step, fixed by the caller or drawn.
pub struct Draws {
    /// Blocks per side.
    pub block_num: usize,
    /// Partner permutation, i64 `[B]`.
    pub perm: Tensor,
    /// The prior's `lam`.
    pub lam: f64,
    /// Final pixel-unit noise and whether the image / the partner receive it.
    pub noise: Option<(Tensor, bool, bool)>,
}

/// Pixel sizes of one mixing step.
struct Geometry {
    /// Image side.
    side: usize,
    /// Blocks per side.
    blocks: usize,
    /// Pooling size of the boundary term.
    neigh: usize,
    /// Transport block size.
    transport_size: usize,
}

/// What every image of one mixing step shares.
struct Step<'a> {
    channels: usize,
    side: usize,
    /// Blocks per side of the label grid.
    blocks: usize,
    /// The largest label, `L - 1` (mask value 0).
    top_label: f32,
    /// The transport's costs and block saliency `[B, N]`, when blocks are transported.
    transport: Option<StepTransport<'a>>,
}

/// The transport part of a [`Step`].
struct StepTransport<'a> {
    costs: TransportCosts,
    saliency: &'a [f32],
}

/// Per-worker solver state and buffers, reused across the images a worker mixes.
#[derive(Default)]
struct Worker {
    swap: SwapSolver,
    transport: Transport,
    block_mask: Vec<f32>,
    grid_mask: Vec<f32>,
    open: Vec<bool>,
    moved: [Vec<f32>; 2],
}

impl Worker {
    /// Solves one image's graph cut and writes its pixel mask `[H, W]` and mixed image
    /// `[C, H, W]`; `sources` are the image and its partner (pixels and batch index).
    fn mix_image(
        &mut self,
        step: &Step,
        problem: &BlockProblem,
        sources: [(&[f32], usize); 2],
        image: &mut [f32],
        mask: &mut [f32],
    ) -> Vec<usize> {
        let labels = problem.solve(&mut self.swap);
        self.block_mask.clear();
        self.block_mask
            .extend(labels.iter().map(|&l| 1.0 - l as f32 / step.top_label));
        upsample(&self.block_mask, step.blocks, step.side, mask);
        let Some(transport) = &step.transport else {
            blend(sources[0].0, sources[1].0, mask, image);
            return labels;
        };
        let width = transport.costs.width();
        let cells = width * width;
        self.grid_mask.resize(cells, 0.0);
        upsample(&self.block_mask, step.blocks, width, &mut self.grid_mask);
        for (k, (pixels, index)) in sources.into_iter().enumerate() {
            // The image's blocks go where the mask is positive, the partner's where `1 - m` is.
            self.open.clear();
            self.open.extend(self.grid_mask.iter().map(|&m| match k {
                0 => m > 0.0,
                _ => 1.0 - m > 0.0,
            }));
            let saliency = &transport.saliency[index * cells..(index + 1) * cells];
            let plan = self.transport.plan(&transport.costs, &self.open, saliency);
            self.moved[k].resize(pixels.len(), 0.0);
            transport::apply(
                pixels,
                step.channels,
                step.side,
                width,
                plan,
                &mut self.moved[k],
            );
        }
        blend(&self.moved[0], &self.moved[1], mask, image);
        labels
    }
}

impl PuzzleMix {
    fn error(&self, key: &str, value: impl ToString, expected: &str) -> MixError {
        mixbench_core::ParamError::BadValue {
            method: "puzzlemix".into(),
            key: key.into(),
            value: value.to_string(),
            expected: expected.into(),
        }
        .into()
    }

    /// Draws the step's randoms (after the perturbation): noise scale, block count,
    /// permutation, `lam`; a batch's fixed `perm` and `lam` replace the draws.
    pub fn draw(&self, batch: &Batch, rng: &mut MixRng) -> Result<Draws> {
        let noise = match &batch.perturbation {
            Some(p) => {
                let grad = batch.grad.as_ref().ok_or_else(|| self.missing_grad())?;
                let c = rng.uniform(0.0, 1.0);
                Some((
                    adversarial_noise(&p.noise, grad, self.adv_eps, c),
                    p.flags[0],
                    p.flags[1],
                ))
            }
            None => None,
        };
        let block_num = match self.block_num {
            Some(n) => n,
            None => {
                // The official draw, restricted to grids that divide the image (all four on
                // 32x32; 2 and 4 on mini-ImageNet's 84x84, where the reference would silently
                // drop the remainder pixels).
                let side = batch.images.size()[3] as usize;
                let grids: Vec<usize> = [2, 4, 8, 16]
                    .into_iter()
                    .filter(|n| side % n == 0)
                    .collect();
                if grids.is_empty() {
                    return Err(self.error("block_num", "random", &format!("a fixed divisor of the image size {side}: none of 2, 4, 8, 16 divides it")));
                }
                grids[rng.below(grids.len())]
            }
        };
        let perm = targets::partner(batch, rng)?;
        let lam = match batch.lam {
            Some(lam) => lam,
            None => rng.lambda(self.mixup_alpha),
        };
        Ok(Draws {
            block_num,
            perm,
            lam,
            noise,
        })
    }

    fn missing_grad(&self) -> MixError {
        MixError::MissingInput {
            method: "puzzlemix".into(),
            input: "grad".into(),
            why:
                "Puzzle Mix's saliency is the gradient of the loss with respect to the input images"
                    .into(),
        }
    }

    /// Checks that the images and the settings fit together for `n` blocks per side.
    fn geometry(&self, batch: &Batch, n: usize) -> Result<Geometry> {
        let size = batch.images.size();
        let (h, w) = (size[2], size[3]);
        if h != w {
            return Err(MixError::Shape(format!(
                "Puzzle Mix needs square images, got {h}x{w}"
            )));
        }
        let side = w as usize;
        if n < 2 || side % n != 0 {
            return Err(self.error(
                "block_num",
                n,
                &format!("a divisor of the image size {side}, at least 2"),
            ));
        }
        let block_size = side / n;
        // The official sizes when they divide the block (always on 32x32); otherwise the
        // largest divisor below them (e.g. 3 for 84x84 images), where the reference would drop
        // the remainder pixels of every block.
        let divisor_up_to = |limit: usize| {
            (1..=limit.min(block_size))
                .rev()
                .find(|d| block_size % d == 0)
                .unwrap_or(1)
        };
        let neigh = divisor_up_to(self.neigh_size);
        let transport_size = divisor_up_to(self.t_size.unwrap_or(block_size));
        Ok(Geometry {
            side,
            blocks: n,
            neigh,
            transport_size,
        })
    }

    /// The graph-cut problem of every image of the batch (`docs/methods/puzzlemix.md`, *Block terms* to *Graph cut*), in batch order, for
    /// the saliency map `s` `[B, H, W]`.
    pub fn block_problems(
        &self,
        batch: &Batch,
        s: &Tensor,
        draws: &Draws,
    ) -> Result<Vec<BlockProblem>> {
        batch.validate()?;
        let geometry = self.geometry(batch, draws.block_num)?;
        let host = terms::HostBatch::new(&batch.images, s, &batch.mean, &batch.std);
        Ok(self.problems(&host, draws, &geometry))
    }

    fn problems(&self, host: &terms::HostBatch, draws: &Draws, g: &Geometry) -> Vec<BlockProblem> {
        let n = g.blocks;
        let beta = self.beta / n as f64 / 16.0;
        let terms = terms::block_terms(
            host,
            &draws.perm,
            terms::TermSettings {
                blocks: n as i64,
                beta,
                gamma: self.gamma,
                neigh: g.neigh as i64,
            },
        );
        let (cells, v) = (n * n, (n - 1) * n);
        (0..host.len)
            .map(|i| {
                BlockProblem::new(
                    &terms.cost_own[i * cells..(i + 1) * cells],
                    &terms.cost_partner[i * cells..(i + 1) * cells],
                    &terms.vertical[i * v..(i + 1) * v],
                    &terms.horizontal[i * v..(i + 1) * v],
                    n,
                    self.n_labels,
                    draws.lam,
                    beta,
                    self.eta,
                )
            })
            .collect()
    }

    /// Mixes a batch with given draws, the saliency taken from the batch's input gradient.
    pub fn mix_with_draws(&self, batch: &Batch, draws: &Draws) -> Result<PuzzleOutput> {
        let grad = batch.grad.as_ref().ok_or_else(|| self.missing_grad())?;
        self.mix_with_saliency(batch, &terms::saliency(grad), draws)
    }

    /// Mixes a batch with given draws and a given saliency map `s` `[B, H, W]` (the official
    /// `mixup_graph`'s `grad1` argument).
    pub fn mix_with_saliency(
        &self,
        batch: &Batch,
        s: &Tensor,
        draws: &Draws,
    ) -> Result<PuzzleOutput> {
        batch.validate()?;
        let size = batch.images.size();
        let (b, c, h, w) = (size[0], size[1], size[2], size[3]);
        let n = draws.block_num;
        let geometry = self.geometry(batch, n)?;
        let (side, t) = (geometry.side, geometry.transport_size);
        let device = batch.images.device();
        let host = terms::HostBatch::new(&batch.images, s, &batch.mean, &batch.std);
        let problems = self.problems(&host, draws, &geometry);
        let perm_host = Vec::<i64>::try_from(draws.perm.to_device(Device::Cpu))?;

        // Images as mixed: the clean batch, or with the adversarial noise
        // (`docs/methods/puzzlemix.md`, *Adversarial noise*; element-wise, so the partner's noisy
        // image is the noisy image at the partner's index).
        let noisy = match &draws.noise {
            Some((noise, own, partner)) if *own || *partner => {
                let pixels = batch::to_pixels(&batch.images, &batch.mean, &batch.std) + noise;
                terms::host(&batch::from_pixels(
                    &pixels.clamp(0.0, 1.0),
                    &batch.mean,
                    &batch.std,
                ))
            }
            _ => Vec::new(),
        };
        let (own_source, partner_source) = match &draws.noise {
            Some((_, own, partner)) => (
                if *own { &noisy[..] } else { host.images() },
                if *partner { &noisy[..] } else { host.images() },
            ),
            None => (host.images(), host.images()),
        };
        let transport_grid = side / t;
        let transport_saliency = if self.transport {
            terms::host(&host.pooled_distribution(t))
        } else {
            Vec::new()
        };
        let step = Step {
            channels: c as usize,
            side,
            blocks: n,
            top_label: (self.n_labels - 1) as f32,
            transport: self.transport.then(|| StepTransport {
                costs: TransportCosts::new(transport_grid, self.t_eps),
                saliency: &transport_saliency,
            }),
        };

        let (px, plane) = (c as usize * side * side, side * side);
        let mut images = HostTensor::empty(&[b, c, h, w]);
        let mut masks = HostTensor::empty(&[b, 1, h, w]);
        let results: Vec<(Vec<usize>, f32)> = problems
            .par_iter()
            .zip(images.as_mut_slice().par_chunks_mut(px))
            .zip(masks.as_mut_slice().par_chunks_mut(plane))
            .enumerate()
            .map_init(Worker::default, |worker, (i, ((problem, image), mask))| {
                let p = perm_host[i] as usize;
                let sources = [
                    (&own_source[i * px..(i + 1) * px], i),
                    (&partner_source[p * px..(p + 1) * px], p),
                ];
                let labels = worker.mix_image(&step, problem, sources, image, mask);
                // Mask values are multiples of 1/2, so every sum and mean is exact in any order.
                (labels, mask.iter().sum::<f32>() / plane as f32)
            })
            .collect();

        let mut labels = Vec::with_capacity(b as usize * n * n);
        let mut ratios = Vec::with_capacity(b as usize);
        for (l, r) in results {
            labels.extend(l);
            ratios.push(r);
        }
        let mask = masks.into_tensor().to_device(device);
        let ratio = Tensor::from_slice(&ratios).to_device(device);
        let label_tensor: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
        let mixed = Mixed {
            site: MixSite::Input,
            images: images.into_tensor().to_device(device),
            targets: targets::pairwise(&batch.labels, &draws.perm, &ratio, batch.num_classes),
            mask: Some(mask),
            lam: ratio,
            perm: draws.perm.shallow_clone(),
            extras: vec![
                (
                    "block_labels".into(),
                    Tensor::from_slice(&label_tensor).view([b, n as i64, n as i64]),
                ),
                ("block_num".into(), Tensor::from_slice(&[n as i64])),
            ],
        };
        Ok(PuzzleOutput {
            mixed,
            block_num: n,
            lam: draws.lam,
            labels,
        })
    }

    /// Draws and mixes.
    pub fn mix_with(&self, batch: &Batch, rng: &mut MixRng) -> Result<PuzzleOutput> {
        let draws = self.draw(batch, rng)?;
        self.mix_with_draws(batch, &draws)
    }
}

/// The official noise update after the saliency pass (`docs/methods/puzzlemix.md`, *Adversarial noise*, step 2): `noise + (adv_eps +
/// 2)/255 sign(g)`, clamped to `adv_eps / 255`, times `c`.
pub fn adversarial_noise(noise: &Tensor, grad: &Tensor, adv_eps: f64, c: f64) -> Tensor {
    let bound = adv_eps / 255.0;
    ((noise + grad.sign() * ((adv_eps + 2.0) / 255.0)).clamp(-bound, bound)) * c
}

/// Nearest-neighbour upsampling of an `n x n` block map to the `side x side` map `out`
/// (exact replication).
fn upsample(blocks: &[f32], n: usize, side: usize, out: &mut [f32]) {
    let k = side / n;
    for (r, row) in out.chunks_mut(side).enumerate() {
        let source = &blocks[r / k * n..(r / k + 1) * n];
        for (run, &value) in row.chunks_mut(k).zip(source) {
            run.fill(value);
        }
    }
}

/// `m a + (1 - m) b` per pixel and channel (`[C, H, W]` images, `[H, W]` mask), in the
/// official f32 order.
fn blend(a: &[f32], b: &[f32], mask: &[f32], out: &mut [f32]) {
    let plane = mask.len();
    let planes = out
        .chunks_mut(plane)
        .zip(a.chunks(plane))
        .zip(b.chunks(plane));
    for ((out, a), b) in planes {
        for (((o, &a), &b), &m) in out.iter_mut().zip(a).zip(b).zip(mask) {
            *o = m * a + (1.0 - m) * b;
        }
    }
}

impl MixMethod for PuzzleMix {
    fn name(&self) -> &'static str {
        "puzzlemix"
    }

    fn saliency(&self) -> Option<SaliencyRequest> {
        Some(SaliencyRequest::clean_input(self.clean_lam))
    }

    fn saliency_map(&self, batch: &Batch) -> Result<Option<Tensor>> {
        let grad = batch.grad.as_ref().ok_or_else(|| self.missing_grad())?;
        Ok(Some(terms::saliency(grad)))
    }

    fn composition(&self) -> Composition {
        if self.transport || self.adv_p > 0.0 {
            Composition::Transformed
        } else {
            Composition::Blend
        }
    }

    fn perturbation(&self, batch: &Batch, rng: &mut MixRng) -> Result<Option<Perturbation>> {
        if self.adv_p <= 0.0 {
            return Ok(None);
        }
        let (own, partner) = (rng.bernoulli(self.adv_p), rng.bernoulli(self.adv_p));
        if !own && !partner {
            return Ok(None);
        }
        let bound = self.adv_eps / 255.0;
        let size = batch.images.size();
        let mut values = vec![0.0f32; size.iter().product::<i64>() as usize];
        values
            .iter_mut()
            .for_each(|v| *v = rng.uniform(-bound, bound) as f32);
        let raw = Tensor::from_slice(&values)
            .view(size.as_slice())
            .to_device(batch.images.device());
        Ok(Some(Perturbation::clamped(
            &batch.images,
            &raw,
            &batch.mean,
            &batch.std,
            vec![own, partner],
        )))
    }

    fn mix(&self, batch: &Batch, rng: &mut MixRng) -> Result<Mixed> {
        Ok(self.mix_with(batch, rng)?.mixed)
    }
}

/// Builds [`PuzzleMix`] from `key=value` parameters (read as [`PuzzleMixParams`]).
pub fn from_params(params: &Params) -> Result<PuzzleMix> {
    Ok(params.typed::<PuzzleMixParams>()?.into())
}

/// Registry entry of [`PuzzleMix`].
pub fn info() -> MethodInfo {
    MethodInfo::of::<PuzzleMixParams, PuzzleMix>(
        "Puzzle Mix (Kim et al., ICML 2020): per-block mixing levels by a multi-label graph cut on saliency and boundary terms, blocks rearranged by transport",
    )
}
