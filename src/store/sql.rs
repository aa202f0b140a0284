//! The store's executor: the one place that knows which connection a
//! [`Tx`] holds. Three kinds: sqlx's SQLite and PostgreSQL transactions, and
//! the SQLite writer's own rusqlite connection ([`Tx::Local`]), on which
//! statements run synchronously on the writer thread instead of as a round
//! trip to sqlx's worker thread each. Query functions are written once
//! against this module and never ask which connection they run on; what the
//! writer keeps between turns they reach through [`Tx::kept`], which is
//! empty elsewhere.
//!
//! The API mirrors the part of sqlx the store uses: [`query`] / [`query_as`],
//! `.bind(v)`, then `.execute(tx)`, `.fetch_one(tx)`, `.fetch_optional(tx)`
//! or `.fetch_all(tx)`; a plain insert that wants its row's id is said so by
//! the caller with [`insert_returning_id!`](crate::insert_returning_id). The
//! same SQL text (`$N` placeholders, which SQLite reads as named parameters)
//! runs on every backend. Rows decode through sqlx's `FromRow` on sqlx
//! connections and through [`LocalRow`] on the writer's;
//! [`row_struct!`](crate::row_struct) declares a struct with both.

use std::collections::HashMap;
use std::marker::PhantomData;

use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Postgres, Sqlite, Transaction};

use super::local::Kept;
use super::{Backend, Local, StoreError, StoreResult};

/// An open transaction on whichever connection is live.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Pg(Transaction<'static, Postgres>),
    /// The SQLite writer's own connection, inside the transaction of its
    /// current batch (boxed: it is far larger than a pooled transaction).
    Local(Box<Local>),
}

impl Tx {
    /// The database this transaction runs on, for the few statements whose
    /// dialects differ.
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) | Tx::Local(_) => Backend::Sqlite,
            Tx::Pg(_) => Backend::Postgres,
        }
    }

    /// What the SQLite writer keeps between turns (group contexts, week
    /// tallies); on any other connection nothing is kept.
    pub(crate) fn kept(&mut self) -> Kept<'_> {
        match self {
            Tx::Local(l) => Kept(Some(l)),
            Tx::Sqlite(_) | Tx::Pg(_) => Kept(None),
        }
    }

    /// The writer's own connection, for the writer's transaction steps.
    pub(super) fn writer(&mut self) -> StoreResult<&mut Local> {
        match self {
            Tx::Local(l) => Ok(l),
            Tx::Sqlite(_) | Tx::Pg(_) => Err(StoreError::Other(anyhow::anyhow!(
                "only the SQLite writer's connection takes the writer's steps"
            ))),
        }
    }

    /// Ends a pooled transaction, committing it if `commit`.
    pub(super) async fn finish(self, commit: bool) -> StoreResult<()> {
        match (self, commit) {
            (Tx::Sqlite(t), true) => t.commit().await?,
            (Tx::Sqlite(t), false) => t.rollback().await?,
            (Tx::Pg(t), true) => t.commit().await?,
            (Tx::Pg(t), false) => t.rollback().await?,
            (Tx::Local(_), _) => {
                return Err(StoreError::Other(anyhow::anyhow!(
                    "the SQLite writer ends its transactions itself"
                )));
            }
        }
        Ok(())
    }
}

/// SQL text: a literal, or one built at run time ([`Owned`]) from literals
/// and placeholders only (values are always bound).
pub enum Sql {
    Static(&'static str),
    Owned(String),
}

/// SQL built at run time from literals and placeholders only.
pub struct Owned(pub String);

impl From<&'static str> for Sql {
    fn from(s: &'static str) -> Self {
        Sql::Static(s)
    }
}

impl From<Owned> for Sql {
    fn from(s: Owned) -> Self {
        Sql::Owned(s.0)
    }
}

impl Sql {
    fn as_str(&self) -> &str {
        match self {
            Sql::Static(s) => s,
            Sql::Owned(s) => s,
        }
    }
}

/// The SQL type of a NULL, which PostgreSQL needs to know.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Int,
    Real,
    Text,
    Bool,
}

/// One bound value.
#[derive(Debug, Clone)]
pub enum Arg<'q> {
    Int(i64),
    Real(f64),
    Bool(bool),
    Str(&'q str),
    String(String),
    Null(Kind),
}

