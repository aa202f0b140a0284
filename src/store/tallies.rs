//! The SQLite writer's tally of each team's week of services and visits,
//! per person: every 服务 and 走访 reply says how many the team and the
//! sender have recorded this week, and counting the week's index range
//! again for every message grows with the week.
//!
//! A week's tally is counted once, then kept in step with the writer's own
//! inserts: [`Tallies::recorded`] accounts for an insert when it was the
//! only change to the table while it ran, and adds it to its team's week if
//! kept; it cannot have changed any other team's week, so those stay true.
//!
//! What invalidates it: any change to the table that no
//! [`Tallies::recorded`] accounted for (an update, a delete, an insert by
//! another query, all seen by the connection's update hook) makes every
//! tally of that table stale; a rollback of the transaction (rollback hook)
//! or of a unit's savepoint ([`Local::rollback_unit`](super::Local::rollback_unit))
//! makes every tally of both tables stale; a commit by another connection
//! (`PRAGMA data_version`, read as each batch begins) forgets them all.
//! The next question counts again. SQLite serves one process here
//! (`ProcessLock`), so there is no other replica to hear from; the tests
//! below show each case against a fresh count.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::local::Changes;
use super::records::Tally;

/// Team-weeks kept at most; past that the tallies start over.
const CAPACITY: usize = 65_536;

/// One team's week of one table.
#[derive(Debug, Clone, Default)]
pub struct WeekTally {
    /// The table's changes not accounted for when this was true.
    unaccounted: u64,
    pub team: i64,
    pub by_person: HashMap<i64, i64>,
}

/// See the module docs.
pub struct Tallies {
    changes: Arc<Changes>,
    /// Per table (services, visits): the changes that were the writer's own
    /// inserts, accounted for by [`Tallies::recorded`].
    accounted: [u64; 2],
    weeks: HashMap<(Tally, i64, String), WeekTally>,
}

impl Tallies {
    pub fn new(changes: Arc<Changes>) -> Tallies {
        Tallies {
            changes,
            accounted: [0; 2],
            weeks: HashMap::new(),
        }
    }

    /// The table's change count now.
    pub fn changes(&self, tally: Tally) -> u64 {
        match tally {
            Tally::Services => self.changes.services.load(Ordering::Relaxed),
            Tally::Visits => self.changes.visits.load(Ordering::Relaxed),
        }
    }

    /// The table's changes that no [`Tallies::recorded`] accounted for.
    fn unaccounted(&self, tally: Tally) -> u64 {
        self.changes(tally)
            .wrapping_sub(self.accounted[Self::slot(tally)])
    }

    fn slot(tally: Tally) -> usize {
        match tally {
            Tally::Services => 0,
            Tally::Visits => 1,
        }
    }

    /// The team's week, if kept and still true.
    pub fn get(&self, tally: Tally, team_id: i64, week: &str) -> Option<&WeekTally> {
        let now = self.unaccounted(tally);
        self.weeks
            .get(&(tally, team_id, week.to_string()))
            .filter(|w| w.unaccounted == now)
    }

    /// Keeps a week just counted (per person), true as of now.
    pub fn put(&mut self, tally: Tally, team_id: i64, week: &str, by_person: HashMap<i64, i64>) {
        if self.weeks.len() >= CAPACITY {
            self.forget();
        }
        let w = WeekTally {
            unaccounted: self.unaccounted(tally),
            team: by_person.values().sum(),
            by_person,
        };
        self.weeks.insert((tally, team_id, week.to_string()), w);
    }

    /// A row was just inserted into `team_id`'s `week` for `person_id`;
    /// `before` is the table's change count taken just before the insert.
    /// If that insert was the one change since, it is accounted for: the
    /// team's kept week (if still true) moves on with it, and every other
    /// kept week stays true.
    pub fn recorded(
        &mut self,
        tally: Tally,
        team_id: i64,
        week: &str,
        person_id: i64,
        before: u64,
    ) {
        if self.changes(tally) != before.wrapping_add(1) {
            return;
        }
        self.accounted[Self::slot(tally)] = self.accounted[Self::slot(tally)].wrapping_add(1);
        let now = self.unaccounted(tally);
        if let Some(w) = self.weeks.get_mut(&(tally, team_id, week.to_string()))
            && w.unaccounted == now
        {
            w.team += 1;
            *w.by_person.entry(person_id).or_default() += 1;
        }
    }

    pub fn forget(&mut self) {
        self.weeks.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::{self, WeekCount};
    use crate::store::{Local, Tx, sql};

    fn writer() -> Tx {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE services (id INTEGER PRIMARY KEY, team_id BIGINT, week TEXT,
                task_id BIGINT, person_id BIGINT, text TEXT, at BIGINT);
             CREATE TABLE visits (id INTEGER PRIMARY KEY, team_id BIGINT, week TEXT,
                person_id BIGINT, household TEXT, household_id BIGINT, text TEXT, at BIGINT);",
        )
        .unwrap();
        Tx::Local(Box::new(Local::new(c).unwrap()))
    }

