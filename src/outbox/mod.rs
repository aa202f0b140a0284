//! Durable outgoing messages.
//!
//! A push is written with [`enqueue_group`] / [`enqueue_person`] inside the
//! transaction of the change or firing that causes it, under a key unique per
//! cause, so a re-run writes nothing twice. [`worker::Worker`] leases due
//! rows, sends them and records the outcome; nothing is dropped silently.

pub mod worker;

use chrono::{NaiveTime, Timelike};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::platform::send::{self as seam, PART_BYTES};
use crate::reply::Reply;
use crate::store::groups::PushTarget;
use crate::store::outbox::{self, NewPush};
use crate::store::{StoreResult, Tx};

/// What an outbox row carries: the platform-neutral message and its form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    pub title: String,
    pub markdown: bool,
    pub reply: Reply,
}

/// An outbox row's message as stored: the payload, and whether the push
/// exists to reach the people it mentions (an overdue alert to its owners,
/// the Monday reminder to the leader). Such a push prefers a route that
/// really notifies them (see [`worker`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    #[serde(flatten)]
    pub payload: Payload,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reach_people: bool,
}

/// When a push may go out.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The instant the cause happened (the firing's slot, or now).
    pub at_ms: i64,
    /// Spread over this many ms by group, so thousands of groups are not
    /// all sent in the same second.
    pub spread_ms: i64,
    /// Respect quiet hours (scheduled pushes do; what a person asked for
    /// through the admin API does not).
    pub quiet: Option<(Tz, QuietHours)>,
}

/// No pushes between `start` and `end` (local time, wrapping midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Default for QuietHours {
    fn default() -> Self {
        QuietHours {
            start: NaiveTime::from_hms_opt(21, 30, 0).unwrap_or_default(),
            end: NaiveTime::from_hms_opt(7, 30, 0).unwrap_or_default(),
        }
    }
}

impl QuietHours {
    /// Whether `t` falls inside the quiet hours. The start itself is not
    /// quiet: the 21:30 plan_missing alert (Monday night) goes out on time.
    pub fn contains(&self, t: NaiveTime) -> bool {
        let t = t.with_nanosecond(0).unwrap_or(t);
        if self.start <= self.end {
            t > self.start && t < self.end
        } else {
            t > self.start || t < self.end
        }
    }

    /// `at_ms`, or the end of the quiet hours it falls in.
    pub fn defer(&self, tz: Tz, at_ms: i64) -> i64 {
        let local = crate::domain::week::utc_ms_to_local(tz, at_ms);
        if !self.contains(local.time()) {
            return at_ms;
        }
        let mut day = local.date();
        if local.time() > self.end {
            day = day.succ_opt().unwrap_or(day);
        }
        crate::domain::week::local_to_utc(tz, day.and_time(self.end)).timestamp_millis()
    }
}

impl Timing {
    fn due(&self, spread_seed: i64) -> i64 {
        let offset = if self.spread_ms > 0 {
            // A fixed offset per group (not random): a re-run lands on the same time.
            (spread_seed.unsigned_abs().wrapping_mul(2_654_435_761) % self.spread_ms.unsigned_abs())
                as i64
        } else {
            0
        };
        // Quiet hours judge the firing, not the spread: a 21:30 alert spread
        // over three minutes still goes out that evening, while a firing
        // inside quiet hours waits for their end (and is spread from there).
        let base = match self.quiet {
            Some((tz, q)) => q.defer(tz, self.at_ms),
            None => self.at_ms,
        };
        base + offset
    }
}

/// The send budget key of a group: one robot in one group, or the group's own
/// push robot (the platform says which, [`seam::group_robot_key`]).
pub fn group_robot_key(t: &PushTarget, robot_code: Option<&str>) -> String {
    seam::group_robot_key(
        t.platform,
        t.group_id,
        &t.bot,
        &t.conversation_id,
        t.push_webhook_token.is_some(),
        robot_code,
    )
}

fn parts(payload: &Payload) -> Vec<Payload> {
    let texts = seam::split(&payload.reply.text, PART_BYTES);
    if texts.len() <= 1 {
        return vec![payload.clone()];
    }
    texts
        .into_iter()
        .map(|text| Payload {
            reply: Reply::with_mentions(text, payload.reply.mentions.clone()),
            ..payload.clone()
        })
        .collect()
}

pub(crate) fn to_json(p: &Payload, reach_people: bool) -> StoreResult<String> {
    let stored = Stored {
        payload: p.clone(),
        reach_people,
    };
    serde_json::to_string(&stored)
        .map_err(|e| crate::store::StoreError::Other(anyhow::Error::new(e)))
}

/// Writes a push to a group; returns how many rows were new (long messages
/// become several parts).
pub async fn enqueue_group(
    tx: &mut Tx,
    target: &PushTarget,
    robot_code: Option<&str>,
    key: &str,
    payload: &Payload,
    timing: Timing,
    now_ms: i64,
) -> StoreResult<usize> {
    let reach = Reach::Group;
    enqueue_group_to(tx, target, robot_code, key, payload, timing, now_ms, reach).await
}

/// Whom a group push is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The group as a whole.
    Group,
    /// The people it mentions: the push prefers a route that notifies them.
    People,
}

