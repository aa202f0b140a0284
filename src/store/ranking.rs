//! The monthly ranking: per-team and per-member counts of a month, computed
//! set-based from the raw rows (the current month) or read from the
//! roll-ups `team_month_stats` / `person_month_stats` that
//! [`build_rollup`] fills for closed months; a township's ranking as the 排名
//! command, the monthly_ranking job and the admin API read it
//! ([`township_ranking`]); weights, 创新先锋 nominations and the confirmed
//! pioneers. Nothing here runs on the message path's write transaction (排名
//! reads before it).

use std::collections::HashMap;

use super::sql;
use chrono::Datelike;
use chrono_tz::Tz;

use super::{StoreResult, Tx};
use crate::domain::ranking::{
    self as rules, Month, PersonMonth, RankLine, Ranked, TeamMonth, Weights,
};
use crate::domain::week::{local_to_utc, utc_ms_to_local};

/// A month of one township as instants and week ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthWindow {
    pub month: Month,
    pub from_ms: i64,
    /// The month's end, or now if earlier (the current month so far).
    pub until_ms: i64,
    pub end_ms: i64,
    pub year_from_ms: i64,
    /// ISO weeks overlapping the month: rows of the month are filed under them.
    pub week_first: String,
    pub week_last: String,
    /// The weeks whose ratings belong to the month (Thursday in it).
    pub rating_first: String,
    pub rating_last: String,
    /// The first ISO week that can hold rows of the month's year.
    pub year_first_week: String,
}

impl MonthWindow {
    pub fn new(month: Month, tz: Tz, now_ms: i64) -> MonthWindow {
        let ms = |t| local_to_utc(tz, t).timestamp_millis();
        let end_ms = ms(month.end());
        let (wf, wl) = month.overlapping_weeks();
        let (rf, rl) = month.rating_weeks();
        MonthWindow {
            month,
            from_ms: ms(month.start()),
            until_ms: end_ms.min(now_ms),
            end_ms,
            year_from_ms: ms(month.year_start()),
            week_first: wf.to_string(),
            week_last: wl.to_string(),
            rating_first: rf.to_string(),
            rating_last: rl.to_string(),
            year_first_week: month.year_first_week().to_string(),
        }
    }

    /// The month is over: its counts no longer change with time.
    pub fn closed(&self) -> bool {
        self.until_ms >= self.end_ms
    }
}

