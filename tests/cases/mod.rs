//! The core suite: the same cases natively (`cargo test`), in Node and in headless Chromium
//! (`wasm-pack test --node`, `wasm-pack test --headless --chrome`).

pub mod sim;

mod archive;
mod check_classifiers;
mod check_requirements;
mod check_rst;
mod check_tokens;
mod checks;
mod corpus;
mod engine;
mod filenames;
mod metadata;
mod parts;
mod preview;
mod readmes;
mod replies;
mod types;
mod urls;
mod versions;
