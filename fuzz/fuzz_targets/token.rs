//! cargo-fuzz target `token`: the body is harness::token, shared with tests/fuzz_replay.rs.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::token(data));
