//! The monthly ranking: a November of activity in two village groups of one
//! township, ranked as a township admin would check by hand; 排名, the
//! monthly_ranking job, weights, pioneers, and the bench's generator.
//!
//! Hand computation (default weights 30/20/20/15/15), November 2026:
//!
//! 南坞村 (team 1): 4 tasks due (#1 Wed, #3 Thu, #4 the request Sun — closed
//! on time; #2 Fri closed Saturday, late) → 0.75; 1 request, closed → 1;
//! 2 of 4 registered households visited → 0.5 against the pace 11/12 →
//! 0.5454…; W45 rated 5, 4, 4 by three villagers (W46's two raters do not
//! count) → avg 4.333 → 0.8333…; one hard project reported on → 0.5.
//! 0.3·0.75 + 0.2·1 + 0.2·0.5454 + 0.15·0.8333 + 0.15·0.5 = 0.7341 → 73.4.
//!
//! 大陈村 (team 2): 2 tasks due, one on time → 0.5; no request, no registry,
//! no rated week → their weights go to the rest; its project is done in
//! November → 1. (30·0.5 + 15·1) / 45 = 0.6667 → 66.7.

use serde_json::{Value, json};

use crate::scenario;
use crate::support::*;
use liancun::store::{self, StoreError};

const GROUP_B: &str = "cid-dachen";

/// Local (Asia/Shanghai) instant in ms.
fn local_ms(m: u32, d: u32, h: u32) -> i64 {
    use chrono::TimeZone;
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, m, d, h, 0, 0)
        .single()
        .unwrap()
        .timestamp_millis()
}

/// November in both groups, as the people type it, plus the registry and
/// the hard projects through the store.
async fn november(app: &mut TestApp) {
    let a_conv = {
        app.set_local(2026, 11, 1, 10, 0);
        app.setup_team().await;
        app.group_id().await
    };
    let a_conv = app.conversation_of(a_conv).await;
    app.in_group(GROUP_B);
    app.ensure_village("凤林镇", "大陈村").await;
    assert!(
        app.say(&ADMIN, "绑定 凤林镇 大陈村 大陈服务团")
            .await
            .contains("已绑定")
    );
    assert!(app.say(&ADMIN, "设团长 @赵六").await.contains("已设团长"));
    app.in_group(&a_conv);

    // Week 45, 南坞村.
    app.set_local(2026, 11, 2, 9, 0);
    let r = app
        .say(
            &ZHANGSAN,
            "排清单\n1. 河道清理 @李四 周三\n2. 路灯维修 @王五 周五\n3. 垃圾清运 @张三 周四",
        )
        .await;
    assert!(r.contains("共 3 项"), "{r}");
    app.set_local(2026, 11, 3, 9, 0);
    assert!(
        app.say(&VILLAGERS[0], "诉求 村口垃圾没人清")
            .await
            .contains("#4")
    );
    // The leader's prompt goes out now, not in the middle of later pushes.
    app.deliver().await;
    app.set_local(2026, 11, 3, 10, 0);
    app.say(&LISI, "服务 #1 清理河道上游").await;
    app.say(&ZHANGSAN, "服务 帮王大妈办医保").await;
    app.say(&LISI, "走访 张大爷家 反映路灯坏了").await;
    app.say(&LISI, "走访 李奶奶家 身体还好").await;
    app.set_local(2026, 11, 4, 10, 0);
    assert!(app.say(&LISI, "完成 #1 已清理").await.contains("已销号"));
    app.say(&LISI, "走访 张大爷家 回访路灯").await;
    app.set_local(2026, 11, 5, 10, 0);
    assert!(
        app.say(&ZHANGSAN, "完成 #3 #4 已清运")
            .await
            .contains("已销号")
    );
    app.set_local(2026, 11, 6, 20, 0);
    app.say(&VILLAGERS[0], "评价 5 路灯修得快").await;
    app.say(&VILLAGERS[1], "评价 4").await;
    app.say(&VILLAGERS[2], "评价 4").await;
    app.set_local(2026, 11, 7, 10, 0);
    let r = app.say(&WANGWU, "完成 #2 已修好").await;
    assert!(r.contains("超过截止时间"), "late: {r}");
    // Week 46: two raters only.
    app.set_local(2026, 11, 13, 20, 0);
    app.say(&VILLAGERS[0], "满意").await;
    app.say(&VILLAGERS[1], "基本满意").await;

    // Week 46, 大陈村.
    app.in_group(GROUP_B);
    app.set_local(2026, 11, 9, 9, 0);
    let r = app
        .say(
            &ZHAOLIU,
            "排清单\n1. 政策宣传 @赵六 周二\n2. 矛盾调解 @赵六 周三",
        )
        .await;
    assert!(r.contains("共 2 项"), "{r}");
    app.set_local(2026, 11, 10, 10, 0);
    app.say(&ZHAOLIU, "完成 #1 已宣传到户").await;
    app.set_local(2026, 11, 12, 10, 0);
    app.say(&ZHAOLIU, "完成 #2 双方已和解").await;
    app.in_group(&a_conv);

    // The registry of 南坞村 (village 1) and the hard projects.
    app.db
        .write(|tx| {
            Box::pin(async move {
                let mut ids = Vec::new();
                for name in ["张大爷", "李奶奶", "王伯", "赵婶"] {
                    let (id, _) =
                        store::households::upsert(tx, 1, name, "", None, local_ms(11, 1, 8))
                            .await?;
                    ids.push(id);
                }
                assert_eq!(
                    store::ranking::link_visits_named(tx, 1, "张大爷家", ids[0]).await?,
                    2
                );
                assert_eq!(
                    store::ranking::link_visits_named(tx, 1, "李奶奶家", ids[1]).await?,
                    1
                );
                let zhangsan = store::groups::person_by_platform_id(tx, "dingtalk", "zhangsan01")
                    .await?
                    .unwrap()
                    .id;
                let zhaoliu = store::groups::person_by_platform_id(tx, "dingtalk", "zhaoliu01")
                    .await?
                    .unwrap()
                    .id;
                let a = store::projects::create(
                    tx,
                    1,
                    2026,
                    "古村落保护",
                    zhangsan,
                    local_ms(11, 2, 12),
                )
                .await?
                .expect("a new project");
                store::projects::add_update(
                    tx,
                    a,
                    zhangsan,
                    "2026-W47",
                    "方案已报镇里",
                    local_ms(11, 16, 12),
                )
                .await?;
                let b =
                    store::projects::create(tx, 2, 2026, "产业园", zhaoliu, local_ms(11, 2, 12))
                        .await?
                        .expect("a new project");
                let done_at = local_ms(11, 20, 12);
                store::projects::add_update(tx, b, zhaoliu, "2026-W47", "园区通水通电", done_at)
                    .await?;
                assert!(store::projects::mark_done(tx, b, zhaoliu, done_at).await?);
                Ok::<_, StoreError>(())
            })
        })
        .await
        .expect("registry and projects");
}

