//! DingTalk Stream mode against a fake gateway on loopback: register, ack,
//! reply through the session webhook, ping, disconnect and reconnect,
//! redelivery.

use std::time::Duration;

use liancun::dev::fake::dingtalk::FakeDingtalk;
use serde_json::{Value, json};

use crate::support::stream::*;
use crate::support::*;

fn stream_vectors() -> Value {
    let v: Value = serde_json::from_str(include_str!("../vectors/dingtalk.json")).expect("vectors");
    v["dingtalk_stream"].clone()
}

/// The vector's bot frame, with its message, text and session webhook set.
fn bot_frame(
    frame_id: &str,
    msg_id: &str,
    text: &str,
    session_url: &str,
    expires_ms: i64,
) -> Value {
    let mut frame = stream_vectors()["bot_message_frame"].clone();
    let mut data: Value =
        serde_json::from_str(frame["data"].as_str().expect("data string")).expect("data JSON");
    data["msgId"] = json!(msg_id);
    data["text"]["content"] = json!(format!(" {text}"));
    data["sessionWebhook"] = json!(session_url);
    data["sessionWebhookExpiredTime"] = json!(expires_ms);
    data["isAdmin"] = json!(true);
    frame["headers"]["messageId"] = json!(frame_id);
    frame["data"] = json!(data.to_string());
    frame
}

fn assert_ack(ack: &Value, frame_id: &str) {
    assert_eq!(ack["code"], 200, "{ack}");
    assert_eq!(ack["message"], "OK", "{ack}");
    assert_eq!(ack["headers"]["messageId"], frame_id, "{ack}");
    assert_eq!(ack["headers"]["contentType"], "application/json", "{ack}");
    assert_eq!(ack["data"], "{\"response\": null}", "{ack}");
}

/// A bot frame from `who`, @-ing `at` (staff ids), as DingTalk sends it.
fn frame_from(
    frame_id: &str,
    msg_id: &str,
    who: &Person,
    text: &str,
    at: &[&str],
    session: &str,
    expires_ms: i64,
) -> Value {
    let mut frame = bot_frame(frame_id, msg_id, text, session, expires_ms);
    let mut data: Value =
        serde_json::from_str(frame["data"].as_str().expect("data string")).expect("data JSON");
    data["senderStaffId"] = json!(who.id);
    data["senderId"] = json!(format!("$:LWCP_v1:${}", who.id));
    data["senderNick"] = json!(who.nick);
    data["isAdmin"] = json!(who.group_admin);
    let mut users = vec![json!({"dingtalkId": "$:LWCP_v1:$bot"})];
    users.extend(
        at.iter()
            .map(|id| json!({"dingtalkId": format!("$:LWCP_v1:${id}"), "staffId": id})),
    );
    data["atUsers"] = json!(users);
    data["chatbotUserId"] = json!("$:LWCP_v1:$bot");
    frame["data"] = json!(data.to_string());
    frame
}

