//! What mixbench runs leave in their folders and everything that reads them back, without
//! libtorch: the files a cell writes ([`records`]), the vocabulary of values and metric
//! declarations ([`metrics`]) and the catalogue every number is declared in ([`catalogue`]), the evaluations' result files and their long-format values
//! ([`evaluations`]), the report with its tables and charts ([`report`]), claims and their
//! statistics ([`claims`]), comparisons with a baseline ([`compare`]) and the run history
//! ([`history`]).
//!
//! The `mixbench` crate (training, models, evaluations' computations) depends on this one,
//! never the other way round, so Cargo enforces that reading results needs no libtorch and
//! `cargo test -p mixbench-results` runs on a machine without it. Modules import only
//! downward (checked by the `mixbench` crate's `tests/layers.rs`): `records`, `metrics` <
//! `report` < `evaluations` < `catalogue` < `claims` < `history` < `compare`.

pub mod catalogue;
pub mod claims;
pub mod compare;
pub mod evaluations;
pub mod history;
pub mod metrics;
pub mod records;
pub mod report;
