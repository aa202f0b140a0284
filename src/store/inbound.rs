//! Platform messages already handled, and the reply each got (dedupe).

use super::sql;
use super::{StoreResult, Tx};

/// What [`claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The message is this transaction's to handle.
    Fresh,
    /// Another delivery of the same message handled it: its saved reply.
    Taken(Option<String>),
}

/// Claims `(platform, msg_id)` first in a turn, with no reply yet (PostgreSQL
/// path). [`Claim::Taken`]: another delivery of the same message has it; the
/// turn must be rolled back and answered with the reply returned. A
/// concurrent first delivery holds the key until it commits, so a copy waits
/// here, before it has changed anything, and then gets the reply it saved
/// (or, if the first rolled back, claims the message itself). The reply is
/// set by [`save_reply`] in the same transaction, so no one ever reads the
/// empty one.
///
/// One round trip either way: on a conflict the no-op update locks the
/// latest committed row and returns its reply (`xmax = 0` only on a row this
/// statement inserted), instead of a second statement to read it. The no-op
/// update is rolled back with the turn.
pub async fn claim(tx: &mut Tx, platform: &str, msg_id: &str, now_ms: i64) -> StoreResult<Claim> {
    let (fresh, reply): (bool, Option<String>) = sql::query_as(
        "INSERT INTO inbound_messages (platform, msg_id, received_at, reply) VALUES ($1, $2, $3, NULL) \
         ON CONFLICT (platform, msg_id) DO UPDATE SET reply = inbound_messages.reply \
         RETURNING xmax = 0, reply",
    )
    .bind(platform)
    .bind(msg_id)
    .bind(now_ms)
    .fetch_one(tx)
    .await?;
    Ok(if fresh {
        Claim::Fresh
    } else {
        Claim::Taken(reply)
    })
}

/// Saves the reply of a message [`claim`]ed in this transaction.
pub async fn save_reply(
    tx: &mut Tx,
    platform: &str,
    msg_id: &str,
    reply_json: &str,
) -> StoreResult<()> {
    sql::query("UPDATE inbound_messages SET reply = $1 WHERE platform = $2 AND msg_id = $3")
        .bind(reply_json)
        .bind(platform)
        .bind(msg_id)
        .execute(tx)
        .await?;
    Ok(())
}

/// The reply saved for a message handled before (JSON), if any.
pub async fn saved_reply(tx: &mut Tx, platform: &str, msg_id: &str) -> StoreResult<Option<String>> {
    let r: Option<(Option<String>,)> =
        sql::query_as("SELECT reply FROM inbound_messages WHERE platform = $1 AND msg_id = $2")
            .bind(platform)
            .bind(msg_id)
            .fetch_optional(tx)
            .await?;
    Ok(r.and_then(|(reply,)| reply))
}

/// How many messages are recorded (tests and metrics).
pub async fn count(tx: &mut Tx) -> StoreResult<i64> {
    let (n,): (i64,) = sql::query_as("SELECT COUNT(*) FROM inbound_messages")
        .fetch_one(tx)
        .await?;
    Ok(n)
}

/// The saved replies of those `msg_ids` of `platform` already handled, as
/// `(msg_id, reply)`. One statement for a whole batch of turns.
pub async fn saved_replies(
    tx: &mut Tx,
    platform: &str,
    msg_ids: &[&str],
) -> StoreResult<Vec<(String, Option<String>)>> {
    let mut out = Vec::new();
    for chunk in msg_ids.chunks(MAX_ROWS) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        // Only placeholders are formatted in; the ids are bound.
        let sql = sql::Owned(format!(
            "SELECT msg_id, reply FROM inbound_messages WHERE platform = $1 AND msg_id IN ({})",
            marks.join(", ")
        ));
        let mut q = sql::query_as(sql).bind(platform);
        for id in chunk {
            q = q.bind(*id);
        }
        let rows: Vec<(String, Option<String>)> = q.fetch_all(tx).await?;
        out.extend(rows);
    }
    Ok(out)
}

/// One handled message to record with [`record_many`].
pub struct Handled<'a> {
    pub platform: &'a str,
    pub msg_id: &'a str,
    pub received_at: i64,
    pub reply_json: &'a str,
}

/// Records several handled messages in as few statements as possible. The
/// caller has made sure none is recorded yet (a conflict is an error here).
pub async fn record_many(tx: &mut Tx, rows: &[Handled<'_>]) -> StoreResult<()> {
    for chunk in rows.chunks(MAX_ROWS) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 4;
                format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4)
            })
            .collect();
        // Only placeholders are formatted in; the values are bound.
        let sql = sql::Owned(format!(
            "INSERT INTO inbound_messages (platform, msg_id, received_at, reply) VALUES {}",
            values.join(", ")
        ));
        let mut q = sql::query(sql);
        for r in chunk {
            q = q
                .bind(r.platform)
                .bind(r.msg_id)
                .bind(r.received_at)
                .bind(r.reply_json);
        }
        q.execute(tx).await?;
    }
    Ok(())
}

/// Rows per multi-row statement (4 values each, far below SQLite's limit of
/// bound values).
const MAX_ROWS: usize = 200;
