//! Every user-visible Chinese sentence the bot sends, one function per message.
//!
//! Replies are short enough to read on a phone: a first line that says what
//! happened (with task numbers), then at most a few lines of detail. People are
//! written as `@名字`; the platform adapter turns those into real mentions
//! using [`Reply::mentions`].

pub mod access;
pub mod duties;
pub mod export;
pub mod help;
pub mod parse;
pub mod push;
pub mod ranking;
pub mod requests;
pub mod size;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike, Weekday};
use serde::{Deserialize, Serialize};

use crate::domain::level::Level;
use crate::domain::role::WhoMay;
use crate::domain::week::IsoWeek;

/// A person mentioned in a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mention {
    /// Platform user id (DingTalk staffId / WeCom userid).
    pub user_id: String,
    /// The name shown after @ in the text.
    pub name: String,
}

impl Mention {
    /// A person as shown in replies: by name, or by user id when the
    /// platform never told us a name (WeCom sends none; people imported
    /// through the admin API have one).
    pub fn new(user_id: &str, name: &str) -> Mention {
        let shown = if name.trim().is_empty() {
            user_id
        } else {
            name
        };
        Mention {
            user_id: user_id.to_string(),
            name: shown.to_string(),
        }
    }
}

/// A platform-neutral message from the bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub text: String,
    #[serde(default)]
    pub mentions: Vec<Mention>,
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Reply {
        Reply {
            text: text.into(),
            mentions: Vec::new(),
        }
    }

    pub fn with_mentions(text: impl Into<String>, mut mentions: Vec<Mention>) -> Reply {
        mentions.dedup_by(|a, b| a.user_id == b.user_id);
        Reply {
            text: text.into(),
            mentions,
        }
    }
}

/// How a task is shown in a list.
#[derive(Debug, Clone)]
pub struct TaskView {
    pub no: i64,
    pub text: String,
    pub level: Level,
    pub deadline: NaiveDateTime,
    pub state: Progress,
    pub owners: Vec<Mention>,
    /// The earlier week it is carried over (结转) from, if any.
    pub carried_from: Option<IsoWeek>,
    /// The statutory holiday the deadline falls on (春节), shown as a note.
    pub holiday: Option<String>,
}

/// Where a task stands (the domain's [`Progress`]), as a [`TaskView`] shows it.
pub use crate::domain::task::Progress;

/// Most tasks listed in one reply before "…还有 N 项".
const MAX_LISTED: usize = 30;

fn weekday(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "一",
        Weekday::Tue => "二",
        Weekday::Wed => "三",
        Weekday::Thu => "四",
        Weekday::Fri => "五",
        Weekday::Sat => "六",
        Weekday::Sun => "日",
    }
}

/// A week as cadres name it: `12月7日—13日`, or `11月30日—12月6日` across
/// a month's end. ISO week names (`2026-W50`) stay in the admin API.
pub fn week_label(week: IsoWeek) -> String {
    let (mon, sun) = (week.monday(), week.sunday());
    if mon.month() == sun.month() {
        format!("{}月{}日—{}日", mon.month(), mon.day(), sun.day())
    } else {
        format!(
            "{}月{}日—{}月{}日",
            mon.month(),
            mon.day(),
            sun.month(),
            sun.day()
        )
    }
}

/// A week on a chart's axis, by its Monday: `12/7` (the chart's font has
/// ASCII and only its fixed Chinese labels).
pub fn week_axis_label(week: IsoWeek) -> String {
    let mon = week.monday();
    format!("{}/{}", mon.month(), mon.day())
}

/// [`week_label`] of a stored ISO week name; the name itself if it is none.
pub(crate) fn week_name(week: &str) -> String {
    IsoWeek::parse(week).map_or_else(|| week.to_string(), week_label)
}

/// `12月2日(周三)`, plus ` 18:00` when the deadline is not the end of the day.
pub fn when(t: NaiveDateTime) -> String {
    let d = t.date();
    let mut s = format!("{}月{}日(周{})", d.month(), d.day(), weekday(d.weekday()));
    if !(t.hour() == 23 && t.minute() == 59) {
        s.push_str(&format!(" {:02}:{:02}", t.hour(), t.minute()));
    }
    s
}

/// `【结转·11月30日—12月6日】` for a task carried over from an earlier week.
pub(crate) fn carried_tag(t: &TaskView) -> String {
    t.carried_from
        .map(|w| format!("【结转·{}】", week_label(w)))
        .unwrap_or_default()
}