fn team(v: &Value, place: usize) -> &Value {
    &v["teams"][place - 1]
}

scenario! {
    async fn a_month_of_activity_yields_the_hand_computed_ranking(app) {
        november(&mut app).await;
        app.set_local(2026, 11, 30, 12, 0);
        let (s, v) = app.admin("GET", "/api/v1/townships/1/ranking?month=2026-11", None).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["complete"], false, "November is not over yet");
        let a = team(&v, 1);
        assert_eq!((a["team_id"].as_i64(), a["village"].as_str(), a["score"].as_f64()), (Some(1), Some("南坞村"), Some(73.4)), "{v}");
        let c = &a["counts"];
        assert_eq!(
            [c["due"].as_i64(), c["on_time"].as_i64(), c["requests"].as_i64(), c["requests_closed"].as_i64(),
             c["households"].as_i64(), c["reached"].as_i64(), c["rating_sum"].as_i64(), c["rating_n"].as_i64(),
             c["projects"].as_i64(), c["projects_updated"].as_i64()],
            [Some(4), Some(3), Some(1), Some(1), Some(4), Some(2), Some(13), Some(3), Some(1), Some(1)],
            "{c}"
        );
        let b = team(&v, 2);
        assert_eq!((b["team_id"].as_i64(), b["score"].as_f64()), (Some(2), Some(66.7)), "{v}");
        assert_eq!(b["components"]["requests"], Value::Null, "no request: not applicable");
        assert_eq!(b["components"]["rating"], Value::Null);
        assert_eq!(b["components"]["projects"].as_f64(), Some(1.0));

        // 排名 in 大陈村's group: the top and its own place.
        app.in_group(GROUP_B);
        let r = app.say(&VILLAGERS[3], "排名").await;
        assert_eq!(
            r,
            "🏆 凤林镇 11月排名（截至11月30日）\n🥇1. 南坞村 南坞服务团 73.4分\n🥈2. 大陈村 大陈服务团 66.7分\n\
             本团：第 2 名 / 共 2 个团，66.7分\n计分：按时销号、诉求办结、走访覆盖、群众评价、难点项目"
        );
        assert_eq!(app.say(&ZHAOLIU, "/rank").await, r, "the alias, for a member too");
        // October: both teams existed and did nothing, so nobody is ranked.
        let r = app.say(&ZHAOLIU, "排名 上月").await;
        assert_eq!(r, "凤林镇 10月各服务团都还没有工作记录，数据不足，暂不排名。");
    }
}

