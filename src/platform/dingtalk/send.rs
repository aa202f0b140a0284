//! Outbound DingTalk messages: replies through the callback's session webhook,
//! group messages through the OpenAPI, custom robot webhooks; bodies under
//! 20 000 bytes, at most 20 messages a minute per robot.
//!
//! Three routes:
//! * **OpenAPI** (enterprise-internal app robot): `POST {api_base}/v1.0/robot/groupMessages/send`
//!   with header `x-acs-dingtalk-access-token`; the token comes from
//!   `POST {api_base}/v1.0/oauth2/accessToken` and is cached here.
//! * **Custom robot webhook**: `POST {oapi_base}/robot/send?access_token=…` (+ `timestamp` and
//!   `sign` when the robot uses 加签).
//! * **Session webhook**: the `sessionWebhook` URL of a callback, until it expires.
//!
//! # Error shapes: confirmed vs assumed
//!
//! New-style OpenAPI (`api.dingtalk.com`) errors are `HTTP 4xx/5xx` with a JSON body
//! `{"code":"…","message":"…","requestid":"…"}`; old-style robot endpoints (`oapi.dingtalk.com`)
//! answer `HTTP 200` with `{"errcode":N,"errmsg":"…"}`.
//!
//! Confirmed (stored sources, 2026-11 searches):
//! * Invalid or expired access token on api.dingtalk.com: **HTTP 400** (not 401)
//!   `{"code":"InvalidAuthentication","requestid":"…","message":"不合法的access_token"}` — a live
//!   probe log (search-index file id 66385564483, probe P6) and GitHub satorijs/satori#240,
//!   apache/ozhera#74, ClouGence/open-cdm#342, alibabacloud-sdk-php/dingtalk PR #1. We still
//!   treat HTTP 401 as "token invalid" too, in case a gateway answers that way.
//! * Missing token header: HTTP 400 `{"code":"AuthenticationFailed.MissingParameter",
//!   "message":"缺少参数：x-acs-dingtalk-access-token"}` (same probe log, P7).
//! * Wrong appKey/appSecret on `/v1.0/oauth2/accessToken`: HTTP 400
//!   `{"code":"invalidClientIdOrSecret","message":"无效的clientId或者clientSecret"}` (probe P3).
//! * Flow control on the new API: codes `Forbidden.AccessDenied.QpsLimitForAppkeyAndApi`
//!   (per app per API, 1-second windows), `Forbidden.AccessDenied.QpsLimitForApi` (global),
//!   `Forbidden.AccessDenied.ApiCountLimitForOrg` (monthly quota); old API 90018 / 90002 / 90020.
//!   Official page "调用频次与限流"
//!   (open.dingtalk.com/document/development/how-to-process-api-throttling-on-the-dingtalk-server,
//!   stored copy id 61636780484). The page gives codes, not the HTTP status; **HTTP 403** for the
//!   QpsLimit codes is from third-party code and issues (DingTalk-Real-AI/dingtalk-openclaw-connector
//!   #410/#444, several client test fixtures) — secondary.
//! * IP-level flow control (10 000 calls / 20 s): a body like
//!   `{"status":1111,"wait":5,"source":"x5","punish":"deny",…}` (same official page; an HTML
//!   page in some cases). blog.csdn.net/jialiuyang/article/details/118615052 shows it merged
//!   with `"errcode":130101`.
//! * Custom robot: `130101 "send too fast, exceed 20 times per minute"` (ccfos/nightingale#369);
//!   `300005 "token is not exist"` and `660026 "sending too many messages per minute"` (probe
//!   P5b / P5); `460101` body over 20 000 bytes (DingTalk's documented size limit).
//! * Expired session webhook: HTTP 200 `{"errcode":300001,"errmsg":"session 不存在"}`
//!   (agentscope-ai/agentscope#1317, agentscope-ai/QwenPaw#1435, #2392).
//!
//! Assumed (not seen on an official page):
//! * `410100` is a throttle code (seen only in third-party clients, not in DingTalk's
//!   documentation); `-1` is "system busy, retry".
//! * Unknown non-zero `errcode`s are configuration errors (→ [`SendError::Fatal`]).
//! * Any 5xx / 408 is temporary; any other 4xx from OpenAPI is permanent.
//! * A 2xx webhook answer without an `errcode` is treated as temporary (retry) rather than
//!   success, since a real success always carries `errcode: 0`.
//! * OpenAPI flow-control errors are reported as [`SendError::Throttled`] (pause ~10 min) although
//!   the official page says the QPS windows are one second long: conservative, never wrong.

use std::fmt;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::platform::dingtalk::sign::signed_robot_url;
use crate::platform::send::SendError;
use crate::platform::send::{read_response, short};

/// OpenAPI `msgParam` limit (bytes, after JSON encoding) [D-grpsend].
pub const OPENAPI_MSG_PARAM_MAX_BYTES: usize = 15_000;
/// Custom robot / session webhook body limit (bytes) — errcode 460101 beyond it [ding-20000].
pub const WEBHOOK_BODY_MAX_BYTES: usize = 20_000;
/// Text budget per OpenAPI message: half of (15 000 − 1 000 reserved for the title and the JSON
/// envelope), so even text made entirely of characters JSON escapes to two bytes (newline,
/// quote, backslash, tab) fits into `msgParam`.
pub const OPENAPI_TEXT_BUDGET: usize = 7_000;
/// Text budget per robot / session message: half of (20 000 − 2 000 reserved for the title,
/// the `at` lists and the envelope), for the same reason.
pub const WEBHOOK_TEXT_BUDGET: usize = 9_000;
/// Markdown readability: at most 3 000 characters per message (DingTalk clients reportedly stop rendering
/// markdown beyond ~3 500). Applied on top of the byte budget for markdown.
pub const MARKDOWN_MAX_CHARS: usize = 3_000;
/// A session webhook closer than this to its expiry is not used.
pub const SESSION_EXPIRY_MARGIN_MS: i64 = 60_000;
/// Per-request timeout for every call this module makes.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to pause a robot after [`SendError::Throttled`] (DingTalk's custom-robot penalty).
pub const THROTTLE_PAUSE: Duration = Duration::from_secs(600);

