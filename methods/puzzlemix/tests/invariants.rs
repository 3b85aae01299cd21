//! Puzzle Mix's invariants (`docs/methods/puzzlemix.md`, *Invariants*) on real-sized batches: mask values and block structure,
//! label weights, pixel-wise convexity against the transported sources, the graph cut never
//! worse than its start, no label change without a reason to, and determinism.

use mixbench_core::{Batch, MixRng};
use mixbench_puzzlemix::{terms, Draws, PuzzleMix};
use tch::{Device, Kind, Tensor};

fn batch(seed: i64, b: i64) -> Batch {
    tch::manual_seed(seed);
    let opts = (Kind::Float, Device::Cpu);
    let blobs = Tensor::rand([b, 1, 4, 4], opts).upsample_nearest2d([32, 32], None, None);
    let mut batch = Batch::new(
        Tensor::randn([b, 3, 32, 32], opts),
        Tensor::randint(10, [b], (Kind::Int64, Device::Cpu)),
        10,
    );
    batch.grad = Some(Tensor::randn([b, 3, 32, 32], opts) * blobs.pow_tensor_scalar(3));
    batch.mean = vec![0.5, 0.5, 0.5];
    batch.std = vec![0.25, 0.25, 0.25];
    batch
}

#[test]
fn masks_are_block_constant_three_level_and_weights_are_their_means() {
    for n in [2usize, 4, 8, 16] {
        let batch = batch(n as i64, 12);
        let method = PuzzleMix {
            block_num: Some(n),
            ..PuzzleMix::default()
        };
        let out = method
            .mix_with(&batch, &mut MixRng::seed_from(n as u64))
            .unwrap();
        let mask = out.mixed.mask.as_ref().unwrap();
        let values = Vec::<f32>::try_from(mask.flatten(0, -1)).unwrap();
        assert!(values.iter().all(|v| [0.0, 0.5, 1.0].contains(v)), "n {n}");
        // Constant on blocks: pooling by the block size and upsampling back is the identity.
        let bs = 32 / n as i64;
        let pooled = mask.avg_pool2d([bs, bs], [bs, bs], [0, 0], false, true, None::<i64>);
        assert!(
            pooled.upsample_nearest2d([32, 32], None, None).equal(mask),
            "n {n}"
        );
        let means = mask.mean_dim([1i64, 2, 3].as_slice(), false, Kind::Float);
        assert!(means.equal(&out.mixed.lam));
        // Labels agree with the mask.
        let labels = out
            .mixed
            .extras
            .iter()
            .find(|(k, _)| k == "block_labels")
            .unwrap()
            .1
            .to_kind(Kind::Float);
        let block_mask: Tensor = 1.0 - labels / 2.0;
        assert!(block_mask
            .unsqueeze(1)
            .upsample_nearest2d([32, 32], None, None)
            .equal(mask));
    }
}

#[test]
fn mixed_pixels_blend_the_transported_sources() {
    // Without transport the sources are the images themselves: x = m a + (1 - m) b exactly.
    let batch = batch(3, 10);
    let method = PuzzleMix {
        block_num: Some(4),
        transport: false,
        ..PuzzleMix::default()
    };
    let out = method.mix_with(&batch, &mut MixRng::seed_from(3)).unwrap();
    let m = out.mixed.mask.as_ref().unwrap();
    let partner = batch.images.index_select(0, &out.mixed.perm);
    let expected = m * &batch.images + (1.0 - m) * partner;
    assert!(out.mixed.images.equal(&expected));
    // With transport, every pixel lies between its two transported sources, whose values are
    // pixels of the image / partner or 0 (empty locations).
    let method = PuzzleMix {
        block_num: Some(4),
        ..PuzzleMix::default()
    };
    let out = method.mix_with(&batch, &mut MixRng::seed_from(3)).unwrap();
    let own = batch.images.flatten(1, -1);
    let x = out.mixed.images.flatten(1, -1);
    let (lo, hi) = (
        own.min_dim(1, true)
            .0
            .minimum(&Tensor::zeros([10, 1], (Kind::Float, Device::Cpu))),
        own.max_dim(1, true)
            .0
            .maximum(&Tensor::zeros([10, 1], (Kind::Float, Device::Cpu))),
    );
    let partner = batch.images.index_select(0, &out.mixed.perm).flatten(1, -1);
    let lo = lo.minimum(&partner.min_dim(1, true).0);
    let hi = hi.maximum(&partner.max_dim(1, true).0);
    assert!(
        x.ge_tensor(&lo).all().int64_value(&[]) == 1
            && x.le_tensor(&hi).all().int64_value(&[]) == 1
    );
}

#[test]
fn graph_cut_is_never_worse_than_all_own_image_or_any_constant_labelling() {
    let batch = batch(5, 16);
    for n in [4usize, 8, 16] {
        let method = PuzzleMix {
            block_num: Some(n),
            ..PuzzleMix::default()
        };
        let draws = Draws {
            block_num: n,
            perm: Tensor::from_slice(&MixRng::seed_from(1).permutation(16)),
            lam: 0.37,
            noise: None,
        };
        let s = terms::saliency(batch.grad.as_ref().unwrap());
        let out = method.mix_with_draws(&batch, &draws).unwrap();
        let problems = method.block_problems(&batch, &s, &draws).unwrap();
        for (i, p) in problems.iter().enumerate() {
            let e = p.energy();
            let ours = e.energy(&out.labels[i * n * n..(i + 1) * n * n]);
            for constant in 0..3 {
                assert!(
                    ours <= e.energy(&vec![constant; n * n]),
                    "n {n}, image {i}, constant {constant}"
                );
            }
        }
    }
}

