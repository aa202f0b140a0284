//! The yearly duties: household visits and their coverage (五上门), hard
//! projects (“1+1”).

use chrono::{Datelike, NaiveDateTime};

use super::{Mention, Reply};

/// Most households listed in one 未走访 reply before "还有 N 户".
pub const MAX_UNVISITED_LISTED: usize = 30;

/// A registered household as shown: 张大爷（3组）.
pub fn household_label(name: &str, subgroup: &str) -> String {
    if subgroup.is_empty() {
        name.to_string()
    } else {
        format!("{name}（{subgroup}组）")
    }
}

/// `registered`: the visit was tied to a household of the village's registry.
pub fn visit_recorded(household: &str, registered: bool, my_count: i64, team_count: i64) -> Reply {
    // One bracket pair: 张大爷家（3组） unregistered reads 张大爷家（3组，未登记农户）.
    let inner = household
        .strip_suffix('）')
        .filter(|h| h.contains('（'))
        .or_else(|| household.strip_suffix(')').filter(|h| h.contains('(')));
    let shown = match (registered, inner) {
        (true, _) => household.to_string(),
        (false, Some(open)) => {
            let close = if household.ends_with('）') {
                '）'
            } else {
                ')'
            };
            format!("{open}，未登记农户{close}")
        }
        (false, None) => format!("{household}（未登记农户）"),
    };
    Reply::text(format!(
        "🏠 已记录走访：{shown}。本周你已走访 {my_count} 户次，全团 {team_count} 户次。"
    ))
}

/// Several registered households answer to the name: which one?
pub fn visit_ambiguous(name: &str, subgroups: &[String]) -> Reply {
    let groups: Vec<String> = subgroups.iter().map(|g| format!("{g}组")).collect();
    let first = subgroups.first().map(String::as_str).unwrap_or("1");
    Reply::text(format!(
        "❓ 登记的「{name}」有 {} 户：{}。这次没有记录，请写明小组重发。\n例：走访 {name}({first}组) 反映的情况",
        subgroups.len(),
        groups.join("、")
    ))
}

fn percent(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        0
    } else {
        (part * 100 + whole / 2) / whole
    }
}

/// 走访率: this year's coverage of the village's registered households.
pub fn coverage(
    village: &str,
    year: i32,
    registered: i64,
    visited: i64,
    unregistered_visits: i64,
) -> Reply {
    let extra = if unregistered_visits > 0 {
        format!("\n另有未登记农户走访 {unregistered_visits} 户次。")
    } else {
        String::new()
    };
    if registered == 0 {
        return Reply::text(format!(
            "📈 {village}还没有导入农户名册，暂不能算走访率。请乡镇管理员导入名册。{extra}"
        ));
    }
    let hint = if visited < registered {
        "\n服务团成员发「走访率 未走访」看还没走访的农户。"
    } else {
        "\n🎉 登记农户已全部走访！"
    };
    Reply::text(format!(
        "📈 {village}{year}年走访覆盖：已走访 {visited}/{registered} 户（{}%）。{extra}{hint}",
        percent(visited, registered)
    ))
}

/// 走访率 未走访: the households not visited this year, grouped by 小组.
/// `households` are (name, subgroup) in subgroup order, at most
/// [`MAX_UNVISITED_LISTED`]; `total` is how many are not visited in all.
pub fn unvisited(village: &str, year: i32, households: &[(String, String)], total: i64) -> Reply {
    if total == 0 {
        return Reply::text(format!("🎉 {village}{year}年登记农户已全部走访。"));
    }
    let mut lines: Vec<String> = Vec::new();
    let mut current: Option<&str> = None;
    for (name, subgroup) in households {
        if current != Some(subgroup.as_str()) {
            let head = if subgroup.is_empty() {
                "未分组".to_string()
            } else {
                format!("{subgroup}组")
            };
            lines.push(format!("{head}：{name}"));
            current = Some(subgroup);
        } else if let Some(last) = lines.last_mut() {
            last.push('、');
            last.push_str(name);
        }
    }
    let more = total - households.len() as i64;
    if more > 0 {
        lines.push(format!("…还有 {more} 户"));
    }
    Reply::text(format!(
        "🏠 {village}{year}年还有 {total} 户未走访：\n{}",
        lines.join("\n")
    ))
}

// ── hard projects ──────────────────────────────────────────────────────────

/// A project as listed.
pub struct ProjectView {
    pub name: String,
    pub done: bool,
    pub updates: i64,
    pub last: Option<(String, NaiveDateTime)>,
}

fn md(t: NaiveDateTime) -> String {
    format!("{}月{}日", t.month(), t.day())
}

pub fn projects(year: i32, list: &[ProjectView]) -> Reply {
    if list.is_empty() {
        return Reply::text(format!(
            "🏗 本团{year}年还没有难点项目（每团每年至少一个）。团长发送：项目 新建 名称"
        ));
    }
    let lines: Vec<String> = list
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let state = if p.done { "✅已完成" } else { "进行中" };
            let last = match &p.last {
                Some((text, at)) => format!("，最近（{}）：{text}", md(*at)),
                None => "，还没有进展".to_string(),
            };
            format!(
                "{}. {} · {state} · 进展 {} 条{last}",
                i + 1,
                p.name,
                p.updates
            )
        })
        .collect();
    Reply::text(format!(
        "🏗 本团{year}年难点项目 {} 个：\n{}",
        list.len(),
        lines.join("\n")
    ))
}

