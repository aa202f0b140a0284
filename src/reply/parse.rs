//! Replies to messages that could not be parsed: what was wrong, then
//! "例：" and a correct example.

use chrono::Weekday;

use crate::command::{CommandKind, ParseError, TaskLineError, what};

/// Longest piece of the user's own text quoted back.
const MAX_QUOTE_CHARS: usize = 24;

/// Deadline forms, for replies about dates.
const DATE_FORMS: &str = "明天、周五前、下周三、12月5日、3天内、下午6点";

/// An example task line whose deadline is never in the past.
const TASK_LINE_EXAMPLE: &str = "1. 清理村口河道 @张三 周日前 红";

/// The user's text, shortened for a phone screen.
fn quote(s: &str) -> String {
    if s.chars().count() <= MAX_QUOTE_CHARS {
        s.to_string()
    } else {
        let head: String = s.chars().take(MAX_QUOTE_CHARS - 1).collect();
        format!("{head}…")
    }
}

fn name(kind: CommandKind) -> &'static str {
    kind.words().first().copied().unwrap_or_default()
}

fn weekday_cn(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "一",
        Weekday::Tue => "二",
        Weekday::Wed => "三",
        Weekday::Thu => "四",
        Weekday::Fri => "五",
        Weekday::Sat => "六",
        Weekday::Sun => "日",
    }
}

/// What a missing argument is, as the rest of "「完成」…".
fn missing(what: &str) -> &'static str {
    match what {
        what::TASK_NO => "要写事项编号，如 #1",
        what::RESULT => "要写办理成效",
        what::REASON => "要写原因",
        what::DEADLINE => "要写新的截止时间，如 下周三、12月5日、3天内",
        what::HOUSEHOLD => "要写走访的农户",
        what::TEXT => "要写具体内容",
        what::VILLAGE => "要写乡镇和村名",
        what::NAMES => "要 @ 要设置的人",
        what::ASSIGNEES => "要 @ 办理的人",
        what::SCORE => "要写评分：1到5分，或 满意、基本满意、不满意",
        what::PROJECT_NAME => "要写项目名称",
        what::PROGRESS => "要写项目名称和进展内容",
        _ => "缺少内容",
    }
}

fn example_line(example: &str) -> String {
    if example.contains('\n') {
        format!("例：\n{example}")
    } else {
        format!("例：{example}")
    }
}

/// "「周一」已经过了" plus the 下周一 hint when 周X of this week was meant.
fn past(got: &str, this_week_day: Option<Weekday>) -> String {
    match this_week_day {
        Some(day) => format!(
            "「{}」已经过了，下周的请写「下周{}」",
            quote(got),
            weekday_cn(day)
        ),
        None => format!("「{}」已经过了", quote(got)),
    }
}

/// What was wrong with one task line.
fn task_line_problem(why: &TaskLineError) -> (String, String) {
    let example = |deadline: &str| format!("1. 清理村口河道 @张三 {deadline} 红");
    match why {
        TaskLineError::EmptyText => ("缺少事项内容".to_string(), TASK_LINE_EXAMPLE.to_string()),
        TaskLineError::BadDeadline { got } => (
            format!("看不懂日期「{}」", quote(got)),
            TASK_LINE_EXAMPLE.to_string(),
        ),
        TaskLineError::DeadlineInPast { got, this_week_day } => (
            past(got, *this_week_day),
            match this_week_day {
                Some(day) => example(&format!("下周{}", weekday_cn(*day))),
                None => example("明天"),
            },
        ),
        TaskLineError::TwoDeadlines => (
            "写了两个截止时间，只留一个".to_string(),
            TASK_LINE_EXAMPLE.to_string(),
        ),
        TaskLineError::TwoLevels => (
            "写了两个等级，只留一个（红橙黄绿）".to_string(),
            TASK_LINE_EXAMPLE.to_string(),
        ),
        TaskLineError::EmptyOwner => (
            "@ 后面要写负责人姓名".to_string(),
            TASK_LINE_EXAMPLE.to_string(),
        ),
    }
}

/// The example of a command; with `typed` (the task number the sender
/// wrote), one that names that task, so copying it never touches another.
fn example_for(kind: CommandKind, typed: Option<u32>) -> String {
    match (kind, typed) {
        (CommandKind::Close, Some(n)) => format!("完成 #{n} 已协调到位"),
        (CommandKind::Postpone, Some(n)) => format!("延期 #{n} 下周三 等待镇里批复"),
        (CommandKind::Cancel, Some(n)) => format!("取消 #{n} 不用办了"),
        (CommandKind::Assign, Some(n)) => format!("指派 #{n} @李四"),
        (CommandKind::Serve, Some(n)) => format!("服务 #{n} 帮王大妈办医保"),
        _ => kind.example().to_string(),
    }
}

