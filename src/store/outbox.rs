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
///
/// The one place the dialects differ: on PostgreSQL several replicas claim
/// at once, so the whole claim is one statement ([`CLAIM_PG`]) that takes
/// rows the others have not locked (`FOR UPDATE SKIP LOCKED`, on the partial
/// index `outbox_pending_due_idx` that matches it) and spends the robots'
/// budgets, in one round trip however many rows it leases. SQLite has one
/// writer, so plain selection is already exclusive, and its statements are
/// calls on the writer's own thread, not round trips.
pub async fn claim_due(
    tx: &mut Tx,
    backend: Backend,
    now_ms: i64,
    worker: &str,
    lease_ms: i64,
    spacing_ms: i64,
    limit: i64,
) -> StoreResult<Vec<Claimed>> {
    if backend == Backend::Postgres {
        return sql::query_as(CLAIM_PG)
            .bind(now_ms)
            .bind(limit)
            .bind(worker)
            .bind(now_ms + lease_ms)
            .bind(spacing_ms)
            .fetch_all(tx)
            .await;
    }
    let candidates: Vec<Candidate> = sql::query_as(
        "SELECT id, robot_key FROM outbox \
         WHERE state = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1) \
         ORDER BY next_attempt_at, id LIMIT $2",
    )
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

/// [`claim_due`] on PostgreSQL, in one statement: `$1` now, `$2` the most
/// rows, `$3` the worker, `$4` its lease's end, `$5` the robots' spacing.
///
/// * `due`: the due rows no other replica holds, oldest first, locked.
/// * `spent`: one unit of budget for each of their robots, taken in
///   `robot_key` order (two replicas sharing robots lock their budget rows
///   in the same order, so they queue instead of deadlocking). A robot whose
///   budget is spent or paused is not returned: the upsert's `WHERE` is
///   checked against the latest committed row, so two replicas never both
///   spend one send.
/// * `leased`: each robot's oldest due row whose budget was taken.
/// * `deferred`: every other due row moves to when its robot has budget
///   again (read from this statement's snapshot; a budget row another
///   replica has just made is not in it, and then one spacing is the
///   guess. If the time is early the row comes due early and is deferred
///   again: the budget, not this time, is what limits the sends).
const CLAIM_PG: &str = "\
WITH due AS MATERIALIZED (
    SELECT id, robot_key, next_attempt_at FROM outbox
    WHERE state = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1)
    ORDER BY next_attempt_at, id LIMIT $2
    FOR UPDATE SKIP LOCKED
),
spent AS (
    INSERT INTO robot_budget (robot_key, next_free_at, paused_until)
    SELECT DISTINCT robot_key, $1 + $5, 0 FROM due ORDER BY robot_key
    ON CONFLICT (robot_key) DO UPDATE SET next_free_at = excluded.next_free_at
    WHERE robot_budget.next_free_at <= $1 AND robot_budget.paused_until <= $1
    RETURNING robot_key
),
ranked AS (
    SELECT d.id, d.robot_key, d.robot_key IN (SELECT robot_key FROM spent) AS spent,
           row_number() OVER (PARTITION BY d.robot_key ORDER BY d.next_attempt_at, d.id) AS n
    FROM due d
),
leased AS (
    UPDATE outbox o SET lease_until = $4, leased_by = $3
    FROM ranked r
    WHERE o.id = r.id AND r.spent AND r.n = 1
    RETURNING o.id, o.dedupe_key, o.group_id, o.person_id, o.bot, o.robot_key, o.message,
              o.attempts, o.next_attempt_at
),
deferred AS (
    UPDATE outbox o SET next_attempt_at = GREATEST($1 + 1, CASE WHEN r.spent THEN $1 + $5 ELSE
        COALESCE((SELECT GREATEST(b.next_free_at, b.paused_until) FROM robot_budget b
                  WHERE b.robot_key = r.robot_key), $1 + $5)
    END)
    FROM ranked r
    WHERE o.id = r.id AND NOT (r.spent AND r.n = 1)
)
SELECT id, dedupe_key, group_id, person_id, bot, robot_key, message, attempts FROM leased
ORDER BY next_attempt_at, id";

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

