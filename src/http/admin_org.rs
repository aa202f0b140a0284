//! `/api/v1`: the organisation a township sets up without chatting —
//! township tokens, townships, villages (and their household registry),
//! teams and their people, people, groups.
//!
//! Rows of no township — a group not bound to a team, a person on no team
//! and admin of no township — may be read and placed by any token; once
//! placed they belong to that township.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::admin::Page;
use super::auth::{
    Admin, ApiPath, ApiQuery, Principal, authorize, body, forbidden, internal, new_token,
    not_found, token_hash, unprocessable,
};
use super::error::HttpError;
use super::paging::Paged;
use crate::domain::role::MAX_TEAM_MEMBERS;
use crate::import::households as import;
use crate::state::AppState;
use crate::store::admin::{self as org, Owned};
use crate::store::{Tx, audit, groups, households};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(list_townships, create_township))
        .routes(routes!(get_township, patch_township))
        .routes(routes!(list_villages, create_village))
        .routes(routes!(get_village, patch_village))
        .routes(routes!(list_teams, create_team))
        .routes(routes!(get_team, patch_team))
        .routes(routes!(set_team_people))
        .routes(routes!(list_people, create_person))
        .routes(routes!(get_person, patch_person))
        .routes(routes!(list_groups))
        .routes(routes!(bind_group))
}

/// The CSV import takes larger bodies than the rest of the API.
pub fn csv_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_households, import_households))
}

/// Largest household upload accepted, CSV or `.xlsx`: room for
/// [`import::MAX_ROWS`] rows of long names (a 50,000-row CSV of short ones
/// is about 1.5 MB), so that the row cap, not the body, decides.
pub const MAX_CSV: usize = 8 * 1024 * 1024;

/// An upload refused: 413 past the row cap, else 422 with the reason
/// (which names line and column) after `what` (`csv`, `xlsx`, `file`).
fn import_error(what: &str, e: import::ImportError) -> HttpError {
    match e {
        import::ImportError::TooManyRows { .. } | import::ImportError::TooBigUnzipped => {
            HttpError::new(StatusCode::PAYLOAD_TOO_LARGE, format!("{what}: {e}"))
        }
        import::ImportError::Invalid(why) => {
            // The reason starts "line N, column …" where a row is at fault:
            // the problem says the line apart too.
            let line = why
                .strip_prefix("line ")
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse().ok());
            let e = unprocessable(what, why);
            match line {
                Some(n) => e.at_line(n, None),
                None => e,
            }
        }
    }
}

/// `Some(None)` for an explicit `null`, `None` when the field is absent.
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A trimmed name of 1 to 64 characters, or 422 naming `field`.
pub(super) fn name(field: &str, raw: &str) -> Result<String, HttpError> {
    let s = raw.trim();
    if s.is_empty() || s.chars().count() > 64 || s.chars().any(char::is_control) {
        return Err(unprocessable(
            field,
            "must be 1 to 64 characters, no control characters",
        ));
    }
    Ok(s.to_string())
}

pub use crate::domain::phone::mobile;

fn created<T: serde::Serialize>(v: T) -> (StatusCode, Json<T>) {
    (StatusCode::CREATED, Json(v))
}

// ---------------------------------------------------------------- tokens

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewToken {
    township_id: i64,
    /// Who holds it, e.g. "凤林镇组织办 王科长".
    name: String,
}

/// Township tokens (never their secrets). City admin only.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", params(Page),
    responses((status = 200, body = Paged<org::Token>, description = "a page of township tokens"), (status = 401), (status = 403), (status = 422)))]
async fn list_tokens(
    _: Admin,
    State(state): State<AppState>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Paged<org::Token>>, HttpError> {
    page.checked()?;
    let items = state
        .db
        .read(|tx| Box::pin(async move { org::tokens(tx).await }))
        .await?;
    Ok(Json(page.of(items)?))
}

/// Issues a township token; the response holds it once (`token`). City admin only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, description = "{id, township_id, name, created_at, revoked_at, token}"),
        (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn create_token(
    Admin(who): Admin,
    State(state): State<AppState>,
    raw: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), HttpError> {
    let t: NewToken = body(&raw)?;
    let label = name("name", &t.name)?;
    let secret = new_token().map_err(internal)?;
    let hash = token_hash(&secret);
    let now = state.clock.now_ms();
    let actor = who.actor();
    let township = t.township_id;
    let row = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                if org::township(tx, township).await?.is_none() {
                    return Err(unprocessable("township_id", "no such township"));
                }
                let row = org::insert_token(tx, township, &label, &hash, now).await?;
                audit::record(
                    tx,
                    now,
                    &actor,
                    "token.create",
                    &format!("token:{}", row.id),
                    None,
                    Some(&json!({ "township_id": township, "name": label })),
                )
                .await?;
                Ok::<_, HttpError>(row)
            })
        })
        .await?;
    let mut v = json!(row);
    v["token"] = json!(secret);
    Ok((StatusCode::CREATED, Json(v)))
}

