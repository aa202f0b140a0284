//! The SQLite writer: one thread, one connection of its own ([`Local`]),
//! and one group-commit algorithm ([`run_batch`]) for everything it is
//! given, plain writes ([`Db::write`](super::Db::write)) and message turns
//! ([`Db::turn`](super::Db::turn)) alike.
//!
//! It runs statements on its own thread: sqlx's SQLite driver would hop to a
//! worker thread and back for every statement, which cost more than the
//! statements themselves. Reads keep sqlx's pool.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use anyhow::Context;
use futures_util::future::BoxFuture;
use sqlx::sqlite::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::{Local, StoreError, StoreResult, Tx, inbound};

pub(super) type Finish = Box<dyn FnOnce(StoreResult<()>) + Send>;
pub(super) type Job = Box<dyn for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, (bool, Finish)> + Send>;
/// Answers the caller of a job that panicked (with what the panic said).
pub(super) type Panicked = Box<dyn FnOnce(String) + Send>;

/// A plain write waiting for the SQLite writer (built by [`Db::write`](super::Db::write)).
pub struct WriteJob {
    pub(super) run: Job,
    pub(super) panicked: Panicked,
}

/// A turn with its result type erased: runs the turn, returns the reply JSON.
pub(super) type TurnRun =
    Arc<dyn for<'c> Fn(&'c mut Tx) -> BoxFuture<'c, StoreResult<String>> + Send + Sync>;

/// How a turn ended inside the writer; the value itself travels in the
/// caller's slot.
pub(super) enum RawTurn {
    Fresh,
    Duplicate(Option<String>),
}

/// A turn waiting for the SQLite writer (built by [`Db::turn`](super::Db::turn)).
pub struct TurnJob {
    pub(super) platform: String,
    pub(super) msg_id: String,
    pub(super) now_ms: i64,
    pub(super) run: TurnRun,
    pub(super) done: oneshot::Sender<StoreResult<RawTurn>>,
}

/// What the SQLite writer is given (built by [`Db::write`](super::Db::write)
/// and [`Db::turn`](super::Db::turn)).
pub enum Work {
    Job(WriteJob),
    Turn(TurnJob),
    /// Makes the writer itself panic, outside any unit of work.
    #[cfg(test)]
    Crash,
}

/// Most units one group commit takes.
const MAX_BATCH: usize = 128;

/// Whether the SQLite writer thread is running, for `/readyz`.
#[derive(Debug)]
pub struct WriterHealth {
    /// False while the writer restarts after a panic, and once it has ended.
    pub(super) up: AtomicBool,
    /// How often it has restarted.
    pub(super) restarts: AtomicU64,
}

impl Default for WriterHealth {
    fn default() -> Self {
        WriterHealth {
            up: AtomicBool::new(true),
            restarts: AtomicU64::new(0),
        }
    }
}

/// Marks the writer down when its thread ends, however it ends.
struct DownOnExit(Arc<WriterHealth>);

impl Drop for DownOnExit {
    fn drop(&mut self) {
        self.0.up.store(false, Ordering::Release);
    }
}

