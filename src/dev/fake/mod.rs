//! Fake platform servers on loopback: the integration tests and `liancun demo`
//! talk to these instead of DingTalk and WeCom, which are out of reach here.
//! They check credentials and signatures and enforce the rate limits the way
//! the real ones do.

mod common;
pub mod dingtalk;
pub mod wecom;
