//! Rebuild when a migration is added or changed: `sqlx::migrate!` embeds the
//! migrations folder at compile time, and cargo does not watch it otherwise.
//!
//! `LIANCUN_TEST_PG` decides at build time whether the PostgreSQL half of the
//! integration suite is a real test or an ignored one: without a server it is
//! reported as skipped (nextest and cargo test count it as ignored), never as a
//! pass.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo::rustc-check-cfg=cfg(liancun_pg)");
    println!("cargo:rerun-if-env-changed=LIANCUN_TEST_PG");
    if std::env::var("LIANCUN_TEST_PG").is_ok_and(|v| !v.is_empty()) {
        println!("cargo:rustc-cfg=liancun_pg");
    }
}
