//! Invariants of SAGE (see `docs/methods/sage.md`, *Invariants*).

use mixbench_core::{Batch, MixMethod, MixRng, ParamGrads, Params, SaliencyLoss};
use mixbench_sage::{search, Sage, SearchImpl};
use tch::{Device, Kind, Tensor};

fn batch(b: i64, perm: Option<Vec<i64>>, lam: Option<f64>) -> Batch {
    tch::manual_seed(11);
    let opts = (Kind::Float, Device::Cpu);
    let images = Tensor::randn([b, 3, 32, 32], opts);
    // A gradient with spatial structure: a random blob per image.
    let grad = Tensor::randn([b, 3, 32, 32], opts)
        * Tensor::rand([b, 1, 8, 8], opts).upsample_nearest2d([32, 32], None, None);
    let mut batch = Batch::new(images, Tensor::arange(b, (Kind::Int64, Device::Cpu)), b);
    batch.grad = Some(grad);
    batch.perm = perm.map(|p| Tensor::from_slice(&p));
    batch.lam = lam;
    batch
}

fn all_true(t: Tensor) -> bool {
    t.all().int64_value(&[]) == 1
}

#[test]
fn mask_lambda_mixing_and_targets() {
    let batch = batch(6, None, None);
    let out = Sage::default()
        .mix_with(&batch, &mut MixRng::seed_from(2))
        .unwrap();
    let mixed = &out.mixed;
    let m = mixed.mask.as_ref().unwrap();
    assert!(all_true(m.ge(0.0)) && all_true(m.le(1.0)));
    let mean = m.mean_dim([1i64, 2, 3].as_slice(), false, Kind::Float);
    assert!(mean.allclose(&mixed.lam, 0.0, 1e-7, false));
    // x_mix = M x + (1 - M) Sh(x_pi) per pixel.
    let shifts: Vec<(i64, i64)> = Vec::<i64>::try_from(mixed.extras[0].1.flatten(0, -1))
        .unwrap()
        .chunks(2)
        .map(|c| (c[0], c[1]))
        .collect();
    let partner = search::shift_images(&batch.images.index_select(0, &mixed.perm), &shifts);
    let expected = &batch.images * m + partner * (1.0 - m);
    assert!(mixed.images.allclose(&expected, 1e-6, 1e-6, false));
    let sums = mixed
        .targets
        .sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
    assert!(sums.allclose(
        &Tensor::ones([6], (Kind::Float, Device::Cpu)),
        1e-6,
        1e-6,
        false
    ));
    assert!(all_true(mixed.targets.ge(0.0)));
    assert!(all_true(mixed.images.isfinite()));
}

#[test]
fn chosen_shift_maximises_the_recomputed_score() {
    let batch = batch(5, None, None);
    for rand_pos in [0.01, 0.05] {
        let out = Sage {
            rand_pos,
            ..Sage::default()
        }
        .mix_with(&batch, &mut MixRng::seed_from(4))
        .unwrap();
        assert_eq!(out.candidates.len(), (3969.0 * rand_pos) as usize);
        let scores = search::scores_tensor(&out.s1, &out.s2, &out.candidates, 1000);
        let chosen = Vec::<i64>::try_from(out.mixed.extras[0].1.flatten(0, -1)).unwrap();
        for i in 0..5 {
            let k = out
                .candidates
                .iter()
                .position(|&d| d == (chosen[2 * i], chosen[2 * i + 1]))
                .unwrap();
            let best = scores.get(i as i64).max().double_value(&[]);
            let got = scores.double_value(&[i as i64, k as i64]);
            assert!(
                got >= best - 1e-6 * best.abs(),
                "image {i}: chosen score {got} < best {best}"
            );
        }
    }
}

#[test]
fn exhaustive_never_scores_below_sampled() {
    let batch = batch(4, Some(vec![3, 2, 1, 0]), Some(0.6));
    let sampled = Sage::default()
        .mix_with(&batch, &mut MixRng::seed_from(8))
        .unwrap();
    let exhaustive = Sage {
        rand_pos: 1.0,
        ..Sage::default()
    }
    .mix_with(&batch, &mut MixRng::seed_from(8))
    .unwrap();
    let score_of = |out: &mixbench_sage::SageOutput| {
        let shifts: Vec<(i64, i64)> = Vec::<i64>::try_from(out.mixed.extras[0].1.flatten(0, -1))
            .unwrap()
            .chunks(2)
            .map(|c| (c[0], c[1]))
            .collect();
        let a = Vec::<f32>::try_from(out.s1.flatten(0, -1)).unwrap();
        let t = Vec::<f32>::try_from(out.s2.flatten(0, -1)).unwrap();
        (0..4)
            .map(|i| {
                search::scores_native_one(
                    &a[i * 1024..(i + 1) * 1024],
                    &t[i * 1024..(i + 1) * 1024],
                    32,
                    32,
                    &shifts[i..i + 1],
                )[0]
            })
            .collect::<Vec<f64>>()
    };
    for (s, e) in score_of(&sampled).iter().zip(score_of(&exhaustive)) {
        assert!(e >= *s, "exhaustive {e} < sampled {s}");
    }
}

