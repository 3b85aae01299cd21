//! `mixbench mix` / `mixbench saliency` as library calls (argument parsing included), on the
//! method crates' parity fixtures: the commands must reproduce the fixtures' reference
//! outputs and write every promised tensor.

use std::path::{Path, PathBuf};

use clap::Parser;
use mixbench::methods::registry;
use mixbench::mix_command::{run_mix, run_saliency, MixArgs, SaliencyArgs};
use tch::{Kind, Tensor};

#[derive(Parser)]
struct MixCli {
    #[command(flatten)]
    args: MixArgs,
}

#[derive(Parser)]
struct SaliencyCli {
    #[command(flatten)]
    args: SaliencyArgs,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn read(path: &Path) -> Vec<(String, Tensor)> {
    Tensor::read_safetensors(path).unwrap()
}

fn get(tensors: &[(String, Tensor)], name: &str) -> Tensor {
    tensors
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no `{name}`"))
        .1
        .shallow_clone()
}

fn mix(argv: &[&str]) -> anyhow::Result<()> {
    let cli = MixCli::try_parse_from(std::iter::once("mix").chain(argv.iter().copied())).unwrap();
    run_mix(&cli.args, &registry())
}

fn saliency(argv: &[&str]) -> anyhow::Result<()> {
    let cli = SaliencyCli::try_parse_from(std::iter::once("saliency").chain(argv.iter().copied()))
        .unwrap();
    run_saliency(&cli.args, &registry())
}

/// A batch file from the SAGE fixture (methods/sage/tests/fixtures/README.md), case `a`.
fn sage_batch(dir: &Path, with_grad: bool) -> (PathBuf, Vec<(String, Tensor)>) {
    let fixture = read(&root().join("methods/sage/tests/fixtures/official_sage.safetensors"));
    let mut named = vec![
        ("images".to_string(), get(&fixture, "images")),
        ("labels".to_string(), get(&fixture, "labels")),
        ("perm".to_string(), get(&fixture, "a_perm")),
        (
            "lam".to_string(),
            get(&fixture, "a_lam_raw").to_kind(Kind::Float),
        ),
    ];
    if with_grad {
        named.push(("grad".to_string(), get(&fixture, "grad")));
    }
    let path = dir.join(if with_grad {
        "batch.safetensors"
    } else {
        "nograd.safetensors"
    });
    Tensor::write_safetensors(&named, &path).unwrap();
    (path, fixture)
}

#[test]
fn sage_mix_reproduces_the_official_fixture_and_writes_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let (input, fixture) = sage_batch(dir.path(), true);
    let output = dir.path().join("out.safetensors");
    let grid = dir.path().join("grid.png");
    mix(&[
        "--method",
        "sage",
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--set",
        "rand_pos=1",
        "--set",
        "upper_lambda=0.5",
        "--num-classes",
        "10",
        "--grid",
        grid.to_str().unwrap(),
    ])
    .unwrap();
    let out = read(&output);
    // The fixture's lam is stored as f64; the file holds it as f32, as the interface says, so
    // alpha differs by at most one f32 rounding: the bound of the issue still holds.
    let diff = (get(&out, "mixed") - get(&fixture, "a_mixed"))
        .abs()
        .max()
        .double_value(&[]);
    assert!(diff < 1e-4, "mixed differs from official sage() by {diff}");
    let lam_diff = (get(&out, "lam") - get(&fixture, "a_lam"))
        .abs()
        .max()
        .double_value(&[]);
    assert!(lam_diff < 1e-4, "lam differs by {lam_diff}");
    assert_eq!(get(&out, "targets").size(), [8, 10]);
    assert_eq!(get(&out, "mask").size(), [8, 1, 32, 32]);
    let shift = get(&out, "shift");
    assert_eq!((shift.size(), shift.kind()), (vec![8, 2], Kind::Int64));
    assert!(get(&out, "perm").equal(&get(&fixture, "a_perm")));
    let png = image::open(&grid).unwrap();
    assert!(
        png.width() > 4 * 96 && png.height() > 8 * 96,
        "{}x{}",
        png.width(),
        png.height()
    );
}

#[test]
fn missing_gradient_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = sage_batch(dir.path(), false);
    let output = dir.path().join("out.safetensors");
    let err = mix(&[
        "--method",
        "sage",
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ])
    .unwrap_err();
    assert!(format!("{err:#}").contains("grad"), "{err:#}");
    let err = saliency(&[
        "--method",
        "sage",
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ])
    .unwrap_err();
    assert!(format!("{err:#}").contains("grad"), "{err:#}");
}

