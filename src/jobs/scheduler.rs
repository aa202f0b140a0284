//! The tick loop: which firings are due, claimed once across replicas.
//!
//! Every tick looks, per township and job, at the slots between the job's
//! cursor and now (holiday-shifted), claims each by inserting
//! `(job, scope, slot)` into `job_firings` — only one replica's insert wins,
//! as in graphile-worker's cron — and runs it in the same transaction. A slot
//! missed by more than the grace window (the service was down) is recorded as
//! skipped and logged instead of run late.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::{Job, JobCtx, Scope};
use crate::clock::SharedClock;
use crate::domain::calendar::{ShiftRule, Shifted};
use crate::domain::schedule::Schedule;
use crate::domain::week::{local_to_utc, utc_ms_to_local};
use crate::store::jobs as q;
use crate::telemetry;

/// One firing the tick dealt with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    pub job: Job,
    pub scope: String,
    pub slot: DateTime<Utc>,
    pub fire_at: DateTime<Utc>,
    /// `done`, `failed`, `skipped` (too late) or `holiday` (no workday that week).
    pub status: String,
    pub enqueued: usize,
}

pub struct Scheduler {
    pub ctx: JobCtx,
    pub clock: SharedClock,
    /// Who claims (replica id), for the record.
    pub worker: String,
}

/// A slot of a schedule and when it really fires (after holiday shifting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Fire {
        slot: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    Holiday {
        slot: DateTime<Utc>,
    },
}

/// Most slots looked at per tick and job (a schedule firing every second
/// over a day-long outage); older ones are simply not run.
const MAX_SLOTS: usize = 100_000;

/// The firings of `schedule` after `after_ms` and at or before `now`, in
/// township time `tz`, moved by the holiday `rule`.
///
/// Slots on ordinary workdays fire as scheduled. A slot on a day off either
/// moves to another day of the same week (it fires then, claimed under its
/// own slot) or, with no workday left that way, is recorded as a holiday.
pub fn due_slots(
    schedule: &Schedule,
    tz: Tz,
    rule: ShiftRule,
    calendar: &crate::domain::calendar::HolidayCalendar,
    after_ms: i64,
    now: DateTime<Utc>,
) -> Vec<Due> {
    let after = DateTime::from_timestamp_millis(after_ms).unwrap_or(now);
    let mut out = Vec::new();
    // Slots in the window whose own day is a workday (or that never move).
    for slot in schedule.slots_between(tz, after, now, MAX_SLOTS) {
        let day = utc_ms_to_local(tz, slot.timestamp_millis()).date();
        match calendar.shift(day, rule) {
            Shifted::Same(_) => out.push(Due::Fire { slot, at: slot }),
            Shifted::Skipped => out.push(Due::Holiday { slot }),
            // Fires on another day: found below from that day's side.
            Shifted::Moved(_) => {}
        }
    }
    if matches!(rule, ShiftRule::None | ShiftRule::SkipWeekOff) {
        return out;
    }
    // Slots of days off that moved into the window's days (same ISO week, so
    // at most six days away).
    let first = utc_ms_to_local(tz, after.timestamp_millis()).date();
    let last = utc_ms_to_local(tz, now.timestamp_millis()).date();
    let mut day = first - Duration::days(6);
    while day <= last + Duration::days(6) {
        if let Shifted::Moved(to) = calendar.shift(day, rule)
            && to >= first
            && to <= last
        {
            let start =
                local_to_utc(tz, day.and_time(chrono::NaiveTime::MIN)) - Duration::milliseconds(1);
            let end = local_to_utc(
                tz,
                (day + Duration::days(1)).and_time(chrono::NaiveTime::MIN),
            ) - Duration::milliseconds(1);
            for slot in schedule.slots_between(tz, start, end, MAX_SLOTS) {
                let local = utc_ms_to_local(tz, slot.timestamp_millis());
                let at = local_to_utc(tz, to.and_time(local.time()));
                if at > after && at <= now {
                    out.push(Due::Fire { slot, at });
                }
            }
        }
        day += Duration::days(1);
    }
    out.sort_by_key(|d| match d {
        Due::Fire { at, .. } => *at,
        Due::Holiday { slot } => *slot,
    });
    out
}

