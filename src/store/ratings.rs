//! Villagers' ratings: one per person per team per week, the latest counts.

use super::sql;
use super::{StoreResult, Tx};

/// Stores a rating (the latest counts).
pub async fn upsert(
    tx: &mut Tx,
    team_id: i64,
    week: &str,
    person_id: i64,
    score: i64,
    comment: &str,
    now_ms: i64,
) -> StoreResult<()> {
    sql::query(
        "INSERT INTO ratings (team_id, week, person_id, score, comment, at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (team_id, week, person_id) DO UPDATE SET score = excluded.score, \
           comment = excluded.comment, at = excluded.at")
        .bind(team_id).bind(week).bind(person_id).bind(score).bind(comment).bind(now_ms)
        .execute(tx).await?.rows_affected();
    Ok(())
}

/// The team's week of ratings, and this person's own score if they rated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub raters: i64,
    pub sum: i64,
    pub mine: Option<i64>,
}

impl Summary {
    pub fn average(&self) -> f64 {
        if self.raters > 0 {
            self.sum as f64 / self.raters as f64
        } else {
            0.0
        }
    }

    /// The summary once `person` (re)rates with `score`.
    pub fn with_rating(self, score: i64) -> Summary {
        match self.mine {
            Some(old) => Summary {
                sum: self.sum - old + score,
                mine: Some(score),
                ..self
            },
            None => Summary {
                raters: self.raters + 1,
                sum: self.sum + score,
                mine: Some(score),
            },
        }
    }
}

pub async fn summary(
    tx: &mut Tx,
    team_id: i64,
    week: &str,
    person_id: i64,
) -> StoreResult<Summary> {
    let (raters, sum, mine): (i64, Option<i64>, Option<i64>) = sql::query_as(
        "SELECT COUNT(*), CAST(SUM(score) AS BIGINT), \
                CAST(MAX(CASE WHEN person_id = $3 THEN score END) AS BIGINT) \
         FROM ratings WHERE team_id = $1 AND week = $2",
    )
    .bind(team_id)
    .bind(week)
    .bind(person_id)
    .fetch_one(tx)
    .await?;
    Ok(Summary {
        raters,
        sum: sum.unwrap_or(0),
        mine,
    })
}

/// Records that `team_id`'s airing of `week` went out (the first one counts).
pub async fn record_airing(tx: &mut Tx, team_id: i64, week: &str, now_ms: i64) -> StoreResult<()> {
    sql::query(
        "INSERT INTO team_airings (team_id, week, aired_at) VALUES ($1, $2, $3) \
         ON CONFLICT (team_id, week) DO NOTHING",
    )
    .bind(team_id)
    .bind(week)
    .bind(now_ms)
    .execute(tx)
    .await?
    .rows_affected();
    Ok(())
}

/// Which of `weeks` the team has had its airing of.
pub async fn aired(tx: &mut Tx, team_id: i64, this: &str, prev: &str) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> =
        sql::query_as("SELECT week FROM team_airings WHERE team_id = $1 AND week IN ($2, $3)")
            .bind(team_id)
            .bind(this)
            .bind(prev)
            .fetch_all(tx)
            .await?;
    Ok(rows.into_iter().map(|(w,)| w).collect())
}

/// A week's ratings of a team: (raters, sum of scores).
pub async fn week_totals(tx: &mut Tx, team_id: i64, week: &str) -> StoreResult<(i64, i64)> {
    let (raters, sum): (i64, Option<i64>) = sql::query_as(
        "SELECT COUNT(*), CAST(SUM(score) AS BIGINT) FROM ratings WHERE team_id = $1 AND week = $2",
    )
    .bind(team_id)
    .bind(week)
    .fetch_one(tx)
    .await?;
    Ok((raters, sum.unwrap_or(0)))
}
