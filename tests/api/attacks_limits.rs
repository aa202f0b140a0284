//! Attacks on the service's limits, and what each one gets. Every attack
//! is refused or bounded with a clear status, and nothing is stored.
//!
//! | attack | outcome |
//! |---|---|
//! | household file for another township's village, however malformed | 403 before the file is read; nothing stored |
//! | 50,001 households in one CSV | 413; nothing stored (exactly 50,000 are imported, within the request timeout) |
//! | an `.xlsx` zip bomb (200 KiB unzipping to 200 MiB) | 413 before calamine reads it; nothing stored |
//! | one bad row among good ones | 422 naming line and column; nothing stored |
//! | GBK CSV, UTF-8 with BOM, `.xlsx` with phones typed as numbers | imported as Excel saved them, phones exact |
//! | many slow (half-sent) connections | `/healthz` and a signed DingTalk callback still answered; past the cap 503 at once |
//! | 2,000 slow connections against the defaults | callbacks answered, none of them shed |
//! | a silent connection, a slowloris header, an idle keep-alive | closed by the server (header-read and idle timeouts) |
//! | `bearer` / `BEARER` as the scheme | accepted like `Bearer` (RFC 7235) |
//! | `serve` with a placeholder or short admin token | refused at start, saying how to make one |
//! | no admin token configured | the admin API is off: 401 for every token, township tokens too |
//! | a second `serve` on the same SQLite file through a symlink or `..` | refused |
//! | a database password in the URL (`user:pw@`, `?password=`) | never printed by `check-config` or the errors |

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::scenario;
use crate::support::*;

async fn create(app: &TestApp, token: &str, path: &str, body: Value) -> i64 {
    let (s, v) = app.admin_with("POST", path, Some(body), Some(token)).await;
    assert_eq!(s, 201, "{path}: {v}");
    v["id"].as_i64().unwrap()
}

/// Two townships, each with a village and its own token:
/// (village A, token A, village B, token B).
async fn two_townships(app: &TestApp) -> (i64, String, i64, String) {
    let mut out = Vec::new();
    for (town, village) in [("凤林镇", "南坞村"), ("大陈镇", "大陈村")] {
        let t = create(app, ADMIN_TOKEN, "/api/v1/townships", json!({"name": town})).await;
        let v = create(
            app,
            ADMIN_TOKEN,
            "/api/v1/villages",
            json!({"township_id": t, "name": village}),
        )
        .await;
        let (s, tok) = app
            .admin(
                "POST",
                "/api/v1/tokens",
                Some(json!({"township_id": t, "name": town})),
            )
            .await;
        assert_eq!(s, 201, "{tok}");
        out.push((v, tok["token"].as_str().unwrap().to_string()));
    }
    let (b, a) = (out.pop().unwrap(), out.pop().unwrap());
    (a.0, a.1, b.0, b.1)
}

/// POSTs a household file; returns (status, JSON).
async fn upload(
    app: &TestApp,
    token: &str,
    village: i64,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/villages/{village}/households")))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("upload sent");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn count(app: &TestApp, table: &'static str) -> i64 {
    let sql = match table {
        "households" => "SELECT COUNT(*) FROM households",
        "audit_log" => "SELECT COUNT(*) FROM audit_log",
        other => panic!("not counted here: {other}"),
    };
    app.db
        .read(move |tx| {
            Box::pin(async move {
                liancun::store::sql::query_as::<(i64,)>(sql)
                    .fetch_one(tx)
                    .await
                    .map(|(n,)| n)
            })
        })
        .await
        .expect("count")
}

/// The village's households as (name, 小组, phone), in the registry's order.
async fn registry(
    app: &TestApp,
    token: &str,
    village: i64,
) -> Vec<(String, String, Option<String>)> {
    let (s, h) = app
        .admin_with(
            "GET",
            &format!("/api/v1/villages/{village}/households"),
            None,
            Some(token),
        )
        .await;
    assert_eq!(s, 200, "{h}");
    h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["name"].as_str().unwrap().to_string(),
                x["subgroup"].as_str().unwrap().to_string(),
                x["phone"].as_str().map(str::to_string),
            )
        })
        .collect()
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

