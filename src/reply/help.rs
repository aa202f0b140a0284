//! 帮助: the command list and the help of one command.

use crate::command::CommandKind;

/// Usage and a few words on what the command does, for the list.
fn summary(kind: CommandKind) -> (&'static str, &'static str) {
    match kind {
        CommandKind::Plan => ("排清单 + 每行一项", "发布本周清单"),
        CommandKind::AddTasks => ("加清单 事项", "追加本周事项"),
        CommandKind::List => ("清单", "看本周事项和进度"),
        CommandKind::Serve => ("服务 #N 内容", "记录一次服务"),
        CommandKind::Visit => ("走访 农户 情况", "记录入户走访"),
        CommandKind::Close => ("完成 #N 成效", "事项销号"),
        CommandKind::Postpone => ("延期 #N 日期 原因", "改截止时间"),
        CommandKind::Cancel => ("取消 #N 原因", "取消事项"),
        CommandKind::Assign => ("指派 #N @姓名", "把事项交给人办理"),
        CommandKind::Rate => ("评价 1-5 意见", "给本周工作打分"),
        CommandKind::Request => ("诉求 内容 [等级]", "登记群众诉求"),
        CommandKind::MyRequests => ("我的诉求", "看自己反映的诉求办到哪了"),
        CommandKind::Project => ("项目 新建/进展/完成 名称", "难点项目"),
        CommandKind::Coverage => ("走访率 [未走访]", "今年农户走访覆盖"),
        CommandKind::Rank => ("排名 [上月]", "看本乡镇服务团排名"),
        CommandKind::Bind => ("绑定 乡镇 村 [服务团]", "绑定本群"),
        CommandKind::SetLeader => ("设团长 @姓名", "设置团长"),
        CommandKind::SetMember => ("设团员 @姓名", "设置团员"),
        CommandKind::Help => ("帮助 命令", "看某个命令的说明"),
    }
}

/// What the command does, in one or two sentences.
fn description(kind: CommandKind) -> &'static str {
    match kind {
        CommandKind::Plan => {
            "发布本周清单，命令下面每行一项：内容 @负责人 截止时间 等级。\n\
             截止可写 明天、周五前、下周三、12月5日、3天内、下午6点；不写按等级时限，最晚周日。\n\
             等级：红 橙 黄 绿（也可写【红】或🔴），不写为绿；不@人则负责人是自己。"
        }
        CommandKind::AddTasks => "往本周清单追加事项，写法和排清单一样，可一次加多行。",
        CommandKind::List => {
            "查看本周清单里的事项、负责人、截止时间和办理进度；往周没销号的标【结转】，排在前面。"
        }
        CommandKind::Serve => "记录一次服务；写上 #编号 就记到那个事项下。",
        CommandKind::Visit => "记录一次入户走访：先写农户，再写群众反映的情况。",
        CommandKind::Close => "事项办结销号，写明成效；可一次销号几项，如 #1 #3。",
        CommandKind::Postpone => {
            "把一个事项的截止时间往后延，要写新日期和原因。\n\
             日期可写 明天、周五、下周三、12月5日、3天内。"
        }
        CommandKind::Cancel => "取消一个不再需要办的事项，要写原因。",
        CommandKind::Assign => {
            "把事项交给 @ 的人办理，他们成为新的负责人；常用于群众诉求转来的事项。"
        }
        CommandKind::Rate => {
            "给服务团本周的工作打分，1到5分，可附意见；\n\
             也可直接发 满意（5分）、基本满意（3分）、不满意（1分）。每人每周以最后一次为准。"
        }
        CommandKind::Request => "登记群众诉求，会转成事项由团长分派；可在末尾写等级，不写为黄。",
        CommandKind::MyRequests => {
            "看自己反映过的诉求：谁在办、什么时候办结、办得怎么样。指派和办结时也会在群里 @ 你。"
        }
        CommandKind::Rank => {
            "看本乡镇服务团本月到目前的排名（前10名和本团名次）；排名 上月 看上个月。\n\
             计分只看成效：按时销号、诉求办结、走访覆盖、群众评价、难点项目。"
        }
        CommandKind::Bind => "把本群绑定到乡镇、村和服务团（服务团名可不写）。",
        CommandKind::SetLeader => "设置团长，@ 要设置的人。",
        CommandKind::SetMember => "设置团员，可一次 @ 多人。",
        CommandKind::Project => {
            "难点项目（每团每年至少一个）：项目 新建 名称；项目 进展 名称 做了什么；项目 完成 名称。\n\
             只发「项目」看今年的项目。名称不要有空格。"
        }
        CommandKind::Coverage => {
            "看本村今年登记农户的走访覆盖率；服务团成员发「走访率 未走访」看还没走访的农户，按小组列出。"
        }
        CommandKind::Help => "查看全部命令，或某个命令的说明。",
    }
}

/// Who may use the command (as the README's command table says).
fn who_may(kind: CommandKind) -> &'static str {
    match kind {
        CommandKind::Plan => "团长（乡镇允许时团员也可）",
        CommandKind::AddTasks | CommandKind::Serve | CommandKind::Visit => "团长、团员",
        CommandKind::Close | CommandKind::Postpone => "事项负责人、团长",
        CommandKind::Cancel | CommandKind::Assign => "团长",
        CommandKind::Project => "团长（只发「项目」看列表：所有人）",
        CommandKind::Rate => "村民（服务团成员不能给本团打分）",
        CommandKind::List
        | CommandKind::Request
        | CommandKind::MyRequests
        | CommandKind::Rank
        | CommandKind::Help => "所有人",
        CommandKind::Coverage => "所有人（「未走访」名单：服务团成员）",
        CommandKind::Bind => "群管理员（本群首次绑定）、乡镇管理员（也可改绑）",
        CommandKind::SetLeader | CommandKind::SetMember => "群管理员、团长",
    }
}

