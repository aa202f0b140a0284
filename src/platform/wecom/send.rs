//! Outbound WeCom group-robot (群机器人 / 消息推送) messages: text ≤ 2 048 bytes,
//! markdown ≤ 4 096 bytes, 20 messages a minute per robot.
//!
//! `POST {api_base}/cgi-bin/webhook/send?key=KEY` with a JSON body; the key is the only
//! credential, so it never reaches a log line, an error message or a `Debug` output (errors from
//! the HTTP client are stripped of their URL).
//!
//! # Answers and what they mean
//!
//! Errors come back as HTTP 200 with a non-zero `errcode` (as WeCom documents):
//! * `0` — accepted.
//! * `45009` "api freq out of limit" — more than 20 messages a minute to this robot (the code
//!   comes from third-party sources, not WeCom's own page): [`SendError::Throttled`]; the outbox
//!   pauses the robot for
//!   [`THROTTLE_PAUSE`] (retry after ≥ 60 s; the limit is a rolling minute, no penalty period
//!   is documented, unlike DingTalk's 10 minutes).
//! * `-1` "system busy" — [`SendError::Retry`] (assumed, as for DingTalk).
//! * `93000` "invalid webhook url" (a wrong or deleted key, secondary), `40058` content too long,
//!   and every other non-zero code — [`SendError::Fatal`]: a configuration error that retrying
//!   cannot fix (§7: "never retry 93000").
//! * HTTP 429 — throttled; 5xx / 408 and network errors — temporary; other 4xx — fatal; a 2xx
//!   answer without an `errcode` — temporary (a real success always carries `errcode: 0`).
//!
//! # Sizes
//!
//! `text.content` ≤ 2 048 bytes, `markdown.content` ≤ 4 096 bytes (§6.1). The outbox already
//! splits long messages into parts of at most [`crate::platform::send::PART_BYTES`] bytes;
//! [`send`] checks again and refuses an over-size message as `Fatal` `40058` without a request.
//!
//! # A 智能机器人's late answer
//!
//! A turn slower than WeCom's five seconds is answered through the message's one-shot
//! `response_url` ([`Route::ResponseUrl`], markdown up to 20 480 bytes): the same client, the
//! same classification of answers.
//!
//! [`send`]: WecomSender::send

use std::fmt;
use std::time::Duration;

use serde_json::{Value, json};

use crate::platform::send::{SendError, read_response, short};
use crate::reply::Reply;

/// Largest `text.content` (bytes) [W-hook].
pub const TEXT_MAX_BYTES: usize = 2_048;
/// Largest `markdown.content` (bytes); errcode 40058 beyond it [W-hook], [domain-admin#82].
pub const MARKDOWN_MAX_BYTES: usize = 4_096;
/// Per-request timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the outbox pauses a robot after [`SendError::Throttled`]: the limit is 20 in a
/// rolling minute, so after a minute the window has room again.
pub const THROTTLE_PAUSE: Duration = Duration::from_secs(60);

/// The rate-limit code, "api freq out of limit" (from third-party sources).
pub const ERR_THROTTLED: i64 = 45009;
/// A wrong or deleted webhook key, "invalid webhook url" (from third-party sources).
pub const ERR_INVALID_WEBHOOK: i64 = 93000;
/// Content too long: text over 2 048 bytes, markdown over 4 096.
pub const ERR_TOO_LONG: i64 = 40058;

/// Where a WeCom message goes. `Debug` is written by hand: the key and the
/// URL are credentials.
#[derive(Clone, PartialEq, Eq)]
pub enum Route {
    /// A group robot, by its webhook key.
    GroupRobot { key: String },
    /// A 智能机器人 message's one-shot `response_url` (usable once, for an hour).
    ResponseUrl { url: String },
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::GroupRobot { .. } => f
                .debug_struct("GroupRobot")
                .field("key", &"<redacted>")
                .finish(),
            Route::ResponseUrl { .. } => f
                .debug_struct("ResponseUrl")
                .field("url", &"<redacted>")
                .finish(),
        }
    }
}

