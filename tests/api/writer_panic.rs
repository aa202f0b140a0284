//! A bug that panics inside a turn costs that one message, not the service:
//! its sender is asked to resend, the messages handled in the same group
//! commit are stored and answered, the next message goes through and
//! `/readyz` stays 200. The panic is injected through a test-only seam
//! (`store::faults`), keyed by message id.

use std::time::Duration;

use liancun::store::StoreError;
use liancun::store::faults;
use tokio::sync::oneshot;

use crate::scenario;
use crate::support::*;

scenario! {
    async fn a_panicking_turn_costs_one_message_not_the_writer(app) {
        app.setup_team().await;
        let boom = format!("boom-{}", fastrand::u64(..));
        faults::panic_in_turn(&boom);

        // Hold the writer, so that the three messages below are taken as one
        // batch on SQLite (on PostgreSQL each has its own transaction anyway).
        let (release, hold) = oneshot::channel::<()>();
        let (started_tx, started) = oneshot::channel::<()>();
        let blocker = {
            let db = app.db.clone();
            tokio::spawn(async move {
                db.write(move |_tx| {
                    Box::pin(async move {
                        let _ = started_tx.send(());
                        let _ = hold.await;
                        Ok::<_, StoreError>(())
                    })
                })
                .await
            })
        };
        started.await.unwrap();
        let sends = futures_util::future::join3(
            app.send_with_id("mate-1", &VILLAGERS[0], "诉求 3组路灯坏了"),
            app.send_with_id(&boom, &VILLAGERS[1], "诉求 村口水管漏水"),
            app.send_with_id("mate-2", &VILLAGERS[2], "诉求 垃圾没人清"),
        );
        let release_later = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            release.send(()).unwrap();
        };
        let ((mate1, boomed, mate2), ()) = tokio::join!(sends, release_later);
        blocker.await.unwrap().unwrap();

        let text = |v: &serde_json::Value| v["text"]["content"].as_str().unwrap_or_default().to_string();
        assert!(text(&boomed).contains("稍后重发"), "the panicking turn is asked to resend: {boomed}");
        assert!(text(&mate1).contains("收到你的诉求"), "{mate1}");
        assert!(text(&mate2).contains("收到你的诉求"), "{mate2}");
        let c = app.counts().await;
        assert_eq!((c["requests"], c["tasks"]), (2, 2), "the batch-mates are stored, the panicking turn is not");

        // The next message goes through, and the service is ready.
        let r = app.say(&VILLAGERS[3], "诉求 桥栏杆松了").await;
        assert!(r.contains("收到你的诉求"), "{r}");
        assert_eq!(app.counts().await["requests"], 3);
        let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status().as_u16(), 200);

        // A resend of the panicking message fails again, alone, storing nothing.
        let again = app.send_with_id(&boom, &VILLAGERS[1], "诉求 村口水管漏水").await;
        assert!(text(&again).contains("稍后重发"), "{again}");
        assert_eq!(app.counts().await["requests"], 3);
    }
}
