//! Operations: run a job now, a group's push robot, township admins and
//! schedules, the holiday calendar, dead letters and the audit log.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::{AdminError, AdminResult};
use super::paging::{Page, Paged, Rows};
use super::scope::{Principal, authorize};
use super::{Admin, name};
use crate::domain::calendar::{HolidayRange, YearData};
use crate::jobs::schedule::Schedule;
use crate::jobs::{self, Job, Scope};
use crate::platform::Platform;
use crate::store::admin::{self as q, Owned};
use crate::store::{audit, groups, jobs as stored, outbox};

/// Which teams a job runs for: a township, a group, or (no body) all — for a
/// township token, all of its township.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunJob {
    pub township: Option<i64>,
    pub group: Option<i64>,
}

/// What running a job now did.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    pub job: Job,
    pub scope: String,
    pub teams: usize,
    pub enqueued: usize,
}

/// A group's push robot. DingTalk groups take a custom robot's
/// `access_token` (and its 加签 `secret`); WeCom groups take the `key` of a
/// group robot's webhook URL. Secrets are write-only.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushRobot {
    /// DingTalk: the access_token of the custom robot's webhook URL.
    pub access_token: Option<String>,
    /// DingTalk: the 加签 secret (SEC…), if the robot uses signing.
    pub secret: Option<String>,
    /// WeCom: the key of the group robot's webhook URL (`…/webhook/send?key=KEY`).
    pub key: Option<String>,
}

/// A township admin, by platform identity (created if new).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TownshipAdmin {
    /// `dingtalk` or `wecom`.
    #[schema(value_type = String)]
    pub platform: Platform,
    pub user_id: String,
    #[serde(default)]
    pub name: String,
}

/// A cron expression in township time ('' disables the job there).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cron {
    pub cron: String,
}

/// A township's schedule of one job, as stored.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSet {
    pub township: i64,
    pub cron: String,
    pub enabled: bool,
}

/// One year of the holiday calendar in force.
#[derive(Serialize, Debug, Clone)]
pub struct CalendarYear {
    pub year: i32,
    pub notice: String,
    pub holidays: Vec<HolidayRange>,
    pub workdays: Vec<NaiveDate>,
}

/// The holiday calendar in force, and the years it lacks.
#[derive(Serialize, Debug, Clone)]
pub struct CalendarView {
    pub years: Vec<CalendarYear>,
    pub missing_years: Vec<i32>,
    pub warnings: Vec<String>,
}

/// One change in the audit log.
#[derive(Serialize, Debug, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    /// `admin` (the city), `token:<id>` (a township token), or who did it in a chat.
    pub actor: String,
    /// What was done, e.g. `township.update`, `group.bind`.
    pub action: String,
    /// What it was done to, e.g. `township:1`.
    pub target: String,
    /// The state before (secrets never), if there was one.
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    /// The state after, if there is one.
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
}

/// The job named `name`, or not found listing the jobs.
pub fn job_named(name: &str) -> AdminResult<Job> {
    Job::parse(name).ok_or_else(|| {
        let jobs = Job::ALL.map(Job::as_str).join(", ");
        AdminError::NotFound(format!("no job {name:?}; jobs are {jobs}"))
    })
}

/// What a push robot body means for a group of `platform`: (token, secret),
/// or invalid naming the field.
fn push_robot_for(platform: Platform, r: PushRobot) -> AdminResult<(String, Option<String>)> {
    match platform {
        Platform::Wecom => {
            if r.access_token.is_some() || r.secret.is_some() {
                let field = if r.access_token.is_some() {
                    "access_token"
                } else {
                    "secret"
                };
                return Err(AdminError::invalid(
                    field,
                    "a WeCom group's push robot is set with {\"key\": …}, the key of its webhook URL",
                ));
            }
            let key = r.key.as_deref().map(str::trim).unwrap_or_default();
            if key.is_empty() {
                return Err(AdminError::invalid(
                    "key",
                    "required: the key=… of the group robot's webhook URL",
                ));
            }
            if key.contains("key=") || key.contains('/') {
                return Err(AdminError::invalid(
                    "key",
                    "give only the value after key= in the webhook URL, not the URL",
                ));
            }
            if key.len() > 200
                || !key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(AdminError::invalid(
                    "key",
                    "1 to 200 letters, digits, - or _ (as in the webhook URL)",
                ));
            }
            Ok((key.to_string(), None))
        }
        Platform::Dingtalk => {
            if r.key.is_some() {
                return Err(AdminError::invalid(
                    "key",
                    "a DingTalk group's push robot is set with {\"access_token\": …, \"secret\": …}",
                ));
            }
            let token = r.access_token.as_deref().map(str::trim).unwrap_or_default();
            if token.is_empty() || token.len() > 200 {
                return Err(AdminError::invalid(
                    "access_token",
                    "must be 1 to 200 characters",
                ));
            }
            if r.secret
                .as_deref()
                .is_some_and(|s| !s.starts_with("SEC") || s.len() > 200)
            {
                return Err(AdminError::invalid(
                    "secret",
                    "a 加签 secret starts with SEC",
                ));
            }
            Ok((token.to_string(), r.secret))
        }
    }
}

