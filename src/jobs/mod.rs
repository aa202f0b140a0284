//! Scheduled work: the product's scheduled jobs (plan reminder and plan
//! missing on Monday, service day on Tuesday, results reminder and airing on
//! Friday, clearance on Sunday, the overdue scan, the monthly ranking, and
//! the hard-project reminder).
//!
//! Each job is one step, [`run`], over a scope (all townships, one township or
//! one group) at a firing time. It runs in one write transaction that also
//! writes every push it causes into the outbox under a key unique per
//! (job, slot, group, part), so a re-run of the same firing writes nothing
//! twice. The scheduler ([`scheduler`]), `POST /api/v1/jobs/{job}/run` and
//! `liancun run-job` all call it.

pub mod duties;
pub mod ranking;
pub mod scheduler;

/// The job list lives in the domain, below `config`, which keys schedules by it.
pub use crate::domain::job::Job;
/// Cron schedules are pure and read by `config`: see [`crate::domain::schedule`].
pub use crate::domain::schedule;

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;

use crate::config::Settings;
use crate::domain::calendar::HolidayCalendar;
use crate::domain::task::{self as rules, TaskFacts};
use crate::domain::week::IsoWeek;
use crate::outbox::{self, Payload, QuietHours, Reach, Timing};
use crate::reply::push::{self as say, NagTask};
use crate::reply::{Mention, TaskView};
use crate::store::jobs::{self as q, ScopeTeam};
use crate::store::tasks::TaskWithOwners;
use crate::store::{Db, StoreError, StoreResult, Tx, groups};

/// What a job runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Township(i64),
    Group(i64),
}

impl Scope {
    /// The key under which firings of this scope are claimed.
    pub fn key(&self) -> String {
        match self {
            Scope::All => "all".into(),
            Scope::Township(id) => format!("township:{id}"),
            Scope::Group(id) => format!("group:{id}"),
        }
    }
}