scenario! {
    async fn the_monthly_job_posts_to_each_group_and_the_admins(app) {
        november(&mut app).await;
        let (s, _) = app.admin("POST", "/api/v1/townships/1/admins",
            Some(json!({"platform": "dingtalk", "user_id": "zuzhiban01", "name": "组织办"}))).await;
        assert_eq!(s, 200);
        app.set_local(2026, 12, 1, 8, 50);
        app.tick().await;
        app.set_local(2026, 12, 1, 9, 1);
        let f = app.tick().await;
        let m: Vec<_> = f.iter().filter(|x| x.job == "monthly_ranking").collect();
        assert_eq!(m.len(), 1, "{f:?}");
        assert_eq!((m[0].status.as_str(), m[0].enqueued), ("done", 3), "two groups and the admin");
        app.deliver().await;
        let got = app.fake.received();
        // (Besides the leader's prompt of the November request.)
        let groups: Vec<_> = got.iter().filter(|r| r.route == "openapi" && r.text.contains("排名")).collect();
        assert_eq!(groups.len(), 2, "{got:?}");
        for g in &groups {
            assert!(g.text.starts_with("🏆 凤林镇 11月服务团排名\n🥇1. 南坞村 南坞服务团 73.4分\n🥈2. 大陈村 大陈服务团 66.7分"), "{}", g.text);
        }
        assert!(groups.iter().any(|g| g.text.contains("本团：第 1 名 / 共 2 个团，73.4分")));
        assert!(groups.iter().any(|g| g.text.contains("本团：第 2 名 / 共 2 个团，66.7分")));
        let admin = got.iter().find(|r| r.route == "direct").expect("the admin's message");
        assert_eq!(admin.target, "user:zuzhiban01");
        for want in ["（共 2 个团）", "项目先锋：\n  [2] 大陈村 大陈服务团（团长赵六）（本月完成难点项目 1 个）",
                     "[1] 南坞村 南坞服务团（团长张三）（难点项目本月有进展 1 个）",
                     "李四（南坞村 南坞服务团，服务 1 次、走访 3 户次、按时销号 1 项）",
                     "张三（南坞村 南坞服务团，服务 1 次、走访 0 户次、按时销号 2 项）",
                     "赵六（大陈村 大陈服务团，服务 0 次、走访 0 户次、按时销号 1 项）",
                     "创新先锋：暂无"] {
            assert!(admin.text.contains(want), "{want} in {}", admin.text);
        }
        // The roll-up now holds November; the admin API reads the same ranking from it.
        let (_, v) = app.admin("GET", "/api/v1/townships/1/ranking?month=2026-11", None).await;
        assert_eq!(v["complete"], true);
        assert_eq!((team(&v, 1)["score"].as_f64(), team(&v, 2)["score"].as_f64()), (Some(73.4), Some(66.7)));
        // A re-run of the same firing writes nothing twice.
        let again = liancun::jobs::run(&app.state.jobs, liancun::jobs::Job::MonthlyRanking, liancun::jobs::Scope::All,
            m[0].slot, false, app.clock.now()).await.expect("re-run");
        assert_eq!(again.enqueued, 0);
    }
}

