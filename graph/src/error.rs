//! Error type of the graph crate.

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the graph layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An option or argument is not acceptable.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// An operating-system I/O error on a named file.
    #[error("I/O error on {}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line of an input file is malformed.
    #[error("{}:{line}: {message}", .path.display())]
    Parse {
        /// The input file.
        path: std::path::PathBuf,
        /// 1-based line number.
        line: u64,
        /// What was wrong.
        message: String,
    },
}