async fn stream_week(backend: Backend) {
    let mut gateway = FakeGateway::spawn().await;
    let ding = FakeDingtalk::new("unused", "unused");
    let ding_addr = ding.spawn().await.expect("fake dingtalk");
    let mut app = TestApp::spawn_with(backend, &stream_bot_toml(&gateway.api_base()))
        .await
        .expect(PG_UNSET);
    let session = format!("http://{ding_addr}/robot/sendBySession?session=s1");
    let expires = app.clock.now_ms() + 90 * 60_000;

    // Registration: a fresh ticket, the bot topic, our user agent.
    let mut ws = gateway.next_connection().await;
    let opens = gateway.opens();
    assert_eq!(opens.len(), 1);
    assert_eq!(opens[0]["clientId"], CLIENT_ID);
    assert_eq!(opens[0]["clientSecret"], CLIENT_SECRET);
    assert_eq!(
        opens[0]["subscriptions"],
        json!([{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}])
    );
    assert!(
        opens[0]["ua"]
            .as_str()
            .unwrap_or_default()
            .starts_with("liancun/")
    );

    // A bot message is acked, handled and answered through sessionWebhook
    // (the sender is a group admin: the township is set up beforehand).
    app.ensure_village("凤林镇", "南坞村").await;
    send(
        &mut ws,
        &bot_frame(
            "f1",
            "sm-1",
            "绑定 凤林镇 南坞村 南坞服务团",
            &session,
            expires,
        ),
    )
    .await;
    assert_ack(&recv(&mut ws).await, "f1");
    eventually("the reply reaches the session webhook", || {
        ding.received().len() == 1
    })
    .await;
    let got = ding.received();
    assert_eq!(got[0].route, "session");
    assert_eq!(got[0].target, "s1");
    assert!(
        got[0].text.contains("已绑定：凤林镇 南坞村 南坞服务团"),
        "{:?}",
        got[0]
    );

    // ping → the same data and messageId back.
    let ping = stream_vectors()["ping_frame"].clone();
    send(&mut ws, &ping).await;
    assert_eq!(recv(&mut ws).await, stream_vectors()["ping_ack"]);

    // A redelivered frame (same msgId, new frame id) is acked, stored once
    // and not answered a second time; the next message is.
    send(
        &mut ws,
        &bot_frame(
            "f2",
            "sm-1",
            "绑定 凤林镇 南坞村 南坞服务团",
            &session,
            expires,
        ),
    )
    .await;
    assert_ack(&recv(&mut ws).await, "f2");
    send(&mut ws, &bot_frame("f3", "sm-2", "帮助", &session, expires)).await;
    assert_ack(&recv(&mut ws).await, "f3");
    eventually("the second reply", || ding.received().len() >= 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ding.received().len(), 2, "{:?}", ding.received());
    assert!(ding.received()[1].text.contains("排清单"));
    let counts = app.counts().await;
    assert_eq!((counts["inbound_messages"], counts["townships"]), (2, 1));

    // disconnect → the client registers again and keeps working.
    send(&mut ws, &stream_vectors()["disconnect_frame"]).await;
    let mut ws2 = gateway.next_connection().await;
    assert_eq!(
        gateway.opens().len(),
        2,
        "a new ticket for the new connection"
    );
    send(
        &mut ws2,
        &bot_frame("f4", "sm-3", "清单", &session, expires),
    )
    .await;
    assert_ack(&recv(&mut ws2).await, "f4");
    eventually("the reply after reconnecting", || {
        ding.received().len() == 3
    })
    .await;
    assert!(
        ding.received()[2].text.contains("还没有清单事项"),
        "{:?}",
        ding.received()[2]
    );

    // The server going away without a word: reconnect after the backoff.
    ws2.close(None).await.expect("close");
    drop(ws2);
    let mut ws3 = gateway.next_connection().await;
    assert_eq!(gateway.opens().len(), 3);
    send(&mut ws3, &stream_vectors()["ping_frame"]).await;
    assert_eq!(recv(&mut ws3).await["headers"]["messageId"], "ping_1");

    // The same week as over HTTP, over the websocket: roles by @-mention, the
    // plan, a service, closing, a villager's rating and request.
    let week: [(&Person, &str, &[&str], &str); 7] = [
        (&ADMIN, "设团长 @张三", &["zhangsan01"], "已设团长"),
        (&ZHANGSAN, "设团员 @李四", &["lisi01"], "已设团员"),
        (
            &ZHANGSAN,
            "排清单\n1. 河道清理 @李四 周五 红",
            &["lisi01"],
            "已发布本周清单",
        ),
        (&LISI, "服务 #1 联系了施工队", &[], "已记录服务（关联 #1）"),
        (&LISI, "完成 #1 河道已清理干净", &[], "已销号 #1"),
        (&VILLAGERS[0], "评价 5 很及时", &[], "感谢评价：5 分"),
        (
            &VILLAGERS[1],
            "诉求 3组路灯坏了",
            &[],
            "收到你的诉求，编号 #2",
        ),
    ];
    for (i, (who, text, at, want)) in week.iter().enumerate() {
        let before = ding.received().len();
        let id = format!("w{i}");
        send(
            &mut ws3,
            &frame_from(&id, &format!("week-{i}"), who, text, at, &session, expires),
        )
        .await;
        assert_ack(&recv(&mut ws3).await, &id);
        eventually("the week's reply", || ding.received().len() > before).await;
        let got = ding.received()[before].text.clone();
        assert!(got.contains(want), "{text}: {got}");
    }
    let c = app.counts().await;
    assert_eq!(
        (c["tasks"], c["services"], c["ratings"], c["requests"]),
        (2, 1, 1, 1)
    );

    // Shutdown stops the client promptly.
    tokio::time::timeout(Duration::from_secs(15), app.stop())
        .await
        .expect("the app and its stream client stop");
}

#[tokio::test]
async fn stream_mode_sqlite() {
    stream_week(Backend::Sqlite).await;
}

#[tokio::test]
#[cfg_attr(not(liancun_pg), ignore = "PostgreSQL: set LIANCUN_TEST_PG to run")]
async fn stream_mode_postgres() {
    stream_week(Backend::Postgres).await;
}
