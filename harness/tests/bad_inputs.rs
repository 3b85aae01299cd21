//! The bad-input catalogue: every case runs the `mixbench` binary on one bad input (suite
//! files, data sets, batch files, command-line flags, run folders) and checks what a user sees:
//! a non-zero exit status (never a panic), a message naming the file, key or line, and the
//! results of an existing run left byte for byte as they were.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use tch::{Kind, Tensor};

/// A tiny valid suite; cases change one thing in it. Line numbers below refer to this text.
const SUITE: &str = "\
name: tiny
datasets:
  - synthetic: {classes: 3, train_per_class: 20, test_per_class: 5, size: 16, seed: 1}
models: [small_cnn]
methods:
  - vanilla
  - mixup: {alpha: 1.0}
seeds: [0]
training:
  epochs: 1
  batch_size: 20
  lr: 0.05
  milestones: [1]
  device: cpu
  threads: 1
  isolation: inline
";

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// What a case expects: the exit status and the pieces the message must hold.
struct Expect {
    code: i32,
    needles: Vec<String>,
}

fn expect(code: i32, needles: &[&str]) -> Expect {
    Expect {
        code,
        needles: needles.iter().map(|s| s.to_string()).collect(),
    }
}

/// Runs the binary in `cwd` and checks the exit status, the message and that nothing
/// panicked; returns stderr.
fn check(case: &str, cwd: &Path, args: &[&str], expected: &Expect) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_mixbench"))
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(expected.code),
        "{case}: exit status {:?}\n{stderr}",
        output.status
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{case}: a panic reached the user\n{stderr}"
    );
    for needle in &expected.needles {
        assert!(
            stderr.contains(needle.as_str()),
            "{case}: `{needle}` not in\n{stderr}"
        );
    }
    stderr
}

