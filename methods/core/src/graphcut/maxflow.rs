//! Minimum s-t cuts of small integer networks (Dinic's algorithm), with the one tie rule the
//! graph-cut solvers need: among all minimum cuts, the one whose sink side is smallest.
//!
//! That cut is unique and does not depend on the max-flow algorithm or on how an energy was
//! turned into a network: it is the set of nodes that can still reach the sink in the residual
//! network of any maximum flow. It is the cut GCO (Boykov-Kolmogorov max-flow) returns, where a
//! node takes the sink label only if it ends in the sink search tree, which is exactly that set.

/// A reusable s-t flow network on `n` inner nodes plus a source and a sink, integer
/// capacities. Buffers survive [`FlowGraph::reset`], so one graph per worker thread serves
/// every cut of a batch without allocating.
#[derive(Clone, Debug, Default)]
pub struct FlowGraph {
    nodes: usize,
    head: Vec<usize>,
    next: Vec<usize>,
    to: Vec<usize>,
    residual: Vec<i64>,
    level: Vec<i32>,
    cursor: Vec<usize>,
    queue: Vec<usize>,
}

const NONE: usize = usize::MAX;

impl FlowGraph {
    /// An empty network.
    pub fn new() -> Self {
        Self::default()
    }

    /// Clears the network and sizes it for `nodes` inner nodes (`0..nodes`).
    pub fn reset(&mut self, nodes: usize) {
        self.nodes = nodes;
        self.head.clear();
        self.head.resize(nodes + 2, NONE);
        self.next.clear();
        self.to.clear();
        self.residual.clear();
    }

    fn source(&self) -> usize {
        self.nodes
    }

    fn sink(&self) -> usize {
        self.nodes + 1
    }

    fn push_arc(&mut self, from: usize, to: usize, capacity: i64) {
        self.next.push(self.head[from]);
        self.head[from] = self.to.len();
        self.to.push(to);
        self.residual.push(capacity);
    }

    /// Adds the arc pair `u -> v` (capacity `uv`) and `v -> u` (capacity `vu`); capacities
    /// must be non-negative.
    pub fn add_edge(&mut self, u: usize, v: usize, uv: i64, vu: i64) {
        debug_assert!(uv >= 0 && vu >= 0, "negative capacity {uv} / {vu}");
        self.push_arc(u, v, uv);
        self.push_arc(v, u, vu);
    }

    /// Adds `source -> u` with capacity `from_source` and `u -> sink` with capacity `to_sink`
    /// (zero capacities add nothing).
    pub fn add_terminal(&mut self, u: usize, from_source: i64, to_sink: i64) {
        if from_source > 0 {
            self.add_edge(self.source(), u, from_source, 0);
        }
        if to_sink > 0 {
            self.add_edge(u, self.sink(), to_sink, 0);
        }
    }

    fn bfs_levels(&mut self) -> bool {
        let (s, t) = (self.source(), self.sink());
        self.level.clear();
        self.level.resize(self.nodes + 2, -1);
        self.queue.clear();
        self.level[s] = 0;
        self.queue.push(s);
        let mut read = 0;
        while read < self.queue.len() {
            let u = self.queue[read];
            read += 1;
            let mut e = self.head[u];
            while e != NONE {
                let v = self.to[e];
                if self.residual[e] > 0 && self.level[v] < 0 {
                    self.level[v] = self.level[u] + 1;
                    self.queue.push(v);
                }
                e = self.next[e];
            }
        }
        self.level[t] >= 0
    }

    fn augment(&mut self, u: usize, limit: i64) -> i64 {
        if u == self.sink() {
            return limit;
        }
        while self.cursor[u] != NONE {
            let e = self.cursor[u];
            let v = self.to[e];
            if self.residual[e] > 0 && self.level[v] == self.level[u] + 1 {
                let pushed = self.augment(v, limit.min(self.residual[e]));
                if pushed > 0 {
                    self.residual[e] -= pushed;
                    self.residual[e ^ 1] += pushed;
                    return pushed;
                }
            }
            self.cursor[u] = self.next[e];
        }
        0
    }

