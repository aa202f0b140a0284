//! `/api/v1`: the admin endpoints of the scheduler and outbox (run a job,
//! a group's push robot, township admins and schedules, the holiday calendar,
//! dead letters). Bearer `LIANCUN_ADMIN_TOKEN`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use super::auth::Admin;
use super::auth::{
    ApiPath, ApiQuery, Principal, authorize, body, internal, not_found, unprocessable,
};
use super::error::HttpError;
pub use super::paging::Page;
use super::paging::Paged;
use crate::domain::calendar::YearData;
use crate::jobs::schedule::Schedule;
use crate::jobs::{self, Job, Scope};
use crate::state::AppState;
use crate::store::admin::{self as org, Owned};
use crate::store::{StoreError, audit, groups, jobs as q, outbox};

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

/// 204 when the change found its target, else 404 naming what was missing.
fn no_content_or_404(found: bool, missing: &str) -> Result<StatusCode, HttpError> {
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(HttpError::new(StatusCode::NOT_FOUND, missing))
    }
}

/// Which teams a job runs for: a township, a group, or (no body) all — for a
/// township token, all of its township.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RunJob {
    township: Option<i64>,
    group: Option<i64>,
}

/// Runs a scheduled job now (its pushes go at once, quiet hours or not).
#[utoipa::path(post, path = "/api/v1/jobs/{job}/run", tag = "operations",
    params(("job" = String, Path, description = "plan_reminder, plan_missing, service_day, results_reminder, weekly_airing, clearance, overdue_scan, monthly_ranking or project_reminder")),
    request_body(content = RunJob, description = "optional"),
    responses((status = 200, description = "{job, scope, teams, enqueued}"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn run_job(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(job): ApiPath<String>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, HttpError> {
    let Some(job) = Job::parse(&job) else {
        let jobs = Job::ALL.map(Job::as_str).join(", ");
        return Err(HttpError::new(
            StatusCode::NOT_FOUND,
            format!("no job {job:?}; jobs are {jobs}"),
        ));
    };
    let req: RunJob = body(&raw)?;
    let scope = match (req.township, req.group, who.township()) {
        (Some(_), Some(_), _) => {
            return Err(unprocessable(
                "township",
                "give township or group, not both",
            ));
        }
        (Some(t), None, _) => Scope::Township(t),
        (None, Some(g), _) => Scope::Group(g),
        (None, None, Some(own)) => Scope::Township(own),
        (None, None, None) => Scope::All,
    };
    state
        .db
        .read(move |tx| {
            Box::pin(async move {
                match scope {
                    Scope::Township(t) => authorize(tx, who, Owned::Township, t, "township")
                        .await
                        .map(drop),
                    Scope::Group(g) => authorize(tx, who, Owned::Group, g, "group").await.map(drop),
                    Scope::All => Ok::<_, HttpError>(()),
                }
            })
        })
        .await?;
    let now = state.clock.now();
    let report = jobs::run(&state.jobs, job, scope, now, true, now)
        .await
        .map_err(internal)?;
    Ok(Json(
        json!({ "job": job, "scope": scope.key(), "teams": report.teams, "enqueued": report.enqueued }),
    ))
}

/// A group (its push robot secrets are never shown).
#[utoipa::path(get, path = "/api/v1/groups/{id}", tag = "groups",
    params(("id" = i64, Path)),
    responses((status = 200, body = org::Group), (status = 401), (status = 403), (status = 404)))]
async fn get_group(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<org::Group>, HttpError> {
    let g = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Group, id, "group").await?;
                org::group(tx, id).await?.ok_or_else(|| not_found("group"))
            })
        })
        .await?;
    Ok(Json(g))
}

/// A group's push robot. DingTalk groups take a custom robot's
/// `access_token` (and its 加签 `secret`); WeCom groups take the `key` of a
/// group robot's webhook URL. Secrets are write-only.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PushRobot {
    /// DingTalk: the access_token of the custom robot's webhook URL.
    access_token: Option<String>,
    /// DingTalk: the 加签 secret (SEC…), if the robot uses signing.
    secret: Option<String>,
    /// WeCom: the key of the group robot's webhook URL (`…/webhook/send?key=KEY`).
    key: Option<String>,
}

