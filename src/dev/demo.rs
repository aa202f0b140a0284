//! `liancun demo`: a whole 1250 week, played in this process with no
//! configuration at all.
//!
//! The real application runs on loopback with a temporary SQLite database and
//! a fake DingTalk ([`crate::dev::fake::dingtalk`]) as its platform. A village
//! group — a township admin, the team leader 张三, the members 李四 and 王五,
//! and four villagers — chats with the bot through signed robot callbacks
//! (webhook → parser → store → reply); a simulated clock walks from Monday
//! 08:00 to Sunday night, and at every quarter hour, and whenever a push falls
//! due, the scheduler ticks and the outbox worker delivers through the real
//! DingTalk sender to the fake. Nothing the bot says is canned here: every
//! reply is the webhook's answer and every push is what the fake DingTalk
//! received, at the simulated time it received it.
//!
//! The transcript goes to stdout ([`run`]) or into a string ([`run_to_string`],
//! for the tests). The demo's own narration (day headers, notes, the summary)
//! lives in this module; every sentence of the bot comes from `reply`.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::app::App;
use crate::clock::{Clock, FixedClock};
use crate::config::Settings;
use crate::dev::fake::dingtalk::{FakeDingtalk, Received};
use crate::domain::week::{IsoWeek, local_to_utc, utc_ms_to_local};
use crate::jobs::Job;
use crate::jobs::scheduler::Scheduler;
use crate::outbox::worker::{Delivered, Worker};
use crate::platform::dingtalk::sign;
use crate::store::{self, Db, StoreError};

/// The week played when `--week` is not given: 2026-W49, the week of the
/// product spec's example (南坞古村落保护项目方案对接 截止12月5日).
pub const DEFAULT_WEEK: (i32, u32, u32) = (2026, 11, 30);

#[derive(Debug, Clone, Default, clap::Args)]
pub struct DemoArgs {
    /// The week to play, named by its Monday [default: 2026-11-30]
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub week: Option<NaiveDate>,
    /// How many weeks to play back to back: 1, or 2 to see a task carried
    /// over into the next week [default: 1]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=2))]
    pub weeks: Option<u32>,
}

/// Plays the week and prints the transcript as it goes. The service's logs
/// stay off (they would interleave with the transcript) unless `RUST_LOG` is
/// set; then they go to stderr.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    if let Ok(filter) = std::env::var("RUST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_new(&filter).map_err(|e| {
                    anyhow::anyhow!("RUST_LOG = {filter:?} is not a log filter like \"info\": {e}")
                })?,
            )
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(false)
            .try_init();
    }
    play(args, true).await.map(|_| ())
}

/// Plays the week and returns the transcript (what [`run`] prints).
pub async fn run_to_string(args: DemoArgs) -> anyhow::Result<String> {
    play(args, false).await
}

const BOT: &str = "jiangshan";
const APP_KEY: &str = "dingdemoappkey";
const ROBOT_CODE: &str = "dingdemorobot";
const BOT_NAME: &str = "联村助手";
const TOWNSHIP: &str = "凤林镇";
const CONVERSATION: &str = "cidNanwuCunWuQun";
/// Transcript width: an 80-column terminal.
const WIDTH: usize = 80;
/// `周一 08:30  ` — the time column.
const TIME_COL: usize = 12;
/// Where continuation lines of a message start.
const INDENT: usize = TIME_COL + 2;

/// Someone in the village group.
#[derive(Debug)]
struct Person {
    id: &'static str,
    nick: &'static str,
    /// DingTalk's `isAdmin`: the group's owner or an admin.
    group_admin: bool,
}

const ADMIN: Person = Person {
    id: "guanli01",
    nick: "管理员",
    group_admin: true,
};
const ZHANGSAN: Person = Person {
    id: "zhangsan01",
    nick: "张三",
    group_admin: false,
};
const LISI: Person = Person {
    id: "lisi01",
    nick: "李四",
    group_admin: false,
};
const WANGWU: Person = Person {
    id: "wangwu01",
    nick: "王五",
    group_admin: false,
};
const XU: Person = Person {
    id: "xuguiying",
    nick: "徐桂英",
    group_admin: false,
};
const ZHOU: Person = Person {
    id: "zhoujianguo",
    nick: "周建国",
    group_admin: false,
};
const MAO: Person = Person {
    id: "maozhiqiang",
    nick: "毛志强",
    group_admin: false,
};
const ZHENG: Person = Person {
    id: "zhengxiulan",
    nick: "郑秀兰",
    group_admin: false,
};
const ROSTER: [&Person; 8] = [&ADMIN, &ZHANGSAN, &LISI, &WANGWU, &XU, &ZHOU, &MAO, &ZHENG];

/// The days of the week in the transcript's words, and their 1250 step.
fn day_name(d: Weekday) -> (&'static str, &'static str) {
    match d {
        Weekday::Mon => ("周一", "排清单"),
        Weekday::Tue => ("周二", "聚服务"),
        Weekday::Wed => ("周三", ""),
        Weekday::Thu => ("周四", ""),
        Weekday::Fri => ("周五", "晒成效"),
        Weekday::Sat => ("周六", ""),
        Weekday::Sun => ("周日", "必清零"),
    }
}

/// The jobs in the demo's words (narration only; what they post is `reply`'s).
fn job_label(job: Job) -> &'static str {
    match job {
        Job::PlanReminder => "排清单提醒",
        Job::PlanMissing => "清单未发布检查",
        Job::ServiceDay => "聚服务清单",
        Job::ResultsReminder => "晒成效提醒",
        Job::WeeklyAiring => "每周晾晒",
        Job::Clearance => "清零检查",
        Job::OverdueScan => "逾期扫描",
        Job::MonthlyRanking => "月度排名",
        Job::ProjectReminder => "难点项目提醒",
    }
}

