//! Queries of the admin API: township tokens, the organisation (townships,
//! villages, teams, people, groups), which township a row belongs to (for
//! token scopes), and the read-only views and exports of the weekly records.

use super::sql;
use serde::Serialize;

use super::{StoreError, StoreResult, Tx};

// ---------------------------------------------------------------- tokens

crate::row_struct! {
    /// A township token as listed (never its secret or hash).
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    pub struct Token {
        pub id: i64,
        pub township_id: i64,
        pub name: String,
        pub created_at: i64,
        pub revoked_at: Option<i64>,
    }
}

pub async fn insert_token(
    tx: &mut Tx,
    township_id: i64,
    name: &str,
    hash: &str,
    now_ms: i64,
) -> StoreResult<Token> {
    let r = sql::query_as(
        "INSERT INTO admin_tokens (township_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING id, township_id, name, created_at, revoked_at")
        .bind(township_id).bind(name).bind(hash).bind(now_ms).fetch_one(tx).await?;
    Ok(r)
}

pub async fn tokens(tx: &mut Tx) -> StoreResult<Vec<Token>> {
    let r = sql::query_as(
        "SELECT id, township_id, name, created_at, revoked_at FROM admin_tokens ORDER BY id",
    )
    .fetch_all(tx)
    .await?;
    Ok(r)
}