/// The teams of one township as `tm`, with their households and households
/// reached counted per village and team (correlated counts, so that
/// PostgreSQL looks them up by index instead of scanning the registry or the
/// visits), then one CTE per component; the final SELECT is completed by the
/// caller (`{extra}` columns first). Every count is read from an index alone
/// (migration 0019). The two correlated counts sit in `tm` rather than in the
/// final SELECT: there PostgreSQL costed them once per row of its (much too
/// high) estimate of the joined rows, and a cost that high made it compile
/// the query with JIT first, some seconds of CPU for a 100 ms query.
/// Parameters:
/// $1 township, $2 from, $3 until, $4 year from, $5/$6 overlapping weeks,
/// $7/$8 rating weeks, $9 year, $10 first week of the year.
const TEAM_MONTH_SQL: &str = "WITH tm AS ( \
   SELECT t.id AS team_id, t.village_id, \
     (SELECT COUNT(*) FROM households h WHERE h.village_id = t.village_id) AS households, \
     (SELECT COUNT(DISTINCT x.household_id) FROM visits x WHERE x.team_id = t.id \
       AND x.week >= $10 AND x.at >= $4 AND x.at < $3 AND x.household_id IS NOT NULL) AS reached \
   FROM teams t JOIN villages v ON v.id = t.village_id WHERE v.township_id = $1{teams}), \
 due AS ( \
   SELECT k.team_id, COUNT(*) AS due, \
          SUM(CASE WHEN k.state = 'closed' AND k.closed_at <= k.deadline_at AND k.carried_over = 0 THEN 1 ELSE 0 END) AS on_time \
   FROM tasks k JOIN tm ON tm.team_id = k.team_id \
   WHERE k.deadline_at >= $2 AND k.deadline_at < $3 AND k.state <> 'cancelled' GROUP BY k.team_id), \
 req AS ( \
   SELECT k.team_id, COUNT(*) AS requests, \
          SUM(CASE WHEN k.state = 'closed' AND k.closed_at < $3 THEN 1 ELSE 0 END) AS requests_closed \
   FROM tasks k JOIN tm ON tm.team_id = k.team_id \
   WHERE k.week >= $5 AND k.week <= $6 AND k.source = 'request' AND k.state <> 'cancelled' \
     AND k.created_at >= $2 AND k.created_at < $3 GROUP BY k.team_id), \
 rw AS ( \
   SELECT r.team_id, r.week, SUM(r.score) AS s, COUNT(*) AS n \
   FROM ratings r JOIN tm ON tm.team_id = r.team_id \
   WHERE r.week >= $7 AND r.week <= $8 AND r.at < $3 GROUP BY r.team_id, r.week HAVING COUNT(*) >= 3), \
 rate AS (SELECT team_id, SUM(s) AS rating_sum, SUM(n) AS rating_n, COUNT(*) AS rated_weeks \
   FROM rw GROUP BY team_id), \
 pr AS ( \
   SELECT p.team_id, COUNT(*) AS projects, \
     SUM(CASE WHEN p.state = 'done' AND p.done_at < $3 THEN 1 ELSE 0 END) AS projects_done, \
     SUM(CASE WHEN p.state = 'done' AND p.done_at >= $2 AND p.done_at < $3 THEN 1 ELSE 0 END) \
       AS projects_done_in_month, \
     SUM(CASE WHEN NOT (p.state = 'done' AND p.done_at < $3) AND EXISTS ( \
         SELECT 1 FROM project_updates u WHERE u.project_id = p.id AND u.at >= $2 AND u.at < $3) \
       THEN 1 ELSE 0 END) AS projects_updated \
   FROM projects p JOIN tm ON tm.team_id = p.team_id \
   WHERE p.year = $9 AND p.created_at < $3 GROUP BY p.team_id) \
 SELECT {extra} tm.team_id AS team_id, \
   CAST(COALESCE(due.due, 0) AS BIGINT) AS due, \
   CAST(COALESCE(due.on_time, 0) AS BIGINT) AS on_time, \
   CAST(COALESCE(req.requests, 0) AS BIGINT) AS requests, \
   CAST(COALESCE(req.requests_closed, 0) AS BIGINT) AS requests_closed, \
   CAST(tm.households AS BIGINT) AS households, \
   CAST(tm.reached AS BIGINT) AS reached, \
   CAST(COALESCE(rate.rating_sum, 0) AS BIGINT) AS rating_sum, \
   CAST(COALESCE(rate.rating_n, 0) AS BIGINT) AS rating_n, \
   CAST(COALESCE(rate.rated_weeks, 0) AS BIGINT) AS rated_weeks, \
   CAST(COALESCE(pr.projects, 0) AS BIGINT) AS projects, \
   CAST(COALESCE(pr.projects_done, 0) AS BIGINT) AS projects_done, \
   CAST(COALESCE(pr.projects_done_in_month, 0) AS BIGINT) AS projects_done_in_month, \
   CAST(COALESCE(pr.projects_updated, 0) AS BIGINT) AS projects_updated \
 FROM tm LEFT JOIN due ON due.team_id = tm.team_id LEFT JOIN req ON req.team_id = tm.team_id \
   LEFT JOIN rate ON rate.team_id = tm.team_id LEFT JOIN pr ON pr.team_id = tm.team_id";

const TEAM_COLS: &str = "team_id, due, on_time, requests, requests_closed, households, reached, \
   rating_sum, rating_n, rated_weeks, projects, projects_done, projects_done_in_month, projects_updated";

/// The members of one township's teams with their month. Parameters: $1
/// township, $2 from, $3 until, $4/$5 overlapping weeks.
const PERSON_MONTH_SQL: &str = "WITH tm AS ( \
   SELECT t.id AS team_id FROM teams t JOIN villages v ON v.id = t.village_id WHERE v.township_id = $1{teams}), \
 sv AS ( \
   SELECT s.person_id, s.team_id, COUNT(*) AS n FROM services s JOIN tm ON tm.team_id = s.team_id \
   WHERE s.week >= $4 AND s.week <= $5 AND s.at >= $2 AND s.at < $3 GROUP BY s.person_id, s.team_id), \
 vi AS ( \
   SELECT x.person_id, x.team_id, COUNT(*) AS n FROM visits x JOIN tm ON tm.team_id = x.team_id \
   WHERE x.week >= $4 AND x.week <= $5 AND x.at >= $2 AND x.at < $3 GROUP BY x.person_id, x.team_id), \
 ot AS ( \
   SELECT o.person_id, k.team_id, COUNT(*) AS n FROM tasks k JOIN tm ON tm.team_id = k.team_id \
   JOIN task_owners o ON o.task_id = k.id \
   WHERE k.deadline_at >= $2 AND k.state = 'closed' AND k.closed_at >= $2 AND k.closed_at < $3 \
     AND k.closed_at <= k.deadline_at AND k.carried_over = 0 GROUP BY o.person_id, k.team_id) \
 SELECT {extra} r.person_id AS person_id, r.team_id AS team_id, \
   CAST(COALESCE(sv.n, 0) AS BIGINT) AS services, \
   CAST(COALESCE(vi.n, 0) AS BIGINT) AS visits, \
   CAST(COALESCE(ot.n, 0) AS BIGINT) AS on_time \
 FROM team_roles r JOIN tm ON tm.team_id = r.team_id \
   LEFT JOIN sv ON sv.person_id = r.person_id AND sv.team_id = r.team_id \
   LEFT JOIN vi ON vi.person_id = r.person_id AND vi.team_id = r.team_id \
   LEFT JOIN ot ON ot.person_id = r.person_id AND ot.team_id = r.team_id";

