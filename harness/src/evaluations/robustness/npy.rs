//! A reader for the NumPy `.npy` files CIFAR-10-C and CIFAR-100-C ship (Hendrycks and
//! Dietterich, ICLR 2019): `<corruption>.npy`, uint8 `[50000, 32, 32, 3]` (severities 1-5, 10,000
//! test images each, in test-set order), and `labels.npy` (`[50000]`, any integer type).
//! Versions 1.0-3.0 of the format, C order, little-endian or byte-sized types. Every problem is
//! an error naming the file.

use std::path::Path;

use anyhow::{bail, ensure, Context, Result};

/// An array read from a `.npy` file: its shape and its values widened to `i64`.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Values in C order.
    pub data: Vec<i64>,
}

/// A uint8 array read from a `.npy` file (images), kept as bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyBytes {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Values in C order.
    pub data: Vec<u8>,
}

/// Header fields of a `.npy` file.
struct Header {
    descr: String,
    shape: Vec<usize>,
    data_offset: usize,
}

/// Parses the header of `bytes` (the whole file).
fn parse_header(bytes: &[u8], path: &Path) -> Result<Header> {
    let name = path.display();
    ensure!(
        bytes.len() >= 10 && &bytes[..6] == b"\x93NUMPY",
        "{name}: not a .npy file (bad magic bytes)"
    );
    let major = bytes[6];
    let (len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            ensure!(bytes.len() >= 12, "{name}: truncated .npy header");
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => bail!("{name}: unsupported .npy format version {v}"),
    };
    ensure!(
        bytes.len() >= start + len,
        "{name}: truncated .npy header ({} bytes, header says {})",
        bytes.len(),
        start + len
    );
    let header = std::str::from_utf8(&bytes[start..start + len])
        .with_context(|| format!("{name}: .npy header is not text"))?;
    let field = |key: &str| -> Result<&str> {
        let at = header
            .find(&format!("'{key}'"))
            .with_context(|| format!("{name}: .npy header lacks '{key}': {header}"))?;
        let rest = &header[at + key.len() + 2..];
        let colon = rest
            .find(':')
            .with_context(|| format!("{name}: malformed .npy header: {header}"))?;
        Ok(rest[colon + 1..].trim_start())
    };
    let descr = field("descr")?;
    ensure!(
        descr.starts_with('\''),
        "{name}: malformed descr in .npy header: {header}"
    );
    let descr = descr[1..]
        .split('\'')
        .next()
        .unwrap_or_default()
        .to_string();
    let fortran = field("fortran_order")?;
    ensure!(
        fortran.starts_with("False"),
        "{name}: Fortran-ordered arrays are not supported"
    );
    let shape = field("shape")?;
    ensure!(
        shape.starts_with('('),
        "{name}: malformed shape in .npy header: {header}"
    );
    let inner = &shape[1..shape
        .find(')')
        .with_context(|| format!("{name}: malformed shape in .npy header: {header}"))?];
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .with_context(|| format!("{name}: bad dimension `{s}` in .npy shape"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Header {
        descr,
        shape,
        data_offset: start + len,
    })
}

/// Decodes one little-endian integer of a known width.
type Decoder = fn(&[u8]) -> i64;

/// Byte size and decoder of a NumPy integer type string such as `|u1` or `<i8`.
fn integer_type(descr: &str) -> Option<(usize, Decoder)> {
    Some(match descr {
        "|u1" | "<u1" | "u1" => (1, |b| b[0] as i64),
        "|i1" | "<i1" | "i1" => (1, |b| b[0] as i8 as i64),
        "<u2" => (2, |b| u16::from_le_bytes([b[0], b[1]]) as i64),
        "<i2" => (2, |b| i16::from_le_bytes([b[0], b[1]]) as i64),
        "<u4" => (4, |b| u32::from_le_bytes(b.try_into().unwrap()) as i64),
        "<i4" => (4, |b| i32::from_le_bytes(b.try_into().unwrap()) as i64),
        "<u8" => (8, |b| u64::from_le_bytes(b.try_into().unwrap()) as i64),
        "<i8" => (8, |b| i64::from_le_bytes(b.try_into().unwrap())),
        _ => return None,
    })
}

/// Reads a uint8 array (images).
pub fn read_u8(path: &Path) -> Result<NpyBytes> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let header = parse_header(&bytes, path)?;
    ensure!(
        matches!(header.descr.as_str(), "|u1" | "<u1" | "u1"),
        "{}: expected uint8 images (descr '|u1'), found '{}'",
        path.display(),
        header.descr
    );
    let count: usize = header.shape.iter().product();
    let data = &bytes[header.data_offset..];
    ensure!(
        data.len() == count,
        "{}: shape {:?} needs {count} bytes of data, the file holds {}",
        path.display(),
        header.shape,
        data.len()
    );
    Ok(NpyBytes {
        shape: header.shape,
        data: data.to_vec(),
    })
}

/// Reads an integer array of any width (labels).
pub fn read_integers(path: &Path) -> Result<NpyArray> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let header = parse_header(&bytes, path)?;
    let Some((width, decode)) = integer_type(&header.descr) else {
        bail!(
            "{}: expected an integer array, found descr '{}'",
            path.display(),
            header.descr
        );
    };
    let count: usize = header.shape.iter().product();
    let data = &bytes[header.data_offset..];
    ensure!(
        data.len() == count * width,
        "{}: shape {:?} of '{}' needs {} bytes of data, the file holds {}",
        path.display(),
        header.shape,
        header.descr,
        count * width,
        data.len()
    );
    Ok(NpyArray {
        shape: header.shape,
        data: data.chunks_exact(width).map(decode).collect(),
    })
}

/// Writes a version-1.0 `.npy` file (tests and fixtures).
pub fn write(path: &Path, descr: &str, shape: &[usize], data: &[u8]) -> Result<()> {
    std::fs::write(path, encode(descr, shape, data))
        .with_context(|| format!("writing {}", path.display()))
}

/// A version-1.0 `.npy` file of `data` (already in the layout `descr` names) with `shape`.
pub fn encode(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_malformed_files() {
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join("fog.npy");
        let data: Vec<u8> = (0..5 * 2 * 2 * 3).map(|v| v as u8).collect();
        write(&images, "|u1", &[5, 2, 2, 3], &data).unwrap();
        let read = read_u8(&images).unwrap();
        assert_eq!(read.shape, [5, 2, 2, 3]);
        assert_eq!(read.data, data);

        let labels = dir.path().join("labels.npy");
        let values: Vec<u8> = [3i64, 7, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
        write(&labels, "<i8", &[3], &values).unwrap();
        assert_eq!(read_integers(&labels).unwrap().data, [3, 7, 0]);

        // Truncated data, wrong type, not a .npy file: errors naming the file.
        write(&images, "|u1", &[6, 2, 2, 3], &data).unwrap();
        let err = read_u8(&images).unwrap_err().to_string();
        assert!(
            err.contains("fog.npy") && err.contains("needs 72 bytes"),
            "{err}"
        );
        let err = read_u8(&labels).unwrap_err().to_string();
        assert!(err.contains("labels.npy") && err.contains("uint8"), "{err}");
        std::fs::write(&images, b"hello").unwrap();
        let err = read_u8(&images).unwrap_err().to_string();
        assert!(err.contains("fog.npy") && err.contains("magic"), "{err}");
    }
}
