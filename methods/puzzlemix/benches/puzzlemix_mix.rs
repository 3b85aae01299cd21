//! The Puzzle Mix mixing step (saliency reduction, block terms, one graph cut per image,
//! transport, mixing) at B = 100 on 32x32 for each block count, on the CPU: the figures of the
//! `docs/benchmarks.md`'s comparison with the official `mixup_graph`.
//!
//! Inputs: `PUZZLEMIX_BENCH_INPUT` names a safetensors batch (`images`, `labels`, `grad`,
//! `mean`, `std`; the `mixbench mix` names), such as the real CIFAR-10 images and gradients the
//! official code was timed on; otherwise seeded synthetic images with a spatially structured
//! gradient. Images are solved in parallel on rayon's pool (all cores; `RAYON_NUM_THREADS=1`
//! for one). Run with `cargo bench -p mixbench-puzzlemix`.

use criterion::{criterion_group, criterion_main, Criterion};
use mixbench_core::{Batch, MixMethod, MixRng};
use mixbench_puzzlemix::PuzzleMix;
use tch::{Device, Kind, Tensor};

fn input() -> Batch {
    if let Ok(path) = std::env::var("PUZZLEMIX_BENCH_INPUT") {
        return Batch::read_safetensors(path.as_ref(), None)
            .expect("PUZZLEMIX_BENCH_INPUT readable");
    }
    tch::manual_seed(0);
    let opts = (Kind::Float, Device::Cpu);
    let blobs = Tensor::rand([100, 1, 8, 8], opts).upsample_nearest2d([32, 32], None, None);
    let mut batch = Batch::new(
        Tensor::randn([100, 3, 32, 32], opts),
        Tensor::randint(10, [100], (Kind::Int64, Device::Cpu)),
        10,
    );
    batch.grad = Some(Tensor::randn([100, 3, 32, 32], opts) * blobs);
    batch.mean = vec![0.491, 0.482, 0.447];
    batch.std = vec![0.247, 0.244, 0.262];
    batch
}

fn bench(c: &mut Criterion) {
    let batch = input();
    let mut group = c.benchmark_group("puzzlemix_mix_b100_32x32_cpu");
    group.sample_size(20);
    for n in [2usize, 4, 8, 16] {
        let method = PuzzleMix {
            block_num: Some(n),
            ..PuzzleMix::default()
        };
        let mut rng = MixRng::seed_from(1);
        group.bench_function(format!("block_num_{n}"), |b| {
            b.iter(|| method.mix(&batch, &mut rng).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
