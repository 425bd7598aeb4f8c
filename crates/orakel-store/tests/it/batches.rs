//! Group commits on the hot path: requests stored together with the runs they start,
//! transactions created in batches, finished runs written in batches.

use orakel_store::{FinishedRun, NewAttempt, NewTaskRun, RequestState, RunState, StartRun, Store};
use serde_json::json;

use crate::{checkpoint, file_store, insert_job, new_tx, request, sender};

const JOB: &str = "0d5a4e3c-9f1b-4c7a-8e2d-6b3a1f0c9e77";
const CHAIN: u64 = 31337;

fn signed(key: &str, nonce: u64) -> NewAttempt {
    NewAttempt {
        tx_hash: format!("0x{nonce:064x}"),
        max_fee_per_gas: "100".to_string(),
        max_priority_fee_per_gas: "10".to_string(),
        raw: format!("{key}@{nonce}").into_bytes(),
    }
}

#[tokio::test]
async fn a_batch_gets_consecutive_nonces_and_keeps_existing_keys() {
    let (store, _dir) = file_store().await;
    let a = sender(1);
    store.sync_nonce(&a, CHAIN, 10).await.unwrap();
    let (old, _) = store.create_eth_tx(&new_tx("old", &a)).await.unwrap();
    assert_eq!(old.nonce, 10);

    let batch = [
        new_tx("n1", &a),
        new_tx("old", &a),
        new_tx("n2", &a),
        new_tx("n1", &a), // the same key twice in one batch
        new_tx("n3", &a),
    ];
    let mut signed_nonces = Vec::new();
    let out = store
        .create_eth_txs_signed(&batch, |new, nonce| {
            signed_nonces.push((new.idempotency_key.clone(), nonce));
            Ok(Some(signed(&new.idempotency_key, nonce)))
        })
        .await
        .unwrap();
    assert_eq!(out.len(), batch.len(), "one answer per entry, in order");
    let summary: Vec<(&str, u64, bool, bool)> = out
        .iter()
        .map(|(row, attempt, created)| {
            (
                row.idempotency_key.as_str(),
                row.nonce,
                *created,
                attempt.is_some(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("n1", 11, true, true),
            ("old", 10, false, false),
            ("n2", 12, true, true),
            ("n1", 11, false, false),
            ("n3", 13, true, true),
        ]
    );
    // Each new key signed exactly once, with its own nonce.
    assert_eq!(
        signed_nonces,
        vec![("n1".into(), 11), ("n2".into(), 12), ("n3".into(), 13)]
    );
    // Stored with their first attempts; the next nonce follows the batch.
    for (key, nonce) in [("n1", 11u64), ("n2", 12), ("n3", 13)] {
        let row = store.eth_tx_by_key(key).await.unwrap().unwrap();
        assert_eq!(row.nonce, nonce);
        let attempts = store.attempts(row.id).await.unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].raw, format!("{key}@{nonce}").into_bytes());
    }
    let (next, _) = store.create_eth_tx(&new_tx("after", &a)).await.unwrap();
    assert_eq!(next.nonce, 14);
}

#[tokio::test]
async fn a_failed_signature_stores_nothing_of_the_batch() {
    let store = Store::in_memory().await.unwrap();
    let a = sender(2);
    store.sync_nonce(&a, CHAIN, 0).await.unwrap();
    let batch = [new_tx("x1", &a), new_tx("x2", &a)];
    let err = store
        .create_eth_txs_signed(&batch, |new, _| {
            if new.idempotency_key == "x2" {
                Err("key unavailable".to_string())
            } else {
                Ok(None)
            }
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("key unavailable"), "{err}");
    assert!(store.eth_tx_by_key("x1").await.unwrap().is_none());
    // The nonces were not consumed.
    let (row, _) = store.create_eth_tx(&new_tx("x3", &a)).await.unwrap();
    assert_eq!(row.nonce, 0);
}

#[tokio::test]
async fn mixed_senders_are_refused() {
    let store = Store::in_memory().await.unwrap();
    store.sync_nonce(&sender(1), CHAIN, 0).await.unwrap();
    store.sync_nonce(&sender(2), CHAIN, 0).await.unwrap();
    let err = store
        .create_eth_txs_signed(
            &[new_tx("a", &sender(1)), new_tx("b", &sender(2))],
            |_, _| Ok(None),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, orakel_store::Error::Conflict(_)), "{err:?}");
}

