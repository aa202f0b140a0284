//! Logging and metrics. Every metric name lives here.
//!
//! A low module: it imports nothing of the crate. Callers hand it the labels
//! they count by (a command's `CommandKind::label`, a job's
//! name), and the settings `config` reads for it ([`LogSettings`]).

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use tracing_subscriber::EnvFilter;

/// How the service logs.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// Which lines are written, in `RUST_LOG` syntax (`info`,
    /// `liancun=debug,info`); `RUST_LOG` wins when set. Checked at start.
    #[serde(default = "default_log_filter")]
    pub filter: String,
    /// `text` for people, `json` for one JSON object per line.
    #[serde(default)]
    pub format: LogFormat,
    /// The filter came from the deprecated top-level `log = "…"` key.
    #[serde(skip)]
    pub deprecated_key: bool,
}

/// The shape of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

fn default_log_filter() -> String {
    "info".to_string()
}

/// Label values known before anything happens, so that their counters are
/// present at zero from the start (see [`metrics_handle`]).
#[derive(Debug, Clone, Copy)]
pub struct KnownLabels {
    /// Every command kind's label (the `kind` of [`COMMANDS`]; `none` is added).
    pub commands: &'static [&'static str],
    /// Every scheduled job's name (the `job` of [`FIRINGS`]).
    pub jobs: &'static [&'static str],
}

/// Callbacks by platform (`dingtalk`, `dingtalk_stream`, `wecom`) and outcome
/// (`ok`, `duplicate`, `bad_signature`, `unknown_bot`, `malformed`,
/// `too_large`, `error`; WeCom also `verified` for URL checks and `ignored`
/// for events; Stream also `reply_failed`).
pub const CALLBACKS: &str = "liancun_callbacks_total";
/// Commands handled, by kind (`none` for messages that were no command).
pub const COMMANDS: &str = "liancun_commands_total";
/// Seconds from callback received to reply ready.
pub const CALLBACK_SECONDS: &str = "liancun_callback_duration_seconds";

/// HTTP requests by `method`, `route` (the route template, `unmatched` for
/// none) and `status`.
pub const HTTP_REQUESTS: &str = "liancun_http_requests_total";
/// Seconds to answer an HTTP request, by `method`, `route` and `status`.
pub const HTTP_SECONDS: &str = "liancun_http_request_duration_seconds";
/// Always 1, labelled with the running `version`.
pub const BUILD_INFO: &str = "liancun_build_info";

/// Histogram buckets (seconds) of every latency: from a fast callback to a
/// firing that ran minutes late. Histograms, not summaries, so that a fleet
/// can sum them across replicas before taking a quantile.
pub const BUCKETS: [f64; 15] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0,
];

/// Installs the tracing subscriber once (later calls keep the first one).
/// `RUST_LOG` wins over `[log] filter` when set; an invalid filter from
/// either is an error rather than a silent fallback.
pub fn init_logging(log: &LogSettings) -> anyhow::Result<()> {
    let (source, directives) = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => ("RUST_LOG", v),
        _ => ("[log] filter", log.filter.clone()),
    };
    let filter = EnvFilter::builder().parse(&directives).map_err(|e| {
        anyhow::anyhow!(
            "{source} = {directives:?} is not a log filter like \"info\" or \"liancun=debug,info\": {e}"
        )
    })?;
    let fmt = tracing_subscriber::fmt().with_env_filter(filter);
    // Already installed (several apps in one test process): keep that one.
    let _ = match log.format {
        LogFormat::Text => fmt
            .with_target(false)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .try_init(),
        // One object per line; the request span (its request_id) rides in
        // "span" and "spans" of every line logged while serving it.
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
    Ok(())
}

/// The process-wide Prometheus recorder, installed on first use, with every
/// metric described and the counters of known label sets present at zero
/// (`known` of the first call; later calls get the same recorder).
pub fn metrics_handle(known: KnownLabels) -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(&BUCKETS)
                .unwrap_or_else(|e| {
                    tracing::error!(error = %e, "histogram buckets refused; latencies render as summaries");
                    PrometheusBuilder::new()
                });
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (several apps in one
            // test process share this one); either way the handle renders ours.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            zero_counters(known);
            metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            handle
        })
        .clone()
}

/// `# HELP` for every metric, in one place.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(CALLBACKS, "Chat platform callbacks by platform and outcome");
    describe_counter!(COMMANDS, "Commands handled, by kind (none: no command)");
    describe_histogram!(
        CALLBACK_SECONDS,
        Unit::Seconds,
        "Seconds from a callback received to its reply ready"
    );
    describe_counter!(PUSHES, "Outgoing pushes by outcome");
    describe_gauge!(
        OUTBOX,
        "Outbox rows by state (shared database, read at scrape time)"
    );
    describe_counter!(FIRINGS, "Scheduled job firings by job and outcome");
    describe_histogram!(
        FIRING_LAG,
        Unit::Seconds,
        "Seconds between a firing's slot and when it ran"
    );
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by method, route template and status"
    );
    describe_histogram!(
        HTTP_SECONDS,
        Unit::Seconds,
        "Seconds to answer an HTTP request, by method, route template and status"
    );
    describe_gauge!(
        BUILD_INFO,
        "Always 1; the version label names the running build"
    );
}