#[test]
fn no_data_and_no_prior_means_no_label_change() {
    // gamma = 0, eta = 0 and a uniform saliency: no labelling beats the starting one.
    let mut batch = batch(7, 6);
    batch.grad = Some(Tensor::ones([6, 3, 32, 32], (Kind::Float, Device::Cpu)));
    let method = PuzzleMix {
        block_num: Some(8),
        gamma: 0.0,
        eta: 0.0,
        ..PuzzleMix::default()
    };
    let out = method.mix_with(&batch, &mut MixRng::seed_from(2)).unwrap();
    assert!(out.labels.iter().all(|&l| l == 0));
    assert!(out
        .mixed
        .lam
        .equal(&Tensor::ones([6], (Kind::Float, Device::Cpu))));
}

#[test]
fn same_seed_same_result_and_draws_cover_every_block_count() {
    let batch = batch(9, 8);
    let method = PuzzleMix::default();
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..40 {
        let a = method
            .mix_with(&batch, &mut MixRng::seed_from(seed))
            .unwrap();
        let b = method
            .mix_with(&batch, &mut MixRng::seed_from(seed))
            .unwrap();
        assert!(a.mixed.images.equal(&b.mixed.images) && a.labels == b.labels);
        seen.insert(a.block_num);
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![2, 4, 8, 16]);
}

#[test]
fn bad_geometry_is_an_error_naming_the_parameter() {
    let batch = batch(1, 2);
    let method = PuzzleMix {
        block_num: Some(5),
        ..PuzzleMix::default()
    };
    let err = match method.mix_with(&batch, &mut MixRng::seed_from(0)) {
        Ok(_) => panic!("block_num 5 accepted for 32x32 images"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("block_num") && err.contains("divisor"),
        "{err}"
    );
    let params = mixbench_core::Params::parse("puzzlemix", ["n_labels=7"]).unwrap();
    let err = mixbench_puzzlemix::from_params(&params)
        .unwrap_err()
        .to_string();
    assert!(err.contains("n_labels"), "{err}");
}

#[test]
fn adversarial_noise_stays_in_its_ball_and_in_the_pixel_range() {
    use mixbench_core::MixMethod;
    // Images whose pixels lie in [0, 1], as real data.
    let mut clean_batch = batch(4, 6);
    clean_batch.images = (Tensor::rand([6, 3, 32, 32], (Kind::Float, Device::Cpu)) - 0.5) / 0.25;
    let method = PuzzleMix {
        adv_p: 1.0,
        ..PuzzleMix::default()
    };
    let p = method
        .perturbation(&clean_batch, &mut MixRng::seed_from(0))
        .unwrap()
        .expect("adv_p = 1 always perturbs");
    assert_eq!(p.flags, vec![true, true]);
    let bound = 10.0 / 255.0 + 1e-6;
    assert!(p.noise.abs().max().double_value(&[]) <= bound);
    let pixels =
        mixbench_core::batch::to_pixels(&clean_batch.images, &clean_batch.mean, &clean_batch.std);
    let noisy = &pixels + &p.noise;
    assert!(noisy.min().double_value(&[]) >= -1e-6 && noisy.max().double_value(&[]) <= 1.0 + 1e-6);
    // After the gradient-sign step and the random scale the noise is still in the ball.
    let mut with = batch(4, 6);
    with.images = clean_batch.images.shallow_clone();
    with.perturbation = Some(p);
    let draws = method.draw(&with, &mut MixRng::seed_from(1)).unwrap();
    let (noise, own, partner) = draws.noise.as_ref().unwrap();
    assert!(*own && *partner);
    assert!(noise.abs().max().double_value(&[]) <= bound);
    let noisy = method.mix_with_draws(&with, &draws).unwrap();
    let clean = method
        .mix_with_draws(
            &with,
            &Draws {
                noise: None,
                perm: draws.perm.shallow_clone(),
                ..draws
            },
        )
        .unwrap();
    assert!(!noisy.mixed.images.equal(&clean.mixed.images));
    assert_eq!(
        noisy.labels, clean.labels,
        "the graph cut uses clean images (docs/methods/puzzlemix.md, Adversarial noise)"
    );
    assert!(PuzzleMix::default()
        .perturbation(&clean_batch, &mut MixRng::seed_from(0))
        .unwrap()
        .is_none());
}

#[test]
fn random_grid_on_84_pixel_images_uses_divisors_only() {
    let opts = (Kind::Float, Device::Cpu);
    let mut batch = Batch::new(
        Tensor::randn([4, 3, 84, 84], opts),
        Tensor::from_slice(&[0i64, 1, 2, 3]),
        4,
    );
    batch.grad = Some(Tensor::randn([4, 3, 84, 84], opts));
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..12 {
        let out = PuzzleMix::default()
            .mix_with(&batch, &mut MixRng::seed_from(seed))
            .unwrap();
        seen.insert(out.block_num);
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![2, 4]);
}
