//! Turning names typed after @ into people.
//!
//! DingTalk callbacks carry the @-ed people's ids (`atUsers`) but not their
//! names, and the text carries the names but not the ids. A name resolves, in
//! order: to an @-ed person already known under that name; to the one person
//! of that name seen in the group or on its team; else the still-unmatched
//! names are paired, in order, with the still-unmatched @-ed ids, and those
//! people are recorded under the typed name.
//!
//! WeCom callbacks carry neither names nor ids of @-ed people, and a person
//! nobody has named yet is shown by their user id. So, as a last resort
//! before pairing, a typed name that equals the user id of someone seen in
//! the group (or on its team) resolves to them.

use super::Turn;
use crate::reply::{self, Mention, Reply};
use crate::store::groups::{self, PersonRow};
use crate::store::{StoreResult, Tx};

/// Resolves every name, or says which one could not be resolved.
pub async fn resolve(
    tx: &mut Tx,
    turn: &Turn<'_>,
    names: &[String],
) -> StoreResult<Result<Vec<PersonRow>, Reply>> {
    let platform = turn.msg.platform.as_str();
    // The @-ed people we already know, by id.
    let mut mentioned: Vec<(String, Option<PersonRow>)> = Vec::new();
    for id in &turn.msg.mentioned {
        if mentioned.iter().any(|(m, _)| m == id) {
            continue;
        }
        let known = groups::person_by_platform_id(tx, platform, id).await?;
        mentioned.push((id.clone(), known));
    }
    let mut used: Vec<bool> = vec![false; mentioned.len()];
    let mut out: Vec<Option<PersonRow>> = vec![None; names.len()];

    for (i, name) in names.iter().enumerate() {
        if let Some(j) = (0..mentioned.len()).find(|&j| {
            !used[j]
                && mentioned[j]
                    .1
                    .as_ref()
                    .is_some_and(|p| &p.display_name == name)
        }) {
            used[j] = true;
            out[i] = mentioned[j].1.clone();
            continue;
        }
        let found = groups::people_named_in_group(tx, turn.group_id, name).await?;
        match found.len() {
            0 => {
                out[i] =
                    groups::person_in_group_by_user_id(tx, platform, turn.group_id, name).await?;
            }
            1 => out[i] = found.into_iter().next(),
            _ => return Ok(Err(reply::name_ambiguous(name))),
        }
        if let Some(p) = &out[i]
            && let Some(j) = mentioned
                .iter()
                .position(|(id, _)| id == &p.platform_user_id)
        {
            used[j] = true;
        }
    }

    // Pair what is left, in order.
    let mut free = (0..mentioned.len()).filter(|&j| !used[j]);
    for (i, name) in names.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        let Some(j) = free.next() else {
            return Ok(Err(reply::name_unknown(name)));
        };
        let id = &mentioned[j].0;
        let pid = groups::upsert_person(tx, platform, id, name, turn.now_ms).await?;
        groups::touch_member(tx, turn.group_id, pid, turn.now_ms).await?;
        out[i] = Some(PersonRow {
            id: pid,
            platform_user_id: id.clone(),
            display_name: name.clone(),
        });
    }
    let mut people: Vec<PersonRow> = out.into_iter().flatten().collect();
    people.dedup_by_key(|p| p.id);
    Ok(Ok(people))
}

pub fn mention(p: &PersonRow) -> Mention {
    Mention::new(&p.platform_user_id, &p.display_name)
}
