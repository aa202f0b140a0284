//! Table-driven tests of `parse`, with inputs as typed on a phone.
//!
//! Fixed context: today = 2026-12-02 (a Wednesday), now = 10:00; the plan
//! week runs Monday 2026-11-30 to Sunday 2026-12-06.

use chrono::{NaiveDate, NaiveDateTime, Weekday};

use super::*;
use crate::domain::level::Level;
use crate::domain::rating::Score;

type Expected = Result<Command, ParseError>;

struct Case {
    input: String,
    expected: Expected,
    why: &'static str,
}

fn case(input: impl Into<String>, expected: Expected, why: &'static str) -> Case {
    Case {
        input: input.into(),
        expected,
        why,
    }
}

fn bots() -> Vec<String> {
    ["村务助手", "小帮手", "联村助手"]
        .map(String::from)
        .to_vec()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 2).expect("valid date")
}

fn run(input: &str) -> Expected {
    let bots = bots();
    let ctx = ParseCtx {
        today: today(),
        now: at(12, 2, 10, 0),
        bot_names: &bots,
    };
    parse(input, &ctx)
}

fn at_y(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|date| date.and_hms_opt(h, mi, s))
        .expect("valid test date-time")
}

fn at(m: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
    at_y(2026, m, d, h, mi, 0)
}

/// End of a day of 2026.
fn eod(m: u32, d: u32) -> NaiveDateTime {
    at_y(2026, m, d, 23, 59, 59)
}

fn task(
    line_no: usize,
    text: &str,
    owners: &[&str],
    deadline: Option<NaiveDateTime>,
    level: Option<Level>,
) -> TaskDraft {
    TaskDraft {
        line_no,
        text: text.to_string(),
        owners: owners.iter().map(|o| o.to_string()).collect(),
        deadline,
        level,
    }
}

/// 加清单 with one task on the command line.
fn add(
    text: &str,
    owners: &[&str],
    deadline: Option<NaiveDateTime>,
    level: Option<Level>,
) -> Expected {
    Ok(Command::AddTasks {
        tasks: vec![task(1, text, owners, deadline, level)],
    })
}

fn bad_line(kind: CommandKind, line_no: usize, line: &str, why: TaskLineError) -> Expected {
    Err(ParseError::BadTaskLine {
        kind,
        line_no,
        line: line.to_string(),
        why,
    })
}

fn missing(kind: CommandKind, what: &'static str) -> Expected {
    Err(ParseError::MissingArgument { kind, what })
}

fn score(n: u8) -> Score {
    Score::new(n).expect("valid score")
}

fn rate(n: u8, comment: &str) -> Expected {
    Ok(Command::Rate {
        score: score(n),
        comment: comment.to_string(),
    })
}

fn close(nos: &[u32], result: &str) -> Expected {
    Ok(Command::Close {
        tasks: nos.iter().map(|n| TaskNo(*n)).collect(),
        result: result.to_string(),
    })
}

fn help(topic: Option<CommandKind>) -> Expected {
    Ok(Command::Help { topic })
}

fn role(leader: bool, names: &[&str]) -> Expected {
    Ok(Command::SetRole {
        leader,
        names: names.iter().map(|n| n.to_string()).collect(),
    })
}

#[track_caller]
fn check(cases: Vec<Case>) -> usize {
    let count = cases.len();
    for c in cases {
        let got = run(&c.input);
        assert_eq!(got, c.expected, "case {:?} ({})", c.input, c.why);
    }
    count
}

/// Deadline forms, each as the trailing part of `加清单 清理河道 …`.
fn deadline_cases() -> Vec<Case> {
    let ok = |form: &str, deadline: NaiveDateTime, why: &'static str| {
        case(
            format!("加清单 清理河道 {form}"),
            add("清理河道", &[], Some(deadline), None),
            why,
        )
    };
    vec![
        ok("今天", eod(12, 2), "今天 is the end of today"),
        ok("明天", eod(12, 3), "明天"),
        ok("后天", eod(12, 4), "后天"),
        ok("大后天", eod(12, 5), "大后天 is not 后天 with junk"),
        ok("周三", eod(12, 2), "周X on today is fine"),
        ok("周五", eod(12, 4), "周X this week"),
        ok("周日", eod(12, 6), "周日 is the last day of the week"),
        ok("周天", eod(12, 6), "周天 = 周日"),
        ok("星期四", eod(12, 3), "星期X"),
        ok("星期天", eod(12, 6), "星期天"),
        ok("礼拜六", eod(12, 5), "礼拜X"),
        ok("礼拜天", eod(12, 6), "礼拜天"),
        ok("下周一", eod(12, 7), "下周X is next week"),
        ok("下周三", eod(12, 9), "下周三"),
        ok("下星期五", eod(12, 11), "下星期X"),
        ok("下礼拜天", eod(12, 13), "下礼拜天 is next Sunday"),
        ok("下周日", eod(12, 13), "下周日"),
        ok("本周五", eod(12, 4), "本周X"),
        ok("周末", eod(12, 6), "周末 = Sunday"),
        ok("本周内", eod(12, 6), "本周内 = by Sunday"),
        ok("周五前", eod(12, 4), "前 after the date"),
        ok("周三之前", eod(12, 2), "之前 after the date"),
        ok("周五以前", eod(12, 4), "以前 after the date"),
        ok("周五截止", eod(12, 4), "截止 after the date"),
        ok("周五前完成", eod(12, 4), "cadres write 前完成"),
        ok("截止周五", eod(12, 4), "截止 before the date"),
        ok("截至周五", eod(12, 4), "截至 (the other 截)"),
        ok("截止到周五", eod(12, 4), "截止到"),
        ok("截止 周五", eod(12, 4), "截止 as its own token"),
        ok("到周五", eod(12, 4), "到 before the date"),
        ok("12月5日", eod(12, 5), "M月D日"),
        ok("12月5号", eod(12, 5), "M月D号"),
        ok("12月5日前", eod(12, 5), "M月D日前"),
        ok("12月5日之前", eod(12, 5), "M月D日之前"),
        ok("截止12月5日前", eod(12, 5), "qualified on both sides"),
        ok("十二月五日", eod(12, 5), "Chinese numerals"),
        ok("12-5", eod(12, 5), "M-D"),
        ok("12/5", eod(12, 5), "M/D"),
        ok("12/25", eod(12, 25), "M/D later this month"),
        ok("2026-12-05", eod(12, 5), "ISO date"),
        ok("2026/12/5", eod(12, 5), "YYYY/MM/DD"),
        ok("2026年12月5日", eod(12, 5), "YYYY年M月D日"),
        ok(
            "2027-01-05",
            at_y(2027, 1, 5, 23, 59, 59),
            "explicit next year",
        ),
        ok(
            "1月5日",
            at_y(2027, 1, 5, 23, 59, 59),
            "in December, 1月5日 means next January",
        ),
        ok(
            "6月1日",
            at_y(2027, 6, 1, 23, 59, 59),
            "more than six months ago rolls over",
        ),
        ok("5号前", eod(12, 5), "a qualified day of this month"),
        ok(
            "1号前",
            at_y(2027, 1, 1, 23, 59, 59),
            "a passed day of the month means next month",
        ),
        ok("3天内", eod(12, 5), "N天内 = today + N"),
        ok("7日内", eod(12, 9), "N日内"),
        ok("十天内", eod(12, 12), "Chinese N天内"),
        ok(
            "明天 18:00",
            at(12, 3, 18, 0),
            "date then time as two tokens",
        ),
        ok("明天18:00", at(12, 3, 18, 0), "time attached to the date"),
        ok("周五 下午6点", at(12, 4, 18, 0), "下午N点 = N+12"),
        ok(
            "周五下午6点前",
            at(12, 4, 18, 0),
            "date, time and 前 in one token",
        ),
        ok(
            "晚上8点半",
            at(12, 2, 20, 30),
            "晚上 and 半, no date = today",
        ),
        ok("今晚8点", at(12, 2, 20, 0), "今晚 makes 8点 the evening"),
        ok("18:00", at(12, 2, 18, 0), "bare time = today"),
        ok("下午3点", at(12, 2, 15, 0), "下午3点"),
        ok("3点", at(12, 2, 15, 0), "bare 1..6点 is the afternoon"),
        ok("明天8点", at(12, 3, 8, 0), "bare 7..12点 is literal"),
        ok("明天上午9点", at(12, 3, 9, 0), "上午N点"),
        ok("中午12点", at(12, 2, 12, 0), "中午12点"),
        ok("18点30分", at(12, 2, 18, 30), "N点M分"),
        ok("24:00", eod(12, 2), "24:00 = end of the day"),
        ok(
            "明天下午",
            at(12, 3, 18, 0),
            "a part of the day alone: 下午 ends at 18:00",
        ),
        ok(
            "明天 下午",
            at(12, 3, 18, 0),
            "date then 下午 as two tokens",
        ),
        ok("明天上午", at(12, 3, 12, 0), "上午 ends at noon"),
        ok("今天晚上", eod(12, 2), "晚上 is the end of the day"),
        ok("明天12点半", at(12, 3, 12, 30), "12点半 is half past noon"),
        ok("周五前 18:00", at(12, 4, 18, 0), "qualified date then time"),
        ok("12月5日 18:30", at(12, 5, 18, 30), "M月D日 HH:MM"),
        ok("下周三 18:00", at(12, 9, 18, 0), "下周X HH:MM"),
        ok("１２月５日", eod(12, 5), "full-width digits fold"),
        ok("１８：００", at(12, 2, 18, 0), "full-width colon folds"),
    ]
}

