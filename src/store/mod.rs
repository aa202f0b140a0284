//! Storage: the only module that contains SQL.
//!
//! [`Db`] is chosen once from `DATABASE_URL`: SQLite (the embedded default) or
//! PostgreSQL. Queries are written once in the portable subset (`$N`
//! placeholders, `ON CONFLICT`, `RETURNING`, integer and text columns, instants
//! as UTC epoch milliseconds) and run on whichever connection a [`Tx`] holds
//! through [`sql`], whose API mirrors sqlx's.
//!
//! Every unit of work runs in a transaction handed to a closure:
//! [`Db::write`] for changes, [`Db::turn`] for an inbound message's turn and
//! [`Db::read`] for queries. On SQLite all writes go through one writer
//! thread (`store::writer`) that *group-commits*: it takes every unit waiting
//! in its queue, runs them back to back in one transaction and commits once,
//! so a burst of callbacks costs one commit instead of one each. A unit that
//! fails fails alone (rolled back to a savepoint, the turns since it run
//! again), and no caller hears "done" before the commit that made its work
//! durable. The writer
//! holds its own connection ([`Tx::Local`]); [`sql`] is the one place that
//! tells it from sqlx's, and what the writer keeps between turns
//! (`store::contexts`, `store::tallies`) is reached through [`Tx::kept`].

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
pub mod rehearsal;
pub mod requests;
pub mod sql;
mod tallies;
pub mod tasks;
pub mod weekly;
mod writer;

pub use local::Local;
pub use sql::Tx;
pub use writer::{TurnJob, Work, WriteJob, WriterHealth};

use writer::{Finish, Job, Panicked, RawTurn, TurnRun, panicked_error, unwound};

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use futures_util::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
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

impl StoreError {
    /// Whether the write lost a race with a concurrent transaction and may
    /// succeed when run again: a unique or foreign key taken or removed
    /// meanwhile, a serialization failure, a deadlock.
    pub fn is_race(&self) -> bool {
        match self {
            StoreError::Conflict(_) => true,
            StoreError::Other(e) => e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<sqlx::Error>(),
                    Some(sqlx::Error::Database(db))
                        if matches!(db.code().as_deref(), Some("40001" | "40P01"))
                )
            }),
            StoreError::NotFound | StoreError::WriterGone => false,
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

/// Prepared statements kept per PostgreSQL connection.
const PG_STATEMENT_CACHE: usize = 512;

/// Most runs of one turn on PostgreSQL when it keeps losing races.
const PG_TURN_ATTEMPTS: u64 = 5;

/// Which backend a [`Db`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

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
        /// Whether the writer thread is running (`/readyz`).
        writer_health: Arc<WriterHealth>,
    },
    Pg(PgPool),
}

