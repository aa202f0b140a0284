//! The outbox: outages, throttles, budgets, dead letters, and the admin
//! endpoints around them.

use serde_json::json;

use crate::scenario;
use crate::support::*;

async fn run_job(app: &TestApp, job: &str) {
    let (status, body) = app
        .admin("POST", &format!("/api/v1/jobs/{job}/run"), None)
        .await;
    assert_eq!(status, 200, "{body}");
}

scenario! {
    async fn a_platform_outage_delays_but_loses_nothing(app) {
        app.setup_team().await;
        app.fake.fail_next(3, 503);
        run_job(&app, "plan_reminder").await;
        let mut sent = 0;
        for _ in 0..6 {
            let d = app.deliver().await;
            sent += d.sent;
            app.advance(chrono::Duration::minutes(2));
        }
        assert_eq!(sent, 1);
        assert_eq!(app.fake.received().len(), 1, "delivered once");
        assert!(app.counter("liancun_pushes_total", "outcome=\"retried\"").await >= 3.0);
    }
}

scenario! {
    async fn pushes_to_one_robot_are_spaced_so_the_platform_never_throttles(app) {
        app.setup_team().await;
        for _ in 0..5 {
            run_job(&app, "plan_reminder").await;
            app.advance(chrono::Duration::milliseconds(10));
        }
        let first = app.deliver().await;
        assert_eq!(first.sent, 1, "one send per robot per 3 s");
        for _ in 0..4 {
            app.advance(chrono::Duration::seconds(3));
            assert_eq!(app.deliver().await.sent, 1);
        }
        assert_eq!(app.fake.received().len(), 5);
        assert!(app.fake.rejected().is_empty(), "no throttle responses: {:?}", app.fake.rejected());
    }
}

scenario! {
    async fn a_throttled_robot_waits_ten_minutes_without_holding_up_others(app) {
        app.setup_team().await;
        let group_a = app.group_id().await;
        app.in_group("cid-other-village");
        app.ensure_village("凤林镇", "北山村").await;
        assert!(app.say(&ADMIN, "绑定 凤林镇 北山村").await.contains("已绑定"));
        let group_b = app.group_id().await;
        // The groups' sessionWebhooks have expired: the reminders go through
        // the robot's OpenAPI.
        app.advance(chrono::Duration::minutes(91));
        // Someone else used up group A's robot budget at the platform.
        let sender = liancun::platform::dingtalk::send::DingtalkSender::new(
            reqwest::Client::new(), &app.fake_base(), &app.fake_base(), Some(APP_KEY.into()), Some(SECRET.into()));
        let conv_a = app.conversation_of(group_a).await;
        let route = liancun::platform::dingtalk::send::Route::OpenApi { robot_code: ROBOT_CODE.into(), open_conversation_id: conv_a };
        let msg = liancun::platform::dingtalk::send::OutMessage {
            title: "x".into(), text: "x".into(), markdown: false, at_user_ids: vec![], at_mobiles: vec![] };
        for _ in 0..20 {
            sender.send(&route, &msg, app.clock.now_ms()).await.expect("within the platform's budget");
        }
        let (s, _) = app.admin("POST", "/api/v1/jobs/plan_reminder/run", Some(json!({"group": group_a}))).await;
        assert_eq!(s, 200);
        let (s, _) = app.admin("POST", "/api/v1/jobs/plan_reminder/run", Some(json!({"group": group_b}))).await;
        assert_eq!(s, 200);
        let d = app.deliver().await;
        assert_eq!((d.sent, d.throttled), (1, 1), "B goes out while A is throttled");
        app.advance(chrono::Duration::minutes(5));
        assert_eq!(app.deliver().await.total(), 0, "A stays paused");
        app.advance(chrono::Duration::minutes(6));
        assert_eq!(app.deliver().await.sent, 1, "A goes out after the pause");
        let to_a = app.fake.received().into_iter().filter(|r| r.text.contains("排清单")).count();
        assert_eq!(to_a, 2);
    }
}

