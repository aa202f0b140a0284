//! WeCom callbacks: URL verification, a village week in a WeCom group, and
//! the edges (signatures, crypto, sizes, bots, bodies, repeats).
//! The clock stands at Wednesday 2026-12-02 10:00 (Asia/Shanghai), week 2026-W49.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::scenario;
use crate::support::wecom::*;
use crate::support::*;

const VECTORS: &str = include_str!("../vectors/wecom.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("vectors")
}

fn s(v: &Value) -> String {
    v.as_str().expect("string").to_string()
}

scenario! {
    async fn url_verification_answers_the_bare_echo(app) {
        // The §5.4 b vector is an app URL check: same token and key, corp id.
        let v = &vectors()["wecom_app_verify_url"];
        let base = format!("msg_signature={}&timestamp={}&nonce={}",
            s(&v["msg_signature"]), s(&v["timestamp"]), s(&v["nonce"]));
        let expected = s(&v["expected_response_body"]);
        for (why, echostr) in [("percent-encoded", s(&v["echostr_urlencoded"])),
                               ("bare + and /", s(&v["echostr"]))] {
            let (status, ctype, body) = app.wecom_get(APP_BOT, &format!("{base}&echostr={echostr}")).await;
            assert_eq!(status, 200, "{why}: {body}");
            assert_eq!(body, expected, "{why}: the plaintext, no quotes, no newline");
            assert!(ctype.starts_with("text/plain"), "{why}: {ctype}");
        }

        // The 智能机器人 checks with receive id "": our own echo.
        let c = crypt("");
        let echo = "8823017264551812630";
        let echostr = c.encrypt(echo, &random16());
        let q = signed_query(&c, "1700000000", "42", &echostr);
        let (status, _, body) = app
            .wecom_get(AIBOT, &format!("{q}&echostr={}", urlencoding::encode(&echostr)))
            .await;
        assert_eq!((status, body.as_str()), (200, echo));

        // Wrong signature, missing echostr, wrong receive id, unknown bot.
        let bad = q.replace("nonce=42", "nonce=43");
        let (status, _, _) = app
            .wecom_get(AIBOT, &format!("{bad}&echostr={}", urlencoding::encode(&echostr)))
            .await;
        assert_eq!(status, 401);
        let (status, _, _) = app.wecom_get(AIBOT, &q).await;
        assert_eq!(status, 400);
        let (status, _, body) = app
            .wecom_get(APP_BOT, &format!("{q}&echostr={}", urlencoding::encode(&echostr)))
            .await;
        assert_eq!(status, 400, "an echo for receive id \"\" is refused by the app: {body}");
        let (status, _, _) = app.wecom_get("nobody", &q).await;
        assert_eq!(status, 404);
        let (status, _, _) = app.wecom_get(BOT, &q).await;
        assert_eq!(status, 404, "a DingTalk bot is no WeCom bot");
        assert_eq!(app.counts().await["inbound_messages"], 0);
    }
}

scenario! {
    async fn the_documented_aibot_callback_gets_an_encrypted_stream_reply(app) {
        // §5.4 d, byte for byte as WeCom would post it.
        let v = &vectors()["wecom_aibot_json_callback"];
        let query = format!("msg_signature={}&timestamp={}&nonce={}",
            s(&v["msg_signature"]), s(&v["timestamp"]), s(&v["nonce"]));
        let (status, body) = app.wecom_post(AIBOT, &query, s(&v["post_body"]).into_bytes()).await;
        assert_eq!(status, 200, "{body}");
        let reply: Value = serde_json::from_str(&body).expect("JSON");
        assert!(reply["timestamp"].is_i64(), "timestamp is an integer: {reply}");
        let plain = crate::support::wecom::open_passive_reply(&query, &body);
        assert_eq!(plain["msgtype"], "stream");
        assert_eq!(plain["stream"]["finish"], true);
        let content = s(&plain["stream"]["content"]);
        // "@村务助手 排清单 明天": the bot's name is stripped and 排清单 is
        // recognised; "明天" alone is no task, so the reply says what is wrong.
        assert!(content.starts_with("第1行「明天」") && content.contains("例："), "{content}");
        assert_eq!(app.counts().await["inbound_messages"], 1);
    }
}

