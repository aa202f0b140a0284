//! The integration suite: one binary, the real app on loopback, signed
//! callbacks, a fixed clock. Every scenario runs on SQLite, and on PostgreSQL
//! when `LIANCUN_TEST_PG` names a server (`.ci/run` sets it).

mod support;

mod admin_api;
mod attacks;
mod audit;
mod binding;
mod commands;
mod demo;
mod duties;
mod faults;
mod operations;
mod outbox;
mod push_wecom;
mod ranking;
mod replicas;
mod scheduler;
mod stream_dingtalk;
mod webhook_dingtalk;
mod webhook_wecom;
