//! Wiring: settings → database → router → server with graceful shutdown.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use chrono_tz::Tz;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

use crate::bot::{self, Outcome};
use crate::clock::SharedClock;
use crate::config::{BotMode, PlatformKind, Settings};
use crate::domain::calendar::HolidayCalendar;
use crate::jobs::JobCtx;
use crate::jobs::scheduler::Scheduler;
use crate::outbox::QuietHours;
use crate::outbox::worker::{Worker, WorkerConfig};
use crate::platform::Inbound;
use crate::reply::{self, Reply};
use crate::store::Db;
use crate::telemetry;

/// What every handler shares: one pointer, so that the clone axum makes for
/// every request is one reference count.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub clock: SharedClock,
    pub default_tz: Tz,
    pub metrics: PrometheusHandle,
    pub jobs: JobCtx,
    pub worker: Worker,
}

/// The bundled holiday calendar with the admins' corrections from the database.
pub async fn load_calendar(db: &Db) -> anyhow::Result<HolidayCalendar> {
    let mut cal = HolidayCalendar::bundled();
    let years = db
        .read(|tx| Box::pin(async move { crate::store::jobs::calendar_years(tx).await }))
        .await?;
    for (year, data) in years {
        match toml::from_str::<crate::domain::calendar::YearData>(&data) {
            Ok(y) => {
                if let Err(e) = cal.set_year(i32::try_from(year).unwrap_or_default(), y) {
                    tracing::error!(year, error = %e, "stored calendar correction is invalid; ignored");
                }
            }
            Err(e) => {
                tracing::error!(year, error = %e, "stored calendar correction does not parse; ignored")
            }
        }
    }
    Ok(cal)
}

/// Years around `now` that have no holiday data (plain weekends are used).
pub fn calendar_gaps(cal: &HolidayCalendar, now: chrono::DateTime<chrono::Utc>) -> Vec<i32> {
    use chrono::Datelike;
    let y = now.year();
    [y, y + 1]
        .into_iter()
        .filter(|y| !cal.has_year(*y))
        .collect()
}

/// What an operator needs to hear when the service starts: each is logged
/// as a warning by [`App::run_until_stopped`]. `listen` is the bound
/// address; `gaps` the years from [`calendar_gaps`].
pub fn startup_warnings(
    settings: &Settings,
    listen: std::net::SocketAddr,
    gaps: &[i32],
) -> Vec<String> {
    let mut out = Vec::new();
    if settings.log.deprecated_key {
        out.push(
            "the top-level `log = \"…\"` key is deprecated and will be refused in the next release: \
             write it as [log] filter = \"…\" (environment: LIANCUN_LOG__FILTER)"
                .to_string(),
        );
    }
    if settings.bots.is_empty() {
        out.push(
            "no bots are configured: no group can talk to liancun and nothing is pushed; \
             add [[bots]] tables (see config/production.example.toml)"
                .to_string(),
        );
    }
    if !listen.ip().is_loopback() {
        if settings.admin_token.is_none() {
            out.push(format!(
                "listening on {listen}, reachable from other machines, with the admin API off \
                 (no admin_token): set LIANCUN_ADMIN_TOKEN to manage townships, teams and tokens"
            ));
        }
        if !settings.behind_tls_proxy {
            out.push(format!(
                "listening on {listen}, reachable from other machines, and no TLS-terminating proxy \
                 is declared: callbacks and admin tokens would cross the network in clear text. \
                 Put nginx (deploy/nginx.conf) or an ingress with TLS in front and set \
                 behind_tls_proxy = true, or listen on 127.0.0.1"
            ));
        }
    }
    for year in gaps {
        out.push(format!(
            "no holiday data for {year}: weekday jobs follow plain weekends until an admin adds \
             the State Council notice with PUT /api/v1/calendar/{year}"
        ));
    }
    out
}

/// What became of one message handed to the bot by a transport.
#[derive(Debug, Clone)]
pub struct Answer {
    pub reply: Reply,
    /// A repeat delivery: the saved reply, nothing new stored.
    pub duplicate: bool,
    /// Storage failed; the reply asks the sender to try again.
    pub failed: bool,
}

