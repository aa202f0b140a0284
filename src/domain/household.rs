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

/// A household as typed after 走访: the name and, when given, the 小组.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdRef {
    /// The name without the 小组 (张大爷家, 张三).
    pub name: String,
    /// The 小组 as digits, when one was written.
    pub subgroup: Option<String>,
}

impl HouseholdRef {
    /// The names to look the household up by: as typed, and without a
    /// trailing 家 (张大爷家 is registered as 张大爷). Never empty strings.
    pub fn lookup_names(&self) -> Vec<String> {
        let mut out = vec![self.name.clone()];
        if let Some(bare) = self.name.strip_suffix('家')
            && !bare.is_empty()
        {
            out.push(bare.to_string());
        }
        out
    }
}

/// Reads the household of a 走访: `张大爷家(3组)`, `张大爷（三组）`,
/// `3组张大爷`, `第三组张大爷家`, `张三3组`, `张三家`. Full-width brackets
/// are folded by the command parser, but are accepted here too. `None` when
/// nothing but a 小组 is left.
pub fn parse_household(raw: &str) -> Option<HouseholdRef> {
    let s = raw.trim().trim_start_matches('@').trim();
    if subgroup_of(s).is_some() {
        return None;
    }
    let (name, subgroup) = bracketed_subgroup(s)
        .or_else(|| leading_subgroup(s))
        .or_else(|| trailing_subgroup(s))
        .unwrap_or((s, None));
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    Some(HouseholdRef {
        name: name.to_string(),
        subgroup,
    })
}

/// The 小组, if `s` is one and not the empty one.
fn subgroup_of(s: &str) -> Option<String> {
    normalize_subgroup(s).filter(|g| !g.is_empty())
}

/// `张大爷家(3组)`: a 小组 in brackets at the end.
fn bracketed_subgroup(s: &str) -> Option<(&str, Option<String>)> {
    const PAIRS: [(char, char); 4] = [('(', ')'), ('（', '）'), ('[', ']'), ('【', '】')];
    let (open, close) = PAIRS.iter().find(|(_, c)| s.ends_with(*c))?;
    let start = s.rfind(*open)?;
    let inner = &s[start + open.len_utf8()..s.len() - close.len_utf8()];
    Some((&s[..start], Some(subgroup_of(inner)?)))
}

/// `3组张大爷`, `第三小组张三`: a 小组 first.
fn leading_subgroup(s: &str) -> Option<(&str, Option<String>)> {
    let end = s
        .char_indices()
        .take(6)
        .find(|&(_, c)| c == '组')
        .map(|(i, c)| i + c.len_utf8())?;
    let rest = &s[end..];
    if rest.trim().is_empty() {
        return None;
    }
    Some((rest, Some(subgroup_of(&s[..end])?)))
}

/// `张三3组`, `张三第十二组`: a 小组 last. Digits take their whole run; a
/// Chinese number after 第 its whole run, else the shortest that reads.
fn trailing_subgroup(s: &str) -> Option<(&str, Option<String>)> {
    let body = s.strip_suffix("小组").or_else(|| s.strip_suffix('组'))?;
    let digits = body
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_digit() || ('０'..='９').contains(c))
        .last()
        .map(|(i, _)| i);
    let start = match digits {
        Some(i) => i,
        None => match body.char_indices().rev().take(4).find(|&(_, c)| c == '第') {
            Some((i, _)) => i,
            None => {
                // The shortest Chinese number at the end.
                let starts: Vec<usize> =
                    body.char_indices().rev().take(3).map(|(i, _)| i).collect();
                *starts
                    .iter()
                    .find(|&&i| subgroup_of(&body[i..]).is_some())?
            }
        },
    };
    let start = body[..start].strip_suffix('第').map_or(start, |b| b.len());
    let name = &body[..start];
    if name.trim().is_empty() {
        return None;
    }
    Some((name, Some(subgroup_of(&body[start..])?)))
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

    #[test]
    fn household_forms() {
        use super::parse_household as p;
        for (raw, name, sg) in [
            ("张大爷家(3组)", "张大爷家", Some("3")),
            ("张大爷家（3组）", "张大爷家", Some("3")),
            ("张大爷(三组)", "张大爷", Some("3")),
            ("张大爷【第十二组】", "张大爷", Some("12")),
            ("3组张大爷", "张大爷", Some("3")),
            ("第三小组张三家", "张三家", Some("3")),
            ("三组张三", "张三", Some("3")),
            ("张三3组", "张三", Some("3")),
            ("张三第12组", "张三", Some("12")),
            ("李四二组", "李四", Some("2")),
            ("张三家", "张三家", None),
            ("张三", "张三", None),
            ("@王五", "王五", None),
            // Brackets that hold no 小组 are part of the name.
            ("张三(老屋)", "张三(老屋)", None),
            // A name that happens to contain 组 stays whole.
            ("组长家", "组长家", None),
        ] {
            let got = p(raw).unwrap_or_else(|| panic!("{raw:?} not read"));
            assert_eq!(
                (got.name.as_str(), got.subgroup.as_deref()),
                (name, sg),
                "{raw:?}"
            );
        }
        assert_eq!(p("3组"), None, "a 小组 alone is no household");
        assert_eq!(p("(3组)"), None);
        assert_eq!(p(""), None);
    }

    #[test]
    fn lookup_names_drop_a_trailing_jia() {
        let h = super::parse_household("张大爷家(3组)").unwrap();
        assert_eq!(h.lookup_names(), ["张大爷家", "张大爷"]);
        let h = super::parse_household("家").unwrap();
        assert_eq!(h.lookup_names(), ["家"]);
    }
}
