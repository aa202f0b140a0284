//! The real `liancun serve` binary as a child process, and signed callbacks
//! to it (the fault, replica and restart tests).

use std::process::Stdio;
use std::time::{Duration, Instant};

use liancun::platform::dingtalk::sign;
use serde_json::json;

use super::SECRET;

pub struct Service {
    pub child: tokio::process::Child,
    pub addr: String,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `liancun serve` with `config` on `port` and waits until it is ready.
/// The test environment's own DATABASE_URL and admin token never leak in.
pub async fn start_serve(
    config: &std::path::Path,
    port: u16,
    extra_env: &[(&str, &str)],
) -> Service {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_liancun"));
    cmd.arg("serve")
        .env_remove("DATABASE_URL")
        .env_remove("LIANCUN_ADMIN_TOKEN")
        .env("LIANCUN_CONFIG", config)
        .env("LIANCUN_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("liancun starts");
    let addr = format!("http://127.0.0.1:{port}");
    wait_ready(&addr).await;
    Service { child, addr }
}

/// A fixed-offset time zone in which it is now about noon: the pushes of a
/// test that may run at any hour are then never held for quiet hours
/// (21:30–07:30 in the groups' time zone).
pub fn daytime_tz() -> String {
    use chrono::Timelike;
    let hour = chrono::Utc::now().hour() as i32;
    let offset = (12 - hour + 36) % 24 - 12; // hours east of UTC, -12..=11
    // The Etc/GMT names count the other way: Etc/GMT-8 is UTC+8.
    match offset {
        0 => "Etc/GMT".to_string(),
        o => format!("Etc/GMT{:+}", -o),
    }
}

/// Waits (30 s at most) until the service at `base` answers `/readyz` with 200.
pub async fn wait_ready(base: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(
            Instant::now() < deadline,
            "liancun serve did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A group admin's signed DingTalk callback to `bot` (a connection error is 502).
pub async fn admin_says(
    client: &reqwest::Client,
    addr: &str,
    bot: &str,
    msg_id: &str,
    conversation: &str,
    text: &str,
) -> reqwest::StatusCode {
    let ts = chrono::Utc::now().timestamp_millis().to_string();
    let body = json!({
        "msgId": msg_id, "msgtype": "text", "text": {"content": format!(" {text}")},
        "conversationId": conversation, "conversationType": "2", "conversationTitle": conversation,
        "senderId": "admin", "senderStaffId": "admin", "senderNick": "管理员", "isAdmin": true,
        "chatbotUserId": "bot", "atUsers": [],
    });
    client
        .post(format!("{addr}/webhook/dingtalk/{bot}"))
        .header("timestamp", &ts)
        .header("sign", sign::sign(&ts, SECRET))
        .json(&body)
        .send()
        .await
        .map(|r| r.status())
        .unwrap_or(reqwest::StatusCode::BAD_GATEWAY)
}
