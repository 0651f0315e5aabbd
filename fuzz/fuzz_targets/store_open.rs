#![no_main]
//! Fuzz target: see `harness::store_open`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| morpheus_fuzz::store_open(data));