pub fn project_created(name: &str, year: i32, count: i64) -> Reply {
    Reply::text(format!(
        "🏗 已新建难点项目「{name}」（本团{year}年第 {count} 个）。\n有进展请发：项目 进展 {name} 做了什么"
    ))
}

pub fn project_exists(name: &str, year: i32) -> Reply {
    Reply::text(format!(
        "本团{year}年已经有项目「{name}」了。记进展请发：项目 进展 {name} 做了什么"
    ))
}

pub fn project_unknown(name: &str, year: i32, names: &[String]) -> Reply {
    if names.is_empty() {
        return Reply::text(format!(
            "没有项目「{name}」：本团{year}年还没有难点项目。团长发送：项目 新建 {name}"
        ));
    }
    Reply::text(format!(
        "没有项目「{name}」。本团{year}年的项目：{}。\n例：项目 进展 {} 做了什么",
        names.join("、"),
        names[0]
    ))
}

pub fn project_progress(name: &str, count: i64, text: &str) -> Reply {
    Reply::text(format!("📌 已记录「{name}」第 {count} 条进展：{text}"))
}

pub fn project_already_done(name: &str, at: NaiveDateTime) -> Reply {
    Reply::text(format!("「{name}」已于{}完成，不再记录进展。", md(at)))
}

pub fn project_done(name: &str, updates: i64) -> Reply {
    Reply::text(format!(
        "✅ 难点项目「{name}」已完成（共 {updates} 条进展记录），会在本周晾晒中展示。"
    ))
}

/// The once-a-year reminder to a team without a hard project by the due date.
/// The report stored when a project is closed with a bare `项目 完成 NAME`.
pub const PROJECT_DONE_REPORT: &str = "完成";
/// What a refusal of `走访率 未走访` calls the list.
pub const UNVISITED_LIST: &str = "走访率 未走访";
/// The chart's title. Every character is in the bundled font subset.
pub const CHART_TITLE: &str = "近8周走势";
/// The chart's series, in drawing order. Every character is in the bundled font subset.
pub const CHART_SERIES: [&str; 3] = ["销号事项", "服务次数", "走访户次"];

/// `due`: the (month, day) by which a team names its project.
pub fn project_reminder(year: i32, due: (u32, u32), leader: Option<&Mention>) -> Reply {
    let due = format!("{}月{}日", due.0, due.1);
    let who = leader.map(|l| format!("@{} ", l.name)).unwrap_or_default();
    Reply::with_mentions(
        format!(
            "🏗 难点项目提醒：本团{year}年还没有难点项目（“1+1”：每团每年至少领办一个，要求{due}前确定）。{who}请发送：项目 新建 名称"
        ),
        leader.cloned().into_iter().collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unvisited_groups_by_subgroup_and_caps() {
        let hs: Vec<(String, String)> = vec![
            ("张大爷".into(), "3".into()),
            ("李奶奶".into(), "3".into()),
            ("王五".into(), "5".into()),
            ("赵六".into(), String::new()),
        ];
        let r = unvisited("南坞村", 2026, &hs, 40);
        assert_eq!(
            r.text,
            "🏠 南坞村2026年还有 40 户未走访：\n3组：张大爷、李奶奶\n5组：王五\n未分组：赵六\n…还有 36 户"
        );
        assert!(
            unvisited("南坞村", 2026, &[], 0)
                .text
                .contains("已全部走访")
        );
    }

    #[test]
    fn an_unregistered_household_gets_one_bracket_pair() {
        let t = |h: &str| visit_recorded(h, false, 1, 1).text;
        assert!(
            t("张大爷家（3组）").contains("走访：张大爷家（3组，未登记农户）。"),
            "{}",
            t("张大爷家（3组）")
        );
        assert!(t("张大爷(三组)").contains("走访：张大爷(三组，未登记农户)。"));
        assert!(t("张大爷家").contains("走访：张大爷家（未登记农户）。"));
        assert!(
            visit_recorded("张大爷（3组）", true, 1, 1)
                .text
                .contains("走访：张大爷（3组）。")
        );
    }

    #[test]
    fn coverage_percent_and_hints() {
        let r = coverage("南坞村", 2026, 3, 1, 2);
        assert!(r.text.contains("已走访 1/3 户（33%）"), "{}", r.text);
        assert!(r.text.contains("未登记农户走访 2 户次"), "{}", r.text);
        assert!(r.text.contains("走访率 未走访"), "{}", r.text);
        assert!(
            coverage("南坞村", 2026, 0, 0, 0)
                .text
                .contains("还没有导入农户名册")
        );
        assert!(coverage("南坞村", 2026, 2, 2, 0).text.contains("全部走访"));
    }

    #[test]
    fn ambiguous_visit_lists_the_subgroups() {
        let r = visit_ambiguous("张大爷", &["3".into(), "5".into()]);
        assert!(
            r.text.contains("有 2 户：3组、5组") && r.text.contains("没有记录"),
            "{}",
            r.text
        );
        assert!(r.text.contains("走访 张大爷(3组)"), "{}", r.text);
    }
}
