//! Statutory holidays quiet the nagging, not only the weekday jobs: overdue
//! alerts and their escalation wait for the next workday, default deadlines
//! leave the holiday, a deadline typed on one is kept with a note, and the
//! clearance of a week wholly off is skipped.

use crate::scenario;
use crate::support::*;

fn enqueued(f: &[liancun::jobs::scheduler::Firing], job: &str) -> usize {
    f.iter().filter(|x| x.job == job).map(|x| x.enqueued).sum()
}

scenario! {
    async fn national_day_waits_for_the_next_workday(app) {
        // Wednesday 2026-09-30; 国庆节 runs 10/1–10/7, Thursday 10/8 is a workday.
        app.set_local(2026, 9, 30, 10, 0);
        app.setup_team().await;
        let (s, _) = app.admin("POST", "/api/v1/townships/1/admins",
            Some(serde_json::json!({"platform": "dingtalk", "user_id": "zuzhiban01"}))).await;
        assert_eq!(s, 200);
        let r = app.say(&ZHANGSAN, "排清单\n1. 河道清理 @李四 10月1日 红\n2. 路灯维修 @王五 橙\n3. 政策宣传 @李四 明天").await;
        // Typed on a holiday: accepted, with a note. By default: off the holiday.
        assert!(r.contains("#1 【红】河道清理 @李四 · 10月1日(周四)（国庆节假期）截止"), "{r}");
        assert!(r.contains("#2 【橙】路灯维修 @王五 · 10月8日(周四)截止"), "3 days → Saturday 10/3, a holiday: {r}");
        assert!(r.contains("#3 【绿】政策宣传 @李四 · 10月1日(周四)（国庆节假期）截止"), "{r}");
        let r = app.say(&LISI, "延期 #3 10月5日 假期后统一宣传").await;
        assert!(r.contains("→ 10月5日(周一)（国庆节假期）"), "{r}");
        app.tick().await;

        // #1 is overdue from 10/2 on, #3 from 10/6: the holiday stays quiet.
        for (d, h) in [(2, 10), (3, 16), (6, 9), (7, 20)] {
            app.set_local(2026, 10, d, h, 1);
            let f = app.tick().await;
            assert_eq!(enqueued(&f, "overdue_scan"), 0, "10/{d}: {f:?}");
        }
        assert_eq!(app.deliver().await.total(), 0);

        // The next workday's 07:30 scan alerts the group and escalates #1.
        app.set_local(2026, 10, 8, 7, 31);
        let f = app.tick().await;
        assert_eq!(enqueued(&f, "overdue_scan"), 2, "the group and the admin: {f:?}");
        app.deliver().await;
        let got = app.fake.received();
        let group = got.iter().find(|r| r.route == "openapi").expect("group alert");
        assert!(group.text.contains("#1 【结转·9月28日—10月4日】【红】河道清理") && group.text.contains("#3 【绿】政策宣传"), "{}", group.text);
        assert!(!group.text.contains("#2"), "#2 is due tonight: {}", group.text);
        let admin = got.iter().find(|r| r.route == "direct").expect("escalated");
        assert!(admin.text.contains("#1") && !admin.text.contains("#3"), "{}", admin.text);
    }
}

scenario! {
    async fn a_request_on_a_holiday_is_due_after_it(app) {
        // Thursday 2026-02-12: 黄 5 days would end Sunday 2/15, in 春节 (2/15–2/23).
        app.set_local(2026, 2, 12, 10, 0);
        app.setup_team().await;
        let r = app.say(&VILLAGERS[0], "诉求 村口路灯不亮").await;
        assert!(r.contains("预计2月24日(周二)前办结"), "{r}");
    }
}

scenario! {
    async fn the_clearance_of_a_week_wholly_off_is_skipped(app) {
        // 2/16–2/22 is all 春节: nothing to clear that Sunday.
        app.set_local(2026, 2, 13, 10, 0);
        app.setup_team().await;
        app.say(&ZHANGSAN, "加清单 节前安全检查 @李四 周五").await;
        app.set_local(2026, 2, 15, 20, 1);
        let f = app.tick().await;
        let c: Vec<_> = f.iter().filter(|x| x.job == "clearance").collect();
        assert_eq!((c.len(), c[0].status.as_str()), (1, "done"), "2/9–2/15 had workdays: {f:?}");
        app.set_local(2026, 2, 22, 20, 1);
        let f = app.tick().await;
        let c: Vec<_> = f.iter().filter(|x| x.job == "clearance").collect();
        assert_eq!((c.len(), c[0].status.as_str(), c[0].enqueued), (1, "holiday", 0), "{f:?}");
    }
}
