//! The statistics behind a verdict, as small pure functions: Student's t distribution (through
//! the regularised incomplete beta function), t-based intervals from the seed spread, the
//! one-sided tests of a parameter against the bounds a claim puts on it (one-sample t, Welch
//! with the Welch–Satterthwaite degrees of freedom, two one-sided tests for an interval), a
//! seeded paired bootstrap for ratios of means, and Holm's step-down correction.
//!
//! Assumptions, stated once (`docs/claims.md`, *How a verdict is reached*, repeats them): per-seed values
//! are independent draws from a normal distribution (the usual model for seed noise); a group
//! needs at least two values for a spread, so with one value there is no interval and no test
//! (the verdict says "fewer seeds than needed"); the bootstrap resamples the seeds that both
//! methods share, so with few seeds its interval is coarse and says so by being wide.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::report::stats::{mean, sample_std};

/// Natural log of the gamma function (Lanczos approximation, g = 7, 9 terms; relative error
/// below 1e-13 for positive arguments).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Gamma(x) Gamma(1 - x) = pi / sin(pi x).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let mut sum = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Continued fraction of the incomplete beta function (modified Lentz), valid for
/// `x < (a + 1) / (a + b + 2)`.
fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=500 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// The regularised incomplete beta function `I_x(a, b)` for `a, b > 0` and `x` in [0, 1].
pub fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b
    }
}

/// Cumulative distribution function of Student's t with `df > 0` degrees of freedom (not
/// necessarily an integer, as Welch's are): `P(T <= t)`.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
    if t > 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// The `p` quantile of Student's t with `df` degrees of freedom (`p` in (0, 1)), found by
/// bisection on [`t_cdf`] to 1e-12.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if p == 0.5 {
        return 0.0;
    }
    let (mut lo, mut hi) = (-1e7, 1e7);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 * (1.0 + mid.abs()) {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// An estimate of a parameter with the spread a t-test needs: `estimate` (a mean or a
/// difference of means), its standard error and the degrees of freedom.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TEstimate {
    /// Point estimate.
    pub estimate: f64,
    /// Standard error of the estimate.
    pub se: f64,
    /// Degrees of freedom of its t distribution.
    pub df: f64,
}

impl TEstimate {
    /// The mean of `values` with standard error `s / sqrt(n)` and `n - 1` degrees of freedom;
    /// `None` for fewer than two values.
    pub fn mean_of(values: &[f64]) -> Option<Self> {
        let s = sample_std(values)?;
        let n = values.len() as f64;
        Some(TEstimate {
            estimate: mean(values)?,
            se: s / n.sqrt(),
            df: n - 1.0,
        })
    }

    /// Welch's estimate of `mean(a) - mean(b)`: standard error `sqrt(s_a^2/n_a + s_b^2/n_b)`
    /// and the Welch–Satterthwaite degrees of freedom
    /// `(v_a + v_b)^2 / (v_a^2/(n_a - 1) + v_b^2/(n_b - 1))` with `v = s^2/n`. `None` when a
    /// group has fewer than two values.
    pub fn welch(a: &[f64], b: &[f64]) -> Option<Self> {
        let (sa, sb) = (sample_std(a)?, sample_std(b)?);
        let (na, nb) = (a.len() as f64, b.len() as f64);
        let (va, vb) = (sa * sa / na, sb * sb / nb);
        let denominator = va * va / (na - 1.0) + vb * vb / (nb - 1.0);
        // Both spreads zero: no degrees of freedom to speak of; any finite value gives the
        // same (degenerate) decisions, since the statistic is then infinite or undefined.
        let df = if denominator > 0.0 {
            (va + vb).powi(2) / denominator
        } else {
            na + nb - 2.0
        };
        Some(TEstimate {
            estimate: mean(a)? - mean(b)?,
            se: (va + vb).sqrt(),
            df,
        })
    }

    /// The two-sided `level` interval `estimate ± t_{(1 + level)/2, df} · se`.
    pub fn interval(&self, level: f64) -> (f64, f64) {
        let half = t_quantile(0.5 + level / 2.0, self.df) * self.se;
        (self.estimate - half, self.estimate + half)
    }

    /// p-value of the one-sided test of `H0: parameter <= bound` against `parameter > bound`.
    pub fn p_above(&self, bound: f64) -> f64 {
        one_sided(self.estimate - bound, self.se, self.df)
    }

    /// p-value of the one-sided test of `H0: parameter >= bound` against `parameter < bound`.
    pub fn p_below(&self, bound: f64) -> f64 {
        one_sided(bound - self.estimate, self.se, self.df)
    }
}

/// `P(T > excess / se)`, with the zero-spread cases decided by the sign of the excess.
fn one_sided(excess: f64, se: f64, df: f64) -> f64 {
    if se > 0.0 {
        1.0 - t_cdf(excess / se, df)
    } else if excess > 0.0 {
        0.0
    } else {
        1.0
    }
}

