//! What the SQLite writer remembers between turns: the group context
//! ([`Context`]) of the senders it has seen, so that a message from someone
//! the group knows costs no query to learn who they are and where they stand.
//! Only complete contexts are kept (the group, the sender and their
//! membership all exist), so a new row cannot change a kept entry: the
//! joins of [`super::groups::context`] pick one row per unique key. What
//! [`super::groups::touch_member`] writes is applied to the kept entry
//! ([`Contexts::seen`]) instead of forgetting every entry each time somebody
//! is seen.
//!
//! What invalidates it (everything is forgotten, the next message reads
//! again): an update or delete of a row a context is built from (groups,
//! teams, villages, townships, people; a member removed) or any change to
//! who holds which role, reported row by row by SQLite's update hook on the
//! writer's connection, which is the only one that changes the data in this
//! process; a rollback of the transaction (rollback hook) or of a unit's
//! savepoint ([`Local::rollback_unit`](super::Local::rollback_unit)), since
//! an entry may have been read from what was undone; a commit by another
//! connection (`PRAGMA data_version`, read as each batch begins), someone
//! writing to the file from outside (see `store::local`). SQLite serves one
//! process (`ProcessLock`), so no other replica writes to it. The tests below
//! show each.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use rusqlite::hooks::Action;

use super::groups::Context;
use super::local::Changes;

/// Entries kept at most; past that the cache starts over.
const CAPACITY: usize = 65_536;

/// The writer's cache of group contexts; see the module docs.
pub struct Contexts {
    /// What the connection's hooks saw.
    changes: Arc<Changes>,
    /// Keyed by platform, conversation and sender id ([`key`]).
    by_sender: HashMap<String, Context>,
    /// (group id, person id) → the key in `by_sender`.
    by_member: HashMap<(i64, i64), String>,
}

impl Contexts {
    /// An empty cache, told by `changes` when what it keeps may be stale.
    pub fn new(changes: Arc<Changes>) -> Contexts {
        Contexts {
            changes,
            by_sender: HashMap::new(),
            by_member: HashMap::new(),
        }
    }

    /// The kept context of `sender` in the conversation, if any.
    pub fn get(&mut self, platform: &str, conversation: &str, sender: &str) -> Option<Context> {
        self.check();
        self.by_sender
            .get(&key(platform, conversation, sender))
            .cloned()
    }

    /// Keeps `ctx` if it is complete (see the module docs).
    pub fn put(&mut self, platform: &str, conversation: &str, sender: &str, ctx: &Context) {
        self.check();
        let (Some(person), Some(_)) = (ctx.person_id, ctx.last_seen_at) else {
            return;
        };
        if self.by_sender.len() >= CAPACITY {
            self.forget();
        }
        let key = key(platform, conversation, sender);
        self.by_member.insert((ctx.group_id, person), key.clone());
        self.by_sender.insert(key, ctx.clone());
    }

    /// Notes that a member was seen (as `touch_member` just stored).
    pub fn seen(&mut self, group_id: i64, person_id: i64, at_ms: i64) {
        self.check();
        if let Some(ctx) = self
            .by_member
            .get(&(group_id, person_id))
            .and_then(|k| self.by_sender.get_mut(k))
        {
            ctx.last_seen_at = Some(at_ms);
        }
    }

    /// Forgets everything kept.
    pub fn forget(&mut self) {
        self.by_sender.clear();
        self.by_member.clear();
    }

    fn check(&mut self) {
        if self.changes.contexts_stale.swap(false, Ordering::Relaxed) {
            self.forget();
        }
    }
}

/// Whether a change to a row of `table` may make a kept context stale.
pub fn stales(action: Action, table: &str) -> bool {
    match table {
        // Who holds which role: any change.
        "team_roles" => true,
        "chat_groups" | "teams" | "villages" | "townships" | "people" => {
            !matches!(action, Action::SQLITE_INSERT)
        }
        // Rows come and go with their group or person; last_seen_at is
        // applied by `Contexts::seen`.
        "group_members" => !matches!(action, Action::SQLITE_INSERT | Action::SQLITE_UPDATE),
        _ => false,
    }
}

