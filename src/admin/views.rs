//! Read-only views of the weekly records (tasks, services, visits, ratings,
//! requests) with filters and paging, and the exports a township clerk
//! hands up the line (a [`Table`] with Chinese headers, as CSV or xlsx).

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use serde::Deserialize;

use super::Admin;
use super::error::{AdminError, AdminResult};
use super::paging::{Page, Paged, Rows, Window};
use super::scope::{Principal, authorize};
use crate::domain::level::Level;
use crate::domain::week::{IsoWeek, local_to_utc, utc_ms_to_local};
use crate::export::{Cell, Table};
use crate::reply::export as zh;
use crate::store::StoreResult;
use crate::store::Tx;
use crate::store::admin::{self as q, Owned, ViewFilter};

/// Filters of the views. Weeks are ISO weeks like `2026-W49` (inclusive).
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ViewQuery {
    pub township_id: Option<i64>,
    pub village_id: Option<i64>,
    pub team_id: Option<i64>,
    /// First ISO week, e.g. 2026-W45.
    pub week_from: Option<String>,
    /// Last ISO week, e.g. 2026-W49.
    pub week_to: Option<String>,
    /// Tasks: open, closed or cancelled; requests: the state of their task.
    pub state: Option<String>,
    /// 1 to 500; default 100.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// An export's range and format.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (UTF-8 with BOM) or `xlsx`; default csv.
    pub format: Option<String>,
    /// First day, YYYY-MM-DD (township time).
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD, inclusive.
    pub to: Option<String>,
    /// The city may narrow to one township; a township token always gets its own.
    pub township_id: Option<i64>,
}

/// The exports there are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportKind {
    Tasks,
    Services,
    Visits,
    Ratings,
    WeeklySummary,
}

impl ExportKind {
    pub const ALL: [ExportKind; 5] = [
        ExportKind::Tasks,
        ExportKind::Services,
        ExportKind::Visits,
        ExportKind::Ratings,
        ExportKind::WeeklySummary,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Tasks => "tasks",
            ExportKind::Services => "services",
            ExportKind::Visits => "visits",
            ExportKind::Ratings => "ratings",
            ExportKind::WeeklySummary => "weekly_summary",
        }
    }

    /// The export named `name`, or not found listing them.
    pub fn named(name: &str) -> AdminResult<ExportKind> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .ok_or_else(|| {
                AdminError::NotFound(format!(
                    "no export {name:?}; exports are tasks, services, visits, ratings, weekly_summary"
                ))
            })
    }
}

/// An export made: the file and what to call it.
#[derive(Debug)]
pub struct Export {
    pub bytes: Vec<u8>,
    /// The media type.
    pub mime: &'static str,
    /// An ASCII file name, for old clients.
    pub ascii_name: String,
    /// The Chinese file name (the sheet's name, the range).
    pub chinese_name: String,
}

/// Most rows one export holds.
pub const EXPORT_ROWS: i64 = 100_000;

/// An export never drops rows: past the cap it asks for a shorter range.
fn too_many(total: i64) -> AdminResult<()> {
    if total > EXPORT_ROWS {
        return Err(AdminError::invalid(
            "to",
            format!(
                "{total} rows is more than one export holds ({EXPORT_ROWS}); export a shorter range"
            ),
        ));
    }
    Ok(())
}

fn week(field: &str, raw: &Option<String>) -> AdminResult<Option<String>> {
    raw.as_deref()
        .map(|w| {
            IsoWeek::parse(w.trim())
                .map(|w| w.to_string())
                .ok_or_else(|| AdminError::invalid(field, "an ISO week like 2026-W49"))
        })
        .transpose()
}

fn date(field: &str, raw: &Option<String>) -> AdminResult<NaiveDate> {
    let raw = raw
        .as_deref()
        .ok_or_else(|| AdminError::invalid(field, "required, YYYY-MM-DD"))?;
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| AdminError::invalid(field, "a date like 2026-12-01"))
}