async fn play(args: DemoArgs, echo: bool) -> anyhow::Result<String> {
    let monday = match args.week {
        Some(d) => d,
        None => {
            let (y, m, d) = DEFAULT_WEEK;
            NaiveDate::from_ymd_opt(y, m, d).context("the default week is a valid date")?
        }
    };
    if monday.weekday() != Weekday::Mon {
        let (name, _) = day_name(monday.weekday());
        let back = monday - Duration::days(i64::from(monday.weekday().num_days_from_monday()));
        bail!("--week {monday} is a {name}; give the Monday of the week, e.g. --week {back}");
    }
    let dir = std::env::temp_dir().join(format!("liancun-demo-{:016x}", fastrand::u64(..)));
    std::fs::create_dir_all(&dir).with_context(|| {
        format!(
            "cannot create the demo's temporary directory {}",
            dir.display()
        )
    })?;
    let weeks = args.weeks.unwrap_or(1);
    if !(1..=2).contains(&weeks) {
        bail!("--weeks {weeks}: the demo plays 1 or 2 weeks");
    }
    let played = play_in(&dir, monday, weeks, echo).await;
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        // The transcript is still good; say where the leftovers are.
        eprintln!("note: could not remove {}: {e}", dir.display());
    }
    played
}

async fn play_in(dir: &Path, monday: NaiveDate, weeks: u32, echo: bool) -> anyhow::Result<String> {
    let secret = format!("demo-app-secret-{:016x}", fastrand::u64(..));
    let admin_token = format!("demo-admin-token-{:016x}", fastrand::u64(..));
    let fake = FakeDingtalk::new(APP_KEY, &secret);
    // The org directory: how DingTalk shows a mention of these people.
    for p in ROSTER {
        fake.add_member(p.id, p.nick);
    }
    let fake_addr = fake
        .spawn()
        .await
        .context("cannot start the fake DingTalk on loopback")?;
    let db_path = dir.join("demo.db");
    let settings = demo_settings(&db_path, fake_addr, &secret, &admin_token)?;
    let tz = settings.tz()?;
    let start = local_to_utc(tz, monday.and_time(hm(8, 0)));
    let clock = FixedClock::at(start);
    fake.set_now_ms(start.timestamp_millis());

    let app = App::build(settings, Arc::new(clock.clone()))
        .await
        .context("the application did not start")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on loopback")?;
    let app_addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = app.router();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });

    let mut names: Vec<(String, String)> = ROSTER
        .iter()
        .map(|p| (p.id.to_string(), p.nick.to_string()))
        .collect();
    // Longest ids first, so no id is replaced inside a longer one.
    names.sort_by_key(|(id, _)| std::cmp::Reverse(id.len()));
    let mut sim = Sim {
        tz,
        monday,
        weeks,
        clock,
        fake,
        scheduler: app.scheduler(),
        worker: app.state.worker.clone(),
        db: app.state.db.clone(),
        settings: Arc::clone(&app.state.settings),
        http: reqwest::Client::new(),
        app_url: format!("http://{app_addr}"),
        fake_url: format!("http://{fake_addr}"),
        admin_token,
        out: Transcript {
            text: String::new(),
            echo,
            echo_error: None,
            day: None,
            names,
        },
        seen: 0,
        seq: 0,
        callbacks: 0,
        duplicates: 0,
    };
    let no_holiday_data: Vec<i32> = {
        let cal = app
            .state
            .jobs
            .calendar
            .read()
            .map_err(|_| anyhow::anyhow!("the holiday calendar lock is poisoned"))?;
        let last_day = monday + Duration::days(7 * i64::from(weeks) - 1);
        let mut years = vec![monday.year(), last_day.year()];
        years.dedup();
        years.into_iter().filter(|y| !cal.has_year(*y)).collect()
    };
    sim.intro(&db_path, &no_holiday_data);
    let played = async {
        script(&mut sim).await?;
        sim.summary().await
    }
    .await;
    let _ = stop.send(());
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "demo server stopped with an error"),
        Err(e) => tracing::warn!(error = %e, "demo server task failed"),
    }
    app.state.db.close().await;
    played?;
    match sim.out.echo_error {
        Some(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("cannot print the transcript"))
        }
        _ => Ok(sim.out.text),
    }
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

/// Defaults, with a temporary database, the fake DingTalk as both API bases,
/// and the scheduler and outbox stepped by the demo instead of running loops.
fn demo_settings(
    db_path: &Path,
    fake: SocketAddr,
    secret: &str,
    admin_token: &str,
) -> anyhow::Result<Settings> {
    let db = db_path.display().to_string().replace('\\', "/");
    Settings::from_toml_overrides(&format!(
        r#"
listen = "127.0.0.1:0"
database_url = "sqlite://{db}"
log = "warn"
admin_token = "{admin_token}"

[dingtalk]
api_base = "http://{fake}"
oapi_base = "http://{fake}"

[scheduler]
enabled = false
fanout_spread_secs = 0

[outbox]
enabled = false

[[bots]]
name = "{BOT}"
platform = "dingtalk"
display_names = ["{BOT_NAME}"]
app_key = "{APP_KEY}"
app_secret = "{secret}"
robot_code = "{ROBOT_CODE}"
admins = ["{admin}"]
"#,
        admin = ADMIN.id
    ))
    .context("the demo's settings are invalid")
}

