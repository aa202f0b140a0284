//! `liancun bench day`: a Monday evening rehearsed. Plays 20:00–22:00 of
//! Monday 7 December 2026 (Asia/Shanghai) for `--groups` village groups on a
//! simulated clock, through the real callback path, against `--replicas`
//! replicas of the real `App` sharing one database and a fake DingTalk:
//!
//! * every leader publishes the week's plan (排清单), most between 20:30 and
//!   21:00, with two one-minute bursts (20:31, 20:46: the learning meetings
//!   end) at ten times that half hour's mean rate; one team in twenty does
//!   not publish before 21:30 (half of those publish late, after the nag);
//! * members add tasks (加清单), report services (服务) and look at the list
//!   (清单); villagers rate (评价);
//! * the replicas' own schedulers fire `plan_missing` at 21:30 for the teams
//!   without a plan, and their outbox workers fan it out through the fake
//!   (a spread of three minutes, at most one send per robot and group every
//!   3 s), with one 1:1 message to each township's admin.
//!
//! It reports callback p50 / p99 / max and errors, the outbox's lag at 21:30
//! and when the last push left, each replica's CPU and resident memory, and
//! PostgreSQL's connections (`pg_stat_activity`); and it checks every push
//! against the fake's log of what it received: none lost, none doubled.
//!
//! **Replicas are processes.** Each replica is this binary started as the
//! hidden `liancun bench day-replica --replica-spec FILE`: an `App` with its
//! own pool, outbox worker and scheduler, serving HTTP on loopback — what
//! `liancun serve` runs, with the clock swapped. The file gives it the
//! configuration and the clock; `serve` reads neither, so no production flag
//! or variable can put a service on a simulated clock. Separate processes
//! give real per-replica figures (CPU and RSS from `/proc/PID`) and real
//! contention between replicas on the database. A replica stops when its
//! standard input closes (the bench ends, or dies).
//!
//! **The clock.** [`ScaledClock`]: simulated time = 20:00 + `speed` × the
//! wall-clock time since an agreed instant, so every process reads the same
//! simulated time without talking to the others. The load generator signs its
//! callbacks with it (the signature window is judged on the replica's clock),
//! and the fake DingTalk's clock is stepped to it every few milliseconds so
//! its rate windows and receipt stamps are simulated time too. Intervals the
//! product measures in real time are scaled to match: the scheduler looks at
//! the clock every `30 / speed` s (at least 1 s), the outbox polls every
//! `500 / speed` ms (at least 10 ms), and an outbox lease stays a real minute
//! (a send in flight is never taken over because simulated time ran fast). At speeds above 60 a tick is more than
//! a simulated minute, so the 21:30 firing can start a little late.
//!
//! **Speed.** `--speed` compresses the evening and multiplies the offered
//! load by the same factor: at ×20 the 20:31 burst arrives at twenty times
//! the rate a real province would send. The report prints the real peak rate
//! offered, so a p99 can be read against it. The smoke test runs a few dozen
//! groups at high speed and asserts only the invariants (no error, nothing
//! lost or doubled, every nag sent), never times.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::AsyncBufReadExt;

use crate::app::App;
use crate::clock::{Clock, FixedClock};
use crate::config::Settings;
use crate::dev::fake::dingtalk::FakeDingtalk;

const SECRET: &str = "day-app-secret";
const APP_KEY: &str = "day-app-key";
const BOT: &str = "day";
const TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// Minutes after 20:00, as simulated milliseconds.
const fn min(m: i64) -> i64 {
    m * 60_000
}

/// `--speed`'s default: the evening in six minutes.
pub const DEFAULT_SPEED: f64 = 20.0;

/// The evening: 20:00 to 22:00.
const EVENING_MS: i64 = min(120);
/// plan_missing's slot (21:30), from 20:00.
const NAG_AT: i64 = min(90);
/// Every nag must have left by 21:45.
const NAG_DEADLINE: i64 = min(105);
/// One group in this many does not publish before 21:30.
const MISSING_ONE_IN: u64 = 20;
/// Groups per township (one admin each).
const GROUPS_PER_TOWNSHIP: usize = 300;
/// Target: callback p99.
const P99_TARGET_MS: f64 = 50.0;

/// The evening's first instant: Monday 7 December 2026, 20:00 in Shanghai.
pub fn evening_start() -> DateTime<Utc> {
    let t = NaiveDate::from_ymd_opt(2026, 12, 7)
        .and_then(|d| d.and_hms_opt(20, 0, 0))
        .unwrap_or_default();
    crate::domain::week::local_to_utc(TZ, t)
}

/// Wall-clock microseconds since the epoch (shared by every process).
fn wall_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Simulated time: `sim_start_ms` at the wall-clock instant `real_origin_us`,
/// running `speed` times as fast as the wall clock, in every process that
/// holds the same three numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScaledClock {
    pub sim_start_ms: i64,
    pub real_origin_us: i64,
    pub speed: f64,
}

impl ScaledClock {
    /// Simulated ms at the wall-clock instant `real_us`.
    pub fn sim_at(&self, real_us: i64) -> i64 {
        let elapsed_ms = (real_us - self.real_origin_us) as f64 / 1_000.0;
        self.sim_start_ms + (elapsed_ms * self.speed) as i64
    }

    /// Real time until the simulated instant `sim_ms` (zero if past).
    pub fn real_until(&self, sim_ms: i64) -> Duration {
        let ahead_ms = (sim_ms - self.now_ms()) as f64 / self.speed;
        Duration::from_secs_f64((ahead_ms / 1_000.0).max(0.0))
    }

    /// Sleeps until the simulated instant `sim_ms`.
    pub async fn sleep_until(&self, sim_ms: i64) {
        loop {
            let d = self.real_until(sim_ms);
            if d.is_zero() {
                return;
            }
            tokio::time::sleep(d).await;
        }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.sim_at(wall_us()))
            .single()
            .unwrap_or_default()
    }
}

/// What a replica process is given (as a JSON file).
#[derive(Debug, Serialize, Deserialize)]
pub struct ReplicaSpec {
    /// The replica's configuration, as a TOML file would hold it.
    pub config: String,
    pub clock: ScaledClock,
}