fn deadline_error_cases() -> Vec<Case> {
    let add = CommandKind::AddTasks;
    let line = |form: &str| format!("清理河道 {form}");
    let err = |form: &str, why_err: TaskLineError, why: &'static str| {
        case(
            format!("加清单 {}", line(form)),
            bad_line(add, 1, &line(form), why_err),
            why,
        )
    };
    let past = |got: &str, day: Option<Weekday>| TaskLineError::DeadlineInPast {
        got: got.to_string(),
        this_week_day: day,
    };
    let bad = |got: &str| TaskLineError::BadDeadline {
        got: got.to_string(),
    };
    vec![
        err(
            "周一",
            past("周一", Some(Weekday::Mon)),
            "周X before today is past; hint 下周一",
        ),
        err(
            "周二前",
            past("周二前", Some(Weekday::Tue)),
            "qualified past weekday",
        ),
        err("11月30日", past("11月30日", None), "a date two days ago"),
        err(
            "上午9点",
            past("上午9点", None),
            "today at a time already over",
        ),
        err("9:30", past("9:30", None), "bare time already over"),
        err(
            "2月30日",
            bad("2月30日"),
            "impossible date is an error, not text",
        ),
        err("13月5日", bad("13月5日"), "month 13"),
        err("25:00", bad("25:00"), "hour 25"),
        err("2026-02-29", bad("2026-02-29"), "2026 is no leap year"),
        err(
            "2月30日 18:00",
            bad("2月30日 18:00"),
            "bad date before a good time",
        ),
        err(
            "周三 周五",
            TaskLineError::TwoDeadlines,
            "two deadlines are refused",
        ),
    ]
}

fn level_cases() -> Vec<Case> {
    let lvl = |input: &str, text: &str, level: Option<Level>, why: &'static str| {
        case(format!("加清单 {input}"), add(text, &[], None, level), why)
    };
    let red = Some(Level::Red);
    vec![
        lvl("清理河道 红", "清理河道", red, "trailing 红"),
        lvl("清理河道 红色", "清理河道", red, "trailing 红色"),
        lvl("清理河道 橙", "清理河道", Some(Level::Orange), "橙"),
        lvl("清理河道 橙色", "清理河道", Some(Level::Orange), "橙色"),
        lvl("清理河道 黄", "清理河道", Some(Level::Yellow), "黄"),
        lvl("清理河道 黄色", "清理河道", Some(Level::Yellow), "黄色"),
        lvl("清理河道 绿", "清理河道", Some(Level::Green), "绿"),
        lvl("清理河道 绿色", "清理河道", Some(Level::Green), "绿色"),
        lvl("清理河道 【红】", "清理河道", red, "【红】 trailing"),
        lvl(
            "【红】清理河道",
            "清理河道",
            red,
            "【红】 leading, attached",
        ),
        lvl("清理河道 [橙]", "清理河道", Some(Level::Orange), "[橙]"),
        lvl(
            "清理河道 【黄色】",
            "清理河道",
            Some(Level::Yellow),
            "【黄色】",
        ),
        lvl("清理河道 🔴", "清理河道", red, "red emoji"),
        lvl(
            "清理河道 🟠",
            "清理河道",
            Some(Level::Orange),
            "orange emoji",
        ),
        lvl(
            "清理河道 🟡",
            "清理河道",
            Some(Level::Yellow),
            "yellow emoji",
        ),
        lvl(
            "🟢清理河道",
            "清理河道",
            Some(Level::Green),
            "emoji anywhere",
        ),
        lvl(
            "清理河道 红 【红】",
            "清理河道",
            red,
            "the same level twice is fine",
        ),
        lvl(
            "参观 红色 教育基地",
            "参观 红色 教育基地",
            None,
            "a level word inside the text stays text",
        ),
        lvl("清理河道", "清理河道", None, "no level"),
        case(
            "加清单 参观红色教育基地 周五",
            add("参观红色教育基地", &[], Some(eod(12, 4)), None),
            "红色 inside a word is text, not a level",
        ),
        case(
            "加清单 清理河道 红 周五",
            add("清理河道", &[], Some(eod(12, 4)), Some(Level::Red)),
            "level then deadline: any order",
        ),
        case(
            "加清单 清理河道🔴周五",
            add("清理河道", &[], Some(eod(12, 4)), Some(Level::Red)),
            "an emoji between words separates them",
        ),
        case(
            "加清单 清理河道 红 绿",
            bad_line(
                CommandKind::AddTasks,
                1,
                "清理河道 红 绿",
                TaskLineError::TwoLevels,
            ),
            "two different levels are refused",
        ),
        case(
            "加清单 红",
            bad_line(CommandKind::AddTasks, 1, "红", TaskLineError::EmptyText),
            "a level alone is no task",
        ),
    ]
}

