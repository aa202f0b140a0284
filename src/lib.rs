//! 联村助手 (liancun): the weekly rhythm of village service teams, run by chat.
//!
//! Layout: `http` and `platform` are transport (`platform` is the only code
//! that knows DingTalk or WeCom, inbound and outbound); `state` is what the
//! transports share and the turn they take a message through; `command` and
//! `domain` are pure; `bot` turns one inbound message into state changes and
//! a reply; `store` is the only module with SQL; `reply` is the only module
//! with Chinese sentences; `outbox` sends pushes through `platform`; `admin`
//! is the admin service layer (the admin API's handlers in `http` call it);
//! `dev` is tooling (demo, benches, fake platforms), not the product; `app`
//! wires it all. The README's map draws a message's and a push's way.

pub mod admin;
pub mod affinity;
pub mod app;
pub mod bot;
pub mod chart;
pub mod clock;
pub mod command;
pub mod config;
pub mod dev;
pub mod domain;
pub mod export;
pub mod http;
pub mod import;
pub mod jobs;
pub mod outbox;
pub mod platform;
pub mod reply;
pub mod state;
pub mod store;
pub mod telemetry;
