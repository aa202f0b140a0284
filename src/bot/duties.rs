//! The yearly duties in the group: 走访率 (household visit coverage) and
//! 项目 (hard projects).

use chrono::{Datelike, NaiveDate};

use super::Turn;
use crate::command::{CommandKind, ProjectCmd};
use crate::domain::role::{TeamRole, WhoMay};
use crate::reply::duties::{self as say, MAX_UNVISITED_LISTED, ProjectView};
use crate::reply::{self, Reply};
use crate::store::groups::TeamRow;
use crate::store::projects::{self, ProjectRow};
use crate::store::{StoreResult, Tx, households};

/// The team's local year and its bounds as stored instants `[start, end)`.
fn this_year(turn: &Turn<'_>) -> (i32, i64, i64) {
    let y = turn.local_now.year();
    let jan1 = |y: i32| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| turn.to_ms(t))
    };
    match (jan1(y), jan1(y + 1)) {
        (Some(a), Some(b)) => (y, a, b),
        // Only at the ends of chrono's range.
        _ => (y, i64::MIN, i64::MAX),
    }
}

/// 走访率 [未走访].
pub async fn coverage(
    tx: &mut Tx,
    turn: &Turn<'_>,
    team: &TeamRow,
    unvisited: bool,
) -> StoreResult<Reply> {
    if unvisited && !(turn.actor.on_team() || turn.actor.admin) {
        return Ok(reply::not_allowed(
            say::UNVISITED_LIST,
            WhoMay::LeaderOrMember,
        ));
    }
    let (year, from, to) = this_year(turn);
    let c = households::coverage(tx, team.village_id, from, to).await?;
    if !unvisited || c.registered == 0 {
        return Ok(say::coverage(
            &team.village_name,
            year,
            c.registered,
            c.visited,
            c.unregistered_visits,
        ));
    }
    let rows =
        households::unvisited(tx, team.village_id, from, to, MAX_UNVISITED_LISTED as i64).await?;
    let list: Vec<(String, String)> = rows.into_iter().map(|h| (h.name, h.subgroup)).collect();
    Ok(say::unvisited(
        &team.village_name,
        year,
        &list,
        c.registered - c.visited,
    ))
}

/// The project `name` names: exactly that one, else the only one whose
/// name contains it (村道 for 村道硬化).
fn find<'a>(list: &'a [ProjectRow], name: &str) -> Option<&'a ProjectRow> {
    list.iter().find(|p| p.name == name).or_else(|| {
        let mut like = list.iter().filter(|p| p.name.contains(name));
        match (like.next(), like.next()) {
            (Some(one), None) => Some(one),
            _ => None,
        }
    })
}

/// 项目 …: the list for anyone; 新建 / 进展 / 完成 for the leader.
pub async fn project(
    tx: &mut Tx,
    turn: &Turn<'_>,
    team: &TeamRow,
    cmd: ProjectCmd,
) -> StoreResult<Reply> {
    let (year, _, _) = this_year(turn);
    let leader = turn.actor.admin || turn.actor.role == Some(TeamRole::Leader);
    if !leader && cmd != ProjectCmd::List {
        return Ok(reply::not_allowed(
            CommandKind::Project.words()[0],
            WhoMay::Leader,
        ));
    }
    let list = projects::list(tx, team.team_id, year).await?;
    let names = || list.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    match cmd {
        ProjectCmd::List => {
            let views: Vec<ProjectView> = list
                .iter()
                .map(|p| ProjectView {
                    name: p.name.clone(),
                    done: p.is_done(),
                    updates: p.updates,
                    last: p
                        .last_text
                        .clone()
                        .zip(p.last_at)
                        .map(|(t, at)| (t, turn.to_local(at))),
                })
                .collect();
            Ok(say::projects(year, &views))
        }
        ProjectCmd::New { name } => {
            match projects::create(tx, team.team_id, year, &name, turn.me, turn.now_ms).await? {
                Some(_) => Ok(say::project_created(&name, year, list.len() as i64 + 1)),
                None => Ok(say::project_exists(&name, year)),
            }
        }
        ProjectCmd::Progress { name, text } => {
            let Some(p) = find(&list, &name) else {
                return Ok(say::project_unknown(&name, year, &names()));
            };
            if let Some(at) = p.done_at {
                return Ok(say::project_already_done(&p.name, turn.to_local(at)));
            }
            let week = turn.week_str();
            let n = projects::add_update(tx, p.id, turn.me, &week, &text, turn.now_ms).await?;
            Ok(say::project_progress(&p.name, n, &text))
        }
        ProjectCmd::Done { name, text } => {
            let Some(p) = find(&list, &name) else {
                return Ok(say::project_unknown(&name, year, &names()));
            };
            if let Some(at) = p.done_at {
                return Ok(say::project_already_done(&p.name, turn.to_local(at)));
            }
            let week = turn.week_str();
            let text = if text.is_empty() {
                say::PROJECT_DONE_REPORT.to_string()
            } else {
                text
            };
            if !projects::mark_done(tx, p.id, turn.me, turn.now_ms).await? {
                return Ok(say::project_already_done(&p.name, turn.local_now));
            }
            let n = projects::add_update(tx, p.id, turn.me, &week, &text, turn.now_ms).await?;
            Ok(say::project_done(&p.name, n))
        }
    }
}