/// What a push robot body means for a group of `platform`: (token, secret),
/// or a 422 naming the field.
fn push_robot_for(platform: &str, r: PushRobot) -> Result<(String, Option<String>), HttpError> {
    match platform {
        "wecom" => {
            if r.access_token.is_some() || r.secret.is_some() {
                let field = if r.access_token.is_some() {
                    "access_token"
                } else {
                    "secret"
                };
                return Err(unprocessable(
                    field,
                    "a WeCom group's push robot is set with {\"key\": …}, the key of its webhook URL",
                ));
            }
            let key = r.key.as_deref().map(str::trim).unwrap_or_default();
            if key.is_empty() {
                return Err(unprocessable(
                    "key",
                    "required: the key=… of the group robot's webhook URL",
                ));
            }
            if key.contains("key=") || key.contains('/') {
                return Err(unprocessable(
                    "key",
                    "give only the value after key= in the webhook URL, not the URL",
                ));
            }
            if key.len() > 200
                || !key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(unprocessable(
                    "key",
                    "1 to 200 letters, digits, - or _ (as in the webhook URL)",
                ));
            }
            Ok((key.to_string(), None))
        }
        _ => {
            if r.key.is_some() {
                return Err(unprocessable(
                    "key",
                    "a DingTalk group's push robot is set with {\"access_token\": …, \"secret\": …}",
                ));
            }
            let token = r.access_token.as_deref().map(str::trim).unwrap_or_default();
            if token.is_empty() || token.len() > 200 {
                return Err(unprocessable("access_token", "must be 1 to 200 characters"));
            }
            if r.secret
                .as_deref()
                .is_some_and(|s| !s.starts_with("SEC") || s.len() > 200)
            {
                return Err(unprocessable("secret", "a 加签 secret starts with SEC"));
            }
            Ok((token.to_string(), r.secret))
        }
    }
}

/// Sets a group's custom push robot (write-only secrets).
#[utoipa::path(put, path = "/api/v1/groups/{id}/push-robot", tag = "groups",
    params(("id" = i64, Path)), request_body = PushRobot,
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn set_push_robot(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<StatusCode, HttpError> {
    let r: PushRobot = body(&raw)?;
    // A group's platform never changes, so reading it first is safe.
    let group = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Group, id, "group").await?;
                Ok::<_, HttpError>(org::group(tx, id).await?)
            })
        })
        .await?
        .ok_or_else(|| not_found("group"))?;
    let (token, secret) = push_robot_for(&group.platform, r)?;
    let now = state.clock.now_ms();
    let actor = who.actor();
    let found = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Group, id, "group").await?;
                let had = org::group(tx, id).await?.is_some_and(|g| g.has_push_robot);
                let found =
                    groups::set_push_webhook(tx, id, Some(&token), secret.as_deref()).await?;
                // Secrets are write-only: the log says that one was set, never what.
                let after = json!({ "has_push_robot": true, "signed": secret.is_some() });
                audit::record(
                    tx,
                    now,
                    &actor,
                    "push_robot.set",
                    &format!("group:{id}"),
                    Some(&json!({ "has_push_robot": had })),
                    Some(&after),
                )
                .await?;
                Ok::<_, HttpError>(found)
            })
        })
        .await?;
    no_content_or_404(found, "no such group")
}

/// Clears a group's custom push robot (pushes go through the enterprise robot).
#[utoipa::path(delete, path = "/api/v1/groups/{id}/push-robot", tag = "groups",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
async fn clear_push_robot(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, HttpError> {
    let now = state.clock.now_ms();
    let actor = who.actor();
    let found = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Group, id, "group").await?;
                let found = groups::set_push_webhook(tx, id, None, None).await?;
                if found {
                    audit::record(
                        tx,
                        now,
                        &actor,
                        "push_robot.clear",
                        &format!("group:{id}"),
                        None,
                        Some(&json!({ "has_push_robot": false })),
                    )
                    .await?;
                }
                Ok::<_, HttpError>(found)
            })
        })
        .await?;
    no_content_or_404(found, "no such group")
}

