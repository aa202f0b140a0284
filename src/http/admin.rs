//! `/api/v1`: the admin endpoints of the scheduler and outbox (run a job,
//! a group's push robot, township admins and schedules, the holiday calendar,
//! dead letters). Bearer `LIANCUN_ADMIN_TOKEN`.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::error::HttpError;
use crate::app::AppState;
use crate::domain::calendar::YearData;
use crate::jobs::schedule::Schedule;
use crate::jobs::{self, JOBS, Scope};
use crate::store::{StoreError, audit, groups, jobs as q, outbox};

/// The actor of admin API changes in the audit log (the city admin token).
const ADMIN: &str = "admin";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/jobs/{job}/run", post(run_job))
        .route("/api/v1/groups/{id}", get(get_group))
        .route(
            "/api/v1/groups/{id}/push-robot",
            put(set_push_robot).delete(clear_push_robot),
        )
        .route("/api/v1/townships/{id}/admins", post(add_township_admin))
        .route(
            "/api/v1/townships/{id}/schedule/{job}",
            put(set_schedule).delete(clear_schedule),
        )
        .route("/api/v1/calendar", get(get_calendar))
        .route("/api/v1/calendar/{year}", put(put_calendar_year))
        .route("/api/v1/outbox/dead", get(dead_letters))
        .route("/api/v1/audit", get(audit_log))
        .route("/api/v1/outbox/dead/{id}/retry", post(retry_dead))
}

/// The city admin, authenticated by bearer token.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(expected) = state.settings.admin_token.as_ref() else {
            return Err(HttpError::new(
                StatusCode::UNAUTHORIZED,
                "the admin API is off: LIANCUN_ADMIN_TOKEN is not set",
            ));
        };
        let given = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes())) && !given.is_empty() {
            Ok(Admin)
        } else {
            Err(HttpError::new(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token",
            ))
        }
    }
}

/// 204 when the change found its target, else 404 naming what was missing.
fn no_content_or_404(found: bool, missing: &str) -> Result<StatusCode, HttpError> {
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(HttpError::new(StatusCode::NOT_FOUND, missing))
    }
}

fn unprocessable(field: &str, why: impl std::fmt::Display) -> HttpError {
    HttpError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("{field}: {why}"))
}

fn internal(e: impl std::fmt::Display) -> HttpError {
    tracing::error!(error = %e, "admin API request failed");
    HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

fn store_err(e: StoreError) -> HttpError {
    match e {
        StoreError::NotFound => HttpError::new(StatusCode::NOT_FOUND, "not found"),
        StoreError::Conflict(c) => HttpError::new(StatusCode::CONFLICT, format!("conflict: {c}")),
        other => internal(other),
    }
}

/// Parses a JSON body, answering 422 with serde's reason (which names the field).
fn body<T: serde::de::DeserializeOwned>(raw: &[u8]) -> Result<T, HttpError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return serde_json::from_slice(b"{}").map_err(|e| unprocessable("body", e));
    }
    serde_json::from_slice(raw).map_err(|e| unprocessable("body", e))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RunJob {
    township: Option<i64>,
    group: Option<i64>,
}

