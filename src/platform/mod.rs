//! The only code that knows DingTalk or WeCom exist: the seam between the
//! chat platforms and the rest. Everything behind it sees [`Inbound`]
//! messages, answers with [`crate::reply::Reply`], and pushes through
//! [`send::Senders`], which renders, sends, classifies failures and names
//! throttle pauses per platform.
//!
//! A transport that is not an HTTP route (the DingTalk Stream client) is
//! handed a [`Handler`] that takes a message through the bot, instead of
//! knowing the application.
//!
//! A new platform goes here: a module beside `dingtalk/` and `wecom/`
//! (verify, decode to [`Inbound`], a sender), a variant of [`Platform`],
//! and its arm in each match of [`send`].

pub mod dingtalk;
pub mod send;
pub mod wecom;

pub use send::SendError;

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use crate::reply::Reply;

/// The chat platforms: configuration (`platform = "dingtalk"`), stored rows
/// (`chat_groups.platform`, `people.platform`), the outbox and metric labels
/// all name them by [`Platform::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Dingtalk,
    Wecom,
}

impl Platform {
    pub const ALL: [Platform; 2] = [Platform::Dingtalk, Platform::Wecom];

    pub const fn as_str(self) -> &'static str {
        match self {
            Platform::Dingtalk => "dingtalk",
            Platform::Wecom => "wecom",
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A platform name that is none of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown platform {0:?}: expected dingtalk or wecom")]
pub struct UnknownPlatform(pub String);

impl std::str::FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(s: &str) -> Result<Platform, UnknownPlatform> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPlatform(s.to_string()))
    }
}

/// Decoded where it is read (`#[sqlx(try_from = "String")]` in store rows).
impl TryFrom<String> for Platform {
    type Error = UnknownPlatform;

    fn try_from(s: String) -> Result<Platform, UnknownPlatform> {
        s.parse()
    }
}

/// What became of one message handed to the bot by a transport.
#[derive(Debug, Clone)]
pub struct Answer {
    pub reply: Reply,
    /// A repeat delivery: the saved reply, nothing new stored.
    pub duplicate: bool,
    /// Storage failed; the reply asks the sender to try again.
    pub failed: bool,
}

/// What a transport that holds its own connection (the DingTalk Stream
/// client) is handed: the turn, the clock and the metric, so that it needs
/// nothing of the application.
pub trait Handler: Send + Sync + 'static {
    /// Takes one message through the bot and counts it under `transport`
    /// (the metric label).
    fn answer(
        &self,
        transport: &'static str,
        inbound: Inbound,
    ) -> Pin<Box<dyn Future<Output = Answer> + Send + '_>>;

    /// Counts an outcome the turn did not see (`malformed`, `reply_failed`).
    fn count(&self, transport: &'static str, outcome: &'static str);

    /// Now, in epoch ms (the application's clock).
    fn now_ms(&self) -> i64;
}

/// Who sent a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// Platform user id (DingTalk staffId, or the encrypted senderId for
    /// people outside the organisation; WeCom userid).
    pub id: String,
    /// Display name, when the platform sends one (DingTalk does, WeCom not).
    pub name: String,
    /// A group admin on the platform (DingTalk `isAdmin`).
    pub group_admin: bool,
}

/// One message addressed to the bot, platform-neutral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub platform: Platform,
    /// The configured bot name (the `{bot}` of the webhook path).
    pub bot: String,
    /// The platform's message id; deliveries with the same id are one message.
    pub msg_id: String,
    pub conversation_id: String,
    pub conversation_title: String,
    pub is_group: bool,
    pub sender: Sender,
    /// The text, or `None` for kinds the bot cannot read (pictures, voice …).
    pub text: Option<String>,
    /// Platform ids of the other people @-mentioned, in order (the bot excluded).
    pub mentioned: Vec<String>,
    /// What a leading `@name` of the text is known to be.
    pub leading_at: LeadingAt,
    /// DingTalk: the callback's `sessionWebhook` and its expiry (epoch ms).
    pub session_webhook: Option<(String, i64)>,
}

