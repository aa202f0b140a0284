//! Queries of the scheduled jobs: who is in scope, what is open, what was
//! already said today, which firings were claimed.

use super::sql;
use super::{Backend, StoreResult, Tx};

crate::row_struct! {
    /// A team in a job's scope, with its township's time zone.
    #[derive(Debug, Clone)]
    pub struct ScopeTeam {
        pub team_id: i64,
        pub team_name: String,
        pub village_name: String,
        pub township_id: i64,
        pub township_name: String,
        pub timezone: Option<String>,
    }
}

const SCOPE_TEAM_SELECT: &str = "SELECT DISTINCT t.id AS team_id, t.name AS team_name, v.name AS village_name, \
     s.id AS township_id, s.name AS township_name, s.timezone \
     FROM teams t JOIN villages v ON v.id = t.village_id JOIN townships s ON s.id = v.township_id \
     JOIN chat_groups g ON g.team_id = t.id";

/// Teams with at least one bound group, in a township (or all).
pub async fn teams(tx: &mut Tx, township_id: Option<i64>) -> StoreResult<Vec<ScopeTeam>> {
    let r = match township_id {
        Some(id) => {
            sql::query_as(sql::Owned(format!(
                "{SCOPE_TEAM_SELECT} WHERE s.id = $1 ORDER BY t.id"
            )))
            .bind(id)
            .fetch_all(tx)
            .await?
        }
        None => {
            sql::query_as(sql::Owned(format!("{SCOPE_TEAM_SELECT} ORDER BY t.id")))
                .fetch_all(tx)
                .await?
        }
    };
    Ok(r)
}

/// The team of one group.
pub async fn team_of_group(tx: &mut Tx, group_id: i64) -> StoreResult<Option<ScopeTeam>> {
    let r = sql::query_as(sql::Owned(format!("{SCOPE_TEAM_SELECT} WHERE g.id = $1")))
        .bind(group_id)
        .fetch_optional(tx)
        .await?;
    Ok(r)
}

/// The groups bound to a team (a team may have a DingTalk and a WeCom group).
pub async fn team_groups(tx: &mut Tx, team_id: i64) -> StoreResult<Vec<super::groups::PushTarget>> {
    let r = sql::query_as(
        "SELECT id AS group_id, platform, bot, conversation_id, push_webhook_token, push_webhook_secret \
         FROM chat_groups WHERE team_id = $1 ORDER BY id")
        .bind(team_id).fetch_all(tx).await?;
    Ok(r)
}

/// Townships with their time zone.
pub async fn townships(tx: &mut Tx) -> StoreResult<Vec<(i64, String, Option<String>)>> {
    let r = sql::query_as("SELECT id, name, timezone FROM townships ORDER BY id")
        .fetch_all(tx)
        .await?;
    Ok(r)
}

/// A township's schedule overrides: (job, cron).
pub async fn schedule_overrides(
    tx: &mut Tx,
    township_id: i64,
) -> StoreResult<Vec<(String, String)>> {
    let r = sql::query_as(
        "SELECT job, cron FROM township_schedules WHERE township_id = $1 ORDER BY job",
    )
    .bind(township_id)
    .fetch_all(tx)
    .await?;
    Ok(r)
}

pub async fn set_schedule_override(
    tx: &mut Tx,
    township_id: i64,
    job: &str,
    cron: Option<&str>,
) -> StoreResult<()> {
    match cron {
        Some(cron) => sql::query(
            "INSERT INTO township_schedules (township_id, job, cron) VALUES ($1, $2, $3) \
             ON CONFLICT (township_id, job) DO UPDATE SET cron = excluded.cron",
        )
        .bind(township_id)
        .bind(job)
        .bind(cron)
        .execute(tx)
        .await?
        .rows_affected(),
        None => sql::query("DELETE FROM township_schedules WHERE township_id = $1 AND job = $2")
            .bind(township_id)
            .bind(job)
            .execute(tx)
            .await?
            .rows_affected(),
    };
    Ok(())
}

/// Township admins: (person id, platform, platform user id, name).
pub async fn township_admins(
    tx: &mut Tx,
    township_id: i64,
) -> StoreResult<Vec<(i64, String, String, String)>> {
    let r = sql::query_as(
        "SELECT p.id, p.platform, p.platform_user_id, p.display_name FROM township_admins a \
         JOIN people p ON p.id = a.person_id WHERE a.township_id = $1 ORDER BY p.id",
    )
    .bind(township_id)
    .fetch_all(tx)
    .await?;
    Ok(r)
}