/// Revokes a township token at once. City admin only.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
async fn revoke_token(
    Admin(who): Admin,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, HttpError> {
    let now = state.clock.now_ms();
    let actor = who.actor();
    state
        .db
        .write(move |tx| {
            Box::pin(async move {
                let before = org::token(tx, id)
                    .await?
                    .ok_or_else(|| not_found("token"))?;
                if org::revoke_token(tx, id, now).await? {
                    audit::record(
                        tx,
                        now,
                        &actor,
                        "token.revoke",
                        &format!("token:{id}"),
                        Some(&json!(before)),
                        Some(&json!({ "revoked_at": now })),
                    )
                    .await?;
                }
                Ok::<_, HttpError>(())
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- townships

/// A new township. Omitted fields take the defaults (members may not plan;
/// 红 1, 橙 3, 黄 5, 绿 7 days; the service's time zone).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewTownship {
    name: String,
    timezone: Option<String>,
    #[serde(default)]
    members_may_plan: bool,
    red_days: Option<i64>,
    orange_days: Option<i64>,
    yellow_days: Option<i64>,
    green_days: Option<i64>,
}

/// Changes to a township; absent fields stay. `timezone: null` returns to
/// the service's default.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TownshipPatch {
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    timezone: Option<Option<String>>,
    members_may_plan: Option<bool>,
    red_days: Option<i64>,
    orange_days: Option<i64>,
    yellow_days: Option<i64>,
    green_days: Option<i64>,
}

fn timezone(raw: &str) -> Result<String, HttpError> {
    raw.trim()
        .parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_string())
        .map_err(|_| unprocessable("timezone", "not an IANA time zone like Asia/Shanghai"))
}

/// Applies a patch to a township, validating each field given.
fn apply_township(t: &mut org::Township, p: TownshipPatch) -> Result<(), HttpError> {
    if let Some(n) = p.name {
        t.name = name("name", &n)?;
    }
    if let Some(tz) = p.timezone {
        t.timezone = tz.as_deref().map(timezone).transpose()?;
    }
    if let Some(m) = p.members_may_plan {
        t.members_may_plan = m;
    }
    for (field, given, slot) in [
        ("red_days", p.red_days, &mut t.red_days),
        ("orange_days", p.orange_days, &mut t.orange_days),
        ("yellow_days", p.yellow_days, &mut t.yellow_days),
        ("green_days", p.green_days, &mut t.green_days),
    ] {
        if let Some(d) = given {
            if !(1..=7).contains(&d) {
                return Err(unprocessable(
                    field,
                    "must be 1 to 7 days (a task never runs past Sunday)",
                ));
            }
            *slot = d;
        }
    }
    Ok(())
}

/// Townships: all for the city, its own for a township token.
#[utoipa::path(get, path = "/api/v1/townships", tag = "townships", params(Page),
    responses((status = 200, body = Paged<org::Township>, description = "a page of townships"), (status = 401), (status = 422)))]
async fn list_townships(
    who: Principal,
    State(state): State<AppState>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Paged<org::Township>>, HttpError> {
    page.checked()?;
    let only = who.township();
    let items = state
        .db
        .read(move |tx| Box::pin(async move { org::townships(tx, only).await }))
        .await?;
    Ok(Json(page.of(items)?))
}

/// Creates a township. City admin only.
#[utoipa::path(post, path = "/api/v1/townships", tag = "townships", request_body = NewTownship,
    responses((status = 201, body = org::Township), (status = 401), (status = 403), (status = 409), (status = 422)))]