    /// What the table holds, counted afresh.
    async fn truth(tx: &mut Tx, team: i64, person: i64) -> WeekCount {
        let (team, mine): (i64, i64) = sql::query_as(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE person_id = $2) FROM services \
             WHERE team_id = $1 AND week = '2026-W49'",
        )
        .bind(team)
        .bind(person)
        .fetch_one(tx)
        .await
        .unwrap();
        WeekCount { team, mine }
    }

    async fn serve(tx: &mut Tx, team: i64, person: i64) {
        records::insert_service(tx, team, "2026-W49", None, person, "帮办医保", 0)
            .await
            .unwrap();
    }

    async fn count(tx: &mut Tx, team: i64, person: i64) -> WeekCount {
        records::week_count(tx, Tally::Services, team, "2026-W49", person)
            .await
            .unwrap()
    }

    fn kept(tx: &Tx) -> usize {
        match tx {
            Tx::Local(l) => l.tallies.weeks.len(),
            _ => 0,
        }
    }

    #[tokio::test]
    async fn a_kept_week_follows_the_writers_inserts_and_any_other_change_recounts() {
        let mut tx = writer();
        let raw = |tx: &mut Tx, sql: &str| match tx {
            Tx::Local(l) => l.conn.execute_batch(sql).unwrap(),
            _ => unreachable!(),
        };
        // Each step, then every (team, person) asked: always what a fresh count says.
        for step in 0..40 {
            match step % 8 {
                0..=3 => serve(&mut tx, 1 + step % 2, 10 + step % 3).await,
                4 => raw(
                    &mut tx,
                    "INSERT INTO services (team_id, week, person_id) VALUES (1, '2026-W49', 11)",
                ),
                5 => raw(
                    &mut tx,
                    "DELETE FROM services WHERE id = (SELECT MIN(id) FROM services)",
                ),
                6 => {
                    tx.writer().unwrap().begin_unit().unwrap();
                    serve(&mut tx, 1, 10).await;
                    assert_eq!(count(&mut tx, 1, 10).await, truth(&mut tx, 1, 10).await);
                    tx.writer().unwrap().rollback_unit().unwrap();
                    tx.writer().unwrap().release_unit().unwrap();
                }
                _ => {
                    raw(&mut tx, "BEGIN");
                    serve(&mut tx, 2, 12).await;
                    assert_eq!(count(&mut tx, 2, 12).await, truth(&mut tx, 2, 12).await);
                    raw(&mut tx, "ROLLBACK");
                }
            }
            for team in 1..=2 {
                for person in 10..=13 {
                    assert_eq!(
                        count(&mut tx, team, person).await,
                        truth(&mut tx, team, person).await,
                        "step {step}, team {team}, person {person}"
                    );
                }
            }
        }
        assert_eq!(kept(&tx), 2, "both teams' weeks are kept");
    }

    #[tokio::test]
    async fn a_week_is_counted_once_then_kept_in_step() {
        let mut tx = writer();
        serve(&mut tx, 1, 10).await;
        assert_eq!(count(&mut tx, 1, 10).await, WeekCount { team: 1, mine: 1 });
        // Another team's insert leaves this team's week true.
        serve(&mut tx, 2, 20).await;
        serve(&mut tx, 1, 11).await;
        let Tx::Local(l) = &tx else { unreachable!() };
        let w = l
            .tallies
            .get(Tally::Services, 1, "2026-W49")
            .expect("still kept");
        assert_eq!(w.team, 2, "moved on by the insert, not recounted");
        assert_eq!(w.by_person.get(&11), Some(&1));
        // A visit changes nothing about the services' tally.
        records::insert_visit(&mut tx, 1, "2026-W49", 10, "张大爷", None, "", 0)
            .await
            .unwrap();
        let Tx::Local(l) = &tx else { unreachable!() };
        assert!(l.tallies.get(Tally::Services, 1, "2026-W49").is_some());
        assert_eq!(
            records::week_count(&mut tx, Tally::Visits, 1, "2026-W49", 10)
                .await
                .unwrap(),
            WeekCount { team: 1, mine: 1 }
        );
    }

    #[tokio::test]
    async fn a_commit_from_another_connection_recounts_at_the_next_batch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE services (id INTEGER PRIMARY KEY, team_id BIGINT, week TEXT,
                task_id BIGINT, person_id BIGINT, text TEXT, at BIGINT);
             CREATE TABLE visits (id INTEGER PRIMARY KEY, team_id BIGINT, week TEXT,
                person_id BIGINT, household TEXT, household_id BIGINT, text TEXT, at BIGINT);",
        )
        .unwrap();
        let mut tx = Tx::Local(Box::new(Local::new(c).unwrap()));
        tx.writer().unwrap().begin().unwrap();
        serve(&mut tx, 1, 10).await;
        assert_eq!(count(&mut tx, 1, 10).await, WeekCount { team: 1, mine: 1 });
        tx.writer().unwrap().commit().unwrap();
        let other = rusqlite::Connection::open(&path).unwrap();
        other
            .execute_batch(
                "INSERT INTO services (team_id, week, person_id) VALUES (1, '2026-W49', 10)",
            )
            .unwrap();
        // The writer's update hook never saw that insert; the next batch's
        // begin does.
        tx.writer().unwrap().begin().unwrap();
        assert_eq!(kept(&tx), 0, "forgotten as the batch began");
        assert_eq!(count(&mut tx, 1, 10).await, WeekCount { team: 2, mine: 2 });
        assert_eq!(count(&mut tx, 1, 10).await, truth(&mut tx, 1, 10).await);
        tx.writer().unwrap().commit().unwrap();
    }
}
