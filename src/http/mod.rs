//! HTTP transport: routing, extractors and status codes; no business rules.

pub mod admin;
pub mod admin_ranking;
pub mod error;
pub mod health;
pub mod webhook;
pub mod wecom;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::app::AppState;

/// Largest request body accepted anywhere (PRODUCT.md: > 64 KiB is refused).
pub const MAX_BODY: usize = 64 * 1024;

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        // The webhook reads its body itself, bounded, to count and explain an
        // oversize body; the limit layer guards every other route.
        .merge(
            health::router()
                .merge(admin::router())
                .merge(admin_ranking::router())
                .layer(RequestBodyLimitLayer::new(MAX_BODY)),
        )
        .merge(webhook::router())
        .merge(wecom::router())
        .fallback(error::not_found)
        .with_state(state)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            Duration::from_secs(15),
        ))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(TraceLayer::new_for_http())
}
