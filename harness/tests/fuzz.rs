//! Property-based fuzzing of everything mixbench reads from users: suite files, claims files,
//! `mixbench compare`'s thresholds files, CIFAR binary files, `.npy` files, batch files (safetensors) and mini-ImageNet split CSVs. Each target
//! starts from a valid input, applies random edits (overwritten, inserted and deleted bytes,
//! truncation; odd YAML scalars for suite files) and asserts that the reader returns, with a
//! value or an error, and never panics.
//!
//! `cargo test` runs a short pass (`MIXBENCH_FUZZ_CASES`, default 256 cases per target);
//! `ci/fuzz.sh SECONDS` runs rounds of many more cases with fresh seeds
//! (`MIXBENCH_FUZZ_SEED`) until the time is up.

use std::path::Path;

use mixbench::claims::ClaimsFile;
use mixbench::compare::Thresholds;
use mixbench::data::cifar::{load_cifar100_dir, load_cifar10_dir, LabelKind};
use mixbench::data::fewshot::read_split_csv;
use mixbench::evaluations::robustness::npy;
use mixbench::methods::registry;
use mixbench::suite::config::LoadedSuite;
use mixbench_core::Batch;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use tch::{Kind, Tensor};

/// Cases per target and the random seed, from the environment (see the module doc).
fn config() -> Config {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    Config {
        cases: env("MIXBENCH_FUZZ_CASES").unwrap_or(256) as u32,
        rng_seed: RngSeed::Fixed(env("MIXBENCH_FUZZ_SEED").unwrap_or(0)),
        failure_persistence: None,
        ..Config::default()
    }
}

/// One edit of a byte string.
#[derive(Clone, Debug)]
enum Edit {
    /// Overwrite the byte at a position (taken modulo the length).
    Set(usize, u8),
    /// Insert a byte.
    Insert(usize, u8),
    /// Delete a run of bytes.
    Delete(usize, usize),
    /// Keep only a prefix.
    Truncate(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        2 => (any::<usize>(), 1usize..16).prop_map(|(i, n)| Edit::Delete(i, n)),
        1 => any::<usize>().prop_map(Edit::Truncate),
    ];
    prop::collection::vec(edit, 0..6)
}

fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for edit in edits {
        let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
        match *edit {
            Edit::Set(i, b) if !bytes.is_empty() => {
                let i = at(i, bytes.len());
                bytes[i] = b;
            }
            Edit::Set(..) => {}
            Edit::Insert(i, b) => {
                let i = at(i, bytes.len() + 1);
                bytes.insert(i, b);
            }
            Edit::Delete(i, n) => {
                let i = at(i, bytes.len());
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
            Edit::Truncate(n) => {
                let n = at(n, bytes.len() + 1);
                bytes.truncate(n);
            }
        }
    }
    bytes
}

/// A valid suite touching every section the parser reads.
const SUITE: &str = "\
name: fuzz
description: a suite
datasets:
  - synthetic: {classes: 3, train_per_class: 4, test_per_class: 2, size: 16, seed: 1}
  - folder: {root: imgs, image_size: 16, test_fraction: 0.25}
models: [small_cnn]
methods:
  - vanilla
  - mixup: {alpha: 1.0, label: mixup-1}
  - puzzlemix: {block_num: 4, t_size: -1}
  - sage: {search: native}
method_params:
  sage: {rand_pos: 0.5}
seeds: [0, 1]
training:
  epochs: 3
  lr: 0.1
  milestones: [1, 2]
  gamma: [0.1, 0.5]
  crop_padding: 2
  threads: 1
evaluations:
  robustness: {noise: [0.1], fgsm: [4], pgd: {eps: [8], steps: 2}}
output: out
";

/// Scalars that make YAML parsers and validators work: special floats, huge and negative
/// numbers, empty collections, nulls, quoted and hex forms.
const ODD_SCALARS: &[&str] = &[
    ".nan",
    "-.inf",
    ".inf",
    "-1",
    "0",
    "-0",
    "1e400",
    "99999999999999999999",
    "~",
    "null",
    "[]",
    "{}",
    "''",
    "'x'",
    "0x10",
    "true",
    "[1, [2]]",
    "{a: 1}",
    "&a 1",
    "*a",
    "!tag 1",
    "- x",
];

