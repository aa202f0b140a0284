//! What a fleet operator relies on: request ids, JSON logs with an access
//! log, Prometheus histograms and process metrics, start-up warnings, and
//! PostgreSQL over TLS.

use std::process::Stdio;

use liancun::store::Db;
use serde_json::Value;

use crate::scenario;
use crate::support::process::free_port;
use crate::support::*;

scenario! {
    async fn a_request_id_is_echoed_or_made(app) {
        // Arrange / Act: the caller's own id.
        let r = app
            .client
            .get(app.url("/healthz"))
            .header("X-Request-Id", "lb-7f3a-0001")
            .send()
            .await
            .unwrap();
        // Assert
        assert_eq!(r.headers()["x-request-id"], "lb-7f3a-0001");

        // None sent: one is made, and each request gets its own.
        let ids: Vec<String> = futures_util::future::join_all((0..2).map(|_| {
            app.client.get(app.url("/api/v1/townships")).bearer_auth(ADMIN_TOKEN).send()
        }))
        .await
        .into_iter()
        .map(|r| r.unwrap().headers()["x-request-id"].to_str().unwrap().to_string())
        .collect();
        for id in &ids {
            assert_eq!(id.len(), 16, "{id}");
            assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        }
        assert_ne!(ids[0], ids[1]);

        // A caller's id that is too long is not taken (nor logged).
        let long = "x".repeat(300);
        let r = app
            .client
            .get(app.url("/healthz"))
            .header("X-Request-Id", &long)
            .send()
            .await
            .unwrap();
        let id = r.headers()["x-request-id"].to_str().unwrap();
        assert_eq!(id.len(), 16, "{id}");
    }
}

/// The lines of a Prometheus page that name `metric` (samples only).
fn samples<'a>(page: &'a str, metric: &str) -> Vec<&'a str> {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{metric}{{")) || l.starts_with(&format!("{metric} ")))
        .collect()
}

scenario! {
    async fn metrics_are_histograms_with_help_build_info_and_process_figures(app) {
        // Arrange: a request for the HTTP histogram to count.
        let r = app.client.get(app.url("/api/v1/teams/999999")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        assert_eq!(r.status(), 404);

        // Act
        let page = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();

        // Assert: every metric has its HELP.
        for l in page.lines().filter(|l| l.starts_with("# TYPE ")) {
            let name = l.split_whitespace().nth(2).unwrap();
            assert!(page.contains(&format!("# HELP {name} ")), "no HELP for {name}:\n{page}");
        }
        // Latencies are histograms (summable across replicas), by route template.
        assert!(page.contains("# TYPE liancun_http_request_duration_seconds histogram"), "{page}");
        assert!(page.contains("# TYPE liancun_callback_duration_seconds histogram") || !page.contains("liancun_callback_duration_seconds"), "{page}");
        let buckets = samples(&page, "liancun_http_request_duration_seconds_bucket");
        assert!(
            buckets.iter().any(|l| l.contains("route=\"/api/v1/teams/{id}\"") && l.contains("status=\"404\"") && l.contains("le=\"0.005\"")),
            "{page}"
        );
        assert!(
            buckets.iter().any(|l| l.contains("route=\"/api/v1/teams/{id}\"") && l.contains("le=\"+Inf\"")),
            "{page}"
        );
        assert!(!page.contains("route=\"/api/v1/teams/999999\""), "ids never become labels");
        assert!(
            samples(&page, "liancun_http_requests_total").iter().any(|l| l.contains("route=\"/api/v1/teams/{id}\"") && l.contains("method=\"GET\"")),
            "{page}"
        );
        assert!(!page.contains("quantile="), "no summaries: {page}");
        // The build and the process.
        assert!(
            page.contains(&format!("liancun_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"))),
            "{page}"
        );
        for m in ["process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total", "process_max_fds"] {
            let s = samples(&page, m);
            assert_eq!(s.len(), 1, "{m}: {page}");
            let v: f64 = s[0].split_whitespace().nth(1).unwrap().parse().unwrap();
            assert!(v >= 0.0, "{m}");
        }
        let rss: f64 = samples(&page, "process_resident_memory_bytes")[0].split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!(rss > 1_000_000.0, "a real RSS: {rss}");
        // Counters with known labels exist before anything happened to them.
        for job in liancun::jobs::Job::ALL {
            assert!(
                samples(&page, "liancun_job_firings_total").iter().any(|l| l.contains(&format!("job=\"{job}\",outcome=\"failed\""))),
                "{job}: {page}"
            );
        }
        assert!(!samples(&page, "liancun_pushes_total").iter().filter(|l| l.contains("outcome=\"unrecorded\"")).collect::<Vec<_>>().is_empty(), "{page}");
    }
}

/// `liancun` with a fresh SQLite file and no config file; the test's own
/// environment does not leak in.
fn liancun(dir: &std::path::Path) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_liancun"));
    c.env_remove("LIANCUN_CONFIG")
        .env_remove("LIANCUN_ADMIN_TOKEN")
        .env_remove("RUST_LOG")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("fleet.db").display()),
        )
        .env("LIANCUN_SCHEDULER__ENABLED", "false")
        .env("LIANCUN_OUTBOX__ENABLED", "false")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    c
}

