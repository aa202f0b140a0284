//! The audit log: who changed what, when, with the state before and after.

use super::sql;
use serde_json::Value;

use super::{StoreResult, Tx};

/// Records a change in the caller's transaction, so it exists exactly when
/// the change does. `before`/`after` are JSON and never hold secrets.
pub async fn record(
    tx: &mut Tx,
    now_ms: i64,
    actor: &str,
    action: &str,
    target: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> StoreResult<()> {
    let (b, a) = (before.map(Value::to_string), after.map(Value::to_string));
    sql::query(
        "INSERT INTO audit_log (at, actor, action, target, before_json, after_json) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(now_ms).bind(actor).bind(action).bind(target).bind(b).bind(a)
        .execute(tx).await?.rows_affected();
    Ok(())
}

crate::row_struct! {
    #[derive(Debug, Clone, serde::Serialize)]
    pub struct Entry {
        pub id: i64,
        pub at: i64,
        pub actor: String,
        pub action: String,
        pub target: String,
        pub before_json: Option<String>,
        pub after_json: Option<String>,
    }
}

/// Newest first.
pub async fn list(tx: &mut Tx, limit: i64, offset: i64) -> StoreResult<Vec<Entry>> {
    let r = sql::query_as(
        "SELECT id, at, actor, action, target, before_json, after_json FROM audit_log \
         ORDER BY id DESC LIMIT $1 OFFSET $2",
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(tx)
    .await?;
    Ok(r)
}

/// How many entries the log holds.
pub async fn count(tx: &mut Tx) -> StoreResult<i64> {
    let (n,): (i64,) = sql::query_as("SELECT COUNT(*) FROM audit_log")
        .fetch_one(tx)
        .await?;
    Ok(n)
}
