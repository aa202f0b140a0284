//! The only code that knows DingTalk or WeCom exist. Everything behind it sees
//! [`Inbound`] messages and answers with [`crate::reply::Reply`].

pub mod dingtalk;
pub mod wecom;

/// How a send failed (retry later, pause the robot, or give up): one type for
/// both platforms' senders, so the outbox handles them alike.
pub use dingtalk::send::SendError;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Dingtalk,
    Wecom,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Dingtalk => "dingtalk",
            Platform::Wecom => "wecom",
        }
    }
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
}
