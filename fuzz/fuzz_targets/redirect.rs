//! cargo-fuzz target `redirect`: the body is harness::redirect, shared with tests/fuzz_replay.rs.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::redirect(data));
