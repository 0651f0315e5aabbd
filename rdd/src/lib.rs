//! Partitioned, RDD-like collections with lazy lineage, run on the engine's workers.
//!
//! An [`Rdd<T>`] is a handle to a lineage node with a number of partitions; partition `p`
//! lives on worker `p % peers`. Transformations build nodes and do no work. Narrow ones
//! (`map`, `filter`, `flat_map`, …) are fused: computing a partition runs the whole chain on
//! it. Wide ones (`reduce_by_key`, `group_by_key`, `join`, `distinct`, `sort_by_key`,
//! `repartition`) are stages: at the first action that needs them, every worker combines its
//! records map-side, sends them through one timely exchange by key hash (or key range), and
//! aggregates what it receives — spilling sorted runs to disk through its
//! [`BlockManager`](morpheus_spill::BlockManager) when the state passes its share of the
//! budget, then merging them. Stage outputs are kept as blocks, so they spill too.
//!
//! `cartesian` pairs every element of two collections: it counts both first and fails when
//! the product passes a given limit, then broadcasts the smaller side to every worker.
//!
//! Actions take the worker's [`Context`](morpheus_engine::Context) and are collective:
//! every worker calls them in the same order and gets the same answer.
//!
//! **Sources and sinks.** Text files (`text_file`, `save_as_text_file`), and tabular
//! datasets as dynamically typed rows ([`dataset::Row`] of [`dataset::Value`]s with a
//! [`dataset::Schema`]) or serde-typed records: `read_csv` (`csv-core`; line-aligned
//! byte ranges; schema given or inferred), `read_parquet` (row groups are the partitions)
//! and `read_ipc` (Arrow IPC files; record batches are the partitions), each on a file or
//! a directory of part files; `read_csv_as`, `rows_as` and `to_rows` convert to and from
//! serde records by column name. `save_as_csv`, `save_as_parquet` (Snappy or Zstandard)
//! and `save_as_ipc` write one `part-NNNNN` file per partition. Columnar work uses
//! [`Rdd<Batch>`](Batch) (Arrow record batches with the schema's column types):
//! `read_parquet_batches`, `read_ipc_batches`, `to_batches` and `rows` convert,
//! `save_batches_as_parquet` and `save_batches_as_ipc` write without building rows. Every `save_as_*` writes
//! into a temporary directory, fsyncs, and renames it into place only when every worker has
//! succeeded, so a failed job leaves no output.
//!
//! ```
//! use morpheus_engine::{execute, Config};
//! use morpheus_rdd::Rdd;
//! let (counts, _) = execute(Config::threads(2), |ctx| {
//!     let words = Rdd::parallelize(ctx, vec!["a", "b", "a", "c", "a"].into_iter().map(String::from).collect(), 4);
//!     let mut counts = words.map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b).collect(ctx)?;
//!     counts.sort();
//!     Ok(counts)
//! })?;
//! assert_eq!(counts[0], vec![("a".to_string(), 3), ("b".to_string(), 1), ("c".to_string(), 1)]);
//! # Ok::<(), morpheus_engine::Error>(())
//! ```

pub mod batch;
mod cartesian;
pub mod dataset;
mod io;
mod node;
mod pair;
mod rdd;
mod shuffle;
mod tabular;

pub use batch::Batch;
pub use dataset::{CsvOptions, DataType, Field, ParquetCompression, Row, Schema, Value};
pub use morpheus_engine::{Error, Result};
pub use rdd::{Item, Key, Rdd};
pub use tabular::{csv_schema, input_files, ipc_schema, parquet_schema};