scenario! {
    async fn household_files_are_authorized_first_bounded_and_all_or_nothing(app) {
        let (a_village, a_token, b_village, _) = two_townships(&app).await;
        let audit_before = count(&app, "audit_log").await;

        // Attack: township A's token uploads into township B's village — a
        // file that would be a 422 (or a 413) if it were read at all.
        let mut huge = String::from("姓名\n");
        for i in 0..60_000 {
            huge.push_str(&format!("户{i}\n"));
        }
        for body in [b"\xff\xff not a file".to_vec(), huge.clone().into_bytes()] {
            let (s, e) = upload(&app, &a_token, b_village, "text/csv", body).await;
            assert_eq!(s, 403, "another township's village, before parsing: {e}");
        }
        let (s, _) = upload(&app, &a_token, b_village, XLSX, b"PK\x03\x04broken".to_vec()).await;
        assert_eq!(s, 403);
        let (s, _) = upload(&app, &a_token, 999_999, "text/csv", b"\xff".to_vec()).await;
        assert_eq!(s, 404, "an unknown village, before parsing");

        // Attack: 50,001 households in one file.
        let mut over = String::from("姓名,小组\n");
        for i in 0..50_001 {
            over.push_str(&format!("户{i},{}\n", i % 30 + 1));
        }
        let (s, e) = upload(&app, &a_token, a_village, "text/csv", over.into_bytes()).await;
        assert_eq!(s, 413, "{e}");
        assert!(e["detail"].as_str().unwrap().contains("50000"), "{e}");

        // Attack: one bad row after good ones.
        let (s, e) = upload(&app, &a_token, a_village, "text/csv",
            "姓名,小组,电话\n张三,1,13812345678\n李四,2,\n王五,东组,\n".as_bytes().to_vec()).await;
        assert_eq!(s, 422, "{e}");
        assert_eq!(e["detail"].as_str(), Some("csv: line 4, column 小组: \"东组\" is not a 小组 (write 3, 3组 or 第三组, or leave it empty)"));
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in ["姓名", "小组", "电话"].into_iter().enumerate() {
            sheet.write_string(0, c as u16, h).unwrap();
        }
        sheet.write_string(1, 0, "张三").unwrap();
        sheet.write_number(1, 2, 123.0).unwrap();
        let (s, e) = upload(&app, &a_token, a_village, XLSX, book.save_to_buffer().unwrap()).await;
        assert_eq!(s, 422, "{e}");
        assert!(e["detail"].as_str().unwrap().starts_with("xlsx: line 2, column 电话"), "{e}");

        // Nothing of any of it was stored or logged.
        assert_eq!(count(&app, "households").await, 0);
        assert_eq!(count(&app, "audit_log").await, audit_before);

        // What Excel on Chinese Windows saves: GBK "CSV" …
        let (gbk, _, _) = encoding_rs::GBK.encode("姓名,小组,电话\r\n张大爷,三组,13800000001\r\n王大妈,第十二组,\r\n");
        let (s, r) = upload(&app, &a_token, a_village, "text/csv", gbk.into_owned()).await;
        assert_eq!((s, r["inserted"].as_i64()), (200, Some(2)), "{r}");
        // … "CSV UTF-8" with its BOM …
        let (s, r) = upload(&app, &a_token, a_village, "text/csv",
            "\u{feff}姓名,小组,电话\r\n李四伯,1,0570-1234567\r\n".as_bytes().to_vec()).await;
        assert_eq!((s, r["inserted"].as_i64()), (200, Some(1)), "{r}");
        // … and a workbook, phone and 小组 typed as numbers, sent as
        // octet-stream (the zip signature decides).
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in ["姓名", "小组", "电话"].into_iter().enumerate() {
            sheet.write_string(0, c as u16, h).unwrap();
        }
        sheet.write_string(1, 0, "赵奶奶").unwrap();
        sheet.write_number(1, 1, 2.0).unwrap();
        sheet.write_number(1, 2, 13912345678.0).unwrap();
        sheet.write_string(2, 0, "张大爷").unwrap();
        sheet.write_string(2, 1, "3组").unwrap();
        sheet.write_number(2, 2, 13800000009.0).unwrap();
        let (s, r) = upload(&app, &a_token, a_village, "application/octet-stream", book.save_to_buffer().unwrap()).await;
        assert_eq!((s, r["inserted"].as_i64(), r["updated"].as_i64()), (200, Some(1), Some(1)), "{r}");
        assert_eq!(
            registry(&app, &a_token, a_village).await,
            [
                ("李四伯".to_string(), "1".to_string(), Some("0570-1234567".to_string())),
                ("赵奶奶".to_string(), "2".to_string(), Some("13912345678".to_string())),
                ("张大爷".to_string(), "3".to_string(), Some("13800000009".to_string())),
                ("王大妈".to_string(), "12".to_string(), None),
            ]
        );
    }
}

