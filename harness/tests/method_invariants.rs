//! Invariants every registered method must satisfy (see `docs/methods/README.md`, *Invariants*), run over the whole
//! registry so that a new method is checked as soon as it is registered.

//!
//! What a check may assume comes from the trait, never from a method's name: the input
//! gradient is provided only to methods that ask for a saliency pass
//! ([`MixMethod::saliency`]), and [`MixMethod::composition`] says how outputs are formed.
//! Methods with transformed sources (SAGE shifts the partner, Puzzle Mix transports blocks)
//! blend *transformed* images, so the checks that assume untouched sources do not apply to
//! them (their crates test the same properties against the transformed sources); joint
//! methods (Co-Mixup) have no own image or partner, so their targets are checked as
//! distributions only (`methods/comixup` tests how they are formed from the assignment).

use mixbench::methods::registry;
use mixbench_core::{Batch, Composition, MixMethod, MixRng, MixSite, Params};
use tch::{Device, Kind, Tensor};

const B: i64 = 8;
const K: i64 = 5;

/// A random batch; with the input gradient only when `method` asks for a saliency pass.
fn batch(seed: i64, method: &dyn MixMethod) -> Batch {
    tch::manual_seed(seed);
    let images = Tensor::randn([B, 3, 16, 16], (Kind::Float, Device::Cpu));
    let labels = Tensor::randint(K, [B], (Kind::Int64, Device::Cpu));
    let mut batch = Batch::new(images.shallow_clone(), labels, K);
    if method.saliency().is_some() {
        batch.grad = Some(Tensor::randn([B, 3, 16, 16], (Kind::Float, Device::Cpu)));
    }
    batch
}

/// Runs `check` on every registered method, built with its defaults.
fn each_method(mut check: impl FnMut(&str, &dyn MixMethod)) {
    for info in registry().methods() {
        let method = info.build(&Params::new(info.name)).unwrap();
        check(info.name, method.as_ref());
    }
}

#[test]
fn targets_are_distributions_over_own_and_partner_labels() {
    each_method(|name, method| {
        for seed in 0..5 {
            let batch = batch(seed, method);
            let out = method
                .mix(&batch, &mut MixRng::seed_from(seed as u64))
                .unwrap();
            assert_eq!(out.images.size(), batch.images.size(), "{name}");
            assert_eq!(out.targets.size(), [B, K], "{name}");
            let sums = out.targets.sum_dim_intlist(1, false, Kind::Float);
            assert!(
                sums.allclose(
                    &Tensor::ones([B], (Kind::Float, Device::Cpu)),
                    1e-6,
                    1e-6,
                    false
                ),
                "{name}: {sums}"
            );
            assert!(out.targets.min().double_value(&[]) >= 0.0, "{name}");
            assert!(out.images.isfinite().all().int64_value(&[]) == 1, "{name}");
            if method.composition() == Composition::Joint {
                continue;
            }
            // Only the own and the partner's class may carry weight.
            let own = out
                .targets
                .gather(1, &batch.labels.unsqueeze(1), false)
                .squeeze_dim(1);
            let partner_labels = batch.labels.index_select(0, &out.perm);
            let partner = out
                .targets
                .gather(1, &partner_labels.unsqueeze(1), false)
                .squeeze_dim(1);
            let same = batch.labels.eq_tensor(&partner_labels).to_kind(Kind::Float);
            let covered: Tensor = &own + &partner * (1.0 - &same);
            assert!(
                covered.allclose(&sums, 1e-6, 1e-6, false),
                "{name}: weight outside own/partner labels"
            );
            // The own-label weight is the method's lambda (for samples with a different partner).
            let differs = same.eq(0.0);
            assert!(
                own.masked_select(&differs).allclose(
                    &out.lam.masked_select(&differs),
                    1e-6,
                    1e-6,
                    false
                ),
                "{name}"
            );
        }
    });
}

#[test]
fn lambda_is_the_mask_mean_and_images_follow_the_mask() {
    each_method(|name, method| {
        let batch = batch(11, method);
        let out = method.mix(&batch, &mut MixRng::seed_from(3)).unwrap();
        let Some(mask) = &out.mask else { return };
        let mean = mask.mean_dim(&[1i64, 2, 3][..], false, Kind::Float);
        assert!(
            mean.allclose(&out.lam, 1e-6, 1e-6, false),
            "{name}: mask mean {mean} vs lam {}",
            out.lam
        );
        if method.composition() != Composition::Blend {
            return;
        }
        let partner = batch.images.index_select(0, &out.perm);
        let expected = &batch.images * mask + partner * (1.0 - mask);
        assert!(
            out.images.allclose(&expected, 1e-5, 1e-6, false),
            "{name}: mixed != mask blend"
        );
    });
}

/// A mix at a hidden layer leaves the images to the model and blends its hidden states with
/// the result's own `lam` and `perm`, the rule its targets follow.
#[test]
fn hidden_mixes_leave_the_images_and_blend_by_lambda_and_partner() {
    each_method(|name, method| {
        for seed in 0..12 {
            let batch = batch(seed, method);
            let out = method
                .mix(&batch, &mut MixRng::seed_from(seed as u64))
                .unwrap();
            let MixSite::Hidden(layer) = out.site else {
                continue;
            };
            assert!(
                layer >= 1 && layer <= method.max_mix_layer(),
                "{name}: layer {layer}"
            );
            assert!(out.images.equal(&batch.images), "{name}");
            assert!(out.mask.is_none(), "{name}");
            let h = Tensor::randn([B, 4, 2, 2], (Kind::Float, Device::Cpu));
            let lam = out.lam.view([B, 1, 1, 1]);
            let expected = &h * &lam + h.index_select(0, &out.perm) * (1.0 - &lam);
            assert!(
                out.blend_hidden(&h).allclose(&expected, 1e-6, 1e-6, false),
                "{name}"
            );
        }
    });
}

#[test]
fn mixing_with_itself_is_the_identity() {
    each_method(|name, method| {
        if method.composition() != Composition::Blend {
            return;
        }
        let mut batch = batch(5, method);
        batch.perm = Some(Tensor::arange(B, (Kind::Int64, Device::Cpu)));
        let out = method.mix(&batch, &mut MixRng::seed_from(1)).unwrap();
        assert!(
            out.images.allclose(&batch.images, 1e-6, 1e-6, false),
            "{name}"
        );
        let one_hot = batch.labels.one_hot(K).to_kind(Kind::Float);
        assert!(out.targets.allclose(&one_hot, 1e-6, 1e-6, false), "{name}");
    });
}

#[test]
fn same_seed_same_output() {
    each_method(|name, method| {
        let batch = batch(2, method);
        let a = method.mix(&batch, &mut MixRng::seed_from(9)).unwrap();
        let b = method.mix(&batch, &mut MixRng::seed_from(9)).unwrap();
        assert!(
            a.images.equal(&b.images) && a.targets.equal(&b.targets),
            "{name}"
        );
    });
}

#[test]
fn saliency_maps_are_per_image_maps_and_every_saliency_pass_has_one() {
    each_method(|name, method| {
        let batch = batch(4, method);
        let map = method.saliency_map(&batch).unwrap();
        assert!(
            method.saliency().is_none() || map.is_some(),
            "{name}: asks for a saliency pass but has no saliency map"
        );
        if let Some(map) = map {
            assert_eq!(map.size(), [B, 16, 16], "{name}");
            assert!(map.isfinite().all().int64_value(&[]) == 1, "{name}");
            assert!(map.min().double_value(&[]) >= 0.0, "{name}");
        }
    });
}
