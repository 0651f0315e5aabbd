#![no_main]
//! Fuzz target: see `harness::import_parsers`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| morpheus_fuzz::import_parsers(data));
