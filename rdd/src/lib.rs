//! Partitioned, RDD-like collections with lazy lineage, narrow and wide transformations,
//! actions, persistence levels, and dataset IO (CSV, Parquet, Arrow IPC).
//!
//! This crate is filled by the engine/RDD/spill issue; today it defines its error type.

mod error;

pub use error::{Error, Result};
