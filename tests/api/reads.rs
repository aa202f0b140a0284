//! What a read transaction (`Db::read`) sees: one moment, on both backends.
//! A view read in several statements — a week's totals and then its list —
//! must not mix the state before a write with the state after it. SQLite's
//! read transaction is a snapshot by nature; PostgreSQL's default isolation
//! takes a new snapshot per statement, so the store asks for more there.

use liancun::store::{self, StoreError};

use crate::scenario;
use crate::support::*;

/// Households in the village, counted inside `tx`.
async fn households(tx: &mut store::Tx, village: i64) -> Result<i64, StoreError> {
    store::households::count(tx, village).await
}

scenario! {
    async fn a_read_sees_one_moment_while_a_write_commits_between_its_statements(app) {
        let (_, village) = app.ensure_village("白沙镇", "南坞村").await;
        let now = wednesday_10am().timestamp_millis();
        let add = |name: &'static str| {
            let db = app.db.clone();
            async move {
                db.write(move |tx| {
                    Box::pin(async move {
                        store::households::upsert(tx, village, name, "", None, now).await
                    })
                })
                .await
                .expect("the household is added")
            }
        };
        add("王大伯").await;

        let (counted_tx, counted_rx) = tokio::sync::oneshot::channel::<()>();
        let (again_tx, again_rx) = tokio::sync::oneshot::channel::<()>();
        let db = app.db.clone();
        let reader = tokio::spawn(async move {
            db.read(move |tx| {
                Box::pin(async move {
                    let first = households(tx, village).await?;
                    let _ = counted_tx.send(());
                    let _ = again_rx.await;
                    let second = households(tx, village).await?;
                    Ok::<_, StoreError>((first, second))
                })
            })
            .await
        });
        counted_rx.await.expect("the read counted once");
        // A write commits between the read's two statements.
        add("李奶奶").await;
        again_tx.send(()).expect("the read waits");
        let (first, second) = reader.await.unwrap().unwrap();
        assert_eq!((first, second), (1, 1), "the read saw the write land halfway");

        let after = app
            .db
            .read(move |tx| Box::pin(async move { households(tx, village).await }))
            .await
            .unwrap();
        assert_eq!(after, 2, "a read begun after the write sees it");
    }
}

scenario! {
    async fn a_write_slipped_into_a_read_fails_and_leaves_nothing(app) {
        let (_, village) = app.ensure_village("白沙镇", "南坞村").await;
        let now = wednesday_10am().timestamp_millis();
        let wrote = app
            .db
            .read(move |tx| {
                Box::pin(async move {
                    store::households::upsert(tx, village, "王大伯", "", None, now).await
                })
            })
            .await;
        assert!(wrote.is_err(), "a read wrote a row: {wrote:?}");
        let count = app
            .db
            .read(move |tx| Box::pin(async move { households(tx, village).await }))
            .await
            .unwrap();
        assert_eq!(count, 0);
    }
}
