//! Households: how a 小组 (village subgroup) is written and compared.

/// The 小组 of a household as stored: digits only ("3"), or `""` for none.
/// Accepts the forms people type: `3`, `3组`, `3小组`, `第3组`, `三组`,
/// `第十二组`, full-width digits. `None` when `raw` is not a subgroup.
pub fn normalize_subgroup(raw: &str) -> Option<String> {
    let s = raw.trim();
    if s.is_empty() {
        return Some(String::new());
    }
    let s = s.strip_prefix('第').unwrap_or(s);
    let s = s
        .strip_suffix("小组")
        .or_else(|| s.strip_suffix('组'))
        .unwrap_or(s)
        .trim();
    let digits: String = s
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            c => c,
        })
        .collect();
    if !digits.is_empty() && digits.len() <= 3 && digits.chars().all(|c| c.is_ascii_digit()) {
        let n: u32 = digits.parse().ok()?;
        return (n > 0).then(|| n.to_string());
    }
    chinese_number(&digits).map(|n| n.to_string())
}

/// 一 … 九十九 (also 两, 〇 in 一〇).
fn chinese_number(s: &str) -> Option<u32> {
    let digit = |c: char| -> Option<u32> {
        Some(match c {
            '一' => 1,
            '二' | '两' => 2,
            '三' => 3,
            '四' => 4,
            '五' => 5,
            '六' => 6,
            '七' => 7,
            '八' => 8,
            '九' => 9,
            _ => return None,
        })
    };
    let chars: Vec<char> = s.chars().collect();
    let n = match chars.as_slice() {
        ['十'] => 10,
        [a] => digit(*a)?,
        ['十', b] => 10 + digit(*b)?,
        [a, '十'] => digit(*a)? * 10,
        [a, '十', b] => digit(*a)? * 10 + digit(*b)?,
        _ => return None,
    };
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::normalize_subgroup as n;

    #[test]
    fn subgroup_forms() {
        for (raw, want) in [
            ("3", Some("3")),
            ("3组", Some("3")),
            ("第3组", Some("3")),
            ("三组", Some("3")),
            ("第三小组", Some("3")),
            ("十二组", Some("12")),
            ("二十组", Some("20")),
            ("十组", Some("10")),
            ("３组", Some("3")),
            ("03", Some("3")),
            ("", Some("")),
            (" 5 组 ", Some("5")),
            ("0", None),
            ("东组", None),
            ("1234", None),
        ] {
            assert_eq!(n(raw).as_deref(), want, "{raw:?}");
        }
    }
}