/// Callback outcomes each transport counts (see [`CALLBACKS`]).
const CALLBACK_OUTCOMES: [(&str, &[&str]); 3] = [
    (
        "dingtalk",
        &[
            "ok",
            "duplicate",
            "bad_signature",
            "unknown_bot",
            "malformed",
            "too_large",
            "error",
        ],
    ),
    (
        "wecom",
        &[
            "ok",
            "duplicate",
            "bad_signature",
            "unknown_bot",
            "malformed",
            "too_large",
            "error",
            "verified",
            "ignored",
            "late_reply",
            "late_reply_lost",
        ],
    ),
    (
        "dingtalk_stream",
        &["ok", "duplicate", "error", "reply_failed"],
    ),
];

/// Counters of known label sets start at 0, so that `increase()` and
/// `rate()` see the first event and alerts on "any" fire.
fn zero_counters(known: KnownLabels) {
    for (platform, outcomes) in CALLBACK_OUTCOMES {
        for outcome in outcomes {
            metrics::counter!(CALLBACKS, "platform" => platform, "outcome" => *outcome)
                .increment(0);
        }
    }
    for kind in known.commands.iter().chain(&["none"]) {
        metrics::counter!(COMMANDS, "kind" => *kind).increment(0);
    }
    for outcome in ["sent", "retried", "throttled", "dead", "unrecorded"] {
        metrics::counter!(PUSHES, "outcome" => outcome).increment(0);
    }
    for job in known.jobs {
        for outcome in ["done", "failed", "skipped", "holiday"] {
            metrics::counter!(FIRINGS, "job" => *job, "outcome" => outcome).increment(0);
        }
    }
}

/// Counts one HTTP request and its duration.
pub fn http_request(method: &str, route: &str, status: u16, seconds: f64) {
    let labels = [
        ("method", method.to_string()),
        ("route", route.to_string()),
        ("status", status.to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_SECONDS, &labels).record(seconds);
}

/// The `/metrics` page: the recorder's metrics and this process's own.
pub fn render(handle: &PrometheusHandle) -> String {
    let mut out = handle.render();
    out.push_str(&process_metrics());
    out
}

/// RSS, open file descriptors, CPU seconds and start time of this process,
/// read from `/proc/self` (empty where there is no `/proc`), named as
/// Prometheus' client libraries name them.
pub fn process_metrics() -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let mut put = |name: &str, kind: &str, help: &str, value: f64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    // SAFETY: sysconf reads a system constant; it has no memory effects.
    let (ticks, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat")
        && let Some((_, rest)) = stat.rsplit_once(')')
        && ticks > 0
    {
        // Fields after the command name, from field 3 (state) on.
        let f: Vec<&str> = rest.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
        if let (Some(utime), Some(stime)) = (num(11), num(12)) {
            put(
                "process_cpu_seconds_total",
                "counter",
                "Total user and system CPU time spent in seconds.",
                (utime + stime) / ticks as f64,
            );
        }
        if let Some(rss) = num(21).filter(|_| page > 0) {
            put(
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
                rss * page as f64,
            );
        }
        let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<f64>().ok())
        });
        if let (Some(boot), Some(start)) = (boot, num(19)) {
            put(
                "process_start_time_seconds",
                "gauge",
                "Start time of the process since unix epoch in seconds.",
                boot + start / ticks as f64,
            );
        }
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        put(
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            fds.count() as f64,
        );
    }
    if let Some(max) = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse::<f64>().ok())
        })
    {
        put(
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            max,
        );
    }
    out
}

pub fn callback(platform: &'static str, outcome: &'static str) {
    metrics::counter!(CALLBACKS, "platform" => platform, "outcome" => outcome).increment(1);
}

pub fn command(kind: &'static str) {
    metrics::counter!(COMMANDS, "kind" => kind).increment(1);
}

/// Pushes by outcome (`sent`, `retried`, `throttled`, `dead`, `unrecorded`).
pub const PUSHES: &str = "liancun_pushes_total";
/// Outbox rows by state, read at scrape time.
pub const OUTBOX: &str = "liancun_outbox_rows";
/// Scheduled firings by job and outcome (`done`, `failed`, `skipped`, `holiday`).
pub const FIRINGS: &str = "liancun_job_firings_total";
/// Seconds between a firing's slot and when it ran.
pub const FIRING_LAG: &str = "liancun_job_firing_lag_seconds";

pub fn push(outcome: &'static str) {
    metrics::counter!(PUSHES, "outcome" => outcome).increment(1);
}
