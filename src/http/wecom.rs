//! `GET|POST /webhook/wecom/{bot}`: WeCom callbacks (the signed GET that checks
//! the URL, and encrypted message callbacks).
//!
//! A bot whose `receive_id` is empty is a 智能机器人 in API mode (JSON body,
//! passive `stream` reply); one with a corp id is a classic application
//! (XML body, 1:1 chats only). Both use the same crypto and the same URL
//! verification.
//!
//! Order, as for DingTalk: find the bot (its keys), bound the body, verify the
//! signature over the ciphertext, decrypt, and only then decode and handle.
//! Every rejection stores nothing and is counted by outcome.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tracing::Instrument;

use super::error::HttpError;
use super::webhook::read_body;
use crate::platform::Platform;
use crate::platform::wecom::crypto::{CryptoError, MsgCrypt};
use crate::platform::wecom::inbound::{self, Decoded};
use crate::platform::wecom::send::{Route, WecomMessage, WecomSender};
use crate::platform::wecom::{self, xml::xml_field};
use crate::state::{self, AppState};
use crate::telemetry;

/// The metric label of WeCom callbacks.
const PLATFORM: &str = Platform::Wecom.as_str();

pub fn router() -> Router<AppState> {
    Router::new().route("/webhook/wecom/{bot}", get(verify_url).post(callback))
}

/// A refused callback; counted by outcome when it becomes the response.
struct Refusal {
    outcome: &'static str,
    status: StatusCode,
    reason: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        telemetry::callback(PLATFORM, self.outcome);
        HttpError::new(self.status, self.reason).into_webhook_response()
    }
}

fn reject(outcome: &'static str, status: StatusCode, reason: &str) -> Refusal {
    Refusal {
        outcome,
        status,
        reason: reason.to_string(),
    }
}

fn bad_signature() -> Refusal {
    reject(
        "bad_signature",
        StatusCode::UNAUTHORIZED,
        "signature check failed: msg_signature does not match",
    )
}

fn malformed(reason: &str) -> Refusal {
    reject("malformed", StatusCode::BAD_REQUEST, reason)
}

/// The query parameters WeCom signs with.
struct Signed {
    msg_signature: String,
    timestamp: String,
    nonce: String,
}

/// Query pairs, percent-decoded only: `+` stays `+`. WeCom percent-encodes
/// the base64 `echostr`, but a proxy or a hand-built URL may leave its `+`
/// bare, and form decoding would turn it into a space and break the
/// signature (the official SDKs use plain unquoting too).
fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((
                urlencoding::decode(k).ok()?.into_owned(),
                urlencoding::decode(v).ok()?.into_owned(),
            ))
        })
        .collect()
}

fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// The signed parameters, or `None` if one is missing (a 401: the request
/// cannot be from WeCom).
fn signed(pairs: &[(String, String)]) -> Option<Signed> {
    Some(Signed {
        msg_signature: param(pairs, "msg_signature")?,
        timestamp: param(pairs, "timestamp")?,
        nonce: param(pairs, "nonce")?,
    })
}

/// The bot's crypto context, or why the request is refused.
fn bot_crypt(state: &AppState, name: &str) -> Result<MsgCrypt, Refusal> {
    let Some(bot) = state
        .settings
        .bot(name)
        .filter(|b| b.platform == Platform::Wecom)
    else {
        return Err(reject("unknown_bot", StatusCode::NOT_FOUND, "unknown bot"));
    };
    let (Some(token), Some(key)) = (bot.token.as_ref(), bot.encoding_aes_key.as_ref()) else {
        // Validated at load: every WeCom bot has both.
        return Err(reject(
            "unknown_bot",
            StatusCode::NOT_FOUND,
            "bot has no token or key",
        ));
    };
    let receive_id = bot.receive_id.as_deref().unwrap_or_default();
    MsgCrypt::new(token.expose(), key.expose(), receive_id).map_err(|e| {
        tracing::error!(bot = %name, error = %e, "WeCom bot is misconfigured");
        reject(
            "error",
            StatusCode::INTERNAL_SERVER_ERROR,
            "bot is misconfigured",
        )
    })
}

