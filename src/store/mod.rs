//! Storage: the only module that contains SQL.
//!
//! [`Db`] is chosen once from `DATABASE_URL`: SQLite (the embedded default) or
//! PostgreSQL. Queries are written once in the portable subset (`$N`
//! placeholders, `ON CONFLICT`, `RETURNING`, integer and text columns, instants
//! as UTC epoch milliseconds) and run on whichever connection a [`Tx`] holds
//! through [`sql`], whose API mirrors sqlx's.
//!
//! Every unit of work runs in a transaction handed to a closure:
//! [`Db::write`] for changes and [`Db::read`] for queries. On SQLite all writes
//! go through one writer thread that *group-commits*: it takes every job waiting
//! in its queue, runs each inside its own savepoint of one transaction and
//! commits once, so a burst of callbacks costs one commit instead of one each.
//! The writer holds its own connection ([`Tx::Local`]) and runs statements on
//! its own thread: sqlx's SQLite driver would hop to a worker thread and back
//! for every statement, which cost more than the statements themselves. Reads
//! keep sqlx's pool. A job that fails rolls back to its savepoint only, and no
//! caller hears "done" before the commit that made its work durable.

pub mod admin;
pub mod audit;
mod contexts;
pub mod generate;
pub mod groups;
pub mod households;
pub mod inbound;
pub mod jobs;
mod local;
pub mod outbox;
pub mod projects;
pub mod ranking;
pub mod ratings;
pub mod records;
pub mod sql;
mod tallies;
pub mod tasks;
pub mod weekly;

pub use local::Local;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use futures_util::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Postgres, Sqlite, Transaction};
use tokio::sync::{mpsc, oneshot};

/// Errors from the store, in the shape callers act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique or foreign-key constraint refused the write; carries its
    /// backend-neutral name: `table(col, col)` for a unique key, `foreign key`
    /// for a reference (see [`conflict_key`]).
    #[error("constraint {0} refused the write")]
    Conflict(String),
    #[error("the database writer has stopped")]
    WriterGone,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::Conflict(FOREIGN_KEY.to_string())
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                let detail = db
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .and_then(|pg| pg.detail());
                StoreError::Conflict(conflict_key(db.message(), db.table(), detail))
            }
            _ => StoreError::Other(anyhow::Error::new(e)),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The name a refused reference is known by, on both backends (SQLite does
/// not say which foreign key it was).
pub const FOREIGN_KEY: &str = "foreign key";

/// The backend-neutral name of a unique key that refused a write,
/// `table(col, col)`, so that callers say the same on both backends. SQLite
/// says `UNIQUE constraint failed: villages.township_id, villages.name`;
/// PostgreSQL names the constraint, its table, and in its detail
/// `Key (township_id, name)=(1, 南坞村) already exists.`
pub fn conflict_key(message: &str, table: Option<&str>, detail: Option<&str>) -> String {
    if let Some(cols) = message.strip_prefix("UNIQUE constraint failed: ") {
        let mut table_name = "";
        let cols: Vec<&str> = cols
            .split(", ")
            .map(|tc| match tc.split_once('.') {
                Some((t, c)) => {
                    table_name = t;
                    c
                }
                None => tc,
            })
            .collect();
        return format!("{table_name}({})", cols.join(", "));
    }
    let cols = detail
        .and_then(|d| d.strip_prefix("Key ("))
        .and_then(|d| d.split_once(")=("))
        .map(|(cols, _)| cols);
    match (table, cols) {
        (Some(t), Some(c)) => format!("{t}({c})"),
        (Some(t), None) => format!("{t}(?)"),
        _ => "unknown".to_string(),
    }
}

/// An open transaction on whichever connection is live.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Pg(Transaction<'static, Postgres>),
    /// The SQLite writer's own connection, inside the transaction of its
    /// current batch (boxed: it is far larger than a pooled transaction).
    Local(Box<Local>),
}

/// Which backend a [`Db`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

type Finish = Box<dyn FnOnce(StoreResult<()>) + Send>;
type Job = Box<dyn for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, (bool, Finish)> + Send>;

/// A turn's work for [`Db::turn`]: run in the write transaction, it returns
/// the reply to save (JSON) and the caller's value. It may run more than once.
pub trait TurnFn<T>:
    for<'c> Fn(&'c mut Tx) -> BoxFuture<'c, StoreResult<(String, T)>> + Send + Sync + 'static
{
}

impl<T, F> TurnFn<T> for F where
    F: for<'c> Fn(&'c mut Tx) -> BoxFuture<'c, StoreResult<(String, T)>> + Send + Sync + 'static
{
}

/// What became of a turn run through [`Db::turn`].
#[derive(Debug)]
pub enum TurnOutcome<T> {
    /// First delivery: handled, and recorded together with its reply.
    Fresh(T),
    /// Handled before (or by an earlier copy in the same batch): its saved
    /// reply as JSON, if one was saved.
    Duplicate(Option<String>),
}

