//! The per-partition optimisation of the official `get_onehot_matrix` (Co-Mixup `match.py`,
//! see `docs/methods/comixup.md`, *Partition set-up* to *Resolving identical outputs*), native: iterative submodular minimisation with a thresholded modular
//! penalty, each output labelled by a multi-label graph cut (GCO's alpha-beta swap through
//! [`mixbench_core::graphcut`]), label resolution, stopping rule.
//!
//! Arithmetic follows the reference: the costs, the penalty and the graph-cut unaries are f32,
//! the cut's energies are quantised as pyGCO's float mode does (data `trunc(100000 u)`, edge
//! weight `trunc(1000 beta')`, table `x 100`), but kept in `i64`. The objective is evaluated in
//! f64 (the reference: f32 torch reductions; only the stopping test reads it).
//!
//! With three or more inputs in use the reference keeps the three with the largest counts by
//! `torch.topk`, whose choice among equal counts is unspecified; this port calls libtorch's
//! `topk` on the same f32 counts so that ties fall the same way.

use mixbench_core::graphcut::{GridEnergy, SwapSolver};

/// One partition: `n` inputs mixed into `n` outputs on a `grid x grid` block map.
#[derive(Clone, Debug)]
pub struct Partition {
    /// Inputs (= outputs).
    pub n: usize,
    /// Blocks per side.
    pub grid: usize,
    /// Block cost of each input, `[n, grid^2]`: `-s^_j(p) - eta' ln(alpha_j + 1e-8)`.
    pub cost: Vec<f32>,
    /// Compatibility matrix `A`, `[n, n]`.
    pub compat: Vec<f32>,
}

/// How the modular penalty is formed (see `docs/methods/comixup.md`, *Modular penalty*); the
/// `m_thres_type` parameter, written `hard`, `hard_intended` or `soft`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Penalty {
    /// The reference's hard threshold with its operator precedence:
    /// `2 gamma' sum_k A[j, k] over_k tot_k` (`hard`).
    #[serde(rename = "hard")]
    Reference,
    /// The evident intent of the hard threshold: `2 gamma' over_j (A tot)_j`
    /// (`hard_intended`).
    #[serde(rename = "hard_intended")]
    Intended,
    /// Soft threshold: `2 gamma' over_j ((A tot)_j - tau')` (`soft`).
    #[serde(rename = "soft")]
    Soft,
}

/// The algorithm's settings, unscaled (as on the command line).
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Label smoothness `m_beta`.
    pub beta: f64,
    /// Diversity weight `m_gamma`.
    pub gamma: f64,
    /// Usage threshold `m_thres` (fraction of an image).
    pub thres: f64,
    /// Penalty form.
    pub penalty: Penalty,
    /// Resolve identical outputs before the last iteration.
    pub set_resolve: bool,
    /// Outer iterations `m_niter`.
    pub niter: usize,
}

/// What the optimisation returns.
#[derive(Clone, Debug)]
pub struct Solution {
    /// Block weights `Z`, `[n_out, grid^2, n_in]`: each block one-hot or two halves.
    pub assign: Vec<f32>,
    /// Objective `F` (`docs/methods/comixup.md`, *Objective*) of the initial labelling and after each outer iteration run.
    pub objectives: Vec<f64>,
}

impl Solution {
    /// The objective reached.
    pub fn objective(&self) -> f64 {
        *self
            .objectives
            .last()
            .expect("the initial objective is always recorded")
    }
}

/// `F(Z)` of `docs/methods/comixup.md` (*Objective*; the reference's `obj_fn`) with scaled `beta'` and `gamma'`.
pub fn objective(p: &Partition, assign: &[f32], beta: f64, gamma: f64) -> f64 {
    let (n, m) = (p.n, p.grid);
    let blocks = m * m;
    let mut f = 0.0;
    let mut total = vec![0.0f64; n];
    let mut own_sq = 0.0;
    for o in 0..n {
        let z = &assign[o * blocks * n..(o + 1) * blocks * n];
        let mut counts = vec![0.0f64; n];
        for q in 0..blocks {
            for j in 0..n {
                let w = z[q * n + j] as f64;
                f += p.cost[j * blocks + q] as f64 * w;
                counts[j] += w;
            }
        }
        let mut smooth = 0.0;
        for q in 0..blocks {
            let (r, c) = (q / m, q % m);
            let mut diff = |other: usize| {
                smooth += (0..n)
                    .map(|j| (z[q * n + j] - z[other * n + j]) as f64)
                    .map(|d| d * d)
                    .sum::<f64>();
            };
            if r + 1 < m {
                diff(q + m);
            }
            if c + 1 < m {
                diff(q + 1);
            }
        }
        f += beta / 2.0 * smooth;
        for j in 0..n {
            total[j] += counts[j];
            own_sq += counts[j] * counts[j];
        }
    }
    f + gamma * (total.iter().map(|t| t * t).sum::<f64>() - own_sq)
}

