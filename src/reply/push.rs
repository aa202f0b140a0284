//! What the bot says first: reminders, alerts, airings.

use super::{Mention, Reply, TaskView, task_lines, when};

/// A task in a nag: its owners, of whom only those not yet nagged today are @-ed.
pub struct NagTask {
    pub task: TaskView,
    /// Owners to @ (not nagged about this task today).
    pub nag: Vec<Mention>,
}

fn nag_lines(tasks: &[NagTask]) -> (String, Vec<Mention>) {
    let mut mentions = Vec::new();
    let lines: Vec<String> = tasks
        .iter()
        .map(|t| {
            mentions.extend(t.nag.iter().cloned());
            let owners: Vec<String> = t
                .task
                .owners
                .iter()
                .map(|o| format!("@{}", o.name))
                .collect();
            let owners = if owners.is_empty() {
                "待指派".to_string()
            } else {
                owners.join(" ")
            };
            format!(
                "#{} 【{}】{} {} · {}截止",
                t.task.no,
                t.task.level.label(),
                t.task.text,
                owners,
                when(t.task.deadline)
            )
        })
        .collect();
    (lines.join("\n"), mentions)
}

pub fn plan_reminder(week: &str, leader: Option<&Mention>) -> Reply {
    match leader {
        Some(l) => Reply::with_mentions(
            format!(
                "📋 周一排清单：@{} 今晚学习会后，请发布本周（{week}）清单。\n例：排清单\n1. 事项 @负责人 周三前 红",
                l.name
            ),
            vec![l.clone()],
        ),
        None => Reply::text(format!(
            "📋 周一排清单：本周（{week}）清单请团长在今晚学习会后发布。本团还没有团长，请群管理员发送：设团长 @姓名"
        )),
    }
}

pub fn plan_missing(week: &str, leader: Option<&Mention>) -> Reply {
    let who = leader.map(|l| format!("@{} ", l.name)).unwrap_or_default();
    Reply::with_mentions(
        format!("⚠️ 本周（{week}）清单还没有发布。{who}请尽快发送「排清单」。"),
        leader.cloned().into_iter().collect(),
    )
}

pub fn plan_missing_admin(week: &str, teams: &[String]) -> Reply {
    Reply::text(format!(
        "⚠️ 本周（{week}）清单未发布的服务团（{} 个）：\n{}",
        teams.len(),
        teams.join("\n")
    ))
}

pub fn service_day(week: &str, tasks: &[TaskView]) -> Reply {
    Reply::text(format!(
        "🛠 周二聚服务：本周（{week}）待办 {} 项，今天一起办：\n{}\n服务后请发：服务 #编号 做了什么",
        tasks.len(),
        task_lines(tasks)
    ))
}

pub fn results_reminder(tasks: &[NagTask]) -> Reply {
    let (lines, mentions) = nag_lines(tasks);
    Reply::with_mentions(
        format!("📣 周五晒成效：以下事项还未销号，办好的请发「完成 #编号 结果」。\n{lines}"),
        mentions,
    )
}

/// The numbers of a weekly airing.
pub struct Airing {
    pub team: String,
    pub week: String,
    pub total: i64,
    pub closed: i64,
    pub on_time: i64,
    pub services: i64,
    pub visits: i64,
    pub requests: i64,
    pub open_requests: i64,
    /// (raters, average), shown only when enough villagers rated.
    pub rating: Option<(i64, f64)>,
}

pub fn weekly_airing(a: &Airing) -> Reply {
    let rating = match a.rating {
        Some((n, avg)) => format!("- 村民评价：{} 分（{n} 人）", super::one_decimal(avg)),
        None => format!("- 村民评价：不足 {} 人，暂不公布", super::MIN_RATERS),
    };
    Reply::text(format!(
        "### 📊 {team} 本周晾晒（{week}）\n\
         - 清单销号：{closed}/{total}，按时 {on_time}\n\
         - 服务：{services} 次　走访：{visits} 户次\n\
         - 村民诉求：{requests} 件，待办 {open_requests} 件\n\
         {rating}\n\n\
         请村民为本周工作评价：评价 1-5 分 + 一句话，例：评价 5 路灯修得快",
        team = a.team,
        week = a.week,
        closed = a.closed,
        total = a.total,
        on_time = a.on_time,
        services = a.services,
        visits = a.visits,
        requests = a.requests,
        open_requests = a.open_requests,
    ))
}

/// The title a push shows in the chat list and notifications.
pub fn title(job: &str) -> &'static str {
    match job {
        "plan_reminder" => "排清单提醒",
        "plan_missing" => "清单未发布",
        "service_day" => "周二聚服务",
        "results_reminder" => "周五晒成效",
        "clearance" => "周日必清零",
        "overdue_scan" => "逾期提醒",
        "overdue_admin" => "逾期事项",
        _ => "联村助手",
    }
}

pub fn airing_title(team: &str) -> String {
    format!("{team} 本周晾晒")
}

pub fn clearance(tasks: &[NagTask]) -> Reply {
    if tasks.is_empty() {
        return Reply::text("🎉 周日必清零：本周事项已全部清零，辛苦了！");
    }
    let (lines, mentions) = nag_lines(tasks);
    Reply::with_mentions(
        format!(
            "🧹 周日必清零：还有 {} 项未销号，请今晚前处理或说明延期：\n{lines}",
            tasks.len()
        ),
        mentions,
    )
}

pub fn overdue(tasks: &[NagTask]) -> Reply {
    let (lines, mentions) = nag_lines(tasks);
    Reply::with_mentions(
        format!("⏰ 以下事项已逾期，请尽快处理：\n{lines}"),
        mentions,
    )
}

pub fn overdue_admin(team: &str, tasks: &[TaskView]) -> Reply {
    Reply::text(format!(
        "⏰ {team} 有 {} 项红/橙事项逾期：\n{}",
        tasks.len(),
        task_lines(tasks)
    ))
}

/// Masks a villager's name for public posts: 张三 → 张*, 欧阳娜娜 → 欧***.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
        None => String::new(),
    }
}

/// Masks phone numbers in public posts: 13800001111 → 138****1111.
pub fn mask_phones(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if run == 11 && chars[i] == '1' {
            out.extend(&chars[i..i + 3]);
            out.push_str("****");
            out.extend(&chars[i + 7..i + 11]);
            i += 11;
        } else if run > 0 {
            out.extend(&chars[i..i + run]);
            i += run;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("李"), "李*");
        assert_eq!(
            mask_phones("王大妈 13800001111 反映"),
            "王大妈 138****1111 反映"
        );
        assert_eq!(mask_phones("3组10户 2026年"), "3组10户 2026年");
        assert_eq!(
            mask_phones("138000011112"),
            "138000011112",
            "12 digits is no phone"
        );
    }
}