/// A turn with its result type erased: runs the turn, returns the reply JSON.
/// Re-runnable, so a failed batch can be replayed turn by turn.
type TurnRun = Arc<dyn for<'c> Fn(&'c mut Tx) -> BoxFuture<'c, StoreResult<String>> + Send + Sync>;

/// How a turn ended inside the writer; the value itself travels in the
/// caller's slot.
enum RawTurn {
    Fresh,
    Duplicate(Option<String>),
}

/// A turn waiting for the SQLite writer (built by [`Db::turn`]).
pub struct TurnJob {
    platform: String,
    msg_id: String,
    now_ms: i64,
    run: TurnRun,
    done: oneshot::Sender<StoreResult<RawTurn>>,
}

/// What the SQLite writer is given (built by [`Db::write`] and [`Db::turn`]).
pub enum Work {
    Job(Job),
    Turn(TurnJob),
}

/// The database handle shared by the whole app; cheap to clone.
#[derive(Clone)]
pub enum Db {
    Sqlite {
        /// Read-only connections for [`Db::read`].
        readers: SqlitePool,
        /// The writer thread's queue: every change goes through it.
        writer: mpsc::Sender<Work>,
        /// sqlx's one writing connection: migrations and WAL checkpoints.
        writer_pool: SqlitePool,
    },
    Pg(PgPool),
}

/// Most jobs one group commit takes.
const MAX_BATCH: usize = 128;

