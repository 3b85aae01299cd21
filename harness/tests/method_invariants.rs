//! Invariants every registered method must satisfy (see `docs/methods/README.md`, *Invariants*), run over the whole
//! registry so that a new method is checked as soon as it is registered.

use mixbench::methods::registry;
use mixbench_core::{Batch, MixRng, Params};
use tch::{Device, Kind, Tensor};

const B: i64 = 8;

/// Methods that rearrange their sources before blending (SAGE shifts the partner, Puzzle Mix
/// transports blocks): their mask weighs the *rearranged* images, and mixing an image with
/// itself still moves content, so the two checks below that assume untouched sources do not
/// apply; their crates test the same properties against the rearranged sources.
const REARRANGING: &[&str] = &["sage", "puzzlemix"];
/// Methods that mix many inputs into each output with no own image or partner (Co-Mixup):
/// their targets are checked as distributions only; `methods/comixup` tests how they are
/// formed from the assignment.
const JOINT: &[&str] = &["comixup"];
const K: i64 = 5;

fn batch(seed: i64) -> Batch {
    tch::manual_seed(seed);
    let images = Tensor::randn([B, 3, 16, 16], (Kind::Float, Device::Cpu));
    let labels = Tensor::randint(K, [B], (Kind::Int64, Device::Cpu));
    let mut batch = Batch::new(images.shallow_clone(), labels, K);
    batch.grad = Some(Tensor::randn([B, 3, 16, 16], (Kind::Float, Device::Cpu)));
    batch
}

fn each_method(mut check: impl FnMut(&str, &dyn mixbench_core::MixMethod)) {
    for info in registry().methods() {
        let method = (info.build)(&Params::new(info.name)).unwrap();
        check(info.name, method.as_ref());
    }
}

#[test]
fn targets_are_distributions_over_own_and_partner_labels() {
    each_method(|name, method| {
        for seed in 0..5 {
            let batch = batch(seed);
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
            if JOINT.contains(&name) {
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
        let batch = batch(11);
        let out = method.mix(&batch, &mut MixRng::seed_from(3)).unwrap();
        let Some(mask) = &out.mask else { return };
        let mean = mask.mean_dim(&[1i64, 2, 3][..], false, Kind::Float);
        assert!(
            mean.allclose(&out.lam, 1e-6, 1e-6, false),
            "{name}: mask mean {mean} vs lam {}",
            out.lam
        );
        if REARRANGING.contains(&name) {
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

#[test]
fn mixing_with_itself_is_the_identity() {
    each_method(|name, method| {
        if REARRANGING.contains(&name) || JOINT.contains(&name) {
            return;
        }
        let mut batch = batch(5);
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
        let batch = batch(2);
        let a = method.mix(&batch, &mut MixRng::seed_from(9)).unwrap();
        let b = method.mix(&batch, &mut MixRng::seed_from(9)).unwrap();
        assert!(
            a.images.equal(&b.images) && a.targets.equal(&b.targets),
            "{name}"
        );
    });
}