/// [`enqueue_group`] for a push of the given [`Reach`].
#[allow(clippy::too_many_arguments)]
pub async fn enqueue_group_to(
    tx: &mut Tx,
    target: &PushTarget,
    robot_code: Option<&str>,
    key: &str,
    payload: &Payload,
    timing: Timing,
    now_ms: i64,
    reach: Reach,
) -> StoreResult<usize> {
    let robot_key = group_robot_key(target, robot_code);
    let due = timing.due(target.group_id);
    let mut n = 0;
    for (i, part) in parts(payload).iter().enumerate() {
        let p = NewPush {
            dedupe_key: format!("{key}:g{}:p{}", target.group_id, i + 1),
            group_id: Some(target.group_id),
            person_id: None,
            bot: target.bot.clone(),
            robot_key: robot_key.clone(),
            message: to_json(part, reach == Reach::People)?,
            due_at: due,
        };
        n += usize::from(outbox::enqueue(tx, &p, now_ms).await?);
    }
    Ok(n)
}

/// Writes a 1:1 push to a person (a township admin) through `bot`.
pub async fn enqueue_person(
    tx: &mut Tx,
    person_id: i64,
    bot: &str,
    key: &str,
    payload: &Payload,
    timing: Timing,
    now_ms: i64,
) -> StoreResult<usize> {
    let due = timing.due(person_id);
    let mut n = 0;
    for (i, part) in parts(payload).iter().enumerate() {
        let p = NewPush {
            dedupe_key: format!("{key}:u{person_id}:p{}", i + 1),
            group_id: None,
            person_id: Some(person_id),
            bot: bot.to_string(),
            robot_key: seam::person_robot_key(bot, person_id),
            message: to_json(part, false)?,
            due_at: due,
        };
        n += usize::from(outbox::enqueue(tx, &p, now_ms).await?);
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn quiet_hours_wrap_midnight_and_spare_their_start() {
        let q = QuietHours::default();
        for (time, quiet) in [
            (t(21, 30), false),
            (t(21, 31), true),
            (t(23, 0), true),
            (t(0, 0), true),
            (t(7, 29), true),
            (t(7, 30), false),
            (t(12, 0), false),
        ] {
            assert_eq!(q.contains(time), quiet, "{time}");
        }
    }

    #[test]
    fn deferred_to_the_end_of_quiet_hours() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let q = QuietHours::default();
        // 22:00 local on Dec 2 → 07:30 local on Dec 3 (= 23:30 UTC Dec 2).
        let at = Utc
            .with_ymd_and_hms(2026, 12, 2, 14, 0, 0)
            .unwrap()
            .timestamp_millis();
        let want = Utc
            .with_ymd_and_hms(2026, 12, 2, 23, 30, 0)
            .unwrap()
            .timestamp_millis();
        assert_eq!(q.defer(tz, at), want);
        // 03:00 local on Dec 3 → 07:30 the same morning.
        let at = Utc
            .with_ymd_and_hms(2026, 12, 2, 19, 0, 0)
            .unwrap()
            .timestamp_millis();
        assert_eq!(q.defer(tz, at), want);
        // Daytime is untouched.
        let noon = Utc
            .with_ymd_and_hms(2026, 12, 3, 4, 0, 0)
            .unwrap()
            .timestamp_millis();
        assert_eq!(q.defer(tz, noon), noon);
    }

    #[test]
    fn a_firing_at_the_start_of_quiet_hours_is_not_pushed_to_the_morning_by_its_spread() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        // Monday 21:30 local, spread over three minutes.
        let at = Utc
            .with_ymd_and_hms(2026, 11, 30, 13, 30, 0)
            .unwrap()
            .timestamp_millis();
        let timing = Timing {
            at_ms: at,
            spread_ms: 180_000,
            quiet: Some((tz, QuietHours::default())),
        };
        for g in 0..200 {
            let d = timing.due(g);
            assert!((at..at + 180_000).contains(&d), "group {g}: {d}");
        }
        // A firing inside quiet hours waits for 07:30 and is spread from there.
        let night = Utc
            .with_ymd_and_hms(2026, 11, 30, 15, 0, 0)
            .unwrap()
            .timestamp_millis();
        let morning = Utc
            .with_ymd_and_hms(2026, 11, 30, 23, 30, 0)
            .unwrap()
            .timestamp_millis();
        let timing = Timing {
            at_ms: night,
            ..timing
        };
        assert!((morning..morning + 180_000).contains(&timing.due(7)));
    }

    #[test]
    fn spread_is_stable_and_bounded() {
        let timing = Timing {
            at_ms: 1_000,
            spread_ms: 180_000,
            quiet: None,
        };
        for g in 0..500 {
            let d = timing.due(g);
            assert!((1_000..181_000).contains(&d));
            assert_eq!(
                d,
                timing.due(g),
                "the same group always lands on the same time"
            );
        }
        let distinct: std::collections::HashSet<i64> =
            (0..500).map(|g| timing.due(g) / 1_000).collect();
        assert!(
            distinct.len() > 100,
            "spread over many seconds: {}",
            distinct.len()
        );
    }
}
