//! Co-Mixup (Kim, Choo, Jeong and Song, "Co-Mixup: Saliency Guided Joint Mixup with
//! Supermodular Diversity", ICLR 2021), as the official code computes it (snu-mllab/Co-Mixup
//! `main.py`, `mixup.py`, `match.py`; see `docs/methods/comixup.md`), with the optimisation in native Rust.
//!
//! Per batch:
//! 1. Saliency pass (the engine): train mode, loss `2 clean_lam CE / K` (batch mean), its
//!    parameter gradients added to the update; with `clean_lam = 0`, eval mode and plain CE,
//!    gradients discarded. Saliency `sqrt(mean_c g^2)` `[B, H, W]`.
//! 2. Compatibility: each image's most salient `8 x 8` window (first argmax of a stride-1
//!    average pool), L1 distances between those positions ([`compatibility_distance`]).
//! 3. The batch is cut into consecutive partitions of `m_part` images; per partition (in
//!    parallel with rayon): pooled normalised saliency on an `m_block_num^2` grid, `A = (1 -
//!    omega) I + omega D^`, a Dirichlet prior, an initial labelling, then the iterative
//!    algorithm of [`solve`] (GCO swap graph cuts from [`mixbench_core::graphcut`]).
//! 4. Outputs `x_o = sum_j Z_up[o, j] x_j` and targets `(1/16) sum_p sum_j Z[o, p, j] e(y_j)`,
//!    exactly as the reference's `mix_input` forms them (tensor ops on the batch's device).
//!
//! Draws, per partition in order: the Dirichlet weights, then the initial labelling (unless
//! the batch's `init` fixes it). Each partition draws independently, where the reference's
//! parallel mode gives every partition the same draws (`docs/methods/comixup.md`, *Random draws*): a deliberate fix.
//! The grid is fixed by `m_block_num` (the reference's `-1`, a random grid per batch, is not
//! offered: no published command uses it).
//!
//! Deliberate fixes (`docs/methods/comixup.md`, *Deviations*): an all-zero distance block gives `A = I` (the reference: NaN);
//! a short last partition uses its own size (the reference crashes); energies are `i64`.
//!
//! Outputs: no mask and no own image (`lam` is each output's largest label weight, `perm`
//! the identity); extras `assign` f32 `[B, g, g, B]` (block weights of every input in every
//! output, zero across partitions) and `objective` f32 `[partitions]` (the `F` of `docs/methods/comixup.md`, *Objective*, reached).

pub mod solve;

use mixbench_core::maps::{self, HostTensor, HostView};
use mixbench_core::{
    method_params, Batch, Composition, MethodInfo, MixError, MixMethod, MixRng, MixSite, Mixed,
    Params, Result, SaliencyRequest,
};
use rayon::prelude::*;
use tch::{Device, Kind, Tensor};

use solve::{Partition, Penalty, Settings, Workspace};

method_params! {
    /// Parameters of [`CoMixup`] (`--set key=value`, suite files); the defaults are the
    /// official CIFAR-100 command (see docs/methods/comixup.md).
    pub struct CoMixupParams for "comixup" {
        /// images per partition (solved jointly)
        pub m_part: usize = 20,
        /// blocks per side of the label grid
        pub m_block_num: usize = 4,
        /// Dirichlet parameter of the prior
        pub mixup_alpha: f64 = 2.0,
        /// weight of the clean-input loss of the saliency pass (2 clean_lam CE / K, added to the update); 0: eval-mode pass, gradients discarded
        pub clean_lam: f64 = 1.0,
        /// label smoothness
        pub m_beta: f64 = 0.32,
        /// diversity (supermodular) weight
        pub m_gamma: f64 = 1.0,
        /// usage threshold, fraction of an image
        pub m_thres: f64 = 0.83,
        /// hard (the reference's penalty, operator precedence included), hard_intended (2 gamma over_j (A tot)_j) or soft
        pub m_thres_type: Penalty = Penalty::Reference,
        /// weight of the Dirichlet prior
        pub m_eta: f64 = 0.05,
        /// weight of the compatibility distances in A
        pub m_omega: f64 = 0.001,
        /// penalise identical outputs before the last iteration
        pub set_resolve: bool = true,
        /// outer iterations
        pub m_niter: usize = 4,
    }
    fn validate(&self) -> mixbench_core::ParamResult<()> {
        for (key, value) in [
            ("m_part", self.m_part),
            ("m_block_num", self.m_block_num),
            ("m_niter", self.m_niter),
        ] {
            if value == 0 {
                return Err(Self::bad(key, 0, "a positive integer"));
            }
        }
        Self::in_range("mixup_alpha", self.mixup_alpha, 0.0, 1e6)?;
        if self.mixup_alpha <= 0.0 {
            return Err(Self::bad("mixup_alpha", self.mixup_alpha, "a positive Dirichlet parameter"));
        }
        Self::in_range("clean_lam", self.clean_lam, 0.0, 1e6)?;
        Self::in_range("m_eta", self.m_eta, 0.0, 1e6)?;
        Self::in_range("m_omega", self.m_omega, 0.0, 1.0)?;
        Self::in_range("m_beta", self.m_beta, 0.0, 1e6)?;
        Self::in_range("m_gamma", self.m_gamma, 0.0, 1e6)?;
        Self::in_range("m_thres", self.m_thres, 0.0, 1e6)
    }
}

