//! The week-by-week numbers of a team, for the airing's comparison with
//! last week and its chart.

use super::sql;
use std::collections::BTreeMap;

use super::{StoreResult, Tx};

/// One week's outcome numbers of a team.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WeekNumbers {
    /// Tasks of the week's plan, cancelled ones not counted.
    pub total: i64,
    pub closed: i64,
    pub services: i64,
    pub visits: i64,
}

/// The team's numbers for each ISO week from `first` to `last` (as
/// `2026-W49`, which sort as the weeks do); weeks without any are absent.
pub async fn history(
    tx: &mut Tx,
    team_id: i64,
    first: &str,
    last: &str,
) -> StoreResult<BTreeMap<String, WeekNumbers>> {
    let tasks: Vec<(String, i64, i64)> = sql::query_as(
        "SELECT week, COUNT(*), CAST(COALESCE(SUM(CASE WHEN state = 'closed' THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM tasks WHERE team_id = $1 AND week >= $2 AND week <= $3 AND state <> 'cancelled' GROUP BY week")
        .bind(team_id).bind(first).bind(last).fetch_all(tx).await?;
    let services: Vec<(String, i64)> = sql::query_as(
        "SELECT week, COUNT(*) FROM services WHERE team_id = $1 AND week >= $2 AND week <= $3 GROUP BY week")
        .bind(team_id).bind(first).bind(last).fetch_all(tx).await?;
    let visits: Vec<(String, i64)> = sql::query_as(
        "SELECT week, COUNT(*) FROM visits WHERE team_id = $1 AND week >= $2 AND week <= $3 GROUP BY week")
        .bind(team_id).bind(first).bind(last).fetch_all(tx).await?;
    let mut out: BTreeMap<String, WeekNumbers> = BTreeMap::new();
    for (w, total, closed) in tasks {
        let e = out.entry(w).or_default();
        e.total = total;
        e.closed = closed;
    }
    for (w, n) in services {
        out.entry(w).or_default().services = n;
    }
    for (w, n) in visits {
        out.entry(w).or_default().visits = n;
    }
    Ok(out)
}

/// Villagers' requests of the week whose task is closed.
pub async fn requests_resolved(tx: &mut Tx, team_id: i64, week: &str) -> StoreResult<i64> {
    let (n,): (i64,) = sql::query_as(
        "SELECT COUNT(*) FROM requests r JOIN tasks t ON t.id = r.task_id \
         WHERE r.team_id = $1 AND r.week = $2 AND t.state = 'closed'",
    )
    .bind(team_id)
    .bind(week)
    .fetch_one(tx)
    .await?;
    Ok(n)
}

/// Whether the team exists (the chart endpoint's check).
pub async fn team_exists(tx: &mut Tx, team_id: i64) -> StoreResult<bool> {
    let r: Option<(i64,)> = sql::query_as("SELECT id FROM teams WHERE id = $1")
        .bind(team_id)
        .fetch_optional(tx)
        .await?;
    Ok(r.is_some())
}
