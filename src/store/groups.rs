//! Groups, people, roles and the township → village → team hierarchy.

use super::sql;
use super::{StoreError, StoreResult, Tx};
use crate::platform::Platform;

crate::row_struct! {
    #[derive(Debug, Clone)]
    pub struct GroupRow {
        pub id: i64,
        pub team_id: Option<i64>,
    }
}

crate::row_struct! {
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PersonRow {
        pub id: i64,
        pub platform_user_id: String,
        pub display_name: String,
    }
}

crate::row_struct! {
    /// The team a group is bound to, with what the bot needs of its township.
    #[derive(Debug, Clone)]
    pub struct TeamRow {
        pub team_id: i64,
        pub team_name: String,
        pub village_id: i64,
        pub village_name: String,
        pub township_id: i64,
        pub township_name: String,
        pub timezone: Option<String>,
        pub members_may_plan: bool,
        pub red_days: i64,
        pub orange_days: i64,
        pub yellow_days: i64,
        pub green_days: i64,
    }
}

/// Records the group (first sight) or refreshes its title; returns its row.
pub async fn upsert_group(
    tx: &mut Tx,
    platform: &str,
    bot: &str,
    conversation_id: &str,
    title: &str,
    now_ms: i64,
) -> StoreResult<GroupRow> {
    let row: GroupRow = sql::query_as(
        "INSERT INTO chat_groups (platform, bot, conversation_id, title, created_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (platform, conversation_id) DO UPDATE SET bot = excluded.bot, \
           title = CASE WHEN excluded.title = '' THEN chat_groups.title ELSE excluded.title END \
         RETURNING id, team_id",
    )
    .bind(platform)
    .bind(bot)
    .bind(conversation_id)
    .bind(title)
    .bind(now_ms)
    .fetch_one(tx)
    .await?;
    Ok(row)
}

/// Records a person by platform id; a non-empty name refreshes the stored one.
pub async fn upsert_person(
    tx: &mut Tx,
    platform: &str,
    platform_user_id: &str,
    display_name: &str,
    now_ms: i64,
) -> StoreResult<i64> {
    let (id,): (i64,) = sql::query_as(
        "INSERT INTO people (platform, platform_user_id, display_name, created_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (platform, platform_user_id) DO UPDATE SET display_name = \
           CASE WHEN excluded.display_name = '' THEN people.display_name ELSE excluded.display_name END \
         RETURNING id")
        .bind(platform).bind(platform_user_id).bind(display_name).bind(now_ms)
        .fetch_one(tx).await?;
    Ok(id)
}

/// Notes that a person was seen in a group (how @names resolve later).
pub async fn touch_member(
    tx: &mut Tx,
    group_id: i64,
    person_id: i64,
    now_ms: i64,
) -> StoreResult<()> {
    sql::query(
        "INSERT INTO group_members (group_id, person_id, last_seen_at) VALUES ($1, $2, $3) \
         ON CONFLICT (group_id, person_id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
    )
    .bind(group_id)
    .bind(person_id)
    .bind(now_ms)
    .execute(tx)
    .await?;
    tx.kept().member_seen(group_id, person_id, now_ms);
    Ok(())
}

pub async fn person_by_platform_id(
    tx: &mut Tx,
    platform: &str,
    platform_user_id: &str,
) -> StoreResult<Option<PersonRow>> {
    let r = sql::query_as(
        "SELECT id, platform_user_id, display_name FROM people WHERE platform = $1 AND platform_user_id = $2")
        .bind(platform).bind(platform_user_id)
        .fetch_optional(tx).await?;
    Ok(r)
}

/// People seen in the group under `name`, plus the team's people of the
/// group's team under that name (a member set up elsewhere counts too).
pub async fn people_named_in_group(
    tx: &mut Tx,
    group_id: i64,
    name: &str,
) -> StoreResult<Vec<PersonRow>> {
    let r = sql::query_as(
        "SELECT p.id, p.platform_user_id, p.display_name FROM people p \
         WHERE p.display_name = $2 AND (\
           p.id IN (SELECT person_id FROM group_members WHERE group_id = $1) OR \
           p.id IN (SELECT r.person_id FROM team_roles r JOIN chat_groups g ON g.team_id = r.team_id WHERE g.id = $1)) \
         ORDER BY p.id")
        .bind(group_id).bind(name)
        .fetch_all(tx).await?;
    Ok(r)
}

