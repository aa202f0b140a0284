//! The admin API for townships and the city: setting up a township without
//! chatting, township tokens and every scope boundary, the views and the
//! exports, and the OpenAPI document against the routes.
//! The clock stands at Wednesday 2026-12-02 10:00 (Asia/Shanghai), week 2026-W49.

use std::io::Read;

use serde_json::{Value, json};

use crate::scenario;
use crate::support::*;

/// A raw request with a token; returns (status, headers' content type and
/// disposition, body bytes).
async fn raw(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String, Vec<u8>) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app.client.request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if !body.is_empty() {
        req = req.header("content-type", content_type).body(body);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let h = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let meta = format!("{} | {}", h("content-type"), h("content-disposition"));
    (status, meta, resp.bytes().await.unwrap().to_vec())
}

async fn csv_import(app: &TestApp, token: &str, village: i64, csv: &str) -> (u16, Value) {
    let (s, _, b) = raw(
        app,
        "POST",
        &format!("/api/v1/villages/{village}/households"),
        Some(token),
        "text/csv",
        csv.as_bytes().to_vec(),
    )
    .await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

/// An export as CSV rows (after checking the BOM), header first.
async fn export_csv(app: &TestApp, token: &str, query: &str) -> Vec<Vec<String>> {
    let (s, meta, b) = raw(
        app,
        "GET",
        &format!("/api/v1/exports/{query}"),
        Some(token),
        "",
        vec![],
    )
    .await;
    assert_eq!(s, 200, "{query}: {}", String::from_utf8_lossy(&b));
    assert!(
        meta.starts_with("text/csv") && meta.contains("attachment; filename=\"liancun-"),
        "{meta}"
    );
    let text = String::from_utf8(b).expect("UTF-8");
    let text = text
        .strip_prefix('\u{feff}')
        .expect("a BOM so Excel reads UTF-8");
    text.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// An xlsx export opened as the zip it is: (rows in sheet 1, shared strings XML).
async fn export_xlsx(app: &TestApp, token: &str, query: &str) -> (usize, String) {
    let (s, meta, b) = raw(
        app,
        "GET",
        &format!("/api/v1/exports/{query}&format=xlsx"),
        Some(token),
        "",
        vec![],
    )
    .await;
    assert_eq!(s, 200, "{query}: {}", String::from_utf8_lossy(&b));
    assert!(
        meta.starts_with("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        "{meta}"
    );
    assert!(meta.contains(".xlsx"), "{meta}");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(b)).expect("an xlsx is a zip");
    let mut read = |name: &str| {
        let mut s = String::new();
        zip.by_name(name)
            .unwrap_or_else(|_| panic!("{name} in the workbook"))
            .read_to_string(&mut s)
            .unwrap();
        s
    };
    let sheet = read("xl/worksheets/sheet1.xml");
    let strings = read("xl/sharedStrings.xml");
    (sheet.matches("<row ").count(), strings)
}

async fn create(app: &TestApp, token: &str, path: &str, body: Value) -> i64 {
    let (s, v) = app.admin_with("POST", path, Some(body), Some(token)).await;
    assert_eq!(s, 201, "{path}: {v}");
    v["id"].as_i64().unwrap()
}

async fn issue_token(app: &TestApp, township: i64, name: &str) -> (i64, String) {
    let (s, t) = app
        .admin(
            "POST",
            "/api/v1/tokens",
            Some(json!({"township_id": township, "name": name})),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    (
        t["id"].as_i64().unwrap(),
        t["token"].as_str().unwrap().to_string(),
    )
}

scenario! {
    async fn a_township_sets_up_without_chatting_and_exports_its_month(app) {
        let tid = create(&app, ADMIN_TOKEN, "/api/v1/townships", json!({"name": "凤林镇"})).await;
        let (token_id, token) = issue_token(&app, tid, "凤林镇组织办").await;
        let tok = Some(token.as_str());
        let (_, tokens) = app.admin("GET", "/api/v1/tokens", None).await;
        assert!(!tokens.to_string().contains(&token), "listed without the secret: {tokens}");

        // The township's settings.
        let (s, t) = app.admin_with("PATCH", &format!("/api/v1/townships/{tid}"),
            Some(json!({"timezone": "Asia/Shanghai", "members_may_plan": true, "red_days": 2})), tok).await;
        assert_eq!(s, 200, "{t}");
        assert_eq!((t["timezone"].as_str(), t["members_may_plan"].as_bool(), t["red_days"].as_i64(), t["green_days"].as_i64()),
            (Some("Asia/Shanghai"), Some(true), Some(2), Some(7)));
        let (s, e) = app.admin_with("PATCH", &format!("/api/v1/townships/{tid}"), Some(json!({"timezone": "Mars/Base"})), tok).await;
        assert_eq!(s, 422);
        assert!(e["detail"].as_str().unwrap().starts_with("timezone"), "{e}");
        let (s, e) = app.admin_with("PATCH", &format!("/api/v1/townships/{tid}"), Some(json!({"yellow_days": 9})), tok).await;
        assert_eq!(s, 422);
        assert!(e["detail"].as_str().unwrap().starts_with("yellow_days"), "{e}");

        // Village, team, people, roster.
        let vid = create(&app, &token, "/api/v1/villages", json!({"township_id": tid, "name": "南坞村"})).await;
        let (s, _) = app.admin_with("POST", "/api/v1/villages", Some(json!({"township_id": tid, "name": "南坞村"})), tok).await;
        assert_eq!(s, 409, "a village name is unique in its township");
        let team = create(&app, &token, "/api/v1/teams", json!({"village_id": vid, "name": "南坞服务团"})).await;
        let zs = create(&app, &token, "/api/v1/people",
            json!({"platform": "dingtalk", "platform_user_id": "zhangsan01", "display_name": "张三", "phone": "138-1234-5678"})).await;
        let ls = create(&app, &token, "/api/v1/people", json!({"platform": "dingtalk", "platform_user_id": "lisi01", "display_name": "李四"})).await;
        let ww = create(&app, &token, "/api/v1/people", json!({"platform": "dingtalk", "platform_user_id": "wangwu01", "display_name": "王五"})).await;
        let (s, e) = app.admin_with("POST", "/api/v1/people",
            Some(json!({"platform": "dingtalk", "platform_user_id": "x1", "display_name": "某", "phone": "12345"})), tok).await;
        assert_eq!(s, 422);
        assert!(e["detail"].as_str().unwrap().starts_with("phone"), "{e}");
        let (s, p) = app.admin_with("GET", &format!("/api/v1/people/{zs}"), None, tok).await;
        assert_eq!((s, p["phone"].as_str()), (200, Some("13812345678")));
        let (s, roster) = app.admin_with("PUT", &format!("/api/v1/teams/{team}/people"),
            Some(json!({"leader": zs, "members": [ls, ww]})), tok).await;
        assert_eq!(s, 200, "{roster}");
        let people = roster["people"].as_array().unwrap();
        assert_eq!(people.len(), 3);
        assert_eq!((people[0]["person_id"].as_i64(), people[0]["role"].as_str()), (Some(zs), Some("leader")));
        let (_, listed) = app.admin_with("GET", "/api/v1/people", None, tok).await;
        assert_eq!(listed["total"], 3, "the township's people: {listed}");

        // The household registry from CSV; a bad file changes nothing.
        let (s, r) = csv_import(&app, &token, vid, "\u{feff}姓名,小组,电话\r\n张大爷,3组,13800000001\r\n王大妈,第三组,\r\n李四伯,1,0570-1234567\r\n").await;
        assert_eq!(s, 200, "{r}");
        assert_eq!((r["inserted"].as_i64(), r["updated"].as_i64(), r["total"].as_i64()), (Some(3), Some(0), Some(3)));
        let (s, r) = csv_import(&app, &token, vid, "name,subgroup,phone\n张大爷,3,13900000009\n赵奶奶,2,\n").await;
        assert_eq!(s, 200, "{r}");
        assert_eq!((r["inserted"].as_i64(), r["updated"].as_i64(), r["total"].as_i64()), (Some(1), Some(1), Some(4)));
        let (s, r) = csv_import(&app, &token, vid, "姓名,小组,电话\n钱大叔,2组,\n孙大婶,东组,\n").await;
        assert_eq!(s, 422);
        let err = r["detail"].as_str().unwrap();
        assert!(err.contains("line 3") && err.contains("小组"), "{err}");
        let (_, h) = app.admin_with("GET", &format!("/api/v1/villages/{vid}/households"), None, tok).await;
        assert_eq!(h["total"], 4, "nothing of the bad file was kept: {h}");
        assert!(h["items"].as_array().unwrap().iter().any(|x| x["name"] == "张大爷" && x["phone"] == "13900000009"), "{h}");

        // The village group, seen once, is bound to the team through the API.
        app.say(&ZHANGSAN, "帮助").await;
        let gid = app.group_id().await;
        let (s, unbound) = app.admin_with("GET", "/api/v1/groups?bound=false", None, tok).await;
        assert_eq!(s, 200);
        assert!(unbound["items"].as_array().unwrap().iter().any(|g| g["id"] == gid), "{unbound}");
        let (s, g) = app.admin_with("PUT", &format!("/api/v1/groups/{gid}/team"), Some(json!({"team_id": team})), tok).await;
        assert_eq!((s, g["township_id"].as_i64()), (200, Some(tid)), "{g}");
        let (_, mine) = app.admin_with("GET", "/api/v1/groups", None, tok).await;
        assert_eq!(mine["total"], 1);

        // The team works in the chat as set up, and its week shows in the views.
        let r = app.say(&ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 周五 红\n2. 路灯维修 @王五 周四 黄").await;
        assert!(r.contains("已发布本周清单"), "{r}");
        let r = app.say(&LISI, "完成 #1 3户签了协议").await;
        assert!(r.contains("已销号"), "{r}");
        let (s, tasks) = app.admin_with("GET", "/api/v1/tasks?week_from=2026-W49&week_to=2026-W49", None, tok).await;
        assert_eq!(s, 200, "{tasks}");
        assert_eq!(tasks["total"], 2);
        assert_eq!(tasks["items"][0]["owners"], json!(["李四"]));
        assert_eq!((tasks["items"][0]["level"].as_str(), tasks["items"][0]["state"].as_str()), (Some("red"), Some("closed")));
        let (_, open) = app.admin_with("GET", "/api/v1/tasks?state=open", None, tok).await;
        assert_eq!(open["total"], 1);
        let (_, later) = app.admin_with("GET", "/api/v1/tasks?week_from=2026-W50", None, tok).await;
        assert_eq!(later["total"], 0);
        let (_, page) = app.admin_with("GET", "/api/v1/tasks?limit=1&offset=1", None, tok).await;
        assert_eq!((page["items"].as_array().unwrap().len(), page["total"].as_i64(), page["offset"].as_i64()), (1, Some(2), Some(1)));

        // December as the clerk hands it up.
        let rows = export_csv(&app, &token, "tasks?from=2026-12-01&to=2026-12-31").await;
        assert_eq!(rows[0][..6], ["乡镇", "村", "服务团", "周", "编号", "事项"]);
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert_eq!(rows[1][..8], ["凤林镇", "南坞村", "南坞服务团", "2026-W49", "1", "插花田政策处理", "红", "李四"]);
        assert!(rows[1][8].starts_with("2026-12-0"), "deadline in township time: {:?}", rows[1]);
        assert_eq!((rows[1][9].as_str(), rows[1][12].as_str()), ("已完成", "3户签了协议"));
        let (n, strings) = export_xlsx(&app, &token, "tasks?from=2026-12-01&to=2026-12-31").await;
        assert_eq!(n, 3, "header and two tasks");
        assert!(strings.contains("插花田政策处理") && strings.contains("乡镇") && strings.contains("路灯维修"), "{strings}");
        let november = export_csv(&app, &token, "tasks?from=2026-11-01&to=2026-11-30").await;
        assert_eq!(november.len(), 1, "only the header: {november:?}");

        // Every change is in the audit log under the token.
        let (_, log) = app.admin("GET", "/api/v1/audit?limit=500", None).await;
        let actor = format!("token:{token_id}");
        let actions: Vec<&str> = log["items"].as_array().unwrap().iter()
            .filter(|e| e["actor"] == actor.as_str()).filter_map(|e| e["action"].as_str()).collect();
        for a in ["township.update", "village.create", "team.create", "person.create", "team.people", "households.import", "group.bind"] {
            assert!(actions.contains(&a), "{a} in {actions:?}");
        }
        assert!(!log.to_string().contains(&token), "the token never enters the log");
        let upd = log["items"].as_array().unwrap().iter().find(|e| e["action"] == "township.update").unwrap();
        assert_eq!((upd["before"]["red_days"].as_i64(), upd["after"]["red_days"].as_i64()), (Some(1), Some(2)));
    }
}

scenario! {
    async fn a_township_token_sees_and_changes_only_its_township(app) {
        // Township A (凤林镇) is set up in the chat; B through the API.
        app.setup_team().await;
        let gid = app.group_id().await;
        let (_, g) = app.admin("GET", &format!("/api/v1/groups/{gid}"), None).await;
        let a_team = g["team_id"].as_i64().unwrap();
        let a = g["township_id"].as_i64().unwrap();
        let (_, team) = app.admin("GET", &format!("/api/v1/teams/{a_team}"), None).await;
        let a_village = team["village_id"].as_i64().unwrap();
        let zs = team["people"][0]["person_id"].as_i64().unwrap();
        let b = create(&app, ADMIN_TOKEN, "/api/v1/townships", json!({"name": "大陈镇"})).await;
        let b_village = create(&app, ADMIN_TOKEN, "/api/v1/villages", json!({"township_id": b, "name": "大陈村"})).await;
        let (ta_id, ta) = issue_token(&app, a, "A").await;
        let (_, tb) = issue_token(&app, b, "B").await;
        let (ta, tb) = (Some(ta.as_str()), Some(tb.as_str()));

        // A dead letter of township A.
        let (s, _) = app.admin("PUT", &format!("/api/v1/groups/{gid}/push-robot"), Some(json!({"access_token": "unknown-robot"}))).await;
        assert_eq!(s, 204);
        let (s, _) = app.admin_with("POST", "/api/v1/jobs/plan_reminder/run", None, ta).await;
        assert_eq!(s, 200, "a township token runs a job for its own township");
        assert_eq!(app.deliver().await.dead, 1);
        let (_, dead) = app.admin_with("GET", "/api/v1/outbox/dead", None, ta).await;
        assert_eq!(dead["total"], 1, "{dead}");
        let dead_id = dead["items"][0]["id"].as_i64().unwrap();
        let (_, none) = app.admin_with("GET", "/api/v1/outbox/dead", None, tb).await;
        assert_eq!(none["total"], 0, "{none}");
        app.say(&ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 周五 红").await;

        // B's token against A's data: 403 every time, nothing changed.
        let forbidden: Vec<(&str, String, Option<Value>)> = vec![
            ("GET", format!("/api/v1/townships/{a}"), None),
            ("PATCH", format!("/api/v1/townships/{a}"), Some(json!({"members_may_plan": true}))),
            ("GET", format!("/api/v1/townships/{a}/admins"), None),
            ("POST", format!("/api/v1/townships/{a}/admins"), Some(json!({"platform": "dingtalk", "user_id": "x"}))),
            ("PUT", format!("/api/v1/townships/{a}/schedule/plan_reminder"), Some(json!({"cron": "0 0 9 * * Mon"}))),
            ("DELETE", format!("/api/v1/townships/{a}/schedule/plan_reminder"), None),
            ("GET", format!("/api/v1/villages/{a_village}"), None),
            ("PATCH", format!("/api/v1/villages/{a_village}"), Some(json!({"name": "改名村"}))),
            ("GET", format!("/api/v1/villages/{a_village}/households"), None),
            ("GET", format!("/api/v1/villages?township_id={a}"), None),
            ("POST", "/api/v1/villages".into(), Some(json!({"township_id": a, "name": "新村"}))),
            ("POST", "/api/v1/teams".into(), Some(json!({"village_id": a_village, "name": "新团"}))),
            ("GET", format!("/api/v1/teams/{a_team}"), None),
            ("GET", format!("/api/v1/teams?village_id={a_village}"), None),
            ("PATCH", format!("/api/v1/teams/{a_team}"), Some(json!({"name": "改名团"}))),
            ("PUT", format!("/api/v1/teams/{a_team}/people"), Some(json!({"leader": null, "members": []}))),
            ("GET", format!("/api/v1/people/{zs}"), None),
            ("PATCH", format!("/api/v1/people/{zs}"), Some(json!({"display_name": "改名"}))),
            ("GET", format!("/api/v1/people?township_id={a}"), None),
            ("GET", format!("/api/v1/groups/{gid}"), None),
            ("GET", format!("/api/v1/groups?team_id={a_team}"), None),
            ("PUT", format!("/api/v1/groups/{gid}/team"), Some(json!({"team_id": null}))),
            ("PUT", format!("/api/v1/groups/{gid}/push-robot"), Some(json!({"access_token": "x"}))),
            ("DELETE", format!("/api/v1/groups/{gid}/push-robot"), None),
            ("POST", "/api/v1/jobs/plan_reminder/run".into(), Some(json!({"township": a}))),
            ("POST", "/api/v1/jobs/plan_reminder/run".into(), Some(json!({"group": gid}))),
            ("POST", format!("/api/v1/outbox/dead/{dead_id}/retry"), None),
            ("GET", format!("/api/v1/tasks?township_id={a}"), None),
            ("GET", format!("/api/v1/services?team_id={a_team}"), None),
            ("GET", format!("/api/v1/visits?village_id={a_village}"), None),
            ("GET", format!("/api/v1/exports/tasks?from=2026-12-01&to=2026-12-31&township_id={a}"), None),
            ("GET", format!("/api/v1/townships/{a}/ranking"), None),
            ("PUT", format!("/api/v1/townships/{a}/ranking/weights"), Some(json!({"on_time": 1, "requests": 1, "coverage": 1, "rating": 1, "projects": 1}))),
            ("GET", format!("/api/v1/townships/{a}/pioneers"), None),
            ("POST", format!("/api/v1/townships/{a}/pioneers/nominations"), Some(json!({"month": "2026-11", "team": a_team, "name": "张三", "reason": "x"}))),
            ("POST", format!("/api/v1/townships/{a}/pioneers/confirm"), Some(json!({"month": "2026-11", "project": [], "diligence": [], "innovation": []}))),
            // City only.
            ("POST", "/api/v1/townships".into(), Some(json!({"name": "新镇"}))),
            ("GET", "/api/v1/tokens".into(), None),
            ("POST", "/api/v1/tokens".into(), Some(json!({"township_id": b, "name": "x"}))),
            ("DELETE", format!("/api/v1/tokens/{ta_id}"), None),
            ("PUT", "/api/v1/calendar/2027".into(), Some(json!({"notice": "x", "holidays": [], "workdays": []}))),
        ];
        let before = app.counts().await;
        for (m, path, body) in &forbidden {
            let (s, e) = app.admin_with(m, path, body.clone(), tb).await;
            assert_eq!(s, 403, "{m} {path}: {e}");
        }
        let (s, _) = csv_import(&app, tb.unwrap(), a_village, "姓名\n张三\n").await;
        assert_eq!(s, 403);
        // A's own token reads A's ranking and pioneers; an unknown township is a 404.
        for path in [format!("/api/v1/townships/{a}/ranking"), format!("/api/v1/townships/{a}/pioneers")] {
            let (s, e) = app.admin_with("GET", &path, None, ta).await;
            assert_eq!(s, 200, "{path}: {e}");
        }
        let (s, _) = app.admin_with("GET", "/api/v1/townships/9999/ranking", None, tb).await;
        assert_eq!(s, 404);
        assert_eq!(app.counts().await, before, "no 403 wrote anything");
        let (_, g) = app.admin("GET", &format!("/api/v1/groups/{gid}"), None).await;
        assert_eq!(g["team_id"].as_i64(), Some(a_team));

        // What B's token does see: its own, and nothing of A's in the lists.
        let (s, ts) = app.admin_with("GET", "/api/v1/townships", None, tb).await;
        assert_eq!((s, ts["items"].as_array().unwrap().len(), ts["items"][0]["id"].as_i64()), (200, 1, Some(b)));
        for list in ["/api/v1/tasks", "/api/v1/services", "/api/v1/visits", "/api/v1/ratings", "/api/v1/requests", "/api/v1/groups", "/api/v1/people"] {
            let (s, l) = app.admin_with("GET", list, None, tb).await;
            assert_eq!((s, l["total"].as_i64()), (200, Some(0)), "{list}: {l}");
        }
        let (s, v) = app.admin_with("GET", &format!("/api/v1/villages/{b_village}"), None, tb).await;
        assert_eq!((s, v["name"].as_str()), (200, Some("大陈村")));
        let (s, _) = app.admin_with("GET", "/api/v1/calendar", None, tb).await;
        assert_eq!(s, 200, "any token reads the calendar");
        let (_, mine) = app.admin_with("GET", "/api/v1/tasks", None, ta).await;
        assert_eq!(mine["total"], 1);
        // The audit log: each township reads what concerns it.
        let (s, log) = app.admin_with("GET", "/api/v1/audit?limit=500", None, ta).await;
        assert_eq!(s, 200);
        let entries = log["items"].as_array().unwrap();
        assert!(entries.iter().any(|e| e["action"] == "bind" && e["target"] == format!("group:{gid}")), "in-chat binding: {log}");
        assert!(entries.iter().any(|e| e["action"] == "push_robot.set" && e["actor"] == "admin"), "the city's change: {log}");
        assert!(!log.to_string().contains("大陈村"), "nothing of B: {log}");
        let (s, log) = app.admin_with("GET", "/api/v1/audit?limit=500", None, tb).await;
        assert_eq!(s, 200);
        let entries = log["items"].as_array().unwrap();
        assert!(entries.iter().any(|e| e["action"] == "village.create" && e["target"] == format!("village:{b_village}")), "{log}");
        assert!(entries.iter().all(|e| e["target"] != format!("group:{gid}") && e["target"] != format!("township:{a}")), "nothing of A: {log}");
        assert_eq!(log["total"].as_i64(), Some(entries.len() as i64));

        // Unknown ids are 404 (existence is judged before scope).
        for path in ["/api/v1/townships/999", "/api/v1/villages/999", "/api/v1/teams/999", "/api/v1/people/999", "/api/v1/groups/999"] {
            let (s, _) = app.admin_with("GET", path, None, tb).await;
            assert_eq!(s, 404, "{path}");
        }
        let (s, _) = app.admin_with("POST", "/api/v1/outbox/dead/999/retry", None, tb).await;
        assert_eq!(s, 404);
        let (s, e) = app.admin_with("POST", "/api/v1/villages", Some(json!({"township_id": 999, "name": "x"})), None).await;
        assert_eq!(s, 401, "{e}");
        let (s, e) = app.admin("POST", "/api/v1/villages", Some(json!({"township_id": 999, "name": "x"}))).await;
        assert_eq!(s, 422, "an id in a body names its field: {e}");
        assert!(e["detail"].as_str().unwrap().starts_with("township_id"), "{e}");

        // Bad input: 422 naming the field, nothing half-written.
        let (s, e) = app.admin("POST", "/api/v1/villages", Some(json!({"name": "x"}))).await;
        assert_eq!(s, 422);
        assert!(e["detail"].as_str().unwrap().contains("township_id"), "{e}");
        let (s, e) = app.admin("POST", "/api/v1/townships", Some(json!({"name": "x", "colour": "red"}))).await;
        assert_eq!(s, 422);
        assert!(e["detail"].as_str().unwrap().contains("colour"), "{e}");
        let (s, e) = app.admin("PUT", &format!("/api/v1/teams/{a_team}/people"), Some(json!({"leader": zs, "members": [999999]}))).await;
        assert_eq!(s, 422);
        assert!(e["detail"].as_str().unwrap().starts_with("members[0]"), "{e}");
        let (_, team) = app.admin("GET", &format!("/api/v1/teams/{a_team}"), None).await;
        assert_eq!(team["people"].as_array().unwrap().len(), 3, "the roster is untouched");
        let (s, e) = app.admin("GET", "/api/v1/tasks?week_from=2026-49", None).await;
        assert_eq!(s, 422);
        assert!(e["detail"].as_str().unwrap().starts_with("week_from"), "{e}");
        let (s, e) = app.admin("GET", "/api/v1/services?state=open", None).await;
        assert_eq!(s, 422);
        assert!(e["detail"].as_str().unwrap().starts_with("state"), "{e}");
        let (s, e) = app.admin("GET", "/api/v1/exports/tasks?from=2026-12-31&to=2026-12-01", None).await;
        assert_eq!(s, 422);
        assert!(e["detail"].as_str().unwrap().starts_with("to"), "{e}");
        let (s, _) = app.admin("GET", "/api/v1/exports/tasks?from=2026-12-01&to=2026-12-31&format=pdf", None).await;
        assert_eq!(s, 422);
        let (s, _) = app.admin("GET", "/api/v1/exports/everything?from=2026-12-01&to=2026-12-31", None).await;
        assert_eq!(s, 404);
        // Ids that cannot be ids name no row; unknown query keys are named.
        let (s, e) = app.admin("GET", "/api/v1/teams/9223372036854775808", None).await;
        assert_eq!(s, 404, "{e}");
        assert!(e["detail"].as_str().unwrap().starts_with("path"), "JSON like every error: {e}");
        let (s, e) = app.admin("GET", "/api/v1/tasks?colour=red", None).await;
        assert_eq!(s, 422);
        assert!(e["detail"].as_str().unwrap().contains("colour"), "{e}");
        let (s, e) = app.admin("GET", "/api/v1/tasks?limit=many", None).await;
        assert_eq!(s, 422);
        assert!(e["detail"].as_str().unwrap().contains("limit"), "{e}");

        // Body limits: 64 KiB for JSON, 1 MiB for a household CSV.
        let big = format!("{{\"name\": \"{}\"}}", "村".repeat(30_000));
        let (s, _, _) = raw(&app, "POST", "/api/v1/villages", Some(ADMIN_TOKEN), "application/json", big.into_bytes()).await;
        assert_eq!(s, 413);
        let mut csv = String::from("姓名,小组\n");
        for i in 0..3000 {
            csv.push_str(&format!("村民{i},1\n"));
        }
        let (s, r) = csv_import(&app, ADMIN_TOKEN, b_village, &csv).await;
        assert_eq!((s, r["inserted"].as_i64()), (200, Some(3000)), "a big village fits");
        // A body over the upload limit (8 MiB) is refused before it is read.
        let huge = "姓名\n".to_string() + &"张三三三三三三三三三三三三三三三\n".repeat(180_000);
        let (s, _) = csv_import(&app, ADMIN_TOKEN, b_village, &huge).await;
        assert_eq!(s, 413);

        // No token, a wrong one, a revoked one: 401.
        let (s, _) = app.admin_with("GET", "/api/v1/townships", None, None).await;
        assert_eq!(s, 401);
        let (s, _) = app.admin_with("GET", "/api/v1/townships", None, Some("lct_0000")).await;
        assert_eq!(s, 401);
        let (s, _) = app.admin("DELETE", &format!("/api/v1/tokens/{ta_id}"), None).await;
        assert_eq!(s, 204);
        let (s, e) = app.admin_with("GET", "/api/v1/townships", None, ta).await;
        assert_eq!(s, 401, "revoked at once: {e}");
        let (s, _) = app.admin("DELETE", "/api/v1/tokens/999", None).await;
        assert_eq!(s, 404);
        let (_, tokens) = app.admin("GET", "/api/v1/tokens", None).await;
        assert!(tokens["items"].as_array().unwrap().iter().any(|t| t["id"] == ta_id && t["revoked_at"].is_i64()), "{tokens}");
        let (_, log) = app.admin("GET", "/api/v1/audit?limit=500", None).await;
        let revoked = log["items"].as_array().unwrap().iter().find(|e| e["action"] == "token.revoke").unwrap();
        assert_eq!(revoked["actor"], "admin");
    }
}

scenario! {
    async fn the_week_in_views_and_exports(app) {
        app.setup_team().await;
        app.say(&ZHANGSAN, "排清单\n1. 插花田政策处理 @李四 周五 红").await;
        app.say(&LISI, "服务 #1 帮3组王大妈办理医保").await;
        app.say(&WANGWU, "走访 张大爷家 反映3组路灯坏了").await;
        app.say(&VILLAGERS[0], "评价 4 路灯修得快").await;
        app.say(&VILLAGERS[1], "诉求 村口垃圾没人清").await;
        app.say(&LISI, "完成 #1 政策处理到位").await;

        let (_, s) = app.admin("GET", "/api/v1/services", None).await;
        assert_eq!((s["total"].as_i64(), s["items"][0]["task_no"].as_i64(), s["items"][0]["person"].as_str()), (Some(1), Some(1), Some("李四")), "{s}");
        let (_, v) = app.admin("GET", "/api/v1/visits?week_from=2026-W49&week_to=2026-W49", None).await;
        assert_eq!((v["total"].as_i64(), v["items"][0]["household"].as_str()), (Some(1), Some("张大爷家")), "{v}");
        let (_, r) = app.admin("GET", "/api/v1/ratings", None).await;
        assert_eq!((r["total"].as_i64(), r["items"][0]["score"].as_i64()), (Some(1), Some(4)), "{r}");
        let (_, q) = app.admin("GET", "/api/v1/requests?state=open", None).await;
        assert_eq!((q["total"].as_i64(), q["items"][0]["text"].as_str()), (Some(1), Some("村口垃圾没人清")), "{q}");
        let (_, t) = app.admin("GET", "/api/v1/tasks?state=closed", None).await;
        assert_eq!(t["total"], 1);

        let range = "from=2026-12-01&to=2026-12-31";
        let services = export_csv(&app, ADMIN_TOKEN, &format!("services?{range}")).await;
        assert_eq!(services.len(), 2);
        assert_eq!(services[0], ["乡镇", "村", "服务团", "周", "时间", "团员", "关联事项", "服务内容"]);
        assert_eq!((services[1][4].as_str(), services[1][6].as_str(), services[1][7].as_str()), ("2026-12-02 10:00", "#1", "帮3组王大妈办理医保"));
        let visits = export_csv(&app, ADMIN_TOKEN, &format!("visits?{range}")).await;
        assert_eq!((visits.len(), visits[1][5].as_str(), visits[1][6].as_str()), (2, "王五", "张大爷家"));
        let ratings = export_csv(&app, ADMIN_TOKEN, &format!("ratings?{range}")).await;
        assert_eq!((ratings.len(), ratings[1][6].as_str()), (2, "4"));
        let summary = export_csv(&app, ADMIN_TOKEN, &format!("weekly_summary?{range}")).await;
        assert_eq!(summary[0][..5], ["乡镇", "村", "服务团", "周", "清单事项"]);
        // December 2026 touches ISO weeks 49 to 53, one row each for the one team.
        assert_eq!(summary.len(), 1 + 5, "{summary:?}");
        let w49 = summary.iter().find(|r| r[3] == "2026-W49").unwrap();
        // 清单事项 (the plan task and the request), 已完成, 按时, 完成率, 服务, 走访, 诉求, 评价人数, 平均分
        assert_eq!(w49[4..], ["2", "1", "1", "50%", "1", "1", "1", "1", "4.00"], "{w49:?}");
        let tasks = export_csv(&app, ADMIN_TOKEN, &format!("tasks?{range}")).await;
        assert_eq!(tasks.len(), 3, "the plan task and the request's task: {tasks:?}");
        assert!(tasks.iter().any(|r| r[10] == "群众诉求"), "{tasks:?}");
        let (rows, strings) = export_xlsx(&app, ADMIN_TOKEN, &format!("weekly_summary?{range}")).await;
        assert_eq!(rows, 6);
        assert!(strings.contains("完成率") && strings.contains("南坞服务团"), "{strings}");
        for kind in ["services", "visits", "ratings"] {
            let (rows, _) = export_xlsx(&app, ADMIN_TOKEN, &format!("{kind}?{range}")).await;
            assert_eq!(rows, 2, "{kind}");
        }
        let (s, meta, _) = raw(&app, "GET", &format!("/api/v1/exports/visits?{range}"), Some(ADMIN_TOKEN), "", vec![]).await;
        assert_eq!(s, 200);
        assert!(meta.contains("filename=\"liancun-visits-2026-12-01-2026-12-31.csv\"") && meta.contains("filename*=UTF-8''"), "{meta}");
    }
}

scenario! {
    async fn the_openapi_document_matches_the_routes(app) {
        let (s, meta, body) = raw(&app, "GET", "/api/v1/openapi.json", None, "", vec![]).await;
        assert_eq!(s, 200);
        assert!(meta.starts_with("application/json"), "{meta}");
        let doc: Value = serde_json::from_slice(&body).expect("the document is JSON");
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "OpenAPI 3.x");
        assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
        let paths = doc["paths"].as_object().unwrap();
        let mut operations = 0;
        for (path, item) in paths {
            assert!(path.starts_with("/api/v1/"), "{path}");
            for (method, op) in item.as_object().unwrap() {
                if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                    continue;
                }
                operations += 1;
                assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path} documents its responses");
                // Every documented operation is routed: with an unknown id it
                // answers anything but the router's own 404 or 405.
                let concrete = path
                    .replace("{job}", "plan_reminder")
                    .replace("{kind}", "tasks")
                    .replace("{year}", "2027")
                    .replace(['{', '}'], "")
                    .split('/')
                    .map(|seg| if seg.ends_with("id") { "999999" } else { seg })
                    .collect::<Vec<_>>()
                    .join("/");
                let (s, e) = app.admin(&method.to_uppercase(), &concrete, None).await;
                assert_ne!(s, 405, "{method} {path} is routed");
                assert_ne!(e["detail"], "no such route", "{method} {path} ({concrete}) is routed");
                // And every one of them wants a token.
                let (s, _) = app.admin_with(&method.to_uppercase(), &concrete, None, None).await;
                assert_eq!(s, 401, "{method} {path} without a token");
            }
        }
        assert!(operations >= 40, "{operations} operations documented");

        // The document is liancun's, and the one `liancun openapi` prints.
        assert_eq!(doc["info"]["title"], "liancun admin API");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(doc["info"]["license"]["identifier"], "MIT");
        assert!(doc["info"].get("contact").is_none(), "no generator's author: {}", doc["info"]);
        assert_eq!(body, liancun::http::openapi_json().unwrap().into_bytes(), "served = printed");
        // Every response says what it means; every error is the one problem schema.
        let mut lists = 0;
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                for (status, resp) in op["responses"].as_object().unwrap() {
                    let what = format!("{method} {path} {status}");
                    assert!(resp["description"].as_str().is_some_and(|d| !d.is_empty()), "{what} has a description");
                    if status.as_str() >= "400" {
                        assert_eq!(resp["content"]["application/problem+json"]["schema"]["$ref"],
                            "#/components/schemas/Problem", "{what}");
                    }
                }
                // A list answers {items, total, limit, offset} with the item's schema, and pages with limit and offset.
                let params: Vec<&str> = op["parameters"].as_array().map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect()).unwrap_or_default();
                if method == "get" && params.contains(&"limit") {
                    lists += 1;
                    assert!(params.contains(&"offset"), "{method} {path} pages with offset");
                    let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
                    let schema = match schema["$ref"].as_str() {
                        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
                        None => schema,
                    };
                    let props = &schema["properties"];
                    for key in ["items", "total", "limit", "offset"] {
                        assert!(props.get(key).is_some(), "{method} {path}: {key} in {schema}");
                    }
                    assert!(props["items"]["items"].is_object(), "{method} {path}: the item's schema: {schema}");
                }
            }
        }
        for list in ["/api/v1/townships", "/api/v1/villages", "/api/v1/teams", "/api/v1/people", "/api/v1/groups",
            "/api/v1/tokens", "/api/v1/audit", "/api/v1/outbox/dead", "/api/v1/tasks", "/api/v1/townships/{id}/admins"] {
            let ps = doc["paths"][list]["get"]["parameters"].as_array().unwrap_or_else(|| panic!("{list} has parameters"));
            assert!(ps.iter().any(|p| p["name"] == "limit"), "{list} pages like the others");
        }
        assert!(lists >= 14, "{lists} paged lists");
        // Instants say their unit.
        let township = &doc["components"]["schemas"]["Township"]["properties"]["created_at"];
        assert!(township["description"].as_str().unwrap_or("").contains("milliseconds"), "{township}");
        assert!(doc["components"]["schemas"]["Problem"]["properties"]["detail"].is_object());
        // Every /api/v1 route is documented: routes enter only through
        // utoipa-axum's routes! (which documents them); the source adds no
        // other /api/v1 route but the document itself.
        for file in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/http")).unwrap() {
            let path = file.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!text.contains(".route(\"/api/v1"), "{} adds an undocumented /api/v1 route", path.display());
        }
    }
}

