//! `/api/v1`: read-only views of the weekly records (tasks, services,
//! visits, ratings, requests) with filters and paging, and the exports a
//! township clerk hands up the line (CSV or xlsx, Chinese headers). Each
//! handler extracts, calls one method of [`crate::admin::Admin`] (rules in
//! `crate::admin::views`) and answers.

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{ApiPath, ApiQuery, Principal, Service};
use super::error::HttpError;
use super::paging::{Paged, list};
use crate::admin::AdminError;
use crate::admin::views::{ExportKind, ExportQuery, ViewQuery};
use crate::state::AppState;
use crate::store::admin as org;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tasks))
        .routes(routes!(list_services))
        .routes(routes!(list_visits))
        .routes(routes!(list_ratings))
        .routes(routes!(list_requests))
        .routes(routes!(export))
}

/// Tasks of the weekly plans, requests and additions.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "records", params(ViewQuery),
    responses((status = 200, body = Paged<org::TaskView>, description = "a page of tasks"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn list_tasks(
    who: Principal,
    Service(admin): Service,
    ApiQuery(q): ApiQuery<ViewQuery>,
) -> Result<Json<Paged<org::TaskView>>, HttpError> {
    list(admin.tasks(who, q).await)
}

/// Services (聚服务) recorded in the groups.
#[utoipa::path(get, path = "/api/v1/services", tag = "records", params(ViewQuery),
    responses((status = 200, body = Paged<org::ServiceView>, description = "a page of services"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn list_services(
    who: Principal,
    Service(admin): Service,
    ApiQuery(q): ApiQuery<ViewQuery>,
) -> Result<Json<Paged<org::ServiceView>>, HttpError> {
    list(admin.services(who, q).await)
}

/// Household visits (走访).
#[utoipa::path(get, path = "/api/v1/visits", tag = "records", params(ViewQuery),
    responses((status = 200, body = Paged<org::VisitView>, description = "a page of visits"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn list_visits(
    who: Principal,
    Service(admin): Service,
    ApiQuery(q): ApiQuery<ViewQuery>,
) -> Result<Json<Paged<org::VisitView>>, HttpError> {
    list(admin.visits(who, q).await)
}

/// Villagers' ratings (one per villager per team per week).
#[utoipa::path(get, path = "/api/v1/ratings", tag = "records", params(ViewQuery),
    responses((status = 200, body = Paged<org::RatingView>, description = "a page of ratings"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn list_ratings(
    who: Principal,
    Service(admin): Service,
    ApiQuery(q): ApiQuery<ViewQuery>,
) -> Result<Json<Paged<org::RatingView>>, HttpError> {
    list(admin.ratings(who, q).await)
}

/// Villagers' requests (诉求) and the state of the task each became.
#[utoipa::path(get, path = "/api/v1/requests", tag = "records", params(ViewQuery),
    responses((status = 200, body = Paged<org::RequestView>, description = "a page of requests"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn list_requests(
    who: Principal,
    Service(admin): Service,
    ApiQuery(q): ApiQuery<ViewQuery>,
) -> Result<Json<Paged<org::RequestView>>, HttpError> {
    list(admin.requests(who, q).await)
}

/// Exports a date range as CSV or xlsx with Chinese headers. `tasks` are
/// the tasks due in the range; `services`, `visits` and `ratings` those
/// recorded in it; `weekly_summary` has a row per team and ISO week from the
/// week of `from` to the week of `to`.
#[utoipa::path(get, path = "/api/v1/exports/{kind}", tag = "exports",
    params(("kind" = String, Path, description = "tasks, services, visits, ratings or weekly_summary"), ExportQuery),
    responses((status = 200, description = "text/csv or xlsx attachment", content_type = "text/csv"),
        (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn export(
    who: Principal,
    Service(admin): Service,
    ApiPath(kind): ApiPath<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, HttpError> {
    let kind = ExportKind::named(&kind)?;
    let file = admin.export(who, kind, q).await?;
    // ASCII file name for old clients, the Chinese one (RFC 5987) for the rest.
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        file.ascii_name,
        urlencoding::encode(&file.chinese_name)
    );
    let disposition = HeaderValue::from_str(&disposition).map_err(AdminError::internal)?;
    let mut resp = file.bytes.into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(file.mime));
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    Ok(resp)
}
