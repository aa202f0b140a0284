//! The `liancun` command line: parses arguments and calls the library.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use liancun::app::{App, shutdown_signal};
use liancun::clock::SystemClock;
use liancun::config::Settings;
use liancun::store::Db;
use liancun::telemetry;

#[derive(Parser)]
#[command(
    name = "liancun",
    version,
    about = "联村助手 — village service teams' weekly rhythm, run by chat"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Play a whole 1250 week offline (temporary SQLite, a fake DingTalk, a
    /// simulated clock) and print the village group's transcript.
    Demo(liancun::dev::demo::DemoArgs),
    /// Run the service (webhooks, admin API, health, metrics).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Write an online backup of the SQLite database into a new file
    /// (PostgreSQL: use pg_dump, see deploy/README.md).
    Backup {
        /// Where to write it (must not exist yet).
        path: std::path::PathBuf,
    },
    /// Load and validate the configuration, print a summary (secrets hidden), exit.
    CheckConfig,
    /// Print the admin API's OpenAPI 3.1 document (as GET /api/v1/openapi.json
    /// serves it) and exit; needs no configuration.
    Openapi,
    /// Run a scheduled job now (as POST /api/v1/jobs/{job}/run does), enqueue
    /// its pushes and deliver them; quiet hours do not apply to what a person asks for.
    RunJob {
        /// One of plan_reminder, plan_missing, service_day, results_reminder,
        /// weekly_airing, clearance, overdue_scan, monthly_ranking, project_reminder.
        job: String,
        /// Only this township (id).
        #[arg(long, conflicts_with = "group")]
        township: Option<i64>,
        /// Only this group (id).
        #[arg(long)]
        group: Option<i64>,
        /// Enqueue only; leave sending to the running service.
        #[arg(long)]
        no_send: bool,
    },
    /// Measure signed callbacks per second and p99 on loopback: the full path
    /// (SQLite) against a bare signature-checking handler.
    Bench(liancun::dev::bench::BenchArgs),
}

/// mimalloc: the service allocates and frees many small, short-lived buffers
/// per message on two kinds of threads; glibc's allocator showed up at about
/// a tenth of the callback path's time (malloc, free and its consolidation).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Idle memory: with transparent huge pages, a few KB touched in a fresh
/// 2 MiB region of mimalloc's arenas pull in the whole 2 MiB (about 14 MB of
/// an idle service's 45 MB). mimalloc's `no_thp` feature (Cargo.toml) stops
/// it asking for them (`madvise`, the usual THP mode); on hosts whose mode is
/// `always` the kernel would back the arenas with huge pages unasked, so the
/// process opts out of THP altogether, first thing. Best effort: a kernel or
/// seccomp filter that refuses is no reason not to start.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments only and changes
    // this process's page policy, which nothing in Rust relies on.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

unsafe extern "C" {
    /// mimalloc's `mi_collect` (linked with the allocator above).
    fn mi_collect(force: bool);
}

/// mimalloc gives memory freed to its arenas back to the kernel 10 ms
/// later, but only when a later allocation passes by to do it: an idle
/// service makes few, so what start-up (configuration, migrations, TLS roots,
/// the router) or the last burst of work freed stays resident, 3–4 MB after
/// start. Every few seconds, from a runtime thread: collect that thread's
/// heap and purge what every thread has freed (microseconds; nothing on the
/// request path).
fn purge_freed_memory() {
    tokio::spawn(async {
        let first = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
        let mut every = tokio::time::interval_at(first, std::time::Duration::from_secs(5));
        loop {
            every.tick().await;
            // SAFETY: mi_collect takes no pointers and may be called at any
            // time from any thread that uses the allocator.
            unsafe { mi_collect(true) }
        }
    });
}