async fn create_township(
    Admin(who): Admin,
    State(state): State<AppState>,
    raw: axum::body::Bytes,
) -> Result<(StatusCode, Json<org::Township>), HttpError> {
    let n: NewTownship = body(&raw)?;
    let mut t = org::Township {
        id: 0,
        name: name("name", &n.name)?,
        timezone: None,
        members_may_plan: false,
        red_days: 1,
        orange_days: 3,
        yellow_days: 5,
        green_days: 7,
        created_at: 0,
    };
    apply_township(
        &mut t,
        TownshipPatch {
            timezone: n.timezone.map(Some),
            members_may_plan: Some(n.members_may_plan),
            red_days: n.red_days,
            orange_days: n.orange_days,
            yellow_days: n.yellow_days,
            green_days: n.green_days,
            ..Default::default()
        },
    )?;
    let now = state.clock.now_ms();
    let actor = who.actor();
    let row = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                let row = org::insert_township(tx, &t, now).await?;
                audit::record(
                    tx,
                    now,
                    &actor,
                    "township.create",
                    &format!("township:{}", row.id),
                    None,
                    Some(&json!(row)),
                )
                .await?;
                Ok::<_, HttpError>(row)
            })
        })
        .await?;
    Ok(created(row))
}

/// A township with its admins and schedule overrides.
#[utoipa::path(get, path = "/api/v1/townships/{id}", tag = "townships", params(("id" = i64, Path)),
    responses((status = 200, description = "a township with admins and schedule"), (status = 401), (status = 403), (status = 404)))]
async fn get_township(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, HttpError> {
    let v = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Township, id, "township").await?;
                let t = org::township(tx, id)
                    .await?
                    .ok_or_else(|| not_found("township"))?;
                let admins = org::township_admins(tx, id).await?;
                let schedule: serde_json::Map<String, Value> =
                    crate::store::jobs::schedule_overrides(tx, id)
                        .await?
                        .into_iter()
                        .map(|(job, cron)| (job, json!(cron)))
                        .collect();
                let mut v = json!(t);
                v["admins"] = json!(admins);
                v["schedule"] = Value::Object(schedule);
                Ok::<_, HttpError>(v)
            })
        })
        .await?;
    Ok(Json(v))
}

/// Changes a township's name, time zone, members_may_plan or level time limits.
#[utoipa::path(patch, path = "/api/v1/townships/{id}", tag = "townships", params(("id" = i64, Path)),
    request_body = TownshipPatch,
    responses((status = 200, body = org::Township), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn patch_township(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<org::Township>, HttpError> {
    let p: TownshipPatch = body(&raw)?;
    let now = state.clock.now_ms();
    let actor = who.actor();
    let row = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Township, id, "township").await?;
                let before = org::township(tx, id)
                    .await?
                    .ok_or_else(|| not_found("township"))?;
                let mut after = before.clone();
                apply_township(&mut after, p)?;
                org::update_township(tx, &after).await?;
                audit::record(
                    tx,
                    now,
                    &actor,
                    "township.update",
                    &format!("township:{id}"),
                    Some(&json!(before)),
                    Some(&json!(after)),
                )
                .await?;
                Ok::<_, HttpError>(after)
            })
        })
        .await?;
    Ok(Json(row))
}

// ---------------------------------------------------------------- villages

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct OrgFilter {
    township_id: Option<i64>,
    village_id: Option<i64>,
    /// 1 to 500; default 100.
    limit: Option<i64>,
    /// Rows to skip; default 0.
    offset: Option<i64>,
}

impl OrgFilter {
    fn page(&self) -> Page {
        Page {
            limit: self.limit,
            offset: self.offset,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewVillage {
    township_id: i64,
    name: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Rename {
    name: String,
}

/// Villages (`?township_id=`).
#[utoipa::path(get, path = "/api/v1/villages", tag = "villages", params(OrgFilter),
    responses((status = 200, body = Paged<org::Village>, description = "a page of villages"), (status = 401), (status = 403), (status = 422)))]
async fn list_villages(
    who: Principal,
    State(state): State<AppState>,
    ApiQuery(f): ApiQuery<OrgFilter>,
) -> Result<Json<Paged<org::Village>>, HttpError> {
    let page = f.page();
    page.checked()?;
    if f.village_id.is_some() {
        return Err(unprocessable(
            "village_id",
            "not a filter of villages; use GET /api/v1/villages/{id}",
        ));
    }
    let township = who.scope_filter(f.township_id)?;
    let items = state
        .db
        .read(move |tx| Box::pin(async move { org::villages(tx, township).await }))
        .await?;
    Ok(Json(page.of(items)?))
}

/// Creates a village in a township.
#[utoipa::path(post, path = "/api/v1/villages", tag = "villages", request_body = NewVillage,
    responses((status = 201, body = org::Village), (status = 401), (status = 403), (status = 409), (status = 422)))]
