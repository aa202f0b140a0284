//! 绑定 and 设团长/设团员.

use super::{Turn, people};
use crate::reply::{self, Reply};
use crate::store::groups::{self, TeamRow};
use crate::store::{StoreResult, Tx, audit};
use serde_json::json;

pub async fn bind(
    tx: &mut Tx,
    turn: &Turn<'_>,
    township: &str,
    village: &str,
    team: Option<&str>,
) -> StoreResult<Reply> {
    let team = team
        .map(str::to_string)
        .unwrap_or_else(|| reply::default_team_name(village));
    let (team_id, before) =
        groups::bind_group(tx, turn.group_id, township, village, &team, turn.now_ms).await?;
    audit::record(
        tx,
        turn.now_ms,
        &turn.actor(),
        "bind",
        &format!("group:{}", turn.group_id),
        before.map(|b| json!({ "team_id": b })).as_ref(),
        Some(
            &json!({ "team_id": team_id, "township": township, "village": village, "team": team }),
        ),
    )
    .await?;
    Ok(reply::bound(township, village, &team, before.is_some()))
}

pub async fn set_role(
    tx: &mut Tx,
    turn: &Turn<'_>,
    team: &TeamRow,
    leader: bool,
    names: &[String],
) -> StoreResult<Reply> {
    let people = match people::resolve(tx, turn, names).await? {
        Ok(p) => p,
        Err(refusal) => return Ok(refusal),
    };
    if leader && people.len() > 1 {
        return Ok(reply::one_leader_only());
    }
    let old_leader = if leader {
        groups::team_people(tx, team.team_id)
            .await?
            .into_iter()
            .find(|(p, role)| role == "leader" && p.id != people[0].id)
            .map(|(p, _)| p)
    } else {
        None
    };
    let role = if leader { "leader" } else { "member" };
    for p in &people {
        let before = groups::set_role(tx, team.team_id, p.id, role, turn.now_ms).await?;
        audit::record(
            tx,
            turn.now_ms,
            &turn.actor(),
            "set_role",
            &format!("team:{}/person:{}", team.team_id, p.id),
            before.map(|r| json!({ "role": r })).as_ref(),
            Some(&json!({ "role": role, "name": p.display_name, "user_id": p.platform_user_id })),
        )
        .await?;
    }
    if let Some(old) = &old_leader {
        audit::record(
            tx,
            turn.now_ms,
            &turn.actor(),
            "set_role",
            &format!("team:{}/person:{}", team.team_id, old.id),
            Some(&json!({ "role": "leader" })),
            Some(&json!({ "role": "member", "name": old.display_name, "user_id": old.platform_user_id })),
        )
        .await?;
    }
    let mentions: Vec<_> = people.iter().map(people::mention).collect();
    Ok(reply::roles_set(
        leader,
        &mentions,
        old_leader.as_ref().map(people::mention).as_ref(),
    ))
}
