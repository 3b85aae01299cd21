//! `mixbench mix` and `mixbench saliency`: apply one method, or compute the saliency map it
//! uses, on a batch stored in a safetensors file or on images from a folder, and write the
//! result as tensors and/or a PNG grid.
//!
//! Input file (safetensors): `images` f32 `[B, C, H, W]` (normalised); `labels` i64 `[B]`;
//! optional `grad` f32 `[B, C, H, W]` (the input gradient, required by methods that use model
//! saliency), `perm` i64 `[B]`, `lam` f32/f64 `[1]` (the raw draw, before method scaling such
//! as SAGE's `upper_lambda`; Puzzle Mix's prior `lam`), `mean`, `std` f32 `[C]` (pixel units;
//! default: the CIFAR-10 constants for 3 channels, 0 and 1 otherwise; Puzzle Mix's boundary
//! term reads raw pixels through them), `init` i64 `[B, g, g]` (Co-Mixup's initial labelling,
//! input indices local to each partition), `layer` i64 `[1]` (the mixing layer of Manifold
//! Mixup; only 0, the input, can be mixed without a model, and it is the default here). Absent
//! `perm`/`lam`/`init` are drawn from `--seed`.
//!
//! `mix` output: `mixed` f32 `[B, C, H, W]`, `targets` f32 `[B, K]`, `lam` f32 `[B]`, `perm`
//! i64 `[B]`, `mask` f32 `[B, 1, H, W]` for pairwise methods, and the method's extras under
//! their documented names (SAGE: `shift` i64 `[B, 2]`; SaliencyMix, CutMix: `box`; Puzzle Mix:
//! `block_labels` i64 `[B, n, n]`, `block_num` i64 `[1]`; Co-Mixup: `assign` f32
//! `[B_out, g, g, B_in]`, `objective` f32 `[partitions]`).
//! `saliency` output: `saliency` f32 `[B, H, W]`, the map the method uses per image
//! (SaliencyMix: the fine-grained map in `[0, 1]`; SAGE: the blurred gradient map; Puzzle Mix
//! and Co-Mixup: `sqrt(mean_c g^2)`).
//!
//! `--images DIR` reads images instead (`DIR/<class>/*.{png,jpg,jpeg}` sorted, labels from the
//! sorted class folders, or `DIR/*.{png,jpg,jpeg}` with label 0), normalised with the CIFAR-10
//! constants; a method that needs model saliency then needs `--checkpoint` and `--model` to
//! compute the input gradient (SAGE's saliency pass, in eval mode: no BN statistics change).
//! `--grid OUT.png` draws one row per image: input, saliency (when the method has one), mask
//! and mixed image (`mix`), or input and saliency (`saliency`), with column titles, a legend for
//! the grey-scale columns and, per row, the image's class (folder names with `--images`,
//! `class K` for batch files) and for `mix` its partner's class and lambda (drawn by the
//! report's [`ImageGrid`]).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, ensure, Context, Result};
use mixbench_core::{
    Batch, Composition, MixError, MixMethod, MixRng, MixSite, Mixed, ModelMode, NamedTensors,
    Params, Registry,
};
use tch::{nn, Device, Kind, Tensor};

use crate::models::ModelKind;
use crate::report::image_grid::ImageGrid;

/// CIFAR-10 normalisation constants (see `docs/training.md`, *Data*), the default when the input names none.
const CIFAR10_MEAN: [f64; 3] = [125.3 / 255.0, 123.0 / 255.0, 113.9 / 255.0];
const CIFAR10_STD: [f64; 3] = [63.0 / 255.0, 62.1 / 255.0, 66.7 / 255.0];