impl Db {
    /// Connects to `url`, creating a SQLite file (and its folder) if missing.
    /// Does not migrate; call [`Db::migrate`].
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("bad SQLite URL {:?}", redact_url(url)))?
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
                .with_context(|| format!("cannot open SQLite database {}", redact_url(url)))?;
            let (tx, rx) = mpsc::channel::<Work>(4096);
            let writer_health = Arc::new(WriterHealth::default());
            writer::spawn_writer(
                Path::new(opts.get_filename()),
                rx,
                Arc::clone(&writer_health),
            )
            .await
            .with_context(|| format!("cannot open SQLite database {}", redact_url(url)))?;
            let readers = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(opts.read_only(true))
                .await
                .with_context(|| {
                    format!(
                        "cannot open SQLite database {} for reading",
                        redact_url(url)
                    )
                })?;
            tokio::spawn(writer::checkpoint_wal(writer_pool.clone()));
            Ok(Db::Sqlite {
                readers,
                writer: tx,
                writer_pool,
                writer_health,
            })
        } else {
            // Each statement is prepared once per connection and then costs
            // one round trip per run. sqlx keeps 100 per connection by
            // default; the store has a few hundred (multi-row statements one
            // per row count), and one evicted from the cache costs an extra
            // round trip (parse and describe) each time it comes back.
            let opts = PgConnectOptions::from_str(url)
                .with_context(|| {
                    format!("bad PostgreSQL URL (secrets hidden): {}", redact_url(url))
                })?
                .statement_cache_capacity(PG_STATEMENT_CACHE);
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .with_context(|| format!("cannot connect to PostgreSQL at {}", redact_url(url)))?;
            Ok(Db::Pg(pool))
        }
    }

    /// Whether the PostgreSQL connection is encrypted (as `sslmode` in the
    /// URL asked); `None` on SQLite.
    pub async fn tls_in_use(&self) -> anyhow::Result<Option<bool>> {
        match self {
            Db::Sqlite { .. } => Ok(None),
            Db::Pg(pool) => sqlx::query_scalar::<_, bool>(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            )
            .fetch_one(pool)
            .await
            .map(Some)
            .context("reading pg_stat_ssl"),
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

    /// Whether the database answers (for `/readyz`); on SQLite also whether
    /// the writer thread is running (not restarting after a panic, not gone).
    pub async fn ping(&self) -> bool {
        let r = match self {
            Db::Sqlite {
                readers,
                writer,
                writer_health,
                ..
            } => {
                if writer.is_closed() || !writer_health.up.load(Ordering::Acquire) {
                    return false;
                }
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
                // Shared with `panicked`, which answers if the job panics.
                let done = Arc::new(Mutex::new(Some(done_tx)));
                let take = |done: &Mutex<Option<oneshot::Sender<Result<T, E>>>>| {
                    done.lock().unwrap_or_else(|p| p.into_inner()).take()
                };
                let answer = Arc::clone(&done);
                let panicked: Panicked = Box::new(move |why| {
                    if let Some(done) = take(&answer) {
                        let _ = done.send(Err(E::from(panicked_error("write", &why))));
                    }
                });
                let run: Job = Box::new(move |tx: &mut Tx| {
                    Box::pin(async move {
                        let out = f(tx).await;
                        let ok = out.is_ok();
                        let finish: Finish = Box::new(move |commit| {
                            let out = match out {
                                Ok(v) => commit.map(|()| v).map_err(E::from),
                                Err(e) => Err(e),
                            };
                            // The caller may have gone away; nothing waits then.
                            if let Some(done) = take(&done) {
                                let _ = done.send(out);
                            }
                        });
                        (ok, finish)
                    })
                });
                writer
                    .send(Work::Job(WriteJob { run, panicked }))
                    .await
                    .map_err(|_| E::from(StoreError::WriterGone))?;
                done_rx.await.map_err(|_| E::from(StoreError::WriterGone))?
            }
            Db::Pg(pool) => pg_write(pool, f).await,
        }
    }

    /// Runs `f` as a read that may bring derived rows up to date (排名's
    /// `team_month_live`, see [`ranking::current_team_months`]): on
    /// PostgreSQL a transaction of the pool, committed when `f` succeeds;
    /// on SQLite a read, since nothing derived is kept there. The
    /// transaction is READ COMMITTED, PostgreSQL's default, which the
    /// refresh relies on: each statement sees what committed before it.
    pub async fn read_fresh<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, Result<T, E>>,
    {
        match self {
            Db::Sqlite { .. } => self.read(f).await,
            Db::Pg(pool) => pg_write(pool, f).await,
        }
    }

    /// Runs `f` in a read transaction: one consistent snapshot on both
    /// backends, so a view read in several statements (a week's totals and
    /// its list, say) never mixes before and after a write that commits
    /// between them. SQLite's read transaction is a snapshot already; on
    /// PostgreSQL, whose default (READ COMMITTED) takes a new snapshot per
    /// statement, it is REPEATABLE READ, and READ ONLY, so a write slipped
    /// into a read fails instead of being rolled back unseen.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, Result<T, E>>,
    {
        let mut tx = match self {
            Db::Sqlite { readers, .. } => {
                Tx::Sqlite(readers.begin().await.map_err(StoreError::from)?)
            }
            Db::Pg(pool) => Tx::Pg(pool.begin_with(PG_READ).await.map_err(StoreError::from)?),
        };
        let out = f(&mut tx).await;
        // Read-only: ending with a rollback releases the snapshot either way.
        tx.finish(false).await?;
        out
    }

    /// Runs one inbound message's turn exactly once per `(platform, msg_id)`:
    /// `f` makes the turn's changes and returns its reply as JSON plus a value
    /// for the caller; the message id is recorded with that reply in the same
    /// transaction. A repeat delivery changes nothing and gets the saved
    /// reply. `f` may run more than once (only one run's changes stay), so it
    /// must not act outside the transaction.
    ///
    /// On SQLite the writer takes turns in batches (`store::writer`): one
    /// statement looks up every message id of the batch, the turns run back
    /// to back, and one statement records them all. A turn that fails or
    /// panics is rolled back to the batch's savepoint and the turns since it
    /// run again, so only the failing turn fails; a turn that panics fails
    /// alone on PostgreSQL too.
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
                let id = msg_id.to_string();
                let run: TurnRun = Arc::new(move |tx: &mut Tx| {
                    let fill = Arc::clone(&fill);
                    let fut = f(tx);
                    let id = id.clone();
                    Box::pin(async move {
                        faults::maybe_panic(&id);
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
    /// transaction of its own. The message id is claimed first, so a copy
    /// delivered at the same moment waits for the first delivery's commit
    /// before it has done anything, and then gets its saved reply from the
    /// claim itself (a duplicate costs BEGIN, the claim and ROLLBACK). A turn
    /// that loses a race to another message (a unique key taken meanwhile, a
    /// serialization failure or a deadlock) is run again, up to
    /// [`PG_TURN_ATTEMPTS`] times, instead of telling the sender to resend.
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
            Duplicate(Option<String>),
            Store(StoreError),
        }
        impl From<StoreError> for Fail {
            fn from(e: StoreError) -> Self {
                Fail::Store(e)
            }
        }
        let f = Arc::new(f);
        let mut attempt = 1;
        loop {
            let (p, id, f) = (platform.to_string(), msg_id.to_string(), Arc::clone(&f));
            let r = self
                .write(move |tx| {
                    Box::pin(async move {
                        if let inbound::Claim::Taken(saved) =
                            inbound::claim(tx, &p, &id, now_ms).await?
                        {
                            return Err(Fail::Duplicate(saved));
                        }
                        faults::maybe_panic(&id);
                        let (json, value) = f(tx).await?;
                        inbound::save_reply(tx, &p, &id, &json).await?;
                        Ok(value)
                    })
                })
                .await;
            match r {
                Ok(v) => return Ok(TurnOutcome::Fresh(v)),
                Err(Fail::Store(e)) if e.is_race() && attempt < PG_TURN_ATTEMPTS => {
                    tracing::warn!(error = %e, attempt, "a turn lost a race on PostgreSQL; running it again");
                    // A little jitter, so that the racers do not meet again.
                    let pause = 5 * attempt + fastrand::u64(0..20 * attempt);
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                    attempt += 1;
                }
                Err(Fail::Store(e)) => return Err(e),
                Err(Fail::Duplicate(saved)) => return Ok(TurnOutcome::Duplicate(saved)),
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

/// Query parameters of a database URL that carry no secret (sqlx's
/// PostgreSQL and SQLite options); any other parameter's value is hidden.
const HARMLESS_URL_PARAMS: [&str; 17] = [
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "application_name",
    "statement-cache-capacity",
    "mode",
    "cache",
    "immutable",
];

/// A database URL fit to print (`check-config`, connection errors): the
/// password of `user:password@`, the value of every query parameter not
/// known to be harmless (`?password=`, `?sslkey=` which may hold a key
/// inline, `?options=`, misspellings such as `?pass%77ord=`) and any
/// fragment become `***`. A URL that does not parse is shown as its
/// scheme alone, since where its password ends cannot be told. Text with
/// no scheme (a libpq `host=db password=…` string, a pasted password) is
/// not shown at all.
pub fn redact_url(url: &str) -> String {
    let Some(scheme) = url.split_once(':').map(|(s, _)| s).filter(|s| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    }) else {
        return "*** (not a URL; hidden)".to_string();
    };
    if !url.contains(['@', '?', '#', '=', ' ']) {
        return url.to_string();
    }
    let Ok(mut u) = reqwest::Url::parse(url) else {
        return format!("{scheme}:*** (does not parse as a URL; shown without its rest)");
    };
    // A password with a raw `/` or `?` ends the authority early and leaves
    // its tail in the path: `postgres://lc:123/tail@db/x`.
    // `postgres:host=db password=…`: key=value pairs where a path would be.
    if u.path().contains(['@', '=']) || u.host_str().is_some_and(|h| h.contains('@')) {
        return format!("{scheme}:*** (an @ outside the user part; shown without its rest)");
    }
    if u.password().is_some() && u.set_password(Some("***")).is_err() {
        return format!("{scheme}:***");
    }
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if HARMLESS_URL_PARAMS.contains(&&*k) {
                    v.into_owned()
                } else {
                    "***".to_string()
                };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    if u.fragment().is_some() {
        u.set_fragment(Some("***"));
    }
    u.to_string()
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
    let opts = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("bad SQLite URL {:?}", redact_url(url)))?;
    Ok(opts.get_filename().to_path_buf())
}

/// The one name of a database file however it is spelled: symlinks and
/// `..` resolved, relative to the working directory made absolute. A file
/// not created yet is named by its folder's canonical path.
pub fn canonical_db_path(db: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    if db.exists() {
        return std::fs::canonicalize(db)
            .with_context(|| format!("cannot resolve the path {}", db.display()));
    }
    let name = db
        .file_name()
        .with_context(|| format!("{} names no file", db.display()))?;
    let parent = match db.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let parent = std::fs::canonicalize(parent)
        .with_context(|| format!("cannot resolve the folder {}", parent.display()))?;
    Ok(parent.join(name))
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
        let db = canonical_db_path(&db)?;
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

/// Test seam: turns that panic inside their write closure, as a bug in a
/// turn would. Nothing in the service arms it; only tests call
/// [`faults::panic_in_turn`].
#[doc(hidden)]
pub mod faults {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    static ARMED: AtomicBool = AtomicBool::new(false);
    static MSG_IDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

    /// From now on, every run of the turn of message `msg_id` panics.
    #[doc(hidden)]
    pub fn panic_in_turn(msg_id: &str) {
        MSG_IDS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(msg_id.to_string());
        ARMED.store(true, Ordering::Release);
    }

    /// Panics if the turn of `msg_id` is to panic.
    pub(super) fn maybe_panic(msg_id: &str) {
        if ARMED.load(Ordering::Acquire)
            && MSG_IDS
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .any(|m| m == msg_id)
        {
            panic!("the turn of {msg_id} panics (test seam)");
        }
    }
}

/// How [`Db::read`] begins on PostgreSQL. A read-only transaction under
/// REPEATABLE READ never fails to serialize; it only keeps its snapshot.
const PG_READ: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

/// One write transaction of the pool: committed when `f` succeeds, rolled
/// back when it fails or panics (a panic fails this write alone, as on
/// SQLite).
async fn pg_write<T, E, F>(pool: &PgPool, f: F) -> Result<T, E>
where
    E: From<StoreError>,
    F: for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, Result<T, E>>,
{
    let t = pool.begin().await.map_err(StoreError::from)?;
    let mut tx = Tx::Pg(t);
    let borrowed = &mut tx;
    let out = match unwound(move || f(borrowed)).await {
        Ok(out) => out,
        Err(why) => {
            tracing::error!(panic = %why, "a write panicked; it is rolled back");
            Err(E::from(panicked_error("write", &why)))
        }
    };
    tx.finish(out.is_ok()).await?;
    out
}

#[cfg(test)]
mod tests {
    use super::writer::CHECKPOINT_EVERY;
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

    #[test]
    fn every_credential_form_is_hidden_in_printed_database_urls() {
        for (url, keep) in [
            (
                "postgres://liancun:s3cret@db:5432/liancun",
                "liancun:***@db:5432/liancun",
            ),
            (
                "postgres://db/liancun?password=s3cret&sslmode=require",
                "sslmode=require",
            ),
            (
                "postgresql:///liancun?host=/run/postgresql&user=lc&password=s3cret",
                "user=lc",
            ),
            ("postgres://db/x?PASSWORD=s3cret", "PASSWORD=***"),
            ("postgres://db/x?pass%77ord=s3cret", "password=***"),
            (
                "postgres://db/x?sslkey=-----BEGIN%20PRIVATE%20KEY-----s3cret",
                "sslkey=***",
            ),
            (
                "postgres://db/x?options=-c%20secret%3Ds3cret",
                "options=***",
            ),
            ("postgres://lc:s3c%40ret@db/x", "lc:***@db/x"),
            ("postgres://lc:s3c@ret@db/x", "@db/x"),
            ("postgres://db/x#s3cret", "db/x#***"),
            ("mysql://root:s3cret@db/x", "mysql://root:***@db/x"),
            // Does not parse: nothing but the scheme is shown.
            ("postgres://lc:s3c#ret@db/x", "postgres:***"),
            ("postgres://lc:s3c/ret@db/x", "postgres:***"),
            ("postgres://lc:123/s3cret@db/x", "postgres:***"),
            // libpq key=value strings and a pasted password: nothing shown.
            ("host=db user=lc password=s3cret", "***"),
            ("s3cret", "***"),
            ("postgres:host=db password=s3cret", "postgres:***"),
            ("postgres:///x?host=/run&password=s3cret", "password=***"),
            (
                "sqlite://data/liancun.db?mode=rwc",
                "sqlite://data/liancun.db?mode=rwc",
            ),
        ] {
            let shown = redact_url(url);
            for secret in ["s3cret", "s3c", "ret@", "%40ret", "cret", "PRIVATE"] {
                assert!(!shown.contains(secret), "{url} → {shown}");
            }
            assert!(shown.contains(keep), "{url} → {shown}, wanted {keep}");
        }
        assert_eq!(
            redact_url("sqlite://data/liancun.db"),
            "sqlite://data/liancun.db"
        );
    }

    #[test]
    fn one_lock_per_database_file_however_it_is_spelled() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("data");
        std::fs::create_dir_all(real.join("sub")).unwrap();
        let url = format!("sqlite://{}", real.join("liancun.db").display());
        let held = ProcessLock::acquire(&url).unwrap().expect("a SQLite lock");
        // Another spelling of the same (not yet created) file: `..`.
        let dotdot = format!("sqlite://{}", real.join("sub/../liancun.db").display());
        let err = ProcessLock::acquire(&dotdot)
            .err()
            .expect("`..` is the same file");
        assert!(format!("{err:#}").contains("already using"), "{err:#}");
        // A symlinked folder.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let linked = format!("sqlite://{}", link.join("liancun.db").display());
        assert!(
            ProcessLock::acquire(&linked).is_err(),
            "a symlinked folder is the same file"
        );
        // A symlink to the database file itself, once it exists.
        std::fs::write(real.join("liancun.db"), b"").unwrap();
        std::os::unix::fs::symlink(real.join("liancun.db"), dir.path().join("other.db")).unwrap();
        let file_link = format!("sqlite://{}", dir.path().join("other.db").display());
        assert!(
            ProcessLock::acquire(&file_link).is_err(),
            "a symlinked file is the same file"
        );
        // Another file is not.
        let other = format!("sqlite://{}", real.join("other.db").display());
        assert!(ProcessLock::acquire(&other).unwrap().is_some());
        drop(held);
        assert!(
            ProcessLock::acquire(&linked).unwrap().is_some(),
            "free once released"
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

    /// 0015: numbers become unique per team. Open tasks of earlier weeks take
    /// fresh numbers above the team's highest, the latest week keeps its own,
    /// and the counter goes on from there.
    #[tokio::test]
    async fn task_numbers_become_unique_per_team() {
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
            .filter(|m| m.version < 15)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        before.run(writer_pool).await.unwrap();
        sqlx::raw_sql(
            "INSERT INTO townships (id, name, created_at) VALUES (1, '凤林镇', 0);
             INSERT INTO villages (id, township_id, name, created_at) VALUES (1, 1, '第1村', 0);
             INSERT INTO teams (id, village_id, name, created_at) VALUES (1, 1, '甲团', 0), (2, 1, '乙团', 0);
             INSERT INTO people (id, platform, platform_user_id, display_name, created_at)
                 VALUES (1, 'dingtalk', 'a', '甲', 0);
             INSERT INTO tasks (id, team_id, week, no, text, level, deadline_at, state, source, created_by, created_at) VALUES
                 (1, 1, '2026-W48', 1, 'a', 'red', 0, 'open', 'plan', 1, 0),
                 (2, 1, '2026-W48', 2, 'b', 'red', 0, 'closed', 'plan', 1, 0),
                 (3, 1, '2026-W48', 3, 'c', 'red', 0, 'open', 'plan', 1, 0),
                 (4, 1, '2026-W49', 1, 'd', 'red', 0, 'open', 'plan', 1, 0),
                 (5, 1, '2026-W49', 2, 'e', 'red', 0, 'closed', 'plan', 1, 0),
                 (6, 2, '2026-W49', 1, 'f', 'red', 0, 'open', 'plan', 1, 0);",
        )
        .execute(writer_pool)
        .await
        .unwrap();
        db.migrate().await.unwrap();
        let nos: Vec<(i64, i64)> = sqlx::query_as("SELECT id, no FROM tasks ORDER BY id")
            .fetch_all(writer_pool)
            .await
            .unwrap();
        assert_eq!(nos, vec![(1, 4), (2, 2), (3, 5), (4, 1), (5, 2), (6, 1)]);
        let new = db
            .write(|tx| {
                Box::pin(async move {
                    let t = tasks::NewTask {
                        text: "g".into(),
                        level: "green",
                        deadline_at: 0,
                        source: "add",
                        owners: vec![1],
                    };
                    let a = tasks::insert_tasks(tx, 1, "2026-W50", 1, 0, &[t.clone(), t.clone()])
                        .await?;
                    let b = tasks::insert_tasks(tx, 2, "2026-W50", 1, 0, &[t]).await?;
                    let found = tasks::task_by_no(tx, 1, 2).await?;
                    Ok::<_, StoreError>((a, b, found.map(|f| f.task.id)))
                })
            })
            .await
            .unwrap();
        assert_eq!(new.0.iter().map(|x| x.1).collect::<Vec<_>>(), vec![6, 7]);
        assert_eq!(new.1.iter().map(|x| x.1).collect::<Vec<_>>(), vec![2]);
        assert_eq!(new.2, Some(5), "no open #2: the latest task that had it");
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

    /// Holds the writer with a job until the returned sender is used, so
    /// that what is sent meanwhile is taken as one batch.
    async fn hold_writer(
        db: &Db,
    ) -> (
        oneshot::Sender<()>,
        tokio::task::JoinHandle<StoreResult<()>>,
    ) {
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
        (release, blocker)
    }

    async fn add_township(db: &Db, name: &str, panics: bool) -> StoreResult<()> {
        let name = name.to_string();
        db.write(move |tx| {
            Box::pin(async move {
                sql::query("INSERT INTO townships (name, created_at) VALUES ($1, 1)")
                    .bind(&name)
                    .execute(tx)
                    .await?;
                if panics {
                    panic!("a bug in the write of {name}");
                }
                Ok::<_, StoreError>(())
            })
        })
        .await
    }

    async fn migrated() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        (dir, db)
    }

    /// A write that panics fails alone, with an error naming the panic; its
    /// batch-mates commit and the writer takes the next write.
    #[tokio::test]
    async fn a_panicking_write_fails_alone_and_the_writer_goes_on() {
        let (_dir, db) = migrated().await;
        let e = add_township(&db, "alone", true).await.unwrap_err();
        assert!(e.to_string().contains("panicked"), "{e}");

        let (release, blocker) = hold_writer(&db).await;
        let mut pending = Vec::new();
        for (name, panics) in [("w1", false), ("boom", true), ("w2", false)] {
            let db = db.clone();
            pending.push(tokio::spawn(async move {
                add_township(&db, name, panics).await
            }));
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        release.send(()).unwrap();
        blocker.await.unwrap().unwrap();
        let out: Vec<_> = futures_util::future::join_all(pending).await;
        assert!(matches!(out[0], Ok(Ok(()))), "{:?}", out[0]);
        assert!(
            matches!(&out[1], Ok(Err(StoreError::Other(e))) if e.to_string().contains("panicked")),
            "{:?}",
            out[1]
        );
        assert!(matches!(out[2], Ok(Ok(()))), "{:?}", out[2]);
        add_township(&db, "after", false).await.unwrap();
        assert_eq!(names(&db).await, ["after", "w1", "w2"]);
        assert!(db.ping().await);
        db.close().await;
    }

    /// A turn that panics gets an error; the rest of its batch commits and
    /// is recorded, and the next turn goes through.
    #[tokio::test]
    async fn a_panicking_turn_fails_alone_and_its_batch_mates_commit() {
        let (_dir, db) = migrated().await;
        faults::panic_in_turn("unit-boom");
        let (release, blocker) = hold_writer(&db).await;
        let mut pending = Vec::new();
        for id in ["t1", "unit-boom", "t2"] {
            pending.push(tokio::spawn(township_turn(db.clone(), id, false)));
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        release.send(()).unwrap();
        blocker.await.unwrap().unwrap();
        let mut out = Vec::new();
        for p in pending {
            out.push(p.await.unwrap());
        }
        assert!(
            matches!(&out[0], Ok(TurnOutcome::Fresh(n)) if n == "t1"),
            "{:?}",
            out[0]
        );
        assert!(
            matches!(&out[1], Err(StoreError::Other(e)) if e.to_string().contains("panicked")),
            "{:?}",
            out[1]
        );
        assert!(
            matches!(&out[2], Ok(TurnOutcome::Fresh(n)) if n == "t2"),
            "{:?}",
            out[2]
        );
        assert!(matches!(
            township_turn(db.clone(), "t3", false).await,
            Ok(TurnOutcome::Fresh(n)) if n == "t3"
        ));
        assert_eq!(names(&db).await, ["t1", "t2", "t3"]);
        let recorded = db
            .read(|tx| Box::pin(async move { inbound::count(tx).await }))
            .await
            .unwrap();
        assert_eq!(recorded, 3);
        db.close().await;
    }

    /// Plain writes and turns waiting together commit in one batch, in
    /// arrival order; a failing write and a failing turn each fail alone,
    /// and a copy of a message whose first run failed runs itself.
    #[tokio::test]
    async fn writes_and_turns_share_a_batch_and_each_failure_stays_alone() {
        let (_dir, db) = migrated().await;
        let failing_write = |db: Db| async move {
            db.write(|tx| {
                Box::pin(async move {
                    sql::query("INSERT INTO townships (name, created_at) VALUES ('w-bad', 1)")
                        .execute(tx)
                        .await?;
                    Err::<(), _>(StoreError::Other(anyhow::anyhow!("write fails")))
                })
            })
            .await
        };
        township_turn(db.clone(), "old", false).await.unwrap();
        let (release, blocker) = hold_writer(&db).await;
        let old_again = [
            tokio::spawn(township_turn(db.clone(), "old", false)),
            tokio::spawn(township_turn(db.clone(), "old", false)),
        ];
        tokio::task::yield_now().await;
        let w1 = tokio::spawn({
            let db = db.clone();
            async move { add_township(&db, "w1", false).await }
        });
        tokio::task::yield_now().await;
        let t_bad = tokio::spawn(township_turn(db.clone(), "bad", true));
        tokio::task::yield_now().await;
        let w_bad = tokio::spawn(failing_write(db.clone()));
        tokio::task::yield_now().await;
        let t1 = tokio::spawn(township_turn(db.clone(), "t1", false));
        tokio::task::yield_now().await;
        let w2 = tokio::spawn({
            let db = db.clone();
            async move { add_township(&db, "w2", false).await }
        });
        tokio::task::yield_now().await;
        let dup_bad = tokio::spawn(township_turn(db.clone(), "dup", true));
        tokio::task::yield_now().await;
        let dup = tokio::spawn(township_turn(db.clone(), "dup", false));
        tokio::time::sleep(Duration::from_millis(100)).await;
        release.send(()).unwrap();
        blocker.await.unwrap().unwrap();
        assert!(matches!(w1.await.unwrap(), Ok(())));
        assert!(
            matches!(t_bad.await.unwrap(), Err(StoreError::Other(e)) if e.to_string().contains("bad"))
        );
        assert!(
            matches!(w_bad.await.unwrap(), Err(StoreError::Other(e)) if e.to_string().contains("write fails"))
        );
        assert!(matches!(t1.await.unwrap(), Ok(TurnOutcome::Fresh(n)) if n == "t1"));
        assert!(matches!(w2.await.unwrap(), Ok(())));
        assert!(dup_bad.await.unwrap().is_err());
        assert!(
            matches!(dup.await.unwrap(), Ok(TurnOutcome::Fresh(n)) if n == "dup"),
            "the copy of a failed first run runs itself"
        );
        for again in old_again {
            assert!(
                matches!(again.await.unwrap(), Ok(TurnOutcome::Duplicate(Some(r))) if r == "\"reply old\""),
                "every copy of a message handled before gets its saved reply"
            );
        }
        assert_eq!(names(&db).await, ["dup", "old", "t1", "w1", "w2"]);
        let recorded = db
            .read(|tx| Box::pin(async move { inbound::count(tx).await }))
            .await
            .unwrap();
        assert_eq!(recorded, 3, "only the turns that committed are recorded");
        db.close().await;
    }

    /// A panic in the writer's own code fails the work it held; the writer
    /// restarts on a new connection and takes the next write. `/readyz`
    /// (ping) fails while it is down.
    #[tokio::test]
    async fn the_writer_restarts_after_a_panic_of_its_own() {
        let (_dir, db) = migrated().await;
        let Db::Sqlite {
            writer,
            writer_health,
            ..
        } = &db
        else {
            unreachable!()
        };
        let (release, blocker) = hold_writer(&db).await;
        writer.send(Work::Crash).await.unwrap();
        let lost = {
            let db = db.clone();
            tokio::spawn(async move { add_township(&db, "lost", false).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        release.send(()).unwrap();
        blocker.await.unwrap().unwrap();
        // Taken in the batch that crashed: failed, not left waiting.
        assert!(
            matches!(lost.await.unwrap(), Err(StoreError::WriterGone)),
            "the write held by the crashed batch fails"
        );
        for _ in 0..100 {
            if writer_health.restarts.load(Ordering::Relaxed) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(writer_health.restarts.load(Ordering::Relaxed), 1);
        add_township(&db, "after", false).await.unwrap();
        assert_eq!(names(&db).await, ["after"]);
        assert!(db.ping().await, "ready again once restarted");
        writer_health.up.store(false, Ordering::Release);
        assert!(!db.ping().await, "not ready while the writer is down");
        writer_health.up.store(true, Ordering::Release);
        db.close().await;
    }

    #[test]
    fn races_are_told_from_other_failures() {
        assert!(StoreError::Conflict("tasks_team_week_no_key".into()).is_race());
        assert!(!StoreError::NotFound.is_race());
        assert!(!StoreError::WriterGone.is_race());
        assert!(!StoreError::Other(anyhow::anyhow!("disk full")).is_race());
        let wrapped = anyhow::Error::new(sqlx::Error::PoolTimedOut).context("a turn");
        assert!(!StoreError::Other(wrapped).is_race());
    }
}
