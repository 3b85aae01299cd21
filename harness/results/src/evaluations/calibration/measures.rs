//! The calibration measures in plain Rust on `f64` slices (no libtorch), so that the
//! `calibration` evaluation of the `mixbench` crate, its tests and the check against the
//! independent packages (`tests/calibration_fixture.rs`) all compute them with the same code.
//! Definitions (see `docs/calibration.md`), for `n` images with logits `z_i`, label `y_i`, a
//! temperature `T > 0` and `p_i = softmax(z_i / T)`:
//!
//! - **prediction** `ŷ_i`: the first index of the largest logit (as `argmax`); its
//!   **confidence** `c_i = p_i[ŷ_i]` (the largest probability); correct when `ŷ_i = y_i`;
//! - **top-1**: the fraction of correct predictions;
//! - **ECE** (expected calibration error) over bins `B_b`: `sum_b |B_b| / n * |acc(B_b) -
//!   conf(B_b)|`, `acc` the fraction correct and `conf` the mean confidence of the bin, empty
//!   bins left out. [`equal_width_bins`] are torchmetrics' bins, [`equal_mass_bins`] netcal's
//!   equal-mass ones (the adaptive ECE, aECE);
//! - **MCE** (maximum calibration error): the largest `|acc(B_b) - conf(B_b)|` over the
//!   non-empty equal-width bins;
//! - **NLL**: the mean of `-ln p_i[y_i]`, natural log, computed as a log-sum-exp;
//! - **Brier score**: the mean over images of `sum_k (p_i[k] - [k = y_i])^2`, summed over the
//!   classes and not divided by their number (range `[0, 2]`).
//!
//! [`fit_temperature`] finds the temperature that minimises the NLL.

use anyhow::{bail, ensure, Result};

/// The temperatures [`fit_temperature`] searches, `(lowest, highest)`.
pub const TEMPERATURE_BOUNDS: (f64, f64) = (0.01, 100.0);

/// Logits of `n` images (row-major, `n * classes` values) with their labels: what every
/// measure is computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    logits: Vec<f64>,
    labels: Vec<usize>,
    classes: usize,
}

impl Scores {
    /// Scores of `labels.len()` images; an error when the lengths disagree, there are no
    /// images or classes, a label is not below `classes` or a logit is not finite.
    pub fn new(logits: Vec<f64>, labels: Vec<usize>, classes: usize) -> Result<Self> {
        ensure!(classes >= 1, "calibration scores need at least one class");
        ensure!(
            !labels.is_empty(),
            "calibration scores need at least one image"
        );
        ensure!(
            logits.len() == labels.len() * classes,
            "{} logits for {} images of {classes} classes (expected {})",
            logits.len(),
            labels.len(),
            labels.len() * classes
        );
        if let Some((i, label)) = labels.iter().enumerate().find(|(_, &l)| l >= classes) {
            bail!("image {i}: label {label} out of range for {classes} classes");
        }
        if let Some(i) = logits.iter().position(|z| !z.is_finite()) {
            bail!(
                "image {}: logit {} is {}, not a finite number",
                i / classes,
                i % classes,
                logits[i]
            );
        }
        Ok(Scores {
            logits,
            labels,
            classes,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Never true ([`Scores::new`] refuses no images); for the `len`/`is_empty` pair.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The label of every image.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// The logits of image `i`.
    pub fn logits(&self, i: usize) -> &[f64] {
        &self.logits[i * self.classes..(i + 1) * self.classes]
    }

    /// The images at `positions` (in that order), e.g. the held-out part of a split; an error
    /// when `positions` is empty or names an image that does not exist.
    pub fn select(&self, positions: &[usize]) -> Result<Scores> {
        if let Some(&p) = positions.iter().find(|&&p| p >= self.len()) {
            bail!("image {p} selected out of {} images", self.len());
        }
        let logits = positions
            .iter()
            .flat_map(|&p| self.logits(p).iter().copied())
            .collect();
        let labels = positions.iter().map(|&p| self.labels[p]).collect();
        Scores::new(logits, labels, self.classes)
    }
}

/// The first index of the largest value (as `argmax` on ties).
fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (k, &v) in values.iter().enumerate().skip(1) {
        if v > values[best] {
            best = k;
        }
    }
    best
}

/// `softmax(z / T)` of one image: the probabilities and `ln sum_k exp(z_k / T)`, computed
/// from `s = z / T` as `exp(s - max s) / sum exp(s - max s)` (no overflow).
fn softmax(z: &[f64], temperature: f64) -> (Vec<f64>, f64) {
    let s: Vec<f64> = z.iter().map(|&v| v / temperature).collect();
    let m = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = s.iter().map(|&v| (v - m).exp()).collect();
    let total: f64 = w.iter().sum();
    (w.iter().map(|&v| v / total).collect(), m + total.ln())
}

/// The top-label outcome of one image: its confidence and whether its prediction is right.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TopLabel {
    /// Probability of the predicted class.
    pub confidence: f64,
    /// Whether the predicted class is the label.
    pub correct: bool,
}

/// One bin of a reliability diagram: its edges and the images it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Bin {
    /// Lower edge (confidence in `[0, 1]`).
    pub lower: f64,
    /// Upper edge.
    pub upper: f64,
    /// Images whose confidence falls in the bin.
    pub count: usize,
    /// Of those, correctly predicted.
    pub correct: usize,
    /// Sum of their confidences.
    pub confidence_sum: f64,
}

