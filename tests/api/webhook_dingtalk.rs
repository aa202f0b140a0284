//! The DingTalk callback's edges: signatures, sizes, bots, bodies, repeats.

use crate::scenario;
use crate::support::*;

scenario! {
    async fn bad_signatures_get_401_store_nothing_and_are_counted(app) {
        let before = app.counts().await;
        let counted = app.counter("liancun_callbacks_total", "outcome=\"bad_signature\"").await;
        let body = app.body("m-bad", &ZHANGSAN, "清单").to_string().into_bytes();
        let now = app.clock.now_ms();
        let good_sig = |ts: i64| liancun::platform::dingtalk::sign::sign(&ts.to_string(), SECRET);
        let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
            ("no headers", vec![]),
            ("no sign", vec![("timestamp", now.to_string())]),
            ("no timestamp", vec![("sign", good_sig(now))]),
            ("wrong secret", vec![("timestamp", now.to_string()),
                ("sign", liancun::platform::dingtalk::sign::sign(&now.to_string(), "other-secret"))]),
            ("stale by more than an hour", vec![("timestamp", (now - 3_600_001).to_string()), ("sign", good_sig(now - 3_600_001))]),
            ("from the future", vec![("timestamp", (now + 3_600_001).to_string()), ("sign", good_sig(now + 3_600_001))]),
            ("timestamp not a number", vec![("timestamp", "yesterday".into()), ("sign", good_sig(now))]),
            ("sign not base64", vec![("timestamp", now.to_string()), ("sign", "%%%".into())]),
        ];
        for (why, headers) in &cases {
            let (status, text) = app.post_raw(BOT, headers, body.clone()).await;
            assert_eq!(status, 401, "{why}: {text}");
            assert!(text.contains("signature"), "{why}: a reason is given: {text}");
        }
        assert_eq!(app.counts().await, before, "nothing stored");
        let after = app.counter("liancun_callbacks_total", "outcome=\"bad_signature\"").await;
        assert!(after >= counted + cases.len() as f64, "counter {counted} → {after}");
    }
}

scenario! {
    async fn exactly_one_hour_old_is_still_accepted(app) {
        let ts = app.clock.now_ms() - 3_600_000;
        let sig = liancun::platform::dingtalk::sign::sign(&ts.to_string(), SECRET);
        let body = app.body("m-hour", &ZHANGSAN, "帮助").to_string().into_bytes();
        let (status, _) = app.post_raw(BOT, &[("timestamp", ts.to_string()), ("sign", sig)], body).await;
        assert_eq!(status, 200);
    }
}

