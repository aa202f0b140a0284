//! The SQLite writer's own connection, its transaction steps, and what it
//! remembers between turns.
//!
//! The writer is the only connection that changes the data (in a process
//! that holds the database's lock), so what it has read stays true until it
//! changes it itself, which SQLite's update and rollback hooks report (a
//! savepoint rolled back is reported by [`Local::rollback_unit`], since the
//! hook does not see it), or until another connection commits, which
//! `PRAGMA data_version` shows as each batch begins ([`Local::begin`]). Two
//! caches live on that: the senders' group contexts ([`Contexts`]) and the
//! weeks' tallies of services and visits ([`Tallies`]).
//!
//! Query functions reach both through [`Kept`] (`tx.kept()`), the same on
//! every connection: on sqlx's connections nothing is kept, so every lookup
//! misses and every note is dropped, and the query runs as written.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::contexts::{self, Contexts};
use super::groups::Context;
use super::records::{Tally, WeekCount};
use super::sql::Binds;
use super::tallies::Tallies;

/// What the hooks of the writer's connection have seen.
#[derive(Debug, Default)]
pub struct Changes {
    /// A row a kept context is built from changed, or a rollback happened.
    pub contexts_stale: AtomicBool,
    /// Bumped by every change to a row of `services`, and by every rollback.
    pub services: AtomicU64,
    /// As `services`, for `visits`.
    pub visits: AtomicU64,
}

impl Changes {
    /// Watches `conn` (replacing any update or rollback hook set on it).
    fn watch(conn: &rusqlite::Connection) -> rusqlite::Result<Arc<Changes>> {
        let changes = Arc::new(Changes::default());
        let seen = Arc::clone(&changes);
        conn.update_hook(Some(move |action, _db: &str, table: &str, _rowid| {
            if contexts::stales(action, table) {
                seen.contexts_stale.store(true, Ordering::Relaxed);
            }
            match table {
                "services" => seen.services.fetch_add(1, Ordering::Relaxed),
                "visits" => seen.visits.fetch_add(1, Ordering::Relaxed),
                _ => 0,
            };
        }))?;
        let seen = Arc::clone(&changes);
        conn.rollback_hook(Some(move || seen.rolled_back()))?;
        Ok(changes)
    }

    /// Everything read inside what was undone may be stale.
    pub fn rolled_back(&self) {
        self.contexts_stale.store(true, Ordering::Relaxed);
        self.services.fetch_add(1, Ordering::Relaxed);
        self.visits.fetch_add(1, Ordering::Relaxed);
    }
}

/// The SQLite writer's connection and its caches.
pub struct Local {
    pub(crate) conn: rusqlite::Connection,
    pub(crate) contexts: Contexts,
    pub(crate) tallies: Tallies,
    /// How each statement's parameters are bound.
    pub(crate) binds: Binds,
    /// `PRAGMA data_version` when last read.
    data_version: Option<i64>,
}

impl Local {
    /// `conn` with empty caches watching it.
    pub(crate) fn new(conn: rusqlite::Connection) -> rusqlite::Result<Local> {
        let changes = Changes::watch(&conn)?;
        Ok(Local {
            conn,
            contexts: Contexts::new(Arc::clone(&changes)),
            tallies: Tallies::new(changes),
            binds: Binds::default(),
            data_version: None,
        })
    }

    /// Runs one statement without values, kept prepared.
    fn step(&self, sql: &str) -> rusqlite::Result<()> {
        self.conn.prepare_cached(sql)?.execute([])?;
        Ok(())
    }

    /// Opens the transaction of a batch, taking the write lock at once. A
    /// transaction left open by a failure before is rolled back first, so
    /// one failure cannot stop every batch after it. Forgets what the caches
    /// keep if another connection has committed since the last batch.
    pub(crate) fn begin(&mut self) -> rusqlite::Result<()> {
        if !self.conn.is_autocommit() {
            tracing::error!("the SQLite writer found a transaction left open; rolling it back");
            self.rollback()?;
        }
        self.step("BEGIN IMMEDIATE")?;
        self.check_outside_writes()
    }

    pub(crate) fn commit(&self) -> rusqlite::Result<()> {
        self.step("COMMIT")
    }