/// The hidden `bench day-replica`: one replica of the service on the clock
/// the spec gives, on loopback; prints `listening ADDR` once bound, and stops
/// when its standard input closes.
pub async fn replica(spec: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(spec)
        .with_context(|| format!("cannot read the replica spec {}", spec.display()))?;
    let spec: ReplicaSpec = serde_json::from_str(&text).context("bad replica spec")?;
    let settings = Settings::from_toml_overrides(&spec.config)?;
    crate::telemetry::init_logging(&settings.log)?;
    let app = App::build(settings, Arc::new(spec.clock)).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening {}", listener.local_addr()?);
    // A thread of its own blocks on the pipe (tokio's stdin is not built in).
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("day-replica-stdin".into())
        .spawn(move || {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
            let _ = closed_tx.send(());
        })
        .context("cannot watch standard input")?;
    let stdin_closed = async {
        let _ = closed_rx.await;
    };
    app.run_until_stopped(listener, stdin_closed).await
}

/// What to rehearse.
#[derive(Debug, Clone)]
pub struct DayOptions {
    /// Empty: a temporary SQLite file (one replica only).
    pub database_url: Option<String>,
    pub groups: usize,
    pub replicas: usize,
    pub speed: f64,
    /// Connections the load generator keeps open (spread over the replicas).
    pub connections: usize,
    /// Real latency the fake DingTalk adds to every answer.
    pub platform_latency: Duration,
    /// The `liancun` binary the replicas run.
    pub exe: PathBuf,
    pub seed: u64,
    /// Print progress while it runs.
    pub verbose: bool,
}

/// What one chat message of the evening is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Plan,
    AddTask,
    Service,
    List,
    Rate(u8),
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Plan => "排清单",
            Kind::AddTask => "加清单",
            Kind::Service => "服务",
            Kind::List => "清单",
            Kind::Rate(_) => "评价",
        }
    }
}

/// One message: who sends what, when (ms after 20:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub at: i64,
    pub group: usize,
    pub kind: Kind,
}

/// The evening's script: every message, and who does not publish in time.
#[derive(Debug, Clone)]
pub struct Script {
    /// In time order.
    pub events: Vec<Event>,
    /// Groups whose plan is not in by 21:30 (some publish after).
    pub missing: HashSet<usize>,
}

/// A uniform instant in `[from, to)` ms.
fn between(rng: &mut fastrand::Rng, from: i64, to: i64) -> i64 {
    from + rng.i64(0..(to - from).max(1))
}

/// Writes the evening for `groups` groups (the same script for the same seed).
pub fn script(groups: usize, seed: u64) -> Script {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut events = Vec::with_capacity(groups * 4);
    let mut missing = HashSet::new();
    let bursts = [min(31), min(46)];
    for g in 0..groups {
        let plan_at = if rng.u64(0..MISSING_ONE_IN) == 0 {
            missing.insert(g);
            // Half of them publish after the nag, the rest not at all.
            rng.bool().then(|| between(&mut rng, min(95), min(115)))
        } else {
            let u = rng.f64();
            Some(if u < 0.15 {
                between(&mut rng, 0, min(30))
            } else if u < 0.95 {
                // 20:30–21:00: two thirds in the two burst minutes (each
                // ten times the half hour's mean), the rest spread out.
                if rng.f64() < 2.0 / 3.0 {
                    let b = bursts[rng.usize(0..bursts.len())];
                    between(&mut rng, b, b + min(1))
                } else {
                    between(&mut rng, min(30), min(60))
                }
            } else {
                between(&mut rng, min(60), min(85))
            })
        };
        let published_in_time = !missing.contains(&g);
        if let Some(p) = plan_at {
            events.push(Event {
                at: p,
                group: g,
                kind: Kind::Plan,
            });
            // Adding to a plan and reading it make sense once it exists;
            // before 21:30 only for teams that published.
            if rng.f64() < 0.4 {
                events.push(Event {
                    at: p + between(&mut rng, min(2), min(30)),
                    group: g,
                    kind: Kind::AddTask,
                });
            }
            if rng.f64() < 0.5 {
                events.push(Event {
                    at: p + between(&mut rng, min(1), min(20)),
                    group: g,
                    kind: Kind::List,
                });
            }
        }
        if rng.f64() < 0.6 {
            let at = match plan_at {
                Some(p) if published_in_time => p + between(&mut rng, min(1), min(40)),
                _ => between(&mut rng, 0, min(115)),
            };
            events.push(Event {
                at,
                group: g,
                kind: Kind::Service,
            });
        }
        for v in 0..2u8 {
            if rng.bool() {
                events.push(Event {
                    at: between(&mut rng, min(5), min(118)),
                    group: g,
                    kind: Kind::Rate(v),
                });
            }
        }
    }
    events.retain(|e| e.at < EVENING_MS);
    events.sort_by_key(|e| (e.at, e.group, e.kind));
    Script { events, missing }
}

impl Script {
    /// Messages in the busiest simulated minute: (minute after 20:00, count).
    pub fn peak_minute(&self) -> (i64, usize) {
        let mut per: BTreeMap<i64, usize> = BTreeMap::new();
        for e in &self.events {
            *per.entry(e.at / min(1)).or_default() += 1;
        }
        per.into_iter()
            .max_by_key(|(m, n)| (*n, std::cmp::Reverse(*m)))
            .unwrap_or_default()
    }
}

/// A replica's cost over the evening, from `/proc/PID`.
#[derive(Debug, Clone, Default)]
pub struct ReplicaFigures {
    pub pid: u32,
    /// CPU seconds (user + system) from 20:00 to the end.
    pub cpu_s: f64,
    /// Resident memory at the end, and its peak (VmHWM), MB.
    pub rss_mb: f64,
    pub peak_rss_mb: f64,
    pub threads: u64,
}

/// One sample of the database's state, taken every few hundred ms.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Simulated ms after 20:00.
    pub at: i64,
    /// Pushes due and not sent, and how long the oldest has waited (ms).
    pub backlog: i64,
    pub lag_ms: i64,
    /// PostgreSQL connections to the database (all, active); 0 on SQLite.
    pub connections: i64,
    pub active: i64,
}

