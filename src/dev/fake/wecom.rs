//! A fake WeCom group-robot webhook (`/cgi-bin/webhook/send?key=`), for tests and the offline demo.
//!
//! | route | path |
//! |---|---|
//! | group robot | `POST /cgi-bin/webhook/send?key=KEY` |
//!
//! Every answer is HTTP 200 with `{"errcode","errmsg"}`, as WeCom's (errors included), except
//! failures injected with [`FakeWecom::fail_next`]. Checks, in order:
//!
//! | check | errcode | source |
//! |---|---|---|
//! | key missing or not registered with [`FakeWecom::add_key`] | `93000` "invalid webhook url" | third-party sources |
//! | body not a JSON object | `40035` "invalid parameter" | assumed |
//! | `msgtype` not `text` / `markdown` (the two the bot sends) | `40008` "invalid message type" | WeCom global code; its use here assumed |
//! | `content` missing or empty | `44004` "empty content" | WeCom global code; its use here assumed |
//! | `text.content` over 2 048 bytes, `markdown.content` over 4 096 | `40058` | WeCom's documented limits |
//! | more than 20 accepted for this key in the rolling minute | `45009` "api freq out of limit" | third-party sources |
//!
//! **What a member reads.** [`Received::shown`]: in markdown every `<@userid>` is shown as
//! `@name` (names from the directory filled with [`FakeWecom::add_member`]; an unknown id as
//! `@userid`); a text message's content is shown as sent.
//!
//! **Clock.** Its own clock in epoch ms: the system clock by default, or fixed with
//! [`FakeWecom::set_now_ms`] / [`FakeWecom::advance_ms`]. It drives the rate window and stamps
//! [`Received::at_ms`]. Unlike DingTalk, WeCom documents no penalty period: once the rolling
//! minute has room again, the robot takes messages again.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::common::{self, Knobs};

/// Accepted messages per key per rolling window.
pub const RATE_LIMIT: usize = 20;
/// The rolling window (fake-clock ms).
pub const RATE_WINDOW_MS: i64 = 60_000;
/// Largest `text.content` in bytes.
pub const TEXT_MAX_BYTES: usize = 2_048;
/// Largest `markdown.content` in bytes.
pub const MARKDOWN_MAX_BYTES: usize = 4_096;

/// One message the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The webhook key it was sent with.
    pub key: String,
    /// `text` or `markdown`.
    pub msgtype: String,
    pub content: String,
    /// Who is mentioned: a text message's `mentioned_list`, then every `<@userid>` in the
    /// content not already listed, in order.
    pub mentioned: Vec<String>,
    /// The content as a member of the group reads it (see the module docs).
    pub shown: String,
    /// Fake-clock ms when accepted.
    pub at_ms: i64,
}

struct Inner {
    keys: HashSet<String>,
    /// Key → accept times within the window.
    windows: HashMap<String, VecDeque<i64>>,
    received: Vec<Received>,
    rejected: Vec<(String, String)>,
    /// The corp directory: userid → name.
    members: HashMap<String, String>,
    knobs: Knobs,
}

impl Inner {
    fn now_ms(&self) -> i64 {
        self.knobs.now_ms()
    }

    /// Counts one send for `key`; false when the key's window is full.
    fn admit(&mut self, key: &str, now: i64) -> bool {
        let window = self.windows.entry(key.to_owned()).or_default();
        let floor = now.saturating_sub(RATE_WINDOW_MS);
        while window.front().is_some_and(|&t| t <= floor) {
            window.pop_front();
        }
        if window.len() >= RATE_LIMIT {
            return false;
        }
        window.push_back(now);
        true
    }

    fn refuse(&mut self, key: &str, errcode: i64, errmsg: &str) -> Response {
        self.rejected.push((errcode.to_string(), key.to_owned()));
        axum::Json(json!({ "errcode": errcode, "errmsg": errmsg })).into_response()
    }
}

/// A fake WeCom webhook server; clones share state.
#[derive(Clone)]
pub struct FakeWecom {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for FakeWecom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeWecom").finish_non_exhaustive()
    }
}