/// A view's store query: the rows of one page and the total.
type ViewRows<T> = for<'c> fn(
    &'c mut Tx,
    &'c ViewFilter,
    i64,
    i64,
) -> futures_util::future::BoxFuture<'c, StoreResult<(Vec<T>, i64)>>;

impl Admin {
    /// Checks a view query and the principal's scope on every id it names;
    /// returns the store filter and the window.
    async fn view_filter(
        &self,
        who: Principal,
        v: ViewQuery,
        has_state: bool,
    ) -> AdminResult<(ViewFilter, Window)> {
        let w = Page {
            limit: v.limit,
            offset: v.offset,
        }
        .checked()?;
        let week_from = week("week_from", &v.week_from)?;
        let week_to = week("week_to", &v.week_to)?;
        if let (Some(a), Some(b)) = (&week_from, &week_to)
            && a > b
        {
            return Err(AdminError::invalid("week_to", "comes before week_from"));
        }
        if let Some(s) = &v.state {
            if !has_state {
                return Err(AdminError::invalid(
                    "state",
                    "only tasks and requests have a state",
                ));
            }
            if crate::domain::task::TaskState::parse(s).is_none() {
                return Err(AdminError::invalid(
                    "state",
                    "must be open, closed or cancelled",
                ));
            }
        }
        let township = who.scope_filter(v.township_id)?;
        let (village, team) = (v.village_id, v.team_id);
        self.read(move |tx| {
            Box::pin(async move {
                if let Some(t) = township {
                    authorize(tx, who, Owned::Township, t, "township").await?;
                }
                if let Some(v) = village {
                    authorize(tx, who, Owned::Village, v, "village").await?;
                }
                if let Some(t) = team {
                    authorize(tx, who, Owned::Team, t, "team").await?;
                }
                Ok(())
            })
        })
        .await?;
        let f = ViewFilter {
            township_id: township,
            village_id: village,
            team_id: team,
            week_from,
            week_to,
            state: v.state,
            from_ms: None,
            to_ms: None,
        };
        Ok((f, w))
    }

