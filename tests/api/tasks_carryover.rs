//! Tasks across weeks (issue 16 items 1 and 2) and task numbers without a
//! race (issue 15 item 3): a task left open stays addressable by its number,
//! is carried into the next week's list, and 延期 only moves forward.

use crate::scenario;
use crate::support::*;

/// Ticks the scheduler and delivers everything it enqueued (the outbox sends
/// one message per group every 3 s, so the clock steps a few seconds).
async fn tick_and_deliver(app: &TestApp) {
    app.tick().await;
    for _ in 0..4 {
        app.deliver().await;
        app.advance(chrono::Duration::seconds(4));
    }
}

/// The last push the group received that contains `needle`.
fn push_with(app: &TestApp, needle: &str) -> String {
    app.fake
        .received()
        .into_iter()
        .rev()
        .map(|r| r.text)
        .find(|t| t.contains(needle))
        .unwrap_or_else(|| panic!("no push contains {needle:?}: {:?}", app.fake.received()))
}

/// (week, no, text, state) of every task, by id.
/// The week's task counts of the one team (as the airing and ranking read them).
async fn week_stats(app: &TestApp, week: &'static str) -> liancun::store::jobs::WeekStats {
    let team = app
        .db
        .read(|tx| {
            Box::pin(async move {
                liancun::store::sql::query_as::<(i64,)>("SELECT id FROM teams")
                    .fetch_one(tx)
                    .await
            })
        })
        .await
        .expect("the team")
        .0;
    app.db
        .read(move |tx| {
            Box::pin(async move { liancun::store::jobs::week_stats(tx, team, week).await })
        })
        .await
        .expect("week stats")
}

async fn tasks(app: &TestApp) -> Vec<(String, i64, String, String)> {
    app.db
        .read(|tx| {
            Box::pin(async move {
                liancun::store::sql::query_as::<(String, i64, String, String)>(
                    "SELECT week, no, text, state FROM tasks ORDER BY id",
                )
                .fetch_all(tx)
                .await
            })
        })
        .await
        .expect("tasks")
}

