#![no_main]
//! Fuzz target: see `harness::server_request`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| morpheus_fuzz::server_request(data));