/// Runs one message through [`bot::handle`] with the state's clock, and
/// counts it under `platform` (the transport's metric label). Shared by the
/// WeCom callback and the DingTalk Stream client so both count alike.
pub async fn answer(state: &AppState, platform: &'static str, inbound: Inbound) -> Answer {
    use tracing::Instrument;
    let span = tracing::info_span!("callback", platform, msg_id = %inbound.msg_id,
        conversation = %inbound.conversation_id);
    let handled = bot::handle(
        &state.db,
        &state.settings,
        &state.jobs.calendar,
        state.default_tz,
        state.clock.now(),
        inbound,
    )
    .instrument(span)
    .await;
    match handled {
        Ok(h) => {
            let duplicate = match h.outcome {
                Outcome::Duplicate => {
                    telemetry::callback(platform, "duplicate");
                    true
                }
                Outcome::Handled(kind) => {
                    telemetry::callback(platform, "ok");
                    telemetry::command(
                        kind.map(crate::command::CommandKind::label)
                            .unwrap_or("none"),
                    );
                    false
                }
            };
            Answer {
                reply: h.reply,
                duplicate,
                failed: false,
            }
        }
        Err(e) => {
            tracing::error!(platform, error = %e, "handling a message failed; nothing was stored");
            telemetry::callback(platform, "error");
            Answer {
                reply: reply::try_again_later(),
                duplicate: false,
                failed: true,
            }
        }
    }
}

/// A built application, ready to serve.
pub struct App {
    pub state: AppState,
}

impl App {
    /// Connects to the database and applies migrations.
    pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<App> {
        let default_tz = settings.tz()?;
        let db = Db::connect(&settings.database_url).await?;
        db.migrate().await?;
        let calendar = load_calendar(&db).await?;
        let settings = Arc::new(settings);
        let jobs = JobCtx {
            db: db.clone(),
            settings: Arc::clone(&settings),
            default_tz,
            calendar: Arc::new(std::sync::RwLock::new(calendar)),
            quiet: QuietHours::default(),
        };
        let worker = Worker::new(
            db.clone(),
            Arc::clone(&clock),
            Arc::clone(&settings),
            WorkerConfig {
                concurrency: settings.outbox.concurrency,
                lease_ms: settings.outbox.lease_secs * 1000,
                poll: std::time::Duration::from_millis(settings.outbox.poll_ms),
                ..WorkerConfig::default()
            },
        )?;
        Ok(App {
            state: AppState::new(Shared {
                db,
                settings,
                clock,
                default_tz,
                metrics: telemetry::metrics_handle(telemetry::KnownLabels {
                    commands: &crate::command::CommandKind::LABELS,
                    jobs: &crate::jobs::Job::NAMES,
                }),
                jobs,
                worker,
            }),
        })
    }

    /// The scheduler of this replica.
    pub fn scheduler(&self) -> Scheduler {
        Scheduler {
            ctx: self.state.jobs.clone(),
            clock: Arc::clone(&self.state.clock),
            worker: self.state.worker.id.clone(),
        }
    }

    pub fn router(&self) -> Router {
        crate::http::router(self.state.clone())
    }