/// Co-Mixup with the official CIFAR-100 defaults.
#[derive(Clone, Debug)]
pub struct CoMixup {
    /// Images per partition.
    pub m_part: usize,
    /// Blocks per side.
    pub m_block_num: usize,
    /// Dirichlet parameter.
    pub mixup_alpha: f64,
    /// Clean-input regularisation weight.
    pub clean_lam: f64,
    /// Prior weight.
    pub m_eta: f64,
    /// Compatibility weight.
    pub m_omega: f64,
    /// The optimisation's settings.
    pub settings: Settings,
}

impl From<CoMixupParams> for CoMixup {
    fn from(p: CoMixupParams) -> Self {
        CoMixup {
            m_part: p.m_part,
            m_block_num: p.m_block_num,
            mixup_alpha: p.mixup_alpha,
            clean_lam: p.clean_lam,
            m_eta: p.m_eta,
            m_omega: p.m_omega,
            settings: Settings {
                beta: p.m_beta,
                gamma: p.m_gamma,
                thres: p.m_thres,
                penalty: p.m_thres_type,
                set_resolve: p.set_resolve,
                niter: p.m_niter,
            },
        }
    }
}

impl Default for CoMixup {
    /// [`CoMixupParams`]' defaults.
    fn default() -> Self {
        CoMixupParams::default().into()
    }
}

/// Co-Mixup's saliency `sqrt(mean_c g^2)`, f32 `[B, H, W]`, from the input gradient.
pub fn saliency(grad: &Tensor) -> Tensor {
    maps::channel_rms(grad)
}

/// L1 distances between the images' most salient `8 x 8` windows (`main.py`): f32 `[B, B]`
/// from the saliency `[B, H, W]`.
pub fn compatibility_distance(s: &Tensor) -> Tensor {
    let size = s.size();
    let (b, side) = (size[0] as usize, size[2] as usize);
    let z: Vec<f32> = host(s)
        .par_chunks(side * side)
        .flat_map_iter(|plane| maps::avg_pool(plane, side, side, 8, 1))
        .collect();
    let z_side = side - 7;
    let peaks: Vec<(f32, f32)> = z
        .chunks(z_side * z_side)
        .map(|window| {
            // First maximum, as torch.argmax.
            let k = window
                .iter()
                .enumerate()
                .fold(0, |best, (k, &v)| if v > window[best] { k } else { best });
            ((k / z_side) as f32, (k % z_side) as f32)
        })
        .collect();
    let d: Vec<f32> = (0..b * b)
        .map(|k| {
            let (p, q) = (peaks[k / b], peaks[k % b]);
            (p.0 - q.0).abs() + (p.1 - q.1).abs()
        })
        .collect();
    Tensor::from_slice(&d).view([b as i64, b as i64])
}

/// Host copy of a float tensor.
fn host(t: &Tensor) -> Vec<f32> {
    maps::host_f32(t)
}

/// Everything [`CoMixup::mix_with`] computed.
pub struct CoMixupOutput {
    /// The method's result.
    pub mixed: Mixed,
    /// Per partition: the objective after initialisation and after each outer iteration.
    pub objectives: Vec<Vec<f64>>,
}

impl CoMixup {
    fn missing_grad() -> MixError {
        MixError::MissingInput {
            method: "comixup".into(),
            input: "grad".into(),
            why: "Co-Mixup's saliency is the gradient of the loss with respect to the input images"
                .into(),
        }
    }

