//! A fake DingTalk server, for tests and for the offline demo (`liancun demo` runs it
//! in-process). It speaks DingTalk's wire formats for robot callbacks and pushes:
//!
//! | route | path |
//! |---|---|
//! | token | `POST /v1.0/oauth2/accessToken` `{"appKey","appSecret"}` → `{"accessToken","expireIn":7200}` |
//! | OpenAPI | `POST /v1.0/robot/groupMessages/send` (header `x-acs-dingtalk-access-token`) |
//! | custom robot | `POST /robot/send?access_token=…[&timestamp=…&sign=…]` |
//! | session | `POST /robot/sendBySession?session=…` |
//!
//! **What a member reads.** Each [`Received`] keeps the wire text and [`Received::shown`], the
//! text as a group member's client shows it. On the custom robot and session routes an
//! `@userId` listed in `at.atUserIds` is shown as that person's name (from the org directory,
//! filled with [`FakeDingtalk::add_member`]); an id not listed stays as typed. The OpenAPI
//! messages (`sampleText`, `sampleMarkdown`) have no `at`: whatever `at` a body carries is
//! ignored, and the member reads the text exactly as sent — an `@userId` in it reaches the
//! group literally, as on the real platform.
//!
//! Answers copy the real ones where they are known (see the module docs of
//! `platform::dingtalk::send` for sources): new-API errors are `HTTP 4xx` with
//! `{"code","message","requestid"}` — an unknown or expired token gets **HTTP 400**
//! `InvalidAuthentication` "不合法的access_token", as api.dingtalk.com does; old-API (robot)
//! errors are `HTTP 200` with `{"errcode","errmsg"}`. Codes marked *assumed* below were not
//! seen on an official page.
//!
//! **Clock.** The fake has its own clock in epoch milliseconds: the system clock by default, or
//! a fixed value set with [`FakeDingtalk::set_now_ms`] (and moved with
//! [`FakeDingtalk::advance_ms`]). It drives the rate windows, the 10-minute throttle, token
//! expiry and the 加签 ±1 h window, and stamps [`Received::at_ms`]. Real time only matters for
//! [`FakeDingtalk::set_latency`].
//!
//! **Rate limit.** Each robot — `robotCode` for OpenAPI, `access_token` for custom robots — may
//! have 20 accepted messages in any rolling 60 s of fake time; the 21st is refused as throttled
//! and the robot is then blocked for 10 fake minutes (every send refused as throttled). Robots
//! are independent. Session webhooks are not limited (DingTalk does not document a limit for them).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::platform::dingtalk::sign::verify_callback;

use super::common::{self, Knobs};

/// Accepted messages per robot per rolling window.
pub const RATE_LIMIT: usize = 20;
/// The rolling window (fake-clock ms).
pub const RATE_WINDOW_MS: i64 = 60_000;
/// How long a robot stays throttled after exceeding the limit (fake-clock ms).
pub const THROTTLE_BLOCK_MS: i64 = 600_000;
/// Lifetime of issued access tokens (seconds, as in `expireIn`).
pub const TOKEN_LIFETIME_S: i64 = 7_200;
/// OpenAPI `msgParam` limit in bytes.
pub const MSG_PARAM_MAX_BYTES: usize = 15_000;
/// Custom robot / session body limit in bytes.
pub const WEBHOOK_BODY_MAX_BYTES: usize = 20_000;

/// The throttle code the fake answers on OpenAPI (HTTP 403): DingTalk's per-app flow-control
/// code. Real DingTalk documents no per-robot 20/min limit for OpenAPI; the fake applies one so
/// the outbox's pause logic is exercised on every route.
pub const OPENAPI_THROTTLE_CODE: &str = "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi";

const KNOWN_MSG_KEYS: &[&str] = &[
    "sampleText",
    "sampleMarkdown",
    "sampleLink",
    "sampleImageMsg",
    "sampleActionCard",
    "sampleActionCard2",
    "sampleActionCard3",
    "sampleActionCard4",
    "sampleActionCard5",
    "sampleActionCard6",
    "sampleAudio",
    "sampleFile",
    "sampleVideo",
];

/// One message the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// `"openapi"`, `"robot"` or `"session"`.
    pub route: String,
    /// openConversationId, or the custom robot's access_token, or the session id.
    pub target: String,
    /// robotCode or access_token (empty for sessions).
    pub robot: String,
    /// `text`, `markdown`, `link`, `actionCard`, `feedCard`; OpenAPI msgKeys are mapped
    /// (`sampleText` → `text`, `sampleMarkdown` → `markdown`, others kept as given).
    pub msgtype: String,
    pub title: Option<String>,
    pub text: String,
    pub at_user_ids: Vec<String>,
    /// The text as a member of the group reads it (see the module docs).
    pub shown: String,
    /// Fake-clock ms when accepted.
    pub at_ms: i64,
}