#[test]
fn saliency_of_a_method_without_a_map_names_the_methods_with_one() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = sage_batch(dir.path(), true);
    let output = dir.path().join("out.safetensors");
    let registry = registry();
    let mut without_map = 0;
    for info in registry.methods() {
        let method = info.build(&mixbench_core::Params::new(info.name)).unwrap();
        let result = saliency(&[
            "--method",
            info.name,
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ]);
        // Every method with a saliency pass has a map; the others may or may not.
        if method.saliency().is_some() {
            result.unwrap_or_else(|e| panic!("{}: {e:#}", info.name));
            continue;
        }
        let Err(err) = result else { continue };
        without_map += 1;
        let text = format!("{err:#}");
        let (_, listed) = text
            .split_once("methods with one: ")
            .unwrap_or_else(|| panic!("{text}"));
        let listed: Vec<&str> = listed.split(", ").collect();
        assert!(!listed.contains(&info.name), "{text}");
        for other in registry.methods() {
            let m = other
                .build(&mixbench_core::Params::new(other.name))
                .unwrap();
            if m.saliency().is_some() {
                assert!(listed.contains(&other.name), "{text}");
            }
        }
    }
    assert!(
        without_map > 0,
        "no registered method without a saliency map was tried"
    );
}

#[test]
fn saliencymix_saliency_is_the_opencv_map() {
    let dir = tempfile::tempdir().unwrap();
    let fixture =
        read(&root().join("methods/saliencymix/tests/fixtures/opencv_fine_grained.safetensors"));
    let input = dir.path().join("batch.safetensors");
    let labels = Tensor::arange(16, (Kind::Int64, tch::Device::Cpu));
    Tensor::write_safetensors(
        &[("images", get(&fixture, "images")), ("labels", labels)],
        &input,
    )
    .unwrap();
    let output = dir.path().join("saliency.safetensors");
    saliency(&[
        "--method",
        "saliencymix",
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ])
    .unwrap();
    let map = get(&read(&output), "saliency");
    let expected = get(&fixture, "map_float").to_kind(Kind::Float) / 255.0;
    assert_eq!(map.size(), [16, 32, 32]);
    assert!(map.allclose(&expected, 0.0, 1e-7, false));
    // The u8 option (CIFAR-10 constants are the default normalisation) gives the RGB map.
    saliency(&[
        "--method",
        "saliencymix",
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--set",
        "saliency_input=u8",
    ])
    .unwrap();
    let expected = get(&fixture, "map_u8_rgb").to_kind(Kind::Float) / 255.0;
    assert!(get(&read(&output), "saliency").allclose(&expected, 0.0, 1e-7, false));
    // mix with the box always applied: box extras and a mask.
    let mixed = dir.path().join("mixed.safetensors");
    mix(&[
        "--method",
        "saliencymix",
        "--input",
        input.to_str().unwrap(),
        "--output",
        mixed.to_str().unwrap(),
        "--set",
        "prob=1",
        "--seed",
        "3",
    ])
    .unwrap();
    let out = read(&mixed);
    assert_eq!(get(&out, "box").size(), [16, 4]);
    assert_eq!(get(&out, "mask").size(), [16, 1, 32, 32]);
    assert_eq!(get(&out, "targets").size(), [16, 16]);
}

#[test]
fn image_folders_work_and_model_saliency_needs_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    for class in ["cat", "dog"] {
        std::fs::create_dir_all(dir.path().join("imgs").join(class)).unwrap();
        for i in 0..3u8 {
            let img = image::RgbImage::from_fn(32, 32, |x, y| {
                image::Rgb([x as u8 * 8, y as u8 * 8, i * 40])
            });
            img.save(dir.path().join("imgs").join(class).join(format!("{i}.png")))
                .unwrap();
        }
    }
    let imgs = dir.path().join("imgs");
    let grid = dir.path().join("grid.png");
    saliency(&[
        "--method",
        "saliencymix",
        "--images",
        imgs.to_str().unwrap(),
        "--grid",
        grid.to_str().unwrap(),
        "--limit",
        "4",
    ])
    .unwrap();
    // A labelled grid: a label column, a header of a title and a one-line legend (26 + 15
    // pixels), then one 96-pixel row per image, 4-pixel gaps.
    let png = image::open(&grid).unwrap().to_rgb8();
    let header = 26 + 15;
    assert_eq!(png.height(), header + 4 * (96 + 4) + 4);
    let label_w = png.width() - (2 * (96 + 4) + 4);
    assert!(label_w > 30, "no room for row labels: {label_w}");
    // Text is drawn where it should be: a class name left of every row, a title above each
    // column (dark pixels on the light grey page).
    let dark = |xs: std::ops::Range<u32>, ys: std::ops::Range<u32>| {
        xs.flat_map(|x| ys.clone().map(move |y| (x, y)))
            .filter(|&(x, y)| png.get_pixel(x, y).0.iter().all(|&c| c < 100))
            .count()
    };
    for row in 0..4 {
        let top = header + row * 100;
        assert!(
            dark(0..label_w, top..top + 96) > 10,
            "no label left of row {row}"
        );
    }
    for col in 0..2 {
        let left = label_w + 4 + col * 100;
        assert!(
            dark(left..left + 96, 0..24) > 10,
            "no title above column {col}"
        );
    }
    let output = dir.path().join("out.safetensors");
    let err = mix(&[
        "--method",
        "sage",
        "--images",
        imgs.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ])
    .unwrap_err();
    assert!(format!("{err:#}").contains("--checkpoint"), "{err:#}");
}

