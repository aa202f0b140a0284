//! One task line of a plan: `1. 苗青头村插花田政策处理 @张三 周三前 红`.
//!
//! The grammar is `[numbering] TEXT [@owner …] [deadline] [level]`:
//! - numbering `1.` `1、` `1)` `1．` `(1)` `①` `一、` or a bullet `-` `*` `•` is dropped;
//! - every `@name` anywhere on the line is an owner and leaves the text;
//! - a bracketed level (`【红】`, `[红]`) or a level emoji anywhere is the level;
//! - from the end, standalone level words (`红`, `红色`) and deadline tokens
//!   are taken in any order; the first token that is neither ends the scan,
//!   so a level word inside the text (`参观红色教育基地`) stays text.

use crate::domain::level::Level;

use super::deadline::{self, DeadlineError};
use super::{ParseCtx, TaskLineError};

/// A parsed task line without its line number.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    pub text: String,
    pub owners: Vec<String>,
    pub deadline: Option<chrono::NaiveDateTime>,
    pub level: Option<Level>,
}

/// Characters that end an owner name typed as `@张三、@李四` or `@张三,`.
const NAME_TRAILERS: &[char] = &[',', '、', ';', '.', '。', ':', '!', '?'];

pub(crate) fn parse(line: &str, ctx: &ParseCtx<'_>) -> Result<Line, TaskLineError> {
    let body = strip_numbering(line);
    let (body, mut levels) = extract_levels(body);

    let mut owners: Vec<String> = Vec::new();
    let mut tokens: Vec<&str> = Vec::new();
    for token in body.split(' ').filter(|t| !t.is_empty()) {
        let (text, names) = split_owners(token);
        if let Some(text) = text {
            tokens.push(text);
        }
        for name in names {
            let name = name.trim_end_matches(NAME_TRAILERS);
            if name.is_empty() {
                return Err(TaskLineError::EmptyOwner);
            }
            if !owners.iter().any(|o| o == name) {
                owners.push(name.to_string());
            }
        }
    }

    // Trailing levels and deadline, in any order.
    let mut end = tokens.len();
    let mut found_deadline = None;
    while end > 0 {
        if let Some(level) = Level::parse(tokens[end - 1]) {
            levels.push(level);
            end -= 1;
            continue;
        }
        let Some((result, used)) = deadline::scan_trailing(&tokens[..end], ctx.today, ctx.now)
        else {
            break;
        };
        if found_deadline.is_some() {
            return Err(TaskLineError::TwoDeadlines);
        }
        found_deadline = Some(result.map_err(|e| match e {
            DeadlineError::Invalid { got } => TaskLineError::BadDeadline { got },
            DeadlineError::Past { got, this_week_day } => {
                TaskLineError::DeadlineInPast { got, this_week_day }
            }
        })?);
        end -= used;
    }

    let level = single_level(&levels).ok_or(TaskLineError::TwoLevels)?;
    let text = tokens[..end].join(" ");
    if text.is_empty() {
        return Err(TaskLineError::EmptyText);
    }
    Ok(Line {
        text,
        owners,
        deadline: found_deadline,
        level,
    })
}

/// `Some(None)` for no level, `Some(Some(l))` for one (possibly repeated),
/// `None` when two different levels were given.
pub(crate) fn single_level(levels: &[Level]) -> Option<Option<Level>> {
    match levels.split_first() {
        None => Some(None),
        Some((first, rest)) => rest.iter().all(|l| l == first).then_some(Some(*first)),
    }
}

/// Splits `请@张三@李四` into the text before the first `@` and the names.
/// An `@` right after an ASCII letter or digit is part of the text (an
/// e-mail address), not a mention.
fn split_owners(token: &str) -> (Option<&str>, Vec<&str>) {
    let at = token.char_indices().find(|&(i, c)| {
        c == '@'
            && token[..i]
                .chars()
                .next_back()
                .is_none_or(|prev| !prev.is_ascii_alphanumeric())
    });
    match at {
        None => (Some(token), Vec::new()),
        Some((i, _)) => {
            let text = Some(&token[..i]).filter(|t| !t.is_empty());
            (text, token[i + 1..].split('@').collect())
        }
    }
}

/// Whether the line starts with numbering or a bullet.
pub(crate) fn is_numbered(line: &str) -> bool {
    strip_numbering(line).len() != line.trim_start().len()
}

/// Whether the line is numbered as the FIRST item of a list (`1.` `(1)`
/// `①` `一、`) or has a bullet.
pub(crate) fn starts_a_list(line: &str) -> bool {
    let t = line.trim_start();
    if !is_numbered(t) {
        return false;
    }
    let number = t.trim_start_matches('(');
    let digits = number.len()
        - number
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .len();
    if digits > 0 {
        return &number[..digits] == "1";
    }
    match t.chars().next() {
        Some('①') => true,
        Some('一') => true,
        Some(c) => !('\u{2460}'..='\u{2473}').contains(&c) && !"二三四五六七八九十".contains(c),
        None => false,
    }
}

