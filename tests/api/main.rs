//! The integration suite: one binary, the real app on loopback, signed
//! callbacks, a fixed clock. Every scenario runs on SQLite, and on PostgreSQL
//! when `LIANCUN_TEST_PG` names a server (`.ci/run` sets it).

mod support;

mod admin_api;
mod attacks;
mod attacks_limits;
mod audit;
mod binding;
mod claims;
mod commands;
mod concurrency;
mod control_chars;
mod day;
mod demo;
mod duties;
mod faults;
mod fleet;
mod hear_back;
mod holidays;
mod layers;
mod operations;
mod outbox;
mod push_wecom;
mod ranking;
mod rating_week;
mod reads;
mod replicas;
mod round_trips;
mod scheduler;
mod stream_dingtalk;
mod tasks_carryover;
mod webhook_dingtalk;
mod webhook_wecom;
mod writer_panic;
