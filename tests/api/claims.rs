//! Workers claiming due pushes at the same moment (the replicas of a city
//! or province on one PostgreSQL database; on SQLite the writer takes them
//! in turn): every due row is taken by at most one of them, every robot
//! sends at most once per spacing, and what a robot cannot send yet moves to
//! when it can.

use std::collections::HashSet;

use liancun::store::outbox::{self, Claimed, NewPush};

use crate::scenario;

use crate::support::*;

/// Robots, and pushes waiting for each.
const ROBOTS: usize = 10;
const EACH: usize = 3;
const SPACING_MS: i64 = 3_000;

async fn claim(app: &TestApp, worker: String, now: i64, limit: i64) -> Vec<Claimed> {
    let backend = app.db.backend();
    app.db
        .write(move |tx| {
            Box::pin(async move {
                outbox::claim_due(tx, backend, now, &worker, 60_000, SPACING_MS, limit).await
            })
        })
        .await
        .expect("claim")
}

scenario! {
    async fn racing_claims_take_each_row_once_and_each_robot_once_per_spacing(app) {
        let now = app.clock.now_ms();
        app.db
            .write(move |tx| {
                Box::pin(async move {
                    // Interleaved: each robot's pushes are spread over the queue.
                    for i in 0..EACH {
                        for r in 0..ROBOTS {
                            let p = NewPush {
                                dedupe_key: format!("race-{r}-{i}"),
                                group_id: None,
                                person_id: None,
                                bot: BOT.into(),
                                robot_key: format!("robot-{r}"),
                                message: "{}".into(),
                                due_at: now,
                            };
                            assert!(outbox::enqueue(tx, &p, now).await?);
                        }
                    }
                    Ok::<_, liancun::store::StoreError>(())
                })
            })
            .await
            .unwrap();

        // Six workers at once, room for every row between them.
        let claims = (0..6).map(|w| claim(&app, format!("worker-{w}"), now, 8));
        let all: Vec<Claimed> = futures_util::future::join_all(claims)
            .await
            .into_iter()
            .flatten()
            .collect();
        let ids: HashSet<i64> = all.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), all.len(), "a row was claimed twice: {all:?}");
        let robots: HashSet<&str> = all.iter().map(|c| c.robot_key.as_str()).collect();
        assert_eq!(robots.len(), all.len(), "a robot got two sends at once: {all:?}");
        assert_eq!(all.len(), ROBOTS, "each robot sends one push now");

        // The rest waits for the robots' budgets, not for a spinning worker.
        assert!(claim(&app, "late".into(), now, 100).await.is_empty());
        assert!(claim(&app, "early".into(), now + SPACING_MS - 1, 100).await.is_empty());
        let mut seen = ids;
        for round in 1..EACH as i64 {
            let at = now + round * SPACING_MS;
            let next = claim(&app, format!("round-{round}"), at, 100).await;
            let robots: HashSet<&str> = next.iter().map(|c| c.robot_key.as_str()).collect();
            assert_eq!((next.len(), robots.len()), (ROBOTS, ROBOTS), "round {round}: {next:?}");
            for c in &next {
                assert!(seen.insert(c.id), "round {round}: a leased row came back: {c:?}");
            }
        }
        assert_eq!(seen.len(), ROBOTS * EACH, "every push was claimed once");
        assert!(claim(&app, "after".into(), now + 10 * SPACING_MS, 100).await.is_empty());
    }
}
