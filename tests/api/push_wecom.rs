//! Pushes to WeCom groups through their group robots (webhook `send?key=`):
//! scheduled jobs with `<@userid>` mentions, a team with a DingTalk and a
//! WeCom group at once, wrong keys, throttling, and the push-robot API.

use liancun::platform::wecom::send::{WecomMessage, WecomSender};
use serde_json::{Value, json};

use crate::scenario;
use crate::support::wecom::*;
use crate::support::*;

const KEY: &str = "693a91f6-7a1b-4bc4-97a0-0ec2a1fa5aaa";

/// Makes this test's group a WeCom group bound to 凤林镇 `village` 南坞服务团
/// (by the bot's admin) with `zhangsan` as leader; returns its id.
async fn wecom_team(app: &TestApp, village: &str) -> i64 {
    let r = app
        .wecom_say(WECOM_ADMIN, &format!("绑定 凤林镇 {village} 南坞服务团"))
        .await;
    assert!(r.contains("已绑定"), "{r}");
    // WeCom sends no names: zhangsan is known once seen, by user id.
    app.wecom_say("zhangsan", "帮助").await;
    let r = app.wecom_say(WECOM_ADMIN, "设团长 @zhangsan").await;
    assert!(r.contains("已设团长"), "{r}");
    app.group_id().await
}

async fn set_key(app: &TestApp, group: i64, key: &str) {
    let (s, b) = app
        .admin(
            "PUT",
            &format!("/api/v1/groups/{group}/push-robot"),
            Some(json!({ "key": key })),
        )
        .await;
    assert_eq!(s, 204, "{b}");
}

async fn run_job(app: &TestApp, job: &str, body: Option<Value>) {
    let (s, b) = app
        .admin("POST", &format!("/api/v1/jobs/{job}/run"), body)
        .await;
    assert_eq!(s, 200, "{b}");
}

async fn dead_letters(app: &TestApp) -> Vec<Value> {
    let (s, dead) = app.admin("GET", "/api/v1/outbox/dead", None).await;
    assert_eq!(s, 200, "{dead}");
    dead["dead_letters"].as_array().expect("list").clone()
}

scenario! {
    async fn a_wecom_group_gets_the_scheduled_pushes_through_its_robot(app) {
        app.set_local(2026, 11, 30, 8, 0);
        app.in_group("wx-nanwu");
        let gid = wecom_team(&app, "南坞村").await;
        set_key(&app, gid, KEY).await;
        app.wecom.add_key(KEY);

        // Monday 08:30: the plan reminder, the leader mentioned the WeCom way.
        app.set_local(2026, 11, 30, 8, 31);
        let f = app.tick().await;
        let fired: Vec<_> = f.iter().filter(|f| f.job == "plan_reminder").collect();
        assert_eq!((fired.len(), fired[0].enqueued), (1, 1), "{f:?}");
        assert_eq!(app.deliver().await.sent, 1);
        let got = app.wecom.received();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].key.as_str(), got[0].msgtype.as_str()), (KEY, "markdown"));
        assert!(got[0].content.contains("<@zhangsan>") && got[0].content.contains("排清单"), "{}", got[0].content);
        assert_eq!(got[0].mentioned, ["zhangsan"]);
        assert!(got[0].content.contains("  \n"), "line breaks are hard breaks: {:?}", got[0].content);

        // Friday 20:00: the airing.
        app.set_local(2026, 12, 4, 20, 1);
        app.tick().await;
        app.deliver().await;
        let got = app.wecom.received();
        let airing = got.iter().find(|r| r.content.contains("本周晾晒")).expect("airing sent");
        assert_eq!(airing.msgtype, "markdown");
        assert!(airing.content.contains("南坞村 南坞服务团"), "{}", airing.content);
        assert!(app.fake.received().is_empty(), "nothing went to DingTalk");
        assert!(app.wecom.rejected().is_empty(), "{:?}", app.wecom.rejected());
        assert!(dead_letters(&app).await.is_empty());
    }
}