/// A Rust value that binds as one [`Arg`].
pub trait Encode<'q> {
    fn arg(self) -> Arg<'q>;
}

/// The [`Kind`] of a NULL of this type (for `Option`).
pub trait Typed {
    const KIND: Kind;
}

macro_rules! encode {
    ($($t:ty => $kind:ident, $v:ident => $e:expr;)*) => {$(
        impl<'q> Encode<'q> for $t {
            fn arg(self) -> Arg<'q> {
                let $v = self;
                $e
            }
        }
        impl<'q> Typed for $t {
            const KIND: Kind = Kind::$kind;
        }
    )*};
}

encode! {
    i64 => Int, v => Arg::Int(v);
    i32 => Int, v => Arg::Int(i64::from(v));
    u32 => Int, v => Arg::Int(i64::from(v));
    f64 => Real, v => Arg::Real(v);
    bool => Bool, v => Arg::Bool(v);
    &'q str => Text, v => Arg::Str(v);
    &'q String => Text, v => Arg::Str(v.as_str());
    String => Text, v => Arg::String(v);
}

impl<'q> Encode<'q> for &i64 {
    fn arg(self) -> Arg<'q> {
        Arg::Int(*self)
    }
}

impl<'q> Encode<'q> for &'q Option<String> {
    fn arg(self) -> Arg<'q> {
        self.as_deref().arg()
    }
}

impl<'q, T: Encode<'q> + Typed> Encode<'q> for Option<T> {
    fn arg(self) -> Arg<'q> {
        match self {
            Some(v) => v.arg(),
            None => Arg::Null(T::KIND),
        }
    }
}

impl ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Arg::Int(v) => ValueRef::Integer(*v),
            Arg::Real(v) => ValueRef::Real(*v),
            Arg::Bool(v) => ValueRef::Integer(i64::from(*v)),
            Arg::Str(v) => ValueRef::Text(v.as_bytes()),
            Arg::String(v) => ValueRef::Text(v.as_bytes()),
            Arg::Null(_) => ValueRef::Null,
        }))
    }
}

/// A row type every connection can decode.
pub trait Row:
    for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + LocalRow + Send + Unpin
{
}

impl<T> Row for T where
    T: for<'r> sqlx::FromRow<'r, SqliteRow>
        + for<'r> sqlx::FromRow<'r, PgRow>
        + LocalRow
        + Send
        + Unpin
{
}

/// Decodes a row of the writer's own connection.
pub trait LocalRow: Sized {
    fn from_local(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

macro_rules! local_tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: rusqlite::types::FromSql),+> LocalRow for ($($t,)+) {
            fn from_local(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok(($(row.get::<_, $t>($i)?,)+))
            }
        }
    };
}

local_tuple!(A 0);
local_tuple!(A 0, B 1);
local_tuple!(A 0, B 1, C 2);
local_tuple!(A 0, B 1, C 2, D 3);
local_tuple!(A 0, B 1, C 2, D 3, E 4);
local_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
local_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
local_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
local_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
local_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
local_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
local_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

