//! Copies of one message delivered at the same moment (the platform retries
//! while the first is still being handled, or two replicas each get one):
//! the message is stored once, and every copy gets the same saved reply,
//! never "系统暂时出错…请稍后重发" for a message that was in fact stored.
//! PostgreSQL is where the copies really race (every replica and request
//! has its own transaction); SQLite runs the same test.

use serde_json::Value;

use crate::support::*;

/// Copies of each message delivered together.
const COPIES: usize = 20;

/// Delivers `COPIES` copies of one message at once; returns every reply.
async fn deliver_copies(app: &TestApp, msg_id: &str, who: &Person, text: &str) -> Vec<Value> {
    let copies = (0..COPIES).map(|_| app.send_with_id(msg_id, who, text));
    futures_util::future::join_all(copies).await
}

/// Every copy got the same reply, and it is not the resend apology.
#[track_caller]
fn one_reply(replies: &[Value], what: &str) -> String {
    let first = replies[0]["text"]["content"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: not a text reply: {}", replies[0]))
        .to_string();
    for (i, r) in replies.iter().enumerate() {
        assert_eq!(
            r["text"]["content"].as_str(),
            Some(first.as_str()),
            "{what}: copy {i} got another reply"
        );
    }
    assert!(!first.contains("稍后重发"), "{what}: {first}");
    first
}

async fn copies_are_stored_once(app: TestApp) {
    app.setup_team().await;
    let before = app.counts().await;

    let plan = "排清单\n1. 苗青头村插花田政策处理 @李四 周四前 红\n2. 走访3组10户农户 @王五 周日";
    let replies = deliver_copies(&app, "dup-plan", &ZHANGSAN, plan).await;
    let r = one_reply(&replies, "plan");
    assert!(r.starts_with("✅ 已发布本周清单"), "{r}");
    let c = app.counts().await;
    assert_eq!((c["plans"], c["tasks"]), (1, 2), "the plan is stored once");

    let replies = deliver_copies(
        &app,
        "dup-add",
        &ZHANGSAN,
        "加清单 修补村道坑洼 @王五 3天内 橙",
    )
    .await;
    let added = one_reply(&replies, "add");
    assert!(added.contains("#3"), "the added task is #3: {added}");
    assert_eq!(app.counts().await["tasks"], 3, "the task is added once");

    let replies = deliver_copies(&app, "dup-request", &VILLAGERS[0], "诉求 3组路灯坏了").await;
    let r = one_reply(&replies, "request");
    assert!(r.contains("#4"), "the request's task is #4: {r}");
    let c = app.counts().await;
    assert_eq!(
        (c["requests"], c["tasks"]),
        (1, 4),
        "the request is stored once"
    );
    assert_eq!(
        c["inbound_messages"],
        before["inbound_messages"] + 3,
        "each message is recorded once"
    );

    // A later copy, alone, gets the same saved reply.
    let again = app
        .send_with_id("dup-add", &ZHANGSAN, "加清单 修补村道坑洼 @王五 3天内 橙")
        .await;
    assert_eq!(again["text"]["content"].as_str(), Some(added.as_str()));
    assert_eq!(app.counts().await["tasks"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copies_of_one_message_are_stored_once_sqlite() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    copies_are_stored_once(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(liancun_pg), ignore = "PostgreSQL: set LIANCUN_TEST_PG to run")]
async fn copies_of_one_message_are_stored_once_postgres() {
    let app = TestApp::spawn(Backend::Postgres).await.expect(PG_UNSET);
    copies_are_stored_once(app).await;
}

/// Task-creating messages of one team racing each other.
const RACERS: usize = 4;

/// Distinct task-creating messages of one team at the same moment: every
/// one is stored and answered, and the tasks are numbered 1..N without a gap
/// or a repeat. On PostgreSQL a turn that loses a race for a key is run
/// again; each round of a race has a winner, so `RACERS` stays within the
/// store's bound on runs of one turn whatever the task numbering does.
async fn racing_messages_all_get_through(app: TestApp) {
    app.setup_team().await;
    let texts: Vec<(String, String, &Person)> = (0..RACERS)
        .map(|i| {
            let (text, who) = if i % 2 == 0 {
                (format!("加清单 第{i}项事务 @王五 3天内 橙"), &ZHANGSAN)
            } else {
                (format!("诉求 第{i}件诉求"), &VILLAGERS[i % 4])
            };
            (format!("race-{i}"), text, who)
        })
        .collect();
    let sends = texts
        .iter()
        .map(|(id, text, who)| app.send_with_id(id, who, text));
    let replies = futures_util::future::join_all(sends).await;
    for (r, (id, ..)) in replies.iter().zip(&texts) {
        let text = r["text"]["content"].as_str().unwrap_or_default();
        assert!(!text.contains("稍后重发"), "{id}: {text}");
    }
    let c = app.counts().await;
    assert_eq!(c["tasks"], RACERS as i64, "every message made its task");
    let numbers: Vec<i64> = app
        .db
        .read(|tx| {
            Box::pin(async move {
                liancun::store::sql::query_as::<(i64,)>("SELECT no FROM tasks ORDER BY no")
                    .fetch_all(tx)
                    .await
            })
        })
        .await
        .expect("task numbers")
        .into_iter()
        .map(|(n,)| n)
        .collect();
    assert_eq!(numbers, (1..=RACERS as i64).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_messages_all_get_through_sqlite() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    racing_messages_all_get_through(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(liancun_pg), ignore = "PostgreSQL: set LIANCUN_TEST_PG to run")]
async fn racing_messages_all_get_through_postgres() {
    let app = TestApp::spawn(Backend::Postgres).await.expect(PG_UNSET);
    racing_messages_all_get_through(app).await;
}
