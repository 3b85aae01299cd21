use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Gamma};
use serde::{Deserialize, Serialize};

/// The seeded random stream every method draws from.
///
/// The reference implementations mix NumPy, Python and torch generators, which a port cannot
/// reproduce; mixbench draws everything from one ChaCha8 stream per run instead, so that a CPU
/// run is bit-exact for a given seed. Each method documents the order of its draws.
#[derive(Clone, Debug)]
pub struct MixRng(ChaCha8Rng);

impl MixRng {
    /// A stream from `seed`.
    pub fn seed_from(seed: u64) -> Self {
        MixRng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// A uniformly random permutation of `0..n` (Fisher-Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<i64> {
        let mut perm: Vec<i64> = (0..n as i64).collect();
        for i in (1..n).rev() {
            let j = self.0.gen_range(0..=i);
            perm.swap(i, j);
        }
        perm
    }

    /// `draw_lambda(alpha)` of the reference code: one draw of `Beta(alpha, alpha)` when
    /// `alpha > 0`, else 1.0.
    pub fn lambda(&mut self, alpha: f64) -> f64 {
        if alpha > 0.0 {
            Beta::new(alpha, alpha)
                .expect("alpha > 0 is a valid Beta parameter")
                .sample(&mut self.0)
        } else {
            1.0
        }
    }

    /// One draw of the symmetric Dirichlet law `Dir(alpha, ..., alpha)` on `n` components
    /// (normalised Gamma(alpha, 1) draws), as `f32` like the reference's torch sample.
    pub fn dirichlet(&mut self, alpha: f64, n: usize) -> Vec<f32> {
        let gamma = Gamma::new(alpha, 1.0).expect("alpha > 0 is a valid Gamma shape");
        let draws: Vec<f64> = (0..n).map(|_| gamma.sample(&mut self.0)).collect();
        let total: f64 = draws.iter().sum();
        draws.iter().map(|g| (g / total) as f32).collect()
    }

    /// A draw uniform on `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0.gen_range(lo..hi)
    }

    /// True with probability `p`.
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.0.gen_bool(p.clamp(0.0, 1.0))
    }

    /// An integer uniform on `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.0.gen_range(0..n)
    }

    /// Where the stream stands: with [`MixRng::from_state`] a stream saved in a checkpoint
    /// carries on exactly where it stopped (exact resume of a training interrupted mid-epoch).
    pub fn state(&self) -> RngState {
        RngState {
            seed: self.0.get_seed(),
            stream: self.0.get_stream(),
            word_pos: self.0.get_word_pos().to_string(),
        }
    }

    /// The stream at the position `state` recorded.
    pub fn from_state(state: &RngState) -> Result<Self, String> {
        let word_pos: u128 = state.word_pos.parse().map_err(|_| {
            format!(
                "random stream position `{}` is not a number",
                state.word_pos
            )
        })?;
        let mut rng = ChaCha8Rng::from_seed(state.seed);
        rng.set_stream(state.stream);
        rng.set_word_pos(word_pos);
        Ok(MixRng(rng))
    }
}

/// The position of a [`MixRng`] stream: its key, stream number and word position (a decimal
/// string, as JSON numbers cannot hold all of a `u128`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The ChaCha8 key.
    pub seed: [u8; 32],
    /// The ChaCha8 stream number.
    pub stream: u64,
    /// 32-bit words consumed so far.
    pub word_pos: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream restored from its state mid-way (also in the middle of a ChaCha block) draws
    /// exactly what the original draws next.
    #[test]
    fn a_restored_stream_carries_on_exactly() {
        let mut rng = MixRng::seed_from(7);
        for skip in [0usize, 1, 3, 17, 40] {
            for _ in 0..skip {
                rng.lambda(1.0);
                rng.bernoulli(0.5);
            }
            let mut copy = MixRng::from_state(&rng.state()).unwrap();
            let ahead: Vec<f64> = (0..20).map(|_| rng.uniform(0.0, 1.0)).collect();
            let resumed: Vec<f64> = (0..20).map(|_| copy.uniform(0.0, 1.0)).collect();
            assert_eq!(ahead, resumed, "after {skip} draws");
        }
        let bad = RngState {
            word_pos: "x".into(),
            ..rng.state()
        };
        assert!(MixRng::from_state(&bad).unwrap_err().contains("`x`"));
    }

    #[test]
    fn permutation_is_a_permutation_and_seeded() {
        let p = MixRng::seed_from(3).permutation(50);
        let mut sorted = p.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_eq!(p, MixRng::seed_from(3).permutation(50));
        assert_ne!(p, MixRng::seed_from(4).permutation(50));
    }

    #[test]
    fn dirichlet_sums_to_one_with_the_right_mean() {
        let mut rng = MixRng::seed_from(2);
        let mut mean = [0.0f64; 4];
        for _ in 0..5000 {
            let d = rng.dirichlet(2.0, 4);
            assert!((d.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert!(d.iter().all(|&v| v > 0.0));
            mean.iter_mut()
                .zip(&d)
                .for_each(|(m, &v)| *m += v as f64 / 5000.0);
        }
        assert!(mean.iter().all(|m| (m - 0.25).abs() < 0.01), "{mean:?}");
    }

    #[test]
    fn lambda_follows_beta_and_zero_alpha_is_one() {
        let mut rng = MixRng::seed_from(0);
        assert_eq!(rng.lambda(0.0), 1.0);
        // Beta(1, 1) is uniform: mean 1/2, variance 1/12.
        let draws: Vec<f64> = (0..20_000).map(|_| rng.lambda(1.0)).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
        assert!((var - 1.0 / 12.0).abs() < 0.005, "var {var}");
        assert!(draws.iter().all(|d| (0.0..=1.0).contains(d)));
    }
}
