//! Weekly plans and their tasks.

use super::sql;
use super::{StoreError, StoreResult, Tx};
use crate::domain::level::Level;
use crate::domain::task::TaskState;

crate::row_struct! {
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct TaskRow {
        pub id: i64,
        pub no: i64,
        pub text: String,
        #[sqlx(try_from = "String")]
        pub level: Level,
        pub deadline_at: i64,
        #[sqlx(try_from = "String")]
        pub state: TaskState,
        pub source: String,
        pub closed_at: Option<i64>,
        pub result: Option<String>,
        /// The ISO week whose list the task belongs to (`2026-W49`).
        pub week: String,
        /// 1 once the task was postponed after being carried over: never on time.
        pub carried_over: i64,
    }
}

/// Decoded where it is read: a state that is none of the three is an error.
impl rusqlite::types::FromSql for TaskState {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        TaskState::try_from(v.as_str()?.to_string())
            .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
    }
}

/// Decoded where it is read: a level that is none of the four is an error.
impl rusqlite::types::FromSql for Level {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        Level::try_from(v.as_str()?.to_string())
            .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
    }
}

/// A task with its owners (person id, platform id, name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskWithOwners {
    pub task: TaskRow,
    pub owners: Vec<(i64, String, String)>,
}

/// What to insert; `no` is assigned by [`insert_tasks`].
#[derive(Debug, Clone)]
pub struct NewTask {
    pub text: String,
    pub level: &'static str,
    pub deadline_at: i64,
    pub source: &'static str,
    pub owners: Vec<i64>,
}

pub async fn plan_published(tx: &mut Tx, team_id: i64, week: &str) -> StoreResult<bool> {
    let r: Option<(i64,)> = sql::query_as("SELECT id FROM plans WHERE team_id = $1 AND week = $2")
        .bind(team_id)
        .bind(week)
        .fetch_optional(tx)
        .await?;
    Ok(r.is_some())
}

