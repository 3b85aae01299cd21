//! Manifold Mixup with a model: the hidden mix against a separate forward pass, and against the
//! official code: the mixed forward pass of SamsungLabs/SAGE's PreActResNet18, WRN16-8 and
//! ResNeXt29-4-24 (`mixup_hidden=True`) on real CIFAR-10 images, one case per mixing layer (0:
//! the input, 1 and 2: after the first and second stage), with the same weights, draws and
//! layer. The fixture and how
//! it was made: `tests/fixtures/README.md` (`tools/official/manifold_fixture.py` regenerates it
//! from a checkout of the official code).

use std::path::Path;

use mixbench::engine::mixed_logits;
use mixbench::models::{MixHook, ModelKind};
use mixbench_core::{Batch, MixMethod, MixRng, MixSite, NamedTensors};
use mixbench_manifold::ManifoldMixup;
use sha2::{Digest, Sha256};
use tch::{nn, Device, Kind, Tensor};

/// The fixture's deterministic weights (`test_init` of `tools/official/manifold_fixture.py`):
/// `u_j = ((s + j 2654435761) mod 2^32) / 2^32`, `s` the first four bytes of sha256(name)
/// little-endian, value `offset + scale (2 u_j - 1)` in f64 rounded to f32.
fn test_init(name: &str, shape: &[i64]) -> Tensor {
    let n: i64 = shape.iter().product();
    let digest = Sha256::digest(name.as_bytes());
    let s = u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]) as u64;
    let (offset, scale) = if shape.len() >= 2 {
        (0.0, 1.0 / (n as f64 / shape[0] as f64).sqrt())
    } else if name.ends_with("running_var") {
        (1.0, 0.5)
    } else if name.ends_with("weight") {
        (1.0, 0.1)
    } else {
        (0.0, 0.1)
    };
    let values: Vec<f32> = (0..n as u64)
        .map(|j| {
            let u = ((s + j * 2_654_435_761) % (1 << 32)) as f64 / 4_294_967_296.0;
            (offset + scale * (2.0 * u - 1.0)) as f32
        })
        .collect();
    Tensor::from_slice(&values).view(shape)
}

/// The official name of a mixbench variable of `model` (projection shortcuts are
/// `nn.Sequential`s there; WRN's final BN is `bn1`).
fn official_name(model: ModelKind, name: &str) -> String {
    match model {
        ModelKind::Wrn16_8 if name.starts_with("bn.") => name.replacen("bn.", "bn1.", 1),
        ModelKind::Resnext29_4_24 => name
            .replace("downsample_conv.", "downsample.0.")
            .replace("downsample_bn.", "downsample.1."),
        _ => name.replace("shortcut.", "shortcut.0."),
    }
}

fn fixture() -> NamedTensors {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/official_manifold.safetensors");
    NamedTensors::read(&path).unwrap()
}