fn owner_cases() -> Vec<Case> {
    let own = |input: &str, text: &str, owners: &[&str], why: &'static str| {
        case(
            format!("加清单 {input}"),
            add(text, owners, None, None),
            why,
        )
    };
    vec![
        own("清理河道 @张三", "清理河道", &["张三"], "one owner"),
        own(
            "走访农户 @李四 @王五",
            "走访农户",
            &["李四", "王五"],
            "two owners",
        ),
        own(
            "走访农户 @李四@王五",
            "走访农户",
            &["李四", "王五"],
            "owners without a space",
        ),
        own(
            "走访农户 @李四、@王五",
            "走访农户",
            &["李四", "王五"],
            "owners with 、",
        ),
        own(
            "走访农户 @李四 @李四",
            "走访农户",
            &["李四"],
            "repeated owner once",
        ),
        own("@张三 清理河道", "清理河道", &["张三"], "owner first"),
        own(
            "清理 @张三 河道",
            "清理 河道",
            &["张三"],
            "owner in the middle leaves the text",
        ),
        own(
            "请@张三 联系电力公司",
            "请 联系电力公司",
            &["张三"],
            "@ inside a word starts an owner",
        ),
        own(
            "联系 zs@163.com",
            "联系 zs@163.com",
            &[],
            "an e-mail address is text",
        ),
        own("清理河道 ＠张三", "清理河道", &["张三"], "full-width ＠"),
        case(
            "加清单 清理河道 @张三 周五前 红",
            add("清理河道", &["张三"], Some(eod(12, 4)), Some(Level::Red)),
            "owner, deadline and level",
        ),
        case(
            "加清单 清理河道 周五前 @张三 红",
            add("清理河道", &["张三"], Some(eod(12, 4)), Some(Level::Red)),
            "owner after the deadline",
        ),
        case(
            "加清单 清理河道 @ 周五",
            bad_line(
                CommandKind::AddTasks,
                1,
                "清理河道 @ 周五",
                TaskLineError::EmptyOwner,
            ),
            "@ without a name",
        ),
    ]
}

fn plan_cases() -> Vec<Case> {
    let plan = |tasks: Vec<TaskDraft>| Ok(Command::Plan { tasks });
    let one = |input: &str, text: &str, why: &'static str| {
        case(
            format!("排清单\n{input}"),
            plan(vec![task(2, text, &[], None, None)]),
            why,
        )
    };
    vec![
        case(
            "@联村助手 排清单\n1. 苗青头村插花田政策处理 @张三 周三前 红\n2、走访3组10户农户 @李四 @王五 周日\n3) 南坞古村落保护项目方案对接 截止12月5日 橙",
            plan(vec![
                task(
                    2,
                    "苗青头村插花田政策处理",
                    &["张三"],
                    Some(eod(12, 2)),
                    Some(Level::Red),
                ),
                task(
                    3,
                    "走访3组10户农户",
                    &["李四", "王五"],
                    Some(eod(12, 6)),
                    None,
                ),
                task(
                    4,
                    "南坞古村落保护项目方案对接",
                    &[],
                    Some(eod(12, 5)),
                    Some(Level::Orange),
                ),
            ]),
            "the product contract's example",
        ),
        case(
            "@联村助手\u{2005}排清单\r\n1．苗青头村插花田政策处理 ＠张三 周三前 红\r\n\r\n2、走访3组10户农户 @李四 @王五 周日\r\n",
            plan(vec![
                task(
                    2,
                    "苗青头村插花田政策处理",
                    &["张三"],
                    Some(eod(12, 2)),
                    Some(Level::Red),
                ),
                task(
                    3,
                    "走访3组10户农户",
                    &["李四", "王五"],
                    Some(eod(12, 6)),
                    None,
                ),
            ]),
            "CRLF, blank line, U+2005 and full-width forms",
        ),
        one("1. 清理河道", "清理河道", "1."),
        one("1.清理河道", "清理河道", "1. without space"),
        one("1、清理河道", "清理河道", "1、"),
        one("1)清理河道", "清理河道", "1)"),
        one("1）清理河道", "清理河道", "full-width ）"),
        one("1．清理河道", "清理河道", "full-width ．"),
        one("(1) 清理河道", "清理河道", "(1)"),
        one("（1）清理河道", "清理河道", "full-width (1)"),
        one("① 清理河道", "清理河道", "circled number"),
        one("一、清理河道", "清理河道", "Chinese numeral"),
        one("- 清理河道", "清理河道", "dash bullet"),
        one(
            "1.5公里道路硬化",
            "1.5公里道路硬化",
            "a decimal is not numbering",
        ),
        case(
            "排清单 清理河道 红",
            plan(vec![task(1, "清理河道", &[], None, Some(Level::Red))]),
            "a task on the command line",
        ),
        case(
            "排清单 清理河道\n走访农户",
            plan(vec![
                task(1, "清理河道", &[], None, None),
                task(2, "走访农户", &[], None, None),
            ]),
            "first-line task and more lines",
        ),
        case(
            "排清单：\n1. 清理河道",
            plan(vec![task(2, "清理河道", &[], None, None)]),
            "a colon after the word",
        ),
        case(
            "排清单 本周任务如下：\n1. 清理河道\n2. 走访农户",
            plan(vec![
                task(2, "清理河道", &[], None, None),
                task(3, "走访农户", &[], None, None),
            ]),
            "a heading ending in a colon is not a task",
        ),
        case(
            "排清单 12月第一周\n1. 清理河道\n2. 走访农户",
            plan(vec![
                task(2, "清理河道", &[], None, None),
                task(3, "走访农户", &[], None, None),
            ]),
            "an unnumbered first line over numbered lines is a heading",
        ),
        case(
            "排清单 清理河道\n2. 走访农户",
            plan(vec![
                task(1, "清理河道", &[], None, None),
                task(2, "走访农户", &[], None, None),
            ]),
            "…but not when the list starts at 2: the first line was task 1",
        ),
        case(
            "排清单 本周重点\n- 清理河道\n- 走访农户",
            plan(vec![
                task(2, "清理河道", &[], None, None),
                task(3, "走访农户", &[], None, None),
            ]),
            "a heading over a bulleted list",
        ),
        case(
            "本周清单\n1. 清理河道",
            plan(vec![task(2, "清理河道", &[], None, None)]),
            "alias 本周清单",
        ),
        case(
            "周清单\n1. 清理河道",
            plan(vec![task(2, "清理河道", &[], None, None)]),
            "alias 周清单",
        ),
        case(
            "/plan\n1. 清理河道",
            plan(vec![task(2, "清理河道", &[], None, None)]),
            "alias /plan",
        ),
        case(
            "/Plan 清理河道",
            plan(vec![task(1, "清理河道", &[], None, None)]),
            "ASCII aliases ignore case",
        ),
        case(
            "排清单",
            Err(ParseError::NoTasks {
                kind: CommandKind::Plan,
            }),
            "no tasks",
        ),
        case(
            "排清单\n1. 清理河道 周五\n2. 红",
            bad_line(CommandKind::Plan, 3, "2. 红", TaskLineError::EmptyText),
            "one bad line fails the whole plan, with its line number",
        ),
        case(
            "排清单\n1. 清理河道 周五\n2. 走访 周一",
            bad_line(
                CommandKind::Plan,
                3,
                "2. 走访 周一",
                TaskLineError::DeadlineInPast {
                    got: "周一".into(),
                    this_week_day: Some(Weekday::Mon),
                },
            ),
            "a past weekday on line 3",
        ),
        case(
            "排清单 @村务助手",
            bad_line(CommandKind::Plan, 1, "@村务助手", TaskLineError::EmptyText),
            "a trailing bot mention is not stripped",
        ),
        case(
            "加清单 清理河道",
            add("清理河道", &[], None, None),
            "加清单",
        ),
        case(
            "追加 清理河道",
            add("清理河道", &[], None, None),
            "alias 追加",
        ),
        case(
            "/add 清理河道",
            add("清理河道", &[], None, None),
            "alias /add",
        ),
        case(
            "加清单",
            Err(ParseError::NoTasks {
                kind: CommandKind::AddTasks,
            }),
            "加清单 without tasks",
        ),
    ]
}

