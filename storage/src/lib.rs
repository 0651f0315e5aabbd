//! Morpheus's graph store: a segmented, log-structured store of versioned cells.
//!
//! A store is a directory holding a manifest (`MANIFEST.json`), a commit log (`COMMITS`) and
//! one directory per shard with append-only segment files. Vertices are placed in shards by
//! a fixed hash of their id ([`shard_of`]); each shard can be opened, scanned and compacted
//! on its own, which is how workers load a graph in parallel.
//!
//! - Records ([`record`]) carry kind, cell id, version, LSN, payload length and a CRC32.
//! - Cells ([`cell`]): vertices with label and typed properties; edge blocks of up to
//!   ~1 MiB of one source's out-edges, chained; tombstones. The highest version wins.
//! - Writes are [`WriteBatch`]es committed atomically across shards with fsync; on open,
//!   everything after the last commit is discarded and a torn tail truncated, while a CRC
//!   failure inside committed data is reported as corruption with file and offset.
//! - Each shard's segment list (`SEGMENTS`, CRC'd) names every segment but the active one
//!   with its committed length, and the commit log gives the active one's: a segment that
//!   is missing, shorter or longer is corruption for `open` (read-only too) and [`verify`].
//!   The manifest carries a checksum.
//! - Each shard's index is restored on open from an index checkpoint where one is usable
//!   (written after large commits, or by [`Store::checkpoint`]), and rebuilt by scanning the
//!   records the checkpoint does not cover.
//! - The cleaner ([`Store::compact`]) rewrites segments with many dead bytes, in parallel
//!   and crash-safe at every step; [`verify`] lists every problem in a store.
//! - Every record has an LSN: [`Store::changes_since`] lists the cells changed after one,
//!   and the edge log ([`edgelog`], [`Store::edge_changes_since`]) the edge and vertex
//!   operations of each transaction.
//! - [`import`] reads edge lists, CSV, LDBC Graphalytics and Parquet inputs; [`generate`]
//!   writes deterministic RMAT and uniform graphs.
//!
//! ```
//! use morpheus_storage::{Store, StoreOptions, WriteBatch};
//! let dir = tempfile::tempdir()?;
//! let mut store = Store::create(dir.path().join("g"), &StoreOptions::default())?;
//! let mut batch = WriteBatch::new();
//! batch.add_edge(1, 2, 1.0);
//! batch.add_edge(1, 3, 0.5);
//! store.commit(batch)?;
//! assert_eq!(store.stats().vertices, 3);
//! assert_eq!(store.out_edges(1)?.iter().map(|e| e.dst).collect::<Vec<_>>(), [2, 3]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cell;
mod checkpoint;
mod codec;
pub mod commit;
mod compact;
pub mod edgelog;
mod error;
pub mod generate;
pub mod hash;
pub mod import;
mod layout;
pub mod manifest;
mod radix;
mod raw;
pub mod record;
mod replace;
mod seglist;
pub mod segment;
mod shard;
mod store;
mod verify;

pub use cell::{Value, ValueType};
pub use codec::DecodeError;
pub use compact::{CompactOptions, CompactReport};
pub use error::{Error, Result};
pub use manifest::{Manifest, PropertyDef, Schema};
pub use shard::shard_of;
pub use store::{
    disk_usage, Change, CommitInfo, Edge, ShardStats, Store, StoreOptions, StoreStats, Vertex,
    WriteBatch, DEFAULT_SEGMENT_BYTES, DEFAULT_SHARDS,
};
pub use verify::{verify, Problem, VerifyReport};
