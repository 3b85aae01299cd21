//! The common image corruptions of CIFAR-10-C and ImageNet-C (Hendrycks and Dietterich, ICLR
//! 2019), generated natively from any RGB image: 15 benchmark corruptions and 4 extra ones,
//! 5 severities each, with the constants of the reference scripts `make_cifar_c.py` (for
//! CIFAR-sized images) and `make_imagenet_c.py` (for larger ones).
//!
//! Every corruption is a pure function of the image, the severity, the constant set and its
//! random draws. The draws come from a [`Draws`] source: [`SeededDraws`] (ChaCha, one stream
//! per image and corruption, so results do not depend on batching or threads) in evaluations,
//! and a replay of the reference's own numpy draws in the parity tests, which is how even the
//! random corruptions are compared with the reference pixel for pixel.
//!
//! The reference computes in float64 (float32 where it says so) in `[0, 1]` and stores
//! `np.uint8(255 * x)`, which truncates; [`Image::from_unit`] does the same. Where the
//! reference calls a library (OpenCV, scikit-image, SciPy, Pillow, ImageMagick), the
//! [`ops`] module reimplements that library's exact algorithm and border rule. The tolerance of
//! each corruption against the reference and its reason are in `docs/corruptions.md`.

pub mod blur;
pub mod corruption;
pub mod digital;
pub mod draws;
pub mod image;
pub mod noise;
pub mod ops;
pub mod setting;
pub mod weather;

pub use corruption::Corruption;
pub use draws::{Draws, SeededDraws};
pub use image::Image;
pub use setting::{ConstantSet, CorruptionError, Severity};
pub use weather::FrostPictures;
