//! The corruption list ([`Corruption`]) and its dispatch to the families' functions.

use std::fmt;

use crate::draws::Draws;
use crate::image::Image;
use crate::setting::{ConstantSet, CorruptionError, Severity};
use crate::weather::FrostPictures;
use crate::{blur, digital, noise, weather};

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
}
