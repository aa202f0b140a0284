//! Hard projects (难点项目) and their progress reports.

use super::sql;
use super::{StoreResult, Tx};

crate::row_struct! {
    /// A project with what was last reported on it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ProjectRow {
        pub id: i64,
        pub name: String,
        /// `open` or `done`.
        pub state: String,
        pub created_at: i64,
        pub done_at: Option<i64>,
        /// How many 进展 / 完成 reports it has.
        pub updates: i64,
        pub last_text: Option<String>,
        pub last_at: Option<i64>,
    }
}

impl ProjectRow {
    pub fn is_done(&self) -> bool {
        self.state == "done"
    }
}

/// Creates a project; `None` when the team already has one of that name this year.
pub async fn create(
    tx: &mut Tx,
    team_id: i64,
    year: i32,
    name: &str,
    person_id: i64,
    now_ms: i64,
) -> StoreResult<Option<i64>> {
    let r: Option<(i64,)> = sql::query_as(
        "INSERT INTO projects (team_id, year, name, created_by, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (team_id, year, name) DO NOTHING RETURNING id")
        .bind(team_id).bind(i64::from(year)).bind(name).bind(person_id).bind(now_ms)
        .fetch_optional(tx).await?;
    Ok(r.map(|(id,)| id))
}

/// The team's projects of `year`, in the order they were created.
pub async fn list(tx: &mut Tx, team_id: i64, year: i32) -> StoreResult<Vec<ProjectRow>> {
    let r = sql::query_as(
        "SELECT p.id, p.name, p.state, p.created_at, p.done_at, \
           (SELECT COUNT(*) FROM project_updates u WHERE u.project_id = p.id) AS updates, \
           (SELECT u.text FROM project_updates u WHERE u.project_id = p.id ORDER BY u.at DESC, u.id DESC LIMIT 1) AS last_text, \
           (SELECT u.at FROM project_updates u WHERE u.project_id = p.id ORDER BY u.at DESC, u.id DESC LIMIT 1) AS last_at \
         FROM projects p WHERE p.team_id = $1 AND p.year = $2 ORDER BY p.created_at, p.id")
        .bind(team_id).bind(i64::from(year)).fetch_all(tx).await?;
    Ok(r)
}

/// How many projects the team has in `year`.
pub async fn count(tx: &mut Tx, team_id: i64, year: i32) -> StoreResult<i64> {
    let (n,): (i64,) =
        sql::query_as("SELECT COUNT(*) FROM projects WHERE team_id = $1 AND year = $2")
            .bind(team_id)
            .bind(i64::from(year))
            .fetch_one(tx)
            .await?;
    Ok(n)
}

/// Records a 进展 (or the 完成 report); returns how many reports the project has now.
pub async fn add_update(
    tx: &mut Tx,
    project_id: i64,
    person_id: i64,
    week: &str,
    text: &str,
    now_ms: i64,
) -> StoreResult<i64> {
    sql::query(
        "INSERT INTO project_updates (project_id, person_id, week, text, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(project_id).bind(person_id).bind(week).bind(text).bind(now_ms)
        .execute(tx).await?.rows_affected();
    let (n,): (i64,) = sql::query_as("SELECT COUNT(*) FROM project_updates WHERE project_id = $1")
        .bind(project_id)
        .fetch_one(tx)
        .await?;
    Ok(n)
}

/// Marks a project done. `false` when it already was.
pub async fn mark_done(
    tx: &mut Tx,
    project_id: i64,
    person_id: i64,
    now_ms: i64,
) -> StoreResult<bool> {
    let n = sql::query(
        "UPDATE projects SET state = 'done', done_at = $2, done_by = $3 WHERE id = $1 AND state <> 'done'")
        .bind(project_id).bind(now_ms).bind(person_id)
        .execute(tx).await?.rows_affected();
    Ok(n == 1)
}

crate::row_struct! {
    /// One report on a project in a week, for the airing.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct WeekUpdate {
        pub name: String,
        pub text: String,
        /// The report that completed the project.
        pub completed: bool,
    }
}

/// The team's project reports of `week`, in order.
pub async fn week_updates(tx: &mut Tx, team_id: i64, week: &str) -> StoreResult<Vec<WeekUpdate>> {
    let r = sql::query_as(
        "SELECT p.name, u.text, (p.done_at IS NOT NULL AND p.done_at = u.at) AS completed \
         FROM project_updates u JOIN projects p ON p.id = u.project_id \
         WHERE p.team_id = $1 AND u.week = $2 ORDER BY u.at, u.id",
    )
    .bind(team_id)
    .bind(week)
    .fetch_all(tx)
    .await?;
    Ok(r)
}
