//! The SAGE mixing step (saliency reduction and blur, normalisation, shift search, mixing) at
//! B = 100 on 32x32, `rand_pos` 0.01 and 1, on the CPU: the figures of `docs/benchmarks.md`'s
//! comparison with the official `utils_SAGE.sage()`.
//!
//! Inputs: synthetic (seeded normal images and a gradient with spatial structure) unless
//! `SAGE_BENCH_INPUT` names a safetensors file with `images`, `labels`, `grad` (and optional
//! `perm`, `lam`), e.g. real CIFAR-10 images and gradients; the cost does not depend on the
//! values. Run with `cargo bench -p mixbench-sage`.

use criterion::{criterion_group, criterion_main, Criterion};
use mixbench_core::{Batch, MixMethod, MixRng};
use mixbench_sage::{Sage, SearchImpl};
use tch::{Device, Kind, Tensor};

fn input() -> Batch {
    if let Ok(path) = std::env::var("SAGE_BENCH_INPUT") {
        let tensors = Tensor::read_safetensors(&path).expect("SAGE_BENCH_INPUT readable");
        let get = |n: &str| {
            tensors
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, t)| t.shallow_clone())
        };
        let labels = get("labels").expect("labels");
        let k = labels.max().int64_value(&[]) + 1;
        let mut batch = Batch::new(get("images").expect("images"), labels, k);
        batch.grad = get("grad");
        batch.perm = get("a_perm").or_else(|| get("perm"));
        batch.lam = get("a_lam_raw")
            .or_else(|| get("lam"))
            .map(|t| t.double_value(&[0]));
        return batch;
    }
    tch::manual_seed(0);
    let opts = (Kind::Float, Device::Cpu);
    let images = Tensor::randn([100, 3, 32, 32], opts);
    let blobs = Tensor::rand([100, 1, 8, 8], opts).upsample_nearest2d([32, 32], None, None);
    let mut batch = Batch::new(
        images,
        Tensor::randint(100, [100], (Kind::Int64, Device::Cpu)),
        100,
    );
    batch.grad = Some(Tensor::randn([100, 3, 32, 32], opts) * blobs);
    batch
}

fn bench(c: &mut Criterion) {
    let batch = input();
    let mut group = c.benchmark_group("sage_mix_b100_32x32_cpu");
    group.sample_size(20);
    for (name, rand_pos, search) in [
        ("rand_pos_0.01_native", 0.01, SearchImpl::Native),
        ("rand_pos_0.01_tensor", 0.01, SearchImpl::Tensor),
        ("rand_pos_1_native", 1.0, SearchImpl::Native),
    ] {
        let method = Sage {
            rand_pos,
            search,
            ..Sage::default()
        };
        let mut rng = MixRng::seed_from(1);
        group.bench_function(name, |b| b.iter(|| method.mix(&batch, &mut rng).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
