//! DingTalk Stream mode (a websocket opened with a ticket from
//! `/v1.0/gateway/connections/open`): the service opens a websocket to
//! DingTalk itself, so a site with no public address still gets its bot's
//! messages.
//!
//! One client per bot in `mode = "stream"`:
//! 1. `POST {api_base}/v1.0/gateway/connections/open` with the app's key and
//!    secret → a single-use `{endpoint, ticket}` (fetched anew for every
//!    connection: a ticket lives 90 s);
//! 2. websocket to `{endpoint}?ticket=…`;
//! 3. every bot message is acked at once, then handled like an HTTP callback
//!    (its `data` is exactly the §1.1 body) and answered through its
//!    `sessionWebhook` — the ack must not wait for the database or the reply;
//! 4. `ping` is echoed, `disconnect` (the server rotating connections) means
//!    reconnect now; any other end means reconnect with exponential backoff,
//!    1 s → 60 s plus jitter.
//!
//! There is no signature on stream messages: the connection itself was
//! authenticated with the app secret, so what arrives on it is trusted.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, timeout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::send::{DingtalkSender, OutMessage, Route, SESSION_EXPIRY_MARGIN_MS, split_for};
use crate::platform::Handler;

/// The topic of robot messages.
pub const BOT_TOPIC: &str = "/v1.0/im/bot/messages/get";
/// The metric label of stream messages (HTTP callbacks count as `dingtalk`).
pub const LABEL: &str = "dingtalk_stream";
/// Time allowed for `connections/open`.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for the websocket handshake (TCP, TLS, upgrade).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Keepalive ping interval (the Python SDK's 60 s); a ping left unanswered
/// until the next one means the connection is dead.
const PING_EVERY: Duration = Duration::from_secs(60);
/// First and largest reconnect delay.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// A connection that lived this long was healthy: the next failure starts
/// the backoff from the beginning again.
const HEALTHY_AFTER: Duration = Duration::from_secs(60);
/// How long shutdown waits for messages still being handled.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest frame accepted; a robot message is a few KiB.
const MAX_FRAME_BYTES: usize = 1 << 20;

/// A bot in stream mode, as configured.
#[derive(Clone)]
pub struct StreamBot {
    pub name: String,
    pub app_key: String,
    pub app_secret: String,
    pub robot_code: Option<String>,
    /// `https://api.dingtalk.com` (`[dingtalk] api_base`).
    pub api_base: String,
    /// `https://oapi.dingtalk.com` (`[dingtalk] oapi_base`).
    pub oapi_base: String,
}

/// What the client needs, shared with the message tasks.
struct Ctx {
    handler: Arc<dyn Handler>,
    bot: String,
    app_key: String,
    app_secret: String,
    robot_code: Option<String>,
    api_base: String,
    client: reqwest::Client,
    sender: DingtalkSender,
}

