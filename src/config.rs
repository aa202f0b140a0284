//! Layered, strict configuration.
//!
//! Order (later wins): the embedded `config/default.toml` → the file named by
//! `LIANCUN_CONFIG` → environment variables (`LIANCUN_…`, `__` for nesting, plus
//! `DATABASE_URL`). Unknown keys are refused by name. Secrets are wrapped in
//! [`Secret`] so they never reach logs or `Debug` output, and may be given as
//! `env:NAME` or `file:/path` so no secret needs to live in a checked-in file.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, bail};
use chrono_tz::Tz;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer};

use crate::domain::job::Job;
use crate::domain::schedule::Schedule;
use crate::platform::Platform;
pub use crate::telemetry::{LogFormat, LogSettings};

/// The fewest characters `serve` accepts in an admin token.
pub const MIN_ADMIN_TOKEN: usize = 24;

/// The checked-in defaults, embedded so the binary runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// A secret value. `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself; call only where it is used (signing, comparing).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Resolves `env:NAME` and `file:/path` references; anything else is literal.
    fn resolve(raw: &str) -> Result<Self, String> {
        if let Some(name) = raw.strip_prefix("env:") {
            std::env::var(name).map(Self).map_err(|_| {
                format!("environment variable {name} (named by env:{name}) is not set")
            })
        } else if let Some(path) = raw.strip_prefix("file:") {
            std::fs::read_to_string(path)
                .map(|s| Self(s.trim_end_matches(['\n', '\r']).to_string()))
                .map_err(|e| format!("cannot read secret file {path}: {e}"))
        } else {
            Ok(Self(raw.to_string()))
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Secret::resolve(&raw).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BotMode {
    #[default]
    Http,
    Stream,
}

/// Everything the service reads at start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTP server binds.
    pub listen: String,
    /// `sqlite://path` (the embedded default) or `postgres://…`.
    pub database_url: String,
    /// Default time zone of groups whose township sets none.
    pub timezone: String,
    /// Bearer token of the city admin for `/api/v1`.
    #[serde(default)]
    pub admin_token: Option<Secret>,
    /// Logging: `[log] filter` and `format`. The old top-level
    /// `log = "info"` is still read (for one release) as the filter.
    #[serde(deserialize_with = "log_settings")]
    pub log: LogSettings,
    /// A TLS-terminating proxy (nginx, an ingress, a cloud load balancer)
    /// stands in front of this service; without one, a listener on a
    /// non-loopback address is warned about at start.
    #[serde(default)]
    pub behind_tls_proxy: bool,
    /// Guards against slow clients (see `http::serve`).
    pub server: ServerSettings,
    pub dingtalk: DingtalkSettings,
    pub wecom: WecomSettings,
    #[serde(default)]
    pub bots: Vec<BotSettings>,
    /// Default cron expressions of the scheduled jobs (townships may override).
    pub schedule: ScheduleSettings,
    pub scheduler: SchedulerSettings,
    pub outbox: OutboxSettings,
    /// Hard projects (难点项目).
    #[serde(default)]
    pub projects: ProjectSettings,
    /// The address at which this service is reachable from the chat apps
    /// (`https://liancun.example.gov.cn`): when set, airings embed a chart
    /// served under it. `None` / "": no charts.
    #[serde(default)]
    pub public_base_url: Option<String>,
    /// Signs chart URLs (`env:NAME` / `file:/path`); the admin token when unset.
    #[serde(default)]
    pub chart_key: Option<Secret>,
}

/// `[log]` as a table, or the old top-level `log = "filter"` string.
fn log_settings<'de, D: Deserializer<'de>>(d: D) -> Result<LogSettings, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = LogSettings;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a [log] table with filter and format")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<LogSettings, E> {
            Ok(LogSettings {
                filter: v.to_string(),
                format: LogFormat::Text,
                deprecated_key: true,
            })
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<LogSettings, A::Error> {
            LogSettings::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_any(V)
}

/// Hard projects: by when each team must have one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSettings {
    /// `MM-DD` in the team's time zone: a team with no project of the year
    /// by then is reminded once, in its group.
    #[serde(deserialize_with = "month_day")]
    pub due: (u32, u32),
}

