//! The corruption list ([`Corruption`]), severities ([`Severity`]), the two constant sets
//! ([`ConstantSet`]) and the errors of bad requests ([`CorruptionError`]).

use std::fmt;

use crate::draws::Draws;
use crate::image::Image;
use crate::weather::FrostPictures;
use crate::{blur, digital, noise, weather};

/// Which reference script's constants a corruption uses: they differ in strength, since the
/// ImageNet-C ones are too strong for 32x32 images (the imagecorruptions package's issue #21).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConstantSet {
    /// `make_cifar_c.py` (written for 32x32 images).
    Cifar,
    /// `make_imagenet_c.py` (written for 224x224 crops).
    ImageNet,
}

impl ConstantSet {
    /// Largest image side that gets the CIFAR constants when the set is chosen by size.
    pub const CIFAR_MAX_SIDE: usize = 64;

    /// The set for an image of this size: CIFAR's up to [`Self::CIFAR_MAX_SIDE`] pixels a side,
    /// ImageNet's above.
    pub fn for_size(height: usize, width: usize) -> Self {
        if height.max(width) <= Self::CIFAR_MAX_SIDE {
            ConstantSet::Cifar
        } else {
            ConstantSet::ImageNet
        }
    }

    /// The set's name in settings and files: `cifar` or `imagenet`.
    pub fn name(self) -> &'static str {
        match self {
            ConstantSet::Cifar => "cifar",
            ConstantSet::ImageNet => "imagenet",
        }
    }

    /// The constant of `severity` from the per-severity tables of the two scripts.
    pub fn pick<T: Copy>(self, severity: Severity, cifar: [T; 5], imagenet: [T; 5]) -> T {
        match self {
            ConstantSet::Cifar => cifar[severity.index()],
            ConstantSet::ImageNet => imagenet[severity.index()],
        }
    }
}

/// A severity, 1 (mildest) to 5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Severity(u8);

impl Severity {
    /// The five severities, 1 to 5.
    pub const ALL: [Severity; 5] = [
        Severity(1),
        Severity(2),
        Severity(3),
        Severity(4),
        Severity(5),
    ];

    /// Severity `level`, or an error when it is not 1 to 5.
    pub fn new(level: usize) -> Result<Self, CorruptionError> {
        match level {
            1..=5 => Ok(Severity(level as u8)),
            _ => Err(CorruptionError::Severity(level)),
        }
    }

    /// The level, 1 to 5.
    pub fn level(self) -> usize {
        self.0 as usize
    }

    /// Index into a per-severity table, 0 to 4.
    pub fn index(self) -> usize {
        self.0 as usize - 1
    }
}

/// A request no corruption can serve.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CorruptionError {
    /// A name that is not one of [`Corruption::ALL`].
    #[error("unknown corruption `{name}`{hint}; corruptions: {known}")]
    Unknown {
        /// The name given.
        name: String,
        /// `; did you mean `x`?` or empty.
        hint: String,
        /// Every known name, comma-separated.
        known: String,
    },
    /// A severity that is not 1 to 5.
    #[error("severities are 1 to 5, got {0}")]
    Severity(usize),
    /// An image smaller than the corruption's kernel.
    #[error("{corruption} needs images of at least {min}x{min} pixels, got {height}x{width}")]
    TooSmall {
        /// The corruption.
        corruption: &'static str,
        /// Smallest side it takes.
        min: usize,
        /// The image's rows.
        height: usize,
        /// The image's columns.
        width: usize,
    },
    /// Frost asked for without its pictures.
    #[error(
        "frost needs the reference's frost pictures (frost1.png .. frost6.jpg of \
         hendrycks/robustness, ImageNet-C/create_c/), which mixbench does not ship: give their \
         folder as `frost_pictures`, or leave frost out"
    )]
    FrostPicturesMissing,
    /// The frost pictures could not be read or are too small.
    #[error("frost pictures: {0}")]
    FrostPictures(String),
}

macro_rules! corruptions {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// One of the 19 corruptions: the 15 of the benchmark, then the 4 extra ones, named
        /// as the reference's functions are.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Corruption { $(#[doc = $name] $variant),* }

        impl Corruption {
            /// All 19, in the reference's order (the benchmark's 15 first).
            pub const ALL: [Corruption; 19] = [$(Corruption::$variant),*];

            /// The reference function's name, as settings and files spell it.
            pub fn name(self) -> &'static str {
                match self { $(Corruption::$variant => $name),* }
            }
        }
    };
}

corruptions! {
    GaussianNoise => "gaussian_noise",
    ShotNoise => "shot_noise",
    ImpulseNoise => "impulse_noise",
    DefocusBlur => "defocus_blur",
    GlassBlur => "glass_blur",
    MotionBlur => "motion_blur",
    ZoomBlur => "zoom_blur",
    Snow => "snow",
    Frost => "frost",
    Fog => "fog",
    Brightness => "brightness",
    Contrast => "contrast",
    ElasticTransform => "elastic_transform",
    Pixelate => "pixelate",
    JpegCompression => "jpeg_compression",
    SpeckleNoise => "speckle_noise",
    GaussianBlur => "gaussian_blur",
    Spatter => "spatter",
    Saturate => "saturate",
}