/// The person with platform id `user_id` if they were seen in the group or
/// are on the group's team (how a typed `@userid` resolves on WeCom).
pub async fn person_in_group_by_user_id(
    tx: &mut Tx,
    platform: &str,
    group_id: i64,
    user_id: &str,
) -> StoreResult<Option<PersonRow>> {
    let r = sql::query_as(
        "SELECT p.id, p.platform_user_id, p.display_name FROM people p \
         WHERE p.platform = $1 AND p.platform_user_id = $3 AND (\
           p.id IN (SELECT person_id FROM group_members WHERE group_id = $2) OR \
           p.id IN (SELECT r.person_id FROM team_roles r JOIN chat_groups g ON g.team_id = r.team_id WHERE g.id = $2))")
        .bind(platform).bind(group_id).bind(user_id)
        .fetch_optional(tx).await?;
    Ok(r)
}

pub async fn team(tx: &mut Tx, team_id: i64) -> StoreResult<TeamRow> {
    let r = sql::query_as(
        "SELECT t.id AS team_id, t.name AS team_name, v.id AS village_id, v.name AS village_name, \
                s.id AS township_id, s.name AS township_name, s.timezone, s.members_may_plan, \
                s.red_days, s.orange_days, s.yellow_days, s.green_days \
         FROM teams t JOIN villages v ON v.id = t.village_id JOIN townships s ON s.id = v.township_id \
         WHERE t.id = $1")
        .bind(team_id).fetch_one(tx).await?;
    Ok(r)
}

pub async fn role_of(tx: &mut Tx, team_id: i64, person_id: i64) -> StoreResult<Option<String>> {
    let r: Option<(String,)> =
        sql::query_as("SELECT role FROM team_roles WHERE team_id = $1 AND person_id = $2")
            .bind(team_id)
            .bind(person_id)
            .fetch_optional(tx)
            .await?;
    Ok(r.map(|(role,)| role))
}

/// The team's people with their roles, leader first.
pub async fn team_people(tx: &mut Tx, team_id: i64) -> StoreResult<Vec<(PersonRow, String)>> {
    let rows: Vec<(i64, String, String, String)> = sql::query_as(
        "SELECT p.id, p.platform_user_id, p.display_name, r.role FROM team_roles r \
         JOIN people p ON p.id = r.person_id WHERE r.team_id = $1 \
         ORDER BY CASE r.role WHEN 'leader' THEN 0 ELSE 1 END, r.since, p.id",
    )
    .bind(team_id)
    .fetch_all(tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, platform_user_id, display_name, role)| {
            (
                PersonRow {
                    id,
                    platform_user_id,
                    display_name,
                },
                role,
            )
        })
        .collect())
}

/// What of a 绑定 target exists already (ids are `None` when not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BindTarget {
    pub township_id: Option<i64>,
    pub village_id: Option<i64>,
    pub team_id: Option<i64>,
    /// The team has a group on `platform` other than this one.
    pub team_has_group: bool,
}

/// Looks up township, village and team by name, without creating any.
pub async fn bind_target(
    tx: &mut Tx,
    platform: &str,
    group_id: i64,
    township: &str,
    village: &str,
    team: &str,
) -> StoreResult<BindTarget> {
    let mut t = BindTarget::default();
    let found: Option<(i64,)> = sql::query_as("SELECT id FROM townships WHERE name = $1")
        .bind(township)
        .fetch_optional(tx)
        .await?;
    t.township_id = found.map(|(id,)| id);
    let Some(township_id) = t.township_id else {
        return Ok(t);
    };
    let found: Option<(i64,)> =
        sql::query_as("SELECT id FROM villages WHERE township_id = $1 AND name = $2")
            .bind(township_id)
            .bind(village)
            .fetch_optional(tx)
            .await?;
    t.village_id = found.map(|(id,)| id);
    let Some(village_id) = t.village_id else {
        return Ok(t);
    };
    let found: Option<(i64,)> =
        sql::query_as("SELECT id FROM teams WHERE village_id = $1 AND name = $2")
            .bind(village_id)
            .bind(team)
            .fetch_optional(tx)
            .await?;
    t.team_id = found.map(|(id,)| id);
    if let Some(team_id) = t.team_id {
        // On PostgreSQL two groups binding the same team at once take turns
        // here, so the second sees the first's group (SQLite has one writer).
        if tx.backend() == super::Backend::Postgres {
            sql::query("SELECT id FROM teams WHERE id = $1 FOR UPDATE")
                .bind(team_id)
                .execute(tx)
                .await?
                .rows_affected();
        }
        let (n,): (i64,) = sql::query_as(
            "SELECT COUNT(*) FROM chat_groups WHERE team_id = $1 AND platform = $2 AND id <> $3",
        )
        .bind(team_id)
        .bind(platform)
        .bind(group_id)
        .fetch_one(tx)
        .await?;
        t.team_has_group = n > 0;
    }
    Ok(t)
}