fn simple_command_cases() -> Vec<Case> {
    let serve = |task: Option<u32>, text: &str| {
        Ok(Command::Serve {
            task: task.map(TaskNo),
            text: text.to_string(),
        })
    };
    let visit = |household: &str, text: &str| {
        Ok(Command::Visit {
            household: household.to_string(),
            text: text.to_string(),
        })
    };
    let request = |text: &str, level: Option<Level>| {
        Ok(Command::Request {
            text: text.to_string(),
            level,
        })
    };
    let bind = |township: &str, village: &str, team: Option<&str>| {
        Ok(Command::Bind {
            township: township.to_string(),
            village: village.to_string(),
            team: team.map(String::from),
        })
    };
    let serve_kind = CommandKind::Serve;
    vec![
        // 清单
        case("清单", Ok(Command::List), "清单"),
        case("进度", Ok(Command::List), "alias 进度"),
        case("看清单", Ok(Command::List), "看清单 is List, not 看 + 清单"),
        case("/list", Ok(Command::List), "alias /list"),
        case("/LIST", Ok(Command::List), "upper-case alias"),
        // 我的诉求
        case("我的诉求", Ok(Command::MyRequests), "我的诉求"),
        case(
            "诉求进度",
            Ok(Command::MyRequests),
            "诉求进度 is MyRequests, not 诉求 + 进度",
        ),
        case("/myasks", Ok(Command::MyRequests), "alias /myasks"),
        case(
            "诉求 进度太慢了",
            request("进度太慢了", None),
            "with a space it is a request",
        ),
        case(
            "清单 本周",
            Ok(Command::List),
            "words after 清单 are ignored",
        ),
        // 服务
        case(
            "服务 #2 帮王大妈办医保",
            serve(Some(2), "帮王大妈办医保"),
            "服务 #N",
        ),
        case(
            "聚服务 帮五保户买药",
            serve(None, "帮五保户买药"),
            "alias 聚服务, no task",
        ),
        case("/serve #3 修水管", serve(Some(3), "修水管"), "alias /serve"),
        case(
            "服务#2 帮王大妈办医保",
            serve(Some(2), "帮王大妈办医保"),
            "no space after the word",
        ),
        case(
            "服务 5 位老人送温暖",
            serve(None, "5 位老人送温暖"),
            "服务 needs # for a task number",
        ),
        case(
            "服务 #2 #3 送药",
            Err(ParseError::OneTaskOnly { kind: serve_kind }),
            "one task per service",
        ),
        case(
            "服务 #2",
            missing(serve_kind, what::TEXT),
            "服务 needs text",
        ),
        case("服务", missing(serve_kind, what::TEXT), "服务 alone"),
        case(
            "服务 #x 送药",
            Err(ParseError::BadTaskNo {
                kind: serve_kind,
                got: "#x".into(),
            }),
            "# without digits",
        ),
        // 走访
        case(
            "走访 张大爷家 反映3组路灯坏了",
            visit("张大爷家", "反映3组路灯坏了"),
            "走访",
        ),
        case("走访 张大爷家", visit("张大爷家", ""), "text may be empty"),
        case(
            "/visit 李奶奶家 身体不错",
            visit("李奶奶家", "身体不错"),
            "alias /visit",
        ),
        case(
            "走访 张大爷家,反映路灯坏了",
            visit("张大爷家", "反映路灯坏了"),
            "comma after household",
        ),
        case(
            "走访 张大爷家\n反映路灯坏了\n希望尽快修",
            visit("张大爷家", "反映路灯坏了\n希望尽快修"),
            "multi-line text",
        ),
        case(
            "走访",
            missing(CommandKind::Visit, what::HOUSEHOLD),
            "走访 needs a household",
        ),
        case(
            "走访 张大爷家（3组） 反映路灯坏了",
            visit("张大爷家（3组）", "反映路灯坏了"),
            "full-width brackets fold for matching, come back in the text",
        ),
        case(
            "走访 3组 张大爷 身体不错",
            visit("3组张大爷", "身体不错"),
            "a 小组 written apart joins the name",
        ),
        case(
            "走访 3组 反映路灯坏了",
            visit("3组", "反映路灯坏了"),
            "what follows a 小组 is no name when it is long",
        ),
        case(
            "走访 3组",
            visit("3组", ""),
            "a 小组 alone stays as typed (recorded as unregistered)",
        ),
        // 走访率
        case(
            "走访率",
            Ok(Command::Coverage { unvisited: false }),
            "走访率 is not 走访 + 率",
        ),
        case(
            "覆盖",
            Ok(Command::Coverage { unvisited: false }),
            "alias 覆盖",
        ),
        case(
            "覆盖率",
            Ok(Command::Coverage { unvisited: false }),
            "覆盖率 too",
        ),
        case(
            "/coverage",
            Ok(Command::Coverage { unvisited: false }),
            "alias /coverage",
        ),
        case(
            "走访率 未走访",
            Ok(Command::Coverage { unvisited: true }),
            "the list of households not yet visited",
        ),
        case(
            "/Coverage missing",
            Ok(Command::Coverage { unvisited: true }),
            "ASCII form",
        ),
        case(
            "走访率 全部",
            Err(ParseError::BadCoverageArg {
                got: "全部".into()
            }),
            "only 未走访 may follow",
        ),
        // 项目
        case(
            "项目",
            Ok(Command::Project(ProjectCmd::List)),
            "bare: the list",
        ),
        case(
            "/project list",
            Ok(Command::Project(ProjectCmd::List)),
            "ASCII list",
        ),
        case(
            "项目 新建 村道硬化",
            Ok(Command::Project(ProjectCmd::New {
                name: "村道硬化".into(),
            })),
            "新建",
        ),
        case(
            "项目新建《村道硬化》",
            Ok(Command::Project(ProjectCmd::New {
                name: "村道硬化".into(),
            })),
            "no space, book-title marks dropped",
        ),
        case(
            "项目: 立项 河道清淤",
            Ok(Command::Project(ProjectCmd::New {
                name: "河道清淤".into(),
            })),
            "立项, colon after the command word",
        ),
        case(
            "项目 进展 村道硬化 路基完成,下周浇筑",
            Ok(Command::Project(ProjectCmd::Progress {
                name: "村道硬化".into(),
                text: "路基完成，下周浇筑".into(),
            })),
            "进展 NAME TEXT, Chinese punctuation restored",
        ),
        case(
            "/project progress 村道硬化 路基完成",
            Ok(Command::Project(ProjectCmd::Progress {
                name: "村道硬化".into(),
                text: "路基完成".into(),
            })),
            "ASCII progress",
        ),
        case(
            "项目 完成 村道硬化",
            Ok(Command::Project(ProjectCmd::Done {
                name: "村道硬化".into(),
                text: String::new(),
            })),
            "完成 without a note",
        ),
        case(
            "项目 结项 村道硬化 通过验收",
            Ok(Command::Project(ProjectCmd::Done {
                name: "村道硬化".into(),
                text: "通过验收".into(),
            })),
            "结项 with a note",
        ),
        case(
            "项目 进展 村道硬化",
            missing(CommandKind::Project, what::PROGRESS),
            "进展 needs what moved",
        ),
        case(
            "项目 新建",
            missing(CommandKind::Project, what::PROJECT_NAME),
            "新建 needs a name",
        ),
        case(
            "项目 完成",
            missing(CommandKind::Project, what::PROJECT_NAME),
            "完成 needs a name",
        ),
        case(
            "项目 新建 村道 硬化",
            Err(ParseError::BadProjectName {
                got: "村道 硬化".into(),
            }),
            "no spaces in a name",
        ),
        case(
            "项目 开始 村道硬化",
            Err(ParseError::BadProjectAction {
                got: "开始".into()
            }),
            "unknown action",
        ),
        case(
            "/project newer x",
            Err(ParseError::BadProjectAction {
                got: "newer".into(),
            }),
            "ASCII actions end at a word boundary",
        ),
        // 诉求
        case(
            "诉求 3组路灯坏了 橙",
            request("3组路灯坏了", Some(Level::Orange)),
            "trailing level",
        ),
        case(
            "反映 村口垃圾没人清运",
            request("村口垃圾没人清运", None),
            "alias 反映, no level",
        ),
        case(
            "/ask 路灯坏了 红色",
            request("路灯坏了", Some(Level::Red)),
            "alias /ask",
        ),
        case(
            "诉求 【红】3组路灯坏了",
            request("3组路灯坏了", Some(Level::Red)),
            "bracket level first",
        ),
        case(
            "诉求 3组路灯坏了🔴",
            request("3组路灯坏了", Some(Level::Red)),
            "emoji level",
        ),
        case(
            "诉求 参观红色教育基地太远",
            request("参观红色教育基地太远", None),
            "红色 inside text",
        ),
        case(
            "诉求 橙",
            missing(CommandKind::Request, what::TEXT),
            "level without text",
        ),
        case(
            "诉求",
            missing(CommandKind::Request, what::TEXT),
            "诉求 alone",
        ),
        case(
            "诉求 【红】路灯坏了 绿",
            Err(ParseError::TwoLevels {
                kind: CommandKind::Request,
            }),
            "two levels",
        ),
        // 绑定
        case(
            "绑定 凤林镇 南坞村 南坞服务团",
            bind("凤林镇", "南坞村", Some("南坞服务团")),
            "绑定 with team",
        ),
        case(
            "绑定 凤林镇 南坞村",
            bind("凤林镇", "南坞村", None),
            "team is optional",
        ),
        case(
            "/bind 凤林镇 南坞村",
            bind("凤林镇", "南坞村", None),
            "alias /bind",
        ),
        case(
            "绑定 凤林镇，南坞村",
            bind("凤林镇", "南坞村", None),
            "full-width comma separates",
        ),
        case(
            "绑定 凤林镇 南坞村 南坞 服务团",
            bind("凤林镇", "南坞村", Some("南坞 服务团")),
            "team with a space",
        ),
        case(
            "绑定 凤林镇",
            missing(CommandKind::Bind, what::VILLAGE),
            "village missing",
        ),
        case(
            "绑定",
            missing(CommandKind::Bind, what::VILLAGE),
            "绑定 alone",
        ),
        // 设团长 / 设团员
        case("设团长 @张三", role(true, &["张三"]), "设团长"),
        case(
            "设团员 @李四 @王五",
            role(false, &["李四", "王五"]),
            "设团员 with two",
        ),
        case("/role leader @张三", role(true, &["张三"]), "/role leader"),
        case(
            "/role member @李四 @王五",
            role(false, &["李四", "王五"]),
            "/role member",
        ),
        case(
            "/ROLE Member @李四",
            role(false, &["李四"]),
            "/role ignores case",
        ),
        case(
            "/role 团员 @李四",
            role(false, &["李四"]),
            "/role with a Chinese role",
        ),
        case("设置团长 @张三", role(true, &["张三"]), "设置团长"),
        case(
            "设团员 李四 王五",
            role(false, &["李四", "王五"]),
            "names without @",
        ),
        case(
            "设团员 @李四 和 @王五",
            role(false, &["李四", "王五"]),
            "words between mentions are ignored",
        ),
        case(
            "设团长",
            missing(CommandKind::SetLeader, what::NAMES),
            "设团长 needs a name",
        ),
        case(
            "设团员",
            missing(CommandKind::SetMember, what::NAMES),
            "设团员 needs a name",
        ),
        case(
            "/role boss @张三",
            Err(ParseError::BadRole { got: "boss".into() }),
            "unknown role",
        ),
        case(
            "/role",
            Err(ParseError::BadRole { got: String::new() }),
            "/role alone",
        ),
        // 帮助
        case("帮助", help(None), "帮助"),
        case("/help", help(None), "/help"),
        case("?", help(None), "?"),
        case("？", help(None), "full-width ？"),
        case("/HELP", help(None), "upper-case /HELP"),
        case("帮助 完成", help(Some(CommandKind::Close)), "topic by word"),
        case(
            "帮助 销号",
            help(Some(CommandKind::Close)),
            "topic by alias",
        ),
        case(
            "帮助 /done",
            help(Some(CommandKind::Close)),
            "topic by ASCII alias",
        ),
        case(
            "帮助 done",
            help(Some(CommandKind::Close)),
            "topic without the slash",
        ),
        case(
            "? 延期",
            help(Some(CommandKind::Postpone)),
            "? with a topic",
        ),
        case(
            "帮助 满意",
            help(Some(CommandKind::Rate)),
            "topic by rating word",
        ),
        case(
            "帮助 设团员",
            help(Some(CommandKind::SetMember)),
            "设团员 topic",
        ),
        case("帮助 天气", help(None), "unknown topic"),
    ]
}

