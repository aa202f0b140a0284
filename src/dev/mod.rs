//! Tooling beside the product: the demo, the bench harness and the fake DingTalk
//! and WeCom servers the tests, the demo and the benches talk to. Nothing in the
//! product modules depends on this folder at run time (the platform senders'
//! unit tests use the fakes).
//!
//! The bench data set's SQL stays in `store::generate` (all SQL lives in `store/`).

pub mod bench;
mod client;
pub mod day;
pub mod demo;
pub mod fake;