/// Runs the Stream client of `bot` until `shutdown` resolves, then waits (a
/// bounded time) for the messages in flight. Each message is taken through
/// `handler`.
pub async fn run_stream(
    bot: StreamBot,
    handler: Arc<dyn Handler>,
    shutdown: impl Future<Output = ()>,
) {
    let client = reqwest::Client::new();
    let sender = DingtalkSender::new(
        client.clone(),
        &bot.api_base,
        &bot.oapi_base,
        Some(bot.app_key.clone()),
        Some(bot.app_secret.clone()),
    );
    let ctx = Arc::new(Ctx {
        api_base: bot.api_base.trim_end_matches('/').to_string(),
        handler,
        bot: bot.name,
        app_key: bot.app_key,
        app_secret: bot.app_secret,
        robot_code: bot.robot_code,
        client,
        sender,
    });
    let mut tasks = JoinSet::new();
    let mut backoff = Backoff::default();
    tokio::pin!(shutdown);
    loop {
        let started = Instant::now();
        let ended = tokio::select! {
            () = &mut shutdown => break,
            ended = connection(&ctx, &mut tasks) => ended,
        };
        if started.elapsed() >= HEALTHY_AFTER {
            backoff.reset();
        }
        let delay = match ended {
            Ok(End::Disconnect) => {
                tracing::info!(bot = %ctx.bot, "stream server asked to reconnect");
                backoff.reset();
                Duration::ZERO
            }
            Ok(End::Closed) => {
                let d = backoff.next_delay();
                tracing::warn!(bot = %ctx.bot, retry_in = ?d, "stream connection closed");
                d
            }
            Err(e) => {
                let d = backoff.next_delay();
                tracing::warn!(bot = %ctx.bot, error = %format!("{e:#}"), retry_in = ?d, "stream connection failed");
                d
            }
        };
        tokio::select! {
            () = &mut shutdown => break,
            () = sleep(delay) => {}
        }
    }
    let drained = timeout(DRAIN_TIMEOUT, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(bot = %ctx.bot, left = tasks.len(), "stream messages still in flight at shutdown were dropped");
    }
    tracing::info!(bot = %ctx.bot, "stream client stopped");
}

/// Why a connection ended without an error.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The server sent `disconnect`: reconnect at once.
    Disconnect,
    /// The socket closed.
    Closed,
}

/// Exponential backoff with jitter.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn reset(&mut self) {
        self.failures = 0;
    }

    /// 1 s, 2 s, 4 s … 60 s, each plus up to a quarter of itself at random,
    /// so many replicas do not reconnect in step.
    fn next_delay(&mut self) -> Duration {
        let base = BACKOFF_MIN
            .saturating_mul(1u32 << self.failures.min(6))
            .min(BACKOFF_MAX);
        self.failures = self.failures.saturating_add(1);
        let jitter_ms = fastrand::u64(..=u64::try_from(base.as_millis() / 4).unwrap_or(0));
        base + Duration::from_millis(jitter_ms)
    }
}

#[derive(Deserialize)]
struct Opened {
    #[serde(default)]
    endpoint: String,
    #[serde(default)]
    ticket: String,
}

/// Registers for a new connection; returns the websocket URL with its ticket.
async fn open_connection(ctx: &Ctx) -> anyhow::Result<String> {
    let url = format!("{}/v1.0/gateway/connections/open", ctx.api_base);
    let body = json!({
        "clientId": ctx.app_key,
        "clientSecret": ctx.app_secret,
        "subscriptions": [{"type": "CALLBACK", "topic": BOT_TOPIC}],
        "ua": concat!("liancun/", env!("CARGO_PKG_VERSION")),
    });
    let resp = ctx
        .client
        .post(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(OPEN_TIMEOUT)
        .json(&body)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("connections/open: {}", e.without_url()))?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| anyhow::anyhow!("connections/open: {}", e.without_url()))?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&bytes);
        bail!(
            "connections/open answered {status}: {}",
            text.chars().take(300).collect::<String>()
        );
    }
    let opened: Opened =
        serde_json::from_slice(&bytes).context("connections/open answer is not JSON")?;
    if opened.endpoint.is_empty() || opened.ticket.is_empty() {
        bail!("connections/open answer has no endpoint or ticket");
    }
    Ok(ws_url(&opened.endpoint, &opened.ticket))
}

/// `{endpoint}?ticket=…`, the ticket URL-encoded.
fn ws_url(endpoint: &str, ticket: &str) -> String {
    let sep = if endpoint.contains('?') { '&' } else { '?' };
    format!("{endpoint}{sep}ticket={}", urlencoding::encode(ticket))
}