/// The week, step by step. Times are local (Asia/Shanghai); `expect` is a
/// piece of the answer the step must get, so a regression stops the demo.
async fn script(sim: &mut Sim) -> anyhow::Result<()> {
    let saturday = sim.monday + Duration::days(5);
    let sat = format!("{}月{}日", saturday.month(), saturday.day());

    // ── Monday: bind the group, set the roles, publish the list.
    sim.at(0, 8, 0).await?;
    sim.say(&ADMIN, "绑定 凤林镇 南坞村 南坞服务团", "已绑定")
        .await?;
    sim.at(0, 8, 2).await?;
    sim.say(&ADMIN, "设团长 @张三", "已设团长").await?;
    sim.at(0, 8, 5).await?;
    sim.say(&ZHANGSAN, "设团员 @李四 @王五", "已设团员").await?;
    sim.at(0, 8, 10).await?;
    sim.register_township_admin(&ADMIN).await?;
    sim.at(0, 20, 30).await?;
    let plan = format!(
        "排清单\n\
         1. 苗青头村插花田政策处理 @李四 周二 红\n\
         2、3组王大妈医保代办 @李四 周三前 黄\n\
         3) 走访3组10户农户 @王五 周四\n\
         4. 南坞古村落保护项目方案对接 截止{sat} 橙"
    );
    sim.say(&ZHANGSAN, &plan, "已发布本周清单").await?;

    // ── Tuesday: out in the village.
    sim.at(1, 9, 40).await?;
    sim.say(
        &LISI,
        "服务 #1 到苗青头村和3户农户商量插花田流转，2户同意",
        "已记录服务（关联 #1）",
    )
    .await?;
    sim.at(1, 10, 20).await?;
    sim.say(
        &WANGWU,
        "走访 张大爷家（3组） 反映村口路灯坏了",
        "已记录走访",
    )
    .await?;
    sim.at(1, 15, 10).await?;
    sim.say(
        &XU,
        "诉求 村口路灯坏了一个礼拜，晚上走路看不见",
        "收到你的诉求",
    )
    .await?;
    sim.at(1, 15, 20).await?;
    sim.say(&ZHANGSAN, "指派 #5 @王五", "已指派给").await?;
    sim.at(1, 16, 30).await?;
    sim.say(&LISI, "服务 帮2组毛大伯代办残疾人补贴申请", "已记录服务")
        .await?;

    // ── Wednesday: the red task is overdue since midnight.
    sim.at(2, 9, 30).await?;
    sim.say(
        &LISI,
        "完成 #2 医保材料已代办提交，王大妈拿到了回执",
        "已销号 #2",
    )
    .await?;
    sim.at(2, 16, 0).await?;
    sim.say(
        &WANGWU,
        "延期 #3 周六 3组还有4户在外务工，周末回村再上门",
        "已延期",
    )
    .await?;

    // ── Thursday: the leader closes the red task, late; a villager looks.
    sim.at(3, 9, 10).await?;
    sim.say(
        &ZHANGSAN,
        "完成 #1 政策处理到位，3户农户都签了流转协议",
        "超过截止时间完成",
    )
    .await?;
    sim.at(3, 9, 20).await?;
    sim.say(&ZHOU, "清单", "本周清单").await?;

    // ── Friday: results, the airing, the villagers rate.
    sim.at(4, 20, 10).await?;
    sim.say(&XU, "满意", "感谢评价").await?;
    sim.at(4, 20, 15).await?;
    sim.say(&ZHOU, "基本满意", "感谢评价").await?;
    sim.at(4, 20, 20).await?;
    let id = sim
        .say_id(&MAO, "评价 4 路灯的事有人管了，希望早点修好", "平均")
        .await?;
    sim.redeliver(&MAO, "评价 4 路灯的事有人管了，希望早点修好", &id)
        .await?;
    sim.at(4, 20, 25).await?;
    sim.say(&LISI, "评价 5", "不能给本团评价").await?;
    sim.at(4, 20, 30).await?;
    sim.say(&ZHENG, "路灯什么时候修啊", "帮助").await?;
    sim.at(4, 20, 32).await?;
    sim.say(&ZHENG, "帮助 评价", "评价").await?;
    sim.at(4, 20, 35).await?;
    sim.say(&ZHENG, "评价 5 服务团办事实在", "平均").await?;

    // ── Saturday: closing the rest.
    sim.at(5, 9, 0).await?;
    sim.say(&WANGWU, "完成 #3 3组10户全部走访，收集意见6条", "已销号 #3")
        .await?;
    if sim.weeks == 1 {
        sim.at(5, 10, 0).await?;
        sim.say(
            &ZHANGSAN,
            "完成 #4 方案已与镇文旅办对接，下周报审",
            "已销号 #4",
        )
        .await?;
    }
    sim.at(5, 16, 0).await?;
    sim.say(&ZHANGSAN, "完成 #5 已请电工换了路灯，晚上亮了", "已销号 #5")
        .await?;
    sim.at(5, 16, 20).await?;
    sim.say(&XU, "评价 5 路灯修好了，谢谢服务团", "已更新")
        .await?;

    // ── Sunday: the 清零 check at 20:00 (with two weeks, #4 is still
    // open: it is listed, and carried over), then the week runs out.
    if sim.weeks == 2 {
        second_week(sim).await?;
    }
    let end = local_to_utc(
        sim.tz,
        (sim.monday + Duration::days(7 * i64::from(sim.weeks))).and_time(NaiveTime::MIN),
    ) - Duration::seconds(1);
    sim.advance_to(end).await?;
    Ok(())
}

