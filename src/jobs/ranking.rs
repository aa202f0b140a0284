//! The monthly_ranking job, the pioneer candidates it and the admin API
//! list, and the pioneers' announcement. The ranking itself
//! ([`township_ranking`]) is the store's, which 排名 reads too.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{JobCtx, JobReport, Scope, notify_admins};
use crate::domain::ranking::{self, Month, PersonMonth, TeamMonth};
use crate::domain::zone::team_tz;
use crate::outbox::{self, Payload, Timing};
use crate::reply::ranking::{self as say, Candidate};
use crate::store::ranking::{self as q, MonthWindow, Nomination, TeamLabel};
use crate::store::{StoreResult, Tx, jobs as jq};

// Where the admin API has always found them.
pub use crate::store::ranking::{TownshipRanking, township_ranking};

/// Most candidates of each kind listed.
pub const MAX_CANDIDATES: usize = 10;

/// The pioneer candidates of a month.
#[derive(Debug, Clone, Default)]
pub struct Candidates {
    pub project: Vec<(TeamMonth, TeamLabel)>,
    pub diligence: Vec<(PersonMonth, String, TeamLabel)>,
    pub innovation: Vec<Nomination>,
}

impl Candidates {
    pub fn project_view(&self) -> Vec<Candidate> {
        self.project
            .iter()
            .map(|(t, l)| Candidate {
                id: t.team_id,
                name: say::team_with_leader(&l.full(), l.leader.as_deref()),
                why: say::project_why(t.projects_done_in_month, t.projects_updated),
            })
            .collect()
    }

    pub fn diligence_view(&self) -> Vec<Candidate> {
        self.diligence
            .iter()
            .map(|(p, name, l)| Candidate {
                id: p.person_id,
                name: name.clone(),
                why: say::diligence_why(&l.full(), p.services, p.visits, p.on_time),
            })
            .collect()
    }

    pub fn innovation_view(&self, r: &TownshipRanking) -> Vec<Candidate> {
        self.innovation
            .iter()
            .map(|n| Candidate {
                id: n.id,
                name: n.name.clone(),
                why: format!("{}，{}", r.label(n.team_id), n.reason),
            })
            .collect()
    }
}

/// Every candidate of each kind (the admin API lists the first ones; a
/// confirmation may pick any of them).
pub async fn candidates(tx: &mut Tx, r: &TownshipRanking) -> StoreResult<Candidates> {
    let teams: Vec<TeamMonth> = r.ranked.iter().map(|x| x.stats).collect();
    let label = |id: i64| {
        r.labels.get(&id).cloned().unwrap_or(TeamLabel {
            team_id: id,
            village: String::new(),
            team: format!("#{id}"),
            leader: None,
        })
    };
    let project = ranking::project_candidates(&teams)
        .into_iter()
        .map(|t| (t, label(t.team_id)))
        .collect();
    // No medal for nothing, pioneers too: members of a team without data
    // are no candidates.
    let mut people = q::person_months(tx, r.township_id, &r.window).await?;
    people.retain(|p| !r.is_idle(p.team_id));
    let names: HashMap<i64, String> = q::person_names(tx, r.township_id)
        .await?
        .into_iter()
        .collect();
    let diligence = ranking::diligence_candidates(&people)
        .into_iter()
        .map(|p| {
            let name = names
                .get(&p.person_id)
                .cloned()
                .unwrap_or_else(|| format!("#{}", p.person_id));
            (p, name, label(p.team_id))
        })
        .collect();
    let mut innovation = q::nominations(tx, r.township_id, r.window.month).await?;
    innovation.retain(|n| !r.is_idle(n.team_id));
    Ok(Candidates {
        project,
        diligence,
        innovation,
    })
}

/// The month a firing at `fire_at` ranks: the one before it, locally.
pub fn last_month(fire_at: DateTime<Utc>, tz: Tz) -> Month {
    Month::of(fire_at.with_timezone(&tz).date_naive()).prev()
}

