//! A strict reader of IDX files, the format of MNIST and Fashion-MNIST: two zero bytes, an
//! element-type byte (only `0x08`, unsigned bytes, is read), a dimension-count byte, one
//! big-endian `u32` per dimension, then exactly the product of the dimensions in elements.
//! Files compressed with gzip (`.gz`, recognised by their first two bytes) are decompressed
//! first. Every error names the file and what is wrong with it.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};

/// An IDX array of unsigned bytes: its dimensions and its elements in row-major order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// Dimensions, outermost first (images: `[n, rows, columns]`; labels: `[n]`).
    pub dims: Vec<usize>,
    /// `dims.iter().product()` elements.
    pub data: Vec<u8>,
}

/// Reads the IDX file at `path` (gzip-compressed or not).
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .with_context(|| format!("{}: not a valid gzip stream", path.display()))?;
        out
    } else {
        raw
    };
    parse_idx(&bytes)
        .with_context(|| format!("{}: not a valid IDX file of unsigned bytes", path.display()))
}

/// Parses IDX bytes (already decompressed); the error says what is wrong, the caller adds
/// the file.
pub fn parse_idx(bytes: &[u8]) -> Result<IdxArray> {
    ensure!(
        bytes.len() >= 4,
        "{} bytes, shorter than the 4-byte IDX magic number",
        bytes.len()
    );
    ensure!(
        bytes[0] == 0 && bytes[1] == 0,
        "magic number starts with {:02x} {:02x}, expected 00 00",
        bytes[0],
        bytes[1]
    );
    let kind = bytes[2];
    if kind != 0x08 {
        let name = match kind {
            0x09 => "signed byte",
            0x0B => "short",
            0x0C => "int",
            0x0D => "float",
            0x0E => "double",
            _ => "unknown",
        };
        bail!("element type 0x{kind:02x} ({name}); only unsigned bytes (0x08) are supported");
    }
    let ndims = bytes[3] as usize;
    ensure!(ndims >= 1, "zero dimensions");
    let header = 4 + 4 * ndims;
    ensure!(
        bytes.len() >= header,
        "{} bytes, shorter than the header of {ndims} dimensions ({header} bytes)",
        bytes.len()
    );
    let dims: Vec<usize> = (0..ndims)
        .map(|d| {
            let b = &bytes[4 + 4 * d..8 + 4 * d];
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
        })
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .with_context(|| format!("dimensions {dims:?} overflow"))?;
    let found = bytes.len() - header;
    ensure!(
        found == expected,
        "dimensions {dims:?} need {expected} data bytes, found {found} ({})",
        if found < expected {
            "truncated"
        } else {
            "trailing bytes"
        }
    );
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// The uncompressed IDX bytes of an unsigned-byte array with dimensions `dims`: for tests
/// and fixtures.
pub fn to_idx_bytes(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        out.extend((d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// Side of an MNIST-format image.
pub const ITEM: usize = 28;

/// The items of one split of an MNIST-format data set (Fashion-MNIST, MNIST, KMNIST): 28x28
/// grey images and labels in `0..10`.
pub struct Items {
    /// `n * 784` bytes.
    pub images: Vec<u8>,
    /// `n` labels in `0..10`.
    pub labels: Vec<u8>,
}

/// Reads `<dir>/<prefix>-images-idx3-ubyte[.gz]` and `<dir>/<prefix>-labels-idx1-ubyte[.gz]`
/// (`prefix`: `train` or `t10k`), checking shapes, counts and labels; a missing file's error
/// ends with `missing_hint` (where to get the files).
pub fn read_mnist_split(dir: &Path, prefix: &str, missing_hint: &str) -> Result<Items> {
    let find = |stem: String| -> Result<PathBuf> {
        let plain = dir.join(&stem);
        let gz = dir.join(format!("{stem}.gz"));
        if plain.is_file() {
            Ok(plain)
        } else if gz.is_file() {
            Ok(gz)
        } else {
            anyhow::bail!(
                "IDX file {} (or .gz) not found; {missing_hint}",
                plain.display()
            )
        }
    };
    let images_path = find(format!("{prefix}-images-idx3-ubyte"))?;
    let images = read_idx(&images_path)?;
    let labels_path = find(format!("{prefix}-labels-idx1-ubyte"))?;
    let labels = read_idx(&labels_path)?;
    ensure!(
        images.dims.len() == 3 && images.dims[1] == ITEM && images.dims[2] == ITEM,
        "{}: expected images of shape [n, 28, 28], found {:?}",
        images_path.display(),
        images.dims
    );
    ensure!(
        labels.dims.len() == 1 && labels.dims[0] == images.dims[0],
        "{}: expected {} labels (one per image of {}), found shape {:?}",
        labels_path.display(),
        images.dims[0],
        images_path.display(),
        labels.dims
    );
    if let Some(i) = labels.data.iter().position(|&l| l >= 10) {
        anyhow::bail!(
            "{}: label {} of item {i} is outside the 10 classes",
            labels_path.display(),
            labels.data[i]
        );
    }
    Ok(Items {
        images: images.data,
        labels: labels.data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn round_trip_plain_and_gzip() {
        let data: Vec<u8> = (0..24).collect();
        let bytes = to_idx_bytes(&[2, 3, 4], &data);
        let a = parse_idx(&bytes).unwrap();
        assert_eq!(a.dims, vec![2, 3, 4]);
        assert_eq!(a.data, data);
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("a-idx3-ubyte");
        std::fs::write(&plain, &bytes).unwrap();
        assert_eq!(read_idx(&plain).unwrap(), a);
        let gz = dir.path().join("a-idx3-ubyte.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&bytes).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        assert_eq!(read_idx(&gz).unwrap(), a);
    }

    #[test]
    fn malformed_files_are_errors_naming_the_problem() {
        let good = to_idx_bytes(&[2, 2], &[1, 2, 3, 4]);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![0, 0], "shorter than the 4-byte"),
            (
                {
                    let mut b = good.clone();
                    b[0] = 1;
                    b
                },
                "expected 00 00",
            ),
            (
                {
                    let mut b = good.clone();
                    b[2] = 0x0D;
                    b
                },
                "0x0d (float)",
            ),
            (
                {
                    let mut b = good.clone();
                    b[3] = 0;
                    b
                },
                "zero dimensions",
            ),
            (
                {
                    let mut b = good.clone();
                    b[3] = 9;
                    b
                },
                "shorter than the header",
            ),
            (good[..good.len() - 1].to_vec(), "truncated"),
            ([good.clone(), vec![0]].concat(), "trailing bytes"),
            (
                to_idx_bytes(&[0xffff_ffff, 0xffff_ffff, 0xffff_ffff], &[]),
                "overflow",
            ),
        ];
        for (bytes, want) in cases {
            let err = format!("{:#}", parse_idx(&bytes).unwrap_err());
            assert!(err.contains(want), "{want}: {err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.gz");
        std::fs::write(&path, [0x1f, 0x8b, 0, 1, 2]).unwrap();
        let err = format!("{:#}", read_idx(&path).unwrap_err());
        assert!(err.contains("broken.gz") && err.contains("gzip"), "{err}");
        let path = dir.path().join("short");
        std::fs::write(&path, [0, 0, 8]).unwrap();
        let err = format!("{:#}", read_idx(&path).unwrap_err());
        assert!(err.contains("short") && err.contains("magic"), "{err}");
    }
}
