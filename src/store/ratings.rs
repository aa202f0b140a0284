//! Villagers' ratings: one per person per team per week, the latest counts.

use super::{StoreResult, Tx};
use crate::on_tx;

/// Stores a rating; returns whether it replaced an earlier one this week.
pub async fn upsert(
    tx: &mut Tx,
    team_id: i64,
    week: &str,
    person_id: i64,
    score: i64,
    comment: &str,
    now_ms: i64,
) -> StoreResult<bool> {
    let before: Option<(i64,)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT score FROM ratings WHERE team_id = $1 AND week = $2 AND person_id = $3")
        .bind(team_id).bind(week).bind(person_id).fetch_optional(c).await?);
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO ratings (team_id, week, person_id, score, comment, at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (team_id, week, person_id) DO UPDATE SET score = excluded.score, \
           comment = excluded.comment, at = excluded.at")
        .bind(team_id).bind(week).bind(person_id).bind(score).bind(comment).bind(now_ms)
        .execute(c).await?.rows_affected());
    Ok(before.is_some())
}

/// (number of raters, average score) for the team's week.
pub async fn summary(tx: &mut Tx, team_id: i64, week: &str) -> StoreResult<(i64, f64)> {
    let (n, sum): (i64, Option<i64>) = on_tx!(tx, c => sqlx::query_as(
        "SELECT COUNT(*), CAST(SUM(score) AS BIGINT) FROM ratings WHERE team_id = $1 AND week = $2")
        .bind(team_id).bind(week).fetch_one(c).await?);
    let avg = if n > 0 {
        sum.unwrap_or(0) as f64 / n as f64
    } else {
        0.0
    };
    Ok((n, avg))
}