impl Db {
    /// Connects to `url`, creating a SQLite file (and its folder) if missing.
    /// Does not migrate; call [`Db::migrate`].
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("bad SQLite URL {url:?}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true);
            if url.contains(":memory:") || url.contains("mode=memory") {
                anyhow::bail!(
                    "SQLite in memory is not supported: the writer and the readers need one database file. Give a path, e.g. sqlite://data/liancun.db"
                );
            }
            if let Some(parent) = Path::new(opts.get_filename()).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create folder {}", parent.display()))?;
            }
            // sqlx's own writing connection creates the file and applies the
            // migrations; the writer thread does every other write.
            let writer_pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(opts.clone())
                .await
                .with_context(|| format!("cannot open SQLite database {url}"))?;
            let (tx, rx) = mpsc::channel::<Work>(4096);
            spawn_writer(Path::new(opts.get_filename()), rx)
                .await
                .with_context(|| format!("cannot open SQLite database {url}"))?;
            let readers = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(opts.read_only(true))
                .await
                .with_context(|| format!("cannot open SQLite database {url} for reading"))?;
            tokio::spawn(checkpoint_wal(writer_pool.clone()));
            Ok(Db::Sqlite {
                readers,
                writer: tx,
                writer_pool,
            })
        } else {
            let opts = PgConnectOptions::from_str(url).with_context(|| {
                format!("bad PostgreSQL URL (password hidden): {}", redact_url(url))
            })?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .with_context(|| format!("cannot connect to PostgreSQL at {}", redact_url(url)))?;
            Ok(Db::Pg(pool))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Pg(_) => Backend::Postgres,
        }
    }

    /// Applies the embedded migrations for this backend. On PostgreSQL sqlx
    /// takes an advisory lock, so replicas starting together take turns.
    /// Migrations are forward-only and additive, so a replica of the previous
    /// release keeps running (and may restart) on a database a newer release
    /// has already migrated: during a rolling upgrade it ignores the
    /// migrations it does not know.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite { writer_pool, .. } => {
                let mut m = sqlx::migrate!("migrations/sqlite");
                m.set_ignore_missing(true);
                m.run(writer_pool)
                    .await
                    .context("SQLite migrations failed")?
            }
            Db::Pg(pool) => {
                let mut m = sqlx::migrate!("migrations/postgres");
                m.set_ignore_missing(true);
                m.run(pool).await.context("PostgreSQL migrations failed")?
            }
        }
        Ok(())
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> bool {
        let r = match self {
            Db::Sqlite { readers, .. } => {
                sqlx::query("SELECT 1").execute(readers).await.map(|_| ())
            }
            Db::Pg(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()),
        };
        r.is_ok()
    }

    /// Runs `f` in a write transaction and returns its value once committed.
    /// If `f` fails, none of its writes stay.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    {
        match self {
            Db::Sqlite { writer, .. } => {
                let (done_tx, done_rx) = oneshot::channel::<Result<T, E>>();
                let job: Job = Box::new(move |tx: &mut Tx| {
                    Box::pin(async move {
                        match f(tx).await {
                            Ok(v) => {
                                let finish: Finish = Box::new(move |commit| {
                                    // The caller may have gone away; nothing waits then.
                                    let _ = done_tx.send(commit.map(|()| v).map_err(E::from));
                                });
                                (true, finish)
                            }
                            Err(e) => {
                                let finish: Finish = Box::new(move |_| {
                                    let _ = done_tx.send(Err(e));
                                });
                                (false, finish)
                            }
                        }
                    })
                });
                writer
                    .send(Work::Job(job))
                    .await
                    .map_err(|_| E::from(StoreError::WriterGone))?;
                done_rx.await.map_err(|_| E::from(StoreError::WriterGone))?
            }
            Db::Pg(pool) => {
                let t = pool.begin().await.map_err(StoreError::from)?;
                let mut tx = Tx::Pg(t);
                let out = f(&mut tx).await;
                let Tx::Pg(t) = tx else {
                    unreachable!("a Pg Db opens Pg transactions")
                };
                match out {
                    Ok(v) => {
                        t.commit().await.map_err(StoreError::from)?;
                        Ok(v)
                    }
                    Err(e) => {
                        t.rollback().await.map_err(StoreError::from)?;
                        Err(e)
                    }
                }
            }
        }
    }

    /// Runs `f` in a read transaction (a consistent snapshot on both backends).
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, Result<T, E>>,
    {
        let mut tx = match self {
            Db::Sqlite { readers, .. } => {
                Tx::Sqlite(readers.begin().await.map_err(StoreError::from)?)
            }
            Db::Pg(pool) => Tx::Pg(pool.begin().await.map_err(StoreError::from)?),
        };
        let out = f(&mut tx).await;
        // Read-only: ending with a rollback releases the snapshot either way.
        match tx {
            Tx::Sqlite(t) => t.rollback().await.map_err(StoreError::from)?,
            Tx::Pg(t) => t.rollback().await.map_err(StoreError::from)?,
            Tx::Local(_) => {}
        }
        out
    }

    /// Runs one inbound message's turn exactly once per `(platform, msg_id)`:
    /// `f` makes the turn's changes and returns its reply as JSON plus a value
    /// for the caller; the message id is recorded with that reply in the same
    /// transaction. A repeat delivery changes nothing and gets the saved
    /// reply. `f` may run more than once (only one run's changes stay), so it
    /// must not act outside the transaction.
    ///
    /// On SQLite the writer takes turns in batches: one statement looks up
    /// every message id of the batch, the turns run back to back without a
    /// savepoint each, and one statement records them all. If a turn fails,
    /// the batch is rolled back and replayed turn by turn, so only the failing
    /// turn fails.
    pub async fn turn<T, F>(
        &self,
        platform: &str,
        msg_id: &str,
        now_ms: i64,
        f: F,
    ) -> StoreResult<TurnOutcome<T>>
    where
        T: Send + 'static,
        F: TurnFn<T>,
    {
        match self {
            Db::Sqlite { writer, .. } => {
                let slot: Arc<Mutex<Option<T>>> = Arc::new(Mutex::new(None));
                let fill = Arc::clone(&slot);
                let run: TurnRun = Arc::new(move |tx: &mut Tx| {
                    let fill = Arc::clone(&fill);
                    let fut = f(tx);
                    Box::pin(async move {
                        let (json, value) = fut.await?;
                        *fill.lock().unwrap_or_else(|p| p.into_inner()) = Some(value);
                        Ok(json)
                    })
                });
                let (done, done_rx) = oneshot::channel();
                writer
                    .send(Work::Turn(TurnJob {
                        platform: platform.to_string(),
                        msg_id: msg_id.to_string(),
                        now_ms,
                        run,
                        done,
                    }))
                    .await
                    .map_err(|_| StoreError::WriterGone)?;
                match done_rx.await.map_err(|_| StoreError::WriterGone)?? {
                    RawTurn::Fresh => slot
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .take()
                        .map(TurnOutcome::Fresh)
                        .ok_or_else(|| {
                            StoreError::Other(anyhow::anyhow!("a committed turn left no result"))
                        }),
                    RawTurn::Duplicate(saved) => Ok(TurnOutcome::Duplicate(saved)),
                }
            }
            // Boxed: PostgreSQL's path would otherwise make every turn's
            // future (moved through the HTTP layers) several times larger.
            Db::Pg(_) => Box::pin(self.turn_pg(platform, msg_id, now_ms, f)).await,
        }
    }

    /// [`Db::turn`] on PostgreSQL: the turn and its message id in one
    /// transaction of its own.
    async fn turn_pg<T, F>(
        &self,
        platform: &str,
        msg_id: &str,
        now_ms: i64,
        f: F,
    ) -> StoreResult<TurnOutcome<T>>
    where
        T: Send + 'static,
        F: TurnFn<T>,
    {
        enum Fail {
            Duplicate,
            Store(StoreError),
        }
        impl From<StoreError> for Fail {
            fn from(e: StoreError) -> Self {
                Fail::Store(e)
            }
        }
        let (p, id) = (platform.to_string(), msg_id.to_string());
        let r = self
            .write(move |tx| {
                Box::pin(async move {
                    let (json, value) = f(tx).await?;
                    // On PostgreSQL a concurrent first delivery holds the key
                    // until it commits; this one waits here, then conflicts.
                    if !inbound::record(tx, &p, &id, now_ms, &json).await? {
                        return Err(Fail::Duplicate);
                    }
                    Ok(value)
                })
            })
            .await;
        match r {
            Ok(v) => Ok(TurnOutcome::Fresh(v)),
            Err(Fail::Store(e)) => Err(e),
            Err(Fail::Duplicate) => {
                let (p, id) = (platform.to_string(), msg_id.to_string());
                let saved = self
                    .read(move |tx| {
                        Box::pin(async move { inbound::saved_reply(tx, &p, &id).await })
                    })
                    .await?;
                Ok(TurnOutcome::Duplicate(saved))
            }
        }
    }

    /// Closes the pools (after the writer has drained what it was given).
    pub async fn close(&self) {
        match self {
            Db::Sqlite {
                readers,
                writer_pool,
                ..
            } => {
                readers.close().await;
                writer_pool.close().await;
            }
            Db::Pg(pool) => pool.close().await,
        }
    }
}