struct Inner {
    app_key: String,
    app_secret: String,
    /// Issued access token → expiry (fake-clock ms).
    tokens: HashMap<String, i64>,
    token_requests: usize,
    /// Custom robots: access_token → 加签 secret.
    robots: HashMap<String, Option<String>>,
    /// Robot key → accept times within the window.
    windows: HashMap<String, VecDeque<i64>>,
    /// Robot key → blocked until (fake-clock ms).
    blocked_until: HashMap<String, i64>,
    received: Vec<Received>,
    rejected: Vec<(String, String)>,
    /// The org directory: userId → name, as clients show a mention.
    members: HashMap<String, String>,
    knobs: Knobs,
}

impl Inner {
    fn now_ms(&self) -> i64 {
        self.knobs.now_ms()
    }

    /// `text` as a member reads it when the message mentions `at_user_ids`.
    fn shown(&self, text: &str, at_user_ids: &[String]) -> String {
        let mut ids: Vec<&String> = at_user_ids.iter().collect();
        // Longest first, so "@u12" is not shown as "@<u1's name>2".
        ids.sort_by_key(|id| std::cmp::Reverse(id.len()));
        let mut out = text.to_owned();
        for id in ids {
            if let Some(name) = self.members.get(id.as_str()) {
                out = out.replace(&format!("@{id}"), &format!("@{name}"));
            }
        }
        out
    }

    /// Consumes one injected failure, if any.
    fn take_failure(&mut self, route: &str) -> Option<Response> {
        let status = self.knobs.take_failure()?;
        self.rejected
            .push((status.as_u16().to_string(), route.to_owned()));
        Some((status, axum::Json(json!({ "message": "injected failure" }))).into_response())
    }

    /// Counts one send for `key`; false when the robot is (now) throttled.
    fn admit(&mut self, key: &str, now: i64) -> bool {
        if let Some(&until) = self.blocked_until.get(key) {
            if now < until {
                return false;
            }
            self.blocked_until.remove(key);
        }
        let window = self.windows.entry(key.to_owned()).or_default();
        let floor = now.saturating_sub(RATE_WINDOW_MS);
        while window.front().is_some_and(|&t| t <= floor) {
            window.pop_front();
        }
        if window.len() >= RATE_LIMIT {
            self.blocked_until
                .insert(key.to_owned(), now.saturating_add(THROTTLE_BLOCK_MS));
            return false;
        }
        window.push_back(now);
        true
    }

    /// A new-API refusal: HTTP `status` with `{"code","message","requestid"}`.
    fn api_refuse(
        &mut self,
        route: &str,
        status: StatusCode,
        code: &str,
        message: &str,
    ) -> Response {
        self.rejected.push((code.to_owned(), route.to_owned()));
        let body = json!({ "code": code, "message": message, "requestid": request_id() });
        (status, axum::Json(body)).into_response()
    }

    /// An old-API refusal: HTTP 200 with `{"errcode","errmsg"}`.
    fn robot_refuse(&mut self, route: &str, errcode: i64, errmsg: &str) -> Response {
        self.rejected.push((errcode.to_string(), route.to_owned()));
        axum::Json(json!({ "errcode": errcode, "errmsg": errmsg })).into_response()
    }
}

/// A fake DingTalk server; clones share state.
#[derive(Clone)]
pub struct FakeDingtalk {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for FakeDingtalk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeDingtalk").finish_non_exhaustive()
    }
}

impl FakeDingtalk {
    /// A fake that issues tokens for these app credentials.
    pub fn new(app_key: &str, app_secret: &str) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                app_key: app_key.to_owned(),
                app_secret: app_secret.to_owned(),
                tokens: HashMap::new(),
                token_requests: 0,
                robots: HashMap::new(),
                windows: HashMap::new(),
                blocked_until: HashMap::new(),
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

    /// Registers a custom robot (its webhook access_token and optional 加签 secret).
    pub fn add_robot_webhook(&self, access_token: &str, secret: Option<&str>) {
        self.lock()
            .robots
            .insert(access_token.to_owned(), secret.map(str::to_owned));
    }

    /// Adds a person to the org directory: a mention of `user_id` shows as `@name`.
    pub fn add_member(&self, user_id: &str, name: &str) {
        self.lock()
            .members
            .insert(user_id.to_owned(), name.to_owned());
    }

    /// `text` as a group member reads it in a message whose `at.atUserIds` are
    /// `at_user_ids` (a robot, session or HTTP-mode reply body).
    pub fn shown(&self, text: &str, at_user_ids: &[String]) -> String {
        self.lock().shown(text, at_user_ids)
    }

