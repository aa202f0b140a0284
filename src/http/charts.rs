//! `GET /charts/{team}/{week}.png?sig=…`: the weekly airing's chart. A URL
//! that is not signed by this service (see `crate::chart`) is a 404, like
//! one that names no team: chart URLs cannot be enumerated.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::error::HttpError;
use crate::chart::{self, ChartWeek};
use crate::domain::week::IsoWeek;
use crate::jobs::duties::{CHART_WEEKS, weeks_back};
use crate::state::AppState;
use crate::store::weekly;

pub fn router() -> Router<AppState> {
    Router::new().route("/charts/{team}/{file}", get(chart_png))
}

#[derive(Deserialize)]
struct Sig {
    #[serde(default)]
    sig: String,
}

fn no_chart() -> HttpError {
    HttpError::new(StatusCode::NOT_FOUND, "no such chart")
}

async fn chart_png(
    State(state): State<AppState>,
    Path((team, file)): Path<(String, String)>,
    Query(q): Query<Sig>,
) -> Result<Response, HttpError> {
    let team_id: i64 = team.parse().map_err(|_| no_chart())?;
    let week_str = file.strip_suffix(".png").ok_or_else(no_chart)?;
    let week = IsoWeek::parse(week_str).ok_or_else(no_chart)?;
    if !chart::verify(&state.settings, team_id, &week.to_string(), &q.sig) {
        return Err(no_chart());
    }
    let first = weeks_back(week, CHART_WEEKS);
    let (from, to) = (first.to_string(), week.to_string());
    let history = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                if !weekly::team_exists(tx, team_id).await? {
                    return Ok(None);
                }
                weekly::history(tx, team_id, &from, &to).await.map(Some)
            })
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, team_id, "reading a chart's numbers failed");
            HttpError::new(StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        })?
        .ok_or_else(no_chart)?;
    let mut weeks = Vec::new();
    let mut w = first;
    for _ in 0..CHART_WEEKS {
        let name = w.to_string();
        let n = history.get(&name).copied().unwrap_or_default();
        weeks.push(ChartWeek {
            // 2026-W50 → 12/7, the week's Monday, as people read dates.
            label: crate::reply::week_axis_label(w),
            closed: n.closed,
            services: n.services,
            visits: n.visits,
        });
        w = w.next();
    }
    let png = tokio::task::spawn_blocking(move || chart::render(&weeks))
        .await
        .map_err(|e| anyhow::anyhow!("the chart task failed: {e}"))
        .and_then(|r| r)
        .map_err(|e| {
            tracing::error!(error = %e, team_id, "drawing a chart failed");
            HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        })?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            // A past week's numbers barely move; the chat apps may cache.
            (header::CACHE_CONTROL, "public, max-age=600"),
        ],
        png,
    )
        .into_response())
}