scenario! {
    async fn one_village_any_platform_the_airing_reaches_both_groups(app) {
        // The team works in a DingTalk group and a WeCom group at once.
        app.setup_team().await;
        let ding = app.group_id().await;
        let ding_conversation = app.conversation_of(ding).await;
        app.in_group("wx-nanwu");
        let r = app.wecom_say(WECOM_ADMIN, "绑定 凤林镇 南坞村 南坞服务团").await;
        assert!(r.contains("已绑定：凤林镇 南坞村 南坞服务团"), "the same team: {r}");
        let wx = app.group_id().await;
        set_key(&app, wx, KEY).await;
        app.wecom.add_key(KEY);

        // The leader is a DingTalk person: the WeCom group reads his name but
        // gets no mention WeCom could not resolve.
        run_job(&app, "plan_reminder", None).await;
        assert_eq!(app.deliver().await.sent, 2, "one per group");
        let ding_msg = &app.fake.received()[0];
        assert!(ding_msg.shown.contains("@张三"), "{}", ding_msg.shown);
        let wx_msg = &app.wecom.received()[0];
        assert!(wx_msg.content.contains("@张三") && wx_msg.content.contains("排清单"), "{}", wx_msg.content);
        assert!(!wx_msg.content.contains("<@") && wx_msg.mentioned.is_empty(), "{}", wx_msg.content);

        app.in_group(&ding_conversation);
        app.say(&ZHANGSAN, "排清单\n1. 河道清理 @李四 周四\n2. 路灯维修 @王五").await;
        app.say(&LISI, "完成 #1 已清理").await;

        app.set_local(2026, 12, 4, 20, 1);
        app.tick().await;
        app.deliver().await;
        let ding_airings: Vec<_> = app.fake.received().into_iter().filter(|r| r.text.contains("本周晾晒")).collect();
        let wx_airings: Vec<_> = app.wecom.received().into_iter().filter(|r| r.content.contains("本周晾晒")).collect();
        assert_eq!((ding_airings.len(), wx_airings.len()), (1, 1), "each group once");
        assert_eq!(ding_airings[0].msgtype, "markdown");
        assert_eq!(ding_airings[0].target, ding_conversation);
        assert_eq!(wx_airings[0].key, KEY);
        for text in [&ding_airings[0].text, &wx_airings[0].content] {
            assert!(text.contains("南坞村 南坞服务团") && text.contains("清单销号：1/2"), "{text}");
        }
        assert!(dead_letters(&app).await.is_empty());
    }
}

scenario! {
    async fn a_missing_or_wrong_key_becomes_a_visible_dead_letter(app) {
        app.in_group("wx-nanwu");
        let gid = wecom_team(&app, "南坞村").await;

        // No robot yet: the operator is told what to set.
        run_job(&app, "plan_reminder", None).await;
        assert_eq!(app.deliver().await.dead, 1);
        let rows = dead_letters(&app).await;
        assert_eq!(rows.len(), 1);
        let err = rows[0]["last_error"].as_str().unwrap_or_default();
        assert!(err.starts_with("no_route") && err.contains(&format!("/api/v1/groups/{gid}/push-robot")), "{err}");

        // A key WeCom does not know: 93000, dead at once, the key never shown.
        set_key(&app, gid, KEY).await;
        let id = rows[0]["id"].as_i64().expect("id");
        let (s, _) = app.admin("POST", &format!("/api/v1/outbox/dead/{id}/retry"), None).await;
        assert_eq!(s, 204);
        app.advance(chrono::Duration::seconds(3));
        let d = app.deliver().await;
        assert_eq!((d.sent, d.retried, d.dead), (0, 0, 1));
        let rows = dead_letters(&app).await;
        let err = rows[0]["last_error"].as_str().unwrap_or_default();
        assert!(err.contains("93000"), "{err}");
        let (_, all) = app.admin("GET", "/api/v1/outbox/dead", None).await;
        assert!(!all.to_string().contains(KEY), "the key is a secret: {all}");
        assert_eq!(app.wecom.rejected(), [("93000".to_owned(), KEY.to_owned())]);

        // The robot is created; the retried letter goes out.
        app.wecom.add_key(KEY);
        let (s, _) = app.admin("POST", &format!("/api/v1/outbox/dead/{id}/retry"), None).await;
        assert_eq!(s, 204);
        app.advance(chrono::Duration::seconds(3));
        assert_eq!(app.deliver().await.sent, 1);
        assert_eq!(app.wecom.received().len(), 1);
        assert!(dead_letters(&app).await.is_empty());
    }
}

scenario! {
    async fn a_throttled_wecom_robot_pauses_without_holding_up_other_groups(app) {
        app.in_group("wx-nanwu");
        let a = wecom_team(&app, "南坞村").await;
        app.in_group("wx-beishan");
        let b = wecom_team(&app, "北山村").await;
        set_key(&app, a, "key-a").await;
        set_key(&app, b, "key-b").await;
        app.wecom.add_key("key-a");
        app.wecom.add_key("key-b");
        // Someone else used up group A's robot budget at WeCom.
        let sender = WecomSender::new(reqwest::Client::new(), &app.state.settings.wecom.api_base);
        let msg = WecomMessage { markdown: true, text: "x".into(), mentioned: Vec::new() };
        for _ in 0..20 {
            sender.send("key-a", &msg).await.expect("within WeCom's budget");
        }
        run_job(&app, "plan_reminder", Some(json!({"group": a}))).await;
        run_job(&app, "plan_reminder", Some(json!({"group": b}))).await;
        let d = app.deliver().await;
        assert_eq!((d.sent, d.throttled), (1, 1), "B goes out while A is throttled");
        assert_eq!(app.wecom.rejected(), [("45009".to_owned(), "key-a".to_owned())]);
        app.advance(chrono::Duration::seconds(30));
        assert_eq!(app.deliver().await.total(), 0, "A stays paused");
        app.advance(chrono::Duration::seconds(31));
        assert_eq!(app.deliver().await.sent, 1, "A goes out after the pause");
        let got = app.wecom.received();
        let to = |k: &str| got.iter().filter(|r| r.key == k && r.content.contains("排清单")).count();
        assert_eq!((to("key-a"), to("key-b")), (1, 1));
        assert!(dead_letters(&app).await.is_empty());
    }
}