/// What jobs share.
#[derive(Clone)]
pub struct JobCtx {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub default_tz: Tz,
    pub calendar: Arc<RwLock<HolidayCalendar>>,
    pub quiet: QuietHours,
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct JobReport {
    pub teams: usize,
    pub enqueued: usize,
}

/// Runs `job` over `scope` for the firing at `fire_at`. `manual`: asked for
/// by a person (admin API, CLI): no quiet hours, no spreading, and its own
/// dedupe key so it never collides with the scheduled firing.
pub async fn run(
    ctx: &JobCtx,
    job: Job,
    scope: Scope,
    fire_at: DateTime<Utc>,
    manual: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<JobReport> {
    let ctx2 = ctx.clone();
    let report = ctx
        .db
        .write(move |tx| {
            Box::pin(async move { run_in(tx, &ctx2, job, scope, fire_at, manual, now).await })
        })
        .await?;
    Ok(report)
}

/// [`run`] inside the caller's transaction (the scheduler claims the firing
/// in the same one).
pub async fn run_in(
    tx: &mut Tx,
    ctx: &JobCtx,
    job: Job,
    scope: Scope,
    fire_at: DateTime<Utc>,
    manual: bool,
    now: DateTime<Utc>,
) -> StoreResult<JobReport> {
    if job == Job::MonthlyRanking {
        return monthly_ranking(tx, ctx, scope, fire_at, manual, now).await;
    }
    let teams: Vec<(ScopeTeam, Option<i64>)> = match scope {
        Scope::All => q::teams(tx, None)
            .await?
            .into_iter()
            .map(|t| (t, None))
            .collect(),
        Scope::Township(id) => q::teams(tx, Some(id))
            .await?
            .into_iter()
            .map(|t| (t, None))
            .collect(),
        Scope::Group(g) => q::team_of_group(tx, g)
            .await?
            .into_iter()
            .map(|t| (t, Some(g)))
            .collect(),
    };
    let key = if manual {
        format!("manual:{job}:{}:{}", scope.key(), now.timestamp_millis())
    } else {
        format!("job:{job}:{}", fire_at.timestamp_millis())
    };
    let mut report = JobReport {
        teams: teams.len(),
        enqueued: 0,
    };
    let mut missing_by_township: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
    for (team, only_group) in &teams {
        let tz = crate::domain::zone::team_tz(team.timezone.as_deref(), ctx.default_tz);
        let local = fire_at.with_timezone(&tz).naive_local();
        let env = TeamEnv {
            tz,
            week: IsoWeek::of(local.date()),
            day: local.date().to_string(),
            fire_ms: fire_at.timestamp_millis(),
        };
        let timing = Timing {
            at_ms: if manual {
                now.timestamp_millis()
            } else {
                fire_at.timestamp_millis()
            },
            spread_ms: if manual {
                0
            } else {
                ctx.settings.scheduler.fanout_spread_secs * 1000
            },
            quiet: if manual { None } else { Some((tz, ctx.quiet)) },
        };
        let Some((payload, escalate)) = compose(tx, ctx, job, team, &env, manual).await? else {
            continue;
        };
        // A team is reminded of its hard project once a year, whichever
        // scheduled firing finds it first.
        let key = if job == Job::ProjectReminder && !manual {
            format!("job:{job}:{}", fire_at.with_timezone(&tz).year())
        } else {
            key.clone()
        };
        if job == Job::PlanMissing {
            missing_by_township
                .entry(team.township_id)
                .or_default()
                .push(format!("{} {}", team.village_name, team.team_name));
        }
        for g in q::team_groups(tx, team.team_id).await? {
            if only_group.is_some_and(|og| og != g.group_id) {
                continue;
            }
            let robot_code = ctx.settings.bot(&g.bot).and_then(|b| b.robot_code.clone());
            report.enqueued += outbox::enqueue_group_to(
                tx,
                &g,
                robot_code.as_deref(),
                &key,
                &payload,
                timing,
                now.timestamp_millis(),
                if job.reaches_people() {
                    Reach::People
                } else {
                    Reach::Group
                },
            )
            .await?;
        }
        if let Some(admin_msg) = escalate {
            report.enqueued += notify_admins(
                tx,
                ctx,
                team.township_id,
                &format!("{key}:t{}", team.team_id),
                &admin_msg,
                timing,
                now,
            )
            .await?;
        }
    }
    for (township, teams) in missing_by_township {
        let week = IsoWeek::of(fire_at.with_timezone(&ctx.default_tz).date_naive()).to_string();
        let p = Payload {
            title: say::title(Job::PlanMissing).into(),
            markdown: false,
            reply: say::plan_missing_admin(&week, &teams),
        };
        let timing = Timing {
            at_ms: now.timestamp_millis().max(fire_at.timestamp_millis()),
            spread_ms: 0,
            quiet: None,
        };
        report.enqueued +=
            notify_admins(tx, ctx, township, &format!("{key}:admins"), &p, timing, now).await?;
    }
    Ok(report)
}

/// monthly_ranking works per township, not per team: see [`ranking::run_monthly`].
async fn monthly_ranking(
    tx: &mut Tx,
    ctx: &JobCtx,
    scope: Scope,
    fire_at: DateTime<Utc>,
    manual: bool,
    now: DateTime<Utc>,
) -> StoreResult<JobReport> {
    let key = if manual {
        format!(
            "manual:{}:{}:{}",
            Job::MonthlyRanking,
            scope.key(),
            now.timestamp_millis()
        )
    } else {
        format!("job:{}:{}", Job::MonthlyRanking, fire_at.timestamp_millis())
    };
    let spread_ms = ctx.settings.scheduler.fanout_spread_secs * 1000;
    let quiet = ctx.quiet;
    let timing_of = move |tz: Tz| Timing {
        at_ms: if manual {
            now.timestamp_millis()
        } else {
            fire_at.timestamp_millis()
        },
        spread_ms: if manual { 0 } else { spread_ms },
        quiet: if manual { None } else { Some((tz, quiet)) },
    };
    ranking::run_monthly(tx, ctx, scope, fire_at, &key, timing_of, now).await
}

pub(crate) struct TeamEnv {
    tz: Tz,
    week: IsoWeek,
    /// The local day of the firing, for nag limits.
    day: String,
    fire_ms: i64,
}

/// Sends `payload` 1:1 to the township's admins, through a bot of their platform
/// that serves the township.
async fn notify_admins(
    tx: &mut Tx,
    ctx: &JobCtx,
    township_id: i64,
    key: &str,
    payload: &Payload,
    timing: Timing,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let mut n = 0;
    for (person_id, platform, _, _) in q::township_admins(tx, township_id).await? {
        let Some(bot) = ctx
            .settings
            .bots
            .iter()
            .find(|b| b.platform.as_str() == platform)
        else {
            tracing::warn!(person_id, %platform, "no bot of the township admin's platform: admin not notified");
            continue;
        };
        n += outbox::enqueue_person(
            tx,
            person_id,
            &bot.name,
            key,
            payload,
            timing,
            now.timestamp_millis(),
        )
        .await?;
    }
    Ok(n)
}

/// A task as a push shows it; `week` is the week being pushed about, so that
/// tasks of earlier weeks are marked 【结转】.
fn view(t: &TaskWithOwners, tz: Tz, now_ms: i64, week: IsoWeek) -> TaskView {
    let list_week = IsoWeek::parse(&t.task.week);
    let facts = TaskFacts {
        state: t.task.state,
        deadline_ms: t.task.deadline_at,
        closed_ms: t.task.closed_at,
        week: list_week.unwrap_or(week),
        late: t.task.carried_over != 0,
        owners: &[],
    };
    TaskView {
        no: t.task.no,
        text: t.task.text.clone(),
        level: t.task.level,
        deadline: crate::domain::week::utc_ms_to_local(tz, t.task.deadline_at),
        state: rules::progress(&facts, now_ms),
        owners: t
            .owners
            .iter()
            .map(|(_, uid, name)| Mention::new(uid, name))
            .collect(),
        carried_from: list_week.filter(|w| rules::carried_over(*w, week)),
        holiday: None,
    }
}

/// Tasks with the owners not yet nagged about them today.
async fn nag_tasks(
    tx: &mut Tx,
    tasks: &[TaskWithOwners],
    env: &TeamEnv,
) -> StoreResult<Vec<NagTask>> {
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        let mut nag = Vec::new();
        for (pid, uid, name) in &t.owners {
            if q::nag(tx, *pid, t.task.id, &env.day).await? {
                nag.push(Mention::new(uid, name));
            }
        }
        out.push(NagTask {
            task: view(t, env.tz, env.fire_ms, env.week),
            nag,
        });
    }
    Ok(out)
}

async fn leader(tx: &mut Tx, team_id: i64) -> StoreResult<Option<Mention>> {
    Ok(groups::team_people(tx, team_id)
        .await?
        .into_iter()
        .find(|(_, role)| role == "leader")
        .map(|(p, _)| Mention::new(&p.platform_user_id, &p.display_name)))
}

fn text(title: &str, reply: crate::reply::Reply) -> Payload {
    Payload {
        title: title.into(),
        markdown: false,
        reply,
    }
}

/// The jobs' composers, one arm per [`Job`]: the message a job posts to a
/// team's groups (`None`: nothing to say), and what to tell the township
/// admins.
async fn compose(
    tx: &mut Tx,
    ctx: &JobCtx,
    job: Job,
    team: &ScopeTeam,
    env: &TeamEnv,
    manual: bool,
) -> StoreResult<Option<(Payload, Option<Payload>)>> {
    let quiet = ctx.quiet;
    let week = env.week.to_string();
    Ok(match job {
        Job::PlanReminder | Job::PlanMissing => {
            if crate::store::tasks::plan_published(tx, team.team_id, &week).await? {
                None
            } else {
                let l = leader(tx, team.team_id).await?;
                Some(if job == Job::PlanReminder {
                    let carried: Vec<TaskView> = q::open_tasks(tx, team.team_id, &week)
                        .await?
                        .iter()
                        .map(|t| view(t, env.tz, env.fire_ms, env.week))
                        .filter(|v| v.carried_from.is_some())
                        .collect();
                    (
                        text(
                            say::title(job),
                            say::plan_reminder(&week, l.as_ref(), &carried),
                        ),
                        None,
                    )
                } else {
                    (
                        text(say::title(job), say::plan_missing(&week, l.as_ref())),
                        None,
                    )
                })
            }
        }
        Job::ServiceDay => {
            let open: Vec<TaskWithOwners> = q::open_tasks(tx, team.team_id, &week).await?;
            let views: Vec<TaskView> = open
                .iter()
                .map(|t| view(t, env.tz, env.fire_ms, env.week))
                .collect();
            (!views.is_empty())
                .then(|| (text(say::title(job), say::service_day(&week, &views)), None))
        }
        Job::ResultsReminder => {
            let open = q::open_tasks(tx, team.team_id, &week).await?;
            if open.is_empty() {
                None
            } else {
                let nags = nag_tasks(tx, &open, env).await?;
                Some((text(say::title(job), say::results_reminder(&nags)), None))
            }
        }
        Job::WeeklyAiring => Some((duties::weekly_airing(tx, ctx, team, env).await?, None)),
        Job::Clearance => {
            let open = q::open_tasks(tx, team.team_id, &week).await?;
            let nags = nag_tasks(tx, &open, env).await?;
            Some((text(say::title(job), say::clearance(&nags)), None))
        }
        Job::OverdueScan => {
            // Scheduled scans keep quiet at night; the 07:30 scan catches up.
            let local = crate::domain::week::utc_ms_to_local(env.tz, env.fire_ms);
            if !manual && quiet.contains(local.time()) {
                return Ok(None);
            }
            // A statutory holiday (and the days off around it) is not nagged:
            // the first scan of the next workday, at 07:30, catches up, and
            // the escalation to the township admins with it.
            let on_break = ctx
                .calendar
                .read()
                .map_err(|_| StoreError::Other(anyhow::anyhow!("calendar lock poisoned")))?
                .holiday_break(local.date())
                .is_some();
            if !manual && on_break {
                return Ok(None);
            }
            let open = q::open_tasks(tx, team.team_id, &week).await?;
            let mut overdue = Vec::new();
            for t in open
                .into_iter()
                .filter(|t| t.task.deadline_at < env.fire_ms)
            {
                if q::overdue_alert(tx, t.task.id, &env.day).await? {
                    overdue.push(t);
                }
            }
            if overdue.is_empty() {
                None
            } else {
                let nags = nag_tasks(tx, &overdue, env).await?;
                let escalated: Vec<TaskView> = nags
                    .iter()
                    .filter(|n| n.task.level.escalates())
                    .map(|n| n.task.clone())
                    .collect();
                let admin = (!escalated.is_empty()).then(|| {
                    text(
                        say::overdue_admin_title(),
                        say::overdue_admin(
                            &format!("{} {}", team.village_name, team.team_name),
                            &escalated,
                        ),
                    )
                });
                Some((text(say::title(job), say::overdue(&nags)), admin))
            }
        }
        // Handled per township before the per-team loop (see `monthly_ranking`).
        Job::MonthlyRanking => None,
        Job::ProjectReminder => duties::project_reminder(tx, ctx, team, env, manual)
            .await?
            .map(|p| (p, None)),
    })
}
