//! cargo-fuzz target `simple`: the body is harness::simple_index, shared with tests/fuzz_replay.rs.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::simple_index(data));