scenario! {
    async fn a_wecom_township_admin_has_no_one_to_one_route(app) {
        app.set_local(2026, 11, 30, 8, 0);
        app.in_group("wx-nanwu");
        let gid = wecom_team(&app, "南坞村").await;
        set_key(&app, gid, KEY).await;
        app.wecom.add_key(KEY);
        let (s, b) = app.admin("POST", "/api/v1/townships/1/admins",
            Some(json!({"platform": "wecom", "user_id": "zuzhiban"}))).await;
        assert_eq!(s, 200, "{b}");
        app.set_local(2026, 11, 30, 21, 31);
        app.tick().await;
        let d = app.deliver().await;
        assert_eq!((d.sent, d.dead), (1, 1), "the group hears it; the admin cannot");
        assert!(app.wecom.received()[0].content.contains("还没有发布"));
        let rows = dead_letters(&app).await;
        let err = rows[0]["last_error"].as_str().unwrap_or_default();
        assert!(err.starts_with("no_direct_route") && err.contains("DingTalk"), "{err}");
    }
}

scenario! {
    async fn the_push_robot_api_takes_a_key_for_wecom_and_a_token_for_dingtalk(app) {
        app.setup_team().await;
        let ding = app.group_id().await;
        app.in_group("wx-nanwu");
        let wx = wecom_team(&app, "南坞村").await;
        let put = |group: i64, body: Value| {
            let app = &app;
            async move { app.admin("PUT", &format!("/api/v1/groups/{group}/push-robot"), Some(body)).await }
        };
        for (body, field) in [
            (json!({"access_token": "tok"}), "access_token"),
            (json!({"key": KEY, "secret": "SEC123"}), "secret"),
            (json!({}), "key"),
            (json!({"key": "  "}), "key"),
            (json!({"key": format!("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}")}), "key"),
            (json!({"key": "a b"}), "key"),
            (json!({"key": "k".repeat(201)}), "key"),
            (json!({"keys": KEY}), "keys"),
        ] {
            let (s, b) = put(wx, body.clone()).await;
            assert_eq!(s, 422, "{body}: {b}");
            let err = b["error"].as_str().unwrap_or_default();
            assert!(err.contains(field), "{body}: names {field}: {err}");
        }
        let (s, b) = put(ding, json!({"key": KEY})).await;
        assert_eq!(s, 422, "{b}");
        assert!(b["error"].as_str().unwrap_or_default().starts_with("key:"), "{b}");
        let (s, b) = put(ding, json!({})).await;
        assert_eq!(s, 422, "{b}");
        assert!(b["error"].as_str().unwrap_or_default().starts_with("access_token:"), "{b}");
        assert_eq!(put(9_999, json!({"key": KEY})).await.0, 404);

        let (_, g) = app.admin("GET", &format!("/api/v1/groups/{wx}"), None).await;
        assert_eq!((g["platform"].as_str(), g["has_push_robot"].as_bool()), (Some("wecom"), Some(false)));
        let (s, b) = put(wx, json!({"key": format!(" {KEY} ")})).await;
        assert_eq!(s, 204, "{b}");
        let (_, g) = app.admin("GET", &format!("/api/v1/groups/{wx}"), None).await;
        assert_eq!(g["has_push_robot"], true);
        assert!(!g.to_string().contains(KEY), "write-only: {g}");
        let (s, _) = put(ding, json!({"access_token": "robot-token-1"})).await;
        assert_eq!(s, 204);

        // The stored key is the trimmed one: a push goes through.
        app.wecom.add_key(KEY);
        run_job(&app, "plan_reminder", Some(json!({"group": wx}))).await;
        assert_eq!(app.deliver().await.sent, 1);
        assert_eq!(app.wecom.received()[0].key, KEY);

        let (s, _) = app.admin("DELETE", &format!("/api/v1/groups/{wx}/push-robot"), None).await;
        assert_eq!(s, 204);
        let (_, g) = app.admin("GET", &format!("/api/v1/groups/{wx}"), None).await;
        assert_eq!(g["has_push_robot"], false);
    }
}
