//! A WeCom chat driver: encrypts and signs callbacks the way WeCom does
//! (WXBizMsgCrypt: AES-CBC and a SHA-1 msg_signature), and opens the encrypted passive replies.

use std::sync::atomic::Ordering;

use liancun::platform::wecom::PassiveReply;
use liancun::platform::wecom::crypto::MsgCrypt;
use liancun::platform::wecom::xml::xml_field;
use serde_json::{Value, json};

use super::{Clock, SEQ, TestApp};

/// The 智能机器人 (JSON callbacks, receive id "").
pub const AIBOT: &str = "qinghu";
/// The classic application (XML callbacks, receive id = the corp id).
pub const APP_BOT: &str = "qinghu-app";
pub const TOKEN: &str = "villagebot";
/// Key bytes 0x00..0x1f, as in the known-answer vectors (§5.4).
pub const AES_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
pub const CORP_ID: &str = "ww0123456789abcdef";
/// The bot admin of the WeCom bots (WeCom groups have no admin flag).
pub const WECOM_ADMIN: &str = "wecom-admin";

pub const BOTS_TOML: &str = r#"
[[bots]]
name = "qinghu"
platform = "wecom"
token = "villagebot"
encoding_aes_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
receive_id = ""
display_names = ["联村助手", "村务助手"]
admins = ["wecom-admin"]

[[bots]]
name = "qinghu-app"
platform = "wecom"
token = "villagebot"
encoding_aes_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
receive_id = "ww0123456789abcdef"
"#;

/// The crypto context WeCom shares with a bot of receive id `receive_id`.
pub fn crypt(receive_id: &str) -> MsgCrypt {
    MsgCrypt::new(TOKEN, AES_KEY, receive_id).expect("test key")
}

/// `msg_signature=…&timestamp=…&nonce=…` for `encrypt`, plus `extra` pairs;
/// every value percent-encoded as WeCom does.
pub fn signed_query(c: &MsgCrypt, timestamp: &str, nonce: &str, encrypt: &str) -> String {
    format!(
        "msg_signature={}&timestamp={}&nonce={}",
        c.signature(timestamp, nonce, encrypt),
        urlencoding::encode(timestamp),
        urlencoding::encode(nonce)
    )
}

/// A random 16-byte prefix, as WeCom's own.
pub fn random16() -> [u8; 16] {
    liancun::platform::wecom::random16()
}

/// The text of a stream reply, as a person reads it: hard breaks become
/// plain line breaks.
pub fn readable(markdown: &str) -> String {
    markdown.replace("  \n", "\n")
}

