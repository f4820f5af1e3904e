//! cargo-fuzz target `archive`: the body is harness::archive, shared with tests/fuzz_replay.rs.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::archive(data));