/// What the evening showed.
#[derive(Debug, Clone, Default)]
pub struct DayReport {
    pub groups: usize,
    pub replicas: usize,
    pub postgres: bool,
    pub speed: f64,
    pub setup_s: f64,
    pub run_s: f64,
    /// Callbacks by kind.
    pub sent: BTreeMap<&'static str, u64>,
    pub callbacks: u64,
    /// Callbacks answered with something else than their expected reply,
    /// or not answered; with the first few.
    pub errors: u64,
    pub error_examples: Vec<String>,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Callbacks by the rate their scripted minute offered: (real messages
    /// per second, from, below), callbacks, p50 and p99 ms.
    pub by_rate: Vec<RateBand>,
    /// The most any callback started behind its scheduled (real) time.
    pub behind_ms: f64,
    /// The busiest simulated minute (after 20:00) and its messages, and that
    /// minute's rate in real messages per second at this speed.
    pub peak_minute: (i64, usize),
    pub peak_real_rate: f64,
    /// Teams without a plan at 21:30 (by the script), and the groups whose
    /// plan was answered after 21:30 (late by overload: nagged or not).
    pub missing: usize,
    pub late_plans: usize,
    /// plan_missing pushes: group rows written, sent; to admins.
    pub nag_rows: usize,
    pub nag_sent: usize,
    pub admin_rows: usize,
    pub admin_sent: usize,
    /// Teams of the script's missing set without a nag row, and nag rows for
    /// teams whose plan was in well before 21:30.
    pub nag_missing: usize,
    /// The first few of them: group, its plan posted and answered (if at
    /// all), and by when its township's firing had ended (simulated ms).
    pub nag_missing_examples: Vec<String>,
    pub nag_wrong: usize,
    /// Townships with a missing team whose admin got no row.
    pub admin_missing: usize,
    /// Pushes the fake received more often than the outbox sent them, and
    /// sent rows the fake never received; rows left unsent or dead.
    pub doubled: usize,
    pub lost: usize,
    pub unsent: usize,
    pub dead: usize,
    pub throttled: usize,
    /// Simulated ms after 20:00: the first and the last nag that left.
    pub first_nag_at: Option<i64>,
    pub last_nag_at: Option<i64>,
    /// Longest wait of a nag between due and sent (simulated ms).
    pub nag_max_wait_ms: i64,
    /// The outbox at 21:30 (the sample closest after), and its worst lag to 21:45.
    pub at_nag: Sample,
    pub max_lag_to_deadline_ms: i64,
    pub peak_connections: i64,
    pub peak_active: i64,
    pub replica_figures: Vec<ReplicaFigures>,
}

impl DayReport {
    /// The invariants the smoke test holds the rehearsal to (times aside):
    /// no callback error, no push lost, doubled, unsent or dead, every team
    /// without a plan nagged and no team with one.
    pub fn invariants_hold(&self) -> bool {
        self.errors == 0
            && self.doubled == 0
            && self.lost == 0
            && self.unsent == 0
            && self.dead == 0
            && self.nag_missing == 0
            && self.nag_wrong == 0
            && self.admin_missing == 0
            && self.nag_sent == self.nag_rows
    }

    /// The targets besides the invariants: p99 and the 21:45 deadline.
    pub fn targets_met(&self) -> bool {
        self.invariants_hold()
            && self.p99_ms <= P99_TARGET_MS
            && self.last_nag_at.is_none_or(|t| t <= NAG_DEADLINE)
    }

    pub fn print(&self) {
        let met = |ok: bool| if ok { "met" } else { "NOT met" };
        let clock = |ms: i64| {
            let s = ms / 1000;
            format!("{:02}:{:02}:{:02}", 20 + s / 3600, (s / 60) % 60, s % 60)
        };
        println!(
            "evening: {} callbacks ({}) in {:.0} s real; busiest minute {} with {} messages = {:.0}/s real at ×{}",
            self.callbacks,
            self.sent
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(" · "),
            self.run_s,
            clock(self.peak_minute.0 * 60_000),
            self.peak_minute.1,
            self.peak_real_rate,
            self.speed
        );
        println!(
            "callbacks: p50 {:.1} ms, p99 {:.1} ms, max {:.0} ms (p99 target ≤ {P99_TARGET_MS} ms: {}); errors {} (target 0: {}); started at most {:.0} ms behind schedule",
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            met(self.p99_ms <= P99_TARGET_MS),
            self.errors,
            met(self.errors == 0),
            self.behind_ms
        );
        for b in &self.by_rate {
            let band = if b.below.is_finite() {
                format!("{:.0}–{:.0}/s", b.from, b.below)
            } else {
                format!("≥ {:.0}/s", b.from)
            };
            println!(
                "  in minutes offering {band} real: {} callbacks, p50 {:.1} ms, p99 {:.1} ms",
                b.callbacks, b.p50_ms, b.p99_ms
            );
        }
        for e in &self.error_examples {
            println!("  error: {e}");
        }
        println!(
            "plan_missing at 21:30: {} teams without a plan by the script ({} more answered after 21:30) → {} group nags written, {} sent; {} admin messages written, {} sent",
            self.missing,
            self.late_plans,
            self.nag_rows,
            self.nag_sent,
            self.admin_rows,
            self.admin_sent
        );
        println!(
            "  first nag left {}, last {} (target ≤ 21:45:00: {}); longest wait due→sent {:.1} s",
            self.first_nag_at.map_or("-".into(), clock),
            self.last_nag_at.map_or("-".into(), clock),
            met(self.last_nag_at.is_none_or(|t| t <= NAG_DEADLINE)),
            self.nag_max_wait_ms as f64 / 1000.0
        );
        println!(
            "pushes checked against the fake's log: lost {}, doubled {}, unsent {}, dead {}, throttled {}; nags missing {}, nags to teams that had published {}, admins missed {} ({})",
            self.lost,
            self.doubled,
            self.unsent,
            self.dead,
            self.throttled,
            self.nag_missing,
            self.nag_wrong,
            self.admin_missing,
            met(self.invariants_hold())
        );
        for e in &self.nag_missing_examples {
            println!("  not nagged: {e} (after 20:00, simulated)");
        }
        println!(
            "outbox at {}: {} due and unsent, oldest waiting {:.1} s; worst lag 21:30–21:45 {:.1} s (simulated)",
            clock(self.at_nag.at),
            self.at_nag.backlog,
            self.at_nag.lag_ms as f64 / 1000.0,
            self.max_lag_to_deadline_ms as f64 / 1000.0
        );
        for (i, r) in self.replica_figures.iter().enumerate() {
            println!(
                "replica {} (pid {}): CPU {:.1} s over the evening ({:.0}% of a core), RSS {:.1} MB at the end, peak {:.1} MB, {} threads",
                i + 1,
                r.pid,
                r.cpu_s,
                if self.run_s > 0.0 {
                    100.0 * r.cpu_s / self.run_s
                } else {
                    0.0
                },
                r.rss_mb,
                r.peak_rss_mb,
                r.threads
            );
        }
        if self.postgres {
            println!(
                "PostgreSQL connections to the database (pg_stat_activity): peak {}, of them running a statement at most {}; at 21:30 {}",
                self.peak_connections, self.peak_active, self.at_nag.connections
            );
        }
    }
}

/// A user of group `g` (leader, members, villagers): platform id and name.
fn who(g: usize, kind: Kind) -> (String, &'static str) {
    match kind {
        Kind::Plan => (format!("lead{g}"), "张三"),
        Kind::AddTask | Kind::List => (format!("mema{g}"), "李四"),
        Kind::Service => (format!("memb{g}"), "王五"),
        Kind::Rate(v) => (format!("vil{g}x{v}"), "村民"),
    }
}

/// The message `kind` sends in group `g`, the @-ed ids, and what the reply must say.
fn message(g: usize, kind: Kind) -> (&'static str, Vec<String>, &'static str) {
    match kind {
        Kind::Plan => (
            "排清单\n1. 插花田政策处理 @李四 红\n2. 走访3组10户农户 @王五\n3. 古村落保护方案对接 橙\n4. 河道清理 @李四\n5. 医保代办 黄",
            vec![format!("mema{g}"), format!("memb{g}")],
            "已发布本周清单",
        ),
        Kind::AddTask => (
            "加清单 3组路灯维修 @王五 周五 黄",
            vec![format!("memb{g}")],
            "已加入本周清单",
        ),
        Kind::Service => ("服务 帮3组王大妈办理医保", vec![], "已记录服务"),
        Kind::List => ("清单", vec![], ""),
        Kind::Rate(_) => ("评价 5 服务很及时", vec![], "感谢评价"),
    }
}

fn conversation(g: usize) -> String {
    format!("cidDAY{g}")
}

/// A signed DingTalk callback body.
fn body(
    msg_id: &str,
    g: usize,
    sender: &str,
    nick: &str,
    admin: bool,
    text: &str,
    at: &[String],
) -> String {
    let at_users: Vec<_> = at
        .iter()
        .map(|id| json!({"dingtalkId": format!("x{id}"), "staffId": id}))
        .collect();
    json!({
        "msgId": msg_id, "msgtype": "text", "text": {"content": format!(" {text}")},
        "conversationId": conversation(g), "conversationType": "2", "conversationTitle": format!("{g}村服务群"),
        "senderId": format!("$:LWCP_v1:${sender}"), "senderStaffId": sender, "senderNick": nick,
        "isAdmin": admin, "chatbotUserId": "botid", "atUsers": at_users,
    })
    .to_string()
}

/// One keep-alive connection to a replica, reopened when the server closes it.
struct Conn {
    conn: Option<crate::dev::client::Conn>,
    addr: std::net::SocketAddr,
}

impl Conn {
    fn new(addr: std::net::SocketAddr) -> Conn {
        Conn { conn: None, addr }
    }