fn level_tag(l: Level) -> String {
    format!("【{}】", l.label())
}

/// Most characters of a task's text in a list line, so that a line fits a
/// phone's screen; the rest is cut with "…".
const MAX_LINE_TEXT: usize = 18;

/// Most owners named in a list line; the rest are counted.
const MAX_LINE_OWNERS: usize = 3;

/// A task's text cut for a list line.
pub(crate) fn short_text(text: &str) -> String {
    if text.chars().count() <= MAX_LINE_TEXT {
        text.to_string()
    } else {
        let cut: String = text.chars().take(MAX_LINE_TEXT - 1).collect();
        format!("{cut}…")
    }
}

/// The owners of a task in a list line: `@张三 @李四`, `待指派` when none,
/// and `等5人` past the first three.
pub(crate) fn line_owners(owners: &[Mention]) -> String {
    if owners.is_empty() {
        return "待指派".to_string();
    }
    let mut s = ats(&owners[..owners.len().min(MAX_LINE_OWNERS)]);
    if owners.len() > MAX_LINE_OWNERS {
        s.push_str(&format!(" 等{}人", owners.len()));
    }
    s
}

/// The deadline as a list line ends: `12月2日(周三)截止`, with the holiday
/// it falls on: `2月17日(周二)（春节假期）截止`. No space before 截止, in
/// every message.
pub(crate) fn due(deadline: NaiveDateTime, holiday: Option<&str>) -> String {
    format!("{}截止", due_note(deadline, holiday))
}

/// [`when`], with the holiday it falls on: `2月17日(周二)（春节假期）`.
pub(crate) fn due_note(deadline: NaiveDateTime, holiday: Option<&str>) -> String {
    match holiday {
        Some(h) => format!("{}（{h}假期）", when(deadline)),
        None => when(deadline),
    }
}

fn ats(people: &[Mention]) -> String {
    people
        .iter()
        .map(|m| format!("@{}", m.name))
        .collect::<Vec<_>>()
        .join(" ")
}

fn task_line(t: &TaskView) -> String {
    let state = match t.state {
        Progress::Open => String::new(),
        Progress::Overdue => " ⚠️已逾期".to_string(),
        Progress::Closed { on_time: true } => " ✅已完成".to_string(),
        Progress::Closed { on_time: false } => " ✅已完成(逾期)".to_string(),
        Progress::Cancelled => " ❌已取消".to_string(),
    };
    format!(
        "#{} {}{}{} {} · {}{}",
        t.no,
        carried_tag(t),
        level_tag(t.level),
        short_text(&t.text),
        line_owners(&t.owners),
        due(t.deadline, t.holiday.as_deref()),
        state
    )
}

pub(crate) fn task_lines(tasks: &[TaskView]) -> String {
    let mut lines: Vec<String> = tasks.iter().take(MAX_LISTED).map(task_line).collect();
    if tasks.len() > MAX_LISTED {
        lines.push(format!(
            "…还有 {} 项，请在管理后台查看",
            tasks.len() - MAX_LISTED
        ));
    }
    lines.join("\n")
}

fn owners_of(tasks: &[TaskView]) -> Vec<Mention> {
    tasks
        .iter()
        .flat_map(|t| t.owners.iter().cloned())
        .collect()
}

// ── binding and roles ─────────────────────────────────────────────────────

pub fn not_bound() -> Reply {
    Reply::text(
        "本群还没有绑定服务团。请群管理员发送：\n绑定 乡镇 村 [服务团名]\n例：绑定 凤林镇 南坞村 南坞服务团",
    )
}

pub fn private_chat() -> Reply {
    Reply::text("请在村服务团的群里 @我 使用命令。发送「帮助」查看命令列表。")
}

pub fn unsupported_kind() -> Reply {
    Reply::text("目前只能识别文字消息。发送「帮助」查看命令列表。")
}

/// The team name used when 绑定 names none.
pub fn default_team_name(village: &str) -> String {
    format!("{village}服务团")
}

pub fn bound(township: &str, village: &str, team: &str, rebound: bool) -> Reply {
    let head = if rebound { "已改绑" } else { "已绑定" };
    Reply::text(format!(
        "{head}：{township} {village} {team}。\n下一步：设团长 @姓名，设团员 @姓名 @姓名"
    ))
}

