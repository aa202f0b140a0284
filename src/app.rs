//! Wiring: settings → database → router → server with graceful shutdown.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use chrono_tz::Tz;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

use crate::clock::SharedClock;
use crate::config::Settings;
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

    /// Serves on `listener` until `shutdown` resolves, then finishes the
    /// requests in flight and closes the database.
    pub async fn run_until_stopped(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = listener.local_addr().context("listener has no address")?;
        tracing::info!(%addr, backend = ?self.state.db.backend(), "liancun listening");
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
            .context("HTTP server failed")?;
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
