//! `liancun demo` plays a whole week through the real code paths; its
//! transcript shows every scheduled push at its slot, the replies, and no push
//! in quiet hours.

use chrono::NaiveDate;
use liancun::dev::demo::{DemoArgs, run_to_string};

fn has(t: &str, needle: &str) {
    assert!(t.contains(needle), "the transcript lacks {needle:?}:\n{t}");
}

#[tokio::test]
async fn the_demo_plays_a_1250_week() {
    let week = NaiveDate::from_ymd_opt(2026, 11, 30);
    let t = run_to_string(DemoArgs { week, weeks: None })
        .await
        .expect("the demo runs");

    // Each job's push at its slot (2026-W49, Asia/Shanghai).
    has(&t, "周一 08:30  联村助手（推送）: 📋 周一排清单：@张三");
    has(&t, "周二 08:00  联村助手（推送）: 🛠 周二聚服务");
    has(&t, "周五 15:00  联村助手（推送）: 📣 周五晒成效");
    has(
        &t,
        "周五 20:00  联村助手（推送）: 📊 南坞村 南坞服务团 本周晾晒",
    );
    has(&t, "周日 20:00  联村助手（推送）: 🎉 周日必清零");
    // The red task due Tuesday: alerted from the overdue scan once quiet
    // hours end, to the group and to the township admin.
    has(&t, "周三 07:30  联村助手（推送）: ⏰ 以下事项已逾期");
    has(
        &t,
        "周三 07:30  联村助手 → 管理员（私信）: ⏰ 南坞村 南坞服务团 有 1 项红/橙",
    );
    // The plan was published, so the 21:30 check ran and said nothing.
    has(
        &t,
        "周一 21:30  ※ 定时任务「清单未发布检查」(plan_missing) 已运行",
    );

    // Replies to the commands, with people as @名字.
    for reply in [
        "联村助手: 已绑定：凤林镇 南坞村 南坞服务团",
        "联村助手: 已设团长：@张三",
        "联村助手: 已设团员：@李四 @王五",
        "联村助手: ✅ 已发布本周清单（11月30日—12月6日），共 4 项",
        "#1 【红】苗青头村插花田政策处理 @李四 · 12月1日(周二)截止",
        "联村助手: 📝 已记录服务（关联 #1）",
        "联村助手: 🏠 已记录走访：张大爷家（3组，未登记农户）",
        "联村助手: 📮 收到你的诉求，编号 #5。",
        "联村助手（推送）: 📮 新诉求 #5 【黄】",
        "你反映的诉求由 @王五 负责办理",
        "你反映的「村口路灯坏了一个礼拜，晚上走路看不见」已办结",
        "联村助手: ✅ 已销号 #2",
        "联村助手: ⏳ #3 已延期",
        "超过截止时间完成",
        "联村助手: 📋 本周清单（11月30日—12月6日）已完成 2/5",
        "联村助手: 服务团成员不能给本团评价",
        "联村助手: 没看懂这条消息。发送「帮助」",
        "本周 3 位村民评价，平均 4.0 分",
        // (5+3+4+5)/4 = 4.25, rounded as people round it.
        "本周 4 位村民评价，平均 4.3 分",
        "联村助手: ⭐ 已更新你本周的评价",
    ] {
        has(&t, reply);
    }
    assert!(!t.contains("其中 #1"), "one late task needs no 其中:\n{t}");
    // The repeated delivery got the first answer again.
    has(&t, "同一 msgId");
    has(&t, "答复与第一次相同");
    has(&t, "重复推送 0 条");

    // No push in quiet hours (21:30 itself is allowed).
    let mut pushes = 0;
    for line in t.lines() {
        if !(line.contains("联村助手（推送）") || line.contains("（私信）")) {
            continue;
        }
        pushes += 1;
        let hm = line.split_whitespace().nth(1).expect("a time column");
        assert!(
            ("07:30".."21:31").contains(&hm),
            "a push in quiet hours: {line}"
        );
    }
    // Seven reminders and alerts, the leader's prompt of the request, and
    // on Tuesday 1 December the monthly ranking to the group and to the
    // township admin (the team had no data in November: one line, no medal).
    // The overdue alerts go out by OpenAPI (no fresh sessionWebhook at
    // 07:30), which cannot @: the owner gets each one 1:1 as well.
    has(&t, "联村助手（推送）: 凤林镇 11月各服务团都还没有工作记录");
    assert_eq!(pushes, 14, "{t}");
    has(&t, "联村助手 → 李四（私信）: ⏰ 以下事项已逾期");
    // What the group read (the fake's rendering) never shows a user id.
    for id in ["guanli01", "zhangsan01", "lisi01", "wangwu01"] {
        assert!(!t.contains(id), "a raw id reached the group: {id}\n{t}");
    }
    assert!(
        t.lines().all(|l| unicode_columns(l) <= 80),
        "the transcript fits 80 columns:\n{t}"
    );
}