scenario! {
    async fn a_wecom_group_runs_the_week(app) {
        // Before anything: an unbound group is told how to bind.
        let r = app.wecom_say("zhangsan", "清单").await;
        assert!(r.contains("还没有绑定服务团"), "{r}");
        let r = app.wecom_say("zhangsan", "绑定 凤林镇 南坞村").await;
        assert!(r.contains("只有群管理员可以使用"), "WeCom has no group admin flag: {r}");
        let r = app.wecom_say(WECOM_ADMIN, "绑定 凤林镇 南坞村 南坞服务团").await;
        assert!(r.contains("已绑定：凤林镇 南坞村 南坞服务团"), "the bot's admins bind: {r}");

        // WeCom sends no names: people are addressed by user id once seen.
        let r = app.wecom_say(WECOM_ADMIN, "设团员 @zhaoliu").await;
        assert!(r.contains("找不到「@zhaoliu」"), "never seen in the group: {r}");
        for who in ["lisi", "wangwu"] {
            assert!(app.wecom_say(who, "帮助").await.contains("排清单"));
        }
        // A 智能机器人 answer is markdown_v2, which has no <@userid>: people
        // are written by name (a user id while nobody has named them).
        let r = app.wecom_say(WECOM_ADMIN, "设团长 @zhangsan").await;
        assert!(r.contains("已设团长：@zhangsan") && !r.contains("<@"), "zhangsan spoke earlier: {r}");
        let r = app.wecom_say("zhangsan", "设团员 @lisi @wangwu").await;
        assert_eq!(r, "已设团员：@lisi @wangwu");

        // 排清单, with owners by user id and the bot addressed in the text.
        let r = app.wecom_say("zhangsan", "排清单\n1. 苗青头村插花田政策处理 @lisi 周四前 红\n2、走访3组10户农户 @lisi @wangwu 周日\n3) 南坞古村落保护项目方案对接 截止12月5日 橙").await;
        assert!(r.starts_with("✅ 已发布本周清单（11月30日—12月6日），共 3 项"), "{r}");
        assert!(r.contains("#1 【红】苗青头村插花田政策处理 @lisi · 12月3日(周四)截止"), "{r}");
        assert!(r.contains("#2 【绿】走访3组10户农户 @lisi @wangwu · 12月6日(周日)截止"), "{r}");
        assert!(r.contains("#3 【橙】南坞古村落保护项目方案对接 @zhangsan · 12月5日(周六)截止"), "{r}");
        let r = app.wecom_say("lisi", "加清单 河道清理 @wangwu 周五 黄").await;
        assert!(r.contains("#4 【黄】河道清理 @wangwu"), "{r}");

        // 聚服务, 走访.
        let r = app.wecom_say("lisi", "服务 #1 帮3组王大妈办理医保").await;
        assert_eq!(r, "📝 已记录服务（关联 #1）。本周你已服务 1 次，全团 1 次。");
        let r = app.wecom_say("wangwu", "走访 张大爷家 反映3组路灯坏了").await;
        assert_eq!(r, "🏠 已记录走访：张大爷家（未登记农户）。本周你已走访 1 户次，全团 1 户次。");

        // 完成 by the owner; others are refused naming the owner.
        let r = app.wecom_say("wangwu", "完成 #1 已处理").await;
        assert!(r.contains("#1 只能由 @lisi 或团长 处理"), "names the owner without pinging: {r}");
        let r = app.wecom_say("lisi", "完成＃１：已协调到位，农户签字同意").await;
        assert_eq!(r, "✅ 已销号 #1 苗青头村插花田政策处理：已协调到位，农户签字同意");
        let r = app.wecom_say("zhangsan", "延期 #4 下周三 等待镇里批复").await;
        assert!(r.starts_with("⏳ #4 已延期"), "{r}");
        let r = app.wecom_say("zhangsan", "取消 #3 与镇里任务重复").await;
        assert_eq!(r, "❌ #3 已取消：南坞古村落保护项目方案对接\n原因：与镇里任务重复");

        // Villagers rate and raise a request.
        let r = app.wecom_say("lisi", "评价 5").await;
        assert_eq!(r, "服务团成员不能给本团评价，评价留给村民。");
        app.wecom_say("cunmin01", "满意").await;
        app.wecom_say("cunmin02", "基本满意").await;
        let r = app.wecom_say("cunmin03", "评价 4 路灯修得快").await;
        assert!(r.contains("本周 3 位村民评价，平均 4.0 分"), "(5+3+4)/3: {r}");
        let r = app.wecom_say("cunmin01", "诉求 村口垃圾没人清").await;
        assert!(r.starts_with("📮 收到你的诉求，编号 #5。") && !r.contains("指派"), "{r}");

        // 清单: people are named without being pinged.
        let list = app.wecom_say("cunmin02", "清单").await;
        // #4 was postponed to next week, so it is in next week's list now.
        assert!(list.starts_with("📋 本周清单（11月30日—12月6日）已完成 1/3"), "{list}");
        assert!(list.contains("#1 【红】苗青头村插花田政策处理 @lisi · 12月3日(周四)截止 ✅已完成"), "{list}");
        assert!(!list.contains("<@"), "a list pings nobody: {list}");

        let c = app.counts().await;
        assert_eq!(
            (c["plans"], c["tasks"], c["services"], c["visits"], c["ratings"], c["requests"]),
            (1, 5, 1, 1, 3, 1)
        );
    }
}

