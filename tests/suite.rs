//! The core suite, natively and in Node (wasm-bindgen-test's default for this binary).

#[macro_use]
#[allow(dead_code)]
mod common;
mod cases;
