//! 排清单, 加清单, 清单, 完成, 延期, 取消, 诉求.

use chrono::NaiveDateTime;

use super::{Turn, limits, people, requests};
use crate::command::{TaskDraft, TaskNo};
use crate::domain::level::Level;
use crate::domain::role;
use crate::domain::task::{self as rules, PostponeRefusal};
use crate::domain::week::IsoWeek;
use crate::reply::{self, Mention, Reply, TaskState, TaskView};
use crate::store::groups::{self, TeamRow};
use crate::store::tasks::{self as store_tasks, NewTask, TaskWithOwners};
use crate::store::{StoreResult, Tx};

fn view(turn: &Turn<'_>, t: &TaskWithOwners) -> TaskView {
    let state = match t.task.state {
        rules::TaskState::Closed => TaskState::Closed(
            t.task.carried_over == 0 && t.task.closed_at.is_some_and(|c| c <= t.task.deadline_at),
        ),
        rules::TaskState::Cancelled => TaskState::Cancelled,
        rules::TaskState::Open if t.task.deadline_at < turn.now_ms => TaskState::Overdue,
        rules::TaskState::Open => TaskState::Open,
    };
    TaskView {
        no: t.task.no,
        text: t.task.text.clone(),
        level: t.task.level,
        deadline: turn.to_local(t.task.deadline_at),
        state,
        owners: t
            .owners
            .iter()
            .map(|(_, uid, name)| Mention::new(uid, name))
            .collect(),
        carried_from: IsoWeek::parse(&t.task.week).filter(|w| rules::carried_over(*w, turn.week)),
        holiday: None,
    }
}

/// 排清单 (`publish`) and 加清单: resolve every owner first, so a bad line
/// stores nothing.
pub async fn add(
    tx: &mut Tx,
    turn: &Turn<'_>,
    team: &TeamRow,
    drafts: Vec<TaskDraft>,
    publish: bool,
) -> StoreResult<Reply> {
    let week = turn.week_str();
    if publish && store_tasks::plan_published(tx, team.team_id, &week).await? {
        return Ok(reply::plan_exists(&week));
    }
    let limits = limits(team);
    let mut new = Vec::with_capacity(drafts.len());
    let mut views = Vec::with_capacity(drafts.len());
    for d in drafts {
        let owners = if d.owners.is_empty() {
            vec![crate::store::groups::PersonRow {
                id: turn.me,
                platform_user_id: turn.me_mention.user_id.clone(),
                display_name: turn.me_mention.name.clone(),
            }]
        } else {
            match people::resolve(tx, turn, &d.owners).await? {
                Ok(p) => p,
                Err(refusal) => return Ok(refusal),
            }
        };
        for o in &owners {
            if groups::role_of(tx, team.team_id, o.id).await?.is_none() {
                return Ok(reply::not_on_team(&people::mention(o).name));
            }
        }
        let level = d.level.unwrap_or(Level::Green);
        let deadline = d
            .deadline
            .unwrap_or_else(|| turn.default_deadline(level, &limits));
        new.push(NewTask {
            text: d.text,
            level: level.as_str(),
            deadline_at: turn.to_ms(deadline),
            source: if publish { "plan" } else { "add" },
            owners: owners.iter().map(|o| o.id).collect(),
        });
        views.push(TaskView {
            no: 0,
            text: new.last().map(|n| n.text.clone()).unwrap_or_default(),
            level,
            deadline,
            state: TaskState::Open,
            owners: owners.iter().map(people::mention).collect(),
            carried_from: None,
            holiday: turn.holiday_of(deadline),
        });
    }
    // Another 排清单 of the same moment may have won since the check above.
    if publish && !store_tasks::insert_plan(tx, team.team_id, &week, turn.me, turn.now_ms).await? {
        return Ok(reply::plan_exists(&week));
    }
    let ids =
        store_tasks::insert_tasks(tx, team.team_id, &week, turn.me, turn.now_ms, &new).await?;
    for (v, (_, no)) in views.iter_mut().zip(ids) {
        v.no = no;
    }
    Ok(if publish {
        reply::plan_published(&week, &views)
    } else {
        reply::tasks_added(&week, &views)
    })
}

