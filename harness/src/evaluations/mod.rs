//! Evaluations of trained cells, the keys of a suite's `evaluations:` section: each kind is an
//! [`Evaluation`] with a strict settings type, and [`registry`] lists them. The suite loader,
//! the `evaluate` command, the executor's resume markers and the report all read that list, so
//! adding an evaluation is one module and one line in [`registry`] (see
//! `docs/architecture.md`, *Adding an evaluation*).
//!
//! An evaluation of a cell leaves, in the cell's folder, `<name>.yaml` (the settings it ran
//! with, canonical YAML), its result files and, last, `<name>.done` holding the hash of those
//! settings ([`crate::executor`] writes the settings and markers and decides what is
//! unfinished). At report time each kind gathers its cells' files into run-level files, plots
//! and a section of `report.md` ([`crate::report::SectionSource`]), and says which of their
//! numbers comparisons and the history read ([`values`], [`read_values`]).

pub mod background;
pub mod calibration;
pub mod corruptions;
pub mod fewshot;
pub mod kind;
pub mod occlusion;
pub mod robustness;
pub mod runtime;

use anyhow::Result;

pub use kind::{Evaluation, EvaluationKind, SettingError};
pub use mixbench_results::evaluations::{
    collect, read_values, report_sections, values, EvaluationResults,
};

/// Every evaluation mixbench can run, in the order they run and appear in reports. Adding an
/// evaluation is a module under `evaluations/` and one line here.
pub fn registry() -> &'static [&'static dyn EvaluationKind] {
    &[
        &robustness::Robustness,
        &corruptions::Corruptions,
        &fewshot::FewShot,
        &background::Background,
        &calibration::Calibration,
        &runtime::Runtime,
        &occlusion::Occlusion,
    ]
}

/// The registered evaluation called `name`, or an error listing the registered names with the
/// closest one.
pub fn find(name: &str) -> Result<&'static dyn EvaluationKind> {
    registry()
        .iter()
        .copied()
        .find(|e| e.name() == name)
        .ok_or_else(|| {
            let names = registry().iter().map(|e| e.name());
            anyhow::anyhow!(
                "unknown evaluation `{name}`{}; evaluations: {}",
                mixbench_core::did_you_mean(name, names.clone()),
                names.collect::<Vec<_>>().join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every evaluation this crate runs names its results in the libtorch-free crate, in the
    /// same order as that crate's registry (which reports, claims, compare and the history
    /// read), and each declares the metrics of its values.
    #[test]
    fn the_evaluations_and_their_results_are_one_list() {
        let run: Vec<&str> = registry().iter().map(|e| e.name()).collect();
        let read: Vec<&str> = mixbench_results::evaluations::registry()
            .iter()
            .map(|e| e.name())
            .collect();
        assert_eq!(run, read);
        for kind in registry() {
            assert_eq!(kind.results().name(), kind.name());
            assert!(!kind.results().metrics().is_empty(), "{}", kind.name());
        }
    }
}