/// Whether the person is an admin of the township.
pub async fn is_township_admin(tx: &mut Tx, township_id: i64, person_id: i64) -> StoreResult<bool> {
    let r: Option<(i64,)> = sql::query_as(
        "SELECT person_id FROM township_admins WHERE township_id = $1 AND person_id = $2",
    )
    .bind(township_id)
    .bind(person_id)
    .fetch_optional(tx)
    .await?;
    Ok(r.is_some())
}

/// Finds or creates township, village and team; binds the group to the team.
/// Returns the team id and the team it was bound to before, if another.
pub async fn bind_group(
    tx: &mut Tx,
    group_id: i64,
    township: &str,
    village: &str,
    team: &str,
    now_ms: i64,
) -> StoreResult<(i64, Option<i64>)> {
    let (township_id,): (i64,) = sql::query_as(
        "INSERT INTO townships (name, created_at) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
    )
    .bind(township)
    .bind(now_ms)
    .fetch_one(tx)
    .await?;
    let (village_id,): (i64,) = sql::query_as(
        "INSERT INTO villages (township_id, name, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (township_id, name) DO UPDATE SET name = excluded.name RETURNING id",
    )
    .bind(township_id)
    .bind(village)
    .bind(now_ms)
    .fetch_one(tx)
    .await?;
    let (team_id,): (i64,) = sql::query_as(
        "INSERT INTO teams (village_id, name, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (village_id, name) DO UPDATE SET name = excluded.name RETURNING id",
    )
    .bind(village_id)
    .bind(team)
    .bind(now_ms)
    .fetch_one(tx)
    .await?;
    let (before,): (Option<i64>,) = sql::query_as("SELECT team_id FROM chat_groups WHERE id = $1")
        .bind(group_id)
        .fetch_one(tx)
        .await?;
    let n = sql::query("UPDATE chat_groups SET team_id = $2 WHERE id = $1")
        .bind(group_id)
        .bind(team_id)
        .execute(tx)
        .await?
        .rows_affected();
    if n != 1 {
        return Err(StoreError::NotFound);
    }
    Ok((team_id, before.filter(|b| *b != team_id)))
}

/// Gives `person_id` `role` in the team. A new leader demotes the old one to
/// member (one leader per team). Returns the previous role, if any.
pub async fn set_role(
    tx: &mut Tx,
    team_id: i64,
    person_id: i64,
    role: &str,
    now_ms: i64,
) -> StoreResult<Option<String>> {
    let before = role_of(tx, team_id, person_id).await?;
    if role == "leader" {
        sql::query(
            "UPDATE team_roles SET role = 'member' WHERE team_id = $1 AND role = 'leader' AND person_id <> $2")
            .bind(team_id).bind(person_id).execute(tx).await?.rows_affected();
    }
    sql::query(
        "INSERT INTO team_roles (team_id, person_id, role, since) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (team_id, person_id) DO UPDATE SET role = excluded.role",
    )
    .bind(team_id)
    .bind(person_id)
    .bind(role)
    .bind(now_ms)
    .execute(tx)
    .await?
    .rows_affected();
    Ok(before)
}

crate::row_struct! {
    /// Everything a turn needs to know about a group and its sender, in one query.
    #[derive(Debug, Clone)]
    pub struct Context {
        pub group_id: i64,
        pub group_title: String,
        pub team_id: Option<i64>,
        pub person_id: Option<i64>,
        pub person_name: Option<String>,
        pub last_seen_at: Option<i64>,
        pub role: Option<String>,
        pub team_name: Option<String>,
        pub village_id: Option<i64>,
        pub village_name: Option<String>,
        pub township_id: Option<i64>,
        pub township_name: Option<String>,
        pub timezone: Option<String>,
        pub members_may_plan: Option<bool>,
        pub red_days: Option<i64>,
        pub orange_days: Option<i64>,
        pub yellow_days: Option<i64>,
        pub green_days: Option<i64>,
        /// When the group's last `sessionWebhook` runs out, if one is on
        /// record: the turn writes a new one only when it lasts longer
        /// (a kept entry may hold an older value; then the write is tried
        /// and its own condition decides).
        pub session_expires_at: Option<i64>,
    }
}

impl Context {
    /// The bound team, if the group is bound.
    pub fn team(&self) -> Option<TeamRow> {
        Some(TeamRow {
            team_id: self.team_id?,
            team_name: self.team_name.clone()?,
            village_id: self.village_id?,
            village_name: self.village_name.clone()?,
            township_id: self.township_id?,
            township_name: self.township_name.clone()?,
            timezone: self.timezone.clone(),
            members_may_plan: self.members_may_plan?,
            red_days: self.red_days?,
            orange_days: self.orange_days?,
            yellow_days: self.yellow_days?,
            green_days: self.green_days?,
        })
    }
}

