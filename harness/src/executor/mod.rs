//! The executor: one mechanism that runs every unit of work of a run, training cells and
//! evaluations of trained cells alike.
//!
//! A [`Unit`] is one task on one cell folder: "train this cell" or "evaluate this cell with
//! this evaluation". It is small and explicit so that another process can run it from a command
//! line ([`Unit::command_args`]: `mixbench cell DIR`, `mixbench evaluate DIR KIND`); local
//! workers and cluster schedulers plug in here.
//!
//! The rules, the same for both tasks:
//! - **settings**: before a unit runs, its settings are written into the cell folder
//!   (`config.yaml` for training, `<kind>.yaml` for an evaluation); the unit runs from that file
//!   alone;
//! - **markers**: a unit that succeeds leaves its `done` marker last (`done`, `<kind>.done`
//!   holding the settings' hash); one that fails leaves its error in `failed` / `<kind>.failed`;
//! - **what is unfinished** ([`prepare`]): a cell is finished when its `done` marker exists; an
//!   evaluation when its marker holds the hash of the current settings. Unfinished units are
//!   cleared of stale state (an unfinished cell folder is emptied; an evaluation's old markers
//!   removed) and rerun;
//! - **isolation** ([`crate::cell::Isolation`]): each unit in a child process (default: GPU memory is freed
//!   between units and a crash costs one unit) or all in this process.
//! - **claims** ([`claim`]): whoever runs a unit holds its claim file, so any number of
//!   processes, local ([`pool`], `--jobs`) or Slurm tasks ([`slurm`]), share one run folder;
//! - **resume**: a stopped cell keeps its resume checkpoint and carries on from it;
//! - **status** ([`status`]): where each unit stands, read from the folder alone.

pub mod claim;
pub mod pool;
pub mod slurm;
pub mod status;
pub mod unit;

pub use pool::{run_units, RunOutcome, Workers};
pub use unit::{execute_with, prepare, Task, Unit};
