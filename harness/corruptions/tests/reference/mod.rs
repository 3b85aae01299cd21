//! The reference fixtures (`tests/fixtures/make_cifar_c`, `tests/fixtures/make_imagenet_c`):
//! clean images, the official functions' outputs, and the numpy draws each output was made
//! with, replayed into mixbench's corruptions by [`Replay`]. Written by
//! `tools/official/corruptions_fixture.py` (see `tools/official/README.md`).

use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};

use mixbench_corruptions::{Draws, Image};
use serde::Deserialize;

/// One recorded `np.random` call.
#[derive(Clone, Debug, Deserialize)]
pub struct DrawRecord {
    /// `normal`, `uniform`, `poisson` or `randint`.
    #[serde(rename = "fn")]
    pub function: String,
    /// First value in `draws.bin`.
    pub start: usize,
    /// Number of values of one call.
    pub len: usize,
    /// Consecutive identical calls merged into this record (their values follow each other).
    #[serde(default = "one")]
    pub calls: usize,
    /// `loc` of a normal draw.
    #[serde(default)]
    pub loc: Option<f64>,
    /// `scale` of a normal draw.
    #[serde(default)]
    pub scale: Option<f64>,
    /// `low` of a uniform or randint draw.
    #[serde(default)]
    pub low: Option<f64>,
    /// `high` of a uniform or randint draw.
    #[serde(default)]
    pub high: Option<f64>,
}

fn one() -> usize {
    1
}

/// One reference output: a corruption at a severity of one clean image.
#[derive(Clone, Debug, Deserialize)]
pub struct Case {
    /// The reference function's name.
    pub corruption: String,
    /// 1 to 5.
    pub severity: usize,
    /// Index of the clean image.
    pub image: usize,
    /// Index of the output block; `None` for frost, whose outputs hold crops of the
    /// reference's frost pictures (unknown licence) and are kept as a hash only.
    pub output: Option<usize>,
    /// SHA-256 of the output bytes (frost).
    #[serde(default)]
    pub output_sha256: Option<String>,
    /// The `np.random` draws it made, in order.
    #[serde(default)]
    pub draws: Vec<DrawRecord>,
    /// Impulse noise only: the `Generator.random` calls of scikit-image's `random_noise`,
    /// as uniform draws.
    #[serde(default)]
    pub generator_draws: Vec<DrawRecord>,
}

/// Several outputs of one image under fresh seeds (for corruptions whose draws cannot be
/// replayed).
#[derive(Clone, Debug, Deserialize)]
pub struct Distribution {
    /// The reference function's name.
    pub corruption: String,
    /// 1 to 5.
    pub severity: usize,
    /// Index of the clean image.
    pub image: usize,
    /// Indices of the output blocks.
    pub outputs: Vec<usize>,
}

#[derive(Deserialize)]
struct ImagesInfo {
    count: usize,
    height: usize,
    width: usize,
}

#[derive(Deserialize)]
struct Manifest {
    images: ImagesInfo,
    cases: Vec<Case>,
    #[serde(default)]
    distribution: Vec<Distribution>,
}

/// A loaded fixture.
pub struct Fixture {
    /// The clean images.
    pub images: Vec<Image>,
    /// Every replayable case.
    pub cases: Vec<Case>,
    /// The distribution samples.
    pub distribution: Vec<Distribution>,
    outputs: Vec<u8>,
    draws: Vec<f64>,
    height: usize,
    width: usize,
}

/// `tests/fixtures/<name>`.
pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The bytes of `<stem>.bin`, or of `<stem>.bin.gz` decompressed.
fn read_bin(dir: &Path, stem: &str) -> Vec<u8> {
    let plain = dir.join(format!("{stem}.bin"));
    if plain.exists() {
        return std::fs::read(&plain).unwrap_or_else(|e| panic!("{}: {e}", plain.display()));
    }
    let gz = dir.join(format!("{stem}.bin.gz"));
    let file = std::fs::File::open(&gz).unwrap_or_else(|e| panic!("{}: {e}", gz.display()));
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", gz.display()));
    out
}

