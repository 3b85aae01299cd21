//! Multi-label energies on 4-connected grids and GCO's alpha-beta swap (Boykov, Veksler and
//! Zabih 2001) with GCO's exact move order, start and stopping rule, which both Puzzle Mix and
//! Co-Mixup call through pyGCO (`cut_grid_graph(..., algorithm='swap')`).
//!
//! GCO semantics reproduced (`docs/methods/puzzlemix.md`, *Graph cut*; `docs/methods/comixup.md`, *Per-output graph cut*): the caller's starting labelling (GCO: all sites
//! at label 0); one sweep visits the label pairs `(a, b)` for `a = 0..L`, `b = L-1` down to
//! `a + 1`; a pair with no site labelled `a` or `b` is skipped; each move re-labels the sites
//! labelled `a` or `b` by one minimum cut, a site taking `b` only if it lies on the sink side of
//! the cut with the smallest sink side (GCO: only sites in the sink search tree take `b`); sweeps
//! repeat while the total energy strictly decreases. Energies are `i64`, so the `i32`
//! wrap-around of GCO's float mode (`docs/methods/puzzlemix.md`, *Deviations*) cannot happen.

use super::maxflow::BinaryEnergy;

/// `sum_p unary[p][l_p] + sum_(p,q) w_pq smooth[l_p][l_q]` over the 4-neighbour edges of a
/// `rows x cols` grid (sites row-major), integer-valued.
#[derive(Clone, Copy, Debug)]
pub struct GridEnergy<'a> {
    /// Grid height.
    pub rows: usize,
    /// Grid width.
    pub cols: usize,
    /// Number of labels `L`.
    pub labels: usize,
    /// Data costs, `[rows * cols * L]`, site-major.
    pub unary: &'a [i64],
    /// Weights of the edges `(r, c) - (r + 1, c)`, `[(rows - 1) * cols]`, row-major.
    pub vertical: &'a [i64],
    /// Weights of the edges `(r, c) - (r, c + 1)`, `[rows * (cols - 1)]`, row-major.
    pub horizontal: &'a [i64],
    /// Symmetric label-compatibility table `[L * L]` with a zero diagonal.
    pub smooth: &'a [i64],
}

impl GridEnergy<'_> {
    /// Number of sites.
    pub fn sites(&self) -> usize {
        self.rows * self.cols
    }

    /// Panics unless the slices have the sizes the grid implies and `smooth` is symmetric with
    /// a zero diagonal and non-negative entries, and edge weights are non-negative (what makes
    /// every swap move submodular).
    pub fn check(&self) {
        let (r, c, l) = (self.rows, self.cols, self.labels);
        assert_eq!(self.unary.len(), r * c * l, "unary size");
        assert_eq!(
            self.vertical.len(),
            r.saturating_sub(1) * c,
            "vertical size"
        );
        assert_eq!(
            self.horizontal.len(),
            r * c.saturating_sub(1),
            "horizontal size"
        );
        assert_eq!(self.smooth.len(), l * l, "smooth size");
        for a in 0..l {
            assert_eq!(self.smooth[a * l + a], 0, "smooth diagonal");
            for b in 0..l {
                assert_eq!(
                    self.smooth[a * l + b],
                    self.smooth[b * l + a],
                    "smooth symmetry"
                );
                assert!(self.smooth[a * l + b] >= 0, "negative smooth cost");
            }
        }
        assert!(
            self.vertical.iter().chain(self.horizontal).all(|&w| w >= 0),
            "negative edge weight"
        );
    }

    fn v(&self, a: usize, b: usize) -> i64 {
        self.smooth[a * self.labels + b]
    }

    /// Appends each site's grid neighbours `(neighbour, weight)` to `out` (up, down, left,
    /// right) and their end offsets to `ends` (site `p`'s are `ends[p - 1]..ends[p]`).
    fn neighbour_table(&self, out: &mut Vec<(usize, i64)>, ends: &mut Vec<usize>) {
        out.clear();
        ends.clear();
        for r in 0..self.rows {
            for c in 0..self.cols {
                let site = r * self.cols + c;
                if r > 0 {
                    out.push((site - self.cols, self.vertical[site - self.cols]));
                }
                if r + 1 < self.rows {
                    out.push((site + self.cols, self.vertical[site]));
                }
                if c > 0 {
                    out.push((site - 1, self.horizontal[r * (self.cols - 1) + c - 1]));
                }
                if c + 1 < self.cols {
                    out.push((site + 1, self.horizontal[r * (self.cols - 1) + c]));
                }
                ends.push(out.len());
            }
        }
    }

    /// The energy of a labelling (`labelling[p] < L`).
    pub fn energy(&self, labelling: &[usize]) -> i64 {
        let l = self.labels;
        let mut e: i64 = labelling
            .iter()
            .enumerate()
            .map(|(p, &lp)| self.unary[p * l + lp])
            .sum();
        for r in 0..self.rows {
            for c in 0..self.cols {
                let p = r * self.cols + c;
                if r + 1 < self.rows {
                    e += self.vertical[p] * self.v(labelling[p], labelling[p + self.cols]);
                }
                if c + 1 < self.cols {
                    e += self.horizontal[r * (self.cols - 1) + c]
                        * self.v(labelling[p], labelling[p + 1]);
                }
            }
        }
        e
    }
}

