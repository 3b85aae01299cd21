use thiserror::Error;

/// Everything that can go wrong when a method is built or applied.
#[derive(Debug, Error)]
pub enum MixError {
    /// A parameter that is unknown, malformed or out of range.
    #[error(transparent)]
    Param(#[from] mixbench_params::ParamError),
    /// A method name not in the registry.
    #[error("unknown method `{name}`{hint}; registered methods: {known}")]
    UnknownMethod {
        /// The name asked for.
        name: String,
        /// ", did you mean `x`?" or empty.
        hint: String,
        /// Comma-separated list of registered names.
        known: String,
    },
    /// An input the method needs (such as the input gradient) is absent from the batch.
    #[error("method `{method}` needs `{input}` in the batch: {why}")]
    MissingInput {
        /// Method being applied.
        method: String,
        /// Name of the missing tensor.
        input: String,
        /// Why it is needed.
        why: String,
    },
    /// Tensor shapes or dtypes that do not fit together.
    #[error("bad batch: {0}")]
    Shape(String),
    /// An error from libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}
