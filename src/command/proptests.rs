//! Property tests of `parse` and `normalize`. The generators are shared
//! with `reply::parse`'s, which feed the parse errors to their sentences.

use chrono::NaiveDate;
use proptest::prelude::*;

use super::*;

/// Runs `f` with the fixed context: Wednesday 2026-12-02 10:00, three bot names.
pub(crate) fn with_ctx<T>(f: impl FnOnce(&ParseCtx<'_>) -> T) -> T {
    let bots = ["村务助手", "小帮手", "联村助手"].map(String::from);
    let today = NaiveDate::from_ymd_opt(2026, 12, 2).expect("valid date");
    let now = today.and_hms_opt(10, 0, 0).expect("valid time");
    f(&ParseCtx {
        today,
        now,
        bot_names: &bots,
    })
}

/// Pieces that the grammar cares about, to build near-miss inputs.
const FRAGMENTS: &[&str] = &[
    "排清单",
    "加清单",
    "清单",
    "看清单",
    "本周清单",
    "服务",
    "走访",
    "走访率",
    "完成",
    "销号",
    "延期",
    "取消",
    "评价",
    "打分",
    "满意",
    "基本满意",
    "不满意",
    "诉求",
    "帮助",
    "绑定",
    "设团长",
    "设团员",
    "/plan",
    "/role",
    "/role leader",
    "/done",
    "?",
    "？",
    "@",
    "＠",
    "@村务助手",
    "＠小帮手",
    "@张三",
    "#",
    "＃",
    "#1",
    "＃３",
    "0",
    "1",
    "9",
    "12",
    "99999999999",
    "１２",
    "、",
    ".",
    "．",
    ")",
    "）",
    "(",
    ":",
    "：",
    ",",
    "，",
    "-",
    "/",
    "周",
    "下周",
    "星期",
    "礼拜",
    "一",
    "三",
    "日",
    "天",
    "末",
    "内",
    "月",
    "号",
    "年",
    "前",
    "之前",
    "截止",
    "到",
    "今天",
    "明天",
    "后天",
    "今晚",
    "上午",
    "下午",
    "晚上",
    "中午",
    "点",
    "半",
    "分",
    "星",
    "十",
    "两",
    "红",
    "红色",
    "橙",
    "黄",
    "绿",
    "【",
    "】",
    "[",
    "]",
    "【红】",
    "🔴",
    "🟢",
    "天内",
    "2026",
    "-12-",
    "24:00",
    "25:00",
    "2月30日",
    " ",
    "  ",
    "\n",
    "\r\n",
    "\u{3000}",
    "\u{2005}",
    "\u{200B}",
    "\u{00A0}",
    "é",
    "𝔘",
    "\u{0301}",
    "\u{FFFD}",
];

/// Text made of the pieces the grammar cares about: near-miss commands.
pub(crate) fn grammarish() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..40).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn normalize_is_idempotent(text in grammarish(), other in any::<String>()) {
        for text in [text, other] {
            let once = normalize(&text, &[]);
            prop_assert_eq!(normalize(&once, &[]), once);
        }
    }

    #[test]
    fn parsed_commands_are_consistent(text in grammarish()) {
        with_ctx(|ctx| {
            match parse(&text, ctx) {
                Ok(Command::Plan { tasks } | Command::AddTasks { tasks }) => {
                    prop_assert!(!tasks.is_empty());
                    for t in &tasks {
                        prop_assert!(!t.text.is_empty());
                        prop_assert!(t.owners.iter().all(|o| !o.is_empty()));
                        if let Some(d) = t.deadline {
                            prop_assert!(d >= ctx.now);
                        }
                    }
                }
                Ok(Command::Close { tasks, result }) => {
                    prop_assert!(!tasks.is_empty() && !result.is_empty());
                    prop_assert!(tasks.iter().all(|t| t.0 > 0));
                }
                Ok(Command::Postpone { deadline, reason, .. }) => {
                    prop_assert!(deadline >= ctx.now && !reason.is_empty());
                }
                _ => {}
            }
            Ok(())
        })?;
    }

    /// A well-formed task line always parses, with its parts in place.
    #[test]
    fn generated_task_lines_parse(
        text in "[清理河道走访农户]{1,8}",
        owner in prop::option::of("[张李王][三四五]"),
        deadline in prop::sample::select(vec!["", "明天", "周日前", "下周三", "3天内", "截止12月5日", "明天 18:00"]),
        level in prop::sample::select(vec!["", "红", "橙色", "【黄】", "🟢"]),
        number in prop::sample::select(vec!["", "1. ", "2、", "3) ", "- "]),
    ) {
        let owner_part = owner.as_ref().map(|o| format!(" @{o}")).unwrap_or_default();
        let line = format!("{number}{text}{owner_part} {deadline} {level}");
        let input = format!("排清单\n{line}");
        with_ctx(|ctx| {
            let parsed = parse(&input, ctx);
            let Ok(Command::Plan { tasks }) = parsed else {
                return Err(TestCaseError::fail(format!("{input:?} gave {parsed:?}")));
            };
            prop_assert_eq!(tasks.len(), 1);
            prop_assert_eq!(&tasks[0].text, &text);
            prop_assert_eq!(tasks[0].owners.len(), usize::from(owner.is_some()));
            prop_assert_eq!(tasks[0].deadline.is_some(), !deadline.is_empty());
            prop_assert_eq!(tasks[0].level.is_some(), !level.is_empty());
            Ok(())
        })?;
    }
}
