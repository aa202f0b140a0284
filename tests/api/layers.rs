//! The top-level modules of `src/` import each other without cycles: read
//! from the source (`crate::X` paths, `use crate::{X, …}` groups), leaving
//! out `#[cfg(test)]` modules, comments and the tooling under `src/dev/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module → the modules it imports → the files that do.
type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level modules, as `src/lib.rs` declares them.
fn top_modules() -> BTreeSet<String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("src/lib.rs");
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .filter_map(|l| l.strip_suffix(';'))
        .map(str::to_string)
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `text` without comments (line and block) and string literals, so that
/// neither a doc link nor a message counts as an import.
fn code_only(text: &str) -> String {
    strip(text, false)
}

/// `text` without comments; string literals kept when `keep_strings`.
fn strip(text: &str, keep_strings: bool) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == '*' && b[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '"' {
            // A raw string (r"…", r#"…"#) is preceded by r and #s: its end
            // is the quote followed by as many #s.
            let mut hashes = 0;
            let mut k = out.len();
            while k > 0 && out.as_bytes()[k - 1] == b'#' {
                hashes += 1;
                k -= 1;
            }
            let raw = k > 0 && out.as_bytes()[k - 1] == b'r';
            let start = i;
            i += 1;
            while i < b.len() {
                if raw {
                    if b[i] == '"' && (0..hashes).all(|h| b.get(i + 1 + h) == Some(&'#')) {
                        i += 1 + hashes;
                        break;
                    }
                } else if b[i] == '\\' {
                    i += 1;
                } else if b[i] == '"' {
                    i += 1;
                    break;
                }
                i += 1;
            }
            if keep_strings {
                out.extend(&b[start..i.min(b.len())]);
            } else {
                out.push_str("\"\"");
            }
        } else if c == '\'' && next.is_some_and(|n| n != '\\') && b.get(i + 2) == Some(&'\'') {
            // A char literal such as '"' or '{'.
            out.push_str("' '");
            i += 3;
        } else if c == '\'' && next == Some('\\') {
            // An escaped char literal ('\'', '\"', '\u{…}'): to its closing quote.
            let end = (i + 3..b.len().min(i + 12)).find(|&k| b[k] == '\'');
            out.push_str("' '");
            i = end.map_or(i + 2, |k| k + 1);
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// `code` without its `#[cfg(test)] mod x { … }` blocks; the names of
/// `#[cfg(test)] mod x;` declared in their own files.
fn without_test_modules(code: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(code.len());
    let mut external = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let mut after = rest[at + "#[cfg(test)]".len()..].trim_start();
        // Other attributes between it and the item.
        while let Some(attr) = after.strip_prefix("#[") {
            match attr.find(']') {
                Some(end) => after = attr[end + 1..].trim_start(),
                None => break,
            }
        }
        let decl = after
            .strip_prefix("pub(crate) ")
            .or_else(|| after.strip_prefix("pub "))
            .unwrap_or(after);
        let Some(m) = decl.strip_prefix("mod ") else {
            // On an item other than a module: the attribute stays, the item
            // is checked like any other.
            out.push_str("#[cfg(test)]");
            rest = &rest[at + "#[cfg(test)]".len()..];
            continue;
        };
        let name: String = m
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let tail = m[name.len()..].trim_start();
        if let Some(body) = tail.strip_prefix(';') {
            external.push(name);
            rest = body;
            continue;
        }
        // Skip the balanced block.
        let mut depth = 0usize;
        let mut end = tail.len();
        for (i, c) in tail.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    (out, external)
}

/// The top-level modules `code` names through `crate::`.
fn imports(code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in code.match_indices("crate::") {
        // `$crate::` (a macro) counts as `crate::`; `some_crate::` does not.
        if code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // use crate::{a, b::c, d::{e, f}}: the first segment of each
            // top-level entry.
            let mut depth = 0usize;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if c.is_whitespace() => {}
                    _ if start && depth == 0 => {
                        found.insert(ident(&group[i..]));
                        start = false;
                    }
                    _ => start = false,
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found.retain(|m| modules.contains(m));
    found
}

/// The import graph of the top-level modules (`src/dev/` left out).
fn graph() -> Graph {
    let modules = top_modules();
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    // Files that are `#[cfg(test)] mod x;` of another file.
    let mut test_files: BTreeSet<PathBuf> = BTreeSet::new();
    let mut parsed: Vec<(PathBuf, String)> = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable source");
        let (code, external) = without_test_modules(&code_only(&text));
        let dir = if path
            .file_name()
            .is_some_and(|n| n == "mod.rs" || n == "lib.rs")
        {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            path.with_extension("")
        };
        for name in external {
            test_files.insert(dir.join(format!("{name}.rs")));
            test_files.insert(dir.join(&name).join("mod.rs"));
        }
        parsed.push((path.clone(), code));
    }
    let mut g = Graph::new();
    for (path, code) in parsed {
        if test_files.contains(&path) {
            continue;
        }
        let rel = path.strip_prefix(&root).unwrap_or(&path);
        let first = rel
            .components()
            .next()
            .map(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .unwrap_or_default();
        if !modules.contains(&first) || first == "dev" {
            continue;
        }
        let from = g.entry(first.clone()).or_default();
        for to in imports(&code, &modules) {
            if to != first && to != "dev" {
                from.entry(to)
                    .or_default()
                    .insert(rel.display().to_string());
            }
        }
    }
    g
}

/// The strongly connected components of more than one module (Tarjan).
fn cycles(g: &Graph) -> Vec<BTreeSet<String>> {
    struct T<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        t.on.insert(v);
        let g = t.g;
        for w in g.get(v).into_iter().flat_map(|m| m.keys()) {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(lw));
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(iw));
            }
        }
        if t.low[v] == t.index[v] {
            let mut scc = BTreeSet::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                scc.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                t.out.push(scc);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

/// Each cycle with the edges inside it and the files that make them.
fn describe(g: &Graph, cycles: &[BTreeSet<String>]) -> String {
    let mut s = String::new();
    for c in cycles {
        s.push_str(&format!("cycle {c:?}\n"));
        for from in c {
            for (to, files) in g.get(from).into_iter().flatten() {
                if c.contains(to) {
                    s.push_str(&format!("  {from} -> {to}: {files:?}\n"));
                }
            }
        }
    }
    s
}

#[test]
fn the_import_reader_sees_what_the_code_imports_and_nothing_else() {
    let modules: BTreeSet<String> = ["app", "http", "store", "platform"]
        .map(String::from)
        .into();
    let code = code_only(
        "use crate::store::Db;\n\
         use crate::{http::{self, x}, platform};\n\
         // crate::app in a comment\n\
         /* crate::app in a block */\n\
         let s = \"crate::app in a string\";\n\
         let r = r#\"crate::app \"raw\"\"#;\n\
         let c = '\"'; some_crate::app::f(); $crate::store::g();\n",
    );
    let want: BTreeSet<String> = ["http", "platform", "store"].map(String::from).into();
    assert_eq!(imports(&code, &modules), want);
    let (code, external) = without_test_modules(
        "fn a() { crate::store::x() }\n#[cfg(test)]\nmod tests { fn b() { crate::app::y() } }\n\
         #[cfg(test)]\nmod proptests;\n#[cfg(test)]\nfn c() {}\n",
    );
    assert_eq!(imports(&code, &modules), ["store".to_string()].into());
    assert_eq!(external, ["proptests"]);
    // Strings can be kept (for the platform-name check); comments never are.
    let kept = strip(
        "let a = \"dingtalk\"; // wecom\n/* wecom */ b(r\"x\");",
        true,
    );
    assert!(
        kept.contains("\"dingtalk\"") && kept.contains("r\"x\""),
        "{kept}"
    );
    assert!(!kept.contains("wecom"), "{kept}");
    // A cycle is found, with the edges that make it.
    let mut g = Graph::new();
    for (a, b) in [
        ("app", "http"),
        ("http", "store"),
        ("store", "app"),
        ("app", "platform"),
    ] {
        g.entry(a.into())
            .or_default()
            .entry(b.into())
            .or_default()
            .insert(format!("{a}.rs"));
    }
    let found = cycles(&g);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0], ["app", "http", "store"].map(String::from).into());
    assert!(describe(&g, &found).contains("store -> app: {\"store.rs\"}"));
}

