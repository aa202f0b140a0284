//! A year of plausible data for the ranking bench (`liancun bench ranking`)
//! and its small-scale test, generated set-based: every table is one
//! `INSERT … SELECT` over a numbers CTE (`WITH RECURSIVE`, which SQLite and
//! PostgreSQL both run), never a row at a time.
//!
//! The shape: `villages` villages in ⌈villages / 285⌉ townships, one team and
//! one group each; 3–10 members and six villagers per team; 100–1,000
//! registered households per village; ISO weeks 1..=`weeks` of 2026 with
//! three planned tasks a week (most closed on time), a request every other
//! week (numbered per team, four a week), two services, a varying number of raters (0–5) and household
//! visits that cover 20–90 % of the village by the last week; one or two
//! hard projects per team with reports and some completions. Ids are
//! computed (team = village = group id; person = team · 16 + k), so each
//! table joins the others without lookups. For an empty database only.

use super::sql;
use super::{Db, StoreResult, Tx};

/// Villages per township (a Zhejiang township has a few dozen to a few hundred).
pub const VILLAGES_PER_TOWNSHIP: i64 = 285;

/// Numbers 0..=999 as `d(i)`, BIGINT so that PostgreSQL multiplies in 64 bits.
const DIGITS: &str = "WITH RECURSIVE d(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM d WHERE i < 999) ";

/// Monday 29 December 2025 00:00 Asia/Shanghai (the start of 2026-W01), in ms.
pub const W01_MS: i64 = 1_766_937_600_000;
const DAY_MS: i64 = 86_400_000;
const WEEK_MS: i64 = 7 * DAY_MS;

/// `'2026-W' || lpad(w, 2)` for an integer column `w`, in both dialects.
fn week_text(w: &str) -> String {
    format!("('2026-W' || CASE WHEN {w} < 10 THEN '0' ELSE '' END || CAST({w} AS TEXT))")
}