    /// The routes: token, OpenAPI group send, custom robot send, session send.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1.0/oauth2/accessToken", post(oauth_token))
            .route("/v1.0/robot/groupMessages/send", post(group_send))
            .route("/v1.0/robot/oToMessages/batchSend", post(group_send))
            .route("/robot/send", post(robot_send))
            .route("/robot/sendBySession", post(session_send))
            .with_state(self.clone())
    }

    /// Binds 127.0.0.1:0 and serves in a tokio task; `http://{addr}` serves as both `api_base`
    /// and `oapi_base`. The task runs until the runtime shuts down.
    pub async fn spawn(&self) -> std::io::Result<SocketAddr> {
        common::serve_on_loopback(self.router(), "dingtalk").await
    }

    /// Accepted messages, in order.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Every refusal answered, as (code, route), e.g. `("130101", "robot")`; route is one of
    /// `oauth`, `openapi`, `robot`, `session`. Injected failures appear as their HTTP status.
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

    /// Answers the next `n` sends (OpenAPI, robot or session; not token requests) with HTTP
    /// `status` and `{"message":"injected failure"}`, without accepting them. Use a non-2xx status.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.lock().knobs.fail_next(n, status);
    }

    /// Delays every answer (all routes) by `d` of real time.
    pub fn set_latency(&self, d: Duration) {
        self.lock().knobs.set_latency(d);
    }

    /// Invalidates every issued access token: the next OpenAPI send gets `InvalidAuthentication`.
    pub fn expire_tokens(&self) {
        self.lock().tokens.clear();
    }

    /// How many token requests arrived (including refused ones).
    pub fn token_requests(&self) -> usize {
        self.lock().token_requests
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

fn request_id() -> String {
    let mut rng = fastrand::Rng::new();
    format!(
        "{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
        rng.u32(..),
        rng.u16(..),
        rng.u16(..),
        rng.u16(..),
        rng.u64(..) & 0xFFFF_FFFF_FFFF
    )
}

fn random_token() -> String {
    let mut rng = fastrand::Rng::new();
    (0..32)
        .map(|_| char::from(b"0123456789abcdef"[rng.usize(..16)]))
        .collect()
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn non_empty<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    str_field(v, key).filter(|s| !s.trim().is_empty())
}

/// Parses a query string with form semantics (`+` is a space); undecodable pairs are skipped
/// and the first occurrence of a name wins.
fn parse_query(q: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            urlencoding::decode(&s.replace('+', " "))
                .map(|c| c.into_owned())
                .ok()
        };
        if let (Some(k), Some(v)) = (decode(k), decode(v)) {
            out.entry(k).or_insert(v);
        }
    }
    out
}

async fn oauth_token(State(fake): State<FakeDingtalk>, body: Bytes) -> Response {
    fake.delay().await;
    let mut st = fake.lock();
    st.token_requests += 1;
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        // assumed: the code for a missing/unparseable body.
        return st.api_refuse(
            "oauth",
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            "body is mandatory for this action",
        );
    };
    let key_ok = str_field(&req, "appKey") == Some(st.app_key.as_str());
    let secret_ok = str_field(&req, "appSecret") == Some(st.app_secret.as_str());
    if !(key_ok && secret_ok) {
        // confirmed: probe log P3.
        return st.api_refuse(
            "oauth",
            StatusCode::BAD_REQUEST,
            "invalidClientIdOrSecret",
            "无效的clientId或者clientSecret",
        );
    }
    let token = random_token();
    let expires = st.now_ms().saturating_add(TOKEN_LIFETIME_S * 1_000);
    st.tokens.insert(token.clone(), expires);
    axum::Json(json!({ "accessToken": token, "expireIn": TOKEN_LIFETIME_S })).into_response()
}

/// A validated OpenAPI group message.
struct GroupMessage {
    robot_code: String,
    conversation: String,
    msgtype: String,
    title: Option<String>,
    text: String,
}

