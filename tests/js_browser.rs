//! The JS boundary cases, run in headless Chromium by wasm-bindgen-test-runner.
#![cfg(target_arch = "wasm32")]

#[macro_use]
#[allow(dead_code)]
mod common;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

js_cases!();