impl Default for FakeWecom {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeWecom {
    /// A fake that knows no key yet.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                keys: HashSet::new(),
                windows: HashMap::new(),
                received: Vec::new(),
                rejected: Vec::new(),
                members: HashMap::new(),
                knobs: Knobs::default(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // State stays consistent between statements, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a group robot by its webhook key.
    pub fn add_key(&self, key: &str) {
        self.lock().keys.insert(key.to_owned());
    }

    /// Adds a person to the corp directory: `<@user_id>` in markdown shows as `@name`.
    pub fn add_member(&self, user_id: &str, name: &str) {
        self.lock()
            .members
            .insert(user_id.to_owned(), name.to_owned());
    }

    /// Deletes a group robot: its key gets 93000 from now on.
    pub fn remove_key(&self, key: &str) {
        self.lock().keys.remove(key);
    }

    /// The route: `POST /cgi-bin/webhook/send`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/cgi-bin/webhook/send", post(webhook_send))
            .with_state(self.clone())
    }

    /// Binds 127.0.0.1:0 and serves in a tokio task; `http://{addr}` is the `[wecom] api_base`.
    /// The task runs until the runtime shuts down.
    pub async fn spawn(&self) -> std::io::Result<SocketAddr> {
        common::serve_on_loopback(self.router(), "wecom").await
    }

    /// Accepted messages, in order.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Every refusal answered, as (code, key), e.g. `("45009", "k1")`. Injected failures appear
    /// as their HTTP status.
    pub fn rejected(&self) -> Vec<(String, String)> {
        self.lock().rejected.clone()
    }

    /// Fixes the fake clock at `ms` (epoch milliseconds); call again to step it.
    pub fn set_now_ms(&self, ms: i64) {
        self.lock().knobs.set_now_ms(ms);
    }

    /// Moves a fixed clock forward by `ms` (from the current reading if on the system clock).
    pub fn advance_ms(&self, ms: i64) {
        self.lock().knobs.advance_ms(ms);
    }

    /// Goes back to the system clock (the default).
    pub fn use_system_clock(&self) {
        self.lock().knobs.use_system_clock();
    }

    /// The fake clock's current reading.
    pub fn now_ms(&self) -> i64 {
        self.lock().now_ms()
    }

    /// Answers the next `n` sends with HTTP `status` and `{"errmsg":"injected failure"}`,
    /// without accepting them. Use a non-2xx status.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.lock().knobs.fail_next(n, status);
    }

    /// Delays every answer by `d` of real time.
    pub fn set_latency(&self, d: Duration) {
        self.lock().knobs.set_latency(d);
    }

    /// The most requests (all routes) this fake was answering at one time.
    pub fn peak_in_flight(&self) -> usize {
        self.lock().knobs.in_flight().peak()
    }

    async fn delay(&self) {
        let (latency, gauge) = {
            let inner = self.lock();
            (inner.knobs.latency(), inner.knobs.in_flight())
        };
        common::delay(latency, gauge).await;
    }
}

/// The `key` parameter of a query string (percent-decoded; `+` is a space).
fn key_param(query: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == "key")
        .and_then(|(_, v)| {
            urlencoding::decode(&v.replace('+', " "))
                .ok()
                .map(|c| c.into_owned())
        })
}