fn task_number_cases() -> Vec<Case> {
    let close_kind = CommandKind::Close;
    let bad_no = |kind: CommandKind, got: &str| {
        Err(ParseError::BadTaskNo {
            kind,
            got: got.to_string(),
        })
    };
    let postpone = |task: u32, deadline: NaiveDateTime, reason: &str| {
        Ok(Command::Postpone {
            task: TaskNo(task),
            deadline,
            reason: reason.to_string(),
        })
    };
    let assign = |task: u32, names: &[&str]| {
        Ok(Command::Assign {
            task: TaskNo(task),
            names: names.iter().map(|n| n.to_string()).collect(),
        })
    };
    let cancel = |task: u32, reason: &str| {
        Ok(Command::Cancel {
            task: TaskNo(task),
            reason: reason.to_string(),
        })
    };
    let pp = CommandKind::Postpone;
    vec![
        // 完成
        case(
            "完成 #1 #3 已协调到位",
            close(&[1, 3], "已协调到位"),
            "two tasks",
        ),
        case("销号 #2 已办结", close(&[2], "已办结"), "alias 销号"),
        case("成效 #4 群众满意", close(&[4], "群众满意"), "alias 成效"),
        case("/done #1 fixed", close(&[1], "fixed"), "alias /done"),
        case(
            "完成#1 已处理",
            close(&[1], "已处理"),
            "no space after the word",
        ),
        case("完成 #1#3 已处理", close(&[1, 3], "已处理"), "#1#3"),
        case("完成 #1,#3 已处理", close(&[1, 3], "已处理"), "#1,#3"),
        case(
            "完成 #1，#3 已处理",
            close(&[1, 3], "已处理"),
            "full-width comma",
        ),
        case("完成 #1、#3 已处理", close(&[1, 3], "已处理"), "#1、#3"),
        case("完成 #1和#3 已处理", close(&[1, 3], "已处理"), "#1和#3"),
        case("完成 ＃３ 已处理", close(&[3], "已处理"), "full-width ＃３"),
        case(
            "完成：#2 已处理",
            close(&[2], "已处理"),
            "full-width colon after the word",
        ),
        case("完成 #2号 已处理", close(&[2], "已处理"), "#2号"),
        case(
            "完成 1 已处理",
            close(&[1], "已处理"),
            "bare number standing alone",
        ),
        case("完成 1号 已处理", close(&[1], "已处理"), "bare 1号"),
        case("完成 1、3 已处理", close(&[1, 3], "已处理"), "bare list"),
        case(
            "完成 #1 #1 已处理",
            close(&[1], "已处理"),
            "repeated number once",
        ),
        case(
            "完成 #2\n已帮王大妈办好医保",
            close(&[2], "已帮王大妈办好医保"),
            "result on the next line",
        ),
        case(
            "完成 #2 3户已走访",
            close(&[2], "3户已走访"),
            "a number running into text is result",
        ),
        case(
            "完成 3户已走访",
            missing(close_kind, what::TASK_NO),
            "3户 is no task number",
        ),
        case(
            "完成 已处理",
            missing(close_kind, what::TASK_NO),
            "no task number",
        ),
        case("完成", missing(close_kind, what::TASK_NO), "完成 alone"),
        case(
            "完成 #1",
            missing(close_kind, what::RESULT),
            "result required",
        ),
        case("完成 #0 已处理", bad_no(close_kind, "#0"), "#0 is no task"),
        case("完成 # 已处理", bad_no(close_kind, "#"), "# alone"),
        case(
            "完成 #99999999999 已处理",
            bad_no(close_kind, "#99999999999"),
            "number too large",
        ),
        // 延期
        case(
            "延期 #2 下周三 等待镇里批复",
            postpone(2, eod(12, 9), "等待镇里批复"),
            "延期",
        ),
        case(
            "延期 #2 12月20日 等施工队进场",
            postpone(2, eod(12, 20), "等施工队进场"),
            "M月D日",
        ),
        case(
            "延期 ＃２ １２月２０日 等施工队进场",
            postpone(2, eod(12, 20), "等施工队进场"),
            "full width",
        ),
        case(
            "延期 #2 下周三 18:00 等待批复",
            postpone(2, at(12, 9, 18, 0), "等待批复"),
            "with a time",
        ),
        case(
            "延期 #2 等待镇里批复 下周三",
            postpone(2, eod(12, 9), "等待镇里批复"),
            "deadline last",
        ),
        case(
            "延期 2 下周三 等批复",
            postpone(2, eod(12, 9), "等批复"),
            "bare number",
        ),
        case(
            "/postpone #2 下周三 waiting",
            postpone(2, eod(12, 9), "waiting"),
            "alias /postpone",
        ),
        case(
            "延期 #2 截止 下周三 等批复",
            postpone(2, eod(12, 9), "等批复"),
            "截止 token",
        ),
        case(
            "延期 #2 到下周三 等批复",
            postpone(2, eod(12, 9), "等批复"),
            "到 prefix",
        ),
        case(
            "延期 #2 3天内 等批复",
            postpone(2, eod(12, 5), "等批复"),
            "N天内",
        ),
        case(
            "延期 #2 下周三",
            missing(pp, what::REASON),
            "reason required",
        ),
        case(
            "延期 #2 等待批复",
            missing(pp, what::DEADLINE),
            "deadline required",
        ),
        case(
            "延期 下周三 等批复",
            missing(pp, what::TASK_NO),
            "task required",
        ),
        case(
            "延期 #2 #3 下周三 等批复",
            Err(ParseError::OneTaskOnly { kind: pp }),
            "one task",
        ),
        case(
            "延期 #2 周一 等批复",
            Err(ParseError::DeadlineInPast {
                kind: pp,
                got: "周一".into(),
                this_week_day: Some(Weekday::Mon),
            }),
            "past weekday: the reply suggests 下周一",
        ),
        case(
            "延期 #2 2月30日 等批复",
            Err(ParseError::BadDeadline {
                kind: pp,
                got: "2月30日".into(),
            }),
            "impossible date",
        ),
        // 取消
        case("取消 #4 与#2重复", cancel(4, "与#2重复"), "取消"),
        case(
            "/cancel #4 duplicate",
            cancel(4, "duplicate"),
            "alias /cancel",
        ),
        case("取消 4 重复录入", cancel(4, "重复录入"), "bare number"),
        case(
            "取消 #4",
            missing(CommandKind::Cancel, what::REASON),
            "reason required",
        ),
        case(
            "取消 重复",
            missing(CommandKind::Cancel, what::TASK_NO),
            "task required",
        ),
        case(
            "取消 #4 #5 重复",
            Err(ParseError::OneTaskOnly {
                kind: CommandKind::Cancel,
            }),
            "one task",
        ),
        // 指派
        case("指派 #5 @李四", assign(5, &["李四"]), "one person"),
        case(
            "指派 #5 @李四 @王五",
            assign(5, &["李四", "王五"]),
            "two people",
        ),
        case("分派 #2 @王五", assign(2, &["王五"]), "alias 分派"),
        case("/assign #3 @Li", assign(3, &["Li"]), "alias /assign"),
        case(
            "指派#5 @李四",
            assign(5, &["李四"]),
            "no space after the word",
        ),
        case("指派 5 李四", assign(5, &["李四"]), "bare number and name"),
        case(
            "指派 #5 李四、王五",
            assign(5, &["李四", "王五"]),
            "names split by 、",
        ),
        case("指派 #5 @李四 @李四", assign(5, &["李四"]), "a name once"),
        case(
            "指派 #5",
            missing(CommandKind::Assign, what::ASSIGNEES),
            "someone to hand it to",
        ),
        case(
            "指派 @李四",
            missing(CommandKind::Assign, what::TASK_NO),
            "task required",
        ),
        case(
            "指派 #4 #5 @李四",
            Err(ParseError::OneTaskOnly {
                kind: CommandKind::Assign,
            }),
            "one task",
        ),
    ]
}

