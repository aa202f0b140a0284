//! Decoding a DingTalk enterprise robot callback body (HTTP mode: JSON with
//! `msgId`, `conversationId`, `senderStaffId`, `text.content`, `atUsers`…) into [`Inbound`].

use serde::Deserialize;

use crate::domain::text;
use crate::platform::{Inbound, LeadingAt, Platform, Sender};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    msg_id: String,
    #[serde(default)]
    msgtype: String,
    #[serde(default)]
    text: Option<TextContent>,
    #[serde(default)]
    content: Option<serde_json::Value>,
    conversation_id: String,
    #[serde(default)]
    conversation_type: String,
    #[serde(default)]
    conversation_title: String,
    sender_id: String,
    #[serde(default)]
    sender_nick: String,
    #[serde(default)]
    sender_staff_id: String,
    #[serde(default)]
    chatbot_user_id: String,
    #[serde(default)]
    at_users: Vec<AtUser>,
    #[serde(default)]
    is_admin: bool,
    #[serde(default)]
    is_in_at_list: bool,
    #[serde(default)]
    session_webhook: String,
    /// A number in every example; read a numeric string too.
    #[serde(default)]
    session_webhook_expired_time: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct TextContent {
    #[serde(default)]
    content: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AtUser {
    #[serde(default)]
    dingtalk_id: String,
    #[serde(default)]
    staff_id: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("body is not a DingTalk robot message: {0}")]
    Malformed(String),
    #[error("{0} is empty")]
    Empty(&'static str),
}

/// The text of a `richText` message: its text items joined.
fn rich_text(content: &serde_json::Value) -> Option<String> {
    let items = content.get("richText")?.as_array()?;
    let text: String = items
        .iter()
        .filter_map(|i| i.get("text").and_then(|t| t.as_str()))
        .collect::<Vec<_>>()
        .join("");
    Some(text)
}

/// Decodes `body` for bot `bot`. Control characters are dropped from every
/// string of it first ([`text::clean`]).
pub fn decode(bot: &str, body: &[u8]) -> Result<Inbound, DecodeError> {
    let b: Body = text::from_json_slice(body).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    for (name, v) in [
        ("msgId", &b.msg_id),
        ("conversationId", &b.conversation_id),
        ("senderId", &b.sender_id),
    ] {
        if v.trim().is_empty() {
            return Err(DecodeError::Empty(name));
        }
    }
    let text = match b.msgtype.as_str() {
        "text" => Some(b.text.map(|t| t.content).unwrap_or_default()),
        "richText" => b.content.as_ref().and_then(rich_text),
        _ => None,
    };
    let mentioned = b
        .at_users
        .iter()
        .filter(|u| u.dingtalk_id != b.chatbot_user_id || b.chatbot_user_id.is_empty())
        .filter(|u| !(u.dingtalk_id.is_empty() && u.staff_id.is_empty()))
        .map(|u| {
            if u.staff_id.is_empty() {
                u.dingtalk_id.clone()
            } else {
                u.staff_id.clone()
            }
        })
        .collect();
    // staffId identifies org members stably; outsiders only have the encrypted id.
    let sender_id = if b.sender_staff_id.is_empty() {
        b.sender_id
    } else {
        b.sender_staff_id
    };
    Ok(Inbound {
        platform: Platform::Dingtalk,
        bot: bot.to_string(),
        msg_id: b.msg_id,
        conversation_id: b.conversation_id,
        conversation_title: b.conversation_title,
        // "1" is a 1:1 chat, "2" a group; treat anything else as a group so a
        // new kind of chat is answered rather than dropped.
        is_group: b.conversation_type != "1",
        sender: Sender {
            id: sender_id,
            name: b.sender_nick,
            group_admin: b.is_admin,
        },
        text,
        mentioned,
        // DingTalk usually cuts the bot's own @name, some clients keep it.
        leading_at: if b.is_in_at_list {
            LeadingAt::BotUnlessOther
        } else {
            LeadingAt::Unknown
        },
        session_webhook: b
            .session_webhook_expired_time
            .as_ref()
            .and_then(|v| v.as_i64().or_else(|| v.as_str()?.trim().parse().ok()))
            .filter(|exp| *exp > 0 && !b.session_webhook.is_empty())
            .map(|exp| (b.session_webhook.clone(), exp)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_frame_data() -> String {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/vectors/dingtalk.json")).unwrap();
        v["dingtalk_stream"]["bot_message_frame"]["data"]
            .as_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn decodes_the_documented_group_message() {
        let m = decode("js", stream_frame_data().as_bytes()).unwrap();
        assert_eq!(m.msg_id, "msgTEST==");
        assert_eq!(m.conversation_id, "cidTEST==");
        assert_eq!(m.conversation_title, "三组村务群");
        assert!(m.is_group);
        assert_eq!(
            m.sender,
            Sender {
                id: "zhangsan01".into(),
                name: "张三".into(),
                group_admin: false
            }
        );
        assert_eq!(m.text.as_deref(), Some(" 排清单 明天"));
        assert!(m.mentioned.is_empty(), "the bot itself is not a mention");
    }

    #[test]
    fn mentions_prefer_staff_ids_and_skip_the_bot() {
        let body = serde_json::json!({
            "msgId": "m1", "msgtype": "text", "text": {"content": " 设团员 @李四 @王五"},
            "conversationId": "c", "conversationType": "2", "senderId": "s", "chatbotUserId": "bot",
            "atUsers": [{"dingtalkId": "bot"}, {"dingtalkId": "x1", "staffId": "lisi"}, {"dingtalkId": "x2"}]
        });
        let m = decode("js", body.to_string().as_bytes()).unwrap();
        assert_eq!(m.mentioned, vec!["lisi".to_string(), "x2".to_string()]);
        assert_eq!(m.sender.id, "s", "no staffId: the encrypted sender id");
    }

    #[test]
    fn other_kinds_have_no_text_and_rich_text_is_joined() {
        let pic = serde_json::json!({"msgId": "m", "msgtype": "picture", "conversationId": "c", "senderId": "s"});
        assert_eq!(decode("b", pic.to_string().as_bytes()).unwrap().text, None);
        let rich = serde_json::json!({"msgId": "m", "msgtype": "richText", "conversationId": "c", "senderId": "s",
            "content": {"richText": [{"text": "清单"}, {"pictureDownloadCode": "x"}, {"text": " "}]}});
        assert_eq!(
            decode("b", rich.to_string().as_bytes())
                .unwrap()
                .text
                .as_deref(),
            Some("清单 ")
        );
    }

    /// The Stream client decodes with the same function: both drop them.
    #[test]
    fn control_characters_are_dropped_from_every_field() {
        let body = serde_json::json!({
            "msgId": "m\u{0}1", "msgtype": "text", "text": {"content": " 清单\u{0}\u{1b}"},
            "conversationId": "c\u{0}", "conversationType": "2", "conversationTitle": "三组\u{0}群",
            "senderId": "s", "senderNick": "张\u{0}三", "senderStaffId": "zhang\u{0}san",
            "atUsers": [{"dingtalkId": "x1", "staffId": "li\u{0}si"}]
        });
        let m = decode("js", body.to_string().as_bytes()).unwrap();
        assert_eq!(
            (
                m.msg_id.as_str(),
                m.conversation_id.as_str(),
                m.conversation_title.as_str()
            ),
            ("m1", "c", "三组群")
        );
        assert_eq!(
            (m.sender.id.as_str(), m.sender.name.as_str()),
            ("zhangsan", "张三")
        );
        assert_eq!(m.text.as_deref(), Some(" 清单"));
        assert_eq!(m.mentioned, vec!["lisi".to_string()]);
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        for body in [
            &b""[..],
            b"{",
            b"[]",
            b"null",
            b"{\"msgId\":1}",
            b"\xff\xfe",
            br#"{"msgId":"","conversationId":"c","senderId":"s"}"#,
        ] {
            assert!(
                decode("b", body).is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
