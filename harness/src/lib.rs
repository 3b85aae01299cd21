//! mixbench: a benchmark and reproduction harness for mixed-sample data augmentation (MSDA) in
//! image classification.
//!
//! Data flow of one training step (see `docs/architecture.md` and `docs/training.md`):
//! dataset (u8 in memory) -> batches on the device -> augmentation -> optional saliency pass
//! -> `MixMethod::mix` -> forward, loss, backward, SGD -> per-epoch evaluation -> metrics rows
//! -> reports.
//!
//! What reads results back without libtorch (run records, the metric catalogue, reports,
//! claims, comparisons, the history) is the `mixbench-results` crate, re-exported here as
//! `records`, `metrics`, `catalogue`, `report`, `claims`, `compare` and `history`; the data
//! sets are the `mixbench-data` crate, re-exported as `data`. The modules of this crate form
//! layers that only import downward (checked by `tests/layers.rs`; see
//! `docs/architecture.md`): `system`, `interrupt` < `models`, `methods` < `engine` < `cell` <
//! `evaluations` < `executor` < `suite`, `mix_command` < `cli`.

pub mod cell;
pub mod cli;
pub mod engine;
pub mod evaluations;
pub mod executor;
pub mod interrupt;
pub mod methods;
pub mod mix_command;
pub mod models;
pub mod suite;
pub mod system;

pub use mixbench_data as data;
pub use mixbench_results::{catalogue, claims, compare, history, metrics, records, report};

/// The quickstart suite, compiled in so `mixbench quickstart` needs no files.
pub const QUICKSTART_SUITE: &str = include_str!("../../suites/quickstart.yaml");

/// File name of the quickstart's claims file, as its suite names it (`claims:`).
pub const QUICKSTART_CLAIMS_NAME: &str = "quickstart-claims.yaml";

/// The quickstart's claims (`suites/quickstart-claims.yaml`), compiled in like the suite; the
/// quickstart ends by verifying them on its run.
pub const QUICKSTART_CLAIMS: &str = include_str!("../../suites/quickstart-claims.yaml");
