//! The send side of the seam: one [`Senders`] holds each platform's sender,
//! and the outbox asks it, by bot, where a push goes ([`Senders::route`]),
//! how it must be written there ([`Senders::send`] renders mentions the
//! route's way), how a failure is to be treated ([`SendError`]) and how long
//! a throttled robot rests ([`Senders::throttle_pause`]). Long texts are cut
//! to size with [`split`] before they are queued.
//!
//! Routes, decided here from what the store holds ([`Destination`]):
//! * DingTalk group: its custom push robot if set, else the bot's OpenAPI
//!   robot (`robot_code`); DingTalk person: the bot's 1:1 OpenAPI messages.
//!   The custom robot and a sessionWebhook carry `@userId` and the at list,
//!   so the client shows the name and notifies; the OpenAPI messages cannot
//!   @, so people are written by name (`@张三`), never by id.
//! * DingTalk group push meant to reach the people it mentions: the push
//!   robot if set, else the group's last sessionWebhook while it lasts, else
//!   OpenAPI by name ([`Route::notifies_mentions`] is then false, and the
//!   outbox follows up 1:1).
//! * WeCom group: its group robot (`PUT /api/v1/groups/{id}/push-robot`
//!   `{"key": …}`), as markdown with `<@userid>` mentions. Without a key the
//!   push is a dead letter `no_route` that says so.
//! * WeCom person (a township admin): a group robot only posts into its own
//!   group, and the 智能机器人 cannot start a conversation, so there is no
//!   1:1 route: a dead letter `no_direct_route`.
//!
//! A new platform adds a module beside `dingtalk/` and `wecom/`, a variant
//! to [`Platform`], [`Route`] and the matches in this file.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use super::Platform;
use super::dingtalk::send::{self as ding, DingtalkSender, OutMessage};
use super::wecom::send::{self as wecom, WecomMessage, WecomSender};
use crate::reply::Reply;

/// Most bytes of text per pushed message. The tightest platform budget
/// (WeCom markdown: 4 096 bytes) with room for JSON escaping and mentions;
/// longer messages become numbered parts ([`split`]).
pub const PART_BYTES: usize = 3_600;

/// How a send failed (retry later, pause the robot, or give up): one type for
/// every platform's sender, so the outbox handles them alike.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later (network error, 5xx, system busy -1). `code` is the platform code or HTTP
    /// status as text.
    #[error("temporary failure {code}: {message}")]
    Retry { code: String, message: String },
    /// The platform throttled this robot (DingTalk 130101, 410100, 660026, OpenAPI flow control;
    /// WeCom 45009; 429): pause the robot for [`Senders::throttle_pause`].
    #[error("throttled {code}: {message}")]
    Throttled { code: String, message: String },
    /// Will never succeed as configured (a refused token or key, a message too long, no
    /// route): dead-letter it.
    #[error("rejected {code}: {message}")]
    Fatal { code: String, message: String },
}

impl SendError {
    /// The platform code (or HTTP status, or one of ours such as `session_expired`).
    pub fn code(&self) -> &str {
        match self {
            SendError::Retry { code, .. }
            | SendError::Throttled { code, .. }
            | SendError::Fatal { code, .. } => code,
        }
    }

