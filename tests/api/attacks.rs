//! The standing attack suite: what a hostile user tries, and what comes of
//! it. Each scenario is one attack (or one family of them) and asserts the
//! outcome as the attacker and the victims see it: the status or the reply,
//! and that nothing was stored or changed. Run on SQLite and PostgreSQL.
//!
//! Issue 14's limits on connections, imports, tokens and the SQLite lock
//! live in `attacks_limits.rs`.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::scenario;
use crate::support::wecom::*;
use crate::support::*;

/// An admin of some other DingTalk group the bot sits in.
const MALLORY: Person = Person {
    id: "mallory01",
    nick: "王二",
    group_admin: true,
};

/// A township admin (registered through the admin API), no group admin.
const ZHEN: Person = Person {
    id: "zhenadmin01",
    nick: "镇组织委员",
    group_admin: false,
};

/// `who` says `text` with `at` (platform ids) as the @-ed people; returns
/// the HTTP status and the raw response body.
async fn say_at(app: &TestApp, who: &Person, text: &str, at: &[String]) -> (u16, String) {
    let id = format!("atk-{}", fastrand::u64(..));
    let mut body = app.body(&id, who, text);
    let mut users = vec![json!({"dingtalkId": "$:LWCP_v1:$bot"})];
    users.extend(
        at.iter()
            .map(|u| json!({"dingtalkId": format!("$:LWCP_v1:${u}"), "staffId": u})),
    );
    body["atUsers"] = json!(users);
    app.post_raw(BOT, &app.signed(), body.to_string().into_bytes())
        .await
}

/// The reply text of a raw DingTalk callback response.
fn content(raw: &str) -> String {
    let v: Value = serde_json::from_str(raw).expect("reply is JSON");
    v["text"]["content"]
        .as_str()
        .expect("text reply")
        .to_string()
}

/// The team of the current group, as the admin API shows it (roster, groups).
async fn team_of_group(app: &TestApp) -> Value {
    let gid = app.group_id().await;
    let (s, g) = app
        .admin("GET", &format!("/api/v1/groups/{gid}"), None)
        .await;
    assert_eq!(s, 200, "{g}");
    match g["team_id"].as_i64() {
        Some(team) => {
            app.admin("GET", &format!("/api/v1/teams/{team}"), None)
                .await
                .1
        }
        None => Value::Null,
    }
}