impl Route {
    /// A short name for logs: `group_robot` or `response_url`.
    pub fn kind(&self) -> &'static str {
        match self {
            Route::GroupRobot { .. } => "group_robot",
            Route::ResponseUrl { .. } => "response_url",
        }
    }
}

/// One group-robot message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WecomMessage {
    /// `markdown` (mentions written as `<@userid>` in the text) or `text`.
    pub markdown: bool,
    /// The content, already in the platform's form.
    pub text: String,
    /// User ids for a text message's `mentioned_list` (unused for markdown, which mentions
    /// inline).
    pub mentioned: Vec<String>,
}

impl WecomMessage {
    /// The message for `reply`.
    ///
    /// Markdown: every `@名字` of a mentioned person becomes `<@userid>` and line breaks become
    /// hard breaks ([`super::render_markdown`]). Both make the text longer than the part the
    /// outbox cut (two bytes a line; a long user id in place of a short name). Should a part
    /// grow past [`MARKDOWN_MAX_BYTES`], the hard breaks are dropped first, then the last
    /// people's mentions (they stay `@名字`, unpinged) until it fits: the text always arrives
    /// whole, since a part without either is never longer than the outbox's cut.
    ///
    /// Text: the text as written (people stay `@名字`), and their ids in `mentioned_list`, which
    /// WeCom shows as real mentions.
    pub fn from_reply(reply: &Reply, markdown: bool) -> WecomMessage {
        if markdown {
            return WecomMessage {
                markdown: true,
                text: markdown_within_limit(reply),
                mentioned: Vec::new(),
            };
        }
        let mut mentioned: Vec<String> = Vec::new();
        for m in &reply.mentions {
            if !m.user_id.is_empty() && !mentioned.contains(&m.user_id) {
                mentioned.push(m.user_id.clone());
            }
        }
        WecomMessage {
            markdown: false,
            text: reply.text.clone(),
            mentioned,
        }
    }

    /// A 智能机器人's answer sent late through its `response_url`: the
    /// `markdown_v2` of [`super::render_aibot_markdown`] (people stay
    /// `@名字`), cut to 20 000 bytes on a character boundary.
    pub fn aibot_answer(reply: &Reply) -> WecomMessage {
        const MAX: usize = 20_000;
        let mut text = super::render_aibot_markdown(reply);
        if text.len() > MAX {
            let mut cut = MAX;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        WecomMessage {
            markdown: true,
            text,
            mentioned: Vec::new(),
        }
    }

    /// The byte limit of this message's kind.
    pub fn max_bytes(&self) -> usize {
        if self.markdown {
            MARKDOWN_MAX_BYTES
        } else {
            TEXT_MAX_BYTES
        }
    }

    /// The webhook body: `{"msgtype": "text"|"markdown", …}` with mentions.
    pub fn body(&self) -> Value {
        if self.markdown {
            json!({ "msgtype": "markdown", "markdown": { "content": self.text } })
        } else {
            json!({
                "msgtype": "text",
                "text": { "content": self.text, "mentioned_list": self.mentioned },
            })
        }
    }
}

/// [`super::render_markdown`], made to fit [`MARKDOWN_MAX_BYTES`] (see
/// [`WecomMessage::from_reply`]).
fn markdown_within_limit(reply: &Reply) -> String {
    let mut reply = reply.clone();
    reply.text = images_as_links(&reply.text);
    loop {
        let full = super::render_markdown(&reply);
        if full.len() <= MARKDOWN_MAX_BYTES {
            return full;
        }
        let plain = full.replace("  \n", "\n");
        if plain.len() <= MARKDOWN_MAX_BYTES {
            return plain;
        }
        let Some(last) = reply.mentions.last().map(|m| m.user_id.clone()) else {
            return plain;
        };
        reply.mentions.retain(|m| m.user_id != last);
    }
}

/// Group-robot `markdown` (v1) shows no images [W-hook]: `![alt](url)` becomes
/// the link `[alt](url)` (the airing's chart opens in the browser instead).
fn images_as_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("![") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let line_end = after.find('\n').unwrap_or(after.len());
        let is_image = after[..line_end]
            .find("](")
            .is_some_and(|j| after[j..line_end].contains(')'));
        out.push_str(if is_image { "" } else { "!" });
        out.push('[');
        rest = &after[1..];
    }
    out.push_str(rest);
    out
}