impl Default for ProjectSettings {
    fn default() -> Self {
        ProjectSettings { due: (3, 31) }
    }
}

fn month_day<'de, D: Deserializer<'de>>(d: D) -> Result<(u32, u32), D::Error> {
    let raw = String::deserialize(d)?;
    parse_month_day(&raw).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "projects.due {raw:?} is not a month-day like \"03-31\" (February 29 is not allowed)"
        ))
    })
}

/// `MM-DD` (also `M-D`) of a day every year has.
pub fn parse_month_day(raw: &str) -> Option<(u32, u32)> {
    let (m, d) = raw.trim().split_once('-')?;
    let (m, d): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
    // 2025 is no leap year: every day it has, every year has.
    chrono::NaiveDate::from_ymd_opt(2025, m, d).map(|_| (m, d))
}

/// The jobs' default schedules, keyed by job name ([`Job::as_str`]): cron
/// with seconds first and named days of the week; "" disables a job. Every
/// job has its key (`config/default.toml` ships them all); a key that names
/// no job is refused with the list of jobs.
#[derive(Debug, Clone)]
pub struct ScheduleSettings(BTreeMap<Job, Option<Schedule>>);

impl ScheduleSettings {
    /// The default schedule of `job` (`None`: disabled).
    pub fn get(&self, job: Job) -> Option<&Schedule> {
        self.0.get(&job).and_then(Option::as_ref)
    }
}

impl<'de> Deserialize<'de> for ScheduleSettings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let raw = BTreeMap::<String, String>::deserialize(d)?;
        let mut jobs = BTreeMap::new();
        for (name, cron) in raw {
            let job = name
                .parse::<Job>()
                .map_err(|e| D::Error::custom(format!("[schedule] {e}")))?;
            let schedule = Schedule::parse_optional(&cron)
                .map_err(|e| D::Error::custom(format!("schedule.{name} = {cron:?}: {e}")))?;
            jobs.insert(job, schedule);
        }
        if let Some(missing) = Job::ALL.into_iter().find(|j| !jobs.contains_key(j)) {
            return Err(D::Error::custom(format!(
                "schedule.{missing} is missing (\"\" turns the job off)"
            )));
        }
        Ok(ScheduleSettings(jobs))
    }
}

