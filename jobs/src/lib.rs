//! Job specs (TOML), the expression language, the runner, scheduler, job server and history.
//!
//! - [`spec`]: parsing and validating job specs, every error located before work starts.
//! - [`expr`]: the S-expression language of filters and derived columns.
//! - [`runner`]: running a spec on timely workers (graph steps, RDD steps over rows or
//!   Arrow record batches, outputs written under temporary names and renamed).
//! - [`server`]: the HTTP job server, its SQLite history and the cron scheduler.

mod columnar;
mod error;
pub mod expr;
pub mod jsonl;
pub mod runner;
pub mod server;
pub mod spec;

pub use error::{clip, clip_to, Error, Result, CLIP_BYTES};
pub use runner::{run, RunOptions, RunReport};
pub use spec::{IncrementalGraph, LoadOptions, Spec, SpecError};
