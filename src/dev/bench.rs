//! `liancun bench`: signed DingTalk callbacks per second and p99 latency on
//! loopback, through the full path (verify → decode → parse → SQLite →
//! reply) and through a bare axum handler that only checks the signature.
//! Both run in this process with the same load generator, one after the other,
//! so the ratio compares like with like on this machine.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use futures_util::{StreamExt, TryStreamExt};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};

use crate::app::App;
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::platform::dingtalk::sign;

const SECRET: &str = "bench-app-secret";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchKind {
    /// Signed callbacks through the full path vs a bare signature check.
    Callbacks,
    /// A reminder fanned out to thousands of groups through a slow fake DingTalk.
    Fanout,
    /// A year of data for 20,000 villages, then the monthly ranking of every township.
    Ranking,
    /// `liancun serve` started again and again: time to the first ready
    /// `/readyz`, and resident memory once idle.
    Footprint,
    /// A Monday evening, 20:00–22:00, rehearsed on a simulated clock against
    /// `--replicas` replicas (see `dev::day`).
    Day,
    /// One replica of `day` (started by it; not for people).
    #[value(hide = true)]
    DayReplica,
}

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// What to measure.
    #[arg(value_enum, default_value = "callbacks")]
    pub kind: BenchKind,
    /// Fan-out: groups to push to. Day: village groups (one team each).
    #[arg(long, default_value_t = 20_000)]
    pub groups: usize,
    /// Fan-out and day: latency the fake platform adds to every answer, in ms.
    #[arg(long, default_value_t = 50)]
    pub latency_ms: u64,
    /// Fan-out: sends in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Fan-out, ranking and footprint: database (default: a temporary SQLite
    /// file; an empty PostgreSQL database for `ranking`).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Ranking: villages (one team and group each) to generate.
    #[arg(long, default_value_t = 20_000)]
    pub villages: i64,
    /// Fan-out: send from this many `liancun serve` processes sharing the
    /// database (needs --database-url postgres://…); 0 sends in-process.
    /// Day: replica processes (0 counts as 1; above 1 needs PostgreSQL).
    #[arg(long, default_value_t = 0)]
    pub replicas: usize,
    /// Day: how many times faster than real time the evening runs (the
    /// offered load is that many times a real evening's, too).
    #[arg(long, default_value_t = crate::dev::day::DEFAULT_SPEED)]
    pub speed: f64,
    /// Day replica: the spec its parent wrote.
    #[arg(long, hide = true)]
    pub replica_spec: Option<std::path::PathBuf>,
    /// Callbacks: village groups (one team each) the load is spread over.
    /// Every 服务 and 走访 reply counts the team's week, so the groups'
    /// number sets how much a week holds: at 1,000 groups (a city's villages)
    /// a 5-second run gives each team about a busy week's records.
    #[arg(long, default_value_t = 1_000)]
    pub village_groups: u64,
    /// Callbacks: also run the full path on this (empty) PostgreSQL database.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Seconds of load per server.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Callbacks: the bare and the full server take turns this many times,
    /// each round running `seconds / rounds` against each.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Callbacks: run server and load generator unpinned (by default the
    /// server gets the first core and the load generator the others, so
    /// they do not steal each other's time).
    #[arg(long)]
    pub no_pin: bool,
    /// Footprint: how many times `serve` is started.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Footprint: seconds each started `serve` is left idle before its
    /// resident memory is read.
    #[arg(long, default_value_t = 5)]
    pub idle_seconds: u64,
}

/// What the load generator saw: every request's latency, and how long it ran.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    pub latencies: Vec<Duration>,
    pub seconds: f64,
}

impl Samples {
    /// Adds another run's samples (a later round against the same server).
    pub fn add(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.seconds += other.seconds;
    }

    pub fn figures(&self) -> Figures {
        let mut all = self.latencies.clone();
        all.sort_unstable();
        let pct = |p: f64| {
            let idx = ((all.len() as f64 * p).ceil() as usize)
                .saturating_sub(1)
                .min(all.len().saturating_sub(1));
            all.get(idx).map(|d| d.as_secs_f64() * 1e3).unwrap_or(0.0)
        };
        Figures {
            requests: all.len() as u64,
            per_second: if self.seconds > 0.0 {
                all.len() as f64 / self.seconds
            } else {
                0.0
            },
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
        }
    }
}

/// Figures of one load run.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub requests: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Where the callbacks bench runs its two sides.
#[derive(Debug, Clone)]
pub struct Placement {
    /// The CPU the servers (and every thread they start) run on.
    pub server: usize,
    /// The CPUs the load generator runs on.
    pub load: Vec<usize>,
}

/// Call before the async runtime is built, on the process's only thread.
/// For the callbacks bench (unless `--no-pin`, or with fewer than two CPUs),
/// pins this thread to the first CPU it may use, so that the runtime built
/// next, its workers and every thread the servers start inherit that one
/// CPU, and tokio sizes its worker pool for one core, as it would for a
/// service started with `taskset -c 0`. The load generator gets the others.
pub fn place(args: &BenchArgs) -> anyhow::Result<Option<Placement>> {
    if args.kind != BenchKind::Callbacks || args.no_pin {
        return Ok(None);
    }
    let cpus = crate::affinity::allowed_cpus().unwrap_or_default();
    let [server, load @ ..] = cpus.as_slice() else {
        return Ok(None);
    };
    if load.is_empty() {
        return Ok(None);
    }
    crate::affinity::pin_thread(0, &[*server]).context("cannot pin the server threads")?;
    Ok(Some(Placement {
        server: *server,
        load: load.to_vec(),
    }))
}

/// Runs the bench `args` names; `placement` is what [`place`] returned.
pub async fn run(args: BenchArgs, placement: Option<Placement>) -> anyhow::Result<()> {
    match args.kind {
        BenchKind::Callbacks => callbacks(args, placement).await,
        BenchKind::Fanout => fanout(args).await,
        BenchKind::Ranking => ranking(args).await,
        BenchKind::Footprint => footprint(args).await,
        BenchKind::Day => day(args).await,
        BenchKind::DayReplica => match &args.replica_spec {
            Some(spec) => crate::dev::day::replica(spec).await,
            None => bail!("day-replica needs --replica-spec"),
        },
    }
}