/// Where a message goes.
///
/// `Debug` is written by hand so that tokens and secrets never reach a log line.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Route {
    /// Enterprise robot via OpenAPI: POST {api_base}/v1.0/robot/groupMessages/send with header
    /// x-acs-dingtalk-access-token; body {"msgKey","msgParam" (a JSON string),
    /// "openConversationId","robotCode"}.
    OpenApi {
        robot_code: String,
        open_conversation_id: String,
    },
    /// Custom group robot: POST {oapi_base}/robot/send?access_token=…[&timestamp&sign when secret
    /// is set (加签)]. The secret is only needed at send time.
    RobotWebhook {
        access_token: String,
        secret: Option<String>,
    },
    /// A callback's sessionWebhook (full URL), valid until expires_ms.
    Session { url: String, expires_ms: i64 },
    /// Enterprise robot 1:1 messages via OpenAPI: POST
    /// {api_base}/v1.0/robot/oToMessages/batchSend with {"robotCode","userIds","msgKey","msgParam"}
    /// (how a township admin is notified outside any group).
    Direct {
        robot_code: String,
        user_ids: Vec<String>,
    },
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::OpenApi {
                robot_code,
                open_conversation_id,
            } => f
                .debug_struct("OpenApi")
                .field("robot_code", robot_code)
                .field("open_conversation_id", open_conversation_id)
                .finish(),
            Route::RobotWebhook { secret, .. } => f
                .debug_struct("RobotWebhook")
                .field("access_token", &"<redacted>")
                .field("secret", &secret.as_ref().map(|_| "<redacted>"))
                .finish(),
            Route::Session { expires_ms, .. } => f
                .debug_struct("Session")
                .field("url", &"<redacted>")
                .field("expires_ms", expires_ms)
                .finish(),
            Route::Direct {
                robot_code,
                user_ids,
            } => f
                .debug_struct("Direct")
                .field("robot_code", robot_code)
                .field("user_ids", user_ids)
                .finish(),
        }
    }
}

impl Route {
    /// A short name for logs and metrics: `openapi`, `robot` or `session`.
    pub fn kind(&self) -> &'static str {
        match self {
            Route::OpenApi { .. } => "openapi",
            Route::Direct { .. } => "direct",
            Route::RobotWebhook { .. } => "robot",
            Route::Session { .. } => "session",
        }
    }

    /// Whether the route carries an `at` list. The custom robot and a
    /// sessionWebhook do: `@userId` in the text plus `at.atUserIds` is shown
    /// as the person's name and notifies them. The OpenAPI `sampleText` /
    /// `sampleMarkdown` messages have no `at` (PROTOCOLS.md §1.1): an
    /// `@userId` written there reaches the group literally.
    pub fn supports_mentions(&self) -> bool {
        match self {
            Route::RobotWebhook { .. } | Route::Session { .. } => true,
            Route::OpenApi { .. } | Route::Direct { .. } => false,
        }
    }

    /// `reply` as this route must carry it: (text, at-user ids). Where the
    /// route can mention, people become `@userId` plus the at list (the
    /// client shows their names); where it cannot, the text keeps the
    /// display names `@名字` as written, and the at list is empty.
    pub fn render(&self, reply: &crate::reply::Reply) -> (String, Vec<String>) {
        if self.supports_mentions() {
            super::render_text(reply)
        } else {
            (reply.text.clone(), Vec::new())
        }
    }

    /// The text budget (bytes) for one message on this route; see the consts above.
    pub fn text_budget(&self) -> usize {
        match self {
            Route::OpenApi { .. } | Route::Direct { .. } => OPENAPI_TEXT_BUDGET,
            Route::RobotWebhook { .. } | Route::Session { .. } => WEBHOOK_TEXT_BUDGET,
        }
    }
}

/// What to send (platform-neutral enough for the outbox).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutMessage {
    pub title: String,
    pub text: String,
    pub markdown: bool,
    pub at_user_ids: Vec<String>,
    pub at_mobiles: Vec<String>,
}

struct CachedToken {
    value: String,
    /// Fresh until this instant of the caller's clock (epoch ms), so a
    /// simulated clock and the platform's view of expiry agree.
    fresh_until_ms: i64,
}

/// Sends messages to DingTalk. Cheap to share behind an `Arc`; the access token is cached
/// inside and refreshed by one caller at a time.
pub struct DingtalkSender {
    client: reqwest::Client,
    api_base: String,
    oapi_base: String,
    app_key: Option<String>,
    app_secret: Option<String>,
    token: Mutex<Option<CachedToken>>,
}