fn rate_cases() -> Vec<Case> {
    let bad = |got: &str| {
        Err(ParseError::BadScore {
            got: got.to_string(),
        })
    };
    vec![
        case("评价 5 路灯修得快", rate(5, "路灯修得快"), "评价 N"),
        case("评价 满意", rate(5, ""), "评价 满意"),
        case("打分 4分 态度好", rate(4, "态度好"), "alias 打分, N分"),
        case("/rate 4 good", rate(4, "good"), "alias /rate"),
        case("评价 5星 很好", rate(5, "很好"), "N星"),
        case("评价 4 分 还行", rate(4, "还行"), "a space before 分"),
        case("评价 五分 很好", rate(5, "很好"), "Chinese numeral 五分"),
        case("评价 五星好评", rate(5, "好评"), "五星 then the comment"),
        case(
            "评价 基本满意 还要加油",
            rate(3, "还要加油"),
            "基本满意 = 3",
        ),
        case("评价 不满意 没人来", rate(1, "没人来"), "不满意 = 1"),
        case("评价 一般", rate(3, ""), "一般 = 3"),
        case("评价 非常满意", rate(5, ""), "非常满意 = 5"),
        case("评价 十分满意", rate(5, ""), "十分满意 is not 10分"),
        case(
            "评价5分路灯修得快",
            rate(5, "路灯修得快"),
            "no spaces at all",
        ),
        case("评价 ５分", rate(5, ""), "full-width digit"),
        case("满意", rate(5, ""), "bare 满意"),
        case("基本满意", rate(3, ""), "bare 基本满意 beats 满意"),
        case(
            "不满意 路灯还没修",
            rate(1, "路灯还没修"),
            "bare 不满意 with comment",
        ),
        case("很满意", rate(5, ""), "bare 很满意"),
        case("非常满意！", rate(5, ""), "punctuation after the word"),
        case(
            "满意，路灯修得快",
            rate(5, "路灯修得快"),
            "comma before the comment",
        ),
        case(
            "@村务助手 满意",
            rate(5, ""),
            "bare 满意 after the bot mention",
        ),
        case(
            "满意度调查",
            Err(ParseError::NotACommand),
            "满意度 is not a rating",
        ),
        case("评价 6", bad("6"), "6 is out of range"),
        case("评价 0分", bad("0分"), "0 is out of range"),
        case("打分 10分", bad("10分"), "10 is out of range"),
        case("评价 4.5分", bad("4.5分"), "no half points"),
        case("评价 很好", bad("很好"), "not a score"),
        case(
            "评价",
            missing(CommandKind::Rate, what::SCORE),
            "score required",
        ),
    ]
}