/// How long clients may take and how many may be connected at once.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Seconds a client has to send a request's headers (on a new
    /// connection, from its opening); slower ones are disconnected.
    pub header_read_secs: u64,
    /// Seconds a kept-alive connection may sit idle before it is closed.
    pub idle_secs: u64,
    /// Open connections at most; one more is answered 503 and closed.
    pub max_connections: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSettings {
    /// Run the scheduler in this process.
    pub enabled: bool,
    /// Seconds between two looks at the clock.
    pub tick_secs: u64,
    /// A firing missed by less than this runs late once (after a restart); older ones are skipped.
    pub grace_minutes: i64,
    /// A fan-out to many groups is spread over this many seconds.
    pub fanout_spread_secs: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSettings {
    /// Run the outbox worker in this process.
    pub enabled: bool,
    /// Sends in flight at once (as many outcomes again may wait for their
    /// write).
    pub concurrency: usize,
    /// Seconds a claimed push is leased before another replica may take it.
    pub lease_secs: i64,
    /// Milliseconds between polls when nothing is due.
    pub poll_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DingtalkSettings {
    pub api_base: String,
    pub oapi_base: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WecomSettings {
    pub api_base: String,
    /// How long a 智能机器人 callback waits for its answer before replying
    /// empty and sending the answer to the one-shot `response_url` instead
    /// (WeCom gives up on a callback after 5 s).
    pub reply_within_ms: u64,
}

/// One chat bot: a DingTalk enterprise robot or a WeCom 智能机器人.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotSettings {
    /// The `{bot}` in `/webhook/dingtalk/{bot}`.
    pub name: String,
    pub platform: Platform,
    /// The names people type after @ to address the bot (stripped from
    /// commands). Only an override: a WeCom group message's leading @name,
    /// and a DingTalk one's when the bot is in its at list, are recognised
    /// without it (see [`crate::platform::LeadingAt`]).
    #[serde(default = "default_display_names")]
    pub display_names: Vec<String>,
    /// Platform user ids that count as admins in this bot's groups.
    #[serde(default)]
    pub admins: Vec<String>,
    // DingTalk
    #[serde(default)]
    pub app_key: Option<String>,
    #[serde(default)]
    pub app_secret: Option<Secret>,
    #[serde(default)]
    pub robot_code: Option<String>,
    #[serde(default)]
    pub mode: BotMode,
    // WeCom
    #[serde(default)]
    pub token: Option<Secret>,
    #[serde(default)]
    pub encoding_aes_key: Option<Secret>,
    #[serde(default)]
    pub receive_id: Option<String>,
}

fn default_display_names() -> Vec<String> {
    vec!["联村助手".to_string()]
}

impl BotSettings {
    /// How this bot recognises its own @name, for `check-config`.
    pub fn addressing(&self) -> String {
        let names = self.display_names.join(", ");
        let leading = match self.platform {
            Platform::Wecom => "and any leading @name of a group message",
            Platform::Dingtalk => {
                "and a leading @name when the bot is in the at list (isInAtList) and it is not another @-ed person's name"
            }
        };
        format!("@-names stripped: {names} (display_names) {leading}")
    }
}

impl Settings {
    /// Loads the layers from the real environment and validates the result.
    pub fn load() -> anyhow::Result<Settings> {
        let mut fig = Figment::from(Toml::string(DEFAULT_TOML));
        if let Ok(path) = std::env::var("LIANCUN_CONFIG") {
            if !Path::new(&path).exists() {
                bail!("LIANCUN_CONFIG names {path}, which does not exist");
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        // The file's old `log = "filter"` string becomes [log] filter before
        // the environment is merged: a LIANCUN_LOG__FORMAT would otherwise
        // replace the string, and the filter and its warning with it.
        let old_log = fig.find_value("log").ok().and_then(|v| v.into_string());
        if let Some(filter) = &old_log {
            fig = fig.merge(Serialized::default("log.filter", filter));
        }
        fig = fig
            .merge(env_layer())
            .merge(Env::raw().only(&["DATABASE_URL"]));
        let mut s = Self::from_figment(fig)?;
        s.log.deprecated_key |= old_log.is_some();
        Ok(s)
    }

    /// Defaults only, with overrides from a TOML string (tests, `demo`).
    pub fn from_toml_overrides(toml: &str) -> anyhow::Result<Settings> {
        Self::from_figment(Figment::from(Toml::string(DEFAULT_TOML)).merge(Toml::string(toml)))
    }

    fn from_figment(fig: Figment) -> anyhow::Result<Settings> {
        let s: Settings = fig.extract().map_err(|e| {
            let all: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
            anyhow::anyhow!("invalid configuration: {}", all.join("; "))
        })?;
        s.validate()?;
        Ok(s)
    }
}

/// `LIANCUN_…` variables, `__` for nesting.
fn env_layer() -> Env {
    Env::prefixed("LIANCUN_")
        // LIANCUN_CONFIG names the file; LIANCUN_TEST_* steer the
        // test suite; Kubernetes injects LIANCUN_PORT* and
        // LIANCUN_SERVICE_* for a Service named "liancun".
        .filter(|k| {
            let k = k.as_str().to_ascii_lowercase();
            k != "config"
                && !k.starts_with("test_")
                && !k.starts_with("port")
                && !k.starts_with("service_")
        })
        .split("__")
}

impl Settings {
    /// Checks what serde cannot: addresses, time zone, URL schemes, bots.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.listen.parse::<SocketAddr>().with_context(|| {
            format!(
                "listen = {:?} is not an address like 127.0.0.1:8080",
                self.listen
            )
        })?;
        self.tz()?;
        tracing_subscriber::EnvFilter::builder()
            .parse(&self.log.filter)
            .map_err(|e| {
                anyhow::anyhow!(
                    "[log] filter = {:?} is not a log filter like \"info\" or \"liancun=debug,info\": {e}",
                    self.log.filter
                )
            })?;
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres:")
            || self.database_url.starts_with("postgresql:"))
        {
            bail!(
                "database_url must start with sqlite: or postgres:, got {:?}",
                crate::store::redact_url(&self.database_url)
            );
        }
        for base in [
            &self.dingtalk.api_base,
            &self.dingtalk.oapi_base,
            &self.wecom.api_base,
        ] {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                bail!("API base {base:?} must start with http:// or https://");
            }
        }
        if let Some(url) = self.public_base_url.as_deref().filter(|u| !u.is_empty())
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("public_base_url {url:?} must start with http:// or https://");
        }
        if self
            .public_base_url
            .as_deref()
            .is_some_and(|u| !u.is_empty())
            && self.chart_key.is_none()
            && self.admin_token.is_none()
        {
            bail!(
                "public_base_url is set but nothing signs chart URLs: set chart_key (or admin_token)"
            );
        }
        if self.scheduler.tick_secs == 0
            || self.outbox.concurrency == 0
            || self.outbox.lease_secs <= 0
        {
            bail!("scheduler.tick_secs, outbox.concurrency and outbox.lease_secs must be positive");
        }
        if self.server.header_read_secs == 0
            || self.server.idle_secs == 0
            || self.server.max_connections == 0
        {
            bail!(
                "server.header_read_secs, server.idle_secs and server.max_connections must be positive"
            );
        }
        if self.scheduler.grace_minutes < 0 || self.scheduler.fanout_spread_secs < 0 {
            bail!("scheduler.grace_minutes and scheduler.fanout_spread_secs cannot be negative");
        }
        let mut names = std::collections::HashSet::new();
        for b in &self.bots {
            if b.name.is_empty()
                || !b
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bail!(
                    "bot name {:?} must be non-empty ASCII letters, digits, - or _",
                    b.name
                );
            }
            if !names.insert(b.name.as_str()) {
                bail!("bot name {:?} is used twice", b.name);
            }
            match b.platform {
                Platform::Dingtalk => {
                    if b.app_secret.is_none() {
                        bail!("bot {:?} (dingtalk) needs app_secret", b.name);
                    }
                    if b.mode == BotMode::Stream && b.app_key.is_none() {
                        bail!("bot {:?} in stream mode needs app_key", b.name);
                    }
                }
                Platform::Wecom => {
                    if b.token.is_none() {
                        bail!("bot {:?} (wecom) needs token", b.name);
                    }
                    match &b.encoding_aes_key {
                        Some(k)
                            if k.expose().len() == 43
                                && crate::platform::wecom::crypto::MsgCrypt::new(
                                    "",
                                    k.expose(),
                                    "",
                                )
                                .is_ok() => {}
                        _ => bail!(
                            "bot {:?} (wecom) needs encoding_aes_key of 43 base64 characters",
                            b.name
                        ),
                    }
                }
            }
        }
        Ok(())
    }

    /// Why `serve` refuses the admin token, when it does: empty, shorter than
    /// [`MIN_ADMIN_TOKEN`] characters, or still the example's `change-me`.
    /// `None` when it is fit, or unset (the admin API is then off).
    pub fn admin_token_problem(&self) -> Option<String> {
        let token = self.admin_token.as_ref()?.expose();
        let why = if token.trim().is_empty() {
            "is empty".to_string()
        } else if token.chars().count() < MIN_ADMIN_TOKEN {
            format!("is shorter than {MIN_ADMIN_TOKEN} characters")
        } else if token.to_ascii_lowercase().contains("change-me") {
            "still contains the example's \"change-me\"".to_string()
        } else {
            return None;
        };
        Some(format!(
            "admin_token (LIANCUN_ADMIN_TOKEN) {why}: make one with `openssl rand -hex 32`, \
             or unset it to turn the admin API off"
        ))
    }

    /// The default time zone, parsed.
    pub fn tz(&self) -> anyhow::Result<Tz> {
        crate::domain::zone::parse(&self.timezone).ok_or_else(|| {
            anyhow::anyhow!(
                "timezone = {:?} is not an IANA time zone like Asia/Shanghai",
                self.timezone
            )
        })
    }

    pub fn bot(&self, name: &str) -> Option<&BotSettings> {
        self.bots.iter().find(|b| b.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_match_the_product_contract() {
        let s = Settings::from_toml_overrides("").expect("defaults are valid");
        assert_eq!(s.listen, "127.0.0.1:8080");
        assert_eq!(s.database_url, "sqlite://data/liancun.db");
        assert_eq!(s.timezone, "Asia/Shanghai");
        assert_eq!(s.dingtalk.api_base, "https://api.dingtalk.com");
        assert_eq!(s.dingtalk.oapi_base, "https://oapi.dingtalk.com");
        assert_eq!(s.wecom.api_base, "https://qyapi.weixin.qq.com");
        assert!(s.bots.is_empty());
        assert!(s.admin_token.is_none());
        // DingTalk callbacks stay answered under 2,000 slow connections.
        assert!(s.server.max_connections > 2_000);
        assert_eq!((s.server.header_read_secs, s.server.idle_secs), (10, 75));
    }

    #[test]
    fn display_names_default_to_the_product_name_and_check_config_says_so() {
        let s = Settings::from_toml_overrides(
            "[[bots]]\nname = \"q\"\nplatform = \"wecom\"\ntoken = \"t\"\nencoding_aes_key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\"\nreceive_id = \"\"",
        )
        .expect("valid");
        let bot = &s.bots[0];
        assert_eq!(bot.display_names, ["联村助手"]);
        let said = bot.addressing();
        assert!(
            said.contains("联村助手") && said.contains("any leading @name"),
            "{said}"
        );
    }

    #[test]
    fn shipped_schedules_are_the_jobs_defaults() {
        let s = Settings::from_toml_overrides("").expect("defaults are valid");
        for job in Job::ALL {
            assert_eq!(
                s.schedule.get(job).map(|s| s.expr()),
                Some(job.default_cron()),
                "{job}"
            );
        }
    }

    #[test]
    fn project_due_and_public_base_url() {
        let s = Settings::from_toml_overrides("").expect("defaults are valid");
        assert_eq!(s.projects.due, (3, 31));
        assert_eq!(
            s.public_base_url.as_deref(),
            Some(""),
            "no charts by default"
        );
        assert!(s.schedule.get(Job::ProjectReminder).is_some());
        let s = Settings::from_toml_overrides(
            "public_base_url = \"https://lc.example.cn/\"\nchart_key = \"k\"\n[projects]\ndue = \"6-1\"",
        )
        .expect("valid");
        assert_eq!(s.projects.due, (6, 1));
        assert_eq!(s.public_base_url.as_deref(), Some("https://lc.example.cn/"));
        for bad in ["02-29", "13-01", "0331", "x"] {
            let err =
                Settings::from_toml_overrides(&format!("[projects]\ndue = \"{bad}\"")).unwrap_err();
            assert!(
                format!("{err:#}").contains("projects.due"),
                "{bad}: {err:#}"
            );
        }
        let err = Settings::from_toml_overrides("public_base_url = \"ftp://x\"").unwrap_err();
        assert!(format!("{err:#}").contains("public_base_url"), "{err:#}");
        let err = Settings::from_toml_overrides("public_base_url = \"https://x.cn\"").unwrap_err();
        assert!(format!("{err:#}").contains("chart_key"), "{err:#}");
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let err = Settings::from_toml_overrides("lisen = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("lisen"), "{err}");
        let err = Settings::from_toml_overrides("[dingtalk]\napi_bse = \"http://x\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("api_bse"), "{err}");
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let s = Settings::from_toml_overrides(
            "admin_token = \"tok-very-secret\"\n[[bots]]\nname = \"js\"\nplatform = \"dingtalk\"\napp_secret = \"app-very-secret\"",
        )
        .unwrap();
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("very-secret"), "{dbg}");
        assert_eq!(
            s.bots[0].app_secret.as_ref().unwrap().expose(),
            "app-very-secret"
        );
    }

    #[test]
    fn secrets_resolve_from_env_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s");
        std::fs::write(&f, "from-file\n").unwrap();
        let s = Settings::from_toml_overrides(&format!(
            "admin_token = \"file:{}\"\n[[bots]]\nname = \"js\"\nplatform = \"dingtalk\"\napp_secret = \"env:PATH\"",
            f.display()
        ))
        .unwrap();
        assert_eq!(s.admin_token.unwrap().expose(), "from-file");
        assert_eq!(
            s.bots[0].app_secret.as_ref().unwrap().expose(),
            std::env::var("PATH").unwrap()
        );
        let err = Settings::from_toml_overrides("admin_token = \"env:LIANCUN_SURELY_UNSET_VAR\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("LIANCUN_SURELY_UNSET_VAR"), "{err}");
    }

    #[test]
    fn bad_values_are_refused_with_the_key() {
        for (toml, needle) in [
            ("listen = \"localhost\"", "listen"),
            ("timezone = \"Mars/Olympus\"", "timezone"),
            ("database_url = \"mysql://x\"", "database_url"),
            ("[server]\nmax_connections = 0", "server.max_connections"),
            (
                "[[bots]]\nname = \"a\"\nplatform = \"dingtalk\"",
                "app_secret",
            ),
            (
                "[[bots]]\nname = \"a\"\nplatform = \"wecom\"\ntoken = \"t\"\nencoding_aes_key = \"short\"",
                "encoding_aes_key",
            ),
            (
                "[[bots]]\nname = \"a\"\nplatform = \"wecom\"\ntoken = \"t\"\nencoding_aes_key = \"!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\"",
                "encoding_aes_key",
            ),
            ("[[bots]]\nname = \"a\"\nplatform = \"qq\"", "qq"),
        ] {
            let err = Settings::from_toml_overrides(toml).unwrap_err().to_string();
            assert!(err.contains(needle), "{toml:?} → {err}");
        }
    }

    #[test]
    fn schedules_are_validated_at_load_and_can_be_disabled() {
        let s = Settings::from_toml_overrides("[schedule]\nclearance = \"\"").unwrap();
        assert!(s.schedule.get(Job::Clearance).is_none(), "\"\" disables");
        assert_eq!(
            s.schedule.get(Job::PlanReminder).unwrap().expr(),
            "0 30 8 * * Mon"
        );
        let err = Settings::from_toml_overrides("[schedule]\nplan_reminder = \"0 30 8 * * 1\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(Job::PlanReminder.as_str()) && err.contains("Mon"),
            "{err}"
        );
        let err = Settings::from_toml_overrides("[schedule]\nweekly = \"0 0 8 * * Mon\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("weekly"), "unknown job refused by name: {err}");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's own signature
    fn the_environment_layer_skips_the_config_file_variable_and_kubernetes_links() {
        // Env layering uses the real process environment; run it in a child
        // figment with a jailed environment instead of touching ours.
        figment::Jail::expect_with(|jail| {
            jail.set_env("LIANCUN_CONFIG", "/nonexistent-is-fine-here");
            jail.set_env("LIANCUN_PORT_8080_TCP", "tcp://10.0.0.1:8080");
            jail.set_env("LIANCUN_SERVICE_HOST", "10.0.0.1");
            jail.set_env("LIANCUN_TEST_PG", "postgres://x");
            jail.set_env("LIANCUN_LISTEN", "127.0.0.1:9999");
            jail.set_env("LIANCUN_OUTBOX__CONCURRENCY", "7");
            let fig = Figment::from(Toml::string(DEFAULT_TOML)).merge(env_layer());
            let s = Settings::from_figment(fig).map_err(|e| e.to_string())?;
            assert_eq!(s.listen, "127.0.0.1:9999");
            assert_eq!(s.outbox.concurrency, 7);
            jail.set_env("LIANCUN_LISEN", "x");
            let fig = Figment::from(Toml::string(DEFAULT_TOML)).merge(env_layer());
            let err = Settings::from_figment(fig).unwrap_err().to_string();
            assert!(err.contains("lisen"), "{err}");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's own signature
    fn log_settings_from_the_table_the_old_key_and_the_environment() {
        let s = Settings::from_toml_overrides("").unwrap();
        assert_eq!(
            (s.log.filter.as_str(), s.log.format, s.log.deprecated_key),
            ("info", LogFormat::Text, false)
        );
        let s = Settings::from_toml_overrides("[log]\nformat = \"json\"").unwrap();
        assert_eq!(
            (s.log.filter.as_str(), s.log.format),
            ("info", LogFormat::Json)
        );
        // The old top-level key is still read, and marked for a warning.
        let s = Settings::from_toml_overrides("log = \"liancun=debug,warn\"").unwrap();
        assert_eq!(s.log.filter, "liancun=debug,warn");
        assert!(s.log.deprecated_key);
        let err = Settings::from_toml_overrides("[log]\nfromat = \"json\"").unwrap_err();
        assert!(format!("{err:#}").contains("fromat"), "{err:#}");
        let err = Settings::from_toml_overrides("[log]\nformat = \"xml\"").unwrap_err();
        assert!(format!("{err:#}").contains("xml"), "{err:#}");
        figment::Jail::expect_with(|jail| {
            jail.set_env("LIANCUN_LOG__FORMAT", "json");
            jail.set_env("LIANCUN_LOG__FILTER", "liancun=debug,info");
            let fig = Figment::from(Toml::string(DEFAULT_TOML)).merge(env_layer());
            let s = Settings::from_figment(fig).map_err(|e| e.to_string())?;
            assert_eq!(s.log.format, LogFormat::Json);
            assert_eq!(s.log.filter, "liancun=debug,info");
            Ok(())
        });
        // An old file's `log = "…"` with the new LIANCUN_LOG__FORMAT: the
        // filter is kept and still warned about, not replaced by the default.
        figment::Jail::expect_with(|jail| {
            jail.create_file("old.toml", "log = \"liancun=debug,warn\"\n")?;
            jail.set_env("LIANCUN_CONFIG", "old.toml");
            jail.set_env("LIANCUN_LOG__FORMAT", "json");
            let s = Settings::load().map_err(|e| e.to_string())?;
            assert_eq!(s.log.format, LogFormat::Json);
            assert_eq!(s.log.filter, "liancun=debug,warn");
            assert!(s.log.deprecated_key);
            Ok(())
        });
    }

    #[test]
    fn an_invalid_log_filter_is_refused_at_load() {
        for bad in ["liancun=loud", "info,=x=y", "[{"] {
            let err =
                Settings::from_toml_overrides(&format!("[log]\nfilter = \"{bad}\"")).unwrap_err();
            assert!(
                format!("{err:#}").contains("[log] filter"),
                "{bad}: {err:#}"
            );
        }
    }

    #[test]
    fn placeholder_and_short_admin_tokens_are_refused_for_serving() {
        let problem = |toml: &str| {
            Settings::from_toml_overrides(toml)
                .unwrap()
                .admin_token_problem()
        };
        assert_eq!(problem(""), None, "unset: the admin API is off");
        assert_eq!(
            problem("admin_token = \"0123456789abcdef0123456789abcdef\""),
            None
        );
        for (token, why) in [
            ("", "empty"),
            ("   ", "empty"),
            ("tok-very-secret", "shorter than 24"),
            ("0123456789abcdef0123456", "shorter than 24"),
            ("change-me-admin-token-0123456789abcdef", "change-me"),
            ("0123456789abcdef-CHANGE-ME-0123", "change-me"),
        ] {
            let p = problem(&format!("admin_token = \"{token}\""))
                .unwrap_or_else(|| panic!("{token:?} accepted"));
            assert!(
                p.contains(why) && p.contains("openssl rand -hex 32"),
                "{token:?}: {p}"
            );
            assert!(token.trim().is_empty() || !p.contains(token), "{p}");
        }
    }

    #[test]
    fn production_example_is_valid() {
        let example = include_str!("../config/production.example.toml");
        // The example names its secrets as env: references; give them values here.
        // SAFETY: no other test reads or writes this variable.
        unsafe { std::env::set_var("JIANGSHAN_APP_SECRET", "x") };
        Settings::from_toml_overrides(example).expect("production.example.toml is valid");
    }
}
