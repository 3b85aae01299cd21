//! Multinomial logistic regression with an L2 penalty, fitted natively with L-BFGS: the
//! classifier of the "good embedding" protocol (Tian et al., ECCV 2020, who use scikit-learn's
//! `LogisticRegression(penalty='l2', C=1.0, solver='lbfgs', max_iter=1000,
//! multi_class='multinomial')`).
//!
//! Objective, as scikit-learn's: `C * sum_i CE(softmax(W x_i + b), y_i) + ||W||^2 / 2`, the
//! intercept `b` unpenalised. L-BFGS (10 correction pairs) with a backtracking Armijo line
//! search; converged when the largest absolute gradient component is at most `tol`. Plain
//! `f64` on the CPU: episodes are small (`N * K` samples), and the fit is deterministic.

/// Fit settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogRegConfig {
    /// Inverse regularisation strength (scikit-learn's `C`, default 1).
    pub c: f64,
    /// Iteration limit (default 1000).
    pub max_iter: usize,
    /// Convergence test: largest absolute gradient component (default 1e-6).
    pub tol: f64,
}

impl Default for LogRegConfig {
    fn default() -> Self {
        LogRegConfig {
            c: 1.0,
            max_iter: 1000,
            tol: 1e-6,
        }
    }
}

/// A fitted model.
#[derive(Clone, Debug, PartialEq)]
pub struct LogisticRegression {
    /// Weights `[K, D]`, row-major.
    pub weights: Vec<f64>,
    /// Intercepts `[K]`.
    pub bias: Vec<f64>,
    /// Classes `K`.
    pub classes: usize,
    /// Feature dimension `D`.
    pub dim: usize,
    /// L-BFGS iterations made.
    pub iterations: usize,
    /// Whether the gradient test was met within `max_iter`.
    pub converged: bool,
    /// Objective at the solution.
    pub objective: f64,
}

/// Objective and gradient at `params` = `[W (K*D), b (K)]` for `x` (`[n, D]`) and labels `y`.
pub fn objective(
    params: &[f64],
    x: &[f64],
    y: &[usize],
    k: usize,
    d: usize,
    c: f64,
) -> (f64, Vec<f64>) {
    let n = y.len();
    let (w, b) = params.split_at(k * d);
    let mut grad = vec![0.0; k * d + k];
    let mut f = 0.0;
    let mut logits = vec![0.0; k];
    for i in 0..n {
        let xi = &x[i * d..(i + 1) * d];
        for (j, logit) in logits.iter_mut().enumerate() {
            *logit = b[j]
                + w[j * d..(j + 1) * d]
                    .iter()
                    .zip(xi)
                    .map(|(a, v)| a * v)
                    .sum::<f64>();
        }
        let m = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = logits.iter().map(|l| (l - m).exp()).sum();
        let lse = m + z.ln();
        f += c * (lse - logits[y[i]]);
        for j in 0..k {
            let p = (logits[j] - lse).exp();
            let r = c * (p - if j == y[i] { 1.0 } else { 0.0 });
            for (g, v) in grad[j * d..(j + 1) * d].iter_mut().zip(xi) {
                *g += r * v;
            }
            grad[k * d + j] += r;
        }
    }
    for (g, wv) in grad[..k * d].iter_mut().zip(w) {
        *g += wv;
        f += 0.5 * wv * wv;
    }
    (f, grad)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Fits the model to `x` (`[n, D]`, row-major) with labels `y` in `0..k`, from zero weights.
pub fn fit(x: &[f64], y: &[usize], k: usize, config: &LogRegConfig) -> LogisticRegression {
    let n = y.len();
    assert!(n > 0 && x.len() % n == 0, "x must hold n rows");
    let d = x.len() / n;
    let eval = |p: &[f64]| objective(p, x, y, k, d, config.c);
    let mut params = vec![0.0; k * d + k];
    let (mut f, mut g) = eval(&params);
    const M: usize = 10;
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut iterations = 0;
    let mut converged = max_abs(&g) <= config.tol;
    while !converged && iterations < config.max_iter {
        // Two-loop recursion: direction = -H g.
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(s_hist.len());
        for (s, yv) in s_hist.iter().zip(&y_hist).rev() {
            let rho = 1.0 / dot(yv, s);
            let a = rho * dot(s, &q);
            for (qi, yi) in q.iter_mut().zip(yv) {
                *qi -= a * yi;
            }
            alphas.push((a, rho));
        }
        let gamma = match (s_hist.last(), y_hist.last()) {
            (Some(s), Some(yv)) => dot(s, yv) / dot(yv, yv),
            _ => 1.0 / max_abs(&g).max(1.0),
        };
        for qi in q.iter_mut() {
            *qi *= gamma;
        }
        for ((s, yv), (a, rho)) in s_hist.iter().zip(&y_hist).zip(alphas.into_iter().rev()) {
            let beta = rho * dot(yv, &q);
            for (qi, si) in q.iter_mut().zip(s) {
                *qi += (a - beta) * si;
            }
        }
        let mut dir: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&g, &dir);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            dir = g.iter().map(|v| -v / max_abs(&g).max(1.0)).collect();
            slope = dot(&g, &dir);
        }
        // Backtracking Armijo line search.
        let mut step = 1.0;
        let mut accepted = None;
        for _ in 0..60 {
            let trial: Vec<f64> = params.iter().zip(&dir).map(|(p, d)| p + step * d).collect();
            let (ft, gt) = eval(&trial);
            if ft <= f + 1e-4 * step * slope {
                accepted = Some((trial, ft, gt));
                break;
            }
            step *= 0.5;
        }
        iterations += 1;
        let Some((trial, ft, gt)) = accepted else {
            break; // no decrease possible at machine precision: at the optimum
        };
        let s: Vec<f64> = trial.iter().zip(&params).map(|(a, b)| a - b).collect();
        let yv: Vec<f64> = gt.iter().zip(&g).map(|(a, b)| a - b).collect();
        if dot(&s, &yv) > 1e-12 {
            if s_hist.len() == M {
                s_hist.remove(0);
                y_hist.remove(0);
            }
            s_hist.push(s);
            y_hist.push(yv);
        }
        params = trial;
        f = ft;
        g = gt;
        converged = max_abs(&g) <= config.tol;
    }
    let bias = params.split_off(k * d);
    LogisticRegression {
        weights: params,
        bias,
        classes: k,
        dim: d,
        iterations,
        converged,
        objective: f,
    }
}