    /// Mixes a batch. The batch's `init` (`[B, g, g]` input indices local to each partition)
    /// fixes the initial labelling; drawn when absent.
    pub fn mix_with(&self, batch: &Batch, rng: &mut MixRng) -> Result<CoMixupOutput> {
        let grad = batch.grad.as_ref().ok_or_else(Self::missing_grad)?;
        let s = saliency(grad);
        self.mix_with_maps(batch, &s, &compatibility_distance(&s), rng)
    }

    /// Mixes a batch from a given saliency map `s` `[B, H, W]` and compatibility distances
    /// `[B, B]` (the official `mixup_process`'s `sc` and `A_dist`).
    pub fn mix_with_maps(
        &self,
        batch: &Batch,
        s: &Tensor,
        distance: &Tensor,
        rng: &mut MixRng,
    ) -> Result<CoMixupOutput> {
        batch.validate()?;
        let size = batch.images.size();
        let (b, h, w) = (size[0] as usize, size[2], size[3]);
        let m = self.m_block_num;
        if h != w || w as usize % m != 0 {
            return Err(mixbench_core::ParamError::BadValue {
                method: "comixup".into(),
                key: "m_block_num".into(),
                value: m.to_string(),
                expected: format!("a divisor of the (square) image size, got {h}x{w} images"),
            }
            .into());
        }
        let blocks = m * m;
        let init = match &batch.init {
            Some(t) => {
                let values = Vec::<i64>::try_from(
                    t.to_device(Device::Cpu).to_kind(Kind::Int64).flatten(0, -1),
                )?;
                if t.size() != [b as i64, m as i64, m as i64] {
                    return Err(MixError::Shape(format!(
                        "init must be i64 [{b}, {m}, {m}], got {:?}",
                        t.size()
                    )));
                }
                Some(values)
            }
            None => None,
        };
        let distance = host(distance);
        let block_size = w as usize / m;
        let pooled = maps::avg_pool(&host(s), w as usize, w as usize, block_size, block_size);
        let pooled = Tensor::from_slice(&pooled).view([b as i64, m as i64, m as i64]);

        // Partition set-up on the host, draws in partition order.
        let mut problems = Vec::new();
        for start in (0..b).step_by(self.m_part.max(1)) {
            let n = self.m_part.min(b - start);
            let part = pooled.narrow(0, start as i64, n as i64);
            let norm = &part
                / part
                    .reshape([n as i64, -1])
                    .sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
                    .reshape([n as i64, 1, 1]);
            let alpha = rng.dirichlet(self.mixup_alpha, n);
            let eta = self.m_eta / m as f64 / m as f64;
            let prior = (Tensor::from_slice(&alpha) + 1e-8).log() * eta;
            let cost = host(&(-norm - prior.reshape([n as i64, 1, 1])));
            let labelling: Vec<usize> = match &init {
                Some(values) => {
                    let local = &values[start * blocks..(start + n) * blocks];
                    if let Some(bad) = local.iter().find(|&&v| v < 0 || v as usize >= n) {
                        return Err(MixError::Shape(format!(
                            "init value {bad} is not an input index of its partition of {n}"
                        )));
                    }
                    local.iter().map(|&v| v as usize).collect()
                }
                None => (0..n * blocks).map(|_| rng.below(n)).collect(),
            };
            problems.push((
                start,
                compat(&distance, b, start, n, self.m_omega),
                Partition {
                    n,
                    grid: m,
                    cost,
                    compat: Vec::new(),
                },
                labelling,
            ));
        }
        let settings = self.settings;
        let solutions: Vec<_> = problems
            .into_par_iter()
            .map_init(
                Workspace::default,
                |work, (start, compat, mut problem, labelling)| {
                    problem.compat = compat;
                    (
                        start,
                        problem.n,
                        solve::solve(&problem, &settings, &labelling, work),
                    )
                },
            )
            .collect();

        // Global assignment [B_out, g, g, B_in], zero across partitions.
        let mut assign = HostTensor::empty(&[b as i64, m as i64, m as i64, b as i64]);
        let values = assign.as_mut_slice();
        values.fill(0.0);
        let mut objectives = Vec::new();
        for (start, n, solution) in &solutions {
            for o in 0..*n {
                for q in 0..blocks {
                    let row = (start + o) * blocks + q;
                    values[row * b + start..row * b + start + n].copy_from_slice(
                        &solution.assign[(o * blocks + q) * n..(o * blocks + q + 1) * n],
                    );
                }
            }
            objectives.push(solution.objectives.clone());
        }
        let device = batch.images.device();
        let bi = b as i64;
        let assign = assign.into_tensor().to_device(device);
        let (images, targets) = if device == Device::Cpu {
            let labels = Vec::<i64>::try_from(batch.labels.to_kind(Kind::Int64))?;
            (
                self.mix_on_host(&batch.images, &solutions),
                host_targets(&labels, batch.num_classes as usize, &solutions),
            )
        } else {
            let (mut images, mut targets) = (Vec::new(), Vec::new());
            for (start, n, _) in &solutions {
                let (s0, n) = (*start as i64, *n as i64);
                let z = assign.narrow(0, s0, n).narrow(3, s0, n);
                let y = batch
                    .labels
                    .narrow(0, s0, n)
                    .one_hot(batch.num_classes)
                    .to_kind(Kind::Float);
                let (x, t) = mix_input(&z, &batch.images.narrow(0, s0, n), &y);
                images.push(x);
                targets.push(t);
            }
            (Tensor::cat(&images, 0), Tensor::cat(&targets, 0))
        };
        let reached: Vec<f32> = objectives
            .iter()
            .map(|o| *o.last().expect("initial objective") as f32)
            .collect();
        let mixed = Mixed {
            site: MixSite::Input,
            images,
            lam: targets.amax([1i64].as_slice(), false),
            targets,
            mask: None,
            perm: Tensor::arange(bi, (Kind::Int64, device)),
            extras: vec![
                ("assign".into(), assign),
                ("objective".into(), Tensor::from_slice(&reached)),
            ],
        };
        Ok(CoMixupOutput { mixed, objectives })
    }
}