async fn create_village(
    who: Principal,
    State(state): State<AppState>,
    raw: axum::body::Bytes,
) -> Result<(StatusCode, Json<org::Village>), HttpError> {
    let n: NewVillage = body(&raw)?;
    let vname = name("name", &n.name)?;
    let now = state.clock.now_ms();
    let actor = who.actor();
    let row = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                let Some(t) = org::township_of(tx, Owned::Township, n.township_id).await? else {
                    return Err(unprocessable("township_id", "no such township"));
                };
                who.check(t)?;
                let id = org::insert_village(tx, n.township_id, &vname, now).await?;
                let row = org::village(tx, id)
                    .await?
                    .ok_or_else(|| not_found("village"))?;
                audit::record(
                    tx,
                    now,
                    &actor,
                    "village.create",
                    &format!("village:{id}"),
                    None,
                    Some(&json!(row)),
                )
                .await?;
                Ok::<_, HttpError>(row)
            })
        })
        .await?;
    Ok(created(row))
}

#[utoipa::path(get, path = "/api/v1/villages/{id}", tag = "villages", params(("id" = i64, Path)),
    responses((status = 200, body = org::Village), (status = 401), (status = 403), (status = 404)))]
async fn get_village(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<org::Village>, HttpError> {
    let v = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Village, id, "village").await?;
                org::village(tx, id)
                    .await?
                    .ok_or_else(|| not_found("village"))
            })
        })
        .await?;
    Ok(Json(v))
}

/// Renames a village.
#[utoipa::path(patch, path = "/api/v1/villages/{id}", tag = "villages", params(("id" = i64, Path)), request_body = Rename,
    responses((status = 200, body = org::Village), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn patch_village(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<org::Village>, HttpError> {
    let r: Rename = body(&raw)?;
    let vname = name("name", &r.name)?;
    let now = state.clock.now_ms();
    let actor = who.actor();
    let row = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Village, id, "village").await?;
                let before = org::village(tx, id)
                    .await?
                    .ok_or_else(|| not_found("village"))?;
                org::rename_village(tx, id, &vname).await?;
                let after = org::village(tx, id)
                    .await?
                    .ok_or_else(|| not_found("village"))?;
                audit::record(
                    tx,
                    now,
                    &actor,
                    "village.update",
                    &format!("village:{id}"),
                    Some(&json!(before)),
                    Some(&json!(after)),
                )
                .await?;
                Ok::<_, HttpError>(after)
            })
        })
        .await?;
    Ok(Json(row))
}

// ---------------------------------------------------------------- households

/// A village's registered households, in subgroup then name order.
#[utoipa::path(get, path = "/api/v1/villages/{id}/households", tag = "villages", params(("id" = i64, Path), Page),
    responses((status = 200, body = Paged<households::Household>, description = "a page of the village's households"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn list_households(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Paged<households::Household>>, HttpError> {
    let (limit, offset) = page.checked()?;
    let (items, total) = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Village, id, "village").await?;
                let items = households::list(tx, id, limit, offset).await?;
                let total = households::count(tx, id).await?;
                Ok::<_, HttpError>((items, total))
            })
        })
        .await?;
    Ok(Json(Paged::new(items, total, limit, offset)))
}

/// Imports a village's household registry from a CSV (UTF-8 with or
/// without BOM, or GBK/GB18030 as Excel on Chinese Windows saves it) or an
/// `.xlsx` workbook (its first sheet): header `姓名,小组,电话` or
/// `name,subgroup,phone`. A body starting `PK\x03\x04` is read as `.xlsx`
/// whatever its Content-Type; anything else as CSV. A household already
/// registered under the same 姓名 and 小组 gets the new phone. The village is
/// authorized before the file is read; any bad row rejects the whole file
/// (422 naming line and column); more than 50,000 households is a 413.
#[utoipa::path(post, path = "/api/v1/villages/{id}/households", tag = "villages", params(("id" = i64, Path)),
    request_body(description = "姓名,小组,电话\\n张三,3组,13812345678 — at most 50,000 rows and 8 MiB",
        content(
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
    responses((status = 200, description = "{village_id, inserted, updated, total}"), (status = 401), (status = 403), (status = 404),
        (status = 413, description = "over 8 MiB, or more than 50,000 households"), (status = 422, description = "a bad file: the reason names line and column")))]