/// The transport, the seam, the outbox and the store — and the state the
/// transports share — are in no cycle with each other.
#[test]
fn the_transport_the_seam_the_outbox_and_the_store_import_without_cycles() {
    let g = graph();
    assert!(
        g.contains_key("http") && g.contains_key("platform"),
        "the reader found the modules: {:?}",
        g.keys().collect::<Vec<_>>()
    );
    let ours: BTreeSet<&str> = ["app", "state", "http", "platform", "outbox", "store"].into();
    let found = cycles(&g);
    let bad: Vec<BTreeSet<String>> = found
        .iter()
        .filter(|c| c.iter().filter(|m| ours.contains(m.as_str())).count() > 1)
        .cloned()
        .collect();
    assert!(bad.is_empty(), "{}", describe(&g, &bad));
    // The Stream client is handed its handler: nothing under platform/
    // reaches back into the application.
    let platform = g.get("platform").cloned().unwrap_or_default();
    for up in [
        "app",
        "state",
        "http",
        "outbox",
        "jobs",
        "bot",
        "config",
        "telemetry",
        "store",
    ] {
        assert!(
            !platform.contains_key(up),
            "platform imports {up}: {:?}",
            platform.get(up)
        );
    }
}

/// The outbox and the jobs ask the seam: they name no platform, neither as
/// an identifier nor as a string (tests aside).
#[test]
fn the_outbox_and_the_jobs_name_no_platform() {
    for dir in ["outbox", "jobs"] {
        let mut files = Vec::new();
        rust_files(&src().join(dir), &mut files);
        assert!(!files.is_empty(), "src/{dir}");
        for path in files {
            let text = std::fs::read_to_string(&path).expect("readable source");
            let (code, _) = without_test_modules(&strip(&text, true));
            let lower = code.to_lowercase();
            for name in ["dingtalk", "wecom"] {
                assert!(
                    !lower.contains(name),
                    "{} names {name}: ask crate::platform instead",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn no_cycles_between_top_level_modules() {
    let g = graph();
    let found = cycles(&g);
    assert!(found.is_empty(), "{}", describe(&g, &found));
}