    pub fn retry(code: impl Into<String>, message: impl Into<String>) -> Self {
        SendError::Retry {
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn throttled(code: impl Into<String>, message: impl Into<String>) -> Self {
        SendError::Throttled {
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn fatal(code: impl Into<String>, message: impl Into<String>) -> Self {
        SendError::Fatal {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Reads an answer's status and body, or maps the transport error.
pub(crate) async fn read_response(
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<(u16, Vec<u8>), SendError> {
    let resp = sent.map_err(transport_error)?;
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.map_err(transport_error)?;
    Ok((status, bytes.to_vec()))
}

/// Maps a reqwest error without its URL (which may carry an access token,
/// session id or webhook key).
pub(crate) fn transport_error(e: reqwest::Error) -> SendError {
    let code = if e.is_timeout() {
        "timeout"
    } else if e.is_builder() {
        // A URL or header we could not even build: retrying cannot help.
        return SendError::fatal("bad_request", e.without_url().to_string());
    } else {
        "network"
    };
    SendError::retry(code, e.without_url().to_string())
}

/// At most 300 bytes of an answer, cut on a character boundary.
pub(crate) fn short(s: &str) -> String {
    const MAX: usize = 300;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Splits a long text into numbered parts of at most `max_bytes` bytes, at
/// line breaks where possible (see [`ding::split_message`], the one splitter
/// both platforms use).
pub fn split(text: &str, max_bytes: usize) -> Vec<String> {
    ding::split_message(text, max_bytes)
}

/// The send budget key of a group push: one robot in one group, or the
/// group's own push robot. Rows with the same key are spaced and paused
/// together.
pub fn group_robot_key(
    platform: Platform,
    group_id: i64,
    bot: &str,
    conversation_id: &str,
    has_push_robot: bool,
    robot_code: Option<&str>,
) -> String {
    let p = platform.as_str();
    match (has_push_robot, platform) {
        (true, _) => format!("{p}:webhook:{group_id}"),
        // DingTalk's OpenAPI robot is one robot per app: its budget is per
        // robot code and conversation.
        (false, Platform::Dingtalk) => {
            format!("{p}:{}:{conversation_id}", robot_code.unwrap_or(bot))
        }
        (false, Platform::Wecom) => format!("{p}:group:{group_id}"),
    }
}

/// The send budget key of a 1:1 push to a person through `bot`.
pub fn person_robot_key(bot: &str, person_id: i64) -> String {
    format!("direct:{bot}:{person_id}")
}

/// What the store knows of a push's target, read at send time (a changed
/// push robot applies to what waits).
#[derive(Clone, PartialEq, Eq)]
pub enum Destination {
    Group {
        group_id: i64,
        conversation_id: String,
        /// The group's own push robot: DingTalk's custom robot access token,
        /// or WeCom's group-robot key.
        push_token: Option<String>,
        /// DingTalk: the custom robot's 加签 secret.
        push_secret: Option<String>,
        /// The group's last sessionWebhook and its expiry (epoch ms), read
        /// only for a push meant to reach people and without a push robot.
        session: Option<(String, i64)>,
    },
    Person {
        person_id: i64,
        /// The person's platform user id; `None` (not read) on a platform
        /// that cannot push to one person ([`Senders::pushes_to_people`]).
        user_id: Option<String>,
    },
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Group {
                group_id,
                push_token,
                session,
                ..
            } => f
                .debug_struct("Group")
                .field("group_id", group_id)
                .field("push_token", &push_token.as_ref().map(|_| "<redacted>"))
                .field("session", &session.as_ref().map(|_| "<redacted>"))
                .finish_non_exhaustive(),
            Destination::Person { person_id, .. } => f
                .debug_struct("Person")
                .field("person_id", person_id)
                .finish_non_exhaustive(),
        }
    }
}

/// Where one message goes, on its platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Dingtalk(ding::Route),
    Wecom(wecom::Route),
}

impl Route {
    /// Whether the people a message mentions are notified on this route
    /// (else they are written `@名字` and the outbox follows up 1:1).
    pub fn notifies_mentions(&self) -> bool {
        match self {
            Route::Dingtalk(r) => r.supports_mentions(),
            Route::Wecom(_) => true,
        }
    }

    /// A short name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Route::Dingtalk(r) => r.kind(),
            Route::Wecom(r) => r.kind(),
        }
    }
}

/// A message to send: a platform-neutral reply and its form.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub title: &'a str,
    pub markdown: bool,
    pub reply: &'a Reply,
}

/// Where the platforms are and the HTTP client that reaches them.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub dingtalk_api: String,
    pub dingtalk_oapi: String,
    pub wecom_api: String,
}

/// What a bot brings to the send side.
#[derive(Clone)]
pub struct BotAccount {
    pub name: String,
    pub platform: Platform,
    /// DingTalk: the app's robot code (its OpenAPI group and 1:1 messages).
    pub robot_code: Option<String>,
    /// DingTalk: the app's credentials, for the OpenAPI access token.
    pub app_key: Option<String>,
    pub app_secret: Option<String>,
}

/// A bot's sender and what routes it.
struct Account {
    platform: Platform,
    robot_code: Option<String>,
    /// DingTalk bots only (each caches its own access token).
    dingtalk: Option<DingtalkSender>,
}

/// Every platform's sender, by bot: the one place the outbox asks.
pub struct Senders {
    accounts: HashMap<String, Account>,
    wecom: WecomSender,
}

impl fmt::Debug for Senders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Senders")
            .field("bots", &self.accounts.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Senders {
    pub fn new(client: reqwest::Client, at: &Endpoints, bots: Vec<BotAccount>) -> Senders {
        let accounts = bots
            .into_iter()
            .map(|b| {
                let dingtalk = (b.platform == Platform::Dingtalk).then(|| {
                    DingtalkSender::new(
                        client.clone(),
                        &at.dingtalk_api,
                        &at.dingtalk_oapi,
                        b.app_key.clone(),
                        b.app_secret.clone(),
                    )
                });
                let account = Account {
                    platform: b.platform,
                    robot_code: b.robot_code,
                    dingtalk,
                };
                (b.name, account)
            })
            .collect();
        Senders {
            accounts,
            wecom: WecomSender::new(client, &at.wecom_api),
        }
    }

    /// The platform of `bot`, if it is configured.
    pub fn platform(&self, bot: &str) -> Option<Platform> {
        self.accounts.get(bot).map(|a| a.platform)
    }

    fn account(&self, bot: &str) -> Result<&Account, SendError> {
        self.accounts
            .get(bot)
            .ok_or_else(|| SendError::fatal("unknown_bot", format!("bot {bot} is not configured")))
    }

    /// Where a push of `bot` to `to` goes. `reach_people`: the push exists to
    /// reach the people it mentions, so a route that notifies them is
    /// preferred (DingTalk's sessionWebhook over its OpenAPI).
    pub fn route(
        &self,
        bot: &str,
        to: &Destination,
        reach_people: bool,
        now_ms: i64,
    ) -> Result<Route, SendError> {
        let account = self.account(bot)?;
        match account.platform {
            Platform::Dingtalk => {
                dingtalk_route(bot, account.robot_code.as_deref(), to, reach_people, now_ms)
                    .map(Route::Dingtalk)
            }
            Platform::Wecom => wecom_route(bot, to).map(Route::Wecom),
        }
    }

    /// Renders `msg` for `route` (mentions the route's way) and sends it
    /// through `bot`'s sender.
    pub async fn send(
        &self,
        bot: &str,
        route: &Route,
        msg: Message<'_>,
        now_ms: i64,
    ) -> Result<(), SendError> {
        match route {
            Route::Dingtalk(r) => {
                let sender = self.account(bot)?.dingtalk.as_ref().ok_or_else(|| {
                    SendError::fatal("unknown_bot", format!("no DingTalk sender for {bot}"))
                })?;
                let (text, ids) = r.render(msg.reply);
                let out = OutMessage {
                    title: msg.title.to_string(),
                    text,
                    markdown: msg.markdown,
                    at_user_ids: ids,
                    at_mobiles: Vec::new(),
                };
                sender.send(r, &out, now_ms).await
            }
            Route::Wecom(r) => {
                // Always markdown on a WeCom group robot, whatever the
                // message's form: it is the only form that mentions inline
                // (`<@userid>`), and parts of PART_BYTES fit its 4 096 bytes
                // but not a text message's 2 048.
                let out = WecomMessage::from_reply(msg.reply, true);
                self.wecom.send_to(r, &out).await
            }
        }
    }

    /// Whether `platform` can push 1:1 to a person (a township admin); if
    /// not, such a push is a dead letter whoever the person is.
    pub fn pushes_to_people(platform: Platform) -> bool {
        match platform {
            Platform::Dingtalk => true,
            Platform::Wecom => false,
        }
    }

    /// How long a robot of `platform` rests after the platform throttled it.
    pub fn throttle_pause(platform: Platform) -> Duration {
        match platform {
            Platform::Dingtalk => ding::THROTTLE_PAUSE,
            Platform::Wecom => wecom::THROTTLE_PAUSE,
        }
    }

    /// The WeCom sender (a 智能机器人's late answer goes through it).
    pub fn wecom(&self) -> &WecomSender {
        &self.wecom
    }
}

/// DingTalk's route for a push (see the module docs).
fn dingtalk_route(
    bot: &str,
    robot_code: Option<&str>,
    to: &Destination,
    reach_people: bool,
    now_ms: i64,
) -> Result<ding::Route, SendError> {
    let no_robot = || {
        SendError::fatal(
            "no_route",
            format!("bot {bot} has no robot_code and the group no push robot"),
        )
    };
    match to {
        Destination::Group {
            conversation_id,
            push_token,
            push_secret,
            session,
            ..
        } => {
            if let Some(token) = push_token {
                return Ok(ding::Route::RobotWebhook {
                    access_token: token.clone(),
                    secret: push_secret.clone(),
                });
            }
            if reach_people
                && let Some((url, expires_ms)) = session
                && *expires_ms > now_ms.saturating_add(ding::SESSION_EXPIRY_MARGIN_MS)
            {
                return Ok(ding::Route::Session {
                    url: url.clone(),
                    expires_ms: *expires_ms,
                });
            }
            let code = robot_code.ok_or_else(no_robot)?;
            Ok(ding::Route::OpenApi {
                robot_code: code.to_string(),
                open_conversation_id: conversation_id.clone(),
            })
        }
        Destination::Person { person_id, user_id } => {
            let code = robot_code.ok_or_else(no_robot)?;
            let user_id = user_id.clone().ok_or_else(|| {
                SendError::fatal(
                    "no_target",
                    format!("person {person_id} has no DingTalk user id"),
                )
            })?;
            Ok(ding::Route::Direct {
                robot_code: code.to_string(),
                user_ids: vec![user_id],
            })
        }
    }
}

/// WeCom's route for a push: the group's robot key, or no route.
fn wecom_route(bot: &str, to: &Destination) -> Result<wecom::Route, SendError> {
    match to {
        Destination::Person { person_id, .. } => Err(SendError::fatal(
            "no_direct_route",
            format!(
                "WeCom has no 1:1 push: a group robot posts only into its own group, so \
                 person {person_id} (a township admin on WeCom) cannot be notified by bot {bot}; \
                 register the admin with a DingTalk user id to reach them"
            ),
        )),
        Destination::Group {
            group_id,
            push_token,
            ..
        } => push_token
            .as_ref()
            .filter(|k| !k.trim().is_empty())
            .map(|key| wecom::Route::GroupRobot { key: key.clone() })
            .ok_or_else(|| {
                SendError::fatal(
                    "no_route",
                    format!(
                        "WeCom group {group_id} has no push robot: add a group robot (群机器人) \
                         to the group and set its webhook key with PUT \
                         /api/v1/groups/{group_id}/push-robot {{\"key\": \"…\"}}, then retry \
                         this dead letter"
                    ),
                )
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn senders() -> Senders {
        let at = Endpoints {
            dingtalk_api: "http://127.0.0.1:9".into(),
            dingtalk_oapi: "http://127.0.0.1:9".into(),
            wecom_api: "http://127.0.0.1:9".into(),
        };
        let bot = |name: &str, platform, robot_code: Option<&str>| BotAccount {
            name: name.into(),
            platform,
            robot_code: robot_code.map(str::to_string),
            app_key: None,
            app_secret: None,
        };
        Senders::new(
            reqwest::Client::new(),
            &at,
            vec![
                bot("js", Platform::Dingtalk, Some("ROBOT")),
                bot("bare", Platform::Dingtalk, None),
                bot("qh", Platform::Wecom, None),
            ],
        )
    }

    fn group(token: Option<&str>, session: Option<(&str, i64)>) -> Destination {
        Destination::Group {
            group_id: 7,
            conversation_id: "cid7".into(),
            push_token: token.map(str::to_string),
            push_secret: None,
            session: session.map(|(u, e)| (u.to_string(), e)),
        }
    }

    fn code(r: Result<Route, SendError>) -> String {
        r.err().map(|e| e.code().to_string()).unwrap_or_default()
    }

    #[test]
    fn a_dingtalk_push_takes_the_push_robot_then_the_session_then_the_openapi() {
        let s = senders();
        let now = 1_000_000;
        let fresh = Some(("https://oapi.example/session", now + 3_600_000));
        let r = s
            .route("js", &group(Some("tok"), fresh), true, now)
            .unwrap();
        assert_eq!(r.kind(), "robot");
        assert!(r.notifies_mentions());
        let r = s.route("js", &group(None, fresh), true, now).unwrap();
        assert_eq!(r.kind(), "session");
        // Not meant to reach people: the OpenAPI, which writes names.
        let r = s.route("js", &group(None, fresh), false, now).unwrap();
        assert_eq!(r.kind(), "openapi");
        assert!(!r.notifies_mentions());
        // A session about to expire is not used.
        let stale = Some(("https://oapi.example/session", now + 30_000));
        let r = s.route("js", &group(None, stale), true, now).unwrap();
        assert_eq!(r.kind(), "openapi");
        let person = Destination::Person {
            person_id: 3,
            user_id: Some("u3".into()),
        };
        assert_eq!(s.route("js", &person, false, now).unwrap().kind(), "direct");
        assert!(Senders::pushes_to_people(Platform::Dingtalk));
        assert_eq!(
            code(s.route("bare", &group(None, None), false, now)),
            "no_route"
        );
        assert_eq!(code(s.route("nobody", &person, false, now)), "unknown_bot");
    }

    #[test]
    fn a_wecom_push_needs_the_groups_robot_key_and_has_no_direct_route() {
        let s = senders();
        let r = s.route("qh", &group(Some("KEY"), None), true, 0).unwrap();
        assert_eq!(
            r,
            Route::Wecom(wecom::Route::GroupRobot { key: "KEY".into() })
        );
        assert!(r.notifies_mentions());
        assert_eq!(
            code(s.route("qh", &group(Some("  "), None), false, 0)),
            "no_route"
        );
        // The person is not even read: whoever it is, WeCom cannot reach them.
        assert!(!Senders::pushes_to_people(Platform::Wecom));
        let person = Destination::Person {
            person_id: 3,
            user_id: None,
        };
        assert_eq!(code(s.route("qh", &person, false, 0)), "no_direct_route");
    }

    #[test]
    fn robot_keys_and_pauses_are_the_platforms() {
        assert_eq!(
            group_robot_key(Platform::Dingtalk, 7, "js", "cid7", false, Some("R")),
            "dingtalk:R:cid7"
        );
        assert_eq!(
            group_robot_key(Platform::Dingtalk, 7, "js", "cid7", false, None),
            "dingtalk:js:cid7"
        );
        assert_eq!(
            group_robot_key(Platform::Dingtalk, 7, "js", "cid7", true, Some("R")),
            "dingtalk:webhook:7"
        );
        assert_eq!(
            group_robot_key(Platform::Wecom, 7, "qh", "c", false, None),
            "wecom:group:7"
        );
        assert_eq!(
            group_robot_key(Platform::Wecom, 7, "qh", "c", true, None),
            "wecom:webhook:7"
        );
        assert_eq!(person_robot_key("js", 3), "direct:js:3");
        assert_eq!(
            Senders::throttle_pause(Platform::Dingtalk),
            Duration::from_secs(600)
        );
        assert_eq!(
            Senders::throttle_pause(Platform::Wecom),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn destinations_do_not_print_their_credentials() {
        let d = group(Some("secret-token"), Some(("https://x/session?s=1", 5)));
        let shown = format!("{d:?}");
        assert!(
            !shown.contains("secret-token") && !shown.contains("session?s"),
            "{shown}"
        );
    }
}