/// An existing run that every suite case points its `--out` at: a bad suite must not touch it.
fn existing_run(root: &Path) -> PathBuf {
    let suite = root.join("good.yaml");
    std::fs::write(&suite, SUITE).unwrap();
    let run = root.join("run");
    let status = Command::new(env!("CARGO_BIN_EXE_mixbench"))
        .args([
            "run",
            suite.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    run
}

/// Suite files: each case is a replacement in [`SUITE`] and what the message must name.
/// All are refused when the suite is loaded, before anything runs.
#[test]
fn bad_suite_files() {
    let tmp = tempfile::tempdir().unwrap();
    let run = existing_run(tmp.path());
    let before = snapshot(&run);
    let cases: &[(&str, &str, &str, &[&str])] = &[
        ("yaml syntax", "models: [small_cnn]", "models: [small_cnn", &["case.yaml:"]),
        ("unknown top-level key", "seeds: [0]", "seed: [0]", &["case.yaml:8", "did you mean `seeds`"]),
        ("unknown training key", "  lr: 0.05", "  lrate: 0.05", &["case.yaml:12", "lrate"]),
        ("unknown model", "[small_cnn]", "[smallcnn]", &["case.yaml:4", "did you mean `small_cnn`"]),
        ("unknown method", "  - vanilla", "  - vanila", &["case.yaml:6", "did you mean `vanilla`"]),
        ("unknown method parameter", "{alpha: 1.0}", "{alpah: 1.0}", &["case.yaml:7", "did you mean `alpha`"]),
        ("method parameter of the wrong type", "{alpha: 1.0}", "{alpha: lots}", &["case.yaml:7", "alpha"]),
        ("method parameter out of range", "{alpha: 1.0}", "{alpha: -1.0}", &["case.yaml:7", "alpha"]),
        ("duplicate method label", "  - vanilla", "  - mixup", &["case.yaml", "share the label"]),
        ("no methods", "methods:\n  - vanilla\n  - mixup: {alpha: 1.0}", "methods: []", &["case.yaml", "at least one"]),
        ("no seeds", "seeds: [0]", "seeds: []", &["case.yaml", "at least one"]),
        ("no datasets", "datasets:\n  - synthetic: {classes: 3, train_per_class: 20, test_per_class: 5, size: 16, seed: 1}", "datasets: []", &["case.yaml", "at least one"]),
        ("lr NaN", "lr: 0.05", "lr: .nan", &["case.yaml:12", "training.lr"]),
        ("lr negative", "lr: 0.05", "lr: -0.05", &["case.yaml:12", "training.lr"]),
        ("lr infinite", "lr: 0.05", "lr: .inf", &["case.yaml:12", "training.lr"]),
        ("weight decay infinite", "  lr: 0.05", "  lr: 0.05\n  weight_decay: .inf", &["case.yaml:13", "training.weight_decay"]),
        ("momentum 1.5", "  lr: 0.05", "  lr: 0.05\n  momentum: 1.5", &["case.yaml:13", "training.momentum"]),
        ("milestones unsorted", "milestones: [1]", "milestones: [3, 2]", &["case.yaml:13", "training.milestones"]),
        ("more gammas than milestones", "milestones: [1]", "milestones: [1, 2]\n  gamma: [0.1, 0.1, 0.1]", &["case.yaml:14", "training.gamma"]),
        ("negative crop padding", "  lr: 0.05", "  lr: 0.05\n  crop_padding: -2", &["case.yaml:13", "training.crop_padding"]),
        ("zero threads", "threads: 1", "threads: 0", &["case.yaml:15", "training.threads"]),
        ("negative threads", "threads: 1", "threads: -3", &["case.yaml:15", "training.threads"]),
        ("zero epochs", "epochs: 1", "epochs: 0", &["case.yaml:10", "training.epochs"]),
        ("batch of one", "batch_size: 20", "batch_size: 1", &["case.yaml:11", "training.batch_size"]),
        ("unknown device", "device: cpu", "device: tpu", &["case.yaml:14", "device"]),
        ("unknown loss", "  lr: 0.05", "  lr: 0.05\n  loss: hinge", &["case.yaml:13", "loss"]),
        ("synthetic without classes", "classes: 3,", "classes: 0,", &["case.yaml:3", "classes must be at least 1"]),
        ("synthetic image too small", "size: 16", "size: 4", &["case.yaml:3", "size must be between 8 and 512"]),
        ("background reliance above 1", "seed: 1}", "seed: 1, background_reliance: 1.5}", &["case.yaml:3", "background_reliance"]),
        ("unknown synthetic key", "seed: 1}", "sed: 1}", &["case.yaml:3", "sed"]),
        ("folder test fraction 1.5", "  - synthetic: {classes: 3, train_per_class: 20, test_per_class: 5, size: 16, seed: 1}", "  - folder: {root: imgs, test_fraction: 1.5}", &["case.yaml:3", "test_fraction"]),
        ("folder image size 0", "  - synthetic: {classes: 3, train_per_class: 20, test_per_class: 5, size: 16, seed: 1}", "  - folder: {root: imgs, image_size: 0}", &["case.yaml:3", "image_size"]),
        ("two data kinds in one entry", "  - synthetic: {classes: 3, train_per_class: 20, test_per_class: 5, size: 16, seed: 1}", "  - {synthetic: {classes: 3}, cifar10: {root: data}}", &["case.yaml", "only one"]),
        ("unknown evaluation", "  isolation: inline", "  isolation: inline\nevaluations:\n  robustnes: {noise: [0.1]}", &["case.yaml:18", "did you mean `robustness`"]),
        ("unknown robustness key", "  isolation: inline", "  isolation: inline\nevaluations:\n  robustness: {nosie: [0.1]}", &["case.yaml:18", "did you mean `noise`"]),
        ("noise std above 1", "  isolation: inline", "  isolation: inline\nevaluations:\n  robustness: {noise: [2.5]}", &["case.yaml:18", "[0, 1]"]),
        ("fgsm eps above 255", "  isolation: inline", "  isolation: inline\nevaluations:\n  robustness: {fgsm: [300]}", &["case.yaml:18", "robustness.fgsm"]),
        ("pgd without steps", "  isolation: inline", "  isolation: inline\nevaluations:\n  robustness: {pgd: {eps: [8], steps: 0}}", &["case.yaml:18", "steps >= 1"]),
        ("empty robustness", "  isolation: inline", "  isolation: inline\nevaluations:\n  robustness: {}", &["case.yaml:18", "at least one of"]),
        ("few-shot without novel classes", "  isolation: inline", "  isolation: inline\nevaluations:\n  fewshot: {}", &["case.yaml", "needs a data set with base and novel classes"]),
        ("fashion_on_cifar correlation above 1", "  - synthetic: {classes: 3, train_per_class: 20, test_per_class: 5, size: 16, seed: 1}", "  - fashion_on_cifar: {cifar: c, correlation: 1.5}", &["case.yaml:3", "correlation"]),
        ("unknown background key", "  isolation: inline", "  isolation: inline\nevaluations:\n  background: {chalenge: {backgrounds: 5}}", &["case.yaml:18", "chalenge"]),
        ("background evaluation without masks", "  - synthetic: {classes: 3, train_per_class: 20, test_per_class: 5, size: 16, seed: 1}\nmodels", "  - folder: {root: imgs}\nevaluations:\n  background: {}\nmodels", &["case.yaml:5", "foreground masks"]),
        ("method_params for an unlisted method", "  isolation: inline", "  isolation: inline\nmethod_params:\n  mixpu: {alpha: 0.5}", &["case.yaml:18", "did you mean `mixup`"]),
        ("include of a missing file", "name: tiny", "include: nowhere.yaml\nname: tiny", &["case.yaml:1", "nowhere.yaml"]),
    ];
    assert!(cases.len() >= 40);
    for (i, (case, from, to, needles)) in cases.iter().enumerate() {
        assert!(SUITE.contains(from), "{case}: `{from}` is not in the suite");
        let dir = tmp.path().join(format!("case{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("case.yaml"), SUITE.replacen(from, to, 1)).unwrap();
        check(
            case,
            &dir,
            &["run", "case.yaml", "--out", run.to_str().unwrap()],
            &expect(1, needles),
        );
        assert!(snapshot(&run) == before, "{case}: the existing run changed");
    }
}

/// Data sets that cannot be read: the cell fails with the file named, the failure is
/// recorded, and `run` exits 2.
#[test]
fn bad_data_sets() {
    let tmp = tempfile::tempdir().unwrap();
    let cifar = tmp.path().join("cifar-10-batches-bin");
    std::fs::create_dir_all(&cifar).unwrap();
    for name in ["data_batch_1.bin", "test_batch.bin"] {
        std::fs::write(cifar.join(name), vec![0u8; 3073 * 2 + 17]).unwrap();
    }
    let images = tmp.path().join("imgs/cat");
    std::fs::create_dir_all(&images).unwrap();
    std::fs::write(images.join("broken.png"), b"not a png").unwrap();
    // Fashion-MNIST IDX files: one truncated, one of floats (gzip), one folder empty.
    let idx = |kind: u8, dims: &[u32], data: usize| {
        let mut b = vec![0, 0, kind, dims.len() as u8];
        for d in dims {
            b.extend(d.to_be_bytes());
        }
        b.extend(vec![0u8; data]);
        b
    };
    let truncated = tmp.path().join("fmnist-truncated");
    std::fs::create_dir_all(&truncated).unwrap();
    std::fs::write(
        truncated.join("train-images-idx3-ubyte"),
        idx(0x08, &[2, 28, 28], 784),
    )
    .unwrap();
    let float = tmp.path().join("fmnist-float");
    std::fs::create_dir_all(&float).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &idx(0x0D, &[1, 28, 28], 4 * 784)).unwrap();
    std::fs::write(
        float.join("train-images-idx3-ubyte.gz"),
        gz.finish().unwrap(),
    )
    .unwrap();
    std::fs::create_dir_all(tmp.path().join("fmnist-missing")).unwrap();
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "missing image folder",
            "folder: {root: does-not-exist}",
            &["does-not-exist"],
        ),
        (
            "malformed CIFAR binary",
            "cifar10: {root: .}",
            &["data_batch_1.bin"],
        ),
        (
            "missing CIFAR folder",
            "cifar100: {root: nowhere}",
            &["nowhere"],
        ),
        (
            "unreadable image",
            "folder: {root: imgs, image_size: 16}",
            &["broken.png"],
        ),
        (
            "truncated IDX file",
            "fashion_on_cifar: {fashion: fmnist-truncated, cifar: c}",
            &["fmnist-truncated/train-images-idx3-ubyte", "truncated"],
        ),
        (
            "IDX file of floats (gzip)",
            "fashion_on_cifar: {fashion: fmnist-float, cifar: c}",
            &["train-images-idx3-ubyte.gz", "0x0d (float)"],
        ),
        (
            "missing Fashion-MNIST files",
            "fashion_on_cifar: {fashion: fmnist-missing, cifar: c}",
            &["fmnist-missing", "dataset-fashion-mnist"],
        ),
    ];
    for (i, (case, data, needles)) in cases.iter().enumerate() {
        let text = SUITE
            .replace(
                "synthetic: {classes: 3, train_per_class: 20, test_per_class: 5, size: 16, seed: 1}",
                data,
            )
            .replace("  - mixup: {alpha: 1.0}\n", "");
        let suite = tmp.path().join(format!("data{i}.yaml"));
        std::fs::write(&suite, text).unwrap();
        let out = tmp.path().join(format!("out{i}"));
        let stderr = check(
            case,
            tmp.path(),
            &[
                "run",
                suite.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            &expect(2, needles),
        );
        let failed = std::fs::read_dir(out.join("cells"))
            .unwrap()
            .map(|e| e.unwrap().path().join("failed"))
            .find(|p| p.is_file());
        assert!(failed.is_some(), "{case}: no failed marker\n{stderr}");
    }
}

/// Batch files and flags of `mixbench mix` / `saliency`: refused before anything is written.
#[test]
fn bad_batch_files_and_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let cpu = (Kind::Float, tch::Device::Cpu);
    let good = || -> Vec<(&'static str, Tensor)> {
        vec![
            ("images", Tensor::rand([4, 3, 8, 8], cpu)),
            ("labels", Tensor::from_slice(&[0i64, 1, 2, 1])),
            ("perm", Tensor::from_slice(&[1i64, 2, 3, 0])),
            ("lam", Tensor::from_slice(&[0.3f32])),
        ]
    };
    let replace = |name: &'static str, value: Option<Tensor>| {
        let mut named: Vec<(&str, Tensor)> =
            good().into_iter().filter(|(n, _)| *n != name).collect();
        if let Some(v) = value {
            named.push((name, v));
        }
        named
    };
    let nan_images = Tensor::rand([4, 3, 8, 8], cpu);
    let _ = nan_images.get(1).fill_(f64::NAN);
    /// A case: its name, the tensors of the batch file, what the message must name.
    type BatchCase<'a> = (&'a str, Vec<(&'a str, Tensor)>, &'a [&'a str]);
    let files: Vec<BatchCase> = vec![
        (
            "lam NaN",
            replace("lam", Some(Tensor::from_slice(&[f32::NAN]))),
            &["`lam`"],
        ),
        (
            "lam 1.5",
            replace("lam", Some(Tensor::from_slice(&[1.5f32]))),
            &["`lam`"],
        ),
        (
            "lam negative",
            replace("lam", Some(Tensor::from_slice(&[-0.5f32]))),
            &["`lam`"],
        ),
        (
            "lam of two values",
            replace("lam", Some(Tensor::from_slice(&[0.1f32, 0.2]))),
            &["`lam`"],
        ),
        // Found by ci/fuzz.sh: a 0-dim `lam` crashed the reader (libtorch's select on a 0-dim
        // tensor); it is now read as the one value it holds, and checked.
        (
            "0-dim lam of 1.5",
            replace("lam", Some(Tensor::from(1.5f32))),
            &["`lam`"],
        ),
        (
            "perm repeats",
            replace("perm", Some(Tensor::from_slice(&[0i64, 0, 1, 2]))),
            &["`perm`"],
        ),
        (
            "perm too short",
            replace("perm", Some(Tensor::from_slice(&[1i64, 0]))),
            &["`perm`"],
        ),
        (
            "label above K",
            replace("labels", Some(Tensor::from_slice(&[0i64, 1, 2, 7]))),
            &["`labels`"],
        ),
        (
            "negative label",
            replace("labels", Some(Tensor::from_slice(&[0i64, -1, 2, 1]))),
            &["`labels`"],
        ),
        ("labels missing", replace("labels", None), &["labels"]),
        ("images missing", replace("images", None), &["images"]),
        (
            "images NaN",
            replace("images", Some(nan_images)),
            &["`images`"],
        ),
        (
            "images 3-D",
            replace("images", Some(Tensor::rand([4, 8, 8], cpu))),
            &["images"],
        ),
        (
            "images as integers",
            replace(
                "images",
                Some(Tensor::ones([4, 3, 8, 8], (Kind::Int64, tch::Device::Cpu))),
            ),
            &["images"],
        ),
        (
            "grad of another shape",
            {
                let mut v = good();
                v.push(("grad", Tensor::rand([4, 3, 4, 4], cpu)));
                v
            },
            &["grad"],
        ),
        (
            "std zero",
            {
                let mut v = good();
                v.push(("std", Tensor::from_slice(&[1.0f32, 0.0, 1.0])));
                v
            },
            &["`std`"],
        ),
    ];
    for (i, (case, named, needles)) in files.into_iter().enumerate() {
        let path = tmp.path().join(format!("bad{i}.safetensors"));
        Tensor::write_safetensors(&named, &path).unwrap();
        let out = tmp.path().join(format!("out{i}.safetensors"));
        let mut all = needles.to_vec();
        let name = format!("bad{i}.safetensors");
        all.push(&name);
        check(
            case,
            tmp.path(),
            &[
                "mix",
                "--method",
                "mixup",
                "--input",
                path.to_str().unwrap(),
                "--num-classes",
                "3",
                "--output",
                out.to_str().unwrap(),
            ],
            &expect(1, &all),
        );
        assert!(!out.exists(), "{case}: an output was written");
    }

    let good_path = tmp.path().join("good.safetensors");
    let named = good();
    Tensor::write_safetensors(&named, &good_path).unwrap();
    let input = good_path.to_str().unwrap();
    let with_layer = |file: &str, layer: Tensor| {
        let path = tmp.path().join(file);
        let mut named = good();
        named.push(("layer", layer));
        Tensor::write_safetensors(&named, &path).unwrap();
        path.to_str().unwrap().to_string()
    };
    let hidden = with_layer("hidden.safetensors", Tensor::from_slice(&[2i64]));
    let float_layer = with_layer("float-layer.safetensors", Tensor::from_slice(&[1.0f32]));
    let flags: &[(&str, &[&str], i32, &[&str])] = &[
        (
            "unknown method",
            &[
                "mix",
                "--method",
                "mixpu",
                "--input",
                input,
                "--output",
                "o.safetensors",
            ],
            1,
            &["did you mean `mixup`"],
        ),
        (
            "unknown parameter",
            &[
                "mix",
                "--method",
                "mixup",
                "--set",
                "alpah=1",
                "--input",
                input,
                "--output",
                "o.safetensors",
            ],
            1,
            &["did you mean `alpha`"],
        ),
        (
            "parameter without =",
            &[
                "mix",
                "--method",
                "mixup",
                "--set",
                "alpha",
                "--input",
                input,
                "--output",
                "o.safetensors",
            ],
            1,
            &["alpha"],
        ),
        (
            "parameter value of the wrong type",
            &[
                "mix",
                "--method",
                "mixup",
                "--set",
                "alpha=lots",
                "--input",
                input,
                "--output",
                "o.safetensors",
            ],
            1,
            &["alpha"],
        ),
        (
            "Manifold Mixup at a hidden layer without a model",
            &[
                "mix",
                "--method",
                "manifold",
                "--input",
                &hidden,
                "--output",
                "o.safetensors",
            ],
            1,
            &["`layer` 2", "hidden layer", "mixbench run"],
        ),
        (
            "layer that is not an integer",
            &[
                "mix",
                "--method",
                "manifold",
                "--input",
                &float_layer,
                "--output",
                "o.safetensors",
            ],
            1,
            &["`layer`", "float-layer.safetensors"],
        ),
        (
            "Manifold Mixup deeper than the models offer",
            &[
                "mix",
                "--method",
                "manifold",
                "--set",
                "max_layer=3",
                "--input",
                input,
                "--output",
                "o.safetensors",
            ],
            1,
            &["max_layer", "0..=2"],
        ),
        (
            "Manifold Mixup layer range upside down",
            &[
                "mix",
                "--method",
                "manifold",
                "--set",
                "min_layer=2",
                "--set",
                "max_layer=1",
                "--input",
                input,
                "--output",
                "o.safetensors",
            ],
            1,
            &["min_layer", "max_layer = 1"],
        ),
        (
            "nothing to write",
            &["mix", "--method", "mixup", "--input", input],
            1,
            &["--output"],
        ),
        (
            "missing batch file",
            &[
                "mix",
                "--method",
                "mixup",
                "--input",
                "nowhere.safetensors",
                "--output",
                "o.safetensors",
            ],
            1,
            &["nowhere.safetensors"],
        ),
        (
            "not a safetensors file",
            &[
                "mix",
                "--method",
                "mixup",
                "--input",
                "good.yaml",
                "--output",
                "o.safetensors",
            ],
            1,
            &["good.yaml"],
        ),
        (
            "saliency of a method without one",
            &[
                "saliency",
                "--method",
                "mixup",
                "--input",
                input,
                "--output",
                "o.safetensors",
            ],
            1,
            &["mixup"],
        ),
        (
            "model saliency without a gradient",
            &[
                "saliency",
                "--method",
                "sage",
                "--input",
                input,
                "--output",
                "o.safetensors",
            ],
            1,
            &["grad"],
        ),
        ("unknown subcommand", &["trian"], 2, &["trian"]),
        (
            "missing suite file",
            &["run", "missing.yaml"],
            1,
            &["missing.yaml"],
        ),
        (
            "unknown evaluation kind",
            &["evaluate", ".", "robustnes"],
            1,
            &["did you mean `robustness`"],
        ),
        (
            "report of a folder without cells",
            &["report", "nowhere"],
            1,
            &["nowhere"],
        ),
        (
            "unknown data set to fetch",
            &["data", "fetch", "cifar11"],
            2,
            &["cifar11"],
        ),
        (
            "data check of a missing suite",
            &["data", "check", "missing.yaml"],
            1,
            &["missing.yaml"],
        ),
        (
            "unknown flag",
            &["run", "good.yaml", "--outt", "x"],
            2,
            &["--outt"],
        ),
    ];
    std::fs::write(tmp.path().join("good.yaml"), SUITE).unwrap();
    for (case, args, code, needles) in flags {
        check(case, tmp.path(), args, &expect(*code, needles));
        assert!(
            !tmp.path().join("o.safetensors").exists(),
            "{case}: an output was written"
        );
    }
}

/// Run folders that have been damaged: `report` warns, counts the cell as failed, exits 1, and
/// changes no cell file.
#[test]
fn damaged_run_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let run = existing_run(tmp.path());
    let cell = run.join("cells/synthetic-small_cnn-vanilla-s0");
    let damages: &[(&str, &str, &[u8])] = &[
        ("garbled metrics", "metrics.csv", b"epoch,lr\nx,y\n"),
        ("empty metrics", "metrics.csv", b""),
        (
            "header-only metrics",
            "metrics.csv",
            b"epoch,lr,train_loss\n",
        ),
        ("garbled cell.json", "cell.json", b"{not json"),
    ];
    for (case, file, bytes) in damages {
        let original = std::fs::read(cell.join(file)).unwrap();
        std::fs::write(cell.join(file), bytes).unwrap();
        let cells_before = snapshot(&run.join("cells"));
        check(
            case,
            tmp.path(),
            &["report", run.to_str().unwrap()],
            &expect(1, &["warning:", "synthetic-small_cnn-vanilla-s0", file]),
        );
        assert!(
            snapshot(&run.join("cells")) == cells_before,
            "{case}: a cell file changed"
        );
        std::fs::write(cell.join(file), original).unwrap();
    }
    // Repaired, the report is clean again.
    check(
        "repaired run",
        tmp.path(),
        &["report", run.to_str().unwrap()],
        &expect(0, &[]),
    );
}

/// A small valid claims file; cases change one thing in it. Line numbers refer to this text.
const CLAIMS: &str = "\
title: t
source: s
claims:
  - id: a
    kind: value
    source: here
    dataset: synthetic
    model: small_cnn
    method: vanilla
    value: 50
    tolerance: 5
  - id: b
    kind: order
    source: here
    dataset: synthetic
    model: small_cnn
    a: mixup
    b: vanilla
";

/// Claims files and `verify` arguments: refused with exit status 2 and the file, line and
/// closest valid name, before anything in the run folder is written.
#[test]
fn bad_claims_files() {
    let tmp = tempfile::tempdir().unwrap();
    let run = existing_run(tmp.path());
    let before = snapshot(&run);
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "claims yaml syntax",
            "claims:\n",
            "claims: [\n",
            &["case.yaml:"],
        ),
        (
            "unknown claim key",
            "    tolerance: 5",
            "    tolerence: 5",
            &["case.yaml:11", "did you mean `tolerance`"],
        ),
        (
            "unknown kind",
            "kind: order",
            "kind: ordr",
            &["case.yaml:13", "did you mean `order`"],
        ),
        (
            "unknown metric",
            "    b: vanilla\n",
            "    b: vanilla\n    metric: top_1\n",
            &["case.yaml:19", "did you mean `top1`"],
        ),
        (
            "unknown statistic",
            "    tolerance: 5\n",
            "    tolerance: 5\n    protocol: {statistic: median}\n",
            &["case.yaml:12", "median_last10"],
        ),
        (
            "value without tolerance",
            "    tolerance: 5\n",
            "",
            &["case.yaml:10", "needs a `tolerance`"],
        ),
        (
            "duplicate id",
            "id: b",
            "id: a",
            &["case.yaml:", "used twice"],
        ),
        (
            "key of another kind",
            "    b: vanilla\n",
            "    b: vanilla\n    tolerance: 1\n",
            &["case.yaml:19", "does not apply to order claims"],
        ),
        (
            "alpha out of range",
            "source: s\n",
            "source: s\nalpha: 0.7\n",
            &["case.yaml:3", "alpha"],
        ),
    ];
    for (case, from, to, needles) in cases {
        assert!(CLAIMS.contains(from), "{case}");
        std::fs::write(tmp.path().join("case.yaml"), CLAIMS.replacen(from, to, 1)).unwrap();
        check(
            case,
            tmp.path(),
            &["verify", run.to_str().unwrap(), "--claims", "case.yaml"],
            &expect(2, needles),
        );
        assert!(snapshot(&run) == before, "{case}: the run folder changed");
    }
    // Arguments and folders: a missing claims file, a run without claims, a folder that is
    // not a run.
    check(
        "missing claims file",
        tmp.path(),
        &["verify", run.to_str().unwrap(), "--claims", "nowhere.yaml"],
        &expect(2, &["nowhere.yaml"]),
    );
    check(
        "run without claims",
        tmp.path(),
        &["verify", run.to_str().unwrap()],
        &expect(2, &["no claims to verify", "--claims"]),
    );
    std::fs::write(tmp.path().join("good-claims.yaml"), CLAIMS).unwrap();
    check(
        "not a run folder",
        tmp.path(),
        &[
            "verify",
            tmp.path().to_str().unwrap(),
            "--claims",
            "good-claims.yaml",
        ],
        &expect(2, &["no summary.csv"]),
    );
    assert!(snapshot(&run) == before, "the run folder changed");
    // A suite whose claims file is missing or malformed is refused before anything trains.
    for (case, claims, needles) in [
        (
            "suite names a missing claims file",
            "claims: gone.yaml\n",
            &["case.yaml:17", "gone.yaml"][..],
        ),
        (
            "suite names a malformed claims file",
            "claims: bad-claims.yaml\n",
            &["bad-claims.yaml:11", "did you mean `tolerance`"],
        ),
    ] {
        std::fs::write(
            tmp.path().join("bad-claims.yaml"),
            CLAIMS.replace("    tolerance: 5", "    tolerence: 5"),
        )
        .unwrap();
        std::fs::write(tmp.path().join("case.yaml"), format!("{SUITE}{claims}")).unwrap();
        check(
            case,
            tmp.path(),
            &["run", "case.yaml", "--out", run.to_str().unwrap()],
            &expect(1, needles),
        );
        assert!(snapshot(&run) == before, "{case}: the run folder changed");
    }
    // The good file verifies (exit 0: one seed, every claim inconclusive) and writes claims.csv.
    check(
        "good claims",
        tmp.path(),
        &[
            "verify",
            run.to_str().unwrap(),
            "--claims",
            "good-claims.yaml",
        ],
        &expect(0, &[]),
    );
    assert!(run.join("claims.csv").exists());
}