scenario! {
    async fn hard_breaks_keep_a_plan_readable_in_markdown(app) {
        app.wecom_say(WECOM_ADMIN, "绑定 凤林镇 南坞村 南坞服务团").await;
        let raw = app.wecom_send_with_id("wx-md", WECOM_ADMIN, "帮助").await;
        assert!(raw.contains("  \n"), "line breaks are markdown hard breaks: {raw:?}");
        assert!(!raw.contains("\n\n\n"));
    }
}

/// Raw AES-256-CBC with the test key (IV = key[0..16]), no padding added:
/// lets a test build ciphertexts the sender would never produce.
fn raw_encrypt(plain: &[u8]) -> String {
    use aes::cipher::{BlockModeEncrypt, KeyIvInit};
    let key: [u8; 32] = std::array::from_fn(|i| i as u8);
    let iv: [u8; 16] = std::array::from_fn(|i| i as u8);
    assert_eq!(plain.len() % 16, 0);
    let mut buf = plain.to_vec();
    let mut enc = cbc::Encryptor::<aes::Aes256>::new(&key.into(), &iv.into());
    let (blocks, _) = aes::Block::slice_as_chunks_mut(&mut buf);
    enc.encrypt_blocks(blocks);
    base64::engine::general_purpose::STANDARD.encode(&buf)
}