pub fn roles_set(leader: bool, people: &[Mention], demoted: Option<&Mention>) -> Reply {
    let role = if leader { "团长" } else { "团员" };
    let mut text = format!("已设{role}：{}", ats(people));
    if let Some(d) = demoted {
        text.push_str(&format!("\n原团长 @{} 改为团员", d.name));
    }
    let mut m = people.to_vec();
    m.extend(demoted.cloned());
    Reply::with_mentions(text, m)
}

pub fn name_unknown(name: &str) -> Reply {
    Reply::text(format!(
        "找不到「@{name}」。请在 @ 时从成员列表中选择此人，或请他先在群里说一句话。"
    ))
}

pub fn name_ambiguous(name: &str) -> Reply {
    Reply::text(format!(
        "群里有不止一位「{name}」，请在 @ 时从成员列表中选择。"
    ))
}

pub fn not_on_team(name: &str) -> Reply {
    Reply::text(format!(
        "@{name} 还不是本服务团成员。请团长先发送：设团员 @{name}"
    ))
}

// ── permissions ───────────────────────────────────────────────────────────

fn who(w: WhoMay) -> &'static str {
    match w {
        WhoMay::Anyone => "所有人",
        WhoMay::Leader => "团长",
        WhoMay::LeaderOrAllowedMembers => "团长（乡镇允许时团员也可以）",
        WhoMay::LeaderOrMember => "服务团成员（团长、团员）",
        WhoMay::OwnerOrLeader => "事项负责人或团长",
        WhoMay::Villagers => "村民（服务团以外的群成员）",
        WhoMay::GroupAdmin => "群管理员",
        WhoMay::GroupAdminOrLeader => "群管理员或团长",
    }
}

pub fn not_allowed(command_word: &str, who_may: WhoMay) -> Reply {
    Reply::text(format!(
        "抱歉，「{command_word}」只有{}可以使用。",
        who(who_may)
    ))
}

pub fn own_team_rating() -> Reply {
    Reply::text("服务团成员不能给本团评价，评价留给村民。")
}

pub fn not_task_owner(no: i64, text: &str, owners: &[Mention]) -> Reply {
    let who = if owners.is_empty() {
        "团长".to_string()
    } else {
        format!("{} 或团长", ats(owners))
    };
    Reply::text(format!("#{no} 只能由 {who} 处理（{text}）。"))
}

// ── plans and tasks ───────────────────────────────────────────────────────

pub fn plan_exists(week: &str) -> Reply {
    Reply::text(format!(
        "本周清单（{}）已发布过。追加事项请用：加清单\n例：加清单 3组路灯维修 @张三 周五 黄",
        week_name(week)
    ))
}

pub fn plan_published(week: &str, tasks: &[TaskView]) -> Reply {
    Reply::with_mentions(
        format!(
            "✅ 已发布本周清单（{}），共 {} 项：\n{}",
            week_name(week),
            tasks.len(),
            task_lines(tasks)
        ),
        owners_of(tasks),
    )
}

pub fn tasks_added(week: &str, tasks: &[TaskView]) -> Reply {
    Reply::with_mentions(
        format!(
            "✅ 已加入本周清单（{}）{} 项：\n{}",
            week_name(week),
            tasks.len(),
            task_lines(tasks)
        ),
        owners_of(tasks),
    )
}

/// 清单: the tasks carried over from earlier weeks first, then the week's.
pub fn list(week: &str, carried: &[TaskView], tasks: &[TaskView], plan_published: bool) -> Reply {
    let done = tasks
        .iter()
        .filter(|t| matches!(t.state, Progress::Closed { .. }))
        .count();
    let live = tasks
        .iter()
        .filter(|t| t.state != Progress::Cancelled)
        .count();
    let week = week_name(week);
    let all: Vec<TaskView> = carried.iter().chain(tasks).cloned().collect();
    let carried_note = if carried.is_empty() {
        String::new()
    } else {
        format!("，往周结转 {} 项", carried.len())
    };
    let mut text = if tasks.is_empty() && carried.is_empty() {
        format!("本周（{week}）还没有清单事项。团长可发送：排清单")
    } else if tasks.is_empty() {
        format!(
            "📋 本周（{week}）还没有新事项{carried_note}：\n{}\n团长可发送：排清单",
            task_lines(&all)
        )
    } else {
        format!(
            "📋 本周清单（{week}）已完成 {done}/{live}{carried_note}：\n{}",
            task_lines(&all)
        )
    };
    if !plan_published && !tasks.is_empty() {
        text.push_str("\n（本周清单尚未由团长发布）");
    }
    Reply::text(text)
}

