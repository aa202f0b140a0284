//! What `liancun bench day` reads while it rehearses a Monday evening
//! (`dev::day`): the outbox's backlog, the pushes of one job, and
//! PostgreSQL's connections. Read-only; nothing on the product's path.

use super::sql;
use super::{StoreResult, Tx};

/// Pushes due by `now_ms` and not yet sent: how many, and the earliest due
/// time among them (the outbox's lag is `now_ms` minus that).
pub async fn backlog(tx: &mut Tx, now_ms: i64) -> StoreResult<(i64, Option<i64>)> {
    let r = sql::query_as(
        "SELECT COUNT(*), MIN(next_attempt_at) FROM outbox \
         WHERE state = 'pending' AND next_attempt_at <= $1",
    )
    .bind(now_ms)
    .fetch_one(tx)
    .await?;
    Ok(r)
}

crate::row_struct! {
    /// One outbox row as the rehearsal checks it.
    #[derive(Debug, Clone)]
    pub struct PushRow {
        pub dedupe_key: String,
        pub group_id: Option<i64>,
        pub person_id: Option<i64>,
        pub state: String,
        pub attempts: i64,
        /// When it was (last) due.
        pub next_attempt_at: i64,
        pub created_at: i64,
        pub sent_at: Option<i64>,
    }
}

/// Every push whose key starts with `prefix` (e.g. `job:plan_missing:`).
pub async fn pushes(tx: &mut Tx, prefix: &str) -> StoreResult<Vec<PushRow>> {
    let r = sql::query_as(
        "SELECT dedupe_key, group_id, person_id, state, attempts, next_attempt_at, created_at, sent_at \
         FROM outbox WHERE dedupe_key LIKE $1 ORDER BY id",
    )
    .bind(format!("{prefix}%"))
    .fetch_all(tx)
    .await?;
    Ok(r)
}

/// PostgreSQL only: connections to this database (all, and those running a
/// statement now), as `pg_stat_activity` lists them.
pub async fn pg_connections(tx: &mut Tx) -> StoreResult<(i64, i64)> {
    let r = sql::query_as(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE state = 'active') FROM pg_stat_activity \
         WHERE datname = current_database()",
    )
    .fetch_one(tx)
    .await?;
    Ok(r)
}

/// The group's conversation id of every group (group id → conversation).
pub async fn conversations(tx: &mut Tx) -> StoreResult<Vec<(i64, String)>> {
    let r = sql::query_as("SELECT id, conversation_id FROM chat_groups ORDER BY id")
        .fetch_all(tx)
        .await?;
    Ok(r)
}
