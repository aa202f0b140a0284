//! 绑定 and 设团长/设团员.

use super::{Turn, people};
use crate::reply::{self, Reply};
use crate::store::groups::{self, TeamRow};
use crate::store::{StoreResult, Tx};

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
    let (_, before) =
        groups::bind_group(tx, turn.group_id, township, village, &team, turn.now_ms).await?;
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
        groups::set_role(tx, team.team_id, p.id, role, turn.now_ms).await?;
    }
    let mentions: Vec<_> = people.iter().map(people::mention).collect();
    Ok(reply::roles_set(
        leader,
        &mentions,
        old_leader.as_ref().map(people::mention).as_ref(),
    ))
}
