//! Making a chat reply fit the platforms' message size limits
//! (PROTOCOLS.md §6.1): DingTalk takes a robot message body under 20 000
//! bytes (its group OpenAPI 15 000), a WeCom AI bot stream 20 480 bytes.
//!
//! A reply is measured as the platforms write it: every `@name` of a
//! mention as the longer `<@userid>`, the text escaped as a JSON string,
//! plus the mention list. One that is too long loses its last lines (or the
//! end of a single long line) and says so; mentions no longer written in the
//! text are dropped with them.

use super::Reply;

/// The most a reply may measure (see the module docs), in bytes: room to
/// spare under the smallest limit, DingTalk's 15 000-byte `msgParam`.
pub const MAX_REPLY_BYTES: usize = 14_000;

/// What a reply measures: its text with mentions written out, escaped as
/// JSON, plus each mention's id in the mention list.
pub fn measure(reply: &Reply) -> usize {
    let mut mentions: Vec<_> = reply.mentions.iter().collect();
    mentions.sort_by_key(|m| std::cmp::Reverse(m.name.chars().count()));
    let mut text = reply.text.clone();
    for m in &mentions {
        if !m.name.is_empty() {
            text = text.replace(&format!("@{}", m.name), &format!("<@{}>", m.user_id));
        }
    }
    let escaped = serde_json::Value::String(text).to_string().len();
    escaped
        + reply
            .mentions
            .iter()
            .map(|m| m.user_id.len() + 3)
            .sum::<usize>()
}

/// No less than [`measure`], found without writing the reply out: every byte
/// escaped at its worst (`\u00XX`, six bytes), and every `@` taken as the
/// start of a mention written as the longest `<@userid>`. Most replies are a
/// few hundred bytes, so this settles them without the copy and the JSON.
fn at_most(reply: &Reply) -> usize {
    let longest_id = reply.mentions.iter().map(|m| m.user_id.len()).max();
    let ats = longest_id.map_or(0, |_| reply.text.matches('@').count());
    let grown = reply.text.len() + ats * (longest_id.unwrap_or(0) + 3);
    6 * grown
        + 2
        + reply
            .mentions
            .iter()
            .map(|m| m.user_id.len() + 3)
            .sum::<usize>()
}

/// `reply` as it is when it fits; else cut to fit (see the module docs).
pub fn fit(reply: Reply) -> Reply {
    if at_most(&reply) <= MAX_REPLY_BYTES || measure(&reply) <= MAX_REPLY_BYTES {
        return reply;
    }
    let lines: Vec<&str> = reply.text.lines().collect();
    let with_text = |text: String| {
        let mut mentions: Vec<_> = reply
            .mentions
            .iter()
            .filter(|m| text.contains(&format!("@{}", m.name)))
            .cloned()
            .collect();
        let mut seen = std::collections::HashSet::new();
        mentions.retain(|m| seen.insert(m.user_id.clone()));
        Reply { text, mentions }
    };
    // The most whole lines that fit with the note (binary search: fewer
    // lines never measure more).
    let cut_lines = |k: usize| {
        let mut t = lines[..k].join("\n");
        t.push('\n');
        t.push_str(&lines_left_out(lines.len() - k));
        with_text(t)
    };
    let (mut lo, mut hi) = (0usize, lines.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if measure(&cut_lines(mid)) <= MAX_REPLY_BYTES {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    if lo > 0 {
        return cut_lines(lo);
    }
    // Not even the first line fits: keep as much of it as does.
    let first: Vec<char> = lines.first().copied().unwrap_or_default().chars().collect();
    let cut_chars = |n: usize| {
        let mut t: String = first[..n].iter().collect();
        t.push_str(&text_cut_short());
        with_text(t)
    };
    let (mut lo, mut hi) = (0usize, first.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if measure(&cut_chars(mid)) <= MAX_REPLY_BYTES {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    cut_chars(lo)
}

fn lines_left_out(n: usize) -> String {
    format!("…（内容太长，后面 {n} 行没有显示，全文请在管理后台查看）")
}

fn text_cut_short() -> String {
    "…（内容太长，没有全部显示，全文请在管理后台查看）".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Mention;

    #[test]
    fn the_quick_bound_is_never_below_the_measure() {
        let ids = [
            Mention::new("zs", "张三"),
            Mention::new("a-very-long-platform-user-id-0042", "李"),
        ];
        for text in [
            "",
            "#1 @张三 请处理",
            "@李@李@李 \"引号\" \\ 反斜杠\n换行\t",
            "@张三 @张三 @李 @王五 邮件 a@b.c",
            "\u{1}\u{1f}控制符",
        ] {
            for mentions in [vec![], ids.to_vec()] {
                let r = Reply::with_mentions(text, mentions);
                assert!(
                    at_most(&r) >= measure(&r),
                    "{text:?}: {} < {}",
                    at_most(&r),
                    measure(&r)
                );
            }
        }
    }

    #[test]
    fn a_reply_that_fits_is_untouched() {
        let r = Reply::with_mentions("#1 @张三 请处理", vec![Mention::new("zs", "张三")]);
        assert_eq!(fit(r.clone()), r);
        let long = Reply::text("很".repeat(MAX_REPLY_BYTES / 3 - 2));
        assert!(measure(&long) <= MAX_REPLY_BYTES);
        assert_eq!(fit(long.clone()), long);
    }

    #[test]
    fn long_lists_lose_their_last_lines_and_say_so() {
        let people: Vec<Mention> = (0..600)
            .map(|i| {
                Mention::new(
                    &format!("user{i:04}-with-a-long-platform-id"),
                    &format!("村民{i}"),
                )
            })
            .collect();
        let text: Vec<String> = people
            .iter()
            .enumerate()
            .map(|(i, m)| format!("#{i} 修路 @{}", m.name))
            .collect();
        let r = fit(Reply::with_mentions(text.join("\n"), people.clone()));
        assert!(measure(&r) <= MAX_REPLY_BYTES, "{}", measure(&r));
        assert!(
            r.text.ends_with("行没有显示，全文请在管理后台查看）"),
            "{}",
            r.text
        );
        let shown = r.text.lines().count() - 1;
        assert!(shown > 50 && shown < 600, "{shown}");
        assert!(r.text.starts_with("#"));
        assert_eq!(
            r.mentions.len(),
            shown,
            "only people still written in the text"
        );
        assert_eq!(r.mentions[0], people[0]);
    }

    #[test]
    fn one_huge_line_is_cut_inside() {
        let r = fit(Reply::text(format!(
            "已设团员：{}",
            "@某某某 ".repeat(5000)
        )));
        assert!(measure(&r) <= MAX_REPLY_BYTES);
        assert!(r.text.starts_with("已设团员：@某某某"));
        assert!(
            r.text.ends_with("没有全部显示，全文请在管理后台查看）"),
            "{}",
            r.text
        );
    }

    #[test]
    fn escaping_and_ids_are_counted() {
        // Quotes double when escaped; a short name with a long id grows.
        let quotes = Reply::text("\"".repeat(MAX_REPLY_BYTES / 2 + 10));
        assert!(measure(&quotes) > MAX_REPLY_BYTES);
        assert!(measure(&fit(quotes)) <= MAX_REPLY_BYTES);
        let id = "x".repeat(120);
        let m = vec![Mention::new(&id, "张")];
        let r = Reply::with_mentions("@张 ".repeat(200), m);
        assert!(measure(&r) > MAX_REPLY_BYTES, "200 × <@id> is over");
        assert!(measure(&fit(r)) <= MAX_REPLY_BYTES);
    }
}