/// GCO's alpha-beta swap with reusable buffers (one per worker thread).
#[derive(Clone, Debug, Default)]
pub struct SwapSolver {
    binary: BinaryEnergy,
    active: Vec<usize>,
    var_of: Vec<usize>,
    unary: Vec<(i64, i64)>,
    cut: Vec<bool>,
    /// The energy's grid neighbours, flat, and each site's end offset in it.
    neighbours: Vec<(usize, i64)>,
    neighbour_ends: Vec<usize>,
    /// Sites per label in the current labelling.
    label_sites: Vec<usize>,
    /// Move history of the running [`SwapSolver::solve`]: a clock that advances with every
    /// move that changes labels, the clock at each site's last change, and the clock after
    /// each label pair's last move (0: not moved yet).
    clock: u64,
    site_changed: Vec<u64>,
    pair_moved: Vec<u64>,
}

const INACTIVE: usize = usize::MAX;

impl SwapSolver {
    /// A solver with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs swap sweeps from `labelling` (GCO starts from all zeros) until a sweep no longer
    /// lowers the energy; returns the final energy.
    pub fn solve(&mut self, energy: &GridEnergy, labelling: &mut [usize]) -> i64 {
        debug_assert!(labelling.len() == energy.sites());
        self.prepare(energy);
        for &l in labelling.iter() {
            self.label_sites[l] += 1;
        }
        let mut current = energy.energy(labelling);
        loop {
            for a in 0..energy.labels {
                for b in (a + 1..energy.labels).rev() {
                    // A pair with no site labelled `a` or `b` is skipped (as GCO does).
                    if self.label_sites[a] + self.label_sites[b] > 0 {
                        self.move_pair(energy, labelling, a, b);
                    }
                }
            }
            let next = energy.energy(labelling);
            if next >= current {
                return next;
            }
            current = next;
        }
    }

    /// One move: the sites labelled `a` or `b` choose between `a` and `b` optimally, the rest
    /// fixed.
    pub fn swap_move(&mut self, energy: &GridEnergy, labelling: &mut [usize], a: usize, b: usize) {
        self.prepare(energy);
        self.move_pair(energy, labelling, a, b);
    }

    /// Builds the neighbour table of `energy` and clears the label counts and the history.
    fn prepare(&mut self, energy: &GridEnergy) {
        energy.neighbour_table(&mut self.neighbours, &mut self.neighbour_ends);
        self.label_sites.clear();
        self.label_sites.resize(energy.labels, 0);
        self.clock = 1;
        self.site_changed.clear();
        self.site_changed.resize(energy.sites(), 0);
        self.pair_moved.clear();
        self.pair_moved.resize(energy.labels * energy.labels, 0);
    }

    /// Whether the move of `(a, b)` would repeat its last one exactly: no site of the move and
    /// no neighbour of one has changed label since. The move's problem is then the same (a site
    /// that left `a` or `b` without touching the others was an independent part of it), and
    /// so is its minimiser (the fewest-`b` one, unique), which the sites already hold.
    fn unchanged_since_last_move(&self, pair: usize) -> bool {
        let moved = self.pair_moved[pair];
        moved > 0
            && self.active.iter().all(|&site| {
                let start = if site == 0 {
                    0
                } else {
                    self.neighbour_ends[site - 1]
                };
                self.site_changed[site] <= moved
                    && self.neighbours[start..self.neighbour_ends[site]]
                        .iter()
                        .all(|&(nb, _)| self.site_changed[nb] <= moved)
            })
    }

