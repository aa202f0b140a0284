//! 排名 and 先锋: the monthly ranking as the group, the township admins and
//! the pioneers' announcement see it.

use super::Reply;
pub use crate::domain::ranking::RankLine;

fn line(r: &RankLine) -> String {
    let medal = match r.place {
        1 => "🥇",
        2 => "🥈",
        3 => "🥉",
        _ => "",
    };
    format!("{}{}. {} {}分", medal, r.place, r.team, r.score)
}

fn lines(rs: &[RankLine]) -> String {
    rs.iter().map(line).collect::<Vec<_>>().join("\n")
}

/// The line naming what the score counts (never online time or messages).
const BASIS: &str = "计分：按时销号、诉求办结、走访覆盖、群众评价、难点项目";

/// Most teams named on the 数据不足 line.
const MAX_IDLE_NAMED: usize = 10;

fn own(mine: Option<&RankLine>, own_idle: bool, total: usize) -> String {
    match mine {
        Some(m) => format!("本团：第 {} 名 / 共 {total} 个团，{}分", m.place, m.score),
        None if own_idle => {
            format!("本团：当月没有工作记录，数据不足，不排名（共 {total} 个团有名次）")
        }
        None => format!("共 {total} 个团"),
    }
}

/// The teams without data, after the ranked ones: no place, no score.
fn idle_line(idle: &[String]) -> String {
    if idle.is_empty() {
        return String::new();
    }
    let mut names = idle
        .iter()
        .take(MAX_IDLE_NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join("、");
    if idle.len() > MAX_IDLE_NAMED {
        names.push_str(&format!(" 等 {} 个", idle.len()));
    }
    format!("\n数据不足（当月无工作记录，不排名）：{names}")
}

/// The one line of a ranking in which no team has data.
fn nobody(township: &str, month: u32) -> Reply {
    Reply::text(format!(
        "{township} {month}月各服务团都还没有工作记录，数据不足，暂不排名。"
    ))
}

/// 排名: this month so far — the top teams and the asking group's own place.
/// `idle`: the teams without data (no place, no score); `own_idle`: the
/// asking group's team is one of them.
#[allow(clippy::too_many_arguments)]
pub fn ranking(
    township: &str,
    month: u32,
    as_of_day: u32,
    top: &[RankLine],
    mine: Option<&RankLine>,
    own_idle: bool,
    total: usize,
    idle: &[String],
) -> Reply {
    if top.is_empty() && !idle.is_empty() {
        return nobody(township, month);
    }
    if top.is_empty() {
        return Reply::text(format!("{township} {month}月还没有可排名的服务团。"));
    }
    Reply::text(format!(
        "🏆 {township} {month}月排名（截至{month}月{as_of_day}日）\n{}{}\n{}\n{BASIS}",
        lines(top),
        idle_line(idle),
        own(mine, own_idle, total)
    ))
}

/// monthly_ranking, to a group: its own place and the top three of last month.
pub fn monthly_group(
    township: &str,
    month: u32,
    top: &[RankLine],
    mine: Option<&RankLine>,
    own_idle: bool,
    total: usize,
) -> Reply {
    if top.is_empty() {
        return nobody(township, month);
    }
    Reply::text(format!(
        "🏆 {township} {month}月服务团排名\n{}\n{}\n{BASIS}。发送「排名」看本月进度。",
        lines(top),
        own(mine, own_idle, total)
    ))
}

pub fn monthly_title(month: u32) -> String {
    format!("{month}月服务团排名")
}

/// A pioneer candidate as listed to the admins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The id to confirm with.
    pub id: i64,
    pub name: String,
    pub why: String,
}

fn candidate_lines(label: &str, cs: &[Candidate]) -> String {
    if cs.is_empty() {
        return format!("{label}：暂无");
    }
    let items: Vec<String> = cs
        .iter()
        .map(|c| format!("  [{}] {}（{}）", c.id, c.name, c.why))
        .collect();
    format!("{label}：\n{}", items.join("\n"))
}

/// monthly_ranking, to the township admins: the whole list and the pioneer
/// candidates, with the ids to confirm them by.
pub fn monthly_admin(
    township: &str,
    month: u32,
    all: &[RankLine],
    idle: &[String],
    project: &[Candidate],
    diligence: &[Candidate],
    innovation: &[Candidate],
) -> Reply {
    if all.is_empty() {
        return nobody(township, month);
    }
    Reply::text(format!(
        "🏆 {township} {month}月服务团排名（共 {} 个团）\n{}{}\n{BASIS}\n\n\
         先锋候选（每类请确认 2 名，[ ] 内为编号）：\n{}\n{}\n{}\n\
         创新先锋由乡镇提名；确认请在管理后台操作。",
        all.len(),
        lines(all),
        idle_line(idle),
        candidate_lines("项目先锋", project),
        candidate_lines("勤勉先锋", diligence),
        candidate_lines("创新先锋", innovation),
    ))
}

