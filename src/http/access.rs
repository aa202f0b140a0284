//! Request ids, the access log and the HTTP metrics.
//!
//! Every request gets an id: the caller's `X-Request-Id` when it sends one,
//! otherwise a new one. The id is echoed in the response and carried by the
//! request's span, so every log line written while serving the request
//! names it. Requests to `/api/v1` and `/console` are logged at `info` once
//! answered (method, route template, status, duration, principal); every
//! request is counted by route template and status. Query strings are never
//! logged: webhook URLs carry signatures and nonces in theirs.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Span;

use super::auth::Principal;
use crate::telemetry;

/// The header that carries the request id, both ways.
pub const REQUEST_ID: &str = "x-request-id";
/// [`REQUEST_ID`] as a header name.
pub const REQUEST_ID_HEADER: axum::http::HeaderName =
    axum::http::HeaderName::from_static(REQUEST_ID);

/// Longest request id taken from a caller; a longer one is replaced.
const MAX_ID: usize = 128;

/// Gives the request its id and echoes it in the response: the caller's
/// `X-Request-Id` when it is printable ASCII of at most [`MAX_ID`] bytes,
/// else 16 new random hex digits (what was sent is never logged). The
/// outermost layer, so the request's span and every layer below see the id.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = match req.headers().get(REQUEST_ID) {
        Some(v) if acceptable(v) => v.clone(),
        _ => {
            let made = new_id();
            req.headers_mut().insert(REQUEST_ID_HEADER, made.clone());
            made
        }
    };
    let mut resp = next.run(req).await;
    resp.headers_mut().entry(REQUEST_ID_HEADER).or_insert(id);
    resp
}

/// Whether a caller's request id is kept (see [`request_id`]).
fn acceptable(v: &HeaderValue) -> bool {
    !v.is_empty() && v.len() <= MAX_ID && v.as_bytes().iter().all(u8::is_ascii_graphic)
}

/// 16 random hex digits.
fn new_id() -> HeaderValue {
    HeaderValue::try_from(format!("{:016x}", fastrand::u64(..)))
        .unwrap_or_else(|_| HeaderValue::from_static("0000000000000000"))
}

/// The span of one request: its id, method and path (never the query).
pub fn span<B>(req: &axum::http::Request<B>) -> Span {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
}

/// Where the admin API's extractors note who called, for the access log.
#[derive(Clone, Default)]
struct PrincipalSlot(Arc<OnceLock<String>>);

/// Notes the authenticated caller of this request for the access log:
/// `city`, or `token:<id>` for a township token.
pub fn note(parts: &Parts, who: &Principal) {
    if let Some(slot) = parts.extensions.get::<PrincipalSlot>() {
        let _ = slot.0.set(match who {
            Principal::City => "city".to_string(),
            Principal::Township { token_id, .. } => format!("token:{token_id}"),
        });
    }
}

/// Whether requests to `path` get an access log line.
fn logged(path: &str) -> bool {
    ["/api/v1", "/console"].iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The method as a metric label: the standard ones, else `other` (a caller
/// must not be able to invent label values).
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts and times every request; logs those of `/api/v1` and `/console`.
pub async fn track(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    // The template (`/api/v1/teams/{id}`), never the path itself: ids would
    // make a metric series per row.
    let route = req.extensions().get::<MatchedPath>().cloned();
    let log = logged(req.uri().path());
    let slot = PrincipalSlot::default();
    req.extensions_mut().insert(slot.clone());
    let resp = next.run(req).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    telemetry::http_request(method, route, status, seconds);
    if log {
        tracing::info!(
            target: "liancun::access",
            method,
            route,
            status,
            duration_ms = (seconds * 1000.0 * 1000.0).round() / 1000.0,
            principal = slot.0.get().map(String::as_str).unwrap_or("-"),
            "request"
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callers_request_id_is_kept_only_when_printable_and_short() {
        for (id, kept) in [
            ("lb-7f3a-0001", true),
            ("", false),
            ("has space", false),
            ("ünïcode", false),
            (&"x".repeat(MAX_ID), true),
            (&"x".repeat(MAX_ID + 1), false),
        ] {
            let v = HeaderValue::from_bytes(id.as_bytes()).unwrap();
            assert_eq!(acceptable(&v), kept, "{id:?}");
        }
        let made = new_id();
        assert_eq!(made.len(), 16);
        assert!(acceptable(&made));
    }

    #[test]
    fn only_the_admin_api_and_the_console_are_access_logged() {
        for (path, want) in [
            ("/api/v1/teams", true),
            ("/api/v1", true),
            ("/console", true),
            ("/console/teams/1", true),
            ("/api/v10", false),
            ("/consoles", false),
            ("/webhook/dingtalk/js", false),
            ("/metrics", false),
            ("/healthz", false),
        ] {
            assert_eq!(logged(path), want, "{path}");
        }
    }
}