scenario! {
    async fn pioneers_are_nominated_confirmed_two_each_and_announced_once(app) {
        november(&mut app).await;
        app.set_local(2026, 12, 1, 10, 0);
        // The leader's prompt of November's request goes out first.
        app.deliver().await;
        let (s, v) = app.admin("GET", "/api/v1/townships/1/pioneers", None).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["month"], "2026-11", "last month by default");
        let ids = |k: &str| -> Vec<i64> { v[k].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect() };
        assert_eq!(ids("project"), vec![2, 1]);
        let names: Vec<&str> = v["diligence"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, vec!["李四", "张三", "赵六"]);
        let diligence = ids("diligence");

        // 创新先锋: nominated by the admin; bad input names its field.
        let (s, e) = app.admin("POST", "/api/v1/townships/1/pioneers/nominations",
            Some(json!({"month": "2026-11", "team": 99, "name": "王五", "reason": "积分超市"}))).await;
        assert_eq!(s, 422);
        assert!(e["detail"].as_str().unwrap().starts_with("team:"), "{e}");
        let (s, e) = app.admin("POST", "/api/v1/townships/1/pioneers/nominations",
            Some(json!({"month": "2026-13", "team": 1, "name": "王五", "reason": "积分超市"}))).await;
        assert_eq!((s, e["detail"].as_str().unwrap().starts_with("month:")), (422, true), "{e}");
        let mut nominated = Vec::new();
        for (team, name, reason) in [(1, "王五", "“积分超市”带动垃圾分类"), (2, "赵六", "“村播”卖茶叶")] {
            let (s, n) = app.admin("POST", "/api/v1/townships/1/pioneers/nominations",
                Some(json!({"month": "2026-11", "team": team, "name": name, "reason": reason}))).await;
            assert_eq!(s, 201, "{n}");
            nominated.push(n["id"].as_i64().unwrap());
        }

        let body = |diligence: Vec<i64>| json!({"month": "2026-11", "project": [2, 1],
            "diligence": diligence, "innovation": nominated.clone()});
        let (s, e) = app.admin("POST", "/api/v1/townships/1/pioneers/confirm", Some(body(vec![diligence[0]]))).await;
        assert_eq!(s, 422);
        assert!(e["detail"].as_str().unwrap().starts_with("diligence: exactly two"), "{e}");
        let (s, e) = app.admin("POST", "/api/v1/townships/1/pioneers/confirm", Some(body(vec![diligence[0], 12345]))).await;
        assert_eq!((s, e["detail"].as_str().unwrap().contains("12345 is not a candidate")), (422, true), "{e}");
        assert_eq!(app.deliver().await.total(), 0, "nothing announced on a refusal");

        let picked = vec![diligence[0], diligence[1]];
        let (s, r) = app.admin("POST", "/api/v1/townships/1/pioneers/confirm", Some(body(picked.clone()))).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["announced"], 2, "one message per group");
        app.deliver().await;
        let got: Vec<_> = app.fake.received().into_iter().filter(|r| r.text.contains("先锋")).collect();
        assert_eq!(got.len(), 2);
        for g in &got {
            assert_eq!(
                g.text,
                "🎖 凤林镇 11月先锋\n项目先锋：大陈村 大陈服务团、南坞村 南坞服务团\n勤勉先锋：李四（南坞村）、张三（南坞村）\n\
                 创新先锋：王五（南坞村）、赵六（大陈村）\n向他们学习，为他们点赞！"
            );
        }
        // The same confirmation again: nothing new; another one: refused.
        let (s, r) = app.admin("POST", "/api/v1/townships/1/pioneers/confirm", Some(body(picked))).await;
        assert_eq!((s, r["announced"].as_i64()), (200, Some(0)));
        let (s, _) = app.admin("POST", "/api/v1/townships/1/pioneers/confirm", Some(body(vec![diligence[0], diligence[2]]))).await;
        assert_eq!(s, 409);
        assert_eq!(app.deliver().await.total(), 0);
        let (_, v) = app.admin("GET", "/api/v1/townships/1/pioneers?month=2026-11", None).await;
        assert_eq!(v["confirmed"].as_array().map(Vec::len), Some(6));
    }
}

scenario! {
    async fn weights_are_validated_and_change_the_order(app) {
        november(&mut app).await;
        app.set_local(2026, 11, 30, 12, 0);
        let w = json!({"on_time": 30, "requests": 20, "coverage": 20, "rating": -1, "projects": 15});
        let (s, e) = app.admin("PUT", "/api/v1/townships/1/ranking/weights", Some(w)).await;
        assert_eq!(s, 422);
        assert!(e["detail"].as_str().unwrap().starts_with("rating:"), "{e}");
        let zero = json!({"on_time": 0, "requests": 0, "coverage": 0, "rating": 0, "projects": 0});
        let (s, e) = app.admin("PUT", "/api/v1/townships/1/ranking/weights", Some(zero)).await;
        assert_eq!((s, e["detail"].as_str().unwrap().starts_with("weights:")), (422, true), "{e}");
        let (s, _) = app.admin("PUT", "/api/v1/townships/1/ranking/weights",
            Some(json!({"on_time": 1, "requests": 0, "coverage": 0, "rating": 0, "projects": 1, "online_time": 5}))).await;
        assert_eq!(s, 422, "unknown fields are refused");
        let (s, _) = app.admin("PUT", "/api/v1/townships/9/ranking/weights",
            Some(json!({"on_time": 1, "requests": 0, "coverage": 0, "rating": 0, "projects": 1}))).await;
        assert_eq!(s, 404);
        // Projects and on time only: 大陈村 (0.5, 1) = 75.0 beats 南坞村 (0.75, 0.5) = 62.5.
        let (s, _) = app.admin("PUT", "/api/v1/townships/1/ranking/weights",
            Some(json!({"on_time": 1, "requests": 0, "coverage": 0, "rating": 0, "projects": 1}))).await;
        assert_eq!(s, 200);
        let (_, v) = app.admin("GET", "/api/v1/townships/1/ranking", None).await;
        assert_eq!(v["month"], "2026-11", "this month by default");
        assert_eq!((team(&v, 1)["team_id"].as_i64(), team(&v, 1)["score"].as_f64()), (Some(2), Some(75.0)), "{v}");
        assert_eq!(team(&v, 2)["score"].as_f64(), Some(62.5));
        let (s, _) = app.admin("GET", "/api/v1/townships/1/ranking?month=11", None).await;
        assert_eq!(s, 422);
        let (s, _) = app.admin("GET", "/api/v1/townships/9/ranking", None).await;
        assert_eq!(s, 404);
        let (s, _) = app.admin_with("GET", "/api/v1/townships/1/ranking", None, None).await;
        assert_eq!(s, 401);
    }
}

