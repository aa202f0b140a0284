//! `/api/v1`: read-only views of the weekly records (tasks, services,
//! visits, ratings, requests) with filters and paging, and the exports a
//! township clerk hands up the line (CSV or xlsx, Chinese headers).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::admin::Page;
use super::auth::{ApiPath, ApiQuery, Principal, authorize, internal, unprocessable};
use super::error::HttpError;
use super::paging::Paged;
use crate::domain::level::Level;
use crate::domain::week::{IsoWeek, local_to_utc, utc_ms_to_local};
use crate::export::{Cell, Table};
use crate::reply::export as zh;
use crate::state::AppState;
use crate::store::admin::{self as org, Owned, ViewFilter};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tasks))
        .routes(routes!(list_services))
        .routes(routes!(list_visits))
        .routes(routes!(list_ratings))
        .routes(routes!(list_requests))
        .routes(routes!(export))
}

/// Filters of the views. Weeks are ISO weeks like `2026-W49` (inclusive).
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ViewQuery {
    township_id: Option<i64>,
    village_id: Option<i64>,
    team_id: Option<i64>,
    /// First ISO week, e.g. 2026-W45.
    week_from: Option<String>,
    /// Last ISO week, e.g. 2026-W49.
    week_to: Option<String>,
    /// Tasks: open, closed or cancelled; requests: the state of their task.
    state: Option<String>,
    /// 1 to 500; default 100.
    limit: Option<i64>,
    offset: Option<i64>,
}

fn week(field: &str, raw: &Option<String>) -> Result<Option<String>, HttpError> {
    raw.as_deref()
        .map(|w| {
            IsoWeek::parse(w.trim())
                .map(|w| w.to_string())
                .ok_or_else(|| unprocessable(field, "an ISO week like 2026-W49"))
        })
        .transpose()
}

/// Checks the query and the principal's scope on every id it names; returns
/// the store filter and the page.
async fn filter(
    state: &AppState,
    who: Principal,
    q: ViewQuery,
    has_state: bool,
) -> Result<(ViewFilter, i64, i64), HttpError> {
    let (limit, offset) = Page {
        limit: q.limit,
        offset: q.offset,
    }
    .checked()?;
    let week_from = week("week_from", &q.week_from)?;
    let week_to = week("week_to", &q.week_to)?;
    if let (Some(a), Some(b)) = (&week_from, &week_to)
        && a > b
    {
        return Err(unprocessable("week_to", "comes before week_from"));
    }
    if let Some(s) = &q.state {
        if !has_state {
            return Err(unprocessable(
                "state",
                "only tasks and requests have a state",
            ));
        }
        if crate::domain::task::TaskState::parse(s).is_none() {
            return Err(unprocessable("state", "must be open, closed or cancelled"));
        }
    }
    let township = who.scope_filter(q.township_id)?;
    let (village, team) = (q.village_id, q.team_id);
    state
        .db
        .read(move |tx| {
            Box::pin(async move {
                if let Some(t) = township {
                    authorize(tx, who, Owned::Township, t, "township").await?;
                }
                if let Some(v) = village {
                    authorize(tx, who, Owned::Village, v, "village").await?;
                }
                if let Some(t) = team {
                    authorize(tx, who, Owned::Team, t, "team").await?;
                }
                Ok::<_, HttpError>(())
            })
        })
        .await?;
    let f = ViewFilter {
        township_id: township,
        village_id: village,
        team_id: team,
        week_from,
        week_to,
        state: q.state,
        from_ms: None,
        to_ms: None,
    };
    Ok((f, limit, offset))
}

fn paged<T>(items: Vec<T>, total: i64, limit: i64, offset: i64) -> Json<Paged<T>> {
    Json(Paged::new(items, total, limit, offset))
}