/// Starts the SQLite writer on a thread of its own, with a single-threaded
/// runtime (timers only: it does no network I/O) and its own connection,
/// opened from that thread.
async fn spawn_writer(path: &Path, rx: mpsc::Receiver<Work>) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .context("cannot build the SQLite writer runtime")?;
    let path = path.to_path_buf();
    let (ready_tx, ready_rx) = oneshot::channel::<rusqlite::Result<()>>();
    std::thread::Builder::new()
        .name("liancun-writer".into())
        .spawn(move || match open_writer(&path) {
            Ok(conn) => {
                // Bigger groups per commit where the writer shares a core
                // with the HTTP threads (see batch_scheduling).
                if let Err(e) = crate::affinity::batch_scheduling() {
                    tracing::warn!(error = %e, "the SQLite writer keeps the default scheduling policy");
                }
                if ready_tx.send(Ok(())).is_ok() {
                    rt.block_on(run_writer(Tx::Local(Box::new(conn)), rx));
                }
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
            }
        })
        .context("cannot start the SQLite writer thread")?;
    ready_rx
        .await
        .context("the SQLite writer thread stopped while connecting")??;
    Ok(())
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
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Copies the WAL back into the database file every [`CHECKPOINT_EVERY`],
/// on sqlx's connection, until the pool is closed. A checkpoint syncs the
/// WAL and the database file to disk; left to SQLite's automatic checkpoint
/// that happens inside a commit on the writer thread, which then waits on
/// the disk tens of times a second under load while turns queue up. A
/// `PASSIVE` checkpoint takes no lock the writer needs.
async fn checkpoint_wal(pool: SqlitePool) {
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

/// Runs `sql` (one or more statements, no values) on the writer's connection.
fn local_batch(tx: &mut Tx, sql: &str) -> StoreResult<()> {
    match tx {
        Tx::Local(l) => {
            let done = l.conn.execute_batch(sql);
            // What was read since may have been undone (SQLite's rollback
            // hook does not see a savepoint's).
            if sql.contains("ROLLBACK") {
                l.forget();
            }
            Ok(done?)
        }
        _ => Err(StoreError::Other(anyhow::anyhow!(
            "{sql:?} is for the SQLite writer's connection"
        ))),
    }
}

/// The SQLite writer: one connection, group commit. What waits is taken in
/// arrival order as runs of the same kind: plain jobs commit together with a
/// savepoint each ([`run_batch`]), turns commit together as a batch of turns
/// ([`run_turns`]).
async fn run_writer(mut tx: Tx, mut rx: mpsc::Receiver<Work>) {
    let mut batch: Vec<Work> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut work = std::mem::take(&mut batch).into_iter().peekable();
        while let Some(first) = work.next() {
            match first {
                Work::Job(job) => {
                    let mut jobs = vec![job];
                    while let Some(Work::Job(_)) = work.peek() {
                        if let Some(Work::Job(job)) = work.next() {
                            jobs.push(job);
                        }
                    }
                    if let Err(e) = run_batch(&mut tx, jobs).await {
                        tracing::error!(error = %e, "SQLite write batch failed");
                    }
                }
                Work::Turn(turn) => {
                    let mut turns = vec![turn];
                    while let Some(Work::Turn(_)) = work.peek() {
                        if let Some(Work::Turn(turn)) = work.next() {
                            turns.push(turn);
                        }
                    }
                    run_turns(&mut tx, turns).await;
                }
            }
        }
    }
}