pub async fn add_township_admin(tx: &mut Tx, township_id: i64, person_id: i64) -> StoreResult<()> {
    sql::query(
        "INSERT INTO township_admins (township_id, person_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(township_id).bind(person_id).execute(tx).await?.rows_affected();
    Ok(())
}

/// Open tasks of the team up to and including `week` (older weeks are the backlog).
pub async fn open_tasks(
    tx: &mut Tx,
    team_id: i64,
    week: &str,
) -> StoreResult<Vec<super::tasks::TaskWithOwners>> {
    let tasks: Vec<super::tasks::TaskRow> = sql::query_as(
        "SELECT id, no, text, level, deadline_at, state, source, closed_at, result, week, carried_over FROM tasks \
         WHERE team_id = $1 AND week <= $2 AND state = 'open' ORDER BY week, no",
    )
    .bind(team_id)
    .bind(week)
    .fetch_all(tx)
    .await?;
    let owners: Vec<(i64, i64, String, String)> = sql::query_as(
        "SELECT o.task_id, p.id, p.platform_user_id, p.display_name FROM task_owners o \
         JOIN tasks t ON t.id = o.task_id JOIN people p ON p.id = o.person_id \
         WHERE t.team_id = $1 AND t.week <= $2 AND t.state = 'open' ORDER BY o.task_id, p.id",
    )
    .bind(team_id)
    .bind(week)
    .fetch_all(tx)
    .await?;
    Ok(super::tasks::attach_owners(tasks, &owners))
}

/// Records a nag of `person` about `task` on `day`; `false` if they were
/// already nagged about it that day.
pub async fn nag(tx: &mut Tx, person_id: i64, task_id: i64, day: &str) -> StoreResult<bool> {
    let n = sql::query(
        "INSERT INTO nags (person_id, task_id, day) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(person_id)
    .bind(task_id)
    .bind(day)
    .execute(tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Records an overdue alert of `task` on `day`; `false` if it was already alerted that day.
pub async fn overdue_alert(tx: &mut Tx, task_id: i64, day: &str) -> StoreResult<bool> {
    let n = sql::query(
        "INSERT INTO overdue_alerts (task_id, day) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(task_id)
    .bind(day)
    .execute(tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

crate::row_struct! {
    /// A week of a team, in numbers.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct WeekStats {
        pub total: i64,
        pub closed: i64,
        pub on_time: i64,
        pub services: i64,
        pub visits: i64,
        pub requests: i64,
        pub open_requests: i64,
        pub raters: i64,
        pub rating_sum: i64,
    }
}

pub async fn week_stats(tx: &mut Tx, team_id: i64, week: &str) -> StoreResult<WeekStats> {
    let r = sql::query_as(
        "SELECT \
           (SELECT COUNT(*) FROM tasks WHERE team_id = $1 AND week = $2 AND state <> 'cancelled') AS total, \
           (SELECT COUNT(*) FROM tasks WHERE team_id = $1 AND week = $2 AND state = 'closed') AS closed, \
           (SELECT COUNT(*) FROM tasks WHERE team_id = $1 AND week = $2 AND state = 'closed' \
              AND closed_at <= deadline_at AND carried_over = 0) AS on_time, \
           (SELECT COUNT(*) FROM services WHERE team_id = $1 AND week = $2) AS services, \
           (SELECT COUNT(*) FROM visits WHERE team_id = $1 AND week = $2) AS visits, \
           (SELECT COUNT(*) FROM requests WHERE team_id = $1 AND week = $2) AS requests, \
           (SELECT COUNT(*) FROM requests r JOIN tasks t ON t.id = r.task_id \
              WHERE r.team_id = $1 AND t.state = 'open') AS open_requests, \
           (SELECT COUNT(*) FROM ratings WHERE team_id = $1 AND week = $2) AS raters, \
           (SELECT CAST(COALESCE(SUM(score), 0) AS BIGINT) FROM ratings WHERE team_id = $1 AND week = $2) AS rating_sum")
        .bind(team_id).bind(week).fetch_one(tx).await?;
    Ok(r)
}

/// Claims a firing. `true`: this replica runs it; `false`: someone did
/// already, or is running it now.
///
/// A firing runs in the transaction that claims it. On PostgreSQL a second
/// replica's plain `INSERT … ON CONFLICT DO NOTHING` would wait for that
/// transaction to end (a township's fan-out: up to a second under load),
/// holding a pooled connection the callbacks need meanwhile. So the claim
/// first takes a transaction-scoped advisory lock on the firing's key, without
/// waiting: a replica that cannot have it returns `false` at once. If the
/// running firing rolls back, its slot is still due at the next tick and is
/// claimed then (a hash collision with another firing defers it one tick
/// the same way). On SQLite the writer runs claims one after another.
#[allow(clippy::too_many_arguments)]
pub async fn claim_firing(
    tx: &mut Tx,
    job: &str,
    scope: &str,
    slot_ms: i64,
    fire_at_ms: i64,
    status: &str,
    worker: &str,
    now_ms: i64,
) -> StoreResult<bool> {
    let statement = match tx.backend() {
        Backend::Postgres => {
            "INSERT INTO job_firings (job, scope, slot, fire_at, status, claimed_by, claimed_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7 \
             WHERE pg_try_advisory_xact_lock(hashtextextended($1 || ' ' || $2 || ' ' || CAST($3 AS TEXT), 0)) \
             ON CONFLICT (job, scope, slot) DO NOTHING"
        }
        Backend::Sqlite => {
            "INSERT INTO job_firings (job, scope, slot, fire_at, status, claimed_by, claimed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (job, scope, slot) DO NOTHING"
        }
    };
    let n = sql::query(statement)
        .bind(job)
        .bind(scope)
        .bind(slot_ms)
        .bind(fire_at_ms)
        .bind(status)
        .bind(worker)
        .bind(now_ms)
        .execute(tx)
        .await?
        .rows_affected();
    Ok(n == 1)
}

#[allow(clippy::too_many_arguments)]
pub async fn finish_firing(
    tx: &mut Tx,
    job: &str,
    scope: &str,
    slot_ms: i64,
    status: &str,
    enqueued: i64,
    error: Option<&str>,
    now_ms: i64,
) -> StoreResult<()> {
    sql::query(
        "UPDATE job_firings SET status = $4, enqueued = $5, error = $6, finished_at = $7 \
         WHERE job = $1 AND scope = $2 AND slot = $3",
    )
    .bind(job)
    .bind(scope)
    .bind(slot_ms)
    .bind(status)
    .bind(enqueued)
    .bind(error)
    .bind(now_ms)
    .execute(tx)
    .await?
    .rows_affected();
    Ok(())
}

/// Firings recorded for a job (tests, admin API): (scope, slot, status, enqueued).
pub async fn firings(tx: &mut Tx, job: &str) -> StoreResult<Vec<(String, i64, String, i64)>> {
    let r = sql::query_as(
        "SELECT scope, slot, status, enqueued FROM job_firings WHERE job = $1 ORDER BY slot, scope",
    )
    .bind(job)
    .fetch_all(tx)
    .await?;
    Ok(r)
}

pub async fn cursor(tx: &mut Tx, job: &str, scope: &str) -> StoreResult<Option<i64>> {
    let r: Option<(i64,)> =
        sql::query_as("SELECT checked_until FROM job_cursors WHERE job = $1 AND scope = $2")
            .bind(job)
            .bind(scope)
            .fetch_optional(tx)
            .await?;
    Ok(r.map(|(t,)| t))
}

/// Moves a cursor forward (never back: replicas may race).
pub async fn advance_cursor(tx: &mut Tx, job: &str, scope: &str, until: i64) -> StoreResult<()> {
    sql::query(
        "INSERT INTO job_cursors (job, scope, checked_until) VALUES ($1, $2, $3) \
         ON CONFLICT (job, scope) DO UPDATE SET checked_until = $3 WHERE job_cursors.checked_until < $3")
        .bind(job).bind(scope).bind(until).execute(tx).await?.rows_affected();
    Ok(())
}

/// Admins' calendar corrections: (year, TOML).
pub async fn calendar_years(tx: &mut Tx) -> StoreResult<Vec<(i64, String)>> {
    let r = sql::query_as("SELECT year, data FROM calendar_years ORDER BY year")
        .fetch_all(tx)
        .await?;
    Ok(r)
}

pub async fn set_calendar_year(tx: &mut Tx, year: i64, data: &str, now_ms: i64) -> StoreResult<()> {
    sql::query(
        "INSERT INTO calendar_years (year, data, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (year) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
    )
    .bind(year)
    .bind(data)
    .bind(now_ms)
    .execute(tx)
    .await?
    .rows_affected();
    Ok(())
}
