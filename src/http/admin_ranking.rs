//! `/api/v1/townships/{id}/ranking…` and `/pioneers…`: the monthly ranking,
//! its weights, the pioneer candidates, 创新先锋 nominations and the
//! confirmation that announces the pioneers. The city token, or the
//! township's own token (another township's is a 403, see [`super::auth`]).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{
    ApiPath, ApiQuery, Principal, authorize, body, not_found, store_err, unprocessable,
};
use super::error::HttpError;
use crate::domain::ranking::{Month, Weights};
use crate::jobs::ranking::{self as rk, Candidates, MAX_CANDIDATES, TownshipRanking};
use crate::state::AppState;
use crate::store::admin::{self, Owned};
use crate::store::ranking::{self as q, Pioneer};
use crate::store::{StoreError, Tx, audit};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_ranking))
        .routes(routes!(put_weights))
        .routes(routes!(get_pioneers))
        .routes(routes!(nominate))
        .routes(routes!(confirm))
}

/// 404 for an unknown township, 403 for another township's token.
async fn may_touch(state: &AppState, who: Principal, id: i64) -> Result<(), HttpError> {
    state
        .db
        .read(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Township, id, "township")
                    .await
                    .map(|_| ())
            })
        })
        .await
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MonthQuery {
    /// YYYY-MM.
    #[serde(default)]
    month: Option<String>,
}

fn month_of(s: Option<&str>) -> Result<Option<Month>, HttpError> {
    s.map(|m| {
        Month::parse(m).ok_or_else(|| unprocessable("month", "expected YYYY-MM, e.g. 2026-11"))
    })
    .transpose()
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
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(mq): ApiQuery<MonthQuery>,
) -> Result<Json<Value>, HttpError> {
    let month = month_of(mq.month.as_deref())?;
    may_touch(&state, who, id).await?;
    let (tz, now) = (state.default_tz, state.clock.now_ms());
    let r = state
        .db
        .read(move |tx| Box::pin(async move { rk::township_ranking(tx, id, month, tz, now).await }))
        .await
        .map_err(store_err)?
        .ok_or_else(|| not_found("township"))?;
    Ok(Json(ranking_json(&r)))
}