    async fn try_post(&mut self, body: &str, now_ms: i64) -> anyhow::Result<(StatusCode, Bytes)> {
        let conn = match &mut self.conn {
            Some(c) if !c.is_closed() => c,
            slot => slot.insert(crate::dev::client::Conn::open(self.addr).await?),
        };
        conn.post_callback(BOT, SECRET, now_ms, body.to_owned())
            .await
    }

    /// Posts a callback signed at `clock`'s time. A connection the server
    /// closed (idle time-out) is reopened and the same message sent again:
    /// its msgId makes a repeat harmless, as with DingTalk's own retries.
    async fn post(&mut self, body: &str, clock: &dyn Clock) -> anyhow::Result<(StatusCode, Bytes)> {
        match self.try_post(body, clock.now_ms()).await {
            Ok(r) => Ok(r),
            Err(_) => {
                self.conn = None;
                self.try_post(body, clock.now_ms()).await
            }
        }
    }
}

/// Sets up group `g` through callbacks: bound to its village, a leader and
/// two members.
async fn setup_group(
    addr: std::net::SocketAddr,
    g: usize,
    clock: &dyn Clock,
) -> anyhow::Result<()> {
    let mut c = Conn::new(addr);
    let township = g / GROUPS_PER_TOWNSHIP;
    let steps: [(&str, &str, String, Vec<String>, &str); 3] = [
        (
            "admin",
            "管理员",
            format!("绑定 {township}号镇 {g}号村"),
            vec![],
            "已绑定",
        ),
        (
            "admin",
            "管理员",
            "设团长 @张三".into(),
            vec![format!("lead{g}")],
            "已设团长",
        ),
        (
            "lead",
            "张三",
            "设团员 @李四 @王五".into(),
            vec![format!("mema{g}"), format!("memb{g}")],
            "已设团员",
        ),
    ];
    for (i, (sender, nick, text, at, expect)) in steps.into_iter().enumerate() {
        let sender = if sender == "lead" {
            format!("lead{g}")
        } else {
            sender.to_string()
        };
        let b = body(
            &format!("setup-{g}-{i}"),
            g,
            &sender,
            nick,
            sender == "admin",
            &text,
            &at,
        );
        let (status, reply) = c.post(&b, clock).await?;
        let reply = String::from_utf8_lossy(&reply);
        if status != StatusCode::OK || !reply.contains(expect) {
            bail!("setting up group {g}: {text:?} answered {status} {reply}");
        }
    }
    Ok(())
}

/// What one load connection saw.
#[derive(Default)]
struct Seen {
    /// Each callback's scripted minute (after 20:00) and its latency.
    latencies: Vec<(i64, Duration)>,
    errors: u64,
    examples: Vec<String>,
    behind: Duration,
    sent: BTreeMap<&'static str, u64>,
    /// Groups whose plan was answered: when it was sent and when answered
    /// (simulated ms after 20:00).
    plans: Vec<Plan>,
}

/// A plan the evening published and the bot confirmed.
#[derive(Debug, Clone, Copy)]
struct Plan {
    group: usize,
    posted_at: i64,
    answered_at: i64,
}

/// Plays `events` (one connection's share, in time order) against `addr`.
async fn play(
    addr: std::net::SocketAddr,
    events: Vec<Event>,
    clock: ScaledClock,
    start_ms: i64,
    lane: usize,
) -> Seen {
    let mut seen = Seen::default();
    let mut c = Conn::new(addr);
    for (n, e) in events.into_iter().enumerate() {
        let due = start_ms + e.at;
        clock.sleep_until(due).await;
        let behind_sim = clock.now_ms() - due;
        seen.behind = seen.behind.max(Duration::from_secs_f64(
            (behind_sim as f64 / clock.speed / 1000.0).max(0.0),
        ));
        let (sender, nick) = who(e.group, e.kind);
        let (text, at, expect) = message(e.group, e.kind);
        let b = body(
            &format!("day-{lane}-{n}"),
            e.group,
            &sender,
            nick,
            false,
            text,
            &at,
        );
        let t = Instant::now();
        let posted_at = clock.now_ms() - start_ms;
        let r = c.post(&b, &clock).await;
        seen.latencies.push((e.at / 60_000, t.elapsed()));
        *seen.sent.entry(e.kind.label()).or_default() += 1;
        let problem = match r {
            Ok((status, reply)) => {
                let reply = String::from_utf8_lossy(&reply);
                if status != StatusCode::OK || !reply.contains(expect) {
                    Some(format!(
                        "group {} {}: {status} {reply}",
                        e.group,
                        e.kind.label()
                    ))
                } else {
                    if e.kind == Kind::Plan {
                        seen.plans.push(Plan {
                            group: e.group,
                            posted_at,
                            answered_at: clock.now_ms() - start_ms,
                        });
                    }
                    None
                }
            }
            Err(err) => Some(format!("group {} {}: {err:#}", e.group, e.kind.label())),
        };
        if let Some(p) = problem {
            seen.errors += 1;
            if seen.examples.len() < 3 {
                seen.examples.push(p);
            }
        }
    }
    seen
}

/// CPU seconds (user + system) and (RSS, peak RSS) in MB and threads of `pid`.
fn proc_figures(pid: u32) -> anyhow::Result<(f64, f64, f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command's closing parenthesis; utime and stime are the
    // 14th and 15th of the whole line.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let cpu = (ticks(11) + ticks(12)) / hz;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Ok((
        cpu,
        field("VmRSS:") * 1024.0 / 1e6,
        field("VmHWM:") * 1024.0 / 1e6,
        field("Threads:") as u64,
    ))
}

