//! The noise corruptions: Gaussian, shot (Poisson), impulse (salt and pepper) and speckle noise,
//! drawn per pixel and channel.

use crate::draws::Draws;
use crate::image::Image;
use crate::setting::{ConstantSet, Severity};

/// `gaussian_noise`: `clip(x + N(0, c), 0, 1)`, `c` the noise's standard deviation.
pub fn gaussian_noise(x: &Image, s: Severity, set: ConstantSet, d: &mut dyn Draws) -> Image {
    let c = set.pick(
        s,
        [0.04, 0.06, 0.08, 0.09, 0.10],
        [0.08, 0.12, 0.18, 0.26, 0.38],
    );
    let unit = x.to_unit();
    let n = d.normal(0.0, c, unit.len());
    let out: Vec<f64> = unit.iter().zip(&n).map(|(u, e)| u + e).collect();
    Image::from_unit(x.height, x.width, &out)
}

/// `shot_noise`: `clip(Poisson(c x) / c, 0, 1)`, `c` the photon count of a full pixel.
pub fn shot_noise(x: &Image, s: Severity, set: ConstantSet, d: &mut dyn Draws) -> Image {
    let c: f64 = set.pick(
        s,
        [500.0, 250.0, 100.0, 75.0, 50.0],
        [60.0, 25.0, 12.0, 5.0, 3.0],
    );
    let lam: Vec<f64> = x.to_unit().iter().map(|u| u * c).collect();
    let out: Vec<f64> = d.poisson(&lam).iter().map(|k| k / c).collect();
    Image::from_unit(x.height, x.width, &out)
}

/// `impulse_noise`: scikit-image's `random_noise(mode='s&p', amount=c)`: each value (not
/// pixel) is replaced with probability `c`, by 1 (salt) or 0 (pepper) with equal odds. As
/// scikit-image 0.26 draws them: two uniform arrays from its generator, replaced where the
/// first is at most `c`, salt where the second is at most 1/2. (The reference leaves that
/// generator unseeded, so CIFAR-10-C's own impulse noise cannot be regenerated.)
pub fn impulse_noise(x: &Image, s: Severity, set: ConstantSet, d: &mut dyn Draws) -> Image {
    let c = set.pick(
        s,
        [0.01, 0.02, 0.03, 0.05, 0.07],
        [0.03, 0.06, 0.09, 0.17, 0.27],
    );
    let n = x.data.len();
    let flipped = d.uniform(0.0, 1.0, n);
    let salted = d.uniform(0.0, 1.0, n);
    let out: Vec<u8> = x
        .data
        .iter()
        .zip(flipped.iter().zip(&salted))
        .map(|(&v, (&f, &s))| match (f <= c, s <= 0.5) {
            (false, _) => v,
            (true, true) => 255,
            (true, false) => 0,
        })
        .collect();
    Image::new(x.height, x.width, out)
}

/// `speckle_noise`: `clip(x + x N(0, c), 0, 1)`, noise proportional to the intensity.
pub fn speckle_noise(x: &Image, s: Severity, set: ConstantSet, d: &mut dyn Draws) -> Image {
    let c = set.pick(
        s,
        [0.06, 0.1, 0.12, 0.16, 0.2],
        [0.15, 0.2, 0.35, 0.45, 0.6],
    );
    let unit = x.to_unit();
    let n = d.normal(0.0, c, unit.len());
    let out: Vec<f64> = unit.iter().zip(&n).map(|(u, e)| u + u * e).collect();
    Image::from_unit(x.height, x.width, &out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededDraws;

    fn grey(v: u8) -> Image {
        Image::new(8, 8, vec![v; 8 * 8 * 3])
    }

    #[test]
    fn impulse_noise_replaces_about_the_asked_fraction_with_black_or_white() {
        let x = Image::new(64, 64, vec![128; 64 * 64 * 3]);
        let s = Severity::new(5).unwrap();
        let out = impulse_noise(&x, s, ConstantSet::Cifar, &mut SeededDraws::new(3));
        let changed = out.data.iter().filter(|&&v| v != 128).count();
        assert!(out.data.iter().all(|&v| matches!(v, 0 | 128 | 255)));
        let fraction = changed as f64 / out.data.len() as f64;
        assert!((fraction - 0.07).abs() < 0.01, "{fraction}");
    }

    #[test]
    fn speckle_noise_leaves_black_black_and_shot_noise_is_unbiased() {
        let s = Severity::new(3).unwrap();
        let black = speckle_noise(&grey(0), s, ConstantSet::Cifar, &mut SeededDraws::new(1));
        assert_eq!(black, grey(0));
        let x = Image::new(64, 64, vec![100; 64 * 64 * 3]);
        let out = shot_noise(&x, s, ConstantSet::Cifar, &mut SeededDraws::new(2));
        let mean = out.data.iter().map(|&v| v as f64).sum::<f64>() / out.data.len() as f64;
        // Truncation lowers each value by half a level on average.
        assert!((mean - 99.5).abs() < 0.5, "{mean}");
    }
}