fn general_cases() -> Vec<Case> {
    let long_request = format!("诉求 {}", "很".repeat(MAX_CHARS - 3));
    let long_text = "很".repeat(MAX_CHARS - 3);
    vec![
        case("", Err(ParseError::Empty), "empty"),
        case("  \u{3000}\n", Err(ParseError::Empty), "only white space"),
        case("@村务助手", Err(ParseError::Empty), "only the bot mention"),
        case("你好", Err(ParseError::NotACommand), "small talk"),
        case(
            "@张三 排清单",
            Err(ParseError::NotACommand),
            "unknown mentions are not stripped",
        ),
        case(
            "/planet",
            Err(ParseError::NotACommand),
            "/plan must end at a word boundary",
        ),
        case("/foo", Err(ParseError::NotACommand), "unknown alias"),
        case("@村务助手 清单", Ok(Command::List), "mention then command"),
        case(
            "＠小帮手 @村务助手 清单",
            Ok(Command::List),
            "two bot mentions",
        ),
        case(
            "@村务助手\u{2005}完成 #1 已处理",
            close(&[1], "已处理"),
            "U+2005 after the mention",
        ),
        case(
            " 清单",
            Ok(Command::List),
            "DingTalk leaves a leading space",
        ),
        case(
            format!("加清单 {}", "很".repeat(MAX_CHARS)),
            Err(ParseError::TooLong {
                max_chars: MAX_CHARS,
                got_chars: MAX_CHARS + 4,
            }),
            "too long",
        ),
        case(
            long_request,
            Ok(Command::Request {
                text: long_text,
                level: None,
            }),
            "exactly MAX_CHARS is fine",
        ),
    ]
}

#[test]
fn deadline_forms() {
    check(deadline_cases());
}

#[test]
fn deadline_errors() {
    check(deadline_error_cases());
}

#[test]
fn levels() {
    check(level_cases());
}

#[test]
fn owners() {
    check(owner_cases());
}

#[test]
fn plans() {
    check(plan_cases());
}

#[test]
fn simple_commands() {
    check(simple_command_cases());
}

#[test]
fn task_numbers() {
    check(task_number_cases());
}

#[test]
fn ratings() {
    check(rate_cases());
}

#[test]
fn general() {
    check(general_cases());
}

#[test]
fn at_least_150_cases() {
    let total = [
        deadline_cases().len(),
        deadline_error_cases().len(),
        level_cases().len(),
        owner_cases().len(),
        plan_cases().len(),
        simple_command_cases().len(),
        task_number_cases().len(),
        rate_cases().len(),
        general_cases().len(),
    ]
    .iter()
    .sum::<usize>();
    assert!(total >= 150, "only {total} cases");
}

/// The protocol brief's mention-stripping cases (`mention_strip_cases` of
/// tests/vectors/dingtalk.json), verbatim.
#[test]
fn mention_strip_vectors() {
    let bots = ["村务助手", "小帮手"].map(String::from);
    let cases = [
        (" 排清单 明天", "排清单 明天"),
        ("  排清单", "排清单"),
        ("@村务助手 排清单 明天", "排清单 明天"),
        ("@村务助手\u{2005}排清单", "排清单"),
        ("@村务助手排清单", "排清单"),
        ("＠村务助手 排清单", "排清单"),
        ("@小帮手 @村务助手 排清单", "排清单"),
        ("@张三 排清单", "@张三 排清单"),
        ("排清单 @村务助手", "排清单 @村务助手"),
        ("\u{3000}排清单\n", "排清单"),
    ];
    for (input, expected) in cases {
        assert_eq!(normalize(input, &bots), expected, "mention case {input:?}");
    }
}

#[test]
fn mentions_with_other_white_space() {
    let bots = ["村务助手"].map(String::from);
    for input in [
        "\u{00A0}@村务助手 清单",
        "\u{200B}@村务助手\u{2006}清单",
        "\u{2009}@村务助手\u{3000}清单",
        "@村务助手\n清单",
    ] {
        assert_eq!(normalize(input, &bots), "清单", "input {input:?}");
    }
}