/// Bounds a claim puts on a parameter: `low < parameter < high` (either may be infinite).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    /// Lower bound (`-inf`: none).
    pub low: f64,
    /// Upper bound (`+inf`: none).
    pub high: f64,
}

impl Bounds {
    /// Whether `x` lies strictly inside.
    pub fn contains(&self, x: f64) -> bool {
        self.low < x && x < self.high
    }
}

/// Which way the evidence points: the test that was run and its p-value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Test {
    /// True when the test was of the claim (rejecting means the claim holds), false when it
    /// was against the claim (rejecting means it fails).
    pub for_claim: bool,
    /// p-value (before any correction).
    pub p: f64,
}

/// The test of `bounds` on a t-distributed estimate. When the estimate lies inside the bounds,
/// the claim is tested: each finite bound gets a one-sided test that the parameter is on the
/// claim's side of it, and the larger p-value counts (two one-sided tests, TOST, when both are
/// finite). When it lies outside, the claim is tested against: the one-sided test that the
/// parameter is beyond the bound the estimate crossed.
pub fn t_test_bounds(est: &TEstimate, bounds: Bounds) -> Test {
    if bounds.contains(est.estimate) {
        let low = if bounds.low.is_finite() {
            est.p_above(bounds.low)
        } else {
            0.0
        };
        let high = if bounds.high.is_finite() {
            est.p_below(bounds.high)
        } else {
            0.0
        };
        Test {
            for_claim: true,
            p: low.max(high),
        }
    } else if est.estimate >= bounds.high {
        Test {
            for_claim: false,
            p: est.p_above(bounds.high),
        }
    } else {
        Test {
            for_claim: false,
            p: est.p_below(bounds.low),
        }
    }
}

/// Result of [`bootstrap_ratio`]: the ratio of means, its percentile interval and the
/// resampled ratios (sorted) for the tests.
#[derive(Clone, Debug, PartialEq)]
pub struct BootstrapRatio {
    /// `mean(a) / mean(b)` on the data.
    pub estimate: f64,
    /// Resampled ratios, sorted.
    pub resamples: Vec<f64>,
}

impl BootstrapRatio {
    /// Percentile interval of level `level`: the `(1 - level)/2` and `(1 + level)/2` quantiles
    /// of the resampled ratios (nearest rank).
    pub fn interval(&self, level: f64) -> (f64, f64) {
        let q = |p: f64| {
            let n = self.resamples.len();
            let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
            self.resamples[rank - 1]
        };
        (q((1.0 - level) / 2.0), q((1.0 + level) / 2.0))
    }

    /// Bootstrap p-value of `H0: ratio <= bound`: the share of resampled ratios at or below
    /// `bound`, with the usual `+1` so it is never 0: `(count + 1) / (B + 1)`.
    pub fn p_above(&self, bound: f64) -> f64 {
        let count = self.resamples.iter().filter(|&&r| r <= bound).count();
        (count as f64 + 1.0) / (self.resamples.len() as f64 + 1.0)
    }

    /// Bootstrap p-value of `H0: ratio >= bound` (see [`Self::p_above`]).
    pub fn p_below(&self, bound: f64) -> f64 {
        let count = self.resamples.iter().filter(|&&r| r >= bound).count();
        (count as f64 + 1.0) / (self.resamples.len() as f64 + 1.0)
    }

    /// The test of `bounds` on the ratio, built as [`t_test_bounds`] with the bootstrap
    /// p-values in place of the t ones.
    pub fn test_bounds(&self, bounds: Bounds) -> Test {
        if bounds.contains(self.estimate) {
            let low = if bounds.low.is_finite() {
                self.p_above(bounds.low)
            } else {
                0.0
            };
            let high = if bounds.high.is_finite() {
                self.p_below(bounds.high)
            } else {
                0.0
            };
            Test {
                for_claim: true,
                p: low.max(high),
            }
        } else if self.estimate >= bounds.high {
            Test {
                for_claim: false,
                p: self.p_above(bounds.high),
            }
        } else {
            Test {
                for_claim: false,
                p: self.p_below(bounds.low),
            }
        }
    }
}

