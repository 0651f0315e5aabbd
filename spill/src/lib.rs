//! Per-worker block storage under a memory budget.
//!
//! A [`BlockManager`] holds the partitions ("blocks") a worker keeps between actions. It
//! accounts their bytes against a budget; when a new block does not fit, the least recently
//! used *unpinned* blocks make room: [`StorageLevel::MemoryAndDisk`] blocks are written to
//! a CRC-checked spill file and read back on the next access, [`StorageLevel::MemoryOnly`]
//! blocks are dropped (the caller recomputes them from lineage). A block is pinned while a
//! [`Pinned`] handle to it lives, and pinned blocks are never evicted. Spill files go
//! through a [`SpillStore`] (files in a private directory that is removed on drop, or a
//! failing store for fault tests).
//!
//! ```
//! use morpheus_spill::{BlockId, BlockManager, StorageLevel};
//! let dir = tempfile::tempdir()?;
//! let bm = BlockManager::with_spill_dir(64 << 10, dir.path())?;
//! for p in 0..8 {
//!     bm.put(BlockId::new(1, p), vec![p as u64; 2000], StorageLevel::MemoryAndDisk)?;
//! }
//! // 8 × 16 KB do not fit in 64 KiB: the oldest blocks were spilled, and come back on use.
//! assert!(bm.metrics().spilled_bytes > 0);
//! let block = bm.get::<u64>(BlockId::new(1, 0))?.expect("spilled, not lost");
//! assert_eq!(block.len(), 2000);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod codec;
mod error;
mod manager;
mod store;

pub use codec::Spillable;
pub use error::{Error, Result};
pub use manager::{BlockId, BlockManager, Pinned, SpillMetrics, StorageLevel};
pub use store::{FailingSpillStore, FileSpillStore, SpillHandle, SpillStore};