pub fn task_not_found(no: i64) -> Reply {
    Reply::text(format!(
        "本团没有 #{no} 这个事项。发送「清单」查看事项编号。"
    ))
}

pub fn assigned(task: &TaskView, owners: &[Mention]) -> Reply {
    Reply::with_mentions(
        format!(
            "👉 #{} {}{} 已指派给 {}，{}，办结后发「完成 #{} 成效」。",
            task.no,
            level_tag(task.level),
            short_text(&task.text),
            ats(owners),
            due(task.deadline, task.holiday.as_deref()),
            task.no
        ),
        owners.to_vec(),
    )
}

pub fn task_not_open(no: i64, text: &str, cancelled: bool) -> Reply {
    let s = if cancelled { "已取消" } else { "已完成" };
    Reply::text(format!("#{no} {s}，无需再处理：{text}"))
}

pub fn closed(tasks: &[TaskView], result: &str) -> Reply {
    let nos: Vec<String> = tasks
        .iter()
        .map(|t| format!("#{} {}", t.no, t.text))
        .collect();
    let late: Vec<String> = tasks
        .iter()
        .filter(|t| t.state == Progress::Closed { on_time: false })
        .map(|t| format!("#{}", t.no))
        .collect();
    let mut text = format!("✅ 已销号 {}：{result}", nos.join("、"));
    if tasks.len() == 1 && !late.is_empty() {
        text.push_str("\n超过截止时间完成");
    } else if !late.is_empty() {
        text.push_str(&format!("\n其中 {} 超过截止时间完成", late.join(" ")));
    }
    Reply::text(text)
}

/// 延期 done. `moved_to`: the later week whose list the task moved into;
/// the task's `holiday`: the statutory holiday the new deadline falls on
/// (accepted, with a note).
pub fn postponed(
    task: &TaskView,
    from: NaiveDateTime,
    reason: &str,
    times: usize,
    moved_to: Option<IsoWeek>,
) -> Reply {
    let moved = moved_to
        .map(|w| format!("，移入{}的清单", week_label(w)))
        .unwrap_or_default();
    let mut text = format!(
        "⏳ #{} 已延期：{}\n{} → {}{moved}\n原因：{reason}",
        task.no,
        task.text,
        when(from),
        due_note(task.deadline, task.holiday.as_deref()),
    );
    if times > 1 {
        text.push_str(&format!("（第 {times} 次延期）"));
    }
    Reply::text(text)
}

/// 延期 refused: the new deadline is not later than the current one
/// (`past`: it has already passed). The example is one the bot would take
/// (`today`: the team's local date): 下周三 when that is later than the
/// current deadline, else the day after it.
pub fn postpone_not_forward(
    task: &TaskView,
    to: NaiveDateTime,
    past: bool,
    today: NaiveDate,
) -> Reply {
    let why = if past {
        format!("{} 已经过去了", when(to))
    } else {
        format!("新截止时间要晚于现在的 {}", when(task.deadline))
    };
    let next_wednesday =
        today + chrono::Duration::days(9 - i64::from(today.weekday().num_days_from_monday()));
    let after = task.deadline.date().max(today) + chrono::Duration::days(1);
    let by = if next_wednesday > task.deadline.date() {
        "下周三".to_string()
    } else {
        format!("{}月{}日", after.month(), after.day())
    };
    Reply::text(format!(
        "#{} {} 没有延期：{why}。延期只能往后延。\n例：延期 #{} {by} 等待镇里批复",
        task.no, task.text, task.no
    ))
}

pub fn cancelled(task: &TaskView, reason: &str) -> Reply {
    Reply::text(format!(
        "❌ #{} 已取消：{}\n原因：{reason}",
        task.no, task.text
    ))
}

// ── services, visits, requests, ratings ───────────────────────────────────

pub fn service_recorded(task_no: Option<i64>, my_count: i64, team_count: i64) -> Reply {
    let tied = task_no
        .map(|n| format!("（关联 #{n}）"))
        .unwrap_or_default();
    Reply::text(format!(
        "📝 已记录服务{tied}。本周你已服务 {my_count} 次，全团 {team_count} 次。"
    ))
}

/// A team's score is shown only once at least this many villagers rated.
pub const MIN_RATERS: i64 = 3;