/// A township admin, by platform identity (created if new).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TownshipAdmin {
    /// `dingtalk` or `wecom`.
    #[schema(value_type = String)]
    platform: crate::platform::Platform,
    user_id: String,
    #[serde(default)]
    name: String,
}

/// The township's admins (told of missing plans and escalated tasks).
#[utoipa::path(get, path = "/api/v1/townships/{id}/admins", tag = "townships",
    params(("id" = i64, Path), Page),
    responses((status = 200, body = Paged<org::Person>, description = "a page of the township's admins"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn list_township_admins(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Paged<org::Person>>, HttpError> {
    page.checked()?;
    let people = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Township, id, "township").await?;
                Ok::<_, HttpError>(org::township_admins(tx, id).await?)
            })
        })
        .await?;
    Ok(Json(page.of(people)?))
}

/// Adds a township admin. A person who belongs to another township (and
/// not to this one) is refused with 403, unchanged.
#[utoipa::path(post, path = "/api/v1/townships/{id}/admins", tag = "townships",
    params(("id" = i64, Path)), request_body = TownshipAdmin,
    responses((status = 200, description = "{township, person}"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn add_township_admin(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, HttpError> {
    let a: TownshipAdmin = body(&raw)?;
    if a.user_id.trim().is_empty() || a.user_id.len() > 128 {
        return Err(unprocessable("user_id", "must be 1 to 128 characters"));
    }
    // Bounded like every other name; empty keeps a known person's name.
    let display = match a.name.trim() {
        "" => String::new(),
        n => super::admin_org::name("name", n)?,
    };
    let now = state.clock.now_ms();
    let actor = who.actor();
    let person = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Township, id, "township").await?;
                // Another township's person is not adopted nor renamed.
                if let Some(p) =
                    groups::person_by_platform_id(tx, a.platform.as_str(), a.user_id.trim()).await?
                {
                    who.check_person(&org::person_townships(tx, p.id).await?)?;
                }
                let pid =
                    groups::upsert_person(tx, a.platform.as_str(), a.user_id.trim(), &display, now)
                        .await?;
                q::add_township_admin(tx, id, pid).await?;
                let after = json!({ "person": pid, "platform": a.platform.as_str(), "user_id": a.user_id.trim() });
                audit::record(tx, now, &actor, "township_admin.add", &format!("township:{id}"), None, Some(&after)).await?;
                Ok::<_, HttpError>(pid)
            })
        })
        .await?;
    Ok(Json(json!({ "township": id, "person": person })))
}

/// Removes a township admin (the person stays).
#[utoipa::path(delete, path = "/api/v1/townships/{id}/admins/{person_id}", tag = "townships",
    params(("id" = i64, Path), ("person_id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
async fn remove_township_admin(
    who: Principal,
    State(state): State<AppState>,
    ApiPath((id, person)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, HttpError> {
    let now = state.clock.now_ms();
    let actor = who.actor();
    let found = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Township, id, "township").await?;
                let found = org::remove_township_admin(tx, id, person).await?;
                if found {
                    audit::record(
                        tx,
                        now,
                        &actor,
                        "township_admin.remove",
                        &format!("township:{id}"),
                        Some(&json!({ "person": person })),
                        None,
                    )
                    .await?;
                }
                Ok::<_, HttpError>(found)
            })
        })
        .await?;
    no_content_or_404(found, "no such township admin")
}

/// A cron expression in township time ('' disables the job there).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Cron {
    cron: String,
}

