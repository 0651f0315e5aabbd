//! `Graph<V, E>`: loading from the store into CSR partitions, Pregel/BSP, BFS and the
//! algorithm library, each with a sequential twin in `reference`.
//!
//! This crate is filled by the graph issue; today it defines its error type.

mod error;

pub use error::{Error, Result};