/// What the platform tells about a leading `@name` in the text
/// (PROTOCOLS.md §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeadingAt {
    /// Nothing: only the configured display names of the bot are stripped.
    #[default]
    Unknown,
    /// It addresses the bot (a WeCom 智能机器人 group callback keeps
    /// `@机器人名` at the start of every message).
    Bot,
    /// The bot is in the message's at list (DingTalk `isInAtList`): a
    /// leading `@name` is the bot's unless it names another person @-ed.
    BotUnlessOther,
}

/// Leading white space as chat clients send it (U+2005 after an @name,
/// zero-width spaces …).
fn is_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}' | '\u{200C}' | '\u{2060}' | '\u{FEFF}')
}

/// The leading `@name` of `text` (after white space): (the name, the rest
/// after it and its white space).
fn leading_token(text: &str) -> Option<(&str, &str)> {
    let rest = text.trim_start_matches(is_space);
    let after_at = rest.strip_prefix(['@', '＠'])?;
    let end = after_at.find(is_space).unwrap_or(after_at.len());
    let name = after_at.get(..end)?;
    if name.is_empty() {
        return None;
    }
    let rest = after_at.get(end..)?.trim_start_matches(is_space);
    Some((name, rest))
}

impl Inbound {
    /// Whether the text starts with an `@name` that [`Self::command_text`]
    /// could only judge knowing the names of the other people @-ed.
    pub fn needs_mentioned_names(&self, display_names: &[String]) -> bool {
        self.leading_at == LeadingAt::BotUnlessOther
            && !self.mentioned.is_empty()
            && self.text.as_deref().is_some_and(|t| {
                leading_token(t).is_some() && !starts_with_display_name(t, display_names)
            })
    }

    /// The text with the bot's own leading `@name` removed, as the
    /// platform tells it (see [`LeadingAt`]): a configured display name is
    /// always the bot's (the command parser strips those); otherwise a WeCom
    /// group callback's leading `@name` is, and a DingTalk message's is when
    /// the bot is in its at list, the name is not one of `other_names` (the
    /// known names of the people @-ed) and the text holds more @names than
    /// people @-ed besides the bot (else DingTalk already cut the bot's).
    pub fn command_text(&self, display_names: &[String], other_names: &[String]) -> Option<String> {
        let text = self.text.as_deref()?;
        let Some((name, rest)) = leading_token(text) else {
            return Some(text.to_string());
        };
        if starts_with_display_name(text, display_names) {
            return Some(text.to_string());
        }
        let strip = match self.leading_at {
            LeadingAt::Unknown => false,
            LeadingAt::Bot => self.is_group,
            LeadingAt::BotUnlessOther => {
                let ats = text.matches(['@', '＠']).count();
                !other_names.iter().any(|n| n == name) && ats > self.mentioned.len()
            }
        };
        let out = if strip { rest } else { text };
        Some(out.to_string())
    }
}