/// Overrides a job's schedule in one township.
#[utoipa::path(put, path = "/api/v1/townships/{id}/schedule/{job}", tag = "townships",
    params(("id" = i64, Path), ("job" = String, Path)), request_body = Cron,
    responses((status = 200, description = "{township, cron, enabled}"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn set_schedule(
    who: Principal,
    State(state): State<AppState>,
    ApiPath((id, job)): ApiPath<(i64, String)>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, HttpError> {
    if Job::parse(&job).is_none() {
        return Err(HttpError::new(
            StatusCode::NOT_FOUND,
            format!("no job {job:?}"),
        ));
    }
    let c: Cron = body(&raw)?;
    // Validated where it enters: a bad schedule is refused now, never found at firing time.
    let parsed = Schedule::parse_optional(&c.cron).map_err(|e| unprocessable("cron", e))?;
    let cron = parsed.map(|s| s.expr().to_string()).unwrap_or_default();
    let stored = cron.clone();
    let now = state.clock.now_ms();
    let actor = who.actor();
    state
        .db
        .write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Township, id, "township").await?;
                let before = q::schedule_overrides(tx, id)
                    .await?
                    .into_iter()
                    .find(|(j, _)| *j == job)
                    .map(|(_, c)| json!({ "cron": c }));
                q::set_schedule_override(tx, id, &job, Some(&stored)).await?;
                audit::record(
                    tx,
                    now,
                    &actor,
                    "schedule.set",
                    &format!("township:{id}/job:{job}"),
                    before.as_ref(),
                    Some(&json!({ "cron": stored })),
                )
                .await?;
                Ok::<_, HttpError>(())
            })
        })
        .await?;
    Ok(Json(
        json!({ "township": id, "cron": cron, "enabled": !cron.is_empty() }),
    ))
}

/// Drops a township's override: the job follows the default schedule again.
#[utoipa::path(delete, path = "/api/v1/townships/{id}/schedule/{job}", tag = "townships",
    params(("id" = i64, Path), ("job" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
async fn clear_schedule(
    who: Principal,
    State(state): State<AppState>,
    ApiPath((id, job)): ApiPath<(i64, String)>,
) -> Result<StatusCode, HttpError> {
    let now = state.clock.now_ms();
    let actor = who.actor();
    state
        .db
        .write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Township, id, "township").await?;
                let before = q::schedule_overrides(tx, id)
                    .await?
                    .into_iter()
                    .find(|(j, _)| *j == job)
                    .map(|(_, c)| json!({ "cron": c }));
                q::set_schedule_override(tx, id, &job, None).await?;
                audit::record(
                    tx,
                    now,
                    &actor,
                    "schedule.clear",
                    &format!("township:{id}/job:{job}"),
                    before.as_ref(),
                    None,
                )
                .await?;
                Ok::<_, HttpError>(())
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The holiday calendar in force (any token may read it).
#[utoipa::path(get, path = "/api/v1/calendar", tag = "calendar",
    responses((status = 200, description = "{years, missing_years, warnings}"), (status = 401)))]
async fn get_calendar(
    _: Principal,
    State(state): State<AppState>,
) -> Result<Json<Value>, HttpError> {
    let cal = state
        .jobs
        .calendar
        .read()
        .map_err(|_| internal("calendar lock poisoned"))?
        .clone();
    let years: Vec<Value> = cal
        .years()
        .into_iter()
        .filter_map(|y| cal.year(y).map(|d| json!({ "year": y, "notice": d.notice, "holidays": d.holidays, "workdays": d.workdays })))
        .collect();
    let gaps = crate::state::calendar_gaps(&cal, state.clock.now());
    let warnings: Vec<String> = gaps
        .iter()
        .map(|y| format!("no holiday data for {y}: weekday jobs follow plain weekends until the State Council notice is added"))
        .collect();
    Ok(Json(
        json!({ "years": years, "missing_years": gaps, "warnings": warnings }),
    ))
}

