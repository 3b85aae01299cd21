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

/// Peak memory of this process on `device`, in bytes, and what the figure is: on the CPU the
/// peak resident set (`VmHWM` of `/proc/self/status`); on CUDA the device memory this process
/// holds as `nvidia-smi` reports it, which includes libtorch's caching allocator's reserve and
/// therefore its high-water mark (the cache is never emptied during a run). `None` when the
/// figure cannot be read.
pub fn peak_memory(device: Device) -> Option<(u64, &'static str)> {
    match device {
        Device::Cuda(_) => cuda_process_memory().map(|b| (b, "cuda reserved (nvidia-smi)")),
        _ => peak_rss().map(|b| (b, "cpu peak RSS")),
    }
}

/// `VmHWM` of this process, in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Device memory used by this process according to `nvidia-smi`, in bytes.
fn cuda_process_memory() -> Option<u64> {
    let output = std::process::Command::new("nvidia-smi")
        .args([
            "--query-compute-apps=pid,used_memory",
            "--format=csv,noheader,nounits",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let pid = std::process::id().to_string();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| {
            let (p, mib) = line.split_once(',')?;
            (p.trim() == pid)
                .then(|| mib.trim().parse::<u64>().ok())
                .flatten()
                .map(|m| m * 1024 * 1024)
        })
}