/// The labels of one output's graph cut: the inputs, then up to three "half and half" labels.
struct LabelSet {
    /// `(a, b)` of each mixed label, `a < b`.
    mixes: Vec<(usize, usize)>,
}

impl LabelSet {
    /// Mixed labels for this output (`docs/methods/comixup.md`, *Per-output graph cut*): none at the first iteration or with at most one
    /// input in use; the pair in use; or the pairs of the three most used inputs.
    fn new(counts: &[f32], first_iteration: bool) -> Self {
        let used: Vec<usize> = (0..counts.len()).filter(|&j| counts[j] > 0.0).collect();
        let mixes = if first_iteration || used.len() <= 1 {
            Vec::new()
        } else if used.len() == 2 {
            vec![(used[0], used[1])]
        } else {
            let mut top = top_three(counts);
            top.sort_unstable();
            vec![(top[0], top[1]), (top[0], top[2]), (top[1], top[2])]
        };
        LabelSet { mixes }
    }
}

/// The indices of the three largest counts as the reference picks them: libtorch's `topk`
/// on the same f32 vector, so that ties fall where the reference's do (its order among equal
/// values is an implementation detail of libtorch's CPU kernel).
fn top_three(counts: &[f32]) -> [usize; 3] {
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| counts[b].total_cmp(&counts[a]).then(a.cmp(&b)));
    // Unless the third and fourth counts tie, the three largest are the same set whatever
    // the tie order, and only the set matters (it is sorted by index afterwards).
    if order.len() == 3 || counts[order[2]] > counts[order[3]] {
        return [order[0], order[1], order[2]];
    }
    let (_, indices) = tch::Tensor::from_slice(counts).topk(3, -1, true, true);
    let v = Vec::<i64>::try_from(indices).expect("topk indices are i64");
    [v[0] as usize, v[1] as usize, v[2] as usize]
}

/// Reusable buffers of one worker.
#[derive(Default)]
pub struct Workspace {
    swap: SwapSolver,
    unary: Vec<i64>,
    smooth: Vec<i64>,
    edges: Vec<i64>,
    labelling: Vec<usize>,
}

/// Runs the reference's algorithm on one partition from the initial labelling `init`
/// (`[n_out, grid^2]` input indices).
pub fn solve(p: &Partition, settings: &Settings, init: &[usize], work: &mut Workspace) -> Solution {
    let (n, m) = (p.n, p.grid);
    let blocks = m * m;
    let tau = (settings.thres * m as f64 * m as f64) as f32;
    let beta = settings.beta / m as f64 / m as f64;
    let gamma = settings.gamma / m as f64 / m as f64;
    let gamma32 = gamma as f32;

    let mut assign = vec![0.0f32; n * blocks * n];
    for (k, &j) in init.iter().enumerate() {
        assign[k * n + j] = 1.0;
    }
    let counts_of = |assign: &[f32], o: usize| -> Vec<f32> {
        let mut c = vec![0.0f32; n];
        for q in 0..blocks {
            for j in 0..n {
                c[j] += assign[(o * blocks + q) * n + j];
            }
        }
        c
    };
    let mut total = vec![0.0f32; n];
    for o in 0..n {
        total
            .iter_mut()
            .zip(counts_of(&assign, o))
            .for_each(|(t, c)| *t += c);
    }
    let mut resolve: Option<Vec<f32>> = None;
    let mut objectives = vec![objective(p, &assign, beta, gamma)];
    let mut previous = objectives[0];
    let mut cost_penalty = vec![0.0f32; blocks * n];
    for it in 0..settings.niter {
        for o in 0..n {
            let counts = counts_of(&assign, o);
            total.iter_mut().zip(&counts).for_each(|(t, c)| *t -= c);
            let penalty = modular_penalty(&p.compat, &total, tau, gamma32, settings.penalty);
            for q in 0..blocks {
                for j in 0..n {
                    let mut v = p.cost[j * blocks + q] + penalty[j];
                    if let Some(extra) = &resolve {
                        v += gamma32 * extra[o * n + j];
                    }
                    cost_penalty[q * n + j] = v;
                }
            }
            let labels = LabelSet::new(&counts, it == 0);
            let weights = cut_output(&cost_penalty, n, m, beta, &labels, work);
            assign[o * blocks * n..(o + 1) * blocks * n].copy_from_slice(&weights);
            total
                .iter_mut()
                .zip(counts_of(&assign, o))
                .for_each(|(t, c)| *t += c);
        }
        if settings.set_resolve && settings.niter >= 2 && it == settings.niter - 2 {
            resolve = Some(resolve_identical(&assign, n, blocks));
        }
        let current = objective(p, &assign, beta, gamma);
        objectives.push(current);
        if (previous - current).abs() / current.abs() < 1e-6 {
            break;
        }
        previous = current;
    }
    Solution { assign, objectives }
}

