//! One training step (augmentation, mixing, forward, backward, SGD) of each model on the CPU,
//! batch 32 at 32x32, with Vanilla and CutMix. Run with
//! `cargo bench -p mixbench --bench train_step`; `docs/benchmarks.md` records the figures.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use mixbench::data::ImageSet;
use mixbench::engine::augment::{Augment, Normalize};
use mixbench::engine::loss::LossKind;
use mixbench::engine::schedule::StepSchedule;
use mixbench::engine::sgd::SgdConfig;
use mixbench::engine::{DeviceImages, NonFinite, Trainer, TrainerConfig};
use mixbench::methods::registry;
use mixbench::models::ModelKind;
use mixbench_core::Params;
use tch::Device;

const BATCH: usize = 32;

fn images() -> ImageSet {
    let n = BATCH;
    ImageSet {
        images: (0..n * 3 * 32 * 32).map(|i| (i * 7 % 251) as u8).collect(),
        labels: (0..n as i64).map(|i| i % 10).collect(),
        channels: 3,
        height: 32,
        width: 32,
        masks: None,
    }
}

fn train_step(c: &mut Criterion) {
    let data = DeviceImages::upload(&images(), Device::Cpu);
    let mut group = c.benchmark_group("train_step_cpu_b32");
    group.sample_size(10);
    for model in ModelKind::ALL {
        for method in ["vanilla", "cutmix"] {
            let config = TrainerConfig {
                batch_size: BATCH,
                test_batch_size: BATCH,
                schedule: StepSchedule {
                    lr: 0.1,
                    milestones: vec![],
                    gammas: vec![],
                },
                sgd: SgdConfig {
                    momentum: 0.9,
                    nesterov: true,
                    weight_decay: 1e-4,
                },
                loss: LossKind::BceSoftmax,
                augment: Augment {
                    crop_padding: 2,
                    flip: true,
                },
                normalize: Normalize {
                    mean: vec![0.5; 3],
                    std: vec![0.25; 3],
                },
                max_train_batches: Some(1),
                on_nonfinite: NonFinite::Fail,
                sync_phases: true,
            };
            let mix = registry().build(method, &Params::new(method)).unwrap();
            let mut trainer = Trainer::new(model, 10, mix, config, Device::Cpu, 0).unwrap();
            let mut epoch = 0;
            group.bench_function(BenchmarkId::new(model.name(), method), |b| {
                b.iter(|| {
                    epoch += 1;
                    trainer.train_epoch(epoch, &data, 0, |_, _| {}).unwrap()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, train_step);
criterion_main!(benches);