/// Starts the SQLite writer on a thread of its own, with a single-threaded
/// runtime (timers only: it does no network I/O) and its own connection,
/// opened from that thread.
pub(super) async fn spawn_writer(
    path: &Path,
    rx: mpsc::Receiver<Work>,
    health: Arc<WriterHealth>,
) -> anyhow::Result<()> {
    let rt = writer_runtime()?;
    let path = path.to_path_buf();
    let (ready_tx, ready_rx) = oneshot::channel::<rusqlite::Result<()>>();
    std::thread::Builder::new()
        .name("liancun-writer".into())
        .spawn(move || {
            let _down = DownOnExit(Arc::clone(&health));
            match open_writer(&path) {
                Ok(conn) => {
                    // Bigger groups per commit where the writer shares a core
                    // with the HTTP threads (see batch_scheduling).
                    crate::affinity::batch_scheduling_or_warn();
                    if ready_tx.send(Ok(())).is_ok() {
                        keep_writing(rt, conn, rx, &path, &health);
                    }
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        })
        .context("cannot start the SQLite writer thread")?;
    ready_rx
        .await
        .context("the SQLite writer thread stopped while connecting")??;
    Ok(())
}

fn writer_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .context("cannot build the SQLite writer runtime")
}

/// Runs the writer until every sender is gone. A unit of work that panics
/// fails alone (see [`unwound`]); a panic in the writer's own code fails the
/// work it held, and the writer starts over on a new connection (what was
/// open is rolled back), `/readyz` failing until it is back.
fn keep_writing(
    mut rt: tokio::runtime::Runtime,
    conn: Local,
    mut rx: mpsc::Receiver<Work>,
    path: &Path,
    health: &WriterHealth,
) {
    let mut tx = Tx::Local(Box::new(conn));
    loop {
        let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(run_writer(&mut tx, &mut rx))
        }));
        let Err(p) = run else {
            return;
        };
        health.up.store(false, Ordering::Release);
        tracing::error!(panic = %panic_text(&*p), "the SQLite writer panicked; the writes it held failed; restarting it");
        rollback(&mut tx, "what the writer left open when it panicked");
        let mut pause = Duration::from_millis(50);
        let conn = loop {
            match open_writer(path) {
                Ok(conn) => break conn,
                Err(e) => {
                    tracing::error!(error = %e, "the SQLite writer cannot reopen its connection; trying again");
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            }
        };
        tx = Tx::Local(Box::new(conn));
        rt = match writer_runtime() {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(error = %e, "the SQLite writer cannot restart; every write fails from now on");
                return;
            }
        };
        health.restarts.fetch_add(1, Ordering::Relaxed);
        health.up.store(true, Ordering::Release);
        tracing::warn!("the SQLite writer restarted");
    }
}

/// What a panic said, for the log.
pub(super) fn panic_text(p: &(dyn Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// The error a unit of work that panicked fails with.
pub(super) fn panicked_error(what: &str, why: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("the {what} panicked: {why}"))
}

/// Makes a unit of work's future with `make` and runs it, turning a panic in
/// either into `Err` with what the panic said: the unit fails, its caller is
/// answered, and the writer goes on.
pub(super) async fn unwound<'a, T>(make: impl FnOnce() -> BoxFuture<'a, T>) -> Result<T, String> {
    let fut = std::panic::catch_unwind(AssertUnwindSafe(make)).map_err(|p| panic_text(&*p))?;
    CatchUnwind(fut).await
}

/// A future that ends with `Err` when polling it panics.
struct CatchUnwind<'a, T>(BoxFuture<'a, T>);

impl<T> Future for CatchUnwind<'_, T> {
    type Output = Result<T, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let fut = &mut self.get_mut().0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(p) => Poll::Ready(Err(panic_text(&*p))),
        }
    }
}

/// The writer's connection, set up as sqlx sets up its own: WAL, `NORMAL`
/// sync (durable at checkpoints, safe against corruption), foreign keys on,
/// a 5 s busy timeout. Prepared statements stay cached: the store has a few
/// hundred distinct ones.
fn open_writer(path: &Path) -> rusqlite::Result<Local> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
    // The WAL is copied back into the database by checkpoint_wal, off this
    // thread; the writer checkpoints itself only if that falls far behind.
    conn.pragma_update(None, "wal_autocheckpoint", WRITER_AUTOCHECKPOINT_PAGES)?;
    conn.set_prepared_statement_cache_capacity(512);
    Local::new(conn)
}

/// WAL pages after which the writer checkpoints by itself (about 40 MB): a
/// safety net that [`checkpoint_wal`] keeps from being reached.
const WRITER_AUTOCHECKPOINT_PAGES: i64 = 10_000;

/// How often [`checkpoint_wal`] copies the WAL back into the database.
pub(super) const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Copies the WAL back into the database file every [`CHECKPOINT_EVERY`],
/// on sqlx's connection, until the pool is closed. A checkpoint syncs the
/// WAL and the database file to disk; left to SQLite's automatic checkpoint
/// that happens inside a commit on the writer thread, which then waits on
/// the disk tens of times a second under load while turns queue up. A
/// `PASSIVE` checkpoint takes no lock the writer needs.
pub(super) async fn checkpoint_wal(pool: SqlitePool) {
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        every.tick().await;
        if pool.is_closed() {
            return;
        }
        match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            Ok(_) => failing = false,
            Err(_) if pool.is_closed() => return,
            // Logged once per run of failures, not four times a second.
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "WAL checkpoint failed; the writer checkpoints by itself past {WRITER_AUTOCHECKPOINT_PAGES} pages");
            }
            Err(_) => {}
        }
    }
}

