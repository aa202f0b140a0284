//! Rebuild when a migration is added or changed: `sqlx::migrate!` embeds the
//! migrations folder at compile time, and cargo does not watch it otherwise.
//!
//! `LIANCUN_TEST_PG` decides at build time whether the PostgreSQL half of the
//! integration suite is a real test or an ignored one: without a server it is
//! reported as skipped (nextest and cargo test count it as ignored), never as a
//! pass.
//!
//! On Linux with glibc 2.36 or later, the binaries are linked with packed
//! relative relocations (`-z pack-relative-relocs`, DT_RELR): the 1.5 MB
//! relocation table a position-independent binary of this size carries
//! shrinks to about 25 KB, and the pages that held it are no longer read at
//! every start (1–3 MB less resident memory; docs/PERFORMANCE.md). A
//! binary linked so needs glibc 2.36 or later where it runs, so the flag is
//! set only when the glibc of the machine building it is that recent
//! (Debian 12's, the Docker image's runtime).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo::rustc-check-cfg=cfg(liancun_pg)");
    println!("cargo:rerun-if-env-changed=LIANCUN_TEST_PG");
    if std::env::var("LIANCUN_TEST_PG").is_ok_and(|v| !v.is_empty()) {
        println!("cargo:rustc-cfg=liancun_pg");
    }
    if relr_supported() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The target is Linux with glibc, built on that machine (not across), and
/// its glibc (`getconf GNU_LIBC_VERSION`: "glibc 2.36") is 2.36 or later.
fn relr_supported() -> bool {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || var("HOST") != var("TARGET")
    {
        return false;
    }
    let Ok(out) = std::process::Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
    else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.trim().strip_prefix("glibc ").unwrap_or_default();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    matches!(
        (parts.next(), parts.next()),
        (Some(Some(major)), Some(Some(minor))) if (major, minor) >= (2, 36)
    )
}