/// The reply to a message that could not be parsed: one or two short lines
/// on what was wrong, then "例：" and a correct example. `typed`: the task
/// number the sender wrote (see [`crate::command::TaskNo::first_in`]).
pub fn parse_error(e: &ParseError, typed: Option<u32>) -> String {
    match e {
        ParseError::Empty => "在的！发送「帮助」查看可用命令。\n例：清单".to_string(),
        ParseError::NotACommand => format!("{}\n例：帮助", not_a_command()),
        ParseError::TooLong {
            max_chars,
            got_chars,
        } => format!(
            "消息太长（{got_chars}字），一条最多{max_chars}字，请分几条发。\n{}",
            example_line(CommandKind::AddTasks.example())
        ),
        ParseError::MissingArgument { kind, what } => format!(
            "「{}」{}。\n{}",
            name(*kind),
            missing(what),
            example_line(&example_for(*kind, typed))
        ),
        ParseError::BadTaskLine {
            kind: _,
            line_no,
            line,
            why,
        } => {
            let (problem, example) = task_line_problem(why);
            format!(
                "第{line_no}行「{}」：{problem}。清单没有保存，改好后请重发。\n例：{example}",
                quote(line)
            )
        }
        ParseError::NoTasks { kind } => format!(
            "「{}」后面要写事项，每行一项。\n{}",
            name(*kind),
            example_line(kind.example())
        ),
        ParseError::BadTaskNo { kind, got } => format!(
            "「{}」不是事项编号，请写 # 加数字，如 #2。\n{}",
            quote(got),
            example_line(kind.example())
        ),
        ParseError::OneTaskOnly { kind } => format!(
            "「{}」一次只能写一个事项编号。\n{}",
            name(*kind),
            example_line(&example_for(*kind, typed))
        ),
        ParseError::BadDeadline { kind, got } => format!(
            "看不懂日期「{}」，可写 {DATE_FORMS}。\n{}",
            quote(got),
            example_line(&example_for(*kind, typed))
        ),
        ParseError::DeadlineInPast {
            kind,
            got,
            this_week_day,
        } => {
            let example = match (kind, this_week_day) {
                (CommandKind::Postpone, Some(day)) => format!(
                    "延期 #{} 下周{} 等待镇里批复",
                    typed.unwrap_or(2),
                    weekday_cn(*day)
                ),
                _ => example_for(*kind, typed),
            };
            format!(
                "{}。\n{}",
                past(got, *this_week_day),
                example_line(&example)
            )
        }
        ParseError::TwoLevels { kind } => format!(
            "只能写一个等级（红、橙、黄、绿）。\n{}",
            example_line(&example_for(*kind, typed))
        ),
        ParseError::BadScore { got } => format!(
            "评分「{}」不对，请写1到5分，或 满意、基本满意、不满意。\n{}",
            quote(got),
            example_line(CommandKind::Rate.example())
        ),
        ParseError::BadRole { got } if got.is_empty() => {
            "/role 后面要写 leader（团长）或 member（团员）。\n例：/role member @李四".to_string()
        }
        ParseError::BadRole { got } => format!(
            "/role 后面要写 leader（团长）或 member（团员），不是「{}」。\n例：/role member @李四",
            quote(got)
        ),
        ParseError::BadProjectAction { got } => format!(
            "「项目」后面要写 新建、进展 或 完成，不是「{}」。\n例：项目 新建 村道硬化\n项目 进展 村道硬化 路基完成\n项目 完成 村道硬化",
            quote(got)
        ),
        ParseError::BadProjectName { got } => format!(
            "项目名称「{}」不行：不能有空格，最多{}个字。\n例：项目 新建 村道硬化",
            quote(got),
            crate::command::MAX_PROJECT_NAME
        ),
        ParseError::BadCoverageArg { got } => format!(
            "「走访率」后面只能写「未走访」，不是「{}」。\n例：走访率　或　走访率 未走访",
            quote(got)
        ),
    }
}