/// Verifies and decrypts `encrypt`, or says why not.
fn open(crypt: &MsgCrypt, s: &Signed, encrypt: &str, bot: &str) -> Result<String, Refusal> {
    crypt
        .verify_and_decrypt(&s.msg_signature, &s.timestamp, &s.nonce, encrypt)
        .map_err(|e| match e {
            CryptoError::BadSignature => {
                tracing::warn!(bot, "WeCom callback refused: bad signature");
                bad_signature()
            }
            e => {
                tracing::warn!(bot, error = %e, "WeCom callback refused: cannot decrypt");
                malformed(&format!("cannot decrypt: {e}"))
            }
        })
}

/// The plaintext of a verified `echostr`.
fn echo(state: &AppState, bot_name: &str, query: Option<&str>) -> Result<String, Refusal> {
    let crypt = bot_crypt(state, bot_name)?;
    let pairs = query_pairs(query);
    let s = signed(&pairs).ok_or_else(bad_signature)?;
    let echostr =
        param(&pairs, "echostr").ok_or_else(|| malformed("missing query parameter echostr"))?;
    open(&crypt, &s, &echostr, bot_name)
}

/// URL verification: answer the decrypted `echostr`, bare.
async fn verify_url(
    State(state): State<AppState>,
    Path(bot_name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let verified = echo(&state, &bot_name, query.as_deref());
    match verified {
        Ok(plain) => {
            telemetry::callback(PLATFORM, "verified");
            // WeCom compares the body byte for byte: no quotes, no newline.
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], plain).into_response()
        }
        Err(r) => r.into_response(),
    }
}

#[derive(Deserialize)]
struct JsonEnvelope {
    encrypt: String,
}

async fn callback(
    State(state): State<AppState>,
    Path(bot_name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = std::time::Instant::now();
    let crypt = match bot_crypt(&state, &bot_name) {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let Ok(bytes) = read_body(&headers, body).await else {
        return reject(
            "too_large",
            StatusCode::PAYLOAD_TOO_LARGE,
            "body larger than 64 KiB",
        )
        .into_response();
    };
    let pairs = query_pairs(query.as_deref());
    let Some(s) = signed(&pairs) else {
        return bad_signature().into_response();
    };
    let app_mode = !crypt.receive_id().is_empty();
    // The signature covers the ciphertext inside the body, so the envelope is
    // read first; nothing in it is trusted before the check.
    let encrypt = if app_mode {
        std::str::from_utf8(&bytes)
            .ok()
            .and_then(|x| xml_field(x, "Encrypt"))
    } else {
        serde_json::from_slice::<JsonEnvelope>(&bytes)
            .ok()
            .map(|e| e.encrypt)
    };
    let Some(encrypt) = encrypt.filter(|e| !e.is_empty()) else {
        let what = if app_mode {
            "body is not WeCom callback XML with <Encrypt>"
        } else {
            "body is not WeCom callback JSON with \"encrypt\""
        };
        return malformed(what).into_response();
    };
    let plain = match open(&crypt, &s, &encrypt, &bot_name) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let response = if app_mode {
        app_message(&state, &crypt, &s, &bot_name, &plain).await
    } else {
        aibot_message(&state, &crypt, &s, &bot_name, &plain).await
    };
    metrics::histogram!(telemetry::CALLBACK_SECONDS).record(started.elapsed().as_secs_f64());
    response
}

fn ignored(bot: &str, kind: &str) -> Response {
    tracing::debug!(bot, kind, "WeCom callback needs no answer");
    telemetry::callback(PLATFORM, "ignored");
    StatusCode::OK.into_response()
}

fn now_s(state: &AppState) -> i64 {
    state.clock.now_ms().div_euclid(1000)
}

async fn aibot_message(
    state: &AppState,
    crypt: &MsgCrypt,
    s: &Signed,
    bot: &str,
    plain: &str,
) -> Response {
    let inbound = match inbound::decode_aibot(bot, plain) {
        Ok(Decoded::Message(m)) => m,
        Ok(Decoded::Ignored(kind)) => return ignored(bot, &kind),
        Err(e) => return malformed(&e.to_string()).into_response(),
    };
    // WeCom drops a callback it has no answer to within 5 s. Answer in time
    // with the encrypted passive reply; a slower turn is finished in the
    // background and its answer goes to the one-shot response_url instead.
    let response_url = serde_json::from_str::<serde_json::Value>(plain)
        .ok()
        .and_then(|v| v["response_url"].as_str().map(str::to_string))
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    // In the request's span, so the turn's log lines carry its request id.
    let turn = tokio::spawn(
        {
            let state = state.clone();
            async move { state::answer(&state, PLATFORM, inbound).await }
        }
        .in_current_span(),
    );
    let budget = std::time::Duration::from_millis(state.settings.wecom.reply_within_ms);
    let mut turn = turn;
    let answer = match tokio::time::timeout(budget, &mut turn).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "WeCom turn panicked");
            return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
        }
        Err(_) => {
            let senders = std::sync::Arc::clone(&state.senders);
            tokio::spawn(
                async move {
                    let answer = match turn.await {
                        Ok(a) => a,
                        Err(e) => {
                            tracing::error!(error = %e, "WeCom turn panicked");
                            return;
                        }
                    };
                    late_reply(senders.wecom(), response_url, &answer.reply).await;
                }
                .in_current_span(),
            );
            return StatusCode::OK.into_response();
        }
    };
    let content = wecom::render_aibot_markdown(&answer.reply);
    let plaintext = wecom::stream_reply_plaintext(&wecom::new_stream_id(), &content);
    let reply = wecom::passive_reply(
        crypt,
        &plaintext,
        now_s(state),
        &s.nonce,
        &wecom::random16(),
    );
    axum::Json(reply).into_response()
}