/// Commits a batch of turns together and answers each. If the batch fails,
/// it is rolled back and every turn is replayed in a transaction of its own.
async fn run_turns(tx: &mut Tx, turns: Vec<TurnJob>) {
    match try_turns(tx, &turns).await {
        Ok(results) => {
            for (turn, r) in turns.into_iter().zip(results) {
                // The caller may have gone away; nothing waits then.
                let _ = turn.done.send(Ok(r));
            }
        }
        Err(e) if turns.len() == 1 => {
            if let Some(turn) = turns.into_iter().next() {
                let _ = turn.done.send(Err(e));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, turns = turns.len(), "a batch of turns failed; replaying them one by one");
            for turn in turns {
                let r = try_turns(tx, std::slice::from_ref(&turn))
                    .await
                    .and_then(|mut r| {
                        r.pop().ok_or_else(|| {
                            StoreError::Other(anyhow::anyhow!("a turn gave no result"))
                        })
                    });
                let _ = turn.done.send(r);
            }
        }
    }
}

/// One transaction for `turns`: committed when all of them succeeded.
async fn try_turns(tx: &mut Tx, turns: &[TurnJob]) -> StoreResult<Vec<RawTurn>> {
    begin(tx)?;
    match turns_in(tx, turns).await {
        Ok(results) => match local_batch(tx, "COMMIT") {
            Ok(()) => Ok(results),
            Err(e) => {
                rollback(tx, "a batch of turns");
                Err(e)
            }
        },
        Err(e) => {
            rollback(tx, "a failed batch of turns");
            Err(e)
        }
    }
}

/// Opens the writer's transaction for a batch, taking the write lock at
/// once. A transaction left open by a failure before is rolled back first,
/// so one failure cannot stop every batch after it.
fn begin(tx: &mut Tx) -> StoreResult<()> {
    if let Tx::Local(l) = tx
        && !l.conn.is_autocommit()
    {
        tracing::error!("the SQLite writer found a transaction left open; rolling it back");
        rollback(tx, "a transaction left open");
    }
    local_batch(tx, "BEGIN IMMEDIATE")?;
    if let Tx::Local(l) = tx {
        l.check_outside_writes()?;
    }
    Ok(())
}

/// Rolls back the writer's open transaction, if one is open (a failed
/// COMMIT may have ended it already).
fn rollback(tx: &mut Tx, what: &str) {
    if let Tx::Local(l) = tx
        && !l.conn.is_autocommit()
        && let Err(e) = local_batch(tx, "ROLLBACK")
    {
        tracing::error!(error = %e, "cannot roll back {what}");
    }
}

async fn turns_in(tx: &mut Tx, turns: &[TurnJob]) -> StoreResult<Vec<RawTurn>> {
    enum Slot {
        Saved(Option<String>),
        CopyOf(usize),
        Fresh(String),
    }
    let mut ids: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for t in turns {
        ids.entry(t.platform.as_str())
            .or_default()
            .push(t.msg_id.as_str());
    }
    let mut saved: HashMap<(&str, String), Option<String>> = HashMap::new();
    for (platform, ids) in ids {
        for (id, reply) in inbound::saved_replies(tx, platform, &ids).await? {
            saved.insert((platform, id), reply);
        }
    }
    let mut first: HashMap<(&str, &str), usize> = HashMap::new();
    let mut slots = Vec::with_capacity(turns.len());
    for (i, t) in turns.iter().enumerate() {
        let key = (t.platform.as_str(), t.msg_id.as_str());
        let repeat = if saved.is_empty() {
            None
        } else {
            saved.remove(&(key.0, t.msg_id.clone()))
        };
        if let Some(reply) = repeat {
            slots.push(Slot::Saved(reply));
        } else if let Some(&j) = first.get(&key) {
            slots.push(Slot::CopyOf(j));
        } else {
            first.insert(key, i);
            slots.push(Slot::Fresh((t.run)(tx).await?));
        }
    }
    let rows: Vec<inbound::Handled<'_>> = turns
        .iter()
        .zip(&slots)
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
    inbound::record_many(tx, &rows).await?;
    Ok(slots
        .iter()
        .map(|s| match s {
            Slot::Fresh(_) => RawTurn::Fresh,
            Slot::Saved(reply) => RawTurn::Duplicate(reply.clone()),
            Slot::CopyOf(j) => RawTurn::Duplicate(match &slots[*j] {
                Slot::Fresh(json) => Some(json.clone()),
                _ => None,
            }),
        })
        .collect())
}