/// Sends group-robot messages. Cheap to clone; holds no credentials (each call names its key).
#[derive(Clone)]
pub struct WecomSender {
    client: reqwest::Client,
    api_base: String,
}

impl fmt::Debug for WecomSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WecomSender")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

impl WecomSender {
    /// `api_base` is e.g. `https://qyapi.weixin.qq.com` (a trailing `/` is ignored).
    pub fn new(client: reqwest::Client, api_base: &str) -> Self {
        Self {
            client,
            api_base: api_base.trim_end_matches('/').to_owned(),
        }
    }

    /// Sends one message through the group robot with webhook key `key`. Never retries by
    /// itself; the outbox decides from the [`SendError`] kind.
    pub async fn send(&self, key: &str, msg: &WecomMessage) -> Result<(), SendError> {
        self.send_to(
            &Route::GroupRobot {
                key: key.to_string(),
            },
            msg,
        )
        .await
    }

    /// Sends one message on `route`. Never retries by itself.
    pub async fn send_to(&self, route: &Route, msg: &WecomMessage) -> Result<(), SendError> {
        let result = self.post(route, msg).await;
        match &result {
            Ok(()) => {
                tracing::debug!(
                    route = route.kind(),
                    markdown = msg.markdown,
                    "wecom message sent"
                )
            }
            Err(e) => {
                tracing::warn!(route = route.kind(), code = e.code(), error = %e, "wecom send failed")
            }
        }
        result
    }

    async fn post(&self, route: &Route, msg: &WecomMessage) -> Result<(), SendError> {
        let (url, max_bytes) = match route {
            Route::GroupRobot { key } => {
                let key = key.trim();
                if key.is_empty() {
                    return Err(SendError::fatal(
                        "no_route",
                        "the group robot's webhook key is empty",
                    ));
                }
                let url = format!(
                    "{}/cgi-bin/webhook/send?key={}",
                    self.api_base,
                    urlencoding::encode(key)
                );
                (url, msg.max_bytes())
            }
            Route::ResponseUrl { url } => {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(SendError::fatal(
                        "bad_response_url",
                        "response_url is not an http(s) URL",
                    ));
                }
                (url.clone(), super::STREAM_CONTENT_MAX_BYTES)
            }
        };
        if msg.text.len() > max_bytes {
            return Err(SendError::fatal(
                ERR_TOO_LONG.to_string(),
                format!(
                    "{} content is {} bytes, over WeCom's {} (not sent)",
                    if msg.markdown { "markdown" } else { "text" },
                    msg.text.len(),
                    max_bytes
                ),
            ));
        }
        let sent = self
            .client
            .post(url)
            .timeout(REQUEST_TIMEOUT)
            .json(&msg.body())
            .send()
            .await;
        let (status, bytes) = read_response(sent).await?;
        classify(status, &bytes)
    }
}