/// The whole township's teams.
const ALL_TEAMS: &str = "";
/// Only the teams of a JSON array bound after the window's parameters
/// (`$11` in the team query, `$6` in the person query; PostgreSQL).
const TEAM_FILTER: &str =
    " AND t.id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(${n} AS JSON)))";

fn team_sql(extra: &str, teams: &str) -> String {
    TEAM_MONTH_SQL
        .replace("{extra}", extra)
        .replace("{teams}", &teams.replace("{n}", "11"))
}

fn person_sql(extra: &str, teams: &str) -> String {
    PERSON_MONTH_SQL
        .replace("{extra}", extra)
        .replace("{teams}", &teams.replace("{n}", "6"))
}

macro_rules! bind_team_window {
    ($q:expr, $township:expr, $w:expr) => {
        $q.bind($township)
            .bind($w.from_ms)
            .bind($w.until_ms)
            .bind($w.year_from_ms)
            .bind(&$w.week_first)
            .bind(&$w.week_last)
            .bind(&$w.rating_first)
            .bind(&$w.rating_last)
            .bind(i64::from($w.month.year))
            .bind(&$w.year_first_week)
    };
}

macro_rules! bind_person_window {
    ($q:expr, $township:expr, $w:expr) => {
        $q.bind($township)
            .bind($w.from_ms)
            .bind($w.until_ms)
            .bind(&$w.week_first)
            .bind(&$w.week_last)
    };
}

/// Every team of the township with its month, counted from the raw rows.
pub async fn live_team_months(
    tx: &mut Tx,
    township_id: i64,
    w: &MonthWindow,
) -> StoreResult<Vec<TeamMonth>> {
    let sql = team_sql("", ALL_TEAMS);
    let r = bind_team_window!(sql::query_as(sql::Owned(sql)), township_id, w)
        .fetch_all(tx)
        .await?;
    Ok(r)
}

/// Every member of the township's teams with their month, from the raw rows.
pub async fn live_person_months(
    tx: &mut Tx,
    township_id: i64,
    w: &MonthWindow,
) -> StoreResult<Vec<PersonMonth>> {
    let sql = person_sql("", ALL_TEAMS);
    let r = bind_person_window!(sql::query_as(sql::Owned(sql)), township_id, w)
        .fetch_all(tx)
        .await?;
    Ok(r)
}

/// (Re)builds the township's roll-ups of a month, set-based: one DELETE and
/// one INSERT … SELECT per table. Returns the team rows written.
pub async fn build_rollup(
    tx: &mut Tx,
    township_id: i64,
    w: &MonthWindow,
    now_ms: i64,
) -> StoreResult<u64> {
    let month = w.month.to_string();
    sql::query("DELETE FROM team_month_stats WHERE township_id = $1 AND month = $2")
        .bind(township_id)
        .bind(&month)
        .execute(tx)
        .await?
        .rows_affected();
    sql::query("DELETE FROM person_month_stats WHERE township_id = $1 AND month = $2")
        .bind(township_id)
        .bind(&month)
        .execute(tx)
        .await?
        .rows_affected();
    let team_insert = format!(
        "INSERT INTO team_month_stats (township_id, month, built_at, {TEAM_COLS}) {}",
        team_sql("$1, $11, $12,", ALL_TEAMS)
    );
    let n = bind_team_window!(sql::query(sql::Owned(team_insert.clone())), township_id, w)
        .bind(&month)
        .bind(now_ms)
        .execute(tx)
        .await?
        .rows_affected();
    let person_insert = format!(
        "INSERT INTO person_month_stats (township_id, month, person_id, team_id, services, visits, on_time) {}",
        person_sql("$1, $6,", ALL_TEAMS)
    );
    bind_person_window!(
        sql::query(sql::Owned(person_insert.clone())),
        township_id,
        w
    )
    .bind(&month)
    .execute(tx)
    .await?
    .rows_affected();
    Ok(n)
}

