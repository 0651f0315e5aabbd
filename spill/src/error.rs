//! Error type of the spill layer.

use std::path::PathBuf;

use crate::manager::BlockId;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of the block manager and spill stores.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A block cannot be held: it is larger than the whole budget, or everything else in
    /// memory is pinned.
    #[error(
        "memory budget exhausted: block {block} needs {wanted_bytes} B, {free_bytes} B free of a {budget_bytes} B budget{}",
        if *.all_pinned { " (every other block is in use)" } else { " (raise --memory-budget)" }
    )]
    BudgetExhausted {
        /// The block being stored or read back.
        block: BlockId,
        /// Its size.
        wanted_bytes: usize,
        /// Bytes still free after evicting everything evictable.
        free_bytes: usize,
        /// The budget.
        budget_bytes: usize,
        /// Whether the remaining memory is held by pinned blocks.
        all_pinned: bool,
    },
    /// Spill I/O failed (disk full, permissions, …).
    #[error("spill I/O on {}: {source}", .path.display())]
    Io {
        /// The spill file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A spill file failed its checksum or framing on read-back.
    #[error("spill file {} is unreadable: {reason}", .path.display())]
    Corrupt {
        /// The spill file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Encoding or decoding a block failed.
    #[error("cannot encode or decode block {block}: {reason}")]
    Codec {
        /// The block.
        block: BlockId,
        /// Why.
        reason: String,
    },
    /// A block was read back as another type than it was stored with (a caller bug).
    #[error("block {block} holds another element type than requested")]
    TypeMismatch {
        /// The block.
        block: BlockId,
    },
}
