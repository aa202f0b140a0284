//! Wiring: settings → database → senders → router → server with graceful
//! shutdown, plus the outbox worker, the scheduler and the Stream clients.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;

use crate::clock::SharedClock;
use crate::config::{BotMode, Settings};
use crate::jobs::JobCtx;
use crate::jobs::scheduler::Scheduler;
use crate::outbox::QuietHours;
use crate::outbox::worker::{Worker, WorkerConfig};
use crate::platform::Platform;
use crate::platform::dingtalk::stream::{StreamBot, run_stream};
use crate::platform::send::{BotAccount, Endpoints, Senders};
use crate::store::Db;
use crate::telemetry;

pub use crate::state::{AppState, Shared};
use crate::state::{calendar_gaps, load_calendar};

/// Every bot's sender, from the settings.
pub fn senders(settings: &Settings) -> anyhow::Result<Senders> {
    let client = reqwest::Client::builder()
        .user_agent(concat!("liancun/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot build the HTTP client")?;
    let at = Endpoints {
        dingtalk_api: settings.dingtalk.api_base.clone(),
        dingtalk_oapi: settings.dingtalk.oapi_base.clone(),
        wecom_api: settings.wecom.api_base.clone(),
    };
    let bots = settings
        .bots
        .iter()
        .map(|b| BotAccount {
            name: b.name.clone(),
            platform: b.platform,
            robot_code: b.robot_code.clone(),
            app_key: b.app_key.clone(),
            app_secret: b.app_secret.as_ref().map(|s| s.expose().to_string()),
        })
        .collect();
    Ok(Senders::new(client, &at, bots))
}

/// The bots whose DingTalk messages come over a Stream connection.
fn stream_bots(settings: &Settings) -> Vec<StreamBot> {
    settings
        .bots
        .iter()
        .filter(|b| b.platform == Platform::Dingtalk && b.mode == BotMode::Stream)
        .filter_map(|b| {
            let (Some(app_key), Some(app_secret)) = (&b.app_key, &b.app_secret) else {
                // Validated at load: a stream bot has both.
                tracing::error!(bot = %b.name, "stream bot has no app_key/app_secret; client not started");
                return None;
            };
            Some(StreamBot {
                name: b.name.clone(),
                app_key: app_key.clone(),
                app_secret: app_secret.expose().to_string(),
                robot_code: b.robot_code.clone(),
                api_base: settings.dingtalk.api_base.clone(),
                oapi_base: settings.dingtalk.oapi_base.clone(),
            })
        })
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
        let senders = Arc::new(senders(&settings)?);
        let worker = Worker::new(
            db.clone(),
            Arc::clone(&clock),
            Arc::clone(&senders),
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
                senders,
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
        for bot in stream_bots(&self.state.settings) {
            let mut stop = stop_rx.clone();
            let handler: Arc<dyn crate::platform::Handler> = Arc::new(self.state.clone());
            background.spawn(run_stream(bot, handler, async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            }));
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
