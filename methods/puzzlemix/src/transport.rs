//! Puzzle Mix's block rearrangement (`mask_transport` and `transport_image`; see `docs/methods/puzzlemix.md`, *Transport*), native.
//!
//! The official code runs `n_t` rounds on dense `[B, N, N]` tensors (`N = n_t^2` locations):
//! every source block claims its cheapest location, each location keeps its cheapest claimant
//! (or nobody, when a zero of an unclaimed row ties or beats it: the official `min` over
//! `plan * cost` sees unclaimed entries as 0), and every losing claim gets 1 added to its cost.
//! This port produces the same plan without forming the `N x N` cost matrix: the costs of a
//! row are `t_eps C[i, j] - U'(i)` at open locations and `t_eps C[i, j]` at closed ones, so
//! each row's locations sorted once per batch by distance give its cheapest open and closed
//! candidates by a moving pointer each; the few entries that lost a claim (and paid 1) are
//! kept aside per row. A round then costs `O(N)` plus the pointer moves, and each column is
//! resolved from its claimants alone. All arithmetic is the official f32.

/// The batch-wide part of the transport cost: `t_eps` times the official distance matrix and,
/// per source row, the locations sorted by that cost (then by index).
#[derive(Clone, Debug)]
pub struct TransportCosts {
    width: usize,
    eps_distance: Vec<f32>,
    order: Vec<u32>,
}

impl TransportCosts {
    /// Costs of a `width x width` grid with distance weight `t_eps` (f32, as the reference).
    pub fn new(width: usize, t_eps: f64) -> Self {
        let n = width * width;
        let eps = t_eps as f32;
        let eps_distance: Vec<f32> = distance_matrix(width).iter().map(|d| eps * d).collect();
        let mut order = Vec::with_capacity(n * n);
        for i in 0..n {
            let row = &eps_distance[i * n..(i + 1) * n];
            let mut js: Vec<u32> = (0..n as u32).collect();
            js.sort_by(|&a, &b| row[a as usize].total_cmp(&row[b as usize]).then(a.cmp(&b)));
            order.extend(js);
        }
        TransportCosts {
            width,
            eps_distance,
            order,
        }
    }

    /// Grid side.
    pub fn width(&self) -> usize {
        self.width
    }
}

/// Reusable buffers for [`Transport::plan`].
#[derive(Clone, Debug, Default)]
pub struct Transport {
    /// Per row, the position in its sorted order of the next open / closed candidate.
    next_open: Vec<usize>,
    next_closed: Vec<usize>,
    /// Per row, up to `width` `(cost, location)` entries whose claim lost (cost raised by 1).
    raised: Vec<(f32, u32)>,
    raised_len: Vec<usize>,
    /// Bit per `(row, location)`: the entry lives in `raised`.
    is_raised: Vec<u64>,
    /// Per row, its claim `(cost, location)` this round.
    claim: Vec<(f32, u32)>,
    best_claimant: Vec<usize>,
    first_unclaimed: Vec<usize>,
    won: Vec<Option<usize>>,
}

/// Distance matrix of the official `cost_matrix(width)`: squared block-centre distance over
/// `(width - 1)^2`, f32, `[N, N]`.
pub fn distance_matrix(width: usize) -> Vec<f32> {
    let n = width * width;
    let denominator = ((width - 1) * (width - 1)) as f32;
    let mut c = Vec::with_capacity(n * n);
    for i in 0..n {
        for j in 0..n {
            let (dr, dc) = (
                (i / width) as i64 - (j / width) as i64,
                (i % width) as i64 - (j % width) as i64,
            );
            c.push((dr * dr + dc * dc) as f32 / denominator);
        }
    }
    c
}

const NOBODY: usize = usize::MAX;

/// `a` comes before `b`: lower cost, then lower location (the official first argmin).
fn before(a: (f32, u32), b: (f32, u32)) -> bool {
    a.0 < b.0 || (a.0 == b.0 && a.1 < b.1)
}

impl Transport {
    /// Buffers for one worker.
    pub fn new() -> Self {
        Self::default()
    }

