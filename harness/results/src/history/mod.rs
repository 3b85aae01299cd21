//! Run history in SQLite, for nightly regression reports: `mixbench history add | list |
//! export | steps`.
//!
//! `add` reads a run folder's run-level files ([`run_folder`]: provenance, `summary.csv` and
//! the evaluations' CSV files) into long-format rows ([`crate::report::values::MetricRow`], the
//! vocabulary `mixbench compare` judges too) and stores them in one transaction ([`store`]) in a database whose tables and version live in
//! [`schema`] (WAL journal and a busy timeout, so parallel writers take turns and a killed one
//! leaves nothing behind). `export` reads a metric's series ([`series`]: per run, the mean over
//! seeds per dataset, model, method and condition) as CSV or JSON ([`export`]); `steps` fits
//! each series with levels and steps ([`steps`], a pure function) and names the runs where a
//! metric moved ([`step_report`]). [`command`] holds the subcommands' arguments.
//!
//! Like [`crate::claims`], this module reads only the files a report writes, so it sits above
//! the evaluations (whose values it stores) and needs no cell folder.

pub mod command;
pub mod export;
pub mod page;
pub mod run_folder;
pub mod schema;
pub mod series;
pub mod step_report;
pub mod steps;
pub mod store;

pub use command::HistoryCommand;
