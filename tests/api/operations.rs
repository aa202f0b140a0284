//! Operating the binary: one process per SQLite file, online backup and restore.

use std::process::Stdio;

use crate::support::*;

fn liancun(config_db: &str) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_liancun"));
    c.env_remove("LIANCUN_CONFIG")
        .env_remove("LIANCUN_ADMIN_TOKEN")
        .env("DATABASE_URL", config_db)
        .env("RUST_LOG", "warn")
        .env("LIANCUN_SCHEDULER__ENABLED", "false")
        .env("LIANCUN_OUTBOX__ENABLED", "false")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    c
}

#[tokio::test]
async fn a_second_serve_on_the_same_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("one.db").display());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut first = liancun(&url)
        .arg("serve")
        .env("LIANCUN_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let second = liancun(&url)
        .arg("serve")
        .env("LIANCUN_LISTEN", "127.0.0.1:0")
        .output()
        .await
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("another liancun process") && err.contains("PostgreSQL"),
        "{err}"
    );
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    // Once the first is gone (even killed), the lock is free again.
    let again = liancun(&url)
        .arg("run-job")
        .arg("clearance")
        .arg("--no-send")
        .output()
        .await
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[tokio::test]
async fn an_online_backup_restores_the_data() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.setup_team().await;
    app.say(&ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 周五 红")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.db");
    app.db
        .backup(&backup)
        .await
        .expect("backup while the app runs");
    assert!(
        app.db.backup(&backup).await.is_err(),
        "never overwrites a file"
    );
    // Restore: serve from the backup file.
    let restored = liancun::store::Db::connect(&format!("sqlite://{}", backup.display()))
        .await
        .unwrap();
    restored.migrate().await.unwrap();
    let counts = restored
        .read(|tx| Box::pin(async move { liancun::store::table_counts(tx).await }))
        .await
        .unwrap();
    assert_eq!(counts["tasks"], 1);
    assert_eq!(counts["team_roles"], 3);
}

/// The footprint bench, once and briefly: it starts `serve` as a child,
/// waits for its first ready `/readyz` and reads its idle memory.
#[tokio::test]
async fn the_footprint_bench_starts_serve_and_reads_its_memory() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_liancun"))
        .args(["bench", "footprint", "--runs", "1", "--idle-seconds", "1"])
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "run 1: ready in ",
        "footprint, SQLite, 1 runs",
        "start to ready: min ",
        "idle RSS:       min ",
    ] {
        assert!(stdout.contains(line), "{line:?} in {stdout}");
    }
    // A resident size was read, not a default: a running server holds pages.
    let rss = stdout
        .split("; idle RSS ")
        .nth(1)
        .and_then(|rest| rest.split(" MB").next())
        .and_then(|mb| mb.parse::<f64>().ok())
        .expect("an idle RSS figure");
    assert!(rss > 1.0, "idle RSS {rss} MB in {stdout}");
}

/// The callbacks bench, briefly: its harness checks every setup reply and
/// fails on any answer but 200, so this keeps it runnable.
#[tokio::test]
async fn the_callbacks_bench_runs_end_to_end() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_liancun"))
        .args([
            "bench",
            "callbacks",
            "--seconds",
            "1",
            "--rounds",
            "2",
            "--connections",
            "4",
            "--village-groups",
            "3",
            "--no-pin",
        ])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "bare (signature check only):",
        "full, SQLite",
        "ratio full/bare = ",
        "2 rounds",
    ] {
        assert!(stdout.contains(line), "{line:?} in {stdout}");
    }
}