impl Bin {
    fn new(lower: f64, upper: f64) -> Self {
        Bin {
            lower,
            upper,
            count: 0,
            correct: 0,
            confidence_sum: 0.0,
        }
    }

    fn add(&mut self, top: &TopLabel) {
        self.count += 1;
        self.correct += usize::from(top.correct);
        self.confidence_sum += top.confidence;
    }

    /// Fraction correct, `None` for an empty bin.
    pub fn accuracy(&self) -> Option<f64> {
        (self.count > 0).then(|| self.correct as f64 / self.count as f64)
    }

    /// Mean confidence, `None` for an empty bin.
    pub fn confidence(&self) -> Option<f64> {
        (self.count > 0).then(|| self.confidence_sum / self.count as f64)
    }

    /// `|accuracy - confidence|`, `None` for an empty bin.
    pub fn gap(&self) -> Option<f64> {
        Some((self.accuracy()? - self.confidence()?).abs())
    }
}

/// Equal-width bins as torchmetrics' `MulticlassCalibrationError` makes them: edges
/// `e_i = i / bins` (`i = 0..=bins`), a confidence `c` in bin `b` when `e_b <= c < e_{b+1}`
/// (an edge belongs to the bin above it: `torch.bucketize(c, edges, right=True) - 1`), and a
/// confidence of exactly 1 in a bin of its own, `[1, 1]`, the last of the `bins + 1`
/// returned. (torchmetrics builds its edges with `torch.linspace`, which can differ from
/// `i / bins` in the last bit; only a confidence within that bit of an edge could be binned
/// differently.)
pub fn equal_width_bins(tops: &[TopLabel], bins: usize) -> Vec<Bin> {
    let edges: Vec<f64> = (0..=bins).map(|i| i as f64 / bins as f64).collect();
    let mut out: Vec<Bin> = edges
        .windows(2)
        .map(|e| Bin::new(e[0], e[1]))
        .chain(std::iter::once(Bin::new(1.0, 1.0)))
        .collect();
    for top in tops {
        let above = edges.partition_point(|&e| e <= top.confidence);
        out[above.saturating_sub(1)].add(top);
    }
    out
}

/// `np.linspace(0, 1, bins + 1)` with NumPy's arithmetic: `i * (1 / bins)`, the last exactly 1.
fn numpy_unit_linspace(bins: usize) -> Vec<f64> {
    let step = 1.0 / bins as f64;
    let mut q: Vec<f64> = (0..=bins).map(|i| i as f64 * step).collect();
    q[bins] = 1.0;
    q
}

