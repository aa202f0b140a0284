//! `/api/v1`: the organisation a township sets up without chatting —
//! township tokens, townships, villages (and their household registry),
//! teams and their people, people, groups. Each handler extracts, calls one
//! method of [`crate::admin::Admin`] (rules in `crate::admin::org`) and
//! answers.

use axum::Json;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::admin::Page;
use super::auth::{ApiPath, ApiQuery, CityAdmin, Principal, Service, body};
use super::error::HttpError;
use super::paging::{Paged, list};
use crate::admin::org::{
    GroupQuery, GroupTeam, ImportReport, IssuedToken, NewPerson, NewTeam, NewToken, NewTownship,
    NewVillage, OrgFilter, PeopleFilter, PersonDetail, PersonPatch, Rename, Roster, TeamDetail,
    TownshipDetail, TownshipPatch,
};
use crate::state::AppState;
use crate::store::admin as org;
use crate::store::households;

pub use crate::domain::phone::mobile;

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

/// The household import takes larger bodies than the rest of the API.
pub fn csv_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_households, import_households))
}

/// Largest household upload accepted (see [`crate::admin::org::MAX_UPLOAD`]).
pub const MAX_CSV: usize = crate::admin::org::MAX_UPLOAD;

fn created<T: serde::Serialize>(v: T) -> (StatusCode, Json<T>) {
    (StatusCode::CREATED, Json(v))
}

// ---------------------------------------------------------------- tokens

/// Township tokens (never their secrets). City admin only.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", params(Page),
    responses((status = 200, body = Paged<org::Token>, description = "a page of township tokens"), (status = 401), (status = 403), (status = 422)))]
async fn list_tokens(
    CityAdmin(who): CityAdmin,
    Service(admin): Service,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Paged<org::Token>>, HttpError> {
    list(admin.tokens(who, page).await)
}

/// Issues a township token; the response holds it once (`token`). City admin only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, description = "{id, township_id, name, created_at, revoked_at, token}"),
        (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn create_token(
    CityAdmin(who): CityAdmin,
    Service(admin): Service,
    raw: axum::body::Bytes,
) -> Result<(StatusCode, Json<IssuedToken>), HttpError> {
    let t: NewToken = body(&raw)?;
    Ok(created(admin.issue_token(who, t).await?))
}

/// Revokes a township token at once. City admin only.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
async fn revoke_token(
    CityAdmin(who): CityAdmin,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, HttpError> {
    admin.revoke_token(who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- townships

/// Townships: all for the city, its own for a township token.
#[utoipa::path(get, path = "/api/v1/townships", tag = "townships", params(Page),
    responses((status = 200, body = Paged<org::Township>, description = "a page of townships"), (status = 401), (status = 422)))]
async fn list_townships(
    who: Principal,
    Service(admin): Service,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Paged<org::Township>>, HttpError> {
    list(admin.townships(who, page).await)
}

/// Creates a township. City admin only.
#[utoipa::path(post, path = "/api/v1/townships", tag = "townships", request_body = NewTownship,
    responses((status = 201, body = org::Township), (status = 401), (status = 403), (status = 409), (status = 422)))]
async fn create_township(
    CityAdmin(who): CityAdmin,
    Service(admin): Service,
    raw: axum::body::Bytes,
) -> Result<(StatusCode, Json<org::Township>), HttpError> {
    let n: NewTownship = body(&raw)?;
    Ok(created(admin.create_township(who, n).await?))
}

/// A township with its admins and schedule overrides.
#[utoipa::path(get, path = "/api/v1/townships/{id}", tag = "townships", params(("id" = i64, Path)),
    responses((status = 200, description = "a township with admins and schedule"), (status = 401), (status = 403), (status = 404)))]
