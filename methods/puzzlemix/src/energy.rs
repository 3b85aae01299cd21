//! The integer multi-label energy the official `graphcut_multi` hands to pyGCO (see `docs/methods/puzzlemix.md`, *Energy* and *Graph cut*),
//! built from [`crate::terms::BlockTerms`], and its solution by GCO's alpha-beta swap.
//!
//! Quantisation as in the reference: with `Lw = 1000 n^2`, label `l` (mask `1 - l/(L-1)`)
//! costs `trunc(Lw ((1 - t_l) c_own + t_l c_partner + prior_l))` with `t_l = l/(L-1)`, computed
//! in f64 as NumPy 2 does; an edge weighs `trunc(Lw (omega + beta))` computed in f32; the
//! label table is `trunc(100 (l - l')^2 / (L-1)^2)` in f32. GCO's float mode then scales data
//! costs by 100000 and edge weights by 1000. The reference does that data-cost product in
//! `i32`, which wraps for a block holding more than about 8% of an image's saliency at
//! `n = 16` (see `docs/methods/puzzlemix.md`, *Deviations*); here every energy is `i64`, so it never wraps (deliberate fix).

use mixbench_core::graphcut::{GridEnergy, SwapSolver};

/// GCO's float-mode scale of data costs.
const UNARY_SCALE: i64 = 100_000;
/// GCO's float-mode scale of edge weights.
const EDGE_SCALE: i64 = 1_000;

/// The label prior `-eta ln P(l) / n^2` (see `docs/methods/puzzlemix.md`, *Energy*): `P` is the binomial law of `L - 1` draws
/// with success probability `lam` (mask value `1 - l/(L-1)` = fraction of successes).
pub fn prior(lam: f64, eta: f64, labels: usize, blocks: usize) -> Vec<f64> {
    const EPS: f64 = 1e-8;
    let probabilities: Vec<f64> = match labels {
        2 => vec![lam, 1.0 - lam],
        3 => vec![lam.powi(2), 2.0 * lam * (1.0 - lam), (1.0 - lam).powi(2)],
        4 => vec![
            lam.powi(3),
            3.0 * lam.powi(2) * (1.0 - lam),
            3.0 * lam * (1.0 - lam).powi(2),
            (1.0 - lam).powi(3),
        ],
        _ => unreachable!("n_labels is validated to 2, 3 or 4"),
    };
    probabilities
        .iter()
        .map(|p| eta * -(p + EPS).ln() / (blocks * blocks) as f64)
        .collect()
}

/// NumPy's `linspace(0, 1, labels)`.
fn mixing_levels(labels: usize) -> Vec<f64> {
    let step = 1.0 / (labels - 1) as f64;
    (0..labels)
        .map(|l| {
            if l + 1 == labels {
                1.0
            } else {
                l as f64 * step
            }
        })
        .collect()
}

/// The integer grid energy of one image.
#[derive(Clone, Debug)]
pub struct BlockProblem {
    /// Blocks per side.
    pub blocks: usize,
    /// Number of labels.
    pub labels: usize,
    /// Data costs `[n * n * L]`, already in GCO's units.
    pub unary: Vec<i64>,
    /// Vertical edge weights `[(n - 1) * n]`, in GCO's units.
    pub vertical: Vec<i64>,
    /// Horizontal edge weights `[n * (n - 1)]`.
    pub horizontal: Vec<i64>,
    /// Label table `[L * L]`.
    pub smooth: Vec<i64>,
}