/// `--weeks 2`: #4, left open in the first week, is listed by Sunday's
/// clearance, carried into Monday's reminder and 清单, postponed (forward
/// only) and closed in the second week; the numbers go on.
#[tokio::test]
async fn two_weeks_carry_a_task_over() {
    let t = run_to_string(DemoArgs {
        week: NaiveDate::from_ymd_opt(2026, 11, 30),
        weeks: Some(2),
    })
    .await
    .expect("the demo runs");
    has(&t, "南坞服务团的两周（2026-W49 和 2026-W50");
    has(
        &t,
        "周日 20:00  联村助手（推送）: 🧹 周日必清零：还有 1 项未销号",
    );
    let week2 = t.find("── 12月7日 周一").expect("a second week");
    let (first, second) = t.split_at(week2);
    assert!(
        !first.contains("【结转"),
        "nothing is carried in the first week"
    );
    has(second, "周一 08:30  联村助手（推送）: 📋 周一排清单");
    has(second, "往周未清零的 1 项已结转到本周");
    has(
        second,
        "#4 【结转·11月30日—12月6日】【橙】南坞古村落保护项目方案对接",
    );
    has(second, "已发布本周清单");
    has(second, "共 2 项");
    has(second, "#6 【黄】3组路灯线路检修");
    has(second, "#6 3组路灯线路检修 没有延期");
    has(second, "联村助手: ⏳ #4 已延期：南坞古村落保护项目方案对接");
    has(second, "📮 收到你的诉求，编号 #8");
    has(second, "✅ 已销号 #8 5组水渠堵了，田里排不出水");
    has(second, "✅ 已销号 #4 南坞古村落保护项目方案对接");
    has(
        second,
        "周五 20:00  联村助手（推送）: 📊 南坞村 南坞服务团 本周晾晒",
    );
    has(second, "周日 20:00  联村助手（推送）: 🎉 周日必清零");
    for line in t.lines() {
        if line.contains("联村助手（推送）") || line.contains("（私信）") {
            let hm = line.split_whitespace().nth(1).expect("a time column");
            assert!(
                ("07:30".."21:31").contains(&hm),
                "a push in quiet hours: {line}"
            );
        }
    }
    assert!(
        t.lines().all(|l| unicode_columns(l) <= 80),
        "the transcript fits 80 columns:\n{t}"
    );
}

#[tokio::test]
async fn a_week_that_does_not_start_on_monday_is_refused() {
    let err = run_to_string(DemoArgs {
        week: NaiveDate::from_ymd_opt(2026, 12, 2),
        weeks: None,
    })
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("2026-11-30"), "{err}");
}

/// Terminal columns, counting CJK, full-width forms and emoji as two.
fn unicode_columns(s: &str) -> usize {
    s.chars()
        .map(|c| match u32::from(c) {
            0xFE00..=0xFE0F | 0x200B..=0x200F => 0,
            0x1100..=0x115F
            | 0x231A..=0x231B
            | 0x23E9..=0x23F3
            | 0x2600..=0x27BF
            | 0x2B50..=0x2B55
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x1F300..=0x1FAFF => 2,
            _ => 1,
        })
        .sum()
}
