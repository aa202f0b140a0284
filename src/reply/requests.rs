//! 诉求 as the villager who raised it hears about it: the acknowledgement,
//! the word when it is handed on and when it is done, and 我的诉求; and the
//! leader's prompt to hand it on.

use chrono::NaiveDateTime;

use super::{Mention, Reply, due, level_tag, short_text, when};
use crate::domain::level::Level;

/// The reply to the villager's 诉求: what happens next and by when, in a
/// villager's words (the command to hand it on goes to the leader, in
/// [`to_leader`]).
pub fn registered(no: i64, deadline: NaiveDateTime, holiday: Option<&str>) -> Reply {
    let by = match holiday {
        Some(h) => format!("{}（{h}假期）", when(deadline)),
        None => when(deadline),
    };
    Reply::text(format!(
        "📮 收到你的诉求，编号 #{no}。服务团会安排专人办理，预计{by}前办结，\
         有人负责和办结时都会在群里告诉你。想看进度请发：我的诉求"
    ))
}

/// The push to the group that asks the leader to hand a new request on.
pub fn to_leader(no: i64, level: Level, text: &str, leader: Option<&Mention>) -> Reply {
    let head = format!("📮 新诉求 #{no} {}{}", level_tag(level), short_text(text));
    match leader {
        Some(l) => Reply::with_mentions(
            format!("{head}\n@{} 请指派办理人：指派 #{no} @姓名", l.name),
            vec![l.clone()],
        ),
        None => Reply::text(format!(
            "{head}\n本团还没有团长，请群管理员发送：设团长 @姓名"
        )),
    }
}

/// The title of [`to_leader`]'s push.
pub fn to_leader_title() -> &'static str {
    "新诉求待指派"
}

/// Adds to the 指派 reply the word to the villager whose request it is:
/// who takes it and by when.
pub fn tell_assigned(
    reply: Reply,
    villager: &Mention,
    owners: &[Mention],
    deadline: NaiveDateTime,
) -> Reply {
    let who: Vec<String> = owners.iter().map(|o| format!("@{}", o.name)).collect();
    let text = format!(
        "{}\n@{} 你反映的诉求由 {} 负责办理，预计{}前办结。",
        reply.text,
        villager.name,
        who.join(" "),
        when(deadline)
    );
    let mut mentions = reply.mentions;
    mentions.push(villager.clone());
    Reply::with_mentions(text, mentions)
}

/// Adds to the 完成 reply the word to each villager whose request was
/// closed: what was done. `done`: (villager, the request's text).
pub fn tell_closed(reply: Reply, done: &[(Mention, String)], result: &str) -> Reply {
    if done.is_empty() {
        return reply;
    }
    let mut text = reply.text;
    let mut mentions = reply.mentions;
    for (villager, request) in done {
        text.push_str(&format!(
            "\n@{} 你反映的「{}」已办结：{result}",
            villager.name,
            short_text(request)
        ));
        mentions.push(villager.clone());
    }
    Reply::with_mentions(text, mentions)
}

/// One of the sender's requests as 我的诉求 lists it.
#[derive(Debug, Clone)]
pub struct MyRequestView {
    pub no: i64,
    pub text: String,
    pub state: MyRequestState,
}

#[derive(Debug, Clone)]
pub enum MyRequestState {
    /// Being handled by these people, due then.
    Open {
        owners: Vec<String>,
        deadline: NaiveDateTime,
        overdue: bool,
    },
    Closed {
        result: String,
    },
    Cancelled,
}

/// Most requests 我的诉求 lists.
pub const MAX_MY_REQUESTS: i64 = 10;

/// 我的诉求: the sender's requests, newest first; `total` all they raised.
pub fn mine(items: &[MyRequestView], total: i64) -> Reply {
    if items.is_empty() {
        return Reply::text("你还没有反映过诉求。有事可以发：诉求 3组路灯坏了");
    }
    let head = if total > items.len() as i64 {
        format!("📮 你反映的诉求共 {total} 件，最近 {} 件：", items.len())
    } else {
        format!("📮 你反映的诉求（{total} 件）：")
    };
    let lines: Vec<String> = items
        .iter()
        .map(|r| {
            let state = match &r.state {
                MyRequestState::Open { owners, .. } if owners.is_empty() => "等待指派".to_string(),
                MyRequestState::Open {
                    owners,
                    deadline,
                    overdue: false,
                } => format!("{}办理中，{}", owners.join("、"), due(*deadline, None)),
                MyRequestState::Open {
                    owners,
                    deadline,
                    overdue: true,
                } => format!("{}办理中，已超过{}", owners.join("、"), when(*deadline)),
                MyRequestState::Closed { result } => format!("✅ 已办结：{result}"),
                MyRequestState::Cancelled => "❌ 已取消".to_string(),
            };
            format!("#{} {} — {state}", r.no, short_text(&r.text))
        })
        .collect();
    Reply::text(format!("{head}\n{}", lines.join("\n")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, m, d)
            .unwrap()
            .and_hms_opt(23, 59, 59)
            .unwrap()
    }

    #[test]
    fn the_villager_reads_no_leader_command() {
        let t = registered(5, at(12, 4), None).text;
        assert!(
            t.contains("#5") && t.contains("预计12月4日(周五)前办结"),
            "{t}"
        );
        assert!(!t.contains("指派"), "{t}");
        let t = registered(5, at(2, 24), Some("春节")).text;
        assert!(t.contains("2月24日(周二)（春节假期）前"), "{t}");
    }

    #[test]
    fn the_leader_is_asked_to_assign() {
        let zs = Mention::new("zs", "张三");
        let r = to_leader(5, Level::Yellow, "村口垃圾没人清", Some(&zs));
        assert_eq!(
            r.text,
            "📮 新诉求 #5 【黄】村口垃圾没人清\n@张三 请指派办理人：指派 #5 @姓名"
        );
        assert_eq!(r.mentions, vec![zs]);
    }

    #[test]
    fn my_requests_show_each_state() {
        let items = vec![
            MyRequestView {
                no: 7,
                text: "路灯坏了".into(),
                state: MyRequestState::Open {
                    owners: vec!["李四".into()],
                    deadline: at(12, 4),
                    overdue: false,
                },
            },
            MyRequestView {
                no: 3,
                text: "垃圾没人清".into(),
                state: MyRequestState::Closed {
                    result: "已清运".into(),
                },
            },
        ];
        let t = mine(&items, 2).text;
        assert_eq!(
            t,
            "📮 你反映的诉求（2 件）：\n#7 路灯坏了 — 李四办理中，12月4日(周五)截止\n#3 垃圾没人清 — ✅ 已办结：已清运"
        );
        assert!(mine(&[], 0).text.contains("还没有反映过"));
    }
}
