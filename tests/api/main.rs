//! The integration suite: one binary, the real app on loopback, signed
//! callbacks, a fixed clock. Every scenario runs on SQLite, and on PostgreSQL
//! when `LIANCUN_TEST_PG` names a server (`.ci/run` sets it).

mod support;

mod admin_api;
mod audit;
mod binding;
mod commands;
mod concurrency;
mod control_chars;
mod demo;
mod duties;
mod faults;
mod fleet;
mod operations;
mod outbox;
mod push_wecom;
mod ranking;
mod replicas;
mod scheduler;
mod stream_dingtalk;
mod webhook_dingtalk;
mod webhook_wecom;
mod writer_panic;