/// The modular penalty `g_j` (`docs/methods/comixup.md`, *Modular penalty*) from the other outputs' usage `total`.
fn modular_penalty(compat: &[f32], total: &[f32], tau: f32, gamma: f32, form: Penalty) -> Vec<f32> {
    let n = total.len();
    let usage: Vec<f32> = (0..n)
        .map(|j| (0..n).map(|k| compat[j * n + k] * total[k]).sum())
        .collect();
    let over: Vec<bool> = usage.iter().map(|&v| v > tau).collect();
    let two_gamma = 2.0 * gamma;
    (0..n)
        .map(|j| match form {
            Penalty::Reference => {
                two_gamma
                    * (0..n)
                        .map(|k| if over[k] { compat[j * n + k] } else { 0.0 } * total[k])
                        .sum::<f32>()
            }
            Penalty::Intended => two_gamma * if over[j] { usage[j] } else { 0.0 },
            Penalty::Soft => two_gamma * if over[j] { usage[j] - tau } else { 0.0 },
        })
        .collect()
}

/// One output's graph cut (the reference's `graphcut_wrapper`): returns its block weights
/// `[grid^2, n]`.
fn cut_output(
    cost: &[f32],
    n: usize,
    m: usize,
    beta: f64,
    labels: &LabelSet,
    work: &mut Workspace,
) -> Vec<f32> {
    let blocks = m * m;
    let count = n + labels.mixes.len();
    let quantise = |u: f32| (u * 100_000.0) as i64;
    work.unary.clear();
    for q in 0..blocks {
        let row = &cost[q * n..(q + 1) * n];
        work.unary.extend(row.iter().map(|&u| quantise(u)));
        for &(a, b) in &labels.mixes {
            work.unary.push(quantise((row[a] + row[b]) / 2.0 - 5e-4));
        }
    }
    work.smooth.clear();
    for x in 0..count {
        for y in 0..count {
            work.smooth.push(smooth_cost(x, y, n, &labels.mixes));
        }
    }
    let weight = ((beta as f32) * 1000.0) as i64;
    work.edges.clear();
    work.edges.resize(2 * m * (m - 1), weight);
    let (vertical, horizontal) = work.edges.split_at(m * (m - 1));
    let energy = GridEnergy {
        rows: m,
        cols: m,
        labels: count,
        unary: &work.unary,
        vertical,
        horizontal,
        smooth: &work.smooth,
    };
    work.labelling.clear();
    work.labelling.resize(blocks, 0);
    work.swap.solve(&energy, &mut work.labelling);
    let mut weights = vec![0.0f32; blocks * n];
    for (q, &l) in work.labelling.iter().enumerate() {
        if l < n {
            weights[q * n + l] = 1.0;
        } else {
            let (a, b) = labels.mixes[l - n];
            weights[q * n + a] = 0.5;
            weights[q * n + b] = 0.5;
        }
    }
    weights
}

/// The reference's label table times 100: Potts between inputs, 25 between a mixed label and
/// its two constituents, 100 otherwise.
fn smooth_cost(x: usize, y: usize, n: usize, mixes: &[(usize, usize)]) -> i64 {
    if x == y {
        return 0;
    }
    let constituent = |mix: usize, input: usize| {
        input < n && {
            let (a, b) = mixes[mix - n];
            input == a || input == b
        }
    };
    if (x >= n && constituent(x, y)) || (y >= n && constituent(y, x)) {
        25
    } else {
        100
    }
}

