//! cargo-fuzz target `preview`: the body is harness::preview, shared with tests/fuzz_replay.rs.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::preview(data));
