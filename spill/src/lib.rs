//! Per-worker BlockManager: partitions held under a memory budget, least recently used
//! unpinned blocks spilled to checksummed files and read back on use.
//!
//! This crate is filled by the engine/RDD/spill issue; today it defines its error type.

mod error;

pub use error::{Error, Result};