/// Classifies a webhook answer (see the module docs).
pub fn classify(status: u16, body: &[u8]) -> Result<(), SendError> {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let errcode = parsed
        .as_ref()
        .and_then(|v| v.get("errcode"))
        .and_then(|c| {
            c.as_i64()
                .or_else(|| c.as_str().and_then(|s| s.trim().parse().ok()))
        });
    let errmsg = parsed
        .as_ref()
        .and_then(|v| v.get("errmsg"))
        .and_then(Value::as_str)
        .map(short)
        .unwrap_or_else(|| short(&String::from_utf8_lossy(body)));
    let ok_status = (200..300).contains(&status);
    match errcode {
        Some(0) if ok_status => return Ok(()),
        Some(code) if code != 0 => {
            return Err(match code {
                ERR_THROTTLED => SendError::throttled(code.to_string(), errmsg),
                -1 => SendError::retry(code.to_string(), errmsg),
                _ => SendError::fatal(code.to_string(), errmsg),
            });
        }
        _ => {}
    }
    if status == 429 {
        return Err(SendError::throttled("429", errmsg));
    }
    if status >= 500 || status == 408 {
        return Err(SendError::retry(status.to_string(), errmsg));
    }
    if !ok_status {
        return Err(SendError::fatal(status.to_string(), errmsg));
    }
    Err(SendError::retry("unexpected_response", errmsg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dev::fake::wecom::FakeWecom;

    #[test]
    fn markdown_pushes_carry_images_as_links() {
        assert_eq!(
            images_as_links("a\n![近8周走势](https://x.cn/c.png?sig=1)\nb"),
            "a\n[近8周走势](https://x.cn/c.png?sig=1)\nb"
        );
        assert_eq!(images_as_links("好![不是图"), "好![不是图", "no link: kept");
        assert_eq!(images_as_links("![a](u) ![b](v)"), "[a](u) [b](v)");
        let m = WecomMessage::from_reply(&Reply::text("### 晾晒\n![图](https://x.cn/c.png)"), true);
        assert!(
            m.text.contains("[图](https://x.cn/c.png)") && !m.text.contains("!["),
            "{}",
            m.text
        );
    }
    use crate::reply::Mention;

    const T0: i64 = 1_700_000_000_000;
    const KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";

    async fn setup() -> (FakeWecom, WecomSender) {
        let fake = FakeWecom::new();
        fake.set_now_ms(T0);
        fake.add_key(KEY);
        fake.add_key("other-key");
        let addr = fake.spawn().await.expect("spawn fake");
        let sender = WecomSender::new(reqwest::Client::new(), &format!("http://{addr}/"));
        (fake, sender)
    }

    fn m(user_id: &str, name: &str) -> Mention {
        Mention {
            user_id: user_id.into(),
            name: name.into(),
        }
    }

    fn md(text: &str) -> WecomMessage {
        WecomMessage {
            markdown: true,
            text: text.into(),
            mentioned: Vec::new(),
        }
    }

    #[test]
    fn markdown_mentions_inline_and_text_lists_them() {
        let r = Reply::with_mentions(
            "📋 @张三 请排清单\n例：@李四 @张三",
            vec![
                m("zhangsan", "张三"),
                m("lisi", "李四"),
                m("zhangsan", "张三"),
            ],
        );
        let md = WecomMessage::from_reply(&r, true);
        assert_eq!(
            md.text,
            "📋 <@zhangsan> 请排清单  \n例：<@lisi> <@zhangsan>"
        );
        assert_eq!(
            md.body(),
            json!({"msgtype": "markdown", "markdown": {"content": md.text}})
        );
        let text = WecomMessage::from_reply(&r, false);
        assert_eq!(text.text, r.text, "a text message keeps the names");
        assert_eq!(text.mentioned, ["zhangsan", "lisi"]);
        assert_eq!(
            text.body(),
            json!({"msgtype": "text", "text": {"content": r.text, "mentioned_list": ["zhangsan", "lisi"]}})
        );
    }

    #[test]
    fn hard_breaks_give_way_before_the_markdown_limit() {
        // 3 000 bytes of one-character lines: hard breaks would add 3 000 more.
        let r = Reply::text("a\n".repeat(1_500));
        let md = WecomMessage::from_reply(&r, true);
        assert!(md.text.len() <= MARKDOWN_MAX_BYTES, "{}", md.text.len());
        assert!(!md.text.contains("  \n"));
        let short = WecomMessage::from_reply(&Reply::text("a\nb"), true);
        assert_eq!(short.text, "a  \nb");
    }

    #[test]
    fn every_outbox_part_of_ordinary_text_fits() {
        // Parts as the outbox makes them, mentions and line breaks included.
        let line = "#12 【红】苗青头村插花田政策处理 @张三 · 12月3日(周四)截止\n";
        let text = line.repeat(400);
        let mentions = vec![m("zhangsan-with-a-long-user-id", "张三")];
        for part in crate::platform::send::split(&text, crate::platform::send::PART_BYTES) {
            let msg = WecomMessage::from_reply(&Reply::with_mentions(part, mentions.clone()), true);
            assert!(msg.text.len() <= MARKDOWN_MAX_BYTES, "{}", msg.text.len());
        }
    }

    #[test]
    fn long_user_ids_lose_their_pings_before_the_text_is_cut() {
        // 60 lines, each mentioning one of three people with 40-byte user ids.
        let people = [
            m(&"a".repeat(40), "张三"),
            m(&"b".repeat(40), "李四"),
            m(&"c".repeat(40), "王五"),
        ];
        let text: String = (0..60)
            .map(|i| format!("#{i} 某项工作内容写得比较长一些 @{}\n", people[i % 3].name))
            .collect();
        assert!(text.len() <= crate::platform::send::PART_BYTES);
        let msg = WecomMessage::from_reply(&Reply::with_mentions(&text, people.to_vec()), true);
        assert!(msg.text.len() <= MARKDOWN_MAX_BYTES, "{}", msg.text.len());
        assert!(
            msg.text.contains(&format!("<@{}>", "a".repeat(40))),
            "the first stay pinged"
        );
        assert!(msg.text.contains("@王五"), "the last are named, not pinged");
    }

    #[tokio::test]
    async fn markdown_and_text_land_with_their_mentions() {
        let (fake, sender) = setup().await;
        let r = Reply::with_mentions("@张三 明早8点集合", vec![m("zhangsan", "张三")]);
        sender
            .send(KEY, &WecomMessage::from_reply(&r, true))
            .await
            .expect("markdown");
        sender
            .send(KEY, &WecomMessage::from_reply(&r, false))
            .await
            .expect("text");
        let got = fake.received();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(
            (got[0].key.as_str(), got[0].msgtype.as_str()),
            (KEY, "markdown")
        );
        assert_eq!(got[0].content, "<@zhangsan> 明早8点集合");
        assert_eq!(got[0].mentioned, ["zhangsan"]);
        assert_eq!(got[1].msgtype, "text");
        assert_eq!(got[1].content, "@张三 明早8点集合");
        assert_eq!(got[1].mentioned, ["zhangsan"]);
        assert!(got.iter().all(|r| r.at_ms == T0));
        assert!(fake.rejected().is_empty());
    }

    #[tokio::test]
    async fn a_late_answer_goes_to_its_response_url_as_whole_markdown() {
        // A response_url takes markdown up to 20 480 bytes: a long answer is
        // not refused at the group robot's 4 096.
        let long = "第1项 河道清理\n".repeat(400);
        let msg =
            WecomMessage::aibot_answer(&Reply::with_mentions(&long, vec![m("zhangsan", "张三")]));
        assert!(msg.markdown && msg.text.len() > MARKDOWN_MAX_BYTES && msg.text.len() <= 20_000);
        assert!(msg.text.contains("  \n"), "hard line breaks");
        let huge = WecomMessage::aibot_answer(&Reply::text("村".repeat(10_000)));
        assert!(huge.text.len() <= 20_000, "{}", huge.text.len());
        // A URL that is not http(s) makes no request.
        let (fake, sender) = setup().await;
        let route = Route::ResponseUrl {
            url: "file:///etc/passwd?response_code=secret".into(),
        };
        let err = sender.send_to(&route, &msg).await.expect_err("not http");
        assert_eq!(err.code(), "bad_response_url");
        assert!(!format!("{route:?} {err:?}").contains("secret"));
        assert!(fake.received().is_empty() && fake.rejected().is_empty());
    }

    #[tokio::test]
    async fn an_unknown_key_is_fatal_93000_and_never_shown() {
        let (fake, sender) = setup().await;
        let err = sender
            .send("secret-key-nobody-has", &md("x"))
            .await
            .expect_err("unknown key");
        assert!(
            matches!(&err, SendError::Fatal { code, .. } if code == "93000"),
            "{err:?}"
        );
        assert!(!format!("{err} {err:?}").contains("secret-key-nobody-has"));
        assert!(!format!("{sender:?}").contains("key="));
        let err = sender.send("  ", &md("x")).await.expect_err("empty key");
        assert_eq!(err.code(), "no_route");
        assert_eq!(fake.rejected().len(), 1, "an empty key makes no request");
    }

    #[tokio::test]
    async fn the_twenty_first_message_in_a_minute_is_throttled() {
        let (fake, sender) = setup().await;
        for i in 0..20 {
            sender
                .send(KEY, &md(&format!("m{i}")))
                .await
                .expect("within budget");
        }
        let err = sender.send(KEY, &md("m20")).await.expect_err("throttled");
        assert!(
            matches!(&err, SendError::Throttled { code, .. } if code == "45009"),
            "{err:?}"
        );
        sender
            .send("other-key", &md("x"))
            .await
            .expect("another robot has its own budget");
        fake.advance_ms(60_000);
        sender
            .send(KEY, &md("later"))
            .await
            .expect("a minute later");
    }

    #[tokio::test]
    async fn oversize_messages_are_fatal_without_a_request() {
        let (fake, sender) = setup().await;
        let err = sender
            .send(KEY, &md(&"村".repeat(1_366)))
            .await
            .expect_err("4 098 bytes");
        assert!(
            matches!(&err, SendError::Fatal { code, .. } if code == "40058"),
            "{err:?}"
        );
        let text = WecomMessage {
            markdown: false,
            text: "a".repeat(2_049),
            mentioned: Vec::new(),
        };
        assert_eq!(
            sender.send(KEY, &text).await.expect_err("text").code(),
            "40058"
        );
        assert!(fake.received().is_empty() && fake.rejected().is_empty());
        // Exactly at the limits is fine.
        sender
            .send(KEY, &md(&"a".repeat(MARKDOWN_MAX_BYTES)))
            .await
            .expect("4 096 bytes");
        let text = WecomMessage {
            text: "a".repeat(TEXT_MAX_BYTES),
            ..text
        };
        sender.send(KEY, &text).await.expect("2 048 bytes");
        assert_eq!(fake.received().len(), 2);
    }

    #[tokio::test]
    async fn injected_failures_are_temporary() {
        let (fake, sender) = setup().await;
        fake.fail_next(2, 503);
        for _ in 0..2 {
            let err = sender.send(KEY, &md("x")).await.expect_err("503");
            assert!(
                matches!(&err, SendError::Retry { code, .. } if code == "503"),
                "{err:?}"
            );
        }
        sender.send(KEY, &md("x")).await.expect("then ok");
        assert_eq!(fake.received().len(), 1);
    }

    #[tokio::test]
    async fn network_failure_is_retry_and_hides_the_key() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let sender = WecomSender::new(reqwest::Client::new(), &format!("http://{addr}"));
        let err = sender
            .send("secret-key-xyz", &md("x"))
            .await
            .expect_err("refused");
        assert_eq!(err.code(), "network");
        assert!(matches!(err, SendError::Retry { .. }));
        assert!(
            !format!("{err} {err:?}").contains("secret-key-xyz"),
            "{err}"
        );
    }

    #[test]
    fn classification() {
        assert_eq!(classify(200, br#"{"errcode":0,"errmsg":"ok"}"#), Ok(()));
        assert_eq!(classify(200, br#"{"errcode":"0","errmsg":"ok"}"#), Ok(()));
        let c = |b: &[u8]| classify(200, b).expect_err("error");
        assert!(matches!(
            c(br#"{"errcode":45009,"errmsg":"api freq out of limit"}"#),
            SendError::Throttled { .. }
        ));
        assert!(matches!(
            c(br#"{"errcode":-1,"errmsg":"system busy"}"#),
            SendError::Retry { .. }
        ));
        for code in [93000, 40058, 40008, 44004, 123456] {
            let body = format!(r#"{{"errcode":{code},"errmsg":"no"}}"#);
            let err = c(body.as_bytes());
            assert!(matches!(err, SendError::Fatal { .. }), "{code}");
            assert_eq!(err.code(), code.to_string());
        }
        assert!(matches!(c(b"not json"), SendError::Retry { .. }));
        assert!(matches!(classify(502, b""), Err(SendError::Retry { .. })));
        assert!(matches!(classify(408, b""), Err(SendError::Retry { .. })));
        assert!(matches!(
            classify(429, b""),
            Err(SendError::Throttled { .. })
        ));
        assert!(matches!(
            classify(404, b"nope"),
            Err(SendError::Fatal { .. })
        ));
        let long = format!(r#"{{"errcode":93000,"errmsg":"{}"}}"#, "很".repeat(500));
        let err = c(long.as_bytes());
        assert!(err.to_string().len() < 400, "answers are cut short");
    }
}
