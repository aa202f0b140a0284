//! Text clean-up before matching: leading bot mentions (DingTalk may keep or
//! strip `@BotName`; WeCom keeps it; the separator may be U+2005),
//! full-width folding and white space.

/// White space as it arrives from DingTalk / WeCom clients: Unicode white
/// space (U+00A0, U+2005, U+2006, U+2009, U+3000 … are all `is_whitespace`)
/// plus the zero-width characters that are not.
fn is_space(c: char) -> bool {
    c.is_whitespace() || is_zero_width(c)
}

/// Invisible characters dropped from the text altogether.
fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{200C}' | '\u{2060}' | '\u{FEFF}')
}

/// Removes leading `@BotName` mentions of the known bot names, per
/// The mention rule: leading white space is trimmed, then a leading `@` or
/// `＠` followed by a known name (longest first) and the white space after it
/// is removed, again and again. Unknown names and mentions later in the text
/// stay. Trailing white space is trimmed.
pub(crate) fn strip_mentions<'t>(text: &'t str, bot_names: &[String]) -> &'t str {
    // Longest first, so that "小帮手Pro" is not cut as "小帮手" + "Pro".
    let mut names: Vec<&str> = bot_names
        .iter()
        .map(|n| n.trim().trim_start_matches(['@', '＠']))
        .filter(|n| !n.is_empty())
        .collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));

    let mut rest = text.trim_start_matches(is_space);
    while let Some(after_at) = rest.strip_prefix(['@', '＠']) {
        let Some(after_name) = names.iter().find_map(|n| after_at.strip_prefix(n)) else {
            break;
        };
        rest = after_name.trim_start_matches(is_space);
    }
    rest.trim_end_matches(is_space)
}

/// Folds one character: full-width ASCII (U+FF01..=U+FF5E) to ASCII, every
/// white space but line breaks to a plain space. `None` drops the character.
fn fold(c: char) -> Option<char> {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0),
        '\n' | '\u{2028}' | '\u{2029}' => Some('\n'),
        c if is_zero_width(c) => None,
        c if c.is_whitespace() => Some(' '),
        c => Some(c),
    }
}

/// Normalizes a message for the parser: strips leading mentions of the bot
/// (leading `@BotName`s of known names only), folds
/// full-width ASCII and the ideographic space, turns `\r\n` and `\r` into
/// `\n`, collapses runs of spaces within each line, trims every line and
/// drops blank lines. Line breaks are kept, because a
/// plan has one task per line.
pub fn normalize(text: &str, bot_names: &[String]) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let stripped = strip_mentions(&text, bot_names);

    let mut out = String::with_capacity(stripped.len());
    let mut line = String::new();
    let flush = |line: &mut String, out: &mut String| {
        let trimmed = line.trim_matches(' ');
        if !trimmed.is_empty() {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(trimmed);
        }
        line.clear();
    };
    for c in stripped.chars().filter_map(fold) {
        match c {
            '\n' => flush(&mut line, &mut out),
            ' ' if line.ends_with(' ') => {}
            c => line.push(c),
        }
    }
    flush(&mut line, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["村务助手".to_string(), "小帮手".to_string()]
    }

    #[test]
    fn folds_full_width_and_spaces() {
        let cases = [
            ("完成　＃３，＃４：已处理", "完成 #3,#4:已处理"),
            ("１２月５日（周六）", "12月5日(周六)"),
            ("Ａｂｃ～！", "Abc~!"),
            ("a\t\t b  \u{2005} c", "a b c"),
            ("x\u{200B}y", "xy"),
            ("【红】", "【红】"),
            ("、。", "、。"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input, &[]), expected, "input {input:?}");
        }
    }

    #[test]
    fn keeps_line_breaks_and_drops_blank_lines() {
        let input = "排清单\r\n\r\n 1. 清理河道  红 \r\n\n\t\n2. 走访\r3. 收尾\u{2028}4. 结束";
        assert_eq!(
            normalize(input, &[]),
            "排清单\n1. 清理河道 红\n2. 走访\n3. 收尾\n4. 结束"
        );
    }

    #[test]
    fn ignores_empty_and_at_prefixed_bot_names() {
        let odd = vec![String::new(), "@村务助手".to_string(), "  ".to_string()];
        assert_eq!(normalize("@村务助手 清单", &odd), "清单");
        assert_eq!(normalize("@ 清单", &odd), "@ 清单");
    }

    #[test]
    fn longest_bot_name_wins() {
        let names = vec!["小帮手".to_string(), "小帮手Pro".to_string()];
        assert_eq!(normalize("@小帮手Pro 清单", &names), "清单");
        assert_eq!(normalize("@小帮手 清单", &names), "清单");
    }

    #[test]
    fn only_white_space_and_mentions_is_empty() {
        for input in [
            "",
            "   ",
            "\u{3000}\n\u{200B}",
            "@村务助手",
            "＠小帮手\u{2005}@村务助手 ",
        ] {
            assert_eq!(normalize(input, &names()), "", "input {input:?}");
        }
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}' | '\u{3000}'..='\u{303f}' | '\u{ff00}'..='\u{ffef}')
}

/// Undoes the full-width folding of punctuation inside free text written in
/// Chinese: a `,` `:` `;` `!` `?` `(` `)` next to a CJK character goes back to
/// its full-width form, so stored results and reasons read as typed
/// ("已协调到位，农户签字同意"), while ASCII text stays ASCII.
pub fn restore_cjk_punctuation(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).and_then(|j| chars.get(j)).copied();
        let next = chars.get(i + 1).copied();
        let near_cjk = prev.is_some_and(is_cjk) || next.is_some_and(is_cjk);
        let wide = match c {
            ',' => '，',
            ':' => '：',
            ';' => '；',
            '!' => '！',
            '?' => '？',
            '(' => '（',
            ')' => '）',
            _ => c,
        };
        out.push(if near_cjk { wide } else { c });
    }
    out
}

#[cfg(test)]
mod restore_tests {
    use super::restore_cjk_punctuation as r;

    #[test]
    fn chinese_punctuation_comes_back_only_next_to_chinese() {
        for (input, want, why) in [
            (
                "已协调到位,农户签字同意",
                "已协调到位，农户签字同意",
                "comma between CJK",
            ),
            ("处理完毕!", "处理完毕！", "trailing after CJK"),
            (
                "张大爷家(3组)",
                "张大爷家（3组）",
                "brackets around a group number",
            ),
            ("ok, done", "ok, done", "ASCII text stays ASCII"),
            ("10:30", "10:30", "times stay ASCII"),
            ("", "", "empty"),
        ] {
            assert_eq!(r(input), want, "{why}");
        }
    }
}
