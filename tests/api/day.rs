//! `liancun bench day` at a tiny size: a few dozen groups, the evening in
//! seconds. Asserts what the rehearsal must never do whatever the machine's
//! speed (an error, a push lost or doubled, a team without a plan not nagged,
//! a team with one nagged) — never times.

use std::time::Duration;

use liancun::dev::day::{DayOptions, DayReport, run};

use crate::support::{PG_UNSET, create_pg_database, pg_admin_url};

fn options(database_url: Option<String>, replicas: usize) -> DayOptions {
    DayOptions {
        database_url,
        // One township; a few of its teams publish no plan by 21:30.
        groups: 60,
        replicas,
        // Two simulated hours in 20 s: the scheduler still looks at the
        // clock about every simulated six minutes.
        speed: 360.0,
        connections: 8,
        platform_latency: Duration::from_millis(5),
        exe: env!("CARGO_BIN_EXE_liancun").into(),
        seed: 11,
        verbose: false,
    }
}

#[track_caller]
fn assert_invariants(r: &DayReport) {
    r.print();
    assert!(r.callbacks > 100, "the evening was played: {}", r.callbacks);
    assert_eq!(r.errors, 0, "{:?}", r.error_examples);
    assert!(r.missing > 0, "the script leaves some teams without a plan");
    assert_eq!(r.nag_missing, 0, "every team without a plan is nagged");
    assert_eq!(r.nag_wrong, 0, "no team with a plan is nagged");
    assert!(r.nag_rows >= r.missing && r.nag_sent == r.nag_rows);
    assert_eq!(r.admin_missing, 0, "each township's admin hears of it");
    assert!(r.admin_sent > 0);
    assert_eq!((r.lost, r.doubled, r.unsent, r.dead), (0, 0, 0, 0));
    assert!(r.first_nag_at.is_some() && r.last_nag_at.is_some());
    assert!(r.invariants_hold());
    assert_eq!(r.replica_figures.len(), r.replicas);
    assert!(r.replica_figures.iter().all(|f| f.rss_mb > 0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monday_evening_on_sqlite_loses_and_doubles_nothing() {
    let r = run(options(None, 1)).await.expect("the evening runs");
    assert_invariants(&r);
    assert!(!r.postgres);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(liancun_pg), ignore = "PostgreSQL: set LIANCUN_TEST_PG to run")]
async fn a_monday_evening_on_two_postgres_replicas_loses_and_doubles_nothing() {
    let admin = pg_admin_url().expect(PG_UNSET);
    let db = create_pg_database(&admin).await;
    let r = run(options(Some(db), 2)).await.expect("the evening runs");
    assert_invariants(&r);
    assert!(r.postgres && r.peak_connections > 0);
}