crate::row_struct! {
    /// Where a claimed group push goes: the group's own push robot, if any,
    /// and its last `sessionWebhook`, if any.
    #[derive(Debug, Clone)]
    pub struct GroupRoute {
        pub group_id: i64,
        pub conversation_id: String,
        pub push_webhook_token: Option<String>,
        pub push_webhook_secret: Option<String>,
        pub session_url: Option<String>,
        pub session_expires_at: Option<i64>,
    }
}

crate::row_struct! {
    /// A person a claimed push goes to, by platform user id.
    #[derive(Debug, Clone)]
    pub struct PersonRoute {
        pub id: i64,
        pub platform_user_id: String,
    }
}

crate::row_struct! {
    /// A person a claimed push mentions, by platform and platform user id.
    #[derive(Debug, Clone)]
    pub struct Mentioned {
        pub id: i64,
        pub platform: String,
        pub platform_user_id: String,
    }
}

/// What a batch of claimed pushes needs to be routed: its groups (with their
/// last sessionWebhook), its people, and the people its pushes mention.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    pub groups: Vec<GroupRoute>,
    pub people: Vec<PersonRoute>,
    pub mentioned: Vec<Mentioned>,
}

/// The ids of a set, as the JSON array the set-based statements below read
/// (`json_array_elements_text` on PostgreSQL, `json_each` on SQLite): one
/// statement text however many ids, so its prepared statement is reused.
fn id_list(ids: &[i64]) -> String {
    serde_json::Value::from(ids.to_vec()).to_string()
}

/// The routes of a claimed batch: one statement for its groups, one for its
/// people and one for the people it mentions by platform user id (none for
/// a kind the batch lacks), in the caller's read.
pub async fn routes(
    tx: &mut Tx,
    group_ids: &[i64],
    person_ids: &[i64],
    mentioned_user_ids: &[String],
) -> StoreResult<Routes> {
    let pg = tx.backend() == Backend::Postgres;
    let mut out = Routes::default();
    if !group_ids.is_empty() {
        out.groups = sql::query_as(if pg {
            "SELECT g.id AS group_id, g.conversation_id, g.push_webhook_token, g.push_webhook_secret, \
                    s.url AS session_url, s.expires_at AS session_expires_at \
             FROM chat_groups g LEFT JOIN group_sessions s ON s.group_id = g.id \
             WHERE g.id IN (SELECT value::bigint FROM json_array_elements_text($1::json))"
        } else {
            "SELECT g.id AS group_id, g.conversation_id, g.push_webhook_token, g.push_webhook_secret, \
                    s.url AS session_url, s.expires_at AS session_expires_at \
             FROM chat_groups g LEFT JOIN group_sessions s ON s.group_id = g.id \
             WHERE g.id IN (SELECT value FROM json_each($1))"
        })
        .bind(id_list(group_ids))
        .fetch_all(tx)
        .await?;
    }
    if !person_ids.is_empty() {
        out.people = sql::query_as(if pg {
            "SELECT id, platform_user_id FROM people \
             WHERE id IN (SELECT value::bigint FROM json_array_elements_text($1::json))"
        } else {
            "SELECT id, platform_user_id FROM people WHERE id IN (SELECT value FROM json_each($1))"
        })
        .bind(id_list(person_ids))
        .fetch_all(tx)
        .await?;
    }
    if !mentioned_user_ids.is_empty() {
        out.mentioned = sql::query_as(if pg {
            "SELECT id, platform, platform_user_id FROM people \
             WHERE platform_user_id IN (SELECT value FROM json_array_elements_text($1::json))"
        } else {
            "SELECT id, platform, platform_user_id FROM people \
             WHERE platform_user_id IN (SELECT value FROM json_each($1))"
        })
        .bind(serde_json::Value::from(mentioned_user_ids.to_vec()).to_string())
        .fetch_all(tx)
        .await?;
    }
    Ok(out)
}