/// Whether `text` starts with `@` and a configured display name of the bot.
fn starts_with_display_name(text: &str, display_names: &[String]) -> bool {
    let Some(after_at) = text.trim_start_matches(is_space).strip_prefix(['@', '＠']) else {
        return false;
    };
    display_names
        .iter()
        .map(|n| n.trim().trim_start_matches(['@', '＠']))
        .any(|n| !n.is_empty() && after_at.starts_with(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(platform: Platform, text: &str, leading_at: LeadingAt, mentioned: &[&str]) -> Inbound {
        Inbound {
            platform,
            bot: "b".into(),
            msg_id: "m".into(),
            conversation_id: "c".into(),
            conversation_title: String::new(),
            is_group: true,
            sender: Sender {
                id: "u".into(),
                name: String::new(),
                group_admin: false,
            },
            text: Some(text.into()),
            mentioned: mentioned.iter().map(|s| s.to_string()).collect(),
            leading_at,
            session_webhook: None,
        }
    }

    #[test]
    fn one_spelling_per_platform_in_text_serde_and_rows() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>(), Ok(p));
            assert_eq!(Platform::try_from(p.to_string()), Ok(p));
            let json = serde_json::to_string(&p).expect("serializes");
            assert_eq!(json, format!("\"{}\"", p.as_str()));
            assert_eq!(serde_json::from_str::<Platform>(&json).ok(), Some(p));
        }
        let err = "qq".parse::<Platform>().expect_err("not ours");
        assert!(err.to_string().contains("qq"), "{err}");
        assert!("DingTalk".parse::<Platform>().is_err(), "lower case only");
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_wecom_group_message_loses_its_leading_at_name_whatever_the_name() {
        let none: Vec<String> = Vec::new();
        for (text, want) in [
            ("@小帮手 排清单", "排清单"),
            ("@村务助手\u{2005}清单", "清单"),
            ("  ＠Bot 帮助", "帮助"),
            ("@机器人 排清单\n1. 河道清理", "排清单\n1. 河道清理"),
            ("清单 @张三", "清单 @张三"),
        ] {
            let m = msg(Platform::Wecom, text, LeadingAt::Bot, &[]);
            assert_eq!(
                m.command_text(&none, &none).as_deref(),
                Some(want),
                "{text:?}"
            );
        }
        // A configured name with a space is the parser's to strip, whole.
        let m = msg(Platform::Wecom, "@村务 助手 清单", LeadingAt::Bot, &[]);
        assert_eq!(
            m.command_text(&names(&["村务 助手"]), &none).as_deref(),
            Some("@村务 助手 清单")
        );
        // A 1:1 chat has nothing to strip.
        let mut m = msg(Platform::Wecom, "@小帮手 清单", LeadingAt::Bot, &[]);
        m.is_group = false;
        assert_eq!(
            m.command_text(&none, &none).as_deref(),
            Some("@小帮手 清单")
        );
    }

    #[test]
    fn a_dingtalk_leading_at_name_is_the_bots_only_when_it_cannot_be_someone_elses() {
        let none: Vec<String> = Vec::new();
        let unless = LeadingAt::BotUnlessOther;
        // The client kept the bot's name: one @name more than people @-ed.
        let m = msg(Platform::Dingtalk, "@小帮手 设团长 @张三", unless, &["zs"]);
        assert!(m.needs_mentioned_names(&none));
        assert_eq!(
            m.command_text(&none, &names(&["张三"])).as_deref(),
            Some("设团长 @张三")
        );
        // DingTalk cut the bot's name: the leading @name is a person's.
        let m = msg(Platform::Dingtalk, "@张三 完成 #1", unless, &["zs"]);
        assert_eq!(
            m.command_text(&none, &names(&["张三"])).as_deref(),
            Some("@张三 完成 #1")
        );
        // Even when the person's name is not known yet, the count tells.
        assert_eq!(
            m.command_text(&none, &none).as_deref(),
            Some("@张三 完成 #1")
        );
        // A known name of an @-ed person is never stripped.
        let m = msg(Platform::Dingtalk, "@张三 @李四 清单", unless, &["zs"]);
        assert_eq!(
            m.command_text(&none, &names(&["张三"])).as_deref(),
            Some("@张三 @李四 清单")
        );
        // Nobody else @-ed: no names to read.
        let m = msg(Platform::Dingtalk, "@小帮手 清单", unless, &[]);
        assert!(!m.needs_mentioned_names(&none));
        assert_eq!(m.command_text(&none, &none).as_deref(), Some("清单"));
        // The bot not in the at list: nothing is the bot's.
        let m = msg(Platform::Dingtalk, "@小帮手 清单", LeadingAt::Unknown, &[]);
        assert_eq!(
            m.command_text(&none, &none).as_deref(),
            Some("@小帮手 清单")
        );
        // A configured display name is left for the parser.
        let m = msg(Platform::Dingtalk, "@联村助手 清单", unless, &["zs"]);
        assert!(!m.needs_mentioned_names(&names(&["联村助手"])));
    }
}