/// Rolls back the writer's open transaction, if one is open, logging a
/// failure to.
fn rollback(tx: &mut Tx, what: &str) {
    if let Err(e) = tx.writer().and_then(|l| Ok(l.rollback()?)) {
        tracing::error!(error = %e, "cannot roll back {what}");
    }
}

/// The SQLite writer: takes everything waiting in its queue (up to
/// [`MAX_BATCH`] units, in arrival order) and hands it to [`run_batch`].
async fn run_writer(tx: &mut Tx, rx: &mut mpsc::Receiver<Work>) {
    let mut batch: Vec<Work> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        run_batch(tx, std::mem::take(&mut batch)).await;
    }
}

/// How a turn of a batch ended, until the batch's commit answers it.
enum Slot {
    /// Handled here: its reply JSON, recorded with the batch.
    Fresh(String),
    /// A repeat of a message handled before: its saved reply.
    Saved(Option<String>),
    /// A copy of a message handled earlier in this batch (that turn's slot).
    CopyOf(usize),
    /// Failed (rolled back alone).
    Failed(StoreError),
}

/// The writer's one group-commit algorithm, for plain writes and turns
/// alike: one transaction for the whole batch, units run back to back in
/// arrival order, one commit; nobody is answered before that commit. A
/// unit that fails (or panics) fails alone; its batch-mates commit.
///
/// How a failure stays alone: the batch keeps a savepoint, its *mark*,
/// just before the turns that ran since the last plain write. A failing
/// turn rolls back to the mark, and the turns since it that had succeeded
/// run again (a turn may run more than once; only one run's changes stay).
/// A plain write cannot run twice (its closure is `FnOnce`), so the mark is
/// moved to just before it and, once it has run, just past it: a failing
/// write rolls back to the mark and undoes itself alone, and no later
/// failure reaches behind it. A unit alone in its batch needs no savepoint:
/// its failure rolls back the transaction. For turns, one statement per
/// platform looks up which messages of the batch were handled before, and
/// one multi-row insert records the fresh ones.
///
/// Of the writer's two former algorithms this keeps the one that measured
/// best, for every unit: turns ran like this (no savepoint each; a failure
/// rolled the batch back and replayed it turn by turn), plain writes ran in
/// a savepoint each. A savepoint per turn cost about 4 µs of writer CPU on
/// a turn's four writes of about 31 µs (13 %; SQLite at the debug build's
/// opt-level 1, 28 turns a commit); with the mark, a batch of turns costs
/// one savepoint in all.
async fn run_batch(tx: &mut Tx, work: Vec<Work>) {
    #[cfg(test)]
    if work.iter().any(|w| matches!(w, Work::Crash)) {
        panic!("the writer itself panics (test)");
    }
    let single = work.len() == 1;
    let mut order = Vec::with_capacity(work.len());
    let mut jobs = Vec::new();
    let mut turns = Vec::new();
    for w in work {
        match w {
            Work::Job(job) => {
                order.push(false);
                jobs.push(job);
            }
            Work::Turn(turn) => {
                order.push(true);
                turns.push(turn);
            }
            #[cfg(test)]
            Work::Crash => {}
        }
    }
    let began = match tx.writer().and_then(|l| Ok(l.begin()?)) {
        Ok(()) => saved_replies(tx, &turns).await,
        Err(e) => Err(e),
    };
    let saved = match began {
        Ok(saved) => saved,
        Err(e) => {
            rollback(tx, "a batch that could not begin");
            // Dropping a job closes its channel: its caller hears WriterGone.
            tracing::error!(error = %e, jobs = jobs.len(), turns = turns.len(), "cannot begin a write transaction; failing its batch");
            for t in turns {
                let why = anyhow::anyhow!("cannot begin a write transaction: {e}");
                let _ = t.done.send(Err(StoreError::Other(why)));
            }
            return;
        }
    };
    let mut b = Batch {
        single,
        steps: Ok(()),
        slots: Vec::with_capacity(turns.len()),
        since_mark: Vec::with_capacity(turns.len()),
        first: HashMap::new(),
    };
    b.step(tx, |l| l.begin_unit());
    let mut any_ok = false;
    let mut finishes: Vec<Finish> = Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter();
    let mut next_turn = turns.iter();
    for is_turn in order {
        if !is_turn {
            let Some(job) = jobs.next() else { continue };
            if !b.since_mark.is_empty() {
                b.move_mark(tx);
            }
            let (ok, finish) = run_job(tx, job).await;
            if ok {
                b.move_mark(tx);
            } else {
                b.step(tx, |l| l.rollback_unit());
            }
            any_ok |= ok;
            finishes.push(finish);
            continue;
        }
        let Some(t) = next_turn.next() else { continue };
        let key = (t.platform.as_str(), t.msg_id.as_str());
        // Every copy of a message handled before gets its saved reply.
        let repeat = if saved.is_empty() {
            None
        } else {
            saved.get(&(key.0, t.msg_id.clone())).cloned()
        };
        if let Some(reply) = repeat {
            b.slots.push(Slot::Saved(reply));
        } else if let Some(&j) = b.first.get(&key) {
            b.slots.push(Slot::CopyOf(j));
        } else {
            match run_turn(tx, t).await {
                Ok(json) => {
                    any_ok = true;
                    b.first.insert(key, b.slots.len());
                    b.since_mark.push(b.slots.len());
                    b.slots.push(Slot::Fresh(json));
                }
                Err(e) => {
                    b.slots.push(Slot::Failed(e));
                    b.replay(tx, &turns).await;
                }
            }
        }
    }
    let Batch { steps, slots, .. } = b;
    let recorded = match steps {
        Ok(()) => record_fresh(tx, &turns, &slots).await,
        Err(e) => Err(e),
    };
    let end = recorded.and_then(|()| {
        let l = tx.writer()?;
        if single && !any_ok {
            l.rollback()?;
        } else {
            l.commit()?;
        }
        Ok(())
    });
    if let Err(e) = &end {
        tracing::error!(error = %e, jobs = finishes.len(), turns = turns.len(), "SQLite write batch failed");
        rollback(tx, "a write batch");
    }
    answer(finishes, turns, slots, end);
}

