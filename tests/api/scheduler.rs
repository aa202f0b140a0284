//! The scheduled jobs: firing times, once across replicas, holidays, grace,
//! quiet hours, nags and what each job says.

use crate::scenario;
use crate::support::*;

fn firings_of<'a>(
    f: &'a [liancun::jobs::scheduler::Firing],
    job: &str,
) -> Vec<&'a liancun::jobs::scheduler::Firing> {
    f.iter().filter(|x| x.job == job).collect()
}

scenario! {
    async fn monday_reminder_fires_once_across_replicas_and_reaches_the_leader(app) {
        app.set_local(2026, 11, 30, 8, 0);
        app.setup_team().await;
        app.set_local(2026, 11, 30, 8, 31);
        let (a, b) = tokio::join!(app.tick_as("replica-a"), app.tick_as("replica-b"));
        let fired: Vec<_> = a.iter().chain(b.iter()).filter(|f| f.job == "plan_reminder").collect();
        assert_eq!(fired.len(), 1, "claimed once: {fired:?}");
        assert_eq!(fired[0].status, "done");
        assert_eq!(fired[0].enqueued, 1);
        assert!(firings_of(&app.tick().await, "plan_reminder").is_empty(), "a later tick does not fire it again");
        let d = app.deliver().await;
        assert_eq!(d.sent, 1);
        let got = app.fake.received();
        assert_eq!(got.len(), 1);
        // The reminder exists to reach the leader: the group's sessionWebhook
        // (still valid after the 08:00 setup) mentions him for real.
        assert_eq!(got[0].route, "session");
        assert_eq!(got[0].at_user_ids, ["zhangsan01"]);
        assert!(got[0].shown.contains("@张三") && got[0].shown.contains("排清单"), "{}", got[0].shown);
        assert_eq!(app.deliver().await.total(), 0, "nothing sent twice");
        // Once the plan is out, Monday night has nothing to chase.
        app.say(&ZHANGSAN, "排清单\n1. 河道清理 @李四 周五").await;
        app.set_local(2026, 11, 30, 21, 31);
        let f = app.tick().await;
        assert_eq!(firings_of(&f, "plan_missing")[0].enqueued, 0);
    }
}

scenario! {
    async fn no_plan_by_monday_night_alerts_the_group_and_the_township_admin(app) {
        app.set_local(2026, 11, 30, 8, 0);
        app.setup_team().await;
        let (status, _) = app.admin("POST", "/api/v1/townships/1/admins",
            Some(serde_json::json!({"platform": "dingtalk", "user_id": "zuzhiban01", "name": "组织办"}))).await;
        assert_eq!(status, 200);
        app.set_local(2026, 11, 30, 21, 31);
        let f = app.tick().await;
        assert_eq!(firings_of(&f, "plan_missing")[0].enqueued, 2, "the group and the admin");
        assert_eq!(app.deliver().await.sent, 2);
        let got = app.fake.received();
        let group = got.iter().find(|r| r.route == "openapi").expect("group alert");
        assert!(group.text.contains("还没有发布"), "{}", group.text);
        let admin = got.iter().find(|r| r.route == "direct").expect("admin notified");
        assert_eq!(admin.target, "user:zuzhiban01");
        assert!(admin.text.contains("南坞村 南坞服务团"), "{}", admin.text);
    }
}

scenario! {
    async fn holidays_move_or_skip_weekday_jobs(app) {
        app.set_local(2026, 9, 28, 8, 0);
        app.setup_team().await;
        app.say(&ZHANGSAN, "加清单 河道清理 @李四 10月9日").await;
        // National Day 2026: Friday 10/2 is off, so Friday's results reminder
        // runs earlier, on Wednesday 9/30 at 15:00.
        app.set_local(2026, 9, 30, 15, 1);
        let f = app.tick().await;
        let r = firings_of(&f, "results_reminder");
        assert_eq!(r.len(), 1, "{f:?}");
        assert_eq!(r[0].fire_at.to_rfc3339(), "2026-09-30T07:00:00+00:00");
        assert_eq!(r[0].slot.to_rfc3339(), "2026-10-02T07:00:00+00:00", "claimed under its Friday slot");
        app.set_local(2026, 10, 2, 15, 1);
        assert!(firings_of(&app.tick().await, "results_reminder").is_empty(), "not again on the day itself");
    }
}

