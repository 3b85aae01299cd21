//! SciPy's separable Gaussian filter (`scipy.ndimage.gaussian_filter`, which
//! `skimage.filters.gaussian` calls) and the one-dimensional correlation under it.

use super::Border;

/// numpy's pairwise summation of a contiguous float64 array (`np.sum`, `ndarray.sum`): below 8
/// values a plain loop; up to 128, eight interleaved partial sums combined as
/// `((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))` plus the rest in order; above, the two
/// halves (the first a multiple of 8 long) summed recursively.
pub fn pairwise_sum(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 8 {
        values.iter().fold(0.0, |acc, v| acc + v)
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&values[..8]);
        let whole = n - n % 8;
        for block in values[8..whole].chunks_exact(8) {
            for (acc, v) in r.iter_mut().zip(block) {
                *acc += v;
            }
        }
        let head = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        values[whole..].iter().fold(head, |acc, v| acc + v)
    } else {
        let half = n / 2 - (n / 2) % 8;
        pairwise_sum(&values[..half]) + pairwise_sum(&values[half..])
    }
}

/// `scipy.ndimage._gaussian_kernel1d(sigma, 0, radius)`, radius `int(truncate * sigma + 0.5)`:
/// `exp(-0.5 / sigma^2 * x^2)` divided by its numpy (pairwise) sum. The exponential is the C
/// library's, as numpy's own is on processors without AVX-512; with AVX-512 numpy calls Intel's
/// SVML, which differs in the last bit for a few arguments (e.g. `exp(-0.125)`), so weights may
/// differ by one unit in the last place there.
pub fn gaussian_kernel(sigma: f64, truncate: f64) -> Vec<f64> {
    let radius = (truncate * sigma + 0.5) as isize;
    let weights: Vec<f64> = (-radius..=radius)
        .map(|x| (-0.5 / (sigma * sigma) * (x * x) as f64).exp())
        .collect();
    let sum = pairwise_sum(&weights);
    weights.iter().map(|w| w / sum).collect()
}

/// `scipy.ndimage.correlate1d` of an HWC array along rows (`axis = 0`) or columns
/// (`axis = 1`) with `weights` centred at `len / 2`, in SciPy's order of operations
/// (`NI_Correlate1D`): for symmetric weights the centre product first, then
/// `(left + right) * w` from the outermost pair inwards; for antisymmetric ones the same with
/// `left - right`; otherwise the last tap first, then the others in order. (Symmetry is tested
/// to `DBL_EPSILON`, as SciPy does.)
pub fn correlate1d(
    data: &[f64],
    (height, width, channels): (usize, usize, usize),
    axis: usize,
    weights: &[f64],
    border: Border,
) -> Vec<f64> {
    let n = weights.len();
    let before = n / 2;
    let after = n - before - 1;
    let mirrored = |sign: f64| {
        n % 2 == 1
            && (1..=before)
                .all(|i| (weights[before + i] - sign * weights[before - i]).abs() <= f64::EPSILON)
    };
    let symmetry = if mirrored(1.0) {
        1
    } else if mirrored(-1.0) {
        -1
    } else {
        0
    };
    let (length, lines) = if axis == 0 {
        (height, width)
    } else {
        (width, height)
    };
    // Where value `i` of line `l` (channel `c`) lives.
    let at = |l: usize, i: usize, c: usize| {
        let (y, x) = if axis == 0 { (i, l) } else { (l, i) };
        (y * width + x) * channels + c
    };
    let mut out = vec![0.0; data.len()];
    let mut line = vec![0.0; length + before + after];
    for l in 0..lines {
        for c in 0..channels {
            // SciPy's line buffer: the line with `before` and `after` extended values.
            for (j, slot) in line.iter_mut().enumerate() {
                *slot = data[at(l, border.index(j as isize - before as isize, length), c)];
            }
            for i in 0..length {
                let centre = i + before;
                let acc = match symmetry {
                    1 | -1 => {
                        let mut acc = line[centre] * weights[before];
                        for j in (1..=before).rev() {
                            let (left, right) = (line[centre - j], line[centre + j]);
                            let pair = if symmetry == 1 {
                                left + right
                            } else {
                                left - right
                            };
                            acc += pair * weights[before - j];
                        }
                        acc
                    }
                    _ => {
                        let mut acc = line[centre + after] * weights[n - 1];
                        for (k, w) in weights[..n - 1].iter().enumerate() {
                            acc += line[i + k] * w;
                        }
                        acc
                    }
                };
                out[at(l, i, c)] = acc;
            }
        }
    }
    out
}

