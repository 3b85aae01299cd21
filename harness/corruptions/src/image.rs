//! [`Image`]: an RGB image as the corruptions read and write it.

/// An RGB image, 8 bits per channel, row-major height x width x 3 (HWC), as the reference's
/// `np.array(pil_image)` holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// `height * width * 3` bytes, HWC.
    pub data: Vec<u8>,
}

impl Image {
    /// An image from HWC RGB bytes; panics when the length is not `height * width * 3`.
    pub fn new(height: usize, width: usize, data: Vec<u8>) -> Self {
        assert_eq!(
            data.len(),
            height * width * 3,
            "an RGB image is H x W x 3 bytes"
        );
        Image {
            height,
            width,
            data,
        }
    }

    /// An RGB image of a one-channel (grey) image, the grey value in all three channels.
    pub fn from_grey(height: usize, width: usize, grey: &[u8]) -> Self {
        assert_eq!(grey.len(), height * width, "a grey image is H x W bytes");
        Image::new(
            height,
            width,
            grey.iter().flat_map(|&g| [g, g, g]).collect(),
        )
    }

    /// The grey image of this one: ITU-R 601 luma `0.299 R + 0.587 G + 0.114 B`, rounded (how
    /// a one-channel test split is corrupted: to RGB, corrupted, back to grey).
    pub fn to_grey(&self) -> Vec<u8> {
        self.data
            .chunks_exact(3)
            .map(|p| {
                (0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64)
                    .round()
                    .clamp(0.0, 255.0) as u8
            })
            .collect()
    }

    /// Pixels per channel, `height * width`.
    pub fn pixels(&self) -> usize {
        self.height * self.width
    }

    /// The image in `[0, 1]`: `np.array(x) / 255.` (float64).
    pub fn to_unit(&self) -> Vec<f64> {
        self.data.iter().map(|&v| v as f64 / 255.0).collect()
    }

    /// The image from values in `[0, 1]` of the same shape: `np.uint8(np.clip(x, 0, 1) * 255)`
    /// (clipped, then truncated towards zero, as the reference stores its outputs).
    pub fn from_unit(height: usize, width: usize, unit: &[f64]) -> Self {
        Image::new(
            height,
            width,
            unit.iter()
                .map(|&v| truncate(v.clamp(0.0, 1.0) * 255.0))
                .collect(),
        )
    }

    /// The image from values in `[0, 255]`: `np.uint8(np.clip(x, 0, 255))`.
    pub fn from_255(height: usize, width: usize, values: &[f64]) -> Self {
        Image::new(height, width, values.iter().map(|&v| truncate(v)).collect())
    }
}

/// `np.uint8(v)` of a value in `[0, 255]`: truncation towards zero (NaN becomes 0).
pub fn truncate(v: f64) -> u8 {
    v.clamp(0.0, 255.0) as u8
}
