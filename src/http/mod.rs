//! HTTP transport: routing, extractors and status codes; no business rules.

pub mod access;
pub mod admin;
pub mod admin_org;
pub mod admin_ranking;
pub mod admin_views;
pub mod auth;
pub mod charts;
pub mod error;
pub mod health;
pub mod paging;
pub mod serve;
pub mod webhook;
pub mod wecom;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{InfoBuilder, LicenseBuilder};
use utoipa::{PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Largest request body accepted anywhere (the product refuses bodies over 64 KiB).
pub const MAX_BODY: usize = 64 * 1024;

/// How long a request may take before it is answered 504.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Where the admin API's OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// The admin API: its routes and its OpenAPI document, made from the same
/// `#[utoipa::path]` annotations so they cannot drift. Every `/api/v1`
/// endpoint joins through one of the `routes!` lists merged here.
pub fn admin_api() -> (Router<AppState>, OpenApi) {
    let (router, mut doc) = OpenApiRouter::new()
        .merge(
            admin::router()
                .merge(admin_org::router())
                .merge(admin_ranking::router())
                .merge(admin_views::router())
                .layer(RequestBodyLimitLayer::new(MAX_BODY)),
        )
        .merge(admin_org::csv_router().layer(RequestBodyLimitLayer::new(admin_org::MAX_CSV)))
        .split_for_parts();
    doc.info = InfoBuilder::new()
        .title("liancun admin API")
        .version(env!("CARGO_PKG_VERSION"))
        .license(Some(
            LicenseBuilder::new()
                .name("MIT")
                .identifier(Some("MIT"))
                .build(),
        ))
        .description(Some(
            "联村助手的管理接口. Bearer token: LIANCUN_ADMIN_TOKEN (the city) or a township token \
             issued by POST /api/v1/tokens (only its township). Lists take ?limit= (1 to 500, \
             default 100) and ?offset= and answer {items, total, limit, offset}. Instants \
             (`at`, `*_at`) are Unix time in milliseconds, UTC. Every error is an RFC 9457 \
             problem document (application/problem+json, schema Problem): 400 malformed JSON \
             (with line and column), 401 no or bad token, 403 another township's data or a \
             city-only endpoint, 404 unknown id or route, 405 wrong method, 409 a conflict said \
             in words, 413 body too large, 422 bad input (detail starts with the field, and \
             `field` names it).",
        ))
        .build();
    doc.components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    doc.security = Some(vec![SecurityRequirement::new(
        "bearer",
        Vec::<String>::new(),
    )]);
    doc.components
        .get_or_insert_with(Default::default)
        .schemas
        .insert(
            error::Problem::name().into_owned(),
            error::Problem::schema(),
        );
    (router, doc)
}

/// The OpenAPI document as served at [`OPENAPI_PATH`] (and printed by
/// `liancun openapi`): the annotations' document, with what every operation
/// shares filled in once — a description for each response that has none,
/// the problem document for every error, and the unit of every instant.
pub fn openapi_json() -> Result<String, serde_json::Error> {
    let (_, doc) = admin_api();
    let mut v = serde_json::to_value(&doc)?;
    complete_document(&mut v);
    serde_json::to_string(&v)
}

/// See [`openapi_json`].
fn complete_document(doc: &mut Value) {
    let problem = json!({
        "description": "",
        "content": { error::PROBLEM_JSON: { "schema": { "$ref": "#/components/schemas/Problem" } } }
    });
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(ops) = item.as_object_mut() else {
                continue;
            };
            for op in ops.values_mut() {
                // A body may be malformed or too large, whatever the annotation says.
                let has_body = op.get("requestBody").is_some();
                let takes_json = op["requestBody"]["content"]
                    .get("application/json")
                    .is_some();
                let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                    continue;
                };
                if has_body {
                    responses.entry("413").or_insert_with(|| json!({}));
                }
                if takes_json {
                    responses.entry("400").or_insert_with(|| json!({}));
                }
                for (status, resp) in responses.iter_mut() {
                    let code: u16 = status.parse().unwrap_or(0);
                    if code >= 400 {
                        let said = resp
                            .get("description")
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        let mut p = problem.clone();
                        p["description"] = json!(if said.is_empty() {
                            status_words(code)
                        } else {
                            said
                        });
                        *resp = p;
                    } else if resp
                        .get("description")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        resp["description"] = json!(status_words(code));
                    }
                }
            }
        }
    }
    units(doc);
}

