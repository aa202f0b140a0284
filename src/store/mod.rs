//! Storage: the only module that contains SQL.
//!
//! [`Db`] is chosen once from `DATABASE_URL`: SQLite (the embedded default) or
//! PostgreSQL. Queries are written once in the portable subset (`$N`
//! placeholders, `ON CONFLICT`, `RETURNING`, integer and text columns, instants
//! as UTC epoch milliseconds) and run on whichever backend is live through the
//! [`on_tx!`] macro, which compiles the same body against both drivers.
//!
//! Every unit of work runs in a transaction handed to a closure:
//! [`Db::write`] for changes and [`Db::read`] for queries. On SQLite all writes
//! go through one writer task that *group-commits*: it takes every job waiting
//! in its queue, runs each inside its own savepoint of one transaction and
//! commits once, so a burst of callbacks costs one commit instead of one each
//! (sqlx's SQLite driver pays a cross-thread hop per statement; batching is the
//! known way past it). A job that fails rolls back to its savepoint only, and no
//! caller hears "done" before the commit that made its work durable.

pub mod audit;
pub mod generate;
pub mod groups;
pub mod households;
pub mod inbound;
pub mod jobs;
pub mod outbox;
pub mod ranking;
pub mod ratings;
pub mod records;
pub mod tasks;

use std::path::Path;
use std::str::FromStr;
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
    /// A unique or foreign-key constraint refused the write; carries its name.
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
            sqlx::Error::Database(db)
                if db.is_unique_violation() || db.is_foreign_key_violation() =>
            {
                StoreError::Conflict(db.constraint().unwrap_or("unknown").to_string())
            }
            _ => StoreError::Other(anyhow::Error::new(e)),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An open transaction on whichever backend is live.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Pg(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$c` bound to the live connection of `$tx`. The body is
/// compiled once per backend, so the same SQL text and Rust types are checked
/// against both drivers.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $c:ident => $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::store::Tx::Pg(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

/// Which backend a [`Db`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

type Finish = Box<dyn FnOnce(StoreResult<()>) + Send>;
type Job = Box<dyn for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, (bool, Finish)> + Send>;

/// The database handle shared by the whole app; cheap to clone.
#[derive(Clone)]
pub enum Db {
    Sqlite {
        readers: SqlitePool,
        writer: mpsc::Sender<Job>,
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
            if let Some(parent) = Path::new(opts.get_filename()).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create folder {}", parent.display()))?;
            }
            let writer_pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .connect_with(opts.clone())
                .await
                .with_context(|| format!("cannot open SQLite database {url}"))?;
            let readers = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(opts.read_only(true))
                .await
                .with_context(|| format!("cannot open SQLite database {url} for reading"))?;
            let (tx, rx) = mpsc::channel::<Job>(4096);
            spawn_writer(writer_pool.clone(), rx)?;
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
                    .send(job)
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
        let end = match tx {
            Tx::Sqlite(t) => t.rollback().await,
            Tx::Pg(t) => t.rollback().await,
        };
        end.map_err(StoreError::from)?;
        out
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

/// Starts the SQLite writer on a thread of its own with a single-threaded
/// runtime. Every statement is a round trip to sqlx's SQLite worker thread;
/// a dedicated thread wakes as soon as the answer is there instead of
/// queueing behind HTTP tasks, which roughly halves each round trip on a
/// two-core machine.
fn spawn_writer(pool: SqlitePool, rx: mpsc::Receiver<Job>) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot build the SQLite writer runtime")?;
    std::thread::Builder::new()
        .name("liancun-writer".into())
        .spawn(move || rt.block_on(run_writer(pool, rx)))
        .context("cannot start the SQLite writer thread")?;
    Ok(())
}

/// The SQLite writer: one connection, group commit with a savepoint per job.
async fn run_writer(pool: SqlitePool, mut rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let jobs = std::mem::take(&mut batch);
        if let Err(e) = run_batch(&pool, jobs).await {
            tracing::error!(error = %e, "SQLite write batch failed");
        }
    }
}

async fn run_batch(pool: &SqlitePool, jobs: Vec<Job>) -> anyhow::Result<()> {
    let single = jobs.len() == 1;
    let t = match pool.begin().await {
        Ok(t) => t,
        Err(e) => {
            let msg = format!("cannot begin a write transaction: {e}");
            for job in jobs {
                fail_job(job, &msg).await;
            }
            anyhow::bail!(msg);
        }
    };
    let mut tx = Tx::Sqlite(t);
    let mut finishes: Vec<(bool, Finish)> = Vec::with_capacity(jobs.len());
    let n = jobs.len();
    // One job alone needs no savepoint: its failure rolls back the whole
    // transaction below. Between jobs, ending one savepoint and opening the
    // next is one round trip.
    if !single {
        on_tx!(&mut tx, c => sqlx::raw_sql("SAVEPOINT job").execute(c).await.map(|_| ()))?;
    }
    for (i, job) in jobs.into_iter().enumerate() {
        let (ok, finish) = job(&mut tx).await;
        if !single {
            let sql = match (ok, i + 1 == n) {
                (true, false) => "RELEASE job; SAVEPOINT job",
                (false, false) => "ROLLBACK TO job; RELEASE job; SAVEPOINT job",
                (true, true) => "RELEASE job",
                (false, true) => "ROLLBACK TO job; RELEASE job",
            };
            on_tx!(&mut tx, c => sqlx::raw_sql(sql).execute(c).await.map(|_| ()))?;
        }
        finishes.push((ok, finish));
    }
    let Tx::Sqlite(t) = tx else {
        unreachable!("the SQLite writer opens SQLite transactions")
    };
    let all_failed = finishes.iter().all(|(ok, _)| !ok);
    let commit = if single && all_failed {
        t.rollback().await
    } else {
        t.commit().await
    };
    match commit {
        Ok(()) => {
            for (_, finish) in finishes {
                finish(Ok(()));
            }
            Ok(())
        }
        Err(e) => {
            let msg = format!("commit failed: {e}");
            for (_, finish) in finishes {
                finish(Err(StoreError::Other(anyhow::anyhow!(msg.clone()))));
            }
            anyhow::bail!(msg)
        }
    }
}

/// Answers a job that never ran because its batch could not start.
async fn fail_job(job: Job, msg: &str) {
    // A job can only be answered through the finish it returns, and that needs
    // a transaction; without one, dropping it closes its channel, which the
    // caller sees as WriterGone. Log the cause here, once.
    drop(job);
    tracing::error!(%msg, "dropping a write job");
}

fn redact_url(url: &str) -> String {
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
        // Table names come from the constant above, never from input.
        let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {t}"));
        let (n,): (i64,) = on_tx!(tx, c => sqlx::query_as(sql).fetch_one(c).await?);
        out.insert(t, n);
    }
    Ok(out)
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
