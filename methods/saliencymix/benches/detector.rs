//! The fine-grained saliency detector on one 32x32 RGB image (both input paths) and the
//! SaliencyMix mixing step at B = 100 on the CPU. Run with `cargo bench -p mixbench-saliencymix`.

use criterion::{criterion_group, criterion_main, Criterion};
use mixbench_core::{Batch, MixMethod, MixRng};
use mixbench_saliencymix::{fine_grained_f32, fine_grained_u8, SaliencyMix};
use tch::{Device, Kind, Tensor};

fn bench(c: &mut Criterion) {
    let bytes: Vec<u8> = (0..32 * 32 * 3)
        .map(|i: usize| ((i * 7919) % 251) as u8)
        .collect();
    let floats: Vec<f32> = bytes
        .iter()
        .map(|&v| (v as f32 / 255.0 - 0.48) / 0.25)
        .collect();
    c.bench_function("fine_grained_u8_32x32", |b| {
        b.iter(|| fine_grained_u8(&bytes, 32, 32, 3))
    });
    c.bench_function("fine_grained_f32_32x32", |b| {
        b.iter(|| fine_grained_f32(&floats, 32, 32, 3))
    });
    tch::manual_seed(0);
    let images = Tensor::randn([100, 3, 32, 32], (Kind::Float, Device::Cpu));
    let batch = Batch::new(
        images,
        Tensor::randint(100, [100], (Kind::Int64, Device::Cpu)),
        100,
    );
    let method = SaliencyMix {
        prob: 1.0,
        ..SaliencyMix::default()
    };
    let mut rng = MixRng::seed_from(1);
    c.bench_function("saliencymix_mix_b100_32x32", |b| {
        b.iter(|| method.mix(&batch, &mut rng).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