/// A batch's turns as they run, and its mark (see [`run_batch`]).
struct Batch<'t> {
    /// Alone in its batch: no savepoint at all.
    single: bool,
    /// The first savepoint step that failed, if any: the batch then fails
    /// as a whole.
    steps: StoreResult<()>,
    /// How each turn ended, by its place among the batch's turns.
    slots: Vec<Slot>,
    /// The turns that ran fresh since the mark, which a failing turn makes
    /// run again.
    since_mark: Vec<usize>,
    /// Where each message first ran fresh in this batch.
    first: HashMap<(&'t str, &'t str), usize>,
}

impl<'t> Batch<'t> {
    /// One savepoint step, unless the unit is alone or a step has failed.
    fn step(&mut self, tx: &mut Tx, f: impl FnOnce(&mut Local) -> rusqlite::Result<()>) {
        if !self.single && self.steps.is_ok() {
            self.steps = tx.writer().and_then(|l| Ok(f(l)?));
        }
    }

    fn set(&mut self, turn: usize, slot: Slot) {
        if let Some(s) = self.slots.get_mut(turn) {
            *s = slot;
        }
    }

    /// Keeps everything done so far: the mark moves here.
    fn move_mark(&mut self, tx: &mut Tx) {
        self.step(tx, |l| {
            l.release_unit()?;
            l.begin_unit()
        });
        self.since_mark.clear();
    }