/// A running replica process.
struct Replica {
    child: tokio::process::Child,
    addr: std::net::SocketAddr,
    pid: u32,
}

async fn start_replica(
    exe: &Path,
    dir: &Path,
    n: usize,
    spec: &ReplicaSpec,
) -> anyhow::Result<Replica> {
    let path = dir.join(format!("replica-{n}.json"));
    std::fs::write(&path, serde_json::to_string(spec)?)?;
    let mut child = tokio::process::Command::new(exe)
        .args(["bench", "day-replica", "--replica-spec"])
        .arg(&path)
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start replica {n} ({})", exe.display()))?;
    let pid = child.id().context("the replica has no pid")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let addr = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(a) = line.strip_prefix("listening ") {
                return Ok::<_, anyhow::Error>(a.trim().parse()?);
            }
            eprintln!("replica {n}: {line}");
        }
        bail!("replica {n} ended before it listened")
    })
    .await
    .with_context(|| format!("replica {n} did not listen within 60 s"))??;
    // Its log, passed on.
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("replica {n}: {line}");
        }
    });
    Ok(Replica { child, addr, pid })
}

/// Callbacks whose scripted minute offered a real rate in `[from, below)`
/// messages a second, and their latency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateBand {
    pub from: f64,
    pub below: f64,
    pub callbacks: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The bands [`DayReport::by_rate`] reports, in real messages per second.
const RATE_BANDS: [f64; 5] = [0.0, 250.0, 500.0, 1000.0, f64::INFINITY];

