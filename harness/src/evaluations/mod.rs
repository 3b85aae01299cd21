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
pub mod fewshot;
pub mod kind;
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
        &fewshot::FewShot,
        &background::Background,
        &runtime::Runtime,
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
