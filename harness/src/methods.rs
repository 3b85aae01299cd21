//! The method registry: every mixing method mixbench can run. Adding a method is a crate under
//! `methods/` and one line here; the CLI, suite validation and the shared invariant tests all
//! read this list.

use mixbench_core::Registry;

/// All registered methods, in report order.
pub fn registry() -> Registry {
    Registry::new(vec![
        mixbench_core::vanilla::info(),
        mixbench_mixup::info(),
        mixbench_cutmix::info(),
        mixbench_saliencymix::info(),
        mixbench_sage::info(),
        mixbench_puzzlemix::info(),
        mixbench_comixup::info(),
    ])
}
