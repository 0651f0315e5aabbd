//! Fuzz targets for Morpheus (outside the default build; see `fuzz/README.md`).

mod harness;

pub use harness::{import_parsers, job_spec, server_request, store_open};
