//! Round trips to PostgreSQL per message, counted: every statement sqlx runs
//! (it logs each under the `sqlx::query` target, COMMIT and ROLLBACK
//! included) plus one BEGIN per transaction it ends. The common commands
//! must stay within the counts written here; a change that adds a round trip
//! to the message path fails this test and has to say why.
//!
//! The app runs in this test's current-thread runtime, so a subscriber set as
//! this thread's default sees every statement the turn runs. Each command is
//! sent once to warm up (the statement cache, the sender's "last seen"), then
//! once more and counted.

use std::sync::{Arc, Mutex};

use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::Registry;

use crate::support::*;

/// Statements sqlx ran, by summary (its first words).
#[derive(Clone, Default)]
struct Statements(Arc<Mutex<Vec<String>>>);

struct Summary(String);

impl Visit for Summary {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "summary" {
            self.0 = value.to_string();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: Subscriber> tracing_subscriber::Layer<S> for Statements {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            let mut s = Summary(String::new());
            event.record(&mut s);
            self.0.lock().unwrap().push(s.0);
        }
    }
}

impl Statements {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Round trips of a run of statements: each statement, and the BEGIN of each
/// transaction (sqlx sends BEGIN without logging it; every transaction ends
/// in a logged COMMIT or ROLLBACK).
fn round_trips(statements: &[String]) -> usize {
    let ends = statements
        .iter()
        .filter(|s| {
            let s = s.trim_start().to_ascii_uppercase();
            s.starts_with("COMMIT") || s.starts_with("ROLLBACK")
        })
        .count();
    statements.len() + ends
}

/// Sends `text` as `who` twice (the first warms up); returns the second's
/// round trips and statements, and its reply.
async fn counted(
    app: &TestApp,
    log: &Statements,
    who: &Person,
    text: &str,
) -> (usize, Vec<String>, String) {
    app.say(who, text).await;
    log.take();
    let reply = app.say(who, text).await;
    let statements = log.take();
    (round_trips(&statements), statements, reply)
}

#[tokio::test]
#[cfg_attr(not(liancun_pg), ignore = "PostgreSQL: set LIANCUN_TEST_PG to run")]
async fn common_commands_stay_within_their_round_trips_on_postgres() {
    let log = Statements::default();
    let _guard = tracing::subscriber::set_default(Registry::default().with(log.clone()));
    let app = TestApp::spawn(Backend::Postgres).await.expect(PG_UNSET);
    app.setup_team().await;
    let plan = "排清单\n1. 苗青头村插花田政策处理 @李四 周四前 红\n2. 走访3组10户农户 @王五 周日";
    assert!(app.say(&ZHANGSAN, plan).await.contains("已发布本周清单"));
    // The villager has spoken in the group before, as in the bench.
    app.say(&VILLAGERS[0], "帮助").await;

    // (what, who, text, what the reply says, most round trips). Before the
    // PostgreSQL path was tightened: 11, 10, 9, 9, 11 and 6 for a duplicate.
    let cases: [(&str, &Person, &str, &str, usize); 5] = [
        (
            "task line (加清单)",
            &ZHANGSAN,
            "加清单 3组路灯维修 @李四 周五 黄",
            "#",
            10,
        ),
        ("服务", &LISI, "服务 #1 帮王大妈办理医保", "本周", 8),
        (
            "走访",
            &WANGWU,
            "走访 张大爷家（3组） 反映路灯坏了",
            "本周",
            7,
        ),
        ("评价", &VILLAGERS[0], "评价 5 路灯修得快", "5", 6),
        ("清单", &LISI, "清单", "#1", 10),
    ];
    let mut over = Vec::new();
    for (what, who, text, says, most) in cases {
        let (n, statements, reply) = counted(&app, &log, who, text).await;
        assert!(reply.contains(says), "{what}: {reply}");
        eprintln!(
            "{what}: {n} round trips (at most {most})\n    {}",
            statements.join("\n    ")
        );
        if n > most {
            over.push(format!("{what}: {n} > {most}"));
        }
    }

    // A duplicate delivery: the same msgId again gets the saved reply from
    // the claim itself (BEGIN, the claim, ROLLBACK).
    let first = app.send_with_id("dup-1", &LISI, "服务 #1 又去了一趟").await;
    log.take();
    let again = app.send_with_id("dup-1", &LISI, "服务 #1 又去了一趟").await;
    let statements = log.take();
    assert_eq!(again, first, "a duplicate gets the saved reply");
    let n = round_trips(&statements);
    eprintln!(
        "duplicate: {n} round trips (at most 3)\n    {}",
        statements.join("\n    ")
    );
    if n > 3 {
        over.push(format!("duplicate: {n} > 3"));
    }
    assert!(over.is_empty(), "more round trips than allowed: {over:?}");
}

/// In an outbox step's `statements`: how many read a route (the only
/// SELECTs; claims are `WITH …`) and how many write outcomes.
fn outbox_parts(statements: &[String]) -> (usize, usize) {
    let routes = statements
        .iter()
        .filter(|s| s.trim_start().to_ascii_uppercase().starts_with("SELECT"))
        .count();
    let recorded = statements
        .iter()
        .filter(|s| s.contains("UPDATE outbox SET state"))
        .count();
    (routes, recorded)
}

#[tokio::test]
#[cfg_attr(not(liancun_pg), ignore = "PostgreSQL: set LIANCUN_TEST_PG to run")]
async fn a_batch_of_pushes_costs_a_few_round_trips_not_a_dozen_each_on_postgres() {
    use liancun::outbox::{Payload, Timing, enqueue_group};
    use liancun::reply::Reply;
    use liancun::store::{StoreError, groups, outbox};

    const N: usize = 12;
    let log = Statements::default();
    let _guard = tracing::subscriber::set_default(Registry::default().with(log.clone()));
    let mut app = TestApp::spawn(Backend::Postgres).await.expect(PG_UNSET);
    let mut group_ids = Vec::new();
    for i in 0..N {
        app.in_group(&format!("cid-rt-{i}"));
        let village = format!("往返{i}村");
        app.ensure_village("凤林镇", &village).await;
        let bound = app.say(&ADMIN, &format!("绑定 凤林镇 {village}")).await;
        assert!(bound.contains("已绑定"), "{bound}");
        group_ids.push(app.group_id().await);
    }
    // One push to each group (a robot each, so none waits for another's
    // spacing), due now.
    let enqueue = |round: usize| {
        let (db, ids, now) = (app.db.clone(), group_ids.clone(), app.clock.now_ms());
        async move {
            db.write(move |tx| {
                Box::pin(async move {
                    for gid in ids {
                        let t = groups::push_target(tx, gid).await?.expect("bound group");
                        let payload = Payload {
                            title: "通知".into(),
                            markdown: false,
                            reply: Reply::text(format!("第{round}轮通知")),
                        };
                        let timing = Timing {
                            at_ms: now,
                            spread_ms: 0,
                            quiet: None,
                        };
                        let key = format!("rt-{round}");
                        enqueue_group(tx, &t, None, &key, &payload, timing, now).await?;
                    }
                    Ok::<_, StoreError>(())
                })
            })
            .await
            .expect("enqueue");
        }
    };

    // The first round warms the statement cache.
    enqueue(1).await;
    assert_eq!(app.deliver().await.sent, N as u64);
    app.advance(chrono::Duration::seconds(4));
    enqueue(2).await;
    log.take();
    let d = app.deliver().await;
    let statements = log.take();
    assert_eq!(d.sent, N as u64, "{d:?}");
    let n = round_trips(&statements);
    let (routes, recorded) = outbox_parts(&statements);
    eprintln!(
        "{N} pushes: {n} round trips; {routes} route read(s), {recorded} outcome write(s)\n    {}",
        statements.join("\n    ")
    );
    // The claim (BEGIN, the claim, COMMIT), the batch's route (BEGIN, one
    // SELECT, ROLLBACK), the claim that finds nothing more, and the outcome
    // writes (BEGIN, one UPDATE for however many rows, COMMIT). Before: 12
    // round trips for each push, its route read row by row.
    assert_eq!(routes, 1, "one route read for the whole batch");
    assert!(recorded <= N, "at most one outcome write per push");
    assert_eq!(n, 9 + 3 * recorded, "nothing else per push");
    assert!(n <= 9 + 3 * N, "{n} round trips for {N} pushes");
    let received = app.fake.received().len();
    assert_eq!(received, 2 * N, "each push sent once");

    // Outcomes written together: one statement per kind, however many rows.
    enqueue(3).await;
    let ids: Vec<i64> = app
        .db
        .read(|tx| {
            Box::pin(async move {
                liancun::store::sql::query_as::<(i64,)>(
                    "SELECT id FROM outbox WHERE state = 'pending' ORDER BY id",
                )
                .fetch_all(tx)
                .await
            })
        })
        .await
        .expect("pending rows")
        .into_iter()
        .map(|(id,)| id)
        .collect();
    assert_eq!(ids.len(), N);
    let records: Vec<outbox::Record> = ids
        .iter()
        .enumerate()
        .map(|(i, &id)| outbox::Record {
            id,
            robot_key: format!("rt-robot-{i}"),
            outcome: match i % 3 {
                0 => outbox::Outcome::Sent { follow: Vec::new() },
                1 => outbox::Outcome::Retry {
                    next_at: 1,
                    error: "503: busy".into(),
                },
                _ => outbox::Outcome::Dead {
                    error: "400: bad robot".into(),
                },
            },
        })
        .collect();
    log.take();
    let now = app.clock.now_ms();
    app.db
        .write(move |tx| Box::pin(async move { outbox::record(tx, now, &records).await }))
        .await
        .expect("record");
    let n = round_trips(&log.take());
    assert_eq!(n, 5, "BEGIN, sent, retried, dead, COMMIT for {N} rows");
    let (pending, sent, dead) = app
        .db
        .read(|tx| Box::pin(async move { outbox::depth(tx).await }))
        .await
        .expect("depth");
    assert_eq!(
        (pending, sent, dead),
        (N as i64 / 3, 2 * N as i64 + N as i64 / 3, N as i64 / 3)
    );
}
