//! Logging and metrics. Every metric name lives here.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use tracing_subscriber::EnvFilter;

/// Callbacks by platform (`dingtalk`, `dingtalk_stream`, `wecom`) and outcome
/// (`ok`, `duplicate`, `bad_signature`, `unknown_bot`, `malformed`,
/// `too_large`, `error`; WeCom also `verified` for URL checks and `ignored`
/// for events; Stream also `reply_failed`).
pub const CALLBACKS: &str = "liancun_callbacks_total";
/// Commands handled, by kind (`none` for messages that were no command).
pub const COMMANDS: &str = "liancun_commands_total";
/// Seconds from callback received to reply ready.
pub const CALLBACK_SECONDS: &str = "liancun_callback_duration_seconds";

/// Installs the tracing subscriber once (later calls do nothing).
pub fn init_logging(filter: &str) {
    let env = std::env::var("RUST_LOG").unwrap_or_else(|_| filter.to_string());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(env).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .try_init();
}

/// The process-wide Prometheus recorder, installed on first use.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (several apps in one
            // test process share this one); either way the handle renders ours.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

pub fn callback(platform: &'static str, outcome: &'static str) {
    metrics::counter!(CALLBACKS, "platform" => platform, "outcome" => outcome).increment(1);
}

pub fn command(kind: &'static str) {
    metrics::counter!(COMMANDS, "kind" => kind).increment(1);
}

/// A stable metric label for a command kind.
pub fn kind_label(kind: crate::command::CommandKind) -> &'static str {
    use crate::command::CommandKind::*;
    match kind {
        Bind => "bind",
        SetLeader => "set_leader",
        SetMember => "set_member",
        Plan => "plan",
        AddTasks => "add",
        List => "list",
        Serve => "serve",
        Visit => "visit",
        Close => "close",
        Postpone => "postpone",
        Cancel => "cancel",
        Assign => "assign",
        Rate => "rate",
        Request => "request",
        MyRequests => "my_requests",
        Project => "project",
        Coverage => "coverage",
        Rank => "rank",
        Help => "help",
    }
}

/// Pushes by outcome (`sent`, `retried`, `throttled`, `dead`, `unrecorded`).
pub const PUSHES: &str = "liancun_pushes_total";
/// Outbox rows by state, read at scrape time.
pub const OUTBOX: &str = "liancun_outbox_rows";
/// Scheduled firings by job and outcome (`done`, `failed`, `skipped`).
pub const FIRINGS: &str = "liancun_job_firings_total";
/// Seconds between a firing's slot and when it ran.
pub const FIRING_LAG: &str = "liancun_job_firing_lag_seconds";

pub fn push(outcome: &'static str) {
    metrics::counter!(PUSHES, "outcome" => outcome).increment(1);
}