impl Corruption {
    /// The 15 benchmark corruptions of CIFAR-10-C and ImageNet-C (mCE averages these).
    pub fn benchmark() -> &'static [Corruption] {
        &Self::ALL[..15]
    }

    /// The 4 extra corruptions the reference calls held-out (speckle noise, Gaussian blur,
    /// spatter, saturate).
    pub fn extra() -> &'static [Corruption] {
        &Self::ALL[15..]
    }

    /// Whether this is one of the 15 benchmark corruptions.
    pub fn is_benchmark(self) -> bool {
        Self::benchmark().contains(&self)
    }

    /// The corruption called `name`, or an error listing the names with the closest one.
    pub fn parse(name: &str) -> Result<Self, CorruptionError> {
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.name() == name)
            .ok_or_else(|| {
                let names = Self::ALL.iter().map(|c| c.name());
                CorruptionError::Unknown {
                    name: name.to_string(),
                    hint: mixbench_params::did_you_mean(name, names.clone()),
                    known: names.collect::<Vec<_>>().join(", "),
                }
            })
    }

    /// The smallest image side the corruption takes with the constants of `set` (its kernels
    /// and neighbourhoods must fit in the image).
    pub fn min_side(self, set: ConstantSet) -> usize {
        match self {
            Corruption::DefocusBlur => blur::defocus_min_side(set),
            Corruption::GlassBlur => blur::glass_min_side(set),
            _ => 4,
        }
    }

    /// Applies the corruption at `severity` with the constants of `set`, its randomness drawn
    /// from `draws` (frost also needs the reference's pictures).
    pub fn apply(
        self,
        x: &Image,
        severity: Severity,
        set: ConstantSet,
        draws: &mut dyn Draws,
        frost: Option<&FrostPictures>,
    ) -> Result<Image, CorruptionError> {
        let min = self.min_side(set);
        if x.height.min(x.width) < min {
            return Err(CorruptionError::TooSmall {
                corruption: self.name(),
                min,
                height: x.height,
                width: x.width,
            });
        }
        let (s, d) = (severity, draws);
        Ok(match self {
            Corruption::GaussianNoise => noise::gaussian_noise(x, s, set, d),
            Corruption::ShotNoise => noise::shot_noise(x, s, set, d),
            Corruption::ImpulseNoise => noise::impulse_noise(x, s, set, d),
            Corruption::SpeckleNoise => noise::speckle_noise(x, s, set, d),
            Corruption::DefocusBlur => blur::defocus_blur(x, s, set),
            Corruption::GlassBlur => blur::glass_blur(x, s, set, d),
            Corruption::MotionBlur => blur::motion_blur(x, s, set, d),
            Corruption::ZoomBlur => blur::zoom_blur(x, s, set),
            Corruption::GaussianBlur => blur::gaussian_blur(x, s, set),
            Corruption::Snow => weather::snow(x, s, set, d),
            Corruption::Frost => weather::frost(
                x,
                s,
                set,
                d,
                frost.ok_or(CorruptionError::FrostPicturesMissing)?,
            )?,
            Corruption::Fog => weather::fog(x, s, set, d),
            Corruption::Spatter => weather::spatter(x, s, set, d),
            Corruption::Brightness => digital::brightness(x, s, set),
            Corruption::Contrast => digital::contrast(x, s, set),
            Corruption::Saturate => digital::saturate(x, s, set),
            Corruption::ElasticTransform => digital::elastic_transform(x, s, set, d),
            Corruption::Pixelate => digital::pixelate(x, s, set),
            Corruption::JpegCompression => digital::jpeg_compression(x, s, set),
        })
    }
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_suggest_the_closest() {
        for c in Corruption::ALL {
            assert_eq!(Corruption::parse(c.name()), Ok(c));
        }
        assert_eq!(Corruption::benchmark().len(), 15);
        assert_eq!(Corruption::extra()[0], Corruption::SpeckleNoise);
        let err = Corruption::parse("gausian_noise").unwrap_err().to_string();
        assert!(err.contains("did you mean `gaussian_noise`"), "{err}");
    }

    #[test]
    fn severities_are_one_to_five() {
        assert!(Severity::new(0).is_err());
        assert!(Severity::new(6).is_err());
        assert_eq!(Severity::new(3).unwrap().index(), 2);
        assert_eq!(ConstantSet::for_size(32, 32), ConstantSet::Cifar);
        assert_eq!(ConstantSet::for_size(224, 224), ConstantSet::ImageNet);
    }
}
