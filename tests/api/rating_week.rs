//! Which week a rating counts for, and the airing that shows it: ratings of a
//! week are accepted until the next week's airing, which shows them as last
//! week's final score (≥ 3 raters) with its trend and invites the new week's.

use crate::scenario;
use crate::support::*;

fn last_airing(app: &TestApp) -> String {
    app.fake
        .received()
        .into_iter()
        .rfind(|r| r.text.contains("本周晾晒"))
        .expect("an airing")
        .text
}

scenario! {
    async fn a_weeks_ratings_stay_open_until_the_next_airing(app) {
        app.setup_team().await; // Wednesday 2026-12-02 (W49), no airing yet
        let r = app.say(&VILLAGERS[0], "满意").await;
        assert_eq!(r, "⭐ 感谢评价：5 分。本周已有 1 位村民评价，满 3 位后公布平均分。");
        app.say(&VILLAGERS[1], "基本满意").await;
        app.say(&VILLAGERS[2], "评价 4 路灯修得快").await;

        // Friday's airing of W49 invites this week's ratings, @ the bot.
        app.set_local(2026, 12, 4, 20, 1);
        app.tick().await;
        app.deliver().await;
        let a = last_airing(&app);
        assert!(a.contains("本周晾晒（11月30日—12月6日）") && !a.contains("W49"), "{a}");
        assert!(a.contains("- 上周村民评价：暂无"), "{a}");
        assert!(a.contains("例：@联村助手 评价 5 路灯修得快"), "{a}");

        // Monday to Friday before W50's airing, a rating still counts for W49.
        app.set_local(2026, 12, 7, 9, 0);
        let r = app.say(&VILLAGERS[3], "评价 5 很及时").await;
        assert_eq!(r, "⭐ 感谢评价：5 分，记入上周（11月30日—12月6日）。上周 4 位村民评价，平均 4.3 分。");
        app.set_local(2026, 12, 11, 19, 0);
        let r = app.say(&VILLAGERS[1], "满意").await;
        assert!(r.starts_with("⭐ 已更新你上周的评价：5 分，记入上周"), "{r}");

        // W50's airing shows W49's final score: (5+5+4+5)/4 = 4.75 → 4.8.
        app.set_local(2026, 12, 11, 20, 1);
        app.tick().await;
        app.deliver().await;
        let a = last_airing(&app);
        assert!(a.contains("本周晾晒（12月7日—13日）"), "{a}");
        assert!(a.contains("- 上周村民评价：4.8 分（4 人）\n"), "no trend without W48's score: {a}");

        // From W50's airing on, ratings count for W50.
        app.set_local(2026, 12, 11, 20, 30);
        let r = app.say(&VILLAGERS[0], "评价 3").await;
        assert_eq!(r, "⭐ 感谢评价：3 分。本周已有 1 位村民评价，满 3 位后公布平均分。");
        for v in &VILLAGERS[1..3] {
            app.say(v, "评价 4").await;
        }
        // W51's airing: W50's 3.7 against W49's 4.8.
        app.set_local(2026, 12, 18, 20, 1);
        app.tick().await;
        app.deliver().await;
        let a = last_airing(&app);
        assert!(a.contains("- 上周村民评价：3.7 分（3 人，比前一周 ↓1.1）"), "{a}");
        let (s, v) = app.admin("GET", "/api/v1/ratings?week_from=2026-W49&week_to=2026-W50", None).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["total"], 7, "ISO weeks stay in the API: {v}");
    }
}