async fn run_job(
    _: Admin,
    State(state): State<AppState>,
    Path(job): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, HttpError> {
    if !JOBS.contains(&job.as_str()) {
        return Err(HttpError::new(
            StatusCode::NOT_FOUND,
            format!("no job {job:?}; jobs are {}", JOBS.join(", ")),
        ));
    }
    let req: RunJob = body(&raw)?;
    let scope = match (req.township, req.group) {
        (Some(_), Some(_)) => {
            return Err(unprocessable(
                "township",
                "give township or group, not both",
            ));
        }
        (Some(t), None) => Scope::Township(t),
        (None, Some(g)) => Scope::Group(g),
        (None, None) => Scope::All,
    };
    let exists = match scope {
        Scope::Township(t) => {
            state
                .db
                .read(move |tx| Box::pin(async move { groups::township_exists(tx, t).await }))
                .await
        }
        Scope::Group(g) => {
            state
                .db
                .read(move |tx| {
                    Box::pin(async move { groups::group_info(tx, g).await.map(|g| g.is_some()) })
                })
                .await
        }
        Scope::All => Ok(true),
    }
    .map_err(store_err)?;
    if !exists {
        return Err(HttpError::new(
            StatusCode::NOT_FOUND,
            "no such township or group",
        ));
    }
    let now = state.clock.now();
    let report = jobs::run(&state.jobs, &job, scope, now, true, now)
        .await
        .map_err(internal)?;
    Ok(Json(
        json!({ "job": job, "scope": scope.key(), "teams": report.teams, "enqueued": report.enqueued }),
    ))
}

async fn get_group(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Value>, HttpError> {
    let g = state
        .db
        .read(move |tx| Box::pin(async move { groups::group_info(tx, id).await }))
        .await
        .map_err(store_err)?
        .ok_or_else(|| HttpError::new(StatusCode::NOT_FOUND, "no such group"))?;
    Ok(Json(json!(g)))
}

/// A group's push robot. DingTalk groups take a custom robot's
/// `access_token` (and its 加签 `secret`); WeCom groups take the `key` of a
/// group robot's webhook URL. Secrets are write-only.
#[derive(Deserialize)]
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

async fn set_push_robot(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    raw: axum::body::Bytes,
) -> Result<StatusCode, HttpError> {
    let r: PushRobot = body(&raw)?;
    // A group's platform never changes, so reading it first is safe.
    let group = state
        .db
        .read(move |tx| Box::pin(async move { groups::group_info(tx, id).await }))
        .await
        .map_err(store_err)?
        .ok_or_else(|| HttpError::new(StatusCode::NOT_FOUND, "no such group"))?;
    let (token, secret) = push_robot_for(&group.platform, r)?;
    let now = state.clock.now_ms();
    let had = group.has_push_robot;
    let found = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                let found =
                    groups::set_push_webhook(tx, id, Some(&token), secret.as_deref()).await?;
                // Secrets are write-only: the log says that one was set, never what.
                let after = json!({ "has_push_robot": true, "signed": secret.is_some() });
                audit::record(
                    tx,
                    now,
                    ADMIN,
                    "push_robot.set",
                    &format!("group:{id}"),
                    Some(&json!({ "has_push_robot": had })),
                    Some(&after),
                )
                .await?;
                Ok(found)
            })
        })
        .await
        .map_err(store_err)?;
    no_content_or_404(found, "no such group")
}

async fn clear_push_robot(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, HttpError> {
    let now = state.clock.now_ms();
    let found = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                let found = groups::set_push_webhook(tx, id, None, None).await?;
                if found {
                    audit::record(
                        tx,
                        now,
                        ADMIN,
                        "push_robot.clear",
                        &format!("group:{id}"),
                        None,
                        Some(&json!({ "has_push_robot": false })),
                    )
                    .await?;
                }
                Ok::<_, StoreError>(found)
            })
        })
        .await
        .map_err(store_err)?;
    no_content_or_404(found, "no such group")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TownshipAdmin {
    platform: crate::platform::Platform,
    user_id: String,
    #[serde(default)]
    name: String,
}

