//! Link-time set-up shared by every crate of the workspace that links libtorch (the method
//! crates name this file as their build script too):
//!
//! - an rpath to libtorch's `lib/` folder, so binaries, tests and benches find libtorch at run
//!   time without `LD_LIBRARY_PATH`;
//! - `libtorch_cuda.so` linked with `--no-as-needed` when the libtorch has it: as-needed linking
//!   would otherwise drop it (nothing references its symbols directly) and CUDA would silently
//!   stay off on a GPU machine;
//! - the libtorch version and folder recorded for `mixbench doctor`;
//! - for the `mixbench` crate itself, `csrc/fused_sgd.cpp` compiled against libtorch: ATen's
//!   fused SGD kernel, which tch does not bind (see `engine::sgd`).

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rustc-env=MIXBENCH_GIT_COMMIT={}", git_commit());
    let Some(libtorch) = std::env::var_os("LIBTORCH").map(PathBuf::from) else {
        println!("cargo:warning=LIBTORCH is not set: run ci/setup-libtorch.sh, or binaries will need LD_LIBRARY_PATH");
        println!("cargo:rustc-env=MIXBENCH_LIBTORCH_VERSION=unknown");
        println!("cargo:rustc-env=MIXBENCH_LIBTORCH_DIR=unknown");
        return;
    };
    // Resolve links (third_party/libtorch points into a per-user cache) so that the rpath stays
    // valid when the binary is copied out of the checkout.
    let libtorch = libtorch.canonicalize().unwrap_or(libtorch);
    let lib = libtorch.join("lib");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-search=native={}", lib.display());
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
    println!(
        "cargo:rustc-env=MIXBENCH_LIBTORCH_VERSION={}",
        libtorch_version(&libtorch)
    );
    println!(
        "cargo:rustc-env=MIXBENCH_LIBTORCH_DIR={}",
        libtorch.display()
    );
    if std::env::var("CARGO_PKG_NAME").as_deref() == Ok("mixbench") {
        compile_fused_sgd(&libtorch);
    }
}

/// Compiles the fused-SGD binding with the flags tch's own C++ is built with.
fn compile_fused_sgd(libtorch: &Path) {
    let source = "csrc/fused_sgd.cpp";
    println!("cargo:rerun-if-changed={source}");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    let abi = std::env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".into());
    cc::Build::new()
        .cpp(true)
        .file(source)
        .include(libtorch.join("include"))
        .flag("-std=c++17")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .warnings(false)
        .compile("mixbench_fused_sgd");
}

/// The version string of a libtorch folder: `build-version` in a libtorch archive,
/// `version.py` in a PyTorch wheel.
fn libtorch_version(dir: &Path) -> String {
    if let Ok(text) = std::fs::read_to_string(dir.join("build-version")) {
        return text.trim().to_string();
    }
    std::fs::read_to_string(dir.join("version.py"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("__version__ = "))
                .map(|v| v.trim_matches(|c| c == '\'' || c == '"').to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Short hash of HEAD with `-dirty` when the tree has changes, or `unknown` outside git.
/// Asks cargo to rerun when HEAD moves.
fn git_commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        println!("cargo:rerun-if-changed={dir}/index");
    }
    let Some(hash) = git(&["rev-parse", "--short=9", "HEAD"]) else {
        return "unknown".into();
    };
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{hash}-dirty")
    } else {
        hash
    }
}
