//! A week in a village group, command by command, as the people type it.
//! The clock stands at Wednesday 2026-12-02 10:00 (Asia/Shanghai), week 2026-W49.

use crate::scenario;
use crate::support::*;
use serde_json::json;

scenario! {
    async fn the_leader_publishes_the_plan_from_the_product_example(app) {
        app.setup_team().await;
        let r = app.say(&ZHANGSAN, "排清单\n1. 苗青头村插花田政策处理 @李四 周四前 红\n2、走访3组10户农户 @李四 @王五 周日\n3) 南坞古村落保护项目方案对接 截止12月5日 橙").await;
        assert!(r.starts_with("✅ 已发布本周清单（11月30日—12月6日），共 3 项"), "{r}");
        assert!(r.contains("#1 【红】苗青头村插花田政策处理 @李四 · 12月3日(周四)截止"), "{r}");
        assert!(r.contains("#2 【绿】走访3组10户农户 @李四 @王五 · 12月6日(周日)截止"), "{r}");
        assert!(r.contains("#3 【橙】南坞古村落保护项目方案对接 @张三 · 12月5日(周六)截止"), "no owner: the sender: {r}");
        let c = app.counts().await;
        assert_eq!((c["plans"], c["tasks"]), (1, 3));
        // A second 排清单 in the same week is refused, pointing at 加清单.
        let r = app.say(&ZHANGSAN, "排清单\n1. 别的事").await;
        assert!(r.contains("已发布过") && r.contains("加清单"), "{r}");
        assert_eq!(app.counts().await["tasks"], 3);
    }
}

scenario! {
    async fn default_deadlines_follow_the_level_and_stop_at_sunday(app) {
        app.setup_team().await;
        let r = app.say(&ZHANGSAN, "排清单\n1. 红色事项 红\n2. 橙色事项 橙\n3. 黄色事项 黄\n4. 普通事项").await;
        // Wednesday: 红 1 day → Thursday; 橙 3 days → Saturday; 黄 5 and 绿 7 days → capped at Sunday.
        assert!(r.contains("#1 【红】红色事项 @张三 · 12月3日(周四)截止"), "{r}");
        assert!(r.contains("#2 【橙】橙色事项 @张三 · 12月5日(周六)截止"), "{r}");
        assert!(r.contains("#3 【黄】黄色事项 @张三 · 12月6日(周日)截止"), "{r}");
        assert!(r.contains("#4 【绿】普通事项 @张三 · 12月6日(周日)截止"), "{r}");
    }
}

scenario! {
    async fn a_bad_line_stores_nothing_and_says_what_was_wrong(app) {
        app.setup_team().await;
        let before = app.counts().await;
        let r = app.say(&ZHANGSAN, "排清单\n1. 河道清理 @李四 周五\n2. 路灯维修 周一前").await;
        assert!(r.contains('2') && r.contains("例"), "line number and an example: {r}");
        let r2 = app.say(&ZHANGSAN, "排清单\n1. 河道清理 @赵六").await;
        assert!(r2.contains("不是本服务团成员") || r2.contains("找不到"), "{r2}");
        let after = app.counts().await;
        assert_eq!((after["tasks"], after["plans"]), (before["tasks"], before["plans"]));
    }
}

scenario! {
    async fn who_may_publish_add_and_record(app) {
        app.setup_team().await;
        let r = app.say(&LISI, "排清单\n1. 河道清理").await;
        assert!(r.contains("只有团长") && r.contains("可以使用"), "members may not publish by default: {r}");
        let r = app.say(&VILLAGERS[0], "加清单 河道清理").await;
        assert!(r.contains("只有服务团成员"), "{r}");
        let r = app.say(&LISI, "加清单 河道清理 @王五 周五 黄").await;
        assert!(r.contains("✅ 已加入本周清单（11月30日—12月6日）1 项") && r.contains("#1 【黄】河道清理 @王五"), "{r}");
        let r = app.say(&VILLAGERS[0], "服务 帮忙").await;
        assert!(r.contains("只有服务团成员"), "{r}");
        let r = app.say(&VILLAGERS[0], "走访 张大爷家").await;
        assert!(r.contains("只有服务团成员"), "{r}");
        assert_eq!(app.counts().await["services"], 0);
    }
}

