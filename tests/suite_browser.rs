//! The core suite in a browser: the same cases as `suite.rs`, configured for headless Chromium.
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[macro_use]
#[allow(dead_code)]
mod common;
mod cases;