async fn import_households(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    headers: axum::http::HeaderMap,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, HttpError> {
    // Who may, before any parsing: another township's village is a 403
    // that costs nothing.
    state
        .db
        .read(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Village, id, "village").await?;
                Ok::<_, HttpError>(())
            })
        })
        .await?;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // Parsing is linear but not free (a big workbook is unzipped): off the
    // async workers, so /healthz and the webhooks keep their threads.
    let rows = tokio::task::spawn_blocking(move || {
        let format = import::Format::detect(content_type.as_deref(), &raw)
            .map_err(|e| import_error("file", e))?;
        import::parse(format, &raw, import::MAX_ROWS).map_err(|e| import_error(format.name(), e))
    })
    .await
    .map_err(internal)??;
    let now = state.clock.now_ms();
    let actor = who.actor();
    let (inserted, updated, total) = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Village, id, "village").await?;
                let before = households::count(tx, id).await?;
                let batch: Vec<(&str, &str, Option<&str>)> = rows
                    .iter()
                    .map(|r| (r.name.as_str(), r.subgroup.as_str(), r.phone.as_deref()))
                    .collect();
                households::upsert_many(tx, id, &batch, now).await?;
                let total = households::count(tx, id).await?;
                // The file holds each (姓名, 小组) once: every row either
                // added a household or updated one.
                let inserted = total - before;
                let updated = i64::try_from(rows.len()).unwrap_or(i64::MAX) - inserted;
                audit::record(
                    tx,
                    now,
                    &actor,
                    "households.import",
                    &format!("village:{id}"),
                    Some(&json!({ "households": before })),
                    Some(&json!({ "households": total, "inserted": inserted, "updated": updated })),
                )
                .await?;
                Ok::<_, HttpError>((inserted, updated, total))
            })
        })
        .await?;
    Ok(Json(
        json!({ "village_id": id, "inserted": inserted, "updated": updated, "total": total }),
    ))
}

// ---------------------------------------------------------------- teams

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewTeam {
    village_id: i64,
    name: String,
}

/// The team's roster: one leader (or none) and its members, by person id.
/// Replaces the roster; people not named lose their role on the team.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Roster {
    leader: Option<i64>,
    #[serde(default)]
    members: Vec<i64>,
}

/// Teams (`?township_id=&village_id=`).
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", params(OrgFilter),
    responses((status = 200, body = Paged<org::Team>, description = "a page of teams"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn list_teams(
    who: Principal,
    State(state): State<AppState>,
    ApiQuery(f): ApiQuery<OrgFilter>,
) -> Result<Json<Paged<org::Team>>, HttpError> {
    let page = f.page();
    page.checked()?;
    let township = who.scope_filter(f.township_id)?;
    let village = f.village_id;
    let items = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                if let Some(v) = village {
                    authorize(tx, who, Owned::Village, v, "village").await?;
                }
                Ok::<_, HttpError>(org::teams(tx, township, village).await?)
            })
        })
        .await?;
    Ok(Json(page.of(items)?))
}

/// Creates a team in a village.
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", request_body = NewTeam,
    responses((status = 201, body = org::Team), (status = 401), (status = 403), (status = 409), (status = 422)))]
async fn create_team(
    who: Principal,
    State(state): State<AppState>,
    raw: axum::body::Bytes,
) -> Result<(StatusCode, Json<org::Team>), HttpError> {
    let n: NewTeam = body(&raw)?;
    let tname = name("name", &n.name)?;
    let now = state.clock.now_ms();
    let actor = who.actor();
    let row = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                let Some(t) = org::township_of(tx, Owned::Village, n.village_id).await? else {
                    return Err(unprocessable("village_id", "no such village"));
                };
                who.check(t)?;
                let id = org::insert_team(tx, n.village_id, &tname, now).await?;
                let row = org::team(tx, id).await?.ok_or_else(|| not_found("team"))?;
                audit::record(
                    tx,
                    now,
                    &actor,
                    "team.create",
                    &format!("team:{id}"),
                    None,
                    Some(&json!(row)),
                )
                .await?;
                Ok::<_, HttpError>(row)
            })
        })
        .await?;
    Ok(created(row))
}

