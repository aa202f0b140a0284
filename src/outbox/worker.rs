//! Sends what the outbox holds: lease due rows, send, record the outcome.
//!
//! [`Worker::deliver_due`] is the step the tests call; [`Worker::run`] loops
//! it. Within a step, sends run concurrently (up to `concurrency`) and new
//! rows are claimed as soon as slots free up, so a fan-out to thousands of
//! groups keeps the pipe full instead of waiting for the slowest of a batch.
//!
//! What a row needs is read at send time (a changed push robot applies to
//! what waits) and handed to the platform seam ([`Senders`]), which picks
//! the route, renders mentions its way, sends and classifies the failure.
//! A push meant to reach the people it mentions ([`super::Reach::People`])
//! whose route could not notify them (it wrote them `@名字`) is followed by
//! the same text 1:1 to each of them, queued as rows of their own.
//!
//! Mentions are kept only for people of the target's platform: in a team
//! with groups on two platforms, a member of one appears in the other's
//! group as `@名字`, without a mention the platform cannot resolve.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{Payload, Stored};
use crate::clock::SharedClock;
use crate::platform::Platform;
use crate::platform::send::{Destination, Message, SendError, Senders};
use crate::reply::Reply;
use crate::store::outbox::{self, Claimed, NewPush};
use crate::store::{Db, StoreError, groups};
use crate::telemetry;

/// Tuning of the worker.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Sends in flight at once.
    pub concurrency: usize,
    /// How long a claimed row is ours before another replica may take it.
    pub lease_ms: i64,
    /// Spacing between two sends of one robot (20 a minute = 3 s).
    pub spacing_ms: i64,
    /// Pause between polls when nothing is due.
    pub poll: Duration,
    /// Attempts before a temporary failure becomes a dead letter.
    pub max_attempts: i64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            concurrency: 32,
            lease_ms: 60_000,
            spacing_ms: 3_000,
            poll: Duration::from_millis(500),
            max_attempts: 20,
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub sent: u64,
    pub retried: u64,
    pub throttled: u64,
    pub dead: u64,
}

impl Delivered {
    pub fn total(&self) -> u64 {
        self.sent + self.retried + self.throttled + self.dead
    }

    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Sent => self.sent += 1,
            Outcome::Retried => self.retried += 1,
            Outcome::Throttled => self.throttled += 1,
            Outcome::Dead => self.dead += 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Sent,
    Retried,
    Throttled,
    Dead,
}

/// The outbox worker of one replica.
#[derive(Clone)]
pub struct Worker {
    db: Db,
    clock: SharedClock,
    senders: Arc<Senders>,
    /// Identifies this replica's leases.
    pub id: String,
    pub config: WorkerConfig,
}

impl Worker {
    pub fn new(
        db: Db,
        clock: SharedClock,
        senders: Arc<Senders>,
        config: WorkerConfig,
    ) -> anyhow::Result<Worker> {
        let id = format!("{}-{:08x}", hostname(), fastrand::u32(..));
        Ok(Worker {
            db,
            clock,
            senders,
            id,
            config,
        })
    }

    /// Sends everything due now, then returns. Claims a batch ahead of the
    /// free send slots, so a slot that frees up starts its next send at once
    /// instead of waiting for a claim (a batch is sent well within its lease).
    pub async fn deliver_due(&self) -> anyhow::Result<Delivered> {
        let concurrency = self.config.concurrency.max(1);
        let sem = Arc::new(Semaphore::new(concurrency));
        let mut tasks: JoinSet<Outcome> = JoinSet::new();
        let mut queue: std::collections::VecDeque<Claimed> = std::collections::VecDeque::new();
        let mut done = Delivered::default();
        loop {
            while let Some(r) = tasks.try_join_next() {
                done.add(r.context("a send task panicked")?);
            }
            if queue.is_empty() {
                queue.extend(self.claim(concurrency).await?);
                if queue.is_empty() {
                    break;
                }
            }
            let permit = Arc::clone(&sem)
                .acquire_owned()
                .await
                .context("semaphore closed")?;
            let Some(row) = queue.pop_front() else { break };
            let me = self.clone();
            tasks.spawn(async move {
                let outcome = me.send_one(row).await;
                drop(permit);
                outcome
            });
        }
        while let Some(r) = tasks.join_next().await {
            done.add(r.context("a send task panicked")?);
        }
        Ok(done)
    }

