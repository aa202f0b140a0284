//! Who may bind a group, and how many a team may hold: the refusals of
//! 绑定 and 设团员 that name who may, or what fits.

use super::{Mention, Reply, ats};

/// 绑定 to a township nobody has set up.
pub fn bind_needs_new_township(township: &str) -> Reply {
    Reply::text(format!(
        "「{township}」还没有登记，本群没有绑定。新建乡镇要由机器人管理员在群里绑定，\
         或先在管理后台建好乡镇和村，再由群管理员绑定。"
    ))
}

/// 绑定 to a village its township has not set up.
pub fn bind_needs_new_village(township: &str, village: &str) -> Reply {
    Reply::text(format!(
        "{township}还没有「{village}」，本群没有绑定。新建村要由机器人管理员在群里绑定，\
         或由乡镇先在管理后台建好，再由群管理员绑定。"
    ))
}

/// 绑定 to a team that has a group on this platform already.
pub fn bind_team_taken(township: &str, team: &str) -> Reply {
    Reply::text(format!(
        "「{team}」已经绑定了别的群，本群没有绑定。改绑要由{township}的管理员或机器人管理员来办。"
    ))
}

/// 绑定 of a group that serves another team.
pub fn bind_group_taken(now: (&str, &str, &str), target_township: &str) -> Reply {
    let (township, village, team) = now;
    let who = if township == target_township {
        format!("{township}的管理员或机器人管理员")
    } else {
        format!("机器人管理员，或同时管理{township}和{target_township}的管理员")
    };
    Reply::text(format!(
        "本群已绑定 {township} {village} {team}，没有改动。改绑要由{who}来办。"
    ))
}

/// 设团长/设团员 naming more people than a team may hold.
pub fn too_many_named(max: usize, named: usize) -> Reply {
    Reply::text(format!(
        "一次最多设 {max} 人，这次 @ 了 {named} 人，没有改动。请分几次设，或在管理后台导入名单。"
    ))
}

/// 设团员 that would take the team past its cap.
pub fn team_full(max: usize, now: usize, adding: usize) -> Reply {
    Reply::text(format!(
        "每个服务团最多 {max} 名团员：现有 {now} 名，这次要加 {adding} 名，没有改动。\
         请少 @ 几位，或在管理后台调整名单。"
    ))
}

/// 设团员 naming the team's leader.
pub fn leader_not_member(leader: &Mention) -> Reply {
    Reply::with_mentions(
        format!(
            "@{} 是团长，不能设为团员，没有改动。换团长请发：设团长 @姓名",
            leader.name
        ),
        vec![leader.clone()],
    )
}

/// Most people named one by one in a roles reply; the rest are counted.
pub const MAX_NAMED_IN_REPLY: usize = 20;

/// 已设团员 for many people: the first few by name, then how many in all.
pub fn members_set_many(people: &[Mention]) -> Reply {
    let shown = &people[..people.len().min(MAX_NAMED_IN_REPLY)];
    let text = format!("已设团员 {} 人：{} 等", people.len(), ats(shown));
    Reply::with_mentions(text, shown.to_vec())
}