/// The roll-up of a month, `None` when it was never built.
pub async fn rollup_team_months(
    tx: &mut Tx,
    township_id: i64,
    month: Month,
) -> StoreResult<Option<Vec<TeamMonth>>> {
    let sql = format!(
        "SELECT {TEAM_COLS} FROM team_month_stats WHERE township_id = $1 AND month = $2 ORDER BY team_id"
    );
    let rows: Vec<TeamMonth> = sql::query_as(sql::Owned(sql))
        .bind(township_id)
        .bind(month.to_string())
        .fetch_all(tx)
        .await?;
    Ok((!rows.is_empty()).then_some(rows))
}

pub async fn rollup_person_months(
    tx: &mut Tx,
    township_id: i64,
    month: Month,
) -> StoreResult<Vec<PersonMonth>> {
    let r = sql::query_as(
        "SELECT person_id, team_id, services, visits, on_time FROM person_month_stats \
         WHERE township_id = $1 AND month = $2 ORDER BY person_id, team_id",
    )
    .bind(township_id)
    .bind(month.to_string())
    .fetch_all(tx)
    .await?;
    Ok(r)
}

/// Whether the roll-up of a month exists for the township.
pub async fn rollup_built(tx: &mut Tx, township_id: i64, month: Month) -> StoreResult<bool> {
    let r: Option<(i64,)> = sql::query_as(
        "SELECT team_id FROM team_month_stats WHERE township_id = $1 AND month = $2 LIMIT 1",
    )
    .bind(township_id)
    .bind(month.to_string())
    .fetch_optional(tx)
    .await?;
    Ok(r.is_some())
}

/// The month's teams: the roll-up of a closed month when built, else live.
pub async fn team_months(
    tx: &mut Tx,
    township_id: i64,
    w: &MonthWindow,
) -> StoreResult<Vec<TeamMonth>> {
    if w.closed()
        && let Some(rows) = rollup_team_months(tx, township_id, w.month).await?
    {
        return Ok(rows);
    }
    live_team_months(tx, township_id, w).await
}

/// The month's members: the roll-up of a closed month when built, else live.
pub async fn person_months(
    tx: &mut Tx,
    township_id: i64,
    w: &MonthWindow,
) -> StoreResult<Vec<PersonMonth>> {
    if w.closed() && rollup_built(tx, township_id, w.month).await? {
        return rollup_person_months(tx, township_id, w.month).await;
    }
    live_person_months(tx, township_id, w).await
}

crate::row_struct! {
    /// A row of `team_month_live` (migration 0022): a team's counts of
    /// `month` as of `built_at`.
    #[derive(Debug, Clone)]
    struct LiveRow {
        team_id: i64,
        month: String,
        built_at: i64,
        stale_at: Option<i64>,
        dirty: i64,
        due: i64,
        on_time: i64,
        requests: i64,
        requests_closed: i64,
        households: i64,
        reached: i64,
        rating_sum: i64,
        rating_n: i64,
        rated_weeks: i64,
        projects: i64,
        projects_done: i64,
        projects_done_in_month: i64,
        projects_updated: i64,
        member_points: i64,
    }
}

impl LiveRow {
    /// Whether the row holds the township's month as of `until`: nothing
    /// written for the team since it was counted, and nothing fallen due
    /// (or stamped) between then and `until` (`stale_at`).
    fn current(&self, w: &MonthWindow, month: &str) -> bool {
        self.dirty == 0
            && self.month == month
            && self.built_at <= w.until_ms
            && self.stale_at.is_none_or(|s| s >= w.until_ms)
    }

    fn counts(&self) -> TeamMonth {
        TeamMonth {
            team_id: self.team_id,
            due: self.due,
            on_time: self.on_time,
            requests: self.requests,
            requests_closed: self.requests_closed,
            households: self.households,
            reached: self.reached,
            rating_sum: self.rating_sum,
            rating_n: self.rating_n,
            rated_weeks: self.rated_weeks,
            projects: self.projects,
            projects_done: self.projects_done,
            projects_done_in_month: self.projects_done_in_month,
            projects_updated: self.projects_updated,
        }
    }
}

/// The month so far of a township's teams, and those whose members have
/// points (services, visits, on-time closures).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CurrentMonth {
    pub teams: Vec<TeamMonth>,
    pub busy: Vec<i64>,
}

