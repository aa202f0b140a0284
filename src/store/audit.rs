//! The audit log: who changed what, when, with the state before and after.

use super::sql;
use serde_json::Value;

use super::{StoreResult, Tx};
use crate::domain::phone::{mask_mobiles, mask_phone};

/// Records a change in the caller's transaction, so it exists exactly when
/// the change does. `before`/`after` are JSON and never hold secrets; phone
/// numbers in them are stored masked (see [`masked`]).
pub async fn record(
    tx: &mut Tx,
    now_ms: i64,
    actor: &str,
    action: &str,
    target: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> StoreResult<()> {
    let (b, a) = (
        before.map(|v| masked(v).to_string()),
        after.map(|v| masked(v).to_string()),
    );
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

/// `v` with phone numbers masked as in public posts, keeping the last 4
/// digits: the value of every `phone`/`mobile` key (13812345678 →
/// 138****5678, 0570-1234567 → ****-***4567), and mobile numbers written in
/// any other text, except in ids.
pub fn masked(v: &Value) -> Value {
    let mut v = v.clone();
    mask_in(None, &mut v);
    v
}

fn mask_in(key: Option<&str>, v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                mask_in(Some(k), item);
            }
        }
        Value::Array(items) => {
            for item in items {
                mask_in(key, item);
            }
        }
        Value::String(s) => {
            let key = key.unwrap_or_default().to_ascii_lowercase();
            if key.contains("phone") || key.contains("mobile") {
                *s = mask_phone(s);
            } else if !(key == "id" || key.ends_with("_id")) {
                *s = mask_mobiles(s);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn phones_keep_their_last_four_digits() {
        let v = json!({
            "id": 7,
            "platform_user_id": "13812345678",
            "display_name": "王大妈13900001111",
            "phone": "13812345678",
            "households": [{"mobile": "0570-1234567", "name": "张大爷"}],
            "note": "电话 138123456789 不是手机号",
            "old_phone": null,
        });
        assert_eq!(
            masked(&v),
            json!({
                "id": 7,
                "platform_user_id": "13812345678",
                "display_name": "王大妈139****1111",
                "phone": "138****5678",
                "households": [{"mobile": "****-***4567", "name": "张大爷"}],
                "note": "电话 138123456789 不是手机号",
                "old_phone": null,
            })
        );
        assert_eq!(
            masked(&masked(&v)),
            masked(&v),
            "masking twice changes nothing"
        );
    }
}