/// The second week (`--weeks 2`): #4, left open in the first, is carried
/// into Monday's list, postponed and closed; a villager's request is
/// assigned and closed; the airing shows the first week's rating.
async fn second_week(sim: &mut Sim) -> anyhow::Result<()> {
    // ── Monday: the reminder and 清单 show #4 carried over; the new plan adds to it.
    sim.at(7, 9, 0).await?;
    sim.say(&ZHOU, "清单", "结转").await?;
    sim.at(7, 20, 30).await?;
    sim.say(
        &ZHANGSAN,
        "排清单\n\
         1. 3组路灯线路检修 @王五 周三 黄\n\
         2. 走访5组独居老人 @李四 周五",
        "已发布本周清单",
    )
    .await?;

    // ── Tuesday: #4 gets a new deadline; a villager raises a request.
    sim.at(8, 10, 0).await?;
    sim.say(&WANGWU, "延期 #6 周二 电工还没空", "没有延期")
        .await?;
    sim.at(8, 10, 2).await?;
    sim.say(&ZHANGSAN, "延期 #4 周四 文旅办周四开会审方案", "已延期")
        .await?;
    sim.at(8, 14, 0).await?;
    sim.say(&MAO, "诉求 5组水渠堵了，田里排不出水", "收到你的诉求")
        .await?;
    sim.at(8, 14, 30).await?;
    sim.say(&ZHANGSAN, "指派 #8 @李四", "已指派给").await?;

    // ── Wednesday and Thursday: closing, #4 included.
    sim.at(9, 11, 0).await?;
    sim.say(&WANGWU, "完成 #6 线路接头老化，已请电工更换", "已销号 #6")
        .await?;
    sim.at(9, 16, 0).await?;
    sim.say(&LISI, "完成 #8 叫上3个村民把水渠清通了", "已销号 #8")
        .await?;
    sim.at(10, 15, 0).await?;
    sim.say(
        &ZHANGSAN,
        "完成 #4 方案经镇文旅办审议通过，报县里备案",
        "已销号 #4",
    )
    .await?;

    // ── Friday: the last task, the airing, this week's ratings.
    sim.at(11, 11, 0).await?;
    sim.say(&LISI, "完成 #7 5组6位独居老人都上门看过了", "已销号 #7")
        .await?;
    sim.at(11, 20, 10).await?;
    sim.say(&MAO, "评价 5 水渠当天就通了", "感谢评价").await?;
    sim.at(11, 20, 20).await?;
    sim.say(&ZHENG, "满意", "感谢评价").await?;
    sim.at(11, 20, 30).await?;
    sim.say(&XU, "评价 4", "平均").await?;
    Ok(())
}

/// The transcript being written.
struct Transcript {
    text: String,
    echo: bool,
    /// Why printing stopped, if it did.
    echo_error: Option<std::io::Error>,
    /// The day of the last header.
    day: Option<NaiveDate>,
    /// (user id, name), longest id first.
    names: Vec<(String, String)>,
}

impl Transcript {
    fn line(&mut self, s: &str) {
        use std::io::Write as _;
        let s = s.trim_end();
        self.text.push_str(s);
        self.text.push('\n');
        if self.echo
            && let Err(e) = writeln!(std::io::stdout().lock(), "{s}")
        {
            // A closed pipe (`liancun demo | head`) ends the printing, not the demo.
            self.echo = false;
            self.echo_error = Some(e);
        }
    }

    /// `@userId` → `@名字`, as DingTalk shows mentions.
    fn name_of<'a>(&'a self, id: &'a str) -> &'a str {
        self.names
            .iter()
            .find(|(i, _)| i == id)
            .map_or(id, |(_, n)| n.as_str())
    }

    fn day_header(&mut self, at: NaiveDateTime) {
        let d = at.date();
        if self.day == Some(d) {
            return;
        }
        self.day = Some(d);
        let (name, step) = day_name(d.weekday());
        let mut head = format!("── {}月{}日 {name}", d.month(), d.day());
        if !step.is_empty() {
            head.push_str(&format!(" · {step} "));
        } else {
            head.push(' ');
        }
        let fill = WIDTH.saturating_sub(width(&head)).min(40);
        self.line("");
        self.line(&format!("{head}{}", "─".repeat(fill)));
    }

    /// One message: `周一 08:30  who: text`, continuation lines indented.
    fn message(&mut self, at: Option<NaiveDateTime>, who: &str, text: &str) {
        self.block(at, &format!("{who}: "), text);
    }

    /// A note of the demo itself (not something said in the group).
    fn note(&mut self, at: Option<NaiveDateTime>, text: &str) {
        self.block(at, "※ ", text);
    }

    fn block(&mut self, at: Option<NaiveDateTime>, head: &str, text: &str) {
        let column = match at {
            Some(t) => {
                self.day_header(t);
                stamp(t)
            }
            None => String::new(),
        };
        // Pad by display width: 周一 takes four columns, not two.
        let pad = TIME_COL.saturating_sub(width(&column));
        let lead = format!("{column}{}{head}", " ".repeat(pad));
        // Printed as given: callers pass what the group reads (the fake's
        // rendering), so a raw id that reached the group shows here too.
        let mut first = true;
        for logical in text.lines() {
            let prefix = if first {
                lead.clone()
            } else {
                " ".repeat(INDENT)
            };
            first = false;
            for l in wrap(&prefix, logical, WIDTH, INDENT) {
                self.line(&l);
            }
        }
        if first {
            self.line(&lead);
        }
    }
}

fn stamp(t: NaiveDateTime) -> String {
    let (name, _) = day_name(t.weekday());
    format!("{name} {}", t.format("%H:%M"))
}