    /// Rolls back the open transaction, if one is open (a failed COMMIT may
    /// have ended it already). The rollback hook makes the caches forget.
    pub(crate) fn rollback(&self) -> rusqlite::Result<()> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.step("ROLLBACK")
    }

    /// Opens the savepoint a batch rolls back to (its mark; see
    /// `store::writer`).
    pub(crate) fn begin_unit(&self) -> rusqlite::Result<()> {
        self.step("SAVEPOINT unit")
    }

    /// Keeps what was done since the savepoint and closes it.
    pub(crate) fn release_unit(&self) -> rusqlite::Result<()> {
        self.step("RELEASE unit")
    }

    /// Undoes what was done since the savepoint, which stays open. What the
    /// caches kept may have been read or changed since: they forget
    /// (SQLite's rollback hook does not see a savepoint's rollback).
    pub(crate) fn rollback_unit(&mut self) -> rusqlite::Result<()> {
        self.forget();
        self.step("ROLLBACK TO unit")
    }

    /// Forgets what the caches keep.
    pub(crate) fn forget(&mut self) {
        self.contexts.forget();
        self.tallies.forget();
    }

    /// Forgets what the caches keep if another connection has committed
    /// since the last call.
    pub(crate) fn check_outside_writes(&mut self) -> rusqlite::Result<()> {
        let v: i64 = self
            .conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        if self.data_version.is_some_and(|seen| seen != v) {
            self.forget();
        }
        self.data_version = Some(v);
        Ok(())
    }
}

/// The writer's caches as a query function reaches them (`tx.kept()`): on
/// the writer's connection they answer and take notes; on sqlx's connections
/// every lookup misses and every note is dropped. What invalidates each is
/// said in `store::contexts` and `store::tallies`.
pub struct Kept<'a>(pub(super) Option<&'a mut Local>);

/// A table's change count taken just before an insert, for
/// [`Kept::inserted`].
#[derive(Debug, Clone, Copy)]
pub struct BeforeInsert {
    tally: Tally,
    changes: u64,
}

impl Kept<'_> {
    /// The kept context of `sender` in the conversation, if any.
    pub fn context(self, platform: &str, conversation: &str, sender: &str) -> Option<Context> {
        self.0?.contexts.get(platform, conversation, sender)
    }

    /// Keeps a context just read (if complete; see `store::contexts`).
    pub fn keep_context(self, platform: &str, conversation: &str, sender: &str, ctx: &Context) {
        if let Some(l) = self.0 {
            l.contexts.put(platform, conversation, sender, ctx);
        }
    }

    /// A member was seen, as `groups::touch_member` just stored.
    pub fn member_seen(self, group_id: i64, person_id: i64, at_ms: i64) {
        if let Some(l) = self.0 {
            l.contexts.seen(group_id, person_id, at_ms);
        }
    }

    /// The team's week as kept, with `person_id`'s share, if still true.
    pub fn week_count(
        self,
        tally: Tally,
        team_id: i64,
        week: &str,
        person_id: i64,
    ) -> Option<WeekCount> {
        let w = self.0?.tallies.get(tally, team_id, week)?;
        Some(WeekCount {
            team: w.team,
            mine: w.by_person.get(&person_id).copied().unwrap_or(0),
        })
    }

    /// Keeps a week just counted (per person).
    pub fn keep_week(self, tally: Tally, team_id: i64, week: &str, by_person: HashMap<i64, i64>) {
        if let Some(l) = self.0 {
            l.tallies.put(tally, team_id, week, by_person);
        }
    }

    /// To be taken just before inserting a row into `tally`'s table.
    pub fn before_insert(self, tally: Tally) -> BeforeInsert {
        let changes = self.0.map_or(0, |l| l.tallies.changes(tally));
        BeforeInsert { tally, changes }
    }

    /// The row was inserted into `team_id`'s `week` for `person_id`: a kept
    /// week moves on with it (see `store::tallies`).
    pub fn inserted(self, before: BeforeInsert, team_id: i64, week: &str, person_id: i64) {
        if let Some(l) = self.0 {
            l.tallies
                .recorded(before.tally, team_id, week, person_id, before.changes);
        }
    }
}
