//! Phone numbers as people type them: mainland mobiles and landlines.

/// A mainland mobile number as stored: 11 digits, `1[3-9]…`. Accepts a
/// +86 / 86 prefix and spaces or dashes.
pub fn mobile(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = digits
        .strip_prefix("+86")
        .or_else(|| digits.strip_prefix("0086"))
        .or_else(|| {
            (digits.len() == 13)
                .then(|| digits.strip_prefix("86"))
                .flatten()
        })
        .unwrap_or(&digits);
    let b = digits.as_bytes();
    (b.len() == 11
        && b.iter().all(u8::is_ascii_digit)
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1]))
    .then(|| digits.to_string())
}

/// A household's phone: a mobile number, or a landline with its area code
/// (0570-1234567). Stored without spaces.
pub fn household_phone(raw: &str) -> Option<String> {
    if let Some(m) = mobile(raw) {
        return Some(m);
    }
    let s: String = raw.chars().filter(|c| *c != ' ').collect();
    let (area, local) = s.split_once('-').unwrap_or(("", &s));
    let ok_area = area.is_empty() || (area.starts_with('0') && (3..=4).contains(&area.len()));
    let all_digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    let ok_local = if area.is_empty() {
        s.starts_with('0') && (10..=12).contains(&s.len())
    } else {
        (7..=8).contains(&local.len())
    };
    (ok_area && ok_local && all_digits(area) && all_digits(local)).then_some(s)
}

/// Masks the mobile numbers in a text, as public posts and the audit log
/// show them: 13800001111 → 138****1111 (a run of exactly 11 digits starting
/// with 1; longer digit runs are left alone).
pub fn mask_mobiles(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if run == 11 && chars[i] == '1' {
            out.extend(&chars[i..i + 3]);
            out.push_str("****");
            out.extend(&chars[i + 7..i + 11]);
            i += 11;
        } else if run > 0 {
            out.extend(&chars[i..i + run]);
            i += run;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// A phone number with every digit but the last 4 hidden; a mobile number
/// shows its first 3 as well, as public posts do.
/// A value masked already (it holds `*`) is kept: masking again is a no-op.
pub fn mask_phone(s: &str) -> String {
    if s.contains('*') {
        return s.to_string();
    }
    let b = s.as_bytes();
    if b.len() == 11 && b[0] == b'1' && b.iter().all(u8::is_ascii_digit) {
        return format!("{}****{}", &s[..3], &s[7..]);
    }
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let mut seen = 0;
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen += 1;
                if seen + 4 <= digits {
                    return '*';
                }
            }
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles() {
        for (raw, want) in [
            ("13812345678", Some("13812345678")),
            ("+86 138-1234-5678", Some("13812345678")),
            ("8613812345678", Some("13812345678")),
            ("12812345678", None),
            ("1381234567", None),
            ("0570-1234567", None),
        ] {
            assert_eq!(mobile(raw).as_deref(), want, "{raw}");
        }
        assert_eq!(
            household_phone("0570-1234567").as_deref(),
            Some("0570-1234567")
        );
        assert_eq!(
            household_phone("05701234567").as_deref(),
            Some("05701234567")
        );
        assert_eq!(household_phone("12345"), None);
    }
}
