//! The durable outbox: every push waits here until the platform takes it.

use super::sql;
use super::{Backend, StoreResult, Tx};

/// A push to write in the caller's transaction.
#[derive(Debug, Clone)]
pub struct NewPush {
    /// Unique per cause (job, group, slot, part): a re-run inserts nothing.
    pub dedupe_key: String,
    pub group_id: Option<i64>,
    pub person_id: Option<i64>,
    pub bot: String,
    /// The send budget this push spends (one robot in one group, or one custom robot).
    pub robot_key: String,
    /// JSON of [`crate::outbox::Payload`].
    pub message: String,
    pub due_at: i64,
}

/// Inserts a push unless one with the same key exists; `true` if inserted.
pub async fn enqueue(tx: &mut Tx, p: &NewPush, now_ms: i64) -> StoreResult<bool> {
    let n = sql::query(
        "INSERT INTO outbox (dedupe_key, group_id, person_id, bot, robot_key, message, state, attempts, \
                             next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $8) ON CONFLICT (dedupe_key) DO NOTHING")
        .bind(&p.dedupe_key).bind(p.group_id).bind(p.person_id).bind(&p.bot).bind(&p.robot_key)
        .bind(&p.message).bind(p.due_at).bind(now_ms)
        .execute(tx).await?.rows_affected();
    Ok(n == 1)
}

crate::row_struct! {
    /// A push leased to one worker for sending.
    #[derive(Debug, Clone)]
    pub struct Claimed {
        pub id: i64,
        pub dedupe_key: String,
        pub group_id: Option<i64>,
        pub person_id: Option<i64>,
        pub bot: String,
        pub robot_key: String,
        pub message: String,
        pub attempts: i64,
    }
}

crate::row_struct! {
    #[derive(Debug, Clone)]
    struct Candidate {
        id: i64,
        robot_key: String,
    }
}

/// Leases up to `limit` due pushes to `worker` for `lease_ms`, spending one
/// unit of each robot's budget (one send per `spacing_ms`, none while the
/// robot is paused). A due push whose robot has no budget now is moved to
/// when it will, so workers do not spin on it.
pub async fn claim_due(
    tx: &mut Tx,
    backend: Backend,
    now_ms: i64,
    worker: &str,
    lease_ms: i64,
    spacing_ms: i64,
    limit: i64,
) -> StoreResult<Vec<Claimed>> {
    // The one place the dialects differ: on PostgreSQL several replicas claim
    // at once, and SKIP LOCKED lets each take rows the others have not
    // locked; SQLite has one writer, so plain selection is already exclusive.
    const DUE: &str = "SELECT id, robot_key FROM outbox \
         WHERE state = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
         ORDER BY next_attempt_at, id LIMIT $2";
    let sql = match backend {
        Backend::Sqlite => sql::Owned(DUE.to_string()),
        Backend::Postgres => sql::Owned(format!("{DUE} FOR UPDATE SKIP LOCKED")),
    };
    let candidates: Vec<Candidate> = sql::query_as(sql)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(tx)
        .await?;
    let mut claimed = Vec::new();
    let mut exhausted: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    for cand in candidates {
        let free_at = match exhausted.get(&cand.robot_key) {
            Some(at) => Some(*at),
            None => match take_budget(tx, &cand.robot_key, now_ms, spacing_ms).await? {
                None => None,
                Some(at) => {
                    exhausted.insert(cand.robot_key.clone(), at);
                    Some(at)
                }
            },
        };
        if let Some(at) = free_at {
            sql::query("UPDATE outbox SET next_attempt_at = $2 WHERE id = $1")
                .bind(cand.id)
                .bind(at.max(now_ms + 1))
                .execute(tx)
                .await?
                .rows_affected();
            continue;
        }
        let row: Claimed = sql::query_as(
            "UPDATE outbox SET lease_until = $2, leased_by = $3 WHERE id = $1 \
             RETURNING id, dedupe_key, group_id, person_id, bot, robot_key, message, attempts",
        )
        .bind(cand.id)
        .bind(now_ms + lease_ms)
        .bind(worker)
        .fetch_one(tx)
        .await?;
        claimed.push(row);
    }
    Ok(claimed)
}

/// Spends one send of `robot_key`'s budget. `None`: spent, send now.
/// `Some(t)`: no budget before `t`.
async fn take_budget(
    tx: &mut Tx,
    robot_key: &str,
    now_ms: i64,
    spacing_ms: i64,
) -> StoreResult<Option<i64>> {
    let n = sql::query(
        "INSERT INTO robot_budget (robot_key, next_free_at, paused_until) VALUES ($1, $2, 0) \
         ON CONFLICT (robot_key) DO UPDATE SET next_free_at = $2 \
         WHERE robot_budget.next_free_at <= $3 AND robot_budget.paused_until <= $3",
    )
    .bind(robot_key)
    .bind(now_ms + spacing_ms)
    .bind(now_ms)
    .execute(tx)
    .await?
    .rows_affected();
    if n == 1 {
        return Ok(None);
    }
    let (free, paused): (i64, i64) =
        sql::query_as("SELECT next_free_at, paused_until FROM robot_budget WHERE robot_key = $1")
            .bind(robot_key)
            .fetch_one(tx)
            .await?;
    Ok(Some(free.max(paused)))
}