    /// The transport plan of one image: `plan[j]` is the source block moved to location `j`,
    /// or `None`. `open[j]` says whether location `j` shows this image at all (`mask > 0`),
    /// `saliency` is its block saliency (sums to 1), `costs` the batch's [`TransportCosts`].
    pub fn plan(
        &mut self,
        costs: &TransportCosts,
        open: &[bool],
        saliency: &[f32],
    ) -> &[Option<usize>] {
        let n = open.len();
        let width = costs.width;
        debug_assert_eq!(n, width * width);
        self.next_open.clear();
        self.next_open.resize(n, 0);
        self.next_closed.clear();
        self.next_closed.resize(n, 0);
        self.raised.clear();
        self.raised.resize(n * width, (0.0, 0));
        self.raised_len.clear();
        self.raised_len.resize(n, 0);
        self.is_raised.clear();
        self.is_raised.resize((n * n).div_ceil(64), 0);
        self.claim.clear();
        for i in 0..n {
            let c = self.row_min(costs, open, saliency, i);
            self.claim.push(c);
        }
        self.won.clear();
        self.won.resize(n, None);
        for _ in 0..width {
            self.resolve_columns(n);
            self.won.iter_mut().for_each(|w| *w = None);
            for i in 0..n {
                let j = self.claim[i].1 as usize;
                if self.best_claimant[j] == i && self.column_won(j) {
                    self.won[j] = Some(i);
                }
            }
            // Losing claims pay 1 more, and their rows claim again.
            for i in 0..n {
                let (cost, j) = self.claim[i];
                if self.won[j as usize] != Some(i) {
                    self.raise(i, j, cost + 1.0, n, width);
                    self.claim[i] = self.row_min(costs, open, saliency, i);
                }
            }
        }
        &self.won
    }

    fn raise(&mut self, i: usize, j: u32, cost: f32, n: usize, width: usize) {
        let bit = i * n + j as usize;
        let list = &mut self.raised[i * width..(i + 1) * width];
        if self.is_raised[bit / 64] >> (bit % 64) & 1 == 1 {
            let entry = list[..self.raised_len[i]]
                .iter_mut()
                .find(|e| e.1 == j)
                .expect("raised entry listed");
            entry.0 = cost;
        } else {
            self.is_raised[bit / 64] |= 1 << (bit % 64);
            list[self.raised_len[i]] = (cost, j);
            self.raised_len[i] += 1;
        }
    }

    fn raised(&self, bit: usize) -> bool {
        self.is_raised[bit / 64] >> (bit % 64) & 1 == 1
    }

    /// Row `i`'s first minimum `(cost, location)` over its untouched open and closed
    /// candidates and its raised entries.
    fn row_min(
        &mut self,
        costs: &TransportCosts,
        open: &[bool],
        saliency: &[f32],
        i: usize,
    ) -> (f32, u32) {
        let n = open.len();
        let order = &costs.order[i * n..(i + 1) * n];
        let row = &costs.eps_distance[i * n..(i + 1) * n];
        let skip = |k: usize, want_open: bool, t: &Transport| {
            let j = order[k] as usize;
            open[j] != want_open || t.raised(i * n + j)
        };
        while self.next_open[i] < n && skip(self.next_open[i], true, self) {
            self.next_open[i] += 1;
        }
        while self.next_closed[i] < n && skip(self.next_closed[i], false, self) {
            self.next_closed[i] += 1;
        }
        let mut best: Option<(f32, u32)> = None;
        let mut consider = |c: (f32, u32)| {
            if best.is_none_or(|b| before(c, b)) {
                best = Some(c);
            }
        };
        if self.next_open[i] < n {
            // Open costs subtract the same saliency from sorted distances: the order holds, but
            // rounding can make neighbours equal, and equal costs go to the lower location.
            let value = |j: usize| row[j] - saliency[i];
            let head = order[self.next_open[i]];
            let target = value(head as usize);
            let mut pick = head;
            for &j in &order[self.next_open[i] + 1..] {
                if !open[j as usize] || self.raised(i * n + j as usize) {
                    continue;
                }
                if value(j as usize) != target {
                    break;
                }
                pick = pick.min(j);
            }
            consider((target, pick));
        }
        if self.next_closed[i] < n {
            let j = order[self.next_closed[i]];
            consider((row[j as usize], j));
        }
        let width = costs.width;
        for &entry in &self.raised[i * width..i * width + self.raised_len[i]] {
            consider(entry);
        }
        best.expect("every row has a candidate")
    }