    /// [`SwapSolver::swap_move`] with the neighbour table already built; keeps the label
    /// counts of `a` and `b` up to date.
    fn move_pair(&mut self, energy: &GridEnergy, labelling: &mut [usize], a: usize, b: usize) {
        let l = energy.labels;
        self.active.clear();
        self.var_of.clear();
        self.var_of.resize(labelling.len(), INACTIVE);
        for (site, &label) in labelling.iter().enumerate() {
            if label == a || label == b {
                self.var_of[site] = self.active.len();
                self.active.push(site);
            }
        }
        let pair = a * l + b;
        if self.active.is_empty() || self.unchanged_since_last_move(pair) {
            return;
        }
        // Fixed neighbours folded into the unaries; pairs between free sites go to the cut.
        self.unary.clear();
        self.binary.reset(self.active.len());
        let (va, vb) = (
            &energy.smooth[a * l..(a + 1) * l],
            &energy.smooth[b * l..(b + 1) * l],
        );
        let (vaa, vab, vba, vbb) = (va[a], va[b], vb[a], vb[b]);
        for (var, &site) in self.active.iter().enumerate() {
            let (mut ea, mut eb) = (energy.unary[site * l + a], energy.unary[site * l + b]);
            let start = if site == 0 {
                0
            } else {
                self.neighbour_ends[site - 1]
            };
            for &(nb, w) in &self.neighbours[start..self.neighbour_ends[site]] {
                let other = self.var_of[nb];
                if other == INACTIVE {
                    ea += w * va[labelling[nb]];
                    eb += w * vb[labelling[nb]];
                } else if nb < site {
                    self.binary
                        .add_pairwise(var, other, w * vaa, w * vab, w * vba, w * vbb);
                }
            }
            self.unary.push((ea, eb));
            self.binary.add_unary(var, ea, eb);
        }
        // Pair terms vanish when both sites agree and are non-negative otherwise, so when every
        // site's unary prefers `a` (resp. strictly prefers `b`) all-`a` (resp. all-`b`) is the
        // minimiser with the fewest `b`s, and no cut is needed.
        let uniform = if self.unary.iter().all(|&(ea, eb)| eb >= ea) {
            Some(false)
        } else if self.unary.iter().all(|&(ea, eb)| eb < ea) {
            Some(true)
        } else {
            None
        };
        match uniform {
            Some(to_b) => {
                self.cut.clear();
                self.cut.resize(self.active.len(), to_b);
            }
            None => {
                self.binary.minimize(&mut self.cut);
            }
        }
        let mut at_b = 0;
        let tick = self.clock + 1;
        for (var, &site) in self.active.iter().enumerate() {
            at_b += usize::from(self.cut[var]);
            let label = if self.cut[var] { b } else { a };
            if labelling[site] != label {
                labelling[site] = label;
                self.site_changed[site] = tick;
                self.clock = tick;
            }
        }
        self.pair_moved[pair] = self.clock;
        self.label_sites[b] = at_b;
        self.label_sites[a] = self.active.len() - at_b;
    }
}