/// An average score to one decimal, rounded half up (四舍五入) as people
/// reckon it: (5+3+4+5)/4 = 4.25 is 4.3. `{:.1}` alone rounds half to even
/// and would print 4.2. The nudge is far below the gap between an average of
/// whole scores and the nearest tie, so only true ties move.
pub(crate) fn one_decimal(average: f64) -> String {
    format!("{:.1}", (average * 10.0 + 1e-6).round() / 10.0)
}

/// `last_week`: the rating counts for that (ISO) week, whose airing invited
/// it, rather than for this week.
pub fn rated(
    score: i64,
    replaced: bool,
    raters: i64,
    average: f64,
    last_week: Option<&str>,
) -> Reply {
    let (which, counted) = match last_week {
        Some(w) => ("上周", format!("，记入上周（{}）", week_name(w))),
        None => ("本周", String::new()),
    };
    let head = if replaced {
        format!("已更新你{which}的评价")
    } else {
        "感谢评价".to_string()
    };
    let summary = if raters >= MIN_RATERS {
        format!(
            "{which} {raters} 位村民评价，平均 {} 分。",
            one_decimal(average)
        )
    } else {
        format!("{which}已有 {raters} 位村民评价，满 {MIN_RATERS} 位后公布平均分。")
    };
    Reply::text(format!("⭐ {head}：{score} 分{counted}。{summary}"))
}

// ── failures ──────────────────────────────────────────────────────────────

pub fn try_again_later() -> Reply {
    Reply::text("系统暂时出错，这条消息没有保存，请稍后重发。")
}

/// A repeat of a message whose first delivery left no reply to repeat.
pub fn duplicate_in_flight() -> Reply {
    Reply::text("这条消息已收到，正在处理。")
}

