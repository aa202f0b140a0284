//! Text as it may be stored: what arrives from outside (platform callbacks,
//! admin bodies, household files) is cleaned of control characters at the
//! boundary, so that SQLite and PostgreSQL (which refuses U+0000 in text)
//! store the same and answer the same.

use std::borrow::Cow;

/// Control characters dropped from input: the C0 controls (U+0000..=U+001F)
/// except the line breaks `\n`, `\r` (which the command parser reads as a
/// line break) and the tab.
pub fn is_dropped(c: char) -> bool {
    c.is_ascii_control() && c != '\x7f' && !matches!(c, '\n' | '\r' | '\t')
}

/// `s` without the characters of [`is_dropped`]; borrowed when there are none.
pub fn clean(s: &str) -> Cow<'_, str> {
    if s.chars().any(is_dropped) {
        Cow::Owned(s.chars().filter(|c| !is_dropped(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// [`clean`] in place.
pub fn clean_in_place(s: &mut String) {
    if s.chars().any(is_dropped) {
        s.retain(|c| !is_dropped(c));
    }
}

/// [`clean`] applied to every string of a JSON value, keys included.
pub fn clean_json(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::String(s) => clean_in_place(s),
        Value::Array(items) => items.iter_mut().for_each(clean_json),
        Value::Object(map) => {
            if map.keys().any(|k| k.chars().any(is_dropped)) {
                let old = std::mem::take(map);
                for (k, mut item) in old {
                    clean_json(&mut item);
                    map.insert(clean(&k).into_owned(), item);
                }
            } else {
                map.values_mut().for_each(clean_json);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Parses JSON and cleans every string in it ([`clean_json`]) before it
/// becomes a `T`. A body with no backslash holds no escaped control
/// character (and serde_json refuses raw ones), so it is parsed directly.
pub fn from_json_slice<T: serde::de::DeserializeOwned>(raw: &[u8]) -> serde_json::Result<T> {
    if !raw.contains(&b'\\') {
        return serde_json::from_slice(raw);
    }
    let mut v: serde_json::Value = serde_json::from_slice(raw)?;
    clean_json(&mut v);
    serde_json::from_value(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drops_c0_controls_but_line_breaks_and_tabs() {
        let cases = [
            ("排清单\u{0}", "排清单"),
            ("\u{0}\u{1}a\u{7}b\u{1b}[0m\u{1f}", "ab[0m"),
            ("1. 河道\t清理\r\n2. 走访\n", "1. 河道\t清理\r\n2. 走访\n"),
            ("张三\u{b}\u{c}", "张三"),
            // DEL and the C1 controls are not refused by either database.
            ("a\u{7f}b\u{85}", "a\u{7f}b\u{85}"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(clean(input), want, "{input:?}");
            let mut s = input.to_string();
            clean_in_place(&mut s);
            assert_eq!(s, want, "{input:?} in place");
        }
        assert!(matches!(clean("无控制字符"), Cow::Borrowed(_)));
    }

    #[test]
    fn every_string_of_a_json_value_is_cleaned() {
        let mut v = json!({"a\u{0}": ["x\u{0}y", 1, null, {"b": "\u{0}"}], "c": true});
        clean_json(&mut v);
        assert_eq!(v, json!({"a": ["xy", 1, null, {"b": ""}], "c": true}));
    }

    #[test]
    fn json_is_parsed_with_its_strings_cleaned() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct B {
            name: String,
            tags: Vec<String>,
        }
        let raw = br#"{"name":"\u0000\u5f20\u4e09\u0000","tags":["a\u0001","b\n"]}"#;
        assert_eq!(
            from_json_slice::<B>(raw).unwrap(),
            B {
                name: "张三".into(),
                tags: vec!["a".into(), "b\n".into()]
            }
        );
        let plain = r#"{"name":"张三","tags":[]}"#;
        assert_eq!(from_json_slice::<B>(plain.as_bytes()).unwrap().name, "张三");
        assert!(from_json_slice::<B>(br#"{"name":"\u0000"#).is_err());
    }
}