    /// Loops [`Self::deliver_due`] until `shutdown`, then gives back leases.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            match self.deliver_due().await {
                Ok(d) if d.total() > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "outbox step failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll) => {}
                _ = shutdown.changed() => break,
            }
            if *shutdown.borrow() {
                break;
            }
        }
        let id = self.id.clone();
        match self
            .db
            .write(move |tx| Box::pin(async move { outbox::release(tx, &id).await }))
            .await
        {
            Ok(n) => tracing::info!(released = n, "outbox worker stopped"),
            Err(e) => tracing::error!(error = %e, "cannot release outbox leases"),
        }
    }

    async fn claim(&self, limit: usize) -> Result<Vec<Claimed>, StoreError> {
        let now = self.clock.now_ms();
        let backend = self.db.backend();
        let (worker, lease, spacing) = (
            self.id.clone(),
            self.config.lease_ms,
            self.config.spacing_ms,
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    outbox::claim_due(tx, backend, now, &worker, lease, spacing, limit).await
                })
            })
            .await
    }

    /// Sends one claimed row and records what happened. Never fails: every
    /// outcome is written back (or, if even that fails, the lease expires and
    /// the row is tried again).
    async fn send_one(&self, row: Claimed) -> Outcome {
        let now = self.clock.now_ms();
        let result = self.try_send(&row, now).await;
        let (outcome, update) = match result {
            Ok(follow) => (Outcome::Sent, Update::Sent(follow)),
            Err(SendError::Throttled { code, message }) => {
                let until = now + self.throttle_pause_ms(&row.bot);
                (
                    Outcome::Throttled,
                    Update::Throttled {
                        until,
                        error: format!("{code}: {message}"),
                    },
                )
            }
            Err(SendError::Retry { code, message })
                if row.attempts + 1 < self.config.max_attempts =>
            {
                let next = now + backoff_ms(row.attempts);
                (
                    Outcome::Retried,
                    Update::Retry {
                        next,
                        error: format!("{code}: {message}"),
                    },
                )
            }
            Err(e) => (
                Outcome::Dead,
                Update::Dead {
                    error: format!("{}: {e}", e.code()),
                },
            ),
        };
        let (id, robot_key) = (row.id, row.robot_key.clone());
        let at = self.clock.now_ms();
        let recorded = self
            .db
            .write(move |tx| {
                Box::pin(async move {
                    match update {
                        Update::Sent(follow) => {
                            for p in &follow {
                                outbox::enqueue(tx, p, at).await?;
                            }
                            outbox::mark_sent(tx, id, at).await
                        }
                        Update::Retry { next, error } => {
                            outbox::reschedule(tx, id, next, &error).await
                        }
                        Update::Throttled { until, error } => {
                            outbox::pause_robot(tx, &robot_key, until).await?;
                            outbox::reschedule(tx, id, until, &error).await
                        }
                        Update::Dead { error } => outbox::kill(tx, id, &error).await,
                    }
                })
            })
            .await;
        if let Err(e) = recorded {
            // The platform has the message but we could not say so: the lease
            // runs out and the row is sent again. Counted, never silent.
            tracing::error!(error = %e, outbox_id = row.id, "cannot record a push outcome");
            telemetry::push("unrecorded");
        }
        telemetry::push(match outcome {
            Outcome::Sent => "sent",
            Outcome::Retried => "retried",
            Outcome::Throttled => "throttled",
            Outcome::Dead => "dead",
        });
        outcome
    }

    /// Sends a row; on success returns the pushes that follow it (the 1:1
    /// messages of a push meant to reach people that went out by name).
    async fn try_send(&self, row: &Claimed, now: i64) -> Result<Vec<NewPush>, SendError> {
        let Stored {
            payload,
            reach_people,
        } = serde_json::from_str(&row.message).map_err(|e| SendError::Fatal {
            code: "bad_payload".into(),
            message: e.to_string(),
        })?;
        let platform = self
            .senders
            .platform(&row.bot)
            .ok_or_else(|| SendError::Fatal {
                code: "unknown_bot".into(),
                message: format!("bot {} is not configured", row.bot),
            })?;
        let to = self.destination(row, platform, reach_people).await?;
        let route = self.senders.route(&row.bot, &to, reach_people, now)?;
        let reply = self.own_mentions(&payload.reply, platform).await?;
        let msg = Message {
            title: &payload.title,
            markdown: payload.markdown,
            reply: &reply,
        };
        self.senders.send(&row.bot, &route, msg, now).await?;
        if reach_people && !route.notifies_mentions() && row.group_id.is_some() {
            return self
                .direct_follow_ups(row, &payload, &reply, platform, now)
                .await;
        }
        Ok(Vec::new())
    }

    /// The 1:1 pushes that follow a group message which had to name people
    /// instead of mentioning them: the same text to each of them, due now
    /// (the group message already waited out quiet hours), once per row and
    /// person whatever happens to the row later.
    async fn direct_follow_ups(
        &self,
        row: &Claimed,
        payload: &Payload,
        reply: &Reply,
        platform: Platform,
        now: i64,
    ) -> Result<Vec<NewPush>, SendError> {
        let ids: Vec<String> = reply.mentions.iter().map(|m| m.user_id.clone()).collect();
        let people = self
            .db
            .read(move |tx| {
                Box::pin(async move {
                    let mut people = Vec::with_capacity(ids.len());
                    for id in ids {
                        if let Some(p) =
                            groups::person_by_platform_id(tx, platform.as_str(), &id).await?
                        {
                            people.push(p.id);
                        }
                    }
                    Ok(people)
                })
            })
            .await
            .map_err(|e: StoreError| SendError::Retry {
                code: "store".into(),
                message: e.to_string(),
            })?;
        let direct = Payload {
            reply: Reply::text(reply.text.clone()),
            ..payload.clone()
        };
        let message = super::to_json(&direct, false).map_err(|e| SendError::Retry {
            code: "store".into(),
            message: e.to_string(),
        })?;
        let mut out: Vec<NewPush> = Vec::with_capacity(people.len());
        for pid in people {
            if out.iter().any(|p| p.person_id == Some(pid)) {
                continue;
            }
            out.push(NewPush {
                dedupe_key: format!("direct-of:{}:u{pid}", row.id),
                group_id: None,
                person_id: Some(pid),
                bot: row.bot.clone(),
                robot_key: crate::platform::send::person_robot_key(&row.bot, pid),
                message: message.clone(),
                due_at: now,
            });
        }
        Ok(out)
    }

    /// How long a robot of `bot` rests after the platform throttled it.
    fn throttle_pause_ms(&self, bot: &str) -> i64 {
        let pause = self
            .senders
            .platform(bot)
            .map(Senders::throttle_pause)
            .unwrap_or(Duration::from_secs(600));
        i64::try_from(pause.as_millis()).unwrap_or(600_000)
    }

    /// `reply` with only the mentions of people known on `platform`: a team
    /// may have groups on both platforms, and a user id of one means nothing
    /// on the other. The others stay in the text as `@名字`.
    async fn own_mentions(&self, reply: &Reply, platform: Platform) -> Result<Reply, SendError> {
        if reply.mentions.is_empty() {
            return Ok(reply.clone());
        }
        let ids: Vec<String> = reply.mentions.iter().map(|m| m.user_id.clone()).collect();
        let known = self
            .db
            .read(move |tx| {
                Box::pin(async move {
                    let mut known = Vec::with_capacity(ids.len());
                    for id in ids {
                        known.push(
                            groups::person_by_platform_id(tx, platform.as_str(), &id)
                                .await?
                                .is_some(),
                        );
                    }
                    Ok(known)
                })
            })
            .await
            .map_err(|e: StoreError| SendError::Retry {
                code: "store".into(),
                message: e.to_string(),
            })?;
        let mut out = reply.clone();
        out.mentions = reply
            .mentions
            .iter()
            .zip(known)
            .filter(|(_, k)| *k)
            .map(|(m, _)| m.clone())
            .collect();
        Ok(out)
    }

    /// What the store knows of a row's target, for the seam to route by.
    /// The group's sessionWebhook is read only for a push meant to reach
    /// people and without a push robot of its own (the one case it decides).
    async fn destination(
        &self,
        row: &Claimed,
        platform: Platform,
        reach_people: bool,
    ) -> Result<Destination, SendError> {
        let store_err = |e: StoreError| SendError::Retry {
            code: "store".into(),
            message: e.to_string(),
        };
        if let Some(gid) = row.group_id {
            let t = self
                .db
                .read(move |tx| Box::pin(async move { groups::push_target(tx, gid).await }))
                .await
                .map_err(store_err)?
                .ok_or_else(|| SendError::Fatal {
                    code: "no_group".into(),
                    message: format!("group {gid} is gone"),
                })?;
            let session = if reach_people && t.push_webhook_token.is_none() {
                self.db
                    .read(move |tx| Box::pin(async move { groups::session_webhook(tx, gid).await }))
                    .await
                    .map_err(store_err)?
            } else {
                None
            };
            return Ok(Destination::Group {
                group_id: gid,
                conversation_id: t.conversation_id,
                push_token: t.push_webhook_token,
                push_secret: t.push_webhook_secret,
                session,
            });
        }
        if let Some(pid) = row.person_id {
            let user_id = if Senders::pushes_to_people(platform) {
                let p = self
                    .db
                    .read(move |tx| Box::pin(async move { groups::person(tx, pid).await }))
                    .await
                    .map_err(store_err)?;
                Some(p.platform_user_id)
            } else {
                None
            };
            return Ok(Destination::Person {
                person_id: pid,
                user_id,
            });
        }
        Err(SendError::Fatal {
            code: "no_target".into(),
            message: "push has neither group nor person".into(),
        })
    }
}

enum Update {
    /// Sent; with the 1:1 pushes that follow it.
    Sent(Vec<NewPush>),
    Retry {
        next: i64,
        error: String,
    },
    Throttled {
        until: i64,
        error: String,
    },
    Dead {
        error: String,
    },
}

/// Exponential backoff with jitter: 5 s, 10 s, 20 s … capped at 10 minutes.
pub fn backoff_ms(attempts: i64) -> i64 {
    let base = 5_000i64.saturating_mul(1i64 << attempts.clamp(0, 10));
    let capped = base.min(600_000);
    let jitter = fastrand::i64(0..=capped / 5);
    capped - capped / 10 + jitter
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "liancun".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps_with_jitter() {
        for a in 0..30 {
            let b = backoff_ms(a);
            let base = (5_000i64 << a.min(10)).min(600_000);
            assert!(
                b >= base * 9 / 10 && b <= base * 11 / 10,
                "attempt {a}: {b}"
            );
        }
    }
}