/// `np.quantile(values, q)` (its default method, `linear`: Hyndman and Fan's type 7) of the
/// ascending `sorted`, with NumPy's arithmetic (virtual index `(n - 1) * q`, the lerp from the
/// nearer end), so that edges falling on a sample are the sample itself.
fn numpy_quantile(sorted: &[f64], q: f64) -> f64 {
    let last = sorted.len() - 1;
    let index = last as f64 * q;
    if index >= last as f64 {
        return sorted[last];
    }
    if index < 0.0 {
        return sorted[0];
    }
    let below = index.floor();
    let gamma = index - below;
    let (a, b) = (sorted[below as usize], sorted[below as usize + 1]);
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// Equal-mass bins as netcal's `ECE(bins, equal_intervals=False)` makes them: edges at the
/// quantiles `i / bins` of the confidences (NumPy's default quantile, [`numpy_quantile`]),
/// the first replaced by 0 and the last by 1; a confidence in bin `b` when `e_b <= c <
/// e_{b+1}`, the last bin closed `[e_{bins-1}, 1]` (NumPy histogram bins). Each bin holds
/// about `n / bins` images; ties at an edge go to the bin above, and repeated edges (many equal
/// confidences) leave bins empty. netcal first clips confidences to `[eps, 1 - eps]`, which
/// changes a confidence of exactly 1 in its last bits only.
pub fn equal_mass_bins(tops: &[TopLabel], bins: usize) -> Vec<Bin> {
    let mut sorted: Vec<f64> = tops.iter().map(|t| t.confidence).collect();
    sorted.sort_by(f64::total_cmp);
    let mut edges: Vec<f64> = numpy_unit_linspace(bins)
        .into_iter()
        .map(|q| numpy_quantile(&sorted, q))
        .collect();
    edges[0] = 0.0;
    edges[bins] = 1.0;
    let mut out: Vec<Bin> = edges.windows(2).map(|e| Bin::new(e[0], e[1])).collect();
    let inner = &edges[1..bins];
    for top in tops {
        out[inner.partition_point(|&e| e <= top.confidence)].add(top);
    }
    out
}

/// The expected calibration error of `bins`: `sum_b count_b / n * |acc_b - conf_b|`, `n`
/// the images in all bins, empty bins left out (0 for no images).
pub fn expected_error(bins: &[Bin]) -> f64 {
    let n: usize = bins.iter().map(|b| b.count).sum();
    bins.iter()
        .filter_map(|b| Some(b.count as f64 / n as f64 * b.gap()?))
        .sum()
}

/// The maximum calibration error of `bins`: the largest `|acc_b - conf_b|` of a non-empty
/// bin (0 for no images).
pub fn max_error(bins: &[Bin]) -> f64 {
    bins.iter().filter_map(Bin::gap).fold(0.0, f64::max)
}

/// Every measure of a set of scores at one temperature, as fractions (not percent).
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// Images scored.
    pub images: usize,
    /// Fraction of correct top-1 predictions.
    pub top1: f64,
    /// ECE over the equal-width bins.
    pub ece: f64,
    /// ECE over the equal-mass bins (adaptive ECE).
    pub aece: f64,
    /// MCE over the equal-width bins.
    pub mce: f64,
    /// Mean negative log-likelihood of the labels, nats.
    pub nll: f64,
    /// Mean Brier score, summed over classes.
    pub brier: f64,
    /// The equal-width bins (`bins + 1`, the last `[1, 1]`), for the reliability diagram.
    pub bins: Vec<Bin>,
}

/// Every measure of `scores` at `temperature` with `bins` bins of each kind; an error for a
/// temperature that is not positive and finite or for no bins.
pub fn measure(scores: &Scores, temperature: f64, bins: usize) -> Result<Calibration> {
    ensure!(
        temperature > 0.0 && temperature.is_finite(),
        "temperature {temperature}: must be positive and finite"
    );
    ensure!(bins >= 1, "calibration needs at least one bin");
    let n = scores.len();
    let (mut nll, mut brier) = (0.0, 0.0);
    let mut tops = Vec::with_capacity(n);
    for i in 0..n {
        let z = scores.logits(i);
        let (p, log_total) = softmax(z, temperature);
        let y = scores.labels[i];
        // The prediction is the argmax of the logits, whatever the temperature.
        let predicted = argmax(z);
        tops.push(TopLabel {
            confidence: p[predicted],
            correct: predicted == y,
        });
        nll += log_total - z[y] / temperature;
        brier += p
            .iter()
            .enumerate()
            .map(|(k, &pk)| {
                let d = pk - if k == y { 1.0 } else { 0.0 };
                d * d
            })
            .sum::<f64>();
    }
    let width = equal_width_bins(&tops, bins);
    let mass = equal_mass_bins(&tops, bins);
    Ok(Calibration {
        images: n,
        top1: tops.iter().filter(|t| t.correct).count() as f64 / n as f64,
        ece: expected_error(&width),
        aece: expected_error(&mass),
        mce: max_error(&width),
        nll: nll / n as f64,
        brier: brier / n as f64,
        bins: width,
    })
}