scenario! {
    async fn a_week_all_off_skips_its_weekday_jobs(app) {
        // Spring Festival 2026: the week of 2/16 is all off: Monday's reminder is skipped.
        app.set_local(2026, 2, 14, 10, 0);
        app.setup_team().await;
        app.tick().await;
        app.set_local(2026, 2, 16, 8, 31);
        let f = app.tick().await;
        let p = firings_of(&f, "plan_reminder");
        assert_eq!(p.len(), 1, "{f:?}");
        assert_eq!(p[0].status, "holiday");
        assert_eq!(p[0].enqueued, 0);
    }
}

scenario! {
    async fn a_firing_missed_beyond_the_grace_window_is_skipped(app) {
        app.set_local(2026, 11, 30, 8, 0);
        app.setup_team().await;
        app.tick().await; // the cursor now stands at 08:00
        app.set_local(2026, 11, 30, 9, 31); // down from 08:00 to 09:31
        let f = app.tick().await;
        let p = firings_of(&f, "plan_reminder");
        assert_eq!((p.len(), p[0].status.as_str()), (1, "skipped"));
        assert_eq!(app.deliver().await.total(), 0, "a stale reminder is not sent");
        // Missed by less than the grace window (Tuesday's 08:00): it runs late, once.
        app.set_local(2026, 12, 1, 8, 20);
        let f = app.tick().await;
        let s = firings_of(&f, "service_day");
        assert_eq!((s.len(), s[0].status.as_str()), (1, "done"));
        app.set_local(2026, 12, 1, 8, 45);
        assert!(firings_of(&app.tick().await, "service_day").is_empty());
    }
}