    /// Runs Dinic's algorithm to a maximum flow and returns its value.
    pub fn max_flow(&mut self) -> i64 {
        let mut flow = 0;
        while self.bfs_levels() {
            self.cursor.clear();
            self.cursor.extend_from_slice(&self.head);
            loop {
                let pushed = self.augment(self.source(), i64::MAX);
                if pushed == 0 {
                    break;
                }
                flow += pushed;
            }
        }
        flow
    }

    /// After [`FlowGraph::max_flow`]: `out[u]` is true for the inner nodes on the sink side of
    /// the minimum cut with the smallest sink side (those that can reach the sink in the
    /// residual network).
    pub fn sink_side(&mut self, out: &mut Vec<bool>) {
        let t = self.sink();
        let mut reach = std::mem::take(&mut self.level);
        reach.clear();
        reach.resize(self.nodes + 2, 0);
        self.queue.clear();
        reach[t] = 1;
        self.queue.push(t);
        let mut read = 0;
        while read < self.queue.len() {
            let v = self.queue[read];
            read += 1;
            // Arc `e` leaves `v`; its twin `e ^ 1` enters `v` from `to[e]`.
            let mut e = self.head[v];
            while e != NONE {
                let u = self.to[e];
                if reach[u] == 0 && self.residual[e ^ 1] > 0 {
                    reach[u] = 1;
                    self.queue.push(u);
                }
                e = self.next[e];
            }
        }
        out.clear();
        out.extend(reach[..self.nodes].iter().map(|&r| r == 1));
        self.level = reach;
    }
}

/// A pseudo-boolean energy of binary variables with unary and submodular pairwise terms,
/// minimised exactly by one minimum cut (the Kolmogorov-Zabih construction).
///
/// Variable value 0 is the source side, 1 the sink side; among several minimisers the one with
/// the fewest ones (the smallest sink side) is returned.
#[derive(Clone, Debug, Default)]
pub struct BinaryEnergy {
    graph: FlowGraph,
    cost0: Vec<i64>,
    cost1: Vec<i64>,
    pairs: Vec<(usize, usize, i64)>,
    constant: i64,
}

impl BinaryEnergy {
    /// An empty energy.
    pub fn new() -> Self {
        Self::default()
    }

    /// Clears the energy for `vars` variables.
    pub fn reset(&mut self, vars: usize) {
        self.cost0.clear();
        self.cost0.resize(vars, 0);
        self.cost1.clear();
        self.cost1.resize(vars, 0);
        self.pairs.clear();
        self.constant = 0;
    }

    /// Adds `e0` if `x = 0`, `e1` if `x = 1`.
    pub fn add_unary(&mut self, x: usize, e0: i64, e1: i64) {
        self.cost0[x] += e0;
        self.cost1[x] += e1;
    }

    /// Adds `E(x, y)` with `E(0,0) = e00`, `E(0,1) = e01`, `E(1,0) = e10`, `E(1,1) = e11`;
    /// the term must be submodular (`e00 + e11 <= e01 + e10`).
    pub fn add_pairwise(&mut self, x: usize, y: usize, e00: i64, e01: i64, e10: i64, e11: i64) {
        let coupling = e01 + e10 - e00 - e11;
        assert!(
            coupling >= 0,
            "pairwise term ({e00}, {e01}, {e10}, {e11}) is not submodular"
        );
        // E = e00 + (e10 - e00) x + (e11 - e10) y + coupling (1 - x) y.
        self.constant += e00;
        self.cost1[x] += e10 - e00;
        self.cost1[y] += e11 - e10;
        if coupling > 0 {
            self.pairs.push((x, y, coupling));
        }
    }

