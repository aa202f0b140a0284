//! Decoding decrypted WeCom callbacks into [`Inbound`]: the 智能机器人 JSON
//! (智能机器人 API mode: encrypted JSON) and the classic application XML (自建应用, WXBizMsgCrypt).

use serde::Deserialize;

use super::xml::xml_field;
use crate::domain::text;
use crate::platform::{Inbound, LeadingAt, Platform, Sender};

/// What a decrypted callback turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
// One value per callback, moved once: boxing the message would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Decoded {
    /// A message for the bot.
    Message(Inbound),
    /// Something that needs no answer and must store nothing: events
    /// (`enter_chat`, card clicks, feedback) and `stream` refresh polls. The
    /// string names the kind, for logs.
    Ignored(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("decrypted callback is not a WeCom message: {0}")]
    Malformed(String),
    #[error("{0} is empty")]
    Empty(&'static str),
}

#[derive(Debug, Deserialize)]
struct Body {
    #[serde(default)]
    msgid: String,
    #[serde(default)]
    chatid: String,
    #[serde(default)]
    chattype: String,
    #[serde(default)]
    from: Option<FromUser>,
    #[serde(default)]
    msgtype: String,
    #[serde(default)]
    text: Option<Content>,
    #[serde(default)]
    voice: Option<Content>,
    #[serde(default)]
    mixed: Option<Mixed>,
}

#[derive(Debug, Deserialize)]
struct FromUser {
    #[serde(default)]
    userid: String,
}

#[derive(Debug, Deserialize)]
struct Content {
    #[serde(default)]
    content: String,
}

#[derive(Debug, Deserialize)]
struct Mixed {
    #[serde(default)]
    msg_item: Vec<MixedItem>,
}

#[derive(Debug, Deserialize)]
struct MixedItem {
    #[serde(default)]
    msgtype: String,
    #[serde(default)]
    text: Option<Content>,
}

/// Decodes the plaintext of a 智能机器人 callback for bot `bot`. Control
/// characters are dropped from every string of it first ([`text::clean`]).
pub fn decode_aibot(bot: &str, plaintext: &str) -> Result<Decoded, DecodeError> {
    let b: Body = text::from_json_slice(plaintext.as_bytes())
        .map_err(|e| DecodeError::Malformed(e.to_string()))?;
    // Refresh polls repeat a stream we already finished (every reply says
    // finish: true), and events carry no command: neither is a message.
    if matches!(b.msgtype.as_str(), "event" | "stream") {
        return Ok(Decoded::Ignored(b.msgtype));
    }
    let userid = b.from.map(|f| f.userid).unwrap_or_default();
    for (name, v) in [("msgid", &b.msgid), ("from.userid", &userid)] {
        if v.trim().is_empty() {
            return Err(DecodeError::Empty(name));
        }
    }
    // A 1:1 chat has no chatid; key it by the person so it never collides
    // with a group's id. Any other chattype with a chatid is a group, so a new
    // kind of chat is answered rather than dropped.
    let (conversation_id, is_group) = if b.chattype == "single" || b.chatid.is_empty() {
        (format!("single:{userid}"), false)
    } else {
        (b.chatid, true)
    };
    let text = match b.msgtype.as_str() {
        "text" => Some(b.text.map(|t| t.content).unwrap_or_default()),
        // Voice arrives already recognised as text (1:1 chats only).
        "voice" => b.voice.map(|t| t.content),
        "mixed" => b.mixed.map(|m| {
            m.msg_item
                .into_iter()
                .filter(|i| i.msgtype == "text")
                .filter_map(|i| i.text.map(|t| t.content))
                .collect::<Vec<_>>()
                .join("\n")
        }),
        _ => None,
    };
    Ok(Decoded::Message(Inbound {
        platform: Platform::Wecom,
        bot: bot.to_string(),
        msg_id: b.msgid,
        conversation_id,
        conversation_title: String::new(),
        is_group,
        sender: Sender {
            id: userid,
            // WeCom sends no names; people get theirs from the admin API.
            name: String::new(),
            // Group admins of WeCom bots are the bot's configured `admins`.
            group_admin: false,
        },
        text,
        // @names in WeCom text come without ids; the bot layer resolves them.
        mentioned: Vec::new(),
        // A group callback comes only when the bot is @-ed, and its text
        // keeps "@机器人名" in front (PROTOCOLS.md §4.2, §6.3).
        leading_at: if is_group {
            LeadingAt::Bot
        } else {
            LeadingAt::Unknown
        },
        session_webhook: None,
    }))
}