/// The pioneers announced in the groups once confirmed.
pub fn pioneers(
    township: &str,
    month: u32,
    project: &[String],
    diligence: &[String],
    innovation: &[String],
) -> Reply {
    Reply::text(format!(
        "🎖 {township} {month}月先锋\n项目先锋：{}\n勤勉先锋：{}\n创新先锋：{}\n向他们学习，为他们点赞！",
        project.join("、"),
        diligence.join("、"),
        innovation.join("、"),
    ))
}

pub fn pioneers_title(month: u32) -> String {
    format!("{month}月先锋")
}

/// Why a team is a 项目先锋 candidate.
/// A team as a 项目先锋 candidate: `南坞村南坞服务团（团长张三）`.
pub fn team_with_leader(team: &str, leader: Option<&str>) -> String {
    match leader {
        Some(leader) => format!("{team}（团长{leader}）"),
        None => team.to_string(),
    }
}

pub fn project_why(done_in_month: i64, updated: i64) -> String {
    match (done_in_month, updated) {
        (0, u) => format!("难点项目本月有进展 {u} 个"),
        (d, 0) => format!("本月完成难点项目 {d} 个"),
        (d, u) => format!("本月完成难点项目 {d} 个，有进展 {u} 个"),
    }
}

/// Why a member is a 勤勉先锋 candidate.
pub fn diligence_why(team: &str, services: i64, visits: i64, on_time: i64) -> String {
    format!("{team}，服务 {services} 次、走访 {visits} 户次、按时销号 {on_time} 项")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(place: usize, team: &str, score: &str) -> RankLine {
        RankLine {
            place,
            team: team.into(),
            score: score.into(),
        }
    }

    #[test]
    fn the_ranking_reply_is_short_and_names_the_own_place() {
        let top = vec![
            r(1, "南坞村 南坞服务团", "86.5"),
            r(2, "大陈村 大陈服务团", "80.0"),
        ];
        let mine = r(7, "贺村 贺村服务团", "61.2");
        let t = ranking("凤林镇", 11, 18, &top, Some(&mine), false, 12, &[]).text;
        assert_eq!(
            t,
            "🏆 凤林镇 11月排名（截至11月18日）\n🥇1. 南坞村 南坞服务团 86.5分\n🥈2. 大陈村 大陈服务团 80.0分\n\
             本团：第 7 名 / 共 12 个团，61.2分\n计分：按时销号、诉求办结、走访覆盖、群众评价、难点项目"
        );
        assert!(
            ranking("凤林镇", 11, 18, &[], None, false, 0, &[])
                .text
                .contains("还没有")
        );
    }

    #[test]
    fn teams_without_data_get_no_medal() {
        let top = vec![r(1, "南坞村 南坞服务团", "86.5")];
        let idle = vec!["大陈村 大陈服务团".to_string()];
        let t = ranking("凤林镇", 11, 18, &top, None, true, 1, &idle).text;
        assert_eq!(
            t,
            "🏆 凤林镇 11月排名（截至11月18日）\n🥇1. 南坞村 南坞服务团 86.5分\n\
             数据不足（当月无工作记录，不排名）：大陈村 大陈服务团\n\
             本团：当月没有工作记录，数据不足，不排名（共 1 个团有名次）\n\
             计分：按时销号、诉求办结、走访覆盖、群众评价、难点项目"
        );
        let none = ranking("凤林镇", 11, 18, &[], None, true, 0, &idle).text;
        assert_eq!(
            none,
            "凤林镇 11月各服务团都还没有工作记录，数据不足，暂不排名。"
        );
        assert_eq!(monthly_group("凤林镇", 11, &[], None, true, 0).text, none);
        assert!(
            !monthly_admin("凤林镇", 11, &[], &idle, &[], &[], &[])
                .text
                .contains("🥇")
        );
    }

    #[test]
    fn the_admin_message_lists_candidates_with_ids() {
        let c = vec![Candidate {
            id: 4,
            name: "南坞村 南坞服务团".into(),
            why: project_why(1, 0),
        }];
        let t = monthly_admin(
            "凤林镇",
            11,
            &[r(1, "南坞村 南坞服务团", "86.5")],
            &[],
            &c,
            &[],
            &[],
        )
        .text;
        assert!(
            t.contains("[4] 南坞村 南坞服务团（本月完成难点项目 1 个）"),
            "{t}"
        );
        assert!(t.contains("勤勉先锋：暂无"), "{t}");
    }
}