/// Audit entries of one action, newest first.
async fn audited(app: &TestApp, action: &str) -> Vec<Value> {
    let (s, log) = app.admin("GET", "/api/v1/audit?limit=500", None).await;
    assert_eq!(s, 200, "{log}");
    log["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == action)
        .cloned()
        .collect()
}

async fn add_township_admin(app: &TestApp, township: i64, who: &Person) {
    let (s, r) = app
        .admin(
            "POST",
            &format!("/api/v1/townships/{township}/admins"),
            Some(json!({"platform": "dingtalk", "user_id": who.id, "name": who.nick})),
        )
        .await;
    assert_eq!(s, 200, "{r}");
}

async fn township_token(app: &TestApp, township: i64) -> String {
    let body = json!({"township_id": township, "name": "组织办"});
    let (s, t) = app.admin("POST", "/api/v1/tokens", Some(body)).await;
    assert_eq!(s, 201, "{t}");
    t["token"].as_str().expect("token").to_string()
}

// ── 绑定: nobody takes over a team ──────────────────────────────────────

scenario! {
    async fn another_groups_admin_binding_to_a_bound_team_is_refused(app) {
        app.setup_team().await;
        app.say(&ZHANGSAN, "排清单\n1. 河道清理 @李四 周五 红").await;
        let victim = team_of_group(&app).await;
        let before = app.counts().await;

        // Mallory admins another group and tries the takeover of issue 14.
        app.in_group("cid-mallory");
        let r = app.say(&MALLORY, "绑定 凤林镇 南坞村 南坞服务团").await;
        assert!(r.contains("「南坞服务团」已经绑定了别的群") && r.contains("凤林镇的管理员或机器人管理员"), "{r}");
        let r = app.say(&MALLORY, "设团长 @王二").await;
        assert!(r.contains("还没有绑定服务团"), "{r}");
        let r = app.say(&MALLORY, "取消 #1 不办了").await;
        assert!(r.contains("还没有绑定服务团"), "{r}");

        assert_eq!(team_of_group(&app).await, Value::Null, "Mallory's group is bound to nothing");
        let c = app.counts().await;
        for t in ["townships", "villages", "teams", "team_roles", "tasks"] {
            assert_eq!(c[t], before[t], "{t} unchanged");
        }
        let home = app.conversation_of(victim["groups"][0].as_i64().unwrap()).await;
        app.in_group(&home);
        assert_eq!(team_of_group(&app).await, victim, "the team, its leader and its group are as they were");
        let refused = audited(&app, "bind.refused").await;
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert_eq!((refused[0]["actor"].as_str(), refused[0]["after"]["refused"].as_str()), (Some("dingtalk:mallory01"), Some("team_taken")));
    }
}

scenario! {
    async fn a_group_admin_cannot_create_townships_or_villages_by_chat(app) {
        let r = app.say(&MALLORY, "绑定 假镇 假村 假服务团").await;
        assert!(r.contains("「假镇」还没有登记") && r.contains("机器人管理员"), "{r}");
        app.ensure_village("凤林镇", "南坞村").await;
        let r = app.say(&MALLORY, "绑定 凤林镇 假村").await;
        assert!(r.contains("凤林镇还没有「假村」") && r.contains("机器人管理员"), "{r}");
        let c = app.counts().await;
        assert_eq!((c["townships"], c["villages"], c["teams"]), (1, 1, 0), "nothing created");
        assert_eq!(team_of_group(&app).await, Value::Null);
        let refused = audited(&app, "bind.refused").await;
        assert_eq!(refused.len(), 2);
        assert!(refused.iter().all(|e| e["after"]["refused"] == "new_place"), "{refused:?}");
        // What a group admin may do: a new team in the village that exists.
        let r = app.say(&MALLORY, "绑定 凤林镇 南坞村").await;
        assert!(r.contains("已绑定：凤林镇 南坞村 南坞村服务团"), "{r}");
    }
}

scenario! {
    async fn a_group_admin_cannot_move_a_bound_group_to_another_team(app) {
        app.setup_team().await;
        app.ensure_village("凤林镇", "北山村").await;
        let before = team_of_group(&app).await;
        let r = app.say(&ADMIN, "绑定 凤林镇 北山村 北山服务团").await;
        assert!(r.contains("本群已绑定 凤林镇 南坞村 南坞服务团") && r.contains("凤林镇的管理员或机器人管理员"), "{r}");
        assert_eq!(team_of_group(&app).await, before, "still the same team");
        assert_eq!(app.counts().await["teams"], 1, "no team created");
        assert_eq!(audited(&app, "bind.refused").await[0]["after"]["refused"], "group_bound");
        // Re-sending the same binding changes nothing and is no refusal.
        assert!(app.say(&ADMIN, "绑定 凤林镇 南坞村 南坞服务团").await.contains("已绑定"));
        assert_eq!(team_of_group(&app).await, before);
    }
}

scenario! {
    async fn township_admins_rebind_within_their_township_and_no_further(app) {
        app.setup_team().await;
        let (fenglin, _) = app.ensure_village("凤林镇", "南坞村").await;
        app.ensure_village("大陈镇", "大陈村").await;
        add_township_admin(&app, fenglin, &ZHEN).await;
        let team = team_of_group(&app).await;

        // The township's admin binds a second group to the team, no group admin needed.
        app.in_group("cid-nanwu-2");
        let r = app.say(&ZHEN, "绑定 凤林镇 南坞村 南坞服务团").await;
        assert!(r.contains("已绑定：凤林镇 南坞村 南坞服务团"), "{r}");
        assert_eq!(team_of_group(&app).await["id"], team["id"]);
        // But not out of the township: that needs a bot admin (or both townships' admin).
        let r = app.say(&ZHEN, "绑定 大陈镇 大陈村 大陈服务团").await;
        assert!(r.contains("本群已绑定 凤林镇") && r.contains("同时管理凤林镇和大陈镇的管理员"), "{r}");
        assert_eq!(team_of_group(&app).await["id"], team["id"]);
        // Nor into another township's team from an unbound group.
        app.in_group("cid-dachen");
        let r = app.say(&ZHEN, "绑定 大陈镇 大陈村").await;
        assert!(r.contains("只有群管理员可以使用"), "no standing in 大陈镇: {r}");
        assert_eq!(team_of_group(&app).await, Value::Null);
        // A bot admin may.
        app.in_group("cid-nanwu-2");
        let r = app.say(&CITY, "绑定 大陈镇 大陈村 大陈服务团").await;
        assert!(r.contains("已改绑：大陈镇 大陈村 大陈服务团"), "{r}");
        let binds = audited(&app, "bind").await;
        assert_eq!(binds[0]["actor"], "dingtalk:city-admin");
        assert_eq!(binds[0]["before"]["team_id"], team["id"], "the rebind names the team before");
        assert_eq!(binds[1]["actor"], "dingtalk:zhenadmin01");
        assert_eq!(audited(&app, "bind.refused").await.len(), 2);
    }
}

// ── A township reaches only its own people ─────────────────────────────

scenario! {
    async fn a_township_token_cannot_adopt_rename_or_rephone_another_townships_people(app) {
        app.setup_team().await; // 张三 leads 凤林镇's team
        let (fenglin, _) = app.ensure_village("凤林镇", "南坞村").await;
        let (dachen, dachen_village) = app.ensure_village("大陈镇", "大陈村").await;
        let tb = township_token(&app, dachen).await;
        let tb = Some(tb.as_str());
        let (s, t) = app.admin_with("POST", "/api/v1/teams", Some(json!({"village_id": dachen_village, "name": "大陈服务团"})), tb).await;
        assert_eq!(s, 201, "{t}");
        let b_team = t["id"].as_i64().unwrap();
        let (_, people) = app.admin("GET", &format!("/api/v1/people?township_id={fenglin}"), None).await;
        let zs = people["items"].as_array().unwrap().iter().find(|p| p["platform_user_id"] == "zhangsan01").unwrap().clone();
        let zs_id = zs["id"].as_i64().unwrap();
        let before = app.counts().await;

        let attempts = [
            ("POST", format!("/api/v1/townships/{dachen}/admins"), json!({"platform": "dingtalk", "user_id": "zhangsan01", "name": "冒名"})),
            ("POST", "/api/v1/people".to_string(), json!({"platform": "dingtalk", "platform_user_id": "zhangsan01", "display_name": "冒名", "phone": "13900001111"})),
            ("PATCH", format!("/api/v1/people/{zs_id}"), json!({"display_name": "冒名", "phone": "13900001111"})),
            ("PUT", format!("/api/v1/teams/{b_team}/people"), json!({"leader": zs_id, "members": []})),
        ];
        for (m, path, body) in &attempts {
            let (s, e) = app.admin_with(m, path, Some(body.clone()), tb).await;
            assert_eq!(s, 403, "{m} {path}: {e}");
        }
        assert_eq!(app.counts().await, before, "nothing stored");
        let (_, now) = app.admin("GET", &format!("/api/v1/people/{zs_id}"), None).await;
        assert_eq!((now["display_name"].as_str(), now["phone"].clone()), (Some("张三"), zs["phone"].clone()), "{now}");
        assert_eq!(now["townships"], json!([fenglin]), "not adopted by 大陈镇");
        let (_, admins) = app.admin("GET", &format!("/api/v1/townships/{dachen}/admins"), None).await;
        assert_eq!(admins["items"], json!([]));

        // The rule is about other townships' people, not a blanket refusal:
        // a person of no township yet, and the township's own people, are fine.
        let (s, r) = app.admin_with("POST", &format!("/api/v1/townships/{dachen}/admins"),
            Some(json!({"platform": "dingtalk", "user_id": "newcomer01", "name": "新人"})), tb).await;
        assert_eq!(s, 200, "{r}");
        let (s, r) = app.admin_with("POST", &format!("/api/v1/townships/{dachen}/admins"),
            Some(json!({"platform": "dingtalk", "user_id": "newcomer01", "name": "新人甲"})), tb).await;
        assert_eq!(s, 200, "its own admin, renamed: {r}");
        let ta = township_token(&app, fenglin).await;
        let (s, r) = app.admin_with("POST", &format!("/api/v1/townships/{fenglin}/admins"),
            Some(json!({"platform": "dingtalk", "user_id": "zhangsan01"})), Some(&ta)).await;
        assert_eq!(s, 200, "凤林镇 makes its own leader an admin: {r}");
    }
}

scenario! {
    async fn a_group_cannot_rename_another_townships_person_by_chat(app) {
        app.setup_team().await; // 张三 (zhangsan01) leads 凤林镇's team
        app.ensure_village("大陈镇", "大陈村").await;
        app.in_group("cid-dachen");
        assert!(app.say(&MALLORY, "绑定 大陈镇 大陈村").await.contains("已绑定"));
        // The name typed after @ is Mallory's choice; the @-ed id is 张三's.
        let (s, raw) = say_at(&app, &MALLORY, "设团员 @骗子", &["zhangsan01".to_string()]).await;
        assert_eq!(s, 200);
        assert!(content(&raw).contains("已设团员：@zhangsan01"), "{raw}");
        let (_, people) = app.admin("GET", "/api/v1/people?limit=500", None).await;
        let zs = people["items"].as_array().unwrap().iter().find(|p| p["platform_user_id"] == "zhangsan01").unwrap().clone();
        assert_eq!(zs["display_name"], "张三", "not renamed in 凤林镇's records: {zs}");
        // A newcomer of no township is recorded under the typed name, as before.
        let (_, raw) = say_at(&app, &MALLORY, "设团员 @小陈", &["xiaochen01".to_string()]).await;
        assert!(content(&raw).contains("已设团员"), "{raw}");
        let (_, people) = app.admin("GET", "/api/v1/people?limit=500", None).await;
        assert!(people["items"].as_array().unwrap().iter().any(|p| p["platform_user_id"] == "xiaochen01" && p["display_name"] == "小陈"));
    }
}

scenario! {
    async fn a_township_admins_name_is_bounded_like_every_other_name(app) {
        let (dachen, _) = app.ensure_village("大陈镇", "大陈村").await;
        let tb = township_token(&app, dachen).await;
        let path = format!("/api/v1/townships/{dachen}/admins");
        let before = app.counts().await;
        // 10,000 characters fit the body limit but not a name (an @-name in
        // every push); blanks are not a name either.
        for name in ["长".repeat(10_000), "   ".to_string()] {
            let (s, e) = app.admin_with("POST", &path, Some(json!({"platform": "dingtalk", "user_id": "zhen01", "name": name})), Some(&tb)).await;
            if name.trim().is_empty() {
                assert_eq!(s, 200, "a blank name means none given: {e}");
            } else {
                assert_eq!((s, e["field"].as_str()), (422, Some("name")), "{e}");
            }
        }
        let (_, admins) = app.admin("GET", &path, None).await;
        let names: Vec<&str> = admins["items"].as_array().unwrap().iter().filter_map(|p| p["display_name"].as_str()).collect();
        assert!(names.iter().all(|n| n.chars().count() <= 64 && !n.trim().is_empty() || n.is_empty()), "{names:?}");
        assert_eq!(app.counts().await["people"], before["people"] + 1, "only the blank-named admin");
        let (s, e) = app.admin_with("POST", &path, Some(json!({"platform": "dingtalk", "user_id": "zhen01", "name": "  镇干部 "})), Some(&tb)).await;
        assert_eq!(s, 200, "{e}");
        let (_, admins) = app.admin("GET", &path, None).await;
        assert_eq!(admins["items"][0]["display_name"], "镇干部", "trimmed like other names");
    }
}

// ── Chat input is bounded like the API's ──────────────────────────────

scenario! {
    async fn six_hundred_mentions_in_set_member_are_refused_and_store_nothing(app) {
        app.setup_team().await;
        let before = app.counts().await;
        let ids: Vec<String> = (0..600).map(|i| format!("u{i:03}")).collect();
        let text = format!("设团员 {}", ids.iter().map(|i| format!("@{i}")).collect::<Vec<_>>().join(" "));
        let (s, raw) = say_at(&app, &ZHANGSAN, &text, &ids).await;
        assert_eq!(s, 200);
        assert!(raw.len() < 2_000, "a short answer: {} bytes", raw.len());
        assert!(content(&raw).contains("一次最多设 100 人，这次 @ 了 600 人，没有改动"), "{raw}");
        assert_eq!(app.counts().await["people"], before["people"]);
        assert_eq!(app.counts().await["team_roles"], before["team_roles"]);
    }
}

scenario! {
    async fn a_team_holds_at_most_the_apis_hundred_members(app) {
        app.setup_team().await; // 2 members
        let ids: Vec<String> = (0..99).map(|i| format!("member{i:03}")).collect();
        let say = |ids: Vec<String>| {
            let text = format!("设团员 {}", ids.iter().map(|i| format!("@{i}")).collect::<Vec<_>>().join(" "));
            (text, ids)
        };
        let (text, at) = say(ids.clone());
        let (_, raw) = say_at(&app, &ZHANGSAN, &text, &at).await;
        assert!(content(&raw).contains("最多 100 名团员：现有 2 名，这次要加 99 名，没有改动"), "{raw}");
        assert_eq!(team_of_group(&app).await["people"].as_array().unwrap().len(), 3);
        let (text, at) = say(ids[..98].to_vec());
        let (s, raw) = say_at(&app, &ZHANGSAN, &text, &at).await;
        assert_eq!(s, 200);
        let r = content(&raw);
        assert!(r.starts_with("已设团员 98 人：@member000") && r.ends_with("等"), "summarised: {r}");
        assert!(raw.len() < 20_000);
        assert_eq!(team_of_group(&app).await["people"].as_array().unwrap().len(), 101, "leader and 100 members");
        let (_, raw) = say_at(&app, &ZHANGSAN, "设团员 @member098", &["member098".to_string()]).await;
        assert!(content(&raw).contains("现有 100 名"), "{raw}");
        // Naming people already on the team adds nobody and is fine.
        let (_, raw) = say_at(&app, &ZHANGSAN, "设团员 @member000", &["member000".to_string()]).await;
        assert!(content(&raw).contains("已设团员"), "{raw}");
    }
}

scenario! {
    async fn a_long_list_reply_fits_dingtalks_20000_bytes(app) {
        app.setup_team().await;
        for (cmd, n) in [("排清单", 0), ("加清单", 15)] {
            let lines: Vec<String> = (1..=15)
                .map(|i| format!("{}. {}{} @李四 周五 红", i, "修".repeat(240), n + i))
                .collect();
            let body = app.body(&format!("m-{cmd}"), &ZHANGSAN, &format!("{cmd}\n{}", lines.join("\n")));
            let (s, raw) = app.post_raw(BOT, &app.signed(), body.to_string().into_bytes()).await;
            assert_eq!(s, 200);
            assert!(raw.len() < 20_000, "{cmd} over DingTalk's limit: {} bytes", raw.len());
            assert!(content(&raw).contains("15 项"), "{}", raw.chars().take(120).collect::<String>());
        }
        let body = app.body("m-long-list", &ZHANGSAN, "清单").to_string().into_bytes();
        let (s, raw) = app.post_raw(BOT, &app.signed(), body).await;
        assert_eq!(s, 200);
        assert!(raw.len() < 20_000, "over DingTalk's limit: {} bytes", raw.len());
        assert!(content(&raw).contains("#1 "), "{}", raw.chars().take(120).collect::<String>());
        assert_eq!(app.counts().await["tasks"], 30, "the tasks themselves are all kept");
    }
}

scenario! {
    async fn set_member_naming_the_leader_is_refused_and_the_team_keeps_its_leader(app) {
        app.setup_team().await; // 张三 (zhangsan01) leads
        let leader = |t: &Value| t["people"].as_array().unwrap().iter().filter(|p| p["role"] == "leader").map(|p| p["platform_user_id"].clone()).collect::<Vec<_>>();
        assert_eq!(leader(&team_of_group(&app).await), vec![json!("zhangsan01")]);
        let before = app.counts().await;
        // The leader naming himself by mistake, and a group admin naming the
        // leader among newcomers: either would leave the team leaderless.
        for (who, text, at) in [
            (&ZHANGSAN, "设团员 @张三", vec!["zhangsan01".to_string()]),
            (&MALLORY, "设团员 @新人 @张三", vec!["newbie01".to_string(), "zhangsan01".to_string()]),
        ] {
            let (s, raw) = say_at(&app, who, text, &at).await;
            assert_eq!(s, 200);
            assert!(content(&raw).contains("是团长，不能设为团员，没有改动"), "{text}: {raw}");
            assert_eq!(leader(&team_of_group(&app).await), vec![json!("zhangsan01")], "{text}");
        }
        assert_eq!(app.counts().await["team_roles"], before["team_roles"], "no role changed");
        // Changing the leader is still one 设团长 away.
        let (_, raw) = say_at(&app, &ZHANGSAN, "设团长 @李四", &["lisi01".to_string()]).await;
        assert!(content(&raw).contains("已设团长"), "{raw}");
    }
}

// ── Secrets and personal data ──────────────────────────────────────────

scenario! {
    async fn the_audit_log_masks_phone_numbers(app) {
        let (s, p) = app.admin("POST", "/api/v1/people",
            Some(json!({"platform": "dingtalk", "platform_user_id": "zhangsan01", "display_name": "张三", "phone": "13812345678"}))).await;
        assert_eq!(s, 201, "{p}");
        let id = p["id"].as_i64().unwrap();
        let (s, _) = app.admin("PATCH", &format!("/api/v1/people/{id}"), Some(json!({"phone": "+86 139-0000-1111"}))).await;
        assert_eq!(s, 200);
        let (_, person) = app.admin("GET", &format!("/api/v1/people/{id}"), None).await;
        assert_eq!(person["phone"], "13900001111", "the admin API keeps the full number");
        let (_, log) = app.admin("GET", "/api/v1/audit", None).await;
        let text = log.to_string();
        assert!(!text.contains("13812345678") && !text.contains("13900001111"), "{text}");
        let update = log["items"].as_array().unwrap().iter().find(|e| e["action"] == "person.update").unwrap();
        assert_eq!((update["before"]["phone"].as_str(), update["after"]["phone"].as_str()), (Some("138****5678"), Some("139****1111")));
    }
}

// ── Attacks that were already refused ─────────────────────────────────

scenario! {
    async fn forged_and_stale_dingtalk_callbacks_get_401_and_store_nothing(app) {
        let before = app.counts().await;
        let body = app.body("m-forged", &ADMIN, "绑定 凤林镇 南坞村").to_string().into_bytes();
        let now = app.clock.now_ms();
        let sign = liancun::platform::dingtalk::sign::sign;
        for (why, ts, sig) in [
            ("another secret", now, sign(&now.to_string(), "guessed-secret")),
            ("stale by an hour and a millisecond", now - 3_600_001, sign(&(now - 3_600_001).to_string(), SECRET)),
            ("from the future", now + 3_600_001, sign(&(now + 3_600_001).to_string(), SECRET)),
            ("a replayed signature on another timestamp", now, sign(&(now - 1).to_string(), SECRET)),
        ] {
            let (s, text) = app.post_raw(BOT, &[("timestamp", ts.to_string()), ("sign", sig)], body.clone()).await;
            assert_eq!(s, 401, "{why}: {text}");
        }
        let (s, _) = app.post_raw(BOT, &[], body).await;
        assert_eq!(s, 401, "no signature");
        assert_eq!(app.counts().await, before, "nothing stored");
    }
}

scenario! {
    async fn oversized_and_malformed_bodies_get_4xx_and_store_nothing(app) {
        let before = app.counts().await;
        let mut big = app.body("m-big", &ZHANGSAN, "清单");
        big["text"]["content"] = json!("字".repeat(30_000));
        let (s, _) = app.post_raw(BOT, &app.signed(), big.to_string().into_bytes()).await;
        assert_eq!(s, 413);
        for raw in [b"{not json".to_vec(), b"[]".to_vec(), b"\xff\xfe".to_vec(), br#"{"msgtype":"text"}"#.to_vec()] {
            let (s, text) = app.post_raw(BOT, &app.signed(), raw).await;
            assert_eq!(s, 400, "{text}");
        }
        let (q, _) = app.wecom_envelope("{}");
        let (s, _) = app.wecom_post(AIBOT, &q, json!({"encrypt": "A".repeat(70_000)}).to_string().into_bytes()).await;
        assert_eq!(s, 413);
        let (s, _) = app.wecom_post(AIBOT, &q, b"{not json".to_vec()).await;
        assert_eq!(s, 400);
        assert_eq!(app.counts().await, before, "nothing stored");
    }
}

scenario! {
    async fn tampered_wecom_ciphertexts_get_4xx_and_store_nothing(app) {
        let before = app.counts().await;
        let msg = app.wecom_message("wx-atk", WECOM_ADMIN, "绑定 凤林镇 南坞村").to_string();
        let ts = "1700000000";
        let post = |encrypt: String| {
            let q = signed_query(&crypt(""), ts, "77", &encrypt);
            (q, json!({"encrypt": encrypt}).to_string().into_bytes())
        };
        // Encrypted for another receiver (a corp id in place of the bot's "").
        let (q, b) = post(crypt("ww-someone-else").encrypt(&msg, &random16()));
        let (s, text) = app.wecom_post(AIBOT, &q, b).await;
        assert_eq!(s, 400, "{text}");
        assert!(text.contains("receive id"), "{text}");
        // Padding byte 0 and padding longer than a block: rejected, not trusted.
        for pad in [0u8, 33] {
            let mut plain = b"0123456789abcdef\x00\x00\x00\x02hi".to_vec();
            plain.resize(32, pad);
            let (q, b) = post(raw_encrypt(&plain));
            let (s, text) = app.wecom_post(AIBOT, &q, b).await;
            assert_eq!(s, 400, "pad {pad}: {text}");
            assert!(text.contains("padding"), "{text}");
        }
        // A good ciphertext under a signature made with another token.
        let encrypt = crypt("").encrypt(&msg, &random16());
        let other = liancun::platform::wecom::crypto::MsgCrypt::new("othertoken", AES_KEY, "").unwrap();
        let q = signed_query(&other, ts, "77", &encrypt);
        let (s, _) = app.wecom_post(AIBOT, &q, json!({"encrypt": encrypt}).to_string().into_bytes()).await;
        assert_eq!(s, 401);
        assert_eq!(app.counts().await, before, "nothing stored");
    }
}

scenario! {
    async fn a_township_token_reads_nothing_of_another_township(app) {
        app.setup_team().await;
        app.say(&ZHANGSAN, "排清单\n1. 河道清理 @李四 周五 红").await;
        let (fenglin, village) = app.ensure_village("凤林镇", "南坞村").await;
        let (dachen, _) = app.ensure_village("大陈镇", "大陈村").await;
        let tb = township_token(&app, dachen).await;
        let gid = app.group_id().await;
        let team = team_of_group(&app).await["id"].as_i64().unwrap();
        for path in [
            format!("/api/v1/townships/{fenglin}"),
            format!("/api/v1/villages/{village}"),
            format!("/api/v1/villages/{village}/households"),
            format!("/api/v1/teams/{team}"),
            format!("/api/v1/groups/{gid}"),
            format!("/api/v1/tasks?township_id={fenglin}"),
            format!("/api/v1/people?township_id={fenglin}"),
            format!("/api/v1/exports/tasks?from=2026-12-01&to=2026-12-31&township_id={fenglin}"),
        ] {
            let (s, e) = app.admin_with("GET", &path, None, Some(&tb)).await;
            assert_eq!(s, 403, "{path}: {e}");
        }
        for list in ["/api/v1/tasks", "/api/v1/people", "/api/v1/groups"] {
            let (s, l) = app.admin_with("GET", list, None, Some(&tb)).await;
            assert_eq!((s, l["total"].as_i64()), (200, Some(0)), "{list}: {l}");
        }
        let (_, log) = app.admin_with("GET", "/api/v1/audit?limit=500", None, Some(&tb)).await;
        assert!(!log.to_string().contains("南坞"), "{log}");
    }
}

scenario! {
    async fn formulas_typed_in_the_chat_are_exported_as_text(app) {
        app.setup_team().await;
        let r = app.say(&ZHANGSAN, "排清单\n1. =HYPERLINK(\"http://evil.example/\",\"点我\") @李四 周五\n2. +1+cmd|' /C calc'!A0 @王五 周五").await;
        assert!(r.contains("已发布本周清单"), "{r}");
        let resp = app.client.get(app.url("/api/v1/exports/tasks?from=2026-12-01&to=2026-12-31"))
            .bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let csv = resp.text().await.unwrap();
        let cells: Vec<&str> = csv.split(['\r', '\n']).flat_map(|l| l.split(',')).collect();
        assert!(cells.iter().all(|c| !c.starts_with(['=', '+', '@', '-'])), "no cell starts a formula: {csv}");
        assert!(csv.contains("\"'=HYPERLINK(") && csv.contains("\"'+1+cmd"), "kept as text: {csv}");
        let resp = app.client.get(app.url("/api/v1/exports/tasks?from=2026-12-01&to=2026-12-31&format=xlsx"))
            .bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        let bytes = resp.bytes().await.unwrap().to_vec();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("xlsx");
        let mut sheet = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(), &mut sheet).unwrap();
        assert!(!sheet.contains("<f>") && !sheet.contains("<f "), "no formula cells: {sheet}");
    }
}

/// Raw AES-256-CBC with the test key (IV = key[0..16]) and no padding
/// added: ciphertexts no honest sender produces.
fn raw_encrypt(plain: &[u8]) -> String {
    use aes::cipher::{BlockModeEncrypt, KeyIvInit};
    let key: [u8; 32] = std::array::from_fn(|i| i as u8);
    let iv: [u8; 16] = std::array::from_fn(|i| i as u8);
    let mut buf = plain.to_vec();
    let mut enc = cbc::Encryptor::<aes::Aes256>::new(&key.into(), &iv.into());
    let (blocks, _) = aes::Block::slice_as_chunks_mut(&mut buf);
    enc.encrypt_blocks(blocks);
    base64::engine::general_purpose::STANDARD.encode(&buf)
}