scenario! {
    async fn every_admin_api_error_is_a_problem_document(app) {
        // (status, the problem) of a raw request, checking the media type.
        async fn problem(app: &TestApp, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> (u16, Value) {
            let (s, meta, b) = raw(app, method, path, token, "application/json", body.to_vec()).await;
            assert!(meta.starts_with("application/problem+json"), "{method} {path}: {s} {meta}");
            let p: Value = serde_json::from_slice(&b).expect("a problem is JSON");
            assert_eq!(p["status"], s, "{p}");
            assert_eq!(p["type"], "about:blank", "{p}");
            assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
            assert!(p["detail"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
            (s, p)
        }
        let admin = Some(ADMIN_TOKEN);

        // Malformed JSON is 400 and says where; JSON of the wrong shape is 422 naming the field.
        let (s, p) = problem(&app, "POST", "/api/v1/townships", admin, b"{\"name\": \"x\",\n  \"timezone\": }").await;
        assert_eq!((s, p["title"].as_str()), (400, Some("Bad Request")), "{p}");
        assert_eq!((p["line"].as_u64(), p["column"].as_u64()), (Some(2), Some(15)), "{p}");
        assert!(p["detail"].as_str().unwrap().starts_with("the body is not valid JSON"), "{p}");
        let (s, p) = problem(&app, "POST", "/api/v1/townships", admin, b"{\"name\": \"x\"} trailing").await;
        assert_eq!(s, 400, "trailing characters are malformed too: {p}");
        let (s, p) = problem(&app, "POST", "/api/v1/townships", admin, br#"{"name": 5}"#).await;
        assert_eq!((s, p["field"].as_str()), (422, Some("name")), "{p}");
        assert!(p["detail"].as_str().unwrap().starts_with("name: "), "{p}");
        let (s, p) = problem(&app, "PATCH", "/api/v1/townships/1", admin, br#"{"timezone": "Mars/Base"}"#).await;
        assert!(s == 404 || (s == 422 && p["field"] == "timezone"), "{s} {p}");

        // Framework answers too: an unknown route, a wrong method, an oversize body, no token.
        let (s, p) = problem(&app, "GET", "/api/v1/no-such-thing", admin, b"").await;
        assert_eq!((s, p["detail"].as_str()), (404, Some("no such route")), "{p}");
        let resp = app.client.delete(app.url("/api/v1/townships")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 405);
        let allow = resp.headers().get("allow").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        assert!(allow.contains("GET") && allow.contains("POST"), "keeps Allow: {allow}");
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/problem+json"));
        let p: Value = resp.json().await.unwrap();
        assert!(p["detail"].as_str().unwrap().starts_with("DELETE is not allowed"), "{p}");
        // The detail names what the path takes, as Allow does (the router adds
        // Allow only after the problem middleware has written the detail).
        assert_eq!(p["detail"], format!("DELETE is not allowed here; allowed: {allow}"), "{p}");
        let resp = app.client.put(app.url("/api/v1/openapi.json")).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 405);
        let p: Value = resp.json().await.unwrap();
        assert_eq!(p["detail"], "PUT is not allowed here; allowed: GET,HEAD", "{p}");
        let big = format!("{{\"name\": \"{}\"}}", "村".repeat(30_000));
        let (s, p) = problem(&app, "POST", "/api/v1/townships", admin, big.as_bytes()).await;
        assert_eq!((s, p["title"].as_str()), (413, Some("Payload Too Large")), "{p}");
        assert!(p["detail"].as_str().unwrap().contains("64 KiB"), "says the limit: {p}");
        let (s, _) = problem(&app, "GET", "/api/v1/townships", None, b"").await;
        assert_eq!(s, 401);
        // A bad query parameter is the problem's field, as a bad body field is.
        let (s, p) = problem(&app, "GET", "/api/v1/teams?limit=abc", admin, b"").await;
        assert_eq!((s, p["field"].as_str()), (422, Some("limit")), "{p}");
        assert!(p["detail"].as_str().unwrap().starts_with("limit: "), "{p}");
        let (s, p) = problem(&app, "GET", "/api/v1/audit?lmit=5", admin, b"").await;
        assert_eq!((s, p["field"].as_str()), (422, Some("lmit")), "{p}");

        // A conflict says what conflicts, in the same words on both backends.
        let (s, t) = app.admin("POST", "/api/v1/townships", Some(json!({"name": "问题镇"}))).await;
        assert_eq!(s, 201, "{t}");
        let (s, p) = problem(&app, "POST", "/api/v1/townships", admin, r#"{"name": "问题镇"}"#.as_bytes()).await;
        assert_eq!((s, p["field"].as_str(), p["detail"].as_str()),
            (409, Some("name"), Some("name: a township with this name already exists")), "{p}");
        let village = json!({"township_id": t["id"], "name": "问题村"}).to_string();
        let (s, v) = app.admin("POST", "/api/v1/villages", Some(serde_json::from_str(&village).unwrap())).await;
        assert_eq!(s, 201, "{v}");
        // A bad row of a household file: the line, said apart.
        let (s, meta, b) = raw(&app, "POST", &format!("/api/v1/villages/{}/households", v["id"]), admin, "text/csv",
            "姓名,小组\n张三,1组\n李四,东组\n".as_bytes().to_vec()).await;
        let p: Value = serde_json::from_slice(&b).unwrap();
        assert!(meta.starts_with("application/problem+json"), "{meta}");
        assert_eq!((s, p["field"].as_str(), p["line"].as_u64()), (422, Some("csv"), Some(3)), "{p}");
        let (s, p) = problem(&app, "POST", "/api/v1/villages", admin, village.as_bytes()).await;
        assert_eq!((s, p["detail"].as_str()), (409, Some("name: the township already has a village with this name")), "{p}");
        let person = r#"{"platform": "dingtalk", "platform_user_id": "dup01", "display_name": "某"}"#.as_bytes();
        let (s, _) = app.admin("POST", "/api/v1/people", Some(serde_json::from_slice(person).unwrap())).await;
        assert_eq!(s, 201);
        let (s, p) = problem(&app, "POST", "/api/v1/people", admin, person).await;
        assert_eq!((s, p["field"].as_str()), (409, Some("platform_user_id")), "{p}");
        let (_, listed) = app.admin("GET", "/api/v1/townships", None).await;
        assert_eq!(listed["items"].as_array().unwrap().iter().filter(|t| t["name"] == "问题镇").count(), 1, "{listed}");

        // The webhooks keep the shape the platforms have always been given.
        let (s, meta, b) = raw(&app, "POST", "/webhook/dingtalk/no-such-bot", None, "application/json", b"{}".to_vec()).await;
        assert_eq!(s, 404);
        assert!(meta.starts_with("application/json"), "{meta}");
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert!(v["error"].is_string(), "{v}");
    }
}
