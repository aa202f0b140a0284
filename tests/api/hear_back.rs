//! A villager's 诉求 comes back to the villager: the acknowledgement is
//! written for them, the leader is asked apart, and the villager is @-ed
//! when it is handed on and when it is done; 我的诉求 lists their own.

use crate::scenario;
use crate::support::*;

scenario! {
    async fn the_villager_hears_who_takes_it_and_what_was_done(app) {
        app.setup_team().await; // Wednesday 2026-12-02 10:00
        let ack = app.say(&VILLAGERS[0], "反映 村口垃圾没人清 橙").await;
        assert_eq!(
            ack,
            "📮 收到你的诉求，编号 #1。服务团会安排专人办理，预计12月5日(周六)前办结，\
             有人负责和办结时都会在群里告诉你。想看进度请发：我的诉求",
            "橙: 3 days"
        );
        // The prompt to hand it on is the leader's, apart from the villager's reply.
        app.deliver().await;
        let got = app.fake.received();
        let prompt = got.iter().find(|r| r.text.contains("新诉求 #1")).expect("the leader is asked");
        assert!(prompt.text.contains("【橙】村口垃圾没人清") && prompt.text.contains("指派 #1 @姓名"), "{}", prompt.text);
        assert!(prompt.text.contains("zhangsan01") || prompt.text.contains("张三"), "@ the leader: {}", prompt.text);

        // Before it is handed on, the villager sees it waiting with the leader.
        let mine = app.say(&VILLAGERS[0], "我的诉求").await;
        assert_eq!(mine, "📮 你反映的诉求（1 件）：\n#1 村口垃圾没人清 — 张三办理中，12月5日(周六)截止");

        // 指派: the villager is @-ed with who takes it.
        let r = app.say(&ZHANGSAN, "指派 #1 @李四").await;
        assert!(r.ends_with("\n@村民甲 你反映的诉求由 @李四 负责办理，预计12月5日(周六)前办结。"), "{r}");
        let mine = app.say(&VILLAGERS[0], "诉求进度").await;
        assert!(mine.contains("#1 村口垃圾没人清 — 李四办理中，12月5日(周六)截止"), "{mine}");

        // 完成: the villager is @-ed with what was done.
        app.set_local(2026, 12, 3, 16, 0);
        let r = app.say(&LISI, "完成 #1 已联系保洁清运，每周二、五定时收").await;
        assert_eq!(
            r,
            "✅ 已销号 #1 村口垃圾没人清：已联系保洁清运，每周二、五定时收\n\
             @村民甲 你反映的「村口垃圾没人清」已办结：已联系保洁清运，每周二、五定时收"
        );
        let mine = app.say(&VILLAGERS[0], "/myasks").await;
        assert!(mine.contains("#1 村口垃圾没人清 — ✅ 已办结：已联系保洁清运"), "{mine}");

        // Each villager sees only their own; a task that is no request tells nobody.
        assert_eq!(app.say(&VILLAGERS[1], "我的诉求").await, "你还没有反映过诉求。有事可以发：诉求 3组路灯坏了");
        app.say(&ZHANGSAN, "加清单 河道清理 @王五 周五").await;
        let r = app.say(&WANGWU, "完成 #2 已清理").await;
        assert_eq!(r, "✅ 已销号 #2 河道清理：已清理");
    }
}

scenario! {
    async fn a_request_at_night_reaches_the_leader_in_the_morning(app) {
        app.setup_team().await;
        app.set_local(2026, 12, 2, 22, 30);
        let ack = app.say(&VILLAGERS[0], "诉求 3组路灯坏了").await;
        assert!(ack.starts_with("📮 收到你的诉求，编号 #1。"), "{ack}");
        assert_eq!(app.deliver().await.total(), 0, "quiet hours");
        app.set_local(2026, 12, 3, 7, 31);
        assert_eq!(app.deliver().await.sent, 1);
        assert!(app.fake.received()[0].text.contains("新诉求 #1"));
    }
}

scenario! {
    async fn wording_reads_as_people_write(app) {
        app.setup_team().await;
        // One bracket pair for an unregistered household.
        let r = app.say(&WANGWU, "走访 张大爷家（3组） 反映路灯坏了").await;
        assert!(r.starts_with("🏠 已记录走访：张大爷家（3组，未登记农户）。"), "{r}");
        // No 其中 for a single late task; no space before 截止.
        app.say(&ZHANGSAN, "加清单 河道清理 @王五 今天 12:00").await;
        app.set_local(2026, 12, 2, 13, 0);
        let r = app.say(&WANGWU, "完成 #1 清理完毕").await;
        assert_eq!(r, "✅ 已销号 #1 河道清理：清理完毕\n超过截止时间完成");
        // Weeks as cadres name them; a long task line is cut for the phone.
        let r = app.say(&ZHANGSAN, "加清单 南坞古村落保护项目方案对接及三组农户政策处理回访 @李四 周五").await;
        assert!(r.starts_with("✅ 已加入本周清单（11月30日—12月6日）1 项"), "{r}");
        assert!(r.contains("#2 【绿】南坞古村落保护项目方案对接及三组农… @李四 · 12月4日(周五)截止"), "{r}");
        assert!(!r.contains("W49"), "{r}");
    }
}