async fn add_township_admin(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, HttpError> {
    let a: TownshipAdmin = body(&raw)?;
    if a.user_id.trim().is_empty() || a.user_id.len() > 128 {
        return Err(unprocessable("user_id", "must be 1 to 128 characters"));
    }
    let now = state.clock.now_ms();
    let person = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                if !groups::township_exists(tx, id).await? {
                    return Err(StoreError::NotFound);
                }
                let pid =
                    groups::upsert_person(tx, a.platform.as_str(), a.user_id.trim(), &a.name, now)
                        .await?;
                q::add_township_admin(tx, id, pid).await?;
                let after = json!({ "person": pid, "platform": a.platform.as_str(), "user_id": a.user_id.trim() });
                audit::record(tx, now, ADMIN, "township_admin.add", &format!("township:{id}"), None, Some(&after)).await?;
                Ok(pid)
            })
        })
        .await
        .map_err(store_err)?;
    Ok(Json(json!({ "township": id, "person": person })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Cron {
    cron: String,
}

async fn set_schedule(
    _: Admin,
    State(state): State<AppState>,
    Path((id, job)): Path<(i64, String)>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, HttpError> {
    if !JOBS.contains(&job.as_str()) {
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
    state
        .db
        .write(move |tx| {
            Box::pin(async move {
                if !groups::township_exists(tx, id).await? {
                    return Err(StoreError::NotFound);
                }
                let before = q::schedule_overrides(tx, id)
                    .await?
                    .into_iter()
                    .find(|(j, _)| *j == job)
                    .map(|(_, c)| json!({ "cron": c }));
                q::set_schedule_override(tx, id, &job, Some(&stored)).await?;
                audit::record(
                    tx,
                    now,
                    ADMIN,
                    "schedule.set",
                    &format!("township:{id}/job:{job}"),
                    before.as_ref(),
                    Some(&json!({ "cron": stored })),
                )
                .await
            })
        })
        .await
        .map_err(store_err)?;
    Ok(Json(
        json!({ "township": id, "cron": cron, "enabled": !cron.is_empty() }),
    ))
}

async fn clear_schedule(
    _: Admin,
    State(state): State<AppState>,
    Path((id, job)): Path<(i64, String)>,
) -> Result<StatusCode, HttpError> {
    let now = state.clock.now_ms();
    state
        .db
        .write(move |tx| {
            Box::pin(async move {
                let before = q::schedule_overrides(tx, id)
                    .await?
                    .into_iter()
                    .find(|(j, _)| *j == job)
                    .map(|(_, c)| json!({ "cron": c }));
                q::set_schedule_override(tx, id, &job, None).await?;
                audit::record(
                    tx,
                    now,
                    ADMIN,
                    "schedule.clear",
                    &format!("township:{id}/job:{job}"),
                    before.as_ref(),
                    None,
                )
                .await
            })
        })
        .await
        .map_err(store_err)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_calendar(_: Admin, State(state): State<AppState>) -> Result<Json<Value>, HttpError> {
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
    let gaps = crate::app::calendar_gaps(&cal, state.clock.now());
    let warnings: Vec<String> = gaps
        .iter()
        .map(|y| format!("no holiday data for {y}: weekday jobs follow plain weekends until the State Council notice is added"))
        .collect();
    Ok(Json(
        json!({ "years": years, "missing_years": gaps, "warnings": warnings }),
    ))
}

async fn put_calendar_year(
    _: Admin,
    State(state): State<AppState>,
    Path(year): Path<i32>,
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
    state
        .db
        .write(move |tx| {
            Box::pin(async move {
                q::set_calendar_year(tx, i64::from(year), &toml, now).await?;
                audit::record(
                    tx,
                    now,
                    ADMIN,
                    "calendar.set",
                    &format!("year:{year}"),
                    None,
                    Some(&json!({ "toml": toml })),
                )
                .await
            })
        })
        .await
        .map_err(store_err)?;
    *state
        .jobs
        .calendar
        .write()
        .map_err(|_| internal("calendar lock poisoned"))? = candidate;
    Ok(Json(json!({ "year": year, "notice": data.notice })))
}

async fn dead_letters(_: Admin, State(state): State<AppState>) -> Result<Json<Value>, HttpError> {
    let rows = state
        .db
        .read(|tx| Box::pin(async move { outbox::dead_letters(tx, 100, 0).await }))
        .await
        .map_err(store_err)?;
    Ok(Json(json!({ "dead_letters": rows })))
}

async fn retry_dead(
    _: Admin,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, HttpError> {
    let now = state.clock.now_ms();
    let found = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                let found = outbox::retry_dead(tx, id, now).await?;
                if found {
                    audit::record(
                        tx,
                        now,
                        ADMIN,
                        "dead_letter.retry",
                        &format!("outbox:{id}"),
                        None,
                        None,
                    )
                    .await?;
                }
                Ok::<_, StoreError>(found)
            })
        })
        .await
        .map_err(store_err)?;
    no_content_or_404(found, "no such dead letter")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    offset: Option<i64>,
}

/// The audit log, newest first; `?limit=` (1–500, default 100) and `?offset=`.
async fn audit_log(
    _: Admin,
    State(state): State<AppState>,
    axum::extract::Query(page): axum::extract::Query<Page>,
) -> Result<Json<Value>, HttpError> {
    let limit = page.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(unprocessable("limit", "must be 1 to 500"));
    }
    let offset = page.offset.unwrap_or(0);
    if offset < 0 {
        return Err(unprocessable("offset", "cannot be negative"));
    }
    let rows = state
        .db
        .read(move |tx| Box::pin(async move { audit::list(tx, limit, offset).await }))
        .await
        .map_err(store_err)?;
    let entries: Vec<Value> = rows
        .into_iter()
        .map(|e| {
            let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str::<Value>(&s).ok());
            json!({ "id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "target": e.target,
                    "before": parse(e.before_json), "after": parse(e.after_json) })
        })
        .collect();
    Ok(Json(json!({ "entries": entries })))
}
