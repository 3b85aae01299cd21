//! scikit-image's HSV conversions (`skimage.color.rgb2hsv` and `hsv2rgb`) on float64 RGB in
//! `[0, 1]`, formula for formula, which the reference's brightness and saturate go through.

/// NumPy's `a % 1.0` (`np.remainder`): C's `fmod`, moved into `[0, 1)` when negative, so
/// `-1e-17 % 1.0` is `1.0` after rounding, as NumPy gives.
fn remainder_one(a: f64) -> f64 {
    let m = a % 1.0;
    if m == 0.0 {
        0.0
    } else if m < 0.0 {
        m + 1.0
    } else {
        m
    }
}

/// `skimage.color.rgb2hsv` of one pixel: value the maximum, saturation `(max - min) / max`
/// (0 where `max == min`), hue from the channel equal to the maximum, the later of red, green,
/// blue winning ties (scikit-image assigns them in that order), `/ 6 % 1`, and 0 where
/// `max == min`.
pub fn rgb_to_hsv([r, g, b]: [f64; 3]) -> [f64; 3] {
    let v = r.max(g).max(b);
    let delta = v - r.min(g).min(b);
    if delta == 0.0 {
        return [0.0, 0.0, v];
    }
    let s = delta / v;
    let h = if b == v {
        4.0 + (r - g) / delta
    } else if g == v {
        2.0 + (b - r) / delta
    } else {
        (g - b) / delta
    };
    [remainder_one(h / 6.0), s, v]
}

/// `skimage.color.hsv2rgb` of one pixel: sextant `floor(6 h) % 6` (as `uint8`), `f = 6 h -
/// floor(6 h)`, and the six `(v, t, p)`, `(q, v, p)`, ... arrangements of `p = v (1 - s)`,
/// `q = v (1 - f s)`, `t = v (1 - (1 - f) s)`.
pub fn hsv_to_rgb([h, s, v]: [f64; 3]) -> [f64; 3] {
    let hi = (h * 6.0).floor();
    let f = h * 6.0 - hi;
    let p = v * (1.0 - s);
    let q = v * (1.0 - f * s);
    let t = v * (1.0 - (1.0 - f) * s);
    match (hi as u8) % 6 {
        0 => [v, t, p],
        1 => [q, v, p],
        2 => [p, v, t],
        3 => [p, q, v],
        4 => [t, p, v],
        _ => [v, p, q],
    }
}

/// Applies `edit` to every pixel of an HWC float64 RGB image in HSV: `hsv2rgb(edit(rgb2hsv(x)))`,
/// in place.
pub fn edit_hsv(rgb: &mut [f64], edit: impl Fn([f64; 3]) -> [f64; 3]) {
    for px in rgb.chunks_exact_mut(3) {
        let out = hsv_to_rgb(edit(rgb_to_hsv([px[0], px[1], px[2]])));
        px.copy_from_slice(&out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primaries_greys_and_ties_follow_scikit_image() {
        assert_eq!(rgb_to_hsv([1.0, 0.0, 0.0]), [0.0, 1.0, 1.0]);
        assert_eq!(rgb_to_hsv([0.0, 1.0, 0.0]), [2.0 / 6.0, 1.0, 1.0]);
        assert_eq!(rgb_to_hsv([0.0, 0.0, 1.0]), [4.0 / 6.0, 1.0, 1.0]);
        // Grey and black: hue and saturation 0.
        assert_eq!(rgb_to_hsv([0.4, 0.4, 0.4]), [0.0, 0.0, 0.4]);
        assert_eq!(rgb_to_hsv([0.0, 0.0, 0.0]), [0.0, 0.0, 0.0]);
        // Red and blue tie at the maximum: blue's formula wins, 4 + (r - g) / delta.
        assert_eq!(rgb_to_hsv([1.0, 0.0, 1.0]), [5.0 / 6.0, 1.0, 1.0]);
        // Red maximum with g < b: a negative hue wrapped into [0, 1).
        let [h, _, _] = rgb_to_hsv([1.0, 0.0, 0.5]);
        assert_eq!(h, (-0.5f64 / 6.0) + 1.0);
    }

    #[test]
    fn a_negative_remainder_rounds_up_to_one_as_numpy_does() {
        assert_eq!(remainder_one(-1e-17), 1.0);
        assert_eq!(remainder_one(0.25), 0.25);
        assert_eq!(remainder_one(-0.25), 0.75);
        // A hue of 1.0 is sextant 6 % 6 = 0.
        assert_eq!(hsv_to_rgb([1.0, 0.5, 0.8]), [0.8, 0.4, 0.4]);
    }

    #[test]
    fn round_trips_are_close_and_the_sextants_cover_the_circle() {
        for (i, rgb) in [
            [0.9, 0.2, 0.1],
            [0.3, 0.8, 0.2],
            [0.1, 0.9, 0.7],
            [0.2, 0.3, 0.95],
            [0.7, 0.1, 0.8],
            [0.6, 0.2, 0.4],
        ]
        .iter()
        .enumerate()
        {
            let hsv = rgb_to_hsv(*rgb);
            assert_eq!(
                (hsv[0] * 6.0).floor() as usize,
                i,
                "{rgb:?} is in sextant {i}"
            );
            let back = hsv_to_rgb(hsv);
            for c in 0..3 {
                assert!((back[c] - rgb[c]).abs() < 1e-15, "{rgb:?} -> {back:?}");
            }
        }
        let mut img = vec![0.2, 0.4, 0.6, 0.5, 0.5, 0.5];
        edit_hsv(&mut img, |[h, s, v]| [h, s, (v + 0.1).min(1.0)]);
        assert!(
            (img[2] - 0.7).abs() < 1e-15 && (img[3] - 0.6).abs() < 1e-15,
            "{img:?}"
        );
    }
}