/// Groups callbacks by the real rate their scripted minute offered (the
/// minute's messages ÷ 60 × `speed`): whether the p99 comes from the
/// minutes that offer more than the server does.
fn latency_by_rate(seen: &[(i64, Duration)], speed: f64) -> Vec<RateBand> {
    let mut per_minute: HashMap<i64, usize> = HashMap::new();
    for (m, _) in seen {
        *per_minute.entry(*m).or_default() += 1;
    }
    RATE_BANDS
        .windows(2)
        .filter_map(|b| {
            let (from, below) = (b[0], b[1]);
            let mut lat: Vec<Duration> = seen
                .iter()
                .filter(|(m, _)| {
                    let rate = per_minute.get(m).copied().unwrap_or(0) as f64 / 60.0 * speed;
                    rate >= from && rate < below
                })
                .map(|(_, d)| *d)
                .collect();
            lat.sort_unstable();
            (!lat.is_empty()).then(|| RateBand {
                from,
                below,
                callbacks: lat.len(),
                p50_ms: percentile(&lat, 0.50),
                p99_ms: percentile(&lat, 0.99),
            })
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 * p).ceil() as usize)
        .saturating_sub(1)
        .min(sorted.len().saturating_sub(1));
    sorted.get(idx).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// Rehearses the evening and reports it (see the module docs).
pub async fn run(opts: DayOptions) -> anyhow::Result<DayReport> {
    if opts.groups == 0 || opts.replicas == 0 || opts.speed <= 0.0 {
        bail!("--groups, --replicas and --speed must be positive");
    }
    let dir = std::env::temp_dir().join(format!("liancun-day-{}", fastrand::u64(..)));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = rehearse(&opts, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn rehearse(opts: &DayOptions, dir: &Path) -> anyhow::Result<DayReport> {
    let url = opts
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("day.db").display()));
    let postgres = url.starts_with("postgres");
    if !postgres && opts.replicas > 1 {
        bail!("--replicas above 1 needs --database-url postgres://… (SQLite serves one process)");
    }
    let start = evening_start();
    let start_ms = start.timestamp_millis();
    let fake = FakeDingtalk::new(APP_KEY, SECRET);
    fake.set_latency(opts.platform_latency);
    let fake_addr = fake.spawn().await?;
    let bot = format!(
        "[[bots]]\nname = \"{BOT}\"\nplatform = \"dingtalk\"\napp_key = \"{APP_KEY}\"\napp_secret = \"{SECRET}\"\nrobot_code = \"dayrobot\"\nadmins = [\"admin\"]\n"
    );
    let common = format!(
        "database_url = \"{url}\"\ntimezone = \"Asia/Shanghai\"\n[log]\nfilter = \"warn\"\n[dingtalk]\napi_base = \"http://{fake_addr}\"\noapi_base = \"http://{fake_addr}\"\n"
    );

    // Setup, an hour before, on an app of this process with a stopped clock
    // and no background work: groups bound, leaders and members named.
    let t = Instant::now();
    let setup_clock = FixedClock::at(start - chrono::Duration::hours(1));
    let setup = App::build(
        Settings::from_toml_overrides(&format!(
            "{common}[scheduler]\nenabled = false\n[outbox]\nenabled = false\n{bot}"
        ))?,
        Arc::new(setup_clock.clone()),
    )
    .await?;
    let db = setup.state.db.clone();
    let villages = db
        .read(|tx| Box::pin(async move { crate::store::table_count(tx, "villages").await }))
        .await?;
    if villages > 0 {
        bail!(
            "the day bench needs an empty database, and {} holds villages already; create a new one (createdb …)",
            crate::store::redact_url(&url)
        );
    }
    let setup_addr = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let router = setup.router();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                eprintln!("day bench setup server stopped: {e}");
            }
        });
        addr
    };
    {
        let clock = setup_clock.clone();
        futures_util::stream::iter((0..opts.groups).map(|g| {
            let clock = clock.clone();
            async move { setup_group(setup_addr, g, &clock).await }
        }))
        .buffer_unordered(16)
        .try_collect::<()>()
        .await?;
    }
    // One admin per township, who hears which teams have no plan.
    let now = setup_clock.now_ms();
    db.write(move |tx| {
        Box::pin(async move {
            for (id, _, _) in crate::store::jobs::townships(tx).await? {
                let p = crate::store::groups::upsert_person(
                    tx,
                    "dingtalk",
                    &format!("tadmin{id}"),
                    "镇管理员",
                    now,
                )
                .await?;
                crate::store::jobs::add_township_admin(tx, id, p).await?;
            }
            Ok::<_, crate::store::StoreError>(())
        })
    })
    .await?;
    let conversations: HashMap<String, i64> = db
        .read(|tx| Box::pin(async move { crate::store::rehearsal::conversations(tx).await }))
        .await?
        .into_iter()
        .map(|(id, c)| (c, id))
        .collect();
    let setup_s = t.elapsed().as_secs_f64();
    if opts.verbose {
        println!(
            "setup: {} groups bound, leaders and members named, in {setup_s:.1} s",
            opts.groups
        );
    }

    // The replicas, on a clock that reaches 20:00 once they have had time to start.
    let speed = opts.speed;
    let clock = ScaledClock {
        sim_start_ms: start_ms,
        real_origin_us: wall_us() + 3_000_000,
        speed,
    };
    let tick_secs = ((30.0 / speed).round() as u64).max(1);
    let poll_ms = ((500.0 / speed).round() as u64).max(10);
    // A lease is about real time (a send in flight must not be taken by
    // another replica): a minute of it, in simulated seconds.
    let lease_secs = ((60.0 * speed).ceil() as u64).max(60);
    let spec = ReplicaSpec {
        config: format!(
            "{common}[scheduler]\ntick_secs = {tick_secs}\n[outbox]\npoll_ms = {poll_ms}\nlease_secs = {lease_secs}\n{bot}"
        ),
        clock,
    };
    let mut replicas = Vec::with_capacity(opts.replicas);
    for n in 1..=opts.replicas {
        replicas.push(start_replica(&opts.exe, dir, n, &spec).await?);
    }
    // The fake DingTalk on simulated time.
    let ticker = {
        let fake = fake.clone();
        tokio::spawn(async move {
            loop {
                fake.set_now_ms(clock.now_ms());
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let script = script(opts.groups, opts.seed);
    let peak_minute = script.peak_minute();
    if opts.verbose {
        println!(
            "evening: {} messages scripted; {} teams will have no plan at 21:30; replicas at {:?}",
            script.events.len(),
            script.missing.len(),
            replicas.iter().map(|r| r.addr).collect::<Vec<_>>()
        );
    }
    clock.sleep_until(start_ms).await;
    let cpu0: Vec<f64> = replicas
        .iter()
        .map(|r| proc_figures(r.pid).map(|f| f.0).unwrap_or(0.0))
        .collect();
    let real0 = Instant::now();

    // The sampler: the outbox and PostgreSQL's connections.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let sampler = {
        let db = db.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut out: Vec<Sample> = Vec::new();
            loop {
                let now = clock.now_ms();
                let backlog = db
                    .read(move |tx| {
                        Box::pin(async move { crate::store::rehearsal::backlog(tx, now).await })
                    })
                    .await;
                let conns = if postgres {
                    db.read(|tx| {
                        Box::pin(async move { crate::store::rehearsal::pg_connections(tx).await })
                    })
                    .await
                    .ok()
                } else {
                    None
                };
                if let Ok((n, oldest)) = backlog {
                    let (connections, active) = conns.unwrap_or_default();
                    out.push(Sample {
                        at: now - start_ms,
                        backlog: n,
                        lag_ms: oldest.map_or(0, |o| now - o),
                        connections,
                        active,
                    });
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                    _ = stop.changed() => return out,
                }
            }
        })
    };

    // The load: one lane per connection, each with its groups' messages in
    // time order (a group's messages never overtake each other).
    let lanes = opts.connections.max(1);
    let mut per_lane: Vec<Vec<Event>> = vec![Vec::new(); lanes];
    for e in &script.events {
        per_lane[e.group % lanes].push(*e);
    }
    let mut players = Vec::with_capacity(lanes);
    for (lane, events) in per_lane.into_iter().enumerate() {
        let addr = replicas[lane % replicas.len()].addr;
        players.push(tokio::spawn(play(addr, events, clock, start_ms, lane)));
    }
    let mut seen = Seen::default();
    for p in players {
        let s = p.await.context("a load lane panicked")?;
        seen.latencies.extend(s.latencies);
        seen.errors += s.errors;
        for e in s.examples {
            if seen.examples.len() < 5 {
                seen.examples.push(e);
            }
        }
        seen.behind = seen.behind.max(s.behind);
        for (k, n) in s.sent {
            *seen.sent.entry(k).or_default() += n;
        }
        seen.plans.extend(s.plans);
    }
    // The evening ends at 22:00; then whatever is due may still leave (the
    // rehearsal waits up to a simulated half hour more, and reports when).
    clock.sleep_until(start_ms + EVENING_MS).await;
    let grace_end = start_ms + EVENING_MS + min(30);
    loop {
        let now = clock.now_ms();
        let (n, _) = db
            .read(move |tx| {
                Box::pin(async move { crate::store::rehearsal::backlog(tx, now).await })
            })
            .await?;
        if n == 0 || now >= grace_end {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let run_s = real0.elapsed().as_secs_f64();
    let mut replica_figures = Vec::with_capacity(replicas.len());
    for (r, c0) in replicas.iter().zip(&cpu0) {
        let (cpu, rss, peak, threads) = proc_figures(r.pid)?;
        replica_figures.push(ReplicaFigures {
            pid: r.pid,
            cpu_s: cpu - c0,
            rss_mb: rss,
            peak_rss_mb: peak,
            threads,
        });
    }
    let _ = stop_tx.send(true);
    let samples = sampler.await.context("the sampler panicked")?;
    // Stop the replicas: their standard input closes, they drain and exit.
    for mut r in replicas {
        drop(r.child.stdin.take());
        if tokio::time::timeout(Duration::from_secs(40), r.child.wait())
            .await
            .is_err()
        {
            let _ = r.child.start_kill();
            let _ = r.child.wait().await;
        }
    }
    ticker.abort();

    // The pushes, checked against what the fake received.
    let rows = db
        .read(|tx| Box::pin(async move { crate::store::rehearsal::pushes(tx, "").await }))
        .await?;
    let received = fake.received();
    let by_group: HashMap<i64, String> = conversations
        .iter()
        .map(|(c, id)| (*id, c.clone()))
        .collect();
    let target_of = |r: &crate::store::rehearsal::PushRow| -> Option<String> {
        match (r.group_id, r.person_id) {
            (Some(g), _) => by_group.get(&g).cloned(),
            (None, Some(_)) => None,
            _ => None,
        }
    };
    let mut want: HashMap<String, usize> = HashMap::new();
    let mut direct_rows_sent = 0usize;
    let (mut unsent, mut dead) = (0, 0);
    for r in &rows {
        match r.state.as_str() {
            "sent" => match target_of(r) {
                Some(t) => *want.entry(t).or_default() += 1,
                None => direct_rows_sent += 1,
            },
            "dead" => dead += 1,
            _ => {
                if r.next_attempt_at <= start_ms + EVENING_MS {
                    unsent += 1;
                }
            }
        }
    }
    let mut got: HashMap<String, usize> = HashMap::new();
    let mut direct_received = 0usize;
    for m in &received {
        if m.route == "direct" {
            direct_received += 1;
        } else {
            *got.entry(m.target.clone()).or_default() += 1;
        }
    }
    let mut doubled = 0;
    let mut lost = 0;
    for t in want.keys().chain(got.keys()).collect::<HashSet<_>>() {
        let (w, g) = (
            want.get(t).copied().unwrap_or(0),
            got.get(t).copied().unwrap_or(0),
        );
        doubled += g.saturating_sub(w);
        lost += w.saturating_sub(g);
    }
    doubled += direct_received.saturating_sub(direct_rows_sent);
    lost += direct_rows_sent.saturating_sub(direct_received);

    // The nags.
    let nags: Vec<_> = rows
        .iter()
        .filter(|r| r.dedupe_key.starts_with("job:plan_missing:"))
        .collect();
    let group_nags: Vec<_> = nags.iter().filter(|r| r.group_id.is_some()).collect();
    let admin_nags: Vec<_> = nags.iter().filter(|r| r.person_id.is_some()).collect();
    let answered: HashMap<usize, i64> = seen
        .plans
        .iter()
        .map(|p| (p.group, p.answered_at))
        .collect();
    let posted: HashMap<usize, i64> = seen.plans.iter().map(|p| (p.group, p.posted_at)).collect();
    // A plan answered after 21:30 (or not far before, while the firing ran)
    // may or may not be nagged: both are right.
    let settled = |g: usize| answered.get(&g).is_some_and(|&at| at < NAG_AT - min(1));
    let late_plans = answered
        .iter()
        .filter(|&(g, &at)| !script.missing.contains(g) && at >= NAG_AT - min(1))
        .count();
    let nagged_groups: HashSet<usize> = group_nags
        .iter()
        .filter_map(|r| by_group.get(&r.group_id.unwrap_or_default()))
        .filter_map(|c| c.strip_prefix("cidDAY").and_then(|n| n.parse().ok()))
        .collect();
    // By when each township's firing had surely ended: its rows are sent
    // only after its transaction commits, so before its first nag left. A
    // team of the script's missing set whose late plan was posted before
    // then may have been seen by the firing (it reads each team's plan in
    // turn while it runs, and a slow tick can start it after 21:30), and
    // then was rightly not nagged.
    let mut ended_by: HashMap<usize, i64> = HashMap::new();
    for r in &group_nags {
        if let Some(g) = r
            .group_id
            .and_then(|id| by_group.get(&id))
            .and_then(|c| c.strip_prefix("cidDAY"))
            .and_then(|n| n.parse::<usize>().ok())
        {
            let t = ended_by.entry(g / GROUPS_PER_TOWNSHIP).or_insert(i64::MAX);
            *t = (*t).min(r.sent_at.map_or(i64::MAX, |s| s - start_ms));
        }
    }
    let excused = |g: usize| {
        posted.get(&g).is_some_and(|&at| {
            at < ended_by
                .get(&(g / GROUPS_PER_TOWNSHIP))
                .copied()
                .unwrap_or(i64::MAX)
        })
    };
    let mut unnagged: Vec<usize> = script
        .missing
        .iter()
        .copied()
        .filter(|g| !nagged_groups.contains(g) && !excused(*g))
        .collect();
    unnagged.sort_unstable();
    let nag_missing = unnagged.len();
    let sim = |t: Option<i64>| t.map_or("-".to_string(), |t| format!("{:.1} s", t as f64 / 1e3));
    let nag_missing_examples = unnagged
        .iter()
        .take(3)
        .map(|&g| {
            format!(
                "group {g}: plan posted {} answered {}; township {} firing ended by {}",
                sim(posted.get(&g).copied()),
                sim(answered.get(&g).copied()),
                g / GROUPS_PER_TOWNSHIP,
                sim(ended_by.get(&(g / GROUPS_PER_TOWNSHIP)).copied()),
            )
        })
        .collect();
    let nag_wrong = nagged_groups.iter().filter(|g| settled(**g)).count();
    let townships_missing: HashSet<usize> = script
        .missing
        .iter()
        .map(|g| g / GROUPS_PER_TOWNSHIP)
        .collect();
    let admin_missing = townships_missing.len().saturating_sub(admin_nags.len());
    let sent_at: Vec<i64> = group_nags
        .iter()
        .filter_map(|r| r.sent_at)
        .map(|t| t - start_ms)
        .collect();
    let nag_max_wait_ms = group_nags
        .iter()
        .filter_map(|r| r.sent_at.map(|s| s - r.next_attempt_at))
        .max()
        .unwrap_or(0);
    let at_nag = samples
        .iter()
        .find(|s| s.at >= NAG_AT)
        .copied()
        .unwrap_or_default();
    let max_lag_to_deadline_ms = samples
        .iter()
        .filter(|s| (NAG_AT..=NAG_DEADLINE).contains(&s.at))
        .map(|s| s.lag_ms)
        .max()
        .unwrap_or(0);

    let by_rate = latency_by_rate(&seen.latencies, speed);
    let mut lat: Vec<Duration> = seen.latencies.into_iter().map(|(_, d)| d).collect();
    lat.sort_unstable();
    let report = DayReport {
        groups: opts.groups,
        replicas: opts.replicas,
        postgres,
        speed,
        setup_s,
        run_s,
        callbacks: lat.len() as u64,
        sent: seen.sent,
        errors: seen.errors,
        error_examples: seen.examples,
        p50_ms: percentile(&lat, 0.50),
        p99_ms: percentile(&lat, 0.99),
        by_rate,
        max_ms: lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        behind_ms: seen.behind.as_secs_f64() * 1e3,
        peak_minute,
        peak_real_rate: peak_minute.1 as f64 / 60.0 * speed,
        missing: script.missing.len(),
        late_plans,
        nag_rows: group_nags.len(),
        nag_sent: group_nags.iter().filter(|r| r.state == "sent").count(),
        admin_rows: admin_nags.len(),
        admin_sent: admin_nags.iter().filter(|r| r.state == "sent").count(),
        nag_missing,
        nag_missing_examples,
        nag_wrong,
        admin_missing,
        doubled,
        lost,
        unsent,
        dead,
        throttled: fake.rejected().len(),
        first_nag_at: sent_at.iter().copied().min(),
        last_nag_at: sent_at.iter().copied().max(),
        nag_max_wait_ms,
        at_nag,
        max_lag_to_deadline_ms,
        peak_connections: samples.iter().map(|s| s.connections).max().unwrap_or(0),
        peak_active: samples.iter().map(|s| s.active).max().unwrap_or(0),
        replica_figures,
    };
    setup.state.db.close().await;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_grouped_by_the_rate_its_minute_offered() {
        // At ×20, minute 0 offers 3 messages (1/s real), minute 1 offers
        // 900 (300/s real): slow answers in the busy minute show in its band.
        let ms = Duration::from_millis;
        let mut seen: Vec<(i64, Duration)> = (1..=3).map(|i| (0, ms(i))).collect();
        seen.extend((0..900).map(|i| (1, ms(if i < 20 { 200 } else { 5 }))));
        let bands = latency_by_rate(&seen, 20.0);
        assert_eq!(bands.len(), 2, "{bands:?}");
        assert_eq!(
            (bands[0].from, bands[0].below, bands[0].callbacks),
            (0.0, 250.0, 3)
        );
        assert_eq!(bands[0].p99_ms, 3.0);
        assert_eq!(
            (bands[1].from, bands[1].below, bands[1].callbacks),
            (250.0, 500.0, 900)
        );
        assert_eq!((bands[1].p50_ms, bands[1].p99_ms), (5.0, 200.0));
    }

    #[test]
    fn the_script_is_an_evening_with_its_bursts_and_its_missing_teams() {
        let s = script(2_000, 7);
        assert_eq!(s.events, script(2_000, 7).events, "same seed, same evening");
        assert!(s.events.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(s.events.iter().all(|e| (0..EVENING_MS).contains(&e.at)));
        let plans: Vec<&Event> = s.events.iter().filter(|e| e.kind == Kind::Plan).collect();
        // Every team with a plan in time publishes before 21:30, once.
        let published: HashSet<usize> = plans
            .iter()
            .filter(|e| e.at < NAG_AT)
            .map(|e| e.group)
            .collect();
        assert_eq!(published.len() + s.missing.len(), 2_000);
        assert!(published.is_disjoint(&s.missing));
        assert!((60..=140).contains(&s.missing.len()), "{}", s.missing.len());
        // No 加清单 before a plan exists.
        for e in s.events.iter().filter(|e| e.kind == Kind::AddTask) {
            let p = plans.iter().find(|p| p.group == e.group).expect("a plan");
            assert!(p.at < e.at);
        }
        // The busiest minute is a burst, about ten times 20:30–21:00's mean.
        let (minute, n) = s.peak_minute();
        assert!(minute == 31 || minute == 46, "{minute}");
        let window = plans
            .iter()
            .filter(|e| (min(30)..min(60)).contains(&e.at))
            .count() as f64
            / 30.0;
        let burst_plans = plans
            .iter()
            .filter(|e| (min(minute)..min(minute + 1)).contains(&e.at))
            .count() as f64;
        assert!(
            (8.0..=12.0).contains(&(burst_plans / window)),
            "{burst_plans} vs {window}"
        );
        assert!(n as f64 >= burst_plans);
    }

    #[test]
    fn the_scaled_clock_runs_at_its_speed_from_its_origin() {
        let c = ScaledClock {
            sim_start_ms: 1_000_000,
            real_origin_us: 5_000_000,
            speed: 20.0,
        };
        assert_eq!(c.sim_at(5_000_000), 1_000_000);
        assert_eq!(c.sim_at(6_000_000), 1_020_000, "one real second is twenty");
        assert_eq!(c.sim_at(4_000_000), 980_000, "before the origin, earlier");
        // Another process with the same numbers reads the same time.
        let spec = ReplicaSpec {
            config: String::new(),
            clock: c,
        };
        let back: ReplicaSpec =
            serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
        assert_eq!(back.clock, c);
    }

    #[test]
    fn the_evening_starts_at_eight_on_a_monday_in_shanghai() {
        use chrono::{Datelike, Timelike};
        let local = evening_start().with_timezone(&TZ);
        assert_eq!(local.weekday(), chrono::Weekday::Mon);
        assert_eq!((local.hour(), local.minute()), (20, 0));
        assert_eq!(NAG_AT, min(90), "plan_missing's default slot is 21:30");
        assert_eq!(
            crate::jobs::Job::PlanMissing.default_cron(),
            "0 30 21 * * Mon"
        );
    }
}