scenario! {
    async fn overdue_tasks_are_alerted_once_a_day_and_red_ones_escalate(app) {
        app.setup_team().await; // Wednesday 10:00
        app.admin("POST", "/api/v1/townships/1/admins",
            Some(serde_json::json!({"platform": "dingtalk", "user_id": "zuzhiban01"}))).await;
        app.say(&ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 今天 12:00 红\n2. 河道清理 @王五 今天 12:00").await;
        app.tick().await;
        app.set_local(2026, 12, 2, 12, 16);
        let f = app.tick().await;
        assert_eq!(firings_of(&f, "overdue_scan").iter().map(|f| f.enqueued).sum::<usize>(), 2, "group + admin");
        app.deliver().await;
        // The 1:1 copies are queued when the alert goes out; the worker's
        // next step sends them.
        assert_eq!(app.deliver().await.sent, 2);
        let got = app.fake.received();
        // The session of the 10:00 messages expired at 11:30: OpenAPI, which
        // cannot @, names the owners, and each of them gets it 1:1.
        let alert = got.iter().find(|r| r.route == "openapi").unwrap();
        assert!(alert.shown.contains("已逾期") && alert.shown.contains("@李四") && alert.shown.contains("@王五"), "{}", alert.shown);
        assert!(!alert.shown.contains("lisi01") && !alert.shown.contains("wangwu01"), "no raw ids: {}", alert.shown);
        for owner in ["user:lisi01", "user:wangwu01"] {
            let direct: Vec<_> = got.iter().filter(|r| r.route == "direct" && r.target == owner).collect();
            assert_eq!(direct.len(), 1, "{owner}: {got:?}");
            assert_eq!(direct[0].shown, alert.shown, "the same text 1:1");
        }
        let admin = got.iter().find(|r| r.route == "direct" && r.target == "user:zuzhiban01").unwrap();
        assert!(admin.text.contains("插花田") && !admin.text.contains("河道清理"), "only red/orange escalate: {}", admin.text);
        // Later scans the same day stay quiet about the same tasks.
        app.set_local(2026, 12, 2, 16, 1);
        let f = app.tick().await;
        assert_eq!(firings_of(&f, "overdue_scan").iter().map(|f| f.enqueued).sum::<usize>(), 0);
        // Night scans keep quiet hours; the next morning alerts again.
        app.set_local(2026, 12, 2, 23, 1);
        let f = app.tick().await;
        assert_eq!(firings_of(&f, "overdue_scan").iter().map(|f| f.enqueued).sum::<usize>(), 0);
        app.set_local(2026, 12, 3, 7, 46);
        let f = app.tick().await;
        assert!(firings_of(&f, "overdue_scan").iter().map(|f| f.enqueued).sum::<usize>() >= 1, "{f:?}");
    }
}

scenario! {
    async fn friday_airing_counts_the_week_and_shows_the_rating_from_three_villagers(app) {
        app.setup_team().await;
        app.say(&ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 周四 红\n2. 河道清理 @王五\n3. 路灯维修 @王五").await;
        app.say(&LISI, "完成 #1 已协调").await;
        app.say(&WANGWU, "完成 #2 已清理").await;
        app.say(&LISI, "服务 #3 联系电工").await;
        app.say(&WANGWU, "走访 张大爷家 反映路灯").await;
        app.say(&VILLAGERS[0], "诉求 村口垃圾没人清").await;
        app.deliver().await; // the leader's prompt to hand it on
        for (v, s) in VILLAGERS.iter().take(3).zip(["满意", "基本满意", "评价 4 不错"]) {
            app.say(v, s).await;
        }
        app.set_local(2026, 12, 4, 20, 1);
        app.tick().await;
        app.deliver().await;
        let got = app.fake.received();
        let airing = got.iter().find(|r| r.text.contains("本周晾晒")).expect("airing sent");
        assert_eq!(airing.msgtype, "markdown");
        // This week's ratings stay open until next week's airing, which
        // shows them as last week's final score.
        for want in ["清单销号：2/4，按时 2", "服务：1 次", "走访：1 户次", "村民诉求：1 件，待办 1 件", "上周村民评价：暂无", "@联村助手 评价 5"] {
            assert!(airing.text.contains(want), "{want}: {}", airing.text);
        }
        for name in ["村民甲", "村民乙", "村民丙"] {
            assert!(!airing.text.contains(name), "villagers are not named in public");
        }
        app.set_local(2026, 12, 11, 20, 1);
        app.tick().await;
        // The airing and #3's overdue alert: one send per robot and group every 3 s.
        app.deliver().await;
        app.advance(chrono::Duration::seconds(5));
        app.deliver().await;
        let next = app.fake.received().into_iter().rfind(|r| r.text.contains("本周晾晒")).expect("next airing");
        assert!(next.text.contains("本周晾晒（12月7日—13日）"), "{}", next.text);
        assert!(next.text.contains("- 上周村民评价：4.0 分（3 人）"), "{}", next.text);
    }
}

scenario! {
    async fn results_reminder_and_clearance_nag_each_owner_once_a_day(app) {
        app.setup_team().await;
        // The group's own push robot, a route that can @.
        let gid = app.group_id().await;
        let (s, _) = app.admin("PUT", &format!("/api/v1/groups/{gid}/push-robot"),
            Some(serde_json::json!({"access_token": "robot-token-1"}))).await;
        assert_eq!(s, 204);
        app.fake.add_robot_webhook("robot-token-1", None);
        app.say(&ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 周日\n2. 河道清理 @王五 周日").await;
        app.set_local(2026, 12, 4, 15, 1);
        app.tick().await;
        app.deliver().await;
        let r = app.fake.received();
        assert!(r[0].shown.contains("@李四") && r[0].shown.contains("@王五"), "{}", r[0].shown);
        assert_eq!(r[0].at_user_ids, ["lisi01", "wangwu01"]);
        // A manual re-run the same day lists the tasks but @s nobody again:
        // the names are there, the at list is empty.
        let (status, _) = app.admin("POST", "/api/v1/jobs/results_reminder/run", None).await;
        assert_eq!(status, 200);
        app.advance(chrono::Duration::seconds(5));
        app.deliver().await;
        let again = &app.fake.received()[1];
        assert!(again.shown.contains("插花田") && again.at_user_ids.is_empty(), "{again:?}");
        app.say(&LISI, "完成 #1 好了").await;
        app.say(&WANGWU, "完成 #2 好了").await;
        app.set_local(2026, 12, 6, 20, 1);
        app.tick().await;
        app.deliver().await;
        let last = app.fake.received().pop().unwrap();
        assert!(last.text.contains("全部清零"), "{}", last.text);
    }
}

scenario! {
    async fn an_overdue_alert_takes_the_route_that_notifies_the_owner(app) {
        app.setup_team().await; // Wednesday 10:00
        app.say(&ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 今天 12:00 红").await;
        // A message at 12:10 leaves the group a fresh sessionWebhook.
        app.set_local(2026, 12, 2, 12, 10);
        app.say(&WANGWU, "清单").await;
        app.set_local(2026, 12, 2, 12, 16);
        app.tick().await;
        app.deliver().await;
        let got = app.fake.received();
        let alert = got.iter().find(|r| r.shown.contains("已逾期")).expect("alert sent");
        assert_eq!(alert.route, "session", "{got:?}");
        assert_eq!(alert.at_user_ids, ["lisi01"]);
        assert!(alert.shown.contains("@李四") && !alert.shown.contains("lisi01"), "{}", alert.shown);
        assert!(!got.iter().any(|r| r.target == "user:lisi01"), "mentioned for real: no 1:1 needed");

        // The next day, with the group's own push robot: that robot @s him.
        let gid = app.group_id().await;
        let (s, _) = app.admin("PUT", &format!("/api/v1/groups/{gid}/push-robot"),
            Some(serde_json::json!({"access_token": "robot-token-1"}))).await;
        assert_eq!(s, 204);
        app.fake.add_robot_webhook("robot-token-1", None);
        app.set_local(2026, 12, 3, 8, 1);
        app.tick().await;
        app.deliver().await;
        let got = app.fake.received();
        let alert = got.iter().rev().find(|r| r.shown.contains("已逾期")).expect("alert sent");
        assert_eq!((alert.route.as_str(), alert.at_user_ids.as_slice()), ("robot", &["lisi01".to_string()][..]));
        assert!(alert.shown.contains("@李四") && !alert.shown.contains("lisi01"), "{}", alert.shown);
        assert!(!got.iter().any(|r| r.target == "user:lisi01"), "{got:?}");
    }
}

/// Claims `slot` of plan_missing for township 1 as `worker` in a transaction
/// of its own.
async fn claim_slot(db: &liancun::store::Db, worker: &'static str, slot: i64) -> bool {
    db.write(move |tx| {
        Box::pin(async move {
            liancun::store::jobs::claim_firing(
                tx,
                "plan_missing",
                "township:1",
                slot,
                slot,
                "running",
                worker,
                slot,
            )
            .await
        })
    })
    .await
    .expect("claim")
}

/// A replica that finds a firing being run by another does not wait for that
/// run's transaction (which holds a pooled connection the callbacks need):
/// it is told at once that the firing is not its own. If the run rolls back,
/// the slot can be claimed again.
#[tokio::test]
#[cfg_attr(not(liancun_pg), ignore = "PostgreSQL: set LIANCUN_TEST_PG to run")]
async fn a_firing_being_run_is_passed_over_without_waiting_on_postgres() {
    use std::time::{Duration, Instant};
    let app = TestApp::spawn(Backend::Postgres).await.expect(PG_UNSET);
    const SLOT: i64 = 1_796_000_000_000;
    let (claimed_tx, claimed_rx) = tokio::sync::oneshot::channel::<bool>();
    let (end_tx, end_rx) = tokio::sync::oneshot::channel::<()>();
    let db = app.db.clone();
    let running = tokio::spawn(async move {
        db.write(move |tx| {
            Box::pin(async move {
                let won = liancun::store::jobs::claim_firing(
                    tx,
                    "plan_missing",
                    "township:1",
                    SLOT,
                    SLOT,
                    "running",
                    "replica-a",
                    SLOT,
                )
                .await?;
                let _ = claimed_tx.send(won);
                let _ = end_rx.await;
                // The run fails: nothing of it is kept, its claim neither.
                Err::<(), _>(liancun::store::StoreError::Conflict(
                    "the run failed".into(),
                ))
            })
        })
        .await
    });
    assert!(
        claimed_rx.await.expect("claimed"),
        "replica A claims the free slot"
    );

    let started = Instant::now();
    let b = tokio::time::timeout(
        Duration::from_secs(10),
        claim_slot(&app.db, "replica-b", SLOT),
    )
    .await
    .expect("replica B is not held up by A's open run");
    assert!(!b, "replica B does not take a slot A is running");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Another firing is not held up by A's either.
    assert!(claim_slot(&app.db, "replica-b", SLOT + 60_000).await);

    end_tx.send(()).expect("A waits");
    assert!(
        running.await.expect("A's task").is_err(),
        "A's run rolled back"
    );
    assert!(
        claim_slot(&app.db, "replica-b", SLOT).await,
        "the slot is free again after A's rollback"
    );
    assert!(
        !claim_slot(&app.db, "replica-a", SLOT).await,
        "and claimed once"
    );
}