/// Validates a groupMessages/send body; errors are (code, message). Codes follow the
/// robot-send error table of help.dingtalk.io (`invalidParameter.msgKey.empty`,
/// `invalidParameter.msgKey.invalid`, `invalidParameter.msgParam.invalid`,
/// `invalidParameter.robotCode.empty`, `invalidParameter.param.invalid`); `invalid.openConversationId`
/// is from a secondary copy of a robot API table; the over-15 000-bytes message is assumed.
fn parse_group_message(body: &[u8]) -> Result<GroupMessage, (&'static str, &'static str)> {
    let req: Value = serde_json::from_slice(body)
        .map_err(|_| ("invalidParameter.param.invalid", "参数不合法"))?;
    let msg_key =
        non_empty(&req, "msgKey").ok_or(("invalidParameter.msgKey.empty", "缺少msgKey"))?;
    if !KNOWN_MSG_KEYS.contains(&msg_key) {
        return Err(("invalidParameter.msgKey.invalid", "msgKey无效"));
    }
    let robot_code = non_empty(&req, "robotCode")
        .ok_or(("invalidParameter.robotCode.empty", "机器人robotCode为空"))?;
    // groupMessages/send names a conversation; oToMessages/batchSend names
    // users, recorded as "user:<id>,<id>".
    let users: Option<Vec<&str>> = req
        .get("userIds")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    let direct = users
        .filter(|u| !u.is_empty())
        .map(|u| format!("user:{}", u.join(",")));
    let conversation = match direct {
        Some(d) => d,
        None => non_empty(&req, "openConversationId")
            .ok_or(("invalid.openConversationId", "无效的openConversationId"))?
            .to_owned(),
    };
    let raw = str_field(&req, "msgParam").ok_or((
        "invalidParameter.msgParam.invalid",
        "msgParam必须是JSON格式",
    ))?;
    if raw.len() > MSG_PARAM_MAX_BYTES {
        return Err((
            "invalidParameter.msgParam.invalid",
            "msgParam长度不能超过15000字节",
        ));
    }
    let param: Value = serde_json::from_str(raw).map_err(|_| {
        (
            "invalidParameter.msgParam.invalid",
            "msgParam必须是JSON格式",
        )
    })?;
    if !param.is_object() {
        return Err((
            "invalidParameter.msgParam.invalid",
            "msgParam必须是JSON格式",
        ));
    }
    let (msgtype, title, text) = match msg_key {
        "sampleText" => {
            let content = str_field(&param, "content")
                .ok_or(("invalidParameter.msgParam.invalid", "缺少content"))?;
            ("text".to_owned(), None, content.to_owned())
        }
        "sampleMarkdown" => {
            let title = str_field(&param, "title")
                .ok_or(("invalidParameter.msgParam.invalid", "缺少title"))?;
            let text = str_field(&param, "text")
                .ok_or(("invalidParameter.msgParam.invalid", "缺少text"))?;
            (
                "markdown".to_owned(),
                Some(title.to_owned()),
                text.to_owned(),
            )
        }
        other => (
            other.to_owned(),
            str_field(&param, "title").map(str::to_owned),
            str_field(&param, "text")
                .or_else(|| str_field(&param, "content"))
                .unwrap_or_default()
                .to_owned(),
        ),
    };
    Ok(GroupMessage {
        robot_code: robot_code.to_owned(),
        conversation,
        msgtype,
        title,
        text,
    })
}

async fn group_send(State(fake): State<FakeDingtalk>, headers: HeaderMap, body: Bytes) -> Response {
    fake.delay().await;
    let token = headers
        .get("x-acs-dingtalk-access-token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let mut st = fake.lock();
    if let Some(r) = st.take_failure("openapi") {
        return r;
    }
    let now = st.now_ms();
    let Some(token) = token else {
        // confirmed: probe log P7.
        return st.api_refuse(
            "openapi",
            StatusCode::BAD_REQUEST,
            "AuthenticationFailed.MissingParameter",
            "缺少参数：x-acs-dingtalk-access-token",
        );
    };
    if st.tokens.get(&token).is_none_or(|&expires| now >= expires) {
        // confirmed: probe log P6 and several issues (HTTP 400, not 401).
        return st.api_refuse(
            "openapi",
            StatusCode::BAD_REQUEST,
            "InvalidAuthentication",
            "不合法的access_token",
        );
    }
    let msg = match parse_group_message(&body) {
        Ok(m) => m,
        Err((code, message)) => {
            return st.api_refuse("openapi", StatusCode::BAD_REQUEST, code, message);
        }
    };
    // The budget is per robot *and group*: the 20-a-minute limit is documented
    // per group for robots, and a per-robot-code budget would make a city's
    // fan-out to hundreds of groups take hours, which no deployment sees.
    if !st.admit(
        &format!("openapi:{}:{}", msg.robot_code, msg.conversation),
        now,
    ) {
        // Code confirmed (official flow-control page); HTTP 403 secondary; message assumed.
        return st.api_refuse(
            "openapi",
            StatusCode::FORBIDDEN,
            OPENAPI_THROTTLE_CODE,
            "当前应用调用该接口的频率超过限制，请求被限流",
        );
    }
    let route = if msg.conversation.starts_with("user:") {
        "direct"
    } else {
        "openapi"
    };
    st.received.push(Received {
        route: route.into(),
        target: msg.conversation,
        robot: msg.robot_code,
        msgtype: msg.msgtype,
        title: msg.title,
        shown: msg.text.clone(),
        text: msg.text,
        at_user_ids: Vec::new(),
        at_ms: now,
    });
    axum::Json(json!({ "processQueryKey": random_token() })).into_response()
}

/// A validated custom-robot / session message.
struct WebhookMessage {
    msgtype: String,
    title: Option<String>,
    text: String,
    at_user_ids: Vec<String>,
}

/// Validates a robot body; errors are an errcode-40035 message (assumed: 40035 "缺少参数" is a
/// real old-API code, its use for a bad robot body is not confirmed).
fn parse_webhook_message(body: &[u8]) -> Result<WebhookMessage, &'static str> {
    let v: Value = serde_json::from_slice(body).map_err(|_| "缺少参数 json")?;
    let msgtype = non_empty(&v, "msgtype").ok_or("缺少参数 msgtype")?;
    let section = |name: &str| v.get(name).filter(|s| s.is_object());
    let (title, text) = match msgtype {
        "text" => {
            let content = section("text")
                .and_then(|t| str_field(t, "content"))
                .ok_or("缺少参数 text.content")?;
            (None, content.to_owned())
        }
        "markdown" | "link" | "actionCard" => {
            let s = section(msgtype).ok_or("缺少参数 title/text")?;
            let (Some(title), Some(text)) = (str_field(s, "title"), str_field(s, "text")) else {
                return Err("缺少参数 title/text");
            };
            (Some(title.to_owned()), text.to_owned())
        }
        "feedCard" => {
            let links = section("feedCard")
                .and_then(|s| s.get("links"))
                .and_then(Value::as_array);
            let links = links.ok_or("缺少参数 feedCard.links")?;
            let titles: Vec<&str> = links.iter().filter_map(|l| str_field(l, "title")).collect();
            (None, titles.join("\n"))
        }
        _ => return Err("不支持的msgtype"),
    };
    let at_user_ids = v
        .get("at")
        .and_then(|a| a.get("atUserIds"))
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(WebhookMessage {
        msgtype: msgtype.to_owned(),
        title,
        text,
        at_user_ids,
    })
}

