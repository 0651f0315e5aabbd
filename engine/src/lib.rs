//! The timely dataflow runtime wrapper: worker configuration (threads, processes, hostfile),
//! the per-worker context, partitioning, shuffles, the first-error slot and job metrics.
//!
//! This crate is filled by the engine/RDD/spill issue; today it defines its error type.

mod error;

pub use error::{Error, Result};
