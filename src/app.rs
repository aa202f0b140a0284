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
use crate::platform::Inbound;
use crate::reply::{self, Reply};
use crate::store::Db;
use crate::telemetry;

/// What every handler shares; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub clock: SharedClock,
    pub default_tz: Tz,
    pub metrics: PrometheusHandle,
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
                    telemetry::command(kind.map(telemetry::kind_label).unwrap_or("none"));
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
        Ok(App {
            state: AppState {
                db,
                settings: Arc::new(settings),
                clock,
                default_tz,
                metrics: telemetry::metrics_handle(),
            },
        })
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
        tracing::info!(%addr, backend = ?self.state.db.backend(), "liancun listening");
        // One signal for the server and the stream clients. If the server
        // fails, the sender is dropped, which stops the clients as well.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let streams: Vec<_> = self
            .state
            .settings
            .bots
            .iter()
            .filter(|b| b.platform == PlatformKind::Dingtalk && b.mode == BotMode::Stream)
            .map(|b| {
                let mut stop = stop_rx.clone();
                tokio::spawn(crate::platform::dingtalk::stream::run_stream(
                    self.state.clone(),
                    b.name.clone(),
                    async move {
                        let _ = stop.wait_for(|stopped| *stopped).await;
                    },
                ))
            })
            .collect();
        let served = axum::serve(listener, self.router())
            .with_graceful_shutdown(async move {
                shutdown.await;
                let _ = stop_tx.send(true);
            })
            .await
            .context("HTTP server failed");
        for s in streams {
            if let Err(e) = s.await {
                tracing::error!(error = %e, "a stream client task failed");
            }
        }
        served?;
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