scenario! {
    async fn services_and_visits_are_recorded_and_counted(app) {
        app.setup_team().await;
        app.say(&ZHANGSAN, "排清单\n1. 医保代办 @李四 黄").await;
        let r = app.say(&LISI, "服务 #1 帮3组王大妈办理医保").await;
        assert_eq!(r, "📝 已记录服务（关联 #1）。本周你已服务 1 次，全团 1 次。");
        let r = app.say(&WANGWU, "聚服务 上门调解邻里纠纷").await;
        assert_eq!(r, "📝 已记录服务。本周你已服务 1 次，全团 2 次。");
        let r = app.say(&LISI, "服务 #9 不存在的事项").await;
        assert!(r.contains("没有 #9"), "{r}");
        let r = app.say(&WANGWU, "走访 张大爷家 反映3组路灯坏了").await;
        assert_eq!(r, "🏠 已记录走访：张大爷家（未登记农户）。本周你已走访 1 户次，全团 1 户次。");
        let r = app.say(&LISI, "/visit 李奶奶家").await;
        assert!(r.contains("全团 2 户次"), "{r}");
        let c = app.counts().await;
        assert_eq!((c["services"], c["visits"]), (2, 2));
    }
}

scenario! {
    async fn owners_and_the_leader_close_tasks_others_are_refused(app) {
        app.setup_team().await;
        app.say(&ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 周五 红\n2. 河道清理 @王五\n3. 路灯维修 @王五").await;
        let r = app.say(&WANGWU, "完成 #1 已处理").await;
        assert!(r.contains("#1 只能由 @李四 或团长 处理"), "{r}");
        let r = app.say(&VILLAGERS[0], "完成 #1 已处理").await;
        assert!(r.contains("只有事项负责人或团长可以使用"), "{r}");
        let r = app.say(&LISI, "完成 #1 已协调到位，农户签字同意").await;
        assert_eq!(r, "✅ 已销号 #1 插花田政策处理：已协调到位，农户签字同意");
        let r = app.say(&LISI, "完成 #1 再来一次").await;
        assert!(r.contains("#1 已完成，无需再处理"), "{r}");
        // Several at once, all or nothing: #9 does not exist, so #2 stays open.
        let r = app.say(&ZHANGSAN, "销号 #2 #9 都办好了").await;
        assert!(r.contains("没有 #9"), "{r}");
        let r = app.say(&ZHANGSAN, "销号 #2 #3 都办好了").await;
        assert_eq!(r, "✅ 已销号 #2 河道清理、#3 路灯维修：都办好了");
        let list = app.say(&VILLAGERS[1], "清单").await;
        assert!(list.starts_with("📋 本周清单（11月30日—12月6日）已完成 3/3"), "{list}");
        assert!(list.contains("#1 【红】插花田政策处理 @李四 · 12月4日(周五)截止 ✅已完成"), "a list names people without pinging them: {list}");
    }
}

scenario! {
    async fn late_closing_and_overdue_are_shown(app) {
        app.setup_team().await;
        app.say(&ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 今天 18:00 红\n2. 河道清理 @王五 今天 12:00").await;
        app.clock.advance(chrono::Duration::hours(3)); // 13:00
        let list = app.say(&LISI, "清单").await;
        assert!(list.contains("#2 【绿】河道清理 @王五 · 12月2日(周三) 12:00截止 ⚠️已逾期"), "{list}");
        let r = app.say(&WANGWU, "完成 #2 清理完毕").await;
        assert_eq!(r, "✅ 已销号 #2 河道清理：清理完毕\n超过截止时间完成", "one late task, no 其中");
    }
}

scenario! {
    async fn postpone_and_cancel(app) {
        app.setup_team().await;
        app.say(&ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 周四 红\n2. 河道清理 @王五").await;
        let r = app.say(&LISI, "延期 #1 下周三 等待镇里批复").await;
        assert_eq!(r, "⏳ #1 已延期：插花田政策处理\n12月3日(周四) → 12月9日(周三)，移入12月7日—13日的清单\n原因：等待镇里批复");
        let r = app.say(&LISI, "延期 #1 12月10日 材料还没齐").await;
        assert!(r.contains("（第 2 次延期）"), "{r}");
        let r = app.say(&WANGWU, "延期 #1 周五 我来帮忙").await;
        assert!(r.contains("只能由 @李四 或团长"), "{r}");
        let r = app.say(&LISI, "取消 #2 重复").await;
        assert!(r.contains("只有团长可以使用"), "{r}");
        let r = app.say(&ZHANGSAN, "取消 #2 与镇里任务重复").await;
        assert_eq!(r, "❌ #2 已取消：河道清理\n原因：与镇里任务重复");
        let r = app.say(&ZHANGSAN, "完成 #2 其实做了").await;
        assert!(r.contains("#2 已取消"), "{r}");
        // Postponed past Sunday, #1 is in next week's list now.
        let list = app.say(&ZHANGSAN, "清单").await;
        assert!(list.contains("已完成 0/0") && !list.contains("插花田"), "{list}");
        app.set_local(2026, 12, 7, 9, 0);
        let list = app.say(&ZHANGSAN, "清单").await;
        assert!(list.contains("已完成 0/1") && !list.contains("12月9日") && list.contains("12月10日(周四)截止"), "{list}");
    }
}

scenario! {
    async fn villagers_rate_once_a_week_and_the_average_waits_for_three(app) {
        app.setup_team().await;
        let r = app.say(&LISI, "评价 5 我们很好").await;
        assert_eq!(r, "服务团成员不能给本团评价，评价留给村民。");
        let r = app.say(&VILLAGERS[0], "评价 4 路灯修得快").await;
        assert!(r.starts_with("⭐ 感谢评价：4 分。本周已有 1 位村民评价，满 3 位后公布平均分。"), "{r}");
        let r = app.say(&VILLAGERS[0], "满意").await;
        assert!(r.starts_with("⭐ 已更新你本周的评价：5 分"), "the latest counts: {r}");
        app.say(&VILLAGERS[1], "基本满意").await;
        let r = app.say(&VILLAGERS[2], "不满意 没人来").await;
        assert!(r.contains("本周 3 位村民评价，平均 3.0 分"), "(5+3+1)/3: {r}");
        assert_eq!(app.counts().await["ratings"], 3);
    }
}

scenario! {
    async fn a_villagers_request_becomes_a_task_for_the_leader(app) {
        app.setup_team().await;
        let r = app.say(&VILLAGERS[0], "诉求 3组路灯坏了好几天").await;
        // Written for the villager; the prompt to hand it on goes to the leader.
        assert_eq!(r, "📮 收到你的诉求，编号 #1。服务团会安排专人办理，预计12月6日(周日)前办结，有人负责和办结时都会在群里告诉你。想看进度请发：我的诉求");
        app.deliver().await;
        let got = app.fake.received();
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].text.starts_with("📮 新诉求 #1 【黄】3组路灯坏了好几天\n"), "{}", got[0].text);
        assert!(got[0].text.contains("请指派办理人：指派 #1 @姓名") && got[0].shown.contains("@张三"), "{}", got[0].text);
        let r = app.say(&VILLAGERS[1], "反映 村口垃圾没人清 橙").await;
        assert!(r.contains("编号 #2") && r.contains("预计12月5日(周六)前办结"), "橙: 3 days: {r}");
        let list = app.say(&ZHANGSAN, "清单").await;
        assert!(list.contains("#1 【黄】3组路灯坏了好几天 @张三 · 12月6日(周日)截止"), "{list}");
        let c = app.counts().await;
        assert_eq!((c["requests"], c["tasks"]), (2, 2));
    }
}

scenario! {
    async fn the_leader_hands_a_request_to_members(app) {
        app.setup_team().await;
        app.say(&VILLAGERS[0], "诉求 3组路灯坏了好几天").await;
        let r = app.say(&WANGWU, "指派 #1 @李四").await;
        assert!(r.contains("团长"), "only the leader assigns: {r}");
        let r = app.say(&ZHANGSAN, "指派 #1 @李四 @王五").await;
        assert_eq!(
            r,
            "👉 #1 【黄】3组路灯坏了好几天 已指派给 @李四 @王五，12月6日(周日)截止，办结后发「完成 #1 成效」。\n\
             @村民甲 你反映的诉求由 @李四 @王五 负责办理，预计12月6日(周日)前办结。"
        );
        let list = app.say(&ZHANGSAN, "清单").await;
        assert!(list.contains("#1 【黄】3组路灯坏了好几天 @李四 @王五"), "{list}");
        // The leader is no longer an owner; the new owners close it.
        let r = app.say(&LISI, "完成 #1 已报修，路灯亮了").await;
        assert_eq!(r, "✅ 已销号 #1 3组路灯坏了好几天：已报修，路灯亮了\n@村民甲 你反映的「3组路灯坏了好几天」已办结：已报修，路灯亮了");
        let r = app.say(&ZHANGSAN, "指派 #1 @王五").await;
        assert!(r.contains("#1 已完成"), "a closed task is not reassigned: {r}");
        let r = app.say(&ZHANGSAN, "指派 #9 @王五").await;
        assert!(r.contains("#9"), "unknown task: {r}");
        let r = app.say(&ZHANGSAN, "指派 #1").await;
        assert!(r.contains("办理的人") && r.contains("例"), "names required: {r}");
        let c = app.counts().await;
        assert_eq!((c["requests"], c["tasks"]), (1, 1));
    }
}

scenario! {
    async fn no_command_gets_a_hint_and_help_explains(app) {
        app.setup_team().await;
        let r = app.say(&VILLAGERS[0], "今天天气不错").await;
        assert!(r.contains("帮助"), "{r}");
        let all = app.say(&VILLAGERS[0], "帮助").await;
        for word in ["排清单", "加清单", "清单", "服务", "走访", "完成", "延期", "取消", "评价", "诉求", "绑定", "设团长"] {
            assert!(all.contains(word), "help lists {word}: {all}");
        }
        let one = app.say(&VILLAGERS[0], "帮助 完成").await;
        assert!(one.contains("完成") && one.contains("例"), "{one}");
        let q = app.say(&VILLAGERS[0], "？").await;
        assert_eq!(q, all, "？ is help");
    }
}

scenario! {
    async fn full_width_and_mentions_of_the_bot_are_understood(app) {
        app.setup_team().await;
        app.say(&ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 周五 红").await;
        let r = app.say(&LISI, "@联村助手\u{2005}完成＃１：已处理").await;
        assert!(r.contains("已销号 #1"), "{r}");
    }
}

scenario! {
    async fn members_may_publish_when_the_township_allows(app) {
        app.setup_team().await;
        let r = app.say(&LISI, "排清单\n1. 河道清理").await;
        assert!(!r.contains("已发布本周清单"), "a member may not publish yet: {r}");
        // The switch is the township's, set through the admin API; the very
        // next message sees it.
        let township = id_of(&app, "SELECT id FROM townships WHERE name = '凤林镇'").await;
        let (s, t) = app.admin("PATCH", &format!("/api/v1/townships/{township}"), Some(json!({"members_may_plan": true}))).await;
        assert_eq!(s, 200, "{t}");
        let r = app.say(&LISI, "排清单\n1. 河道清理").await;
        assert!(r.contains("已发布本周清单"), "{r}");
    }
}

scenario! {
    async fn a_roster_changed_through_the_admin_api_applies_to_the_next_message(app) {
        app.setup_team().await;
        let r = app.say(&LISI, "服务 帮王大妈办医保").await;
        assert!(r.contains("已记录"), "{r}");
        let team = id_of(&app, "SELECT id FROM teams").await;
        let leader = id_of(&app, "SELECT id FROM people WHERE platform_user_id = 'zhangsan01'").await;
        let wangwu = id_of(&app, "SELECT id FROM people WHERE platform_user_id = 'wangwu01'").await;
        let (s, t) = app.admin("PUT", &format!("/api/v1/teams/{team}/people"), Some(json!({"leader": leader, "members": [wangwu]}))).await;
        assert_eq!(s, 200, "{t}");
        let services = app.counts().await["services"];
        let r = app.say(&LISI, "服务 又帮王大妈办医保").await;
        assert!(!r.contains("已记录"), "李四 is no longer on the team: {r}");
        assert_eq!(app.counts().await["services"], services, "nothing stored");
        let r = app.say(&WANGWU, "服务 帮李大爷代缴电费").await;
        assert!(r.contains("已记录"), "{r}");
    }
}

/// The one id `sql` selects.
async fn id_of(app: &TestApp, sql: &'static str) -> i64 {
    app.db
        .read(move |tx| {
            Box::pin(async move {
                liancun::store::sql::query_as::<(i64,)>(sql)
                    .fetch_one(tx)
                    .await
                    .map(|(id,)| id)
            })
        })
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}
