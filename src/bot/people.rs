//! Turning names typed after @ into people.
//!
//! DingTalk callbacks carry the @-ed people's ids (`atUsers`) but not their
//! names, and the text carries the names but not the ids. A name resolves, in
//! order: to an @-ed person already known under that name; to the one person
//! of that name seen in the group or on its team; else the still-unmatched
//! names are paired, in order, with the still-unmatched @-ed ids, and those
//! people are recorded under the typed name.
//!
//! A typed name never renames a person who belongs to another township.
//!
//! WeCom callbacks carry neither names nor ids of @-ed people, and a person
//! nobody has named yet is shown by their user id. So, as a last resort
//! before pairing, a typed name that equals the user id of someone seen in
//! the group (or on its team) resolves to them.

use super::Turn;
use crate::reply::{self, Mention, Reply};
use crate::store::admin::{self, Owned};
use crate::store::groups::{self, PersonRow};
use crate::store::{StoreResult, Tx};

/// Whom a typed name resolved to, before anything is stored.
#[derive(Debug, Clone)]
pub enum Pick {
    /// A person already known (by name in the group, or as the @-ed id).
    Known(PersonRow),
    /// Paired with a still-unmatched @-ed id; [`record`] stores them under
    /// the typed name. `known` is the person of that id, if any.
    Paired {
        user_id: String,
        name: String,
        known: Option<PersonRow>,
    },
}

impl Pick {
    /// The stored person's id, if the person is stored already.
    pub fn person_id(&self) -> Option<i64> {
        match self {
            Pick::Known(p) => Some(p.id),
            Pick::Paired { known, .. } => known.as_ref().map(|p| p.id),
        }
    }

    /// The platform user id.
    pub fn user_id(&self) -> &str {
        match self {
            Pick::Known(p) => &p.platform_user_id,
            Pick::Paired { user_id, .. } => user_id,
        }
    }
}

/// Resolves every name, or says which one could not be resolved. People
/// first seen here are stored (see [`pick`] and [`record`]).
pub async fn resolve(
    tx: &mut Tx,
    turn: &Turn<'_>,
    names: &[String],
) -> StoreResult<Result<Vec<PersonRow>, Reply>> {
    match pick(tx, turn, names).await? {
        Ok(picks) => Ok(Ok(record(tx, turn, picks).await?)),
        Err(refusal) => Ok(Err(refusal)),
    }
}

/// Resolves every name without storing anything, or says which one could
/// not be resolved. Each name gives one pick, in order.
pub async fn pick(
    tx: &mut Tx,
    turn: &Turn<'_>,
    names: &[String],
) -> StoreResult<Result<Vec<Pick>, Reply>> {
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
    let mut out: Vec<Option<Pick>> = vec![None; names.len()];

    for (i, name) in names.iter().enumerate() {
        if let Some(j) = (0..mentioned.len()).find(|&j| {
            !used[j]
                && mentioned[j]
                    .1
                    .as_ref()
                    .is_some_and(|p| &p.display_name == name)
        }) {
            used[j] = true;
            out[i] = mentioned[j].1.clone().map(Pick::Known);
            continue;
        }
        let found = groups::people_named_in_group(tx, turn.group_id, name).await?;
        let person = match found.len() {
            0 => groups::person_in_group_by_user_id(tx, platform, turn.group_id, name).await?,
            1 => found.into_iter().next(),
            _ => return Ok(Err(reply::name_ambiguous(name))),
        };
        if let Some(p) = &person
            && let Some(j) = mentioned
                .iter()
                .position(|(id, _)| id == &p.platform_user_id)
        {
            used[j] = true;
        }
        out[i] = person.map(Pick::Known);
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
        let (user_id, known) = mentioned[j].clone();
        out[i] = Some(Pick::Paired {
            user_id,
            name: name.clone(),
            known,
        });
    }
    Ok(Ok(out.into_iter().flatten().collect()))
}

/// Stores what [`pick`] found: a paired person is recorded under the typed
/// name and noted as seen in the group. A person known under another name
/// who belongs to another township keeps their name: a group cannot rename
/// another township's people.
pub async fn record(tx: &mut Tx, turn: &Turn<'_>, picks: Vec<Pick>) -> StoreResult<Vec<PersonRow>> {
    let platform = turn.msg.platform.as_str();
    let mut people = Vec::with_capacity(picks.len());
    for p in picks {
        let row = match p {
            Pick::Known(row) => row,
            Pick::Paired {
                user_id,
                name,
                known,
            } => {
                let keep = match &known {
                    Some(k) if !k.display_name.is_empty() && k.display_name != name => {
                        !renamable_here(tx, turn, k.id).await?
                    }
                    _ => false,
                };
                let display_name = if keep {
                    known.map(|k| k.display_name).unwrap_or_default()
                } else {
                    name
                };
                let pid = groups::upsert_person(tx, platform, &user_id, &display_name, turn.now_ms)
                    .await?;
                groups::touch_member(tx, turn.group_id, pid, turn.now_ms).await?;
                PersonRow {
                    id: pid,
                    platform_user_id: user_id,
                    display_name,
                }
            }
        };
        people.push(row);
    }
    people.dedup_by_key(|p| p.id);
    Ok(people)
}

/// Whether this group may rename the person: they belong to no township
/// other than the group's own.
async fn renamable_here(tx: &mut Tx, turn: &Turn<'_>, person_id: i64) -> StoreResult<bool> {
    let here = admin::township_of(tx, Owned::Group, turn.group_id)
        .await?
        .flatten();
    let theirs = admin::person_townships(tx, person_id).await?;
    Ok(theirs.iter().all(|t| Some(*t) == here))
}

pub fn mention(p: &PersonRow) -> Mention {
    Mention::new(&p.platform_user_id, &p.display_name)
}
