//! The yearly duties in the group: 走访 against the household registry,
//! 走访率, 项目, the project reminder, and the weekly airing with its chart.
//! The clock stands at Wednesday 2026-12-02 10:00 (Asia/Shanghai), week 2026-W49.

use crate::scenario;
use crate::support::*;

use liancun::store::{StoreError, households};

/// The village 南坞村's id (after setup_team).
async fn village_id(app: &TestApp) -> i64 {
    app.db
        .read(|tx| {
            Box::pin(async move {
                liancun::store::sql::query_as::<(i64,)>(
                    "SELECT id FROM villages WHERE name = '南坞村'",
                )
                .fetch_one(tx)
                .await
                .map(|(id,)| id)
            })
        })
        .await
        .expect("the village exists")
}

/// Registers households (name, 小组) of 南坞村, as the admin CSV import does.
async fn register(app: &TestApp, rows: &[(&str, &str)]) {
    let village = village_id(app).await;
    let rows: Vec<(String, String)> = rows
        .iter()
        .map(|(n, g)| (n.to_string(), g.to_string()))
        .collect();
    app.db
        .write(move |tx| {
            Box::pin(async move {
                for (name, subgroup) in &rows {
                    households::upsert(tx, village, name, subgroup, None, 0).await?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .await
        .expect("households registered");
}

/// How many visits are tied to a registered household.
async fn linked_visits(app: &TestApp) -> i64 {
    app.db
        .read(|tx| {
            Box::pin(async move {
                liancun::store::sql::query_as::<(i64,)>(
                    "SELECT COUNT(*) FROM visits WHERE household_id IS NOT NULL",
                )
                .fetch_one(tx)
                .await
                .map(|(n,)| n)
            })
        })
        .await
        .expect("count")
}

scenario! {
    async fn visits_find_registered_ambiguous_and_unregistered_households(app) {
        app.setup_team().await;
        register(&app, &[("张大爷", "3"), ("张大爷", "5"), ("李奶奶", "3"), ("王五叔", "")]).await;

        let r = app.say(&LISI, "走访 张大爷家（3组） 反映路灯坏了").await;
        assert_eq!(r, "🏠 已记录走访：张大爷（3组）。本周你已走访 1 户次，全团 1 户次。");
        let r = app.say(&WANGWU, "走访 5组张大爷 身体好").await;
        assert!(r.starts_with("🏠 已记录走访：张大爷（5组）。"), "{r}");
        let r = app.say(&LISI, "走访 李奶奶 聊家常").await;
        assert!(r.starts_with("🏠 已记录走访：李奶奶（3组）。"), "the only one needs no 小组: {r}");

        // Two 张大爷: asked which, nothing stored.
        let before = app.counts().await["visits"];
        let r = app.say(&LISI, "走访 张大爷家 送春联").await;
        assert!(r.contains("「张大爷」有 2 户：3组、5组") && r.contains("没有记录"), "{r}");
        assert!(r.contains("例：走访 张大爷(3组)"), "{r}");
        assert_eq!(app.counts().await["visits"], before);

        // Not in the registry: recorded as such.
        let r = app.say(&WANGWU, "走访 赵六家 反映低保").await;
        assert_eq!(r, "🏠 已记录走访：赵六家（未登记农户）。本周你已走访 2 户次，全团 4 户次。");
        assert_eq!(linked_visits(&app).await, 3);

        // 走访率 for anyone: distinct registered households reached this year.
        app.say(&LISI, "走访 张大爷(三组) 再访").await;
        let r = app.say(&VILLAGERS[0], "走访率").await;
        assert!(r.contains("南坞村2026年走访覆盖：已走访 3/4 户（75%）"), "{r}");
        assert!(r.contains("另有未登记农户走访 1 户次"), "{r}");
        assert_eq!(app.say(&VILLAGERS[0], "/coverage").await, r, "alias");

        // Who is left: team members only.
        let r = app.say(&VILLAGERS[0], "走访率 未走访").await;
        assert!(r.contains("只有服务团成员"), "{r}");
        let r = app.say(&LISI, "走访率 未走访").await;
        assert_eq!(r, "🏠 南坞村2026年还有 1 户未走访：\n未分组：王五叔");
    }
}

scenario! {
    async fn the_unvisited_list_is_grouped_by_subgroup_and_capped(app) {
        app.setup_team().await;
        let names: Vec<String> = (1..=35).map(|i| format!("农户{i:02}")).collect();
        let mut rows: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "7")).collect();
        rows.push(("周大妈", "2"));
        rows.push(("吴伯", "2"));
        register(&app, &rows).await;
        app.say(&LISI, "走访 2组吴伯").await;

        let r = app.say(&ZHANGSAN, "走访率 未走访").await;
        let lines: Vec<&str> = r.lines().collect();
        assert_eq!(lines[0], "🏠 南坞村2026年还有 36 户未走访：");
        assert_eq!(lines[1], "2组：周大妈", "{r}");
        assert!(lines[2].starts_with("7组：农户01、农户02、"), "{r}");
        assert_eq!(lines[2].matches('、').count(), 28, "30 listed in all: {r}");
        assert_eq!(lines[3], "…还有 6 户", "{r}");

        // A new year starts from zero.
        app.set_local(2027, 1, 4, 10, 0);
        let r = app.say(&VILLAGERS[1], "覆盖").await;
        assert!(r.contains("2027年走访覆盖：已走访 0/37 户（0%）"), "{r}");
    }
}

scenario! {
    async fn coverage_without_a_registry_says_so(app) {
        app.setup_team().await;
        app.say(&LISI, "走访 张大爷家").await;
        let r = app.say(&VILLAGERS[0], "走访率").await;
        assert!(r.contains("还没有导入农户名册") && r.contains("未登记农户走访 1 户次"), "{r}");
        let r = app.say(&LISI, "走访率 全部").await;
        assert!(r.contains("只能写「未走访」") && r.contains("例"), "{r}");
    }
}

scenario! {
    async fn hard_projects_are_created_advanced_and_completed_by_the_leader(app) {
        app.setup_team().await;
        let r = app.say(&VILLAGERS[0], "项目").await;
        assert!(r.contains("本团2026年还没有难点项目"), "anyone may list: {r}");
        let r = app.say(&LISI, "项目 新建 村道硬化").await;
        assert!(r.contains("「项目」只有团长可以使用"), "{r}");

        let r = app.say(&ZHANGSAN, "项目 新建 村道硬化").await;
        assert_eq!(r, "🏗 已新建难点项目「村道硬化」（本团2026年第 1 个）。\n有进展请发：项目 进展 村道硬化 做了什么");
        let r = app.say(&ZHANGSAN, "/project new 村道硬化").await;
        assert!(r.contains("已经有项目「村道硬化」"), "{r}");
        app.say(&ZHANGSAN, "项目 立项 河道清淤").await;

        let r = app.say(&ZHANGSAN, "项目 进展 村道硬化 路基完成,下周浇筑").await;
        assert_eq!(r, "📌 已记录「村道硬化」第 1 条进展：路基完成，下周浇筑");
        let r = app.say(&ZHANGSAN, "项目 进展 村道 水泥进场").await;
        assert!(r.contains("「村道硬化」第 2 条进展"), "a unique part of the name will do: {r}");
        let r = app.say(&ZHANGSAN, "项目 进展 路灯改造 已报价").await;
        assert!(r.contains("没有项目「路灯改造」") && r.contains("村道硬化、河道清淤"), "{r}");
        let r = app.say(&ZHANGSAN, "项目 开工 村道硬化").await;
        assert!(r.contains("新建、进展 或 完成"), "{r}");

        let r = app.say(&ZHANGSAN, "项目 完成 河道清淤 通过验收").await;
        assert_eq!(r, "✅ 难点项目「河道清淤」已完成（共 1 条进展记录），会在本周晾晒中展示。");
        let r = app.say(&ZHANGSAN, "项目 进展 河道清淤 补种").await;
        assert!(r.contains("已于12月2日完成"), "{r}");

        let r = app.say(&WANGWU, "/project").await;
        assert!(r.starts_with("🏗 本团2026年难点项目 2 个："), "{r}");
        assert!(r.contains("1. 村道硬化 · 进行中 · 进展 2 条，最近（12月2日）：水泥进场"), "{r}");
        assert!(r.contains("2. 河道清淤 · ✅已完成 · 进展 1 条，最近（12月2日）：通过验收"), "{r}");

        // The Friday airing shows the week's reports.
        app.set_local(2026, 12, 4, 20, 1);
        app.tick().await;
        app.deliver().await;
        let airing = app.fake.received().into_iter().find(|r| r.text.contains("本周晾晒")).expect("airing sent");
        assert!(airing.text.contains("- 难点项目：\n  - 村道硬化：路基完成，下周浇筑\n  - 村道硬化：水泥进场\n  - 河道清淤 ✅完成：通过验收"), "{}", airing.text);
    }
}

scenario! {
    async fn a_team_without_a_project_by_the_due_date_is_reminded_once(app) {
        app.set_local(2026, 3, 30, 10, 0);
        app.setup_team().await;
        // The day before: nothing.
        app.set_local(2026, 3, 30, 9, 1);
        app.tick().await;
        // The due date (03-31 by default): one reminder, @ the leader.
        app.set_local(2026, 3, 31, 9, 1);
        app.tick().await;
        app.deliver().await;
        let got: Vec<_> = app.fake.received().into_iter().filter(|r| r.text.contains("难点项目提醒")).collect();
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].text.contains("本团2026年还没有难点项目") && got[0].text.contains("3月31日前"), "{}", got[0].text);
        assert!(got[0].shown.contains("@张三") && !got[0].shown.contains("zhangsan01"), "the leader is named: {got:?}");
        // The next days: no second reminder.
        for day in 1..=3 {
            app.set_local(2026, 4, day, 9, 1);
            app.tick().await;
            app.deliver().await;
        }
        let n = app.fake.received().iter().filter(|r| r.text.contains("难点项目提醒")).count();
        assert_eq!(n, 1);
        // Once the team has a project, even a run by hand says nothing.
        app.say(&ZHANGSAN, "项目 新建 村道硬化").await;
        let (s, v) = app.admin("POST", "/api/v1/jobs/project_reminder/run", None).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["enqueued"], 0, "{v}");
    }
}

