//! WeCom (企业微信): the WXBizMsgCrypt scheme shared by 智能机器人 and app
//! callbacks (and DingTalk's optional callback encryption), decoding of the
//! decrypted callbacks, the encrypted passive replies, and group-robot pushes
//! ([`send`]).

pub mod crypto;
pub mod inbound;
pub mod send;
pub mod xml;

use serde::{Deserialize, Serialize};

use crate::reply::{Mention, Reply};
use crypto::MsgCrypt;

/// Largest `stream.content` WeCom accepts (20 480 bytes of UTF-8, as WeCom documents for 智能机器人 replies).
pub const STREAM_CONTENT_MAX_BYTES: usize = 20_480;

/// Writes a reply as WeCom markdown: `@名字` of a mentioned person becomes
/// `<@userid>` (longest names first, so `@张三丰` is not cut by `@张三`), and
/// every line break is a hard break (two trailing spaces), because markdown
/// would otherwise fold a task list into one paragraph.
///
/// The text is scanned once, so a user id that happens to contain another
/// person's name is never rewritten a second time.
pub fn render_markdown(reply: &Reply) -> String {
    let mut mentions: Vec<&Mention> = reply
        .mentions
        .iter()
        .filter(|m| !m.name.is_empty() && !m.user_id.is_empty())
        .collect();
    mentions.sort_by_key(|m| std::cmp::Reverse(m.name.len()));
    let mut out = String::with_capacity(reply.text.len() + 16);
    let mut rest = reply.text.as_str();
    while let Some((before, after)) = rest.split_once('@') {
        out.push_str(before);
        match mentions.iter().find(|m| after.starts_with(m.name.as_str())) {
            Some(m) => {
                out.push_str("<@");
                out.push_str(&m.user_id);
                out.push('>');
                rest = after.get(m.name.len()..).unwrap_or_default();
            }
            None => {
                out.push('@');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    let out = out.replace("\r\n", "\n").replace('\n', "  \n");
    truncate_bytes(out, STREAM_CONTENT_MAX_BYTES)
}

/// Writes a reply as the markdown of a 智能机器人 answer (passive `stream`
/// reply, `response_url`): that markdown is the `markdown_v2` kind, which
/// has no `<@userid>` (PROTOCOLS.md §6.2), so a mention would reach the
/// group as a raw id. People stay `@名字` as written; line breaks are hard
/// breaks as in [`render_markdown`].
pub fn render_aibot_markdown(reply: &Reply) -> String {
    let out = reply.text.replace("\r\n", "\n").replace('\n', "  \n");
    truncate_bytes(out, STREAM_CONTENT_MAX_BYTES)
}

/// Cuts `s` to at most `max` bytes on a character boundary, marking the cut.
fn truncate_bytes(s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let mark = "…";
    let mut end = max.saturating_sub(mark.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = s.get(..end).unwrap_or_default().to_string();
    cut.push_str(mark);
    cut
}

/// 16 random ASCII letters and digits, like the official SDKs' prefix.
pub fn random16() -> [u8; 16] {
    std::array::from_fn(|_| fastrand::alphanumeric() as u8)
}

/// A new random stream id.
pub fn new_stream_id() -> String {
    std::iter::repeat_with(fastrand::alphanumeric)
        .take(16)
        .collect()
}

#[derive(Serialize)]
struct StreamPlain<'a> {
    msgtype: &'static str,
    stream: StreamBody<'a>,
}

// Field order matters: it is the order of the official examples and of our
// known-answer vector (tests/vectors/wecom.json, the encrypted stream reply).
#[derive(Serialize)]
struct StreamBody<'a> {
    id: &'a str,
    finish: bool,
    content: &'a str,
}

/// The plaintext of a finished stream reply.
pub fn stream_reply_plaintext(stream_id: &str, content: &str) -> String {
    let plain = StreamPlain {
        msgtype: "stream",
        stream: StreamBody {
            id: stream_id,
            finish: true,
            content,
        },
    };
    // Serialising two strings and a bool cannot fail.
    serde_json::to_string(&plain).unwrap_or_default()
}

/// The passive reply body of a 智能机器人 callback (JSON `{"msgtype": "stream", …}`, encrypted like the callback).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassiveReply {
    pub encrypt: String,
    pub msgsignature: String,
    pub timestamp: i64,
    pub nonce: String,
}

/// Encrypts and signs `plaintext` as a passive reply.
pub fn passive_reply(
    crypt: &MsgCrypt,
    plaintext: &str,
    timestamp: i64,
    nonce: &str,
    random16: &[u8; 16],
) -> PassiveReply {
    let encrypt = crypt.encrypt(plaintext, random16);
    let msgsignature = crypt.signature(&timestamp.to_string(), nonce, &encrypt);
    PassiveReply {
        encrypt,
        msgsignature,
        timestamp,
        nonce: nonce.to_string(),
    }
}

/// `<![CDATA[…]]>`, splitting any `]]>` inside so the text cannot end it.
fn cdata(s: &str) -> String {
    format!("<![CDATA[{}]]>", s.replace("]]>", "]]]]><![CDATA[>"))
}

/// The plaintext XML of a text reply from an application to `to_user`.
pub fn app_text_plaintext(to_user: &str, corp_id: &str, create_time: i64, content: &str) -> String {
    format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName>\
         <CreateTime>{create_time}</CreateTime><MsgType>{}</MsgType><Content>{}</Content></xml>",
        cdata(to_user),
        cdata(corp_id),
        cdata("text"),
        cdata(content)
    )
}

