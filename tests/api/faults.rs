//! The real binary killed with SIGKILL mid fan-out, then restarted: every
//! push is delivered; a duplicate is possible only for a send the platform
//! took before the kill whose outcome was not yet written (the
//! send-then-crash window: at most one per send in flight, plus one per
//! outcome waiting for its write, each bounded by `concurrency`), and those
//! are counted here.

use std::time::{Duration, Instant};

use liancun::dev::fake::dingtalk::FakeDingtalk;

use crate::support::process::{admin_says, free_port, start_serve};
use crate::support::{APP_KEY, PG_UNSET, ROBOT_CODE, SECRET, pg_admin_url};

const GROUPS: usize = 120;
const CONCURRENCY: usize = 8;

async fn bind_groups(client: &reqwest::Client, addr: &str) {
    for g in 0..GROUPS {
        let status = admin_says(
            client,
            addr,
            "fault",
            &format!("bind-{g}"),
            &format!("cid-fault-{g}"),
            &format!("绑定 凤林镇 第{g}村"),
        )
        .await;
        assert_eq!(status, 200);
    }
}

async fn kill_mid_fanout(database_url: String) {
    let fake = FakeDingtalk::new(APP_KEY, SECRET);
    fake.set_latency(Duration::from_millis(30));
    let fake_addr = fake.spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("liancun.toml");
    std::fs::write(
        &config,
        format!(
            r#"
database_url = "{database_url}"
admin_token = "fault-admin-token-0123456789abcdef"
[dingtalk]
api_base = "http://{fake_addr}"
oapi_base = "http://{fake_addr}"
[scheduler]
enabled = false
fanout_spread_secs = 0
[outbox]
concurrency = {CONCURRENCY}
lease_secs = 2
poll_ms = 50
[[bots]]
name = "fault"
platform = "dingtalk"
app_key = "{APP_KEY}"
app_secret = "{SECRET}"
robot_code = "{ROBOT_CODE}"
admins = ["admin"]
"#
        ),
    )
    .unwrap();
    let port = free_port();
    let client = reqwest::Client::new();
    let mut svc = start_serve(&config, port, &[]).await;
    bind_groups(&client, &svc.addr).await;

    // Fan out the airing to every group, and kill the service mid-send.
    let r = client
        .post(format!("{}/api/v1/jobs/weekly_airing/run", svc.addr))
        .bearer_auth("fault-admin-token-0123456789abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.received().len() < GROUPS / 3 {
        assert!(Instant::now() < deadline, "fan-out did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    svc.child.start_kill().unwrap(); // SIGKILL
    svc.child.wait().await.unwrap();
    let at_kill = fake.received().len();
    assert!(
        at_kill < GROUPS,
        "killed mid fan-out ({at_kill} of {GROUPS} sent)"
    );

    // Restart: leases of the dead process expire and the rest is sent.
    let svc = start_serve(&config, port, &[]).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let distinct: std::collections::HashSet<String> =
            fake.received().into_iter().map(|r| r.target).collect();
        if distinct.len() == GROUPS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {GROUPS} groups got the airing",
            distinct.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = fake.received();
    let duplicates = received.len() - GROUPS;
    eprintln!(
        "kill -9 mid fan-out: {at_kill} sent before the kill, {duplicates} duplicate(s) after restart"
    );
    assert!(
        duplicates <= 2 * CONCURRENCY,
        "duplicates only for sends in flight or unrecorded at the kill: {duplicates}"
    );
    let metrics = client
        .get(format!("{}/metrics", svc.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("liancun_outbox_rows{state=\"pending\"} 0"),
        "nothing left behind:\n{metrics}"
    );
    assert!(metrics.contains("liancun_outbox_rows{state=\"dead\"} 0"));
    assert!(
        fake.rejected().is_empty(),
        "no throttle or error responses: {:?}",
        fake.rejected()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill_9_mid_fanout_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    kill_mid_fanout(format!("sqlite://{}", dir.path().join("f.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(liancun_pg), ignore = "PostgreSQL: set LIANCUN_TEST_PG to run")]
async fn postgres_kill_9_mid_fanout_loses_nothing() {
    let admin = pg_admin_url().expect(PG_UNSET);
    kill_mid_fanout(crate::support::create_pg_database(&admin).await).await;
}