async fn robot_send(
    State(fake): State<FakeDingtalk>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    fake.delay().await;
    let params = parse_query(query.as_deref().unwrap_or_default());
    let mut st = fake.lock();
    if let Some(r) = st.take_failure("robot") {
        return r;
    }
    let now = st.now_ms();
    let Some(token) = params.get("access_token").filter(|t| !t.is_empty()) else {
        // from third-party sources: 40035 missing access_token.
        return st.robot_refuse("robot", 40035, "缺少参数 access_token");
    };
    let Some(secret) = st.robots.get(token).cloned() else {
        // confirmed: probe log P5b.
        return st.robot_refuse("robot", 300005, "token is not exist");
    };
    if let Some(secret) = secret {
        let ts = params.get("timestamp").map(String::as_str);
        let sign = params.get("sign").map(String::as_str);
        if verify_callback(ts, sign, &secret, now).is_err() {
            // from third-party sources: 310000 "sign not match".
            return st.robot_refuse("robot", 310000, "sign not match");
        }
    }
    if body.len() > WEBHOOK_BODY_MAX_BYTES {
        return st.robot_refuse("robot", 460101, "message too long, exceed 20000 bytes");
    }
    let msg = match parse_webhook_message(&body) {
        Ok(m) => m,
        Err(e) => return st.robot_refuse("robot", 40035, e),
    };
    if !st.admit(&format!("robot:{token}"), now) {
        // confirmed: ccfos/nightingale#369.
        return st.robot_refuse("robot", 130101, "send too fast, exceed 20 times per minute");
    }
    let shown = st.shown(&msg.text, &msg.at_user_ids);
    st.received.push(Received {
        route: "robot".into(),
        target: token.clone(),
        robot: token.clone(),
        msgtype: msg.msgtype,
        title: msg.title,
        shown,
        text: msg.text,
        at_user_ids: msg.at_user_ids,
        at_ms: now,
    });
    axum::Json(json!({ "errcode": 0, "errmsg": "ok" })).into_response()
}