async fn team_json(tx: &mut Tx, id: i64) -> Result<Value, HttpError> {
    let t = org::team(tx, id).await?.ok_or_else(|| not_found("team"))?;
    let people = org::team_people(tx, id).await?;
    let f = org::GroupFilter {
        team_id: Some(id),
        ..Default::default()
    };
    let (groups, _) = org::groups(tx, &f, 500, 0).await?;
    let mut v = json!(t);
    v["people"] = json!(people);
    v["groups"] = json!(groups.iter().map(|g| g.id).collect::<Vec<_>>());
    Ok(v)
}

/// A team with its people (leader first) and the ids of its groups.
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = i64, Path)),
    responses((status = 200, description = "a team with people and groups"), (status = 401), (status = 403), (status = 404)))]
async fn get_team(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, HttpError> {
    let v = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Team, id, "team").await?;
                team_json(tx, id).await
            })
        })
        .await?;
    Ok(Json(v))
}

/// Renames a team.
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = i64, Path)), request_body = Rename,
    responses((status = 200, body = org::Team), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn patch_team(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<org::Team>, HttpError> {
    let r: Rename = body(&raw)?;
    let tname = name("name", &r.name)?;
    let now = state.clock.now_ms();
    let actor = who.actor();
    let row = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Team, id, "team").await?;
                let before = org::team(tx, id).await?.ok_or_else(|| not_found("team"))?;
                org::rename_team(tx, id, &tname).await?;
                let after = org::team(tx, id).await?.ok_or_else(|| not_found("team"))?;
                audit::record(
                    tx,
                    now,
                    &actor,
                    "team.update",
                    &format!("team:{id}"),
                    Some(&json!(before)),
                    Some(&json!(after)),
                )
                .await?;
                Ok::<_, HttpError>(after)
            })
        })
        .await?;
    Ok(Json(row))
}

/// Whether `who` may place this person: their people, or people of no township.
async fn check_person(
    tx: &mut Tx,
    who: Principal,
    field: &str,
    id: i64,
) -> Result<Vec<i64>, HttpError> {
    if org::person(tx, id).await?.is_none() {
        return Err(unprocessable(field, format!("no such person {id}")));
    }
    let townships = org::person_townships(tx, id).await?;
    match who.township() {
        Some(own) if !townships.is_empty() && !townships.contains(&own) => Err(forbidden()),
        _ => Ok(townships),
    }
}

/// Sets the team's leader and members (replacing the roster).
#[utoipa::path(put, path = "/api/v1/teams/{id}/people", tag = "teams", params(("id" = i64, Path)), request_body = Roster,
    responses((status = 200, description = "the team with its people"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn set_team_people(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, HttpError> {
    let r: Roster = body(&raw)?;
    for (i, m) in r.members.iter().enumerate() {
        if Some(*m) == r.leader {
            return Err(unprocessable(
                &format!("members[{i}]"),
                "the leader is not also a member",
            ));
        }
        if r.members[..i].contains(m) {
            return Err(unprocessable(&format!("members[{i}]"), "named twice"));
        }
    }
    if r.members.len() > MAX_TEAM_MEMBERS {
        return Err(unprocessable(
            "members",
            format!("at most {MAX_TEAM_MEMBERS}"),
        ));
    }
    let now = state.clock.now_ms();
    let actor = who.actor();
    let v = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Team, id, "team").await?;
                if let Some(l) = r.leader {
                    check_person(tx, who, "leader", l).await?;
                }
                for (i, m) in r.members.iter().enumerate() {
                    check_person(tx, who, &format!("members[{i}]"), *m).await?;
                }
                let before = org::team_people(tx, id).await?;
                org::set_team_people(tx, id, r.leader, &r.members, now).await?;
                let after = org::team_people(tx, id).await?;
                let brief = |p: &[org::TeamPerson]| {
                    json!(
                        p.iter()
                            .map(|p| json!({ "person_id": p.person_id, "role": p.role }))
                            .collect::<Vec<_>>()
                    )
                };
                audit::record(
                    tx,
                    now,
                    &actor,
                    "team.people",
                    &format!("team:{id}"),
                    Some(&brief(&before)),
                    Some(&brief(&after)),
                )
                .await?;
                team_json(tx, id).await
            })
        })
        .await?;
    Ok(Json(v))
}

// ---------------------------------------------------------------- people

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PeopleFilter {
    township_id: Option<i64>,
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewPerson {
    /// `dingtalk` or `wecom`.
    platform: String,
    /// DingTalk staffId or WeCom userid.
    platform_user_id: String,
    display_name: String,
    /// A mainland mobile number (for @mobile in pushes).
    phone: Option<String>,
}

/// Changes to a person; `phone: null` clears the phone.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PersonPatch {
    display_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    phone: Option<Option<String>>,
}

