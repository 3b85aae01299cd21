//! Facts about this build and machine that results must carry: code version, libtorch
//! version, device description.

use tch::Device;

/// mixbench's version and the git commit it was built from, e.g. `0.1.0+3f2a9c1`.
pub fn code_version() -> String {
    format!(
        "{}+{}",
        env!("CARGO_PKG_VERSION"),
        env!("MIXBENCH_GIT_COMMIT")
    )
}

/// The libtorch version the binary was built against.
pub fn libtorch_version() -> &'static str {
    env!("MIXBENCH_LIBTORCH_VERSION")
}

/// The libtorch folder the binary was built against (its rpath).
pub fn libtorch_dir() -> &'static str {
    env!("MIXBENCH_LIBTORCH_DIR")
}

/// Names of the CUDA devices, from `nvidia-smi` (libtorch's C API does not expose them);
/// empty when it is unavailable.
pub fn cuda_device_names() -> Vec<String> {
    std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=name", "--format=csv,noheader"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// `cpu (N threads)` or `cuda:I <name>`.
pub fn device_description(device: Device) -> String {
    match device {
        Device::Cuda(i) => {
            let name = cuda_device_names()
                .get(i)
                .cloned()
                .unwrap_or_else(|| "unknown GPU".into());
            format!("cuda:{i} {name}")
        }
        _ => format!("cpu ({} threads)", tch::get_num_threads()),
    }
}