/// Adds or corrects a year of the holiday calendar (city admin only: it is
/// the State Council's calendar, the same for every township).
#[utoipa::path(put, path = "/api/v1/calendar/{year}", tag = "calendar",
    params(("year" = i32, Path)),
    request_body(content = Object, description = "{notice, holidays: [YYYY-MM-DD], workdays: [YYYY-MM-DD]}"),
    responses((status = 200, description = "{year, notice}"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn put_calendar_year(
    Admin(who): Admin,
    State(state): State<AppState>,
    ApiPath(year): ApiPath<i32>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, HttpError> {
    let data: YearData = body(&raw)?;
    let mut candidate = state
        .jobs
        .calendar
        .read()
        .map_err(|_| internal("calendar lock poisoned"))?
        .clone();
    candidate
        .set_year(year, data.clone())
        .map_err(|e| unprocessable("calendar", e))?;
    let toml = toml::to_string(&data).map_err(internal)?;
    let now = state.clock.now_ms();
    let actor = who.actor();
    state
        .db
        .write(move |tx| {
            Box::pin(async move {
                let before = q::calendar_years(tx)
                    .await?
                    .into_iter()
                    .find(|(y, _)| *y == i64::from(year))
                    .map(|(_, t)| json!({ "toml": t }));
                q::set_calendar_year(tx, i64::from(year), &toml, now).await?;
                audit::record(
                    tx,
                    now,
                    &actor,
                    "calendar.set",
                    &format!("year:{year}"),
                    before.as_ref(),
                    Some(&json!({ "toml": toml })),
                )
                .await
            })
        })
        .await?;
    *state
        .jobs
        .calendar
        .write()
        .map_err(|_| internal("calendar lock poisoned"))? = candidate;
    Ok(Json(json!({ "year": year, "notice": data.notice })))
}

/// Dead letters, newest first: a township token sees its township's only.
#[utoipa::path(get, path = "/api/v1/outbox/dead", tag = "outbox",
    params(Page),
    responses((status = 200, body = Paged<org::DeadLetter>, description = "a page of dead letters, newest first"), (status = 401), (status = 422)))]
async fn dead_letters(
    who: Principal,
    State(state): State<AppState>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Paged<org::DeadLetter>>, HttpError> {
    let (limit, offset) = page.checked()?;
    let township = who.township();
    let (rows, total) = state
        .db
        .read(move |tx| {
            Box::pin(async move { org::dead_letters(tx, township, limit, offset).await })
        })
        .await?;
    Ok(Json(Paged::new(rows, total, limit, offset)))
}

/// Puts a dead letter back in the queue.
#[utoipa::path(post, path = "/api/v1/outbox/dead/{id}/retry", tag = "outbox",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
async fn retry_dead(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, HttpError> {
    let now = state.clock.now_ms();
    let actor = who.actor();
    let found = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::DeadLetter, id, "dead letter").await?;
                let found = outbox::retry_dead(tx, id, now).await?;
                if found {
                    audit::record(
                        tx,
                        now,
                        &actor,
                        "dead_letter.retry",
                        &format!("outbox:{id}"),
                        None,
                        None,
                    )
                    .await?;
                }
                Ok::<_, HttpError>(found)
            })
        })
        .await?;
    no_content_or_404(found, "no such dead letter")
}

/// The audit log, newest first. The city reads all of it; a township token
/// reads what concerns its township: changes made with its tokens, the city's
/// changes to it, and bindings and roles in its groups.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(Page),
    responses((status = 200, body = Paged<AuditEntry>, description = "a page of the audit log, newest first"), (status = 401), (status = 422)))]
async fn audit_log(
    who: Principal,
    State(state): State<AppState>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Paged<AuditEntry>>, HttpError> {
    let (limit, offset) = page.checked()?;
    let township = who.township();
    let (rows, total) = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                match township {
                    Some(t) => org::township_audit(tx, t, limit, offset).await,
                    None => {
                        let rows = audit::list(tx, limit, offset).await?;
                        let total = audit::count(tx).await?;
                        Ok::<_, StoreError>((rows, total))
                    }
                }
            })
        })
        .await?;
    let entries: Vec<AuditEntry> = rows
        .into_iter()
        .map(|e| {
            // Masked again as read: entries written before phones were masked.
            let parse = |s: Option<String>| {
                s.and_then(|s| serde_json::from_str::<Value>(&s).ok())
                    .map(|v| audit::masked(&v))
            };
            AuditEntry {
                id: e.id,
                at: e.at,
                actor: e.actor,
                action: e.action,
                target: e.target,
                before: parse(e.before_json),
                after: parse(e.after_json),
            }
        })
        .collect();
    Ok(Json(Paged::new(entries, total, limit, offset)))
}

/// One change in the audit log.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    /// `admin` (the city), `token:<id>` (a township token), or who did it in a chat.
    pub actor: String,
    /// What was done, e.g. `township.update`, `group.bind`.
    pub action: String,
    /// What it was done to, e.g. `township:1`.
    pub target: String,
    /// The state before (secrets never), if there was one.
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    /// The state after, if there is one.
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
}