scenario! {
    async fn the_generated_year_ranks_the_same_from_roll_ups_and_raw_rows(app) {
        liancun::dev::bench::generate_ranking_data(&app.db, 120, liancun::dev::bench::RANKING_WEEKS, false)
            .await
            .expect("generate");
        let c = app.counts().await;
        assert_eq!((c["townships"], c["villages"], c["teams"], c["chat_groups"]), (1, 120, 120, 120));
        assert_eq!(c["tasks"], 120 * 48 * 3 + 120 * 24, "three planned a week, a request every other week");
        let tz = chrono_tz::Asia::Shanghai;
        let month = liancun::domain::ranking::Month { year: 2026, month: 11 };
        let job_ms = local_ms(12, 1, 9);
        let w = liancun::store::ranking::MonthWindow::new(month, tz, job_ms);
        let (live, people_live) = app.db.read(|tx| { let w = w.clone(); Box::pin(async move {
            Ok::<_, StoreError>((store::ranking::live_team_months(tx, 1, &w).await?,
                store::ranking::live_person_months(tx, 1, &w).await?))
        })}).await.unwrap();
        assert_eq!(live.len(), 120);
        for t in &live {
            assert!((100..=1000).contains(&t.households), "{t:?}");
            assert!(t.due > 0 && t.on_time <= t.due && t.reached <= t.households, "{t:?}");
            assert!(t.projects >= 1, "{t:?}");
        }
        assert!(live.iter().all(|t| t.rating_n > 0), "every four weeks have one with ≥ 3 raters");
        assert!(live.iter().any(|t| t.rated_weeks < 4), "weeks with fewer raters do not count");
        assert!(live.iter().any(|t| t.projects_done_in_month > 0));
        let w2 = w.clone();
        let n = app.db.write(move |tx| Box::pin(async move {
            store::ranking::build_rollup(tx, 1, &w2, job_ms).await
        })).await.unwrap();
        assert_eq!(n, 120);
        let (rolled, people_rolled) = app.db.read(|tx| Box::pin(async move {
            Ok::<_, StoreError>((store::ranking::rollup_team_months(tx, 1, month).await?.unwrap(),
                store::ranking::rollup_person_months(tx, 1, month).await?))
        })).await.unwrap();
        let mut live = live;
        live.sort_by_key(|t| t.team_id);
        assert_eq!(rolled, live, "the roll-up holds exactly the live counts");
        let mut people_live = people_live;
        people_live.sort_by_key(|p| (p.person_id, p.team_id));
        assert_eq!(people_rolled, people_live);
        let ranked = liancun::dev::bench::rank_all_townships(&app.db, &[1], month, job_ms).await.unwrap();
        assert_eq!(ranked, 120);
    }
}