/// Marks the week's plan as published; `false` if it already was (also when
/// another message published it a moment ago: that one wins, this one waits
/// for it on PostgreSQL and stores nothing).
pub async fn insert_plan(
    tx: &mut Tx,
    team_id: i64,
    week: &str,
    by: i64,
    now_ms: i64,
) -> StoreResult<bool> {
    let n = sql::query(
        "INSERT INTO plans (team_id, week, published_by, published_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (team_id, week) DO NOTHING",
    )
    .bind(team_id)
    .bind(week)
    .bind(by)
    .bind(now_ms)
    .execute(tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Takes the team's next `n` task numbers; returns the first. The counter row
/// is locked until the transaction ends, so concurrent messages of one team
/// take turns instead of colliding (issue 15.3).
async fn take_numbers(tx: &mut Tx, team_id: i64, n: i64) -> StoreResult<i64> {
    let (last,): (i64,) = sql::query_as(
        "INSERT INTO task_counters (team_id, last_no) VALUES ($1, $2) \
         ON CONFLICT (team_id) DO UPDATE SET last_no = task_counters.last_no + $2 \
         RETURNING last_no",
    )
    .bind(team_id)
    .bind(n)
    .fetch_one(tx)
    .await?;
    Ok(last - n + 1)
}

/// Inserts tasks into `week`'s list with the team's next numbers; returns
/// their (id, number).
pub async fn insert_tasks(
    tx: &mut Tx,
    team_id: i64,
    week: &str,
    created_by: i64,
    now_ms: i64,
    tasks: &[NewTask],
) -> StoreResult<Vec<(i64, i64)>> {
    if tasks.is_empty() {
        return Ok(Vec::new());
    }
    let n = i64::try_from(tasks.len()).map_err(|e| super::StoreError::Other(e.into()))?;
    let first = take_numbers(tx, team_id, n).await?;
    let mut out = Vec::with_capacity(tasks.len());
    for (next, t) in (first..).zip(tasks) {
        let id = crate::insert_returning_id!(
            "INSERT INTO tasks (team_id, week, no, text, level, deadline_at, state, source, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9)")
            .bind(team_id).bind(week).bind(next).bind(&t.text).bind(t.level).bind(t.deadline_at)
            .bind(t.source).bind(created_by).bind(now_ms)
            .fetch_id(tx).await?;
        for owner in &t.owners {
            sql::query(
                "INSERT INTO task_owners (task_id, person_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(id).bind(owner).execute(tx).await?.rows_affected();
        }
        out.push((id, next));
    }
    Ok(out)
}

/// Makes `owners` the task's owners, replacing the ones it had.
pub async fn replace_owners(tx: &mut Tx, task_id: i64, owners: &[i64]) -> StoreResult<()> {
    sql::query("DELETE FROM task_owners WHERE task_id = $1")
        .bind(task_id)
        .execute(tx)
        .await?
        .rows_affected();
    for owner in owners {
        sql::query(
            "INSERT INTO task_owners (task_id, person_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(task_id)
        .bind(owner)
        .execute(tx)
        .await?
        .rows_affected();
    }
    Ok(())
}

/// The columns a [`TaskRow`] is read from (a macro, so that the statements
/// using it are literals, not formatted anew on every call).
macro_rules! task_cols {
    () => {
        "id, no, text, level, deadline_at, state, source, closed_at, result, week, carried_over"
    };
}

/// The week's tasks with owners, by number.
pub async fn week_tasks(tx: &mut Tx, team_id: i64, week: &str) -> StoreResult<Vec<TaskWithOwners>> {
    let tasks: Vec<TaskRow> = sql::query_as(concat!(
        "SELECT ",
        task_cols!(),
        " FROM tasks WHERE team_id = $1 AND week = $2 ORDER BY no"
    ))
    .bind(team_id)
    .bind(week)
    .fetch_all(tx)
    .await?;
    let owners: Vec<(i64, i64, String, String)> = sql::query_as(
        "SELECT o.task_id, p.id, p.platform_user_id, p.display_name FROM task_owners o \
         JOIN tasks t ON t.id = o.task_id JOIN people p ON p.id = o.person_id \
         WHERE t.team_id = $1 AND t.week = $2 ORDER BY o.task_id, p.id",
    )
    .bind(team_id)
    .bind(week)
    .fetch_all(tx)
    .await?;
    Ok(attach_owners(tasks, &owners))
}

/// Pairs tasks with their owners, given rows of (task id, person id,
/// platform id, name).
pub(crate) fn attach_owners(
    tasks: Vec<TaskRow>,
    owners: &[(i64, i64, String, String)],
) -> Vec<TaskWithOwners> {
    tasks
        .into_iter()
        .map(|task| {
            let owners = owners
                .iter()
                .filter(|(tid, ..)| *tid == task.id)
                .map(|(_, pid, uid, name)| (*pid, uid.clone(), name.clone()))
                .collect();
            TaskWithOwners { task, owners }
        })
        .collect()
}

/// Task `#no` of the team, with its owners: the open task of that number
/// (there is at most one, of any week), else the latest task that had it.
pub async fn task_by_no(tx: &mut Tx, team_id: i64, no: i64) -> StoreResult<Option<TaskWithOwners>> {
    let task: Option<TaskRow> = sql::query_as(concat!(
        "SELECT ",
        task_cols!(),
        " FROM tasks WHERE team_id = $1 AND no = $2 \
          ORDER BY CASE WHEN state = 'open' THEN 0 ELSE 1 END, id DESC LIMIT 1"
    ))
    .bind(team_id)
    .bind(no)
    .fetch_optional(tx)
    .await?;
    let Some(task) = task else { return Ok(None) };
    let owners: Vec<(i64, String, String)> = sql::query_as(
        "SELECT p.id, p.platform_user_id, p.display_name FROM task_owners o \
         JOIN people p ON p.id = o.person_id WHERE o.task_id = $1 ORDER BY p.id",
    )
    .bind(task.id)
    .fetch_all(tx)
    .await?;
    Ok(Some(TaskWithOwners { task, owners }))
}

/// Closes an open task. `NotFound` if it is not open any more.
pub async fn close(
    tx: &mut Tx,
    task_id: i64,
    by: i64,
    result: &str,
    now_ms: i64,
) -> StoreResult<()> {
    let n = sql::query(
        "UPDATE tasks SET state = 'closed', closed_at = $3, closed_by = $2, result = $4 \
         WHERE id = $1 AND state = 'open'",
    )
    .bind(task_id)
    .bind(by)
    .bind(now_ms)
    .bind(result)
    .execute(tx)
    .await?
    .rows_affected();
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

/// Moves an open task's deadline, and the task into `week`'s list, and
/// records why. `carried`: the task was carried over from an earlier week,
/// so it is marked never on time.
#[allow(clippy::too_many_arguments)]
pub async fn postpone(
    tx: &mut Tx,
    task_id: i64,
    from_at: i64,
    to_at: i64,
    week: &str,
    carried: bool,
    reason: &str,
    by: i64,
    now_ms: i64,
) -> StoreResult<()> {
    let n = sql::query(
        "UPDATE tasks SET deadline_at = $2, week = $3, \
         carried_over = CASE WHEN $4 = 1 THEN 1 ELSE carried_over END \
         WHERE id = $1 AND state = 'open'",
    )
    .bind(task_id)
    .bind(to_at)
    .bind(week)
    .bind(i64::from(carried))
    .execute(tx)
    .await?
    .rows_affected();
    if n != 1 {
        return Err(StoreError::NotFound);
    }
    sql::query(
        "INSERT INTO task_postponements (task_id, from_at, to_at, reason, by_person, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(task_id)
    .bind(from_at)
    .bind(to_at)
    .bind(reason)
    .bind(by)
    .bind(now_ms)
    .execute(tx)
    .await?
    .rows_affected();
    Ok(())
}

/// How often a task was postponed.
pub async fn postponements(tx: &mut Tx, task_id: i64) -> StoreResult<Vec<(i64, i64, String)>> {
    let r = sql::query_as(
        "SELECT from_at, to_at, reason FROM task_postponements WHERE task_id = $1 ORDER BY id",
    )
    .bind(task_id)
    .fetch_all(tx)
    .await?;
    Ok(r)
}

/// Cancels an open task with a reason.
pub async fn cancel(
    tx: &mut Tx,
    task_id: i64,
    reason: &str,
    by: i64,
    now_ms: i64,
) -> StoreResult<()> {
    let n = sql::query(
        "UPDATE tasks SET state = 'cancelled', cancel_reason = $2, closed_by = $3, closed_at = $4 \
         WHERE id = $1 AND state = 'open'",
    )
    .bind(task_id)
    .bind(reason)
    .bind(by)
    .bind(now_ms)
    .execute(tx)
    .await?
    .rows_affected();
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

/// The team's tasks still open from weeks before `week`, oldest week first:
/// they are carried over (结转) into `week`'s list.
pub async fn carried_tasks(
    tx: &mut Tx,
    team_id: i64,
    week: &str,
) -> StoreResult<Vec<TaskWithOwners>> {
    let tasks: Vec<TaskRow> = sql::query_as(concat!(
        "SELECT ",
        task_cols!(),
        " FROM tasks WHERE team_id = $1 AND week < $2 AND state = 'open' ORDER BY week, no"
    ))
    .bind(team_id)
    .bind(week)
    .fetch_all(tx)
    .await?;
    let owners: Vec<(i64, i64, String, String)> = sql::query_as(
        "SELECT o.task_id, p.id, p.platform_user_id, p.display_name FROM task_owners o \
         JOIN tasks t ON t.id = o.task_id JOIN people p ON p.id = o.person_id \
         WHERE t.team_id = $1 AND t.week < $2 AND t.state = 'open' ORDER BY o.task_id, p.id",
    )
    .bind(team_id)
    .bind(week)
    .fetch_all(tx)
    .await?;
    Ok(attach_owners(tasks, &owners))
}