/// One connection, from registration to its end.
async fn connection(ctx: &Arc<Ctx>, tasks: &mut JoinSet<()>) -> anyhow::Result<End> {
    let url = open_connection(ctx).await?;
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES));
    let (mut ws, _) = timeout(
        CONNECT_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(url, Some(config), true),
    )
    .await
    .context("websocket handshake timed out")?
    // The error names the URL only by host; the ticket is not logged.
    .context("websocket handshake failed")?;
    tracing::info!(bot = %ctx.bot, "stream connected");

    let mut keepalive = tokio::time::interval(PING_EVERY);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    keepalive.tick().await; // the first tick is immediate
    let mut last_heard = Instant::now();
    let mut pinged_at: Option<Instant> = None;
    loop {
        tokio::select! {
            frame = ws.next() => {
                let Some(frame) = frame else { return Ok(End::Closed) };
                let frame = frame.context("websocket read")?;
                last_heard = Instant::now();
                let text = match frame {
                    Message::Text(t) => t,
                    Message::Close(_) => return Ok(End::Closed),
                    // Pings are answered by tungstenite; pongs only prove life.
                    _ => continue,
                };
                match on_frame(text.as_str()) {
                    Step::Ack(ack) => ws.send(Message::text(ack)).await.context("websocket write")?,
                    Step::AckAndHandle(ack, data) => {
                        // Ack first: DingTalk re-pushes what is not acked, and
                        // handling can take a while.
                        ws.send(Message::text(ack)).await.context("websocket write")?;
                        let ctx = Arc::clone(ctx);
                        tasks.spawn(async move { handle_message(&ctx, &data).await });
                    }
                    Step::Disconnect => {
                        let _ = ws.close(None).await;
                        return Ok(End::Disconnect);
                    }
                    Step::Nothing => {}
                }
            }
            _ = keepalive.tick() => {
                if pinged_at.is_some_and(|p| last_heard < p) {
                    bail!("no answer to the keepalive ping within {PING_EVERY:?}");
                }
                ws.send(Message::Ping(Default::default())).await.context("websocket ping")?;
                pinged_at = Some(Instant::now());
            }
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(e) = done {
                    tracing::error!(bot = %ctx.bot, error = %e, "a stream message task failed");
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct Frame {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    headers: serde_json::Map<String, Value>,
    #[serde(default)]
    data: Value,
}

/// What to do with one text frame.
#[derive(Debug, PartialEq)]
enum Step {
    Ack(String),
    /// Ack, then handle the bot message (the frame's `data` string).
    AckAndHandle(String, String),
    Disconnect,
    Nothing,
}

fn ack(message_id: &str, code: u16, message: &str, data: Value) -> String {
    json!({
        "code": code,
        "headers": {"messageId": message_id, "contentType": "application/json"},
        "message": message,
        "data": data,
    })
    .to_string()
}

/// Decides the answer to a frame (pure, so the protocol is unit-tested).
fn on_frame(text: &str) -> Step {
    let Ok(frame) = serde_json::from_str::<Frame>(text) else {
        tracing::warn!("unreadable stream frame ignored");
        return Step::Nothing;
    };
    let header = |k: &str| frame.headers.get(k).and_then(Value::as_str).unwrap_or("");
    let (topic, id) = (header("topic"), header("messageId"));
    match (frame.kind.as_str(), topic) {
        ("SYSTEM", "ping") => Step::Ack(ack(id, 200, "OK", frame.data)),
        ("SYSTEM", "disconnect") => Step::Disconnect,
        ("CALLBACK", BOT_TOPIC) => {
            let ok = ack(id, 200, "OK", Value::from(r#"{"response": null}"#));
            match frame.data.as_str() {
                Some(data) => Step::AckAndHandle(ok, data.to_string()),
                None => {
                    tracing::warn!(message_id = id, "bot frame without a data string");
                    Step::Ack(ok)
                }
            }
        }
        ("CALLBACK", _) => Step::Ack(ack(id, 404, "topic not handled", Value::from("{}"))),
        // Not subscribed, but if one comes, settle it so it is not re-pushed.
        ("EVENT", _) => Step::Ack(ack(
            id,
            200,
            "OK",
            Value::from(r#"{"status": "SUCCESS", "message": "ignored"}"#),
        )),
        _ => Step::Nothing,
    }
}

/// Where a stream message's reply may go, from its callback body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReplyTarget {
    #[serde(default)]
    session_webhook: String,
    #[serde(default)]
    session_webhook_expired_time: i64,
    #[serde(default)]
    conversation_id: String,
    #[serde(default)]
    conversation_type: String,
    #[serde(default)]
    robot_code: String,
}

/// The session webhook while it is fresh; else, in a group, the robot's
/// OpenAPI route (the app credentials are at hand in stream mode).
fn reply_route(t: &ReplyTarget, configured_robot: Option<&str>, now_ms: i64) -> Option<Route> {
    if !t.session_webhook.is_empty()
        && t.session_webhook_expired_time > now_ms.saturating_add(SESSION_EXPIRY_MARGIN_MS)
    {
        return Some(Route::Session {
            url: t.session_webhook.clone(),
            expires_ms: t.session_webhook_expired_time,
        });
    }
    let robot = configured_robot
        .filter(|r| !r.is_empty())
        .unwrap_or(&t.robot_code);
    (t.conversation_type != "1" && !robot.is_empty() && !t.conversation_id.is_empty()).then(|| {
        Route::OpenApi {
            robot_code: robot.to_string(),
            open_conversation_id: t.conversation_id.clone(),
        }
    })
}

/// Handles one bot message and sends the reply.
async fn handle_message(ctx: &Ctx, data: &str) {
    let inbound = match super::inbound::decode(&ctx.bot, data.as_bytes()) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(bot = %ctx.bot, error = %e, "stream message refused");
            ctx.handler.count(LABEL, "malformed");
            return;
        }
    };
    let target: Option<ReplyTarget> = serde_json::from_str(data).ok();
    let answer = ctx.handler.answer(LABEL, inbound).await;
    if answer.duplicate {
        // A re-push of a message already handled: its reply went out then,
        // and the group should not see it twice.
        tracing::debug!(bot = %ctx.bot, "redelivered stream message not answered again");
        return;
    }
    let now_ms = ctx.handler.now_ms();
    let Some(route) = target
        .as_ref()
        .and_then(|t| reply_route(t, ctx.robot_code.as_deref(), now_ms))
    else {
        tracing::warn!(bot = %ctx.bot, "stream message has no usable reply route; reply dropped");
        return;
    };
    let (text, at_user_ids) = route.render(&answer.reply);
    for part in split_for(&route, false, &text) {
        let msg = OutMessage {
            title: String::new(),
            text: part,
            markdown: false,
            at_user_ids: at_user_ids.clone(),
            at_mobiles: Vec::new(),
        };
        if let Err(e) = ctx.sender.send(&route, &msg, now_ms).await {
            tracing::warn!(bot = %ctx.bot, route = route.kind(), code = e.code(), "stream reply not delivered");
            ctx.handler.count(LABEL, "reply_failed");
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> Value {
        serde_json::from_str(include_str!("../../../tests/vectors/dingtalk.json")).expect("json")
    }

    fn parsed(s: &str) -> Value {
        serde_json::from_str(s).expect("ack is JSON")
    }

    #[test]
    fn bot_frames_are_acked_as_the_sdk_does() {
        let v = &vectors()["dingtalk_stream"];
        let Step::AckAndHandle(a, data) = on_frame(&v["bot_message_frame"].to_string()) else {
            panic!("a bot frame is handled");
        };
        assert_eq!(parsed(&a), v["bot_message_ack"]);
        assert_eq!(data, v["bot_message_frame"]["data"].as_str().expect("str"));
    }

    #[test]
    fn pings_are_echoed_and_disconnect_ends_the_connection() {
        let v = &vectors()["dingtalk_stream"];
        let Step::Ack(a) = on_frame(&v["ping_frame"].to_string()) else {
            panic!("ping is answered");
        };
        assert_eq!(parsed(&a), v["ping_ack"]);
        assert_eq!(
            on_frame(&v["disconnect_frame"].to_string()),
            Step::Disconnect
        );
    }

    #[test]
    fn other_frames() {
        let other = json!({"specVersion": "1.0", "type": "CALLBACK",
            "headers": {"topic": "/v1.0/card/instances/callback", "messageId": "m9"}, "data": "{}"});
        let Step::Ack(a) = on_frame(&other.to_string()) else {
            panic!("acked")
        };
        assert_eq!(parsed(&a)["code"], 404);
        assert_eq!(parsed(&a)["headers"]["messageId"], "m9");
        let event =
            json!({"type": "EVENT", "headers": {"topic": "*", "messageId": "e1"}, "data": "{}"});
        let Step::Ack(a) = on_frame(&event.to_string()) else {
            panic!("acked")
        };
        assert_eq!(
            parsed(parsed(&a)["data"].as_str().expect("str"))["status"],
            "SUCCESS"
        );
        for junk in [
            "",
            "{",
            "[]",
            "null",
            r#"{"type":"SYSTEM","headers":{"topic":"what"}}"#,
        ] {
            assert_eq!(on_frame(junk), Step::Nothing, "{junk:?}");
        }
    }

    #[test]
    fn ws_url_encodes_the_ticket() {
        let v = &vectors()["dingtalk_stream"];
        let r = &v["open_connection_response"];
        assert_eq!(
            ws_url(
                r["endpoint"].as_str().expect("str"),
                r["ticket"].as_str().expect("str")
            ),
            v["ws_url"].as_str().expect("str")
        );
        assert_eq!(
            ws_url("ws://h/c?x=1", "a b+/"),
            "ws://h/c?x=1&ticket=a%20b%2B%2F"
        );
    }

    #[test]
    fn backoff_doubles_to_a_minute_with_jitter() {
        let mut b = Backoff::default();
        let mut bases = Vec::new();
        for _ in 0..9 {
            let d = b.next_delay();
            let base = bases.len().min(6) as u32;
            let expect = Duration::from_secs(1u64 << base).min(BACKOFF_MAX);
            assert!(
                d >= expect && d <= expect + expect / 4,
                "{d:?} vs {expect:?}"
            );
            bases.push(d);
        }
        b.reset();
        assert!(b.next_delay() < Duration::from_millis(1_251));
    }

    #[tokio::test]
    async fn wss_builds_its_tls_client_with_the_process_provider() {
        // rustls picks the crypto provider from crate features (aws-lc-rs,
        // through reqwest); were there none or two, building the client
        // config would panic. A server that hangs up makes the handshake
        // fail cleanly right after the config is built.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                drop(tcp);
            }
        });
        let r = tokio_tungstenite::connect_async(format!("wss://127.0.0.1:{port}/connect")).await;
        assert!(r.is_err());
    }

    #[test]
    fn replies_go_to_the_session_while_fresh_else_openapi() {
        let t = |url: &str, exp: i64, kind: &str| ReplyTarget {
            session_webhook: url.into(),
            session_webhook_expired_time: exp,
            conversation_id: "cid".into(),
            conversation_type: kind.into(),
            robot_code: "dingROBOT".into(),
        };
        let now = 1_000_000;
        assert!(matches!(
            reply_route(&t("http://s", now + 600_000, "2"), None, now),
            Some(Route::Session { .. })
        ));
        assert_eq!(
            reply_route(&t("http://s", now, "2"), Some("conf"), now),
            Some(Route::OpenApi {
                robot_code: "conf".into(),
                open_conversation_id: "cid".into()
            })
        );
        assert_eq!(
            reply_route(&t("", 0, "2"), None, now),
            Some(Route::OpenApi {
                robot_code: "dingROBOT".into(),
                open_conversation_id: "cid".into()
            })
        );
        assert_eq!(
            reply_route(&t("", 0, "1"), None, now),
            None,
            "1:1 without a session"
        );
    }
}
