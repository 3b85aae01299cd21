//! Invariants of SaliencyMix (`docs/methods/saliencymix.md`, *Invariants*; `docs/methods/README.md`, *Invariants*).

use mixbench_core::{Batch, MixMethod, MixRng};
use mixbench_cutmix::CutBox;
use mixbench_saliencymix::{saliency_box, SaliencyInput, SaliencyMix};
use tch::{Device, Kind, Tensor};

fn batch(b: i64, perm: Option<Vec<i64>>, lam: Option<f64>) -> Batch {
    tch::manual_seed(5);
    let images = Tensor::randn([b, 3, 32, 32], (Kind::Float, Device::Cpu));
    let labels = Tensor::arange(b, (Kind::Int64, Device::Cpu));
    let mut batch = Batch::new(images, labels, b);
    batch.perm = perm.map(|p| Tensor::from_slice(&p));
    batch.lam = lam;
    batch.mean = vec![0.49, 0.48, 0.45];
    batch.std = vec![0.25, 0.24, 0.26];
    batch
}

fn always() -> SaliencyMix {
    SaliencyMix {
        prob: 1.0,
        ..SaliencyMix::default()
    }
}

/// Worked example of `docs/methods/saliencymix.md` (*Box*): arg-max (14, 24), lam 0.3 -> rows 1..26, columns 11..31.
#[test]
fn box_matches_the_spec_example() {
    let cut = saliency_box(0.3, 14, 24, 32, 32);
    assert_eq!(
        cut,
        CutBox {
            x1: 1,
            x2: 27,
            y1: 11,
            y2: 32
        }
    );
    assert_eq!(1.0 - cut.area() as f64 / 1024.0, 0.466796875);
    // cut <= 1: empty box.
    assert_eq!(saliency_box(0.9995, 5, 5, 32, 32).area(), 0);
}

#[test]
fn only_one_box_changes_and_r_is_the_unchanged_fraction() {
    for input in [SaliencyInput::FloatBytes, SaliencyInput::U8] {
        let batch = batch(6, Some(vec![1, 2, 3, 4, 5, 0]), Some(0.4));
        let method = SaliencyMix { input, ..always() };
        let out = method.mix(&batch, &mut MixRng::seed_from(1)).unwrap();
        let changed = out
            .images
            .ne_tensor(&batch.images)
            .any_dim(1, true)
            .to_kind(Kind::Float);
        let mask = out.mask.as_ref().unwrap();
        assert!(changed.eq_tensor(&(1.0 - mask)).all().int64_value(&[]) == 1);
        // One box for the whole batch: every image changed in the same place.
        assert!(
            changed
                .eq_tensor(&changed.get(0).unsqueeze(0))
                .all()
                .int64_value(&[])
                == 1
        );
        let unchanged = 1.0 - changed.get(0).mean(Kind::Float).double_value(&[]);
        for i in 0..6 {
            assert!((out.lam.double_value(&[i]) - unchanged).abs() < 1e-6);
        }
        let sums = out
            .targets
            .sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
        assert!(sums.allclose(
            &Tensor::ones([6], (Kind::Float, Device::Cpu)),
            1e-6,
            1e-6,
            false
        ));
        // Two non-zero classes per row (labels are all distinct here).
        let nonzero = out
            .targets
            .gt(0.0)
            .sum_dim_intlist([1i64].as_slice(), false, Kind::Int64);
        assert_eq!(Vec::<i64>::try_from(nonzero).unwrap(), vec![2; 6]);
    }
}

#[test]
fn the_box_is_placed_by_the_partner_of_sample_zero() {
    let batch = batch(4, Some(vec![2, 0, 3, 1]), Some(0.5));
    let out = always().mix(&batch, &mut MixRng::seed_from(1)).unwrap();
    let map = mixbench_saliencymix::detector_map(
        &batch.images,
        2,
        SaliencyInput::FloatBytes,
        &batch.mean,
        &batch.std,
    )
    .unwrap();
    let (xr, yc) = mixbench_saliencymix::first_argmax(&map, 32);
    let cut = saliency_box(0.5, xr, yc, 32, 32);
    let boxes = Vec::<i64>::try_from(out.extras[0].1.flatten(0, -1)).unwrap();
    assert_eq!(&boxes[0..4], &[cut.x1, cut.x2, cut.y1, cut.y2]);
}