/// Declares a row struct once for every connection: it derives
/// `sqlx::FromRow` (by column name) and implements [`LocalRow`]. Fields in a
/// trailing `skip { … }` block are not read from the row (`#[sqlx(skip)]`)
/// and start as their default.
#[macro_export]
macro_rules! row_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty ),* $(,)?
        }
        $( skip { $( $(#[$smeta:meta])* $svis:vis $sfield:ident : $sty:ty ),* $(,)? } )?
    ) => {
        $(#[$meta])*
        #[derive(sqlx::FromRow)]
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $ty, )*
            $($( $(#[$smeta])* #[sqlx(skip)] $svis $sfield: $sty, )*)?
        }

        impl $crate::store::sql::LocalRow for $name {
            fn from_local(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                let mut at = 0..;
                Ok(Self {
                    $( $field: $crate::store::sql::column(
                        row,
                        at.next().unwrap_or_default(),
                        stringify!($field),
                    )?, )*
                    $($( $sfield: Default::default(), )*)?
                })
            }
        }
    };
}

/// The column `name` of `row`, expected at position `at` (queries usually
/// list columns in field order; a by-name lookup scans every column name).
pub fn column<T: rusqlite::types::FromSql>(
    row: &rusqlite::Row<'_>,
    at: usize,
    name: &str,
) -> rusqlite::Result<T> {
    if row.as_ref().column_name(at).is_ok_and(|n| n == name) {
        row.get(at)
    } else {
        row.get(name)
    }
}

/// A statement with its bound values; `O` is the row type it yields.
pub struct Query<'q, O> {
    sql: Sql,
    args: Vec<Arg<'q>>,
    row: PhantomData<fn() -> O>,
}

/// A statement run for its effect.
pub fn query<'q>(sql: impl Into<Sql>) -> Query<'q, ()> {
    Query {
        sql: sql.into(),
        args: Vec::new(),
        row: PhantomData,
    }
}

/// A statement whose rows decode as `O`.
pub fn query_as<'q, O>(sql: impl Into<Sql>) -> Query<'q, O> {
    Query {
        sql: sql.into(),
        args: Vec::new(),
        row: PhantomData,
    }
}

/// What a statement run for its effect did.
#[derive(Debug, Clone, Copy)]
pub struct Done {
    rows: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows
    }
}

/// The same statement for one of sqlx's drivers.
macro_rules! sqlx_query {
    ($db:ty, $sql:expr, $args:expr) => {{
        let mut q = match $sql {
            Sql::Static(s) => sqlx::query::<$db>(s),
            Sql::Owned(s) => sqlx::query::<$db>(sqlx::AssertSqlSafe(s)),
        };
        for a in $args {
            q = match a {
                Arg::Int(v) => q.bind(v),
                Arg::Real(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
                Arg::Str(v) => q.bind(v),
                Arg::String(v) => q.bind(v),
                Arg::Null(Kind::Int) => q.bind(None::<i64>),
                Arg::Null(Kind::Real) => q.bind(None::<f64>),
                Arg::Null(Kind::Text) => q.bind(None::<String>),
                Arg::Null(Kind::Bool) => q.bind(None::<bool>),
            };
        }
        q
    }};
}

impl<'q, O> Query<'q, O> {
    pub fn bind(mut self, v: impl Encode<'q>) -> Self {
        self.args.push(v.arg());
        self
    }

    /// Runs the statement; any rows it returns are read and dropped.
    pub async fn execute(self, tx: &mut Tx) -> StoreResult<Done> {
        let rows = match tx {
            Tx::Sqlite(t) => sqlx_query!(Sqlite, self.sql, self.args)
                .execute(&mut **t)
                .await?
                .rows_affected(),
            Tx::Pg(t) => sqlx_query!(Postgres, self.sql, self.args)
                .execute(&mut **t)
                .await?
                .rows_affected(),
            Tx::Local(l) => local(l, self.sql.as_str(), &self.args, |_| Ok(()))?,
        };
        Ok(Done { rows })
    }
}

/// A plain `INSERT` (no `ON CONFLICT`, one row) whose new row's id the
/// caller wants: written with [`insert_returning_id!`](crate::insert_returning_id),
/// which keeps the statement with and without `RETURNING id`. sqlx's
/// connections run it with `RETURNING id`; the writer's runs it without and
/// reads the last rowid, because SQLite answers `RETURNING` through a
/// temporary table it builds and drops for every statement. An upsert must
/// not be written this way: its update would leave the rowid of another row.
pub struct InsertId<'q> {
    insert: &'static str,
    query: Query<'q, (i64,)>,
}

/// Declares a plain insert whose new row's id is wanted: `$insert` is the
/// `INSERT` without `RETURNING`. See [`InsertId`].
#[macro_export]
macro_rules! insert_returning_id {
    ($insert:literal) => {
        $crate::store::sql::InsertId::new($insert, concat!($insert, " RETURNING id"))
    };
}

impl<'q> InsertId<'q> {
    #[doc(hidden)]
    pub fn new(insert: &'static str, returning: &'static str) -> Self {
        InsertId {
            insert,
            query: query_as(returning),
        }
    }

    pub fn bind(mut self, v: impl Encode<'q>) -> Self {
        self.query = self.query.bind(v);
        self
    }

    /// Runs the insert; the new row's id.
    pub async fn fetch_id(self, tx: &mut Tx) -> StoreResult<i64> {
        let Tx::Local(l) = tx else {
            return Ok(self.query.fetch_one(tx).await?.0);
        };
        match local(l, self.insert, &self.query.args, |_| Ok(()))? {
            1 => Ok(l.conn.last_insert_rowid()),
            n => Err(StoreError::Other(anyhow::anyhow!(
                "{:?} inserted {n} rows, not one",
                self.insert
            ))),
        }
    }
}

impl<'q, O: Row> Query<'q, O> {
    /// All rows.
    pub async fn fetch_all(self, tx: &mut Tx) -> StoreResult<Vec<O>> {
        match tx {
            Tx::Sqlite(t) => {
                let rows = sqlx_query!(Sqlite, self.sql, self.args)
                    .fetch_all(&mut **t)
                    .await?;
                rows.iter()
                    .map(|r| O::from_row(r).map_err(StoreError::from))
                    .collect()
            }
            Tx::Pg(t) => {
                let rows = sqlx_query!(Postgres, self.sql, self.args)
                    .fetch_all(&mut **t)
                    .await?;
                rows.iter()
                    .map(|r| O::from_row(r).map_err(StoreError::from))
                    .collect()
            }
            Tx::Local(l) => {
                let mut out = Vec::new();
                local(l, self.sql.as_str(), &self.args, |r| {
                    out.push(O::from_local(r)?);
                    Ok(())
                })?;
                Ok(out)
            }
        }
    }

    /// The first row, if any.
    pub async fn fetch_optional(self, tx: &mut Tx) -> StoreResult<Option<O>> {
        match tx {
            Tx::Sqlite(t) => sqlx_query!(Sqlite, self.sql, self.args)
                .fetch_optional(&mut **t)
                .await?
                .map(|r| O::from_row(&r))
                .transpose()
                .map_err(StoreError::from),
            Tx::Pg(t) => sqlx_query!(Postgres, self.sql, self.args)
                .fetch_optional(&mut **t)
                .await?
                .map(|r| O::from_row(&r))
                .transpose()
                .map_err(StoreError::from),
            Tx::Local(l) => {
                let mut out = None;
                local(l, self.sql.as_str(), &self.args, |r| {
                    if out.is_none() {
                        out = Some(O::from_local(r)?);
                    }
                    Ok(())
                })?;
                Ok(out)
            }
        }
    }

    /// The first row; [`StoreError::NotFound`] if there is none.
    pub async fn fetch_one(self, tx: &mut Tx) -> StoreResult<O> {
        self.fetch_optional(tx).await?.ok_or(StoreError::NotFound)
    }
}

/// Which value each parameter of a statement takes, kept per statement text
/// for the writer's connection. `$N` placeholders are SQLite named
/// parameters, and SQLite finds a parameter's name by walking a list: for a
/// multi-row insert with a hundred of them, that walk cost more than the
/// insert. So each text is looked at once.
///
/// What invalidates it: nothing can. What it keeps is read from the text of
/// the statement alone (where each `$N` stands), not from the data or the
/// schema: a write, a rollback or a migration leaves it true, and a
/// statement SQLite re-prepares after a schema change keeps its
/// parameters (shown by `a_statement_kept_across_a_schema_change_binds_the_same`).
/// It only starts over past [`MAX_BINDS`] texts, to bound its size.
#[derive(Default)]
pub(crate) struct Binds(HashMap<Box<str>, Box<[u16]>, foldhash::fast::RandomState>);

/// Statement texts [`Binds`] keeps before it starts again (the store has a
/// few hundred; multi-row statements add one per row count).
const MAX_BINDS: usize = 4096;

impl Binds {
    /// For each parameter of `stmt` (prepared from `sql`), the index of the
    /// value it takes.
    fn of(&mut self, sql: &str, stmt: &rusqlite::Statement<'_>) -> StoreResult<&[u16]> {
        if !self.0.contains_key(sql) {
            let mut values = Vec::with_capacity(stmt.parameter_count());
            for i in 1..=stmt.parameter_count() {
                let n = stmt
                    .parameter_name(i)
                    .and_then(|name| name.strip_prefix('$'))
                    .and_then(|n| n.parse::<u16>().ok())
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| {
                        StoreError::Other(anyhow::anyhow!(
                            "parameter {i} of {sql:?} is not written $N"
                        ))
                    })?;
                values.push(n - 1);
            }
            if self.0.len() >= MAX_BINDS {
                self.0.clear();
            }
            self.0.insert(sql.into(), values.into());
        }
        Ok(self.0.get(sql).map(|v| &v[..]).unwrap_or_default())
    }
}

/// Runs `sql` on the writer's connection, handing each row to `each`, and
/// returns the rows it changed. `$N` placeholders are SQLite named
/// parameters; each is bound to the N-th value, wherever and however often
/// it appears. The statement stays prepared in the connection's cache.
fn local(
    l: &mut Local,
    sql: &str,
    args: &[Arg<'_>],
    mut each: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>,
) -> StoreResult<u64> {
    let Local { conn, binds, .. } = l;
    let mut stmt = conn.prepare_cached(sql)?;
    for (i, &value) in binds.of(sql, &stmt)?.iter().enumerate() {
        let arg = args.get(usize::from(value)).ok_or_else(|| {
            StoreError::Other(anyhow::anyhow!(
                "{sql:?} uses ${}, but only {} values are bound",
                value + 1,
                args.len()
            ))
        })?;
        stmt.raw_bind_parameter(i + 1, arg)?;
    }
    {
        let mut rows = stmt.raw_query();
        while let Some(r) = rows.next()? {
            each(r)?;
        }
    }
    Ok(conn.changes())
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        if let rusqlite::Error::SqliteFailure(f, message) = &e {
            match f.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    return StoreError::Conflict(super::conflict_key(
                        message.as_deref().unwrap_or_default(),
                        None,
                        None,
                    ));
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                    return StoreError::Conflict(super::FOREIGN_KEY.to_string());
                }
                _ => {}
            }
        }
        StoreError::Other(anyhow::Error::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> Tx {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n BIGINT, ok BOOLEAN)",
        )
        .unwrap();
        Tx::Local(Box::new(crate::store::Local::new(c).unwrap()))
    }

    #[tokio::test]
    async fn placeholders_bind_by_number_wherever_they_stand() {
        let mut tx = local();
        let done =
            query("INSERT INTO t (n, name, ok) VALUES ($2, $1, $3), ($2 + 1, $1 || '2', $3)")
                .bind("a")
                .bind(7_i64)
                .bind(true)
                .execute(&mut tx)
                .await
                .unwrap();
        assert_eq!(done.rows_affected(), 2);
        // The same text again binds from the table kept for it.
        query("INSERT INTO t (n, name, ok) VALUES ($2, $1, $3), ($2 + 1, $1 || '2', $3)")
            .bind("b")
            .bind(20_i64)
            .bind(false)
            .execute(&mut tx)
            .await
            .unwrap();
        let rows: Vec<(String, i64, bool)> =
            query_as("SELECT name, n, ok FROM t WHERE n >= $1 ORDER BY n")
                .bind(7_i64)
                .fetch_all(&mut tx)
                .await
                .unwrap();
        assert_eq!(
            rows,
            [
                ("a".into(), 7, true),
                ("a2".into(), 8, true),
                ("b".into(), 20, false),
                ("b2".into(), 21, false)
            ]
        );
        let short = query("INSERT INTO t (n, name) VALUES ($2, $1)")
            .bind("c")
            .execute(&mut tx)
            .await;
        assert!(short.is_err(), "a missing value is an error: {short:?}");
    }

    #[tokio::test]
    async fn insert_returning_id_is_the_new_rows_id_and_refuses_what_it_cannot_answer() {
        let mut tx = local();
        for (name, want) in [("a", 1), ("b", 2)] {
            let id = crate::insert_returning_id!("INSERT INTO t (name) VALUES ($1)")
                .bind(name)
                .fetch_id(&mut tx)
                .await
                .unwrap();
            assert_eq!(id, want);
        }
        // What sqlx's connections run.
        let insert = crate::insert_returning_id!("INSERT INTO t (name) VALUES ($1)");
        assert_eq!(insert.insert, "INSERT INTO t (name) VALUES ($1)");
        assert_eq!(
            insert.query.sql.as_str(),
            "INSERT INTO t (name) VALUES ($1) RETURNING id"
        );
        // No row, or more than one: no one id to answer with.
        for (sql, n) in [
            ("INSERT INTO t (name) SELECT name || 'x' FROM t", 2),
            ("INSERT INTO t (name) SELECT 'y' WHERE 0", 0),
        ] {
            let r = InsertId::new(sql, "").fetch_id(&mut tx).await;
            assert!(
                matches!(&r, Err(StoreError::Other(e)) if e.to_string().contains(&format!("inserted {n} rows"))),
                "{sql}: {r:?}"
            );
        }
        let dup = crate::insert_returning_id!("INSERT INTO t (name) VALUES ($1)")
            .bind("b")
            .fetch_id(&mut tx)
            .await;
        assert!(
            matches!(dup, Err(StoreError::Conflict(_))),
            "a unique violation is a conflict: {dup:?}"
        );
    }

    crate::row_struct! {
        #[derive(Debug, PartialEq)]
        struct Named {
            name: String,
            n: Option<i64>,
        }
        skip {
            later: Vec<String>,
        }
    }

    #[tokio::test]
    async fn row_structs_read_columns_in_any_order() {
        let mut tx = local();
        query("INSERT INTO t (name, n) VALUES ('d', 4)")
            .execute(&mut tx)
            .await
            .unwrap();
        let want = Named {
            name: "d".into(),
            n: Some(4),
            later: vec![],
        };
        for sql in ["SELECT name, n FROM t", "SELECT n, id, name FROM t"] {
            let got: Named = query_as(sql).fetch_one(&mut tx).await.unwrap();
            assert_eq!(got, want, "{sql}");
        }
        let missing = query_as::<Named>("SELECT name FROM t")
            .fetch_one(&mut tx)
            .await;
        assert!(
            missing.is_err(),
            "a missing column is an error: {missing:?}"
        );
    }

    #[tokio::test]
    async fn nulls_optional_rows_and_missing_rows() {
        let mut tx = local();
        query("INSERT INTO t (name, n) VALUES ($1, $2)")
            .bind("b")
            .bind(None::<i64>)
            .execute(&mut tx)
            .await
            .unwrap();
        let (n,): (Option<i64>,) = query_as("SELECT n FROM t WHERE name = $1")
            .bind("b")
            .fetch_one(&mut tx)
            .await
            .unwrap();
        assert_eq!(n, None);
        let none: Option<(i64,)> = query_as("SELECT id FROM t WHERE name = $1")
            .bind("zz")
            .fetch_optional(&mut tx)
            .await
            .unwrap();
        assert!(none.is_none());
        let missing = query_as::<(i64,)>("SELECT id FROM t WHERE name = $1")
            .bind("zz")
            .fetch_one(&mut tx)
            .await;
        assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    }

    #[tokio::test]
    async fn constraints_conflict_and_bad_placeholders_are_errors() {
        let mut tx = local();
        let insert = || query("INSERT INTO t (name) VALUES ($1)").bind("c");
        insert().execute(&mut tx).await.unwrap();
        let again = insert().execute(&mut tx).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");

        let short = query("SELECT $1, $2").bind(1_i64).execute(&mut tx).await;
        assert!(
            matches!(&short, Err(StoreError::Other(e)) if e.to_string().contains("$2")),
            "{short:?}"
        );
        let qmark = query("SELECT ?").bind(1_i64).execute(&mut tx).await;
        assert!(
            matches!(&qmark, Err(StoreError::Other(e)) if e.to_string().contains("$N")),
            "{qmark:?}"
        );
    }

    #[tokio::test]
    async fn a_statement_kept_across_a_schema_change_binds_the_same() {
        let mut tx = local();
        let insert = |name: &'static str| {
            query("INSERT INTO t (n, name) VALUES ($2, $1)")
                .bind(name)
                .bind(5_i64)
        };
        insert("e").execute(&mut tx).await.unwrap();
        tx.writer()
            .unwrap()
            .conn
            .execute_batch("ALTER TABLE t ADD COLUMN note TEXT; CREATE INDEX t_n ON t (n)")
            .unwrap();
        insert("f").execute(&mut tx).await.unwrap();
        let rows: Vec<(String, i64)> = query_as("SELECT name, n FROM t ORDER BY name")
            .fetch_all(&mut tx)
            .await
            .unwrap();
        assert_eq!(rows, [("e".into(), 5), ("f".into(), 5)]);
    }
}