/// The installed commands end to end: `mixbench mix` and `mixbench saliency` as a user runs
/// them, with the exit status and the error text of a missing input.
#[test]
fn binary_mix_and_saliency_commands() {
    let dir = tempfile::tempdir().unwrap();
    let (input, fixture) = sage_batch(dir.path(), true);
    let output = dir.path().join("out.safetensors");
    let bin = env!("CARGO_BIN_EXE_mixbench");
    let status = std::process::Command::new(bin)
        .args([
            "mix",
            "--method",
            "sage",
            "--set",
            "rand_pos=1",
            "--num-classes",
            "10",
        ])
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .status()
        .unwrap();
    assert!(status.success());
    let diff = (get(&read(&output), "mixed") - get(&fixture, "a_mixed"))
        .abs()
        .max()
        .double_value(&[]);
    assert!(diff < 1e-4, "{diff}");
    let saliency_out = dir.path().join("saliency.safetensors");
    let status = std::process::Command::new(bin)
        .args(["saliency", "--method", "sage"])
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&saliency_out)
        .status()
        .unwrap();
    assert!(status.success());
    // SAGE's map is the torchvision blur of mean_c |grad| (fixture `s_tilde`).
    let map = get(&read(&saliency_out), "saliency");
    let expected = get(&fixture, "s_tilde").squeeze_dim(1);
    assert!(map.allclose(&expected, 1e-5, 1e-10, false));
    let (no_grad, _) = sage_batch(dir.path(), false);
    let out = std::process::Command::new(bin)
        .args(["mix", "--method", "sage"])
        .arg("--input")
        .arg(&no_grad)
        .arg("--output")
        .arg(&output)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("grad"));
}

/// `mixbench mix --method METHOD --input IN --output OUT EXTRA...`.
fn mix_file(method: &str, input: &Path, output: &Path, extra: &[&str]) -> anyhow::Result<()> {
    let (i, o) = (input.to_str().unwrap(), output.to_str().unwrap());
    let mut argv = vec!["--method", method, "--input", i, "--output", o];
    argv.extend_from_slice(extra);
    mix(&argv)
}

/// Writes the named fixture tensors (renamed as given) to a batch file.
fn batch_file(dir: &Path, fixture: &[(String, Tensor)], names: &[(&str, &str)]) -> PathBuf {
    let named: Vec<(String, Tensor)> = names
        .iter()
        .map(|(to, from)| (to.to_string(), get(fixture, from)))
        .collect();
    let path = dir.join("batch.safetensors");
    Tensor::write_safetensors(&named, &path).unwrap();
    path
}

