//! `/api/v1`: the admin endpoints of the scheduler and outbox (run a job,
//! a group's push robot, township admins and schedules, the holiday calendar,
//! dead letters, the audit log). Each handler extracts, calls one method of
//! [`crate::admin::Admin`] (rules in `crate::admin::ops`) and answers.

use axum::Json;
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use super::auth::CityAdmin;
use super::auth::{ApiPath, ApiQuery, Principal, Service, body};
use super::error::HttpError;
pub use super::paging::Page;
use super::paging::{Paged, list};
use crate::admin::ops::{
    self, AuditEntry, CalendarView, Cron, JobRun, PushRobot, RunJob, ScheduleSet, TownshipAdmin,
};
use crate::domain::calendar::YearData;
use crate::state::AppState;
use crate::store::admin as org;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(run_job))
        .routes(routes!(get_group))
        .routes(routes!(set_push_robot, clear_push_robot))
        .routes(routes!(list_township_admins, add_township_admin))
        .routes(routes!(remove_township_admin))
        .routes(routes!(set_schedule, clear_schedule))
        .routes(routes!(get_calendar))
        .routes(routes!(put_calendar_year))
        .routes(routes!(dead_letters))
        .routes(routes!(audit_log))
        .routes(routes!(retry_dead))
}

/// Runs a scheduled job now (its pushes go at once, quiet hours or not).
#[utoipa::path(post, path = "/api/v1/jobs/{job}/run", tag = "operations",
    params(("job" = String, Path, description = "plan_reminder, plan_missing, service_day, results_reminder, weekly_airing, clearance, overdue_scan, monthly_ranking or project_reminder")),
    request_body(content = RunJob, description = "optional"),
    responses((status = 200, description = "{job, scope, teams, enqueued}"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn run_job(
    who: Principal,
    Service(admin): Service,
    ApiPath(job): ApiPath<String>,
    raw: axum::body::Bytes,
) -> Result<Json<JobRun>, HttpError> {
    let job = ops::job_named(&job)?;
    let req: RunJob = body(&raw)?;
    Ok(Json(admin.run_job(who, job, req).await?))
}

/// A group (its push robot secrets are never shown).
#[utoipa::path(get, path = "/api/v1/groups/{id}", tag = "groups",
    params(("id" = i64, Path)),
    responses((status = 200, body = org::Group), (status = 401), (status = 403), (status = 404)))]
