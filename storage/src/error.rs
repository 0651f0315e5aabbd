//! The storage error type: structured, with the file and position of every failure.

use std::path::PathBuf;

/// Result alias for storage operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the store or an import.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error on a named file.
    #[error("I/O error on {}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Stored bytes failed a check: CRC, header, or an impossible structure.
    #[error("corrupt store: {}: offset {offset}: {reason}", .path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset within it.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// User input (an imported file) is malformed; `line` is 1-based where lines exist.
    #[error("{}{}: {message}", .path.display(), .line.map(|l| format!(":{l}")).unwrap_or_default())]
    InvalidInput {
        /// The input file.
        path: PathBuf,
        /// 1-based line (or row) number, when meaningful.
        line: Option<u64>,
        /// What was wrong.
        message: String,
    },
    /// An option or request is not acceptable (bad shard count, conflicting flags, …).
    #[error("{0}")]
    InvalidArgument(String),
    /// The directory is not a Morpheus store, or a store already exists where one is created.
    #[error("{}: {reason}", .path.display())]
    NotAStore {
        /// The directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Another process holds the store's write lock.
    #[error("store {} is locked by another process", .path.display())]
    Locked {
        /// The store directory.
        path: PathBuf,
    },
    /// A write was attempted on a store opened read-only.
    #[error("store {} is open read-only", .path.display())]
    ReadOnly {
        /// The store directory.
        path: PathBuf,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(
        path: impl Into<PathBuf>,
        offset: u64,
        reason: impl Into<String>,
    ) -> Self {
        Error::Corrupt {
            path: path.into(),
            offset,
            reason: reason.into(),
        }
    }

    pub(crate) fn input(
        path: impl Into<PathBuf>,
        line: Option<u64>,
        message: impl Into<String>,
    ) -> Self {
        Error::InvalidInput {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
}

/// Attaches a path to `std::io::Result`s.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