/// First and second derivative of the mean NLL with respect to the inverse temperature
/// `beta` (logits `beta * z`): `mean_i (E_p[z_i] - z_i[y_i])` and `mean_i Var_p(z_i)`, `p =
/// softmax(beta * z_i)`. The NLL is convex in `beta`.
fn nll_slope(scores: &Scores, beta: f64) -> (f64, f64) {
    let (mut slope, mut curvature) = (0.0, 0.0);
    for i in 0..scores.len() {
        let z = scores.logits(i);
        let m = z
            .iter()
            .map(|&v| beta * v)
            .fold(f64::NEG_INFINITY, f64::max);
        let (mut total, mut first, mut second) = (0.0, 0.0, 0.0);
        for &v in z {
            let w = (beta * v - m).exp();
            total += w;
            first += w * v;
            second += w * v * v;
        }
        let mean = first / total;
        slope += mean - z[scores.labels[i]];
        curvature += (second / total - mean * mean).max(0.0);
    }
    let n = scores.len() as f64;
    (slope / n, curvature / n)
}

/// The temperature `T` that minimises the mean NLL of `scores` (temperature scaling, Guo et
/// al. 2017), within [`TEMPERATURE_BOUNDS`].
///
/// The NLL is convex in `beta = 1 / T`, so its minimum is the root of its derivative: found by
/// Newton's method on `beta` from `beta = 1`, each step kept inside a bracket of the root
/// (a bisection instead when Newton's step leaves it), until a step changes `beta` by at most
/// four ulps or 100 steps. Deterministic. When the NLL still falls at a bound (every image
/// right with a wide margin: towards `T -> 0`; logits unrelated to the labels: `T -> inf`),
/// that bound is returned.
pub fn fit_temperature(scores: &Scores) -> f64 {
    let (t_low, t_high) = TEMPERATURE_BOUNDS;
    let (mut low, mut high) = (1.0 / t_high, 1.0 / t_low);
    if nll_slope(scores, low).0 >= 0.0 {
        return t_high;
    }
    if nll_slope(scores, high).0 <= 0.0 {
        return t_low;
    }
    let mut beta: f64 = 1.0;
    for _ in 0..100 {
        let (slope, curvature) = nll_slope(scores, beta);
        if slope == 0.0 {
            break;
        }
        if slope < 0.0 {
            low = beta;
        } else {
            high = beta;
        }
        let newton = beta - slope / curvature;
        let next = if curvature > 0.0 && newton > low && newton < high {
            newton
        } else {
            0.5 * (low + high)
        };
        let done = (next - beta).abs() <= 4.0 * f64::EPSILON * beta;
        beta = next;
        if done {
            break;
        }
    }
    1.0 / beta
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn top(confidence: f64, correct: bool) -> TopLabel {
        TopLabel {
            confidence,
            correct,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    /// Four images of two classes, worked by hand: logits (ln 3, 0) give probabilities
    /// (0.75, 0.25); (0, 0) give (0.5, 0.5).
    #[test]
    fn four_images_of_two_classes_by_hand() {
        let l3 = 3f64.ln();
        let scores = Scores::new(
            vec![l3, 0.0, l3, 0.0, 0.0, l3, 0.0, 0.0],
            vec![0, 1, 1, 0],
            2,
        )
        .unwrap();
        // Predictions 0, 0, 1, 0 (the tie goes to class 0): right, wrong, right, right.
        // Confidences 0.75, 0.75, 0.75, 0.5.
        let m = measure(&scores, 1.0, 2).unwrap();
        assert_eq!(m.images, 4);
        assert!(close(m.top1, 0.75));
        // Two bins [0, 0.5), [0.5, 1) and [1, 1]: 0.5 sits on an edge, so every image is in
        // the second bin: accuracy 3/4, confidence 2.75/4 = 0.6875, ECE = MCE = 0.0625.
        assert_eq!(
            m.bins.iter().map(|b| b.count).collect::<Vec<_>>(),
            [0, 4, 0]
        );
        assert_eq!((m.bins[1].lower, m.bins[1].upper), (0.5, 1.0));
        assert!(close(m.ece, 0.0625) && close(m.mce, 0.0625), "{m:?}");
        // Equal mass: sorted confidences 0.5, 0.75, 0.75, 0.75; the median edge is 0.75, so
        // the bins hold {0.5} (right: gap 0.5) and the three at 0.75 (2 of 3 right: gap
        // 1/12): aECE = 1/4 * 0.5 + 3/4 * 1/12 = 0.1875.
        assert!(close(m.aece, 0.1875), "{m:?}");
        // NLL: the label's probability is 0.75, 0.25, 0.75 and 0.5.
        let nll = -(0.75f64.ln() * 2.0 + 0.25f64.ln() + 0.5f64.ln()) / 4.0;
        assert!(close(m.nll, nll), "{} vs {nll}", m.nll);
        // Brier: (0.25^2 * 2) for a right 0.75, (0.75^2 * 2) for the wrong one, 0.5 for (0.5, 0.5).
        let brier = (0.125 * 2.0 + 1.125 + 0.5) / 4.0;
        assert!(close(m.brier, brier), "{} vs {brier}", m.brier);
    }

    /// torchmetrics' rule: an edge belongs to the bin above it and a confidence of exactly 1
    /// has a bin of its own.
    #[test]
    fn edges_go_up_and_one_has_its_own_bin() {
        let tops = [
            top(0.25, true),
            top(0.5, false),
            top(0.75, true),
            top(1.0, true),
            top(0.999, false),
        ];
        let bins = equal_width_bins(&tops, 4);
        assert_eq!(
            bins.iter().map(|b| b.count).collect::<Vec<_>>(),
            [0, 1, 1, 2, 1]
        );
        assert_eq!((bins[4].lower, bins[4].upper), (1.0, 1.0));
        // Bin [0.75, 1): 0.75 right and 0.999 wrong: accuracy 0.5, confidence 0.8745.
        assert!(close(bins[3].gap().unwrap(), 0.3745));
        // ECE = (0.75 + 0.5 + 0.3745 * 2 + 0) / 5; MCE = 0.75 (bin [0.25, 0.5)).
        assert!(close(expected_error(&bins), (0.75 + 0.5 + 0.749) / 5.0));
        assert!(close(max_error(&bins), 0.75));
    }

    /// Equal-mass edges are NumPy's quantiles: with 6 confidences and 3 bins the edges fall
    /// at virtual indices 5/3 and 10/3, between samples; the bins hold 2, 2 and 2 images.
    #[test]
    fn equal_mass_bins_follow_numpy_quantiles() {
        let tops: Vec<TopLabel> = [0.9, 0.3, 0.5, 0.7, 0.4, 0.8]
            .iter()
            .enumerate()
            .map(|(i, &c)| top(c, i % 2 == 0))
            .collect();
        let bins = equal_mass_bins(&tops, 3);
        assert_eq!(bins.iter().map(|b| b.count).collect::<Vec<_>>(), [2, 2, 2]);
        // Sorted 0.3 0.4 0.5 0.7 0.8 0.9: q(1/3) at index 5/3 = 0.4 + (0.1 * 2/3) (NumPy
        // lerps from the upper end when gamma >= 0.5: 0.5 - 0.1 * 1/3).
        let expected = 0.5 - (0.5 - 0.4) * (1.0 - (5.0 * (1.0 / 3.0) - 1.0));
        assert_eq!(bins[0].upper, expected);
        assert_eq!((bins[0].lower, bins[2].upper), (0.0, 1.0));
        // Seven confidences: index 6 * 0.5 = 3 exactly, the edge is the sample 0.5 itself,
        // which goes to the upper bin.
        let tops: Vec<TopLabel> = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
            .iter()
            .map(|&c| top(c, true))
            .collect();
        let bins = equal_mass_bins(&tops, 2);
        assert_eq!(bins[0].upper, 0.5);
        assert_eq!(bins.iter().map(|b| b.count).collect::<Vec<_>>(), [3, 4]);
    }

    /// Empty bins do not count; an empty set of images has errors 0.
    #[test]
    fn empty_bins_are_left_out() {
        let bins = equal_width_bins(&[top(0.95, true)], 10);
        assert_eq!(bins.len(), 11);
        assert!(close(expected_error(&bins), 0.05));
        assert!(close(max_error(&bins), 0.05));
        assert_eq!(expected_error(&equal_width_bins(&[], 3)), 0.0);
        assert_eq!(bins[0].accuracy(), None);
    }

    /// Bad scores and settings are errors naming what is wrong.
    #[test]
    fn bad_scores_are_errors() {
        let err = |r: Result<Scores>| r.unwrap_err().to_string();
        assert!(err(Scores::new(vec![0.0; 3], vec![0, 1], 2)).contains("3 logits for 2 images"));
        assert!(err(Scores::new(vec![0.0; 4], vec![0, 2], 2)).contains("label 2 out of range"));
        assert!(err(Scores::new(vec![0.0, f64::NAN], vec![0], 2)).contains("not a finite"));
        assert!(err(Scores::new(vec![], vec![], 2)).contains("at least one image"));
        let s = Scores::new(vec![1.0, 0.0], vec![0], 2).unwrap();
        assert!(measure(&s, 0.0, 15).is_err());
        assert!(measure(&s, 1.0, 0).is_err());
        assert!(s.select(&[1]).is_err());
        assert_eq!(s.select(&[0, 0]).unwrap().len(), 2);
    }

    /// Logits three times too large for labels drawn from their softmax: the fitted
    /// temperature is close to 3, it zeroes the NLL's derivative, and the NLL at it is below
    /// the NLL at T = 1 (and at nearby temperatures).
    #[test]
    fn temperature_scaling_undoes_overconfidence() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (n, k) = (4000, 5);
        let mut logits = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..n {
            let z: Vec<f64> = (0..k).map(|_| 2.0 * rng.gen::<f64>() - 1.0).collect();
            let (p, _) = softmax(&z, 0.5);
            let u: f64 = rng.gen();
            let mut acc = 0.0;
            let label = p
                .iter()
                .position(|&pk| {
                    acc += pk;
                    u < acc
                })
                .unwrap_or(k - 1);
            // Calibrated logits are 2 z; the model reports 3 times those.
            logits.extend(z.iter().map(|&v| 6.0 * v));
            labels.push(label);
        }
        let scores = Scores::new(logits, labels, k).unwrap();
        let t = fit_temperature(&scores);
        assert!((t - 3.0).abs() < 0.15, "T = {t}");
        assert!(nll_slope(&scores, 1.0 / t).0.abs() < 1e-12);
        let at = |t| measure(&scores, t, 15).unwrap().nll;
        assert!(at(t) < at(1.0) && at(t) <= at(t * 1.001) && at(t) <= at(t / 1.001));
        let before = measure(&scores, 1.0, 15).unwrap();
        let after = measure(&scores, t, 15).unwrap();
        assert!(
            after.ece < before.ece && after.nll < before.nll,
            "{before:?} {after:?}"
        );
        assert_eq!(after.top1, before.top1);
        // Deterministic.
        assert_eq!(fit_temperature(&scores).to_bits(), t.to_bits());
    }

    /// At the bounds: all right with wide margins wants T -> 0; constant logits do not depend
    /// on T (the upper bound).
    #[test]
    fn temperature_at_the_bounds() {
        let sure = Scores::new(vec![5.0, 0.0, 0.0, 5.0], vec![0, 1], 2).unwrap();
        assert_eq!(fit_temperature(&sure), TEMPERATURE_BOUNDS.0);
        let flat = Scores::new(vec![1.0, 1.0, 1.0, 1.0], vec![0, 1], 2).unwrap();
        assert_eq!(fit_temperature(&flat), TEMPERATURE_BOUNDS.1);
        // One right and one wrong with the same margin: the NLL falls as T grows.
        let wrong = Scores::new(vec![1.0, 0.0, 1.0, 0.0], vec![0, 1], 2).unwrap();
        assert_eq!(fit_temperature(&wrong), TEMPERATURE_BOUNDS.1);
    }
}