impl TestApp {
    /// The value of `liancun_callbacks_total` for a platform and outcome.
    pub async fn callbacks(&self, platform: &str, outcome: &str) -> f64 {
        let (p, o) = (
            format!("platform=\"{platform}\""),
            format!("outcome=\"{outcome}\""),
        );
        self.metrics()
            .await
            .lines()
            .filter(|l| {
                l.starts_with("liancun_callbacks_total") && l.contains(&p) && l.contains(&o)
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    fn now_s(&self) -> String {
        (self.clock.now_ms() / 1000).to_string()
    }

    /// The decrypted 智能机器人 callback of `userid` saying `text` in this
    /// test's group (the bot is addressed the WeCom way: the @name stays).
    pub fn wecom_message(&self, msgid: &str, userid: &str, text: &str) -> Value {
        json!({
            "msgid": msgid,
            "aibotid": "AIBOTID",
            "chatid": self.conversation,
            "chattype": "group",
            "from": {"userid": userid},
            "response_url": "http://127.0.0.1:9/cgi-bin/aibot/response?response_code=x",
            "msgtype": "text",
            "text": {"content": format!("@联村助手 {text}")},
        })
    }

    /// Encrypts `plaintext` for the 智能机器人: (query, body).
    pub fn wecom_envelope(&self, plaintext: &str) -> (String, Vec<u8>) {
        let c = crypt("");
        let encrypt = c.encrypt(plaintext, &random16());
        let nonce = fastrand::u32(..).to_string();
        let query = signed_query(&c, &self.now_s(), &nonce, &encrypt);
        (
            query,
            json!({ "encrypt": encrypt }).to_string().into_bytes(),
        )
    }

    pub async fn wecom_post(&self, bot: &str, query: &str, body: Vec<u8>) -> (u16, String) {
        let resp = self
            .client
            .post(self.url(&format!("/webhook/wecom/{bot}?{query}")))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request sent");
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap_or_default())
    }

    pub async fn wecom_get(&self, bot: &str, query: &str) -> (u16, String, String) {
        let resp = self
            .client
            .get(self.url(&format!("/webhook/wecom/{bot}?{query}")))
            .send()
            .await
            .expect("request sent");
        let status = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (status, ctype, resp.text().await.unwrap_or_default())
    }

    /// Posts a decrypted callback to the 智能机器人; checks the passive
    /// reply's signature and nonce and returns its decrypted plaintext JSON.
    pub async fn wecom_callback(&self, plaintext: &Value) -> Value {
        let (query, body) = self.wecom_envelope(&plaintext.to_string());
        let (status, text) = self.wecom_post(super::wecom::AIBOT, &query, body).await;
        assert_eq!(status, 200, "callback refused: {text}");
        open_passive_reply(&query, &text)
    }

    /// Sends a message with a given msgid; returns the reply's markdown.
    pub async fn wecom_send_with_id(&self, msgid: &str, userid: &str, text: &str) -> String {
        let plain = self
            .wecom_callback(&self.wecom_message(msgid, userid, text))
            .await;
        assert_eq!(plain["msgtype"], "stream", "{plain}");
        assert_eq!(plain["stream"]["finish"], true, "{plain}");
        assert!(
            !plain["stream"]["id"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "a new stream needs an id: {plain}"
        );
        plain["stream"]["content"]
            .as_str()
            .expect("markdown content")
            .to_string()
    }

    /// `userid` says `text` in the WeCom group; returns the reply as read.
    pub async fn wecom_say(&self, userid: &str, text: &str) -> String {
        let id = format!("wx-{}", SEQ.fetch_add(1, Ordering::Relaxed));
        readable(&self.wecom_send_with_id(&id, userid, text).await)
    }

    /// Posts a classic-app XML callback of `plaintext`; returns the status
    /// and the decrypted reply XML (empty if the body was empty).
    pub async fn wecom_app_post(&self, plaintext: &str) -> (u16, String) {
        let c = crypt(CORP_ID);
        let encrypt = c.encrypt(plaintext, &random16());
        let nonce = fastrand::u32(..).to_string();
        let ts = self.now_s();
        let query = signed_query(&c, &ts, &nonce, &encrypt);
        let body = format!(
            "<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>"
        );
        let (status, text) = self.wecom_post(APP_BOT, &query, body.into_bytes()).await;
        if status != 200 || text.is_empty() {
            return (status, text);
        }
        let enc = xml_field(&text, "Encrypt").expect("reply has Encrypt");
        let sig = xml_field(&text, "MsgSignature").expect("reply has MsgSignature");
        let ts = xml_field(&text, "TimeStamp").expect("reply has TimeStamp");
        assert_eq!(
            xml_field(&text, "Nonce").as_deref(),
            Some(nonce.as_str()),
            "the reply echoes the nonce"
        );
        let plain = c
            .verify_and_decrypt(&sig, &ts, &nonce, &enc)
            .expect("reply is signed and decrypts");
        (status, plain)
    }
}

/// Checks and decrypts a 智能机器人 passive reply to the callback sent with
/// `query`.
pub fn open_passive_reply(query: &str, body: &str) -> Value {
    let reply: PassiveReply = serde_json::from_str(body).expect("passive reply JSON");
    let nonce = query
        .split('&')
        .find_map(|p| p.strip_prefix("nonce="))
        .expect("query has nonce");
    assert_eq!(reply.nonce, nonce, "the reply echoes the callback nonce");
    let plain = crypt("")
        .verify_and_decrypt(
            &reply.msgsignature,
            &reply.timestamp.to_string(),
            &reply.nonce,
            &reply.encrypt,
        )
        .expect("reply is signed and decrypts with receive id \"\"");
    serde_json::from_str(&plain).expect("reply plaintext is JSON")
}