scenario! {
    async fn a_task_left_open_on_sunday_is_carried_postponed_and_closed_next_week(app) {
        app.setup_team().await;
        app.say(&ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 周五 红\n2. 河道清理 @王五 周日").await;
        assert!(app.say(&WANGWU, "完成 #2 清理完毕").await.contains("已销号 #2 河道清理"));

        // Sunday 20:00: the clearance names what is open and asks for 完成 or 延期.
        app.set_local(2026, 12, 6, 20, 1);
        tick_and_deliver(&app).await;
        let clearance = push_with(&app, "周日必清零");
        assert!(clearance.contains("🧹 周日必清零：还有 1 项未销号"), "{clearance}");
        assert!(clearance.contains("完成 #编号") && clearance.contains("延期 #编号"), "{clearance}");
        assert!(clearance.contains("#1 【红】插花田政策处理"), "{clearance}");
        assert!(!clearance.contains("河道清理"), "{clearance}");

        // Monday: the reminder and 清单 show it first, carried, with its week.
        app.set_local(2026, 12, 7, 8, 31);
        tick_and_deliver(&app).await;
        let reminder = push_with(&app, "周一排清单");
        assert!(reminder.contains("往周未清零的 1 项已结转到本周"), "{reminder}");
        assert!(reminder.contains("#1 【结转·11月30日—12月6日】【红】插花田政策处理"), "{reminder}");
        let list = app.say(&VILLAGERS[0], "清单").await;
        assert!(list.starts_with("📋 本周") && list.contains("还没有新事项，往周结转 1 项"), "{list}");
        assert!(list.contains("#1 【结转·11月30日—12月6日】【红】插花田政策处理 @李四"), "{list}");

        // The new plan adds to it: numbers go on from the team's last one.
        let plan = app.say(&ZHANGSAN, "排清单\n1. 路灯维修 @王五 周三").await;
        assert!(plan.contains("#3 【绿】路灯维修"), "{plan}");
        let list = app.say(&VILLAGERS[0], "清单").await;
        let carried = list.find("#1 【结转").expect("carried task listed");
        let new = list.find("#3 【绿】路灯维修").expect("new task listed");
        assert!(carried < new, "carried tasks come first: {list}");
        assert!(list.contains("已完成 0/1，往周结转 1 项"), "{list}");

        // The carried task is reachable: 延期 forward, then 完成.
        let r = app.say(&LISI, "延期 #1 周四 等镇里批复").await;
        assert_eq!(r, "⏳ #1 已延期：插花田政策处理\n12月4日(周五) → 12月10日(周四)\n原因：等镇里批复");
        let list = app.say(&VILLAGERS[0], "清单").await;
        assert!(list.contains("#1 【结转·11月30日—12月6日】【红】插花田政策处理 @李四 · 12月10日(周四)截止"), "still carried: {list}");
        let r = app.say(&LISI, "完成 #1 3户都签了协议").await;
        // Carried over, it was not done on time, whatever the new deadline.
        assert!(r.starts_with("✅ 已销号 #1 插花田政策处理：3户都签了协议\n"), "{r}");
        assert!(r.ends_with("\n超过截止时间完成"), "{r}");
        let list = app.say(&VILLAGERS[0], "清单").await;
        assert!(!list.contains("结转"), "{list}");
        // It stays in its own week's list, where it counts as closed, not on time.
        let t = tasks(&app).await;
        assert_eq!(t[0], ("2026-W49".to_string(), 1, "插花田政策处理".to_string(), "closed".to_string()));
        let w49 = week_stats(&app, "2026-W49").await;
        assert_eq!((w49.total, w49.closed, w49.on_time), (2, 2, 1), "carried over, then closed: not on time");
    }
}

scenario! {
    async fn a_task_overdue_then_postponed_in_the_same_week_is_not_on_time(app) {
        // Monday 30 November.
        app.set_local(2026, 11, 30, 10, 0);
        app.setup_team().await;
        app.say(&ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 周二 红\n2. 河道清理 @王五 周五").await;
        // Wednesday: #1 ran past Tuesday; 延期 to Friday, in the same week's list.
        app.set_local(2026, 12, 2, 9, 0);
        let r = app.say(&LISI, "延期 #1 周五 等镇里批复").await;
        assert!(r.starts_with("⏳ #1 已延期：插花田政策处理\n12月1日(周二) → 12月4日(周五)\n"), "{r}");
        // Done on Thursday, before the new deadline: still not on time.
        app.set_local(2026, 12, 3, 10, 0);
        let r = app.say(&LISI, "完成 #1 3户都签了协议").await;
        assert!(r.ends_with("\n超过截止时间完成"), "overdue before the 延期: {r}");
        let r = app.say(&WANGWU, "完成 #2 清理完毕").await;
        assert!(!r.contains("超过截止时间"), "#2 is on time: {r}");
        let list = app.say(&VILLAGERS[0], "清单").await;
        assert!(list.contains("#1 【红】插花田政策处理") && list.contains("✅已完成(逾期)"), "{list}");
        let w49 = week_stats(&app, "2026-W49").await;
        assert_eq!((w49.total, w49.closed, w49.on_time), (2, 2, 1), "only #2 was on time");
    }
}

scenario! {
    async fn a_number_never_names_two_open_tasks(app) {
        app.setup_team().await;
        app.say(&ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 周五 红").await;
        app.set_local(2026, 12, 8, 9, 0);
        let r = app.say(&ZHANGSAN, "加清单 河道清理 @王五 周五").await;
        assert!(r.contains("#2 【绿】河道清理"), "{r}");
        let r = app.say(&VILLAGERS[1], "诉求 村口路灯坏了").await;
        assert!(r.contains("#3"), "{r}");
        // 取消 and 指派 reach last week's task and name it.
        let r = app.say(&ZHANGSAN, "指派 #1 @王五").await;
        assert!(r.contains("#1 【红】插花田政策处理 已指派给"), "{r}");
        let r = app.say(&ZHANGSAN, "取消 #1 镇里统一处理").await;
        assert_eq!(r, "❌ #1 已取消：插花田政策处理\n原因：镇里统一处理");
        let r = app.say(&ZHANGSAN, "完成 #1 其实做了").await;
        assert_eq!(r, "#1 已取消，无需再处理：插花田政策处理");
        let r = app.say(&LISI, "完成 #2 已清理").await;
        assert!(r.contains("#2 只能由 @王五 或团长 处理（河道清理）"), "{r}");
        let r = app.say(&ZHANGSAN, "完成 #9 好了").await;
        assert!(r.contains("没有 #9"), "{r}");
        let nos: Vec<i64> = tasks(&app).await.iter().map(|t| t.1).collect();
        assert_eq!(nos, vec![1, 2, 3]);
    }
}

scenario! {
    async fn postponing_only_moves_forward(app) {
        // Monday 30 November.
        app.set_local(2026, 11, 30, 10, 0);
        app.setup_team().await;
        app.say(&ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 周三 红").await;
        let before = app.counts().await;
        let r = app.say(&LISI, "延期 #1 周一 来不及").await;
        assert_eq!(r, "#1 插花田政策处理 没有延期：新截止时间要晚于现在的 12月2日(周三)。延期只能往后延。\n例：延期 #1 下周三 等待镇里批复");
        let r = app.say(&LISI, "延期 #1 12月2日 来不及").await;
        assert!(r.contains("没有延期"), "the same deadline is no postponement: {r}");
        let list = app.say(&LISI, "清单").await;
        assert!(list.contains("12月2日(周三)截止"), "nothing moved: {list}");
        let mut expected = before.clone();
        expected.insert("inbound_messages", before["inbound_messages"] + 3);
        assert_eq!(app.counts().await, expected, "a refusal stores nothing");
        // Past Sunday: into next week's list.
        let r = app.say(&LISI, "延期 #1 下周三 等镇里批复").await;
        assert_eq!(r, "⏳ #1 已延期：插花田政策处理\n12月2日(周三) → 12月9日(周三)，移入12月7日—13日的清单\n原因：等镇里批复");
        let postponements = app.db.read(|tx| Box::pin(async move {
            liancun::store::sql::query_as::<(i64,)>("SELECT COUNT(*) FROM task_postponements").fetch_one(tx).await
        })).await.expect("count");
        assert_eq!(postponements.0, 1, "only the move forward was stored");
        let list = app.say(&LISI, "清单").await;
        assert!(!list.contains("插花田"), "{list}");
        app.set_local(2026, 12, 7, 9, 0);
        let list = app.say(&LISI, "清单").await;
        assert!(list.contains("已完成 0/1") && list.contains("#1 【红】插花田政策处理"), "{list}");
        assert!(!list.contains("结转"), "moved, not carried: {list}");
    }
}

scenario! {
    async fn the_overdue_scan_names_carried_tasks_by_their_own_number(app) {
        app.setup_team().await;
        app.say(&ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 周四 黄").await;
        app.set_local(2026, 12, 8, 10, 1);
        app.say(&ZHANGSAN, "排清单\n1. 路灯维修 @王五 周五").await;
        tick_and_deliver(&app).await;
        let alert = push_with(&app, "已逾期");
        assert!(alert.contains("#1 【结转·11月30日—12月6日】【黄】插花田政策处理"), "{alert}");
        assert!(!alert.contains("路灯维修"), "{alert}");
        // And #1 is that task when someone acts on the alert.
        let r = app.say(&LISI, "完成 #1 办好了").await;
        assert!(r.starts_with("✅ 已销号 #1 插花田政策处理：办好了\n"), "{r}");
    }
}

scenario! {
    async fn a_hundred_task_messages_at_once_get_numbers_without_a_race(app) {
        app.setup_team().await;
        // Every sender has spoken once, as they have in a group that works.
        for v in &VILLAGERS {
            app.say(v, "清单").await;
        }
        let members = [&ZHANGSAN, &LISI, &WANGWU];
        let mut msgs: Vec<(&Person, String)> = Vec::new();
        for i in 0..10 {
            msgs.push((&ZHANGSAN, format!("排清单\n1. 计划事项{i}甲\n2. 计划事项{i}乙")));
        }
        for i in 0..60 {
            msgs.push((members[i % 3], format!("加清单 追加事项{i} 周五")));
        }
        for i in 0..30 {
            msgs.push((&VILLAGERS[i % 4], format!("诉求 村民反映{i}")));
        }
        let ids: Vec<String> = (0..msgs.len()).map(|i| format!("burst-{i}")).collect();
        let sends = msgs
            .iter()
            .zip(&ids)
            .map(|((who, text), id)| app.send_with_id(id, who, text));
        let replies: Vec<String> = futures_util::future::join_all(sends)
            .await
            .into_iter()
            .map(|v| v["text"]["content"].as_str().unwrap_or_default().to_string())
            .collect();
        let errors: Vec<&String> = replies.iter().filter(|r| r.contains("暂时出错")).collect();
        assert!(errors.is_empty(), "{} of 100 refused: {errors:?}", errors.len());
        let plans_refused = replies.iter().filter(|r| r.contains("已发布过")).count();
        assert_eq!(plans_refused, 9, "one 排清单 wins: {replies:?}");
        let t = tasks(&app).await;
        assert_eq!(t.len(), 2 + 60 + 30);
        let mut nos: Vec<i64> = t.iter().map(|x| x.1).collect();
        nos.sort_unstable();
        assert_eq!(nos, (1..=92).collect::<Vec<i64>>(), "numbers 1..N, each once");
        let mut texts: Vec<&str> = t.iter().map(|x| x.2.as_str()).collect();
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), 92, "every task stored once");
        let c = app.counts().await;
        assert_eq!((c["plans"], c["requests"]), (1, 30));
    }
}

scenario! {
    async fn a_refusal_example_names_the_same_task_and_is_taken_when_copied(app) {
        app.setup_team().await; // Wednesday 2 December
        app.say(&ZHANGSAN, "加清单 修路 @王五 周五").await;
        app.say(&ZHANGSAN, "加清单 河道清理 @王五 周五").await;
        // A message that cannot be parsed: the example is about #1, the task
        // the sender typed, never the generic #2 or #4 (copying those would
        // postpone or cancel another task).
        let r = app.say(&WANGWU, "延期 #1 明天").await;
        assert_eq!(r, "「延期」要写原因。\n例：延期 #1 下周三 等待镇里批复");
        let r = app.say(&ZHANGSAN, "取消 #1").await;
        assert_eq!(r, "「取消」要写原因。\n例：取消 #1 不用办了");
        let r = app.say(&WANGWU, "延期 #1 周一 等料").await;
        assert!(r.ends_with("\n例：延期 #1 下周一 等待镇里批复"), "{r}");

        // A deadline already past next Wednesday: the refusal's example is
        // the day after it, and sending it works.
        let r = app.say(&WANGWU, "延期 #1 12月20日 等料").await;
        assert!(r.starts_with("⏳ #1 已延期：修路"), "{r}");
        let r = app.say(&WANGWU, "延期 #1 12月18日 等料").await;
        assert_eq!(
            r,
            "#1 修路 没有延期：新截止时间要晚于现在的 12月20日(周日)。延期只能往后延。\n\
             例：延期 #1 12月21日 等待镇里批复"
        );
        let example = r.rsplit("例：").next().expect("an example");
        let r = app.say(&WANGWU, example).await;
        assert!(r.starts_with("⏳ #1 已延期：修路\n12月20日(周日) → 12月21日(周一)"), "{r}");
        let list = app.say(&WANGWU, "清单").await;
        assert!(list.contains("#2 【绿】河道清理 @王五 · 12月4日(周五)截止"), "#2 untouched: {list}");
    }
}
