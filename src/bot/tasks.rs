//! 排清单, 加清单, 清单, 完成, 延期, 取消, 诉求.

use chrono::NaiveDateTime;

use super::{Turn, limits, people, requests};
use crate::command::{CommandKind, TaskDraft, TaskNo};
use crate::domain::level::Level;
use crate::domain::role::WhoMay;
use crate::domain::task::{
    self as rules, Now, PostponeError, PostponeRefusal, TaskFacts, TaskRefusal,
};
use crate::domain::week::IsoWeek;
use crate::reply::{self, Mention, Progress, Reply, TaskView};
use crate::store::groups::{self, TeamRow};
use crate::store::tasks::{self as store_tasks, NewTask, TaskWithOwners};
use crate::store::{StoreResult, Tx};

/// The owners' person ids, for [`facts`].
fn owner_ids(t: &TaskWithOwners) -> Vec<i64> {
    t.owners.iter().map(|(id, ..)| *id).collect()
}

/// The task as the rules see it; a stored week that does not parse counts
/// as this week's.
fn facts<'a>(turn: &Turn<'_>, t: &TaskWithOwners, owners: &'a [i64]) -> TaskFacts<'a> {
    TaskFacts {
        state: t.task.state,
        deadline_ms: t.task.deadline_at,
        closed_ms: t.task.closed_at,
        week: IsoWeek::parse(&t.task.week).unwrap_or(turn.week),
        late: t.task.carried_over != 0,
        owners,
    }
}

fn now(turn: &Turn<'_>) -> Now {
    Now {
        ms: turn.now_ms,
        tz: turn.tz,
    }
}

fn view(turn: &Turn<'_>, t: &TaskWithOwners) -> TaskView {
    TaskView {
        no: t.task.no,
        text: t.task.text.clone(),
        level: t.task.level,
        deadline: turn.to_local(t.task.deadline_at),
        state: rules::progress(&facts(turn, t, &[]), turn.now_ms),
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
            state: Progress::Open,
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

/// Loads `#no`: the team's open task of that number, whatever its week,
/// else the latest task that had it.
async fn load(
    tx: &mut Tx,
    team: &TeamRow,
    no: TaskNo,
) -> StoreResult<Result<TaskWithOwners, Reply>> {
    let no = i64::from(no.0);
    Ok(store_tasks::task_by_no(tx, team.team_id, no)
        .await?
        .ok_or_else(|| reply::task_not_found(no)))
}

/// What the sender is told when a task rule refuses: `kind` is the command.
fn refused(turn: &Turn<'_>, t: &TaskWithOwners, kind: CommandKind, why: TaskRefusal) -> Reply {
    let (no, text) = (t.task.no, &t.task.text);
    match why {
        TaskRefusal::NotOpen { cancelled } => reply::task_not_open(no, text, cancelled),
        TaskRefusal::NotOwner => reply::not_task_owner(no, text, &view(turn, t).owners),
        TaskRefusal::NotLeader => reply::not_allowed(kind.words()[0], WhoMay::Leader),
    }
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
        let t = match load(tx, team, no).await? {
            Ok(t) => t,
            Err(refusal) => return Ok(refusal),
        };
        let owners = owner_ids(&t);
        if let Err(why) = rules::close(&facts(turn, &t, &owners), turn.actor, turn.me) {
            return Ok(refused(turn, &t, CommandKind::Close, why));
        }
        found.push(t);
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
    let t = match load(tx, team, no).await? {
        Ok(t) => t,
        Err(refusal) => return Ok(refusal),
    };
    let owners = owner_ids(&t);
    let moved = match rules::postpone(
        &facts(turn, &t, &owners),
        turn.actor,
        turn.me,
        deadline,
        now(turn),
    ) {
        Ok(moved) => moved,
        Err(PostponeError::Task(why)) => return Ok(refused(turn, &t, CommandKind::Postpone, why)),
        Err(PostponeError::NotForward(why)) => {
            return Ok(reply::postpone_not_forward(
                &view(turn, &t),
                deadline,
                why == PostponeRefusal::InThePast,
                turn.local_now.date(),
            ));
        }
    };
    let from = turn.to_local(t.task.deadline_at);
    store_tasks::postpone(
        tx,
        t.task.id,
        t.task.deadline_at,
        turn.to_ms(deadline),
        &moved.week.to_string(),
        // Marks the task never on time (the store's `carried_over`).
        moved.late,
        reason,
        turn.me,
        turn.now_ms,
    )
    .await?;
    let times = store_tasks::postponements(tx, t.task.id).await?.len();
    let mut task = view(turn, &t);
    task.deadline = deadline;
    task.holiday = turn.holiday_of(deadline);
    Ok(reply::postponed(&task, from, reason, times, moved.moved_to))
}

pub async fn cancel(
    tx: &mut Tx,
    turn: &Turn<'_>,
    team: &TeamRow,
    no: TaskNo,
    reason: &str,
) -> StoreResult<Reply> {
    let t = match load(tx, team, no).await? {
        Ok(t) => t,
        Err(refusal) => return Ok(refusal),
    };
    let owners = owner_ids(&t);
    if let Err(why) = rules::cancel(&facts(turn, &t, &owners), turn.actor) {
        return Ok(refused(turn, &t, CommandKind::Cancel, why));
    }
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
    let t = match load(tx, team, no).await? {
        Ok(t) => t,
        Err(refusal) => return Ok(refusal),
    };
    let owners = owner_ids(&t);
    if let Err(why) = rules::assign(&facts(turn, &t, &owners), turn.actor) {
        return Ok(refused(turn, &t, CommandKind::Assign, why));
    }
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
