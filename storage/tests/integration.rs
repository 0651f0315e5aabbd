//! Integration tests of the store: model-based workloads, crash recovery, corruption
//! detection, compaction crash states and the importers.

mod integration {
    pub mod common;
    mod compaction;
    mod corruption;
    mod import;
    mod model;
    mod recovery;
}
