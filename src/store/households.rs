//! The household registry of each village.

use super::sql;
use super::{StoreResult, Tx};

crate::row_struct! {
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    pub struct Household {
        pub id: i64,
        pub village_id: i64,
        pub name: String,
        /// Digits ("3") or "" (see [`crate::domain::household::normalize_subgroup`]).
        pub subgroup: String,
        pub phone: Option<String>,
    }
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
    let existing: Option<(i64,)> = sql::query_as(
        "SELECT id FROM households WHERE village_id = $1 AND name = $2 AND subgroup = $3",
    )
    .bind(village_id)
    .bind(name)
    .bind(subgroup)
    .fetch_optional(tx)
    .await?;
    if let Some((id,)) = existing {
        sql::query("UPDATE households SET phone = $2 WHERE id = $1")
            .bind(id)
            .bind(phone)
            .execute(tx)
            .await?
            .rows_affected();
        return Ok((id, false));
    }
    let (id,): (i64,) = sql::query_as(
        "INSERT INTO households (village_id, name, subgroup, phone, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(village_id)
    .bind(name)
    .bind(subgroup)
    .bind(phone)
    .bind(now_ms)
    .fetch_one(tx)
    .await?;
    Ok((id, true))
}

/// Rows per statement of [`upsert_many`]: 2 + 3 × 500 parameters, well
/// under both backends' limits.
const UPSERT_CHUNK: usize = 500;

/// [`upsert`] for many households at once, a multi-row statement per 500:
/// a 50,000-row import is 100 statements, not 100,000. `rows` are
/// (name, subgroup, phone) with no (name, subgroup) twice.
pub async fn upsert_many(
    tx: &mut Tx,
    village_id: i64,
    rows: &[(&str, &str, Option<&str>)],
    now_ms: i64,
) -> StoreResult<()> {
    for chunk in rows.chunks(UPSERT_CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = 3 + 3 * i;
                format!("($1, ${p}, ${}, ${}, $2)", p + 1, p + 2)
            })
            .collect();
        // Built from the placeholders above only; the values are bound.
        let text = sql::Owned(format!(
            "INSERT INTO households (village_id, name, subgroup, phone, created_at) VALUES {} \
             ON CONFLICT (village_id, name, subgroup) DO UPDATE SET phone = excluded.phone",
            values.join(", ")
        ));
        let mut q = sql::query(text).bind(village_id).bind(now_ms);
        for (name, subgroup, phone) in chunk {
            q = q.bind(*name).bind(*subgroup).bind(*phone);
        }
        q.execute(tx).await?;
    }
    Ok(())
}

/// A village's households in subgroup, then name order.
pub async fn list(
    tx: &mut Tx,
    village_id: i64,
    limit: i64,
    offset: i64,
) -> StoreResult<Vec<Household>> {
    let r = sql::query_as(
        "SELECT id, village_id, name, subgroup, phone FROM households WHERE village_id = $1 \
         ORDER BY LENGTH(subgroup), subgroup, name, id LIMIT $2 OFFSET $3",
    )
    .bind(village_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(tx)
    .await?;
    Ok(r)
}

/// How many households a village has registered.
pub async fn count(tx: &mut Tx, village_id: i64) -> StoreResult<i64> {
    let (n,): (i64,) = sql::query_as("SELECT COUNT(*) FROM households WHERE village_id = $1")
        .bind(village_id)
        .fetch_one(tx)
        .await?;
    Ok(n)
}

/// The village's households registered under any of `names` (at most two
/// spellings: as typed and without 家), by the (village, name, subgroup)
/// key's index.
pub async fn by_names(
    tx: &mut Tx,
    village_id: i64,
    names: &[String],
) -> StoreResult<Vec<Household>> {
    let first = names.first().map(String::as_str).unwrap_or_default();
    let second = names.get(1).map(String::as_str).unwrap_or(first);
    let r = sql::query_as(
        "SELECT id, village_id, name, subgroup, phone FROM households \
         WHERE village_id = $1 AND name IN ($2, $3) ORDER BY LENGTH(subgroup), subgroup, id",
    )
    .bind(village_id)
    .bind(first)
    .bind(second)
    .fetch_all(tx)
    .await?;
    Ok(r)
}

/// A village's household visit coverage between two instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    pub registered: i64,
    /// Registered households with at least one visit in the period.
    pub visited: i64,
    /// Visits in the period that named no registered household.
    pub unregistered_visits: i64,
}

/// How many of the village's registered households were visited in
/// `[from_ms, to_ms)`, by any team of the village.
pub async fn coverage(
    tx: &mut Tx,
    village_id: i64,
    from_ms: i64,
    to_ms: i64,
) -> StoreResult<Coverage> {
    let (registered, visited, unregistered_visits): (i64, i64, i64) = sql::query_as(
        "SELECT \
           (SELECT COUNT(*) FROM households WHERE village_id = $1), \
           (SELECT COUNT(*) FROM households h WHERE h.village_id = $1 AND EXISTS \
              (SELECT 1 FROM visits v WHERE v.household_id = h.id AND v.at >= $2 AND v.at < $3)), \
           (SELECT COUNT(*) FROM visits v JOIN teams t ON t.id = v.team_id \
              WHERE t.village_id = $1 AND v.household_id IS NULL AND v.at >= $2 AND v.at < $3)",
    )
    .bind(village_id)
    .bind(from_ms)
    .bind(to_ms)
    .fetch_one(tx)
    .await?;
    Ok(Coverage {
        registered,
        visited,
        unregistered_visits,
    })
}

/// The village's households not visited in `[from_ms, to_ms)`, in subgroup
/// then name order, at most `limit`.
pub async fn unvisited(
    tx: &mut Tx,
    village_id: i64,
    from_ms: i64,
    to_ms: i64,
    limit: i64,
) -> StoreResult<Vec<Household>> {
    let r = sql::query_as(
        "SELECT id, village_id, name, subgroup, phone FROM households h WHERE h.village_id = $1 \
         AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.household_id = h.id AND v.at >= $2 AND v.at < $3) \
         ORDER BY LENGTH(subgroup), subgroup, name, id LIMIT $4")
        .bind(village_id).bind(from_ms).bind(to_ms).bind(limit).fetch_all(tx).await?;
    Ok(r)
}