async fn run_batch(tx: &mut Tx, jobs: Vec<Job>) -> anyhow::Result<()> {
    let single = jobs.len() == 1;
    if let Err(e) = begin(tx) {
        // Dropping a job closes its channel: its caller hears WriterGone.
        let msg = format!("cannot begin a write transaction: {e}");
        tracing::error!(%msg, jobs = jobs.len(), "dropping write jobs");
        anyhow::bail!(msg);
    }
    let mut finishes: Vec<(bool, Finish)> = Vec::with_capacity(jobs.len());
    let n = jobs.len();
    // One job alone needs no savepoint: its failure rolls back the whole
    // transaction below.
    let mut steps = if single {
        Ok(())
    } else {
        local_batch(tx, "SAVEPOINT job")
    };
    for (i, job) in jobs.into_iter().enumerate() {
        let (ok, finish) = job(tx).await;
        if !single && steps.is_ok() {
            let sql = match (ok, i + 1 == n) {
                (true, false) => "RELEASE job; SAVEPOINT job",
                (false, false) => "ROLLBACK TO job; RELEASE job; SAVEPOINT job",
                (true, true) => "RELEASE job",
                (false, true) => "ROLLBACK TO job; RELEASE job",
            };
            steps = local_batch(tx, sql);
        }
        finishes.push((ok, finish));
    }
    let all_failed = finishes.iter().all(|(ok, _)| !ok);
    let commit = match steps {
        Err(e) => Err(e),
        Ok(()) if single && all_failed => local_batch(tx, "ROLLBACK"),
        Ok(()) => local_batch(tx, "COMMIT"),
    };
    match commit {
        Ok(()) => {
            for (_, finish) in finishes {
                finish(Ok(()));
            }
            Ok(())
        }
        Err(e) => {
            rollback(tx, "a write batch");
            let msg = format!("commit failed: {e}");
            for (_, finish) in finishes {
                finish(Err(StoreError::Other(anyhow::anyhow!(msg.clone()))));
            }
            anyhow::bail!(msg)
        }
    }
}

pub(crate) fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

/// Milliseconds since the epoch for a chrono instant.
pub fn ms(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_millis()
}

/// The tables whose rows make up the product's state, for counting.
pub const COUNTED_TABLES: [&str; 13] = [
    "townships",
    "villages",
    "teams",
    "people",
    "team_roles",
    "chat_groups",
    "plans",
    "tasks",
    "services",
    "visits",
    "ratings",
    "requests",
    "inbound_messages",
];

/// Row counts of [`COUNTED_TABLES`] (tests, operators' sanity checks).
pub async fn table_counts(
    tx: &mut Tx,
) -> StoreResult<std::collections::BTreeMap<&'static str, i64>> {
    let mut out = std::collections::BTreeMap::new();
    for t in COUNTED_TABLES {
        out.insert(t, table_count(tx, t).await?);
    }
    Ok(out)
}

/// Rows of `table`, one of [`COUNTED_TABLES`].
pub async fn table_count(tx: &mut Tx, table: &'static str) -> StoreResult<i64> {
    if !COUNTED_TABLES.contains(&table) {
        return Err(StoreError::Other(anyhow::anyhow!(
            "{table:?} is not one of the counted tables"
        )));
    }
    // Table names come from the constant above, never from input.
    let sql = sql::Owned(format!("SELECT COUNT(*) FROM {table}"));
    let (n,): (i64,) = sql::query_as(sql).fetch_one(tx).await?;
    Ok(n)
}

/// The file path of a `sqlite:` URL.
pub fn sqlite_path(url: &str) -> anyhow::Result<std::path::PathBuf> {
    let opts =
        SqliteConnectOptions::from_str(url).with_context(|| format!("bad SQLite URL {url:?}"))?;
    Ok(opts.get_filename().to_path_buf())
}

/// Holds the SQLite database for this process: a second `liancun serve` on
/// the same file is refused instead of sharing it unsafely (SQLite serves one
/// process here; several replicas need PostgreSQL). The lock goes with the
/// process, also when it is killed.
pub struct ProcessLock {
    _file: std::fs::File,
    path: std::path::PathBuf,
}