impl Scheduler {
    /// Looks at the clock once and runs what is due. Returns what it did.
    pub async fn tick(&self) -> anyhow::Result<Vec<Firing>> {
        let now = self.clock.now();
        let grace = Duration::minutes(self.ctx.settings.scheduler.grace_minutes);
        let townships = self
            .ctx
            .db
            .read(|tx| Box::pin(async move { q::townships(tx).await }))
            .await?;
        let mut out = Vec::new();
        for (township_id, township, tz) in townships {
            let tz = crate::domain::zone::team_tz(tz.as_deref(), self.ctx.default_tz);
            let overrides = self
                .ctx
                .db
                .read(move |tx| {
                    Box::pin(async move { q::schedule_overrides(tx, township_id).await })
                })
                .await?;
            let scope = Scope::Township(township_id);
            for kind in Job::ALL {
                // The job's name, as the store keeps it.
                let job = kind.as_str();
                let schedule = match overrides.iter().find(|(j, _)| j == job) {
                    Some((_, cron)) => match Schedule::parse_optional(cron) {
                        Ok(s) => s,
                        Err(e) => {
                            // Validated on entry; a bad row can only come from outside the API.
                            tracing::error!(%township, job, error = %e, "bad schedule override; using the default");
                            self.ctx.settings.schedule.get(kind).cloned()
                        }
                    },
                    None => self.ctx.settings.schedule.get(kind).cloned(),
                };
                let Some(schedule) = schedule else { continue };
                let key = scope.key();
                let cursor = {
                    let key = key.clone();
                    self.ctx
                        .db
                        .read(move |tx| Box::pin(async move { q::cursor(tx, job, &key).await }))
                        .await?
                };
                let after = cursor.unwrap_or((now - grace).timestamp_millis());
                let due = {
                    let cal = self
                        .ctx
                        .calendar
                        .read()
                        .map_err(|_| anyhow::anyhow!("calendar lock poisoned"))?;
                    due_slots(&schedule, tz, kind.shift_rule(), &cal, after, now)
                };
                // Several slots due at once means they were missed (the
                // service was down): only the latest runs, the older ones are
                // recorded as skipped — nobody wants three copies of a reminder.
                let last_fire = due.iter().rposition(|d| matches!(d, Due::Fire { .. }));
                for (i, d) in due.into_iter().enumerate() {
                    let superseded = matches!(d, Due::Fire { .. }) && Some(i) != last_fire;
                    if let Some(f) = self.fire(kind, scope, d, now, grace, superseded).await? {
                        out.push(f);
                    }
                }
                let now_ms = now.timestamp_millis();
                self.ctx
                    .db
                    .write(move |tx| {
                        Box::pin(async move { q::advance_cursor(tx, job, &key, now_ms).await })
                    })
                    .await?;
            }
        }
        Ok(out)
    }

    /// Claims and runs one due slot. `None` if another replica had it.
    async fn fire(
        &self,
        kind: Job,
        scope: Scope,
        due: Due,
        now: DateTime<Utc>,
        grace: Duration,
        superseded: bool,
    ) -> anyhow::Result<Option<Firing>> {
        let job = kind.as_str();
        let key = scope.key();
        let worker = self.worker.clone();
        let now_ms = now.timestamp_millis();
        let (slot, at, status) = match due {
            Due::Holiday { slot } => (slot, slot, "holiday"),
            Due::Fire { slot, at } if superseded || at < now - grace => (slot, at, "skipped"),
            Due::Fire { slot, at } => (slot, at, "done"),
        };
        if status != "done" {
            let (k, w) = (key.clone(), worker.clone());
            let won = self
                .ctx
                .db
                .write(move |tx| {
                    Box::pin(async move {
                        q::claim_firing(
                            tx,
                            job,
                            &k,
                            slot.timestamp_millis(),
                            at.timestamp_millis(),
                            status,
                            &w,
                            now_ms,
                        )
                        .await
                    })
                })
                .await?;
            if won {
                if status == "skipped" {
                    tracing::warn!(job, scope = %key, slot = %slot, superseded, "missed firing skipped (beyond the grace window, or a later slot runs instead)");
                } else {
                    tracing::info!(job, scope = %key, slot = %slot, "no workday left that week: firing skipped");
                }
                metrics::counter!(telemetry::FIRINGS, "job" => job, "outcome" => status)
                    .increment(1);
            }
            return Ok(won.then(|| Firing {
                job: kind,
                scope: key,
                slot,
                fire_at: at,
                status: status.into(),
                enqueued: 0,
            }));
        }
        let ctx = self.ctx.clone();
        let (k, w) = (key.clone(), worker.clone());
        let ran = self
            .ctx
            .db
            .write(move |tx| {
                Box::pin(async move {
                    let won = q::claim_firing(
                        tx,
                        job,
                        &k,
                        slot.timestamp_millis(),
                        at.timestamp_millis(),
                        "running",
                        &w,
                        now_ms,
                    )
                    .await?;
                    if !won {
                        return Ok(None);
                    }
                    let report = super::run_in(tx, &ctx, kind, scope, at, false, now).await?;
                    let n = i64::try_from(report.enqueued).unwrap_or(i64::MAX);
                    q::finish_firing(
                        tx,
                        job,
                        &k,
                        slot.timestamp_millis(),
                        "done",
                        n,
                        None,
                        now_ms,
                    )
                    .await?;
                    Ok::<_, crate::store::StoreError>(Some(report))
                })
            })
            .await;
        match ran {
            Ok(None) => Ok(None),
            Ok(Some(report)) => {
                metrics::counter!(telemetry::FIRINGS, "job" => job, "outcome" => "done")
                    .increment(1);
                let lag = (now - at).num_milliseconds().max(0) as f64 / 1000.0;
                metrics::histogram!(telemetry::FIRING_LAG, "job" => job).record(lag);
                Ok(Some(Firing {
                    job: kind,
                    scope: key,
                    slot,
                    fire_at: at,
                    status: "done".into(),
                    enqueued: report.enqueued,
                }))
            }
            Err(e) => {
                tracing::error!(job, scope = %key, slot = %slot, error = %e, "firing failed; nothing of it was kept");
                metrics::counter!(telemetry::FIRINGS, "job" => job, "outcome" => "failed")
                    .increment(1);
                let err = e.to_string();
                self.ctx
                    .db
                    .write(move |tx| {
                        Box::pin(async move {
                            if q::claim_firing(
                                tx,
                                job,
                                &key,
                                slot.timestamp_millis(),
                                at.timestamp_millis(),
                                "failed",
                                &worker,
                                now_ms,
                            )
                            .await?
                            {
                                q::finish_firing(
                                    tx,
                                    job,
                                    &key,
                                    slot.timestamp_millis(),
                                    "failed",
                                    0,
                                    Some(&err),
                                    now_ms,
                                )
                                .await?;
                            }
                            Ok::<_, crate::store::StoreError>(())
                        })
                    })
                    .await?;
                Ok(Some(Firing {
                    job: kind,
                    scope: scope.key(),
                    slot,
                    fire_at: at,
                    status: "failed".into(),
                    enqueued: 0,
                }))
            }
        }
    }