/// Runs a chart scenario on SQLite and, with LIANCUN_TEST_PG, PostgreSQL,
/// with charts served.
macro_rules! chart_scenario {
    (async fn $name:ident($app:ident) $body:block) => {
        mod $name {
            use super::*;
            const TOML: &str = "public_base_url = \"https://liancun.example.cn/\"\nchart_key = \"chart-test-key\"";
            #[allow(unused_mut)]
            async fn run(mut $app: TestApp) $body

            #[tokio::test]
            async fn sqlite() {
                run(TestApp::spawn_with(Backend::Sqlite, TOML).await.unwrap()).await;
            }

            #[tokio::test]
            #[cfg_attr(not(liancun_pg), ignore = "PostgreSQL: set LIANCUN_TEST_PG to run")]
            async fn postgres() {
                run(TestApp::spawn_with(Backend::Postgres, TOML).await.expect(PG_UNSET)).await;
            }
        }
    };
}

chart_scenario! {
    async fn the_airing_compares_with_last_week_and_embeds_its_chart(app) {
        // Last week (W48): 2 tasks, 1 closed, 1 service, 2 visits.
        app.set_local(2026, 11, 24, 10, 0);
        app.setup_team().await;
        app.say(&ZHANGSAN, "排清单\n1. 河道清理 @李四 周五\n2. 路灯维修 @王五 周五").await;
        app.say(&LISI, "完成 #1 已清理").await;
        app.say(&LISI, "服务 帮王大妈办医保").await;
        app.say(&LISI, "走访 张大爷家").await;
        app.say(&WANGWU, "走访 李奶奶家").await;
        // This week (W49): 3 tasks, 3 closed, 3 services, 1 visit, a request resolved.
        app.set_local(2026, 12, 2, 10, 0);
        app.say(&ZHANGSAN, "排清单\n1. 医保代办 @李四 周五\n2. 修路灯 @王五 周五").await;
        app.say(&VILLAGERS[0], "诉求 3组路灯坏了").await;
        app.deliver().await; // the leader's prompt to hand it on
        // Numbers are the team's: last week's #2 is still open, so this week's are #3–#5.
        app.say(&LISI, "完成 #3 已办好").await;
        app.say(&WANGWU, "完成 #4 已修好").await;
        let r = app.say(&ZHANGSAN, "完成 #5 已派电工修好").await;
        assert!(r.contains("已销号 #5"), "the request's task is closed: {r}");
        for text in ["服务 送药", "服务 调解", "服务 代办"] {
            app.say(&LISI, text).await;
        }
        app.say(&WANGWU, "走访 赵六家").await;
        for v in VILLAGERS.iter().take(2) {
            app.say(v, "满意").await;
        }

        app.set_local(2026, 12, 4, 20, 1);
        app.tick().await;
        app.deliver().await;
        let airing = app.fake.received().into_iter().find(|r| r.text.contains("本周晾晒")).expect("airing sent");
        assert_eq!(airing.msgtype, "markdown");
        let t = &airing.text;
        assert!(t.contains("清单销号：3/3，按时 3（上周 1/2，↑2）"), "{t}");
        assert!(t.contains("服务：3 次（↑2）　走访：1 户次（↓1）"), "{t}");
        assert!(t.contains("村民诉求：1 件，待办 0 件，本周办结 1 件"), "{t}");
        // The airing shows last week's final rating (W48 had none); this
        // week's two ratings are still open until next week's airing.
        assert!(t.contains("- 上周村民评价：暂无"), "{t}");
        assert!(!t.contains("村民甲") && !t.contains("赵六"), "no villager named: {t}");

        // The chart: a signed URL under public_base_url, served by liancun.
        let start = t.find("![近8周走势](").expect("chart embedded") + "![近8周走势](".len();
        let url = &t[start..start + t[start..].find(')').unwrap()];
        let path = url.strip_prefix("https://liancun.example.cn").expect("under public_base_url");
        assert!(path.starts_with("/charts/") && path.contains("/2026-W49.png?sig="), "{path}");
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "image/png");
        let body = resp.bytes().await.unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(body.to_vec())).read_info().expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("a frame");
        assert_eq!((info.width, info.height), (liancun::chart::WIDTH, liancun::chart::HEIGHT));

        // Unsigned, mis-signed or for another week or team: 404.
        let (base, sig) = path.split_once("?sig=").unwrap();
        for bad in [
            base.to_string(),
            format!("{base}?sig=00000000000000000000000000000000"),
            format!("{}?sig={sig}", base.replace("2026-W49", "2026-W48")),
            format!("/charts/999999/2026-W49.png?sig={sig}"),
            format!("{}?sig={sig}", base.replace(".png", ".gif")),
        ] {
            let s = app.client.get(app.url(&bad)).send().await.unwrap().status();
            assert_eq!(s, 404, "{bad}");
        }
    }
}

