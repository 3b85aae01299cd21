//! Named tensors, as a safetensors file holds them: the batch files of `mixbench mix` and the
//! parity fixtures of the method crates.

use std::path::Path;

use tch::Tensor;

use crate::{MixError, Result};

/// The tensors of one safetensors file, looked up by name.
pub struct NamedTensors {
    source: String,
    tensors: Vec<(String, Tensor)>,
}

impl NamedTensors {
    /// Reads every tensor of `path`; the error names the file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let source = path.display().to_string();
        let tensors = Tensor::read_safetensors(path).map_err(|e| {
            MixError::Shape(format!("{source}: not a readable safetensors file: {e}"))
        })?;
        Ok(NamedTensors { source, tensors })
    }

    /// Whether a tensor called `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.tensors.iter().any(|(n, _)| n == name)
    }

    /// The tensor called `name`, if present (a shallow clone sharing its storage).
    pub fn get(&self, name: &str) -> Option<Tensor> {
        self.tensors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.shallow_clone())
    }

    /// The tensor called `name`; the error names the file, the tensor and what it should be.
    pub fn require(&self, name: &str, what: &str) -> Result<Tensor> {
        self.get(name)
            .ok_or_else(|| MixError::Shape(format!("{}: no `{name}` tensor ({what})", self.source)))
    }

    /// The file the tensors came from, for messages.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// The largest absolute difference of `a` and `b` relative to the largest magnitude of `b`
/// (0 when both are all zeros): how parity checks compare floating-point results that agree
/// to rounding. libtorch picks its vectorised kernels by processor (AVX2, AVX-512, ...), so
/// reductions over the same inputs round differently on different processors, and an exact
/// comparison with a fixture made elsewhere holds only on a processor like the fixture's.
pub fn max_relative_diff(a: &Tensor, b: &Tensor) -> f64 {
    let scale = b.abs().max().double_value(&[]);
    let diff = (a - b).abs().max().double_value(&[]);
    if scale > 0.0 {
        diff / scale
    } else {
        diff
    }
}