#[test]
fn puzzlemix_mix_reproduces_the_official_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let fixture =
        read(&root().join("methods/puzzlemix/tests/fixtures/official_puzzlemix.safetensors"));
    let input = batch_file(
        dir.path(),
        &fixture,
        &[
            ("images", "images"),
            ("labels", "labels"),
            ("grad", "grad"),
            ("mean", "mean"),
            ("std", "std"),
            ("perm", "bn16_0_perm"),
            ("lam", "bn16_0_lam"),
        ],
    );
    let output = dir.path().join("out.safetensors");
    let o = output.to_str().unwrap();
    mix_file(
        "puzzlemix",
        &input,
        &output,
        &["--set", "block_num=16", "--num-classes", "10"],
    )
    .unwrap();
    let out = read(&output);
    let diff = (get(&out, "mixed") - get(&fixture, "bn16_0_mixed"))
        .abs()
        .max()
        .double_value(&[]);
    assert!(
        diff <= 1e-6,
        "mixed differs from official mixup_graph by {diff}"
    );
    assert!(get(&out, "lam").equal(&get(&fixture, "bn16_0_ratio")));
    let labels = get(&out, "block_labels");
    assert_eq!(
        (labels.size(), labels.kind()),
        (vec![16, 16, 16], Kind::Int64)
    );
    let official_mask = get(&fixture, "bn16_0_mask");
    let mask: Tensor = 1.0 - labels.to_kind(Kind::Float) / 2.0;
    assert!(mask.equal(&official_mask));
    assert_eq!(get(&out, "block_num").int64_value(&[0]), 16);
    saliency(&[
        "--method",
        "puzzlemix",
        "--input",
        input.to_str().unwrap(),
        "--output",
        o,
    ])
    .unwrap();
    let diff = mixbench_core::tensors::max_relative_diff(
        &get(&read(&output), "saliency"),
        &get(&fixture, "unary"),
    );
    assert!(
        diff <= 1e-6,
        "saliency differs from the official unary by {diff:e}"
    );
}

#[test]
fn comixup_mix_takes_init_and_reproduces_the_official_assignment() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = read(&root().join("methods/comixup/tests/fixtures/official_comixup.safetensors"));
    let input = batch_file(
        dir.path(),
        &fixture,
        &[
            ("images", "images"),
            ("labels", "labels"),
            ("grad", "grad"),
            ("mean", "mean"),
            ("std", "std"),
            ("init", "det1_init"),
        ],
    );
    let output = dir.path().join("out.safetensors");
    mix_file(
        "comixup",
        &input,
        &output,
        &["--set", "m_eta=0", "--num-classes", "10"],
    )
    .unwrap();
    let out = read(&output);
    assert!(get(&out, "assign").equal(&get(&fixture, "det1_assign")));
    assert!(get(&out, "targets").allclose(&get(&fixture, "det1_targets"), 1e-6, 1e-7, false));
    let objective = get(&out, "objective");
    assert_eq!(objective.size(), [2]);
    assert!(objective.allclose(&get(&fixture, "det1_objective"), 1e-5, 1e-5, false));
    // A labelling of the wrong shape is named.
    let bad = batch_file(
        dir.path(),
        &fixture,
        &[
            ("images", "images"),
            ("labels", "labels"),
            ("grad", "grad"),
            ("init", "det1_assign"),
        ],
    );
    let err = mix_file("comixup", &bad, &output, &[]).unwrap_err();
    assert!(format!("{err:#}").contains("init"), "{err:#}");
}

/// Without a model, Manifold Mixup mixes at layer 0: the result is Mixup's with the same
/// `alpha` and seed, bit for bit (the layer is fixed, so no draw shifts the stream).
#[test]
fn manifold_mixes_the_input_as_mixup_does() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = read(&root().join("harness/tests/fixtures/official_manifold.safetensors"));
    let input = batch_file(
        tmp.path(),
        &fixture,
        &[("images", "images"), ("labels", "labels")],
    );
    let (ours, theirs) = (
        tmp.path().join("m.safetensors"),
        tmp.path().join("x.safetensors"),
    );
    mix_file("manifold", &input, &ours, &["--seed", "5"]).unwrap();
    mix_file(
        "mixup",
        &input,
        &theirs,
        &["--seed", "5", "--set", "alpha=2.0"],
    )
    .unwrap();
    let (ours, theirs) = (read(&ours), read(&theirs));
    for name in ["mixed", "targets", "lam", "perm", "mask"] {
        assert!(get(&ours, name).equal(&get(&theirs, name)), "{name}");
    }
    assert!(
        get(&ours, "lam").double_value(&[0]) != 1.0,
        "nothing was mixed"
    );
}

/// `--device cuda` runs the method's device code path; without CUDA it is refused with the
/// reason, and with CUDA `--compare-cpu` checks it against the CPU on the SAGE fixture batch.
#[test]
fn device_option_needs_cuda_and_compares_with_the_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = sage_batch(dir.path(), true);
    let output = dir.path().join("out.safetensors");
    let argv = [
        "--method",
        "sage",
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--device",
        "cuda",
        "--compare-cpu",
        "--tolerance",
        "1e-3",
    ];
    match mix(&argv) {
        Ok(()) => {
            assert!(tch::Cuda::is_available());
            assert!(output.is_file());
        }
        Err(e) => {
            assert!(!tch::Cuda::is_available(), "{e:#}");
            assert!(format!("{e:#}").contains("CUDA is not available"), "{e:#}");
            assert!(!output.exists(), "nothing is written");
        }
    }
}
