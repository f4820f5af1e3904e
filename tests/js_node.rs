//! The JS boundary cases, run in Node by wasm-bindgen-test-runner.
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod common;

js_cases!();