fn main() -> ExitCode {
    no_huge_pages();
    let cli = Cli::parse();
    // Before the runtime exists, so that it is sized for where it runs.
    let placement = match &cli.command {
        Cmd::Bench(args) => match liancun::dev::bench::place(args) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli, placement)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, placement: Option<liancun::dev::bench::Placement>) -> anyhow::Result<()> {
    match cli.command {
        Cmd::Serve => {
            let settings = Settings::load()?;
            if let Some(problem) = settings.admin_token_problem() {
                anyhow::bail!("{problem}");
            }
            telemetry::init_logging(&settings.log)?;
            if settings.admin_token.is_none() {
                tracing::warn!(
                    "no admin token (LIANCUN_ADMIN_TOKEN) is set: the admin API is off, every /api/v1 call is answered 401"
                );
            }
            let _lock = liancun::store::ProcessLock::acquire(&settings.database_url)?;
            let listen = settings.listen.clone();
            let app = App::build(settings, Arc::new(SystemClock)).await?;
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            purge_freed_memory();
            app.run_until_stopped(listener, shutdown_signal()).await
        }
        Cmd::Migrate => {
            let settings = Settings::load()?;
            telemetry::init_logging(&settings.log)?;
            let db = Db::connect(&settings.database_url).await?;
            db.migrate().await?;
            db.close().await;
            println!("migrations applied ({:?})", db.backend());
            Ok(())
        }
        Cmd::Backup { path } => {
            let settings = Settings::load()?;
            let db = Db::connect(&settings.database_url).await?;
            db.backup(&path).await?;
            db.close().await;
            println!("backup written to {}", path.display());
            Ok(())
        }
        Cmd::Openapi => {
            let json =
                liancun::http::openapi_json().context("the OpenAPI document does not serialize")?;
            println!("{json}");
            Ok(())
        }
        Cmd::CheckConfig => {
            let settings = Settings::load()?;
            println!("configuration loaded");
            println!("listen       = {}", settings.listen);
            println!(
                "database     = {}",
                liancun::store::redact_url(&settings.database_url)
            );
            println!("timezone     = {}", settings.timezone);
            let problem = settings.admin_token_problem();
            println!(
                "admin token  = {}",
                match (&settings.admin_token, &problem) {
                    (None, _) => "not set: the admin API is off (401 for every call)",
                    (Some(_), None) => "set",
                    (Some(_), Some(_)) => "REFUSED (see below)",
                }
            );
            for b in &settings.bots {
                println!("bot {:<12} {:?} ({:?} mode)", b.name, b.platform, b.mode);
                println!("    {}", b.addressing());
            }
            match problem {
                Some(problem) => anyhow::bail!("serve would refuse this configuration: {problem}"),
                None => {
                    println!("configuration is valid");
                    Ok(())
                }
            }
        }
        Cmd::RunJob {
            job,
            township,
            group,
            no_send,
        } => {
            let settings = Settings::load()?;
            telemetry::init_logging(&settings.log)?;
            let app = App::build(settings, Arc::new(SystemClock)).await?;
            let scope = match (township, group) {
                (Some(t), _) => liancun::jobs::Scope::Township(t),
                (None, Some(g)) => liancun::jobs::Scope::Group(g),
                (None, None) => liancun::jobs::Scope::All,
            };
            let now = chrono::Utc::now();
            let job: liancun::jobs::Job = job.parse()?;
            let report = liancun::jobs::run(&app.state.jobs, job, scope, now, true, now).await?;
            println!(
                "{job}: {} team(s), {} push(es) enqueued",
                report.teams, report.enqueued
            );
            if !no_send {
                let d = app.state.worker.deliver_due().await?;
                println!(
                    "sent {}, retrying later {}, throttled {}, dead letters {}",
                    d.sent, d.retried, d.throttled, d.dead
                );
            }
            app.state.db.close().await;
            Ok(())
        }
        Cmd::Bench(args) => liancun::dev::bench::run(args, placement).await,
        Cmd::Demo(args) => liancun::dev::demo::run(args).await,
    }
}
