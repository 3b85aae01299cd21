//! The seven test-set variants of the background evaluation (Xiao et al., "Noise or Signal",
//! ICLR 2021), by the names its files use.

/// One test-set variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The image as it is.
    Original,
    /// Background black.
    OnlyFg,
    /// Foreground black.
    NoFg,
    /// Foreground box filled with the tiled background.
    OnlyBgT,
    /// Foreground on the background of another image of its class.
    MixedSame,
    /// Foreground on the background of an image of a uniformly drawn class.
    MixedRand,
    /// Foreground on the background of an image of the next class.
    MixedNext,
}

impl Variant {
    /// Every variant, in the order of the results.
    pub const ALL: [Variant; 7] = [
        Variant::Original,
        Variant::OnlyFg,
        Variant::NoFg,
        Variant::OnlyBgT,
        Variant::MixedSame,
        Variant::MixedRand,
        Variant::MixedNext,
    ];

    /// The name in `background.csv`, e.g. `mixed_same`.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Original => "original",
            Variant::OnlyFg => "only_fg",
            Variant::NoFg => "no_fg",
            Variant::OnlyBgT => "only_bg_t",
            Variant::MixedSame => "mixed_same",
            Variant::MixedRand => "mixed_rand",
            Variant::MixedNext => "mixed_next",
        }
    }

    /// The paper's name, for tables and charts, e.g. `Mixed-Same`.
    pub fn title(self) -> &'static str {
        match self {
            Variant::Original => "Original",
            Variant::OnlyFg => "Only-FG",
            Variant::NoFg => "No-FG",
            Variant::OnlyBgT => "Only-BG-T",
            Variant::MixedSame => "Mixed-Same",
            Variant::MixedRand => "Mixed-Rand",
            Variant::MixedNext => "Mixed-Next",
        }
    }

    /// Id of the variant in the per-image random streams of the variants' construction.
    pub fn stream(self) -> u64 {
        Variant::ALL.iter().position(|&v| v == self).unwrap_or(0) as u64
    }
}
