//! Three `liancun serve` replicas on one PostgreSQL database: callbacks spread
//! over all three, a job firing every few seconds, one replica killed with
//! SIGKILL mid fan-out. Every firing is claimed once, every push delivered
//! (duplicates only for sends in flight or not yet recorded at the kill,
//! counted), nothing lost.

use std::time::{Duration, Instant};

use liancun::dev::fake::dingtalk::FakeDingtalk;
use sqlx::Connection;

use crate::support::process::{Service, admin_says, daytime_tz, free_port, start_serve};
use crate::support::{APP_KEY, PG_UNSET, ROBOT_CODE, SECRET, create_pg_database, pg_admin_url};

const GROUPS: usize = 40;
const CONCURRENCY: usize = 4;

async fn spawn(config: &std::path::Path, extra_env: &[(&str, &str)]) -> Service {
    start_serve(config, free_port(), extra_env).await
}

async fn callback(
    client: &reqwest::Client,
    addr: &str,
    msg_id: &str,
    conv: &str,
    text: &str,
) -> reqwest::StatusCode {
    admin_says(client, addr, "rep", msg_id, conv, text).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(liancun_pg), ignore = "PostgreSQL: set LIANCUN_TEST_PG to run")]
async fn three_replicas_share_the_work_and_survive_a_kill() {
    let admin = pg_admin_url().expect(PG_UNSET);
    let db_url = create_pg_database(&admin).await;
    let fake = FakeDingtalk::new(APP_KEY, SECRET);
    fake.set_latency(Duration::from_millis(25));
    let fake_addr = fake.spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("liancun.toml");
    // The airing fires every 6 s; every other job is off. The groups' day is
    // always daytime, so no push waits for the end of quiet hours.
    let tz = daytime_tz();
    std::fs::write(
        &config,
        format!(
            r#"
database_url = "{db_url}"
timezone = "{tz}"
[dingtalk]
api_base = "http://{fake_addr}"
oapi_base = "http://{fake_addr}"
[schedule]
plan_reminder = ""
plan_missing = ""
service_day = ""
results_reminder = ""
weekly_airing = "*/6 * * * * *"
clearance = ""
overdue_scan = ""
monthly_ranking = ""
project_reminder = ""
[scheduler]
tick_secs = 1
fanout_spread_secs = 0
[outbox]
concurrency = {CONCURRENCY}
lease_secs = 2
poll_ms = 50
[[bots]]
name = "rep"
platform = "dingtalk"
app_key = "{APP_KEY}"
app_secret = "{SECRET}"
robot_code = "{ROBOT_CODE}"
admins = ["admin"]
"#
        ),
    )
    .unwrap();
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(spawn(&config, &[]).await);
    }
    let client = reqwest::Client::new();
    // Callbacks spread over all three; the same message to two replicas is stored once.
    for g in 0..GROUPS {
        let r = &replicas[g % 3];
        let conv = format!("cid-rep-{g}");
        assert_eq!(
            callback(
                &client,
                &r.addr,
                &format!("bind-{g}"),
                &conv,
                &format!("绑定 凤林镇 第{g}村")
            )
            .await,
            200
        );
        let again = &replicas[(g + 1) % 3];
        assert_eq!(
            callback(
                &client,
                &again.addr,
                &format!("bind-{g}"),
                &conv,
                &format!("绑定 凤林镇 第{g}村")
            )
            .await,
            200
        );
    }
    // Firings from now on find every group bound; earlier ones (on a busy
    // machine the binding takes longer than a slot) may find fewer.
    let bound_at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Let a few firings fan out, then kill one replica in the middle of one.
    let started = Instant::now();
    loop {
        let n = fake.received().len();
        if n > GROUPS + GROUPS / 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "fan-out did not start ({n})"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut killed = replicas.remove(1);
    killed.child.start_kill().unwrap();
    killed.child.wait().await.unwrap();
    tokio::time::sleep(Duration::from_secs(8)).await;
    // Stop the survivors, then drain what is left with the scheduler off.
    for mut r in replicas {
        let pid = r.child.id().unwrap() as i32;
        // SIGTERM: graceful shutdown releases leases.
        std::process::Command::new("kill")
            .arg(pid.to_string())
            .status()
            .unwrap();
        r.child.wait().await.unwrap();
    }
    let drainer = spawn(&config, &[("LIANCUN_SCHEDULER__ENABLED", "false")]).await;
    let mut pg = sqlx::PgConnection::connect(&db_url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (pending,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE state <> 'sent'")
                .fetch_one(&mut pg)
                .await
                .unwrap();
        if pending == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} pushes never delivered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(drainer);

    let firings: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT slot, status, enqueued FROM job_firings WHERE job = 'weekly_airing' ORDER BY slot",
    )
    .fetch_all(&mut pg)
    .await
    .unwrap();
    assert!(firings.len() >= 3, "{firings:?}");
    let done: Vec<_> = firings.iter().filter(|f| f.1 == "done").collect();
    for w in done.windows(2) {
        assert_eq!(
            w[1].0 - w[0].0,
            6_000,
            "no slot missing between firings: {firings:?}"
        );
    }
    assert!(
        done.iter()
            .all(|f| f.2 <= GROUPS as i64 && (f.0 <= bound_at_ms || f.2 == GROUPS as i64)),
        "each firing ran once, for every group bound by then: {firings:?}"
    );
    assert!(
        done.iter().any(|f| f.0 > bound_at_ms),
        "a firing after the binding: {firings:?}"
    );
    let enqueued: i64 = done.iter().map(|f| f.2).sum();
    let (sent,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE state = 'sent'")
        .fetch_one(&mut pg)
        .await
        .unwrap();
    assert_eq!(sent, enqueued, "every enqueued push was delivered");
    let received = fake.received().len() as i64;
    let duplicates = received - sent;
    eprintln!(
        "3 replicas, {} firings, {sent} pushes, {duplicates} duplicate(s) from the kill",
        done.len()
    );
    assert!(
        (0..=2 * CONCURRENCY as i64).contains(&duplicates),
        "duplicates only for sends in flight or unrecorded at the kill: {duplicates}"
    );
    let (groups,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM chat_groups")
        .fetch_one(&mut pg)
        .await
        .unwrap();
    assert_eq!(
        groups, GROUPS as i64,
        "repeated callbacks on other replicas stored once"
    );
    assert!(fake.rejected().is_empty(), "{:?}", fake.rejected());
}

/// Restarts the PostgreSQL server under a running replica. Ignored by default
/// because it disturbs every other test using that server; `.ci/run` runs it
/// on its own after the suite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts the shared PostgreSQL server; run alone (see .ci/run)"]
async fn postgres_restart_mid_run_recovers_without_an_operator() {
    let admin = pg_admin_url().expect(PG_UNSET);
    let db_url = create_pg_database(&admin).await;
    let fake = FakeDingtalk::new(APP_KEY, SECRET);
    let fake_addr = fake.spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("liancun.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = \"{db_url}\"\nadmin_token = \"restart-token-0123456789abcdef\"\n[dingtalk]\napi_base = \"http://{fake_addr}\"\noapi_base = \"http://{fake_addr}\"\n\
             [scheduler]\nenabled = false\nfanout_spread_secs = 0\n[outbox]\npoll_ms = 50\n\
             [[bots]]\nname = \"rep\"\nplatform = \"dingtalk\"\napp_key = \"{APP_KEY}\"\napp_secret = \"{SECRET}\"\nrobot_code = \"{ROBOT_CODE}\"\nadmins = [\"admin\"]\n"
        ),
    )
    .unwrap();
    let replica = spawn(&config, &[]).await;
    let client = reqwest::Client::new();
    assert_eq!(
        callback(&client, &replica.addr, "b-1", "cid-r", "绑定 凤林镇 南坞村").await,
        200
    );

    let version = std::fs::read_dir("/etc/postgresql")
        .ok()
        .and_then(|mut d| d.next())
        .and_then(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .expect("a local PostgreSQL cluster managed by pg_ctlcluster");
    let restarted = std::process::Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", &version, "main", "restart"])
        .status()
        .expect("pg_ctlcluster runs");
    assert!(restarted.success());

    // The replica recovers by itself: readiness, callbacks and pushes work again.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client
        .get(format!("{}/readyz", replica.addr))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(
            Instant::now() < deadline,
            "not ready again after the database restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut stored = false;
    for i in 0..50 {
        let status = callback(&client, &replica.addr, &format!("svc-{i}"), "cid-r", "清单").await;
        assert_eq!(status, 200);
        let mut pg = sqlx::PgConnection::connect(&db_url).await.unwrap();
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM inbound_messages WHERE msg_id LIKE 'svc-%'")
                .fetch_one(&mut pg)
                .await
                .unwrap();
        if n > 0 {
            stored = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(stored, "callbacks are stored again");
    let r = client
        .post(format!("{}/api/v1/jobs/plan_reminder/run", replica.addr))
        .bearer_auth("restart-token-0123456789abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.received().is_empty() {
        assert!(Instant::now() < deadline, "pushes flow again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
