//! Error type of the jobs crate.

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the jobs layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An option or argument is not acceptable.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

pub use morpheus_engine::{clip, clip_to, CLIP_BYTES};
