//! The SQLite writer's own connection and what it remembers between turns.
//!
//! The writer is the only connection that changes the data (in a process
//! that holds the database's lock), so what it has read stays true until it
//! changes it itself, which SQLite's update and rollback hooks report, or
//! until another connection commits, which `PRAGMA data_version` shows as
//! each batch begins. Two caches live on that: the senders' group contexts
//! ([`Contexts`]) and the weeks' tallies of services and visits
//! ([`Tallies`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::contexts::{self, Contexts};
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

    /// Forgets what the caches keep: a savepoint was rolled back, which
    /// SQLite's rollback hook does not report.
    pub(crate) fn forget(&mut self) {
        self.contexts.forget();
        self.tallies.forget();
    }

    /// Forgets what the caches keep if another connection has committed
    /// since the last call; called as each of the writer's transactions
    /// begins.
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