/// What a response means when its annotation does not say.
fn status_words(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "created",
        204 => "done; no body",
        400 => "the body is not valid JSON (the problem says the line and column)",
        401 => "no bearer token, or a wrong or revoked one",
        403 => "another township's data, or an endpoint only the city admin may use",
        404 => "no such id (or route)",
        405 => "the method is not allowed here",
        409 => "conflicts with what is stored (the problem says what, in words)",
        413 => "the body is larger than the endpoint takes",
        422 => "bad input; the problem's detail starts with the field and `field` names it",
        _ => "an error (a problem document)",
    }
}

/// Every integer property named `at` or `…_at` is an instant: say its unit.
fn units(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get_mut("properties") {
                for (name, prop) in props.iter_mut() {
                    let is_int = match prop.get("type") {
                        Some(Value::String(t)) => t == "integer",
                        Some(Value::Array(ts)) => ts.iter().any(|t| t == "integer"),
                        _ => false,
                    };
                    if is_int && (name == "at" || name.ends_with("_at")) {
                        prop["description"] = json!("Unix time in milliseconds (UTC)");
                        prop["format"] = json!("int64");
                    }
                }
            }
            for child in map.values_mut() {
                units(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(units),
        _ => {}
    }
}

/// The methods each documented route takes, as axum writes `Allow`
/// (`GET,HEAD,POST`), for the 405 problem's detail; the document itself
/// is served on GET.
fn allowed_methods(doc: &OpenApi) -> std::collections::HashMap<String, String> {
    let mut map: std::collections::HashMap<String, String> = doc
        .paths
        .paths
        .iter()
        .map(|(path, item)| {
            let methods = [
                ("GET", item.get.is_some()),
                ("HEAD", item.get.is_some() || item.head.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("PATCH", item.patch.is_some()),
                ("DELETE", item.delete.is_some()),
            ];
            let allow: Vec<&str> = methods
                .iter()
                .filter(|(_, yes)| *yes)
                .map(|(m, _)| *m)
                .collect();
            (path.clone(), allow.join(","))
        })
        .collect();
    map.insert(OPENAPI_PATH.to_string(), "GET,HEAD".to_string());
    map
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let (admin, doc) = admin_api();
    let allowed = std::sync::Arc::new(allowed_methods(&doc));
    // Serialized once; a failure (never expected) is logged and answered 500.
    let json = openapi_json().map_err(|e| e.to_string());
    let openapi = get(move || {
        let json = json.clone();
        async move {
            match json {
                Ok(json) => (
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    )],
                    json,
                )
                    .into_response(),
                Err(e) => {
                    tracing::error!(error = %e, "the OpenAPI document does not serialize");
                    error::HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
                        .into_response()
                }
            }
        }
    });
    Router::new()
        // The webhook reads its body itself, bounded, to count and explain an
        // oversize body; the limit layer guards every other route.
        .merge(
            health::router()
                .merge(charts::router())
                .layer(RequestBodyLimitLayer::new(MAX_BODY)),
        )
        .merge(admin)
        .route(OPENAPI_PATH, openapi)
        .merge(webhook::router())
        .merge(wecom::router())
        .fallback(error::not_found)
        .with_state(state)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(axum::middleware::from_fn_with_state(
            allowed,
            error::problems,
        ))
        // Outermost last: the request's id is checked or made before the
        // trace span opens, so every line of the request carries it.
        .layer(axum::middleware::from_fn(access::track))
        .layer(TraceLayer::new_for_http().make_span_with(access::span))
        .layer(axum::middleware::from_fn(access::request_id))
}