async fn session_send(
    State(fake): State<FakeDingtalk>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    fake.delay().await;
    let params = parse_query(query.as_deref().unwrap_or_default());
    let mut st = fake.lock();
    if let Some(r) = st.take_failure("session") {
        return r;
    }
    let now = st.now_ms();
    let Some(session) = params.get("session").filter(|s| !s.is_empty()) else {
        // confirmed: agentscope-ai/agentscope#1317 (the answer for an unknown/expired session).
        return st.robot_refuse("session", 300001, "session 不存在");
    };
    if body.len() > WEBHOOK_BODY_MAX_BYTES {
        return st.robot_refuse("session", 460101, "message too long, exceed 20000 bytes");
    }
    let msg = match parse_webhook_message(&body) {
        Ok(m) => m,
        Err(e) => return st.robot_refuse("session", 40035, e),
    };
    let shown = st.shown(&msg.text, &msg.at_user_ids);
    st.received.push(Received {
        route: "session".into(),
        target: session.clone(),
        robot: String::new(),
        msgtype: msg.msgtype,
        title: msg.title,
        shown,
        text: msg.text,
        at_user_ids: msg.at_user_ids,
        at_ms: now,
    });
    axum::Json(json!({ "errcode": 0, "errmsg": "ok" })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::dingtalk::sign::signed_robot_url;
    use std::time::{SystemTime, UNIX_EPOCH};

    const T0: i64 = 1_700_000_000_000;

    async fn start() -> (FakeDingtalk, String, reqwest::Client) {
        let fake = FakeDingtalk::new("k", "s");
        fake.set_now_ms(T0);
        fake.add_robot_webhook("plain", None);
        fake.add_robot_webhook("signed", Some("SECabc"));
        let addr = fake.spawn().await.expect("spawn");
        (fake, format!("http://{addr}"), reqwest::Client::new())
    }

    async fn post(
        client: &reqwest::Client,
        url: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Value) {
        let mut req = client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn token(client: &reqwest::Client, base: &str) -> String {
        let (status, v) = post(
            client,
            &format!("{base}/v1.0/oauth2/accessToken"),
            &[],
            r#"{"appKey":"k","appSecret":"s"}"#,
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["expireIn"], 7200);
        v["accessToken"].as_str().expect("token").to_owned()
    }

    fn text_body(content: &str) -> String {
        json!({"msgtype":"text","text":{"content":content},"at":{"atUserIds":["u1"],"isAtAll":false}}).to_string()
    }

    #[tokio::test]
    async fn oauth_checks_credentials() {
        let (fake, base, client) = start().await;
        let url = format!("{base}/v1.0/oauth2/accessToken");
        let (status, v) = post(&client, &url, &[], r#"{"appKey":"k","appSecret":"wrong"}"#).await;
        assert_eq!(status, 400);
        assert_eq!(v["code"], "invalidClientIdOrSecret");
        assert!(
            v["requestid"].as_str().is_some_and(|r| r.len() == 36),
            "{v}"
        );
        let (status, v) = post(&client, &url, &[], "not json").await;
        assert_eq!(
            (status, v["code"].as_str()),
            (400, Some("MissingParameter"))
        );
        let t1 = token(&client, &base).await;
        let t2 = token(&client, &base).await;
        assert_ne!(t1, t2);
        assert_eq!(fake.token_requests(), 4);
        assert_eq!(fake.rejected().len(), 2);
    }

    #[tokio::test]
    async fn group_send_validates_token_and_body() {
        let (fake, base, client) = start().await;
        let url = format!("{base}/v1.0/robot/groupMessages/send");
        let good = json!({"msgKey":"sampleText","msgParam":"{\"content\":\"hi\"}","openConversationId":"cid","robotCode":"r"})
            .to_string();
        let (status, v) = post(&client, &url, &[], &good).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (400, Some("AuthenticationFailed.MissingParameter"))
        );
        let (status, v) = post(
            &client,
            &url,
            &[("x-acs-dingtalk-access-token", "forged")],
            &good,
        )
        .await;
        assert_eq!(
            (status, v["code"].as_str()),
            (400, Some("InvalidAuthentication"))
        );
        assert_eq!(v["message"], "不合法的access_token");

        let t = token(&client, &base).await;
        let h = [("x-acs-dingtalk-access-token", t.as_str())];
        let cases = [
            ("{", "invalidParameter.param.invalid"),
            (
                r#"{"msgParam":"{}","openConversationId":"c","robotCode":"r"}"#,
                "invalidParameter.msgKey.empty",
            ),
            (
                r#"{"msgKey":"nope","msgParam":"{}","openConversationId":"c","robotCode":"r"}"#,
                "invalidParameter.msgKey.invalid",
            ),
            (
                r#"{"msgKey":"sampleText","msgParam":"{\"content\":\"x\"}","openConversationId":"c"}"#,
                "invalidParameter.robotCode.empty",
            ),
            (
                r#"{"msgKey":"sampleText","msgParam":"{\"content\":\"x\"}","robotCode":"r"}"#,
                "invalid.openConversationId",
            ),
            (
                r#"{"msgKey":"sampleText","msgParam":{"content":"x"},"openConversationId":"c","robotCode":"r"}"#,
                "invalidParameter.msgParam.invalid",
            ),
            (
                r#"{"msgKey":"sampleText","msgParam":"not json","openConversationId":"c","robotCode":"r"}"#,
                "invalidParameter.msgParam.invalid",
            ),
            (
                r#"{"msgKey":"sampleMarkdown","msgParam":"{\"text\":\"x\"}","openConversationId":"c","robotCode":"r"}"#,
                "invalidParameter.msgParam.invalid",
            ),
        ];
        for (body, code) in cases {
            let (status, v) = post(&client, &url, &h, body).await;
            assert_eq!((status, v["code"].as_str()), (400, Some(code)), "{body}");
        }
        let big = json!({"msgKey":"sampleText","msgParam":json!({"content":"x".repeat(15_000)}).to_string(),
            "openConversationId":"c","robotCode":"r"});
        let (status, v) = post(&client, &url, &h, &big.to_string()).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (400, Some("invalidParameter.msgParam.invalid"))
        );

        let (status, v) = post(&client, &url, &h, &good).await;
        assert_eq!(status, 200, "{v}");
        assert!(v["processQueryKey"].is_string());
        let got = fake.received();
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0],
            Received {
                route: "openapi".into(),
                target: "cid".into(),
                robot: "r".into(),
                msgtype: "text".into(),
                title: None,
                text: "hi".into(),
                at_user_ids: vec![],
                shown: "hi".into(),
                at_ms: T0,
            }
        );

        // Tokens live 7200 s of fake time.
        fake.advance_ms(TOKEN_LIFETIME_S * 1_000);
        let (status, v) = post(&client, &url, &h, &good).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (400, Some("InvalidAuthentication"))
        );
    }

    #[tokio::test]
    async fn members_read_names_where_the_route_mentions_and_the_raw_text_on_openapi() {
        let (fake, base, client) = start().await;
        fake.add_member("u1", "张三");
        let t = token(&client, &base).await;
        let h = [("x-acs-dingtalk-access-token", t.as_str())];
        // OpenAPI has no `at`: one sent anyway is ignored, the text arrives as is.
        let body = json!({"msgKey":"sampleText","msgParam":"{\"content\":\"请 @u1 处理\"}",
            "openConversationId":"cid","robotCode":"r","at":{"atUserIds":["u1"]}});
        let url = format!("{base}/v1.0/robot/groupMessages/send");
        assert_eq!(post(&client, &url, &h, &body.to_string()).await.0, 200);
        let url = format!("{base}/robot/send?access_token=plain");
        assert_eq!(
            post(&client, &url, &[], &text_body("请 @u1 处理")).await.1["errcode"],
            0
        );
        let got = fake.received();
        assert_eq!(
            (got[0].route.as_str(), got[0].shown.as_str()),
            ("openapi", "请 @u1 处理")
        );
        assert!(got[0].at_user_ids.is_empty());
        assert_eq!(
            (got[1].route.as_str(), got[1].shown.as_str()),
            ("robot", "请 @张三 处理")
        );
        // An id not in the at list stays as typed.
        assert_eq!(fake.shown("@u1 @u1x", &[]), "@u1 @u1x");
    }

    #[tokio::test]
    async fn robot_send_checks_token_sign_size_and_body() {
        let (fake, base, client) = start().await;
        let send = |q: String, body: String| {
            let client = client.clone();
            let base = base.clone();
            async move { post(&client, &format!("{base}/robot/send{q}"), &[], &body).await }
        };
        assert_eq!(
            send(String::new(), text_body("x")).await.1["errcode"],
            40035
        );
        assert_eq!(
            send("?access_token=who".into(), text_body("x")).await.1["errcode"],
            300005
        );
        let (status, v) = send("?access_token=plain".into(), text_body("hello")).await;
        assert_eq!(
            (status, v["errcode"].as_i64(), v["errmsg"].as_str()),
            (200, Some(0), Some("ok"))
        );

        // 加签: exact, skewed by exactly 1 h (accepted), by more (refused), wrong secret, missing.
        let signed = |secret: &str, ts: i64| signed_robot_url("?access_token=signed", secret, ts);
        assert_eq!(
            send(signed("SECabc", T0), text_body("a")).await.1["errcode"],
            0
        );
        assert_eq!(
            send(signed("SECabc", T0 - 3_600_000), text_body("b"))
                .await
                .1["errcode"],
            0
        );
        assert_eq!(
            send(signed("SECabc", T0 + 3_600_001), text_body("c"))
                .await
                .1["errcode"],
            310000
        );
        assert_eq!(
            send(signed("SECxyz", T0), text_body("d")).await.1["errcode"],
            310000
        );
        assert_eq!(
            send("?access_token=signed".into(), text_body("e")).await.1["errmsg"],
            "sign not match"
        );

        let big = text_body(&"x".repeat(20_000));
        assert_eq!(
            send("?access_token=plain".into(), big).await.1["errcode"],
            460101
        );
        assert_eq!(
            send("?access_token=plain".into(), "{".into()).await.1["errcode"],
            40035
        );
        let v = send(
            "?access_token=plain".into(),
            r#"{"msgtype":"voice"}"#.into(),
        )
        .await
        .1;
        assert_eq!(v["errcode"], 40035);
        let md = json!({"msgtype":"markdown","markdown":{"title":"T","text":"### x"}}).to_string();
        assert_eq!(send("?access_token=plain".into(), md).await.1["errcode"], 0);

        let got = fake.received();
        let texts: Vec<&str> = got.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["hello", "a", "b", "### x"]);
        assert_eq!(got[0].at_user_ids, ["u1"]);
        assert_eq!(
            (got[3].msgtype.as_str(), got[3].title.as_deref()),
            ("markdown", Some("T"))
        );
        let codes: Vec<String> = fake.rejected().into_iter().map(|(c, _)| c).collect();
        assert_eq!(
            codes,
            [
                "40035", "300005", "310000", "310000", "310000", "460101", "40035", "40035"
            ]
        );
    }

    #[tokio::test]
    async fn session_send_accepts_any_session() {
        let (fake, base, client) = start().await;
        let (_, v) = post(
            &client,
            &format!("{base}/robot/sendBySession?session=abc%2B1"),
            &[],
            &text_body("yo"),
        )
        .await;
        assert_eq!(v["errcode"], 0);
        let (_, v) = post(
            &client,
            &format!("{base}/robot/sendBySession"),
            &[],
            &text_body("yo"),
        )
        .await;
        assert_eq!(
            (v["errcode"].as_i64(), v["errmsg"].as_str()),
            (Some(300001), Some("session 不存在"))
        );
        let got = fake.received();
        assert_eq!(
            (
                got[0].route.as_str(),
                got[0].target.as_str(),
                got[0].robot.as_str()
            ),
            ("session", "abc+1", "")
        );
        // Sessions are not rate limited.
        for _ in 0..25 {
            let (_, v) = post(
                &client,
                &format!("{base}/robot/sendBySession?session=s"),
                &[],
                &text_body("x"),
            )
            .await;
            assert_eq!(v["errcode"], 0);
        }
    }

    #[tokio::test]
    async fn rate_window_rolls_and_blocks_per_robot() {
        let (fake, base, client) = start().await;
        fake.add_robot_webhook("second", None);
        let send = |token: &'static str| {
            let client = client.clone();
            let url = format!("{base}/robot/send?access_token={token}");
            async move { post(&client, &url, &[], &text_body("x")).await.1["errcode"].as_i64() }
        };
        // 20 spread over 59 s: all accepted; at 60 s the first one has left the window.
        for i in 0..20 {
            fake.set_now_ms(T0 + i * 3_100);
            assert_eq!(send("plain").await, Some(0), "message {i}");
        }
        fake.set_now_ms(T0 + 60_000);
        assert_eq!(send("plain").await, Some(0), "window rolled past the first");
        fake.set_now_ms(T0 + 60_001);
        assert_eq!(send("plain").await, Some(130101), "21 in the last 60 s");
        assert_eq!(send("second").await, Some(0), "other robot unaffected");
        fake.set_now_ms(T0 + 60_001 + THROTTLE_BLOCK_MS - 1);
        assert_eq!(send("plain").await, Some(130101), "still blocked");
        fake.set_now_ms(T0 + 60_001 + THROTTLE_BLOCK_MS);
        assert_eq!(send("plain").await, Some(0), "block over");
    }

    #[tokio::test]
    async fn injected_failures_and_latency() {
        let (fake, base, client) = start().await;
        fake.fail_next(1, 500);
        let url = format!("{base}/robot/sendBySession?session=s");
        let (status, v) = post(&client, &url, &[], &text_body("x")).await;
        assert_eq!(
            (status, v["message"].as_str()),
            (500, Some("injected failure"))
        );
        assert_eq!(fake.rejected(), [("500".to_owned(), "session".to_owned())]);
        fake.set_latency(Duration::from_millis(30));
        let started = std::time::Instant::now();
        let (status, _) = post(&client, &url, &[], &text_body("x")).await;
        assert_eq!(status, 200);
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert_eq!(fake.received().len(), 1);
    }

    #[tokio::test]
    async fn system_clock_is_the_default() {
        let fake = FakeDingtalk::new("k", "s");
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
    fn query_parsing_is_lenient() {
        let q = parse_query("a=1&b=x%2By+z&a=2&bad=%FF&&c");
        assert_eq!(q.get("a").map(String::as_str), Some("1"));
        assert_eq!(q.get("b").map(String::as_str), Some("x+y z"));
        assert_eq!(q.get("c").map(String::as_str), Some(""));
        assert!(!q.contains_key("bad"));
    }
}
