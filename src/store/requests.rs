//! Villagers' requests (诉求) as their authors follow them: who raised the
//! request behind a task, and a person's own requests with their state.

use super::sql;
use super::{StoreResult, Tx};
use crate::store::groups::PersonRow;

crate::row_struct! {
    /// One of a person's requests, with the task it became.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct MyRequest {
        pub task_id: i64,
        pub no: i64,
        pub text: String,
        pub level: String,
        pub deadline_at: i64,
        /// `open`, `closed` or `cancelled`.
        pub state: String,
        pub result: Option<String>,
        pub at: i64,
    }
}

/// Who raised the request that task `task_id` was made from (`None`: the
/// task is no request).
pub async fn requester(tx: &mut Tx, task_id: i64) -> StoreResult<Option<PersonRow>> {
    sql::query_as(
        "SELECT p.id, p.platform_user_id, p.display_name FROM requests r \
         JOIN people p ON p.id = r.person_id WHERE r.task_id = $1",
    )
    .bind(task_id)
    .fetch_optional(tx)
    .await
}

/// `person_id`'s requests to `team_id`, newest first, at most `limit`.
pub async fn mine(
    tx: &mut Tx,
    team_id: i64,
    person_id: i64,
    limit: i64,
) -> StoreResult<Vec<MyRequest>> {
    sql::query_as(
        "SELECT t.id AS task_id, t.no, r.text, t.level, t.deadline_at, t.state, t.result, r.at \
         FROM requests r JOIN tasks t ON t.id = r.task_id \
         WHERE r.team_id = $1 AND r.person_id = $2 ORDER BY r.at DESC, r.id DESC LIMIT $3",
    )
    .bind(team_id)
    .bind(person_id)
    .bind(limit)
    .fetch_all(tx)
    .await
}

/// How many requests `person_id` raised with `team_id` in all.
pub async fn count_mine(tx: &mut Tx, team_id: i64, person_id: i64) -> StoreResult<i64> {
    let (n,): (i64,) =
        sql::query_as("SELECT COUNT(*) FROM requests WHERE team_id = $1 AND person_id = $2")
            .bind(team_id)
            .bind(person_id)
            .fetch_one(tx)
            .await?;
    Ok(n)
}

/// The owners of a task (person id, platform id, name).
pub async fn owners(tx: &mut Tx, task_id: i64) -> StoreResult<Vec<PersonRow>> {
    sql::query_as(
        "SELECT p.id, p.platform_user_id, p.display_name FROM task_owners o \
         JOIN people p ON p.id = o.person_id WHERE o.task_id = $1 ORDER BY p.id",
    )
    .bind(task_id)
    .fetch_all(tx)
    .await
}