#[test]
fn identity_partner_returns_the_batch_bit_exactly() {
    let batch = batch(4, Some(vec![0, 1, 2, 3]), Some(0.2));
    let out = always().mix(&batch, &mut MixRng::seed_from(3)).unwrap();
    assert!(out.images.equal(&batch.images));
    assert!(out
        .targets
        .equal(&mixbench_core::targets::one_hot(&batch.labels, 4)));
}

#[test]
fn lam_near_one_gives_an_empty_box() {
    let batch = batch(4, Some(vec![1, 0, 3, 2]), Some(0.9999));
    let out = always().mix(&batch, &mut MixRng::seed_from(3)).unwrap();
    assert!(out.images.equal(&batch.images));
    assert_eq!(out.lam.min().double_value(&[]), 1.0);
}

#[test]
fn unmixed_batches_and_determinism() {
    let batch = batch(4, None, None);
    let never = SaliencyMix {
        prob: 0.0,
        ..SaliencyMix::default()
    };
    let out = never.mix(&batch, &mut MixRng::seed_from(3)).unwrap();
    assert!(out.images.equal(&batch.images));
    assert_eq!(out.lam.min().double_value(&[]), 1.0);
    // Default probability 0.5: about half of the batches are mixed; same seed, same output.
    let method = SaliencyMix::default();
    let mut rng = MixRng::seed_from(9);
    let mixed = (0..200)
        .filter(|_| {
            method
                .mix(&batch, &mut rng)
                .unwrap()
                .lam
                .min()
                .double_value(&[])
                < 1.0
        })
        .count();
    assert!((70..=130).contains(&mixed), "{mixed} of 200 mixed");
    let a = method.mix(&batch, &mut MixRng::seed_from(4)).unwrap();
    let b = method.mix(&batch, &mut MixRng::seed_from(4)).unwrap();
    assert!(a.images.equal(&b.images) && a.targets.equal(&b.targets));
}

#[test]
fn per_image_boxes_use_each_partner() {
    let batch = batch(4, Some(vec![1, 2, 3, 0]), Some(0.5));
    let method = SaliencyMix {
        per_image_boxes: true,
        input: SaliencyInput::U8,
        ..always()
    };
    let out = method.mix(&batch, &mut MixRng::seed_from(1)).unwrap();
    let boxes = Vec::<i64>::try_from(out.extras[0].1.flatten(0, -1)).unwrap();
    for (i, p) in [1i64, 2, 3, 0].iter().enumerate() {
        let map = mixbench_saliencymix::detector_map(
            &batch.images,
            *p,
            SaliencyInput::U8,
            &batch.mean,
            &batch.std,
        )
        .unwrap();
        let (xr, yc) = mixbench_saliencymix::first_argmax(&map, 32);
        let cut = saliency_box(0.5, xr, yc, 32, 32);
        assert_eq!(&boxes[4 * i..4 * i + 4], &[cut.x1, cut.x2, cut.y1, cut.y2]);
        let r = 1.0 - cut.area() as f64 / 1024.0;
        assert!((out.lam.double_value(&[i as i64]) - r).abs() < 1e-6);
    }
}

#[test]
fn parameters_parse_and_reject_bad_values() {
    let p =
        mixbench_core::Params::parse("saliencymix", ["saliency_input=u8", "per_image_boxes=true"])
            .unwrap();
    let m = mixbench_saliencymix::from_params(&p).unwrap();
    assert_eq!(m.input, SaliencyInput::U8);
    assert!(m.per_image_boxes);
    let bad = mixbench_core::Params::parse("saliencymix", ["saliency_input=rgb"]).unwrap();
    assert!(mixbench_saliencymix::from_params(&bad).is_err());
}
