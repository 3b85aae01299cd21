//! The library routines the reference scripts call, reimplemented with their exact algorithm
//! and border rules: SciPy's separable filters and zoom ([`filters`], [`zoom`]).
//!
//! Images are float slices in HWC order with `channels` values per pixel; a 2-D map (a noise
//! layer) is the same with one channel.

pub mod color;
pub mod filters;
pub mod jpeg;
pub(crate) mod jpeg_common;
pub mod jpeg_decode;
pub mod motion;
pub mod opencv;
pub mod opencv_float;
pub mod resize;
pub mod warp;
pub mod zoom;

/// How a filter reads outside the image, named as SciPy's `mode` (OpenCV's names in brackets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Border {
    /// `nearest`: the edge value repeats (`aaa|abcd|ddd`; OpenCV `BORDER_REPLICATE`).
    Nearest,
    /// `reflect`: half-sample symmetric (`cba|abcd|dcb`; OpenCV `BORDER_REFLECT`).
    Reflect,
    /// `mirror`: whole-sample symmetric (`dcb|abcd|cba`; OpenCV `BORDER_REFLECT_101`, its
    /// default).
    Mirror,
}

impl Border {
    /// The index inside `0..n` that position `i` reads, for any `i` (reflections repeat as
    /// often as needed, as SciPy's do).
    pub fn index(self, i: isize, n: usize) -> usize {
        let n = n as isize;
        if (0..n).contains(&i) {
            return i as usize;
        }
        if n == 1 {
            return 0;
        }
        match self {
            Border::Nearest => i.clamp(0, n - 1) as usize,
            Border::Reflect => {
                let period = 2 * n;
                let j = i.rem_euclid(period);
                (if j < n { j } else { period - 1 - j }) as usize
            }
            Border::Mirror => {
                let period = 2 * n - 2;
                let j = i.rem_euclid(period);
                (if j < n { j } else { period - j }) as usize
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn border_indices_follow_scipy() {
        let read = |mode: Border| -> Vec<usize> { (-3..7).map(|i| mode.index(i, 4)).collect() };
        assert_eq!(read(Border::Nearest), [0, 0, 0, 0, 1, 2, 3, 3, 3, 3]);
        assert_eq!(read(Border::Reflect), [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]);
        assert_eq!(read(Border::Mirror), [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
    }
}