/// The fields of a decrypted application callback needed for a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppMessage {
    pub decoded: Decoded,
    /// The corp id the message was sent to (`ToUserName`).
    pub to_user: String,
    /// The sender's userid (`FromUserName`), empty for some events.
    pub from_user: String,
}

/// Decodes the plaintext XML of a classic application callback. The app
/// lives outside groups, so every message is a 1:1 chat. Control characters
/// are dropped from every field ([`text::clean`]).
pub fn decode_app(bot: &str, plaintext: &str) -> Result<AppMessage, DecodeError> {
    let field = |name: &str| {
        xml_field(plaintext, name).map(|mut v| {
            text::clean_in_place(&mut v);
            v
        })
    };
    let msg_type = field("MsgType").ok_or_else(|| DecodeError::Malformed("no MsgType".into()))?;
    let to_user = field("ToUserName").unwrap_or_default();
    let from_user = field("FromUserName").unwrap_or_default();
    if msg_type == "event" {
        return Ok(AppMessage {
            decoded: Decoded::Ignored(msg_type),
            to_user,
            from_user,
        });
    }
    let msg_id = field("MsgId").unwrap_or_default();
    for (name, v) in [("MsgId", &msg_id), ("FromUserName", &from_user)] {
        if v.trim().is_empty() {
            return Err(DecodeError::Empty(name));
        }
    }
    let text = match msg_type.as_str() {
        "text" => Some(field("Content").unwrap_or_default()),
        _ => None,
    };
    Ok(AppMessage {
        decoded: Decoded::Message(Inbound {
            platform: Platform::Wecom,
            bot: bot.to_string(),
            msg_id,
            conversation_id: format!("single:{from_user}"),
            conversation_title: String::new(),
            is_group: false,
            sender: Sender {
                id: from_user.clone(),
                name: String::new(),
                group_admin: false,
            },
            text,
            mentioned: Vec::new(),
            leading_at: LeadingAt::Unknown,
            session_webhook: None,
        }),
        to_user,
        from_user,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const VECTORS: &str = include_str!("../../../tests/vectors/wecom.json");

    fn message(d: Decoded) -> Inbound {
        match d {
            Decoded::Message(m) => m,
            Decoded::Ignored(k) => panic!("ignored {k}"),
        }
    }

    #[test]
    fn decodes_the_documented_group_message() {
        let v: Value = serde_json::from_str(VECTORS).expect("json");
        let plain = v["wecom_aibot_json_callback"]["plaintext"]
            .as_str()
            .expect("str");
        let m = message(decode_aibot("qinghu", plain).expect("decodes"));
        assert_eq!(m.platform, Platform::Wecom);
        assert_eq!(m.bot, "qinghu");
        assert_eq!(m.msg_id, "CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=");
        assert_eq!(m.conversation_id, "wrkSFfCgAAtest");
        assert!(m.is_group);
        assert_eq!(
            m.sender,
            Sender {
                id: "zhangsan".into(),
                name: String::new(),
                group_admin: false
            }
        );
        // The @bot prefix stays; the command parser strips known bot names.
        assert_eq!(m.text.as_deref(), Some("@村务助手 排清单 明天"));
        assert!(m.mentioned.is_empty());
    }

    #[test]
    fn single_chats_mixed_voice_and_other_kinds() {
        let single = json!({"msgid": "m1", "chattype": "single", "from": {"userid": "lisi"},
            "msgtype": "text", "text": {"content": "清单"}});
        let m = message(decode_aibot("b", &single.to_string()).expect("ok"));
        assert_eq!(m.conversation_id, "single:lisi");
        assert!(!m.is_group);

        let mixed = json!({"msgid": "m2", "chatid": "g", "chattype": "group", "from": {"userid": "u"},
            "msgtype": "mixed", "mixed": {"msg_item": [
                {"msgtype": "text", "text": {"content": "@机器人 排清单"}},
                {"msgtype": "image", "image": {"url": "https://x"}},
                {"msgtype": "text", "text": {"content": "1. 河道清理"}}]}});
        let m = message(decode_aibot("b", &mixed.to_string()).expect("ok"));
        assert_eq!(m.text.as_deref(), Some("@机器人 排清单\n1. 河道清理"));

        let voice = json!({"msgid": "m3", "chattype": "single", "from": {"userid": "u"},
            "msgtype": "voice", "voice": {"content": "清单"}});
        let m = message(decode_aibot("b", &voice.to_string()).expect("ok"));
        assert_eq!(m.text.as_deref(), Some("清单"));

        let image = json!({"msgid": "m4", "chatid": "g", "chattype": "group", "from": {"userid": "u"},
            "msgtype": "image", "image": {"url": "https://x"}});
        let m = message(decode_aibot("b", &image.to_string()).expect("ok"));
        assert_eq!(m.text, None);
        assert!(m.is_group);
    }

    #[test]
    fn events_and_stream_refreshes_are_ignored() {
        for msgtype in ["event", "stream"] {
            let body = json!({"msgid": "x", "msgtype": msgtype, "from": {"userid": "u"},
                "event": {"eventtype": "enter_chat"}, "stream": {"id": "s"}});
            assert_eq!(
                decode_aibot("b", &body.to_string()),
                Ok(Decoded::Ignored(msgtype.into()))
            );
        }
    }

    #[test]
    fn malformed_plaintexts_are_errors_not_panics() {
        for body in [
            "",
            "{",
            "[]",
            "null",
            "{\"msgid\":1}",
            r#"{"msgid":"","msgtype":"text","from":{"userid":"u"}}"#,
            r#"{"msgid":"m","msgtype":"text"}"#,
            r#"{"msgid":"m","msgtype":"text","from":{"userid":" "}}"#,
        ] {
            assert!(decode_aibot("b", body).is_err(), "{body:?}");
        }
    }

    #[test]
    fn control_characters_are_dropped_from_app_xml_fields() {
        let xml = "<xml><ToUserName>c</ToUserName><FromUserName>zhang\u{0}san</FromUserName>\
                   <MsgType>text</MsgType><Content>\u{0}清单\u{1}</Content><MsgId>7\u{0}1</MsgId></xml>";
        let m = message(decode_app("corp", xml).expect("decodes").decoded);
        assert_eq!(
            (m.sender.id.as_str(), m.text.as_deref(), m.msg_id.as_str()),
            ("zhangsan", Some("清单"), "71")
        );
    }

    #[test]
    fn app_xml_messages_are_private_chats() {
        let v: Value = serde_json::from_str(VECTORS).expect("json");
        let plain = v["wecom_app_callback_xml"]["plaintext"]
            .as_str()
            .expect("str");
        let a = decode_app("corp", plain).expect("decodes");
        assert_eq!(a.to_user, "ww0123456789abcdef");
        assert_eq!(a.from_user, "zhangsan");
        let m = message(a.decoded);
        assert_eq!(m.msg_id, "7300000000000000001");
        assert_eq!(m.conversation_id, "single:zhangsan");
        assert!(!m.is_group);
        assert_eq!(m.text.as_deref(), Some("排清单 明天 上午"));

        let event = "<xml><ToUserName>c</ToUserName><FromUserName>u</FromUserName>\
                     <MsgType>event</MsgType><Event>enter_agent</Event></xml>";
        assert_eq!(
            decode_app("corp", event).expect("ok").decoded,
            Decoded::Ignored("event".into())
        );
        let image =
            "<xml><FromUserName>u</FromUserName><MsgType>image</MsgType><MsgId>9</MsgId></xml>";
        assert_eq!(
            message(decode_app("corp", image).expect("ok").decoded).text,
            None
        );
        for bad in [
            "",
            "<xml></xml>",
            "<xml><MsgType>text</MsgType><Content>x</Content></xml>",
            "<xml><MsgType>text</MsgType><MsgId>1</MsgId></xml>",
        ] {
            assert!(decode_app("corp", bad).is_err(), "{bad:?}");
        }
    }
}
