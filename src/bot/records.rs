//! 服务, 走访, 评价.

use super::Turn;
use crate::command::TaskNo;
use crate::domain::household::parse_household;
use crate::domain::rating::Score;
use crate::reply::{self, Reply, duties};
use crate::store::groups::TeamRow;
use crate::store::households::{self, Household};
use crate::store::{StoreResult, Tx, ratings, records, tasks};

pub async fn serve(
    tx: &mut Tx,
    turn: &Turn<'_>,
    team: &TeamRow,
    task: Option<TaskNo>,
    text: &str,
) -> StoreResult<Reply> {
    let week = turn.week_str();
    let task_id = match task {
        Some(no) => match tasks::task_by_no(tx, team.team_id, i64::from(no.0)).await? {
            Some(t) => Some(t.task.id),
            None => return Ok(reply::task_not_found(i64::from(no.0))),
        },
        None => None,
    };
    let c = records::insert_service_counted(
        tx,
        team.team_id,
        &week,
        task_id,
        turn.me,
        text,
        turn.now_ms,
    )
    .await?;
    Ok(reply::service_recorded(
        task.map(|n| i64::from(n.0)),
        c.mine,
        c.team,
    ))
}

/// 走访: ties the visit to the village's registered household when the name
/// (and 小组, if written) picks exactly one; asks which one, storing
/// nothing, when several share the name; records an unregistered household
/// otherwise.
pub async fn visit(
    tx: &mut Tx,
    turn: &Turn<'_>,
    team: &TeamRow,
    household: &str,
    text: &str,
) -> StoreResult<Reply> {
    let (household_id, label) = match parse_household(household) {
        Some(h) => {
            let found = households::by_names(tx, team.village_id, &h.lookup_names()).await?;
            match pick(&found, h.subgroup.as_deref()) {
                Pick::One(row) => (
                    Some(row.id),
                    duties::household_label(&row.name, &row.subgroup),
                ),
                Pick::Ambiguous(groups) => {
                    return Ok(duties::visit_ambiguous(&found[0].name, &groups));
                }
                Pick::None => (None, household.to_string()),
            }
        }
        None => (None, household.to_string()),
    };
    let week = turn.week_str();
    let c = records::insert_visit_counted(
        tx,
        team.team_id,
        &week,
        turn.me,
        household,
        household_id,
        text,
        turn.now_ms,
    )
    .await?;
    Ok(duties::visit_recorded(
        &label,
        household_id.is_some(),
        c.mine,
        c.team,
    ))
}

/// Which registered household a visit names.
#[derive(Debug, PartialEq)]
enum Pick<'a> {
    One(&'a Household),
    /// The 小组s of the households that share the name.
    Ambiguous(Vec<String>),
    None,
}

/// `found`: the registered households of the name. With a 小组 written, the
/// one of that 小组 (or the only one of a village without 小组s); without,
/// the only one.
fn pick<'a>(found: &'a [Household], subgroup: Option<&str>) -> Pick<'a> {
    let only = |rows: Vec<&'a Household>| match rows.as_slice() {
        [one] => Pick::One(one),
        _ => Pick::None,
    };
    match subgroup {
        Some(g) => match only(found.iter().filter(|h| h.subgroup == g).collect()) {
            Pick::None => only(found.iter().filter(|h| h.subgroup.is_empty()).collect()),
            one => one,
        },
        None => match found {
            [] => Pick::None,
            [one] => Pick::One(one),
            many => {
                let mut groups: Vec<String> = many.iter().map(|h| h.subgroup.clone()).collect();
                groups.dedup();
                Pick::Ambiguous(groups)
            }
        },
    }
}

pub async fn rate(
    tx: &mut Tx,
    turn: &Turn<'_>,
    team: &TeamRow,
    score: Score,
    comment: &str,
) -> StoreResult<Reply> {
    // A rating counts for the week of the team's latest airing, which
    // invited it: this week once its airing is out, else last week (the
    // week's ratings are open until the next week's airing). A team with
    // neither airing yet rates this week.
    let this = turn.week_str();
    let prev = turn.week.prev().to_string();
    let score = i64::from(score.get());
    let (week, before) = ratings::rate(
        tx,
        team.team_id,
        [&this, &prev],
        turn.me,
        score,
        comment,
        turn.now_ms,
    )
    .await?;
    let last_week = week == prev;
    let after = before.with_rating(score);
    Ok(reply::rated(
        score,
        before.mine.is_some(),
        after.raters,
        after.average(),
        last_week.then_some(week.as_str()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(id: i64, name: &str, subgroup: &str) -> Household {
        Household {
            id,
            village_id: 1,
            name: name.into(),
            subgroup: subgroup.into(),
            phone: None,
        }
    }

    #[test]
    fn picking_the_registered_household() {
        let two = [h(1, "张大爷", "3"), h(2, "张大爷", "5")];
        assert_eq!(pick(&two, Some("5")), Pick::One(&two[1]));
        assert_eq!(
            pick(&two, None),
            Pick::Ambiguous(vec!["3".into(), "5".into()])
        );
        assert_eq!(
            pick(&two, Some("7")),
            Pick::None,
            "another 小组: not registered"
        );
        let one = [h(3, "李四", "2")];
        assert_eq!(
            pick(&one, None),
            Pick::One(&one[0]),
            "the only one needs no 小组"
        );
        let flat = [h(4, "王五", "")];
        assert_eq!(
            pick(&flat, Some("2")),
            Pick::One(&flat[0]),
            "a village without 小组s"
        );
        assert_eq!(pick(&[], None), Pick::None);
        assert_eq!(pick(&[], Some("1")), Pick::None);
    }
}