/// Sends a turn's answer to the message's one-shot `response_url`
/// (markdown, ≤ 20 000 bytes) through the WeCom sender; counted either way.
/// Not through the outbox: it is the answer to one message, like a
/// DingTalk Stream reply, and its URL works once, for an hour.
async fn late_reply(sender: &WecomSender, url: Option<String>, reply: &crate::reply::Reply) {
    let Some(url) = url else {
        tracing::warn!(
            "a slow WeCom turn had no response_url: its answer is lost to the chat (it was stored)"
        );
        telemetry::callback(PLATFORM, "late_reply_lost");
        return;
    };
    let route = Route::ResponseUrl { url };
    match sender
        .send_to(&route, &WecomMessage::aibot_answer(reply))
        .await
    {
        Ok(()) => telemetry::callback(PLATFORM, "late_reply"),
        Err(e) => {
            tracing::warn!(code = e.code(), error = %e, "WeCom response_url refused the late answer");
            telemetry::callback(PLATFORM, "late_reply_lost");
        }
    }
}

async fn app_message(
    state: &AppState,
    crypt: &MsgCrypt,
    s: &Signed,
    bot: &str,
    plain: &str,
) -> Response {
    let msg = match inbound::decode_app(bot, plain) {
        Ok(m) => m,
        Err(e) => return malformed(&e.to_string()).into_response(),
    };
    let inbound = match msg.decoded {
        Decoded::Message(m) => m,
        Decoded::Ignored(kind) => return ignored(bot, &kind),
    };
    let answer = state::answer(state, PLATFORM, inbound).await;
    let now = now_s(state);
    // Application messages show plain text; no markdown, no mentions (1:1).
    let plaintext =
        wecom::app_text_plaintext(&msg.from_user, &msg.to_user, now, &answer.reply.text);
    let xml = wecom::app_reply_xml(crypt, &plaintext, now, &s.nonce, &wecom::random16());
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keeps_plus_and_decodes_percent() {
        let pairs = query_pairs(Some("echostr=a+b%2Bc%3D%3D&nonce=1&flag&=x&bad=%FF"));
        assert_eq!(param(&pairs, "echostr").as_deref(), Some("a+b+c=="));
        assert_eq!(param(&pairs, "nonce").as_deref(), Some("1"));
        assert_eq!(param(&pairs, "flag").as_deref(), Some(""));
        assert_eq!(param(&pairs, "bad"), None, "invalid UTF-8 is dropped");
        assert!(query_pairs(None).is_empty());
        assert!(signed(&pairs).is_none());
    }
}
