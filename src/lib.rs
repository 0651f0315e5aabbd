//! Morpheus: batch graph analytics over a segmented, log-structured graph store.
//!
//! This crate is the `morpheus` command line and a facade over the workspace: import
//! [`prelude`] to get the store, import and generator APIs in one line. See
//! `ARCHITECTURE.md` for the crate map and data path.

pub mod jobs;
pub mod size;
pub mod text;

// The README's code runs as a doctest, so it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The types most programs need.
pub mod prelude {
    pub use morpheus_storage::generate::{GenerateOptions, GraphKind};
    pub use morpheus_storage::import::{
        import, Format, ImportOptions, ImportReport, NoProgress, Progress,
    };
    pub use morpheus_storage::{
        verify, CompactOptions, Edge, Store, StoreOptions, StoreStats, Value, ValueType, Vertex,
        WriteBatch,
    };
}