impl fmt::Debug for DingtalkSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DingtalkSender")
            .field("api_base", &self.api_base)
            .field("oapi_base", &self.oapi_base)
            .field("app_key", &self.app_key)
            .field(
                "app_secret",
                &self.app_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// What an OpenAPI answer means.
#[derive(Debug, PartialEq, Eq)]
enum ApiVerdict {
    Ok,
    /// The access token was refused: refresh once and try again.
    TokenInvalid(SendError),
    Err(SendError),
}

impl DingtalkSender {
    /// `api_base` is e.g. `https://api.dingtalk.com`, `oapi_base` `https://oapi.dingtalk.com`
    /// (a trailing `/` is ignored). Without `app_key` and `app_secret` only the webhook routes work.
    pub fn new(
        client: reqwest::Client,
        api_base: &str,
        oapi_base: &str,
        app_key: Option<String>,
        app_secret: Option<String>,
    ) -> Self {
        Self {
            client,
            api_base: api_base.trim_end_matches('/').to_owned(),
            oapi_base: oapi_base.trim_end_matches('/').to_owned(),
            app_key,
            app_secret,
            token: Mutex::new(None),
        }
    }

    /// Sends one message (already within size limits). now_ms is used for 加签 timestamps and
    /// session expiry. Never retries by itself, except once after a refused access token.
    pub async fn send(
        &self,
        route: &Route,
        msg: &OutMessage,
        now_ms: i64,
    ) -> Result<(), SendError> {
        let result = match route {
            Route::OpenApi {
                robot_code,
                open_conversation_id,
            } => {
                let target = json!({
                    "openConversationId": open_conversation_id,
                    "robotCode": robot_code,
                });
                self.send_openapi("/v1.0/robot/groupMessages/send", target, msg, now_ms)
                    .await
            }
            Route::Direct {
                robot_code,
                user_ids,
            } => {
                let target = json!({ "userIds": user_ids, "robotCode": robot_code });
                self.send_openapi("/v1.0/robot/oToMessages/batchSend", target, msg, now_ms)
                    .await
            }
            Route::RobotWebhook {
                access_token,
                secret,
            } => {
                let url = format!(
                    "{}/robot/send?access_token={}",
                    self.oapi_base,
                    urlencoding::encode(access_token)
                );
                let url = match secret {
                    Some(secret) => signed_robot_url(&url, secret, now_ms),
                    None => url,
                };
                self.post_webhook(&url, &webhook_body(msg)).await
            }
            Route::Session { url, expires_ms } => {
                if *expires_ms < now_ms.saturating_add(SESSION_EXPIRY_MARGIN_MS) {
                    Err(SendError::fatal(
                        "session_expired",
                        "session webhook expired or about to",
                    ))
                } else if !(url.starts_with("https://") || url.starts_with("http://")) {
                    Err(SendError::fatal(
                        "bad_session_url",
                        "session webhook is not an http(s) URL",
                    ))
                } else {
                    self.post_webhook(url, &webhook_body(msg)).await
                }
            }
        };
        match &result {
            Ok(()) => tracing::debug!(route = route.kind(), "dingtalk message sent"),
            Err(e) => {
                tracing::warn!(route = route.kind(), code = e.code(), error = %e, "dingtalk send failed")
            }
        }
        result
    }

    /// Sends `msg` to an OpenAPI robot endpoint at `path`; `target` holds the
    /// addressing fields of the body (conversation or user ids, robot code).
    async fn send_openapi(
        &self,
        path: &str,
        target: Value,
        msg: &OutMessage,
        now_ms: i64,
    ) -> Result<(), SendError> {
        let (msg_key, param) = if msg.markdown {
            (
                "sampleMarkdown",
                json!({ "title": markdown_title(msg), "text": msg.text }),
            )
        } else {
            ("sampleText", json!({ "content": msg.text }))
        };
        let mut body = json!({
            "msgKey": msg_key,
            "msgParam": param.to_string(),
        });
        if let (Some(b), Value::Object(t)) = (body.as_object_mut(), target) {
            b.extend(t);
        }
        let token = self.access_token(None, now_ms).await?;
        match self.post_group_message(path, &token, &body).await {
            ApiVerdict::Ok => Ok(()),
            ApiVerdict::Err(e) => Err(e),
            ApiVerdict::TokenInvalid(_) => {
                tracing::info!("dingtalk access token refused; refreshing once");
                let fresh = self.access_token(Some(&token), now_ms).await?;
                match self.post_group_message(path, &fresh, &body).await {
                    ApiVerdict::Ok => Ok(()),
                    ApiVerdict::Err(e) | ApiVerdict::TokenInvalid(e) => Err(e),
                }
            }
        }
    }

    async fn post_group_message(&self, path: &str, token: &str, body: &Value) -> ApiVerdict {
        let url = format!("{}{path}", self.api_base);
        let sent = self
            .client
            .post(url)
            .header("x-acs-dingtalk-access-token", token)
            .timeout(REQUEST_TIMEOUT)
            .json(body)
            .send()
            .await;
        match read_response(sent).await {
            Ok((status, bytes)) => classify_openapi(status, &bytes),
            Err(e) => ApiVerdict::Err(e),
        }
    }

    async fn post_webhook(&self, url: &str, body: &Value) -> Result<(), SendError> {
        let sent = self
            .client
            .post(url)
            .timeout(REQUEST_TIMEOUT)
            .json(body)
            .send()
            .await;
        let (status, bytes) = read_response(sent).await?;
        classify_webhook(status, &bytes)
    }

    /// The cached access token, or a new one. `stale` is a token the platform just refused: if
    /// the cache still holds it, it is replaced; if another caller already replaced it, the
    /// newer token is returned without a request. The lock is held across the refresh, so
    /// concurrent callers share one token request.
    async fn access_token(&self, stale: Option<&str>, now_ms: i64) -> Result<String, SendError> {
        let (Some(key), Some(secret)) = (self.app_key.as_deref(), self.app_secret.as_deref())
        else {
            return Err(SendError::fatal(
                "no_app_credentials",
                "OpenAPI route needs app_key and app_secret",
            ));
        };
        let mut cache = self.token.lock().await;
        if let Some(t) = cache.as_ref() {
            let refused = stale.is_some_and(|s| s == t.value);
            if !refused && now_ms < t.fresh_until_ms {
                return Ok(t.value.clone());
            }
        }
        *cache = None;
        let (value, expire_in_s) = self.fetch_token(key, secret).await?;
        // Cache until 5 min before expiry, or for half the lifetime when it is short.
        let lifetime = Duration::from_secs(expire_in_s.clamp(0, 86_400).unsigned_abs());
        let margin = if lifetime > Duration::from_secs(600) {
            Duration::from_secs(300)
        } else {
            lifetime / 2
        };
        *cache = Some(CachedToken {
            value: value.clone(),
            fresh_until_ms: now_ms
                .saturating_add(i64::try_from((lifetime - margin).as_millis()).unwrap_or(0)),
        });
        tracing::debug!(expire_in_s, "dingtalk access token refreshed");
        Ok(value)
    }

    async fn fetch_token(&self, key: &str, secret: &str) -> Result<(String, i64), SendError> {
        let url = format!("{}/v1.0/oauth2/accessToken", self.api_base);
        let sent = self
            .client
            .post(url)
            .timeout(REQUEST_TIMEOUT)
            .json(&json!({ "appKey": key, "appSecret": secret }))
            .send()
            .await;
        let (status, bytes) = read_response(sent).await?;
        match classify_openapi(status, &bytes) {
            ApiVerdict::Ok => {}
            // A refused token request is a credentials problem, not a stale token.
            ApiVerdict::Err(e) | ApiVerdict::TokenInvalid(e) => return Err(e),
        }
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|_| SendError::retry("bad_token_response", "token response is not JSON"))?;
        let token = v
            .get("accessToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty());
        let Some(token) = token else {
            return Err(SendError::retry(
                "bad_token_response",
                "token response has no accessToken",
            ));
        };
        let expire_in = v
            .get("expireIn")
            .and_then(|e| {
                e.as_i64()
                    .or_else(|| e.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(0);
        Ok((token.to_owned(), expire_in))
    }
}

/// The markdown title DingTalk shows in the conversation list; it must not be empty, so an
/// empty title falls back to the first line of the text (without `#`), at most 30 chars.
fn markdown_title(msg: &OutMessage) -> String {
    if !msg.title.trim().is_empty() {
        return msg.title.clone();
    }
    let first = msg
        .text
        .lines()
        .map(|l| l.trim_start_matches(['#', ' ', '>']).trim())
        .find(|l| !l.is_empty())
        .unwrap_or("消息");
    first.chars().take(30).collect()
}

/// The robot / session webhook body for `msg` (`text` or `markdown` with `at`). Mentions render only when the
/// text itself contains `@userId` / `@mobile`; the text is sent as given.
fn webhook_body(msg: &OutMessage) -> Value {
    let at = json!({
        "atUserIds": msg.at_user_ids,
        "atMobiles": msg.at_mobiles,
        "isAtAll": false,
    });
    if msg.markdown {
        json!({
            "msgtype": "markdown",
            "markdown": { "title": markdown_title(msg), "text": msg.text },
            "at": at,
        })
    } else {
        json!({ "msgtype": "text", "text": { "content": msg.text }, "at": at })
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// IP-level flow control answers `{"status":1111,…,"punish":"deny",…}` (or an HTML page with it).
fn is_ip_punishment(body: &[u8]) -> bool {
    contains(body, b"\"punish\"") && contains(body, b"deny")
}

/// Classifies an answer of the new OpenAPI (`api.dingtalk.com`).
fn classify_openapi(status: u16, body: &[u8]) -> ApiVerdict {
    if (200..300).contains(&status) {
        return ApiVerdict::Ok;
    }
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |k: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let code = field("code")
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| status.to_string());
    let message =
        short(&field("message").unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()));

    if is_ip_punishment(body) {
        return ApiVerdict::Err(SendError::throttled("ip_flow_control", message));
    }
    if status == 401 || code == "InvalidAuthentication" {
        return ApiVerdict::TokenInvalid(SendError::fatal(code, message));
    }
    if status == 429
        || code.contains("QpsLimit")
        || code == "Forbidden.AccessDenied.ApiCountLimitForOrg"
    {
        return ApiVerdict::Err(SendError::throttled(code, message));
    }
    if status >= 500 || status == 408 {
        return ApiVerdict::Err(SendError::retry(code, message));
    }
    ApiVerdict::Err(SendError::fatal(code, message))
}

/// Classifies a custom robot / session webhook answer (`oapi.dingtalk.com`: errors are HTTP 200
/// with a non-zero `errcode`).
fn classify_webhook(status: u16, body: &[u8]) -> Result<(), SendError> {
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
        .and_then(|v| v.get("errmsg").or_else(|| v.get("message")))
        .and_then(Value::as_str)
        .map(short)
        .unwrap_or_else(|| short(&String::from_utf8_lossy(body)));
    let ok_status = (200..300).contains(&status);
    match errcode {
        Some(0) if ok_status => return Ok(()),
        Some(code) if code != 0 => return classify_errcode(code, errmsg),
        _ => {}
    }
    if is_ip_punishment(body) || status == 429 {
        return Err(SendError::throttled(
            if status == 429 {
                "429".to_owned()
            } else {
                "ip_flow_control".to_owned()
            },
            errmsg,
        ));
    }
    if status >= 500 || status == 408 {
        return Err(SendError::retry(status.to_string(), errmsg));
    }
    if !ok_status {
        return Err(SendError::fatal(status.to_string(), errmsg));
    }
    Err(SendError::retry("unexpected_response", errmsg))
}

/// Old-style `errcode` classification (custom robot, session webhook).
fn classify_errcode(code: i64, message: String) -> Result<(), SendError> {
    match code {
        0 => Ok(()),
        -1 => Err(SendError::retry("-1", message)),
        // 130101 / 660026: custom robot over 20/min; 410100: secondary; 90002 / 90018 / 90020:
        // old-API flow control (official "调用频次与限流").
        130101 | 410100 | 660026 | 90002 | 90018 | 90020 => {
            Err(SendError::throttled(code.to_string(), message))
        }
        // 300001 session gone, 300005 token not exist, 310000 keywords/sign/ip, 4xxxxx
        // (460101 too long), 40035 missing parameter, and anything unknown.
        _ => Err(SendError::fatal(code.to_string(), message)),
    }
}

/// Splits a long text into parts each ≤ max_bytes UTF-8 bytes, at line breaks where possible
/// (never inside a UTF-8 char), numbering parts "(1/3)" at the end of each part when more than
/// one.
///
/// A text that fits is returned unchanged as the only part (even when empty). A cut at a line
/// break drops that break (and blank lines at the start of the next part); a line longer than
/// the budget is cut at the last character that fits. The suffix is `"\n(k/n)"` and counts
/// against `max_bytes`. If `max_bytes` is too small for the suffix plus one character, parts are
/// not numbered; if it is smaller than one character, each part holds one character (and may
/// exceed `max_bytes`) — sensible budgets are in the hundreds of bytes at least. A text made
/// only of line breaks and longer than `max_bytes` yields no parts.
pub fn split_message(text: &str, max_bytes: usize) -> Vec<String> {
    split_limited(text, max_bytes, usize::MAX)
}

/// Splits `text` for `route`: the route's byte budget, plus [`MARKDOWN_MAX_CHARS`] for markdown.
pub fn split_for(route: &Route, markdown: bool, text: &str) -> Vec<String> {
    let max_chars = if markdown {
        MARKDOWN_MAX_CHARS
    } else {
        usize::MAX
    };
    split_limited(text, route.text_budget(), max_chars)
}

fn split_limited(text: &str, max_bytes: usize, max_chars: usize) -> Vec<String> {
    if text.len() <= max_bytes && text.chars().count() <= max_chars {
        return vec![text.to_owned()];
    }
    let mut digits = 1usize;
    loop {
        // "\n(" + k + "/" + n + ")", k and n at most `digits` digits; all ASCII.
        let reserve = 4 + 2 * digits;
        if max_bytes < reserve + 4 || max_chars < reserve + 1 {
            return split_raw(text, max_bytes, max_chars);
        }
        let parts = split_raw(text, max_bytes - reserve, max_chars - reserve);
        let n = parts.len();
        if n <= 1 {
            return parts;
        }
        let needed = n.to_string().len();
        if needed <= digits {
            return parts
                .into_iter()
                .enumerate()
                .map(|(i, p)| format!("{p}\n({}/{n})", i + 1))
                .collect();
        }
        digits = needed;
    }
}

/// The byte length of the longest prefix of `s` within both limits (at a char boundary).
fn prefix_len(s: &str, max_bytes: usize, max_chars: usize) -> usize {
    let mut end = 0;
    for (count, (i, c)) in s.char_indices().enumerate() {
        let next = i + c.len_utf8();
        if count >= max_chars || next > max_bytes {
            break;
        }
        end = next;
    }
    end
}

fn split_raw(text: &str, max_bytes: usize, max_chars: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = text.trim_start_matches(['\n', '\r']);
    while !rest.is_empty() {
        let mut limit = prefix_len(rest, max_bytes, max_chars);
        if limit >= rest.len() {
            parts.push(rest.to_owned());
            break;
        }
        if limit == 0 {
            // Budget below one character: take one anyway so we always make progress.
            limit = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let (part, next) = match rest[..limit].rfind('\n') {
            Some(p) if p > 0 => (&rest[..p], &rest[p + 1..]),
            _ => (&rest[..limit], &rest[limit..]),
        };
        let part = part.trim_end_matches('\r');
        if !part.trim_matches(['\n', '\r']).is_empty() {
            parts.push(part.to_owned());
        }
        rest = next.trim_start_matches(['\n', '\r']);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dev::fake::dingtalk::FakeDingtalk;
    use std::sync::Arc;

    const T0: i64 = 1_700_000_000_000;
    const MINUTE: i64 = 60_000;
    const SECRET: &str = "SEC1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80";

    async fn setup() -> (FakeDingtalk, DingtalkSender, String) {
        let fake = FakeDingtalk::new("app-key", "app-secret");
        fake.set_now_ms(T0);
        fake.add_robot_webhook("tok-plain", None);
        fake.add_robot_webhook("tok-other", None);
        fake.add_robot_webhook("tok-signed", Some(SECRET));
        let addr = fake.spawn().await.expect("spawn fake");
        let base = format!("http://{addr}");
        let sender = DingtalkSender::new(
            reqwest::Client::new(),
            &format!("{base}/"),
            &base,
            Some("app-key".into()),
            Some("app-secret".into()),
        );
        (fake, sender, base)
    }

    fn text(t: &str) -> OutMessage {
        OutMessage {
            title: String::new(),
            text: t.into(),
            markdown: false,
            at_user_ids: vec!["u1".into()],
            at_mobiles: vec!["13800001111".into()],
        }
    }

    fn markdown(title: &str, t: &str) -> OutMessage {
        OutMessage {
            title: title.into(),
            text: t.into(),
            markdown: true,
            at_user_ids: vec![],
            at_mobiles: vec![],
        }
    }

    fn openapi(robot: &str) -> Route {
        Route::OpenApi {
            robot_code: robot.into(),
            open_conversation_id: "cid-group-1".into(),
        }
    }

    fn robot(token: &str) -> Route {
        Route::RobotWebhook {
            access_token: token.into(),
            secret: None,
        }
    }

    #[tokio::test]
    async fn text_and_markdown_land_via_all_three_routes() {
        let (fake, sender, base) = setup().await;
        let session = Route::Session {
            url: format!("{base}/robot/sendBySession?session=sess-42"),
            expires_ms: T0 + 90 * MINUTE,
        };
        for route in [openapi("robot-a"), robot("tok-plain"), session] {
            sender
                .send(&route, &text("@u1 明早8点集合"), T0)
                .await
                .expect("text");
            sender
                .send(&route, &markdown("周报", "### 本周\n- 一\n- 二"), T0)
                .await
                .expect("markdown");
        }
        let got = fake.received();
        assert_eq!(got.len(), 6, "{got:?}");
        let routes: Vec<&str> = got.iter().map(|r| r.route.as_str()).collect();
        assert_eq!(
            routes,
            ["openapi", "openapi", "robot", "robot", "session", "session"]
        );

        assert_eq!(
            (got[0].target.as_str(), got[0].robot.as_str()),
            ("cid-group-1", "robot-a")
        );
        assert_eq!(
            (got[0].msgtype.as_str(), got[0].title.as_deref()),
            ("text", None)
        );
        assert_eq!(got[0].text, "@u1 明早8点集合");
        assert!(
            got[0].at_user_ids.is_empty(),
            "OpenAPI sampleText carries no @ list"
        );
        assert_eq!(
            (got[1].msgtype.as_str(), got[1].title.as_deref()),
            ("markdown", Some("周报"))
        );
        assert_eq!(got[1].text, "### 本周\n- 一\n- 二");

        assert_eq!(
            (got[2].target.as_str(), got[2].robot.as_str()),
            ("tok-plain", "tok-plain")
        );
        assert_eq!(got[2].at_user_ids, ["u1"]);
        assert_eq!(got[2].text, "@u1 明早8点集合");
        assert_eq!(
            (got[3].msgtype.as_str(), got[3].title.as_deref()),
            ("markdown", Some("周报"))
        );

        assert_eq!(got[4].target, "sess-42");
        assert_eq!(got[4].at_user_ids, ["u1"]);
        assert_eq!(got[5].text, "### 本周\n- 一\n- 二");
        assert!(got.iter().all(|r| r.at_ms == T0));
        assert!(fake.rejected().is_empty());
    }

    #[tokio::test]
    async fn markdown_without_title_gets_one_from_the_text() {
        let (fake, sender, _) = setup().await;
        sender
            .send(
                &robot("tok-plain"),
                &markdown("", "\n## 排班表\n- 张三"),
                T0,
            )
            .await
            .expect("send");
        assert_eq!(fake.received()[0].title.as_deref(), Some("排班表"));
    }

    #[tokio::test]
    async fn signed_robot_is_accepted_and_bad_signatures_are_fatal() {
        let (fake, sender, _) = setup().await;
        let good = Route::RobotWebhook {
            access_token: "tok-signed".into(),
            secret: Some(SECRET.into()),
        };
        sender
            .send(&good, &text("加签"), T0 + 1234)
            .await
            .expect("signed");
        assert_eq!(fake.received().len(), 1);

        let wrong = Route::RobotWebhook {
            access_token: "tok-signed".into(),
            secret: Some("SECwrong".into()),
        };
        let err = sender
            .send(&wrong, &text("x"), T0)
            .await
            .expect_err("wrong secret");
        assert!(
            matches!(&err, SendError::Fatal { code, .. } if code == "310000"),
            "{err:?}"
        );

        let unsigned = robot("tok-signed");
        let err = sender
            .send(&unsigned, &text("x"), T0)
            .await
            .expect_err("no sign");
        assert_eq!(err.code(), "310000");

        // Timestamp more than an hour from the fake's clock.
        let err = sender
            .send(&good, &text("x"), T0 - 3_600_001)
            .await
            .expect_err("stale");
        assert!(matches!(err, SendError::Fatal { .. }));
        assert_eq!(err.code(), "310000");
        assert_eq!(fake.received().len(), 1);
        assert_eq!(fake.rejected().len(), 3);
    }

    #[tokio::test]
    async fn unknown_robot_token_is_fatal_300005() {
        let (fake, sender, _) = setup().await;
        let err = sender
            .send(&robot("tok-nobody"), &text("x"), T0)
            .await
            .expect_err("unknown");
        assert!(
            matches!(&err, SendError::Fatal { code, .. } if code == "300005"),
            "{err:?}"
        );
        assert_eq!(fake.rejected(), [("300005".to_owned(), "robot".to_owned())]);
    }

    #[tokio::test]
    async fn token_is_cached_across_sends() {
        let (fake, sender, _) = setup().await;
        for i in 0..5 {
            sender
                .send(&openapi("robot-a"), &text(&format!("m{i}")), T0)
                .await
                .expect("send");
        }
        assert_eq!(fake.token_requests(), 1);
        assert_eq!(fake.received().len(), 5);
    }

    #[tokio::test]
    async fn concurrent_first_sends_share_one_token_request() {
        let (fake, sender, _) = setup().await;
        let sender = Arc::new(sender);
        let mut tasks = Vec::new();
        for i in 0..8 {
            let s = Arc::clone(&sender);
            let robot = format!("robot-{i}");
            tasks.push(tokio::spawn(async move {
                s.send(&openapi(&robot), &text("hi"), T0).await
            }));
        }
        for t in tasks {
            t.await.expect("join").expect("send");
        }
        assert_eq!(fake.token_requests(), 1);
    }

    #[tokio::test]
    async fn expired_token_is_refreshed_once_and_the_send_succeeds() {
        let (fake, sender, _) = setup().await;
        sender
            .send(&openapi("robot-a"), &text("one"), T0)
            .await
            .expect("first");
        fake.expire_tokens();
        sender
            .send(&openapi("robot-a"), &text("two"), T0)
            .await
            .expect("after refresh");
        assert_eq!(fake.token_requests(), 2);
        assert_eq!(fake.received().len(), 2);
        assert_eq!(
            fake.rejected(),
            [("InvalidAuthentication".to_owned(), "openapi".to_owned())]
        );

        // Concurrent senders that all hit the refused token still refresh only once.
        fake.expire_tokens();
        let sender = Arc::new(sender);
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let s = Arc::clone(&sender);
            tasks.push(tokio::spawn(async move {
                s.send(&openapi("robot-b"), &text("x"), T0).await
            }));
        }
        for t in tasks {
            t.await.expect("join").expect("send");
        }
        assert_eq!(fake.token_requests(), 3);
    }

    #[tokio::test]
    async fn wrong_app_credentials_are_fatal() {
        let (fake, _, base) = setup().await;
        let sender = DingtalkSender::new(
            reqwest::Client::new(),
            &base,
            &base,
            Some("app-key".into()),
            Some("nope".into()),
        );
        let err = sender
            .send(&openapi("robot-a"), &text("x"), T0)
            .await
            .expect_err("bad creds");
        assert!(
            matches!(&err, SendError::Fatal { code, .. } if code == "invalidClientIdOrSecret"),
            "{err:?}"
        );
        assert_eq!(fake.token_requests(), 1);

        let no_creds = DingtalkSender::new(reqwest::Client::new(), &base, &base, None, None);
        let err = no_creds
            .send(&openapi("robot-a"), &text("x"), T0)
            .await
            .expect_err("no creds");
        assert_eq!(err.code(), "no_app_credentials");
        assert_eq!(fake.token_requests(), 1);
    }

    #[tokio::test]
    async fn robot_webhook_throttle_lasts_ten_fake_minutes_and_is_per_robot() {
        let (fake, sender, _) = setup().await;
        for i in 0..20 {
            fake.set_now_ms(T0 + i * 1_000);
            sender
                .send(&robot("tok-plain"), &text(&format!("m{i}")), T0)
                .await
                .expect("within budget");
        }
        fake.set_now_ms(T0 + 30_000);
        let err = sender
            .send(&robot("tok-plain"), &text("21st"), T0)
            .await
            .expect_err("21st");
        assert!(
            matches!(&err, SendError::Throttled { code, .. } if code == "130101"),
            "{err:?}"
        );

        // Another robot is unaffected.
        sender
            .send(&robot("tok-other"), &text("other"), T0)
            .await
            .expect("other robot");

        // Still blocked 9 fake minutes later, though the 60 s window has long rolled over.
        fake.set_now_ms(T0 + 30_000 + 9 * MINUTE);
        let err = sender
            .send(&robot("tok-plain"), &text("later"), T0)
            .await
            .expect_err("blocked");
        assert!(matches!(err, SendError::Throttled { .. }));

        fake.set_now_ms(T0 + 30_000 + 10 * MINUTE);
        sender
            .send(&robot("tok-plain"), &text("free again"), T0)
            .await
            .expect("unblocked");
        assert_eq!(fake.received().len(), 22);
        assert_eq!(
            fake.rejected(),
            [
                ("130101".to_owned(), "robot".to_owned()),
                ("130101".to_owned(), "robot".to_owned())
            ]
        );
    }

    #[tokio::test]
    async fn openapi_throttle_is_per_robot_code() {
        let (fake, sender, _) = setup().await;
        for i in 0..20 {
            sender
                .send(&openapi("robot-a"), &text(&format!("m{i}")), T0)
                .await
                .expect("within budget");
        }
        let err = sender
            .send(&openapi("robot-a"), &text("21st"), T0)
            .await
            .expect_err("21st");
        assert!(
            matches!(&err, SendError::Throttled { code, .. } if code == "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"),
            "{err:?}"
        );
        sender
            .send(&openapi("robot-b"), &text("other"), T0)
            .await
            .expect("other robot");
        fake.set_now_ms(T0 + 5 * MINUTE);
        assert!(matches!(
            sender.send(&openapi("robot-a"), &text("x"), T0).await,
            Err(SendError::Throttled { .. })
        ));
        fake.set_now_ms(T0 + 10 * MINUTE);
        sender
            .send(&openapi("robot-a"), &text("x"), T0)
            .await
            .expect("unblocked");
    }

    #[tokio::test]
    async fn injected_503s_are_retry_then_success() {
        let (fake, sender, _) = setup().await;
        fake.fail_next(2, 503);
        for _ in 0..2 {
            let err = sender
                .send(&robot("tok-plain"), &text("x"), T0)
                .await
                .expect_err("503");
            assert_eq!(
                err,
                SendError::Retry {
                    code: "503".into(),
                    message: "injected failure".into()
                }
            );
        }
        sender
            .send(&robot("tok-plain"), &text("x"), T0)
            .await
            .expect("third succeeds");

        fake.fail_next(1, 502);
        let err = sender
            .send(&openapi("robot-a"), &text("x"), T0)
            .await
            .expect_err("502");
        assert!(
            matches!(&err, SendError::Retry { code, .. } if code == "502"),
            "{err:?}"
        );
        sender
            .send(&openapi("robot-a"), &text("x"), T0)
            .await
            .expect("then ok");
        assert_eq!(fake.received().len(), 2);
    }

    #[tokio::test]
    async fn expired_session_is_fatal_without_a_request() {
        let (fake, sender, base) = setup().await;
        let url = format!("{base}/robot/sendBySession?session=s1");
        let nearly = Route::Session {
            url: url.clone(),
            expires_ms: T0 + 59_999,
        };
        let err = sender
            .send(&nearly, &text("x"), T0)
            .await
            .expect_err("expired");
        assert_eq!(err.code(), "session_expired");
        assert!(matches!(err, SendError::Fatal { .. }));
        // A dead address would give Retry(network) if a request were made.
        let dead = Route::Session {
            url: "http://127.0.0.1:9/robot/sendBySession?session=s".into(),
            expires_ms: T0,
        };
        assert_eq!(
            sender
                .send(&dead, &text("x"), T0)
                .await
                .expect_err("expired")
                .code(),
            "session_expired"
        );
        assert!(fake.received().is_empty() && fake.rejected().is_empty());

        let fine = Route::Session {
            url,
            expires_ms: T0 + 60_000,
        };
        sender
            .send(&fine, &text("x"), T0)
            .await
            .expect("exactly one minute left is fine");
    }

    #[tokio::test]
    async fn oversize_messages_are_fatal() {
        let (fake, sender, base) = setup().await;
        let big = "村".repeat(7_000); // 21 000 bytes
        let err = sender
            .send(&robot("tok-plain"), &text(&big), T0)
            .await
            .expect_err("too long");
        assert!(
            matches!(&err, SendError::Fatal { code, .. } if code == "460101"),
            "{err:?}"
        );
        let session = Route::Session {
            url: format!("{base}/robot/sendBySession?session=s"),
            expires_ms: T0 + MINUTE * 90,
        };
        assert_eq!(
            sender
                .send(&session, &text(&big), T0)
                .await
                .expect_err("too long")
                .code(),
            "460101"
        );
        let err = sender
            .send(&openapi("robot-a"), &text(&big), T0)
            .await
            .expect_err("msgParam too long");
        assert!(
            matches!(&err, SendError::Fatal { code, .. } if code == "invalidParameter.msgParam.invalid"),
            "{err:?}"
        );
        assert!(fake.received().is_empty());

        // Every part produced by split_for fits its route, even with escape-heavy text.
        let nasty = "\"\\\n".repeat(10_000) + &"汉".repeat(10_000);
        let mut clock = T0;
        for route in [openapi("robot-b"), robot("tok-other"), session] {
            for md in [false, true] {
                for part in split_for(&route, md, &nasty) {
                    // Step the fake clock so the 20/min limit never interferes.
                    clock += 5_000;
                    fake.set_now_ms(clock);
                    let msg = OutMessage {
                        markdown: md,
                        title: "t".into(),
                        ..text(&part)
                    };
                    if let Err(e) = sender.send(&route, &msg, clock).await {
                        panic!("{route:?} md={md}: {e:?}");
                    }
                }
            }
        }
        assert!(fake.received().len() > 30);
    }

    #[tokio::test]
    async fn latency_is_honoured() {
        let (fake, sender, _) = setup().await;
        fake.set_latency(Duration::from_millis(50));
        let started = std::time::Instant::now();
        sender
            .send(&robot("tok-plain"), &text("slow"), T0)
            .await
            .expect("send");
        assert!(
            started.elapsed() >= Duration::from_millis(50),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn network_failure_is_retry_and_hides_the_url() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let base = format!("http://{addr}");
        let sender = DingtalkSender::new(reqwest::Client::new(), &base, &base, None, None);
        let err = sender
            .send(&robot("secret-token-xyz"), &text("x"), T0)
            .await
            .expect_err("refused");
        assert!(matches!(err, SendError::Retry { .. }), "{err:?}");
        assert_eq!(err.code(), "network");
        assert!(!err.to_string().contains("secret-token-xyz"), "{err}");
    }

    #[test]
    fn each_route_renders_mentions_its_own_way() {
        use crate::reply::{Mention, Reply};
        let r = Reply::with_mentions(
            "#1 逾期 @张三",
            vec![Mention {
                user_id: "zs01".into(),
                name: "张三".into(),
            }],
        );
        let session = Route::Session {
            url: "http://x".into(),
            expires_ms: 1,
        };
        for route in [robot("t"), session] {
            assert!(route.supports_mentions());
            assert_eq!(
                route.render(&r),
                ("#1 逾期 @zs01".to_string(), vec!["zs01".to_string()])
            );
        }
        let direct = Route::Direct {
            robot_code: "r".into(),
            user_ids: vec!["zs01".into()],
        };
        for route in [openapi("r"), direct] {
            assert!(!route.supports_mentions());
            assert_eq!(route.render(&r), ("#1 逾期 @张三".to_string(), Vec::new()));
        }
    }

    #[test]
    fn route_debug_redacts_secrets() {
        let r = Route::RobotWebhook {
            access_token: "tok123".into(),
            secret: Some("SECabc".into()),
        };
        let s = format!("{r:?}");
        assert!(!s.contains("tok123") && !s.contains("SECabc"), "{s}");
        let r = Route::Session {
            url: "https://oapi.dingtalk.com/robot/sendBySession?session=zzz".into(),
            expires_ms: 1,
        };
        assert!(!format!("{r:?}").contains("zzz"));
        let json = serde_json::to_value(openapi("r")).expect("ser");
        assert_eq!(json["kind"], "open_api");
        let back: Route = serde_json::from_value(json).expect("de");
        assert_eq!(back, openapi("r"));
    }

    #[test]
    fn openapi_classification() {
        let body =
            r#"{"code":"InvalidAuthentication","requestid":"X","message":"不合法的access_token"}"#
                .as_bytes();
        assert!(matches!(
            classify_openapi(400, body),
            ApiVerdict::TokenInvalid(SendError::Fatal { .. })
        ));
        assert!(matches!(
            classify_openapi(401, b""),
            ApiVerdict::TokenInvalid(_)
        ));
        let qps = br#"{"code":"Forbidden.AccessDenied.QpsLimitForApi","message":"m"}"#;
        assert!(matches!(
            classify_openapi(403, qps),
            ApiVerdict::Err(SendError::Throttled { .. })
        ));
        let month = br#"{"code":"Forbidden.AccessDenied.ApiCountLimitForOrg","message":"m"}"#;
        assert!(matches!(
            classify_openapi(403, month),
            ApiVerdict::Err(SendError::Throttled { .. })
        ));
        let perm =
            br#"{"code":"Forbidden.AccessDenied.AccessTokenPermissionDenied","message":"m"}"#;
        assert!(matches!(
            classify_openapi(403, perm),
            ApiVerdict::Err(SendError::Fatal { .. })
        ));
        assert!(matches!(
            classify_openapi(429, b"busy"),
            ApiVerdict::Err(SendError::Throttled { .. })
        ));
        let x5 = br#"{"status":1111,"wait":5,"source":"x5","punish":"deny","uuid":"u"}"#;
        assert!(matches!(
            classify_openapi(403, x5),
            ApiVerdict::Err(SendError::Throttled { .. })
        ));
        assert!(matches!(
            classify_openapi(503, b"<html>"),
            ApiVerdict::Err(SendError::Retry { .. })
        ));
        let bad = br#"{"code":"invalidParameter.robotCode.empty","message":"m"}"#;
        assert_eq!(
            classify_openapi(400, bad),
            ApiVerdict::Err(SendError::fatal("invalidParameter.robotCode.empty", "m"))
        );
        assert_eq!(
            classify_openapi(200, br#"{"processQueryKey":"k"}"#),
            ApiVerdict::Ok
        );
    }

    #[test]
    fn webhook_classification() {
        assert_eq!(
            classify_webhook(200, br#"{"errcode":0,"errmsg":"ok"}"#),
            Ok(())
        );
        let c = |b: &[u8]| classify_webhook(200, b).expect_err("error");
        assert!(matches!(
            c(br#"{"errcode":-1,"errmsg":"busy"}"#),
            SendError::Retry { .. }
        ));
        for code in [130101, 410100, 660026] {
            let body = format!(r#"{{"errcode":{code},"errmsg":"slow down"}}"#);
            assert!(
                matches!(c(body.as_bytes()), SendError::Throttled { .. }),
                "{code}"
            );
        }
        for code in [300001, 300005, 310000, 400101, 460101, 40035, 123456] {
            let body = format!(r#"{{"errcode":{code},"errmsg":"no"}}"#);
            assert!(
                matches!(c(body.as_bytes()), SendError::Fatal { .. }),
                "{code}"
            );
        }
        let x5 = br#"{"status":1111,"wait":5,"source":"x5","punish":"deny","errcode":130101,"errmsg":"send too fast"}"#;
        assert_eq!(c(x5).code(), "130101");
        assert!(matches!(
            c(br#"{"status":1111,"punish":"deny"}"#),
            SendError::Throttled { .. }
        ));
        assert!(matches!(c(b"not json"), SendError::Retry { .. }));
        assert!(matches!(
            classify_webhook(502, b""),
            Err(SendError::Retry { .. })
        ));
        assert!(matches!(
            classify_webhook(404, b"nope"),
            Err(SendError::Fatal { .. })
        ));
        assert!(matches!(
            classify_webhook(429, b""),
            Err(SendError::Throttled { .. })
        ));
        assert_eq!(
            classify_webhook(200, br#"{"errcode":"0","errmsg":"ok"}"#),
            Ok(())
        );
    }

    fn strip_suffix(part: &str) -> &str {
        part.rsplit_once("\n(").map_or(part, |(p, _)| p)
    }

    #[test]
    fn split_fits_unchanged_at_the_exact_limit() {
        let t = "a".repeat(100);
        assert_eq!(split_message(&t, 100), std::slice::from_ref(&t));
        assert_eq!(split_message("", 10), [""]);
        let cjk = "汉".repeat(10); // 30 bytes
        assert_eq!(split_message(&cjk, 30), std::slice::from_ref(&cjk));
        assert_eq!(split_message(&t, 99).len(), 2);
    }

    #[test]
    fn split_prefers_line_breaks_and_numbers_parts() {
        let text = "第一行内容\n第二行内容\n第三行内容"; // 15 + 1 + 15 + 1 + 15 bytes
        let parts = split_message(text, 40);
        assert_eq!(
            parts,
            ["第一行内容\n第二行内容\n(1/2)", "第三行内容\n(2/2)"]
        );
        for p in &parts {
            assert!(p.len() <= 40, "{p:?}");
        }
        // CRLF and blank lines at a cut are dropped.
        let parts = split_message("aaaa\r\n\r\nbbbbbb", 13);
        assert_eq!(parts, ["aaaa\n(1/2)", "bbbbbb\n(2/2)"]);
    }

    #[test]
    fn split_never_cuts_inside_a_char() {
        // 4-byte emoji and 3-byte CJK at every alignment.
        for max in 14..40 {
            for prefix in 0..4 {
                let text = "x".repeat(prefix) + &"😀汉".repeat(20);
                let parts = split_message(&text, max);
                assert!(parts.len() > 1);
                let mut joined = String::new();
                for p in &parts {
                    assert!(p.len() <= max, "max={max} part={p:?}");
                    joined.push_str(strip_suffix(p));
                }
                assert_eq!(joined, text, "max={max}");
            }
        }
    }

    #[test]
    fn split_cuts_a_single_long_line() {
        let line = "村".repeat(100); // 300 bytes, no newline
        let parts = split_message(&line, 100);
        let n = parts.len();
        assert!(n >= 4, "{n}");
        for (i, p) in parts.iter().enumerate() {
            assert!(p.len() <= 100);
            assert!(p.ends_with(&format!("\n({}/{n})", i + 1)), "{p:?}");
        }
        assert_eq!(
            parts.iter().map(|p| strip_suffix(p)).collect::<String>(),
            line
        );
    }

    #[test]
    fn split_numbering_widens_to_two_digits() {
        let text = (0..40)
            .map(|i| format!("line {i:02} abcdefgh"))
            .collect::<Vec<_>>()
            .join("\n");
        let parts = split_message(&text, 30);
        let n = parts.len();
        assert!(n >= 10, "{n}");
        assert!(parts[0].ends_with(&format!("\n(1/{n})")));
        assert!(parts[n - 1].ends_with(&format!("\n({n}/{n})")));
        for p in &parts {
            assert!(p.len() <= 30, "{p:?}");
        }
        let lines: Vec<&str> = parts.iter().flat_map(|p| strip_suffix(p).lines()).collect();
        assert_eq!(lines.join("\n"), text);
    }

    #[test]
    fn split_with_tiny_budgets_still_terminates() {
        assert_eq!(split_message("abc", 1), ["a", "b", "c"]);
        assert_eq!(split_message("汉字", 2), ["汉", "字"]);
        assert_eq!(split_message("abcdef", 0), ["a", "b", "c", "d", "e", "f"]);
        assert_eq!(split_message("\n\n\nabc", 3).concat(), "abc");
    }

    #[test]
    fn split_random_texts_respect_the_budget() {
        let mut rng = fastrand::Rng::with_seed(7);
        let alphabet = ['a', 'b', ' ', '\n', '汉', '字', '😀', 'é', '\r'];
        for _ in 0..300 {
            let len = rng.usize(0..400);
            let text: String = (0..len)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            let max = rng.usize(16..200);
            let parts = split_message(&text, max);
            for p in &parts {
                assert!(p.len() <= max, "max={max} {p:?}");
            }
            if text.len() <= max {
                assert_eq!(parts, std::slice::from_ref(&text));
                continue;
            }
            let kept: String = parts.iter().map(|p| strip_suffix(p)).collect::<String>();
            let squash = |s: &str| {
                s.chars()
                    .filter(|c| !matches!(c, '\n' | '\r'))
                    .collect::<String>()
            };
            assert_eq!(squash(&kept), squash(&text));
        }
    }

    #[test]
    fn split_for_markdown_caps_characters() {
        let text = "a".repeat(5_000);
        let route = openapi("r");
        let parts = split_for(&route, true, &text);
        assert_eq!(parts.len(), 2);
        assert!(
            parts
                .iter()
                .all(|p| p.chars().count() <= MARKDOWN_MAX_CHARS)
        );
        assert_eq!(split_for(&route, false, &text), std::slice::from_ref(&text));
        let cjk = "汉".repeat(3_000); // 9 000 bytes: over the OpenAPI byte budget
        assert!(
            split_for(&route, false, &cjk)
                .iter()
                .all(|p| p.len() <= OPENAPI_TEXT_BUDGET)
        );
        assert_eq!(
            split_for(&robot("t"), false, &cjk),
            std::slice::from_ref(&cjk)
        );
    }
}
