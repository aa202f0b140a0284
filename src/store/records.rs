//! Services, household visits and villagers' requests.

use std::collections::HashMap;

use super::sql;
use super::{Backend, StoreResult, Tx};

pub async fn insert_service(
    tx: &mut Tx,
    team_id: i64,
    week: &str,
    task_id: Option<i64>,
    person_id: i64,
    text: &str,
    now_ms: i64,
) -> StoreResult<i64> {
    let before = tx.kept().before_insert(Tally::Services);
    let id = crate::insert_returning_id!(
        "INSERT INTO services (team_id, week, task_id, person_id, text, at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(team_id).bind(week).bind(task_id).bind(person_id).bind(text).bind(now_ms)
        .fetch_id(tx).await?;
    tx.kept().inserted(before, team_id, week, person_id);
    Ok(id)
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_visit(
    tx: &mut Tx,
    team_id: i64,
    week: &str,
    person_id: i64,
    household: &str,
    household_id: Option<i64>,
    text: &str,
    now_ms: i64,
) -> StoreResult<i64> {
    let before = tx.kept().before_insert(Tally::Visits);
    let id = crate::insert_returning_id!(
        "INSERT INTO visits (team_id, week, person_id, household, household_id, text, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(team_id)
    .bind(week)
    .bind(person_id)
    .bind(household)
    .bind(household_id)
    .bind(text)
    .bind(now_ms)
    .fetch_id(tx)
    .await?;
    tx.kept().inserted(before, team_id, week, person_id);
    Ok(id)
}

/// Records a service and counts the team's week with it (the 服务 reply).
/// On PostgreSQL one statement does both, a round trip saved on every
/// message; elsewhere [`insert_service`] then [`week_count`] (the SQLite
/// writer keeps the tally, so counting costs nothing there).
#[allow(clippy::too_many_arguments)]
pub async fn insert_service_counted(
    tx: &mut Tx,
    team_id: i64,
    week: &str,
    task_id: Option<i64>,
    person_id: i64,
    text: &str,
    now_ms: i64,
) -> StoreResult<WeekCount> {
    if tx.backend() == Backend::Postgres {
        return counted(
            sql::query_as(
                "WITH new AS (INSERT INTO services (team_id, week, task_id, person_id, text, at) \
                              VALUES ($1, $2, $3, $4, $5, $6)) \
                 SELECT COUNT(*) + 1, COUNT(*) FILTER (WHERE person_id = $4) + 1 \
                 FROM services WHERE team_id = $1 AND week = $2",
            )
            .bind(team_id)
            .bind(week)
            .bind(task_id)
            .bind(person_id)
            .bind(text)
            .bind(now_ms),
            tx,
        )
        .await;
    }
    insert_service(tx, team_id, week, task_id, person_id, text, now_ms).await?;
    week_count(tx, Tally::Services, team_id, week, person_id).await
}

/// Records a visit and counts the team's week with it (the 走访 reply), as
/// [`insert_service_counted`] does.
#[allow(clippy::too_many_arguments)]
pub async fn insert_visit_counted(
    tx: &mut Tx,
    team_id: i64,
    week: &str,
    person_id: i64,
    household: &str,
    household_id: Option<i64>,
    text: &str,
    now_ms: i64,
) -> StoreResult<WeekCount> {
    if tx.backend() == Backend::Postgres {
        return counted(
            sql::query_as(
                "WITH new AS (INSERT INTO visits (team_id, week, person_id, household, household_id, text, at) \
                              VALUES ($1, $2, $3, $4, $5, $6, $7)) \
                 SELECT COUNT(*) + 1, COUNT(*) FILTER (WHERE person_id = $3) + 1 \
                 FROM visits WHERE team_id = $1 AND week = $2",
            )
            .bind(team_id)
            .bind(week)
            .bind(person_id)
            .bind(household)
            .bind(household_id)
            .bind(text)
            .bind(now_ms),
            tx,
        )
        .await;
    }
    insert_visit(
        tx,
        team_id,
        week,
        person_id,
        household,
        household_id,
        text,
        now_ms,
    )
    .await?;
    week_count(tx, Tally::Visits, team_id, week, person_id).await
}

/// Runs an insert-and-count statement: the week's rows before the insert
/// are counted from the statement's snapshot, which does not hold the row
/// it inserts, hence the `+ 1`s (a data-modifying `WITH` always runs to the
/// end, or the statement fails).
async fn counted(q: sql::Query<'_, (i64, i64)>, tx: &mut Tx) -> StoreResult<WeekCount> {
    let (team, mine) = q.fetch_one(tx).await?;
    Ok(WeekCount { team, mine })
}

pub async fn insert_request(
    tx: &mut Tx,
    team_id: i64,
    week: &str,
    person_id: i64,
    text: &str,
    task_id: i64,
    now_ms: i64,
) -> StoreResult<i64> {
    crate::insert_returning_id!(
        "INSERT INTO requests (team_id, week, person_id, text, task_id, at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(team_id).bind(week).bind(person_id).bind(text).bind(task_id).bind(now_ms)
        .fetch_id(tx).await
}

/// What a team counts in its week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tally {
    Services,
    Visits,
}

/// What a team has recorded this week: the team's count and the sender's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekCount {
    pub team: i64,
    pub mine: i64,
}

/// The team's services or visits this week, and this person's, from one
/// pass over the (team, week, person) index. The SQLite writer keeps each
/// week's tally and counts again only after a change it cannot follow
/// (`store::tallies`); elsewhere every call counts.
pub async fn week_count(
    tx: &mut Tx,
    tally: Tally,
    team_id: i64,
    week: &str,
    person_id: i64,
) -> StoreResult<WeekCount> {
    if let Some(kept) = tx.kept().week_count(tally, team_id, week, person_id) {
        return Ok(kept);
    }
    let sql = match tally {
        Tally::Services => {
            "SELECT person_id, COUNT(*) FROM services WHERE team_id = $1 AND week = $2 \
             GROUP BY person_id"
        }
        Tally::Visits => {
            "SELECT person_id, COUNT(*) FROM visits WHERE team_id = $1 AND week = $2 \
             GROUP BY person_id"
        }
    };
    let by_person: HashMap<i64, i64> = sql::query_as::<(i64, i64)>(sql)
        .bind(team_id)
        .bind(week)
        .fetch_all(tx)
        .await?
        .into_iter()
        .collect();
    let count = WeekCount {
        team: by_person.values().sum(),
        mine: by_person.get(&person_id).copied().unwrap_or(0),
    };
    tx.kept().keep_week(tally, team_id, week, by_person);
    Ok(count)
}