    /// One view: the filter checked, then a page of `rows`.
    async fn view<T: Send + 'static>(
        &self,
        who: Principal,
        v: ViewQuery,
        has_state: bool,
        rows: ViewRows<T>,
    ) -> AdminResult<Paged<T>> {
        let (f, w) = self.view_filter(who, v, has_state).await?;
        self.list(w, move |tx, w| {
            Box::pin(async move {
                let (items, total) = rows(tx, &f, w.limit, w.offset).await?;
                Ok(Rows::Cut(items, total))
            })
        })
        .await
    }

    /// Tasks of the weekly plans, requests and additions.
    pub async fn tasks(&self, who: Principal, v: ViewQuery) -> AdminResult<Paged<q::TaskView>> {
        self.view(who, v, true, |tx, f, l, o| Box::pin(q::tasks(tx, f, l, o)))
            .await
    }

    /// Services (聚服务) recorded in the groups.
    pub async fn services(
        &self,
        who: Principal,
        v: ViewQuery,
    ) -> AdminResult<Paged<q::ServiceView>> {
        self.view(who, v, false, |tx, f, l, o| {
            Box::pin(q::services(tx, f, l, o))
        })
        .await
    }

    /// Household visits (走访).
    pub async fn visits(&self, who: Principal, v: ViewQuery) -> AdminResult<Paged<q::VisitView>> {
        self.view(who, v, false, |tx, f, l, o| {
            Box::pin(q::visits(tx, f, l, o))
        })
        .await
    }

    /// Villagers' ratings (one per villager per team per week).
    pub async fn ratings(&self, who: Principal, v: ViewQuery) -> AdminResult<Paged<q::RatingView>> {
        self.view(who, v, false, |tx, f, l, o| {
            Box::pin(q::ratings(tx, f, l, o))
        })
        .await
    }

    /// Villagers' requests (诉求) and the state of the task each became.
    pub async fn requests(
        &self,
        who: Principal,
        v: ViewQuery,
    ) -> AdminResult<Paged<q::RequestView>> {
        self.view(who, v, true, |tx, f, l, o| {
            Box::pin(q::requests(tx, f, l, o))
        })
        .await
    }

    /// The time zone of `township` (the service's default for none, or for
    /// a township that names none), after judging the principal's scope.
    async fn township_tz(&self, who: Principal, township: Option<i64>) -> AdminResult<Tz> {
        let Some(t) = township else {
            return Ok(self.default_tz);
        };
        let row = self
            .read(move |tx| {
                Box::pin(async move {
                    authorize(tx, who, Owned::Township, t, "township").await?;
                    Ok(q::township(tx, t).await?)
                })
            })
            .await?;
        Ok(crate::domain::zone::team_tz(
            row.and_then(|r| r.timezone).as_deref(),
            self.default_tz,
        ))
    }

    /// All rows of one export's view over `f`, or invalid past the cap.
    async fn export_rows<T: Send + 'static>(
        &self,
        f: ViewFilter,
        rows: ViewRows<T>,
    ) -> AdminResult<Vec<T>> {
        let (items, total) = self
            .read(move |tx| Box::pin(async move { Ok(rows(tx, &f, EXPORT_ROWS, 0).await?) }))
            .await?;
        too_many(total)?;
        Ok(items)
    }

    /// Exports a date range (township time, both ends included) as CSV or
    /// xlsx with Chinese headers. `tasks` are the tasks due in the range;
    /// `services`, `visits` and `ratings` those recorded in it;
    /// `weekly_summary` has a row per team and ISO week from the week of
    /// `from` to the week of `to`.
    pub async fn export(
        &self,
        who: Principal,
        kind: ExportKind,
        e: ExportQuery,
    ) -> AdminResult<Export> {
        let xlsx = match e.format.as_deref().unwrap_or("csv") {
            "csv" => false,
            "xlsx" => true,
            _ => return Err(AdminError::invalid("format", "csv or xlsx")),
        };
        let (from, to) = (date("from", &e.from)?, date("to", &e.to)?);
        if to < from {
            return Err(AdminError::invalid("to", "comes before from"));
        }
        if (to - from).num_days() > 366 {
            return Err(AdminError::invalid("to", "at most a year after from"));
        }
        let township = who.scope_filter(e.township_id)?;
        let tz = self.township_tz(who, township).await?;
        let start = local_to_utc(tz, from.and_time(NaiveTime::MIN)).timestamp_millis();
        let end = local_to_utc(
            tz,
            (to + chrono::Duration::days(1)).and_time(NaiveTime::MIN),
        )
        .timestamp_millis();
        let f = ViewFilter {
            township_id: township,
            from_ms: Some(start),
            to_ms: Some(end),
            ..Default::default()
        };
        let table = match kind {
            ExportKind::Tasks => {
                let rows = self
                    .export_rows(f, |tx, f, l, o| Box::pin(q::tasks(tx, f, l, o)))
                    .await?;
                tasks_table(rows, tz)
            }
            ExportKind::Services => {
                let rows = self
                    .export_rows(f, |tx, f, l, o| Box::pin(q::services(tx, f, l, o)))
                    .await?;
                services_table(rows, tz)
            }
            ExportKind::Visits => {
                let rows = self
                    .export_rows(f, |tx, f, l, o| Box::pin(q::visits(tx, f, l, o)))
                    .await?;
                visits_table(rows, tz)
            }
            ExportKind::Ratings => {
                let rows = self
                    .export_rows(f, |tx, f, l, o| Box::pin(q::ratings(tx, f, l, o)))
                    .await?;
                ratings_table(rows, tz)
            }
            ExportKind::WeeklySummary => {
                let mut weeks = Vec::new();
                let (mut w, last) = (IsoWeek::of(from), IsoWeek::of(to));
                while w.monday() <= last.monday() {
                    weeks.push(w.to_string());
                    w = w.next();
                }
                let rows = self
                    .read(move |tx| {
                        Box::pin(async move { Ok(q::weekly_summary(tx, township, &weeks).await?) })
                    })
                    .await?;
                weekly_table(rows)
            }
        };
        let (bytes, mime, ext) = if xlsx {
            (
                table.to_xlsx().map_err(AdminError::internal)?,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
            )
        } else {
            (table.to_csv(), "text/csv; charset=utf-8", "csv")
        };
        Ok(Export {
            bytes,
            mime,
            ascii_name: format!("liancun-{}-{from}-{to}.{ext}", kind.as_str()),
            chinese_name: format!("{}_{from}_{to}.{ext}", table.sheet),
        })
    }
}