#[utoipa::path(put, path = "/api/v1/townships/{id}/ranking/weights", tag = "ranking",
    params(("id" = i64, Path)), request_body = Weights,
    responses((status = 200, description = "{township, weights}"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn put_weights(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, HttpError> {
    let w: Weights = body(&raw)?;
    may_touch(&state, who, id).await?;
    let actor = who.actor();
    w.validate()
        .map_err(|(field, why)| unprocessable(field, why))?;
    let now = state.clock.now_ms();
    state
        .db
        .write(move |tx| {
            Box::pin(async move {
                let before = q::weights(tx, id).await?;
                q::set_weights(tx, id, &w, now).await?;
                audit::record(
                    tx,
                    now,
                    &actor,
                    "ranking.weights",
                    &format!("township:{id}"),
                    Some(&json!(before)),
                    Some(&json!(w)),
                )
                .await?;
                Ok::<_, StoreError>(())
            })
        })
        .await
        .map_err(store_err)?;
    Ok(Json(json!({ "township": id, "weights": w })))
}

/// The ranking and candidates of a month (default: last month).
async fn ranking_and_candidates(
    tx: &mut Tx,
    id: i64,
    month: Option<Month>,
    tz: chrono_tz::Tz,
    now: i64,
) -> Result<Option<(TownshipRanking, Candidates)>, StoreError> {
    let month = match month {
        Some(m) => m,
        None => {
            let Some((_, z)) = q::township_name(tx, id).await? else {
                return Ok(None);
            };
            let tz = rk::township_tz(z.as_deref(), tz);
            Month::of(crate::domain::week::utc_ms_to_local(tz, now).date()).prev()
        }
    };
    let Some(r) = rk::township_ranking(tx, id, Some(month), tz, now).await? else {
        return Ok(None);
    };
    let c = rk::candidates(tx, &r).await?;
    Ok(Some((r, c)))
}

#[utoipa::path(get, path = "/api/v1/townships/{id}/pioneers", tag = "ranking",
    params(("id" = i64, Path), MonthQuery),
    responses((status = 200, description = "{township, month, project, diligence, innovation, confirmed} (default: last month)"),
        (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn get_pioneers(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(mq): ApiQuery<MonthQuery>,
) -> Result<Json<Value>, HttpError> {
    let month = month_of(mq.month.as_deref())?;
    may_touch(&state, who, id).await?;
    let (tz, now) = (state.default_tz, state.clock.now_ms());
    let (r, c, confirmed) = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                let Some((r, c)) = ranking_and_candidates(tx, id, month, tz, now).await? else {
                    return Ok(None);
                };
                let confirmed = q::pioneers(tx, id, r.window.month).await?;
                Ok::<_, StoreError>(Some((r, c, confirmed)))
            })
        })
        .await
        .map_err(store_err)?
        .ok_or_else(|| not_found("township"))?;
    let list = |v: Vec<crate::reply::ranking::Candidate>| -> Vec<Value> {
        v.into_iter()
            .take(MAX_CANDIDATES)
            .map(|c| json!({ "id": c.id, "name": c.name, "why": c.why }))
            .collect()
    };
    Ok(Json(json!({
        "township": id,
        "month": r.window.month.to_string(),
        "project": list(c.project_view()),
        "diligence": list(c.diligence_view()),
        "innovation": list(c.innovation_view(&r)),
        "confirmed": confirmed,
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Nominate {
    month: String,
    team: i64,
    name: String,
    reason: String,
}

#[utoipa::path(post, path = "/api/v1/townships/{id}/pioneers/nominations", tag = "ranking",
    params(("id" = i64, Path)), request_body = Nominate,
    responses((status = 201, description = "{id, month}"), (status = 401), (status = 403), (status = 404), (status = 422)))]
async fn nominate(
    who: Principal,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), HttpError> {
    let n: Nominate = body(&raw)?;
    may_touch(&state, who, id).await?;
    let actor = who.actor();
    let month = month_of(Some(&n.month))?.unwrap_or_else(|| unreachable!("given"));
    let name = n.name.trim().to_string();
    let reason = n.reason.trim().to_string();
    if name.is_empty() || name.chars().count() > 40 {
        return Err(unprocessable(
            "name",
            "1 to 40 characters: who is nominated",
        ));
    }
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(unprocessable(
            "reason",
            "1 to 200 characters: the innovation",
        ));
    }
    let now = state.clock.now_ms();
    let team = n.team;
    let tz = state.default_tz;
    let out = state
        .db
        .write(move |tx| {
            Box::pin(async move {
                if admin::township_of(tx, Owned::Team, team).await?.flatten() != Some(id) {
                    return Ok(Err(unprocessable("team", "no such team in this township")));
                }
                // No medal for nothing: a team without activity in the month
                // has no pioneer.
                if rk::township_ranking(tx, id, Some(month), tz, now)
                    .await?
                    .is_some_and(|r| r.is_idle(team))
                {
                    return Ok(Err(unprocessable(
                        "team",
                        "no activity in that month (数据不足): no pioneer",
                    )));
                }
                let nid = q::add_nomination(tx, id, month, team, &name, &reason, now).await?;
                audit::record(
                    tx,
                    now,
                    &actor,
                    "pioneers.nominate",
                    &format!("township:{id}"),
                    None,
                    Some(&json!({ "id": nid, "month": month.to_string(), "team": team, "name": name })),
                )
                .await?;
                Ok::<_, StoreError>(Ok(nid))
            })
        })
        .await
        .map_err(store_err)??;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": out, "month": month.to_string() })),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Confirm {
    month: String,
    project: Vec<i64>,
    diligence: Vec<i64>,
    innovation: Vec<i64>,
}

/// Exactly two distinct ids, each one of `allowed`.
fn two_of(field: &str, ids: &[i64], allowed: &[i64]) -> Result<(), HttpError> {
    let set: BTreeSet<i64> = ids.iter().copied().collect();
    if ids.len() != 2 || set.len() != 2 {
        return Err(unprocessable(field, "exactly two different candidates"));
    }
    if let Some(bad) = ids.iter().find(|i| !allowed.contains(i)) {
        return Err(unprocessable(
            field,
            format!("{bad} is not a candidate this month"),
        ));
    }
    Ok(())
}

/// The pioneers chosen, with what the announcement says of them.
fn chosen(req: &Confirm, r: &TownshipRanking, c: &Candidates) -> Result<Vec<Pioneer>, HttpError> {
    let project_ids: Vec<i64> = c.project.iter().map(|(t, _)| t.team_id).collect();
    let diligence_ids: Vec<i64> = c.diligence.iter().map(|(p, _, _)| p.person_id).collect();
    let innovation_ids: Vec<i64> = c.innovation.iter().map(|n| n.id).collect();
    two_of("project", &req.project, &project_ids)?;
    two_of("diligence", &req.diligence, &diligence_ids)?;
    two_of("innovation", &req.innovation, &innovation_ids)?;
    let mut out = Vec::new();
    for id in &req.project {
        if let Some((t, l)) = c.project.iter().find(|(t, _)| t.team_id == *id) {
            out.push(Pioneer {
                kind: "project".into(),
                subject_id: t.team_id,
                team_id: t.team_id,
                name: l.full(),
                detail: crate::reply::ranking::project_why(
                    t.projects_done_in_month,
                    t.projects_updated,
                ),
            });
        }
    }
    for id in &req.diligence {
        if let Some((p, name, l)) = c.diligence.iter().find(|(p, _, _)| p.person_id == *id) {
            out.push(Pioneer {
                kind: "diligence".into(),
                subject_id: p.person_id,
                team_id: p.team_id,
                name: format!("{name}（{}）", l.village),
                detail: crate::reply::ranking::diligence_why(
                    &l.full(),
                    p.services,
                    p.visits,
                    p.on_time,
                ),
            });
        }
    }
    for id in &req.innovation {
        if let Some(n) = c.innovation.iter().find(|n| n.id == *id) {
            out.push(Pioneer {
                kind: "innovation".into(),
                subject_id: n.id,
                team_id: n.team_id,
                name: format!(
                    "{}（{}）",
                    n.name,
                    r.labels.get(&n.team_id).map_or("", |l| l.village.as_str())
                ),
                detail: n.reason.clone(),
            });
        }
    }
    Ok(out)
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
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, HttpError> {
    let req: Confirm = body(&raw)?;
    may_touch(&state, who, id).await?;
    let actor = who.actor();
    let month = month_of(Some(&req.month))?.unwrap_or_else(|| unreachable!("given"));
    let (tz, now) = (state.default_tz, state.clock.now());
    let ctx = state.jobs.clone();
    state
        .db
        .write(move |tx| {
            Box::pin(async move {
                let now_ms = now.timestamp_millis();
                let Some((r, c)) = ranking_and_candidates(tx, id, Some(month), tz, now_ms).await?
                else {
                    return Ok(Err(not_found("township")));
                };
                let picked = match chosen(&req, &r, &c) {
                    Ok(p) => p,
                    Err(e) => return Ok(Err(e)),
                };
                let before = q::pioneers(tx, id, month).await?;
                if !before.is_empty() {
                    let key = |v: &[Pioneer]| -> BTreeSet<(String, i64)> {
                        v.iter().map(|p| (p.kind.clone(), p.subject_id)).collect()
                    };
                    if key(&before) != key(&picked) {
                        return Ok(Err(HttpError::new(
                            StatusCode::CONFLICT,
                            format!("the pioneers of {month} are already confirmed and announced"),
                        )));
                    }
                    return Ok(Ok(
                        json!({ "month": month.to_string(), "pioneers": before, "announced": 0 }),
                    ));
                }
                for (i, p) in picked.iter().enumerate() {
                    q::add_pioneer(tx, id, month, p, i as i64, now_ms).await?;
                }
                let announced = rk::announce_pioneers(tx, &ctx, id, month, now).await?;
                audit::record(
                    tx,
                    now_ms,
                    &actor,
                    "pioneers.confirm",
                    &format!("township:{id}"),
                    None,
                    Some(&json!({ "month": month.to_string(), "pioneers": picked })),
                )
                .await?;
                Ok::<_, StoreError>(Ok(json!({
                    "month": month.to_string(),
                    "pioneers": picked,
                    "announced": announced,
                })))
            })
        })
        .await
        .map_err(store_err)?
        .map(Json)
}