scenario! {
    async fn a_team_with_nothing_in_the_month_gets_no_medal(app) {
        november(&mut app).await;
        app.in_group("cid-hecun");
        app.ensure_village("凤林镇", "贺村").await;
        assert!(app.say(&ADMIN, "绑定 凤林镇 贺村 贺村服务团").await.contains("已绑定"));
        app.set_local(2026, 11, 30, 12, 0);
        let r = app.say(&VILLAGERS[0], "排名").await;
        assert_eq!(
            r,
            "🏆 凤林镇 11月排名（截至11月30日）\n🥇1. 南坞村 南坞服务团 73.4分\n🥈2. 大陈村 大陈服务团 66.7分\n\
             数据不足（当月无工作记录，不排名）：贺村 贺村服务团\n\
             本团：当月没有工作记录，数据不足，不排名（共 2 个团有名次）\n\
             计分：按时销号、诉求办结、走访覆盖、群众评价、难点项目"
        );
        let (s, v) = app.admin("GET", "/api/v1/townships/1/ranking?month=2026-11", None).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["teams"].as_array().map(Vec::len), Some(2), "{v}");
        assert_eq!(v["insufficient_data"][0]["team"], "贺村服务团", "{v}");
        assert_eq!(v["insufficient_data"][0]["team_id"], 3, "{v}");
        // Nor a pioneer: a nomination of the team is refused by its field.
        let (s, e) = app.admin("POST", "/api/v1/townships/1/pioneers/nominations",
            Some(json!({"month": "2026-11", "team": 3, "name": "贺某", "reason": "积分超市"}))).await;
        assert_eq!(s, 422, "{e}");
        assert!(e["detail"].as_str().unwrap().starts_with("team:"), "{e}");

        // The monthly push says the same; the admins' list too.
        let (s, _) = app.admin("POST", "/api/v1/townships/1/admins",
            Some(json!({"platform": "dingtalk", "user_id": "zuzhiban01", "name": "组织办"}))).await;
        assert_eq!(s, 200);
        app.set_local(2026, 12, 1, 8, 50);
        app.tick().await;
        app.set_local(2026, 12, 1, 9, 1);
        app.tick().await;
        app.deliver().await;
        let got = app.fake.received();
        let mine = got.iter().find(|r| r.route == "openapi" && r.text.contains("本团：当月没有工作记录")).expect("贺村's group");
        assert!(!mine.text.contains("第 3 名"), "{}", mine.text);
        let admin = got.iter().find(|r| r.route == "direct").expect("the admins");
        assert!(admin.text.contains("（共 2 个团）") && admin.text.contains("数据不足（当月无工作记录，不排名）：贺村 贺村服务团"), "{}", admin.text);
        // A month nobody worked in: one line, no medal.
        let r = app.say(&VILLAGERS[0], "排名").await;
        assert_eq!(r, "凤林镇 12月各服务团都还没有工作记录，数据不足，暂不排名。");
    }
}

scenario! {
    async fn the_live_month_ranks_as_the_monthly_jobs_roll_up_would(app) {
        // 排名 counts the month so far from the raw rows through the covering
        // indexes; the monthly job counts it into the roll-up. At any moment
        // of the month both must give the same counts, places and scores.
        liancun::dev::bench::generate_ranking_data(&app.db, 90, liancun::dev::bench::RANKING_WEEKS, false)
            .await
            .expect("generate");
        let tz = chrono_tz::Asia::Shanghai;
        let month = liancun::domain::ranking::Month { year: 2026, month: 11 };
        // Mid-month (some of the month's tasks not yet due), and 排名's moment in the bench.
        for now_ms in [local_ms(11, 18, 12), local_ms(11, 29, 20)] {
            let live = app.db.read_fresh(move |tx| Box::pin(async move {
                store::ranking::township_ranking(tx, 1, Some(month), tz, now_ms).await
            })).await.unwrap().expect("township 1");
            assert!(!live.window.closed(), "the month so far");
            assert!(live.ranked.len() > 80, "{}", live.ranked.len());
            let w = live.window.clone();
            let (rolled, people) = app.db.write(move |tx| Box::pin(async move {
                store::ranking::build_rollup(tx, 1, &w, now_ms).await?;
                let rolled = store::ranking::rollup_team_months(tx, 1, month).await?.expect("built");
                let people = store::ranking::rollup_person_months(tx, 1, month).await?;
                Ok::<_, StoreError>((rolled, people))
            })).await.unwrap();
            let mut counted: Vec<_> = live.ranked.iter().map(|r| r.stats).collect();
            counted.sort_by_key(|t| t.team_id);
            let mut rolled_active = rolled.clone();
            rolled_active.retain(|t| !live.is_idle(t.team_id));
            assert_eq!(counted, rolled_active, "counts at {now_ms}");
            let busy: Vec<i64> = people.iter().filter(|p| p.points() > 0).map(|p| p.team_id).collect();
            let (ranked, idle) = liancun::domain::ranking::rank_active(&rolled, &busy, month, &live.weights);
            assert_eq!(ranked, live.ranked, "places and scores at {now_ms}");
            let mut live_idle = live.idle.clone();
            live_idle.sort_unstable();
            assert_eq!(idle, live_idle);
            let live_people = app.db.read(move |tx| { let w = live.window.clone(); Box::pin(async move {
                store::ranking::live_person_months(tx, 1, &w).await
            })}).await.unwrap();
            let mut live_people = live_people;
            live_people.sort_by_key(|p| (p.person_id, p.team_id));
            assert_eq!(people, live_people, "members at {now_ms}");
        }
        // The bench's timed pass reads the same ranking.
        let pass = liancun::dev::bench::live_pass(&app.db, &[1], month, local_ms(11, 29, 20)).await.unwrap();
        assert_eq!((pass.ms.len(), pass.teams), (1, 90), "{pass:?}");
    }
}