fn phone_field(raw: &str) -> Result<String, HttpError> {
    mobile(raw)
        .ok_or_else(|| unprocessable("phone", "not a mainland mobile number like 13812345678"))
}

/// People: the city sees everyone (`?township_id=` narrows); a township
/// token sees people on its teams and its township admins.
#[utoipa::path(get, path = "/api/v1/people", tag = "people", params(PeopleFilter),
    responses((status = 200, body = Paged<org::Person>, description = "a page of people"), (status = 401), (status = 403), (status = 422)))]
async fn list_people(
    who: Principal,
    State(state): State<AppState>,
    ApiQuery(f): ApiQuery<PeopleFilter>,
) -> Result<Json<Paged<org::Person>>, HttpError> {
    let (limit, offset) = Page {
        limit: f.limit,
        offset: f.offset,
    }
    .checked()?;
    let township = who.scope_filter(f.township_id)?;
    let (items, total) = state
        .db
        .read(move |tx| Box::pin(async move { org::people(tx, township, limit, offset).await }))
        .await?;
    Ok(Json(Paged::new(items, total, limit, offset)))
}

/// Registers a person by platform identity (before they ever chat).
#[utoipa::path(post, path = "/api/v1/people", tag = "people", request_body = NewPerson,
    responses((status = 201, body = org::Person), (status = 401), (status = 403), (status = 409), (status = 422)))]
async fn create_person(
    who: Principal,
    State(state): State<AppState>,
    raw: axum::body::Bytes,
) -> Result<(StatusCode, Json<org::Person>), HttpError> {
    let n: NewPerson = body(&raw)?;
    if !matches!(n.platform.as_str(), "dingtalk" | "wecom") {
        return Err(unprocessable("platform", "must be dingtalk or wecom"));
    }
    let uid = n.platform_user_id.trim().to_string();
    if uid.is_empty() || uid.len() > 128 {
        return Err(unprocessable(
            "platform_user_id",
            "must be 1 to 128 characters",
        ));
    }
    let display = name("display_name", &n.display_name)?;
    let phone = n.phone.as_deref().map(phone_field).transpose()?;
    let now = state.clock.now_ms();
    let actor = who.actor();
    let row = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                // Another township's person is neither renamed nor revealed
                // by a 409.
                if let Some(p) = groups::person_by_platform_id(tx, &n.platform, &uid).await? {
                    who.check_person(&org::person_townships(tx, p.id).await?)?;
                }
                let id = org::insert_person(tx, &n.platform, &uid, &display, phone.as_deref(), now)
                    .await?;
                let row = org::person(tx, id)
                    .await?
                    .ok_or_else(|| not_found("person"))?;
                audit::record(
                    tx,
                    now,
                    &actor,
                    "person.create",
                    &format!("person:{id}"),
                    None,
                    Some(&json!(row)),
                )
                .await?;
                Ok::<_, HttpError>(row)
            })
        })
        .await?;
    Ok(created(row))
}

/// Whether `who` may see or change this person: 404, 403, or their townships.
async fn person_scope(tx: &mut Tx, who: Principal, id: i64) -> Result<org::Person, HttpError> {
    let p = org::person(tx, id)
        .await?
        .ok_or_else(|| not_found("person"))?;
    let townships = org::person_townships(tx, id).await?;
    match who.township() {
        Some(own) if !townships.is_empty() && !townships.contains(&own) => Err(forbidden()),
        _ => Ok(p),
    }
}

/// A person with their roles and the townships they belong to.
#[utoipa::path(get, path = "/api/v1/people/{id}", tag = "people", params(("id" = i64, Path)),
    responses((status = 200, description = "a person with townships"), (status = 401), (status = 403), (status = 404)))]
async fn get_person(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, HttpError> {
    let v = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                let p = person_scope(tx, who, id).await?;
                let townships = org::person_townships(tx, id).await?;
                let mut v = json!(p);
                v["townships"] = json!(townships);
                Ok::<_, HttpError>(v)
            })
        })
        .await?;
    Ok(Json(v))
}

