//! Villagers' ratings: one per person per team per week, the latest counts.

use super::sql;
use super::{Backend, StoreResult, Tx};

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

/// A villager's rating of the team, for the week of the team's latest
/// airing, which invited it: this week once its airing is out, else last
/// week (open until the next week's airing); a team with neither airing yet
/// is rated for this week. `weeks`: this week and last week. Returns the
/// week rated and its [`Summary`] from before this rating.
///
/// On PostgreSQL one statement does it all (a round trip instead of
/// three); elsewhere [`aired`], [`summary`] and [`upsert`] in turn.
#[allow(clippy::too_many_arguments)]
pub async fn rate(
    tx: &mut Tx,
    team_id: i64,
    [this, prev]: [&str; 2],
    person_id: i64,
    score: i64,
    comment: &str,
    now_ms: i64,
) -> StoreResult<(String, Summary)> {
    if tx.backend() == Backend::Postgres {
        // The summary is read from the statement's snapshot: without the
        // rating the same statement upserts.
        let (week, raters, sum, mine): (String, i64, Option<i64>, Option<i64>) = sql::query_as(
            "WITH w AS ( \
               SELECT CASE WHEN EXISTS (SELECT 1 FROM team_airings WHERE team_id = $1 AND week = $3) \
                            AND NOT EXISTS (SELECT 1 FROM team_airings WHERE team_id = $1 AND week = $2) \
                      THEN $3 ELSE $2 END AS week \
             ), up AS ( \
               INSERT INTO ratings (team_id, week, person_id, score, comment, at) \
               SELECT $1, w.week, $4, $5, $6, $7 FROM w \
               ON CONFLICT (team_id, week, person_id) DO UPDATE SET score = excluded.score, \
                 comment = excluded.comment, at = excluded.at \
             ) \
             SELECT w.week, COUNT(r.score), CAST(SUM(r.score) AS BIGINT), \
                    CAST(MAX(CASE WHEN r.person_id = $4 THEN r.score END) AS BIGINT) \
             FROM w LEFT JOIN ratings r ON r.team_id = $1 AND r.week = w.week \
             GROUP BY w.week",
        )
        .bind(team_id)
        .bind(this)
        .bind(prev)
        .bind(person_id)
        .bind(score)
        .bind(comment)
        .bind(now_ms)
        .fetch_one(tx)
        .await?;
        let summary = Summary {
            raters,
            sum: sum.unwrap_or(0),
            mine,
        };
        return Ok((week, summary));
    }
    let aired = aired(tx, team_id, this, prev).await?;
    let week = if !aired.iter().any(|w| w == this) && aired.iter().any(|w| w == prev) {
        prev
    } else {
        this
    };
    let before = summary(tx, team_id, week, person_id).await?;
    upsert(tx, team_id, week, person_id, score, comment, now_ms).await?;
    Ok((week.to_string(), before))
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