/// A start run with a fresh id.
fn start(store: &Store, inputs: serde_json::Value) -> StartRun {
    StartRun {
        run_id: store.next_run_id(),
        inputs,
    }
}

#[tokio::test]
async fn requests_with_a_start_run_start_in_the_same_write() {
    let (store, _dir) = file_store().await;
    let job = insert_job(&store, JOB).await.id;
    let mut starting = request(job, 1, 7, 0);
    starting.start = Some(start(&store, json!({"logData": "0x01"})));
    let waiting = request(job, 2, 7, 0);
    let mut ignored = request(job, 3, 7, 0);
    ignored.ignore_reason = Some("payment too low".into());
    ignored.start = Some(start(&store, json!({})));
    let batch = [starting.clone(), waiting, ignored];
    let out = store
        .record_logs_starting("l", &batch, &[], Some(&checkpoint(7, 0)))
        .await
        .unwrap();
    assert_eq!(
        out.len(),
        2,
        "the ignored request is not handed out: {out:?}"
    );
    let (i0, row0, run0) = out[0];
    let (i1, row1, run1) = out[1];
    assert_eq!((i0, i1), (0, 1));
    assert!(run1.is_none(), "a request without a start run waits");
    let run0 = run0.expect("a run for the starting request");
    assert_eq!(
        Some(run0),
        starting.start.as_ref().map(|s| s.run_id),
        "the run is stored under the id it was started with"
    );
    assert_eq!(
        store.request(row0).await.unwrap().unwrap().state,
        RequestState::Running
    );
    assert_eq!(
        store.request(row1).await.unwrap().unwrap().state,
        RequestState::Pending
    );
    let run = store.run(run0).await.unwrap().unwrap();
    assert_eq!(run.request_id, Some(row0));
    assert_eq!(run.state, RunState::Running);
    assert_eq!(run.inputs, json!({"logData": "0x01"}));
    assert_eq!(store.run_for_request(row0).await.unwrap(), Some(run0));
    assert_eq!(store.checkpoint("l").await.unwrap(), Some(checkpoint(7, 0)));

    // Seeing the same logs again starts nothing twice.
    let again = store
        .record_logs_starting("l", &batch, &[], Some(&checkpoint(8, 0)))
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(store.run_for_request(row0).await.unwrap(), Some(run0));
}

#[tokio::test]
async fn run_ids_are_handed_out_once_whichever_write_stores_them_and_after_a_reopen() {
    let (store, dir) = file_store().await;
    let job = insert_job(&store, JOB).await.id;
    // Taken by a run that starts before its request's write, which then comes last.
    let early = store.next_run_id();
    let plain = store.start_run(job, None, &json!({})).await.unwrap();
    let stored = store
        .record_logs("l", &[request(job, 1, 5, 0)], &[], &checkpoint(5, 0))
        .await
        .unwrap();
    let queued = store
        .begin_request_run(job, stored[0].1, &json!({}))
        .await
        .unwrap()
        .expect("the pending request starts");
    let mut late = request(job, 2, 5, 0);
    late.start = Some(StartRun {
        run_id: early,
        inputs: json!({}),
    });
    let out = store
        .record_logs_starting("l", &[late], &[], None)
        .await
        .unwrap();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].2, Some(early));
    let mut ids = vec![early, plain, queued];
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3, "every write got an id of its own: {ids:?}");
    for id in &ids {
        assert!(store.run(*id).await.unwrap().is_some(), "run {id} stored");
    }
    // A reopened database hands out ids past every one written before.
    store.close().await;
    drop(store);
    let reopened = Store::open(&crate::file_url(&dir.path().join("node.sqlite")))
        .await
        .unwrap();
    let next = reopened.next_run_id();
    assert!(next > *ids.last().unwrap(), "{next} after {ids:?}");
    let written = reopened.start_run(job, None, &json!({})).await.unwrap();
    assert!(written > next, "{written} after {next}");
}