/// `Ok` when the change found its target, else not found in these words.
fn found_or(found: bool, missing: &str) -> AdminResult<()> {
    if found {
        Ok(())
    } else {
        Err(AdminError::NotFound(missing.to_string()))
    }
}

impl Admin {
    /// Runs a scheduled job now over the teams `req` names (its pushes go at
    /// once, quiet hours or not).
    pub async fn run_job(&self, who: Principal, job: Job, req: RunJob) -> AdminResult<JobRun> {
        let scope = match (req.township, req.group, who.township()) {
            (Some(_), Some(_), _) => {
                return Err(AdminError::invalid(
                    "township",
                    "give township or group, not both",
                ));
            }
            (Some(t), None, _) => Scope::Township(t),
            (None, Some(g), _) => Scope::Group(g),
            (None, None, Some(own)) => Scope::Township(own),
            (None, None, None) => Scope::All,
        };
        self.read(move |tx| {
            Box::pin(async move {
                match scope {
                    Scope::Township(t) => {
                        authorize(tx, who, Owned::Township, t, "township").await?;
                    }
                    Scope::Group(g) => {
                        authorize(tx, who, Owned::Group, g, "group").await?;
                    }
                    Scope::All => {}
                }
                Ok(())
            })
        })
        .await?;
        let now = self.clock.now();
        let report = jobs::run(&self.jobs, job, scope, now, true, now)
            .await
            .map_err(AdminError::internal)?;
        Ok(JobRun {
            job,
            scope: scope.key(),
            teams: report.teams,
            enqueued: report.enqueued,
        })
    }