impl CoMixup {
    /// The mixed images of all partitions on the host (`[B, C, H, W]`, CPU), partitions in
    /// parallel.
    fn mix_on_host(
        &self,
        images: &Tensor,
        solutions: &[(usize, usize, solve::Solution)],
    ) -> Tensor {
        let size = images.size();
        let (channels, side) = (size[1] as usize, size[3] as usize);
        let px = channels * side * side;
        let x = HostView::new(images);
        let x = x.as_slice();
        let mut out = HostTensor::empty(&size);
        out.as_mut_slice()
            .par_chunks_mut(self.m_part.max(1) * px)
            .zip(solutions)
            .for_each(|(out, (start, n, solution))| {
                let inputs = &x[start * px..(start + n) * px];
                mix_blocks(
                    &solution.assign,
                    self.m_block_num,
                    inputs,
                    channels,
                    side,
                    out,
                );
            });
        out.into_tensor()
    }
}

/// `A = (1 - omega) I + omega D^` of one partition, `D^ = D n / sum(D)` (f32 as the
/// reference); `A = I` when all distances are 0 (the reference divides by zero).
fn compat(distance: &[f32], b: usize, start: usize, n: usize, omega: f64) -> Vec<f32> {
    let block: Vec<f32> = (0..n * n)
        .map(|k| distance[(start + k / n) * b + start + k % n])
        .collect();
    let total: f32 = block.iter().sum();
    let (keep, mix) = ((1.0 - omega) as f32, omega as f32);
    (0..n * n)
        .map(|k| {
            let eye = if k / n == k % n { 1.0 } else { 0.0 };
            if total == 0.0 {
                eye
            } else {
                keep * eye + mix * (block[k] / total * n as f32)
            }
        })
        .collect()
}

/// The reference's `mix_input`: outputs `sum_j Z_up[o, :, :, j] x_j` and targets, from block
/// weights `z` `[n_out, g, g, n_in]`, images `[n_in, C, H, W]` and one-hot labels `[n_in, K]`.
pub fn mix_input(z: &Tensor, images: &Tensor, one_hot: &Tensor) -> (Tensor, Tensor) {
    let side = images.size()[3];
    let up = z
        .permute([0, 3, 1, 2])
        .upsample_nearest2d([side, side], None, None);
    let output = (up.unsqueeze(2) * images.unsqueeze(0)).sum_dim_intlist(
        [1i64].as_slice(),
        false,
        Kind::Float,
    );
    (output, soft_targets(z, one_hot))
}