pub async fn mark_sent(tx: &mut Tx, id: i64, now_ms: i64) -> StoreResult<()> {
    sql::query(
        "UPDATE outbox SET state = 'sent', sent_at = $2, attempts = attempts + 1, lease_until = NULL, \
                last_error = NULL WHERE id = $1")
        .bind(id).bind(now_ms).execute(tx).await?.rows_affected();
    Ok(())
}

/// A failed attempt that will be tried again at `next_at`.
pub async fn reschedule(tx: &mut Tx, id: i64, next_at: i64, error: &str) -> StoreResult<()> {
    sql::query(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, lease_until = NULL, \
                last_error = $3 WHERE id = $1 AND state = 'pending'",
    )
    .bind(id)
    .bind(next_at)
    .bind(error)
    .execute(tx)
    .await?
    .rows_affected();
    Ok(())
}

/// A push that can never succeed as configured: kept as a dead letter.
pub async fn kill(tx: &mut Tx, id: i64, error: &str) -> StoreResult<()> {
    sql::query(
        "UPDATE outbox SET state = 'dead', attempts = attempts + 1, lease_until = NULL, last_error = $2 \
         WHERE id = $1")
        .bind(id).bind(error).execute(tx).await?.rows_affected();
    Ok(())
}

/// Pauses a robot (after the platform throttled it) until `until`.
pub async fn pause_robot(tx: &mut Tx, robot_key: &str, until: i64) -> StoreResult<()> {
    sql::query(
        "INSERT INTO robot_budget (robot_key, next_free_at, paused_until) VALUES ($1, 0, $2) \
         ON CONFLICT (robot_key) DO UPDATE SET paused_until = $2",
    )
    .bind(robot_key)
    .bind(until)
    .execute(tx)
    .await?
    .rows_affected();
    Ok(())
}

/// Gives back the leases `worker` holds (graceful shutdown): another replica
/// may send them at once instead of waiting for the leases to expire.
pub async fn release(tx: &mut Tx, worker: &str) -> StoreResult<u64> {
    let n = sql::query(
        "UPDATE outbox SET lease_until = NULL, leased_by = NULL WHERE leased_by = $1 AND state = 'pending'")
        .bind(worker).execute(tx).await?.rows_affected();
    Ok(n)
}

crate::row_struct! {
    /// A dead letter, for operators.
    #[derive(Debug, Clone, serde::Serialize)]
    pub struct DeadLetter {
        pub id: i64,
        pub dedupe_key: String,
        pub group_id: Option<i64>,
        pub bot: String,
        pub attempts: i64,
        pub last_error: Option<String>,
        pub created_at: i64,
    }
}

pub async fn dead_letters(tx: &mut Tx, limit: i64, offset: i64) -> StoreResult<Vec<DeadLetter>> {
    let r = sql::query_as(
        "SELECT id, dedupe_key, group_id, bot, attempts, last_error, created_at FROM outbox \
         WHERE state = 'dead' ORDER BY id DESC LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(tx)
    .await?;
    Ok(r)
}

/// Puts a dead letter back in the queue; `false` if there is no such dead letter.
pub async fn retry_dead(tx: &mut Tx, id: i64, now_ms: i64) -> StoreResult<bool> {
    let n = sql::query(
        "UPDATE outbox SET state = 'pending', next_attempt_at = $2, lease_until = NULL WHERE id = $1 AND state = 'dead'")
        .bind(id).bind(now_ms).execute(tx).await?.rows_affected();
    Ok(n == 1)
}

/// When the earliest pending push is next due (epoch ms), if any: a driver
/// with a simulated clock (`liancun demo`) steps its clock to it.
pub async fn next_pending_at(tx: &mut Tx) -> StoreResult<Option<i64>> {
    let r: (Option<i64>,) =
        sql::query_as("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'")
            .fetch_one(tx)
            .await?;
    Ok(r.0)
}

/// Rows by state: (pending, sent, dead).
pub async fn depth(tx: &mut Tx) -> StoreResult<(i64, i64, i64)> {
    let r = sql::query_as(
        "SELECT \
           (SELECT COUNT(*) FROM outbox WHERE state = 'pending'), \
           (SELECT COUNT(*) FROM outbox WHERE state = 'sent'), \
           (SELECT COUNT(*) FROM outbox WHERE state = 'dead')",
    )
    .fetch_one(tx)
    .await?;
    Ok(r)
}