async fn get_township(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TownshipDetail>, HttpError> {
    Ok(Json(admin.township(who, id).await?))
}

/// Changes a township's name, time zone, members_may_plan or level time limits.
#[utoipa::path(patch, path = "/api/v1/townships/{id}", tag = "townships", params(("id" = i64, Path)),
    request_body = TownshipPatch,
    responses((status = 200, body = org::Township), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn patch_township(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<org::Township>, HttpError> {
    let p: TownshipPatch = body(&raw)?;
    Ok(Json(admin.patch_township(who, id, p).await?))
}

// ---------------------------------------------------------------- villages

/// Villages (`?township_id=`).
#[utoipa::path(get, path = "/api/v1/villages", tag = "villages", params(OrgFilter),
    responses((status = 200, body = Paged<org::Village>, description = "a page of villages"), (status = 401), (status = 403), (status = 422)))]
async fn list_villages(
    who: Principal,
    Service(admin): Service,
    ApiQuery(f): ApiQuery<OrgFilter>,
) -> Result<Json<Paged<org::Village>>, HttpError> {
    list(admin.villages(who, f).await)
}

/// Creates a village in a township.
#[utoipa::path(post, path = "/api/v1/villages", tag = "villages", request_body = NewVillage,
    responses((status = 201, body = org::Village), (status = 401), (status = 403), (status = 409), (status = 422)))]
async fn create_village(
    who: Principal,
    Service(admin): Service,
    raw: axum::body::Bytes,
) -> Result<(StatusCode, Json<org::Village>), HttpError> {
    let n: NewVillage = body(&raw)?;
    Ok(created(admin.create_village(who, n).await?))
}

#[utoipa::path(get, path = "/api/v1/villages/{id}", tag = "villages", params(("id" = i64, Path)),
    responses((status = 200, body = org::Village), (status = 401), (status = 403), (status = 404)))]
