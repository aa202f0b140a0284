//! 绑定 and 设团长/设团员.

use super::{Turn, people};
use crate::domain::role::{self, BindChange, BindRefusal, Binder, MAX_TEAM_MEMBERS, WhoMay};
use crate::reply::{self, Reply};
use crate::store::groups::{self, TeamRow};
use crate::store::{StoreResult, Tx, audit};
use serde_json::json;

/// 绑定: checks who may (see [`role::may_bind`]) before anything is
/// created; a refusal changes nothing but the audit log.
pub async fn bind(
    tx: &mut Tx,
    turn: &Turn<'_>,
    current: Option<&TeamRow>,
    township: &str,
    village: &str,
    team: Option<&str>,
) -> StoreResult<Reply> {
    let team = team
        .map(str::to_string)
        .unwrap_or_else(|| reply::default_team_name(village));
    let platform = turn.msg.platform.as_str();
    let target = groups::bind_target(tx, platform, turn.group_id, township, village, &team).await?;
    let admin_of_target = match target.township_id {
        Some(t) => groups::is_township_admin(tx, t, turn.me).await?,
        None => false,
    };
    let current_township = current.map(|c| c.township_id);
    let admin_of_current = match current_township {
        Some(t) if Some(t) == target.township_id => admin_of_target,
        Some(t) => groups::is_township_admin(tx, t, turn.me).await?,
        None => false,
    };
    let who = Binder {
        bot_admin: turn.actor.admin,
        group_admin: turn.actor.group_admin,
        admin_of_target,
        admin_of_current,
    };
    let change = BindChange {
        new_township: target.township_id.is_none(),
        new_village: target.village_id.is_none(),
        moves_group: current.is_some_and(|c| Some(c.team_id) != target.team_id),
        team_has_group: target.team_has_group,
    };
    let asked = json!({ "township": township, "village": village, "team": team });
    if let Err(why) = role::may_bind(who, change) {
        let reason = match why {
            BindRefusal::NotAllowed => "not_allowed",
            BindRefusal::NewPlace => "new_place",
            BindRefusal::TeamTaken => "team_taken",
            BindRefusal::GroupBound => "group_bound",
        };
        let mut after = asked;
        after["refused"] = json!(reason);
        audit::record(
            tx,
            turn.now_ms,
            &turn.actor(),
            "bind.refused",
            &format!("group:{}", turn.group_id),
            current.map(|c| json!({ "team_id": c.team_id })).as_ref(),
            Some(&after),
        )
        .await?;
        return Ok(match why {
            BindRefusal::NotAllowed => reply::not_allowed("绑定", WhoMay::GroupAdmin),
            BindRefusal::NewPlace if target.township_id.is_none() => {
                reply::access::bind_needs_new_township(township)
            }
            BindRefusal::NewPlace => reply::access::bind_needs_new_village(township, village),
            BindRefusal::TeamTaken => reply::access::bind_team_taken(township, &team),
            BindRefusal::GroupBound => {
                let c = current.map(|c| {
                    (
                        c.township_name.as_str(),
                        c.village_name.as_str(),
                        c.team_name.as_str(),
                    )
                });
                reply::access::bind_group_taken(c.unwrap_or_default(), township)
            }
        });
    }
    let (team_id, before) =
        groups::bind_group(tx, turn.group_id, township, village, &team, turn.now_ms).await?;
    let mut after = asked;
    after["team_id"] = json!(team_id);
    audit::record(
        tx,
        turn.now_ms,
        &turn.actor(),
        "bind",
        &format!("group:{}", turn.group_id),
        before.map(|b| json!({ "team_id": b })).as_ref(),
        Some(&after),
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
    // Bounded like the admin API's roster, before any name is looked up.
    let named = names.len().max(turn.msg.mentioned.len());
    if named > MAX_TEAM_MEMBERS {
        return Ok(reply::access::too_many_named(MAX_TEAM_MEMBERS, named));
    }
    let mut picks = match people::pick(tx, turn, names).await? {
        Ok(p) => p,
        Err(refusal) => return Ok(refusal),
    };
    let mut seen = std::collections::HashSet::new();
    picks.retain(|p| seen.insert(p.user_id().to_string()));
    if leader && picks.len() > 1 {
        return Ok(reply::one_leader_only());
    }
    let roster = groups::team_people(tx, team.team_id).await?;
    // 设团员 naming the leader would leave the team without one (and a
    // leader who names himself could not undo it): refused, nothing changed.
    if !leader
        && let Some((p, _)) = roster
            .iter()
            .find(|(p, role)| role == "leader" && picks.iter().any(|k| k.person_id() == Some(p.id)))
    {
        return Ok(reply::access::leader_not_member(&people::mention(p)));
    }
    if !leader {
        let is_member = |id: Option<i64>| {
            roster
                .iter()
                .any(|(p, role)| Some(p.id) == id && role == "member")
        };
        let now = roster.iter().filter(|(_, role)| role == "member").count();
        let adding = picks.iter().filter(|p| !is_member(p.person_id())).count();
        if now + adding > MAX_TEAM_MEMBERS {
            return Ok(reply::access::team_full(MAX_TEAM_MEMBERS, now, adding));
        }
    }
    let people = people::record(tx, turn, picks).await?;
    let old_leader = match (leader, people.first()) {
        (true, Some(new)) => roster
            .into_iter()
            .find(|(p, role)| role == "leader" && p.id != new.id)
            .map(|(p, _)| p),
        _ => None,
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
    if !leader && mentions.len() > reply::access::MAX_NAMED_IN_REPLY {
        return Ok(reply::access::members_set_many(&mentions));
    }
    Ok(reply::roles_set(
        leader,
        &mentions,
        old_leader.as_ref().map(people::mention).as_ref(),
    ))
}
