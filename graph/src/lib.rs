//! `Graph<V, E>`: loading from the store into CSR partitions, Pregel/BSP, BFS and the
//! algorithm library, each with a sequential twin in `reference`.

pub mod algo;
mod error;
mod graph;
pub mod graphalytics;
mod idmap;
pub mod incremental;
mod pregel;
pub mod reference;
pub mod run;
pub mod source;

pub use error::{Error, Result};
pub use graph::{EdgeRef, Graph, Triplet};