/// The open month of the township's `teams` on PostgreSQL, read from
/// `team_month_live` (migration 0022) where a team's row is current, else
/// counted from the raw rows as [`live_team_months`] does; the rows counted
/// again are written back when they could be claimed. Only in a READ
/// COMMITTED transaction that commits ([`Db::read_fresh`](super::Db::read_fresh)):
///
/// 1. the stale rows are claimed, `FOR UPDATE SKIP LOCKED`: a row a write
///    holds (its trigger's KEY SHARE lock, to its commit) is passed over,
///    counted but not written back;
/// 2. the claimed teams are counted: each statement sees every write that
///    committed before the claim, and a write after it waits for this
///    transaction before marking the row dirty again;
/// 3. their rows are written, clean, with the next instant their counts
///    change with no write (`stale_at`: a deadline, see [`NEXT_CHANGE_SQL`]).
///
/// Teams are returned in the order given.
pub async fn current_team_months(
    tx: &mut Tx,
    township_id: i64,
    teams: &[i64],
    w: &MonthWindow,
) -> StoreResult<CurrentMonth> {
    let month = w.month.to_string();
    // By the township the rows were counted for: a team moved here since is
    // missing from them, and counted again below.
    let rows: Vec<LiveRow> = sql::query_as(
        "SELECT team_id, month, built_at, stale_at, dirty, due, on_time, requests, \
           requests_closed, households, reached, rating_sum, rating_n, rated_weeks, projects, \
           projects_done, projects_done_in_month, projects_updated, member_points \
         FROM team_month_live WHERE township_id = $1",
    )
    .bind(township_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut kept: HashMap<i64, (TeamMonth, i64)> = rows
        .iter()
        .filter(|r| r.current(w, &month))
        .map(|r| (r.team_id, (r.counts(), r.member_points)))
        .collect();
    let stale: Vec<i64> = teams
        .iter()
        .copied()
        .filter(|id| !kept.contains_key(id))
        .collect();
    if !stale.is_empty() {
        for (team, points) in recount(tx, township_id, &stale, w).await? {
            kept.insert(team.team_id, (team, points));
        }
    }
    let mut out = CurrentMonth::default();
    for id in teams {
        // A team created since the labels were read is ranked next time.
        if let Some((team, points)) = kept.remove(id) {
            if points > 0 {
                out.busy.push(team.team_id);
            }
            out.teams.push(team);
        }
    }
    Ok(out)
}

/// When each team's counts next change with no write: the first instant at
/// or after `$2` (the moment counted) that a count compares with it. Mostly
/// a task's deadline; any other is a row stamped later than the moment
/// counted (a replica whose clock runs ahead), counted once the moment passes
/// it. NULL: none. Each lookup reads an index of migration 0019.
/// Parameters: $1 the teams (JSON), $2 until, $3 from, $4 first rating week,
/// $5 first week of the year, $6 first week of the month, $7 year.
const NEXT_CHANGE_SQL: &str = "SELECT t.id, LEAST( \
   (SELECT MIN(k.deadline_at) FROM tasks k WHERE k.team_id = t.id AND k.deadline_at >= $2 AND k.state <> 'cancelled'), \
   (SELECT MIN(k.closed_at) FROM tasks k WHERE k.team_id = t.id AND k.deadline_at >= $3 AND k.closed_at >= $2), \
   (SELECT LEAST(MIN(CASE WHEN k.created_at >= $2 THEN k.created_at END), MIN(CASE WHEN k.closed_at >= $2 THEN k.closed_at END)) \
      FROM tasks k WHERE k.team_id = t.id AND k.source = 'request' AND k.created_at >= $3), \
   (SELECT MIN(r.at) FROM ratings r WHERE r.team_id = t.id AND r.week >= $4 AND r.at >= $2), \
   (SELECT MIN(x.at) FROM visits x WHERE x.team_id = t.id AND x.week >= $5 AND x.at >= $2), \
   (SELECT MIN(s.at) FROM services s WHERE s.team_id = t.id AND s.week >= $6 AND s.at >= $2), \
   (SELECT LEAST(MIN(CASE WHEN p.created_at >= $2 THEN p.created_at END), MIN(CASE WHEN p.done_at >= $2 THEN p.done_at END)) \
      FROM projects p WHERE p.team_id = t.id AND p.year = $7), \
   (SELECT MIN(u.at) FROM project_updates u JOIN projects p ON p.id = u.project_id \
      WHERE p.team_id = t.id AND p.year = $7 AND u.at >= $2)) \
 FROM teams t WHERE t.id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON)))";

/// Steps 1–3 of [`current_team_months`] for the `stale` teams: their
/// months with their members' points.
async fn recount(
    tx: &mut Tx,
    township_id: i64,
    stale: &[i64],
    w: &MonthWindow,
) -> StoreResult<Vec<(TeamMonth, i64)>> {
    let ids = serde_json::to_string(stale).map_err(|e| super::StoreError::Other(e.into()))?;
    let claimed: Vec<(i64,)> = sql::query_as(
        "SELECT team_id FROM team_month_live \
         WHERE team_id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS JSON))) \
         ORDER BY team_id FOR UPDATE SKIP LOCKED",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    let sql = team_sql("", TEAM_FILTER);
    let months: Vec<TeamMonth> = bind_team_window!(sql::query_as(sql::Owned(sql)), township_id, w)
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
    let sql = format!(
        "SELECT team_id, CAST(SUM(services + visits + on_time) AS BIGINT) FROM ({}) p GROUP BY team_id",
        person_sql("", TEAM_FILTER)
    );
    let points: HashMap<i64, i64> =
        bind_person_window!(sql::query_as(sql::Owned(sql)), township_id, w)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    if !claimed.is_empty() {
        let next_change: HashMap<i64, Option<i64>> = sql::query_as(NEXT_CHANGE_SQL)
            .bind(&ids)
            .bind(w.until_ms)
            .bind(w.from_ms)
            .bind(&w.rating_first)
            .bind(&w.year_first_week)
            .bind(&w.week_first)
            .bind(i64::from(w.month.year))
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
        let claimed: std::collections::HashSet<i64> = claimed.into_iter().map(|c| c.0).collect();
        let rows: Vec<serde_json::Value> = months
            .iter()
            .filter(|m| claimed.contains(&m.team_id))
            .map(|m| {
                serde_json::json!({
                    "team_id": m.team_id, "stale_at": next_change.get(&m.team_id).copied().flatten(),
                    "due": m.due, "on_time": m.on_time, "requests": m.requests,
                    "requests_closed": m.requests_closed, "households": m.households,
                    "reached": m.reached, "rating_sum": m.rating_sum, "rating_n": m.rating_n,
                    "rated_weeks": m.rated_weeks, "projects": m.projects,
                    "projects_done": m.projects_done,
                    "projects_done_in_month": m.projects_done_in_month,
                    "projects_updated": m.projects_updated,
                    "member_points": points.get(&m.team_id).copied().unwrap_or(0),
                })
            })
            .collect();
        let rows = serde_json::to_string(&rows).map_err(|e| super::StoreError::Other(e.into()))?;
        sql::query(
            "UPDATE team_month_live AS c SET month = $2, township_id = $3, built_at = $4, \
               stale_at = x.stale_at, dirty = 0, due = x.due, on_time = x.on_time, \
               requests = x.requests, requests_closed = x.requests_closed, \
               households = x.households, reached = x.reached, rating_sum = x.rating_sum, \
               rating_n = x.rating_n, rated_weeks = x.rated_weeks, projects = x.projects, \
               projects_done = x.projects_done, projects_done_in_month = x.projects_done_in_month, \
               projects_updated = x.projects_updated, member_points = x.member_points \
             FROM json_to_recordset(CAST($1 AS JSON)) AS x (team_id BIGINT, stale_at BIGINT, \
               due BIGINT, on_time BIGINT, requests BIGINT, requests_closed BIGINT, \
               households BIGINT, reached BIGINT, rating_sum BIGINT, rating_n BIGINT, \
               rated_weeks BIGINT, projects BIGINT, projects_done BIGINT, \
               projects_done_in_month BIGINT, projects_updated BIGINT, member_points BIGINT) \
             WHERE c.team_id = x.team_id",
        )
        .bind(rows)
        .bind(w.month.to_string())
        .bind(township_id)
        .bind(w.until_ms)
        .execute(&mut *tx)
        .await?;
    }
    Ok(months
        .into_iter()
        .map(|m| {
            let p = points.get(&m.team_id).copied().unwrap_or(0);
            (m, p)
        })
        .collect())
}

/// A township's ranking for a month.
#[derive(Debug, Clone)]
pub struct TownshipRanking {
    pub township_id: i64,
    pub township: String,
    pub tz: Tz,
    pub window: MonthWindow,
    pub weights: Weights,
    pub ranked: Vec<Ranked>,
    /// Teams with no activity in the month: no place, no score (数据不足),
    /// by name.
    pub idle: Vec<i64>,
    pub labels: HashMap<i64, TeamLabel>,
}

impl TownshipRanking {
    pub fn label(&self, team_id: i64) -> String {
        self.labels
            .get(&team_id)
            .map(TeamLabel::full)
            .unwrap_or_else(|| format!("#{team_id}"))
    }

    pub fn line(&self, r: &Ranked) -> RankLine {
        RankLine {
            place: r.place,
            team: self.label(r.stats.team_id),
            score: r.score(),
        }
    }

    pub fn lines(&self, n: usize) -> Vec<RankLine> {
        self.ranked.iter().take(n).map(|r| self.line(r)).collect()
    }

    pub fn of_team(&self, team_id: i64) -> Option<&Ranked> {
        self.ranked.iter().find(|r| r.stats.team_id == team_id)
    }

    /// The names of the teams without data, as listed after the ranked ones.
    pub fn idle_labels(&self) -> Vec<String> {
        self.idle.iter().map(|id| self.label(*id)).collect()
    }

    /// Whether `team_id` is one of the teams without data.
    pub fn is_idle(&self, team_id: i64) -> bool {
        self.idle.contains(&team_id)
    }

    /// The day of the month the counts run to (for "截至11月18日"): the
    /// month's last day once it is over, else today in the township.
    pub fn as_of_day(&self, now_ms: i64) -> u32 {
        if self.window.closed() {
            self.window.month.last_day()
        } else {
            utc_ms_to_local(self.tz, now_ms).day()
        }
    }
}

/// Ranks the township's teams for `month` (default: this month in the
/// township), from the roll-up of a closed month when built, else from the
/// raw rows up to now; on PostgreSQL the open month through
/// [`current_team_months`], so the transaction should commit
/// ([`Db::read_fresh`](super::Db::read_fresh)). `None`: no such township.
pub async fn township_ranking(
    tx: &mut Tx,
    township_id: i64,
    month: Option<Month>,
    default_tz: Tz,
    now_ms: i64,
) -> StoreResult<Option<TownshipRanking>> {
    let Some((township, tz)) = township_name(tx, township_id).await? else {
        return Ok(None);
    };
    let tz = crate::domain::zone::team_tz(tz.as_deref(), default_tz);
    let month = month.unwrap_or_else(|| Month::of(utc_ms_to_local(tz, now_ms).date()));
    let window = MonthWindow::new(month, tz, now_ms);
    let weights = weights(tx, township_id).await?;
    let labels = team_labels(tx, township_id).await?;
    let (months, busy) = if !window.closed() && tx.backend() == super::Backend::Postgres {
        let ids: Vec<i64> = labels.iter().map(|l| l.team_id).collect();
        let c = current_team_months(tx, township_id, &ids, &window).await?;
        (c.teams, c.busy)
    } else {
        let months = team_months(tx, township_id, &window).await?;
        // Services and visits are counted per member: asked only when some
        // team has nothing else in the month.
        let busy: Vec<i64> = if months.iter().all(TeamMonth::has_activity) {
            Vec::new()
        } else {
            person_months(tx, township_id, &window)
                .await?
                .into_iter()
                .filter(|p| p.points() > 0)
                .map(|p| p.team_id)
                .collect()
        };
        (months, busy)
    };
    let (ranked, mut idle) = rules::rank_active(&months, &busy, month, &weights);
    let labels: HashMap<i64, TeamLabel> = labels.into_iter().map(|l| (l.team_id, l)).collect();
    idle.sort_by_cached_key(|id| (labels.get(id).map(TeamLabel::full), *id));
    Ok(Some(TownshipRanking {
        township_id,
        township,
        tz,
        window,
        weights,
        ranked,
        idle,
        labels,
    }))
}

/// The township's weights (the defaults when it set none).
pub async fn weights(tx: &mut Tx, township_id: i64) -> StoreResult<Weights> {
    let r: Option<(f64, f64, f64, f64, f64)> = sql::query_as(
        "SELECT on_time, requests, coverage, rating, projects FROM ranking_weights WHERE township_id = $1")
        .bind(township_id).fetch_optional(tx).await?;
    Ok(
        r.map(|(on_time, requests, coverage, rating, projects)| Weights {
            on_time,
            requests,
            coverage,
            rating,
            projects,
        })
        .unwrap_or_default(),
    )
}

pub async fn set_weights(
    tx: &mut Tx,
    township_id: i64,
    w: &Weights,
    now_ms: i64,
) -> StoreResult<()> {
    sql::query(
        "INSERT INTO ranking_weights (township_id, on_time, requests, coverage, rating, projects, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (township_id) DO UPDATE SET \
           on_time = excluded.on_time, requests = excluded.requests, coverage = excluded.coverage, \
           rating = excluded.rating, projects = excluded.projects, updated_at = excluded.updated_at")
        .bind(township_id).bind(w.on_time).bind(w.requests).bind(w.coverage).bind(w.rating)
        .bind(w.projects).bind(now_ms).execute(tx).await?.rows_affected();
    Ok(())
}

crate::row_struct! {
    /// How a team is named, with its leader.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    pub struct TeamLabel {
        pub team_id: i64,
        pub village: String,
        pub team: String,
        pub leader: Option<String>,
    }
}

impl TeamLabel {
    pub fn full(&self) -> String {
        format!("{} {}", self.village, self.team)
    }
}

/// The township's teams with village and leader, by team id.
pub async fn team_labels(tx: &mut Tx, township_id: i64) -> StoreResult<Vec<TeamLabel>> {
    let r = sql::query_as(
        "SELECT t.id AS team_id, v.name AS village, t.name AS team, p.display_name AS leader \
         FROM villages v JOIN teams t ON t.village_id = v.id \
         LEFT JOIN team_roles r ON r.team_id = t.id AND r.role = 'leader' \
         LEFT JOIN people p ON p.id = r.person_id \
         WHERE v.township_id = $1 ORDER BY t.id, p.display_name",
    )
    .bind(township_id)
    .fetch_all(tx)
    .await?;
    // The bot keeps one leader per team; should there be two, the first name wins.
    let mut r: Vec<TeamLabel> = r;
    r.dedup_by_key(|l| l.team_id);
    Ok(r)
}

/// Names of people by id (the members of one township's teams).
pub async fn person_names(tx: &mut Tx, township_id: i64) -> StoreResult<Vec<(i64, String)>> {
    let r = sql::query_as(
        "SELECT DISTINCT p.id, p.display_name FROM people p JOIN team_roles r ON r.person_id = p.id \
         JOIN teams t ON t.id = r.team_id JOIN villages v ON v.id = t.village_id \
         WHERE v.township_id = $1 ORDER BY p.id")
        .bind(township_id).fetch_all(tx).await?;
    Ok(r)
}

/// A township's name, `None` when it does not exist.
pub async fn township_name(
    tx: &mut Tx,
    township_id: i64,
) -> StoreResult<Option<(String, Option<String>)>> {
    let r = sql::query_as("SELECT name, timezone FROM townships WHERE id = $1")
        .bind(township_id)
        .fetch_optional(tx)
        .await?;
    Ok(r)
}

crate::row_struct! {
    /// A 创新先锋 nomination.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    pub struct Nomination {
        pub id: i64,
        pub team_id: i64,
        pub name: String,
        pub reason: String,
    }
}

