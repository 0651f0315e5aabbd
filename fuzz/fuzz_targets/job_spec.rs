#![no_main]
//! Fuzz target: see `harness::job_spec`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| morpheus_fuzz::job_spec(data));
