//! A tiny, allocation-light extractor for the flat XML that WeCom sends
//! (`<xml><Encrypt><![CDATA[…]]></Encrypt>…</xml>` and the decrypted message
//! XML). No XML crate, no DTDs, no external entities.
//!
//! The scanner walks the document in order and skips CDATA sections, comments,
//! processing instructions and `<!DOCTYPE …>` when looking for the element, so
//! markup typed by a user inside a CDATA `Content` (e.g. `<MsgId>1</MsgId>`)
//! can never be mistaken for a real field.

/// Return the text of the first `<name>…</name>` element (exact, case-sensitive
/// tag name; attributes on the opening tag are tolerated).
///
/// * CDATA sections are copied verbatim; plain text has the five predefined
///   entities (`&lt; &gt; &amp; &quot; &apos;`) expanded, any other `&…` is
///   kept literally.
/// * Whitespace-only text between markup is dropped when the element also
///   contains a CDATA section (indented `<Encrypt>\n  <![CDATA[…]]>\n</Encrypt>`).
/// * `<name/>` yields `Some("")`.
/// * Returns `None` if the element is absent, not closed, contains child
///   elements, or the input is otherwise malformed. Never panics.
pub fn xml_field(xml: &str, name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    let mut pos = 0;
    loop {
        let lt = pos + xml.get(pos..)?.find('<')?;
        let rest = xml.get(lt..)?;
        if let Some(after) = skip_special(rest) {
            pos = lt + after?;
            continue;
        }
        // An ordinary tag: `<…>`.
        let gt = rest.find('>')?;
        let inner = rest.get(1..gt)?;
        pos = lt + gt + 1;
        match open_tag_matches(inner, name) {
            TagMatch::No => {}
            TagMatch::SelfClosing => return Some(String::new()),
            TagMatch::Open => return element_text(xml.get(pos..)?, name),
        }
    }
}

enum TagMatch {
    No,
    Open,
    SelfClosing,
}

fn open_tag_matches(inner: &str, name: &str) -> TagMatch {
    let Some(after_name) = inner.strip_prefix(name) else {
        return TagMatch::No;
    };
    let self_closing = after_name.ends_with('/');
    let attrs = after_name.strip_suffix('/').unwrap_or(after_name);
    // The name must end here: `<Content>` must not match `<ContentX>`.
    if !(attrs.is_empty() || attrs.starts_with(|c: char| c.is_ascii_whitespace())) {
        return TagMatch::No;
    }
    if self_closing {
        TagMatch::SelfClosing
    } else {
        TagMatch::Open
    }
}

/// If `s` (starting at `<`) begins a CDATA section, comment, processing
/// instruction or declaration, return `Some(Some(len))` with the length to
/// skip, `Some(None)` if it is unterminated, `None` if it is an ordinary tag.
fn skip_special(s: &str) -> Option<Option<usize>> {
    const SPECIALS: [(&str, &str); 4] = [
        ("<![CDATA[", "]]>"),
        ("<!--", "-->"),
        ("<?", "?>"),
        ("<!", ">"),
    ];
    for (open, close) in SPECIALS {
        if let Some(body) = s.strip_prefix(open) {
            return Some(body.find(close).map(|i| open.len() + i + close.len()));
        }
    }
    None
}

/// Collect the text content of an element whose opening tag ended just before
/// `s`, up to its `</name>`.
fn element_text(s: &str, name: &str) -> Option<String> {
    let mut out = String::new();
    let mut saw_cdata = false;
    // Plain-text segments, remembered so whitespace-only ones can be dropped
    // if a CDATA section is present.
    let mut pieces: Vec<(bool, String)> = Vec::new();
    let mut pos = 0;
    loop {
        let rest = s.get(pos..)?;
        let lt = rest.find('<')?;
        let text = rest.get(..lt)?;
        if !text.is_empty() {
            pieces.push((false, unescape(text)));
        }
        let tag = rest.get(lt..)?;
        if let Some(body) = tag.strip_prefix("<![CDATA[") {
            let end = body.find("]]>")?;
            pieces.push((true, body.get(..end)?.to_owned()));
            saw_cdata = true;
            pos += lt + "<![CDATA[".len() + end + "]]>".len();
        } else if let Some(body) = tag.strip_prefix("<!--") {
            let end = body.find("-->")?;
            pos += lt + "<!--".len() + end + "-->".len();
        } else if let Some(body) = tag.strip_prefix("</") {
            let gt = body.find('>')?;
            if body.get(..gt)?.trim_end() != name {
                return None; // mismatched close tag: malformed
            }
            break;
        } else {
            return None; // child element or stray markup: not a text field
        }
    }
    for (is_cdata, piece) in pieces {
        if saw_cdata && !is_cdata && piece.chars().all(|c| c.is_ascii_whitespace()) {
            continue;
        }
        out.push_str(&piece);
    }
    Some(out)
}