    /// Ticks every `tick_secs` until `shutdown`.
    pub async fn run(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let every = std::time::Duration::from_secs(self.ctx.settings.scheduler.tick_secs);
        loop {
            if let Err(e) = self.tick().await {
                tracing::error!(error = %e, "scheduler tick failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => break,
            }
            if *shutdown.borrow() {
                break;
            }
        }
        tracing::info!("scheduler stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::HolidayCalendar;
    use chrono::TimeZone;

    fn sh(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn frequent_schedules_with_a_shift_rule_still_fire() {
        // Every 6 s with a Friday-style rule: the window's slots, not a week's worth.
        let s = Schedule::parse("*/6 * * * * *").unwrap();
        let cal = HolidayCalendar::bundled();
        let now = sh(2026, 12, 2, 10, 0);
        let due = due_slots(
            &s,
            chrono_tz::Asia::Shanghai,
            ShiftRule::Earlier,
            &cal,
            (now - Duration::seconds(30)).timestamp_millis(),
            now,
        );
        assert_eq!(due.len(), 5, "{due:?}");
    }

    #[test]
    fn friday_jobs_move_earlier_over_national_day() {
        let s = Schedule::parse("0 0 15 * * Fri").unwrap();
        let cal = HolidayCalendar::bundled();
        let tz = chrono_tz::Asia::Shanghai;
        let due = due_slots(
            &s,
            tz,
            ShiftRule::Earlier,
            &cal,
            sh(2026, 9, 30, 14, 0).timestamp_millis(),
            sh(2026, 9, 30, 15, 1),
        );
        assert_eq!(
            due,
            vec![Due::Fire {
                slot: sh(2026, 10, 2, 15, 0),
                at: sh(2026, 9, 30, 15, 0)
            }]
        );
        // On the Friday itself nothing fires.
        let due = due_slots(
            &s,
            tz,
            ShiftRule::Earlier,
            &cal,
            sh(2026, 10, 2, 14, 0).timestamp_millis(),
            sh(2026, 10, 2, 16, 0),
        );
        assert!(due.is_empty(), "{due:?}");
    }

    #[test]
    fn monday_jobs_in_a_week_all_off_are_holidays() {
        let s = Schedule::parse("0 30 8 * * Mon").unwrap();
        let cal = HolidayCalendar::bundled();
        let due = due_slots(
            &s,
            chrono_tz::Asia::Shanghai,
            ShiftRule::Later,
            &cal,
            sh(2026, 2, 16, 8, 0).timestamp_millis(),
            sh(2026, 2, 16, 9, 0),
        );
        assert_eq!(
            due,
            vec![Due::Holiday {
                slot: sh(2026, 2, 16, 8, 30)
            }]
        );
        // The Monday after (2/23, off) moves to Tuesday 2/24.
        let due = due_slots(
            &s,
            chrono_tz::Asia::Shanghai,
            ShiftRule::Later,
            &cal,
            sh(2026, 2, 24, 8, 0).timestamp_millis(),
            sh(2026, 2, 24, 9, 0),
        );
        assert_eq!(
            due,
            vec![Due::Fire {
                slot: sh(2026, 2, 23, 8, 30),
                at: sh(2026, 2, 24, 8, 30)
            }]
        );
    }
}