/// monthly_ranking: last month's ranking per township, built into the
/// roll-ups, posted to each group (its own place and the top three) and to
/// the township admins (the whole list and the pioneer candidates).
pub async fn run_monthly(
    tx: &mut Tx,
    ctx: &JobCtx,
    scope: Scope,
    fire_at: DateTime<Utc>,
    key: &str,
    timing_of: impl Fn(Tz) -> Timing,
    now: DateTime<Utc>,
) -> StoreResult<JobReport> {
    let only_group = match scope {
        Scope::Group(g) => Some(g),
        _ => None,
    };
    let township_ids: Vec<i64> = match scope {
        Scope::All => jq::townships(tx).await?.into_iter().map(|t| t.0).collect(),
        Scope::Township(t) => vec![t],
        Scope::Group(g) => jq::team_of_group(tx, g)
            .await?
            .map(|t| t.township_id)
            .into_iter()
            .collect(),
    };
    let now_ms = now.timestamp_millis();
    let mut report = JobReport::default();
    for township_id in township_ids {
        let Some((_, tz)) = q::township_name(tx, township_id).await? else {
            continue;
        };
        let tz = team_tz(tz.as_deref(), ctx.default_tz);
        let month = last_month(fire_at, tz);
        let window = MonthWindow::new(month, tz, now_ms);
        if window.closed() {
            q::build_rollup(tx, township_id, &window, now_ms).await?;
        }
        let Some(r) =
            township_ranking(tx, township_id, Some(month), ctx.default_tz, now_ms).await?
        else {
            continue;
        };
        let timing = timing_of(tz);
        let top = r.lines(3);
        let teams = jq::teams(tx, Some(township_id)).await?;
        report.teams += teams.len();
        for team in &teams {
            let mine = r.of_team(team.team_id).map(|x| r.line(x));
            let payload = Payload {
                title: say::monthly_title(month.month),
                markdown: false,
                reply: say::monthly_group(
                    &r.township,
                    month.month,
                    &top,
                    mine.as_ref(),
                    r.is_idle(team.team_id),
                    r.ranked.len(),
                ),
            };
            for g in jq::team_groups(tx, team.team_id).await? {
                if only_group.is_some_and(|og| og != g.group_id) {
                    continue;
                }
                let robot_code = ctx.settings.bot(&g.bot).and_then(|b| b.robot_code.clone());
                report.enqueued += outbox::enqueue_group(
                    tx,
                    &g,
                    robot_code.as_deref(),
                    key,
                    &payload,
                    timing,
                    now_ms,
                )
                .await?;
            }
        }
        // A township whose teams all lack data hears so in one line.
        if only_group.is_some() || (r.ranked.is_empty() && r.idle.is_empty()) {
            continue;
        }
        let c = candidates(tx, &r).await?;
        let cut = |mut v: Vec<Candidate>| {
            v.truncate(MAX_CANDIDATES);
            v
        };
        let admin = Payload {
            title: say::monthly_title(month.month),
            markdown: false,
            reply: say::monthly_admin(
                &r.township,
                month.month,
                &r.lines(usize::MAX),
                &r.idle_labels(),
                &cut(c.project_view()),
                &cut(c.diligence_view()),
                &cut(c.innovation_view(&r)),
            ),
        };
        report.enqueued += notify_admins(
            tx,
            ctx,
            township_id,
            &format!("{key}:admins:t{township_id}"),
            &admin,
            timing,
            now,
        )
        .await?;
    }
    Ok(report)
}

/// Announces a township's confirmed pioneers in each of its groups, once per
/// group and month (the outbox key is the township and month).
pub async fn announce_pioneers(
    tx: &mut Tx,
    ctx: &JobCtx,
    township_id: i64,
    month: Month,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let Some((township, _)) = q::township_name(tx, township_id).await? else {
        return Ok(0);
    };
    let confirmed = q::pioneers(tx, township_id, month).await?;
    let names = |kind: &str| -> Vec<String> {
        confirmed
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| p.name.clone())
            .collect()
    };
    let payload = Payload {
        title: say::pioneers_title(month.month),
        markdown: false,
        reply: say::pioneers(
            &township,
            month.month,
            &names("project"),
            &names("diligence"),
            &names("innovation"),
        ),
    };
    // What a person confirmed goes at once, as other admin-asked pushes do.
    let timing = Timing {
        at_ms: now.timestamp_millis(),
        spread_ms: 0,
        quiet: None,
    };
    let key = format!("pioneers:t{township_id}:{month}");
    let mut n = 0;
    for team in jq::teams(tx, Some(township_id)).await? {
        for g in jq::team_groups(tx, team.team_id).await? {
            let robot_code = ctx.settings.bot(&g.bot).and_then(|b| b.robot_code.clone());
            n += outbox::enqueue_group(
                tx,
                &g,
                robot_code.as_deref(),
                &key,
                &payload,
                timing,
                now.timestamp_millis(),
            )
            .await?;
        }
    }
    Ok(n)
}
