//! Platform messages already handled, and the reply each got (dedupe).

use super::{StoreResult, Tx};
use crate::on_tx;

/// Records `(platform, msg_id)` as handled with its reply, last in a turn.
/// `false`: another delivery of the same message got there first; the turn
/// must be rolled back and answered with [`saved_reply`]. (On PostgreSQL a
/// concurrent first delivery holds the key until it commits, so the second
/// waits here and then sees the conflict.)
pub async fn record(
    tx: &mut Tx,
    platform: &str,
    msg_id: &str,
    now_ms: i64,
    reply_json: &str,
) -> StoreResult<bool> {
    let r = on_tx!(tx, c => sqlx::query(
        "INSERT INTO inbound_messages (platform, msg_id, received_at, reply) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (platform, msg_id) DO NOTHING")
        .bind(platform).bind(msg_id).bind(now_ms).bind(reply_json)
        .execute(c).await?.rows_affected());
    Ok(r == 1)
}

/// The reply saved for a message handled before (JSON), if any.
pub async fn saved_reply(tx: &mut Tx, platform: &str, msg_id: &str) -> StoreResult<Option<String>> {
    let r: Option<(Option<String>,)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT reply FROM inbound_messages WHERE platform = $1 AND msg_id = $2")
        .bind(platform).bind(msg_id)
        .fetch_optional(c).await?);
    Ok(r.and_then(|(reply,)| reply))
}

/// How many messages are recorded (tests and metrics).
pub async fn count(tx: &mut Tx) -> StoreResult<i64> {
    let (n,): (i64,) = on_tx!(tx, c => sqlx::query_as("SELECT COUNT(*) FROM inbound_messages")
        .fetch_one(c).await?);
    Ok(n)
}
