//! The Co-Mixup mixing step (saliency reduction, compatibility, per-partition optimisation,
//! mixing) on the CPU for one partition of 20 and a full batch of 100 at 32x32 with the
//! official CIFAR-100 defaults (`m_block_num` 4): the figures of `docs/benchmarks.md`'s comparison with
//! the official `mixup_process`.
//!
//! Inputs: `COMIXUP_BENCH_INPUT` names a safetensors batch of 100 (`images`, `labels`, `grad`;
//! the `mixbench mix` names), such as the real CIFAR-10 images and gradients the official
//! code was timed on; otherwise seeded synthetic images with a spatially structured gradient.
//! Partitions run in parallel on rayon's pool (all cores; `RAYON_NUM_THREADS=1` for one).
//! Run with `cargo bench -p mixbench-comixup`.

use criterion::{criterion_group, criterion_main, Criterion};
use mixbench_comixup::CoMixup;
use mixbench_core::{Batch, MixMethod, MixRng};
use tch::{Device, Kind, Tensor};

fn input() -> Batch {
    if let Ok(path) = std::env::var("COMIXUP_BENCH_INPUT") {
        return Batch::read_safetensors(path.as_ref(), None).expect("COMIXUP_BENCH_INPUT readable");
    }
    tch::manual_seed(0);
    let opts = (Kind::Float, Device::Cpu);
    let blobs = Tensor::rand([100, 1, 8, 8], opts).upsample_nearest2d([32, 32], None, None);
    let mut batch = Batch::new(
        Tensor::randn([100, 3, 32, 32], opts),
        Tensor::randint(100, [100], (Kind::Int64, Device::Cpu)),
        100,
    );
    batch.grad = Some(Tensor::randn([100, 3, 32, 32], opts) * blobs);
    batch
}

fn first(batch: &Batch, n: i64) -> Batch {
    let mut part = Batch::new(
        batch.images.narrow(0, 0, n),
        batch.labels.narrow(0, 0, n),
        batch.num_classes,
    );
    part.grad = batch.grad.as_ref().map(|g| g.narrow(0, 0, n));
    part
}

fn bench(c: &mut Criterion) {
    let batch = input();
    let method = CoMixup::default();
    let mut group = c.benchmark_group("comixup_mix_32x32_cpu");
    group.sample_size(20);
    for (name, part) in [
        ("partition_20", first(&batch, 20)),
        ("batch_100", first(&batch, 100)),
    ] {
        let mut rng = MixRng::seed_from(1);
        group.bench_function(name, |b| b.iter(|| method.mix(&part, &mut rng).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