    /// Minimises the energy: writes the minimiser with the smallest set of ones to `out` and
    /// returns the minimum.
    pub fn minimize(&mut self, out: &mut Vec<bool>) -> i64 {
        let vars = self.cost0.len();
        self.graph.reset(vars);
        let mut base = self.constant;
        for x in 0..vars {
            let (c0, c1) = (self.cost0[x], self.cost1[x]);
            base += c0.min(c1);
            // Being 1 (sink side) cuts `source -> x`; being 0 cuts `x -> sink`.
            self.graph
                .add_terminal(x, (c1 - c0).max(0), (c0 - c1).max(0));
        }
        for &(x, y, coupling) in &self.pairs {
            // x = 0 (source side) and y = 1 (sink side) cuts `x -> y`.
            self.graph.add_edge(x, y, coupling, 0);
        }
        let cut = self.graph.max_flow();
        self.graph.sink_side(out);
        base + cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MixRng;

    /// Exhaustive minimum and the minimiser with the fewest ones (lowest mask among those of
    /// equal count is irrelevant: the fewest-ones minimiser is unique for submodular terms).
    fn brute_force(
        vars: usize,
        unary: &[(i64, i64)],
        pairs: &[(usize, usize, [i64; 4])],
    ) -> (i64, Vec<bool>) {
        let mut best = (i64::MAX, u32::MAX, 0u32);
        for mask in 0u32..(1 << vars) {
            let bit = |x: usize| (mask >> x) & 1;
            let mut e = 0;
            for (x, &(e0, e1)) in unary.iter().enumerate() {
                e += if bit(x) == 1 { e1 } else { e0 };
            }
            for &(x, y, t) in pairs {
                e += t[(bit(x) * 2 + bit(y)) as usize];
            }
            let key = (e, mask.count_ones(), mask);
            if (key.0, key.1) < (best.0, best.1) {
                best = key;
            }
        }
        (best.0, (0..vars).map(|x| (best.2 >> x) & 1 == 1).collect())
    }

    #[test]
    fn minimum_and_smallest_sink_side_match_brute_force() {
        let mut rng = MixRng::seed_from(5);
        let mut energy = BinaryEnergy::new();
        let mut out = Vec::new();
        for case in 0..300 {
            let vars = 1 + rng.below(8);
            // Small values make ties (several minimisers) common.
            let span = if case % 2 == 0 { 3 } else { 40 };
            let draw = |rng: &mut MixRng| rng.below(2 * span + 1) as i64 - span as i64;
            let unary: Vec<(i64, i64)> = (0..vars)
                .map(|_| (draw(&mut rng), draw(&mut rng)))
                .collect();
            let mut pairs = Vec::new();
            for x in 0..vars {
                for y in x + 1..vars {
                    if rng.bernoulli(0.5) {
                        let (e00, e11) = (draw(&mut rng), draw(&mut rng));
                        let e01 = draw(&mut rng);
                        let e10 = e00 + e11 - e01 + rng.below(span + 1) as i64;
                        pairs.push((x, y, [e00, e01, e10, e11]));
                    }
                }
            }
            energy.reset(vars);
            for (x, &(e0, e1)) in unary.iter().enumerate() {
                energy.add_unary(x, e0, e1);
            }
            for &(x, y, [a, b, c, d]) in &pairs {
                energy.add_pairwise(x, y, a, b, c, d);
            }
            let min = energy.minimize(&mut out);
            let (want_min, want) = brute_force(vars, &unary, &pairs);
            assert_eq!(min, want_min, "case {case}");
            assert_eq!(out, want, "case {case}: not the fewest-ones minimiser");
        }
    }

    #[test]
    fn max_flow_of_a_textbook_network() {
        // CLRS figure 26.1: maximum flow 23.
        let mut g = FlowGraph::new();
        g.reset(4);
        let (v1, v2, v3, v4) = (0, 1, 2, 3);
        g.add_terminal(v1, 16, 0);
        g.add_terminal(v2, 13, 0);
        g.add_edge(v1, v3, 12, 0);
        g.add_edge(v2, v1, 4, 0);
        g.add_edge(v3, v2, 9, 0);
        g.add_edge(v2, v4, 14, 0);
        g.add_edge(v4, v3, 7, 0);
        g.add_terminal(v3, 0, 20);
        g.add_terminal(v4, 0, 4);
        assert_eq!(g.max_flow(), 23);
        let mut side = Vec::new();
        g.sink_side(&mut side);
        // Minimum cut {s, v1, v2, v4} | {v3, t}: only v3 can still reach the sink.
        assert_eq!(side, vec![false, false, true, false]);
    }
}