/// The statements, in order, with what each fills (for progress output).
pub fn statements(villages: i64, weeks: i64) -> Vec<(&'static str, String)> {
    let townships = (villages + VILLAGES_PER_TOWNSHIP - 1) / VILLAGES_PER_TOWNSHIP;
    // village numbers 1..=villages from two digit sets
    let vnum = format!(
        "{DIGITS}, v(id) AS (SELECT a.i * 1000 + b.i + 1 FROM d a CROSS JOIN d b \
         WHERE a.i * 1000 + b.i + 1 <= {villages}) "
    );
    let wk = week_text("w.i");
    let monday = format!("({W01_MS} + (w.i - 1) * {WEEK_MS})");
    // members of team v: 3..=10
    let members = "(3 + (t.id * 7) % 8)";
    // Completions: the Wednesday of the last week, or mid-year.
    let done_last = W01_MS + (weeks - 1) * WEEK_MS + 2 * DAY_MS;
    let done_mid = W01_MS + (weeks / 2) * WEEK_MS;
    vec![
        (
            "townships",
            format!(
                "{DIGITS} INSERT INTO townships (id, name, created_at) \
                 SELECT i + 1, '乡镇' || CAST(i + 1 AS TEXT), {W01_MS} FROM d WHERE i < {townships}"
            ),
        ),
        (
            "villages",
            format!(
                "{vnum} INSERT INTO villages (id, township_id, name, created_at) \
                 SELECT id, 1 + (id - 1) % {townships}, '村' || CAST(id AS TEXT), {W01_MS} FROM v"
            ),
        ),
        (
            "teams",
            format!(
                "INSERT INTO teams (id, village_id, name, created_at) \
                 SELECT id, id, '服务团', {W01_MS} FROM villages"
            ),
        ),
        (
            "people",
            format!(
                "{DIGITS} INSERT INTO people (id, platform, platform_user_id, display_name, created_at) \
                 SELECT t.id * 16 + d.i, 'dingtalk', 'u' || CAST(t.id * 16 + d.i AS TEXT), \
                   CASE WHEN d.i < 10 THEN '团员' ELSE '村民' END || CAST(t.id * 16 + d.i AS TEXT), {W01_MS} \
                 FROM teams t JOIN d ON d.i < {members} OR (d.i >= 10 AND d.i < 16)"
            ),
        ),
        (
            "team_roles",
            format!(
                "{DIGITS} INSERT INTO team_roles (team_id, person_id, role, since) \
                 SELECT t.id, t.id * 16 + d.i, CASE WHEN d.i = 0 THEN 'leader' ELSE 'member' END, {W01_MS} \
                 FROM teams t JOIN d ON d.i < {members}"
            ),
        ),
        (
            "chat_groups",
            format!(
                "INSERT INTO chat_groups (id, platform, bot, conversation_id, title, team_id, created_at) \
                 SELECT id, 'dingtalk', 'bench', 'cid' || CAST(id AS TEXT), '', id, {W01_MS} FROM teams"
            ),
        ),
        (
            "households",
            format!(
                "{DIGITS} INSERT INTO households (id, village_id, name, subgroup, created_at) \
                 SELECT v.id * 1000 + d.i, v.id, '户' || CAST(d.i AS TEXT), '', {W01_MS} \
                 FROM villages v JOIN d ON d.i < 100 + (v.id * 37) % 901"
            ),
        ),
        (
            "visits",
            // Household i of village v is visited in week 1 + (i·13 + v) mod weeks
            // if it falls in the village's coverage (20–90 %).
            format!(
                "{DIGITS}, w(i) AS (SELECT i FROM d WHERE i >= 1 AND i <= {weeks}) \
                 INSERT INTO visits (team_id, week, person_id, household, text, at, household_id) \
                 SELECT h.village_id, {wk}, h.village_id * 16 + (h.id % 1000) % 3, h.name, '', \
                   {monday} + ((h.id % 1000) % 5) * {DAY_MS} + 36000000, h.id \
                 FROM households h JOIN w ON w.i = 1 + ((h.id % 1000) * 13 + h.village_id) % {weeks} \
                 WHERE ((h.id % 1000) * 7 + h.village_id) % 100 < 20 + h.village_id % 71"
            ),
        ),
        (
            "tasks",
            // Three planned tasks a week, due Wednesday to Friday 18:00; most
            // closed two hours early, some a day late, a few left open.
            format!(
                "{DIGITS}, w(i) AS (SELECT i FROM d WHERE i >= 1 AND i <= {weeks}), n(i) AS (SELECT i FROM d WHERE i >= 1 AND i <= 3) \
                 INSERT INTO tasks (id, team_id, week, no, text, level, deadline_at, state, source, created_by, created_at, closed_at, closed_by, result) \
                 SELECT (t.id * 64 + w.i) * 8 + n.i, t.id, {wk}, (w.i - 1) * 4 + n.i, '事项', 'green', \
                   {monday} + (1 + n.i) * {DAY_MS} + 64800000, \
                   CASE WHEN (t.id + w.i * 3 + n.i) % 50 = 0 THEN 'open' ELSE 'closed' END, 'plan', t.id * 16, {monday} + 72000000, \
                   CASE WHEN (t.id + w.i * 3 + n.i) % 50 = 0 THEN NULL \
                        WHEN (t.id * 3 + w.i + n.i * 7) % 10 < 6 + t.id % 4 THEN {monday} + (1 + n.i) * {DAY_MS} + 57600000 \
                        ELSE {monday} + (2 + n.i) * {DAY_MS} + 64800000 END, \
                   CASE WHEN (t.id + w.i * 3 + n.i) % 50 = 0 THEN NULL ELSE t.id * 16 + n.i % 3 END, \
                   CASE WHEN (t.id + w.i * 3 + n.i) % 50 = 0 THEN NULL ELSE '已办结' END \
                 FROM teams t CROSS JOIN w CROSS JOIN n"
            ),
        ),
        (
            "request tasks",
            // A villager's request every other week, raised Tuesday, due Friday;
            // two in three closed.
            format!(
                "{DIGITS}, w(i) AS (SELECT i FROM d WHERE i >= 1 AND i <= {weeks}) \
                 INSERT INTO tasks (id, team_id, week, no, text, level, deadline_at, state, source, created_by, created_at, closed_at, closed_by, result) \
                 SELECT (t.id * 64 + w.i) * 8 + 4, t.id, {wk}, (w.i - 1) * 4 + 4, '诉求', 'yellow', {monday} + 4 * {DAY_MS} + 64800000, \
                   CASE WHEN (t.id + w.i) % 3 = 0 THEN 'open' ELSE 'closed' END, 'request', t.id * 16 + 10, \
                   {monday} + {DAY_MS} + 36000000, \
                   CASE WHEN (t.id + w.i) % 3 = 0 THEN NULL ELSE {monday} + 3 * {DAY_MS} + 36000000 END, \
                   CASE WHEN (t.id + w.i) % 3 = 0 THEN NULL ELSE t.id * 16 END, \
                   CASE WHEN (t.id + w.i) % 3 = 0 THEN NULL ELSE '已办结' END \
                 FROM teams t CROSS JOIN w WHERE (t.id + w.i) % 2 = 0"
            ),
        ),
        (
            "requests",
            "INSERT INTO requests (team_id, week, person_id, text, task_id, at) \
             SELECT team_id, week, created_by, text, id, created_at FROM tasks WHERE source = 'request'"
                .to_string(),
        ),
        (
            "task_owners",
            // Owners by the task's place in its week (1–3 planned, 4 the request).
            "INSERT INTO task_owners (task_id, person_id) \
             SELECT id, team_id * 16 + ((no - 1) % 4 + 1) % 3 FROM tasks"
                .to_string(),
        ),
        (
            "task counters",
            // Numbers are the team's, not the week's (0015): 4 a week.
            "INSERT INTO task_counters (team_id, last_no) \
             SELECT team_id, MAX(no) FROM tasks GROUP BY team_id"
                .to_string(),
        ),
        (
            "services",
            format!(
                "{DIGITS}, w(i) AS (SELECT i FROM d WHERE i >= 1 AND i <= {weeks}), n(i) AS (SELECT i FROM d WHERE i < 2) \
                 INSERT INTO services (team_id, week, task_id, person_id, text, at) \
                 SELECT t.id, {wk}, (t.id * 64 + w.i) * 8 + 1 + n.i, t.id * 16 + (n.i + w.i) % 3, '服务', \
                   {monday} + {DAY_MS} + 36000000 + n.i * 3600000 \
                 FROM teams t CROSS JOIN w CROSS JOIN n"
            ),
        ),
        (
            "ratings",
            // 0–5 villagers rate each week, 3 to 5 points.
            format!(
                "{DIGITS}, w(i) AS (SELECT i FROM d WHERE i >= 1 AND i <= {weeks}), j(i) AS (SELECT i FROM d WHERE i < 6) \
                 INSERT INTO ratings (team_id, week, person_id, score, comment, at) \
                 SELECT t.id, {wk}, t.id * 16 + 10 + j.i, 3 + (t.id * w.i + j.i) % 3, '', \
                   {monday} + 4 * {DAY_MS} + 72000000 \
                 FROM teams t CROSS JOIN w JOIN j ON j.i < (t.id + w.i) % 6"
            ),
        ),
        (
            "projects",
            // One or two hard projects a team; a tenth done in the last week, a tenth earlier.
            format!(
                "{DIGITS}, p(i) AS (SELECT i FROM d WHERE i < 2) \
                 INSERT INTO projects (id, team_id, year, name, state, created_by, created_at, done_at, done_by) \
                 SELECT t.id * 2 + p.i, t.id, 2026, '难点项目' || CAST(p.i + 1 AS TEXT), \
                   CASE WHEN (t.id + p.i) % 10 IN (0, 5) THEN 'done' ELSE 'open' END, t.id * 16, {W01_MS}, \
                   CASE WHEN (t.id + p.i) % 10 = 0 THEN {done_last} \
                        WHEN (t.id + p.i) % 10 = 5 THEN {done_mid} ELSE NULL END, \
                   CASE WHEN (t.id + p.i) % 10 IN (0, 5) THEN t.id * 16 ELSE NULL END \
                 FROM teams t JOIN p ON p.i < 1 + t.id % 2"
            ),
        ),
        (
            "project_updates",
            format!(
                "{DIGITS}, w(i) AS (SELECT i FROM d WHERE i >= 1 AND i <= {weeks}) \
                 INSERT INTO project_updates (project_id, person_id, week, text, at) \
                 SELECT p.id, p.created_by, {wk}, '进展', {monday} + 3 * {DAY_MS} + 36000000 \
                 FROM projects p JOIN w ON (w.i + p.id) % 6 = 0 \
                 WHERE p.done_at IS NULL OR {monday} < p.done_at"
            ),
        ),
    ]
}

/// Runs one generator statement; returns the rows it wrote.
pub async fn run(tx: &mut Tx, sql: &str) -> StoreResult<u64> {
    let sql = sql::Owned(sql.to_string());
    let n = sql::query(sql).execute(tx).await?.rows_affected();
    Ok(n)
}

/// Updates the planner's statistics after a bulk load (ANALYZE on both).
pub async fn analyze(tx: &mut Tx) -> StoreResult<()> {
    sql::query("ANALYZE").execute(tx).await?.rows_affected();
    Ok(())
}

/// Settles the database after a bulk load: ANALYZE on both, and on
/// PostgreSQL a VACUUM first, which marks the loaded pages all-visible, as
/// autovacuum does on its own a while after a load of this size (its insert
/// threshold); until it has, an index-only scan still visits the table for
/// each row. VACUUM cannot run in a transaction, so this takes the pool.
pub async fn settle(db: &Db) -> StoreResult<()> {
    match db {
        Db::Pg(pool) => {
            sqlx::query("VACUUM (ANALYZE)").execute(pool).await?;
            Ok(())
        }
        Db::Sqlite { .. } => {
            db.write(|tx| Box::pin(async move { analyze(tx).await }))
                .await
        }
    }
}