/// `bench day`: the Monday evening, printed; fails when an invariant or a
/// target is not met, so a script can tell.
async fn day(args: BenchArgs) -> anyhow::Result<()> {
    let opts = crate::dev::day::DayOptions {
        database_url: args.database_url.clone(),
        groups: args.groups,
        replicas: args.replicas.max(1),
        speed: args.speed,
        connections: args.connections,
        platform_latency: Duration::from_millis(args.latency_ms),
        exe: std::env::current_exe().context("cannot find the liancun binary")?,
        seed: 2026,
        verbose: true,
    };
    println!(
        "liancun bench day: Monday 2026-12-07 20:00–22:00 (Asia/Shanghai), {} groups, {} replica(s), {}, ×{} ({:.0} s for the evening), {} connections, platform latency {} ms",
        opts.groups,
        opts.replicas,
        if args
            .database_url
            .as_deref()
            .is_some_and(|u| u.starts_with("postgres"))
        {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        opts.speed,
        7_200.0 / opts.speed,
        opts.connections,
        args.latency_ms
    );
    let report = crate::dev::day::run(opts).await?;
    report.print();
    if !report.invariants_hold() {
        bail!("the evening lost, doubled or failed something (see above)");
    }
    Ok(())
}

/// Weeks of 2026 the ranking bench fills: W01–W48 (to Sunday 29 November).
pub const RANKING_WEEKS: i64 = 48;

/// The target of the ranking bench: every township's monthly ranking.
const RANKING_TARGET_MS: f64 = 300.0;

/// Issue 19's target for 排名's live path: one township's month so far.
const LIVE_TARGET_MS: f64 = 200.0;

/// One pass of 排名's live path over every township: each township's time.
#[derive(Debug, Clone, Default)]
pub struct LivePass {
    /// Per township, in ms, sorted.
    pub ms: Vec<f64>,
    /// Teams ranked, all townships together.
    pub teams: usize,
}

impl LivePass {
    pub fn min_ms(&self) -> f64 {
        self.ms.first().copied().unwrap_or(0.0)
    }

    pub fn max_ms(&self) -> f64 {
        self.ms.last().copied().unwrap_or(0.0)
    }

    pub fn median_ms(&self) -> f64 {
        self.ms.get(self.ms.len() / 2).copied().unwrap_or(0.0)
    }
}

/// 排名's live path (the month so far, from the raw rows) for each township
/// in turn, each in its own read transaction as the bot reads it, timed.
pub async fn live_pass(
    db: &crate::store::Db,
    townships: &[i64],
    month: crate::domain::ranking::Month,
    now_ms: i64,
) -> anyhow::Result<LivePass> {
    let tz = chrono_tz::Asia::Shanghai;
    let mut pass = LivePass::default();
    for &id in townships {
        let t = Instant::now();
        let ranked = db
            .read_fresh(move |tx| {
                Box::pin(async move {
                    crate::store::ranking::township_ranking(tx, id, Some(month), tz, now_ms).await
                })
            })
            .await?
            .map_or(0, |r| r.ranked.len());
        pass.ms.push(t.elapsed().as_secs_f64() * 1000.0);
        pass.teams += ranked;
    }
    pass.ms.sort_by(f64::total_cmp);
    Ok(pass)
}

/// Fills an empty, migrated database with `villages` villages' year
/// (see [`crate::store::generate`]); prints each table's rows and time when
/// `verbose`.
pub async fn generate_ranking_data(
    db: &crate::store::Db,
    villages: i64,
    weeks: i64,
    verbose: bool,
) -> anyhow::Result<()> {
    use crate::store::generate;
    for (what, sql) in generate::statements(villages, weeks) {
        let t = Instant::now();
        let n = db
            .write(move |tx| Box::pin(async move { generate::run(tx, &sql).await }))
            .await
            .with_context(|| format!("generating {what}"))?;
        if verbose {
            println!(
                "  {what:<16} {n:>11} rows in {:>7.1} s",
                t.elapsed().as_secs_f64()
            );
        }
    }
    generate::settle(db)
        .await
        .context("VACUUM / ANALYZE after the bulk load")?;
    Ok(())
}

/// The monthly ranking of every township from the roll-ups; returns the
/// teams ranked.
pub async fn rank_all_townships(
    db: &crate::store::Db,
    townships: &[i64],
    month: crate::domain::ranking::Month,
    now_ms: i64,
) -> anyhow::Result<usize> {
    let tz = chrono_tz::Asia::Shanghai;
    let ids = townships.to_vec();
    let n = db
        .read(move |tx| {
            Box::pin(async move {
                let mut n = 0;
                for id in ids {
                    if let Some(r) =
                        crate::store::ranking::township_ranking(tx, id, Some(month), tz, now_ms)
                            .await?
                    {
                        n += r.ranked.len();
                    }
                }
                Ok::<_, crate::store::StoreError>(n)
            })
        })
        .await?;
    Ok(n)
}

async fn ranking(args: BenchArgs) -> anyhow::Result<()> {
    use crate::domain::ranking::Month;
    use crate::store::ranking::MonthWindow;
    use crate::store::{Db, StoreError};
    let dir = tempfile_dir()?;
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("ranking.db").display()));
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    let backend = format!("{:?}", db.backend());
    let existing = villages(&db).await?;
    if existing > 0 {
        // A database the bench filled before (--database-url): measure again.
        println!("ranking bench on {backend}: reusing the {existing} villages already there");
    } else {
        println!(
            "ranking bench on {backend}: {} villages, 2026-W01..W{RANKING_WEEKS}; generating…",
            args.villages
        );
        let t = Instant::now();
        generate_ranking_data(&db, args.villages, RANKING_WEEKS, true).await?;
        println!("generated in {:.1} s", t.elapsed().as_secs_f64());
    }
    let tz = chrono_tz::Asia::Shanghai;
    let month = Month {
        year: 2026,
        month: 11,
    };
    let local_ms = |d: u32, m: u32, h: u32| {
        let t = chrono::NaiveDate::from_ymd_opt(2026, m, d)
            .and_then(|d| d.and_hms_opt(h, 0, 0))
            .unwrap_or_default();
        crate::domain::week::local_to_utc(tz, t).timestamp_millis()
    };
    // The job's moment (1 December 09:00) and, for the live path, 29 November 20:00.
    let job_ms = local_ms(1, 12, 9);
    let live_ms = local_ms(29, 11, 20);
    let townships: Vec<i64> = db
        .read(|tx| Box::pin(async move { crate::store::jobs::townships(tx).await }))
        .await?
        .into_iter()
        .map(|t| t.0)
        .collect();

    // 排名's path first, before anything else reads the tables: the month so
    // far from the raw rows, one township at a time. The first pass reads
    // each township's rows for the first time (cold, when the server was just
    // restarted and the OS page cache dropped); the second reads them again.
    let cold = live_pass(&db, &townships, month, live_ms).await?;
    let warm = live_pass(&db, &townships, month, live_ms).await?;

    // Roll-ups of November for every township (what monthly_ranking builds).
    let t = Instant::now();
    let window = MonthWindow::new(month, tz, job_ms);
    for id in &townships {
        let (id, w) = (*id, window.clone());
        db.write(move |tx| {
            Box::pin(async move { crate::store::ranking::build_rollup(tx, id, &w, job_ms).await })
        })
        .await
        .map_err(|e: StoreError| anyhow::anyhow!(e))?;
    }
    let build_s = t.elapsed().as_secs_f64();

    // Every township's November ranking from the roll-ups, best of five.
    let mut best = f64::MAX;
    let mut teams = 0;
    for _ in 0..5 {
        let t = Instant::now();
        teams = rank_all_townships(&db, &townships, month, job_ms).await?;
        best = best.min(t.elapsed().as_secs_f64() * 1000.0);
    }

    println!(
        "roll-up build (November, {} townships, {teams} teams): {build_s:.2} s",
        townships.len()
    );
    println!(
        "monthly ranking of every township from the roll-ups: {best:.1} ms (best of 5; target ≤ {RANKING_TARGET_MS} ms: {})",
        if best <= RANKING_TARGET_MS {
            "met"
        } else {
            "NOT met"
        }
    );
    for (what, pass) in [("first pass (cold)", &cold), ("second pass (warm)", &warm)] {
        println!(
            "live (排名, month so far from raw rows), {what}: per township min {:.1} / median {:.1} / max {:.1} ms, {} teams (target ≤ {LIVE_TARGET_MS} ms: {})",
            pass.min_ms(),
            pass.median_ms(),
            pass.max_ms(),
            pass.teams,
            if pass.max_ms() <= LIVE_TARGET_MS {
                "met"
            } else {
                "NOT met"
            }
        );
    }
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Peak resident memory of this process (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Issue 19's footprint targets: start to ready, and idle resident memory.
const READY_TARGET_SQLITE_MS: f64 = 200.0;
const READY_TARGET_PG_MS: f64 = 500.0;
const IDLE_RSS_TARGET_MB: f64 = 30.0;

/// Starts `liancun serve` (this binary) `runs` times on one database whose
/// migrations are current (applied here first), and for each start measures
/// the time from spawn to the first 200 from `/readyz`, then, after
/// `idle_seconds` without a request, the child's resident memory (VmRSS)
/// and threads. Prints min / median / max of each.
async fn footprint(args: BenchArgs) -> anyhow::Result<()> {
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let dir = tempfile_dir()?;
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("footprint.db").display()));
    let postgres = url.starts_with("postgres");
    let db = crate::store::Db::connect(&url).await?;
    db.migrate().await?;
    db.close().await;
    let config = dir.join("footprint.toml");
    std::fs::write(
        &config,
        format!("database_url = \"{url}\"\n[log]\nfilter = \"warn\"\n"),
    )?;
    let exe = std::env::current_exe().context("cannot find the liancun binary")?;
    let (mut ready_ms, mut rss_mb, mut threads) = (Vec::new(), Vec::new(), Vec::new());
    for run in 1..=args.runs {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let t = Instant::now();
        let mut child = tokio::process::Command::new(&exe)
            .arg("serve")
            .env_remove("DATABASE_URL")
            .env_remove("LIANCUN_ADMIN_TOKEN")
            .env("LIANCUN_CONFIG", &config)
            .env("LIANCUN_LISTEN", addr.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start liancun serve")?;
        let pid = child.id().context("the started serve has no pid")?;
        loop {
            if ready(addr).await {
                break;
            }
            if let Some(status) = child.try_wait()? {
                bail!("run {run}: serve exited before it was ready ({status})");
            }
            if t.elapsed() > Duration::from_secs(30) {
                bail!("run {run}: serve was not ready within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let ms = t.elapsed().as_secs_f64() * 1e3;
        tokio::time::sleep(Duration::from_secs(args.idle_seconds)).await;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("cannot read the status of serve (pid {pid})"))?;
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        };
        let rss = field("VmRSS:").context("no VmRSS in /proc/PID/status")? * 1024.0 / 1e6;
        let n = field("Threads:").context("no Threads in /proc/PID/status")?;
        println!("run {run}: ready in {ms:.0} ms; idle RSS {rss:.1} MB, {n} threads");
        ready_ms.push(ms);
        rss_mb.push(rss);
        threads.push(n);
        child.start_kill()?;
        child.wait().await?;
    }
    let (backend, ready_target) = if postgres {
        ("PostgreSQL", READY_TARGET_PG_MS)
    } else {
        ("SQLite", READY_TARGET_SQLITE_MS)
    };
    let spread = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[0], v[v.len() / 2], v[v.len() - 1])
    };
    let (lo, mid, hi) = spread(&mut ready_ms);
    println!(
        "footprint, {backend}, {} runs, idle {} s each:",
        args.runs, args.idle_seconds
    );
    println!(
        "start to ready: min {lo:.0} ms, median {mid:.0} ms, max {hi:.0} ms (target ≤ {ready_target:.0} ms)"
    );
    let (lo, mid, hi) = spread(&mut rss_mb);
    println!(
        "idle RSS:       min {lo:.1} MB, median {mid:.1} MB, max {hi:.1} MB (target ≤ {IDLE_RSS_TARGET_MB:.0} MB)"
    );
    let (lo, mid, hi) = spread(&mut threads);
    println!("threads:        min {lo}, median {mid}, max {hi}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Whether `GET /readyz` at `addr` answers 200 (false while nothing listens).
async fn ready(addr: std::net::SocketAddr) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return false;
    };
    if s.write_all(b"GET /readyz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).await.is_ok() && head.starts_with(b"HTTP/1.1 200")
}

