//! Job specs (TOML), the expression language, the runner, scheduler, job server and history.
//!
//! This crate is filled by the jobs issue; today it defines its error type.

mod error;

pub use error::{Error, Result};