scenario! {
    async fn unknown_bots_oversize_and_malformed_bodies_are_4xx_with_reasons(app) {
        let before = app.counts().await;
        let body = app.body("m-x", &ZHANGSAN, "清单").to_string().into_bytes();
        let (status, text) = app.post_raw("nobody", &app.signed(), body).await;
        assert_eq!(status, 404, "{text}");
        assert!(text.contains("unknown bot"));

        let mut big = app.body("m-big", &ZHANGSAN, "清单");
        big["text"]["content"] = serde_json::Value::String("字".repeat(30_000));
        let (status, text) = app.post_raw(BOT, &app.signed(), big.to_string().into_bytes()).await;
        assert_eq!(status, 413, "{text}");
        assert!(text.contains("64 KiB"));

        for (why, raw) in [
            ("not JSON", b"{not json".to_vec()),
            ("empty", Vec::new()),
            ("array", b"[1,2]".to_vec()),
            ("no msgId", br#"{"msgtype":"text","conversationId":"c","senderId":"s"}"#.to_vec()),
            ("blank msgId", br#"{"msgId":" ","msgtype":"text","conversationId":"c","senderId":"s"}"#.to_vec()),
            ("invalid UTF-8", b"\xff\xfe\xfd".to_vec()),
        ] {
            let (status, text) = app.post_raw(BOT, &app.signed(), raw).await;
            assert_eq!(status, 400, "{why}: {text}");
            assert!(text.contains("error"), "{why}: {text}");
        }
        assert_eq!(app.counts().await, before, "nothing stored");
        assert!(app.counter("liancun_callbacks_total", "outcome=\"malformed\"").await >= 6.0);
        assert!(app.counter("liancun_callbacks_total", "outcome=\"too_large\"").await >= 1.0);
        assert!(app.counter("liancun_callbacks_total", "outcome=\"unknown_bot\"").await >= 1.0);
    }
}

scenario! {
    async fn a_repeated_delivery_is_stored_once_and_answered_the_same(app) {
        app.setup_team().await;
        let first = app.send_with_id("dup-1", &LISI, "服务 帮王大妈办理医保").await;
        let after_first = app.counts().await;
        let second = app.send_with_id("dup-1", &LISI, "服务 帮王大妈办理医保").await;
        assert_eq!(first, second, "same answer");
        assert_eq!(app.counts().await, after_first, "nothing new stored");
        assert_eq!(after_first["services"], 1);
        assert!(app.counter("liancun_callbacks_total", "outcome=\"duplicate\"").await >= 1.0);
    }
}

scenario! {
    async fn replies_mention_people_the_dingtalk_way(app) {
        app.setup_team().await;
        let v = app.send_with_id("m-at", &ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 周五 红").await;
        assert_eq!(v["msgtype"], "text");
        let content = v["text"]["content"].as_str().unwrap();
        assert!(content.contains("@lisi01"), "{content}");
        assert_eq!(v["at"]["atUserIds"], serde_json::json!(["lisi01"]));
        // What the group reads: the name, never the id.
        let shown = app.shown(&v);
        assert!(shown.contains("@李四") && !shown.contains("lisi01"), "{shown}");
    }
}

scenario! {
    async fn health_and_readiness(app) {
        let r = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let r = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        app.say(&ZHANGSAN, "帮助").await;
        let m = app.metrics().await;
        assert!(m.contains("liancun_callbacks_total{"), "callbacks are counted: {m}");
        assert!(m.contains("liancun_commands_total{kind=\"help\"}"), "commands by kind: {m}");
        assert!(m.contains("liancun_outbox_rows{state=\"pending\"}"), "outbox depth: {m}");
        let r = app.client.get(app.url("/nope")).send().await.unwrap();
        assert_eq!(r.status(), 404);
    }
}

scenario! {
    async fn data_survives_a_restart(app) {
        app.setup_team().await;
        assert!(app.say(&ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 周五 红\n2. 河道清理 @王五").await.contains("共 2 项"));
        let before = app.send_with_id("keep-1", &LISI, "清单").await;
        let counts = app.counts().await;
        let app = app.restart().await;
        let list = app.say(&LISI, "清单").await;
        assert!(list.contains("#1 【红】插花田政策处理"), "{list}");
        assert!(list.contains("#2 【绿】河道清理"), "{list}");
        // A message handled before the restart is still recognised as a repeat.
        let again = app.send_with_id("keep-1", &LISI, "清单").await;
        assert_eq!(before, again);
        assert_eq!(app.counts().await["inbound_messages"], counts["inbound_messages"] + 1);
    }
}

scenario! {
    async fn concurrent_repeats_of_one_message_store_it_once(app) {
        app.setup_team().await;
        let before = app.counts().await;
        let sends = (0..6).map(|_| app.send_with_id("race-1", &LISI, "服务 帮王大妈办理医保"));
        let replies = futures_util::future::join_all(sends).await;
        assert!(replies.windows(2).all(|w| w[0] == w[1]), "every delivery gets the same answer: {replies:?}");
        let after = app.counts().await;
        assert_eq!(after["services"], before["services"] + 1);
        assert_eq!(after["inbound_messages"], before["inbound_messages"] + 1);
    }
}

scenario! {
    async fn a_client_that_keeps_the_bots_name_is_understood_without_configuration(app) {
        app.setup_team().await;
        // The bot is called 小帮手 in this group, which no display_names lists;
        // the client left "@小帮手" in the text, DingTalk lists the bot in atUsers.
        let r = app.say(&ZHANGSAN, "@小帮手 加清单 河道清理 @李四 周五").await;
        assert!(r.contains("已加入本周清单") && r.contains("#1 【绿】河道清理 @李四"), "{r}");
        // A leading @name of a person @-ed is not the bot's: it stays, and the
        // message is no command.
        let r = app.say(&ZHANGSAN, "@李四 清单").await;
        assert!(r.starts_with("没看懂"), "{r}");
    }
}
