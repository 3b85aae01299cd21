//! Where a corruption's randomness comes from: the [`Draws`] calls mirror numpy's legacy
//! `np.random` functions the reference scripts use, one call per reference call, in the same
//! order and sizes, so a replay of the reference's recorded draws reproduces its output.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};

/// A source of random draws, call for call like the reference's `np.random` (values in C
/// order of the shape the reference asks for).
pub trait Draws {
    /// `np.random.normal(loc, scale, size=n)`.
    fn normal(&mut self, loc: f64, scale: f64, n: usize) -> Vec<f64>;
    /// `np.random.uniform(low, high, size=n)`: uniform in `[low, high)`.
    fn uniform(&mut self, low: f64, high: f64, n: usize) -> Vec<f64>;
    /// `np.random.poisson(lam)`: one Poisson draw per rate.
    fn poisson(&mut self, lam: &[f64]) -> Vec<f64>;
    /// `np.random.randint(low, high, size=n)`: integers in `[low, high)`.
    fn randint(&mut self, low: i64, high: i64, n: usize) -> Vec<i64>;
}

/// Seeded draws: a ChaCha8 stream per seed. Evaluations seed one stream per (image, corruption,
/// severity), so every method sees the same corrupted images and the result does not depend
/// on batching or threads.
pub struct SeededDraws {
    rng: ChaCha8Rng,
}

impl SeededDraws {
    /// The stream of `seed`.
    pub fn new(seed: u64) -> Self {
        SeededDraws {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }
}

impl Draws for SeededDraws {
    fn normal(&mut self, loc: f64, scale: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| loc + scale * self.rng.sample::<f64, _>(StandardNormal))
            .collect()
    }

    fn uniform(&mut self, low: f64, high: f64, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| low + (high - low) * self.rng.gen::<f64>())
            .collect()
    }

    fn poisson(&mut self, lam: &[f64]) -> Vec<f64> {
        lam.iter()
            .map(|&l| match Poisson::new(l) {
                Ok(p) => p.sample(&mut self.rng),
                // numpy returns 0 for a rate of 0 (rand_distr refuses it).
                Err(_) => 0.0,
            })
            .collect()
    }

    fn randint(&mut self, low: i64, high: i64, n: usize) -> Vec<i64> {
        (0..n).map(|_| self.rng.gen_range(low..high)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_draws_and_another_seed_others() {
        let draw = |seed| {
            let mut d = SeededDraws::new(seed);
            (
                d.normal(0.0, 1.0, 4),
                d.randint(-1, 1, 6),
                d.poisson(&[0.0, 3.0]),
            )
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7).0, draw(8).0);
        let (_, ints, counts) = draw(7);
        assert!(ints.iter().all(|&i| i == -1 || i == 0), "high is exclusive");
        assert_eq!(counts[0], 0.0, "a rate of 0 gives 0, as numpy does");
    }

    #[test]
    fn seeded_normals_have_the_asked_moments() {
        let v = SeededDraws::new(1).normal(2.0, 0.5, 20_000);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!((mean - 2.0).abs() < 0.02, "{mean}");
        assert!((var.sqrt() - 0.5).abs() < 0.01, "{var}");
    }
}
