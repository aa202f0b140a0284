//! The audit log: in-chat bindings and role changes and admin changes, with
//! who, when, before and after — and never a secret.

use serde_json::json;

use crate::scenario;
use crate::support::*;

scenario! {
    async fn bindings_roles_and_admin_changes_are_audited(app) {
        app.setup_team().await;
        app.say(&ADMIN, "设团长 @李四").await; // demotes 张三
        let gid = app.group_id().await;
        let (s, _) = app.admin("PUT", &format!("/api/v1/groups/{gid}/push-robot"),
            Some(json!({"access_token": "tok-secret-123", "secret": "SECsecret456"}))).await;
        assert_eq!(s, 204);
        let (s, _) = app.admin("PUT", "/api/v1/townships/1/schedule/plan_reminder", Some(json!({"cron": "0 0 9 * * Mon"}))).await;
        assert_eq!(s, 200);
        let (s, _) = app.admin("PUT", "/api/v1/townships/1/schedule/plan_reminder", Some(json!({"cron": "0 15 9 * * Mon"}))).await;
        assert_eq!(s, 200);

        let (s, log) = app.admin("GET", "/api/v1/audit", None).await;
        assert_eq!(s, 200);
        let text = log.to_string();
        assert!(!text.contains("tok-secret-123") && !text.contains("SECsecret456"), "no secrets: {text}");
        let entries = log["items"].as_array().unwrap();
        let find = |action: &str| entries.iter().filter(|e| e["action"] == action).cloned().collect::<Vec<_>>();
        let bind = find("bind");
        assert_eq!(bind.len(), 1);
        assert_eq!(bind[0]["actor"], "dingtalk:guanli01");
        assert_eq!(bind[0]["target"], format!("group:{gid}"));
        assert_eq!(bind[0]["after"]["village"], "南坞村");
        assert!(bind[0]["before"].is_null(), "first binding");
        let roles = find("set_role");
        assert!(roles.iter().any(|e| e["after"]["role"] == "member" && e["before"]["role"] == "leader"
            && e["after"]["user_id"] == "zhangsan01"), "the demoted leader: {roles:?}");
        assert!(roles.iter().any(|e| e["after"]["role"] == "leader" && e["after"]["user_id"] == "lisi01"));
        let robot = find("push_robot.set");
        assert_eq!((robot[0]["actor"].as_str(), robot[0]["after"]["has_push_robot"].as_bool()), (Some("admin"), Some(true)));
        let sched = find("schedule.set");
        assert_eq!(sched[0]["before"]["cron"], "0 0 9 * * Mon", "newest first, with what it replaced");
        assert_eq!(sched[0]["after"]["cron"], "0 15 9 * * Mon");

        // Rebinding (a bot admin's) records what the group was bound to before.
        app.say(&CITY, "绑定 凤林镇 北山村").await;
        let (_, log) = app.admin("GET", "/api/v1/audit?limit=1", None).await;
        let last = &log["items"][0];
        assert_eq!(last["action"], "bind");
        assert!(last["before"]["team_id"].is_i64(), "{last}");

        let (s, _) = app.admin_with("GET", "/api/v1/audit", None, None).await;
        assert_eq!(s, 401);
        let (s, _) = app.admin("GET", "/api/v1/audit?limit=0", None).await;
        assert_eq!(s, 422);
    }
}