/// Drops the numbering or bullet at the start of a line.
pub(crate) fn strip_numbering(line: &str) -> &str {
    let t = line.trim_start();

    // 1. 1、 1) 1．(folded to .) 1）(folded to ))
    let digits = t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if (1..=3).contains(&digits) {
        let rest = &t[digits..];
        if let Some(r) = rest.strip_prefix(['、', ')', '）', '．']) {
            return r.trim_start();
        }
        // "1.5公里道路硬化" is a decimal, not numbering.
        if let Some(r) = rest.strip_prefix('.')
            && !r.starts_with(|c: char| c.is_ascii_digit())
        {
            return r.trim_start();
        }
    }

    // (1)
    if let Some(r) = t.strip_prefix('(') {
        let digits = r.len() - r.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if (1..=3).contains(&digits)
            && let Some(r) = r[digits..].strip_prefix(')')
        {
            return r.trim_start();
        }
    }

    let mut chars = t.chars();
    if let Some(first) = chars.next() {
        // ① … ⑳ and bullets.
        if ('\u{2460}'..='\u{2473}').contains(&first)
            || matches!(first, '-' | '*' | '•' | '·' | '●' | '▪')
        {
            return chars.as_str().trim_start();
        }
    }

    // 一、 二、 … 十二、
    let numeral = t.len()
        - t.trim_start_matches(|c: char| "一二三四五六七八九十".contains(c))
            .len();
    // At most three numerals (十二 is two), each three bytes long.
    if (1..=9).contains(&numeral)
        && let Some(r) = t[numeral..].strip_prefix(['、', '.'])
    {
        return r.trim_start();
    }
    t
}

/// Takes out bracketed levels (`【红】`, `[橙色]`) and level emoji wherever
/// they are, leaving a space in their place so that neighbouring words stay
/// apart (`清理河道【红】周五` → `清理河道 周五`).
pub(crate) fn extract_levels(s: &str) -> (String, Vec<Level>) {
    let mut out = String::with_capacity(s.len());
    let mut levels = Vec::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        let close = match c {
            '【' => Some('】'),
            '[' => Some(']'),
            _ => None,
        };
        if let Some(close) = close {
            // Only look a few characters ahead: a level word is at most 2 long.
            let found = rest
                .char_indices()
                .skip(1)
                .take(5)
                .find(|&(_, ch)| ch == close)
                .map(|(i, ch)| i + ch.len_utf8());
            if let Some(level) = found.and_then(|end| Level::parse(&rest[..end]).map(|l| (l, end)))
            {
                levels.push(level.0);
                out.push(' ');
                rest = &rest[level.1..];
                continue;
            }
        }
        let mut buf = [0u8; 4];
        if let Some(level) = Level::from_emoji(c.encode_utf8(&mut buf)) {
            levels.push(level);
            out.push(' ');
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    // Collapse the spaces left behind.
    let tidy = out
        .split('\n')
        .map(|line| {
            line.split(' ')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    (tidy, levels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_styles() {
        let cases = [
            ("1. 清理河道", "清理河道"),
            ("1.清理河道", "清理河道"),
            ("2、走访", "走访"),
            ("3) 对接", "对接"),
            ("3）对接", "对接"),
            ("4．收尾", "收尾"),
            ("(5) 台账", "台账"),
            ("① 台账", "台账"),
            ("- 台账", "台账"),
            ("• 台账", "台账"),
            ("一、台账", "台账"),
            ("十二、台账", "台账"),
            ("1.5公里道路硬化", "1.5公里道路硬化"),
            ("3组路灯维修", "3组路灯维修"),
            ("1234. 台账", "1234. 台账"),
            ("一般事项", "一般事项"),
        ];
        for (input, expected) in cases {
            assert_eq!(strip_numbering(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn owners_split() {
        assert_eq!(split_owners("@张三"), (None, vec!["张三"]));
        assert_eq!(split_owners("@张三@李四"), (None, vec!["张三", "李四"]));
        assert_eq!(split_owners("请@张三"), (Some("请"), vec!["张三"]));
        assert_eq!(split_owners("zs@163.com"), (Some("zs@163.com"), vec![]));
        assert_eq!(split_owners("@"), (None, vec![""]));
    }

    #[test]
    fn levels_anywhere() {
        let cases = [
            ("清理河道【红】周五", "清理河道 周五", vec![Level::Red]),
            ("[橙色] 对接", "对接", vec![Level::Orange]),
            ("🟡走访", "走访", vec![Level::Yellow]),
            ("[备注] 对接", "[备注] 对接", vec![]),
            ("【红", "【红", vec![]),
            ("a 🟢 b 🔴", "a b", vec![Level::Green, Level::Red]),
        ];
        for (input, text, levels) in cases {
            assert_eq!(
                extract_levels(input),
                (text.to_string(), levels),
                "input {input:?}"
            );
        }
    }
}