    /// Per column: the claimant with the lowest cost (first index among equals) and the first
    /// row that does not claim it.
    fn resolve_columns(&mut self, n: usize) {
        self.best_claimant.clear();
        self.best_claimant.resize(n, NOBODY);
        for i in 0..n {
            let (cost, j) = self.claim[i];
            let best = self.best_claimant[j as usize];
            if best == NOBODY || cost < self.claim[best].0 {
                self.best_claimant[j as usize] = i;
            }
        }
        // The first row not claiming column `j` is row 0, except for the column row 0 claims,
        // where it is the first row after the leading run of rows claiming it (if any).
        self.first_unclaimed.clear();
        self.first_unclaimed.resize(n, 0);
        let lead = self.claim[0].1;
        let run = self.claim.iter().take_while(|c| c.1 == lead).count();
        self.first_unclaimed[lead as usize] = if run < n { run } else { NOBODY };
    }

    /// Whether column `j`'s best claimant wins the official `first argmin` over
    /// `plan * cost`, where rows not claiming `j` read 0.
    fn column_won(&self, j: usize) -> bool {
        let best = self.best_claimant[j];
        if best == NOBODY {
            return false;
        }
        let value = self.claim[best].0;
        let unclaimed = self.first_unclaimed[j];
        if unclaimed == NOBODY || value < 0.0 {
            return true;
        }
        // A zero of an unclaimed row beats a positive cost and ties a zero one, where the
        // first index wins.
        value == 0.0 && best < unclaimed
    }
}

/// First index of the minimum (the official `min(-1)[1]` on CPU).
#[cfg(test)]
fn first_argmin(row: &[f32]) -> usize {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate().skip(1) {
        if v < row[best] {
            best = j;
        }
    }
    best
}

/// Moves `t x t` blocks of one image (`[C, H, W]`, row-major) by `plan` (grid `width`):
/// location `j` receives source `plan[j]`, or zeros.
pub fn apply(
    image: &[f32],
    channels: usize,
    side: usize,
    width: usize,
    plan: &[Option<usize>],
    out: &mut [f32],
) {
    match side / width {
        2 => move_blocks::<2>(image, channels, side, width, plan, out),
        4 => move_blocks::<4>(image, channels, side, width, plan, out),
        8 => move_blocks::<8>(image, channels, side, width, plan, out),
        _ => move_blocks::<0>(image, channels, side, width, plan, out),
    }
}