/// `skimage.filters.gaussian(image, sigma, mode, truncate, channel_axis=-1)` of a float64
/// HWC image (the channel axis is not blurred): rows first, then columns, as SciPy filters
/// axis by axis.
pub fn gaussian_filter(
    data: &[f64],
    shape: (usize, usize, usize),
    sigma: f64,
    border: Border,
    truncate: f64,
) -> Vec<f64> {
    if sigma <= 1e-15 {
        return data.to_vec();
    }
    let weights = gaussian_kernel(sigma, truncate);
    let rows = correlate1d(data, shape, 0, &weights, border);
    correlate1d(&rows, shape, 1, &weights, border)
}

/// `skimage.filters.gaussian`'s defaults: `mode='nearest'`, `truncate=4.0`.
pub fn skimage_gaussian(data: &[f64], shape: (usize, usize, usize), sigma: f64) -> Vec<f64> {
    gaussian_filter(data, shape, sigma, Border::Nearest, 4.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_has_scipys_radius_and_sums_to_one() {
        // scipy.ndimage._gaussian_kernel1d(1.0, 0, 4): 9 weights, centre 1 / sum(exp(-x^2 / 2)).
        let k = gaussian_kernel(1.0, 4.0);
        assert_eq!(k.len(), 9);
        assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!((k[4] - 0.398_943_469_356_097_8).abs() < 1e-15, "{}", k[4]);
        assert_eq!(gaussian_kernel(0.4, 4.0).len(), 5, "int(4 * 0.4 + 0.5) = 2");
    }

    #[test]
    fn a_constant_image_stays_constant_and_an_impulse_spreads_symmetrically() {
        let shape = (5, 6, 3);
        let flat = vec![0.25; 90];
        let out = skimage_gaussian(&flat, shape, 0.8);
        assert!(out.iter().all(|v| (v - 0.25).abs() < 1e-12));
        let mut impulse = vec![0.0; 90];
        impulse[(2 * 6 + 2) * 3 + 1] = 1.0;
        let out = gaussian_filter(&impulse, shape, 0.7, Border::Reflect, 4.0);
        let at = |y: usize, x: usize, c: usize| out[(y * 6 + x) * 3 + c];
        assert!((at(1, 2, 1) - at(3, 2, 1)).abs() < 1e-15);
        assert!((at(2, 1, 1) - at(2, 3, 1)).abs() < 1e-15);
        assert_eq!(at(2, 2, 0), 0.0, "channels are not mixed");
        assert!(
            (out.iter().sum::<f64>() - 1.0).abs() < 1e-12,
            "mass is kept"
        );
    }

    #[test]
    fn pairwise_sum_groups_as_numpy_does() {
        // Below 8 values: in order. 1e16 + 1 + 1 loses both ones in order...
        assert_eq!(pairwise_sum(&[1e16, 1.0, 1.0]), 1e16);
        // ...while 8 or more values go to eight partial sums first: the two ones meet in r[1]
        // (values 1 and 9) and survive as 2.
        let mut v = vec![0.0; 16];
        v[0] = 1e16;
        v[1] = 1.0;
        v[9] = 1.0;
        assert_eq!(pairwise_sum(&v), 1e16 + 2.0);
        assert_eq!(pairwise_sum(&[]), 0.0);
        let many: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        assert_eq!(pairwise_sum(&many), 499_500.0);
    }

    #[test]
    fn correlate1d_follows_scipys_operation_order() {
        // Symmetric weights: centre first, then (left + right) * w, outermost pair first.
        let line = [0.1, 0.7, 0.3, 0.9, 0.2];
        let w = [0.1, 0.2, 0.4, 0.2, 0.1];
        let out = correlate1d(&line, (1, 5, 1), 1, &w, Border::Nearest);
        let expect = 0.3 * 0.4 + (0.1 + 0.2) * 0.1 + (0.7 + 0.9) * 0.2;
        assert_eq!(out[2], expect);
        // Neither symmetric nor antisymmetric: the last tap first, then the others in order.
        let w = [0.5, 0.25, 1.0];
        let out = correlate1d(&line, (1, 5, 1), 1, &w, Border::Nearest);
        assert_eq!(out[2], 0.9 * 1.0 + 0.7 * 0.5 + 0.3 * 0.25);
        // Along the rows of a 5x1 column it is the same.
        let down = correlate1d(&line, (5, 1, 1), 0, &w, Border::Nearest);
        assert_eq!(down, out);
    }
}
