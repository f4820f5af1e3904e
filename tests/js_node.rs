//! The JS boundary cases, run in Node by wasm-bindgen-test-runner.
#![cfg(target_arch = "wasm32")]

#[macro_use]
#[allow(dead_code)]
mod common;

js_cases!();
