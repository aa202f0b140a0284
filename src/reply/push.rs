//! What the bot says first: reminders, alerts, airings.

use super::{
    Mention, Reply, TaskView, carried_tag, due, line_owners, short_text, task_lines, week_name,
};
use crate::domain::job::Job;

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
            format!(
                "#{} {}【{}】{} {} · {}",
                t.task.no,
                carried_tag(&t.task),
                t.task.level.label(),
                short_text(&t.task.text),
                line_owners(&t.task.owners),
                due(t.task.deadline, t.task.holiday.as_deref())
            )
        })
        .collect();
    (lines.join("\n"), mentions)
}

/// Earlier weeks' open tasks, carried into this week's list, for the Monday
/// reminder ("" when there are none).
fn carried_lines(carried: &[TaskView]) -> String {
    if carried.is_empty() {
        String::new()
    } else {
        format!(
            "\n往周未清零的 {} 项已结转到本周，新清单接着往后排：\n{}",
            carried.len(),
            task_lines(carried)
        )
    }
}

pub fn plan_reminder(week: &str, leader: Option<&Mention>, carried: &[TaskView]) -> Reply {
    let mut r = plan_reminder_alone(week, leader);
    r.text.push_str(&carried_lines(carried));
    r
}

fn plan_reminder_alone(week: &str, leader: Option<&Mention>) -> Reply {
    let week = week_name(week);
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
    let week = week_name(week);
    let who = leader.map(|l| format!("@{} ", l.name)).unwrap_or_default();
    Reply::with_mentions(
        format!("⚠️ 本周（{week}）清单还没有发布。{who}请尽快发送「排清单」。"),
        leader.cloned().into_iter().collect(),
    )
}

pub fn plan_missing_admin(week: &str, teams: &[String]) -> Reply {
    Reply::text(format!(
        "⚠️ 本周（{}）清单未发布的服务团（{} 个）：\n{}",
        week_name(week),
        teams.len(),
        teams.join("\n")
    ))
}

