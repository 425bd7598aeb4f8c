//! A file database keeps everything across a restart, and reopening does not migrate twice.

use orakel_store::{EthTxState, NewAttempt, NewTaskRun, RequestState, RunState, Store};
use serde_json::json;
use sqlx::Row;

use crate::{checkpoint, file_url, insert_job, new_tx, request, sender};

async fn migrations_applied(url: &str) -> Vec<(i64, bool)> {
    let pool = sqlx::SqlitePool::connect(url).await.unwrap();
    let rows = sqlx::query("SELECT version, success FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.iter()
        .map(|r| (r.get::<i64, _>("version"), r.get::<bool, _>("success")))
        .collect()
}

fn migration_files() -> usize {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sql")
        })
        .count()
}

#[tokio::test]
async fn everything_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = file_url(&dir.path().join("node.sqlite"));
    let from = sender(1);

    let (job_id, request_id, run_id, tx_id) = {
        let store = Store::open(&url).await.unwrap();
        let job = insert_job(&store, "5d1b8c3a-2f4e-4a6b-9c8d-7e6f5a4b3c2d").await;
        let fresh = store
            .record_logs(
                "oracle-requests",
                &[request(job.id, 1, 12, 0), request(job.id, 2, 12, 0)],
                &[],
                &checkpoint(15, 0),
            )
            .await
            .unwrap();
        let run = store
            .start_run(job.id, Some(fresh[0].1), &json!({"a": 1}))
            .await
            .unwrap();
        store
            .finish_run(
                run,
                RunState::Completed,
                &json!(["ok"]),
                &[],
                &[NewTaskRun {
                    dot_id: "fetch".into(),
                    task_type: "http".into(),
                    output: Some(json!({"p": 1})),
                    error: None,
                    started_at: 1,
                    elapsed_us: 2,
                }],
                Some((fresh[0].1, RequestState::Fulfilled, None)),
            )
            .await
            .unwrap();
        store.sync_nonce(&from, 31337, 4).await.unwrap();
        let (tx, _) = store
            .create_eth_tx(&new_tx("fulfil-1", &from))
            .await
            .unwrap();
        store
            .insert_attempt(
                tx.id,
                &NewAttempt {
                    tx_hash: format!("0x{:064x}", 77),
                    max_fee_per_gas: "2000".into(),
                    max_priority_fee_per_gas: "100".into(),
                    raw: vec![2, 7, 7],
                },
            )
            .await
            .unwrap();
        // Dropped without close(): whatever returned must already be committed.
        (job.id, fresh[1].1, run, tx.id)
    };

    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.list_jobs().await.unwrap().len(), 1);
    assert!(store.job(job_id).await.unwrap().is_some());
    assert_eq!(
        store.checkpoint("oracle-requests").await.unwrap(),
        Some(checkpoint(15, 0))
    );
    let open = store.open_requests().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, request_id);
    let run = store.run(run_id).await.unwrap().unwrap();
    assert_eq!(run.state, RunState::Completed);
    assert_eq!(run.tasks.len(), 1);
    let tx = store.eth_tx_by_key("fulfil-1").await.unwrap().unwrap();
    assert_eq!(tx.id, tx_id);
    assert_eq!(tx.nonce, 4);
    assert_eq!(tx.state, EthTxState::Unbroadcast);
    let attempts = store.attempts(tx_id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].raw, vec![2, 7, 7]);
    // The nonce counter survived too: the next transaction does not reuse nonce 4.
    let (next, _) = store
        .create_eth_tx(&new_tx("fulfil-2", &from))
        .await
        .unwrap();
    assert_eq!(next.nonce, 5);
    store.close().await;

    let applied = migrations_applied(&url).await;
    assert_eq!(applied.len(), migration_files());
    assert!(applied.iter().all(|(_, ok)| *ok), "{applied:?}");
}

#[tokio::test]
async fn reopening_does_not_migrate_again() {
    let dir = tempfile::tempdir().unwrap();
    let url = file_url(&dir.path().join("node.sqlite"));
    Store::open(&url).await.unwrap().close().await;
    let first = migrations_applied(&url).await;
    assert!(!first.is_empty());
    for _ in 0..3 {
        let store = Store::open(&url).await.unwrap();
        store.ping().await.unwrap();
        store.close().await;
    }
    assert_eq!(migrations_applied(&url).await, first);
}

#[tokio::test]
async fn close_leaves_no_connection_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.sqlite");
    let store = Store::open(&file_url(&path)).await.unwrap();
    insert_job(&store, "0b7e3c1a-9d2f-4e5b-8a6c-1f2e3d4c5b6a").await;
    let wal = dir.path().join("node.sqlite-wal");
    assert!(wal.exists(), "an open store writes through the WAL");
    store.close().await;
    // SQLite removes the WAL when its last connection closes: any connection left open (the
    // checkpointer's, a reader, the writer) would keep it.
    assert!(!wal.exists(), "a connection outlived Store::close");
    // Nothing was lost on the way: the job is in the database file itself.
    let store = Store::open(&file_url(&path)).await.unwrap();
    assert_eq!(store.list_jobs().await.unwrap().len(), 1);
    store.close().await;
}

#[tokio::test]
async fn only_sqlite_urls_are_accepted() {
    let err = Store::open("postgres://bob:secret@db/orakel")
        .await
        .unwrap_err();
    assert!(matches!(err, orakel_store::Error::UnsupportedUrl(_)));
    let text = err.to_string();
    assert!(!text.contains("secret"), "password leaked: {text}");
    assert!(text.contains("bob:***@db"), "{text}");
}
