//! mixbench's corruptions against the official `make_cifar_c.py` / `make_imagenet_c.py` on
//! real CIFAR-10 test images (the committed fixtures of `tools/official/corruptions_fixture.py`):
//! each output is recomputed with the reference's own numpy draws replayed (impulse noise:
//! scikit-image's generator draws) and must equal the reference's byte for byte; frost, whose
//! outputs hold crops of pictures mixbench may not ship, is compared by SHA-256 when
//! `MIXBENCH_FROST_PICTURES` names the pictures. Impulse noise is also compared in distribution
//! under fresh seeds. `docs/corruptions.md` states the one known processor-dependent deviation.

mod reference;

use mixbench_corruptions::{ConstantSet, Corruption, FrostPictures, SeededDraws, Severity};
use reference::{difference, Difference, Fixture};

/// Lower-case hex SHA-256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The frost pictures, from `MIXBENCH_FROST_PICTURES` (the `ImageNet-C/create_c` folder of a
/// checkout of hendrycks/robustness); `None` when it is not set.
fn frost_pictures() -> Option<FrostPictures> {
    let dir = std::env::var_os("MIXBENCH_FROST_PICTURES")?;
    Some(FrostPictures::load(std::path::Path::new(&dir)).expect("frost pictures"))
}

/// Recomputes every case of `corruption` in fixture `name` with constant set `set` and checks
/// each against its tolerance; prints the worst difference.
fn check(name: &str, set: ConstantSet, corruption: Corruption) {
    let fixture = Fixture::load(name);
    let frost = match corruption {
        Corruption::Frost => match frost_pictures() {
            Some(p) => Some(p),
            None => {
                eprintln!(
                    "skipped: frost parity needs MIXBENCH_FROST_PICTURES (the ImageNet-C/create_c \
                     folder of a checkout of hendrycks/robustness)"
                );
                return;
            }
        },
        _ => None,
    };
    let cases: Vec<_> = fixture
        .cases
        .iter()
        .filter(|c| c.corruption == corruption.name())
        .collect();
    assert!(!cases.is_empty(), "{name} has no case of {corruption}");
    let mut worst = Difference {
        max_abs: 0,
        fraction: 0.0,
    };
    for case in cases {
        let mut replay = fixture.replay(case);
        let ours = corruption
            .apply(
                &fixture.images[case.image],
                Severity::new(case.severity).unwrap(),
                set,
                &mut replay,
                frost.as_ref(),
            )
            .unwrap();
        assert!(
            replay.finished(),
            "{corruption} severity {}: draws left over",
            case.severity
        );
        let Some(output) = case.output else {
            let sha = case
                .output_sha256
                .as_deref()
                .expect("a case without output has its hash");
            assert_eq!(
                sha256_hex(&ours.data),
                sha,
                "{corruption} severity {} image {}: the output's SHA-256 differs from the reference's",
                case.severity,
                case.image
            );
            eprintln!(
                "{name} {corruption} severity {} image {}: identical (SHA-256)",
                case.severity, case.image
            );
            continue;
        };
        assert_ne!(
            fixture.output(output),
            fixture.images[case.image],
            "{corruption} severity {}: the reference changed the image",
            case.severity
        );
        let d = difference(&ours, &fixture.output(output));
        eprintln!(
            "{name} {corruption} severity {} image {}: max |diff| {}, {:.4}% of values differ",
            case.severity,
            case.image,
            d.max_abs,
            100.0 * d.fraction
        );
        assert_eq!(
            ours,
            fixture.output(output),
            "{corruption} severity {} image {}: {d:?}",
            case.severity,
            case.image
        );
        worst.max_abs = worst.max_abs.max(d.max_abs);
        worst.fraction = worst.fraction.max(d.fraction);
    }
    eprintln!("{name} {corruption}: worst {worst:?}");
}