impl ProcessLock {
    pub fn acquire(database_url: &str) -> anyhow::Result<Option<ProcessLock>> {
        if !database_url.starts_with("sqlite:") {
            return Ok(None);
        }
        let db = sqlite_path(database_url)?;
        if let Some(parent) = db.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create folder {}", parent.display()))?;
        }
        let mut path = db.clone().into_os_string();
        path.push(".lock");
        let path = std::path::PathBuf::from(path);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(ProcessLock { _file: file, path })),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "another liancun process is already using {} (lock {} is held). SQLite serves one process; \
                 stop the other one, or move to PostgreSQL (DATABASE_URL=postgres://…) to run several replicas",
                db.display(),
                path.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(anyhow::Error::new(e).context(format!("cannot lock {}", path.display())))
            }
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Db {
    /// An online backup of a SQLite database into `to` (a new file), with
    /// `VACUUM INTO`: consistent while the service keeps running. PostgreSQL
    /// is backed up with its own tools.
    pub async fn backup(&self, to: &std::path::Path) -> anyhow::Result<()> {
        match self {
            Db::Sqlite { readers, .. } => {
                if to.exists() {
                    anyhow::bail!("{} exists; a backup goes into a new file", to.display());
                }
                let target = to
                    .to_str()
                    .context("the backup path must be valid UTF-8")?
                    .replace('\'', "''");
                let sql = sqlx::AssertSqlSafe(format!("VACUUM INTO '{target}'"));
                sqlx::query(sql)
                    .execute(readers)
                    .await
                    .with_context(|| format!("backup into {} failed", to.display()))?;
                Ok(())
            }
            Db::Pg(_) => anyhow::bail!(
                "PostgreSQL is backed up with pg_dump: pg_dump -Fc \"$DATABASE_URL\" > liancun.dump (restore: pg_restore -d NEWDB liancun.dump)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_key_has_one_name_on_both_backends() {
        let sqlite = conflict_key(
            "UNIQUE constraint failed: villages.township_id, villages.name",
            None,
            None,
        );
        let pg = conflict_key(
            "duplicate key value violates unique constraint \"villages_township_name_key\"",
            Some("villages"),
            Some("Key (township_id, name)=(1, 南坞村) already exists."),
        );
        assert_eq!(sqlite, "villages(township_id, name)");
        assert_eq!(pg, sqlite);
        assert_eq!(
            conflict_key("UNIQUE constraint failed: townships.name", None, None),
            "townships(name)"
        );
    }

    /// A turn that adds a township named after its message and replies with
    /// that name; `fail` makes it fail after its insert.
    fn township_turn(
        db: Db,
        id: &str,
        fail: bool,
    ) -> impl std::future::Future<Output = StoreResult<TurnOutcome<String>>> + use<> {
        let name = id.to_string();
        async move {
            let msg = name.clone();
            db.turn("dingtalk", &msg, 1, move |tx| {
                let name = name.clone();
                Box::pin(async move {
                    sql::query("INSERT INTO townships (name, created_at) VALUES ($1, 1)")
                        .bind(&name)
                        .execute(tx)
                        .await?
                        .rows_affected();
                    if fail {
                        return Err(StoreError::Other(anyhow::anyhow!("turn {name} fails")));
                    }
                    Ok((format!("\"reply {name}\""), name))
                })
            })
            .await
        }
    }

    async fn names(db: &Db) -> Vec<String> {
        db.read(|tx| {
            Box::pin(async move {
                let r: Vec<(String,)> = sql::query_as("SELECT name FROM townships ORDER BY name")
                    .fetch_all(tx)
                    .await?;
                Ok::<_, StoreError>(r.into_iter().map(|(n,)| n).collect())
            })
        })
        .await
        .unwrap()
    }

    /// 0009 rebuilds `ratings` keyed by (team, week, person) WITHOUT ROWID:
    /// the ratings already stored come through it, and the upsert and the
    /// week's summary work on the new table.
    #[tokio::test]
    async fn ratings_survive_their_rebuild_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        let Db::Sqlite { writer_pool, .. } = &db else {
            unreachable!()
        };
        let mut before = sqlx::migrate!("migrations/sqlite");
        before.migrations = before
            .migrations
            .iter()
            .filter(|m| m.version < 9)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        before.run(writer_pool).await.unwrap();
        sqlx::raw_sql(
            "INSERT INTO townships (id, name, created_at) VALUES (1, '凤林镇', 0);
             INSERT INTO villages (id, township_id, name, created_at) VALUES (1, 1, '第1村', 0);
             INSERT INTO teams (id, village_id, name, created_at) VALUES (1, 1, '服务团', 0);
             INSERT INTO people (id, platform, platform_user_id, display_name, created_at)
                 VALUES (1, 'dingtalk', 'a', '甲', 0), (2, 'dingtalk', 'b', '乙', 0);
             INSERT INTO ratings VALUES (1, '2026-W49', 1, 4, '好', 0), (1, '2026-W49', 2, 5, '', 0);",
        )
        .execute(writer_pool)
        .await
        .unwrap();
        db.migrate().await.unwrap();
        let (ddl,): (String,) = sqlx::query_as(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'ratings'",
        )
        .fetch_one(writer_pool)
        .await
        .unwrap();
        assert!(ddl.contains("WITHOUT ROWID"), "{ddl}");
        let summary = db
            .write(|tx| {
                Box::pin(async move {
                    ratings::upsert(tx, 1, "2026-W49", 1, 2, "再评", 1).await?;
                    ratings::summary(tx, 1, "2026-W49", 1).await
                })
            })
            .await
            .unwrap();
        assert_eq!(
            summary,
            ratings::Summary {
                raters: 2,
                sum: 7,
                mine: Some(2)
            }
        );
        db.close().await;
    }

    /// 清单's backlog and the Sunday reminder read only open tasks (0010),
    /// not the team's whole year.
    #[tokio::test]
    async fn open_tasks_of_earlier_weeks_are_read_from_their_own_index() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let Db::Sqlite { readers, .. } = &db else {
            unreachable!()
        };
        for sql in [
            "SELECT COUNT(*) FROM tasks WHERE team_id = 1 AND week < '2026-W49' AND state = 'open'",
            "SELECT id FROM tasks WHERE team_id = 1 AND week <= '2026-W49' AND state = 'open' ORDER BY week, no",
        ] {
            let plan: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                    .fetch_all(readers)
                    .await
                    .unwrap();
            assert!(
                plan.iter()
                    .any(|r| r.3.contains("tasks_open_team_week_idx")),
                "{sql}: {plan:?}"
            );
        }
        db.close().await;
    }

    /// The writer runs under SCHED_BATCH, so that on a shared core it waits
    /// for a burst of turns instead of preempting the thread that queues them.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_writer_thread_is_batch_scheduled() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        // Other tests' writers may come and go meanwhile: every one found must
        // be batch-scheduled, and this test's own is among them.
        let mut writers = 0;
        for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            let Ok(tid) = task.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if comm.trim() != "liancun-writer" {
                continue;
            }
            if let Ok(policy) = crate::affinity::thread_policy(tid) {
                assert_eq!(policy, libc::SCHED_BATCH, "writer thread {tid}");
                writers += 1;
            }
        }
        assert!(writers >= 1, "no liancun-writer thread found");
        db.close().await;
    }

    /// The background checkpoint copies what the writer committed into the
    /// database file itself, which an `immutable` connection (one that does
    /// not look at the WAL) then sees.
    #[tokio::test]
    async fn the_wal_is_checkpointed_off_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Db::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        db.write(|tx| {
            Box::pin(async move {
                sql::query("INSERT INTO townships (name, created_at) VALUES ($1, 1)")
                    .bind("凤林镇")
                    .execute(tx)
                    .await
            })
        })
        .await
        .unwrap();
        let in_file = || {
            let c = rusqlite::Connection::open_with_flags(
                format!("file:{}?immutable=1", path.display()),
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI,
            )
            .unwrap();
            // Before the first checkpoint the file holds no tables at all.
            c.query_row(
                "SELECT COUNT(*) FROM townships WHERE name = '凤林镇'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap_or(0)
        };
        let mut seen = in_file();
        for _ in 0..40 {
            if seen == 1 {
                break;
            }
            tokio::time::sleep(CHECKPOINT_EVERY / 2).await;
            seen = in_file();
        }
        assert_eq!(seen, 1, "the commit never reached the database file");
        db.close().await;
    }

    #[tokio::test]
    async fn sqlite_in_memory_is_refused_with_what_to_give_instead() {
        for url in ["sqlite::memory:", "sqlite://x.db?mode=memory"] {
            let e = Db::connect(url).await.err().expect("refused");
            assert!(e.to_string().contains("Give a path"), "{url}: {e}");
        }
    }

    #[tokio::test]
    async fn a_batch_of_turns_dedupes_and_a_failing_turn_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        assert!(matches!(
            township_turn(db.clone(), "m0", false).await.unwrap(),
            TurnOutcome::Fresh(ref n) if n == "m0"
        ));

        // Hold the writer so that every turn below waits and is taken as one batch.
        let (release, hold) = oneshot::channel::<()>();
        let (started_tx, started) = oneshot::channel::<()>();
        let blocker = {
            let db = db.clone();
            tokio::spawn(async move {
                db.write(move |_tx| {
                    Box::pin(async move {
                        let _ = started_tx.send(());
                        let _ = hold.await;
                        Ok::<_, StoreError>(())
                    })
                })
                .await
            })
        };
        started.await.unwrap();
        let mut pending = Vec::new();
        for (id, fail) in [
            ("m1", false),
            ("m0", false), // recorded before the batch
            ("m2", false),
            ("bad", true),
            ("m1", false), // a copy within the batch
            ("m3", false),
        ] {
            pending.push(tokio::spawn(township_turn(db.clone(), id, fail)));
            tokio::task::yield_now().await;
        }
        // Let every turn reach the writer's queue before releasing it.
        tokio::time::sleep(Duration::from_millis(100)).await;
        release.send(()).unwrap();
        blocker.await.unwrap().unwrap();

        let mut out = Vec::new();
        for p in pending {
            out.push(p.await.unwrap());
        }
        let fresh = |r: &StoreResult<TurnOutcome<String>>, want: &str| matches!(r, Ok(TurnOutcome::Fresh(n)) if n == want);
        assert!(fresh(&out[0], "m1"), "{:?}", out[0]);
        assert!(
            matches!(&out[1], Ok(TurnOutcome::Duplicate(Some(r))) if r == "\"reply m0\""),
            "{:?}",
            out[1]
        );
        assert!(fresh(&out[2], "m2"), "{:?}", out[2]);
        assert!(
            matches!(&out[3], Err(StoreError::Other(e)) if e.to_string().contains("bad")),
            "{:?}",
            out[3]
        );
        assert!(
            matches!(&out[4], Ok(TurnOutcome::Duplicate(Some(r))) if r == "\"reply m1\""),
            "{:?}",
            out[4]
        );
        assert!(fresh(&out[5], "m3"), "{:?}", out[5]);
        // The failing turn left nothing; each other message changed state once.
        assert_eq!(names(&db).await, ["m0", "m1", "m2", "m3"]);
        let recorded = db
            .read(|tx| Box::pin(async move { inbound::count(tx).await }))
            .await
            .unwrap();
        assert_eq!(recorded, 4);
        db.close().await;
    }
}
