use thiserror::Error;

/// A method parameter that is unknown, malformed or out of range.
#[derive(Debug, Error)]
pub enum ParamError {
    /// A parameter name the method does not know.
    #[error("method `{method}` has no parameter `{key}`{hint}; its parameters are: {known}")]
    UnknownParam {
        /// Method being configured.
        method: String,
        /// The offending key.
        key: String,
        /// ", did you mean `x`?" or empty.
        hint: String,
        /// Comma-separated list of known parameters.
        known: String,
    },
    /// A parameter value that does not parse or is out of range.
    #[error("method `{method}`: parameter `{key}` = `{value}` is invalid: {expected}")]
    BadValue {
        /// Method being configured.
        method: String,
        /// Parameter name.
        key: String,
        /// Value as given.
        value: String,
        /// What a valid value looks like.
        expected: String,
    },
    /// A `key=value` item without `=`.
    #[error("parameter `{0}` is not of the form key=value")]
    Syntax(String),
}