impl Fixture {
    /// Loads `tests/fixtures/<name>`.
    pub fn load(name: &str) -> Fixture {
        let dir = fixture_dir(name);
        let manifest_path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&manifest_path)
            .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
        let manifest: Manifest = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
        let (h, w) = (manifest.images.height, manifest.images.width);
        let bytes = read_bin(&dir, "images");
        assert_eq!(
            bytes.len(),
            manifest.images.count * h * w * 3,
            "images.bin size"
        );
        let images = bytes
            .chunks_exact(h * w * 3)
            .map(|c| Image::new(h, w, c.to_vec()))
            .collect();
        let draws = read_bin(&dir, "draws")
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect();
        Fixture {
            images,
            cases: manifest.cases,
            distribution: manifest.distribution,
            outputs: read_bin(&dir, "outputs"),
            draws,
            height: h,
            width: w,
        }
    }

    /// Output block `index` as an image.
    pub fn output(&self, index: usize) -> Image {
        let n = self.height * self.width * 3;
        Image::new(
            self.height,
            self.width,
            self.outputs[index * n..(index + 1) * n].to_vec(),
        )
    }

    /// The replay of a case's draws (a merged record is handed out call by call).
    pub fn replay(&self, case: &Case) -> Replay {
        let records = case.draws.iter().chain(&case.generator_draws);
        Replay {
            label: format!(
                "{} severity {} image {}",
                case.corruption, case.severity, case.image
            ),
            records: records
                .flat_map(|r| {
                    (0..r.calls).map(move |k| {
                        let start = r.start + k * r.len;
                        (r.clone(), self.draws[start..start + r.len].to_vec())
                    })
                })
                .collect(),
        }
    }
}

/// The reference's draws of one case, handed out call by call; a call that does not match
/// the next recorded one (function or size) panics naming both.
pub struct Replay {
    label: String,
    records: VecDeque<(DrawRecord, Vec<f64>)>,
}

impl Replay {
    fn next(&mut self, function: &str, n: usize, args: [Option<f64>; 2]) -> Vec<f64> {
        let (record, values) = self.records.pop_front().unwrap_or_else(|| {
            panic!(
                "{}: {function}({n}) called but the reference drew nothing more",
                self.label
            )
        });
        assert!(
            record.function == function && record.len == n,
            "{}: {function}({n}) called where the reference drew {}({})",
            self.label,
            record.function,
            record.len
        );
        let recorded = match function {
            "normal" => [record.loc, record.scale],
            "uniform" | "randint" => [record.low, record.high],
            _ => [None, None],
        };
        for (ours, theirs) in args.iter().zip(recorded) {
            if let (Some(a), Some(b)) = (ours, theirs) {
                assert!(
                    (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                    "{}: {function} called with {args:?} where the reference used {recorded:?}",
                    self.label
                );
            }
        }
        values
    }

    /// Whether every recorded draw was used.
    pub fn finished(&self) -> bool {
        self.records.is_empty()
    }
}

impl Draws for Replay {
    fn normal(&mut self, loc: f64, scale: f64, n: usize) -> Vec<f64> {
        self.next("normal", n, [Some(loc), Some(scale)])
    }
    fn uniform(&mut self, low: f64, high: f64, n: usize) -> Vec<f64> {
        self.next("uniform", n, [Some(low), Some(high)])
    }
    fn poisson(&mut self, lam: &[f64]) -> Vec<f64> {
        self.next("poisson", lam.len(), [None, None])
    }
    fn randint(&mut self, low: i64, high: i64, n: usize) -> Vec<i64> {
        self.next("randint", n, [Some(low as f64), Some(high as f64)])
            .iter()
            .map(|&v| v as i64)
            .collect()
    }
}

/// How far an output is from the reference's: the largest absolute difference of a value and
/// the fraction of values that differ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Difference {
    /// Largest `|mixbench - reference|`, in 0..255 levels.
    pub max_abs: u8,
    /// Fraction of values that differ.
    pub fraction: f64,
}