/// Where the batch comes from and what to draw; shared by both commands.
#[derive(Clone, Debug, clap::Args)]
pub struct BatchArgs {
    /// Registered method name (see `mixbench methods`).
    #[arg(long)]
    pub method: String,
    /// Batch file (safetensors): images, labels, optional grad, perm, lam, mean, std.
    #[arg(long, conflicts_with = "images")]
    pub input: Option<PathBuf>,
    /// Folder of images (class sub-folders or plain files) instead of `--input`.
    #[arg(long)]
    pub images: Option<PathBuf>,
    /// At most this many images from `--images`.
    #[arg(long, default_value_t = 16)]
    pub limit: usize,
    /// Model checkpoint for the input gradient of methods that need one, with `--images`.
    #[arg(long, requires = "model")]
    pub checkpoint: Option<PathBuf>,
    /// Architecture of `--checkpoint` (a model name as in suite files; `mixbench doctor` and
    /// the suites documentation list them).
    #[arg(long)]
    pub model: Option<String>,
    /// Method parameter, repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Seed of the method's random stream.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Number of classes K (default: largest label + 1, or the checkpoint's head).
    #[arg(long)]
    pub num_classes: Option<i64>,
    /// Draw a PNG grid of the inputs and results.
    #[arg(long)]
    pub grid: Option<PathBuf>,
}

/// `mixbench mix`.
#[derive(Clone, Debug, clap::Args)]
pub struct MixArgs {
    #[command(flatten)]
    pub batch: BatchArgs,
    /// Output file (safetensors): mixed, targets, lam, perm, mask, extras.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Device the method runs on: `cpu` or `cuda` (its device code path: SAGE's tensor search,
    /// Puzzle Mix's and Co-Mixup's device-side steps).
    #[arg(long, default_value = "cpu", value_parser = ["cpu", "cuda"])]
    pub device: String,
    /// With `--device cuda`: also mix on the CPU with the same inputs and seed, print the
    /// largest differences, and fail when one exceeds `--tolerance`.
    #[arg(long)]
    pub compare_cpu: bool,
    /// Largest absolute difference `--compare-cpu` accepts in mixed images and targets.
    #[arg(long, default_value_t = 1e-4)]
    pub tolerance: f64,
}