/// Display columns of `c` on a terminal: CJK, full-width forms and emoji take
/// two, combining marks and variation selectors none.
fn char_width(c: char) -> usize {
    let u = u32::from(c);
    match u {
        0..=0x1F | 0x7F..=0x9F => 0,
        0x200B..=0x200F | 0xFE00..=0xFE0F | 0x0300..=0x036F | 0x20D0..=0x20FF => 0,
        0x1100..=0x115F
        | 0x231A..=0x231B
        | 0x23E9..=0x23F3
        | 0x2600..=0x27BF
        | 0x2B50..=0x2B55
        | 0x2E80..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1FAFF
        | 0x20000..=0x3FFFD => 2,
        _ => 1,
    }
}

fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Punctuation that never ends a line, and that never starts one.
const OPENING: &str = "（【(“《「‘";
const CLOSING: &str = "）】)”》」’，。：；、！？,.:;!?";

/// Wraps one line to `max` columns: the first line starts with `prefix`, the
/// rest with `indent` spaces. Runs of ASCII stay whole, an opening bracket
/// stays with what follows it and other punctuation with what precedes it.
fn wrap(prefix: &str, text: &str, max: usize, indent: usize) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    for c in text.chars() {
        let last = tokens.last().and_then(|t| t.chars().last());
        let glue = last.is_some_and(|p| {
            OPENING.contains(p)
                || CLOSING.contains(c)
                || char_width(c) == 0
                || (c.is_ascii_graphic() && p.is_ascii_graphic())
        });
        match tokens.last_mut() {
            Some(t) if glue => t.push(c),
            _ => tokens.push(c.to_string()),
        }
    }
    let mut out = Vec::new();
    let mut cur = prefix.to_string();
    let mut cur_w = width(prefix);
    let mut empty = true;
    for tok in tokens {
        let w = width(&tok);
        if !empty && cur_w + w > max {
            out.push(std::mem::take(&mut cur));
            cur = " ".repeat(indent);
            cur_w = indent;
            empty = true;
            if tok == " " {
                continue;
            }
        }
        if w > max.saturating_sub(cur_w) {
            // A token longer than a line: cut it by characters.
            for c in tok.chars() {
                let cw = char_width(c);
                if !empty && cur_w + cw > max {
                    out.push(std::mem::take(&mut cur));
                    cur = " ".repeat(indent);
                    cur_w = indent;
                }
                cur.push(c);
                cur_w += cw;
                empty = false;
            }
            continue;
        }
        cur.push_str(&tok);
        cur_w += w;
        empty = false;
    }
    out.push(cur);
    out
}

