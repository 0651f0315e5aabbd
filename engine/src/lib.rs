//! The timely dataflow runtime of Morpheus.
//!
//! [`execute`] starts the workers — threads in this process, or processes on several hosts
//! ([`Config`]) — and runs the same closure on each (SPMD). Each worker gets a [`Context`]:
//! its index, a [`BlockManager`] holding its share of the
//! memory budget, job metrics, and collective operations such as [`Context::exchange`] (an
//! all-to-all shuffle of dense batches through a timely exchange). Every worker must call
//! collective operations in the same order, as timely requires.
//!
//! Failures never hang or abort the caller: an error or panic in any worker is recorded in a
//! first-error-wins slot, the other workers stop at their next collective step, and
//! [`execute`] returns the root cause naming the worker.
//!
//! ```
//! use morpheus_engine::{execute, Config};
//! let (sums, _metrics) = execute(Config::threads(2), |ctx| {
//!     // Each worker sends the number i to worker i % peers; then sums what it received.
//!     let mut out = vec![Vec::new(); ctx.peers()];
//!     for i in 0..100u64 {
//!         out[(i % ctx.peers() as u64) as usize].push(i);
//!     }
//!     Ok(ctx.exchange("demo", out)?.into_iter().sum::<u64>())
//! })?;
//! assert_eq!(sums.iter().sum::<u64>(), 2 * (0..100).sum::<u64>());
//! # Ok::<(), morpheus_engine::Error>(())
//! ```

mod cluster;
mod config;
mod context;
mod error;
mod malloc;
mod metrics;
mod size;
mod text;

pub use config::Config;
pub use context::{execute, Context, Reservation, Sender};
pub use error::{Error, Result};
pub use metrics::{JobMetrics, StageMetrics};
pub use morpheus_spill::{
    BlockId, BlockManager, Error as BlockManagerError, Spillable, StorageLevel,
};
pub use size::{parse_duration, parse_size};
pub use text::{clip, clip_to, CLIP_BYTES};
/// Data that may cross workers (and processes): serde-serialisable, cloneable, `Send`,
/// `'static`. Blanket-implemented.
pub trait Data: timely::ExchangeData + Clone {}
impl<T: timely::ExchangeData + Clone> Data for T {}