impl BlockProblem {
    /// Builds the energy of image `i` from the block terms of its batch.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cost_own: &[f32],
        cost_partner: &[f32],
        vertical: &[f32],
        horizontal: &[f32],
        blocks: usize,
        labels: usize,
        lam: f64,
        beta: f64,
        eta: f64,
    ) -> Self {
        let n = blocks;
        let large = (1000 * n * n) as f64;
        let prior = prior(lam, eta, labels, n);
        let levels = mixing_levels(labels);
        let mut unary = Vec::with_capacity(n * n * labels);
        for (&own, &partner) in cost_own.iter().zip(cost_partner) {
            for (l, &t) in levels.iter().enumerate() {
                let cost = (1.0 - t) * own as f64 + t * partner as f64 + prior[l];
                unary.push((large * cost) as i64 * UNARY_SCALE);
            }
        }
        let (large32, beta32) = (large as f32, beta as f32);
        let edge = |w: &f32| (large32 * (w + beta32)) as i64 * EDGE_SCALE;
        let smooth = (0..labels * labels)
            .map(|i| {
                let d = (i / labels) as f64 - (i % labels) as f64;
                let v = (d * d / ((labels - 1) * (labels - 1)) as f64) as f32;
                (v * 100.0) as i64
            })
            .collect();
        BlockProblem {
            blocks,
            labels,
            unary,
            vertical: vertical.iter().map(edge).collect(),
            horizontal: horizontal.iter().map(edge).collect(),
            smooth,
        }
    }

    /// The energy as the shared solver sees it.
    pub fn energy(&self) -> GridEnergy<'_> {
        GridEnergy {
            rows: self.blocks,
            cols: self.blocks,
            labels: self.labels,
            unary: &self.unary,
            vertical: &self.vertical,
            horizontal: &self.horizontal,
            smooth: &self.smooth,
        }
    }

    /// GCO's swap from all sites at label 0 (all own image): the labels, row-major.
    pub fn solve(&self, solver: &mut SwapSolver) -> Vec<usize> {
        let mut labelling = vec![0; self.blocks * self.blocks];
        solver.solve(&self.energy(), &mut labelling);
        labelling
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The graph-cut vectors of `docs/methods/puzzlemix.md` (*Test vectors*): `n = 2`, `gamma = 0` (no boundary terms), `beta = 1.2`,
    /// `eta = 0.2`, three labels; masks for three lambdas and two saliency layouts.
    #[test]
    fn spec_graph_cut_vectors() {
        let beta = 1.2 / (16.0 * 2.0);
        // (U_A, U_B, [(lam, expected mask)]).
        type Case = ([f32; 4], [f32; 4], [(f64, [f64; 4]); 3]);
        let cases: [Case; 2] = [
            (
                [0.7, 0.1, 0.1, 0.1],
                [0.1, 0.1, 0.1, 0.7],
                [
                    (0.5, [1.0, 0.5, 0.5, 0.0]),
                    (0.2, [1.0, 0.0, 0.0, 0.0]),
                    (0.9, [1.0, 1.0, 1.0, 0.0]),
                ],
            ),
            (
                [0.4, 0.3, 0.2, 0.1],
                [0.1, 0.2, 0.3, 0.4],
                [
                    (0.5, [1.0, 0.5, 0.5, 0.0]),
                    (0.2, [1.0, 0.5, 0.0, 0.0]),
                    (0.9, [1.0, 1.0, 1.0, 0.5]),
                ],
            ),
        ];
        let mut solver = SwapSolver::new();
        for (u_a, u_b, expectations) in cases {
            for (lam, want) in expectations {
                // Showing A costs B's saliency and vice versa.
                let problem =
                    BlockProblem::new(&u_b, &u_a, &[0.0; 2], &[0.0; 2], 2, 3, lam, beta, 0.2);
                let labels = problem.solve(&mut solver);
                let mask: Vec<f64> = labels.iter().map(|&l| 1.0 - l as f64 / 2.0).collect();
                assert_eq!(mask, want, "U_A {u_a:?}, lam {lam}");
            }
        }
    }

    #[test]
    fn prior_is_the_binomial_law() {
        let p = prior(0.3, 0.2, 3, 4);
        let expect = [0.09f64, 0.42, 0.49].map(|q| -0.2 * (q + 1e-8).ln() / 16.0);
        for (a, b) in p.iter().zip(expect) {
            assert!((a - b).abs() < 1e-15);
        }
        assert_eq!(mixing_levels(3), vec![0.0, 0.5, 1.0]);
        assert_eq!(mixing_levels(4)[3], 1.0);
    }

    #[test]
    fn label_table_is_quantised_like_gco() {
        let p = BlockProblem::new(
            &[0.0; 4], &[0.0; 4], &[0.0; 2], &[0.0; 2], 2, 4, 0.5, 0.0, 0.0,
        );
        assert_eq!(p.smooth[1], 11);
        assert_eq!(p.smooth[2], 44);
        assert_eq!(p.smooth[3], 100);
        let p3 = BlockProblem::new(
            &[0.0; 4], &[0.0; 4], &[0.0; 2], &[0.0; 2], 2, 3, 0.5, 0.0, 0.0,
        );
        assert_eq!(p3.smooth, vec![0, 25, 100, 25, 0, 25, 100, 25, 0]);
    }
}