/// The difference between two images of the same size.
pub fn difference(ours: &Image, reference: &Image) -> Difference {
    assert_eq!(
        (ours.height, ours.width),
        (reference.height, reference.width)
    );
    let diffs: Vec<u8> = ours
        .data
        .iter()
        .zip(&reference.data)
        .map(|(a, b)| a.abs_diff(*b))
        .collect();
    Difference {
        max_abs: diffs.iter().copied().max().unwrap_or(0),
        fraction: diffs.iter().filter(|&&d| d > 0).count() as f64 / diffs.len() as f64,
    }
}

/// The `ops` checks of `make_imagenet_c` (single OpenCV calls on pictures that can be shipped)
/// and the pictures of its `ops.bin`. Only `tests/opencv_resize.rs` reads them; the other test
/// crates that include this module leave them unused.
#[allow(dead_code)]
pub mod ops {
    use super::{fixture_dir, read_bin};
    use mixbench_corruptions::Image;
    use serde::Deserialize;

    /// One check of a single OpenCV call (`ops` of `make_imagenet_c/manifest.json`): `op` of the
    /// input picture gave the stored output block.
    #[derive(Clone, Debug, Deserialize)]
    pub struct OpCheck {
        /// The call: `cv2_resize_linear` is `cv2.resize(bgr, (0, 0), fx=fx, fy=fy)`
        /// (`INTER_LINEAR`) of the BGR copy of the RGB input, converted back to RGB.
        pub op: String,
        /// The horizontal scale.
        pub fx: f64,
        /// The vertical scale.
        pub fy: f64,
        /// `"image 0"` (image 0 of `images.bin`) or `"ops block k"`.
        pub input: String,
        /// The input's block in `ops.bin`; `None` for a fixture image.
        pub input_block: Option<usize>,
        /// The input's height.
        pub input_height: usize,
        /// The input's width.
        pub input_width: usize,
        /// SHA-256 of a test picture's bytes (the `ops.bin` inputs).
        #[serde(default)]
        pub input_sha256: Option<String>,
        /// The output's height.
        pub height: usize,
        /// The output's width.
        pub width: usize,
        /// The output's block in `ops.bin`.
        pub output: usize,
    }

    /// Where block `k` of `ops.bin` lies (`ops_blocks[k]`): uint8 HWC RGB of its own size.
    #[derive(Clone, Copy, Debug, Deserialize)]
    struct OpsBlock {
        offset: usize,
        height: usize,
        width: usize,
    }

    #[derive(Deserialize)]
    struct OpsManifest {
        ops: Vec<OpCheck>,
        ops_blocks: Vec<OpsBlock>,
    }

    /// The OpenCV checks of a fixture and the pictures of its `ops.bin` (read by
    /// `tests/opencv_resize.rs`; the other test crates leave them unused).
    pub struct Ops {
        /// Every check, in the manifest's order.
        pub checks: Vec<OpCheck>,
        blocks: Vec<OpsBlock>,
        bytes: Vec<u8>,
    }

    impl Ops {
        /// The `ops` of `tests/fixtures/<name>/manifest.json` and its `ops.bin`.
        pub fn load(name: &str) -> Ops {
            let dir = fixture_dir(name);
            let manifest_path = dir.join("manifest.json");
            let text = std::fs::read_to_string(&manifest_path)
                .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
            let manifest: OpsManifest = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
            let bytes = read_bin(&dir, "ops");
            let end = manifest
                .ops_blocks
                .iter()
                .map(|b| b.offset + b.height * b.width * 3)
                .max()
                .unwrap_or(0);
            assert_eq!(bytes.len(), end, "ops.bin size");
            Ops {
                checks: manifest.ops,
                blocks: manifest.ops_blocks,
                bytes,
            }
        }

        /// Block `k` of `ops.bin` as an image.
        pub fn block(&self, k: usize) -> Image {
            let b = self.blocks[k];
            let n = b.height * b.width * 3;
            Image::new(
                b.height,
                b.width,
                self.bytes[b.offset..b.offset + n].to_vec(),
            )
        }
    }
}
