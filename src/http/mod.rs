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
pub mod serve;
pub mod webhook;
pub mod wecom;

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

/// Largest request body accepted anywhere (the product refuses bodies over 64 KiB).
pub const MAX_BODY: usize = 64 * 1024;

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
    doc.info.title = "liancun admin API".to_string();
    doc.info.description = Some(
        "联村助手的管理接口. Bearer token: LIANCUN_ADMIN_TOKEN (the city) or a township token \
         issued by POST /api/v1/tokens (only its township). Errors are {\"error\": reason}: \
         401 no or bad token, 403 another township's data or a city-only endpoint, 404 unknown id, \
         409 a name already taken, 413 body too large, 422 bad input naming the field."
            .to_string(),
    );
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
    (router, doc)
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let (admin, doc) = admin_api();
    // Serialized once; a failure (never expected) is logged and answered 500.
    let json = doc.to_json().map_err(|e| e.to_string());
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
            Duration::from_secs(15),
        ))
        .layer(CatchPanicLayer::custom(error::panic_response))
        // Outermost last: a caller's id is checked, or one is made, before
        // the trace span opens, so every line of the request carries it.
        .layer(axum::middleware::from_fn(access::track))
        .layer(PropagateRequestIdLayer::new(access::REQUEST_ID_HEADER))
        .layer(TraceLayer::new_for_http().make_span_with(access::span))
        .layer(SetRequestIdLayer::new(
            access::REQUEST_ID_HEADER,
            access::MakeId,
        ))
        .layer(axum::middleware::from_fn(access::sanitize_id))
}