scenario! {
    async fn a_misconfigured_push_robot_becomes_a_visible_retryable_dead_letter(app) {
        app.setup_team().await;
        let gid = app.group_id().await;
        let (s, _) = app.admin("PUT", &format!("/api/v1/groups/{gid}/push-robot"),
            Some(json!({"access_token": "robot-token-1", "secret": "SEC0123456789abcdef"}))).await;
        assert_eq!(s, 204);
        let (s, g) = app.admin("GET", &format!("/api/v1/groups/{gid}"), None).await;
        assert_eq!(s, 200);
        assert_eq!(g["has_push_robot"], true);
        assert!(!g.to_string().contains("robot-token-1") && !g.to_string().contains("SEC0123"), "secrets are write-only: {g}");
        run_job(&app, "plan_reminder").await;
        let d = app.deliver().await;
        assert_eq!(d.dead, 1, "token unknown to the platform: 300005");
        let (_, dead) = app.admin("GET", "/api/v1/outbox/dead", None).await;
        let rows = dead["items"].as_array().unwrap();
        assert_eq!(rows.len(), 1);
        assert!(rows[0]["last_error"].as_str().unwrap().contains("300005"), "{dead}");
        assert!(app.metrics().await.contains("liancun_outbox_rows{state=\"dead\"} 1"));
        // The operator fixes the robot and retries.
        app.fake.add_robot_webhook("robot-token-1", Some("SEC0123456789abcdef"));
        let id = rows[0]["id"].as_i64().unwrap();
        let (s, _) = app.admin("POST", &format!("/api/v1/outbox/dead/{id}/retry"), None).await;
        assert_eq!(s, 204);
        app.advance(chrono::Duration::seconds(3)); // the failed attempt spent the robot's budget
        assert_eq!(app.deliver().await.sent, 1);
        let got = app.fake.received();
        assert_eq!((got.len(), got[0].route.as_str()), (1, "robot"));
        let (s, _) = app.admin("POST", &format!("/api/v1/outbox/dead/{id}/retry"), None).await;
        assert_eq!(s, 404, "no longer dead");
    }
}

scenario! {
    async fn the_admin_api_checks_tokens_and_validates_what_enters(app) {
        app.setup_team().await;
        for token in [None, Some("wrong-token")] {
            let (s, _) = app.admin_with("POST", "/api/v1/jobs/plan_reminder/run", None, token).await;
            assert_eq!(s, 401);
        }
        let (s, b) = app.admin("POST", "/api/v1/jobs/weekly/run", None).await;
        assert_eq!(s, 404, "{b}");
        let (s, b) = app.admin("POST", "/api/v1/jobs/plan_reminder/run", Some(json!({"township": 99}))).await;
        assert_eq!(s, 404, "{b}");
        let (s, b) = app.admin("POST", "/api/v1/jobs/plan_reminder/run", Some(json!({"township": 1, "group": 1}))).await;
        assert_eq!(s, 422, "{b}");
        let (s, b) = app.admin("PUT", "/api/v1/townships/1/schedule/plan_reminder", Some(json!({"cron": "0 30 8 * * 1"}))).await;
        assert_eq!(s, 422);
        assert!(b["detail"].as_str().unwrap().contains("Mon"), "says to use names: {b}");
        let (s, _) = app.admin("PUT", "/api/v1/groups/1/push-robot", Some(json!({"access_token": ""}))).await;
        assert_eq!(s, 422);
        // A township moves its Monday reminder to 09:00.
        let (s, b) = app.admin("PUT", "/api/v1/townships/1/schedule/plan_reminder", Some(json!({"cron": "0 0 9 * * Mon"}))).await;
        assert_eq!(s, 200, "{b}");
        app.set_local(2026, 12, 7, 8, 20);
        app.tick().await;
        app.set_local(2026, 12, 7, 8, 40);
        let f = app.tick().await;
        assert!(f.iter().all(|f| f.job != "plan_reminder"), "not at 08:30 any more: {f:?}");
        app.set_local(2026, 12, 7, 9, 1);
        let f = app.tick().await;
        assert!(f.iter().any(|f| f.job == "plan_reminder" && f.status == "done"), "{f:?}");
    }
}

