//! Human-friendly byte sizes for command-line flags: `8MiB`, `512k`, `1.5GB`, `4096`.

pub use morpheus_engine::parse_size;
