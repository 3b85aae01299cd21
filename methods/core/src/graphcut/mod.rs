//! Graph cuts shared by the methods that label a block grid (Puzzle Mix, Co-Mixup): exact
//! binary minimisation by max-flow and GCO's multi-label alpha-beta swap on 4-connected grids.
//! Plain Rust on integer energies, allocation-free after warm-up, one solver per thread.

pub mod maxflow;
pub mod swap;

pub use maxflow::{BinaryEnergy, FlowGraph};
pub use swap::{exhaustive_minimum, GridEnergy, SwapSolver};