scenario! {
    async fn admins_read_and_correct_the_holiday_calendar(app) {
        let (s, cal) = app.admin("GET", "/api/v1/calendar", None).await;
        assert_eq!(s, 200);
        let years: Vec<i64> = cal["years"].as_array().unwrap().iter().map(|y| y["year"].as_i64().unwrap()).collect();
        assert!(years.contains(&2025) && years.contains(&2026), "{years:?}");
        assert_eq!(cal["missing_years"], json!([2027]), "says which year falls back to plain weekends");
        let bad = json!({"notice": "x", "holidays": [{"name": "元旦", "from": "2027-01-03", "to": "2027-01-01"}], "workdays": []});
        let (s, _) = app.admin("PUT", "/api/v1/calendar/2027", Some(bad)).await;
        assert_eq!(s, 422);
        let good = json!({"notice": "国务院办公厅关于2027年部分节假日安排的通知", "holidays": [{"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"}], "workdays": []});
        let (s, b) = app.admin("PUT", "/api/v1/calendar/2027", Some(good)).await;
        assert_eq!(s, 200, "{b}");
        let (_, cal) = app.admin("GET", "/api/v1/calendar", None).await;
        assert_eq!(cal["missing_years"], json!([]));
        // The correction survives a restart.
        let app = app.restart().await;
        let (_, cal) = app.admin("GET", "/api/v1/calendar", None).await;
        assert_eq!(cal["missing_years"], json!([]));
    }
}

/// Sends in flight at the platform never exceed `outbox.concurrency`, and a
/// fan-out keeps that many going: a send's slot frees up when the platform
/// answers (its outcome is written afterwards, bounded apart), and not before.
mod sends_in_flight_stay_within_the_concurrency {
    use super::*;
    const CONCURRENCY: usize = 3;
    const GROUPS: usize = 12;

    async fn run(mut app: TestApp) {
        for g in 0..GROUPS {
            let village = format!("第{g}村");
            app.ensure_village("凤林镇", &village).await;
            app.in_group(&format!("cid-inflight-{g}"));
            let said = app.say(&ADMIN, &format!("绑定 凤林镇 {village}")).await;
            assert!(said.contains("已绑定"), "{said}");
        }
        run_job(&app, "plan_reminder").await;
        app.fake.set_latency(std::time::Duration::from_millis(40));
        let d = app.deliver().await;
        assert_eq!(d.sent, GROUPS as u64, "{d:?}");
        assert_eq!(app.fake.received().len(), GROUPS);
        assert_eq!(
            app.fake.peak_in_flight(),
            CONCURRENCY,
            "never more than the slots, and every slot kept busy"
        );
        let (sent,): (i64,) = app
            .db
            .read(|tx| {
                Box::pin(async move {
                    liancun::store::sql::query_as::<(i64,)>(
                        "SELECT COUNT(*) FROM outbox WHERE state = 'sent'",
                    )
                    .fetch_one(tx)
                    .await
                })
            })
            .await
            .expect("count");
        assert_eq!(
            sent, GROUPS as i64,
            "every outcome written when the step returns"
        );
    }

    fn toml() -> String {
        format!("[outbox]\nenabled = false\nconcurrency = {CONCURRENCY}")
    }

    #[tokio::test]
    async fn sqlite() {
        run(TestApp::spawn_with(Backend::Sqlite, &toml()).await.unwrap()).await;
    }

    #[tokio::test]
    #[cfg_attr(not(liancun_pg), ignore = "PostgreSQL: set LIANCUN_TEST_PG to run")]
    async fn postgres() {
        run(TestApp::spawn_with(Backend::Postgres, &toml())
            .await
            .expect(PG_UNSET))
        .await;
    }
}