/// The exact minimum of a grid energy by enumerating all `L^(rows cols)` labellings (tests and
/// tiny grids only); returns the minimum and the first minimiser in lexicographic order.
pub fn exhaustive_minimum(energy: &GridEnergy) -> (i64, Vec<usize>) {
    let n = energy.sites();
    let total = (energy.labels as u64)
        .checked_pow(n as u32)
        .expect("grid too large to enumerate");
    let mut labelling = vec![0usize; n];
    let mut best = (energy.energy(&labelling), labelling.clone());
    for _ in 1..total {
        // Increment as a base-L number, last site fastest.
        for p in (0..n).rev() {
            labelling[p] += 1;
            if labelling[p] < energy.labels {
                break;
            }
            labelling[p] = 0;
        }
        let e = energy.energy(&labelling);
        if e < best.0 {
            best = (e, labelling.clone());
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MixRng;

    struct Owned {
        rows: usize,
        cols: usize,
        labels: usize,
        unary: Vec<i64>,
        vertical: Vec<i64>,
        horizontal: Vec<i64>,
        smooth: Vec<i64>,
    }

    impl Owned {
        fn view(&self) -> GridEnergy<'_> {
            GridEnergy {
                rows: self.rows,
                cols: self.cols,
                labels: self.labels,
                unary: &self.unary,
                vertical: &self.vertical,
                horizontal: &self.horizontal,
                smooth: &self.smooth,
            }
        }
    }

    fn random_grid(
        rng: &mut MixRng,
        rows: usize,
        cols: usize,
        labels: usize,
        potts: bool,
    ) -> Owned {
        let smooth = (0..labels * labels)
            .map(|i| {
                let (a, b) = (i / labels, i % labels);
                if potts {
                    i64::from(a != b) * 100
                } else {
                    ((a as i64 - b as i64).pow(2) * 100) / ((labels as i64 - 1).pow(2))
                }
            })
            .collect();
        Owned {
            rows,
            cols,
            labels,
            unary: (0..rows * cols * labels)
                .map(|_| rng.below(1000) as i64)
                .collect(),
            vertical: (0..(rows - 1) * cols)
                .map(|_| rng.below(8) as i64)
                .collect(),
            horizontal: (0..rows * (cols - 1))
                .map(|_| rng.below(8) as i64)
                .collect(),
            smooth,
        }
    }

    /// A sweep's result is a swap-local minimum: no single move lowers the energy.
    #[test]
    fn result_is_a_local_minimum_for_every_label_pair() {
        let mut rng = MixRng::seed_from(9);
        let mut solver = SwapSolver::new();
        for case in 0..100 {
            let g = random_grid(
                &mut rng,
                2 + case % 4,
                2 + case % 3,
                2 + case % 4,
                case % 2 == 0,
            );
            let e = g.view();
            e.check();
            let mut labelling = vec![0; e.sites()];
            let final_energy = solver.solve(&e, &mut labelling);
            assert_eq!(final_energy, e.energy(&labelling));
            assert!(final_energy <= e.energy(&vec![0; e.sites()]));
            for a in 0..e.labels {
                for b in a + 1..e.labels {
                    let mut moved = labelling.clone();
                    solver.swap_move(&e, &mut moved, a, b);
                    assert!(
                        e.energy(&moved) >= final_energy,
                        "case {case}: move ({a},{b}) improves"
                    );
                }
            }
        }
    }

    /// On small grids with the convex quadratic table of Puzzle Mix (3 labels) the swap reaches
    /// the exhaustive optimum, as was observed for the reference (`docs/methods/puzzlemix.md`, *Graph cut*); on two-label grids
    /// a single move is exact, so the optimum is guaranteed.
    #[test]
    fn matches_exhaustive_search_on_small_grids() {
        let mut rng = MixRng::seed_from(21);
        let mut solver = SwapSolver::new();
        let mut optimal = 0;
        for case in 0..60 {
            let labels = if case % 3 == 0 { 2 } else { 3 };
            let g = random_grid(&mut rng, 2 + case % 2, 2 + (case / 2) % 2, labels, false);
            let e = g.view();
            let mut labelling = vec![0; e.sites()];
            let got = solver.solve(&e, &mut labelling);
            let (best, _) = exhaustive_minimum(&e);
            assert!(got >= best);
            if labels == 2 {
                assert_eq!(got, best, "case {case}: two labels must be exact");
            }
            optimal += usize::from(got == best);
        }
        assert!(
            optimal >= 57,
            "swap optimal on only {optimal} of 60 small grids"
        );
    }

    /// Skipping the moves that would repeat themselves changes nothing: `solve` returns what
    /// plain sweeps of `swap_move` (which starts without a history) return, from zeros and from
    /// random labellings.
    #[test]
    fn solve_equals_plain_sweeps_of_every_move() {
        let mut rng = MixRng::seed_from(33);
        let (mut solver, mut plain) = (SwapSolver::new(), SwapSolver::new());
        for case in 0..200 {
            let g = random_grid(
                &mut rng,
                2 + case % 5,
                2 + case % 4,
                2 + case % 7,
                case % 2 == 0,
            );
            let e = g.view();
            let start: Vec<usize> = (0..e.sites())
                .map(|_| {
                    if case % 3 == 0 {
                        0
                    } else {
                        rng.below(e.labels)
                    }
                })
                .collect();
            let mut fast = start.clone();
            let got = solver.solve(&e, &mut fast);
            let mut slow = start;
            let mut current = e.energy(&slow);
            loop {
                for a in 0..e.labels {
                    for b in (a + 1..e.labels).rev() {
                        plain.swap_move(&e, &mut slow, a, b);
                    }
                }
                let next = e.energy(&slow);
                if next >= current {
                    break;
                }
                current = next;
            }
            assert_eq!(fast, slow, "case {case}");
            assert_eq!(got, e.energy(&slow), "case {case}");
        }
    }

    #[test]
    fn energy_counts_every_edge_once() {
        // 2x2 grid, labels [[0, 1], [2, 0]], unit weights, Potts table x 1.
        let g = Owned {
            rows: 2,
            cols: 2,
            labels: 3,
            unary: vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
            vertical: vec![1, 1],
            horizontal: vec![1, 1],
            smooth: vec![0, 1, 1, 1, 0, 1, 1, 1, 0],
        };
        // Unary 1 + 5 + 9 + 10 = 25; edges (0,1): 1, (2,3): 1, (0,2): 1, (1,3): 1.
        assert_eq!(g.view().energy(&[0, 1, 2, 0]), 25 + 4);
    }
}