scenario! {
    async fn bad_callbacks_are_refused_with_reasons_and_store_nothing(app) {
        let before = app.counts().await;
        let bad_sig_before = app.callbacks("wecom", "bad_signature").await;
        let msg = app.wecom_message("wx-bad", "zhangsan", "清单").to_string();
        let c = crypt("");
        let ts = "1700000000";
        let post_encrypt = |encrypt: String| {
            let q = signed_query(&c, ts, "77", &encrypt);
            (q, json!({"encrypt": encrypt}).to_string().into_bytes())
        };

        // Wrong signature (another token), missing parameters: 401.
        let (good_q, good_body) = app.wecom_envelope(&msg);
        let other = liancun::platform::wecom::crypto::MsgCrypt::new("othertoken", AES_KEY, "").unwrap();
        let encrypt = c.encrypt(&msg, &random16());
        let forged = signed_query(&other, ts, "77", &encrypt);
        let body = json!({"encrypt": encrypt}).to_string().into_bytes();
        let (status, text) = app.wecom_post(AIBOT, &forged, body.clone()).await;
        assert_eq!(status, 401, "{text}");
        assert!(text.contains("signature"), "{text}");
        let tampered = good_q.replace("nonce=", "nonce=1");
        assert_eq!(app.wecom_post(AIBOT, &tampered, good_body.clone()).await.0, 401);
        assert_eq!(app.wecom_post(AIBOT, "timestamp=1&nonce=2", body.clone()).await.0, 401);
        assert_eq!(app.wecom_post(AIBOT, "", body.clone()).await.0, 401);

        // Decryption failures: 400 with a reason.
        let wrong_id = crypt("ww-someone-else").encrypt(&msg, &random16());
        let mut bad_pad = b"0123456789abcdef\x00\x00\x00\x02hi".to_vec();
        bad_pad.resize(32, 0); // pad byte 0
        let mut short_len = b"0123456789abcdef\x00\x00\x10\x00hi".to_vec();
        short_len.resize(32, 10); // declares 4096 bytes, has 2
        let whole = base64::engine::general_purpose::STANDARD.decode(&encrypt).unwrap();
        let cut = base64::engine::general_purpose::STANDARD.encode(&whole[..whole.len() - 3]);
        let not_json = c.encrypt("{not json", &random16());
        let no_sender = c.encrypt(r#"{"msgid":"m","chatid":"g","chattype":"group","msgtype":"text","text":{"content":"清单"}}"#, &random16());
        for (why, encrypt, needle) in [
            ("wrong receive id", wrong_id, "receive id"),
            ("bad padding", raw_encrypt(&bad_pad), "padding"),
            ("length header past the end", raw_encrypt(&short_len), "truncated"),
            ("truncated ciphertext", cut, "16 bytes"),
            ("not base64", "%%%".to_string(), "base64"),
            ("plaintext not JSON", not_json, "not a WeCom message"),
            ("no sender", no_sender, "from.userid"),
        ] {
            let (q, b) = post_encrypt(encrypt);
            let (status, text) = app.wecom_post(AIBOT, &q, b).await;
            assert_eq!(status, 400, "{why}: {text}");
            assert!(text.contains(needle), "{why}: {text}");
        }

        // Envelopes that are no WeCom callback.
        for (why, raw) in [
            ("not JSON", b"{not json".to_vec()),
            ("empty", Vec::new()),
            ("no encrypt", br#"{"Encrypt":"x"}"#.to_vec()),
            ("encrypt not a string", br#"{"encrypt":1}"#.to_vec()),
            ("invalid UTF-8", b"\xff\xfe".to_vec()),
        ] {
            let (status, text) = app.wecom_post(AIBOT, &good_q, raw).await;
            assert_eq!(status, 400, "{why}: {text}");
            assert!(text.contains("error"), "{why}: {text}");
        }
        let (status, text) = app.wecom_post(APP_BOT, &good_q, b"<xml><ToUserName>x</ToUserName></xml>".to_vec()).await;
        assert_eq!(status, 400, "app without <Encrypt>: {text}");

        // Oversize and unknown bots.
        let big = json!({"encrypt": "A".repeat(70_000)}).to_string().into_bytes();
        let (status, text) = app.wecom_post(AIBOT, &good_q, big).await;
        assert_eq!(status, 413, "{text}");
        assert!(text.contains("64 KiB"));
        let (status, text) = app.wecom_post("nobody", &good_q, good_body.clone()).await;
        assert_eq!(status, 404, "{text}");
        assert!(text.contains("unknown bot"));
        assert_eq!(app.wecom_post(BOT, &good_q, good_body.clone()).await.0, 404);

        assert_eq!(app.counts().await, before, "nothing stored");
        let after = app.callbacks("wecom", "bad_signature").await;
        assert!(after >= bad_sig_before + 4.0, "bad signatures counted: {bad_sig_before} → {after}");
        assert!(app.callbacks("wecom", "malformed").await >= 13.0);
        assert!(app.callbacks("wecom", "too_large").await >= 1.0);
        assert!(app.callbacks("wecom", "unknown_bot").await >= 2.0);

        // The genuine message still works afterwards.
        let (status, _) = app.wecom_post(AIBOT, &good_q, good_body).await;
        assert_eq!(status, 200);
    }
}

scenario! {
    async fn a_repeated_msgid_is_stored_once_and_answered_the_same(app) {
        app.wecom_say(WECOM_ADMIN, "绑定 凤林镇 南坞村 南坞服务团").await;
        app.wecom_say("zhangsan", "帮助").await;
        app.wecom_say(WECOM_ADMIN, "设团长 @zhangsan").await;
        let first = app.wecom_send_with_id("wx-dup", "zhangsan", "服务 帮王大妈办理医保").await;
        let after_first = app.counts().await;
        let second = app.wecom_send_with_id("wx-dup", "zhangsan", "服务 帮王大妈办理医保").await;
        assert_eq!(first, second, "same answer (in a new stream)");
        assert_eq!(app.counts().await, after_first, "nothing new stored");
        assert_eq!(after_first["services"], 1);
        // The same msgid on DingTalk is another message.
        let r = app.send_with_id("wx-dup", &ZHANGSAN, "帮助").await;
        assert!(r["text"]["content"].as_str().unwrap().contains("排清单"));
        assert_eq!(app.counts().await["inbound_messages"], after_first["inbound_messages"] + 1);
    }
}

scenario! {
    async fn events_and_stream_refreshes_get_an_empty_200(app) {
        let before = app.counts().await;
        for plain in [
            json!({"msgid": "e1", "create_time": 1700000000, "aibotid": "A", "chatid": "g", "chattype": "group",
                   "from": {"userid": "zhangsan"}, "msgtype": "event", "event": {"eventtype": "enter_chat"}}),
            json!({"msgid": "s1", "aibotid": "A", "chatid": "g", "chattype": "group", "from": {"userid": "zhangsan"},
                   "msgtype": "stream", "stream": {"id": "STREAMID"}}),
        ] {
            let (q, b) = app.wecom_envelope(&plain.to_string());
            let (status, body) = app.wecom_post(AIBOT, &q, b).await;
            assert_eq!((status, body.as_str()), (200, ""), "{plain}");
        }
        assert_eq!(app.counts().await, before, "nothing stored");
    }
}

scenario! {
    async fn single_chats_and_pictures_get_hints(app) {
        let single = json!({"msgid": "p1", "chattype": "single", "from": {"userid": "zhangsan"},
            "msgtype": "text", "text": {"content": "清单"}});
        let r = app.wecom_callback(&single).await;
        assert!(s(&r["stream"]["content"]).contains("群里"), "{r}");
        app.wecom_say(WECOM_ADMIN, "绑定 凤林镇 南坞村 南坞服务团").await;
        let mut image = app.wecom_message("p2", "zhangsan", "");
        image["msgtype"] = json!("image");
        image["image"] = json!({"url": "https://example.invalid/x"});
        let r = app.wecom_callback(&image).await;
        assert!(s(&r["stream"]["content"]).contains("文字"), "{r}");
    }
}

scenario! {
    async fn the_app_callback_decrypts_and_answers_in_xml(app) {
        // §5.4 a, as WeCom posts it.
        let v = &vectors()["wecom_app_callback_xml"];
        let query = s(&v["post_url_query"]);
        let (status, body) = app.wecom_post(APP_BOT, &query, s(&v["post_body"]).into_bytes()).await;
        assert_eq!(status, 200, "{body}");
        let c = crypt(CORP_ID);
        let enc = liancun::platform::wecom::xml::xml_field(&body, "Encrypt").expect("Encrypt");
        let sig = liancun::platform::wecom::xml::xml_field(&body, "MsgSignature").expect("sig");
        let ts = liancun::platform::wecom::xml::xml_field(&body, "TimeStamp").expect("ts");
        let plain = c.verify_and_decrypt(&sig, &ts, &s(&v["nonce"]), &enc).expect("decrypts");
        let field = |n: &str| liancun::platform::wecom::xml::xml_field(&plain, n).unwrap_or_default();
        assert_eq!(field("ToUserName"), "zhangsan");
        assert_eq!(field("FromUserName"), CORP_ID);
        assert_eq!(field("MsgType"), "text");
        assert!(field("Content").contains("群里"), "the app is 1:1 only: {plain}");

        // The same message again: stored once.
        let n = app.counts().await["inbound_messages"];
        let (status, _) = app.wecom_post(APP_BOT, &query, s(&v["post_body"]).into_bytes()).await;
        assert_eq!(status, 200);
        assert_eq!(app.counts().await["inbound_messages"], n);

        // Events get an empty 200; a bad signature 401; the AI bot's JSON 400.
        let (status, body) = app.wecom_app_post("<xml><ToUserName><![CDATA[ww0123456789abcdef]]></ToUserName><FromUserName><![CDATA[lisi]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[enter_agent]]></Event></xml>").await;
        assert_eq!((status, body.as_str()), (200, ""));
        let (status, plain) = app.wecom_app_post("<xml><FromUserName>lisi</FromUserName><MsgType>text</MsgType><Content>帮助</Content><MsgId>42</MsgId><CreateTime>1700000000</CreateTime></xml>").await;
        assert_eq!(status, 200);
        assert!(plain.contains("<ToUserName><![CDATA[lisi]]></ToUserName>"), "{plain}");
        let bad = query.replace("msg_signature=b", "msg_signature=c");
        assert_eq!(app.wecom_post(APP_BOT, &bad, s(&v["post_body"]).into_bytes()).await.0, 401);
        let (q, b) = app.wecom_envelope("{}");
        assert_eq!(app.wecom_post(APP_BOT, &q, b).await.0, 400);
    }
}

/// A turn slower than WeCom's window is answered empty at once and its answer
/// goes to the message's one-shot response_url.
async fn slow_turn_answers_through_response_url(backend: Backend) {
    use std::sync::{Arc, Mutex};
    let app = TestApp::spawn_with(
        backend,
        "[wecom]\napi_base = \"http://127.0.0.1:9\"\nreply_within_ms = 0",
    )
    .await
    .expect(PG_UNSET);
    // The response_url endpoint, recording what it is sent.
    let got: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let sink = Arc::clone(&got);
    let router = axum::Router::new().route(
        "/cgi-bin/aibot/response",
        axum::routing::post(move |axum::Json(v): axum::Json<serde_json::Value>| {
            let sink = Arc::clone(&sink);
            async move {
                sink.lock().unwrap().push(v);
                axum::Json(serde_json::json!({"errcode": 0, "errmsg": "ok"}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let mut msg = app.wecom_message("slow-1", "wecom-admin", "帮助");
    msg["response_url"] = serde_json::json!(format!(
        "http://{addr}/cgi-bin/aibot/response?response_code=abc"
    ));
    let (query, body) = app.wecom_envelope(&msg.to_string());
    let (status, text) = app.wecom_post("qinghu", &query, body).await;
    assert_eq!((status, text.as_str()), (200, ""), "answered empty at once");
    for _ in 0..100 {
        if !got.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let posts = got.lock().unwrap().clone();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0]["msgtype"], "markdown");
    assert!(
        posts[0]["markdown"]["content"]
            .as_str()
            .unwrap()
            .contains("排清单"),
        "{posts:?}"
    );
    assert_eq!(
        app.counts().await["inbound_messages"],
        1,
        "the turn itself was stored once"
    );
}

#[tokio::test]
async fn slow_turn_answers_through_response_url_sqlite() {
    slow_turn_answers_through_response_url(Backend::Sqlite).await;
}

#[tokio::test]
#[cfg_attr(not(liancun_pg), ignore = "PostgreSQL: set LIANCUN_TEST_PG to run")]
async fn slow_turn_answers_through_response_url_postgres() {
    slow_turn_answers_through_response_url(Backend::Postgres).await;
}

scenario! {
    async fn a_wecom_bot_is_addressed_by_any_name_without_configuration(app) {
        // WeCom keeps "@机器人名" in front of every group callback; the bot's
        // name in this group is not among the configured display_names.
        let say = |id: &str, who: &str, text: &str| {
            let mut m = app.wecom_message(id, who, "");
            m["text"]["content"] = json!(text);
            m
        };
        let plain = app.wecom_callback(&say("wx-any-1", WECOM_ADMIN, "@村委小帮手 绑定 凤林镇 南坞村 南坞服务团")).await;
        let r = readable(plain["stream"]["content"].as_str().unwrap());
        assert!(r.contains("已绑定：凤林镇 南坞村 南坞服务团"), "{r}");
        let plain = app.wecom_callback(&say("wx-any-2", "zhangsan", "@村委小帮手\u{2005}清单")).await;
        let r = readable(plain["stream"]["content"].as_str().unwrap());
        assert!(r.contains("还没有清单事项"), "清单 understood, not 没看懂: {r}");
    }
}
