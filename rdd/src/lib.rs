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
//! Actions take the worker's [`Context`](morpheus_engine::Context) and are collective:
//! every worker calls them in the same order and gets the same answer.
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

mod io;
mod node;
mod pair;
mod rdd;
mod shuffle;

pub use morpheus_engine::{Error, Result};
pub use rdd::{Item, Key, Rdd};
