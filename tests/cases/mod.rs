//! The core suite: the same cases natively (`cargo test`), in Node and in headless Chromium
//! (`wasm-pack test --node`, `wasm-pack test --headless --chrome`).

pub mod sim;

mod archive;
mod corpus;
mod engine;
mod filenames;
mod metadata;
mod parts;
mod replies;
mod types;
mod versions;
mod urls;