scenario! {
    async fn an_xlsx_zip_bomb_is_a_413_before_it_is_unpacked_in_memory(app) {
        use std::io::Write;
        let (a_village, a_token, _, _) = two_townships(&app).await;
        // 200 KiB that unzips to 200 MiB (a sharedStrings.xml of one huge
        // string made a few hundred MiB of memory and minutes of CPU, on
        // after the 504).
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        z.start_file("xl/sharedStrings.xml", opts).unwrap();
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..200 {
            z.write_all(&chunk).unwrap();
        }
        let bomb = z.finish().unwrap().into_inner();
        assert!(bomb.len() < 400_000, "{}", bomb.len());
        let audit_before = count(&app, "audit_log").await;
        let started = std::time::Instant::now();
        let (s, e) = upload(&app, &a_token, a_village, XLSX, bomb).await;
        assert_eq!(s, 413, "{e}");
        assert!(e["detail"].as_str().unwrap().contains("unzips to more than 32 MiB"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
        assert_eq!(count(&app, "households").await, 0);
        assert_eq!(count(&app, "audit_log").await, audit_before);
    }
}

scenario! {
    async fn the_bearer_scheme_is_case_insensitive(app) {
        for scheme in ["Bearer", "bearer", "BEARER"] {
            let resp = app
                .client
                .get(app.url("/api/v1/townships"))
                .header("authorization", format!("{scheme} {ADMIN_TOKEN}"))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{scheme}");
        }
        let resp = app
            .client
            .get(app.url("/api/v1/townships"))
            .header("authorization", format!("Basic {ADMIN_TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "another scheme is no bearer token");
    }
}

// ---------------------------------------------------------------- slow clients

/// A connection that sent half a request head and then nothing.
async fn slow_connection(app: &TestApp) -> TcpStream {
    let mut s = TcpStream::connect(app.addr).await.expect("connects");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: liancun\r\n")
        .await
        .expect("half a head");
    s
}

/// What the server sends on `s` within `within`: `Some(text)` (empty when
/// it closed the connection without a word), `None` when nothing came.
async fn answer_within(s: &mut TcpStream, within: Duration) -> Option<String> {
    let mut buf = Vec::new();
    match tokio::time::timeout(within, s.read_to_end(&mut buf)).await {
        Ok(_) => Some(String::from_utf8_lossy(&buf).into_owned()),
        Err(_) if buf.is_empty() => None,
        Err(_) => Some(String::from_utf8_lossy(&buf).into_owned()),
    }
}

async fn many_slow_connections_cannot_starve_the_service(backend: Backend) {
    const CAP: usize = 24;
    const SLOW: usize = 20;
    let app = TestApp::spawn_with(
        backend,
        &format!("[server]\nmax_connections = {CAP}\nheader_read_secs = 60\nidle_secs = 60"),
    )
    .await
    .expect(PG_UNSET);
    app.setup_team().await;

    // Attack: SLOW connections that never finish their request.
    let mut slow = Vec::new();
    for _ in 0..SLOW {
        slow.push(slow_connection(&app).await);
    }
    // The service still answers: health, and a signed DingTalk callback.
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let reply = app.say(&ZHANGSAN, "清单").await;
    assert!(
        reply.contains("11月30日—12月6日"),
        "the callback is answered: {reply}"
    );

    // Attack: more connections than the cap. Those past it are answered
    // 503 at once (before the process could run out of files); the others
    // wait for their heads like the first SLOW.
    let mut extra = Vec::new();
    for _ in 0..10 {
        extra.push(slow_connection(&app).await);
    }
    let answers = futures_util::future::join_all(
        extra
            .iter_mut()
            .map(|s| answer_within(s, Duration::from_secs(3))),
    )
    .await;
    let shed = answers
        .iter()
        .filter(|a| a.as_deref().is_some_and(|t| t.starts_with("HTTP/1.1 503")))
        .count();
    let waiting = answers.iter().filter(|a| a.is_none()).count();
    // The test's own client holds one or two connections.
    assert!(
        (6..=9).contains(&shed) && shed + waiting == 10,
        "503 past the cap of {CAP}: {answers:?}"
    );

    // Once the slow ones go, the service is reachable again.
    drop(slow);
    drop(extra);
    let mut ok = false;
    for _ in 0..100 {
        if app
            .client
            .get(app.url("/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "/healthz answered once the slow connections closed");
}

#[tokio::test]
async fn many_slow_connections_cannot_starve_the_service_sqlite() {
    many_slow_connections_cannot_starve_the_service(Backend::Sqlite).await;
}

#[tokio::test]
#[cfg_attr(not(liancun_pg), ignore = "PostgreSQL: set LIANCUN_TEST_PG to run")]
async fn many_slow_connections_cannot_starve_the_service_postgres() {
    many_slow_connections_cannot_starve_the_service(Backend::Postgres).await;
}

/// The defaults: 2,000 slow connections (more than the common 1,024-file
/// limit allows) and the callbacks are still answered.
#[tokio::test]
async fn the_defaults_answer_callbacks_under_two_thousand_slow_connections() {
    const SLOW: usize = 2_000;
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.setup_team().await;
    // The app raised this process's open-file limit as `serve` does; both
    // ends of every connection are in this process.
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes `lim`.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    if lim.rlim_cur < (2 * SLOW + 512) as libc::rlim_t {
        return eprintln!(
            "open-file hard limit {} too low for {SLOW} connections on both ends: skipped",
            lim.rlim_cur
        );
    }
    let mut slow = Vec::with_capacity(SLOW);
    for _ in 0..SLOW {
        slow.push(slow_connection(&app).await);
    }
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let reply = app.say(&ZHANGSAN, "清单").await;
    assert!(
        reply.contains("11月30日—12月6日"),
        "the callback is answered: {reply}"
    );
    // None of the slow ones was shed: they wait for the rest of their head.
    let mut waiting = 0;
    for s in slow.iter_mut().take(20) {
        if answer_within(s, Duration::from_millis(50)).await.is_none() {
            waiting += 1;
        }
    }
    assert_eq!(waiting, 20, "the default cap is above {SLOW}");
}

#[tokio::test]
async fn silent_slowloris_and_idle_connections_are_closed_by_the_server() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        "[server]\nheader_read_secs = 1\nidle_secs = 2",
    )
    .await
    .unwrap();
    // Generous: the limits are 1 s and 2 s.
    let bound = Duration::from_secs(15);

    // Attack: connect and say nothing.
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    // Attack: a head sent a byte at a time, never finished.
    let mut slowloris = slow_connection(&app).await;
    let drip = tokio::spawn({
        let mut s = TcpStream::connect(app.addr).await.unwrap();
        async move {
            for b in b"GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                .iter()
                .cycle()
            {
                if s.write_all(&[*b]).await.is_err() {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            false
        }
    });
    // Attack: one request, then the connection is kept open and idle.
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: liancun\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");

    for (what, s) in [
        ("silent", &mut silent),
        ("slowloris", &mut slowloris),
        ("idle", &mut idle),
    ] {
        let got = answer_within(s, bound).await;
        assert!(got.is_some(), "{what}: still open after {bound:?}");
    }
    let closed = tokio::time::timeout(bound, drip).await;
    assert!(
        matches!(closed, Ok(Ok(true))),
        "the dripping head is cut off"
    );
    // Meanwhile the service answered as usual.
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

// ---------------------------------------------------------------- the binary

fn liancun() -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_liancun"));
    c.env_remove("LIANCUN_CONFIG")
        .env_remove("LIANCUN_ADMIN_TOKEN")
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .env("LIANCUN_SCHEDULER__ENABLED", "false")
        .env("LIANCUN_OUTBOX__ENABLED", "false")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    c
}

async fn wait_ready(port: u16) {
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("liancun serve did not become ready");
}

#[tokio::test]
async fn placeholder_and_short_admin_tokens_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    for token in ["change-me-admin-token-0123456789abcdef", "short-token", ""] {
        for cmd in ["serve", "check-config"] {
            let out = liancun()
                .arg(cmd)
                .env("DATABASE_URL", &url)
                .env("LIANCUN_LISTEN", "127.0.0.1:0")
                .env("LIANCUN_ADMIN_TOKEN", token)
                .output()
                .await
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{cmd} with {token:?} accepted");
            assert!(
                err.contains("openssl rand -hex 32"),
                "{cmd} {token:?}: {err}"
            );
            assert!(
                token.is_empty() || !err.contains(token),
                "the token is not echoed: {err}"
            );
        }
    }
    assert!(
        !dir.path().join("t.db").exists(),
        "refused before touching the database"
    );
}

#[tokio::test]
async fn without_an_admin_token_the_admin_api_is_off_for_every_token() {
    // A township token issued while the city token was set …
    let mut app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (s, t) = app
        .admin("POST", "/api/v1/townships", Some(json!({"name": "凤林镇"})))
        .await;
    assert_eq!(s, 201, "{t}");
    let (s, tok) = app
        .admin(
            "POST",
            "/api/v1/tokens",
            Some(json!({"township_id": t["id"], "name": "组织办"})),
        )
        .await;
    assert_eq!(s, 201, "{tok}");
    let township_token = tok["token"].as_str().unwrap().to_string();
    let url = app.state.settings.database_url.clone();
    app.stop().await;

    // … is refused once the service runs without one, as is everything else.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut serve = liancun()
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("LIANCUN_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(port).await;
    let client = reqwest::Client::new();
    for token in [township_token.as_str(), ADMIN_TOKEN, "lct_0"] {
        let r = client
            .get(format!("http://127.0.0.1:{port}/api/v1/townships"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{token}");
    }
    let health = client
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the rest of the service runs");
    serve.start_kill().unwrap();
    let out = serve.wait_with_output().await.unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(log.contains("the admin API is off"), "said at start: {log}");
}

#[tokio::test]
async fn a_second_serve_through_a_symlink_or_dotdot_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    let db = data.join("one.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut first = liancun()
        .arg("serve")
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("LIANCUN_LISTEN", format!("127.0.0.1:{port}"))
        .env("LIANCUN_ADMIN_TOKEN", "0123456789abcdef0123456789abcdef")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(port).await;
    // The database file under another name.
    let link = dir.path().join("alias.db");
    std::os::unix::fs::symlink(&db, &link).unwrap();
    let dotdot = data.join("sub/../one.db");
    for other in [link, dotdot] {
        let second = liancun()
            .arg("serve")
            .env("DATABASE_URL", format!("sqlite://{}", other.display()))
            .env("LIANCUN_LISTEN", "127.0.0.1:0")
            .env("LIANCUN_ADMIN_TOKEN", "0123456789abcdef0123456789abcdef")
            .output()
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&second.stderr);
        assert!(
            !second.status.success(),
            "{}: a second writer started",
            other.display()
        );
        assert!(err.contains("another liancun process"), "{err}");
    }
    first.start_kill().unwrap();
    let _ = first.wait().await;
}

#[tokio::test]
async fn database_passwords_are_never_printed() {
    for url in [
        "postgres://liancun:s3cretpw@127.0.0.1:1/liancun",
        "postgres://127.0.0.1:1/liancun?password=s3cretpw&sslmode=disable",
        "mysql://root:s3cretpw@127.0.0.1/liancun",
    ] {
        // migrate tries to connect (about 10 s for a refused port): once,
        // with the form the errors used to print whole.
        let cmds: &[&str] = if url.contains("?password=") {
            &["check-config", "migrate"]
        } else {
            &["check-config"]
        };
        for cmd in cmds {
            let out = liancun()
                .arg(cmd)
                .env("DATABASE_URL", url)
                .env("LIANCUN_ADMIN_TOKEN", "0123456789abcdef0123456789abcdef")
                .output()
                .await
                .unwrap();
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!all.contains("s3cretpw"), "{cmd} {url}: {all}");
            assert!(
                all.contains("127.0.0.1"),
                "{cmd} {url} still says where: {all}"
            );
        }
    }
}

scenario! {
    async fn a_file_of_exactly_the_cap_is_imported_within_the_request_timeout(app) {
        let (village, token, _, _) = two_townships(&app).await;
        let mut full = String::from("姓名,小组,电话\n");
        for i in 0..50_000 {
            full.push_str(&format!("户{i},{},138{i:08}\n", i % 30 + 1));
        }
        // The router answers 504 after 15 s: the cap must fit well inside.
        let started = std::time::Instant::now();
        let (s, r) = upload(&app, &token, village, "text/csv", full.into_bytes()).await;
        assert_eq!((s, r["inserted"].as_i64(), r["total"].as_i64()), (200, Some(50_000), Some(50_000)), "{r}");
        eprintln!("50,000 households imported in {:?}", started.elapsed());
        // Again with one phone changed and one household added: updates, in one pass.
        let again = "姓名,小组,电话\n户7,8,13900000000\n新户,1,\n";
        let (s, r) = upload(&app, &token, village, "text/csv", again.as_bytes().to_vec()).await;
        assert_eq!((s, r["inserted"].as_i64(), r["updated"].as_i64(), r["total"].as_i64()), (200, Some(1), Some(1), Some(50_001)), "{r}");
    }
}
