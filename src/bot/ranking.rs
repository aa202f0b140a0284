//! 排名: the township's ranking for this month so far (or last month).
//!
//! Counting a township's month reads many rows, so [`prefetch`] does it in a
//! read transaction before the turn's write transaction: on SQLite the single
//! writer never waits for it. The turn uses the prefetched reply when the
//! group's team is still the one it was computed for.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::command::{Command, ParseError};
use crate::domain::ranking::Month;
use crate::domain::zone::team_tz;
use crate::platform::Inbound;
use crate::reply::{Reply, ranking as say};
use crate::store::groups::TeamRow;
use crate::store::{self, Db, StoreError, StoreResult, Tx};

/// Teams listed before the group's own place.
pub const TOP: usize = 10;

/// A 排名 reply computed ahead of the turn.
#[derive(Clone)]
pub(crate) struct Prefetched {
    pub team_id: i64,
    pub reply: Reply,
}

/// If `msg` is 排名 (`parsed`, as [`super::handle`] parsed it) in a bound
/// group, its reply, read outside the write path.
pub(crate) async fn prefetch(
    db: &Db,
    default_tz: Tz,
    now: DateTime<Utc>,
    msg: &Inbound,
    parsed: Option<&Result<Command, ParseError>>,
) -> Result<Option<Prefetched>, StoreError> {
    let Some(&Ok(Command::Rank { last_month })) = parsed else {
        return Ok(None);
    };
    let platform = msg.platform.as_str();
    let conversation = msg.conversation_id.clone();
    let sender = msg.sender.id.clone();
    // Boxed: only 排名 gets here, and the read's future would otherwise
    // make every message's future several times larger.
    // A read that may write back the township's counts (store::ranking::
    // current_team_months).
    Box::pin(db.read_fresh(move |tx| {
        Box::pin(async move {
            let ctx = store::groups::context(tx, platform, &conversation, &sender).await?;
            let Some(team) = ctx.and_then(|c| c.team()) else {
                return Ok(None);
            };
            let reply = rank(tx, &team, last_month, default_tz, now.timestamp_millis()).await?;
            Ok(Some(Prefetched {
                team_id: team.team_id,
                reply,
            }))
        })
    }))
    .await
}

/// The 排名 reply for `team`'s township.
pub(crate) async fn rank(
    tx: &mut Tx,
    team: &TeamRow,
    last_month: bool,
    default_tz: Tz,
    now_ms: i64,
) -> StoreResult<Reply> {
    let tz = team_tz(team.timezone.as_deref(), default_tz);
    let this = Month::of(crate::domain::week::utc_ms_to_local(tz, now_ms).date());
    let month = if last_month { this.prev() } else { this };
    let Some(r) =
        store::ranking::township_ranking(tx, team.township_id, Some(month), default_tz, now_ms)
            .await?
    else {
        return Err(StoreError::NotFound);
    };
    let as_of = r.as_of_day(now_ms);
    let mine = r.of_team(team.team_id).map(|x| r.line(x));
    Ok(say::ranking(
        &r.township,
        month.month,
        as_of,
        &r.lines(TOP),
        mine.as_ref(),
        r.is_idle(team.team_id),
        r.ranked.len(),
        &r.idle_labels(),
    ))
}
