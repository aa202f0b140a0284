//! The household registry of each village.

use super::{StoreResult, Tx};
use crate::on_tx;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct Household {
    pub id: i64,
    pub village_id: i64,
    pub name: String,
    /// Digits ("3") or "" (see [`crate::domain::household::normalize_subgroup`]).
    pub subgroup: String,
    pub phone: Option<String>,
}

/// Adds a household, or updates the phone of the one already registered
/// under the same (village, name, subgroup). `true` when it was new.
pub async fn upsert(
    tx: &mut Tx,
    village_id: i64,
    name: &str,
    subgroup: &str,
    phone: Option<&str>,
    now_ms: i64,
) -> StoreResult<(i64, bool)> {
    let existing: Option<(i64,)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT id FROM households WHERE village_id = $1 AND name = $2 AND subgroup = $3")
        .bind(village_id).bind(name).bind(subgroup).fetch_optional(c).await?);
    if let Some((id,)) = existing {
        on_tx!(tx, c => sqlx::query("UPDATE households SET phone = $2 WHERE id = $1")
            .bind(id).bind(phone).execute(c).await?.rows_affected());
        return Ok((id, false));
    }
    let (id,): (i64,) = on_tx!(tx, c => sqlx::query_as(
        "INSERT INTO households (village_id, name, subgroup, phone, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id")
        .bind(village_id).bind(name).bind(subgroup).bind(phone).bind(now_ms)
        .fetch_one(c).await?);
    Ok((id, true))
}

/// A village's households in subgroup, then name order.
pub async fn list(
    tx: &mut Tx,
    village_id: i64,
    limit: i64,
    offset: i64,
) -> StoreResult<Vec<Household>> {
    let r = on_tx!(tx, c => sqlx::query_as(
        "SELECT id, village_id, name, subgroup, phone FROM households WHERE village_id = $1 \
         ORDER BY LENGTH(subgroup), subgroup, name, id LIMIT $2 OFFSET $3")
        .bind(village_id).bind(limit).bind(offset).fetch_all(c).await?);
    Ok(r)
}

/// How many households a village has registered.
pub async fn count(tx: &mut Tx, village_id: i64) -> StoreResult<i64> {
    let (n,): (i64,) = on_tx!(tx, c => sqlx::query_as(
        "SELECT COUNT(*) FROM households WHERE village_id = $1")
        .bind(village_id).fetch_one(c).await?);
    Ok(n)
}
