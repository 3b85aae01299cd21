//! Core of mixbench's mixing methods: the [`MixMethod`] trait every method implements, the
//! [`Batch`] it receives and the [`Mixed`] result it returns, `key=value` [`Params`] and the
//! typed [`MethodParams`] they are read into (declared with [`method_params!`]; these come
//! from `mixbench-params`, which needs no libtorch), the seeded
//! [`MixRng`] all draws come from, shared tensor helpers and the [`Registry`] type that maps
//! method names to constructors, and the [`graphcut`] solvers of the block-labelling methods.
//!
//! A method only ever sees tensors: the engine owns the model, the optimizer and the optional
//! saliency pass, which a method requests through [`MixMethod::saliency`].

pub mod batch;
mod error;
pub mod graphcut;
pub mod maps;
mod method;
mod registry;
mod rng;
pub mod targets;
pub mod tensors;
pub mod vanilla;

pub use batch::{Batch, MixSite, Mixed};
pub use error::MixError;
pub use method::{
    Composition, MixMethod, ModelMode, ParamGrads, Perturbation, SaliencyLoss, SaliencyRequest,
};
pub use mixbench_params::{
    did_you_mean, method_params, same_value, MethodParams, ParamDoc, ParamError, ParamField,
    Params, ResolvedParams,
};
pub use registry::{MethodInfo, ParamTable, Registry};
pub use rng::{MixRng, RngState};
pub use tensors::NamedTensors;

/// Result type of the mixing API.
pub type Result<T, E = MixError> = std::result::Result<T, E>;

/// Result type of [`MethodParams::validate`] (what a method's `validate` returns).
pub type ParamResult<T> = mixbench_params::Result<T>;