pub fn service_day(week: &str, tasks: &[TaskView]) -> Reply {
    Reply::text(format!(
        "🛠 周二聚服务：本周（{}）待办 {} 项，今天一起办：\n{}\n服务后请发：服务 #编号 做了什么",
        week_name(week),
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

/// The bot's name in examples when its group's bot configures none.
pub const DEFAULT_BOT_NAME: &str = "联村助手";

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
    /// Requests of the week whose task is closed.
    pub requests_resolved: i64,
    /// Last week's final rating, (raters, average): its ratings closed with
    /// this airing. Shown as a score only when enough villagers rated.
    pub rating: Option<(i64, f64)>,
    /// The average of the week before last, when enough villagers rated it:
    /// the trend of last week's score.
    pub rating_before: Option<f64>,
    /// The bot's name as the group @-s it, for the invitation's example
    /// (DingTalk delivers only messages that @ the bot).
    pub bot_name: String,
    /// Last week's (closed, total, services, visits), when the team had any.
    pub last_week: Option<(i64, i64, i64, i64)>,
    /// This week's hard-project reports: (project, text, completed it).
    pub projects: Vec<(String, String, bool)>,
    /// The chart of the last weeks, when charts are served.
    pub chart_url: Option<String>,
}

/// `↑2`, `↓1` or `持平`: the change from last week.
fn change(now: i64, before: i64) -> String {
    match now - before {
        0 => "持平".to_string(),
        d if d > 0 => format!("↑{d}"),
        d => format!("↓{}", -d),
    }
}

/// Most project reports listed in one airing.
const MAX_AIRED_PROJECT_UPDATES: usize = 5;

pub fn weekly_airing(a: &Airing) -> Reply {
    let rating = match a.rating {
        Some((n, avg)) if n >= super::MIN_RATERS => {
            let trend = a
                .rating_before
                .map(|before| {
                    // Compared as shown, to one decimal.
                    let tenths = |x: f64| (x * 10.0 + 1e-6).round() as i64;
                    match tenths(avg) - tenths(before) {
                        0 => "，与前一周持平".to_string(),
                        d if d > 0 => format!("，比前一周 ↑{}.{}", d / 10, d % 10),
                        d => format!("，比前一周 ↓{}.{}", -d / 10, -d % 10),
                    }
                })
                .unwrap_or_default();
            format!(
                "- 上周村民评价：{} 分（{n} 人{trend}）",
                super::one_decimal(avg)
            )
        }
        Some((n, _)) if n > 0 => format!(
            "- 上周村民评价：{n} 人评价，不足 {} 人，暂不公布",
            super::MIN_RATERS
        ),
        _ => "- 上周村民评价：暂无".to_string(),
    };
    let (vs_closed, vs_services, vs_visits) = match a.last_week {
        Some((closed, total, services, visits)) => (
            format!("（上周 {closed}/{total}，{}）", change(a.closed, closed)),
            format!("（{}）", change(a.services, services)),
            format!("（{}）", change(a.visits, visits)),
        ),
        None => Default::default(),
    };
    let mut projects = String::new();
    if !a.projects.is_empty() {
        projects.push_str("- 难点项目：");
        let shown: Vec<String> = a
            .projects
            .iter()
            .take(MAX_AIRED_PROJECT_UPDATES)
            .map(|(name, text, done)| {
                let text = mask_phones(text);
                if *done {
                    format!("\n  - {name} ✅完成：{text}")
                } else {
                    format!("\n  - {name}：{text}")
                }
            })
            .collect();
        projects.push_str(&shown.concat());
        if a.projects.len() > MAX_AIRED_PROJECT_UPDATES {
            projects.push_str(&format!(
                "\n  - …还有 {} 条",
                a.projects.len() - MAX_AIRED_PROJECT_UPDATES
            ));
        }
        projects.push('\n');
    }
    let chart = a
        .chart_url
        .as_deref()
        .map(|u| format!("\n![近8周走势]({u})\n"))
        .unwrap_or_default();
    Reply::text(format!(
        "### 📊 {team} 本周晾晒（{week}）\n\
         - 清单销号：{closed}/{total}，按时 {on_time}{vs_closed}\n\
         - 服务：{services} 次{vs_services}　走访：{visits} 户次{vs_visits}\n\
         - 村民诉求：{requests} 件，待办 {open_requests} 件，本周办结 {resolved} 件\n\
         {projects}\
         {rating}\n\
         {chart}\n\
         请村民为本周工作打分（1-5 分 + 一句话，下周晾晒前有效），例：@{bot} 评价 5 路灯修得快",
        team = a.team,
        week = week_name(&a.week),
        bot = a.bot_name,
        closed = a.closed,
        total = a.total,
        on_time = a.on_time,
        services = a.services,
        visits = a.visits,
        requests = a.requests,
        open_requests = a.open_requests,
        resolved = a.requests_resolved,
    ))
}

/// The title a job's push shows in the chat list and notifications (the
/// airing and the ranking name their team or township instead:
/// [`airing_title`], `reply::ranking`).
pub fn title(job: Job) -> &'static str {
    match job {
        Job::PlanReminder => "排清单提醒",
        Job::PlanMissing => "清单未发布",
        Job::ServiceDay => "周二聚服务",
        Job::ResultsReminder => "周五晒成效",
        Job::Clearance => "周日必清零",
        Job::OverdueScan => "逾期提醒",
        Job::ProjectReminder => "难点项目提醒",
        Job::WeeklyAiring | Job::MonthlyRanking => "联村助手",
    }
}

/// The title of the overdue tasks the township admins are told about.
pub fn overdue_admin_title() -> &'static str {
    "逾期事项"
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
            "🧹 周日必清零：还有 {} 项未销号，请今晚发「完成 #编号 成效」或「延期 #编号 新截止 原因」。\
             没处理的结转到下周清单，算作未按时：\n{lines}",
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
pub use crate::domain::phone::mask_mobiles as mask_phones;

#[cfg(test)]
mod tests {
    use super::*;

    fn airing() -> Airing {
        Airing {
            team: "南坞村 南坞服务团".into(),
            week: "2026-W49".into(),
            total: 6,
            closed: 5,
            on_time: 4,
            services: 7,
            visits: 3,
            requests: 2,
            open_requests: 1,
            requests_resolved: 1,
            rating: None,
            rating_before: None,
            bot_name: "联村助手".into(),
            last_week: None,
            projects: Vec::new(),
            chart_url: None,
        }
    }

    #[test]
    fn airing_without_history_projects_or_chart() {
        let t = weekly_airing(&airing()).text;
        assert!(t.contains("- 清单销号：5/6，按时 4\n"), "{t}");
        assert!(t.contains("- 服务：7 次　走访：3 户次\n"), "{t}");
        assert!(
            t.contains("村民诉求：2 件，待办 1 件，本周办结 1 件"),
            "{t}"
        );
        assert!(t.contains("- 上周村民评价：暂无\n"), "{t}");
        assert!(t.contains("本周晾晒（11月30日—12月6日）"), "{t}");
        assert!(t.contains("例：@联村助手 评价 5 路灯修得快"), "{t}");
        assert!(!t.contains("难点项目") && !t.contains("!["), "{t}");
    }

    #[test]
    fn airing_compares_with_last_week_and_lists_projects() {
        let mut a = airing();
        a.rating = Some((3, 4.0));
        a.rating_before = Some(13.0 / 3.0);
        a.last_week = Some((3, 5, 7, 5));
        a.projects = vec![
            ("村道硬化".into(), "联系13800001111施工队".into(), false),
            ("河道清淤".into(), "验收通过".into(), true),
        ];
        a.chart_url = Some("https://lc.example.cn/charts/1/2026-W49.png?sig=ab".into());
        let t = weekly_airing(&a).text;
        assert!(t.contains("清单销号：5/6，按时 4（上周 3/5，↑2）"), "{t}");
        assert!(t.contains("服务：7 次（持平）　走访：3 户次（↓2）"), "{t}");
        assert!(
            t.contains(
                "- 难点项目：\n  - 村道硬化：联系138****1111施工队\n  - 河道清淤 ✅完成：验收通过"
            ),
            "{t}"
        );
        assert!(
            t.contains("上周村民评价：4.0 分（3 人，比前一周 ↓0.3）"),
            "{t}"
        );
        a.rating = Some((2, 5.0));
        assert!(
            weekly_airing(&a)
                .text
                .contains("上周村民评价：2 人评价，不足 3 人，暂不公布")
        );
        assert!(
            t.contains("![近8周走势](https://lc.example.cn/charts/1/2026-W49.png?sig=ab)"),
            "{t}"
        );
    }

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