    /// Serves on `listener`, and runs one DingTalk Stream client per bot in
    /// stream mode, until `shutdown` resolves; then finishes the requests and
    /// stream messages in flight and closes the database.
    pub async fn run_until_stopped(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = listener.local_addr().context("listener has no address")?;
        // On PostgreSQL: whether the connection is encrypted (sslmode).
        let tls = match self.state.db.tls_in_use().await {
            Ok(tls) => tls,
            Err(e) => {
                tracing::warn!(error = %e, "cannot tell whether the database connection uses TLS");
                None
            }
        };
        tracing::info!(%addr, backend = ?self.state.db.backend(), database_tls = ?tls, "liancun listening");
        let gaps = calendar_gaps(
            &self
                .state
                .jobs
                .calendar
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            self.state.clock.now(),
        );
        for warning in startup_warnings(&self.state.settings, addr, &gaps) {
            tracing::warn!("{warning}");
        }
        // One signal for the outbox worker, the scheduler and the stream
        // clients, sent when shutdown begins; if the server fails, the
        // sender is dropped, which stops them as well.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut background = tokio::task::JoinSet::new();
        if self.state.settings.outbox.enabled {
            background.spawn(self.state.worker.clone().run(stop_rx.clone()));
        }
        if self.state.settings.scheduler.enabled {
            background.spawn(Arc::new(self.scheduler()).run(stop_rx.clone()));
        }
        for b in self
            .state
            .settings
            .bots
            .iter()
            .filter(|b| b.platform == PlatformKind::Dingtalk && b.mode == BotMode::Stream)
        {
            let mut stop = stop_rx.clone();
            background.spawn(crate::platform::dingtalk::stream::run_stream(
                self.state.clone(),
                b.name.clone(),
                async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                },
            ));
        }
        let nofile = crate::http::serve::raise_open_file_limit();
        let limits = crate::http::serve::Limits::new(&self.state.settings.server, nofile);
        if limits.max_connections < self.state.settings.server.max_connections {
            tracing::warn!(
                configured = self.state.settings.server.max_connections,
                open_file_limit = nofile,
                max_connections = limits.max_connections,
                "server.max_connections lowered to fit the open-file limit; raise it (LimitNOFILE=, ulimit -n)"
            );
        }
        crate::http::serve::serve(listener, self.router(), limits, async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        })
        .await;
        // Drain: the worker finishes the sends in flight and gives back its
        // leases; the scheduler finishes its tick; stream clients finish the
        // messages they hold. Bounded, so a hung platform cannot hold the
        // shutdown forever.
        let drained = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while background.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                "background work did not stop within 30 s; leases will expire on their own"
            );
        }
        self.state.db.close().await;
        tracing::info!("liancun stopped");
        Ok(())
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(toml: &str) -> Settings {
        Settings::from_toml_overrides(toml).expect("valid settings")
    }

    const BOT: &str = "[[bots]]\nname = \"js\"\nplatform = \"dingtalk\"\napp_secret = \"s\"\n";

    #[test]
    fn a_loopback_service_with_bots_and_holidays_starts_quietly() {
        let s = settings(BOT);
        let w = startup_warnings(&s, "127.0.0.1:8080".parse().unwrap(), &[]);
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn each_gap_an_operator_must_close_is_named() {
        let s = settings("");
        let w = startup_warnings(&s, "0.0.0.0:8080".parse().unwrap(), &[2027]);
        let all = w.join("\n");
        assert_eq!(w.len(), 4, "{all}");
        assert!(all.contains("no bots are configured"), "{all}");
        assert!(
            all.contains("admin API off") && all.contains("LIANCUN_ADMIN_TOKEN"),
            "{all}"
        );
        assert!(
            all.contains("no TLS-terminating proxy") && all.contains("behind_tls_proxy = true"),
            "{all}"
        );
        assert!(
            all.contains("no holiday data for 2027") && all.contains("PUT /api/v1/calendar/2027"),
            "{all}"
        );
    }

    #[test]
    fn a_declared_proxy_and_an_admin_token_silence_the_listener_warnings() {
        let s = settings(&format!(
            "behind_tls_proxy = true\nadmin_token = \"a-long-enough-admin-token-0123456789\"\n{BOT}"
        ));
        let w = startup_warnings(&s, "[::]:8080".parse().unwrap(), &[]);
        assert!(w.is_empty(), "{w:?}");
        // Behind a proxy but no admin token: only that.
        let s = settings(&format!("behind_tls_proxy = true\n{BOT}"));
        let w = startup_warnings(&s, "10.0.0.5:8080".parse().unwrap(), &[]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("admin API off"), "{w:?}");
    }

    #[test]
    fn the_old_log_key_is_warned_about() {
        let s = settings(&format!("log = \"debug\"\n{BOT}"));
        let w = startup_warnings(&s, "127.0.0.1:8080".parse().unwrap(), &[]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("deprecated") && w[0].contains("[log] filter"),
            "{w:?}"
        );
    }
}
