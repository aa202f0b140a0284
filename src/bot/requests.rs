//! 诉求 as the villager follows it: the leader's prompt to hand a new
//! request on, the word to the villager when it is handed on or done, and
//! 我的诉求.

use super::{Turn, people};
use crate::domain::level::Level;
use crate::outbox::{self, Payload, QuietHours, Timing};
use crate::reply::requests::{self as say, MyRequestState, MyRequestView};
use crate::reply::{Mention, Reply};
use crate::store::groups::{self, TeamRow};
use crate::store::requests as q;
use crate::store::{StoreResult, Tx};

/// Pushes to the group, @ the leader, the prompt to hand request `#no` on:
/// the villager's own reply carries no command meant for the leader. Keeps
/// quiet hours: a request raised at night reaches the leader at 07:30.
pub async fn prompt_leader(
    tx: &mut Tx,
    turn: &Turn<'_>,
    task_id: i64,
    no: i64,
    level: Level,
    text: &str,
    leader: Option<&Mention>,
) -> StoreResult<()> {
    let Some(target) = groups::push_target(tx, turn.group_id).await? else {
        return Ok(());
    };
    let robot_code = turn
        .settings
        .bot(&target.bot)
        .and_then(|b| b.robot_code.clone());
    let payload = Payload {
        title: say::to_leader_title().into(),
        markdown: false,
        reply: say::to_leader(no, level, text, leader),
    };
    let timing = Timing {
        at_ms: turn.now_ms,
        spread_ms: 0,
        quiet: Some((turn.tz, QuietHours::default())),
    };
    outbox::enqueue_group(
        tx,
        &target,
        robot_code.as_deref(),
        &format!("request:{task_id}:leader"),
        &payload,
        timing,
        turn.now_ms,
    )
    .await?;
    Ok(())
}

/// The villager who raised the request behind task `task_id`, if it is one.
pub async fn requester(tx: &mut Tx, task_id: i64) -> StoreResult<Option<Mention>> {
    Ok(q::requester(tx, task_id)
        .await?
        .as_ref()
        .map(people::mention))
}

/// 我的诉求: the sender's requests to this team, newest first.
pub async fn mine(tx: &mut Tx, turn: &Turn<'_>, team: &TeamRow) -> StoreResult<Reply> {
    let rows = q::mine(tx, team.team_id, turn.me, say::MAX_MY_REQUESTS).await?;
    let total = if (rows.len() as i64) < say::MAX_MY_REQUESTS {
        rows.len() as i64
    } else {
        q::count_mine(tx, team.team_id, turn.me).await?
    };
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let state = match r.state.as_str() {
            "closed" => MyRequestState::Closed {
                result: r.result.unwrap_or_default(),
            },
            "cancelled" => MyRequestState::Cancelled,
            _ => MyRequestState::Open {
                owners: q::owners(tx, r.task_id)
                    .await?
                    .iter()
                    .map(|p| people::mention(p).name)
                    .collect(),
                deadline: turn.to_local(r.deadline_at),
                overdue: r.deadline_at < turn.now_ms,
            },
        };
        items.push(MyRequestView {
            no: r.no,
            text: r.text,
            state,
        });
    }
    Ok(say::mine(&items, total))
}