pub async fn list(tx: &mut Tx, turn: &Turn<'_>, team: &TeamRow) -> StoreResult<Reply> {
    let week = turn.week_str();
    let tasks = store_tasks::week_tasks(tx, team.team_id, &week).await?;
    let views: Vec<TaskView> = tasks.iter().map(|t| view(turn, t)).collect();
    let carried: Vec<TaskView> = store_tasks::carried_tasks(tx, team.team_id, &week)
        .await?
        .iter()
        .map(|t| view(turn, t))
        .collect();
    let published = store_tasks::plan_published(tx, team.team_id, &week).await?;
    Ok(reply::list(&week, &carried, &views, published))
}

/// Loads `#no` — the team's open task of that number, whatever its week —
/// and checks it is open and the sender may touch it.
async fn open_task(
    tx: &mut Tx,
    turn: &Turn<'_>,
    team: &TeamRow,
    no: TaskNo,
    owner_check: bool,
) -> StoreResult<Result<TaskWithOwners, Reply>> {
    let no = i64::from(no.0);
    let Some(t) = store_tasks::task_by_no(tx, team.team_id, no).await? else {
        return Ok(Err(reply::task_not_found(no)));
    };
    if t.task.state != rules::TaskState::Open {
        return Ok(Err(reply::task_not_open(
            no,
            &t.task.text,
            t.task.state == rules::TaskState::Cancelled,
        )));
    }
    let owner_ids: Vec<i64> = t.owners.iter().map(|(id, ..)| *id).collect();
    if owner_check && !role::may_touch_task(turn.actor, turn.me, &owner_ids) {
        let owners: Vec<Mention> = view(turn, &t).owners;
        return Ok(Err(reply::not_task_owner(no, &t.task.text, &owners)));
    }
    Ok(Ok(t))
}

pub async fn close(
    tx: &mut Tx,
    turn: &Turn<'_>,
    team: &TeamRow,
    nos: &[TaskNo],
    result: &str,
) -> StoreResult<Reply> {
    // Check every task before closing any: all or nothing.
    let mut found = Vec::with_capacity(nos.len());
    for &no in nos {
        if found
            .iter()
            .any(|t: &TaskWithOwners| t.task.no == i64::from(no.0))
        {
            continue;
        }
        match open_task(tx, turn, team, no, true).await? {
            Ok(t) => found.push(t),
            Err(refusal) => return Ok(refusal),
        }
    }
    let mut views = Vec::with_capacity(found.len());
    let mut villagers = Vec::new();
    for mut t in found {
        store_tasks::close(tx, t.task.id, turn.me, result, turn.now_ms).await?;
        t.task.state = rules::TaskState::Closed;
        t.task.closed_at = Some(turn.now_ms);
        views.push(view(turn, &t));
        if t.task.source == "request"
            && let Some(v) = requests::requester(tx, t.task.id).await?
        {
            villagers.push((v, t.task.text.clone()));
        }
    }
    Ok(reply::requests::tell_closed(
        reply::closed(&views, result),
        &villagers,
        result,
    ))
}

pub async fn postpone(
    tx: &mut Tx,
    turn: &Turn<'_>,
    team: &TeamRow,
    no: TaskNo,
    deadline: NaiveDateTime,
    reason: &str,
) -> StoreResult<Reply> {
    let t = match open_task(tx, turn, team, no, true).await? {
        Ok(t) => t,
        Err(refusal) => return Ok(refusal),
    };
    let from = turn.to_local(t.task.deadline_at);
    let mut task = view(turn, &t);
    match rules::check_postpone(from, deadline, turn.local_now) {
        Ok(()) => {}
        Err(refusal) => {
            return Ok(reply::postpone_not_forward(
                &task,
                deadline,
                refusal == PostponeRefusal::InThePast,
                turn.local_now.date(),
            ));
        }
    }
    let list_week = IsoWeek::parse(&t.task.week).unwrap_or(turn.week);
    let new_week = rules::week_after_postpone(list_week, turn.week, deadline);
    store_tasks::postpone(
        tx,
        t.task.id,
        t.task.deadline_at,
        turn.to_ms(deadline),
        &new_week.to_string(),
        rules::carried_over(list_week, turn.week),
        reason,
        turn.me,
        turn.now_ms,
    )
    .await?;
    let times = store_tasks::postponements(tx, t.task.id).await?.len();
    task.deadline = deadline;
    task.holiday = turn.holiday_of(deadline);
    let moved_to = (new_week > list_week && new_week > turn.week).then_some(new_week);
    Ok(reply::postponed(&task, from, reason, times, moved_to))
}

