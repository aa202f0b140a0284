//! NUL and the other C0 control characters (PostgreSQL refuses U+0000 in
//! text) are dropped where input enters: platform callbacks, admin bodies,
//! household files. Both backends store the same and answer the same; the
//! sender is never asked to resend because of them.

use serde_json::{Value, json};

use crate::scenario;
use crate::support::wecom::{AIBOT, WECOM_ADMIN, open_passive_reply, readable};
use crate::support::*;

/// One column of one row, read back as stored.
async fn stored(app: &TestApp, sql: &'static str, key: &str) -> Option<String> {
    let key = key.to_string();
    app.db
        .read(move |tx| {
            Box::pin(async move {
                liancun::store::sql::query_as::<(String,)>(sql)
                    .bind(&key)
                    .fetch_optional(tx)
                    .await
            })
        })
        .await
        .expect("read")
        .map(|(v,)| v)
}

/// Posts a signed DingTalk callback; returns the reply text.
async fn post(app: &TestApp, body: &Value) -> String {
    let (status, text) = app
        .post_raw(BOT, &app.signed(), body.to_string().into_bytes())
        .await;
    assert_eq!(status, 200, "{body}: {text}");
    let v: Value = serde_json::from_str(&text).expect("reply JSON");
    v["text"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

scenario! {
    async fn nul_in_any_field_of_a_dingtalk_callback_is_dropped(app) {
        app.setup_team().await;
        let before = app.counts().await;

        // The text.
        let mut b = app.body("nul-text", &VILLAGERS[0], "诉求\u{0} 3组路灯\u{0}坏了\u{1}");
        let r = post(&app, &b).await;
        assert!(r.contains("收到你的诉求"), "{r}");
        assert_eq!(
            stored(&app, "SELECT text FROM requests WHERE text LIKE '%' || $1 || '%'", "路灯").await.as_deref(),
            Some("3组路灯坏了")
        );

        // The sender's nick, staff id and encrypted id: a new person.
        b = app.body("nul-sender", &VILLAGERS[1], "诉求 村口垃圾没人清");
        b["senderNick"] = json!("村民\u{0}乙");
        b["senderStaffId"] = json!("cunmin\u{0}02");
        b["senderId"] = json!("$:LWCP_v1:$cunmin\u{0}02");
        let r = post(&app, &b).await;
        assert!(r.contains("收到你的诉求"), "{r}");
        assert_eq!(
            stored(&app, "SELECT display_name FROM people WHERE platform_user_id = $1", "cunmin02").await.as_deref(),
            Some("村民乙")
        );

        // The group's title and id.
        b = app.body("nul-title", &VILLAGERS[2], "诉求 桥栏杆松了");
        b["conversationTitle"] = json!("南坞村\u{0}村务群");
        let conversation = b["conversationId"].as_str().unwrap().to_string();
        b["conversationId"] = json!(format!("{conversation}\u{0}"));
        let r = post(&app, &b).await;
        assert!(r.contains("收到你的诉求"), "the same group: {r}");
        assert_eq!(
            stored(&app, "SELECT title FROM chat_groups WHERE conversation_id = $1", &conversation).await.as_deref(),
            Some("南坞村村务群")
        );

        // The message id: a copy of the message with the same raw id is
        // recognised and answered with the saved reply.
        b = app.body("nul-\u{0}id", &VILLAGERS[3], "诉求 水管漏水");
        let first = post(&app, &b).await;
        assert!(first.contains("收到你的诉求"), "{first}");
        assert_eq!(post(&app, &b).await, first, "a repeat gets the saved reply");
        assert_eq!(
            stored(&app, "SELECT msg_id FROM inbound_messages WHERE msg_id = $1", "nul-id").await.as_deref(),
            Some("nul-id")
        );

        let after = app.counts().await;
        assert_eq!(after["requests"] - before["requests"], 4, "every message stored once");
        assert_eq!(after["inbound_messages"] - before["inbound_messages"], 4);

        // A message id of nothing but NUL is no message id: refused, not stored.
        b = app.body("\u{0}", &VILLAGERS[3], "诉求 水管漏水");
        let (status, _) = app.post_raw(BOT, &app.signed(), b.to_string().into_bytes()).await;
        assert_eq!(status, 400);
        assert_eq!(app.counts().await, after);
    }
}

scenario! {
    async fn nul_in_a_wecom_callback_is_dropped(app) {
        let mut m = app.wecom_message("wx-nul-\u{0}1", WECOM_ADMIN, "绑定 凤林镇 南坞村\u{0} 南坞服务团");
        let chat = m["chatid"].as_str().unwrap().to_string();
        m["chatid"] = json!(format!("{chat}\u{0}"));
        m["from"]["userid"] = json!(format!("\u{0}{WECOM_ADMIN}"));
        let (query, body) = app.wecom_envelope(&m.to_string());
        let (status, text) = app.wecom_post(AIBOT, &query, body).await;
        assert_eq!(status, 200, "{text}");
        let reply = readable(open_passive_reply(&query, &text)["stream"]["content"].as_str().unwrap_or_default());
        assert!(reply.contains("已绑定"), "{reply}");
        assert_eq!(
            stored(&app, "SELECT name FROM villages WHERE name = $1", "南坞村").await.as_deref(),
            Some("南坞村")
        );
        assert_eq!(
            stored(&app, "SELECT msg_id FROM inbound_messages WHERE msg_id = $1", "wx-nul-1").await.as_deref(),
            Some("wx-nul-1")
        );
        // The group bound is the one its clean id names.
        assert_eq!(
            stored(&app, "SELECT conversation_id FROM chat_groups WHERE conversation_id = $1", &chat).await.as_deref(),
            Some(chat.as_str())
        );
        app.wecom_say("zhangsan", "帮助").await;
        let r = app.wecom_say(WECOM_ADMIN, "设团长 @zhangsan").await;
        assert!(r.contains("已设团长"), "{r}");
    }
}

scenario! {
    async fn nul_in_admin_bodies_and_household_files_is_dropped(app) {
        let (s, t) = app.admin("POST", "/api/v1/townships", Some(json!({"name": "凤林\u{0}镇"}))).await;
        assert_eq!(s, 201, "{t}");
        assert_eq!(t["name"], "凤林镇");
        let (s, v) = app.admin("POST", "/api/v1/villages", Some(json!({"township_id": t["id"], "name": "南坞村"}))).await;
        assert_eq!(s, 201, "{v}");
        let village = v["id"].as_i64().unwrap();

        let (s, p) = app.admin("POST", "/api/v1/people", Some(json!({
            "platform": "dingtalk\u{0}",
            "platform_user_id": "zhang\u{0}san01",
            "display_name": "张\u{0}三\u{7}",
        }))).await;
        assert_eq!(s, 201, "{p}");
        assert_eq!((p["platform_user_id"].as_str(), p["display_name"].as_str()), (Some("zhangsan01"), Some("张三")));
        let (s, p) = app.admin("GET", &format!("/api/v1/people/{}", p["id"]), None).await;
        assert_eq!((s, p["display_name"].as_str()), (200, Some("张三")));

        let csv = "姓名,小组,电话\n张\u{0}大爷,3\u{0}组,138\u{0}00000001\n\u{0}王大妈,,\n";
        let resp = app
            .client
            .post(app.url(&format!("/api/v1/villages/{village}/households")))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "text/csv")
            .body(csv.as_bytes().to_vec())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let r: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["inserted"], 2, "{r}");
        let (s, h) = app.admin("GET", &format!("/api/v1/villages/{village}/households"), None).await;
        assert_eq!(s, 200);
        let items = h["items"].as_array().unwrap();
        assert!(
            items.iter().any(|x| x["name"] == "张大爷" && x["subgroup"] == "3" && x["phone"] == "13800000001"),
            "{h}"
        );
        assert!(items.iter().any(|x| x["name"] == "王大妈"), "{h}");
    }
}
