//! Integration tests of the store: model-based workloads, crash recovery, corruption
//! detection, compaction crash states and the importers.

#![allow(clippy::unwrap_used)] // test helpers panic on failure by design

mod integration {
    mod checkpoint;
    pub mod common;
    mod compaction;
    mod corruption;
    mod import;
    mod model;
    mod recovery;
    mod segments;
}
