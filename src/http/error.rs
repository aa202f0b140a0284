//! Error responses: a status and a JSON reason, in one place.

use std::any::Any;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An HTTP failure with a reason safe to show the caller. 5xx reasons are
/// generic; their cause is logged where it happened.
#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub reason: String,
}

impl HttpError {
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.reason }))).into_response()
    }
}

pub async fn not_found() -> HttpError {
    HttpError::new(StatusCode::NOT_FOUND, "no such route")
}

pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown");
    tracing::error!(panic = detail, "request handler panicked");
    HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}