/// [`apply`] for blocks of `T` pixels when `T > 0` (each row copy is then a few moves rather
/// than a `memcpy` call), of `side / width` pixels when `T = 0`.
fn move_blocks<const T: usize>(
    image: &[f32],
    channels: usize,
    side: usize,
    width: usize,
    plan: &[Option<usize>],
    out: &mut [f32],
) {
    let t = if T > 0 { T } else { side / width };
    for (j, source) in plan.iter().enumerate() {
        let (jr, jc) = (j / width * t, j % width * t);
        for ch in 0..channels {
            let plane = ch * side * side;
            for dr in 0..t {
                let dst = plane + (jr + dr) * side + jc;
                match source {
                    Some(i) => {
                        let src = plane + (i / width * t + dr) * side + i % width * t;
                        out[dst..dst + t].copy_from_slice(&image[src..src + t]);
                    }
                    None => out[dst..dst + t].fill(0.0),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The official algorithm on dense matrices, written as directly as possible.
    fn dense_reference(
        open: &[bool],
        saliency: &[f32],
        eps: f32,
        width: usize,
    ) -> Vec<Option<usize>> {
        let n = open.len();
        let c = distance_matrix(width);
        let mut cost: Vec<f32> = (0..n * n)
            .map(|k| eps * c[k] - saliency[k / n] * if open[k % n] { 1.0 } else { 0.0 })
            .collect();
        let mut won = vec![None; n];
        for _ in 0..width {
            let row_best: Vec<usize> = (0..n)
                .map(|i| first_argmin(&cost[i * n..(i + 1) * n]))
                .collect();
            let mut plan_win = vec![false; n * n];
            for j in 0..n {
                let fight: Vec<f32> = (0..n)
                    .map(|i| {
                        if row_best[i] == j {
                            cost[i * n + j]
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let col_best = first_argmin(&fight);
                plan_win[col_best * n + j] = row_best[col_best] == j;
            }
            for i in 0..n {
                let j = row_best[i];
                if !plan_win[i * n + j] {
                    cost[i * n + j] += 1.0;
                }
            }
            won = (0..n)
                .map(|j| (0..n).find(|&i| plan_win[i * n + j]))
                .collect();
        }
        won
    }

    /// The transport vectors of `docs/methods/puzzlemix.md` (*Test vectors*).
    #[test]
    fn spec_transport_vectors() {
        let mut t = Transport::new();
        let plan = t
            .plan(
                &TransportCosts::new(2, 0.8),
                &[true, true, false, false],
                &[0.04, 0.1, 0.86, 0.0],
            )
            .to_vec();
        assert_eq!(plan, vec![Some(2), Some(1), None, None]);
        let plan = t.plan(
            &TransportCosts::new(2, 0.8),
            &[true, true, false, false],
            &[0.05, 0.0, 0.95, 0.0],
        );
        assert_eq!(plan, [Some(2), None, None, None]);
    }

    #[test]
    fn matches_the_dense_algorithm_and_is_a_partial_matching() {
        let mut state = 12345u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as f32 / (1u64 << 31) as f32
        };
        let mut t = Transport::new();
        for case in 0..200 {
            let width = [2, 4, 8, 16][case % 4];
            let n = width * width;
            let raw: Vec<f32> = (0..n)
                .map(|_| if next() < 0.2 { 0.0 } else { next() })
                .collect();
            let total: f32 = raw.iter().sum::<f32>().max(1e-6);
            let saliency: Vec<f32> = raw.iter().map(|v| v / total).collect();
            let open: Vec<bool> = (0..n).map(|_| next() < 0.6).collect();
            let eps = [0.8, 0.05, 10.0][case % 3];
            let plan = t
                .plan(&TransportCosts::new(width, eps as f64), &open, &saliency)
                .to_vec();
            assert_eq!(
                plan,
                dense_reference(&open, &saliency, eps, width),
                "case {case}"
            );
            let mut used = vec![false; n];
            for source in plan.iter().flatten() {
                assert!(!used[*source], "source used twice");
                used[*source] = true;
            }
        }
    }

    #[test]
    fn identity_when_everything_is_open_and_equal() {
        let width = 4;
        let mut t = Transport::new();
        let plan = t.plan(
            &TransportCosts::new(width, 0.8),
            &[true; 16],
            &[1.0 / 16.0; 16],
        );
        assert_eq!(plan, (0..16).map(Some).collect::<Vec<_>>());
    }

    #[test]
    fn apply_moves_blocks_and_zeroes_empty_locations() {
        // 1 channel, 4x4 image, 2x2 grid of 2x2 blocks: location 0 <- block 3, location 3 empty.
        let image: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let mut out = vec![-1.0; 16];
        apply(
            &image,
            1,
            4,
            2,
            &[Some(3), Some(1), Some(2), None],
            &mut out,
        );
        assert_eq!(
            out,
            vec![
                10.0, 11.0, 2.0, 3.0, 14.0, 15.0, 6.0, 7.0, 8.0, 9.0, 0.0, 0.0, 12.0, 13.0, 0.0,
                0.0
            ]
        );
    }
}