    /// A turn failed: rolls back to the mark and runs again the turns since
    /// it that had succeeded. One that fails now fails too, and the rest run
    /// again once more.
    async fn replay(&mut self, tx: &mut Tx, turns: &'t [TurnJob]) {
        if self.single {
            return;
        }
        loop {
            self.step(tx, |l| l.rollback_unit());
            if self.steps.is_err() {
                return;
            }
            let mut failed = None;
            for (k, &j) in self.since_mark.iter().enumerate() {
                let Some(t) = turns.get(j) else { continue };
                match run_turn(tx, t).await {
                    Ok(json) => {
                        if let Some(s) = self.slots.get_mut(j) {
                            *s = Slot::Fresh(json);
                        }
                    }
                    Err(e) => {
                        failed = Some((k, e));
                        break;
                    }
                }
            }
            let Some((k, e)) = failed else { return };
            let j = self.since_mark.remove(k);
            self.set(j, Slot::Failed(e));
            self.first.retain(|_, first| *first != j);
        }
    }
}

/// Runs a plain write; a panic fails it alone.
async fn run_job(tx: &mut Tx, job: WriteJob) -> (bool, Finish) {
    let WriteJob { run, panicked } = job;
    match unwound(|| run(tx)).await {
        Ok(done) => done,
        Err(why) => {
            tracing::error!(panic = %why, "a write panicked; it fails alone");
            let finish: Finish = Box::new(move |_| panicked(why));
            (false, finish)
        }
    }
}

/// Runs a turn; a panic fails it alone.
async fn run_turn(tx: &mut Tx, turn: &TurnJob) -> StoreResult<String> {
    unwound(|| (turn.run)(tx)).await.map_err(|why| {
        tracing::error!(platform = %turn.platform, msg_id = %turn.msg_id, panic = %why,
            "a turn panicked; it fails alone");
        panicked_error("turn", &why)
    })?
}

/// The saved replies of the batch's messages handled before, by
/// (platform, message id): one statement per platform.
async fn saved_replies<'t>(
    tx: &mut Tx,
    turns: &'t [TurnJob],
) -> StoreResult<HashMap<(&'t str, String), Option<String>>> {
    let mut ids: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for t in turns {
        ids.entry(t.platform.as_str())
            .or_default()
            .push(t.msg_id.as_str());
    }
    let mut saved = HashMap::new();
    for (platform, ids) in ids {
        for (id, reply) in inbound::saved_replies(tx, platform, &ids).await? {
            saved.insert((platform, id), reply);
        }
    }
    Ok(saved)
}

/// Records the batch's fresh turns with their replies, in one statement.
async fn record_fresh(tx: &mut Tx, turns: &[TurnJob], slots: &[Slot]) -> StoreResult<()> {
    let rows: Vec<inbound::Handled<'_>> = turns
        .iter()
        .zip(slots)
        .filter_map(|(t, s)| match s {
            Slot::Fresh(json) => Some(inbound::Handled {
                platform: &t.platform,
                msg_id: &t.msg_id,
                received_at: t.now_ms,
                reply_json: json,
            }),
            _ => None,
        })
        .collect();
    inbound::record_many(tx, &rows).await
}

/// Answers every unit of a batch once its end (commit or failure) is known.
/// A caller may have gone away; nothing waits then.
fn answer(finishes: Vec<Finish>, turns: Vec<TurnJob>, slots: Vec<Slot>, end: StoreResult<()>) {
    let failed = |e: &StoreError| StoreError::Other(anyhow::anyhow!("commit failed: {e}"));
    for finish in finishes {
        finish(end.as_ref().map(|_| ()).map_err(failed));
    }
    // What a copy of a message answered fresh in this batch is told.
    let copies: Vec<Option<String>> = slots
        .iter()
        .map(|s| match s {
            Slot::CopyOf(j) => match slots.get(*j) {
                Some(Slot::Fresh(json)) => Some(json.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    for ((t, s), copy) in turns.into_iter().zip(slots).zip(copies) {
        let r = match (s, &end) {
            (Slot::Failed(e), _) => Err(e),
            (_, Err(e)) => Err(failed(e)),
            (Slot::Fresh(_), Ok(())) => Ok(RawTurn::Fresh),
            (Slot::Saved(reply), Ok(())) => Ok(RawTurn::Duplicate(reply)),
            (Slot::CopyOf(_), Ok(())) => match copy {
                Some(reply) => Ok(RawTurn::Duplicate(Some(reply))),
                None => Err(StoreError::Other(anyhow::anyhow!(
                    "the first copy of this message failed when it ran again"
                ))),
            },
        };
        let _ = t.done.send(r);
    }
}