async fn get_group(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<org::Group>, HttpError> {
    Ok(Json(admin.group(who, id).await?))
}

/// Sets a group's custom push robot (write-only secrets).
#[utoipa::path(put, path = "/api/v1/groups/{id}/push-robot", tag = "groups",
    params(("id" = i64, Path)), request_body = PushRobot,
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn set_push_robot(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<StatusCode, HttpError> {
    let r: PushRobot = body(&raw)?;
    admin.set_push_robot(who, id, r).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Clears a group's custom push robot (pushes go through the enterprise robot).
#[utoipa::path(delete, path = "/api/v1/groups/{id}/push-robot", tag = "groups",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
async fn clear_push_robot(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, HttpError> {
    admin.clear_push_robot(who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The township's admins (told of missing plans and escalated tasks).
#[utoipa::path(get, path = "/api/v1/townships/{id}/admins", tag = "townships",
    params(("id" = i64, Path), Page),
    responses((status = 200, body = Paged<org::Person>, description = "a page of the township's admins"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn list_township_admins(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Paged<org::Person>>, HttpError> {
    list(admin.township_admins(who, id, page).await)
}

/// Adds a township admin. A person who belongs to another township (and
/// not to this one) is refused with 403, unchanged.
#[utoipa::path(post, path = "/api/v1/townships/{id}/admins", tag = "townships",
    params(("id" = i64, Path)), request_body = TownshipAdmin,
    responses((status = 200, description = "{township, person}"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn add_township_admin(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, HttpError> {
    let a: TownshipAdmin = body(&raw)?;
    let person = admin.add_township_admin(who, id, a).await?;
    Ok(Json(json!({ "township": id, "person": person })))
}

/// Removes a township admin (the person stays).
#[utoipa::path(delete, path = "/api/v1/townships/{id}/admins/{person_id}", tag = "townships",
    params(("id" = i64, Path), ("person_id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
async fn remove_township_admin(
    who: Principal,
    Service(admin): Service,
    ApiPath((id, person)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, HttpError> {
    admin.remove_township_admin(who, id, person).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Overrides a job's schedule in one township.
#[utoipa::path(put, path = "/api/v1/townships/{id}/schedule/{job}", tag = "townships",
    params(("id" = i64, Path), ("job" = String, Path)), request_body = Cron,
    responses((status = 200, description = "{township, cron, enabled}"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn set_schedule(
    who: Principal,
    Service(admin): Service,
    ApiPath((id, job)): ApiPath<(i64, String)>,
    raw: axum::body::Bytes,
) -> Result<Json<ScheduleSet>, HttpError> {
    let job = ops::schedulable(&job)?;
    let c: Cron = body(&raw)?;
    Ok(Json(admin.set_schedule(who, id, job, c).await?))
}

/// Drops a township's override: the job follows the default schedule again.
#[utoipa::path(delete, path = "/api/v1/townships/{id}/schedule/{job}", tag = "townships",
    params(("id" = i64, Path), ("job" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
async fn clear_schedule(
    who: Principal,
    Service(admin): Service,
    ApiPath((id, job)): ApiPath<(i64, String)>,
) -> Result<StatusCode, HttpError> {
    admin.clear_schedule(who, id, job).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The holiday calendar in force (any token may read it).
#[utoipa::path(get, path = "/api/v1/calendar", tag = "calendar",
    responses((status = 200, description = "{years, missing_years, warnings}"), (status = 401)))]
async fn get_calendar(
    _: Principal,
    Service(admin): Service,
) -> Result<Json<CalendarView>, HttpError> {
    Ok(Json(admin.calendar()?))
}

/// Adds or corrects a year of the holiday calendar (city admin only: it is
/// the State Council's calendar, the same for every township).
#[utoipa::path(put, path = "/api/v1/calendar/{year}", tag = "calendar",
    params(("year" = i32, Path)),
    request_body(content = Object, description = "{notice, holidays: [YYYY-MM-DD], workdays: [YYYY-MM-DD]}"),
    responses((status = 200, description = "{year, notice}"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn put_calendar_year(
    CityAdmin(who): CityAdmin,
    Service(admin): Service,
    ApiPath(year): ApiPath<i32>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, HttpError> {
    let data: YearData = body(&raw)?;
    let notice = data.notice.clone();
    admin.put_calendar_year(who, year, data).await?;
    Ok(Json(json!({ "year": year, "notice": notice })))
}

/// Dead letters, newest first: a township token sees its township's only.
#[utoipa::path(get, path = "/api/v1/outbox/dead", tag = "outbox",
    params(Page),
    responses((status = 200, body = Paged<org::DeadLetter>, description = "a page of dead letters, newest first"), (status = 401), (status = 422)))]
async fn dead_letters(
    who: Principal,
    Service(admin): Service,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Paged<org::DeadLetter>>, HttpError> {
    list(admin.dead_letters(who, page).await)
}

/// Puts a dead letter back in the queue.
#[utoipa::path(post, path = "/api/v1/outbox/dead/{id}/retry", tag = "outbox",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
async fn retry_dead(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, HttpError> {
    admin.retry_dead(who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit log, newest first. The city reads all of it; a township token
/// reads what concerns its township: changes made with its tokens, the city's
/// changes to it, and bindings and roles in its groups.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(Page),
    responses((status = 200, body = Paged<AuditEntry>, description = "a page of the audit log, newest first"), (status = 401), (status = 422)))]
async fn audit_log(
    who: Principal,
    Service(admin): Service,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Paged<AuditEntry>>, HttpError> {
    list(admin.audit_log(who, page).await)
}