/// One string for the three ids, unambiguous whatever they hold: the
/// conversation id's length says where the sender's begins.
fn key(platform: &str, conversation: &str, sender: &str) -> String {
    use std::fmt::Write;
    let mut k = String::with_capacity(platform.len() + conversation.len() + sender.len() + 8);
    // The platform is one of ours; it holds no NUL.
    k.push_str(platform);
    k.push('\0');
    let _ = write!(k, "{}", conversation.len());
    k.push('\0');
    k.push_str(conversation);
    k.push_str(sender);
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Local, Tx};

    const TABLES: &str = "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE team_roles (team_id BIGINT, person_id BIGINT, role TEXT);
        CREATE TABLE group_members (group_id BIGINT, person_id BIGINT, last_seen_at BIGINT);
        CREATE TABLE services (id INTEGER PRIMARY KEY, text TEXT);
        INSERT INTO people (name) VALUES ('李四');
        INSERT INTO group_members VALUES (1, 1, 0);";

    fn writer() -> Local {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(TABLES).unwrap();
        Local::new(c).unwrap()
    }

    fn ctx(person: Option<i64>, seen: Option<i64>) -> Context {
        Context {
            group_id: 1,
            group_title: "南坞村服务群".into(),
            team_id: Some(7),
            person_id: person,
            person_name: person.map(|_| "李四".into()),
            last_seen_at: seen,
            role: Some("member".into()),
            team_name: Some("南坞服务团".into()),
            village_id: Some(3),
            village_name: Some("南坞村".into()),
            township_id: Some(2),
            township_name: Some("凤林镇".into()),
            timezone: None,
            members_may_plan: Some(false),
            red_days: Some(1),
            orange_days: Some(3),
            yellow_days: Some(5),
            green_days: Some(7),
            session_expires_at: None,
        }
    }

    fn kept(l: &mut Local) -> Option<Context> {
        l.contexts.get("dingtalk", "cid1", "lisi")
    }

    fn keep(l: &mut Local) {
        l.contexts
            .put("dingtalk", "cid1", "lisi", &ctx(Some(1), Some(100)));
        assert!(kept(l).is_some());
    }

    #[test]
    fn kept_until_a_row_it_is_built_from_changes() {
        let mut l = writer();
        keep(&mut l);
        assert!(l.contexts.get("dingtalk", "cid1", "wangwu").is_none());
        assert!(l.contexts.get("wecom", "cid1", "lisi").is_none());
        l.conn
            .execute_batch(
                "INSERT INTO people (name) VALUES ('王五');
                 INSERT INTO services (text) VALUES ('x');
                 UPDATE services SET text = 'y';
                 INSERT INTO group_members VALUES (1, 2, 5);
                 UPDATE group_members SET last_seen_at = 9 WHERE person_id = 2;",
            )
            .unwrap();
        assert!(
            kept(&mut l).is_some(),
            "new rows and other tables change nothing kept"
        );
        l.conn
            .execute_batch("UPDATE people SET name = '李四四' WHERE id = 1")
            .unwrap();
        assert!(kept(&mut l).is_none(), "a renamed person");
        keep(&mut l);
        l.conn
            .execute_batch("INSERT INTO team_roles VALUES (7, 2, 'member')")
            .unwrap();
        assert!(kept(&mut l).is_none(), "any role change");
        keep(&mut l);
        l.conn
            .execute_batch("DELETE FROM group_members WHERE person_id = 2")
            .unwrap();
        assert!(kept(&mut l).is_none(), "a member gone");
    }

    #[test]
    fn only_a_sender_known_to_the_group_is_kept() {
        let mut l = writer();
        let put = |l: &mut Local, c: Context| l.contexts.put("dingtalk", "cid1", "lisi", &c);
        put(&mut l, ctx(None, None));
        assert!(kept(&mut l).is_none(), "an unknown sender");
        put(&mut l, ctx(Some(1), None));
        assert!(kept(&mut l).is_none(), "a sender never seen in the group");
    }

    #[test]
    fn a_member_seen_again_is_kept_with_the_new_time() {
        let mut l = writer();
        keep(&mut l);
        l.contexts.seen(1, 1, 500);
        l.contexts.seen(2, 1, 900);
        assert_eq!(kept(&mut l).unwrap().last_seen_at, Some(500));
    }

    #[tokio::test]
    async fn a_rollback_forgets_what_was_read_inside() {
        let mut tx = Tx::Local(Box::new(writer()));
        let l = tx.writer().unwrap();
        keep(l);
        l.begin().unwrap();
        l.begin_unit().unwrap();
        keep(l);
        l.rollback_unit().unwrap();
        l.release_unit().unwrap();
        assert!(kept(l).is_none(), "a savepoint rolled back");
        keep(l);
        // SQLite's own rollback, as after a failed commit, is seen by the hook.
        l.conn.execute_batch("ROLLBACK").unwrap();
        assert!(kept(l).is_none(), "a transaction rolled back");
    }

    #[test]
    fn a_commit_from_another_connection_forgets_everything() {
        let dir = std::env::temp_dir().join(format!("liancun-ctx-{}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.db");
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(TABLES).unwrap();
        let mut l = Local::new(c).unwrap();
        l.check_outside_writes().unwrap();
        keep(&mut l);
        // Its own commits are not outside writes.
        l.conn
            .execute_batch("INSERT INTO services (text) VALUES ('a')")
            .unwrap();
        l.check_outside_writes().unwrap();
        assert!(kept(&mut l).is_some());
        let other = rusqlite::Connection::open(&path).unwrap();
        other
            .execute_batch("UPDATE services SET text = 'b'")
            .unwrap();
        l.check_outside_writes().unwrap();
        assert!(kept(&mut l).is_none());
        drop((l, other));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn keys_do_not_run_into_each_other() {
        assert_ne!(key("dingtalk", "a\0b", "c"), key("dingtalk", "a", "b\0c"));
        assert_ne!(key("dingtalk", "ab", "c"), key("dingtalk", "a", "bc"));
    }
}
