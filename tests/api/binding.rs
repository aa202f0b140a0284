//! 绑定, 设团长/设团员, and what an unbound group gets.

use crate::scenario;
use crate::support::*;

scenario! {
    async fn an_unbound_group_is_told_how_to_bind(app) {
        for text in ["清单", "排清单\n1. 河道清理", "服务 帮忙", "评价 5"] {
            let r = app.say(&ZHANGSAN, text).await;
            assert!(r.contains("还没有绑定服务团") && r.contains("绑定 凤林镇 南坞村"), "{text}: {r}");
        }
        // Help works before binding, and nothing domain-related was stored.
        assert!(app.say(&ZHANGSAN, "帮助").await.contains("排清单"));
        let c = app.counts().await;
        assert_eq!((c["townships"], c["tasks"], c["services"], c["ratings"]), (0, 0, 0, 0));
    }
}

scenario! {
    async fn only_group_admins_bind(app) {
        // Since issue 14 a group admin binds only into a township and village
        // that exist, and only a group not bound yet; a bot admin rebinds.
        let r = app.say(&ZHANGSAN, "绑定 凤林镇 南坞村").await;
        assert!(r.contains("只有群管理员可以使用"), "{r}");
        assert_eq!(app.counts().await["townships"], 0);
        let r = app.say(&ADMIN, "绑定 凤林镇 南坞村").await;
        assert!(r.contains("「凤林镇」还没有登记") && r.contains("机器人管理员"), "{r}");
        assert_eq!(app.counts().await["townships"], 0, "a group admin creates no township");
        app.ensure_village("凤林镇", "南坞村").await;
        let r = app.say(&ADMIN, "绑定 凤林镇 南坞村").await;
        assert!(r.contains("已绑定：凤林镇 南坞村 南坞村服务团"), "default team name: {r}");
        let r = app.say(&ADMIN, "绑定 凤林镇 南坞村 南坞服务团").await;
        assert!(r.contains("本群已绑定 凤林镇 南坞村 南坞村服务团") && r.contains("机器人管理员"), "{r}");
        let r = app.say(&CITY, "绑定 凤林镇 南坞村 南坞服务团").await;
        assert!(r.contains("已改绑：凤林镇 南坞村 南坞服务团"), "{r}");
        let c = app.counts().await;
        assert_eq!((c["townships"], c["villages"], c["teams"]), (1, 1, 2));
    }
}

scenario! {
    async fn bot_admins_may_do_everything_even_on_wecom_style_groups(app) {
        // "city-admin" is listed in the bot's admins but is no DingTalk group admin.
        let admin = CITY;
        let r = app.say(&admin, "绑定 凤林镇 南坞村 南坞服务团").await;
        assert!(r.contains("已绑定"), "a bot admin creates the township: {r}");
        assert!(app.say(&admin, "设团长 @张三").await.contains("已设团长"));
        assert!(app.say(&admin, "排清单\n1. 河道清理 @张三").await.contains("已发布本周清单"));
        assert!(app.say(&admin, "取消 #1 重复事项").await.contains("#1 已取消"));
    }
}

scenario! {
    async fn roles_by_mention_and_one_leader_per_team(app) {
        app.ensure_village("凤林镇", "南坞村").await;
        app.say(&ADMIN, "绑定 凤林镇 南坞村 南坞服务团").await;
        let r = app.say(&LISI, "设团员 @王五").await;
        assert!(r.contains("只有群管理员或团长可以使用"), "a villager may not set roles: {r}");
        let r = app.say(&ADMIN, "设团长 @张三").await;
        assert!(r.contains("已设团长：@张三"), "{r}");
        let r = app.say(&ZHANGSAN, "设团员 @李四 @王五").await;
        assert!(r.contains("已设团员：@李四 @王五"), "{r}");
        let r = app.say(&ZHANGSAN, "设团长 @李四 @王五").await;
        assert!(r.contains("只设一位团长"), "{r}");
        // A new leader demotes the old one.
        let r = app.say(&ADMIN, "设团长 @李四").await;
        assert!(r.contains("原团长 @张三 改为团员"), "{r}");
        let r = app.say(&ZHANGSAN, "取消 #1 测试").await;
        assert!(r.contains("只有团长可以使用"), "the old leader is a member now: {r}");
    }
}

scenario! {
    async fn names_resolve_through_the_group_or_are_refused(app) {
        app.setup_team().await;
        // 赵六 has never spoken and is not @-ed through the member list: unknown.
        let mut body = app.body("m-unknown", &ZHANGSAN, "设团员 @赵小六");
        body["atUsers"] = serde_json::json!([{"dingtalkId": "$:LWCP_v1:$bot"}]);
        let (status, text) = app.post_raw(BOT, &app.signed(), body.to_string().into_bytes()).await;
        assert_eq!(status, 200);
        assert!(text.contains("找不到「@赵小六」"), "{text}");
        // Once 赵六 speaks, the name resolves without atUsers.
        app.say(&ZHAOLIU, "帮助").await;
        let mut body = app.body("m-known", &ZHANGSAN, "设团员 @赵六");
        body["atUsers"] = serde_json::json!([{"dingtalkId": "$:LWCP_v1:$bot"}]);
        let (_, text) = app.post_raw(BOT, &app.signed(), body.to_string().into_bytes()).await;
        assert!(text.contains("已设团员"), "{text}");
    }
}
