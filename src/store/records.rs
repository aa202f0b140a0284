//! Services, household visits and villagers' requests.

use super::sql;
use super::{StoreResult, Tx};

pub async fn insert_service(
    tx: &mut Tx,
    team_id: i64,
    week: &str,
    task_id: Option<i64>,
    person_id: i64,
    text: &str,
    now_ms: i64,
) -> StoreResult<i64> {
    let (id,): (i64,) = sql::query_as(
        "INSERT INTO services (team_id, week, task_id, person_id, text, at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
        .bind(team_id).bind(week).bind(task_id).bind(person_id).bind(text).bind(now_ms)
        .fetch_one(tx).await?;
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
    let (id,): (i64,) = sql::query_as(
        "INSERT INTO visits (team_id, week, person_id, household, household_id, text, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(team_id)
    .bind(week)
    .bind(person_id)
    .bind(household)
    .bind(household_id)
    .bind(text)
    .bind(now_ms)
    .fetch_one(tx)
    .await?;
    Ok(id)
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
    let (id,): (i64,) = sql::query_as(
        "INSERT INTO requests (team_id, week, person_id, text, task_id, at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
        .bind(team_id).bind(week).bind(person_id).bind(text).bind(task_id).bind(now_ms)
        .fetch_one(tx).await?;
    Ok(id)
}

/// The week's counts of services and visits by the team, and this person's.
pub async fn week_counts(
    tx: &mut Tx,
    team_id: i64,
    week: &str,
    person_id: i64,
) -> StoreResult<WeekCounts> {
    let (services, my_services, visits, my_visits): (i64, i64, i64, i64) = sql::query_as(
        "SELECT \
           (SELECT COUNT(*) FROM services WHERE team_id = $1 AND week = $2), \
           (SELECT COUNT(*) FROM services WHERE team_id = $1 AND week = $2 AND person_id = $3), \
           (SELECT COUNT(*) FROM visits WHERE team_id = $1 AND week = $2), \
           (SELECT COUNT(*) FROM visits WHERE team_id = $1 AND week = $2 AND person_id = $3)",
    )
    .bind(team_id)
    .bind(week)
    .bind(person_id)
    .fetch_one(tx)
    .await?;
    Ok(WeekCounts {
        services,
        my_services,
        visits,
        my_visits,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekCounts {
    pub services: i64,
    pub my_services: i64,
    pub visits: i64,
    pub my_visits: i64,
}