/// The reference's `resolve_label` (`docs/methods/comixup.md`, *Resolving identical outputs*): for every pair of outputs using the same set of
/// at least two inputs, the first output pays extra for its first input and the second for
/// its second; returns `R` `[n_out, n_in]`.
fn resolve_identical(assign: &[f32], n: usize, blocks: usize) -> Vec<f32> {
    let used: Vec<Vec<bool>> = (0..n)
        .map(|o| {
            (0..n)
                .map(|j| (0..blocks).any(|q| assign[(o * blocks + q) * n + j] > 0.0))
                .collect()
        })
        .collect();
    let mut extra = vec![0.0f32; n * n];
    for o1 in 0..n {
        for o2 in o1 + 1..n {
            if used[o1] != used[o2] {
                continue;
            }
            let inputs: Vec<usize> = (0..n).filter(|&j| used[o1][j]).collect();
            if inputs.len() >= 2 {
                extra[o1 * n + inputs[0]] = 1.0;
                extra[o2 * n + inputs[1]] = 1.0;
            }
        }
    }
    extra
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(n: usize, grid: usize, cost: Vec<f32>) -> Partition {
        let mut compat = vec![0.0; n * n];
        (0..n).for_each(|j| compat[j * n + j] = 1.0);
        Partition {
            n,
            grid,
            cost,
            compat,
        }
    }

    /// Hand-computed objective: 2 inputs, 2 outputs, 2x2 grid.
    #[test]
    fn objective_by_hand() {
        // cost of input 0: [-1, -2, -3, -4]; input 1: [-4, -3, -2, -1].
        let p = partition(2, 2, vec![-1.0, -2.0, -3.0, -4.0, -4.0, -3.0, -2.0, -1.0]);
        // Output 0: blocks 0,1 <- input 0, blocks 2,3 <- input 1.
        // Output 1: block 0 half/half, blocks 1,2,3 <- input 1.
        let assign = vec![
            1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, //
            0.5, 0.5, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0,
        ];
        // Costs: output 0: -1 - 2 - 2 - 1 = -6; output 1: 0.5(-1) + 0.5(-4) - 3 - 2 - 1 = -8.5.
        // Smoothness pairs (0,1), (2,3) horizontal and (0,2), (1,3) vertical:
        // output 0: 0 + 0 + 2 + 2 = 4; output 1: 0.5 + 0 + 0.5 + 0 = 1 -> beta/2 * 5.
        // Counts: output 0 (2, 2), output 1 (0.5, 3.5); totals (2.5, 5.5):
        // 2.5^2 + 5.5^2 - (4 + 4 + 0.25 + 12.25) = 36.5 - 20.5 = 16.
        let (beta, gamma) = (0.3, 0.1);
        let want = -14.5 + beta / 2.0 * 5.0 + gamma * 16.0;
        assert!((objective(&p, &assign, beta, gamma) - want).abs() < 1e-12);
    }

    /// With no smoothness and no diversity term each block takes its most salient input.
    #[test]
    fn without_beta_and_gamma_each_block_takes_its_most_salient_input() {
        let (n, grid) = (5, 4);
        let mut state = 7u64;
        let cost: Vec<f32> = (0..n * grid * grid)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                -(((state >> 40) as f32) / (1u64 << 24) as f32)
            })
            .collect();
        let p = partition(n, grid, cost.clone());
        let settings = Settings {
            beta: 0.0,
            gamma: 0.0,
            thres: 0.83,
            penalty: Penalty::Reference,
            set_resolve: false,
            niter: 4,
        };
        let init: Vec<usize> = (0..n * grid * grid).map(|k| k % n).collect();
        let solution = solve(&p, &settings, &init, &mut Workspace::default());
        for o in 0..n {
            for q in 0..grid * grid {
                let best = (0..n)
                    .min_by(|&a, &b| cost[a * 16 + q].total_cmp(&cost[b * 16 + q]))
                    .unwrap();
                assert_eq!(
                    solution.assign[(o * 16 + q) * n + best],
                    1.0,
                    "output {o}, block {q}"
                );
            }
        }
    }

    #[test]
    fn smooth_table_of_three_mixed_labels() {
        let mixes = [(1, 3), (1, 4), (3, 4)];
        let n = 5;
        assert_eq!(smooth_cost(5, 1, n, &mixes), 25);
        assert_eq!(smooth_cost(3, 5, n, &mixes), 25);
        assert_eq!(smooth_cost(5, 4, n, &mixes), 100);
        assert_eq!(smooth_cost(7, 4, n, &mixes), 25);
        assert_eq!(smooth_cost(5, 6, n, &mixes), 100);
        assert_eq!(smooth_cost(0, 2, n, &mixes), 100);
        assert_eq!(smooth_cost(6, 6, n, &mixes), 0);
    }

    #[test]
    fn resolve_marks_first_and_second_inputs_of_identical_outputs() {
        // 3 outputs, 3 inputs, 1 block each... use 2 blocks: outputs 0 and 2 use {0, 2}.
        let (n, blocks) = (3, 2);
        let assign = vec![
            1.0, 0.0, 0.0, 0.0, 0.0, 1.0, //
            0.0, 1.0, 0.0, 0.0, 1.0, 0.0, //
            0.0, 0.0, 1.0, 0.5, 0.0, 0.5,
        ];
        let r = resolve_identical(&assign, n, blocks);
        assert_eq!(r, vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
    }
}