async fn fanout(args: BenchArgs) -> anyhow::Result<()> {
    use crate::clock::Clock;
    use crate::dev::fake::dingtalk::FakeDingtalk;
    let dir = tempfile_dir()?;
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("fanout.db").display()));
    let fake = FakeDingtalk::new("bench-key", SECRET);
    fake.set_latency(Duration::from_millis(args.latency_ms));
    let fake_addr = fake.spawn().await?;
    let settings = Settings::from_toml_overrides(&format!(
        "database_url = \"{url}\"\n[log]\nfilter = \"warn\"\n[dingtalk]\napi_base = \"http://{fake_addr}\"\noapi_base = \"http://{fake_addr}\"\n\
         [scheduler]\nenabled = false\nfanout_spread_secs = 0\n[outbox]\nenabled = false\nconcurrency = {}\n\
         [[bots]]\nname = \"bench\"\nplatform = \"dingtalk\"\napp_key = \"bench-key\"\napp_secret = \"{SECRET}\"\nrobot_code = \"benchrobot\"",
        args.concurrency
    ))?;
    let app = App::build(settings, Arc::new(SystemClock)).await?;
    let db = app.state.db.clone();
    let now = SystemClock.now_ms();
    // Set up the groups straight in the store (the callback path is measured by the other bench).
    let t = Instant::now();
    for chunk in (0..args.groups).collect::<Vec<_>>().chunks(2_000) {
        let chunk = chunk.to_vec();
        db.write(move |tx| {
            Box::pin(async move {
                for g in chunk {
                    let grp = crate::store::groups::upsert_group(
                        tx,
                        "dingtalk",
                        "bench",
                        &format!("cidFAN{g}"),
                        "村务群",
                        now,
                    )
                    .await?;
                    crate::store::groups::bind_group(
                        tx,
                        grp.id,
                        &format!("镇{}", g / 300),
                        &format!("第{g}村"),
                        "服务团",
                        now,
                    )
                    .await?;
                }
                Ok::<_, crate::store::StoreError>(())
            })
        })
        .await?;
    }
    println!(
        "liancun bench fanout: {} groups, fake DingTalk latency {} ms, {} sends in flight, {}",
        args.groups,
        args.latency_ms,
        args.concurrency,
        if args.database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    println!(
        "setup:   {} groups bound in {:.1} s",
        args.groups,
        t.elapsed().as_secs_f64()
    );

    if args.replicas > 0 {
        return fanout_replicas(&args, &url, fake, fake_addr, app).await;
    }
    let t = Instant::now();
    let started = chrono::Utc::now();
    let report = crate::jobs::run(
        &app.state.jobs,
        crate::jobs::Job::PlanReminder,
        crate::jobs::Scope::All,
        started,
        true,
        started,
    )
    .await?;
    let enqueue = t.elapsed().as_secs_f64();
    println!(
        "enqueue: {} pushes in {:.2} s ({:.0}/s)",
        report.enqueued,
        enqueue,
        report.enqueued as f64 / enqueue
    );

    let t = Instant::now();
    let mut sent = 0;
    let mut other = 0;
    while sent < report.enqueued as u64 {
        let d = app.state.worker.deliver_due().await?;
        sent += d.sent;
        other += d.retried + d.throttled + d.dead;
        if d.total() == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if t.elapsed() > Duration::from_secs(600) {
            bail!("drain did not finish in 10 minutes ({sent} sent)");
        }
    }
    let drain = t.elapsed().as_secs_f64();
    let bound = args.groups as f64 * (args.latency_ms as f64 / 1000.0) / args.concurrency as f64;
    let received = fake.received();
    let distinct: std::collections::HashSet<&str> =
        received.iter().map(|r| r.target.as_str()).collect();
    let duplicates = received.len() - distinct.len();
    let throttles = fake.rejected().len();
    println!(
        "drain:   {} sent in {:.2} s ({:.0}/s); bound {} × {} ms / {} in flight = {:.2} s",
        sent,
        drain,
        sent as f64 / drain,
        args.groups,
        args.latency_ms,
        args.concurrency,
        bound
    );
    println!(
        "ratio to the concurrency/latency bound = {:.2} (target ≥ 0.9)",
        bound / drain
    );
    println!(
        "duplicates {duplicates}, throttle or error responses {throttles}, retried/throttled/dead {other}, peak RSS {:.0} MiB",
        peak_rss_mib()
    );
    app.state.db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Villages already in `db` (a database a bench filled before).
async fn villages(db: &crate::store::Db) -> anyhow::Result<i64> {
    Ok(db
        .read(|tx| Box::pin(async move { crate::store::table_count(tx, "villages").await }))
        .await?)
}

/// Starts the app on `database_url` with the bench groups set up.
async fn full_app(database_url: &str, groups: u64) -> anyhow::Result<std::net::SocketAddr> {
    let settings = Settings::from_toml_overrides(&format!(
        "database_url = \"{database_url}\"\n[log]\nfilter = \"warn\"\n[scheduler]\nenabled = false\n[outbox]\nenabled = false\n\
         [[bots]]\nname = \"bench\"\nplatform = \"dingtalk\"\napp_secret = \"{SECRET}\"\nadmins = [\"admin\"]"
    ))?;
    let app = App::build(settings, Arc::new(SystemClock)).await?;
    let villages = villages(&app.state.db).await?;
    if villages > 0 {
        bail!(
            "the bench needs an empty database, and {} already holds {villages} villages \
             (a bench run before?); create a new one, e.g. createdb liancun_bench",
            crate::store::redact_url(database_url)
        );
    }
    let addr = serve(app.router()).await?;
    // Sixteen groups at a time: each group's steps stay in order.
    futures_util::stream::iter((0..groups).map(|g| setup_group(addr, g)))
        .buffer_unordered(16)
        .try_collect::<()>()
        .await?;
    Ok(addr)
}

fn print_figures(label: &str, f: &Figures) {
    println!(
        "{label:<34} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} requests)",
        f.per_second, f.p50_ms, f.p99_ms, f.requests
    );
}

/// The fan-out sent by separate `liancun serve` processes sharing one
/// PostgreSQL database: first by one replica with all `args.concurrency`
/// sends in flight, then by `args.replicas` replicas that split the same
/// total between them, so the two rows compare like with like (the same
/// concurrency/latency bound): replicas add throughput only if claiming
/// does not hold them back.
async fn fanout_replicas(
    args: &BenchArgs,
    url: &str,
    fake: crate::dev::fake::dingtalk::FakeDingtalk,
    fake_addr: std::net::SocketAddr,
    app: App,
) -> anyhow::Result<()> {
    if !url.starts_with("postgres") {
        bail!("--replicas needs --database-url postgres://… (SQLite serves one process)");
    }
    if args.concurrency < args.replicas {
        bail!(
            "--concurrency {} is split across --replicas {}: give at least one send each",
            args.concurrency,
            args.replicas
        );
    }
    let dir = tempfile_dir()?;
    let mut rounds = Vec::new();
    let mut counts = vec![1];
    if args.replicas > 1 {
        counts.push(args.replicas);
    }
    for replicas in counts {
        if !rounds.is_empty() {
            // Every group's robot sent in the last round: let its budget
            // (one send per 3 s) come back, so this round starts as fresh.
            tokio::time::sleep(Duration::from_millis(3_500)).await;
        }
        let round = replica_round(args, url, &fake, fake_addr, &app, &dir, replicas).await?;
        rounds.push(round);
    }
    let bound = args.groups as f64 * (args.latency_ms as f64 / 1000.0) / args.concurrency as f64;
    println!(
        "bound: {} pushes × {} ms / {} in flight in all = {bound:.2} s",
        args.groups, args.latency_ms, args.concurrency
    );
    println!(
        "{:<10} {:>14} {:>9} {:>8} {:>7} {:>11} {:>10}",
        "replicas", "in flight", "drain s", "sent/s", "ratio", "duplicates", "throttles"
    );
    for r in &rounds {
        println!(
            "{:<10} {:>14} {:>9.2} {:>8.0} {:>7.2} {:>11} {:>10}",
            r.replicas,
            r.split
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join("+"),
            r.drain,
            r.sent as f64 / r.drain,
            bound / r.drain,
            r.duplicates,
            r.throttles
        );
    }
    println!(
        "ratio = bound / drain (target ≥ 0.85 with {} replicas, 0 duplicates, 0 throttles)",
        args.replicas
    );
    app.state.db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// What one round of [`fanout_replicas`] measured.
struct ReplicaRound {
    replicas: usize,
    /// Sends in flight in each replica.
    split: Vec<usize>,
    sent: usize,
    drain: f64,
    duplicates: usize,
    throttles: usize,
}

/// `total` sends in flight split across `replicas` as evenly as they go.
fn split_concurrency(total: usize, replicas: usize) -> Vec<usize> {
    let replicas = replicas.max(1);
    (0..replicas)
        .map(|i| total / replicas + usize::from(i < total % replicas))
        .collect()
}

/// Starts `replicas` `liancun serve` processes splitting
/// `args.concurrency`, waits until each is ready, enqueues one push per
/// group and times the drain; stops the replicas.
async fn replica_round(
    args: &BenchArgs,
    url: &str,
    fake: &crate::dev::fake::dingtalk::FakeDingtalk,
    fake_addr: std::net::SocketAddr,
    app: &App,
    dir: &std::path::Path,
    replicas: usize,
) -> anyhow::Result<ReplicaRound> {
    let split = split_concurrency(args.concurrency, replicas);
    let exe = std::env::current_exe().context("cannot find the liancun binary")?;
    let mut children = Vec::new();
    let mut addrs = Vec::new();
    for (i, in_flight) in split.iter().enumerate() {
        let config = dir.join(format!("replica-{replicas}-{i}.toml"));
        std::fs::write(
            &config,
            format!(
                "database_url = \"{url}\"\n[log]\nfilter = \"warn\"\n[dingtalk]\napi_base = \"http://{fake_addr}\"\noapi_base = \"http://{fake_addr}\"\n\
                 [scheduler]\nenabled = false\n[outbox]\nconcurrency = {in_flight}\npoll_ms = 100\n\
                 [[bots]]\nname = \"bench\"\nplatform = \"dingtalk\"\napp_key = \"bench-key\"\napp_secret = \"{SECRET}\"\nrobot_code = \"benchrobot\""
            ),
        )?;
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let child = tokio::process::Command::new(&exe)
            .arg("serve")
            .env_remove("DATABASE_URL")
            .env("LIANCUN_CONFIG", &config)
            .env("LIANCUN_LISTEN", addr.to_string())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start a replica")?;
        children.push(child);
        addrs.push(addr);
    }
    let t = Instant::now();
    for addr in &addrs {
        while !ready(*addr).await {
            if t.elapsed() > Duration::from_secs(60) {
                bail!("a replica was not ready within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let (received_before, rejected_before) = (fake.received().len(), fake.rejected().len());
    let t = Instant::now();
    let started = chrono::Utc::now();
    // Enqueued here; the replicas' outbox workers take it from the database.
    let report = crate::jobs::run(
        &app.state.jobs,
        crate::jobs::Job::PlanReminder,
        crate::jobs::Scope::All,
        started,
        true,
        started,
    )
    .await?;
    println!(
        "enqueue: {} pushes in {:.2} s; {replicas} replica(s) with {split:?} in flight send them",
        report.enqueued,
        t.elapsed().as_secs_f64(),
    );
    let t = Instant::now();
    while fake.received().len() < received_before + report.enqueued {
        if t.elapsed() > Duration::from_secs(600) {
            bail!(
                "drain did not finish in 10 minutes ({} sent)",
                fake.received().len() - received_before
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drain = t.elapsed().as_secs_f64();
    let received = fake.received();
    let this_round = received.get(received_before..).unwrap_or_default();
    let distinct: std::collections::HashSet<&str> =
        this_round.iter().map(|r| r.target.as_str()).collect();
    for mut c in children {
        let _ = c.start_kill();
        let _ = c.wait().await;
    }
    Ok(ReplicaRound {
        replicas,
        split,
        sent: this_round.len(),
        drain,
        duplicates: this_round.len() - distinct.len(),
        throttles: fake.rejected().len() - rejected_before,
    })
}

async fn callbacks(args: BenchArgs, placement: Option<Placement>) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let db_path = dir.join("bench.db");
    let full = full_app(
        &format!("sqlite://{}", db_path.display()),
        args.village_groups.max(1),
    )
    .await?;
    let bare = serve(bare_router()).await?;
    println!(
        "liancun bench callbacks: {} s per server, {} connections, {} village groups, loopback, {}",
        args.seconds,
        args.connections,
        args.village_groups.max(1),
        match &placement {
            Some(p) => format!(
                "server on CPU {} ({} runtime worker), load generator on CPU {:?}",
                p.server,
                tokio::runtime::Handle::current().metrics().num_workers(),
                p.load
            ),
            None => format!(
                "unpinned ({} runtime workers)",
                tokio::runtime::Handle::current().metrics().num_workers()
            ),
        }
    );
    let load_cpus = placement.as_ref().map(|p| p.load.clone());
    // Bare and full take turns, so that a machine whose speed drifts (a
    // shared host) slows both alike and the ratio stays comparable.
    let rounds = args.rounds.max(1);
    let slice = Duration::from_secs_f64(args.seconds as f64 / rounds as f64);
    let (mut bare_all, mut full_all) = (Samples::default(), Samples::default());
    let mut ratios = Vec::with_capacity(rounds);
    // Each round carries on through the week's messages where the last one
    // stopped, so a team's week fills as in one long run.
    let (bare_seq, full_seq) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    for _ in 0..rounds {
        let b = load_apart(load_cpus.clone(), bare, &args, slice, &bare_seq, "bare").await?;
        let f = load_apart(load_cpus.clone(), full, &args, slice, &full_seq, "full").await?;
        ratios.push(f.figures().per_second / b.figures().per_second);
        bare_all.add(b);
        full_all.add(f);
    }
    let (b, f) = (bare_all.figures(), full_all.figures());
    print_figures("bare (signature check only):", &b);
    print_figures("full, SQLite (verify→…→reply):", &f);
    ratios.sort_by(f64::total_cmp);
    println!(
        "ratio full/bare = {:.2} (target ≥ 0.30; {rounds} rounds, {:.2}–{:.2}); full p99 = {:.2} ms (target ≤ 10 ms)",
        f.per_second / b.per_second,
        ratios.first().copied().unwrap_or_default(),
        ratios.last().copied().unwrap_or_default(),
        f.p99_ms
    );
    if let Some(pg) = &args.postgres {
        let full_pg = full_app(pg, args.village_groups.max(1)).await?;
        let p = load_apart(
            load_cpus,
            full_pg,
            &args,
            Duration::from_secs(args.seconds),
            &Arc::new(AtomicU64::new(0)),
            "full-pg",
        )
        .await?
        .figures();
        print_figures("full, PostgreSQL:", &p);
        println!(
            "ratio PostgreSQL/SQLite = {:.2}; PostgreSQL/bare = {:.2}",
            p.per_second / f.per_second,
            p.per_second / b.per_second
        );
        match pgbench_anchor(pg, args.connections).await {
            Ok(Some(a)) => println!(
                "pgbench TPC-B-like, same server, -c {c} -j 2 -T {PGBENCH_SECONDS}: {:.0} tps, \
                 latency p50 {:.2} ms, p99 {:.2} ms; full PostgreSQL/pgbench = {:.2} (target ≥ 1.0), \
                 p99 {:.2} ms (target ≤ 15 ms)",
                a.tps,
                a.p50_ms,
                a.p99_ms,
                p.per_second / a.tps,
                p.p99_ms,
                c = args.connections,
            ),
            Ok(None) => println!("pgbench is not on PATH: no anchor"),
            Err(e) => println!("pgbench anchor failed: {e:#}"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// How long the pgbench anchor runs.
const PGBENCH_SECONDS: u64 = 10;

/// What pgbench measured: its transactions per second and the latency of
/// each transaction, from its per-transaction log.
#[derive(Debug)]
struct Anchor {
    tps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// pgbench's TPC-B-like run with `clients` clients and two threads
/// (`pgbench -c clients -j 2 -T 10 -l`, scale 1), on the server of `url`, in
/// a scratch database made for it (`createdb`, `pgbench -i`) and dropped
/// afterwards: its tps, and its own latency percentiles from the
/// per-transaction log (the bound a closed loop of `clients` puts on any
/// path through that server). `None` when `pgbench` is not installed.
async fn pgbench_anchor(url: &str, clients: usize) -> anyhow::Result<Option<Anchor>> {
    use tokio::process::Command;
    let installed = Command::new("pgbench")
        .arg("--version")
        .output()
        .await
        .is_ok_and(|o| o.status.success());
    if !installed {
        return Ok(None);
    }
    let name = format!("liancun_pgbench_{}", fastrand::u32(..));
    let scratch = with_database(url, &name)?;
    let logs = tempfile_dir()?;
    let run = |cmd: &mut Command, what: &str| {
        let what = what.to_string();
        let out = cmd.output();
        async move {
            let out = out.await.with_context(|| format!("cannot run {what}"))?;
            if !out.status.success() {
                bail!(
                    "{what} failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            anyhow::Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        }
    };
    run(
        Command::new("createdb")
            .arg(format!("--maintenance-db={url}"))
            .arg(&name),
        "createdb",
    )
    .await?;
    let measured = async {
        run(
            Command::new("pgbench").args(["-i", "-q"]).arg(&scratch),
            "pgbench -i",
        )
        .await?;
        let out = run(
            Command::new("pgbench")
                .args(["-c", &clients.to_string(), "-j", "2", "-T"])
                .arg(PGBENCH_SECONDS.to_string())
                .arg("-l")
                .arg(format!("--log-prefix={}", logs.join("pgbench").display()))
                .arg(&scratch),
            "pgbench",
        )
        .await?;
        let tps =
            pgbench_tps(&out).with_context(|| format!("no tps in pgbench's output: {out}"))?;
        let mut us = Vec::new();
        for entry in std::fs::read_dir(&logs).context("reading pgbench's logs")? {
            let text = std::fs::read_to_string(entry?.path()).context("reading a pgbench log")?;
            us.extend(pgbench_latencies_us(&text));
        }
        if us.is_empty() {
            bail!("pgbench wrote no transaction log in {}", logs.display());
        }
        us.sort_unstable();
        let pct = |q: f64| us[((us.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
        anyhow::Ok(Anchor {
            tps,
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
        })
    }
    .await;
    let _ = std::fs::remove_dir_all(&logs);
    let dropped = run(
        Command::new("dropdb")
            .arg(format!("--maintenance-db={url}"))
            .arg(&name),
        "dropdb",
    )
    .await;
    let anchor = measured?;
    dropped?;
    Ok(Some(anchor))
}

/// The tps pgbench printed (`tps = 3087.1 (without initial connection time)`).
fn pgbench_tps(out: &str) -> Option<f64> {
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("tps = "))
        .find_map(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// Each transaction's latency in µs from a pgbench `-l` log, whose lines
/// read `client_id transaction_no time script_no time_epoch time_us`.
fn pgbench_latencies_us(log: &str) -> impl Iterator<Item = u64> + '_ {
    log.lines()
        .filter_map(|l| l.split_whitespace().nth(2)?.parse().ok())
}

/// `url` (`postgres://…/db?…`) naming database `name` instead.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let Some((server, _db)) = base
        .rsplit_once('/')
        .filter(|(server, _)| server.contains("://") && !server.ends_with('/'))
    else {
        bail!(
            "cannot find the database in {}",
            crate::store::redact_url(url)
        );
    };
    Ok(match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    })
}

/// Runs [`load`] on a thread and runtime of its own, pinned to `cpus` when
/// given, so the load generator never runs on the server's core.
async fn load_apart(
    cpus: Option<Vec<usize>>,
    addr: std::net::SocketAddr,
    args: &BenchArgs,
    run_for: Duration,
    seq: &Arc<AtomicU64>,
    label: &'static str,
) -> anyhow::Result<Samples> {
    let args = args.clone();
    let seq = Arc::clone(seq);
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(format!("bench-load-{label}"))
        .spawn(move || {
            let run = || -> anyhow::Result<Samples> {
                if let Some(cpus) = &cpus {
                    crate::affinity::pin_thread(0, cpus)
                        .context("cannot pin the load generator")?;
                }
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(load(addr, &args, run_for, seq, label))
            };
            let _ = done_tx.send(run());
        })
        .context("cannot start the load generator thread")?;
    done_rx.await.context("the load generator thread died")?
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("liancun-bench-{}", fastrand::u64(..)));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

async fn serve(router: Router) -> anyhow::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            eprintln!("bench server stopped: {e}");
        }
    });
    Ok(addr)
}

/// A handler that does only what every callback must: check the signature.
fn bare_router() -> Router {
    async fn handler(
        Path(_bot): Path<String>,
        headers: HeaderMap,
        _body: Bytes,
    ) -> (StatusCode, &'static str) {
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
        let now = chrono::Utc::now().timestamp_millis();
        match sign::verify_callback(h("timestamp"), h("sign"), SECRET, now) {
            Ok(()) => (StatusCode::OK, r#"{"msgtype":"empty"}"#),
            Err(_) => (StatusCode::UNAUTHORIZED, "bad signature"),
        }
    }
    Router::new().route("/webhook/dingtalk/{bot}", post(handler))
}

static MSG_SEQ: AtomicU64 = AtomicU64::new(0);

fn callback_body(
    group: u64,
    sender: &str,
    nick: &str,
    admin: bool,
    text: &str,
    at: &[&str],
) -> String {
    let n = MSG_SEQ.fetch_add(1, Ordering::Relaxed);
    let at_users: Vec<_> = at
        .iter()
        .map(|id| json!({"dingtalkId": format!("x{id}"), "staffId": id}))
        .collect();
    json!({
        "msgId": format!("bench-{n}"), "msgtype": "text", "text": {"content": format!(" {text}")},
        "conversationId": format!("cidBENCH{group}"), "conversationType": "2", "conversationTitle": format!("{group}村服务群"),
        "senderId": format!("$:LWCP_v1:${sender}"), "senderStaffId": sender, "senderNick": nick,
        "isAdmin": admin, "chatbotUserId": "botid", "atUsers": at_users,
    })
    .to_string()
}

/// A keep-alive connection posting callbacks to the bench's bot.
struct Conn(crate::dev::client::Conn);

impl Conn {
    async fn open(addr: std::net::SocketAddr) -> anyhow::Result<Conn> {
        crate::dev::client::Conn::open(addr).await.map(Conn)
    }

    async fn post(&mut self, body: String) -> anyhow::Result<(StatusCode, Bytes)> {
        let now = chrono::Utc::now().timestamp_millis();
        self.0.post_callback("bench", SECRET, now, body).await
    }
}

/// Binds the bench group and sets up a team with a published plan.
async fn setup_group(addr: std::net::SocketAddr, group: u64) -> anyhow::Result<()> {
    let mut c = Conn::open(addr).await?;
    let bind = format!("绑定 凤林镇 第{group}村");
    // (sender, nick, group admin, text, @-ed ids, what the reply must say)
    type Step<'a> = (&'a str, &'a str, bool, &'a str, &'a [&'a str], &'a str);
    let steps: [Step; 4] = [
        ("admin", "管理员", true, &bind, &[], "已绑定"),
        (
            "admin",
            "管理员",
            true,
            "设团长 @张三",
            &["zhangsan"],
            "已设团长",
        ),
        (
            "zhangsan",
            "张三",
            false,
            "设团员 @李四 @王五",
            &["lisi", "wangwu"],
            "已设团员",
        ),
        (
            "zhangsan",
            "张三",
            false,
            "排清单\n1. 插花田政策处理 @李四 红\n2. 走访3组10户农户 @王五\n3. 古村落保护方案对接 橙\n4. 河道清理 @李四\n5. 医保代办 黄",
            &["lisi", "wangwu"],
            "已发布本周清单",
        ),
    ];
    for (sender, nick, admin, text, at, expect) in steps {
        let (status, body) = c
            .post(callback_body(group, sender, nick, admin, text, at))
            .await?;
        let body = String::from_utf8_lossy(&body);
        if status != StatusCode::OK || !body.contains(expect) {
            bail!("bench setup step {text:?} failed: {status} {body}");
        }
    }
    // The villagers who will rate the team have spoken in the group before.
    for k in 0..VILLAGERS {
        let (status, body) = c
            .post(callback_body(
                group,
                &villager(group, k),
                "村民",
                false,
                "帮助",
                &[],
            ))
            .await?;
        if status != StatusCode::OK {
            let body = String::from_utf8_lossy(&body);
            bail!("bench setup: villager {k}'s 帮助 failed: {status} {body}");
        }
    }
    Ok(())
}

/// Villagers in each bench group, who rate its team in turn.
const VILLAGERS: u64 = 20;

fn villager(group: u64, k: u64) -> String {
    format!("villager{group}x{k}")
}

/// The mix of commands a busy week sends: services, visits, ratings, lists,
/// spread over `groups` village groups.
fn next_message(i: u64, groups: u64) -> String {
    let g = (i / 10) % groups;
    match i % 10 {
        0..=3 => callback_body(
            g,
            "lisi",
            "李四",
            false,
            &format!("服务 帮3组王大妈办理医保 第{i}次"),
            &[],
        ),
        4..=6 => callback_body(
            g,
            "wangwu",
            "王五",
            false,
            &format!("走访 张大爷家（3组） 反映路灯坏了{i}"),
            &[],
        ),
        7 | 8 => {
            // Two of the group's villagers rate on each pass over the groups,
            // so the team's week gathers raters as the run goes on.
            let k = ((i / (10 * groups)) * 2 + i % 2) % VILLAGERS;
            callback_body(g, &villager(g, k), "村民", false, "评价 5 服务很及时", &[])
        }
        _ => callback_body(g, "lisi", "李四", false, "清单", &[]),
    }
}

async fn load(
    addr: std::net::SocketAddr,
    args: &BenchArgs,
    run_for: Duration,
    seq: Arc<AtomicU64>,
    label: &str,
) -> anyhow::Result<Samples> {
    let deadline = Instant::now() + run_for;
    let mut workers = Vec::with_capacity(args.connections);
    let started = Instant::now();
    let groups = args.village_groups.max(1);
    for _ in 0..args.connections {
        let label = label.to_string();
        let seq = Arc::clone(&seq);
        workers.push(tokio::spawn(async move {
            let mut c = Conn::open(addr).await?;
            let mut lat = Vec::with_capacity(100_000);
            while Instant::now() < deadline {
                let body = next_message(seq.fetch_add(1, Ordering::Relaxed), groups);
                let t = Instant::now();
                let (status, _) = c.post(body).await?;
                if status != StatusCode::OK {
                    bail!("{label}: callback answered {status}");
                }
                lat.push(t.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.context("load worker panicked")??);
    }
    Ok(Samples {
        latencies: all,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_split_the_total_concurrency() {
        assert_eq!(split_concurrency(64, 1), [64]);
        assert_eq!(split_concurrency(64, 3), [22, 21, 21]);
        assert_eq!(split_concurrency(3, 3), [1, 1, 1]);
        assert_eq!(split_concurrency(64, 3).iter().sum::<usize>(), 64);
    }

    #[test]
    fn the_pgbench_anchor_reads_tps_and_names_its_scratch_database() {
        let out = "transaction type: <builtin: TPC-B (sort of)>\nscaling factor: 1\n\
                   latency average = 10.365 ms\ninitial connection time = 35.712 ms\n\
                   tps = 3087.123456 (without initial connection time)\n";
        assert_eq!(pgbench_tps(out), Some(3087.123456));
        assert_eq!(pgbench_tps("no figures"), None);
        let log = "0 199 2481 0 1733580000 123456\n1 200 15020 0 1733580000 124000\nbroken\n";
        assert_eq!(pgbench_latencies_us(log).collect::<Vec<_>>(), [2481, 15020]);
        assert_eq!(
            with_database(
                "postgres://postgres@127.0.0.1:5432/liancun_bench",
                "scratch"
            )
            .unwrap(),
            "postgres://postgres@127.0.0.1:5432/scratch"
        );
        assert_eq!(
            with_database("postgres://u:p@db:5432/x?sslmode=require", "s").unwrap(),
            "postgres://u:p@db:5432/s?sslmode=require"
        );
        assert!(with_database("postgres://db:5432", "s").is_err());
    }
}
