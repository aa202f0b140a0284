//! DingTalk enterprise-internal robot: callback verification, decoding, and the
//! synchronous reply body.

pub mod inbound;
pub mod send;
pub mod sign;
pub mod stream;

use serde_json::{Value, json};

use crate::reply::Reply;

/// Writes mentions the DingTalk way: the text carries `@userId` and the `at`
/// block lists the ids; DingTalk shows the person's name in their place.
/// Only for routes that carry an `at` block (HTTP-mode reply body, custom
/// robot, sessionWebhook): see [`send::Route::render`].
pub fn render_text(reply: &Reply) -> (String, Vec<String>) {
    let mut text = reply.text.clone();
    // Longest names first, so "@张三丰" is not cut by "@张三".
    let mut mentions = reply.mentions.clone();
    mentions.sort_by_key(|m| std::cmp::Reverse(m.name.chars().count()));
    for m in &mentions {
        text = text.replace(&format!("@{}", m.name), &format!("@{}", m.user_id));
    }
    let mut ids: Vec<String> = reply.mentions.iter().map(|m| m.user_id.clone()).collect();
    ids.dedup();
    (text, ids)
}

/// The robot message JSON for a reply (HTTP response body, sessionWebhook).
pub fn message_body(reply: &Reply) -> Value {
    let (text, ids) = render_text(reply);
    json!({
        "msgtype": "text",
        "text": { "content": text },
        "at": { "atUserIds": ids, "isAtAll": false },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Mention;

    #[test]
    fn mentions_become_user_ids() {
        let r = Reply::with_mentions(
            "#1 @张三 @张三丰 请处理",
            vec![
                Mention {
                    user_id: "zs".into(),
                    name: "张三".into(),
                },
                Mention {
                    user_id: "zsf".into(),
                    name: "张三丰".into(),
                },
            ],
        );
        let body = message_body(&r);
        assert_eq!(body["text"]["content"], "#1 @zs @zsf 请处理");
        assert_eq!(body["at"]["atUserIds"], json!(["zs", "zsf"]));
        assert_eq!(body["msgtype"], "text");
    }
}