#[tokio::test]
async fn early_logs_start_runs_without_moving_the_checkpoint() {
    let (store, _dir) = file_store().await;
    let job = insert_job(&store, JOB).await.id;
    store
        .record_logs("l", &[], &[], &checkpoint(4, 0))
        .await
        .unwrap();
    let mut early = request(job, 1, 6, 0);
    early.start = Some(start(&store, json!({"logData": "0x01"})));
    let out = store
        .record_logs_starting("l", std::slice::from_ref(&early), &[], None)
        .await
        .unwrap();
    let [(0, row, Some(run))] = out.as_slice() else {
        panic!("one started request expected: {out:?}");
    };
    assert_eq!(
        store.checkpoint("l").await.unwrap(),
        Some(checkpoint(4, 0)),
        "a log delivered ahead of the poll must not move the checkpoint"
    );
    // The poll then delivers the same log with its checkpoint: stored once, started once.
    let polled = store
        .record_logs_starting("l", &[early], &[], Some(&checkpoint(6, 0)))
        .await
        .unwrap();
    assert!(polled.is_empty(), "{polled:?}");
    assert_eq!(store.run_for_request(*row).await.unwrap(), Some(*run));
    assert_eq!(store.checkpoint("l").await.unwrap(), Some(checkpoint(6, 0)));
}

fn task(dot_id: &str, output: serde_json::Value) -> NewTaskRun {
    NewTaskRun {
        dot_id: dot_id.to_string(),
        task_type: "median".to_string(),
        output: Some(output),
        error: None,
        started_at: 1_700_000_000_000_000,
        elapsed_us: 12,
    }
}

#[tokio::test]
async fn finished_runs_are_written_together_and_respect_cancellations() {
    let (store, _dir) = file_store().await;
    let job = insert_job(&store, JOB).await.id;
    let batch: Vec<_> = (1..=3)
        .map(|i| {
            let mut r = request(job, i, 5, 0);
            r.start = Some(start(&store, json!({ "n": i })));
            r
        })
        .collect();
    let out = store
        .record_logs_starting("l", &batch, &[], Some(&checkpoint(5, 0)))
        .await
        .unwrap();
    let ids: Vec<(i64, i64)> = out.iter().map(|(_, r, run)| (*r, run.unwrap())).collect();
    // The third request is cancelled on chain while its run works.
    let cancelled = &batch[2];
    store
        .record_logs(
            "l",
            &[],
            &[(
                cancelled.oracle_address.clone(),
                cancelled.request_id.clone(),
            )],
            &checkpoint(6, 0),
        )
        .await
        .unwrap();
    let finished: Vec<FinishedRun> = ids
        .iter()
        .enumerate()
        .map(|(i, (req, run))| FinishedRun {
            run_id: *run,
            state: if i == 1 {
                RunState::Errored
            } else {
                RunState::Completed
            },
            outputs: json!([i]),
            errors: if i == 1 {
                vec!["source down".into()]
            } else {
                vec![]
            },
            tasks: vec![task("a", json!(i)), task("b", json!(i * 10))],
            request: Some((
                *req,
                if i == 1 {
                    RequestState::Errored
                } else {
                    RequestState::Fulfilled
                },
                (i == 1).then(|| "source down".to_string()),
            )),
        })
        .collect();
    store.finish_runs(&finished).await.unwrap();
    // Writing the same ends again replaces the task rows instead of doubling them.
    store.finish_runs(&finished).await.unwrap();

    let states: Vec<RequestState> = {
        let mut v = Vec::new();
        for (req, _) in &ids {
            v.push(store.request(*req).await.unwrap().unwrap().state);
        }
        v
    };
    assert_eq!(
        states,
        vec![
            RequestState::Fulfilled,
            RequestState::Errored,
            RequestState::Cancelled
        ]
    );
    for (i, (_, run)) in ids.iter().enumerate() {
        let row = store.run(*run).await.unwrap().unwrap();
        assert_eq!(row.outputs, Some(json!([i])));
        assert_eq!(row.tasks.len(), 2, "run {run}: {:?}", row.tasks);
    }
    assert_eq!(
        store.run(ids[1].1).await.unwrap().unwrap().errors,
        vec!["source down".to_string()]
    );
}