/// `content` of a `msgtype` message as a member reads it.
fn shown(content: &str, msgtype: &str, members: &HashMap<String, String>) -> String {
    if msgtype != "markdown" {
        return content.to_owned();
    }
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    while let Some(start) = rest.find("<@") {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start + 2..).unwrap_or_default();
        let id = after.find('>').and_then(|end| after.get(..end));
        match id {
            Some(id) if !id.is_empty() && !id.contains(char::is_whitespace) => {
                out.push('@');
                out.push_str(members.get(id).map(String::as_str).unwrap_or(id));
                rest = after.get(id.len() + 1..).unwrap_or_default();
            }
            _ => {
                out.push_str("<@");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every `<@userid>` in `content`, in order.
fn inline_mentions(content: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = content;
    while let Some(start) = rest.find("<@") {
        let after = rest.get(start + 2..).unwrap_or_default();
        let Some(end) = after.find('>') else { break };
        let id = after.get(..end).unwrap_or_default();
        if !id.is_empty() && !id.contains(char::is_whitespace) {
            out.push(id.to_owned());
        }
        rest = after.get(end + 1..).unwrap_or_default();
    }
    out
}

/// A validated message, or (errcode, errmsg).
fn parse_message(body: &[u8]) -> Result<(String, String, Vec<String>), (i64, &'static str)> {
    let v: Value = serde_json::from_slice(body)
        .ok()
        .filter(Value::is_object)
        .ok_or((40035, "invalid parameter: body is not a JSON object"))?;
    let msgtype = v.get("msgtype").and_then(Value::as_str).unwrap_or_default();
    let (max, too_long) = match msgtype {
        "text" => (TEXT_MAX_BYTES, "text.content exceed max length 2048"),
        "markdown" => (
            MARKDOWN_MAX_BYTES,
            "markdown.content exceed max length 4096",
        ),
        _ => return Err((40008, "invalid message type")),
    };
    let section = v.get(msgtype).filter(|s| s.is_object());
    let content = section
        .and_then(|s| s.get("content"))
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .ok_or((44004, "empty content"))?;
    if content.len() > max {
        return Err((40058, too_long));
    }
    let mut mentioned: Vec<String> = section
        .and_then(|s| s.get("mentioned_list"))
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    for id in inline_mentions(content) {
        if !mentioned.contains(&id) {
            mentioned.push(id);
        }
    }
    Ok((msgtype.to_owned(), content.to_owned(), mentioned))
}

async fn webhook_send(
    State(fake): State<FakeWecom>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    fake.delay().await;
    let key = key_param(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let mut st = fake.lock();
    if let Some(status) = st.knobs.take_failure() {
        st.rejected.push((status.as_u16().to_string(), key));
        return (status, axum::Json(json!({ "errmsg": "injected failure" }))).into_response();
    }
    let now = st.now_ms();
    if !st.keys.contains(&key) {
        return st.refuse(&key, 93000, "invalid webhook url");
    }
    let (msgtype, content, mentioned) = match parse_message(&body) {
        Ok(m) => m,
        Err((code, msg)) => return st.refuse(&key, code, msg),
    };
    if !st.admit(&key, now) {
        return st.refuse(&key, 45009, "api freq out of limit");
    }
    let shown = shown(&content, &msgtype, &st.members);
    st.received.push(Received {
        key,
        msgtype,
        content,
        mentioned,
        shown,
        at_ms: now,
    });
    axum::Json(json!({ "errcode": 0, "errmsg": "ok" })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    const T0: i64 = 1_700_000_000_000;

    async fn start() -> (FakeWecom, String, reqwest::Client) {
        let fake = FakeWecom::new();
        fake.set_now_ms(T0);
        fake.add_key("k1");
        fake.add_key("k2");
        let addr = fake.spawn().await.expect("spawn");
        (fake, format!("http://{addr}"), reqwest::Client::new())
    }

    async fn post(client: &reqwest::Client, base: &str, key: &str, body: &str) -> (u16, Value) {
        let resp = client
            .post(format!("{base}/cgi-bin/webhook/send?key={key}"))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("send");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn markdown(content: &str) -> String {
        json!({"msgtype": "markdown", "markdown": {"content": content}}).to_string()
    }

    fn errcode(v: &Value) -> i64 {
        v["errcode"].as_i64().expect("errcode")
    }

    #[tokio::test]
    async fn checks_key_body_type_and_sizes() {
        let (fake, base, client) = start().await;
        let cases: Vec<(&str, String, i64)> = vec![
            ("nobody", markdown("x"), 93000),
            ("", markdown("x"), 93000),
            ("k1", "{".into(), 40035),
            ("k1", "[1]".into(), 40035),
            ("k1", r#"{"msgtype":"image","image":{}}"#.into(), 40008),
            ("k1", r#"{"text":{"content":"x"}}"#.into(), 40008),
            (
                "k1",
                r#"{"msgtype":"text","text":{"content":""}}"#.into(),
                44004,
            ),
            (
                "k1",
                r#"{"msgtype":"markdown","text":{"content":"x"}}"#.into(),
                44004,
            ),
            ("k1", markdown(&"a".repeat(4_097)), 40058),
            (
                "k1",
                json!({"msgtype":"text","text":{"content":"a".repeat(2_049)}}).to_string(),
                40058,
            ),
        ];
        for (key, body, code) in &cases {
            let (status, v) = post(&client, &base, key, body).await;
            assert_eq!((status, errcode(&v)), (200, *code), "{key} {body:.60}");
        }
        assert!(fake.received().is_empty());
        assert_eq!(fake.rejected().len(), cases.len());
        assert_eq!(
            fake.rejected()[0],
            ("93000".to_owned(), "nobody".to_owned())
        );

        let (status, v) = post(&client, &base, "k1", &markdown(&"a".repeat(4_096))).await;
        assert_eq!(
            (status, errcode(&v), v["errmsg"].as_str()),
            (200, 0, Some("ok"))
        );
        let text = json!({"msgtype":"text","text":{"content":"明早集合 <@wangwu>","mentioned_list":["zhangsan","@all"]}});
        assert_eq!(
            errcode(&post(&client, &base, "k1", &text.to_string()).await.1),
            0
        );
        let got = fake.received();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[1],
            Received {
                key: "k1".into(),
                msgtype: "text".into(),
                content: "明早集合 <@wangwu>".into(),
                mentioned: vec!["zhangsan".into(), "@all".into(), "wangwu".into()],
                shown: "明早集合 <@wangwu>".into(),
                at_ms: T0,
            }
        );
    }

    #[tokio::test]
    async fn markdown_mentions_are_read_from_the_content() {
        let (fake, base, client) = start().await;
        let body = markdown("<@zhangsan> 请排清单  \n<@lisi> <@zhangsan> <@ bad> <@unclosed");
        assert_eq!(errcode(&post(&client, &base, "k1", &body).await.1), 0);
        assert_eq!(fake.received()[0].mentioned, ["zhangsan", "lisi"]);
    }

    #[tokio::test]
    async fn twenty_a_rolling_minute_per_key() {
        let (fake, base, client) = start().await;
        for i in 0..20 {
            fake.set_now_ms(T0 + i * 2_000);
            assert_eq!(
                errcode(&post(&client, &base, "k1", &markdown("x")).await.1),
                0,
                "{i}"
            );
        }
        fake.set_now_ms(T0 + 59_999);
        let (_, v) = post(&client, &base, "k1", &markdown("x")).await;
        assert_eq!(
            (errcode(&v), v["errmsg"].as_str()),
            (45009, Some("api freq out of limit"))
        );
        assert_eq!(
            errcode(&post(&client, &base, "k2", &markdown("x")).await.1),
            0,
            "k2 is another robot"
        );
        fake.set_now_ms(T0 + 60_000);
        assert_eq!(
            errcode(&post(&client, &base, "k1", &markdown("x")).await.1),
            0,
            "the first left the window; no penalty period"
        );
        assert_eq!(
            errcode(&post(&client, &base, "k1", &markdown("x")).await.1),
            45009
        );
    }

    #[tokio::test]
    async fn injected_failures_latency_and_removed_keys() {
        let (fake, base, client) = start().await;
        fake.fail_next(1, 502);
        let (status, v) = post(&client, &base, "k1", &markdown("x")).await;
        assert_eq!(
            (status, v["errmsg"].as_str()),
            (502, Some("injected failure"))
        );
        assert_eq!(fake.rejected(), [("502".to_owned(), "k1".to_owned())]);
        fake.set_latency(Duration::from_millis(30));
        let started = std::time::Instant::now();
        assert_eq!(
            errcode(&post(&client, &base, "k1", &markdown("x")).await.1),
            0
        );
        assert!(started.elapsed() >= Duration::from_millis(30));
        fake.remove_key("k1");
        assert_eq!(
            errcode(&post(&client, &base, "k1", &markdown("x")).await.1),
            93000
        );
        assert_eq!(fake.received().len(), 1);
    }

    #[tokio::test]
    async fn system_clock_is_the_default() {
        let fake = FakeWecom::default();
        let sys = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_millis() as i64;
        assert!((fake.now_ms() - sys).abs() < 5_000);
        fake.set_now_ms(5);
        fake.advance_ms(10);
        assert_eq!(fake.now_ms(), 15);
        fake.use_system_clock();
        assert!(fake.now_ms() > 15);
    }

    #[test]
    fn the_key_is_percent_decoded() {
        assert_eq!(key_param("a=1&key=x%2By+z").as_deref(), Some("x+y z"));
        assert_eq!(key_param("keys=1"), None);
        assert_eq!(key_param(""), None);
    }
}