/// Paired bootstrap of `mean(a) / mean(b)`: `a[i]` and `b[i]` come from the same seed; each of
/// `reps` resamples draws `n` seed indices with replacement (ChaCha8 seeded with `seed`, so
/// the result is the same on every machine) and takes the ratio of the resampled means.
/// `None` for fewer than two pairs or a zero mean of `b`.
pub fn bootstrap_ratio(a: &[f64], b: &[f64], reps: usize, seed: u64) -> Option<BootstrapRatio> {
    let n = a.len();
    if n < 2 || b.len() != n || reps == 0 {
        return None;
    }
    let estimate = mean(a)? / mean(b)?;
    if !estimate.is_finite() {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut resamples = Vec::with_capacity(reps);
    for _ in 0..reps {
        let (mut sa, mut sb) = (0.0, 0.0);
        for _ in 0..n {
            let i = rng.gen_range(0..n);
            sa += a[i];
            sb += b[i];
        }
        resamples.push(sa / sb);
    }
    resamples.sort_by(f64::total_cmp);
    Some(BootstrapRatio {
        estimate,
        resamples,
    })
}

/// Holm's step-down adjustment of the p-values of one family of tests: sorted ascending, the
/// `i`-th (from 0) is multiplied by `m - i`, made non-decreasing and capped at 1. Rejecting
/// where the adjusted p-value is below `alpha` controls the family-wise error rate at `alpha`.
/// Returned in the input order.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// Closed forms: df = 1 is the Cauchy distribution, F(1) = 3/4; df = 2 has
    /// F(t) = 1/2 + t / (2 sqrt(2 + t^2)), so F(1) = 1/2 + 1/(2 sqrt 3) = 0.788675.
    #[test]
    fn t_cdf_matches_closed_forms() {
        assert!(close(t_cdf(1.0, 1.0), 0.75, 1e-12));
        assert!(close(t_cdf(-1.0, 1.0), 0.25, 1e-12));
        for t in [-3.0f64, -0.4, 0.0, 0.7, 2.5, 10.0] {
            let exact = 0.5 + t / (2.0 * (2.0 + t * t).sqrt());
            assert!(close(t_cdf(t, 2.0), exact, 1e-12), "{t}");
        }
        assert_eq!(t_cdf(f64::INFINITY, 3.0), 1.0);
    }

    /// Quantiles from the standard t table: t_{0.975,2} = 4.302653, t_{0.95,2} = 2.919986,
    /// t_{0.975,4} = 2.776445, t_{0.95,4} = 2.131847, t_{0.975,10} = 2.228139; and the normal
    /// limit 1.959964 at df = 1e6.
    #[test]
    fn t_quantiles_match_the_table() {
        for (p, df, q) in [
            (0.975, 2.0, 4.302_653),
            (0.95, 2.0, 2.919_986),
            (0.975, 4.0, 2.776_445),
            (0.95, 4.0, 2.131_847),
            (0.975, 10.0, 2.228_139),
            (0.975, 1e6, 1.959_966),
        ] {
            let got = t_quantile(p, df);
            assert!(close(got, q, 2e-6), "t_{{{p},{df}}} = {got}, table {q}");
            assert!(close(t_quantile(1.0 - p, df), -q, 2e-6));
        }
    }

    /// One sample [79, 80, 81]: mean 80, s = 1, se = 1/sqrt 3 = 0.57735, df 2; the 95% interval
    /// is 80 ± 4.302653 · 0.57735 = 80 ± 2.484138.
    #[test]
    fn seed_spread_interval() {
        let est = TEstimate::mean_of(&[79.0, 80.0, 81.0]).unwrap();
        assert_eq!((est.estimate, est.df), (80.0, 2.0));
        assert!(close(est.se, 1.0 / 3f64.sqrt(), 1e-12));
        let (lo, hi) = est.interval(0.95);
        assert!(close(lo, 80.0 - 2.484_138, 1e-5) && close(hi, 80.0 + 2.484_138, 1e-5));
        assert!(
            TEstimate::mean_of(&[80.0]).is_none(),
            "one value: no interval"
        );
    }

    /// Welch by hand. Equal sizes and spreads: a = [80, 81, 82], b = [78, 79, 80]; difference 2,
    /// v_a = v_b = 1/3, se = sqrt(2/3) = 0.816497, df = (2/3)^2 / (2 (1/3)^2 / 2) = 4 exactly,
    /// t = 2.449490; one-sided p = 1 - F_4(2.449490) = 0.035242 (closed form of F_4:
    /// 1/2 + 3/8 · x/sqrt(1 + x²/4) · (1 - x²/(12 (1 + x²/4)))).
    /// Unequal: b = [78, 79, 80, 81, 77] (mean 79, s² = 2.5): se = sqrt(1/3 + 0.5) = 0.912871,
    /// df = (5/6)^2 / ((1/3)^2/2 + 0.5^2/4) = 5.882353, t = 2.190890, p = 0.035943.
    #[test]
    fn welch_matches_hand_computations() {
        let a = [80.0, 81.0, 82.0];
        let est = TEstimate::welch(&a, &[78.0, 79.0, 80.0]).unwrap();
        assert_eq!(est.estimate, 2.0);
        assert!(close(est.se, (2.0f64 / 3.0).sqrt(), 1e-12));
        assert!(close(est.df, 4.0, 1e-12));
        assert!(
            close(est.p_above(0.0), 0.035_242, 1e-6),
            "{}",
            est.p_above(0.0)
        );
        // The other direction is the complement.
        assert!(close(est.p_below(0.0), 1.0 - 0.035_242, 1e-6));

        let est = TEstimate::welch(&a, &[78.0, 79.0, 80.0, 81.0, 77.0]).unwrap();
        assert!(close(est.se, 0.912_871, 1e-6));
        assert!(close(est.df, 5.882_353, 1e-6));
        assert!(
            close(est.p_above(0.0), 0.035_943, 1e-5),
            "{}",
            est.p_above(0.0)
        );
        assert!(TEstimate::welch(&a, &[79.0]).is_none());
    }

    /// TOST by hand: a = [80, 81, 82], b = [79.5, 80.5, 81.5] (difference 0.5, se 0.816497,
    /// df 4), margin 3: t_low = (0.5 + 3)/0.816497 = 4.286607, t_high = (0.5 - 3)/0.816497 =
    /// -3.061862; p = max(1 - F_4(4.286607), F_4(-3.061862)) = max(0.006390, 0.018795) = 0.018795.
    /// With margin 1 the estimate is inside but the test is weak: p = F_4((0.5-1)/0.816497) =
    /// F_4(-0.612372) = 0.286696.
    #[test]
    fn tost_matches_a_hand_computation() {
        let est = TEstimate::welch(&[80.0, 81.0, 82.0], &[79.5, 80.5, 81.5]).unwrap();
        let test = t_test_bounds(
            &est,
            Bounds {
                low: -3.0,
                high: 3.0,
            },
        );
        assert!(test.for_claim);
        assert!(close(test.p, 0.018_795, 1e-6), "{}", test.p);
        let test = t_test_bounds(
            &est,
            Bounds {
                low: -1.0,
                high: 1.0,
            },
        );
        assert!(test.for_claim && close(test.p, 0.286_696, 1e-6), "{test:?}");
        // Outside the bounds: the test against the claim, on the bound crossed.
        let test = t_test_bounds(
            &est,
            Bounds {
                low: -0.2,
                high: 0.2,
            },
        );
        assert!(!test.for_claim);
        assert!(close(test.p, est.p_above(0.2), 1e-15));
    }

    /// Two pairs a = [2, 4], b = [1, 1]: the four equally likely resamples of the indices give
    /// ratios 2 (1/4), 3 (1/2) and 4 (1/4), so the 90% percentile interval is [2, 4] and the share
    /// of ratios at or below 2.5 is close to 1/4.
    #[test]
    fn bootstrap_with_a_fixed_seed() {
        let boot = bootstrap_ratio(&[2.0, 4.0], &[1.0, 1.0], 4000, 7).unwrap();
        assert_eq!(boot.estimate, 3.0);
        assert_eq!(boot.interval(0.9), (2.0, 4.0));
        assert!(
            close(boot.p_above(2.5), 0.25, 0.03),
            "{}",
            boot.p_above(2.5)
        );
        let threes = boot.resamples.iter().filter(|&&r| r == 3.0).count();
        assert!(close(threes as f64 / 4000.0, 0.5, 0.03));
        // The same seed gives the same resamples; another seed other ones.
        assert_eq!(
            boot,
            bootstrap_ratio(&[2.0, 4.0], &[1.0, 1.0], 4000, 7).unwrap()
        );
        let other = bootstrap_ratio(&[2.0, 4.0], &[1.0, 1.0], 4000, 8).unwrap();
        assert_ne!(boot.resamples, other.resamples);
        assert!(
            bootstrap_ratio(&[2.0], &[1.0], 100, 0).is_none(),
            "one pair"
        );
        // Constant data: every resample is the estimate.
        let flat = bootstrap_ratio(&[3.0, 3.0, 3.0], &[1.5, 1.5, 1.5], 100, 0).unwrap();
        assert_eq!(flat.interval(0.9), (2.0, 2.0));
        assert!(
            flat.test_bounds(Bounds {
                low: 1.5,
                high: 2.5
            })
            .for_claim
        );
    }

    /// Holm by hand: p = [0.01, 0.04, 0.03, 0.20]; sorted 0.01, 0.03, 0.04, 0.20 times 4, 3, 2, 1
    /// = 0.04, 0.09, 0.08, 0.20, made non-decreasing: 0.04, 0.09, 0.09, 0.20.
    #[test]
    fn holm_matches_a_hand_computation() {
        let adjusted = holm(&[0.01, 0.04, 0.03, 0.20]);
        let expected = [0.04, 0.09, 0.09, 0.20];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!(close(*a, e, 1e-12), "{adjusted:?}");
        }
        assert_eq!(holm(&[0.6, 0.5]), [1.0, 1.0]);
        assert!(holm(&[]).is_empty());
    }
}