/// Tasks of the weekly plans, requests and additions.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "records", params(ViewQuery),
    responses((status = 200, body = Paged<org::TaskView>, description = "a page of tasks"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn list_tasks(
    who: Principal,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ViewQuery>,
) -> Result<Json<Paged<org::TaskView>>, HttpError> {
    let (f, limit, offset) = filter(&state, who, q, true).await?;
    let (items, total) = state
        .db
        .read(move |tx| Box::pin(async move { org::tasks(tx, &f, limit, offset).await }))
        .await?;
    Ok(paged(items, total, limit, offset))
}

/// Services (聚服务) recorded in the groups.
#[utoipa::path(get, path = "/api/v1/services", tag = "records", params(ViewQuery),
    responses((status = 200, body = Paged<org::ServiceView>, description = "a page of services"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn list_services(
    who: Principal,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ViewQuery>,
) -> Result<Json<Paged<org::ServiceView>>, HttpError> {
    let (f, limit, offset) = filter(&state, who, q, false).await?;
    let (items, total) = state
        .db
        .read(move |tx| Box::pin(async move { org::services(tx, &f, limit, offset).await }))
        .await?;
    Ok(paged(items, total, limit, offset))
}

/// Household visits (走访).
#[utoipa::path(get, path = "/api/v1/visits", tag = "records", params(ViewQuery),
    responses((status = 200, body = Paged<org::VisitView>, description = "a page of visits"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn list_visits(
    who: Principal,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ViewQuery>,
) -> Result<Json<Paged<org::VisitView>>, HttpError> {
    let (f, limit, offset) = filter(&state, who, q, false).await?;
    let (items, total) = state
        .db
        .read(move |tx| Box::pin(async move { org::visits(tx, &f, limit, offset).await }))
        .await?;
    Ok(paged(items, total, limit, offset))
}

/// Villagers' ratings (one per villager per team per week).
#[utoipa::path(get, path = "/api/v1/ratings", tag = "records", params(ViewQuery),
    responses((status = 200, body = Paged<org::RatingView>, description = "a page of ratings"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn list_ratings(
    who: Principal,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ViewQuery>,
) -> Result<Json<Paged<org::RatingView>>, HttpError> {
    let (f, limit, offset) = filter(&state, who, q, false).await?;
    let (items, total) = state
        .db
        .read(move |tx| Box::pin(async move { org::ratings(tx, &f, limit, offset).await }))
        .await?;
    Ok(paged(items, total, limit, offset))
}

/// Villagers' requests (诉求) and the state of the task each became.
#[utoipa::path(get, path = "/api/v1/requests", tag = "records", params(ViewQuery),
    responses((status = 200, body = Paged<org::RequestView>, description = "a page of requests"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn list_requests(
    who: Principal,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ViewQuery>,
) -> Result<Json<Paged<org::RequestView>>, HttpError> {
    let (f, limit, offset) = filter(&state, who, q, true).await?;
    let (items, total) = state
        .db
        .read(move |tx| Box::pin(async move { org::requests(tx, &f, limit, offset).await }))
        .await?;
    Ok(paged(items, total, limit, offset))
}

/// An export's range and format.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ExportQuery {
    /// `csv` (UTF-8 with BOM) or `xlsx`; default csv.
    format: Option<String>,
    /// First day, YYYY-MM-DD (township time).
    from: Option<String>,
    /// Last day, YYYY-MM-DD, inclusive.
    to: Option<String>,
    /// The city may narrow to one township; a township token always gets its own.
    township_id: Option<i64>,
}

/// Most rows one export holds.
const EXPORT_ROWS: i64 = 100_000;

/// An export never drops rows: past the cap it asks for a shorter range.
fn too_many(total: i64) -> Result<(), HttpError> {
    if total > EXPORT_ROWS {
        return Err(unprocessable(
            "to",
            format!(
                "{total} rows is more than one export holds ({EXPORT_ROWS}); export a shorter range"
            ),
        ));
    }
    Ok(())
}

fn date(field: &str, raw: &Option<String>) -> Result<NaiveDate, HttpError> {
    let raw = raw
        .as_deref()
        .ok_or_else(|| unprocessable(field, "required, YYYY-MM-DD"))?;
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| unprocessable(field, "a date like 2026-12-01"))
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
    State(state): State<AppState>,
    ApiPath(kind): ApiPath<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, HttpError> {
    if !matches!(
        kind.as_str(),
        "tasks" | "services" | "visits" | "ratings" | "weekly_summary"
    ) {
        return Err(HttpError::new(
            StatusCode::NOT_FOUND,
            format!(
                "no export {kind:?}; exports are tasks, services, visits, ratings, weekly_summary"
            ),
        ));
    }
    let xlsx = match q.format.as_deref().unwrap_or("csv") {
        "csv" => false,
        "xlsx" => true,
        _ => return Err(unprocessable("format", "csv or xlsx")),
    };
    let (from, to) = (date("from", &q.from)?, date("to", &q.to)?);
    if to < from {
        return Err(unprocessable("to", "comes before from"));
    }
    if (to - from).num_days() > 366 {
        return Err(unprocessable("to", "at most a year after from"));
    }
    let township = who.scope_filter(q.township_id)?;
    let tz: Tz = match township {
        Some(t) => {
            let row = state
                .db
                .read(move |tx| {
                    Box::pin(async move {
                        authorize(tx, who, Owned::Township, t, "township").await?;
                        Ok::<_, HttpError>(org::township(tx, t).await?)
                    })
                })
                .await?;
            row.and_then(|r| r.timezone)
                .and_then(|z| z.parse().ok())
                .unwrap_or(state.default_tz)
        }
        None => state.default_tz,
    };
    let start = local_to_utc(tz, from.and_time(NaiveTime::MIN)).timestamp_millis();
    let end = local_to_utc(
        tz,
        (to + chrono::Duration::days(1)).and_time(NaiveTime::MIN),
    )
    .timestamp_millis();
    let f = ViewFilter {
        township_id: township,
        from_ms: Some(start),
        to_ms: Some(end),
        ..Default::default()
    };
    let time = move |ms: i64| utc_ms_to_local(tz, ms).format("%Y-%m-%d %H:%M").to_string();
    let table = match kind.as_str() {
        "tasks" => {
            let (rows, total) = state
                .db
                .read(move |tx| Box::pin(async move { org::tasks(tx, &f, EXPORT_ROWS, 0).await }))
                .await?;
            too_many(total)?;
            let mut t = Table::new(zh::TASKS);
            for r in rows {
                let level = Level::from_str_db(&r.level)
                    .map(Level::label)
                    .unwrap_or(&r.level)
                    .to_string();
                t.rows.push(vec![
                    r.township.into(),
                    r.village.into(),
                    r.team.into(),
                    r.week.into(),
                    Cell::Int(r.no),
                    r.text.into(),
                    level.into(),
                    r.owners.join("、").into(),
                    time(r.deadline_at).into(),
                    zh::task_state(&r.state).to_string().into(),
                    zh::task_source(&r.source).to_string().into(),
                    r.closed_at.map(time).into(),
                    r.result.into(),
                    r.cancel_reason.into(),
                ]);
            }
            t
        }
        "services" => {
            let (rows, total) = state
                .db
                .read(move |tx| {
                    Box::pin(async move { org::services(tx, &f, EXPORT_ROWS, 0).await })
                })
                .await?;
            too_many(total)?;
            let mut t = Table::new(zh::SERVICES);
            for r in rows {
                t.rows.push(vec![
                    r.township.into(),
                    r.village.into(),
                    r.team.into(),
                    r.week.into(),
                    time(r.at).into(),
                    r.person.into(),
                    r.task_no.map(|n| format!("#{n}")).into(),
                    r.text.into(),
                ]);
            }
            t
        }
        "visits" => {
            let (rows, total) = state
                .db
                .read(move |tx| Box::pin(async move { org::visits(tx, &f, EXPORT_ROWS, 0).await }))
                .await?;
            too_many(total)?;
            let mut t = Table::new(zh::VISITS);
            for r in rows {
                t.rows.push(vec![
                    r.township.into(),
                    r.village.into(),
                    r.team.into(),
                    r.week.into(),
                    time(r.at).into(),
                    r.person.into(),
                    r.household.into(),
                    zh::yes_no(r.household_id.is_some()).into(),
                    r.text.into(),
                ]);
            }
            t
        }
        "ratings" => {
            let (rows, total) = state
                .db
                .read(move |tx| Box::pin(async move { org::ratings(tx, &f, EXPORT_ROWS, 0).await }))
                .await?;
            too_many(total)?;
            let mut t = Table::new(zh::RATINGS);
            for r in rows {
                t.rows.push(vec![
                    r.township.into(),
                    r.village.into(),
                    r.team.into(),
                    r.week.into(),
                    time(r.at).into(),
                    r.person.into(),
                    Cell::Int(r.score),
                    r.comment.into(),
                ]);
            }
            t
        }
        _ => {
            let mut weeks = Vec::new();
            let (mut w, last) = (IsoWeek::of(from), IsoWeek::of(to));
            while w.monday() <= last.monday() {
                weeks.push(w.to_string());
                w = w.next();
            }
            let rows = state
                .db
                .read(move |tx| {
                    Box::pin(async move { org::weekly_summary(tx, township, &weeks).await })
                })
                .await?;
            let mut t = Table::new(zh::WEEKLY_SUMMARY);
            for r in rows {
                let rate = if r.total > 0 {
                    Cell::Text(format!("{:.0}%", r.closed as f64 * 100.0 / r.total as f64))
                } else {
                    Cell::Empty
                };
                let avg = if r.raters > 0 {
                    Cell::Float(r.rating_sum as f64 / r.raters as f64)
                } else {
                    Cell::Empty
                };
                t.rows.push(vec![
                    r.township.into(),
                    r.village.into(),
                    r.team.into(),
                    r.week.into(),
                    Cell::Int(r.total),
                    Cell::Int(r.closed),
                    Cell::Int(r.on_time),
                    rate,
                    Cell::Int(r.services),
                    Cell::Int(r.visits),
                    Cell::Int(r.requests),
                    Cell::Int(r.raters),
                    avg,
                ]);
            }
            t
        }
    };
    let (bytes, mime, ext) = if xlsx {
        (
            table.to_xlsx().map_err(internal)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        )
    } else {
        (table.to_csv(), "text/csv; charset=utf-8", "csv")
    };
    // ASCII file name for old clients, the Chinese one (RFC 5987) for the rest.
    let ascii = format!("liancun-{kind}-{from}-{to}.{ext}");
    let chinese = format!("{}_{from}_{to}.{ext}", table.sheet);
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        urlencoding::encode(&chinese)
    );
    let mut resp = bytes.into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(internal)?,
    );
    Ok(resp)
}
