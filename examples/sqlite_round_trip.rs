//! Measures what one SQL statement costs through sqlx's SQLite driver on this
//! machine (an in-memory database, one connection, nothing else running).
//! The figure bounds the SQLite write path: every statement is a round trip
//! to sqlx's worker thread. `cargo run --release --example sqlite_round_trip`

use std::str::FromStr;
use std::time::Instant;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut c = SqliteConnectOptions::from_str("sqlite::memory:")?
            .connect()
            .await?;
        sqlx::query("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)")
            .execute(&mut c)
            .await?;
        const N: u32 = 5_000;
        let t = Instant::now();
        for i in 0..N {
            sqlx::query("INSERT INTO t (b) VALUES ($1)")
                .bind(i.to_string())
                .execute(&mut c)
                .await?;
        }
        println!(
            "INSERT (autocommit, in memory): {:?} per statement",
            t.elapsed() / N
        );
        let t = Instant::now();
        for _ in 0..N {
            let _: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM t WHERE a < 10")
                .fetch_one(&mut c)
                .await?;
        }
        println!(
            "SELECT by primary key range:    {:?} per statement",
            t.elapsed() / N
        );
        let mut tx = c.begin().await?;
        let t = Instant::now();
        for _ in 0..N {
            sqlx::raw_sql("SAVEPOINT j; RELEASE j")
                .execute(&mut *tx)
                .await?;
        }
        println!("SAVEPOINT + RELEASE (one call): {:?}", t.elapsed() / N);
        tx.commit().await?;
        anyhow::Ok(())
    })
}