/// 排名 of township 1's November at `now_ms` as 排名 reads it (on
/// PostgreSQL through `team_month_live`, migration 0022) must equal the same
/// month counted from the raw rows: counts, places, scores and the teams
/// without data.
async fn kept_matches_raw(app: &TestApp, now_ms: i64) -> store::ranking::TownshipRanking {
    use liancun::domain::ranking::{Month, rank_active};
    let tz = chrono_tz::Asia::Shanghai;
    let month = Month {
        year: 2026,
        month: 11,
    };
    let kept = app
        .db
        .read_fresh(move |tx| {
            Box::pin(async move {
                store::ranking::township_ranking(tx, 1, Some(month), tz, now_ms).await
            })
        })
        .await
        .unwrap()
        .expect("township 1");
    let w = kept.window.clone();
    let (teams, people) = app
        .db
        .read(move |tx| {
            Box::pin(async move {
                let t = store::ranking::live_team_months(tx, 1, &w).await?;
                let p = store::ranking::live_person_months(tx, 1, &w).await?;
                Ok::<_, StoreError>((t, p))
            })
        })
        .await
        .unwrap();
    let busy: Vec<i64> = people
        .iter()
        .filter(|p| p.points() > 0)
        .map(|p| p.team_id)
        .collect();
    let (ranked, mut idle) = rank_active(&teams, &busy, month, &kept.weights);
    assert_eq!(kept.ranked, ranked, "排名 at {now_ms}");
    let mut kept_idle = kept.idle.clone();
    kept_idle.sort_unstable();
    idle.sort_unstable();
    assert_eq!(kept_idle, idle, "teams without data at {now_ms}");
    kept
}

/// Each team's row of `team_month_live` as (team, dirty), PostgreSQL only.
async fn kept_rows(app: &TestApp) -> Vec<(i64, i64)> {
    app.db
        .read(|tx| {
            Box::pin(async move {
                liancun::store::sql::query_as::<(i64, i64)>(
                    "SELECT team_id, dirty FROM team_month_live ORDER BY team_id",
                )
                .fetch_all(tx)
                .await
            })
        })
        .await
        .unwrap()
}

fn on_postgres(app: &TestApp) -> bool {
    app.db.backend() == liancun::store::Backend::Postgres
}

/// Checks 排名 against the raw rows; on PostgreSQL also that every team's
/// row was written back clean by that read.
async fn check(app: &TestApp, now_ms: i64) -> store::ranking::TownshipRanking {
    let r = kept_matches_raw(app, now_ms).await;
    if on_postgres(app) {
        assert!(
            kept_rows(app).await.iter().all(|(_, dirty)| *dirty == 0),
            "every row written back: {:?}",
            kept_rows(app).await
        );
    }
    r
}

fn due_of(r: &store::ranking::TownshipRanking, team: i64) -> i64 {
    r.of_team(team).map_or(0, |x| x.stats.due)
}