/// The encrypted passive reply XML of an application callback (§4.1).
pub fn app_reply_xml(
    crypt: &MsgCrypt,
    plaintext: &str,
    timestamp: i64,
    nonce: &str,
    random16: &[u8; 16],
) -> String {
    let encrypt = crypt.encrypt(plaintext, random16);
    let signature = crypt.signature(&timestamp.to_string(), nonce, &encrypt);
    format!(
        "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature>\
         <TimeStamp>{timestamp}</TimeStamp><Nonce>{}</Nonce></xml>",
        cdata(&encrypt),
        cdata(&signature),
        cdata(nonce)
    )
}

#[cfg(test)]
mod tests {
    use super::xml::xml_field;
    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!("../../../tests/vectors/wecom.json");

    fn m(user_id: &str, name: &str) -> Mention {
        Mention {
            user_id: user_id.into(),
            name: name.into(),
        }
    }

    #[test]
    fn an_aibot_answer_names_people_and_never_writes_an_id() {
        let r = Reply::with_mentions(
            "已设团员：@张三 @李四\n下一步",
            vec![Mention::new("zs01", "张三"), Mention::new("ls01", "李四")],
        );
        let md = render_aibot_markdown(&r);
        assert_eq!(md, "已设团员：@张三 @李四  \n下一步");
        assert!(!md.contains("<@") && !md.contains("zs01"), "{md}");
    }

    #[test]
    fn mentions_become_wecom_mentions_longest_first() {
        let r = Reply::with_mentions(
            "#1 @张三 @张三丰 请处理\n#2 @王五",
            vec![m("zs", "张三"), m("zsf", "张三丰")],
        );
        assert_eq!(
            render_markdown(&r),
            "#1 <@zs> <@zsf> 请处理  \n#2 @王五",
            "unknown names stay as typed"
        );
    }

    #[test]
    fn ids_used_as_names_are_rewritten_once() {
        // WeCom people without a name are shown by their user id; "li" is
        // a prefix of "lisi" and must not corrupt "<@lisi>".
        let r = Reply::with_mentions("@lisi @li", vec![m("li", "li"), m("lisi", "lisi")]);
        assert_eq!(render_markdown(&r), "<@lisi> <@li>");
        // An empty name never matches a bare @.
        let r = Reply::with_mentions("a @ b", vec![m("x", "")]);
        assert_eq!(render_markdown(&r), "a @ b");
    }

    #[test]
    fn long_content_is_cut_on_a_char_boundary() {
        let r = Reply::text("村".repeat(10_000));
        let out = render_markdown(&r);
        assert!(out.len() <= STREAM_CONTENT_MAX_BYTES);
        assert!(out.ends_with('…'));
    }

    #[test]
    fn passive_reply_matches_the_known_answer() {
        let v: Value = serde_json::from_str(VECTORS).expect("json");
        let case = &v["wecom_aibot_json_callback"];
        let r = &case["passive_reply"];
        let s = |x: &Value| x.as_str().expect("str").to_string();
        let crypt = MsgCrypt::new(
            &s(&case["token"]),
            &s(&case["encoding_aes_key"]),
            &s(&case["receive_id"]),
        )
        .expect("key");
        let plain = stream_reply_plaintext("STREAMID", "已收到：明天上午排清单");
        assert_eq!(plain, s(&r["plaintext"]));
        let random: [u8; 16] = s(&r["random16"]).into_bytes().try_into().expect("16");
        let reply = passive_reply(&crypt, &plain, 1_700_000_000, &s(&r["nonce"]), &random);
        let expected: PassiveReply = serde_json::from_str(&s(&r["body"])).expect("vector body");
        assert_eq!(reply, expected);
    }

    #[test]
    fn app_reply_decrypts_to_the_text() {
        let crypt = MsgCrypt::new(
            "villagebot",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
            "ww0123456789abcdef",
        )
        .expect("key");
        let plain = app_text_plaintext("zhangsan", "ww0123456789abcdef", 1_700_000_000, "a]]>b");
        let xml = app_reply_xml(&crypt, &plain, 1_700_000_000, "n1", &random16());
        let enc = xml_field(&xml, "Encrypt").expect("Encrypt");
        let sig = xml_field(&xml, "MsgSignature").expect("sig");
        assert_eq!(xml_field(&xml, "TimeStamp").as_deref(), Some("1700000000"));
        assert_eq!(xml_field(&xml, "Nonce").as_deref(), Some("n1"));
        let back = crypt
            .verify_and_decrypt(&sig, "1700000000", "n1", &enc)
            .expect("decrypts");
        assert_eq!(xml_field(&back, "Content").as_deref(), Some("a]]>b"));
        assert_eq!(xml_field(&back, "ToUserName").as_deref(), Some("zhangsan"));
        assert_eq!(xml_field(&back, "MsgType").as_deref(), Some("text"));
    }

    #[test]
    fn random_values_are_ascii() {
        assert!(random16().iter().all(u8::is_ascii_alphanumeric));
        let id = new_stream_id();
        assert_eq!(id.len(), 16);
        assert_ne!(id, new_stream_id());
    }
}
