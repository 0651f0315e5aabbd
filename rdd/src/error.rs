//! Error type of the rdd crate.

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the rdd layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An option or argument is not acceptable.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}
