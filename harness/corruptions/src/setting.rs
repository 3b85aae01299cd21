//! What a corruption is asked for: its severity ([`Severity`]), the constant set
//! ([`ConstantSet`]), and the errors of requests no corruption can serve ([`CorruptionError`]).
//! The corruption families and the dispatch ([`crate::corruption`]) both build on it.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_are_one_to_five() {
        assert!(Severity::new(0).is_err());
        assert!(Severity::new(6).is_err());
        assert_eq!(Severity::new(3).unwrap().index(), 2);
        assert_eq!(ConstantSet::for_size(32, 32), ConstantSet::Cifar);
        assert_eq!(ConstantSet::for_size(224, 224), ConstantSet::ImageNet);
    }
}