impl LogisticRegression {
    /// Arg-max class of each row of `x` (`[n, D]`); ties go to the lower class.
    pub fn predict(&self, x: &[f64]) -> Vec<usize> {
        x.chunks_exact(self.dim)
            .map(|xi| {
                let mut best = (0, f64::NEG_INFINITY);
                for j in 0..self.classes {
                    let w = &self.weights[j * self.dim..(j + 1) * self.dim];
                    let l = self.bias[j] + dot(w, xi);
                    if l > best.1 {
                        best = (j, l);
                    }
                }
                best.0
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two points, x = -1 (class 0) and x = +1 (class 1), C = 1. By symmetry the optimum is
    /// W = [-w, w], b0 = b1, and the objective is w^2 + 2 log(1 + exp(-2w)), stationary where
    /// w = 2 sigmoid(-2w): solved here independently by bisection on that scalar equation.
    #[test]
    fn reaches_the_hand_derived_optimum_of_a_separable_problem() {
        let model = fit(&[-1.0, 1.0], &[0, 1], 2, &LogRegConfig::default());
        let h = |w: f64| w - 2.0 / (1.0 + (2.0 * w).exp());
        let (mut lo, mut hi) = (0.0, 2.0);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if h(mid) > 0.0 {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        let w = 0.5 * (lo + hi); // 0.7388...
        assert!(model.converged);
        assert!(
            (model.weights[1] - w).abs() < 1e-6,
            "{:?} vs {w}",
            model.weights
        );
        assert!((model.weights[0] + w).abs() < 1e-6);
        assert!((model.bias[0] - model.bias[1]).abs() < 1e-6);
        let expected = w * w + 2.0 * (1.0 + (-2.0 * w).exp()).ln();
        assert!((model.objective - expected).abs() < 1e-10);
        assert_eq!(model.predict(&[-0.3, 0.2]), [0, 1]);
    }

    /// Three separable clusters in 4-D: the fit meets the gradient test, classifies its
    /// training points, and no nearby point has a lower objective (convexity: a stationary
    /// point is the optimum).
    #[test]
    fn multiclass_fit_is_stationary_and_optimal() {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for c in 0..3 {
            for i in 0..5 {
                let mut row = vec![0.1 * i as f64 - 0.2; 4];
                row[c] += 2.0;
                x.extend(row);
                y.push(c);
            }
        }
        let config = LogRegConfig::default();
        let model = fit(&x, &y, 3, &config);
        assert!(model.converged, "{} iterations", model.iterations);
        assert_eq!(model.predict(&x), y);
        let mut params = model.weights.clone();
        params.extend(&model.bias);
        let (f, g) = objective(&params, &x, &y, 3, 4, 1.0);
        assert!(g.iter().all(|v| v.abs() <= 1e-6));
        for i in 0..params.len() {
            for delta in [-1e-3, 1e-3] {
                let mut p = params.clone();
                p[i] += delta;
                assert!(objective(&p, &x, &y, 3, 4, 1.0).0 >= f - 1e-12);
            }
        }
    }
}