    /// A group (its push robot secrets are never shown).
    pub async fn group(&self, who: Principal, id: i64) -> AdminResult<q::Group> {
        self.read(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Group, id, "group").await?;
                q::group(tx, id)
                    .await?
                    .ok_or_else(|| AdminError::not_found("group"))
            })
        })
        .await
    }

    /// Sets a group's custom push robot (write-only secrets).
    pub async fn set_push_robot(&self, who: Principal, id: i64, r: PushRobot) -> AdminResult<()> {
        // A group's platform never changes, so reading it first is safe.
        let group = self.group(who, id).await?;
        let platform = group
            .platform
            .parse::<Platform>()
            .map_err(AdminError::internal)?;
        let (token, secret) = push_robot_for(platform, r)?;
        let stamp = self.stamp(who);
        let found = self
            .write(move |tx| {
                Box::pin(async move {
                    authorize(tx, who, Owned::Group, id, "group").await?;
                    let had = q::group(tx, id).await?.is_some_and(|g| g.has_push_robot);
                    let found =
                        groups::set_push_webhook(tx, id, Some(&token), secret.as_deref()).await?;
                    // Secrets are write-only: the log says that one was set, never what.
                    let after = json!({ "has_push_robot": true, "signed": secret.is_some() });
                    stamp
                        .record(
                            tx,
                            "push_robot.set",
                            &format!("group:{id}"),
                            Some(&json!({ "has_push_robot": had })),
                            Some(&after),
                        )
                        .await?;
                    Ok(found)
                })
            })
            .await?;
        found_or(found, "no such group")
    }

    /// Clears a group's custom push robot (pushes go through the enterprise robot).
    pub async fn clear_push_robot(&self, who: Principal, id: i64) -> AdminResult<()> {
        let stamp = self.stamp(who);
        let found = self
            .write(move |tx| {
                Box::pin(async move {
                    authorize(tx, who, Owned::Group, id, "group").await?;
                    let found = groups::set_push_webhook(tx, id, None, None).await?;
                    if found {
                        stamp
                            .record(
                                tx,
                                "push_robot.clear",
                                &format!("group:{id}"),
                                None,
                                Some(&json!({ "has_push_robot": false })),
                            )
                            .await?;
                    }
                    Ok(found)
                })
            })
            .await?;
        found_or(found, "no such group")
    }

    /// The township's admins (told of missing plans and escalated tasks).
    pub async fn township_admins(
        &self,
        who: Principal,
        id: i64,
        page: Page,
    ) -> AdminResult<Paged<q::Person>> {
        let w = page.checked()?;
        self.list(w, move |tx, _| {
            Box::pin(async move {
                authorize(tx, who, Owned::Township, id, "township").await?;
                Ok(Rows::All(q::township_admins(tx, id).await?))
            })
        })
        .await
    }

    /// Adds a township admin; returns the person's id. A person who belongs
    /// to another township (and not to this one) is refused, unchanged.
    pub async fn add_township_admin(
        &self,
        who: Principal,
        id: i64,
        a: TownshipAdmin,
    ) -> AdminResult<i64> {
        if a.user_id.trim().is_empty() || a.user_id.len() > 128 {
            return Err(AdminError::invalid(
                "user_id",
                "must be 1 to 128 characters",
            ));
        }
        // Bounded like every other name; empty keeps a known person's name.
        let display = match a.name.trim() {
            "" => String::new(),
            n => name("name", n)?,
        };
        let stamp = self.stamp(who);
        self.write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Township, id, "township").await?;
                let (platform, uid) = (a.platform.as_str(), a.user_id.trim());
                // Another township's person is not adopted nor renamed.
                if let Some(p) = groups::person_by_platform_id(tx, platform, uid).await? {
                    who.check_person(&q::person_townships(tx, p.id).await?)?;
                }
                let pid = groups::upsert_person(tx, platform, uid, &display, stamp.now).await?;
                stored::add_township_admin(tx, id, pid).await?;
                let after = json!({ "person": pid, "platform": platform, "user_id": uid });
                stamp
                    .record(
                        tx,
                        "township_admin.add",
                        &format!("township:{id}"),
                        None,
                        Some(&after),
                    )
                    .await?;
                Ok(pid)
            })
        })
        .await
    }

    /// Removes a township admin (the person stays).
    pub async fn remove_township_admin(
        &self,
        who: Principal,
        id: i64,
        person: i64,
    ) -> AdminResult<()> {
        let stamp = self.stamp(who);
        let found = self
            .write(move |tx| {
                Box::pin(async move {
                    authorize(tx, who, Owned::Township, id, "township").await?;
                    let found = q::remove_township_admin(tx, id, person).await?;
                    if found {
                        stamp
                            .record(
                                tx,
                                "township_admin.remove",
                                &format!("township:{id}"),
                                Some(&json!({ "person": person })),
                                None,
                            )
                            .await?;
                    }
                    Ok(found)
                })
            })
            .await?;
        found_or(found, "no such township admin")
    }

    /// Overrides a job's schedule in one township. The cron is validated
    /// here, where it enters: a bad schedule is refused now, never found at
    /// firing time.
    pub async fn set_schedule(
        &self,
        who: Principal,
        id: i64,
        job: Job,
        c: Cron,
    ) -> AdminResult<ScheduleSet> {
        let parsed =
            Schedule::parse_optional(&c.cron).map_err(|e| AdminError::invalid("cron", e))?;
        let cron = parsed.map(|s| s.expr().to_string()).unwrap_or_default();
        let stored_cron = cron.clone();
        let job = job.as_str().to_string();
        let stamp = self.stamp(who);
        self.write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Township, id, "township").await?;
                let before = stored::schedule_overrides(tx, id)
                    .await?
                    .into_iter()
                    .find(|(j, _)| *j == job)
                    .map(|(_, c)| json!({ "cron": c }));
                stored::set_schedule_override(tx, id, &job, Some(&stored_cron)).await?;
                stamp
                    .record(
                        tx,
                        "schedule.set",
                        &format!("township:{id}/job:{job}"),
                        before.as_ref(),
                        Some(&json!({ "cron": stored_cron })),
                    )
                    .await?;
                Ok(())
            })
        })
        .await?;
        Ok(ScheduleSet {
            township: id,
            enabled: !cron.is_empty(),
            cron,
        })
    }

    /// Drops a township's override of `job` (any name: an override of a job
    /// since retired can be dropped too): it follows the default again.
    pub async fn clear_schedule(&self, who: Principal, id: i64, job: String) -> AdminResult<()> {
        let stamp = self.stamp(who);
        self.write(move |tx| {
            Box::pin(async move {
                authorize(tx, who, Owned::Township, id, "township").await?;
                let before = stored::schedule_overrides(tx, id)
                    .await?
                    .into_iter()
                    .find(|(j, _)| *j == job)
                    .map(|(_, c)| json!({ "cron": c }));
                stored::set_schedule_override(tx, id, &job, None).await?;
                stamp
                    .record(
                        tx,
                        "schedule.clear",
                        &format!("township:{id}/job:{job}"),
                        before.as_ref(),
                        None,
                    )
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// The holiday calendar in force (anyone may read it).
    pub fn calendar(&self) -> AdminResult<CalendarView> {
        let cal = self
            .jobs
            .calendar
            .read()
            .map_err(|_| AdminError::internal("calendar lock poisoned"))?
            .clone();
        let years = cal
            .years()
            .into_iter()
            .filter_map(|y| {
                cal.year(y).map(|d| CalendarYear {
                    year: y,
                    notice: d.notice.clone(),
                    holidays: d.holidays.clone(),
                    workdays: d.workdays.clone(),
                })
            })
            .collect();
        let missing_years = crate::state::calendar_gaps(&cal, self.clock.now());
        let warnings = missing_years
            .iter()
            .map(|y| format!("no holiday data for {y}: weekday jobs follow plain weekends until the State Council notice is added"))
            .collect();
        Ok(CalendarView {
            years,
            missing_years,
            warnings,
        })
    }

    /// Adds or corrects a year of the holiday calendar, stored and in force
    /// at once. City admin only: it is the State Council's calendar, the
    /// same for every township.
    pub async fn put_calendar_year(
        &self,
        who: Principal,
        year: i32,
        data: YearData,
    ) -> AdminResult<()> {
        who.city_only()?;
        let mut candidate = self
            .jobs
            .calendar
            .read()
            .map_err(|_| AdminError::internal("calendar lock poisoned"))?
            .clone();
        candidate
            .set_year(year, data.clone())
            .map_err(|e| AdminError::invalid("calendar", e))?;
        let toml = toml::to_string(&data).map_err(AdminError::internal)?;
        let stamp = self.stamp(who);
        self.write(move |tx| {
            Box::pin(async move {
                let before = stored::calendar_years(tx)
                    .await?
                    .into_iter()
                    .find(|(y, _)| *y == i64::from(year))
                    .map(|(_, t)| json!({ "toml": t }));
                stored::set_calendar_year(tx, i64::from(year), &toml, stamp.now).await?;
                stamp
                    .record(
                        tx,
                        "calendar.set",
                        &format!("year:{year}"),
                        before.as_ref(),
                        Some(&json!({ "toml": toml })),
                    )
                    .await
            })
        })
        .await?;
        *self
            .jobs
            .calendar
            .write()
            .map_err(|_| AdminError::internal("calendar lock poisoned"))? = candidate;
        Ok(())
    }

    /// Dead letters, newest first: a township token sees its township's only.
    pub async fn dead_letters(
        &self,
        who: Principal,
        page: Page,
    ) -> AdminResult<Paged<q::DeadLetter>> {
        let w = page.checked()?;
        let township = who.township();
        self.list(w, move |tx, w| {
            Box::pin(async move {
                let (rows, total) = q::dead_letters(tx, township, w.limit, w.offset).await?;
                Ok(Rows::Cut(rows, total))
            })
        })
        .await
    }

    /// Puts a dead letter back in the queue.
    pub async fn retry_dead(&self, who: Principal, id: i64) -> AdminResult<()> {
        let stamp = self.stamp(who);
        let found = self
            .write(move |tx| {
                Box::pin(async move {
                    authorize(tx, who, Owned::DeadLetter, id, "dead letter").await?;
                    let found = outbox::retry_dead(tx, id, stamp.now).await?;
                    if found {
                        stamp
                            .record(tx, "dead_letter.retry", &format!("outbox:{id}"), None, None)
                            .await?;
                    }
                    Ok(found)
                })
            })
            .await?;
        found_or(found, "no such dead letter")
    }

    /// The audit log, newest first. The city reads all of it; a township
    /// token reads what concerns its township: changes made with its tokens,
    /// the city's changes to it, and bindings and roles in its groups.
    pub async fn audit_log(&self, who: Principal, page: Page) -> AdminResult<Paged<AuditEntry>> {
        let w = page.checked()?;
        let township = who.township();
        let rows = self
            .list(w, move |tx, w| {
                Box::pin(async move {
                    let (rows, total) = match township {
                        Some(t) => q::township_audit(tx, t, w.limit, w.offset).await?,
                        None => (
                            audit::list(tx, w.limit, w.offset).await?,
                            audit::count(tx).await?,
                        ),
                    };
                    Ok(Rows::Cut(rows, total))
                })
            })
            .await?;
        Ok(rows.map(|e| {
            // Masked again as read: entries written before phones were masked.
            let parse = |s: Option<String>| {
                s.and_then(|s| serde_json::from_str::<Value>(&s).ok())
                    .map(|v| audit::masked(&v))
            };
            AuditEntry {
                id: e.id,
                at: e.at,
                actor: e.actor,
                action: e.action,
                target: e.target,
                before: parse(e.before_json),
                after: parse(e.after_json),
            }
        }))
    }
}

/// The job a schedule override names, or not found.
pub fn schedulable(name: &str) -> AdminResult<Job> {
    Job::parse(name).ok_or_else(|| AdminError::NotFound(format!("no job {name:?}")))
}
