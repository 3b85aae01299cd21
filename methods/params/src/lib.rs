//! The vocabulary of mixbench's method parameters, without libtorch: the `key=value` and
//! YAML transport form [`Params`], the typed struct of each method ([`MethodParams`], declared
//! with [`method_params!`]) that is the single source of its names, defaults and docs, and the
//! canonical [`ResolvedParams`] (every default filled in) that run records carry and compare.
//! `mixbench-core` re-exports all of it for the method crates; the results crates (claims,
//! reports) use it directly.

mod error;
mod params;
mod suggest;

pub use error::ParamError;
pub use params::{same_value, MethodParams, ParamDoc, ParamField, Params, ResolvedParams};
pub use suggest::did_you_mean;

/// Result type of parameter parsing and validation.
pub type Result<T, E = ParamError> = std::result::Result<T, E>;
