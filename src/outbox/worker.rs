//! Sends what the outbox holds: lease due rows, send, record the outcome.
//!
//! [`Worker::deliver_due`] is the step the tests call; [`Worker::run`] loops
//! it. Within a step, sends run concurrently (up to `concurrency`) and new
//! rows are claimed as soon as slots free up, so a fan-out to thousands of
//! groups keeps the pipe full instead of waiting for the slowest of a batch.
//!
//! What a row needs is read when its batch is claimed, for the whole batch
//! in one read (a changed push robot applies to what waits), and handed to
//! the platform seam ([`Senders`]), which picks the route, renders mentions
//! its way, sends and classifies the failure. Outcomes are recorded by one
//! recorder per step, which writes whatever sends have finished since its
//! last write in one transaction (group commit: an outcome waits at most for
//! the write before it, never for a timer), so a send costs a fraction of a
//! round trip on either side instead of a transaction of its own. A send's
//! slot frees up as soon as the platform answers, so the next send does not
//! wait for the write; outcomes not yet written are bounded apart (as many
//! as there are slots), so a crash leaves no more rows sent but unrecorded
//! (sent again after their lease) than that, plus the sends in flight.
//! A push meant to reach the people it mentions ([`super::Reach::People`])
//! whose route could not notify them (it wrote them `@名字`) is followed by
//! the same text 1:1 to each of them, queued as rows of their own.
//!
//! Mentions are kept only for people of the target's platform: in a team
//! with groups on two platforms, a member of one appears in the other's
//! group as `@名字`, without a mention the platform cannot resolve.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::{Payload, Stored};
use crate::clock::SharedClock;
use crate::platform::Platform;
use crate::platform::send::{Destination, Message, SendError, Senders};
use crate::reply::Reply;
use crate::store::outbox::{self, Claimed, GroupRoute, NewPush, Record};
use crate::store::{Db, StoreError};
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
        // Outcomes handed to the recorder and not yet written.
        let unrecorded = Arc::new(Semaphore::new(concurrency));
        let mut tasks: JoinSet<Outcome> = JoinSet::new();
        let mut queue: std::collections::VecDeque<(Claimed, Arc<BatchRoutes>)> =
            std::collections::VecDeque::new();
        let mut done = Delivered::default();
        let (records, recorded) = mpsc::unbounded_channel::<Recording>();
        let recorder = tokio::spawn(self.clone().record_outcomes(recorded));
        loop {
            while let Some(r) = tasks.try_join_next() {
                done.add(r.context("a send task panicked")?);
            }
            if queue.is_empty() {
                let batch = self.claim(concurrency).await?;
                if batch.is_empty() {
                    break;
                }
                let routes = Arc::new(self.routes(&batch).await);
                queue.extend(batch.into_iter().map(|r| (r, Arc::clone(&routes))));
            }
            let permit = Arc::clone(&sem)
                .acquire_owned()
                .await
                .context("semaphore closed")?;
            let Some((row, routes)) = queue.pop_front() else {
                break;
            };
            let me = self.clone();
            let records = records.clone();
            let unrecorded = Arc::clone(&unrecorded);
            tasks.spawn(async move {
                me.send_one(row, &routes, permit, &unrecorded, &records)
                    .await
            });
        }
        while let Some(r) = tasks.join_next().await {
            done.add(r.context("a send task panicked")?);
        }
        // Every send has handed its outcome over: the recorder writes what
        // is left and stops.
        drop(records);
        recorder.await.context("the outcome recorder panicked")?;
        Ok(done)
    }

    /// Writes outcomes as sends hand them over: everything that arrived
    /// while the last write ran goes in the next one. Ends when every sender
    /// of the channel is gone and all is written.
    async fn record_outcomes(self, mut rx: mpsc::UnboundedReceiver<Recording>) {
        let mut buf = Vec::new();
        while rx.recv_many(&mut buf, RECORD_BATCH).await > 0 {
            let (batch, permits): (Vec<Record>, Vec<_>) = std::mem::take(&mut buf)
                .into_iter()
                .map(|r| (r.record, r.permit))
                .unzip();
            self.record(batch).await;
            // Written (or counted as unrecorded): room for more outcomes.
            drop(permits);
        }
    }

    /// Records a batch of outcomes in one transaction. If that fails, each is
    /// tried in a transaction of its own, so one bad row costs no other its
    /// record (an unrecorded row is sent again when its lease runs out).
    async fn record(&self, batch: Vec<Record>) {
        let at = self.clock.now_ms();
        let batch = Arc::new(batch);
        let all = Arc::clone(&batch);
        let written = self
            .db
            .write(move |tx| Box::pin(async move { outbox::record(tx, at, &all).await }))
            .await;
        let Err(e) = written else { return };
        if batch.len() > 1 {
            tracing::warn!(error = %e, rows = batch.len(), "cannot record push outcomes together; one by one");
        }
        for r in batch.iter() {
            let one = vec![r.clone()];
            let written = self
                .db
                .write(move |tx| Box::pin(async move { outbox::record(tx, at, &one).await }))
                .await;
            if let Err(e) = written {
                // The platform has the message but we could not say so: the
                // lease runs out and the row is sent again. Counted, never
                // silent.
                tracing::error!(error = %e, outbox_id = r.id, "cannot record a push outcome");
                telemetry::push("unrecorded");
            }
        }
    }

    /// What a claimed batch needs to be routed, in one read. A failed read
    /// fails each row's send as a store error (tried again later).
    async fn routes(&self, batch: &[Claimed]) -> BatchRoutes {
        let group_ids: Vec<i64> = batch.iter().filter_map(|r| r.group_id).collect();
        let person_ids: Vec<i64> = batch
            .iter()
            .filter(|r| r.group_id.is_none())
            .filter(|r| {
                self.senders
                    .platform(&r.bot)
                    .is_some_and(Senders::pushes_to_people)
            })
            .filter_map(|r| r.person_id)
            .collect();
        // A message that does not parse fails its own send in `try_send`.
        let mut user_ids: Vec<String> = batch
            .iter()
            .filter_map(|r| serde_json::from_str::<Stored>(&r.message).ok())
            .flat_map(|m| m.payload.reply.mentions.into_iter().map(|m| m.user_id))
            .collect();
        user_ids.sort_unstable();
        user_ids.dedup();
        let read = self
            .db
            .read(move |tx| {
                Box::pin(
                    async move { outbox::routes(tx, &group_ids, &person_ids, &user_ids).await },
                )
            })
            .await;
        match read {
            Ok(r) => BatchRoutes(Ok(Known {
                groups: r.groups.into_iter().map(|g| (g.group_id, g)).collect(),
                people: r
                    .people
                    .into_iter()
                    .map(|p| (p.id, p.platform_user_id))
                    .collect(),
                mentioned: r
                    .mentioned
                    .into_iter()
                    .map(|m| ((m.platform, m.platform_user_id), m.id))
                    .collect(),
            })),
            Err(e) => BatchRoutes(Err(e.to_string())),
        }
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
    /// the row is tried again). `slot` is the send's; it is given back once
    /// the outcome has a place among the `unrecorded`, whose permit the
    /// recorder gives back when the outcome is written.
    async fn send_one(
        &self,
        row: Claimed,
        routes: &BatchRoutes,
        slot: OwnedSemaphorePermit,
        unrecorded: &Arc<Semaphore>,
        records: &mpsc::UnboundedSender<Recording>,
    ) -> Outcome {
        let now = self.clock.now_ms();
        let result = self.try_send(&row, routes, now).await;
        let permit = Arc::clone(unrecorded)
            .acquire_owned()
            .await
            .expect("the step never closes its semaphores");
        drop(slot);
        let (outcome, update) = match result {
            Ok(follow) => (Outcome::Sent, outbox::Outcome::Sent { follow }),
            Err(SendError::Throttled { code, message }) => {
                let until = now + self.throttle_pause_ms(&row.bot);
                (
                    Outcome::Throttled,
                    outbox::Outcome::Throttled {
                        until,
                        error: format!("{code}: {message}"),
                    },
                )
            }
            Err(SendError::Retry { code, message })
                if row.attempts + 1 < self.config.max_attempts =>
            {
                let next_at = now + backoff_ms(row.attempts);
                (
                    Outcome::Retried,
                    outbox::Outcome::Retry {
                        next_at,
                        error: format!("{code}: {message}"),
                    },
                )
            }
            Err(e) => (
                Outcome::Dead,
                outbox::Outcome::Dead {
                    error: format!("{}: {e}", e.code()),
                },
            ),
        };
        let record = Record {
            id: row.id,
            robot_key: row.robot_key,
            outcome: update,
        };
        if records.send(Recording { record, permit }).is_err() {
            // The recorder lives until every send has handed over; reaching
            // here means it panicked. The lease runs out and the row is sent
            // again. Counted, never silent.
            tracing::error!(outbox_id = row.id, "no recorder for a push outcome");
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
    async fn try_send(
        &self,
        row: &Claimed,
        routes: &BatchRoutes,
        now: i64,
    ) -> Result<Vec<NewPush>, SendError> {
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
        let to = destination(row, platform, reach_people, routes)?;
        let route = self.senders.route(&row.bot, &to, reach_people, now)?;
        let reply = own_mentions(&payload.reply, platform, routes)?;
        let msg = Message {
            title: &payload.title,
            markdown: payload.markdown,
            reply: &reply,
        };
        self.senders.send(&row.bot, &route, msg, now).await?;
        if reach_people && !route.notifies_mentions() && row.group_id.is_some() {
            return direct_follow_ups(row, &payload, &reply, platform, routes, now);
        }
        Ok(Vec::new())
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
}

/// Outcomes recorded in one write at most (a step has `concurrency` sends in
/// flight, so a write rarely holds more than that).
const RECORD_BATCH: usize = 1024;

/// An outcome on its way to the recorder, with its place among the outcomes
/// not yet written.
struct Recording {
    record: Record,
    permit: OwnedSemaphorePermit,
}

/// The routes of one claimed batch, or why they could not be read.
struct BatchRoutes(Result<Known, String>);

struct Known {
    groups: HashMap<i64, GroupRoute>,
    /// Platform user id by person id.
    people: HashMap<i64, String>,
    /// Person id by platform and platform user id, for the people the
    /// batch's pushes mention.
    mentioned: HashMap<(String, String), i64>,
}

impl BatchRoutes {
    /// The person known on `platform` as `user_id`, if any.
    fn mentioned(&self, platform: Platform, user_id: &str) -> Result<Option<i64>, SendError> {
        let known = self.0.as_ref().map_err(|e| SendError::Retry {
            code: "store".into(),
            message: e.clone(),
        })?;
        Ok(known
            .mentioned
            .get(&(platform.as_str().to_string(), user_id.to_string()))
            .copied())
    }
}

/// What the store knows of a row's target, for the seam to route by.
/// The group's sessionWebhook is passed on only for a push meant to reach
/// people and without a push robot of its own (the one case it decides).
fn destination(
    row: &Claimed,
    platform: Platform,
    reach_people: bool,
    routes: &BatchRoutes,
) -> Result<Destination, SendError> {
    let known = routes.0.as_ref().map_err(|e| SendError::Retry {
        code: "store".into(),
        message: e.clone(),
    })?;
    if let Some(gid) = row.group_id {
        let t = known.groups.get(&gid).ok_or_else(|| SendError::Fatal {
            code: "no_group".into(),
            message: format!("group {gid} is gone"),
        })?;
        let session = if reach_people && t.push_webhook_token.is_none() {
            t.session_url.clone().zip(t.session_expires_at)
        } else {
            None
        };
        return Ok(Destination::Group {
            group_id: gid,
            conversation_id: t.conversation_id.clone(),
            push_token: t.push_webhook_token.clone(),
            push_secret: t.push_webhook_secret.clone(),
            session,
        });
    }
    if let Some(pid) = row.person_id {
        let user_id = if Senders::pushes_to_people(platform) {
            let u = known.people.get(&pid).ok_or_else(|| SendError::Retry {
                code: "store".into(),
                message: format!("person {pid} is not in the store"),
            })?;
            Some(u.clone())
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

/// The 1:1 pushes that follow a group message which had to name people
/// instead of mentioning them: the same text to each of them, due now (the
/// group message already waited out quiet hours), once per row and person
/// whatever happens to the row later.
fn direct_follow_ups(
    row: &Claimed,
    payload: &Payload,
    reply: &Reply,
    platform: Platform,
    routes: &BatchRoutes,
    now: i64,
) -> Result<Vec<NewPush>, SendError> {
    let mut people = Vec::with_capacity(reply.mentions.len());
    for m in &reply.mentions {
        if let Some(pid) = routes.mentioned(platform, &m.user_id)? {
            people.push(pid);
        }
    }
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

/// `reply` with only the mentions of people known on `platform`: a team may
/// have groups on both platforms, and a user id of one means nothing on the
/// other. The others stay in the text as `@名字`.
fn own_mentions(
    reply: &Reply,
    platform: Platform,
    routes: &BatchRoutes,
) -> Result<Reply, SendError> {
    if reply.mentions.is_empty() {
        return Ok(reply.clone());
    }
    let mut out = reply.clone();
    out.mentions = Vec::with_capacity(reply.mentions.len());
    for m in &reply.mentions {
        if routes.mentioned(platform, &m.user_id)?.is_some() {
            out.mentions.push(m.clone());
        }
    }
    Ok(out)
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
