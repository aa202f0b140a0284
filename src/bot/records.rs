//! 服务, 走访, 评价.

use super::Turn;
use crate::command::TaskNo;
use crate::domain::rating::Score;
use crate::reply::{self, Reply};
use crate::store::groups::TeamRow;
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
        Some(no) => match tasks::task_by_no(tx, team.team_id, &week, i64::from(no.0)).await? {
            Some(t) => Some(t.task.id),
            None => return Ok(reply::task_not_found(i64::from(no.0), &week)),
        },
        None => None,
    };
    records::insert_service(tx, team.team_id, &week, task_id, turn.me, text, turn.now_ms).await?;
    let c = records::week_counts(tx, team.team_id, &week, turn.me).await?;
    Ok(reply::service_recorded(
        task.map(|n| i64::from(n.0)),
        c.my_services,
        c.services,
    ))
}

pub async fn visit(
    tx: &mut Tx,
    turn: &Turn<'_>,
    team: &TeamRow,
    household: &str,
    text: &str,
) -> StoreResult<Reply> {
    let week = turn.week_str();
    records::insert_visit(
        tx,
        team.team_id,
        &week,
        turn.me,
        household,
        text,
        turn.now_ms,
    )
    .await?;
    let c = records::week_counts(tx, team.team_id, &week, turn.me).await?;
    Ok(reply::visit_recorded(household, c.my_visits, c.visits))
}

pub async fn rate(
    tx: &mut Tx,
    turn: &Turn<'_>,
    team: &TeamRow,
    score: Score,
    comment: &str,
) -> StoreResult<Reply> {
    let week = turn.week_str();
    let score = i64::from(score.get());
    let before = ratings::summary(tx, team.team_id, &week, turn.me).await?;
    ratings::upsert(
        tx,
        team.team_id,
        &week,
        turn.me,
        score,
        comment,
        turn.now_ms,
    )
    .await?;
    let after = before.with_rating(score);
    Ok(reply::rated(
        score,
        before.mine.is_some(),
        after.raters,
        after.average(),
    ))
}