/// A moment as the township reads it: `2026-12-01 09:30`.
fn local(tz: Tz, ms: i64) -> String {
    utc_ms_to_local(tz, ms).format("%Y-%m-%d %H:%M").to_string()
}

fn tasks_table(rows: Vec<q::TaskView>, tz: Tz) -> Table {
    let mut t = Table::new(zh::TASKS);
    for r in rows {
        let level = Level::from_str_db(&r.level)
            .map(Level::label)
            .unwrap_or(&r.level)
            .to_string();
        t.rows.push(vec![
            r.township.into(),
            r.village.into(),
            r.team.into(),
            r.week.into(),
            Cell::Int(r.no),
            r.text.into(),
            level.into(),
            r.owners.join("、").into(),
            local(tz, r.deadline_at).into(),
            zh::task_state(&r.state).to_string().into(),
            zh::task_source(&r.source).to_string().into(),
            r.closed_at.map(|ms| local(tz, ms)).into(),
            r.result.into(),
            r.cancel_reason.into(),
        ]);
    }
    t
}

fn services_table(rows: Vec<q::ServiceView>, tz: Tz) -> Table {
    let mut t = Table::new(zh::SERVICES);
    for r in rows {
        t.rows.push(vec![
            r.township.into(),
            r.village.into(),
            r.team.into(),
            r.week.into(),
            local(tz, r.at).into(),
            r.person.into(),
            r.task_no.map(|n| format!("#{n}")).into(),
            r.text.into(),
        ]);
    }
    t
}

fn visits_table(rows: Vec<q::VisitView>, tz: Tz) -> Table {
    let mut t = Table::new(zh::VISITS);
    for r in rows {
        t.rows.push(vec![
            r.township.into(),
            r.village.into(),
            r.team.into(),
            r.week.into(),
            local(tz, r.at).into(),
            r.person.into(),
            r.household.into(),
            zh::yes_no(r.household_id.is_some()).into(),
            r.text.into(),
        ]);
    }
    t
}

fn ratings_table(rows: Vec<q::RatingView>, tz: Tz) -> Table {
    let mut t = Table::new(zh::RATINGS);
    for r in rows {
        t.rows.push(vec![
            r.township.into(),
            r.village.into(),
            r.team.into(),
            r.week.into(),
            local(tz, r.at).into(),
            r.person.into(),
            Cell::Int(r.score),
            r.comment.into(),
        ]);
    }
    t
}

fn weekly_table(rows: Vec<q::WeekSummary>) -> Table {
    let mut t = Table::new(zh::WEEKLY_SUMMARY);
    for r in rows {
        let rate = if r.total > 0 {
            Cell::Text(format!("{:.0}%", r.closed as f64 * 100.0 / r.total as f64))
        } else {
            Cell::Empty
        };
        let avg = if r.raters > 0 {
            Cell::Float(r.rating_sum as f64 / r.raters as f64)
        } else {
            Cell::Empty
        };
        t.rows.push(vec![
            r.township.into(),
            r.village.into(),
            r.team.into(),
            r.week.into(),
            Cell::Int(r.total),
            Cell::Int(r.closed),
            Cell::Int(r.on_time),
            rate,
            Cell::Int(r.services),
            Cell::Int(r.visits),
            Cell::Int(r.requests),
            Cell::Int(r.raters),
            avg,
        ]);
    }
    t
}
