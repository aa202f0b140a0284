//! What the yearly duties add to the scheduled pushes: the richer weekly
//! airing (last week's change, requests resolved, hard-project reports, the
//! chart) and the once-a-year reminder of a team without a hard project.

use chrono::{Datelike, NaiveDate};

use super::{JobCtx, TeamEnv, leader};
use crate::domain::week::{IsoWeek, utc_ms_to_local};
use crate::outbox::Payload;
use crate::reply::duties as say_duties;
use crate::reply::push::{self as say, Airing};
use crate::store::jobs::{self as q, ScopeTeam};
use crate::store::{StoreResult, Tx, projects, ratings, weekly};

/// Weeks shown by the airing's chart, this one included.
pub const CHART_WEEKS: u32 = 8;

/// The oldest of the `n` weeks ending with `week`.
pub fn weeks_back(week: IsoWeek, n: u32) -> IsoWeek {
    (1..n).fold(week, |w, _| w.prev())
}

/// The weekly airing of a team.
pub(super) async fn weekly_airing(
    tx: &mut Tx,
    ctx: &JobCtx,
    team: &ScopeTeam,
    env: &TeamEnv,
) -> StoreResult<Payload> {
    let week = env.week.to_string();
    let s = q::week_stats(tx, team.team_id, &week).await?;
    let last = env.week.prev().to_string();
    // This airing closes last week's ratings (see `bot::records::rate`):
    // it shows last week's final score, with the week before as its trend.
    ratings::record_airing(tx, team.team_id, &week, env.fire_ms).await?;
    let average = |(n, sum): (i64, i64)| (n > 0).then(|| (n, sum as f64 / n as f64));
    let rating = average(ratings::week_totals(tx, team.team_id, &last).await?);
    let before = env.week.prev().prev().to_string();
    let rating_before = average(ratings::week_totals(tx, team.team_id, &before).await?)
        .filter(|(n, _)| *n >= crate::reply::MIN_RATERS)
        .map(|(_, avg)| avg);
    let bot_name = match q::team_groups(tx, team.team_id).await?.first() {
        Some(g) => ctx
            .settings
            .bot(&g.bot)
            .and_then(|b| b.display_names.first().cloned()),
        None => None,
    }
    .unwrap_or_else(|| crate::reply::push::DEFAULT_BOT_NAME.to_string());
    let last_week = weekly::history(tx, team.team_id, &last, &last)
        .await?
        .get(&last)
        .map(|n| (n.closed, n.total, n.services, n.visits));
    let projects = projects::week_updates(tx, team.team_id, &week)
        .await?
        .into_iter()
        .map(|u| (u.name, u.text, u.completed))
        .collect();
    let airing = Airing {
        team: format!("{} {}", team.village_name, team.team_name),
        week: week.clone(),
        total: s.total,
        closed: s.closed,
        on_time: s.on_time,
        services: s.services,
        visits: s.visits,
        requests: s.requests,
        open_requests: s.open_requests,
        requests_resolved: weekly::requests_resolved(tx, team.team_id, &week).await?,
        rating,
        rating_before,
        bot_name,
        last_week,
        projects,
        chart_url: crate::chart::url(&ctx.settings, team.team_id, env.week),
    };
    Ok(Payload {
        title: say::airing_title(&airing.team),
        markdown: true,
        reply: say::weekly_airing(&airing),
    })
}

/// Whether `day` is in the week from this year's due date on: the scheduled
/// reminder goes out there (once: its outbox key is the year's).
pub fn in_reminder_window(day: NaiveDate, due: (u32, u32)) -> bool {
    NaiveDate::from_ymd_opt(day.year(), due.0, due.1)
        .is_some_and(|d| day >= d && (day - d).num_days() < 7)
}

/// The reminder of a team with no hard project this year (`None`: it has
/// one, or it is not the time). A person's run (`manual`) asks for it now.
pub(super) async fn project_reminder(
    tx: &mut Tx,
    ctx: &JobCtx,
    team: &ScopeTeam,
    env: &TeamEnv,
    manual: bool,
) -> StoreResult<Option<Payload>> {
    let day = utc_ms_to_local(env.tz, env.fire_ms).date();
    let due = ctx.settings.projects.due;
    if !manual && !in_reminder_window(day, due) {
        return Ok(None);
    }
    if projects::count(tx, team.team_id, day.year()).await? > 0 {
        return Ok(None);
    }
    let l = leader(tx, team.team_id).await?;
    Ok(Some(Payload {
        title: say::title(super::Job::ProjectReminder).into(),
        markdown: false,
        reply: say_duties::project_reminder(day.year(), due, l.as_ref()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reminder_window_is_the_week_from_the_due_date() {
        let d = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        assert!(!in_reminder_window(d(3, 30), (3, 31)));
        assert!(in_reminder_window(d(3, 31), (3, 31)));
        assert!(in_reminder_window(d(4, 6), (3, 31)));
        assert!(!in_reminder_window(d(4, 7), (3, 31)));
        assert!(!in_reminder_window(d(12, 2), (3, 31)));
    }

    #[test]
    fn eight_weeks_back_crosses_the_year() {
        let w = IsoWeek::parse("2026-W03").unwrap();
        assert_eq!(weeks_back(w, CHART_WEEKS).to_string(), "2025-W48");
        assert_eq!(weeks_back(w, 1), w);
    }
}