/// The mixed forward pass of each CIFAR model at layers 0, 1 and 2 gives the official logits
/// and targets; mixing one layer off does not.
#[test]
fn mixed_forward_matches_the_official_code_at_every_layer() {
    let fx = fixture();
    let images = fx.get("images").unwrap();
    let labels = fx.get("labels").unwrap();
    for kind in [
        ModelKind::PreactResnet18,
        ModelKind::Wrn16_8,
        ModelKind::Resnext29_4_24,
    ] {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = kind.build(&vs.root(), 10);
        tch::no_grad(|| {
            for (name, mut var) in vs.variables() {
                var.copy_(&test_init(&official_name(kind, &name), &var.size()));
            }
        });
        for (case, expected_layer) in [("a", 0usize), ("b", 1), ("c", 2)] {
            let get = |field: &str| fx.get(&format!("{kind}.{case}.{field}")).unwrap();
            let layer = get("layer").int64_value(&[0]) as usize;
            assert_eq!(layer, expected_layer, "{kind} case {case}");
            let mut batch = Batch::new(images.shallow_clone(), labels.shallow_clone(), 10);
            batch.layer = Some(layer);
            batch.perm = Some(get("perm"));
            batch.lam = Some(get("lam").double_value(&[0]));
            let mixed = ManifoldMixup::default()
                .mix(&batch, &mut MixRng::seed_from(0))
                .unwrap();
            let site = if layer == 0 {
                MixSite::Input
            } else {
                MixSite::Hidden(layer)
            };
            assert_eq!(mixed.site, site, "{kind} case {case}");
            let logits = mixed_logits(model.as_ref(), &mixed, true);
            let diff = (&logits - get("logits")).abs().max().double_value(&[]);
            assert!(diff < 1e-4, "{kind} layer {layer}: logits differ by {diff}");
            let targets = get("targets").to_kind(Kind::Float);
            assert!(
                mixed.targets.allclose(&targets, 1e-6, 1e-6, false),
                "{kind} layer {layer}: targets differ"
            );
            println!("{kind} layer {layer}: max |logit difference| {diff:.2e}");

            // The fixture tells layers apart: the same draws mixed one layer deeper (or, at
            // the deepest, at the input) miss its logits by far more than the tolerance.
            batch.layer = Some((layer + 1) % 3);
            let other = ManifoldMixup::default()
                .mix(&batch, &mut MixRng::seed_from(0))
                .unwrap();
            let off = (mixed_logits(model.as_ref(), &other, true) - get("logits"))
                .abs()
                .max()
                .double_value(&[]);
            assert!(
                off > 1e-2,
                "{kind} layer {layer}: layer {} also matches ({off})",
                (layer + 1) % 3
            );
        }
    }
}

/// At a hidden layer, the state the rest of the network sees is `lam h_i + (1 - lam) h_pi(i)`
/// of the states `h` a separate, unmixed forward pass computes (eval mode, so the two passes
/// share batch-independent statistics).
#[test]
fn hidden_mix_blends_the_states_of_a_separate_forward_pass() {
    tch::manual_seed(3);
    let images = Tensor::randn([6, 3, 32, 32], (Kind::Float, Device::Cpu));
    let perm = Tensor::from_slice(&[3i64, 0, 5, 1, 2, 4]);
    let lam = 0.3;
    for kind in [ModelKind::SmallCnn, ModelKind::PreactResnet18] {
        let vs = nn::VarStore::new(Device::Cpu);
        let model = kind.build(&vs.root(), 4);
        for layer in 1..=2 {
            let state = std::cell::RefCell::new(None);
            let capture = |h: &Tensor| {
                *state.borrow_mut() = Some(h.copy());
                h.shallow_clone()
            };
            let _ = model.forward_hooked_t(
                &images,
                false,
                &MixHook {
                    layer,
                    mix: &capture,
                },
            );
            let h = state.into_inner().unwrap();
            let expected = &h * lam + h.index_select(0, &perm) * (1.0 - lam);
            let replace = |_: &Tensor| expected.shallow_clone();
            let want = model.forward_hooked_t(
                &images,
                false,
                &MixHook {
                    layer,
                    mix: &replace,
                },
            );

            let mut batch = Batch::new(
                images.shallow_clone(),
                Tensor::from_slice(&[0i64, 1, 2, 3, 0, 1]),
                4,
            );
            batch.layer = Some(layer);
            batch.perm = Some(perm.shallow_clone());
            batch.lam = Some(lam);
            let mixed = ManifoldMixup::default()
                .mix(&batch, &mut MixRng::seed_from(0))
                .unwrap();
            let got = mixed_logits(model.as_ref(), &mixed, false);
            assert!(
                got.allclose(&want, 1e-5, 1e-5, false),
                "{kind} layer {layer}"
            );
            assert!(
                !got.allclose(&model.forward_t(&images, false), 1e-3, 1e-3, false),
                "{kind} layer {layer}: no mix happened"
            );
        }
    }
}
