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

use super::{JOBS, JobCtx, Scope, shift_rule};
use crate::clock::SharedClock;
use crate::domain::calendar::{ShiftRule, Shifted};
use crate::domain::week::{local_to_utc, utc_ms_to_local};
use crate::jobs::schedule::Schedule;
use crate::store::jobs as q;
use crate::telemetry;

/// One firing the tick dealt with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    pub job: String,
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

const WEEK_MS: i64 = 7 * 86_400_000;

/// The firings of `schedule` after `after_ms` and at or before `now`, in
/// township time `tz`, moved by the holiday `rule`.
pub fn due_slots(
    schedule: &Schedule,
    tz: Tz,
    rule: ShiftRule,
    calendar: &crate::domain::calendar::HolidayCalendar,
    after_ms: i64,
    now: DateTime<Utc>,
) -> Vec<Due> {
    let after = DateTime::from_timestamp_millis(after_ms).unwrap_or(now);
    if matches!(rule, ShiftRule::None) {
        return schedule
            .slots_between(tz, after, now, 10_000)
            .into_iter()
            .map(|s| Due::Fire { slot: s, at: s })
            .collect();
    }
    // A shifted firing may land up to a week from its slot, either way.
    let from = after - Duration::milliseconds(WEEK_MS);
    let until = now + Duration::milliseconds(WEEK_MS);
    let mut out = Vec::new();
    for slot in schedule.slots_between(tz, from, until, 10_000) {
        let local = utc_ms_to_local(tz, slot.timestamp_millis());
        let at = match calendar.shift(local.date(), rule) {
            Shifted::Same(_) => slot,
            Shifted::Moved(d) => local_to_utc(tz, d.and_time(local.time())),
            Shifted::Skipped => {
                if slot > after && slot <= now {
                    out.push(Due::Holiday { slot });
                }
                continue;
            }
        };
        if at > after && at <= now {
            out.push(Due::Fire { slot, at });
        }
    }
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
            let tz = tz
                .as_deref()
                .and_then(|z| z.parse::<Tz>().ok())
                .unwrap_or(self.ctx.default_tz);
            let overrides = self
                .ctx
                .db
                .read(move |tx| {
                    Box::pin(async move { q::schedule_overrides(tx, township_id).await })
                })
                .await?;
            let scope = Scope::Township(township_id);
            for job in JOBS {
                let schedule = match overrides.iter().find(|(j, _)| j == job) {
                    Some((_, cron)) => match Schedule::parse_optional(cron) {
                        Ok(s) => s,
                        Err(e) => {
                            // Validated on entry; a bad row can only come from outside the API.
                            tracing::error!(%township, job, error = %e, "bad schedule override; using the default");
                            self.ctx.settings.schedule.get(job).cloned()
                        }
                    },
                    None => self.ctx.settings.schedule.get(job).cloned(),
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
                    due_slots(&schedule, tz, shift_rule(job), &cal, after, now)
                };
                for d in due {
                    if let Some(f) = self.fire(job, scope, d, now, grace).await? {
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
        job: &'static str,
        scope: Scope,
        due: Due,
        now: DateTime<Utc>,
        grace: Duration,
    ) -> anyhow::Result<Option<Firing>> {
        let key = scope.key();
        let worker = self.worker.clone();
        let now_ms = now.timestamp_millis();
        let (slot, at, status) = match due {
            Due::Holiday { slot } => (slot, slot, "holiday"),
            Due::Fire { slot, at } if at < now - grace => (slot, at, "skipped"),
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
                    tracing::warn!(job, scope = %key, slot = %slot, "firing missed beyond the grace window: skipped");
                } else {
                    tracing::info!(job, scope = %key, slot = %slot, "no workday left that week: firing skipped");
                }
                metrics::counter!(telemetry::FIRINGS, "job" => job, "outcome" => status)
                    .increment(1);
            }
            return Ok(won.then(|| Firing {
                job: job.into(),
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
                    let report = super::run_in(tx, &ctx, job, scope, at, false, now).await?;
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
                    job: job.into(),
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
                    job: job.into(),
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