/// The group (by conversation), its team and township, and the sender as
/// known there. `None` when the group was never seen.
///
/// On the SQLite writer, a context it has read before comes from its cache
/// (see `store::contexts`).
pub async fn context(
    tx: &mut Tx,
    platform: &str,
    conversation_id: &str,
    sender_id: &str,
) -> StoreResult<Option<Context>> {
    if let Some(c) = tx.kept().context(platform, conversation_id, sender_id) {
        return Ok(Some(c));
    }
    let r: Option<Context> = sql::query_as(
        "SELECT g.id AS group_id, g.title AS group_title, g.team_id, \
                p.id AS person_id, p.display_name AS person_name, m.last_seen_at, r.role, \
                t.name AS team_name, v.id AS village_id, v.name AS village_name, \
                s.id AS township_id, s.name AS township_name, s.timezone, s.members_may_plan, \
                s.red_days, s.orange_days, s.yellow_days, s.green_days, \
                gs.expires_at AS session_expires_at \
         FROM chat_groups g \
         LEFT JOIN people p ON p.platform = $1 AND p.platform_user_id = $3 \
         LEFT JOIN group_members m ON m.group_id = g.id AND m.person_id = p.id \
         LEFT JOIN team_roles r ON r.team_id = g.team_id AND r.person_id = p.id \
         LEFT JOIN teams t ON t.id = g.team_id \
         LEFT JOIN villages v ON v.id = t.village_id \
         LEFT JOIN townships s ON s.id = v.township_id \
         LEFT JOIN group_sessions gs ON gs.group_id = g.id \
         WHERE g.platform = $1 AND g.conversation_id = $2",
    )
    .bind(platform)
    .bind(conversation_id)
    .bind(sender_id)
    .fetch_optional(tx)
    .await?;
    if let Some(c) = &r {
        tx.kept()
            .keep_context(platform, conversation_id, sender_id, c);
    }
    Ok(r)
}

crate::row_struct! {
    /// Where a group's pushes go.
    #[derive(Debug, Clone)]
    pub struct PushTarget {
        pub group_id: i64,
        #[sqlx(try_from = "String")]
        pub platform: Platform,
        pub bot: String,
        pub conversation_id: String,
        pub push_webhook_token: Option<String>,
        pub push_webhook_secret: Option<String>,
    }
}

/// Decoded where it is read: a platform that is none of ours is an error.
impl rusqlite::types::FromSql for Platform {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        Platform::try_from(v.as_str()?.to_string())
            .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
    }
}

pub async fn push_target(tx: &mut Tx, group_id: i64) -> StoreResult<Option<PushTarget>> {
    let r = sql::query_as(
        "SELECT id AS group_id, platform, bot, conversation_id, push_webhook_token, push_webhook_secret \
         FROM chat_groups WHERE id = $1")
        .bind(group_id).fetch_optional(tx).await?;
    Ok(r)
}

/// Sets or clears a group's custom push robot (secrets are never read back
/// through the API).
pub async fn set_push_webhook(
    tx: &mut Tx,
    group_id: i64,
    token: Option<&str>,
    secret: Option<&str>,
) -> StoreResult<bool> {
    let n = sql::query(
        "UPDATE chat_groups SET push_webhook_token = $2, push_webhook_secret = $3 WHERE id = $1",
    )
    .bind(group_id)
    .bind(token)
    .bind(secret)
    .execute(tx)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Remembers the newest DingTalk `sessionWebhook` of a group (a push meant to
/// reach a person may go through it while it lasts). Written only when it
/// outlives the one on record by more than `min_gain_ms`, so a busy group
/// costs one write in that time, not one per message.
pub async fn remember_session_webhook(
    tx: &mut Tx,
    group_id: i64,
    url: &str,
    expires_at: i64,
    min_gain_ms: i64,
) -> StoreResult<()> {
    sql::query(
        "INSERT INTO group_sessions (group_id, url, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (group_id) DO UPDATE SET url = excluded.url, expires_at = excluded.expires_at \
         WHERE group_sessions.expires_at < $4",
    )
    .bind(group_id)
    .bind(url)
    .bind(expires_at)
    .bind(expires_at.saturating_sub(min_gain_ms))
    .execute(tx)
    .await?;
    Ok(())
}

/// The township of this name's id, if any.
pub async fn township_exists(tx: &mut Tx, id: i64) -> StoreResult<bool> {
    let r: Option<(i64,)> = sql::query_as("SELECT id FROM townships WHERE id = $1")
        .bind(id)
        .fetch_optional(tx)
        .await?;
    Ok(r.is_some())
}