macro_rules! parity_tests {
    ($($test:ident => $corruption:ident),* $(,)?) => {
        mod cifar {
            use super::*;
            $(#[test] fn $test() { check("make_cifar_c", ConstantSet::Cifar, Corruption::$corruption); })*
        }
    };
}

parity_tests! {
    gaussian_noise => GaussianNoise,
    shot_noise => ShotNoise,
    impulse_noise => ImpulseNoise,
    speckle_noise => SpeckleNoise,
    defocus_blur => DefocusBlur,
    glass_blur => GlassBlur,
    motion_blur => MotionBlur,
    zoom_blur => ZoomBlur,
    gaussian_blur => GaussianBlur,
    snow => Snow,
    frost => Frost,
    fog => Fog,
    spatter => Spatter,
    brightness => Brightness,
    contrast => Contrast,
    saturate => Saturate,
    elastic_transform => ElasticTransform,
    pixelate => Pixelate,
    jpeg_compression => JpegCompression,
}

/// The ImageNet constants on the 224x224 fixture (severity 3 of the corruptions it holds).
#[test]
fn imagenet_constants_match_make_imagenet_c() {
    let fixture = Fixture::load("make_imagenet_c");
    let mut names: Vec<&str> = fixture
        .cases
        .iter()
        .map(|c| c.corruption.as_str())
        .collect();
    names.dedup();
    for name in names {
        let corruption = Corruption::parse(name).unwrap();
        if corruption == Corruption::Frost && frost_pictures().is_none() {
            continue;
        }
        check("make_imagenet_c", ConstantSet::ImageNet, corruption);
    }
}

/// Impulse noise in distribution: over the reference's and mixbench's outputs of the same
/// image under fresh seeds, the fractions of values set to white and to black agree (a
/// two-proportion z-test at the 0.1% level per severity), and nothing else changes.
#[test]
fn impulse_noise_matches_in_distribution() {
    let fixture = Fixture::load("make_cifar_c");
    let samples: Vec<_> = fixture
        .distribution
        .iter()
        .filter(|d| d.corruption == "impulse_noise")
        .collect();
    assert!(
        !samples.is_empty(),
        "the fixture has impulse_noise distribution samples"
    );
    for sample in samples {
        let clean = &fixture.images[sample.image];
        let severity = Severity::new(sample.severity).unwrap();
        // (white, black, other changes, values) over the outputs of each side.
        let count = |outputs: &[mixbench_corruptions::Image]| {
            let mut tally = (0usize, 0usize, 0usize, 0usize);
            for out in outputs {
                for (&o, &c) in out.data.iter().zip(&clean.data) {
                    match (o, o == c) {
                        (_, true) => {}
                        (255, false) => tally.0 += 1,
                        (0, false) => tally.1 += 1,
                        _ => tally.2 += 1,
                    }
                }
                tally.3 += out.data.len();
            }
            tally
        };
        let reference: Vec<_> = sample.outputs.iter().map(|&i| fixture.output(i)).collect();
        let ours: Vec<_> = (0..reference.len() as u64)
            .map(|seed| {
                Corruption::ImpulseNoise
                    .apply(
                        clean,
                        severity,
                        ConstantSet::Cifar,
                        &mut SeededDraws::new(seed),
                        None,
                    )
                    .unwrap()
            })
            .collect();
        let (r, o) = (count(&reference), count(&ours));
        assert_eq!(
            (r.2, o.2),
            (0, 0),
            "impulse noise only sets values to 0 or 255"
        );
        for (what, a, b) in [("white", r.0, o.0), ("black", r.1, o.1)] {
            let (pa, pb) = (a as f64 / r.3 as f64, b as f64 / o.3 as f64);
            let pooled = (a + b) as f64 / (r.3 + o.3) as f64;
            let se = (pooled * (1.0 - pooled) * (1.0 / r.3 as f64 + 1.0 / o.3 as f64)).sqrt();
            let z = (pa - pb) / se;
            eprintln!(
                "impulse_noise severity {}: {what} {pa:.5} (reference) vs {pb:.5}, z = {z:.2}",
                sample.severity
            );
            assert!(
                z.abs() < 3.29,
                "severity {}: {what} fractions differ (z = {z:.2})",
                sample.severity
            );
        }
    }
}