#[tokio::test]
async fn json_logs_carry_the_request_id_and_a_fresh_service_warns_and_counts_from_zero() {
    // Arrange: JSON logs chosen by environment, on every address, no bots.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = liancun(dir.path())
        .arg("serve")
        .env("LIANCUN_LOG__FORMAT", "json")
        .env("LIANCUN_LOG__FILTER", "info")
        .env("LIANCUN_LISTEN", format!("0.0.0.0:{port}"))
        .env("LIANCUN_ADMIN_TOKEN", ADMIN_TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    crate::support::process::wait_ready(&base).await;
    let client = reqwest::Client::new();

    // Act: the first scrape, then an admin call with an id and a query string.
    let page = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = client
        .get(format!("{base}/api/v1/townships?signature=s3cr3t"))
        .header("X-Request-Id", "fleet-req-42")
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_eq!(r.headers()["x-request-id"], "fleet-req-42");
    child.start_kill().unwrap();
    let out = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);

    // Assert: counters at zero from the start.
    for line in [
        "liancun_pushes_total{outcome=\"dead\"} 0",
        "liancun_callbacks_total{platform=\"dingtalk\",outcome=\"bad_signature\"} 0",
        "liancun_job_firings_total{job=\"weekly_airing\",outcome=\"failed\"} 0",
        "liancun_commands_total{kind=\"rank\"} 0",
        "liancun_commands_total{kind=\"none\"} 0",
    ] {
        assert!(page.lines().any(|l| l == line), "{line} missing:\n{page}");
    }
    // One JSON object per line.
    let lines: Vec<Value> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        !lines.is_empty(),
        "no log lines; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The access log line: route template, status, principal, request id.
    let access: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "liancun::access")
        .collect();
    assert_eq!(access.len(), 1, "only /api/v1 is access-logged: {stdout}");
    let a = access[0];
    assert_eq!(a["level"], "INFO");
    assert_eq!(a["method"], "GET");
    assert_eq!(a["route"], "/api/v1/townships");
    assert_eq!(a["status"], status);
    assert_eq!(a["principal"], "city");
    assert!(a["duration_ms"].as_f64().is_some(), "{a}");
    assert_eq!(a["span"]["request_id"], "fleet-req-42", "{a}");
    // Query strings (webhooks carry signatures in theirs) never reach the log.
    assert!(!stdout.contains("s3cr3t"), "{stdout}");
    // Start-up warnings: no bots; every address and no TLS proxy declared.
    let warnings: Vec<&str> = lines
        .iter()
        .filter(|l| l["level"] == "WARN")
        .filter_map(|l| l["message"].as_str())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("no bots are configured")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&format!("0.0.0.0:{port}"))
                && w.contains("no TLS-terminating proxy")),
        "{warnings:?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("admin API off")),
        "the admin token is set: {warnings:?}"
    );
}

#[tokio::test]
async fn an_invalid_log_filter_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    for (var, name) in [
        ("LIANCUN_LOG__FILTER", "[log] filter"),
        ("RUST_LOG", "RUST_LOG"),
    ] {
        // Act
        let out = liancun(dir.path())
            .arg("serve")
            .env("LIANCUN_LISTEN", format!("127.0.0.1:{}", free_port()))
            .env(var, "liancun=loud")
            .output()
            .await
            .unwrap();
        // Assert: refused, with the key and the value named.
        assert!(!out.status.success(), "{var}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(name) && err.contains("liancun=loud"),
            "{var}: {err}"
        );
    }
    // check-config refuses it too.
    let out = liancun(dir.path())
        .arg("check-config")
        .env("LIANCUN_LOG__FILTER", "liancun=loud")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("[log] filter"));
}

/// `admin` with `sslmode` set (the admin URL may carry a query already).
fn with_sslmode(admin: &str, mode: &str) -> String {
    let sep = if admin.contains('?') { '&' } else { '?' };
    format!("{admin}{sep}sslmode={mode}")
}

#[tokio::test]
#[cfg_attr(not(liancun_pg), ignore = "PostgreSQL: set LIANCUN_TEST_PG to run")]
async fn postgres_over_tls_with_sslmode_require() {
    let admin = pg_admin_url().expect(PG_UNSET);
    // Act: the local server has ssl = on (.ci/run turns it on).
    let db = Db::connect(&with_sslmode(&admin, "require"))
        .await
        .expect("sslmode=require connects");
    // Assert: the server itself says this connection is encrypted.
    assert_eq!(db.tls_in_use().await.unwrap(), Some(true));
    db.close().await;

    let db = Db::connect(&with_sslmode(&admin, "disable")).await.unwrap();
    assert_eq!(
        db.tls_in_use().await.unwrap(),
        Some(false),
        "disable is plain"
    );
    db.close().await;

    // verify-full checks the certificate: Debian's self-signed snakeoil
    // certificate is trusted by no CA, so the connection is refused.
    let refused = Db::connect(&with_sslmode(&admin, "verify-full")).await;
    assert!(refused.is_err(), "an untrusted certificate must be refused");

    // sslrootcert is read: with the server's own certificate as the CA,
    // verify-ca connects.
    let snakeoil = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
    if std::path::Path::new(snakeoil).exists() {
        let url = format!(
            "{}&sslrootcert={snakeoil}",
            with_sslmode(&admin, "verify-ca")
        );
        let db = Db::connect(&url)
            .await
            .expect("verify-ca with sslrootcert connects");
        assert_eq!(db.tls_in_use().await.unwrap(), Some(true));
        db.close().await;
    }
    let missing = format!(
        "{}&sslrootcert=/nonexistent/ca.pem",
        with_sslmode(&admin, "verify-ca")
    );
    assert!(
        Db::connect(&missing).await.is_err(),
        "a missing CA file is an error"
    );
}