pub async fn token(tx: &mut Tx, id: i64) -> StoreResult<Option<Token>> {
    let r = sql::query_as(
        "SELECT id, township_id, name, created_at, revoked_at FROM admin_tokens WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(tx)
    .await?;
    Ok(r)
}

/// Revokes a token; `false` when it was already revoked.
pub async fn revoke_token(tx: &mut Tx, id: i64, now_ms: i64) -> StoreResult<bool> {
    let n =
        sql::query("UPDATE admin_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now_ms)
            .execute(tx)
            .await?
            .rows_affected();
    Ok(n == 1)
}

/// The live (unrevoked) token with this hash: (token id, township id).
pub async fn live_token(tx: &mut Tx, hash: &str) -> StoreResult<Option<(i64, i64)>> {
    let r = sql::query_as(
        "SELECT id, township_id FROM admin_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(hash)
    .fetch_optional(tx)
    .await?;
    Ok(r)
}

// ---------------------------------------------------------------- scope

/// What kind of row a scope question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owned {
    Township,
    Village,
    Team,
    Group,
    Token,
    DeadLetter,
}

/// The township a row belongs to: `None` when there is no such row,
/// `Some(None)` when it belongs to none (an unbound group; a dead letter of
/// no group and no township admin), else `Some(Some(township id))`.
pub async fn township_of(tx: &mut Tx, kind: Owned, id: i64) -> StoreResult<Option<Option<i64>>> {
    let sql = match kind {
        Owned::Township => "SELECT id FROM townships WHERE id = $1",
        Owned::Village => "SELECT township_id FROM villages WHERE id = $1",
        Owned::Team => {
            "SELECT v.township_id FROM teams t JOIN villages v ON v.id = t.village_id WHERE t.id = $1"
        }
        Owned::Group => {
            "SELECT v.township_id FROM chat_groups g LEFT JOIN teams t ON t.id = g.team_id \
             LEFT JOIN villages v ON v.id = t.village_id WHERE g.id = $1"
        }
        Owned::Token => "SELECT township_id FROM admin_tokens WHERE id = $1",
        Owned::DeadLetter => {
            "SELECT COALESCE(v.township_id, \
               (SELECT MIN(a.township_id) FROM township_admins a WHERE a.person_id = o.person_id AND o.group_id IS NULL)) \
             FROM outbox o LEFT JOIN chat_groups g ON g.id = o.group_id LEFT JOIN teams t ON t.id = g.team_id \
             LEFT JOIN villages v ON v.id = t.village_id WHERE o.id = $1 AND o.state = 'dead'"
        }
    };
    let r: Option<(Option<i64>,)> = sql::query_as(sql).bind(id).fetch_optional(tx).await?;
    Ok(r.map(|(t,)| t))
}

/// The townships a person belongs to: through a team role or as a township admin.
pub async fn person_townships(tx: &mut Tx, person_id: i64) -> StoreResult<Vec<i64>> {
    let r: Vec<(i64,)> = sql::query_as(
        "SELECT v.township_id FROM team_roles r JOIN teams t ON t.id = r.team_id \
           JOIN villages v ON v.id = t.village_id WHERE r.person_id = $1 \
         UNION SELECT township_id FROM township_admins WHERE person_id = $1",
    )
    .bind(person_id)
    .fetch_all(tx)
    .await?;
    let mut ids: Vec<i64> = r.into_iter().map(|(t,)| t).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

// ---------------------------------------------------------------- townships

crate::row_struct! {
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
    pub struct Township {
        pub id: i64,
        pub name: String,
        /// IANA time zone; `null` means the service's default.
        pub timezone: Option<String>,
        /// Whether members (not only the leader) may publish the week's plan.
        pub members_may_plan: bool,
        /// Time limit in days of a task without a deadline, per level.
        pub red_days: i64,
        pub orange_days: i64,
        pub yellow_days: i64,
        pub green_days: i64,
        pub created_at: i64,
    }
}

const TOWNSHIP_COLS: &str = "id, name, timezone, members_may_plan, red_days, orange_days, yellow_days, green_days, created_at";

pub async fn townships(tx: &mut Tx, only: Option<i64>) -> StoreResult<Vec<Township>> {
    let r = sql::query_as(sql::Owned(format!(
        "SELECT {TOWNSHIP_COLS} FROM townships WHERE (CAST($1 AS BIGINT) IS NULL OR id = $1) ORDER BY id")))
        .bind(only).fetch_all(tx).await?;
    Ok(r)
}

pub async fn township(tx: &mut Tx, id: i64) -> StoreResult<Option<Township>> {
    let r = sql::query_as(sql::Owned(format!(
        "SELECT {TOWNSHIP_COLS} FROM townships WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(tx)
    .await?;
    Ok(r)
}

/// Inserts a township with every field of `t` but its id and creation time.
pub async fn insert_township(tx: &mut Tx, t: &Township, now_ms: i64) -> StoreResult<Township> {
    let r = sql::query_as(sql::Owned(format!(
        "INSERT INTO townships (name, timezone, members_may_plan, red_days, orange_days, yellow_days, green_days, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {TOWNSHIP_COLS}")))
        .bind(&t.name).bind(&t.timezone).bind(t.members_may_plan).bind(t.red_days)
        .bind(t.orange_days).bind(t.yellow_days).bind(t.green_days).bind(now_ms)
        .fetch_one(tx).await?;
    Ok(r)
}

/// Writes every editable field of `t`.
pub async fn update_township(tx: &mut Tx, t: &Township) -> StoreResult<()> {
    let n = sql::query(
        "UPDATE townships SET name = $2, timezone = $3, members_may_plan = $4, red_days = $5, \
           orange_days = $6, yellow_days = $7, green_days = $8 WHERE id = $1",
    )
    .bind(t.id)
    .bind(&t.name)
    .bind(&t.timezone)
    .bind(t.members_may_plan)
    .bind(t.red_days)
    .bind(t.orange_days)
    .bind(t.yellow_days)
    .bind(t.green_days)
    .execute(tx)
    .await?
    .rows_affected();
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

/// A township's admins (notified of missing plans and escalated tasks).
pub async fn township_admins(tx: &mut Tx, township_id: i64) -> StoreResult<Vec<Person>> {
    let r = sql::query_as(sql::Owned(format!(
        "SELECT {PERSON_COLS} FROM people p JOIN township_admins a ON a.person_id = p.id \
         WHERE a.township_id = $1 ORDER BY p.id"
    )))
    .bind(township_id)
    .fetch_all(tx)
    .await?;
    Ok(r)
}

pub async fn remove_township_admin(
    tx: &mut Tx,
    township_id: i64,
    person_id: i64,
) -> StoreResult<bool> {
    let n = sql::query("DELETE FROM township_admins WHERE township_id = $1 AND person_id = $2")
        .bind(township_id)
        .bind(person_id)
        .execute(tx)
        .await?
        .rows_affected();
    Ok(n == 1)
}

// ---------------------------------------------------------------- villages

crate::row_struct! {
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
    pub struct Village {
        pub id: i64,
        pub township_id: i64,
        pub name: String,
        pub created_at: i64,
        /// Households registered (CSV import).
        pub households: i64,
    }
}

const VILLAGE_SELECT: &str = "SELECT v.id, v.township_id, v.name, v.created_at, \
     (SELECT COUNT(*) FROM households h WHERE h.village_id = v.id) AS households FROM villages v";

pub async fn villages(tx: &mut Tx, township_id: Option<i64>) -> StoreResult<Vec<Village>> {
    let r = sql::query_as(sql::Owned(format!(
        "{VILLAGE_SELECT} WHERE (CAST($1 AS BIGINT) IS NULL OR v.township_id = $1) ORDER BY v.id"
    )))
    .bind(township_id)
    .fetch_all(tx)
    .await?;
    Ok(r)
}

pub async fn village(tx: &mut Tx, id: i64) -> StoreResult<Option<Village>> {
    let r = sql::query_as(sql::Owned(format!("{VILLAGE_SELECT} WHERE v.id = $1")))
        .bind(id)
        .fetch_optional(tx)
        .await?;
    Ok(r)
}

pub async fn insert_village(
    tx: &mut Tx,
    township_id: i64,
    name: &str,
    now_ms: i64,
) -> StoreResult<i64> {
    let (id,): (i64,) = sql::query_as(
        "INSERT INTO villages (township_id, name, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(township_id)
    .bind(name)
    .bind(now_ms)
    .fetch_one(tx)
    .await?;
    Ok(id)
}

pub async fn rename_village(tx: &mut Tx, id: i64, name: &str) -> StoreResult<()> {
    sql::query("UPDATE villages SET name = $2 WHERE id = $1")
        .bind(id)
        .bind(name)
        .execute(tx)
        .await?
        .rows_affected();
    Ok(())
}

// ---------------------------------------------------------------- teams

crate::row_struct! {
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
    pub struct Team {
        pub id: i64,
        pub village_id: i64,
        pub township_id: i64,
        pub name: String,
        pub created_at: i64,
    }
}

crate::row_struct! {
    /// A person's role on a team.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
    pub struct TeamPerson {
        pub person_id: i64,
        pub display_name: String,
        pub platform: String,
        pub platform_user_id: String,
        /// `leader` or `member`.
        pub role: String,
    }
}

const TEAM_SELECT: &str = "SELECT t.id, t.village_id, v.township_id, t.name, t.created_at \
     FROM teams t JOIN villages v ON v.id = t.village_id";

pub async fn teams(
    tx: &mut Tx,
    township_id: Option<i64>,
    village_id: Option<i64>,
) -> StoreResult<Vec<Team>> {
    let r = sql::query_as(sql::Owned(format!(
        "{TEAM_SELECT} WHERE (CAST($1 AS BIGINT) IS NULL OR v.township_id = $1) \
           AND (CAST($2 AS BIGINT) IS NULL OR t.village_id = $2) ORDER BY t.id"
    )))
    .bind(township_id)
    .bind(village_id)
    .fetch_all(tx)
    .await?;
    Ok(r)
}

pub async fn team(tx: &mut Tx, id: i64) -> StoreResult<Option<Team>> {
    let r = sql::query_as(sql::Owned(format!("{TEAM_SELECT} WHERE t.id = $1")))
        .bind(id)
        .fetch_optional(tx)
        .await?;
    Ok(r)
}

pub async fn insert_team(
    tx: &mut Tx,
    village_id: i64,
    name: &str,
    now_ms: i64,
) -> StoreResult<i64> {
    let (id,): (i64,) = sql::query_as(
        "INSERT INTO teams (village_id, name, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(village_id)
    .bind(name)
    .bind(now_ms)
    .fetch_one(tx)
    .await?;
    Ok(id)
}

pub async fn rename_team(tx: &mut Tx, id: i64, name: &str) -> StoreResult<()> {
    sql::query("UPDATE teams SET name = $2 WHERE id = $1")
        .bind(id)
        .bind(name)
        .execute(tx)
        .await?
        .rows_affected();
    Ok(())
}

/// The team's people, leader first.
pub async fn team_people(tx: &mut Tx, team_id: i64) -> StoreResult<Vec<TeamPerson>> {
    let r = sql::query_as(
        "SELECT p.id AS person_id, p.display_name, p.platform, p.platform_user_id, r.role \
         FROM team_roles r JOIN people p ON p.id = r.person_id WHERE r.team_id = $1 \
         ORDER BY CASE r.role WHEN 'leader' THEN 0 ELSE 1 END, p.id",
    )
    .bind(team_id)
    .fetch_all(tx)
    .await?;
    Ok(r)
}

/// Replaces the team's roster: exactly `leader` (if any) as leader and
/// `members` as members; everyone else loses their role on the team.
/// People who keep their role keep their `since`.
pub async fn set_team_people(
    tx: &mut Tx,
    team_id: i64,
    leader: Option<i64>,
    members: &[i64],
    now_ms: i64,
) -> StoreResult<()> {
    let keep: Vec<i64> = leader.into_iter().chain(members.iter().copied()).collect();
    let current = team_people(tx, team_id).await?;
    for p in current.iter().filter(|p| !keep.contains(&p.person_id)) {
        sql::query("DELETE FROM team_roles WHERE team_id = $1 AND person_id = $2")
            .bind(team_id)
            .bind(p.person_id)
            .execute(tx)
            .await?
            .rows_affected();
    }
    let wanted = leader
        .map(|l| (l, "leader"))
        .into_iter()
        .chain(members.iter().map(|m| (*m, "member")));
    for (person, role) in wanted {
        sql::query(
            "INSERT INTO team_roles (team_id, person_id, role, since) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (team_id, person_id) DO UPDATE SET role = excluded.role",
        )
        .bind(team_id)
        .bind(person)
        .bind(role)
        .bind(now_ms)
        .execute(tx)
        .await?
        .rows_affected();
    }
    Ok(())
}

// ---------------------------------------------------------------- people

crate::row_struct! {
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
    pub struct Person {
        pub id: i64,
        /// `dingtalk` or `wecom`.
        pub platform: String,
        /// DingTalk staffId or WeCom userid.
        pub platform_user_id: String,
        pub display_name: String,
        /// Mainland mobile number, used for @mobile in pushes.
        pub phone: Option<String>,
        pub created_at: i64,
    }
}

const PERSON_COLS: &str =
    "p.id, p.platform, p.platform_user_id, p.display_name, p.phone, p.created_at";

/// People, optionally only those of a township (a team role there, or a
/// township admin there).
pub async fn people(
    tx: &mut Tx,
    township_id: Option<i64>,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<Person>, i64)> {
    const IN_TOWNSHIP: &str = "(CAST($1 AS BIGINT) IS NULL OR p.id IN (\
         SELECT r.person_id FROM team_roles r JOIN teams t ON t.id = r.team_id \
           JOIN villages v ON v.id = t.village_id WHERE v.township_id = $1 \
         UNION SELECT a.person_id FROM township_admins a WHERE a.township_id = $1))";
    let items = sql::query_as(sql::Owned(format!(
        "SELECT {PERSON_COLS} FROM people p WHERE {IN_TOWNSHIP} ORDER BY p.id LIMIT $2 OFFSET $3"
    )))
    .bind(township_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(tx)
    .await?;
    let (total,): (i64,) = sql::query_as(sql::Owned(format!(
        "SELECT COUNT(*) FROM people p WHERE {IN_TOWNSHIP}"
    )))
    .bind(township_id)
    .fetch_one(tx)
    .await?;
    Ok((items, total))
}

pub async fn person(tx: &mut Tx, id: i64) -> StoreResult<Option<Person>> {
    let r = sql::query_as(sql::Owned(format!(
        "SELECT {PERSON_COLS} FROM people p WHERE p.id = $1"
    )))
    .bind(id)
    .fetch_optional(tx)
    .await?;
    Ok(r)
}

pub async fn insert_person(
    tx: &mut Tx,
    platform: &str,
    platform_user_id: &str,
    display_name: &str,
    phone: Option<&str>,
    now_ms: i64,
) -> StoreResult<i64> {
    let (id,): (i64,) = sql::query_as(
        "INSERT INTO people (platform, platform_user_id, display_name, phone, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(platform)
    .bind(platform_user_id)
    .bind(display_name)
    .bind(phone)
    .bind(now_ms)
    .fetch_one(tx)
    .await?;
    Ok(id)
}

pub async fn update_person(
    tx: &mut Tx,
    id: i64,
    display_name: &str,
    phone: Option<&str>,
) -> StoreResult<()> {
    sql::query("UPDATE people SET display_name = $2, phone = $3 WHERE id = $1")
        .bind(id)
        .bind(display_name)
        .bind(phone)
        .execute(tx)
        .await?
        .rows_affected();
    Ok(())
}

// ---------------------------------------------------------------- groups

crate::row_struct! {
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
    pub struct Group {
        pub id: i64,
        pub platform: String,
        pub bot: String,
        pub conversation_id: String,
        pub title: String,
        pub team_id: Option<i64>,
        pub township_id: Option<i64>,
        /// Whether a custom push robot is set (its secrets are never shown).
        pub has_push_robot: bool,
    }
}

/// Filters of the group list.
#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    pub township_id: Option<i64>,
    pub team_id: Option<i64>,
    pub platform: Option<String>,
    pub bound: Option<bool>,
}

pub async fn group(tx: &mut Tx, id: i64) -> StoreResult<Option<Group>> {
    let r = sql::query_as(
        "SELECT g.id, g.platform, g.bot, g.conversation_id, g.title, g.team_id, v.township_id, \
                (g.push_webhook_token IS NOT NULL) AS has_push_robot FROM chat_groups g \
         LEFT JOIN teams t ON t.id = g.team_id LEFT JOIN villages v ON v.id = t.village_id WHERE g.id = $1")
        .bind(id).fetch_optional(tx).await?;
    Ok(r)
}

pub async fn groups(
    tx: &mut Tx,
    f: &GroupFilter,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<Group>, i64)> {
    const FROM: &str = "FROM chat_groups g LEFT JOIN teams t ON t.id = g.team_id \
         LEFT JOIN villages v ON v.id = t.village_id \
         WHERE (CAST($1 AS BIGINT) IS NULL OR v.township_id = $1) \
           AND (CAST($2 AS BIGINT) IS NULL OR g.team_id = $2) \
           AND (CAST($3 AS TEXT) IS NULL OR g.platform = $3) \
           AND (CAST($4 AS BOOLEAN) IS NULL OR (g.team_id IS NOT NULL) = $4)";
    let items = sql::query_as(sql::Owned(format!(
        "SELECT g.id, g.platform, g.bot, g.conversation_id, g.title, g.team_id, v.township_id, \
                (g.push_webhook_token IS NOT NULL) AS has_push_robot {FROM} ORDER BY g.id LIMIT $5 OFFSET $6")))
        .bind(f.township_id).bind(f.team_id).bind(f.platform.clone()).bind(f.bound)
        .bind(limit).bind(offset).fetch_all(tx).await?;
    let (total,): (i64,) = sql::query_as(sql::Owned(format!("SELECT COUNT(*) {FROM}")))
        .bind(f.township_id)
        .bind(f.team_id)
        .bind(f.platform.clone())
        .bind(f.bound)
        .fetch_one(tx)
        .await?;
    Ok((items, total))
}

/// Binds a group to a team (or unbinds it with `None`).
pub async fn set_group_team(tx: &mut Tx, group_id: i64, team_id: Option<i64>) -> StoreResult<()> {
    sql::query("UPDATE chat_groups SET team_id = $2 WHERE id = $1")
        .bind(group_id)
        .bind(team_id)
        .execute(tx)
        .await?
        .rows_affected();
    Ok(())
}

// ---------------------------------------------------------------- dead letters

crate::row_struct! {
    /// A dead letter with the township it belongs to.
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    pub struct DeadLetter {
        pub id: i64,
        pub dedupe_key: String,
        pub group_id: Option<i64>,
        pub person_id: Option<i64>,
        pub township_id: Option<i64>,
        pub bot: String,
        pub attempts: i64,
        pub last_error: Option<String>,
        pub created_at: i64,
    }
}

pub async fn dead_letters(
    tx: &mut Tx,
    township_id: Option<i64>,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<DeadLetter>, i64)> {
    const FROM: &str = "FROM (SELECT o.id, o.dedupe_key, o.group_id, o.person_id, o.bot, o.attempts, o.last_error, o.created_at, \
           COALESCE(v.township_id, (SELECT MIN(a.township_id) FROM township_admins a \
              WHERE a.person_id = o.person_id AND o.group_id IS NULL)) AS township_id \
         FROM outbox o LEFT JOIN chat_groups g ON g.id = o.group_id LEFT JOIN teams t ON t.id = g.team_id \
         LEFT JOIN villages v ON v.id = t.village_id WHERE o.state = 'dead') d \
         WHERE (CAST($1 AS BIGINT) IS NULL OR d.township_id = $1)";
    let items = sql::query_as(sql::Owned(format!(
        "SELECT d.id, d.dedupe_key, d.group_id, d.person_id, d.township_id, d.bot, d.attempts, d.last_error, d.created_at \
         {FROM} ORDER BY d.id DESC LIMIT $2 OFFSET $3")))
        .bind(township_id).bind(limit).bind(offset).fetch_all(tx).await?;
    let (total,): (i64,) = sql::query_as(sql::Owned(format!("SELECT COUNT(*) {FROM}")))
        .bind(township_id)
        .fetch_one(tx)
        .await?;
    Ok((items, total))
}

// ---------------------------------------------------------------- views

/// Filters of the read-only views and exports. Weeks are ISO weeks
/// (`2026-W49`, compared as text); instants are epoch ms, `to_ms` exclusive.
#[derive(Debug, Clone, Default)]
pub struct ViewFilter {
    pub township_id: Option<i64>,
    pub village_id: Option<i64>,
    pub team_id: Option<i64>,
    pub week_from: Option<String>,
    pub week_to: Option<String>,
    pub state: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// The WHERE clause of a view over `x` (a table with team_id and week), its
/// team `tm` and village `v`; `$1`…`$8` are the filter, `state` and `at`
/// name the columns the state and instant filters compare.
fn view_where(state: &str, at: &str) -> String {
    format!(
        "WHERE (CAST($1 AS BIGINT) IS NULL OR v.township_id = $1) \
           AND (CAST($2 AS BIGINT) IS NULL OR tm.village_id = $2) \
           AND (CAST($3 AS BIGINT) IS NULL OR x.team_id = $3) \
           AND (CAST($4 AS TEXT) IS NULL OR x.week >= $4) \
           AND (CAST($5 AS TEXT) IS NULL OR x.week <= $5) \
           AND (CAST($6 AS TEXT) IS NULL OR {state} = $6) \
           AND (CAST($7 AS BIGINT) IS NULL OR {at} >= $7) \
           AND (CAST($8 AS BIGINT) IS NULL OR {at} < $8)"
    )
}

const ORG_COLS: &str = "v.township_id, s.name AS township, tm.village_id, v.name AS village, x.team_id, tm.name AS team";
const ORG_JOIN: &str = "JOIN teams tm ON tm.id = x.team_id JOIN villages v ON v.id = tm.village_id \
     JOIN townships s ON s.id = v.township_id";

macro_rules! bind_view {
    ($q:expr, $f:expr) => {
        $q.bind($f.township_id)
            .bind($f.village_id)
            .bind($f.team_id)
            .bind($f.week_from.clone())
            .bind($f.week_to.clone())
            .bind($f.state.clone())
            .bind($f.from_ms)
            .bind($f.to_ms)
    };
}

/// Runs a paged view: (rows, total).
macro_rules! view {
    ($tx:expr, $ty:ty, $select:expr, $from:expr, $order:expr, $f:expr, $limit:expr, $offset:expr) => {{
        let sql = format!(
            "{} {} ORDER BY {} LIMIT $9 OFFSET $10",
            $select, $from, $order
        );
        let count = format!("SELECT COUNT(*) {}", $from);
        let items: Vec<$ty> = bind_view!(sql::query_as(sql::Owned(sql)), $f)
            .bind($limit)
            .bind($offset)
            .fetch_all($tx)
            .await?;
        let (total,): (i64,) = bind_view!(sql::query_as(sql::Owned(count)), $f)
            .fetch_one($tx)
            .await?;
        (items, total)
    }};
}

crate::row_struct! {
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    pub struct TaskView {
        pub id: i64,
        pub township_id: i64,
        pub township: String,
        pub village_id: i64,
        pub village: String,
        pub team_id: i64,
        pub team: String,
        pub week: String,
        /// The #N shown in the group.
        pub no: i64,
        pub text: String,
        /// `red`, `orange`, `yellow` or `green`.
        pub level: String,
        pub deadline_at: i64,
        /// `open`, `closed` or `cancelled`.
        pub state: String,
        /// `plan`, `add` or `request`.
        pub source: String,
        pub created_at: i64,
        pub closed_at: Option<i64>,
        pub result: Option<String>,
        pub cancel_reason: Option<String>,
    }
    skip {
        /// Display names of the owners.
        pub owners: Vec<String>,
    }
}

/// Tasks, by deadline when `from_ms`/`to_ms` are given.
pub async fn tasks(
    tx: &mut Tx,
    f: &ViewFilter,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<TaskView>, i64)> {
    let from = format!(
        "FROM tasks x {ORG_JOIN} {}",
        view_where("x.state", "x.deadline_at")
    );
    let select = format!(
        "SELECT x.id, {ORG_COLS}, x.week, x.no, x.text, x.level, x.deadline_at, x.state, x.source, \
           x.created_at, x.closed_at, x.result, x.cancel_reason"
    );
    let (mut items, total) = view!(
        tx,
        TaskView,
        select,
        from,
        "x.week, x.team_id, x.no",
        f,
        limit,
        offset
    );
    if !items.is_empty() {
        let ids: Vec<String> = items.iter().map(|t| t.id.to_string()).collect();
        let owners: Vec<(i64, String)> = sql::query_as(sql::Owned(format!(
            "SELECT o.task_id, p.display_name FROM task_owners o JOIN people p ON p.id = o.person_id \
             WHERE o.task_id IN ({}) ORDER BY o.task_id, p.id", ids.join(","))))
            .fetch_all(tx).await?;
        for t in &mut items {
            t.owners = owners
                .iter()
                .filter(|(id, _)| *id == t.id)
                .map(|(_, n)| n.clone())
                .collect();
        }
    }
    Ok((items, total))
}

crate::row_struct! {
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    pub struct ServiceView {
        pub id: i64,
        pub township_id: i64,
        pub township: String,
        pub village_id: i64,
        pub village: String,
        pub team_id: i64,
        pub team: String,
        pub week: String,
        pub task_id: Option<i64>,
        /// The #N of the task it served, if any.
        pub task_no: Option<i64>,
        pub person_id: i64,
        pub person: String,
        pub text: String,
        pub at: i64,
    }
}

pub async fn services(
    tx: &mut Tx,
    f: &ViewFilter,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<ServiceView>, i64)> {
    let from = format!(
        "FROM services x {ORG_JOIN} JOIN people p ON p.id = x.person_id LEFT JOIN tasks k ON k.id = x.task_id {}",
        view_where("NULL", "x.at")
    );
    let select = format!(
        "SELECT x.id, {ORG_COLS}, x.week, x.task_id, k.no AS task_no, x.person_id, \
        p.display_name AS person, x.text, x.at"
    );
    let (items, total) = view!(
        tx,
        ServiceView,
        select,
        from,
        "x.at, x.id",
        f,
        limit,
        offset
    );
    Ok((items, total))
}

crate::row_struct! {
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    pub struct VisitView {
        pub id: i64,
        pub township_id: i64,
        pub township: String,
        pub village_id: i64,
        pub village: String,
        pub team_id: i64,
        pub team: String,
        pub week: String,
        pub person_id: i64,
        pub person: String,
        /// The household as written in the chat.
        pub household: String,
        /// The registered household it matched, if any.
        pub household_id: Option<i64>,
        pub text: String,
        pub at: i64,
    }
}

pub async fn visits(
    tx: &mut Tx,
    f: &ViewFilter,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<VisitView>, i64)> {
    let from = format!(
        "FROM visits x {ORG_JOIN} JOIN people p ON p.id = x.person_id {}",
        view_where("NULL", "x.at")
    );
    let select = format!(
        "SELECT x.id, {ORG_COLS}, x.week, x.person_id, p.display_name AS person, \
        x.household, x.household_id, x.text, x.at"
    );
    let (items, total) = view!(tx, VisitView, select, from, "x.at, x.id", f, limit, offset);
    Ok((items, total))
}

crate::row_struct! {
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    pub struct RatingView {
        pub township_id: i64,
        pub township: String,
        pub village_id: i64,
        pub village: String,
        pub team_id: i64,
        pub team: String,
        pub week: String,
        pub person_id: i64,
        pub person: String,
        /// 1 to 5.
        pub score: i64,
        pub comment: String,
        pub at: i64,
    }
}

pub async fn ratings(
    tx: &mut Tx,
    f: &ViewFilter,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<RatingView>, i64)> {
    let from = format!(
        "FROM ratings x {ORG_JOIN} JOIN people p ON p.id = x.person_id {}",
        view_where("NULL", "x.at")
    );
    let select = format!(
        "SELECT {ORG_COLS}, x.week, x.person_id, p.display_name AS person, x.score, x.comment, x.at"
    );
    let (items, total) = view!(
        tx,
        RatingView,
        select,
        from,
        "x.at, x.team_id, x.person_id",
        f,
        limit,
        offset
    );
    Ok((items, total))
}

crate::row_struct! {
    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    pub struct RequestView {
        pub id: i64,
        pub township_id: i64,
        pub township: String,
        pub village_id: i64,
        pub village: String,
        pub team_id: i64,
        pub team: String,
        pub week: String,
        pub person_id: i64,
        pub person: String,
        pub text: String,
        pub task_id: i64,
        pub task_no: i64,
        /// The state of the task the request became.
        pub state: String,
        pub at: i64,
    }
}

pub async fn requests(
    tx: &mut Tx,
    f: &ViewFilter,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<RequestView>, i64)> {
    let from = format!(
        "FROM requests x {ORG_JOIN} JOIN people p ON p.id = x.person_id JOIN tasks k ON k.id = x.task_id {}",
        view_where("k.state", "x.at")
    );
    let select = format!(
        "SELECT x.id, {ORG_COLS}, x.week, x.person_id, p.display_name AS person, x.text, \
        x.task_id, k.no AS task_no, k.state, x.at"
    );
    let (items, total) = view!(
        tx,
        RequestView,
        select,
        from,
        "x.at, x.id",
        f,
        limit,
        offset
    );
    Ok((items, total))
}

crate::row_struct! {
    /// One team's week in numbers, for the weekly summary export.
    #[derive(Debug, Clone, Serialize)]
    pub struct WeekSummary {
        pub township: String,
        pub village: String,
        pub team: String,
        pub week: String,
        pub total: i64,
        pub closed: i64,
        pub on_time: i64,
        pub services: i64,
        pub visits: i64,
        pub requests: i64,
        pub raters: i64,
        pub rating_sum: i64,
    }
}

/// Every team in scope (township, or all) for each of `weeks`.
pub async fn weekly_summary(
    tx: &mut Tx,
    township_id: Option<i64>,
    weeks: &[String],
) -> StoreResult<Vec<WeekSummary>> {
    let teams: Vec<(i64, String, String, String)> = sql::query_as(
        "SELECT t.id, s.name, v.name, t.name FROM teams t JOIN villages v ON v.id = t.village_id \
         JOIN townships s ON s.id = v.township_id \
         WHERE (CAST($1 AS BIGINT) IS NULL OR s.id = $1) ORDER BY s.id, v.id, t.id",
    )
    .bind(township_id)
    .fetch_all(tx)
    .await?;
    let mut out = Vec::with_capacity(teams.len() * weeks.len());
    for week in weeks {
        for (team_id, township, village, team) in &teams {
            let s = super::jobs::week_stats(tx, *team_id, week).await?;
            out.push(WeekSummary {
                township: township.clone(),
                village: village.clone(),
                team: team.clone(),
                week: week.clone(),
                total: s.total,
                closed: s.closed,
                on_time: s.on_time,
                services: s.services,
                visits: s.visits,
                requests: s.requests,
                raters: s.raters,
                rating_sum: s.rating_sum,
            });
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- audit

/// The audit entries about one township, newest first: changes made with its
/// tokens, changes to the township itself (`township:<id>…`), and whatever
/// was logged against its villages, teams and groups (in-chat bindings and
/// role changes included). With the total.
pub async fn township_audit(
    tx: &mut Tx,
    township_id: i64,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<super::audit::Entry>, i64)> {
    const WHERE: &str = "WHERE a.actor IN (SELECT 'token:' || CAST(k.id AS TEXT) FROM admin_tokens k WHERE k.township_id = $1) \
         OR a.target = 'township:' || CAST($1 AS TEXT) OR a.target LIKE 'township:' || CAST($1 AS TEXT) || '/%' \
         OR a.target IN (SELECT 'village:' || CAST(v.id AS TEXT) FROM villages v WHERE v.township_id = $1) \
         OR a.target IN (SELECT 'team:' || CAST(t.id AS TEXT) FROM teams t JOIN villages v ON v.id = t.village_id \
              WHERE v.township_id = $1) \
         OR a.target IN (SELECT 'group:' || CAST(g.id AS TEXT) FROM chat_groups g JOIN teams t ON t.id = g.team_id \
              JOIN villages v ON v.id = t.village_id WHERE v.township_id = $1)";
    let items = sql::query_as(sql::Owned(format!(
        "SELECT a.id, a.at, a.actor, a.action, a.target, a.before_json, a.after_json FROM audit_log a {WHERE} \
         ORDER BY a.id DESC LIMIT $2 OFFSET $3")))
        .bind(township_id).bind(limit).bind(offset).fetch_all(tx).await?;
    let (total,): (i64,) = sql::query_as(sql::Owned(format!(
        "SELECT COUNT(*) FROM audit_log a {WHERE}"
    )))
    .bind(township_id)
    .fetch_one(tx)
    .await?;
    Ok((items, total))
}
