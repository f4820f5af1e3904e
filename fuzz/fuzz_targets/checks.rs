//! cargo-fuzz target `checks`: the body is harness::checks, shared with tests/fuzz_replay.rs.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::checks(data));