#[test]
fn alpha_edge_cases() {
    // alpha = 1: the partner is scaled by 1e-12, so M ~ 1 and x_mix ~ x.
    let batch_one = batch(4, Some(vec![1, 2, 3, 0]), Some(1.0));
    let sage = Sage {
        upper_lambda: 1.0,
        ..Sage::default()
    };
    let out = sage.mix(&batch_one, &mut MixRng::seed_from(1)).unwrap();
    assert!(out.lam.min().double_value(&[]) > 1.0 - 1e-6);
    assert!(out.images.allclose(&batch_one.images, 1e-5, 1e-5, false));
    // alpha = 0: M ~ 0 wherever the shifted partner is salient.
    let batch_zero = batch(4, Some(vec![1, 2, 3, 0]), Some(0.0));
    let out = sage
        .mix_with(&batch_zero, &mut MixRng::seed_from(1))
        .unwrap();
    let shifts: Vec<(i64, i64)> = Vec::<i64>::try_from(out.mixed.extras[0].1.flatten(0, -1))
        .unwrap()
        .chunks(2)
        .map(|c| (c[0], c[1]))
        .collect();
    let t = search::shift_images(&out.s2, &shifts);
    let m = out.mixed.mask.unwrap();
    let salient = t.gt(1e-8);
    assert!(m.masked_select(&salient).max().double_value(&[]) < 1e-6);
}

#[test]
fn self_mix_keeps_own_labels_and_is_deterministic() {
    let batch = batch(4, Some(vec![0, 1, 2, 3]), Some(0.5));
    let out = Sage::default()
        .mix(&batch, &mut MixRng::seed_from(1))
        .unwrap();
    assert!(out
        .targets
        .equal(&mixbench_core::targets::one_hot(&batch.labels, 4)));
    let drawn = batch_with_draws();
    let a = Sage::default()
        .mix(&drawn, &mut MixRng::seed_from(6))
        .unwrap();
    let b = Sage::default()
        .mix(&drawn, &mut MixRng::seed_from(6))
        .unwrap();
    assert!(
        a.images.equal(&b.images) && a.perm.equal(&b.perm) && a.extras[0].1.equal(&b.extras[0].1)
    );
}

fn batch_with_draws() -> Batch {
    batch(5, None, None)
}

#[test]
fn native_and_tensor_search_give_the_same_mix() {
    let batch = batch(6, None, None);
    let native = Sage {
        search: SearchImpl::Native,
        ..Sage::default()
    }
    .mix(&batch, &mut MixRng::seed_from(5))
    .unwrap();
    let tensor = Sage {
        search: SearchImpl::Tensor,
        ..Sage::default()
    }
    .mix(&batch, &mut MixRng::seed_from(5))
    .unwrap();
    assert!(native.extras[0].1.equal(&tensor.extras[0].1));
    // The blur's summation order differs (libtorch convolution vs a direct loop): rounding only.
    assert!(native.images.allclose(&tensor.images, 1e-5, 1e-6, false));
    assert!(native.lam.allclose(&tensor.lam, 0.0, 1e-6, false));
}

#[test]
fn errors_name_what_is_wrong() {
    let mut no_grad = batch(2, None, None);
    no_grad.grad = None;
    let err = Sage::default()
        .mix(&no_grad, &mut MixRng::seed_from(0))
        .unwrap_err()
        .to_string();
    assert!(err.contains("grad"), "{err}");
    // rand_pos too small for one candidate: the reference crashes, we refuse.
    let tiny = Sage {
        rand_pos: 1e-4,
        ..Sage::default()
    };
    let err = tiny
        .mix(&batch(2, None, None), &mut MixRng::seed_from(0))
        .unwrap_err()
        .to_string();
    assert!(err.contains("rand_pos"), "{err}");
    assert!(
        mixbench_sage::from_params(&Params::parse("sage", ["blur_kernel=4"]).unwrap()).is_err()
    );
    assert!(mixbench_sage::from_params(&Params::parse("sage", ["rand_pos=0"]).unwrap()).is_err());
}

#[test]
fn saliency_request_follows_update_ratio() {
    let sage = Sage::default();
    let req = sage.saliency().unwrap();
    assert_eq!(req.param_grads, ParamGrads::Keep);
    match req.loss {
        SaliencyLoss::BceSoftmax { scale } => assert!((scale - 0.3).abs() < 1e-12),
        other => panic!("{other:?}"),
    }
    assert_eq!(sage.mixed_loss_scale(), 0.7);
    let one = Sage {
        update_ratio: 1.0,
        ..Sage::default()
    };
    assert_eq!(one.saliency().unwrap().param_grads, ParamGrads::Discard);
    assert_eq!(
        one.saliency().unwrap().loss,
        SaliencyLoss::BceSoftmax { scale: 1.0 }
    );
    assert_eq!(one.mixed_loss_scale(), 1.0);
    let eval = Sage {
        eval_mode: true,
        ..Sage::default()
    };
    assert_eq!(
        eval.saliency().unwrap().mode,
        mixbench_core::ModelMode::Eval
    );
}