/// A second example where one helps.
fn second_example(kind: CommandKind) -> Option<&'static str> {
    match kind {
        CommandKind::Close => Some("销号 #2 已帮王大妈办好医保"),
        CommandKind::Rate => Some("满意 路灯修得快"),
        CommandKind::Serve => Some("服务 帮五保户张奶奶买药"),
        CommandKind::Postpone => Some("延期 #3 12月20日 等施工队进场"),
        CommandKind::Request => Some("反映 村口垃圾没人清运"),
        _ => None,
    }
}

/// The command list: one short line per command.
pub fn help_all() -> String {
    let mut out = String::from("联村助手命令（发「帮助 命令」看详细说明）：");
    for (i, kind) in CommandKind::ALL.iter().enumerate() {
        let (usage, what) = summary(*kind);
        out.push_str(&format!("\n{}. {usage} — {what}", i + 1));
    }
    out
}

/// The help of one command: what it does, who may use it, its aliases and
/// an example or two.
pub fn help_for(kind: CommandKind) -> String {
    let words = kind.words();
    let name = words.first().copied().unwrap_or_default();
    let mut out = format!("【{name}】{}\n谁可用：{}", description(kind), who_may(kind));
    if let Some(aliases) = words.get(1..).filter(|a| !a.is_empty()) {
        out.push_str(&format!("\n也可写：{}", aliases.join("、")));
    }
    let example = kind.example();
    if example.contains('\n') {
        out.push_str(&format!("\n例：\n{example}"));
    } else {
        out.push_str(&format!("\n例：{example}"));
    }
    if let Some(second) = second_example(kind) {
        out.push_str(&format!("\n例：{second}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{ParseCtx, parse};
    use chrono::NaiveDate;

    fn ctx_parse(text: &str) -> Result<crate::command::Command, crate::command::ParseError> {
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
        let now = today.and_hms_opt(10, 0, 0).expect("time");
        parse(
            text,
            &ParseCtx {
                today,
                now,
                bot_names: &[],
            },
        )
    }

    fn is_cjk(c: char) -> bool {
        ('\u{4E00}'..='\u{9FFF}').contains(&c)
    }

    #[test]
    fn every_kind_has_chinese_word_first_and_a_slash_alias() {
        for kind in CommandKind::ALL {
            let words = kind.words();
            assert!(!words.is_empty(), "{kind:?} has no words");
            assert!(
                words[0].chars().all(is_cjk),
                "{kind:?}: first word {:?} is not Chinese",
                words[0]
            );
            assert!(
                words.iter().any(|w| w.starts_with('/') && w.is_ascii()),
                "{kind:?} has no ASCII /alias"
            );
            // Chinese words come before ASCII ones.
            let first_ascii = words
                .iter()
                .position(|w| w.is_ascii())
                .unwrap_or(words.len());
            assert!(
                words[first_ascii..].iter().all(|w| w.is_ascii()),
                "{kind:?}: Chinese word after an ASCII alias"
            );
        }
    }

    #[test]
    fn every_example_parses_to_its_kind() {
        for kind in CommandKind::ALL {
            let parsed = ctx_parse(kind.example());
            assert_eq!(parsed.map(|c| c.kind()), Ok(kind), "example of {kind:?}");
            if let Some(second) = second_example(kind) {
                assert_eq!(
                    ctx_parse(second).map(|c| c.kind()),
                    Ok(kind),
                    "second example of {kind:?}"
                );
            }
        }
    }

    #[test]
    fn every_word_parses_to_its_kind_in_help() {
        for kind in CommandKind::ALL {
            for word in kind.words() {
                let parsed = ctx_parse(&format!("帮助 {word}"));
                assert_eq!(
                    parsed,
                    Ok(crate::command::Command::Help { topic: Some(kind) }),
                    "帮助 {word}"
                );
            }
        }
    }

    #[test]
    fn list_has_one_line_per_command_and_fits_a_phone() {
        let all = help_all();
        assert_eq!(all.lines().count(), CommandKind::ALL.len() + 1);
        for line in all.lines() {
            assert!(
                line.chars().count() <= 30,
                "line too long for a phone: {line:?}"
            );
        }
        for kind in CommandKind::ALL {
            assert!(
                all.contains(kind.words()[0]),
                "{kind:?} missing from the list"
            );
        }
    }

    #[test]
    fn help_says_what_the_commands_now_do() {
        // A group admin alone cannot take a bound group over (README, security).
        assert!(
            help_for(CommandKind::Bind)
                .contains("谁可用：群管理员（本群首次绑定）、乡镇管理员（也可改绑）")
        );
        assert!(help_for(CommandKind::List).contains("【结转】"));
        assert!(help_for(CommandKind::Postpone).contains("往后延"));
        assert!(help_for(CommandKind::MyRequests).contains("也可写：诉求进度"));
    }

    #[test]
    fn help_for_names_who_aliases_and_example() {
        for kind in CommandKind::ALL {
            let help = help_for(kind);
            assert!(help.contains("谁可用："), "{kind:?}: {help}");
            assert!(help.contains("例："), "{kind:?}: {help}");
            assert!(help.contains(kind.example()), "{kind:?}: {help}");
            for word in &kind.words()[1..] {
                assert!(help.contains(word), "{kind:?} help lacks alias {word}");
            }
        }
    }
}