/// The one-line hint for a message that is no command.
pub fn not_a_command() -> String {
    "没看懂这条消息。发送「帮助」查看可用命令。".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::TaskLineError;

    fn every_error() -> Vec<ParseError> {
        let kind = CommandKind::Postpone;
        let mut errors = vec![
            ParseError::Empty,
            ParseError::NotACommand,
            ParseError::TooLong {
                max_chars: 4000,
                got_chars: 4100,
            },
            ParseError::NoTasks {
                kind: CommandKind::Plan,
            },
            ParseError::BadTaskNo {
                kind,
                got: "#abc".into(),
            },
            ParseError::OneTaskOnly { kind },
            ParseError::BadDeadline {
                kind,
                got: "2月30日".into(),
            },
            ParseError::DeadlineInPast {
                kind,
                got: "周一".into(),
                this_week_day: Some(Weekday::Mon),
            },
            ParseError::DeadlineInPast {
                kind,
                got: "11月1日".into(),
                this_week_day: None,
            },
            ParseError::TwoLevels {
                kind: CommandKind::Request,
            },
            ParseError::BadScore { got: "6分".into() },
            ParseError::BadRole { got: "boss".into() },
            ParseError::BadRole { got: String::new() },
            ParseError::BadProjectAction {
                got: "开始".into()
            },
            ParseError::BadProjectName {
                got: "村道 硬化".into(),
            },
            ParseError::BadCoverageArg {
                got: "全部".into()
            },
        ];
        let whats = [
            what::TASK_NO,
            what::RESULT,
            what::REASON,
            what::DEADLINE,
            what::HOUSEHOLD,
            what::TEXT,
            what::VILLAGE,
            what::NAMES,
            what::ASSIGNEES,
            what::SCORE,
            what::PROJECT_NAME,
            what::PROGRESS,
        ];
        for kind in CommandKind::ALL {
            for what in whats {
                errors.push(ParseError::MissingArgument { kind, what });
            }
        }
        let whys = [
            TaskLineError::EmptyText,
            TaskLineError::BadDeadline {
                got: "2月30日".into(),
            },
            TaskLineError::DeadlineInPast {
                got: "周一".into(),
                this_week_day: Some(Weekday::Mon),
            },
            TaskLineError::DeadlineInPast {
                got: "上午9点".into(),
                this_week_day: None,
            },
            TaskLineError::TwoDeadlines,
            TaskLineError::TwoLevels,
            TaskLineError::EmptyOwner,
        ];
        for why in whys {
            errors.push(ParseError::BadTaskLine {
                kind: CommandKind::Plan,
                line_no: 3,
                line: "2、走访3组10户农户 @李四 @王五 周一 这一行特别特别特别长需要截断".into(),
                why,
            });
        }
        errors
    }

    #[test]
    fn every_error_says_what_and_gives_an_example() {
        for e in every_error() {
            let text = parse_error(&e, None);
            assert!(!text.is_empty(), "{e:?}");
            assert!(text.contains("例："), "{e:?}: {text}");
            let first = text.lines().next().unwrap_or_default();
            assert!(
                first.chars().count() <= 80,
                "{e:?}: first line too long: {first}"
            );
        }
    }

    #[test]
    fn specific_wording() {
        let past_monday = ParseError::DeadlineInPast {
            kind: CommandKind::Postpone,
            got: "周一".into(),
            this_week_day: Some(Weekday::Mon),
        };
        let text = parse_error(&past_monday, None);
        assert!(text.contains("下周一"), "{text}");
        assert!(text.contains("延期 #2 下周一"), "{text}");

        let line = ParseError::BadTaskLine {
            kind: CommandKind::Plan,
            line_no: 3,
            line: "清理 2月30日".into(),
            why: TaskLineError::BadDeadline {
                got: "2月30日".into(),
            },
        };
        let text = parse_error(&line, None);
        assert!(text.starts_with("第3行「清理 2月30日」"), "{text}");
        assert!(text.contains("2月30日"), "{text}");

        let long = "很".repeat(100);
        assert!(parse_error(&ParseError::BadScore { got: long }, None).contains('…'));
    }

    #[test]
    fn the_example_names_the_task_the_sender_typed() {
        use crate::command::{ParseCtx, TaskNo, parse};
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 3).expect("date");
        let ctx = ParseCtx {
            today,
            now: today.and_hms_opt(10, 0, 0).expect("time"),
            bot_names: &[],
        };
        for (sent, kind) in [
            ("延期 #7 明天", CommandKind::Postpone),
            ("延期 #7", CommandKind::Postpone),
            ("延期 ＃7 周一 等批复", CommandKind::Postpone),
            ("延期 #7 后年 等批复", CommandKind::Postpone),
            ("取消 #7", CommandKind::Cancel),
            ("完成 #7", CommandKind::Close),
            ("指派 #7", CommandKind::Assign),
        ] {
            let e = parse(sent, &ctx).expect_err(sent);
            let text = parse_error(&e, TaskNo::first_in(sent));
            let example = text
                .lines()
                .find_map(|l| l.strip_prefix("例："))
                .unwrap_or_else(|| panic!("{sent}: {text}"));
            assert!(
                example.contains("#7") && !example.contains("#2") && !example.contains("#4"),
                "{sent}: {text}"
            );
            let again = parse(example, &ctx).unwrap_or_else(|e| panic!("{sent}: {example}: {e:?}"));
            assert_eq!(again.kind(), kind, "{sent}: {example}");
        }
        assert_eq!(TaskNo::first_in("延期 #12 明天"), Some(12));
        assert_eq!(TaskNo::first_in("延期 明天 #0"), None);
        assert_eq!(TaskNo::first_in("延期 明天"), None);
    }

    #[test]
    fn not_a_command_is_one_line_pointing_at_help() {
        let text = not_a_command();
        assert_eq!(text.lines().count(), 1);
        assert!(text.contains("帮助"));
    }
}

/// Whatever is typed, parsing it and saying what was wrong never panics.
#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::parse_error;
    use crate::command::parse;
    use crate::command::proptests::{grammarish, with_ctx};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics_on_arbitrary_text(text in any::<String>()) {
            with_ctx(|ctx| {
                if let Err(e) = parse(&text, ctx) {
                    let _ = parse_error(&e, None);
                }
            });
        }

        #[test]
        fn never_panics_on_grammar_fragments(text in grammarish()) {
            with_ctx(|ctx| {
                if let Err(e) = parse(&text, ctx) {
                    prop_assert!(parse_error(&e, None).contains("例："));
                }
                Ok(())
            })?;
        }
    }
}