/// The targets of `mix_input`: block-summed label weights, normalised per output.
pub fn soft_targets(z: &Tensor, one_hot: &Tensor) -> Tensor {
    let (n_out, g, k) = (z.size()[0], z.size()[1], one_hot.size()[1]);
    let target = z
        .matmul(one_hot)
        .reshape([n_out, g * g, k])
        .sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
    &target / target.sum_dim_intlist([1i64].as_slice(), true, Kind::Float)
}

/// The targets of `mix_input` for every partition on the host, `[B, K]` (CPU), bit for bit
/// with [`soft_targets`] without its matrix product (MKL's, which opens a parallel region):
/// block weights are 0, 1/2 or 1, so every product and sum of the reference is exact in any
/// order, and the one rounding is the final division by the row total (16 blocks).
fn host_targets(
    labels: &[i64],
    classes: usize,
    solutions: &[(usize, usize, solve::Solution)],
) -> Tensor {
    let mut targets = HostTensor::empty(&[labels.len() as i64, classes as i64]);
    let rows = targets.as_mut_slice();
    rows.fill(0.0);
    for (start, n, solution) in solutions {
        let blocks = solution.assign.len() / (n * n);
        for o in 0..*n {
            let row = &mut rows[(start + o) * classes..(start + o + 1) * classes];
            let z = &solution.assign[o * blocks * n..(o + 1) * blocks * n];
            for (k, &w) in z.iter().enumerate() {
                if w != 0.0 {
                    row[labels[start + k % n] as usize] += w;
                }
            }
            let total: f32 = row.iter().sum();
            row.iter_mut().for_each(|t| *t /= total);
        }
    }
    targets.into_tensor()
}

/// The images of `mix_input` on the host, bit for bit: every block shows one input, or
/// `0.5 x_a + 0.5 x_b` (the reference's sum over inputs adds only zeros besides these).
/// `weights` `[n_out, g, g, n_in]`, `images` `[n_in, C, H, W]` (`side = H = W`); writes the
/// outputs `[n_out, C, H, W]` to `out`, all row-major.
fn mix_blocks(
    weights: &[f32],
    g: usize,
    images: &[f32],
    channels: usize,
    side: usize,
    out: &mut [f32],
) {
    let plane = side * side;
    let px = channels * plane;
    let (n_out, n_in) = (out.len() / px, images.len() / px);
    let bs = side / g;
    let mut used: Vec<(usize, f32)> = Vec::with_capacity(n_in);
    for o in 0..n_out {
        for q in 0..g * g {
            let row = &weights[(o * g * g + q) * n_in..(o * g * g + q + 1) * n_in];
            used.clear();
            used.extend(
                row.iter()
                    .enumerate()
                    .filter(|(_, &w)| w != 0.0)
                    .map(|(j, &w)| (j, w)),
            );
            let (r0, c0) = (q / g * bs, q % g * bs);
            for ch in 0..channels {
                for r in r0..r0 + bs {
                    for col in c0..c0 + bs {
                        let p = ch * plane + r * side + col;
                        out[o * px + p] = used
                            .iter()
                            .fold(0.0f32, |acc, &(j, w)| acc + w * images[j * px + p]);
                    }
                }
            }
        }
    }
}

impl MixMethod for CoMixup {
    fn name(&self) -> &'static str {
        "comixup"
    }

    fn saliency(&self) -> Option<SaliencyRequest> {
        Some(SaliencyRequest::clean_input(self.clean_lam))
    }

    fn saliency_map(&self, batch: &Batch) -> Result<Option<Tensor>> {
        let grad = batch.grad.as_ref().ok_or_else(Self::missing_grad)?;
        Ok(Some(saliency(grad)))
    }

    fn composition(&self) -> Composition {
        Composition::Joint
    }

    fn mix(&self, batch: &Batch, rng: &mut MixRng) -> Result<Mixed> {
        Ok(self.mix_with(batch, rng)?.mixed)
    }
}

/// Builds [`CoMixup`] from `key=value` parameters (read as [`CoMixupParams`]).
pub fn from_params(params: &Params) -> Result<CoMixup> {
    Ok(params.typed::<CoMixupParams>()?.into())
}

/// Registry entry of [`CoMixup`].
pub fn info() -> MethodInfo {
    MethodInfo::of::<CoMixupParams, CoMixup>(
        "Co-Mixup (Kim et al., ICLR 2021): each output mixes many inputs of its partition, block assignments from a batch-level submodular objective solved by graph cuts",
    )
}
