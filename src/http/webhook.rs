//! `POST /webhook/dingtalk/{bot}`: the DingTalk robot callback.
//!
//! Order matters: find the bot (its secret), bound the body, verify the
//! signature on the raw bytes, and only then decode and handle. Every
//! rejection stores nothing and is counted by outcome.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use super::MAX_BODY;
use super::error::HttpError;

use crate::platform::{Platform, dingtalk};
use crate::state::AppState;
use crate::telemetry;

/// The metric label of DingTalk HTTP callbacks.
const PLATFORM: &str = Platform::Dingtalk.as_str();

pub fn router() -> Router<AppState> {
    Router::new().route("/webhook/dingtalk/{bot}", post(dingtalk_callback))
}

fn reject(outcome: &'static str, status: StatusCode, reason: &str) -> Response {
    telemetry::callback(PLATFORM, outcome);
    HttpError::new(status, reason).into_webhook_response()
}

/// Reads at most `MAX_BODY` bytes; `Err` when the body is larger.
pub(super) async fn read_body(headers: &HeaderMap, body: Body) -> Result<axum::body::Bytes, ()> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return Err(());
    }
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| ())
}

async fn dingtalk_callback(
    State(state): State<AppState>,
    Path(bot_name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = std::time::Instant::now();
    let Some(bot) = state
        .settings
        .bot(&bot_name)
        .filter(|b| b.platform == Platform::Dingtalk)
    else {
        return reject("unknown_bot", StatusCode::NOT_FOUND, "unknown bot");
    };
    let Ok(bytes) = read_body(&headers, body).await else {
        return reject(
            "too_large",
            StatusCode::PAYLOAD_TOO_LARGE,
            "body larger than 64 KiB",
        );
    };
    let Some(secret) = bot.app_secret.as_ref() else {
        // Validated at load: every DingTalk bot has a secret.
        return reject(
            "unknown_bot",
            StatusCode::NOT_FOUND,
            "bot has no app secret",
        );
    };
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Err(e) = dingtalk::sign::verify_callback(
        h("timestamp"),
        h("sign"),
        secret.expose(),
        state.clock.now_ms(),
    ) {
        tracing::warn!(bot = %bot_name, error = %e, "DingTalk callback refused");
        return reject(
            "bad_signature",
            StatusCode::UNAUTHORIZED,
            &format!("signature check failed: {e}"),
        );
    }
    let inbound = match dingtalk::inbound::decode(&bot_name, &bytes) {
        Ok(m) => m,
        Err(e) => return reject("malformed", StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let reply = crate::state::answer(&state, PLATFORM, inbound).await.reply;
    metrics::histogram!(telemetry::CALLBACK_SECONDS).record(started.elapsed().as_secs_f64());
    Json(dingtalk::message_body(&reply)).into_response()
}
