//! The core suite: the same cases natively (`cargo test`), in Node and in headless Chromium
//! (`wasm-pack test --node`, `wasm-pack test --headless --chrome`).

pub mod sim;

mod corpus;
mod engine;
mod parts;
mod types;
mod urls;