fn unescape(text: &str) -> String {
    const ENTITIES: [(&str, char); 5] = [
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&amp;", '&'),
        ("&quot;", '"'),
        ("&apos;", '\''),
    ];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or_default());
        let tail = rest.get(amp..).unwrap_or_default();
        match ENTITIES.iter().find(|(ent, _)| tail.starts_with(ent)) {
            Some((ent, ch)) => {
                out.push(*ch);
                rest = tail.get(ent.len()..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = tail.get(1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!("../../../tests/vectors/wecom.json");

    fn field<'a>(v: &'a Value, case: &str, name: &str) -> &'a str {
        v[case][name].as_str().expect("string field")
    }

    #[test]
    fn wecom_app_callback_xml_fields() {
        let v: Value = serde_json::from_str(VECTORS).expect("json");
        let body = field(&v, "wecom_app_callback_xml", "post_body");
        assert_eq!(
            xml_field(body, "Encrypt").as_deref(),
            Some(field(&v, "wecom_app_callback_xml", "encrypt"))
        );
        assert_eq!(xml_field(body, "AgentID").as_deref(), Some("1000002"));
        assert_eq!(
            xml_field(body, "ToUserName").as_deref(),
            Some("ww0123456789abcdef")
        );

        let plain = field(&v, "wecom_app_callback_xml", "plaintext");
        assert_eq!(
            xml_field(plain, "Content").as_deref(),
            Some("排清单 明天 上午")
        );
        assert_eq!(
            xml_field(plain, "FromUserName").as_deref(),
            Some("zhangsan")
        );
        assert_eq!(
            xml_field(plain, "MsgId").as_deref(),
            Some("7300000000000000001")
        );
        assert_eq!(xml_field(plain, "MsgType").as_deref(), Some("text"));
        assert_eq!(
            xml_field(plain, "CreateTime").as_deref(),
            Some("1700000000")
        );
        assert_eq!(xml_field(plain, "Missing"), None);
        // `xml` has child elements → not a text field
        assert_eq!(xml_field(plain, "xml"), None);
    }

    #[test]
    fn official_sample_plaintext_fields() {
        let v: Value = serde_json::from_str(VECTORS).expect("json");
        let plain = v["wecom_official_sample"]["decrypt"]["expected_plaintext"]
            .as_str()
            .expect("str");
        assert_eq!(xml_field(plain, "Content").as_deref(), Some("你好"));
        assert_eq!(
            xml_field(plain, "FromUserName").as_deref(),
            Some("ChenJiaShun")
        );
        assert_eq!(xml_field(plain, "MsgId").as_deref(), Some("1456453720"));
    }

    #[test]
    fn cdata_cannot_spoof_later_fields() {
        let x = "<xml><Content><![CDATA[</Content><MsgId>1</MsgId>]]></Content>\
                 <MsgId>42</MsgId></xml>";
        assert_eq!(
            xml_field(x, "Content").as_deref(),
            Some("</Content><MsgId>1</MsgId>")
        );
        assert_eq!(xml_field(x, "MsgId").as_deref(), Some("42"));
        // comments and PIs are skipped too
        let x = "<?xml version=\"1.0\"?><!-- <MsgId>1</MsgId> --><xml><MsgId>7</MsgId></xml>";
        assert_eq!(xml_field(x, "MsgId").as_deref(), Some("7"));
    }

    #[test]
    fn entities_whitespace_and_forms() {
        let x = "<a>1 &lt; 2 &amp;&amp; &quot;q&quot; &apos;s&apos; &gt; &#65; &bogus; &</a>";
        assert_eq!(
            xml_field(x, "a").as_deref(),
            Some("1 < 2 && \"q\" 's' > &#65; &bogus; &")
        );
        // no entity expansion inside CDATA
        assert_eq!(
            xml_field("<a><![CDATA[&lt;]]></a>", "a").as_deref(),
            Some("&lt;")
        );
        // indentation around CDATA is dropped; plain text kept as is
        assert_eq!(
            xml_field("<a>\n  <![CDATA[abc]]>\n</a>", "a").as_deref(),
            Some("abc")
        );
        assert_eq!(xml_field("<a> abc </a>", "a").as_deref(), Some(" abc "));
        assert_eq!(
            xml_field("<a>x<![CDATA[y]]>z</a>", "a").as_deref(),
            Some("xyz")
        );
        assert_eq!(xml_field("<a></a>", "a").as_deref(), Some(""));
        assert_eq!(xml_field("<a/>", "a").as_deref(), Some(""));
        assert_eq!(xml_field("<a />", "a").as_deref(), Some(""));
        assert_eq!(xml_field("<a x=\"1\">v</a>", "a").as_deref(), Some("v"));
        // prefix names don't match
        assert_eq!(xml_field("<ab>1</ab><a>2</a>", "a").as_deref(), Some("2"));
        assert_eq!(xml_field("<b>1</b>", "").as_deref(), None);
    }

    #[test]
    fn malformed_inputs() {
        for x in [
            "",
            "<",
            ">",
            "<a",
            "<a>",
            "<a>text",
            "<a><![CDATA[unterminated</a>",
            "<a>x</b>",
            "<a><b>x</b></a>",
            "<a>x</a",
            "<!-- <a>1</a>",
            "<![CDATA[<a>1</a>",
            "<a>x<!-- </a>",
            "<a>排</",
            "排<a>排排<",
        ] {
            assert_eq!(xml_field(x, "a"), None, "{x:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(x in ".*", n in ".{0,8}") {
            let _ = xml_field(&x, &n);
            let _ = xml_field(&x, "a");
        }

        #[test]
        fn never_panics_on_xmlish(x in "[<>/!\\[\\]CDAT?a&;lt -]{0,64}") {
            let _ = xml_field(&x, "a");
        }

        #[test]
        fn cdata_roundtrip(s in "[^\\]]*") {
            let x = format!("<xml><a><![CDATA[{s}]]></a></xml>");
            prop_assert_eq!(xml_field(&x, "a"), Some(s));
        }
    }
}