scenario! {
    async fn without_public_base_url_no_chart_is_embedded_or_served(app) {
        app.setup_team().await;
        app.set_local(2026, 12, 4, 20, 1);
        app.tick().await;
        app.deliver().await;
        let airing = app.fake.received().into_iter().find(|r| r.text.contains("本周晾晒")).expect("airing sent");
        assert!(!airing.text.contains("!["), "{}", airing.text);
        assert!(!airing.text.contains("（上周"), "no week before: {}", airing.text);
        let s = app.client.get(app.url("/charts/1/2026-W49.png?sig=00")).send().await.unwrap().status();
        assert_eq!(s, 404);
    }
}

chart_scenario! {
    async fn a_wecom_group_gets_the_chart_as_a_link(app) {
        use crate::support::wecom::*;
        const KEY: &str = "5b0c4c2e-1f7a-4d47-9a51-0c0ffee00001";
        app.in_group("wx-chart");
        let r = app.wecom_say(WECOM_ADMIN, "绑定 凤林镇 南坞村 南坞服务团").await;
        assert!(r.contains("已绑定"), "{r}");
        let group = app.group_id().await;
        let (s, b) = app
            .admin("PUT", &format!("/api/v1/groups/{group}/push-robot"), Some(serde_json::json!({ "key": KEY })))
            .await;
        assert_eq!(s, 204, "{b}");
        app.wecom.add_key(KEY);

        app.set_local(2026, 12, 4, 20, 1);
        app.tick().await;
        app.deliver().await;
        let got = app.wecom.received();
        let airing = got.iter().find(|r| r.content.contains("本周晾晒")).expect("airing sent");
        assert_eq!(airing.msgtype, "markdown");
        assert!(
            airing.content.contains("[近8周走势](https://liancun.example.cn/charts/") && !airing.content.contains("!["),
            "markdown v1 shows no images: {}",
            airing.content
        );
    }
}