proptest! {
    #![proptest_config(config())]

    /// Suite files: byte edits, and values swapped for odd scalars.
    #[test]
    fn suite_parser_never_panics(
        edits in edits(),
        swaps in prop::collection::vec((any::<usize>(), 0..ODD_SCALARS.len()), 0..4),
    ) {
        let mut text = SUITE.to_string();
        for (at, scalar) in swaps {
            // Replace the value of one `key: value` line.
            let lines: Vec<&str> = text.lines().collect();
            let i = at % lines.len();
            if let Some((key, _)) = lines[i].split_once(": ") {
                let line = format!("{key}: {}", ODD_SCALARS[scalar]);
                let mut new: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                new[i] = line;
                text = new.join("\n");
            }
        }
        let bytes = apply(text.as_bytes(), &edits);
        let text = String::from_utf8_lossy(&bytes);
        let _ = LoadedSuite::from_text(&text, Path::new("fuzz.yaml"), Path::new("."), &registry());
    }

    /// CIFAR-10 and CIFAR-100 binary files of two records each, one file edited.
    #[test]
    fn cifar_readers_never_panic(edits in edits(), file in 0usize..6, hundred in any::<bool>()) {
        let tmp = tempfile::tempdir().unwrap();
        if hundred {
            let dir = tmp.path().join("cifar-100-binary");
            std::fs::create_dir_all(&dir).unwrap();
            let record = |c: u8, f: u8| [vec![c, f], vec![f; 3072]].concat();
            let mut files = vec![
                ("train.bin", [record(1, 7), record(19, 99)].concat()),
                ("test.bin", [record(0, 0), record(2, 50)].concat()),
            ];
            let i = file % files.len();
            files[i].1 = apply(&files[i].1, &edits);
            for (name, bytes) in &files {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
            let _ = load_cifar100_dir(&dir, LabelKind::Fine, 2, 2);
        } else {
            let dir = tmp.path().join("cifar-10-batches-bin");
            std::fs::create_dir_all(&dir).unwrap();
            let record = |c: u8| [vec![c], vec![c * 20; 3072]].concat();
            let mut files: Vec<(String, Vec<u8>)> = (1..=5)
                .map(|k| (format!("data_batch_{k}.bin"), [record(k), record(9)].concat()))
                .chain([("test_batch.bin".to_string(), [record(0), record(3)].concat())])
                .collect();
            files[file].1 = apply(&files[file].1, &edits);
            for (name, bytes) in &files {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
            let _ = load_cifar10_dir(&dir, 2, 2);
        }
    }

    /// `.npy` files (uint8 images and integer labels), edited.
    #[test]
    fn npy_readers_never_panic(edits in edits(), labels in any::<bool>()) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.npy");
        if labels {
            npy::write(&path, "|u1", &[5], &[0, 1, 2, 3, 4]).unwrap();
        } else {
            npy::write(&path, "|u1", &[2, 4, 4, 3], &[7u8; 96]).unwrap();
        }
        let bytes = apply(&std::fs::read(&path).unwrap(), &edits);
        std::fs::write(&path, bytes).unwrap();
        let _ = npy::read_u8(&path);
        let _ = npy::read_integers(&path);
    }

    /// Batch files of `mixbench mix` (safetensors), edited, then validated as `mix` does.
    #[test]
    fn batch_files_never_panic(edits in edits()) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("batch.safetensors");
        let named = vec![
            ("images", Tensor::ones([2, 3, 4, 4], (Kind::Float, tch::Device::Cpu))),
            ("labels", Tensor::from_slice(&[0i64, 1])),
            ("perm", Tensor::from_slice(&[1i64, 0])),
            ("lam", Tensor::from_slice(&[0.5f32])),
        ];
        Tensor::write_safetensors(&named, &path).unwrap();
        let bytes = apply(&std::fs::read(&path).unwrap(), &edits);
        std::fs::write(&path, bytes).unwrap();
        if let Ok(batch) = Batch::read_safetensors(&path, None) {
            let _ = batch.validate().and_then(|()| batch.validate_values());
        }
    }

    /// mini-ImageNet split files, edited.
    #[test]
    fn split_csv_reader_never_panics(edits in edits()) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("train.csv");
        let text = "filename,label\nn0153282900000005.jpg,n01532829\n\nn0153282900000006.jpg,n01532829\nn0174916200000001.jpg,n01749162\n";
        std::fs::write(&path, apply(text.as_bytes(), &edits)).unwrap();
        let _ = read_split_csv(&path);
    }

    #[test]
    fn claims_parser_never_panics(edits in edits()) {
        let text = apply(mixbench::QUICKSTART_CLAIMS.as_bytes(), &edits);
        let _ = ClaimsFile::parse(&String::from_utf8_lossy(&text), Path::new("fuzz-claims.yaml"));
    }

    #[test]
    fn thresholds_parser_never_panics(edits in edits()) {
        let valid = "alpha: 0.05\none_value_factor: 2.0\naccuracy: {min_effect: 0.5}\ntime: {relative: 0.10, min_seconds: 0.001}\nbit_exact: {fails: true}\nmetrics:\n  top1_last: {min_effect: 1.0}\n  runtime_mix: {relative: 0.2, alpha: 0.01}\n";
        let text = apply(valid.as_bytes(), &edits);
        let _ = Thresholds::parse(&String::from_utf8_lossy(&text), Path::new("fuzz-thresholds.yaml"));
    }
}
