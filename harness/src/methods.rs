//! The method registry: every mixing method mixbench can run. Adding a method is a crate under
//! `methods/` and one line here; the CLI, suite validation and the shared invariant tests all
//! read this list.

use std::fmt::Write;

use mixbench_core::Registry;

/// All registered methods, in report order.
pub fn registry() -> Registry {
    Registry::new(vec![
        mixbench_core::vanilla::info(),
        mixbench_mixup::info(),
        mixbench_manifold::info(),
        mixbench_cutmix::info(),
        mixbench_saliencymix::info(),
        mixbench_sage::info(),
        mixbench_puzzlemix::info(),
        mixbench_comixup::info(),
    ])
}

/// The text of `mixbench methods`: per method a line `name  summary`, then one indented line
/// `key=default  doc` per parameter, defaults rendered from the method's typed parameters (so
/// the listing cannot drift from what the method runs with).
pub fn describe(registry: &Registry) -> String {
    let mut out = String::new();
    for info in registry.methods() {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{:<12} {}", info.name, info.summary);
        for p in info.params {
            let _ = writeln!(
                out,
                "    {:<26} {}",
                format!("{}={}", p.name, p.default),
                p.doc
            );
        }
    }
    out
}