/// What became of one send, to record.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The platform took it; the 1:1 pushes that follow it are queued.
    Sent { follow: Vec<NewPush> },
    /// Failed for now: tried again at `next_at`.
    Retry { next_at: i64, error: String },
    /// The platform throttled the robot: it rests until `until`, and so does
    /// the push.
    Throttled { until: i64, error: String },
    /// Can never succeed as configured: a dead letter.
    Dead { error: String },
}

/// The outcome of one leased row's send.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: i64,
    pub robot_key: String,
    pub outcome: Outcome,
}

/// Records the outcomes of several sends in the caller's transaction, with
/// the same effect as [`mark_sent`], [`reschedule`], [`pause_robot`] and
/// [`kill`] row by row. On PostgreSQL one statement per kind for the whole
/// set (sent, rescheduled, dead); follow-up pushes and robot pauses (rare)
/// go one by one. SQLite runs the row-by-row statements: on its writer they
/// are calls on the writer's thread, not round trips.
pub async fn record(tx: &mut Tx, now_ms: i64, records: &[Record]) -> StoreResult<()> {
    let pg = tx.backend() == Backend::Postgres;
    let mut sent: Vec<i64> = Vec::new();
    let mut later: Vec<serde_json::Value> = Vec::new();
    let mut dead: Vec<serde_json::Value> = Vec::new();
    for r in records {
        match &r.outcome {
            Outcome::Sent { follow } => {
                for p in follow {
                    enqueue(tx, p, now_ms).await?;
                }
                if pg {
                    sent.push(r.id);
                } else {
                    mark_sent(tx, r.id, now_ms).await?;
                }
            }
            Outcome::Retry { next_at, error } => {
                if pg {
                    later.push(serde_json::json!({"id": r.id, "next_at": next_at, "error": error}));
                } else {
                    reschedule(tx, r.id, *next_at, error).await?;
                }
            }
            Outcome::Throttled { until, error } => {
                pause_robot(tx, &r.robot_key, *until).await?;
                if pg {
                    later.push(serde_json::json!({"id": r.id, "next_at": until, "error": error}));
                } else {
                    reschedule(tx, r.id, *until, error).await?;
                }
            }
            Outcome::Dead { error } => {
                if pg {
                    dead.push(serde_json::json!({"id": r.id, "error": error}));
                } else {
                    kill(tx, r.id, error).await?;
                }
            }
        }
    }
    if !sent.is_empty() {
        sql::query(
            "UPDATE outbox SET state = 'sent', sent_at = $2, attempts = attempts + 1, lease_until = NULL, \
                    last_error = NULL \
             WHERE id IN (SELECT value::bigint FROM json_array_elements_text($1::json))",
        )
        .bind(id_list(&sent))
        .bind(now_ms)
        .execute(tx)
        .await?;
    }
    if !later.is_empty() {
        sql::query(
            "UPDATE outbox o SET attempts = o.attempts + 1, next_attempt_at = u.next_at, lease_until = NULL, \
                    last_error = u.error \
             FROM json_to_recordset($1::json) AS u(id bigint, next_at bigint, error text) \
             WHERE o.id = u.id AND o.state = 'pending'",
        )
        .bind(serde_json::Value::Array(later).to_string())
        .execute(tx)
        .await?;
    }
    if !dead.is_empty() {
        sql::query(
            "UPDATE outbox o SET state = 'dead', attempts = o.attempts + 1, lease_until = NULL, \
                    last_error = u.error \
             FROM json_to_recordset($1::json) AS u(id bigint, error text) \
             WHERE o.id = u.id",
        )
        .bind(serde_json::Value::Array(dead).to_string())
        .execute(tx)
        .await?;
    }
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