/// What a member reads (the fake's [`Received::shown`]), markdown as a
/// phone shows it: no heading marks.
fn rendered(r: &Received) -> String {
    if r.msgtype != "markdown" {
        return r.shown.clone();
    }
    r.shown
        .lines()
        .map(|l| {
            let t = l.trim_start_matches('#');
            if t.len() != l.len() {
                t.trim_start()
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The running demo: the app's parts, the fake, the clock, the transcript.
struct Sim {
    tz: Tz,
    monday: NaiveDate,
    /// Weeks played: 1 or 2.
    weeks: u32,
    clock: FixedClock,
    fake: FakeDingtalk,
    scheduler: Scheduler,
    worker: Worker,
    db: Db,
    settings: Arc<Settings>,
    http: reqwest::Client,
    app_url: String,
    fake_url: String,
    admin_token: String,
    out: Transcript,
    /// How many of the fake's received messages are in the transcript.
    seen: usize,
    seq: u64,
    callbacks: usize,
    duplicates: usize,
}

/// Every quarter hour: the overdue scan's slots, and a tick at least as often
/// as any default schedule needs.
const STEP_MS: i64 = 15 * 60_000;

impl Sim {
    fn local(&self, ms: i64) -> NaiveDateTime {
        utc_ms_to_local(self.tz, ms)
    }

    fn now_local(&self) -> NaiveDateTime {
        self.local(self.clock.now_ms())
    }

    fn set_now(&self, ms: i64) {
        self.clock
            .set(DateTime::from_timestamp_millis(ms).unwrap_or_default());
        self.fake.set_now_ms(ms);
    }

    fn intro(&mut self, db_path: &Path, no_holiday_data: &[i32]) {
        let week = IsoWeek::of(self.monday);
        let sunday = self.monday + Duration::days(7 * i64::from(self.weeks) - 1);
        let (span, weeks) = if self.weeks == 2 {
            ("两周", format!("{week} 和 {}", week.next()))
        } else {
            ("一周", week.to_string())
        };
        let mut lines = vec![
            format!(
                "联村助手 demo：{TOWNSHIP} 南坞村 南坞服务团的{span}（{weeks}，{}月{}日—{}月{}日）",
                self.monday.month(),
                self.monday.day(),
                sunday.month(),
                sunday.day()
            ),
            "· 全走真实代码：回调 → 解析 → 存储 → 答复；定时任务 → 发件箱 → 钉钉发送端".to_string(),
            format!(
                "· 钉钉是本机上的假服务器，时钟是模拟的（{}），几秒钟走完一周",
                self.tz
            ),
            format!("· 数据在临时 SQLite 库，结束后删除：{}", db_path.display()),
            "· 团长 张三，团员 李四、王五；村民 徐桂英、周建国、毛志强、郑秀兰".to_string(),
            "· 换一周：liancun demo --week YYYY-MM-DD（那周的周一）；连演两周：--weeks 2"
                .to_string(),
        ];
        for y in no_holiday_data {
            lines.push(format!(
                "· {y} 年还没有法定节假日数据（国务院通知未发布或未录入），按普通周末排"
            ));
        }
        for l in lines {
            for w in wrap("", &l, WIDTH, 2) {
                self.out.line(&w);
            }
        }
    }

    /// Walks the clock to `day` (0 = Monday) at `h:m` local.
    async fn at(&mut self, day: i64, h: u32, m: u32) -> anyhow::Result<()> {
        let t = local_to_utc(
            self.tz,
            (self.monday + Duration::days(day)).and_time(hm(h, m)),
        );
        self.advance_to(t).await
    }

    /// Moves the clock forward to `target`, stopping at every quarter hour and
    /// whenever a push falls due; at each stop the scheduler ticks and the
    /// outbox delivers, as the service's loops would.
    async fn advance_to(&mut self, target: DateTime<Utc>) -> anyhow::Result<()> {
        let target = target.timestamp_millis();
        let mut now = self.clock.now_ms();
        if target < now {
            bail!(
                "the demo script goes back in time: {} after {}",
                self.local(target),
                self.local(now)
            );
        }
        if now == target && self.seq == 0 {
            // The very first moment: let the scheduler look once.
            self.step().await?;
        }
        while now < target {
            let mut next = ((now / STEP_MS) + 1) * STEP_MS;
            next = next.min(target);
            let due = self
                .db
                .read(|tx| Box::pin(async move { store::outbox::next_pending_at(tx).await }))
                .await
                .context("cannot read the outbox")?;
            if let Some(due) = due.filter(|d| *d > now && *d < next) {
                next = due;
            }
            self.set_now(next);
            now = next;
            self.step().await?;
        }
        Ok(())
    }

    /// One look at the clock: tick the scheduler, deliver what is due, and
    /// put what the fake DingTalk received into the transcript.
    async fn step(&mut self) -> anyhow::Result<()> {
        let firings = self
            .scheduler
            .tick()
            .await
            .context("the scheduler's tick failed")?;
        for f in &firings {
            let at = self.local(f.fire_at.timestamp_millis());
            match f.status.as_str() {
                "done"
                    if f.enqueued == 0
                        && f.job != Job::OverdueScan
                        && f.job != Job::ProjectReminder =>
                {
                    self.out.note(
                        Some(at),
                        &format!(
                            "定时任务「{}」({}) 已运行，没有要发的消息",
                            job_label(f.job),
                            f.job
                        ),
                    )
                }
                "done" => {}
                // The first look at the clock finds the 15-minute scan's
                // earlier slot superseded by the current one: nothing to tell.
                "skipped" if f.job == Job::OverdueScan => {}
                "failed" => bail!(
                    "the scheduled job {} of {} failed (see job_firings in the demo database)",
                    f.job,
                    at
                ),
                other => self.out.note(
                    Some(at),
                    &format!("定时任务「{}」({})：{other}", job_label(f.job), f.job),
                ),
            }
        }
        // As the worker's loop does: again while a step sent something, so
        // the 1:1 copies queued by a sent alert go out with it.
        let mut delivered = Delivered::default();
        for _ in 0..4 {
            let d = self
                .worker
                .deliver_due()
                .await
                .context("the outbox worker failed")?;
            delivered.sent += d.sent;
            delivered.retried += d.retried;
            delivered.throttled += d.throttled;
            delivered.dead += d.dead;
            if d.total() == 0 {
                break;
            }
        }
        if delivered.dead > 0 {
            let dead = self
                .db
                .read(|tx| Box::pin(async move { store::outbox::dead_letters(tx, 5, 0).await }))
                .await?;
            let why: Vec<String> = dead
                .iter()
                .map(|d| {
                    format!(
                        "{}: {}",
                        d.dedupe_key,
                        d.last_error.as_deref().unwrap_or("?")
                    )
                })
                .collect();
            bail!("a push could not be delivered: {}", why.join("; "));
        }
        self.collect_pushes();
        Ok(())
    }

    fn collect_pushes(&mut self) {
        let all = self.fake.received();
        for r in all.iter().skip(self.seen) {
            let at = self.local(r.at_ms);
            let who = match r.target.strip_prefix("user:") {
                Some(ids) => {
                    let names: Vec<&str> = ids.split(',').map(|i| self.out.name_of(i)).collect();
                    format!("{BOT_NAME} → {}（私信）", names.join("、"))
                }
                None => format!("{BOT_NAME}（推送）"),
            };
            let text = rendered(r);
            self.out.message(Some(at), &who, &text);
        }
        self.seen = all.len();
    }

    /// A DingTalk callback body for `who` saying `text`, as the platform sends it.
    fn callback(&self, msg_id: &str, who: &Person, text: &str) -> Value {
        let mut at_users = vec![json!({"dingtalkId": "$:LWCP_v1:$demobot"})];
        for p in ROSTER {
            if text.contains(&format!("@{}", p.nick)) {
                at_users
                    .push(json!({"dingtalkId": format!("$:LWCP_v1:${}", p.id), "staffId": p.id}));
            }
        }
        let now = self.clock.now_ms();
        json!({
            "msgtype": "text",
            "text": {"content": format!("@{BOT_NAME} {text}")},
            "msgId": msg_id,
            "createAt": now,
            "conversationType": "2",
            "conversationId": CONVERSATION,
            "conversationTitle": "南坞村村务群",
            "senderId": format!("$:LWCP_v1:${}", who.id),
            "senderNick": who.nick,
            "senderStaffId": who.id,
            "senderCorpId": "dingDEMOCORP",
            "chatbotUserId": "$:LWCP_v1:$demobot",
            "chatbotCorpId": "dingDEMOCORP",
            "robotCode": ROBOT_CODE,
            "isAdmin": who.group_admin,
            "isInAtList": true,
            "atUsers": at_users,
            "sessionWebhook": format!("{}/robot/sendBySession?session={msg_id}", self.fake_url),
            "sessionWebhookExpiredTime": now + 5_400_000,
        })
    }

    /// Posts a signed callback; returns the bot's answer as the group reads it.
    async fn post(&mut self, msg_id: &str, who: &Person, text: &str) -> anyhow::Result<String> {
        let body = self.callback(msg_id, who, text).to_string();
        let secret = self
            .settings
            .bot(BOT)
            .and_then(|b| b.app_secret.as_ref())
            .context("the demo bot has no secret")?
            .expose()
            .to_string();
        let ts = self.clock.now_ms().to_string();
        let resp = self
            .http
            .post(format!("{}/webhook/dingtalk/{BOT}", self.app_url))
            .header("content-type", "application/json")
            .header("sign", sign::sign(&ts, &secret))
            .header("timestamp", ts)
            .body(body)
            .send()
            .await
            .with_context(|| format!("{}'s message {text:?} could not be posted", who.nick))?;
        let status = resp.status();
        let raw = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!(
                "{}'s message {text:?} was refused: HTTP {status} {raw}",
                who.nick
            );
        }
        self.callbacks += 1;
        let v: Value = serde_json::from_str(&raw)
            .with_context(|| format!("the answer to {text:?} is not JSON: {raw}"))?;
        let answer = v["text"]["content"]
            .as_str()
            .with_context(|| format!("the answer to {text:?} has no text: {raw}"))?;
        let at: Vec<String> = v["at"]["atUserIds"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Ok(self.fake.shown(answer, &at))
    }

    /// `who` says `text`; the answer must contain `expect`.
    async fn say(&mut self, who: &Person, text: &str, expect: &str) -> anyhow::Result<()> {
        self.say_id(who, text, expect).await.map(|_| ())
    }

    /// [`Self::say`], returning the message id (to deliver it again).
    async fn say_id(&mut self, who: &Person, text: &str, expect: &str) -> anyhow::Result<String> {
        self.seq += 1;
        let id = format!("msgDemo{:04}", self.seq);
        let at = self.now_local();
        self.out.message(Some(at), who.nick, text);
        let answer = self.post(&id, who, text).await?;
        self.out.message(None, BOT_NAME, &answer);
        if !answer.contains(expect) {
            bail!(
                "the step at {} failed: {}'s {text:?} should have been answered with …{expect}…, got: {answer}",
                stamp(at),
                who.nick
            );
        }
        Ok(id)
    }

    /// DingTalk delivers the same message again (it did not see the answer in
    /// time): stored once, answered the same.
    async fn redeliver(&mut self, who: &Person, text: &str, msg_id: &str) -> anyhow::Result<()> {
        let before = self.counts().await?;
        let first = {
            // The first answer, as the webhook saved it.
            let id = msg_id.to_string();
            self.db
                .read(|tx| {
                    Box::pin(async move { store::inbound::saved_reply(tx, "dingtalk", &id).await })
                })
                .await?
        };
        let at = self.now_local();
        self.out.note(
            Some(at),
            &format!(
                "钉钉没收到回执，把{}的这条消息又投递了一次（同一 msgId）",
                who.nick
            ),
        );
        let again = self.post(msg_id, who, text).await?;
        self.out.message(None, BOT_NAME, &again);
        let after = self.counts().await?;
        let first = first
            .and_then(|s| serde_json::from_str::<crate::reply::Reply>(&s).ok())
            .map(|r| {
                let (text, at) = crate::platform::dingtalk::render_text(&r);
                self.fake.shown(&text, &at)
            });
        if first.as_deref() != Some(again.as_str()) || before != after {
            bail!(
                "a repeated delivery of msgId {msg_id} was not answered the same or stored something: {first:?} vs {again:?}"
            );
        }
        self.duplicates += 1;
        self.out
            .note(None, "答复与第一次相同，库里没有多出任何记录");
        Ok(())
    }

    async fn counts(&self) -> anyhow::Result<BTreeMap<&'static str, i64>> {
        self.db
            .read(|tx| Box::pin(async move { store::table_counts(tx).await }))
            .await
            .map_err(|e: StoreError| anyhow::anyhow!("cannot count the demo's rows: {e}"))
    }

    /// Registers `who` as the township's admin through the admin API, so
    /// overdue 红/橙 tasks are escalated to them.
    async fn register_township_admin(&mut self, who: &Person) -> anyhow::Result<()> {
        let townships = self
            .db
            .read(|tx| Box::pin(async move { store::jobs::townships(tx).await }))
            .await?;
        let Some((id, _, _)) = townships.into_iter().find(|(_, n, _)| n == TOWNSHIP) else {
            bail!("绑定 did not create the township {TOWNSHIP}");
        };
        let path = format!("/api/v1/townships/{id}/admins");
        let resp = self
            .http
            .post(format!("{}{path}", self.app_url))
            .bearer_auth(&self.admin_token)
            .json(&json!({"platform": "dingtalk", "user_id": who.id, "name": who.nick}))
            .send()
            .await
            .context("the admin API could not be reached")?;
        let status = resp.status();
        if !status.is_success() {
            let raw = resp.text().await.unwrap_or_default();
            bail!("POST {path} was refused: HTTP {status} {raw}");
        }
        let at = self.now_local();
        self.out.note(
            Some(at),
            &format!(
                "镇组织办在管理后台（POST {path}）把「{}」登记为{TOWNSHIP}管理员：逾期的红/橙事项会私信给他",
                who.nick
            ),
        );
        Ok(())
    }

    /// What the week came to, and where each figure comes from.
    async fn summary(&mut self) -> anyhow::Result<()> {
        let pushes = self.fake.received();
        let direct = pushes
            .iter()
            .filter(|r| r.target.starts_with("user:"))
            .count();
        // The same text to the same chat twice on one day would be a double send
        // (nags and overdue alerts are once a day per task by design).
        let mut seen: HashMap<(String, String, NaiveDate), usize> = HashMap::new();
        for r in &pushes {
            *seen
                .entry((r.target.clone(), r.text.clone(), self.local(r.at_ms).date()))
                .or_default() += 1;
        }
        let doubled: usize = seen.values().map(|n| n - 1).sum();
        let (pending, sent, dead) = self
            .db
            .read(|tx| Box::pin(async move { store::outbox::depth(tx).await }))
            .await?;
        if usize::try_from(sent).ok() != Some(pushes.len()) || pending != 0 || dead != 0 {
            bail!(
                "the outbox and the fake DingTalk disagree: outbox sent {sent}, pending {pending}, dead {dead}; the fake received {}",
                pushes.len()
            );
        }
        if doubled > 0 {
            bail!("{doubled} push(es) reached the group twice");
        }
        let counts = self.counts().await?;
        let mut per_job = Vec::new();
        for job in Job::ALL {
            let f = self
                .db
                .read(move |tx| {
                    Box::pin(async move { store::jobs::firings(tx, job.as_str()).await })
                })
                .await?;
            let runs = f.iter().filter(|(_, _, s, _)| s == "done").count();
            let other = f.len() - runs;
            let enqueued: i64 = f.iter().map(|(_, _, _, n)| n).sum();
            let cron = self
                .settings
                .schedule
                .get(job)
                .map_or_else(|| "(off)".to_string(), |s| s.expr().to_string());
            per_job.push((job, cron, runs, other, enqueued));
        }
        let rejected = self.fake.rejected();

        let o = &mut self.out;
        o.line("");
        let title = if self.weeks == 2 {
            "两周小结"
        } else {
            "本周小结"
        };
        o.line(&format!("── {title} {}", "─".repeat(40)));
        o.line(&format!(
            "群里 @{BOT_NAME} 的消息：{} 条，每条都有答复（其中 {} 条是钉钉重复投递，只记一次）",
            self.callbacks, self.duplicates
        ));
        o.line(&format!(
            "机器人推送：{} 条（群里 {}，私信 {}），重复推送 {doubled} 条",
            pushes.len(),
            pushes.len() - direct,
            direct
        ));
        o.line(&format!(
            "记下的：清单事项 {}，服务 {}，走访 {}，诉求 {}，村民评价 {}",
            counts.get("tasks").copied().unwrap_or(0),
            counts.get("services").copied().unwrap_or(0),
            counts.get("visits").copied().unwrap_or(0),
            counts.get("requests").copied().unwrap_or(0),
            counts.get("ratings").copied().unwrap_or(0),
        ));
        o.line("定时任务（job, 默认 cron, 运行次数, 写入发件箱的推送）：");
        for (job, cron, runs, other, enqueued) in per_job {
            let extra = if other > 0 {
                format!("，另有 {other} 次跳过")
            } else {
                String::new()
            };
            o.line(&format!(
                "  {job:<17}{cron:<17}{runs:>4} 次  推送 {enqueued}{extra}"
            ));
        }
        o.line(&format!(
            "发件箱：已发送 {sent}，待发 {pending}，死信 {dead}"
        ));
        if !rejected.is_empty() {
            let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
            for (code, _) in &rejected {
                *by_code.entry(code.as_str()).or_default() += 1;
            }
            let list: Vec<String> = by_code.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
            let l = if by_code.keys().all(|c| *c == "InvalidAuthentication") {
                format!(
                    "假钉钉拒绝过 {} 次推送（InvalidAuthentication：模拟时钟一跳几小时，access_token 在假钉钉那边已过期）；发送端换新 token 重发，都成功了",
                    rejected.len()
                )
            } else {
                format!(
                    "假钉钉拒绝过 {} 次请求（{}）；发件箱按退避规则重发，都成功了",
                    rejected.len(),
                    list.join("，")
                )
            };
            for w in wrap("", &l, WIDTH, 2) {
                o.line(&w);
            }
        }
        let source = "数据来源：消息数是本次发出的签名回调；推送是假钉钉实际收到的请求（时间是它收到时的模拟时钟）；记录数来自临时库的各表；定时任务来自 job_firings 表，发件箱来自 outbox 表。";
        for w in wrap("", source, WIDTH, 2) {
            o.line(&w);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_count_cjk_and_emoji_as_two() {
        assert_eq!(width("周一 08:30"), 10);
        assert_eq!(width("✅ 已"), 5);
        assert_eq!(width("⚠️"), 2);
        assert_eq!(width("【红】"), 6);
    }

    #[test]
    fn wrapping_keeps_ascii_runs_and_the_indent() {
        let lines = wrap("ab: ", "一二三四五六七八九十 2026-W49 一二三", 20, 4);
        assert_eq!(lines[0], "ab: 一二三四五六七八");
        assert!(lines.iter().all(|l| width(l) <= 20), "{lines:?}");
        assert!(lines.iter().skip(1).all(|l| l.starts_with("    ")));
        assert!(lines.iter().any(|l| l.contains("2026-W49")), "{lines:?}");
    }

    #[test]
    fn leads_line_up_whatever_the_stamp() {
        let t = NaiveDate::from_ymd_opt(2026, 11, 30)
            .unwrap()
            .and_time(hm(8, 30));
        let mut tr = Transcript {
            text: String::new(),
            echo: false,
            echo_error: None,
            day: Some(t.date()),
            names: vec![("zhangsan01".into(), "张三".into())],
        };
        tr.message(Some(t), "联村助手（推送）", "提醒 @张三\n第二行");
        tr.message(None, "联村助手", "好");
        assert_eq!(
            tr.text,
            "周一 08:30  联村助手（推送）: 提醒 @张三\n              第二行\n            联村助手: 好\n"
        );
    }
}
