//! cargo-fuzz target `metadata`: the body is harness::metadata, shared with tests/fuzz_replay.rs.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::metadata(data));