scenario! {
    async fn the_kept_month_follows_every_write_and_every_deadline(app) {
        // On PostgreSQL 排名 keeps each team's month so far and counts again
        // only the teams whose rows a write marked, or whose next deadline
        // has passed. After each kind of write a member, a villager or a
        // clerk makes, 排名 must read what the raw rows say.
        november(&mut app).await;
        let at = |d, h| local_ms(11, d, h);
        app.set_local(2026, 11, 20, 9, 0);
        let first = check(&app, at(20, 9)).await;
        if on_postgres(&app) {
            // A write marks only its own team's row.
            app.say(&LISI, "服务 帮李奶奶买药").await;
            assert_eq!(kept_rows(&app).await, vec![(1, 1), (2, 0)]);
        }
        // A task added today, due today: not due at 9:00, due the next
        // morning with no write in between.
        let r = app.say(&ZHANGSAN, "加清单 修水渠 @李四 周五").await;
        assert!(r.contains("已加入"), "{r}");
        let morning = check(&app, at(20, 9)).await;
        assert_eq!(due_of(&morning, 1), due_of(&first, 1));
        let next_day = check(&app, at(21, 9)).await;
        assert_eq!(due_of(&next_day, 1), due_of(&first, 1) + 1, "the deadline passed");
        // Closed late, then 评价 from three villagers (a rated week).
        app.set_local(2026, 11, 21, 9, 0);
        let task_no = r.split('#').nth(1).and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next()).unwrap().to_string();
        assert!(app.say(&LISI, &format!("完成 #{task_no} 已修好")).await.contains("已销号"));
        check(&app, at(21, 9)).await;
        app.set_local(2026, 11, 21, 20, 0);
        for (i, v) in VILLAGERS.iter().take(3).enumerate() {
            app.say(v, &format!("评价 {}", 3 + i)).await;
            check(&app, at(21, 21)).await;
        }
        // Visits, the registry, the link of a visit to its household.
        app.say(&LISI, "走访 王伯家 聊了聊收成").await;
        check(&app, at(21, 21)).await;
        app.db.write(|tx| Box::pin(async move {
            store::households::upsert(tx, 1, "钱家", "", None, local_ms(11, 21, 20)).await?;
            let wang = liancun::store::sql::query_as::<(i64,)>(
                "SELECT id FROM households WHERE village_id = 1 AND name = '王伯'").fetch_one(&mut *tx).await?.0;
            store::ranking::link_visits_named(tx, 1, "王伯家", wang).await?;
            Ok::<_, StoreError>(())
        })).await.unwrap();
        let linked = check(&app, at(21, 21)).await;
        let a = linked.of_team(1).unwrap().stats;
        assert_eq!((a.households, a.reached), (5, 3), "{a:?}");
        // A hard project done, and a task handed to someone else.
        app.db.write(|tx| Box::pin(async move {
            let (p, by) = liancun::store::sql::query_as::<(i64, i64)>(
                "SELECT id, created_by FROM projects WHERE team_id = 1").fetch_one(&mut *tx).await?;
            assert!(store::projects::mark_done(tx, p, by, local_ms(11, 21, 20)).await?);
            Ok::<_, StoreError>(())
        })).await.unwrap();
        check(&app, at(21, 21)).await;
        let r = app.say(&ZHANGSAN, "加清单 修桥 @李四 周日").await;
        let no = r.split('#').nth(1).and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next()).unwrap().to_string();
        let r = app.say(&ZHANGSAN, &format!("指派 #{no} @王五")).await;
        assert!(r.contains("已指派给"), "{r}");
        check(&app, at(21, 21)).await;
        // A third team with no work yet, whose leader then serves: only the
        // members' points (services) make it count.
        app.in_group("cid-hecun");
        app.ensure_village("凤林镇", "贺村").await;
        assert!(app.say(&ADMIN, "绑定 凤林镇 贺村 贺村服务团").await.contains("已绑定"));
        let r = check(&app, at(21, 21)).await;
        assert!(r.is_idle(3), "贺村 has no data yet");
        let r = app.say(&ADMIN, "设团长 @王五").await;
        assert!(r.contains("已设团长"), "{r}");
        check(&app, at(21, 21)).await;
        app.say(&WANGWU, "服务 帮五保户修屋顶").await;
        let r = check(&app, at(21, 21)).await;
        assert!(!r.is_idle(3) && r.of_team(3).is_some(), "贺村 counts through its members");
    }
}

/// A write in flight when 排名 recounts: 排名 does not wait for it, counts
/// the team without it, and does not keep that count; once the write
/// commits, the next 排名 has it.
#[tokio::test]
#[cfg_attr(not(liancun_pg), ignore = "PostgreSQL: set LIANCUN_TEST_PG to run")]
async fn a_write_in_flight_is_counted_after_it_commits_on_postgres() {
    use std::time::{Duration, Instant};
    let mut app = TestApp::spawn(Backend::Postgres).await.expect(PG_UNSET);
    november(&mut app).await;
    let now = local_ms(11, 21, 9);
    let before = check(&app, now).await.of_team(1).unwrap().stats;
    // A committed write leaves team 1's row dirty.
    app.set_local(2026, 11, 21, 9, 0);
    app.say(&LISI, "服务 帮李奶奶买药").await;
    assert_eq!(kept_rows(&app).await, vec![(1, 1), (2, 0)]);
    // Another, a registry import, stays open.
    let (added_tx, added_rx) = tokio::sync::oneshot::channel::<()>();
    let (commit_tx, commit_rx) = tokio::sync::oneshot::channel::<()>();
    let db = app.db.clone();
    let import = tokio::spawn(async move {
        db.write(move |tx| {
            Box::pin(async move {
                store::households::upsert(tx, 1, "在途户", "", None, now).await?;
                let _ = added_tx.send(());
                let _ = commit_rx.await;
                Ok::<_, StoreError>(())
            })
        })
        .await
    });
    added_rx.await.expect("the import wrote its row");
    let started = Instant::now();
    let during = tokio::time::timeout(Duration::from_secs(10), kept_matches_raw(&app, now))
        .await
        .expect("排名 does not wait for the import");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        during.of_team(1).unwrap().stats.households,
        before.households
    );
    assert_eq!(
        kept_rows(&app).await,
        vec![(1, 1), (2, 0)],
        "team 1 counted without the import, and not kept"
    );
    commit_tx.send(()).expect("the import waits");
    import.await.unwrap().unwrap();
    let after = check(&app, now).await.of_team(1).unwrap().stats;
    assert_eq!(after.households, before.households + 1);
}