#[test]
fn kinds_match_commands() {
    let cases = [
        ("满意", CommandKind::Rate),
        ("设团长 @张三", CommandKind::SetLeader),
        ("设团员 @张三", CommandKind::SetMember),
        ("排清单 清理河道", CommandKind::Plan),
        ("追加 清理河道", CommandKind::AddTasks),
    ];
    for (input, kind) in cases {
        assert_eq!(run(input).map(|c| c.kind()), Ok(kind), "input {input:?}");
    }
}

#[test]
fn error_kinds() {
    assert_eq!(ParseError::Empty.kind(), None);
    assert_eq!(ParseError::NotACommand.kind(), None);
    assert_eq!(
        run("评价 9").map_err(|e| e.kind()),
        Err(Some(CommandKind::Rate))
    );
    assert_eq!(
        run("/role x").map_err(|e| e.kind()),
        Err(Some(CommandKind::SetLeader))
    );
    assert_eq!(
        run("完成").map_err(|e| e.kind()),
        Err(Some(CommandKind::Close))
    );
    assert_eq!(
        run("排清单\n红").map_err(|e| e.kind()),
        Err(Some(CommandKind::Plan))
    );
}

#[test]
fn deadline_year_edges() {
    // Late December: 1月5日 is next year; early January: 12月28日 stays this year.
    let bots: Vec<String> = Vec::new();
    let dec = NaiveDate::from_ymd_opt(2026, 12, 28).expect("date");
    let ctx = ParseCtx {
        today: dec,
        now: at_y(2026, 12, 28, 9, 0, 0),
        bot_names: &bots,
    };
    assert_eq!(
        parse("加清单 清理河道 1月5日", &ctx),
        add("清理河道", &[], Some(at_y(2027, 1, 5, 23, 59, 59)), None)
    );
    // Sunday: 下周一 is tomorrow, 周日 is today.
    let sunday = NaiveDate::from_ymd_opt(2026, 12, 6).expect("date");
    let ctx = ParseCtx {
        today: sunday,
        now: at_y(2026, 12, 6, 9, 0, 0),
        bot_names: &bots,
    };
    assert_eq!(
        parse("加清单 清理河道 下周一", &ctx),
        add("清理河道", &[], Some(eod(12, 7)), None)
    );
    assert_eq!(
        parse("加清单 清理河道 周日", &ctx),
        add("清理河道", &[], Some(eod(12, 6)), None)
    );
    // Leap year: 2月29日 is fine in 2028.
    let jan = NaiveDate::from_ymd_opt(2028, 1, 10).expect("date");
    let ctx = ParseCtx {
        today: jan,
        now: at_y(2028, 1, 10, 9, 0, 0),
        bot_names: &bots,
    };
    assert_eq!(
        parse("加清单 清理河道 2月29日", &ctx),
        add("清理河道", &[], Some(at_y(2028, 2, 29, 23, 59, 59)), None)
    );
}

/// 排名 and its alias; 上月 asks for last month, other words for this month.
fn rank_cases() -> Vec<Case> {
    let this = Ok(Command::Rank { last_month: false });
    let last = Ok(Command::Rank { last_month: true });
    vec![
        case("排名", this.clone(), "排名"),
        case("/rank", this.clone(), "alias /rank"),
        case("/RANK", this.clone(), "upper-case alias"),
        case("@联村助手 排名", this.clone(), "mention then command"),
        case("排名 本月", this.clone(), "本月 is the default"),
        case("排名：上月", last.clone(), "full-width colon then 上月"),
        case("排名 上个月", last.clone(), "上个月"),
        case("/rank last", last, "ASCII last month"),
        case(
            "/ranking",
            Err(ParseError::NotACommand),
            "/rank must end at a word boundary",
        ),
    ]
}

#[test]
fn rank() {
    assert_eq!(check(rank_cases()), 9);
}

/// PRODUCT.md's table of who may use which command: each command's
/// [`CommandKind::who_may`] checked by [`crate::domain::role::may`].
mod who_may {
    use super::CommandKind::*;
    use crate::domain::role::actors::{ADMIN, GROUP_ADMIN, LEADER, MEMBER, VILLAGER};
    use crate::domain::role::{Policy, WhoMay, may};

    #[test]
    fn the_product_table() {
        let strict = Policy {
            members_may_plan: false,
        };
        // (actor, kind, allowed, why)
        let cases = [
            (LEADER, Plan, true, "leader publishes the plan"),
            (
                MEMBER,
                Plan,
                false,
                "members may not publish unless the township allows",
            ),
            (VILLAGER, Plan, false, "villagers never publish"),
            (MEMBER, AddTasks, true, "members add tasks"),
            (VILLAGER, AddTasks, false, "villagers do not add tasks"),
            (VILLAGER, List, true, "anyone sees the list"),
            (MEMBER, Serve, true, "members record services"),
            (VILLAGER, Serve, false, "villagers do not record services"),
            (VILLAGER, Visit, false, "villagers do not record visits"),
            (
                MEMBER,
                Close,
                true,
                "members pass the command check; task owner checked later",
            ),
            (VILLAGER, Close, false, "villagers do not close tasks"),
            (MEMBER, Cancel, false, "only the leader cancels"),
            (LEADER, Cancel, true, "the leader cancels"),
            (VILLAGER, Rate, true, "villagers rate"),
            (MEMBER, Rate, false, "members cannot rate their own team"),
            (LEADER, Rate, false, "the leader cannot rate their own team"),
            (
                GROUP_ADMIN,
                Rate,
                true,
                "a group admin off the team is a villager here",
            ),
            (VILLAGER, Request, true, "anyone raises a request"),
            (VILLAGER, Bind, false, "binding needs a group admin"),
            (LEADER, Bind, false, "a leader is not a group admin"),
            (GROUP_ADMIN, Bind, true, "group admins bind"),
            (LEADER, SetMember, true, "leaders set members"),
            (MEMBER, SetLeader, false, "members do not set roles"),
            (GROUP_ADMIN, SetLeader, true, "group admins set roles"),
            (ADMIN, Cancel, true, "admins may use every command"),
            (ADMIN, Bind, true, "admins may use every command"),
            (VILLAGER, Help, true, "anyone gets help"),
        ];
        for (actor, kind, allowed, why) in cases {
            assert_eq!(
                may(actor, kind.who_may(), strict).is_ok(),
                allowed,
                "{why}: {actor:?} {kind:?}"
            );
        }
        assert!(
            may(
                MEMBER,
                Plan.who_may(),
                Policy {
                    members_may_plan: true
                }
            )
            .is_ok()
        );
    }

    #[test]
    fn refusals_name_who_may() {
        let p = Policy::default();
        assert_eq!(may(MEMBER, Cancel.who_may(), p), Err(WhoMay::Leader));
        assert_eq!(may(VILLAGER, Bind.who_may(), p), Err(WhoMay::GroupAdmin));
        assert_eq!(may(MEMBER, Rate.who_may(), p), Err(WhoMay::Villagers));
    }

    #[test]
    fn labels_are_distinct_ascii_names() {
        let labels = super::CommandKind::LABELS;
        let mut sorted = labels.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), labels.len(), "{labels:?}");
        assert!(
            labels
                .iter()
                .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')),
            "{labels:?}"
        );
        assert_eq!(Close.label(), "close");
        assert_eq!(AddTasks.label(), "add");
    }
}