pub fn one_leader_only() -> Reply {
    Reply::text("每个服务团只设一位团长，请只 @ 一个人。例：设团长 @张三")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, s)
            .unwrap()
    }

    #[test]
    fn dates_read_naturally() {
        assert_eq!(when(at(2026, 12, 2, 23, 59, 59)), "12月2日(周三)");
        assert_eq!(when(at(2026, 12, 6, 18, 0, 0)), "12月6日(周日) 18:00");
    }

    #[test]
    fn task_lines_show_level_owner_deadline_state() {
        let t = TaskView {
            no: 1,
            text: "苗青头村插花田政策处理".into(),
            level: Level::Red,
            deadline: at(2026, 12, 2, 23, 59, 59),
            state: Progress::Overdue,
            owners: vec![Mention {
                user_id: "zs".into(),
                name: "张三".into(),
            }],
            carried_from: None,
            holiday: None,
        };
        assert_eq!(
            task_line(&t),
            "#1 【红】苗青头村插花田政策处理 @张三 · 12月2日(周三)截止 ⚠️已逾期"
        );
    }

    #[test]
    fn long_lists_are_cut_for_phones() {
        let t = TaskView {
            no: 1,
            text: "x".into(),
            level: Level::Green,
            deadline: at(2026, 12, 2, 23, 59, 59),
            state: Progress::Open,
            owners: vec![],
            carried_from: None,
            holiday: None,
        };
        let many = vec![t; 45];
        let r = list("2026-W49", &[], &many, true);
        assert!(r.text.contains("还有 15 项"), "{}", r.text);
        assert!(r.text.lines().count() <= MAX_LISTED + 3);
    }

    #[test]
    fn weeks_are_named_as_cadres_name_them() {
        let w = |s: &str| week_label(IsoWeek::parse(s).unwrap());
        assert_eq!(w("2026-W50"), "12月7日—13日");
        assert_eq!(w("2026-W49"), "11月30日—12月6日");
        assert_eq!(w("2026-W53"), "12月28日—1月3日");
        assert_eq!(week_name("2026-W50"), "12月7日—13日");
        assert_eq!(week_axis_label(IsoWeek::parse("2026-W50").unwrap()), "12/7");
    }

    #[test]
    fn list_lines_fit_a_phone() {
        let long = "南坞古村落保护项目方案对接及三组农户政策处理和回访";
        let many: Vec<Mention> = (1..=5)
            .map(|i| Mention::new(&format!("u{i}"), &format!("人{i}")))
            .collect();
        let t = TaskView {
            no: 2,
            text: long.into(),
            level: Level::Orange,
            deadline: at(2026, 12, 4, 18, 0, 0),
            state: Progress::Open,
            owners: many,
            holiday: None,
            carried_from: None,
        };
        let line = task_line(&t);
        assert_eq!(
            line,
            "#2 【橙】南坞古村落保护项目方案对接及三组农… @人1 @人2 @人3 等5人 · 12月4日(周五) 18:00截止"
        );
        let on_holiday = TaskView {
            holiday: Some("春节".into()),
            deadline: at(2027, 2, 9, 23, 59, 59),
            ..t
        };
        assert!(task_line(&on_holiday).contains("2月9日(周二)（春节假期）截止"));
    }

    #[test]
    fn one_late_task_needs_no_qizhong() {
        let t = TaskView {
            no: 1,
            text: "x".into(),
            level: Level::Green,
            deadline: at(2026, 12, 2, 12, 0, 0),
            state: Progress::Closed { on_time: false },
            owners: vec![],
            holiday: None,
            carried_from: None,
        };
        assert_eq!(
            closed(std::slice::from_ref(&t), "好了").text,
            "✅ 已销号 #1 x：好了\n超过截止时间完成"
        );
        let u = TaskView { no: 2, ..t.clone() };
        assert!(
            closed(&[t, u], "好了")
                .text
                .ends_with("\n其中 #1 #2 超过截止时间完成")
        );
    }

    #[test]
    fn averages_round_half_up() {
        assert_eq!(one_decimal(17.0 / 4.0), "4.3");
        assert_eq!(one_decimal(9.0 / 4.0), "2.3");
        assert_eq!(one_decimal(87.0 / 20.0), "4.4");
        assert_eq!(one_decimal(13.0 / 3.0), "4.3");
        assert_eq!(one_decimal(14.0 / 3.0), "4.7");
        assert_eq!(one_decimal(5.0), "5.0");
        assert!(
            rated(5, false, 4, 17.0 / 4.0, None)
                .text
                .contains("平均 4.3 分")
        );
    }

    #[test]
    fn rating_average_hidden_below_three_raters() {
        assert!(!rated(5, false, 2, 5.0, None).text.contains("平均 5.0"));
        assert!(rated(4, true, 3, 4.33, None).text.contains("平均 4.3 分"));
        assert_eq!(
            rated(4, false, 1, 4.0, Some("2026-W49")).text,
            "⭐ 感谢评价：4 分，记入上周（11月30日—12月6日）。上周已有 1 位村民评价，满 3 位后公布平均分。"
        );
    }

    #[test]
    fn carried_tasks_name_their_week() {
        let t = TaskView {
            no: 4,
            text: "古村落保护方案对接".into(),
            level: Level::Orange,
            deadline: at(2026, 12, 5, 23, 59, 59),
            state: Progress::Overdue,
            owners: vec![],
            carried_from: Some(IsoWeek::of(NaiveDate::from_ymd_opt(2026, 12, 5).unwrap())),
            holiday: None,
        };
        assert_eq!(
            task_line(&t),
            "#4 【结转·11月30日—12月6日】【橙】古村落保护方案对接 待指派 · 12月5日(周六)截止 ⚠️已逾期"
        );
        let r = list("2026-W50", std::slice::from_ref(&t), &[], true).text;
        assert!(
            r.contains("还没有新事项，往周结转 1 项：\n#4 【结转"),
            "{r}"
        );
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).expect("date");
        let r = postpone_not_forward(&t, at(2026, 12, 4, 23, 59, 59), false, today).text;
        assert_eq!(
            r,
            "#4 古村落保护方案对接 没有延期：新截止时间要晚于现在的 12月5日(周六)。延期只能往后延。\n例：延期 #4 下周三 等待镇里批复"
        );
        // A deadline already past next Wednesday: the example is a date the
        // bot takes, the day after it (across New Year too).
        let far = TaskView {
            deadline: at(2026, 12, 31, 23, 59, 59),
            ..t.clone()
        };
        let r = postpone_not_forward(&far, at(2026, 12, 20, 23, 59, 59), false, today).text;
        assert!(r.ends_with("\n例：延期 #4 1月1日 等待镇里批复"), "{r}");
        // An overdue task: the day after today, not after the old deadline.
        let r = postpone_not_forward(
            &t,
            at(2026, 12, 1, 23, 59, 59),
            true,
            at(2026, 12, 20, 9, 0, 0).date(),
        )
        .text;
        assert!(r.ends_with("\n例：延期 #4 下周三 等待镇里批复"), "{r}");
    }
}