pub async fn add_nomination(
    tx: &mut Tx,
    township_id: i64,
    month: Month,
    team_id: i64,
    name: &str,
    reason: &str,
    now_ms: i64,
) -> StoreResult<i64> {
    let (id,): (i64,) = sql::query_as(
        "INSERT INTO pioneer_nominations (township_id, month, team_id, name, reason, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(township_id)
    .bind(month.to_string())
    .bind(team_id)
    .bind(name)
    .bind(reason)
    .bind(now_ms)
    .fetch_one(tx)
    .await?;
    Ok(id)
}

pub async fn nominations(
    tx: &mut Tx,
    township_id: i64,
    month: Month,
) -> StoreResult<Vec<Nomination>> {
    let r = sql::query_as(
        "SELECT id, team_id, name, reason FROM pioneer_nominations \
         WHERE township_id = $1 AND month = $2 ORDER BY id",
    )
    .bind(township_id)
    .bind(month.to_string())
    .fetch_all(tx)
    .await?;
    Ok(r)
}

crate::row_struct! {
    /// A confirmed pioneer.
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    pub struct Pioneer {
        pub kind: String,
        pub subject_id: i64,
        pub team_id: i64,
        pub name: String,
        pub detail: String,
    }
}

pub async fn pioneers(tx: &mut Tx, township_id: i64, month: Month) -> StoreResult<Vec<Pioneer>> {
    let r = sql::query_as(
        "SELECT kind, subject_id, team_id, name, detail FROM pioneers \
         WHERE township_id = $1 AND month = $2 ORDER BY kind, position",
    )
    .bind(township_id)
    .bind(month.to_string())
    .fetch_all(tx)
    .await?;
    Ok(r)
}

pub async fn add_pioneer(
    tx: &mut Tx,
    township_id: i64,
    month: Month,
    p: &Pioneer,
    position: i64,
    now_ms: i64,
) -> StoreResult<()> {
    sql::query(
        "INSERT INTO pioneers (township_id, month, kind, subject_id, team_id, name, detail, position, confirmed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(township_id).bind(month.to_string()).bind(&p.kind).bind(p.subject_id).bind(p.team_id)
        .bind(&p.name).bind(&p.detail).bind(position).bind(now_ms).execute(tx).await?.rows_affected();
    Ok(())
}

// Household links, for tests that record visits before the registry exists.

/// Links the team's visits whose household was written `household` to a
/// registered household (what the 走访 matching does); returns how many.
pub async fn link_visits_named(
    tx: &mut Tx,
    team_id: i64,
    household: &str,
    household_id: i64,
) -> StoreResult<u64> {
    let n = sql::query("UPDATE visits SET household_id = $3 WHERE team_id = $1 AND household = $2")
        .bind(team_id)
        .bind(household)
        .bind(household_id)
        .execute(tx)
        .await?
        .rows_affected();
    Ok(n)
}