pub async fn cancel(
    tx: &mut Tx,
    turn: &Turn<'_>,
    team: &TeamRow,
    no: TaskNo,
    reason: &str,
) -> StoreResult<Reply> {
    let t = match open_task(tx, turn, team, no, false).await? {
        Ok(t) => t,
        Err(refusal) => return Ok(refusal),
    };
    store_tasks::cancel(tx, t.task.id, reason, turn.me, turn.now_ms).await?;
    Ok(reply::cancelled(&view(turn, &t), reason))
}

/// 指派: the leader hands an open task (often a villager's request) to the
/// people @-mentioned; they become its owners and are told in the reply.
pub async fn assign(
    tx: &mut Tx,
    turn: &Turn<'_>,
    team: &TeamRow,
    no: TaskNo,
    names: &[String],
) -> StoreResult<Reply> {
    let t = match open_task(tx, turn, team, no, false).await? {
        Ok(t) => t,
        Err(refusal) => return Ok(refusal),
    };
    let people = match people::resolve(tx, turn, names).await? {
        Ok(p) => p,
        Err(refusal) => return Ok(refusal),
    };
    let ids: Vec<i64> = people.iter().map(|p| p.id).collect();
    store_tasks::replace_owners(tx, t.task.id, &ids).await?;
    let mentions: Vec<Mention> = people.iter().map(people::mention).collect();
    let task = view(turn, &t);
    let reply = reply::assigned(&task, &mentions);
    if t.task.source != "request" {
        return Ok(reply);
    }
    Ok(match requests::requester(tx, t.task.id).await? {
        Some(v) => reply::requests::tell_assigned(reply, &v, &mentions, task.deadline),
        None => reply,
    })
}

/// 诉求: a villager's request becomes a task (default 黄) owned by the leader,
/// who hands it on.
pub async fn request(
    tx: &mut Tx,
    turn: &Turn<'_>,
    team: &TeamRow,
    text: &str,
    level: Option<Level>,
) -> StoreResult<Reply> {
    let week = turn.week_str();
    let level = level.unwrap_or(Level::Yellow);
    let deadline = turn.default_deadline(level, &limits(team));
    let leader = groups::team_people(tx, team.team_id)
        .await?
        .into_iter()
        .find(|(_, role)| role == "leader")
        .map(|(p, _)| p);
    let task = NewTask {
        text: text.to_string(),
        level: level.as_str(),
        deadline_at: turn.to_ms(deadline),
        source: "request",
        owners: leader.iter().map(|l| l.id).collect(),
    };
    let ids =
        store_tasks::insert_tasks(tx, team.team_id, &week, turn.me, turn.now_ms, &[task]).await?;
    let Some(&(task_id, no)) = ids.first() else {
        return Err(crate::store::StoreError::Other(anyhow::anyhow!(
            "request task was not inserted"
        )));
    };
    crate::store::records::insert_request(
        tx,
        team.team_id,
        &week,
        turn.me,
        text,
        task_id,
        turn.now_ms,
    )
    .await?;
    let leader = leader.as_ref().map(people::mention);
    requests::prompt_leader(tx, turn, task_id, no, level, text, leader.as_ref()).await?;
    Ok(reply::requests::registered(
        no,
        deadline,
        turn.holiday_of(deadline).as_deref(),
    ))
}
