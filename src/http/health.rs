//! `/healthz` (alive), `/readyz` (database reachable and, on SQLite, its
//! writer thread running: see `Db::ping`), `/metrics` (Prometheus).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    // A database that does not answer within 2 s is not ready; probes must
    // not hang on a dead connection.
    let ok = tokio::time::timeout(std::time::Duration::from_secs(2), state.db.ping())
        .await
        .unwrap_or(false);
    if ok {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // Outbox depth is read at scrape time, so every replica reports the shared truth.
    let depth = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        state
            .db
            .read(|tx| Box::pin(async move { crate::store::outbox::depth(tx).await })),
    )
    .await;
    match depth {
        Ok(Ok((pending, sent, dead))) => {
            for (s, n) in [("pending", pending), ("sent", sent), ("dead", dead)] {
                metrics::gauge!(crate::telemetry::OUTBOX, "state" => s).set(n as f64);
            }
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot read outbox depth for /metrics"),
        Err(_) => tracing::warn!("outbox depth query timed out for /metrics"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::telemetry::render(&state.metrics),
    )
}