/// Changes a person's display name or phone.
#[utoipa::path(patch, path = "/api/v1/people/{id}", tag = "people", params(("id" = i64, Path)), request_body = PersonPatch,
    responses((status = 200, body = org::Person), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn patch_person(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<org::Person>, HttpError> {
    let p: PersonPatch = body(&raw)?;
    let display = p
        .display_name
        .as_deref()
        .map(|n| name("display_name", n))
        .transpose()?;
    let phone = match p.phone {
        None => None,
        Some(None) => Some(None),
        Some(Some(raw)) => Some(Some(phone_field(&raw)?)),
    };
    let now = state.clock.now_ms();
    let actor = who.actor();
    let row = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                let before = person_scope(tx, who, id).await?;
                let name = display.unwrap_or_else(|| before.display_name.clone());
                let phone = phone.unwrap_or_else(|| before.phone.clone());
                org::update_person(tx, id, &name, phone.as_deref()).await?;
                let after = org::person(tx, id)
                    .await?
                    .ok_or_else(|| not_found("person"))?;
                audit::record(
                    tx,
                    now,
                    &actor,
                    "person.update",
                    &format!("person:{id}"),
                    Some(&json!(before)),
                    Some(&json!(after)),
                )
                .await?;
                Ok::<_, HttpError>(after)
            })
        })
        .await?;
    Ok(Json(row))
}

// ---------------------------------------------------------------- groups

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct GroupQuery {
    township_id: Option<i64>,
    team_id: Option<i64>,
    /// `dingtalk` or `wecom`.
    platform: Option<String>,
    /// `true`: bound to a team; `false`: not (yet) bound — visible to every token.
    bound: Option<bool>,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// The team a group serves; `null` unbinds it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct GroupTeam {
    team_id: Option<i64>,
}

/// Groups the bot has seen. A township token sees its township's groups,
/// and with `bound=false` the groups not bound yet (to bind them).
#[utoipa::path(get, path = "/api/v1/groups", tag = "groups", params(GroupQuery),
    responses((status = 200, body = Paged<org::Group>, description = "a page of groups"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn list_groups(
    who: Principal,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<GroupQuery>,
) -> Result<Json<Paged<org::Group>>, HttpError> {
    let (limit, offset) = Page {
        limit: q.limit,
        offset: q.offset,
    }
    .checked()?;
    if let Some(p) = &q.platform
        && !matches!(p.as_str(), "dingtalk" | "wecom")
    {
        return Err(unprocessable("platform", "must be dingtalk or wecom"));
    }
    let township = if q.bound == Some(false) {
        if q.township_id.is_some() || q.team_id.is_some() {
            return Err(unprocessable(
                "bound",
                "unbound groups have no township or team",
            ));
        }
        None
    } else {
        who.scope_filter(q.township_id)?
    };
    let team = q.team_id;
    let f = org::GroupFilter {
        township_id: township,
        team_id: team,
        platform: q.platform,
        bound: q.bound,
    };
    let (items, total) = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                if let Some(t) = team {
                    authorize(tx, who, Owned::Team, t, "team").await?;
                }
                Ok::<_, HttpError>(org::groups(tx, &f, limit, offset).await?)
            })
        })
        .await?;
    Ok(Json(Paged::new(items, total, limit, offset)))
}

/// Binds a group to a team (what `绑定` does in the chat), or unbinds it.
#[utoipa::path(put, path = "/api/v1/groups/{id}/team", tag = "groups", params(("id" = i64, Path)), request_body = GroupTeam,
    responses((status = 200, body = org::Group), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn bind_group(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<org::Group>, HttpError> {
    let b: GroupTeam = body(&raw)?;
    let now = state.clock.now_ms();
    let actor = who.actor();
    let row = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                let before = org::group(tx, id)
                    .await?
                    .ok_or_else(|| not_found("group"))?;
                // An unbound group is anyone's to bind; a bound one is its township's.
                if before.township_id.is_some() {
                    who.check(before.township_id)?;
                }
                if let Some(team) = b.team_id {
                    let Some(t) = org::township_of(tx, Owned::Team, team).await? else {
                        return Err(unprocessable("team_id", "no such team"));
                    };
                    who.check(t)?;
                }
                org::set_group_team(tx, id, b.team_id).await?;
                let after = org::group(tx, id)
                    .await?
                    .ok_or_else(|| not_found("group"))?;
                audit::record(
                    tx,
                    now,
                    &actor,
                    "group.bind",
                    &format!("group:{id}"),
                    Some(&json!({ "team_id": before.team_id })),
                    Some(&json!({ "team_id": after.team_id })),
                )
                .await?;
                Ok::<_, HttpError>(after)
            })
        })
        .await?;
    Ok(Json(row))
}
