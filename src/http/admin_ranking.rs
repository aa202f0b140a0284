//! `/api/v1/townships/{id}/ranking…` and `/pioneers…`: the monthly ranking,
//! its weights, the pioneer candidates, 创新先锋 nominations and the
//! confirmation that announces the pioneers. The city token, or the
//! township's own token (another township's is a 403). Each handler
//! extracts, calls one method of [`crate::admin::Admin`] (rules in
//! `crate::admin::ranking`) and answers.

use axum::Json;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{ApiPath, ApiQuery, Principal, Service, body};
use super::error::HttpError;
use crate::admin::ranking::{Confirm, Nominate};
use crate::domain::ranking::Weights;
use crate::jobs::ranking::TownshipRanking;
use crate::reply::ranking::Candidate;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_ranking))
        .routes(routes!(put_weights))
        .routes(routes!(get_pioneers))
        .routes(routes!(nominate))
        .routes(routes!(confirm))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MonthQuery {
    /// YYYY-MM.
    #[serde(default)]
    month: Option<String>,
}

fn ranking_json(r: &TownshipRanking) -> Value {
    let teams: Vec<Value> = r
        .ranked
        .iter()
        .map(|x| {
            let l = r.labels.get(&x.stats.team_id);
            json!({
                "place": x.place,
                "team_id": x.stats.team_id,
                "village": l.map(|l| l.village.as_str()),
                "team": l.map(|l| l.team.as_str()),
                "score": x.score_tenths as f64 / 10.0,
                "components": x.components,
                "counts": x.stats,
            })
        })
        .collect();
    // Teams with no activity in the month: no place, no score.
    let insufficient: Vec<Value> = r
        .idle
        .iter()
        .map(|id| {
            let l = r.labels.get(id);
            json!({
                "team_id": id,
                "village": l.map(|l| l.village.as_str()),
                "team": l.map(|l| l.team.as_str()),
            })
        })
        .collect();
    json!({
        "township": r.township_id,
        "name": r.township,
        "month": r.window.month.to_string(),
        "complete": r.window.closed(),
        "weights": r.weights,
        "teams": teams,
        "insufficient_data": insufficient,
    })
}

#[utoipa::path(get, path = "/api/v1/townships/{id}/ranking", tag = "ranking",
    params(("id" = i64, Path), MonthQuery),
    responses((status = 200, description = "{township, name, month, complete, weights, teams: [{place, team_id, village, team, score, components, counts}], insufficient_data: [{team_id, village, team}]} (default: this month so far; a team with no activity in the month is listed under insufficient_data, with no place or score)"),
        (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn get_ranking(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(mq): ApiQuery<MonthQuery>,
) -> Result<Json<Value>, HttpError> {
    let r = admin.ranking(who, id, mq.month.as_deref()).await?;
    Ok(Json(ranking_json(&r)))
}

#[utoipa::path(put, path = "/api/v1/townships/{id}/ranking/weights", tag = "ranking",
    params(("id" = i64, Path)), request_body = Weights,
    responses((status = 200, description = "{township, weights}"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn put_weights(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, HttpError> {
    let w: Weights = body(&raw)?;
    let w = admin.set_weights(who, id, w).await?;
    Ok(Json(json!({ "township": id, "weights": w })))
}

#[utoipa::path(get, path = "/api/v1/townships/{id}/pioneers", tag = "ranking",
    params(("id" = i64, Path), MonthQuery),
    responses((status = 200, description = "{township, month, project, diligence, innovation, confirmed} (default: last month)"),
        (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn get_pioneers(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(mq): ApiQuery<MonthQuery>,
) -> Result<Json<Value>, HttpError> {
    let p = admin.pioneers(who, id, mq.month.as_deref()).await?;
    let list = |v: Vec<Candidate>| -> Vec<Value> {
        v.into_iter()
            .map(|c| json!({ "id": c.id, "name": c.name, "why": c.why }))
            .collect()
    };
    Ok(Json(json!({
        "township": p.township,
        "month": p.month.to_string(),
        "project": list(p.project),
        "diligence": list(p.diligence),
        "innovation": list(p.innovation),
        "confirmed": p.confirmed,
    })))
}

#[utoipa::path(post, path = "/api/v1/townships/{id}/pioneers/nominations", tag = "ranking",
    params(("id" = i64, Path)), request_body = Nominate,
    responses((status = 201, description = "{id, month}"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn nominate(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), HttpError> {
    let n: Nominate = body(&raw)?;
    let (nid, month) = admin.nominate(who, id, n).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": nid, "month": month.to_string() })),
    ))
}

/// Confirms two pioneers of each kind and announces them in the township's
/// groups. Repeating the same confirmation changes nothing and announces
/// nothing again; a different one for a confirmed month is a 409.
#[utoipa::path(post, path = "/api/v1/townships/{id}/pioneers/confirm", tag = "ranking",
    params(("id" = i64, Path)), request_body = Confirm,
    responses((status = 200, description = "{month, pioneers, announced}"), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "another set of pioneers is already confirmed for the month"), (status = 422)))]
async fn confirm(
    who: Principal,
    Service(admin): Service,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, HttpError> {
    let req: Confirm = body(&raw)?;
    let c = admin.confirm_pioneers(who, id, req).await?;
    Ok(Json(json!({
        "month": c.month.to_string(),
        "pioneers": c.pioneers,
        "announced": c.announced,
    })))
}