/// `mixbench saliency`.
#[derive(Clone, Debug, clap::Args)]
pub struct SaliencyArgs {
    #[command(flatten)]
    pub batch: BatchArgs,
    /// Output file (safetensors): saliency f32 [B, H, W].
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// Runs `mixbench mix`.
pub fn run_mix(args: &MixArgs, registry: &Registry) -> Result<()> {
    ensure!(
        args.output.is_some() || args.batch.grid.is_some(),
        "nothing to write: give --output and/or --grid"
    );
    let method = build(&args.batch, registry)?;
    let (mut batch, classes) = load_batch(&args.batch, method.as_ref())?;
    // Mixing a hidden state needs a model's forward pass: here, methods that mix inside the
    // model (Manifold Mixup) mix the input, unless the batch file asks for another layer.
    batch.layer.get_or_insert(0);
    let device = match args.device.as_str() {
        "cuda" if tch::Cuda::is_available() => Device::Cuda(0),
        "cuda" => bail!("--device cuda: CUDA is not available (run `mixbench doctor`)"),
        _ => Device::Cpu,
    };
    let on_device = batch.to_device(device);
    let mix_on = |b: &Batch| {
        method
            .mix(b, &mut MixRng::seed_from(args.batch.seed))
            .with_context(|| {
                format!(
                    "applying `{}` on {:?}",
                    args.batch.method,
                    b.images.device()
                )
            })
    };
    let mixed = mix_on(&on_device)?;
    if args.compare_cpu && device != Device::Cpu {
        compare_with_cpu(&args.batch.method, &mixed, &mix_on(&batch)?, args.tolerance)?;
    }
    if let MixSite::Hidden(layer) = mixed.site {
        bail!(
            "`layer` {layer} in the batch is a hidden layer of a model; `mixbench mix` mixes \
             images (layer 0), and hidden layers are mixed during training (`mixbench run`)"
        );
    }
    if let Some(path) = &args.output {
        let mut named: Vec<(String, Tensor)> = vec![
            ("mixed".into(), mixed.images.shallow_clone()),
            ("targets".into(), mixed.targets.shallow_clone()),
            ("lam".into(), mixed.lam.to_kind(Kind::Float)),
            ("perm".into(), mixed.perm.shallow_clone()),
        ];
        if let Some(mask) = &mixed.mask {
            named.push(("mask".into(), mask.shallow_clone()));
        }
        for (name, t) in &mixed.extras {
            named.push((name.clone(), t.shallow_clone()));
        }
        write(path, named)?;
    }
    if let Some(path) = &args.batch.grid {
        let mut columns = vec![input_column(&batch)];
        if let Some(s) = method.saliency_map(&batch).ok().flatten() {
            columns.push(saliency_column(&s));
        }
        if let Some(mask) = &mixed.mask {
            columns.push((
                "mask\nwhite: own image\nblack: partner",
                grey(&mask.squeeze_dim(1)),
            ));
        }
        let mixed_images = denormalise(&mixed.images, &batch.mean, &batch.std);
        columns.push(("mixed", mixed_images));
        let labels = mix_labels(&batch, &mixed, &classes, method.as_ref())?;
        draw_grid(path, &columns, &labels)?;
    }
    Ok(())
}

/// Prints the largest differences between a batch mixed on a device and on the CPU, and fails
/// when one exceeds `tolerance`.
fn compare_with_cpu(method: &str, device: &Mixed, cpu: &Mixed, tolerance: f64) -> Result<()> {
    let max_diff = |a: &Tensor, b: &Tensor| -> f64 {
        (a.to_device(Device::Cpu).to_kind(Kind::Double) - b.to_kind(Kind::Double))
            .abs()
            .max()
            .double_value(&[])
    };
    let images = max_diff(&device.images, &cpu.images);
    let targets = max_diff(&device.targets, &cpu.targets);
    let per_sample = (device.images.to_device(Device::Cpu) - &cpu.images)
        .abs()
        .flatten(1, -1)
        .amax([1], false);
    let differing = per_sample.gt(tolerance).sum(Kind::Int64).int64_value(&[]);
    println!(
        "{method}: device vs cpu, max |mixed| diff {images:.3e}, max |targets| diff {targets:.3e}, \
         {differing} of {} images beyond {tolerance:e}",
        per_sample.size()[0]
    );
    ensure!(
        images <= tolerance && targets <= tolerance,
        "`{method}` on the device differs from the CPU by more than {tolerance:e}"
    );
    Ok(())
}

/// A titled grid column (legend lines after the title's first line): RGB pictures
/// `[B, 3, H, W]` in `[0, 1]`.
type Column = (&'static str, Tensor);

/// The grid's input column.
fn input_column(batch: &Batch) -> Column {
    ("input", denormalise(&batch.images, &batch.mean, &batch.std))
}

/// The grid's saliency column (each map scaled to its own maximum for display).
fn saliency_column(map: &Tensor) -> Column {
    ("saliency\nbright: salient", grey(&normalise_per_image(map)))
}

/// Draws one row per image and one titled column per entry of `columns`, each row labelled.
fn draw_grid(path: &Path, columns: &[Column], row_labels: &[String]) -> Result<()> {
    let size = columns[0].1.size();
    let (b, h, w) = (size[0] as usize, size[2] as usize, size[3] as usize);
    let bytes: Vec<Vec<u8>> = columns
        .iter()
        .map(|(_, t)| {
            Vec::<u8>::try_from(
                (t.to_device(Device::Cpu) * 255.0)
                    .round()
                    .to_kind(Kind::Uint8)
                    .contiguous()
                    .flatten(0, -1),
            )
        })
        .collect::<Result<_, _>>()?;
    let len = 3 * h * w;
    let rows: Vec<Vec<Vec<u8>>> = (0..b)
        .map(|i| {
            bytes
                .iter()
                .map(|c| c[i * len..(i + 1) * len].to_vec())
                .collect()
        })
        .collect();
    let titles: Vec<String> = columns.iter().map(|(t, _)| t.to_string()).collect();
    ImageGrid {
        shape: (3, h, w),
        columns: &titles,
        row_labels,
        rows: &rows,
    }
    .write_png(path)
}

/// Per row of a mix grid: the image's class, its partner's class and lambda (for a joint
/// method, which has no partner, its largest label weight).
fn mix_labels(
    batch: &Batch,
    mixed: &Mixed,
    classes: &[String],
    method: &dyn MixMethod,
) -> Result<Vec<String>> {
    let labels = Vec::<i64>::try_from(batch.labels.to_device(Device::Cpu))?;
    let perm = Vec::<i64>::try_from(mixed.perm.to_device(Device::Cpu))?;
    let lam = Vec::<f32>::try_from(mixed.lam.to_device(Device::Cpu).to_kind(Kind::Float))?;
    let name = |label: i64| classes[label as usize].as_str();
    Ok((0..labels.len())
        .map(|i| {
            let own = name(labels[i]);
            if method.composition() == Composition::Joint {
                format!("{own}\nmixed jointly\ntop label {:.2}", lam[i])
            } else {
                let partner = name(labels[perm[i] as usize]);
                format!("{own}\n+ {partner} (#{})\nlambda {:.2}", perm[i], lam[i])
            }
        })
        .collect())
}

/// Runs `mixbench saliency`.
pub fn run_saliency(args: &SaliencyArgs, registry: &Registry) -> Result<()> {
    ensure!(
        args.output.is_some() || args.batch.grid.is_some(),
        "nothing to write: give --output and/or --grid"
    );
    let method = build(&args.batch, registry)?;
    let (batch, classes) = load_batch(&args.batch, method.as_ref())?;
    let saliency = saliency_for(method.as_ref(), &batch, registry)?;
    if let Some(path) = &args.output {
        write(path, vec![("saliency".into(), saliency.shallow_clone())])?;
    }
    if let Some(path) = &args.batch.grid {
        let columns = [input_column(&batch), saliency_column(&saliency)];
        let labels = Vec::<i64>::try_from(batch.labels.to_device(Device::Cpu))?;
        let rows: Vec<String> = labels
            .iter()
            .map(|&l| classes[l as usize].clone())
            .collect();
        draw_grid(path, &columns, &rows)?;
    }
    Ok(())
}

fn build(args: &BatchArgs, registry: &Registry) -> Result<Box<dyn MixMethod>> {
    let params = Params::parse(&args.method, args.set.iter().map(String::as_str))?;
    Ok(registry.build(&args.method, &params)?)
}

/// The saliency map `[B, H, W]` `method` uses per image ([`MixMethod::saliency_map`]); an
/// error naming the registered methods that have one when it has none.
pub fn saliency_for(method: &dyn MixMethod, batch: &Batch, registry: &Registry) -> Result<Tensor> {
    match method.saliency_map(batch) {
        Ok(Some(map)) => Ok(map),
        Ok(None) => bail!(
            "method `{}` uses no saliency map; methods with one: {}",
            method.name(),
            methods_with_saliency_map(registry).join(", ")
        ),
        Err(err @ MixError::MissingInput { .. }) => Err(anyhow!(
            "{err} (give it in the batch file, or use --images with --checkpoint and --model)"
        )),
        Err(err) => Err(err.into()),
    }
}

/// The registered methods that have a saliency map: each, built with its defaults, is asked
/// for the map of a small probe batch (one zero image with a zero input gradient).
fn methods_with_saliency_map(registry: &Registry) -> Vec<&'static str> {
    let images = Tensor::zeros([1, 3, 8, 8], (Kind::Float, Device::Cpu));
    let mut probe = Batch::new(
        images.shallow_clone(),
        Tensor::zeros([1], (Kind::Int64, Device::Cpu)),
        1,
    );
    probe.grad = Some(images);
    registry
        .methods()
        .iter()
        .filter(|info| {
            info.build(&Params::new(info.name))
                .and_then(|m| m.saliency_map(&probe))
                .is_ok_and(|map| map.is_some())
        })
        .map(|info| info.name)
        .collect()
}

/// The batch of `--input` or `--images`, checked, with a name per class (`class K` for batch
/// files, the class folder names for image folders).
fn load_batch(args: &BatchArgs, method: &dyn MixMethod) -> Result<(Batch, Vec<String>)> {
    match (&args.input, &args.images) {
        (Some(path), None) => {
            let batch = read_batch(path, args.num_classes)?;
            batch
                .validate()
                .and_then(|()| batch.validate_values())
                .with_context(|| format!("batch file {}", path.display()))?;
            let classes = (0..batch.num_classes)
                .map(|k| format!("class {k}"))
                .collect();
            Ok((batch, classes))
        }
        (None, Some(dir)) => {
            let (batch, mut classes) = folder_batch(dir, args, method)?;
            batch.validate()?;
            // `--num-classes` above the folders found: the extra classes have no folder.
            classes.extend((classes.len() as i64..batch.num_classes).map(|k| format!("class {k}")));
            Ok((batch, classes))
        }
        _ => bail!("give one of --input FILE or --images DIR"),
    }
}

fn read_batch(path: &Path, num_classes: Option<i64>) -> Result<Batch> {
    let named = NamedTensors::read(path)?;
    let mut batch = Batch::from_named(&named, num_classes)?;
    let (default_mean, default_std) = default_normalisation(batch.images.size()[1] as usize);
    if !named.has("mean") {
        batch.mean = default_mean;
    }
    if !named.has("std") {
        batch.std = default_std;
    }
    Ok(batch)
}

fn default_normalisation(channels: usize) -> (Vec<f64>, Vec<f64>) {
    if channels == 3 {
        (CIFAR10_MEAN.to_vec(), CIFAR10_STD.to_vec())
    } else {
        (vec![0.0; channels], vec![1.0; channels])
    }
}

fn is_image(p: &Path) -> bool {
    matches!(
        p.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("png" | "jpg" | "jpeg")
    )
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    entries.sort();
    Ok(entries)
}

/// The images of `dir` (class folders or loose images) as a normalised batch, with the class
/// folder names (`class 0` for loose images).
fn folder_batch(
    dir: &Path,
    args: &BatchArgs,
    method: &dyn MixMethod,
) -> Result<(Batch, Vec<String>)> {
    let entries = sorted_entries(dir)?;
    let classes: Vec<&PathBuf> = entries.iter().filter(|p| p.is_dir()).collect();
    let class_names: Vec<String> = if classes.is_empty() {
        vec!["class 0".into()]
    } else {
        classes
            .iter()
            .map(|c| {
                c.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    };
    let mut files: Vec<(PathBuf, i64)> = Vec::new();
    if classes.is_empty() {
        files.extend(
            entries
                .iter()
                .filter(|p| is_image(p))
                .map(|p| (p.clone(), 0)),
        );
    } else {
        // Round-robin over classes so that a small --limit still shows several classes.
        let per_class: Vec<Vec<PathBuf>> = classes
            .iter()
            .map(|c| {
                Ok(sorted_entries(c)?
                    .into_iter()
                    .filter(|p| is_image(p))
                    .collect())
            })
            .collect::<Result<_>>()?;
        let longest = per_class.iter().map(Vec::len).max().unwrap_or(0);
        for i in 0..longest {
            for (label, list) in per_class.iter().enumerate() {
                if let Some(p) = list.get(i) {
                    files.push((p.clone(), label as i64));
                }
            }
        }
    }
    files.truncate(args.limit);
    ensure!(
        !files.is_empty(),
        "no .png/.jpg images in {}",
        dir.display()
    );
    let mut pixels: Vec<u8> = Vec::new();
    let mut size = None;
    for (path, _) in &files {
        let img = image::open(path)
            .with_context(|| format!("decoding {}", path.display()))?
            .to_rgb8();
        let dims = img.dimensions();
        ensure!(
            size.is_none_or(|s| s == dims),
            "{} is {}x{}, the first image {:?}",
            path.display(),
            dims.0,
            dims.1,
            size
        );
        size = Some(dims);
        pixels.extend_from_slice(img.as_raw());
    }
    let (w, h) = size.expect("at least one image");
    let b = files.len() as i64;
    let raw = Tensor::from_slice(&pixels)
        .view([b, h as i64, w as i64, 3])
        .permute([0, 3, 1, 2])
        .to_kind(Kind::Float)
        / 255.0;
    let (mean, std) = default_normalisation(3);
    let mean_t =
        Tensor::from_slice(&mean.iter().map(|&m| m as f32).collect::<Vec<_>>()).view([1, 3, 1, 1]);
    let std_t =
        Tensor::from_slice(&std.iter().map(|&s| s as f32).collect::<Vec<_>>()).view([1, 3, 1, 1]);
    let images = (raw - mean_t) / std_t;
    let labels = Tensor::from_slice(&files.iter().map(|f| f.1).collect::<Vec<_>>());
    let classes_found = labels.max().int64_value(&[]) + 1;
    let mut k = args.num_classes.unwrap_or(classes_found.max(1));
    let mut grad = None;
    if let Some(request) = method.saliency() {
        let (Some(checkpoint), Some(model_name)) = (&args.checkpoint, &args.model) else {
            bail!(
                "method `{}` uses model saliency: with --images it needs --checkpoint FILE and --model KIND",
                args.method
            );
        };
        let kind: ModelKind = model_name.parse()?;
        let mut vs = nn::VarStore::new(Device::Cpu);
        let model = kind.build(&vs.root(), k);
        vs.load(checkpoint).with_context(|| {
            format!("loading {} as {model_name} with {k} classes (set --num-classes to the checkpoint's)", checkpoint.display())
        })?;
        // Eval mode and no kept parameter gradients: inspecting must not change the model.
        let request = mixbench_core::SaliencyRequest {
            mode: ModelMode::Eval,
            param_grads: mixbench_core::ParamGrads::Discard,
            ..request
        };
        grad = Some(crate::engine::saliency::input_gradient(
            model.as_ref(),
            &images,
            &labels,
            k,
            &request,
        ));
    }
    k = k.max(classes_found);
    let mut batch = Batch::new(images, labels, k);
    batch.grad = grad;
    batch.mean = mean;
    batch.std = std;
    Ok((batch, class_names))
}

fn write(path: &Path, named: Vec<(String, Tensor)>) -> Result<()> {
    let named: Vec<(String, Tensor)> = named
        .into_iter()
        .map(|(n, t)| (n, t.to_device(Device::Cpu).contiguous()))
        .collect();
    Tensor::write_safetensors(&named, path).with_context(|| format!("writing {}", path.display()))
}

/// Normalised images `[B, C, H, W]` back to RGB in `[0, 1]` (grey replicated when `C = 1`).
fn denormalise(images: &Tensor, mean: &[f64], std: &[f64]) -> Tensor {
    let c = images.size()[1];
    let m =
        Tensor::from_slice(&mean.iter().map(|&v| v as f32).collect::<Vec<_>>()).view([1, c, 1, 1]);
    let s =
        Tensor::from_slice(&std.iter().map(|&v| v as f32).collect::<Vec<_>>()).view([1, c, 1, 1]);
    let rgb = (images.to_device(Device::Cpu) * s + m).clamp(0.0, 1.0);
    if c == 3 {
        rgb
    } else {
        rgb.narrow(1, 0, 1).expand([-1, 3, -1, -1], false)
    }
}

/// A `[B, H, W]` map in `[0, 1]` as grey RGB `[B, 3, H, W]`.
fn grey(map: &Tensor) -> Tensor {
    map.to_device(Device::Cpu)
        .to_kind(Kind::Float)
        .clamp(0.0, 1.0)
        .unsqueeze(1)
        .expand([-1, 3, -1, -1], false)
}

/// Each map divided by its maximum, for display.
fn normalise_per_image(map: &Tensor) -> Tensor {
    let b = map.size()[0];
    let max = map
        .reshape([b, -1])
        .amax([1i64].as_slice(), false)
        .clamp_min(1e-30)
        .view([b, 1, 1]);
    map / max
}