async fn get_village(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<org::Village>, HttpError> {
    Ok(Json(admin.village(who, id).await?))
}

/// Renames a village.
#[utoipa::path(patch, path = "/api/v1/villages/{id}", tag = "villages", params(("id" = i64, Path)), request_body = Rename,
    responses((status = 200, body = org::Village), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn patch_village(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<org::Village>, HttpError> {
    let r: Rename = body(&raw)?;
    Ok(Json(admin.rename_village(who, id, r).await?))
}

// ---------------------------------------------------------------- households

/// A village's registered households, in subgroup then name order.
#[utoipa::path(get, path = "/api/v1/villages/{id}/households", tag = "villages", params(("id" = i64, Path), Page),
    responses((status = 200, body = Paged<households::Household>, description = "a page of the village's households"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn list_households(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Paged<households::Household>>, HttpError> {
    list(admin.households(who, id, page).await)
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
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
    headers: axum::http::HeaderMap,
    raw: axum::body::Bytes,
) -> Result<Json<ImportReport>, HttpError> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Ok(Json(
        admin.import_households(who, id, content_type, raw).await?,
    ))
}

// ---------------------------------------------------------------- teams

/// Teams (`?township_id=&village_id=`).
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", params(OrgFilter),
    responses((status = 200, body = Paged<org::Team>, description = "a page of teams"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn list_teams(
    who: Principal,
    Service(admin): Service,
    ApiQuery(f): ApiQuery<OrgFilter>,
) -> Result<Json<Paged<org::Team>>, HttpError> {
    list(admin.teams(who, f).await)
}

/// Creates a team in a village.
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", request_body = NewTeam,
    responses((status = 201, body = org::Team), (status = 401), (status = 403), (status = 409), (status = 422)))]
async fn create_team(
    who: Principal,
    Service(admin): Service,
    raw: axum::body::Bytes,
) -> Result<(StatusCode, Json<org::Team>), HttpError> {
    let n: NewTeam = body(&raw)?;
    Ok(created(admin.create_team(who, n).await?))
}

/// A team with its people (leader first) and the ids of its groups.
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = i64, Path)),
    responses((status = 200, description = "a team with people and groups"), (status = 401), (status = 403), (status = 404)))]
async fn get_team(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TeamDetail>, HttpError> {
    Ok(Json(admin.team(who, id).await?))
}

/// Renames a team.
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = i64, Path)), request_body = Rename,
    responses((status = 200, body = org::Team), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
async fn patch_team(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<org::Team>, HttpError> {
    let r: Rename = body(&raw)?;
    Ok(Json(admin.rename_team(who, id, r).await?))
}

/// Sets the team's leader and members (replacing the roster).
#[utoipa::path(put, path = "/api/v1/teams/{id}/people", tag = "teams", params(("id" = i64, Path)), request_body = Roster,
    responses((status = 200, description = "the team with its people"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn set_team_people(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<TeamDetail>, HttpError> {
    let r: Roster = body(&raw)?;
    Ok(Json(admin.set_team_people(who, id, r).await?))
}

// ---------------------------------------------------------------- people

/// People: the city sees everyone (`?township_id=` narrows); a township
/// token sees people on its teams and its township admins.
#[utoipa::path(get, path = "/api/v1/people", tag = "people", params(PeopleFilter),
    responses((status = 200, body = Paged<org::Person>, description = "a page of people"), (status = 401), (status = 403), (status = 422)))]
async fn list_people(
    who: Principal,
    Service(admin): Service,
    ApiQuery(f): ApiQuery<PeopleFilter>,
) -> Result<Json<Paged<org::Person>>, HttpError> {
    list(admin.people(who, f).await)
}

/// Registers a person by platform identity (before they ever chat).
#[utoipa::path(post, path = "/api/v1/people", tag = "people", request_body = NewPerson,
    responses((status = 201, body = org::Person), (status = 401), (status = 403), (status = 409), (status = 422)))]
async fn create_person(
    who: Principal,
    Service(admin): Service,
    raw: axum::body::Bytes,
) -> Result<(StatusCode, Json<org::Person>), HttpError> {
    let n: NewPerson = body(&raw)?;
    Ok(created(admin.create_person(who, n).await?))
}

/// A person with their roles and the townships they belong to.
#[utoipa::path(get, path = "/api/v1/people/{id}", tag = "people", params(("id" = i64, Path)),
    responses((status = 200, description = "a person with townships"), (status = 401), (status = 403), (status = 404)))]
async fn get_person(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<PersonDetail>, HttpError> {
    Ok(Json(admin.person(who, id).await?))
}

/// Changes a person's display name or phone.
#[utoipa::path(patch, path = "/api/v1/people/{id}", tag = "people", params(("id" = i64, Path)), request_body = PersonPatch,
    responses((status = 200, body = org::Person), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn patch_person(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<org::Person>, HttpError> {
    let p: PersonPatch = body(&raw)?;
    Ok(Json(admin.patch_person(who, id, p).await?))
}

// ---------------------------------------------------------------- groups

/// Groups the bot has seen. A township token sees its township's groups,
/// and with `bound=false` the groups not bound yet (to bind them).
#[utoipa::path(get, path = "/api/v1/groups", tag = "groups", params(GroupQuery),
    responses((status = 200, body = Paged<org::Group>, description = "a page of groups"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn list_groups(
    who: Principal,
    Service(admin): Service,
    ApiQuery(q): ApiQuery<GroupQuery>,
) -> Result<Json<Paged<org::Group>>, HttpError> {
    list(admin.groups(who, q).await)
}

/// Binds a group to a team (what `绑定` does in the chat), or unbinds it.
#[utoipa::path(put, path = "/api/v1/groups/{id}/team", tag = "groups", params(("id" = i64, Path)), request_body = GroupTeam,
    responses((status = 200, body = org::Group), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn bind_group(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<org::Group>, HttpError> {
    let b: GroupTeam = body(&raw)?;
    Ok(Json(admin.bind_group(who, id, b).await?))
}
