//! `record_logs`: requests, cancellations and the listener checkpoint in one transaction.

use orakel_store::{RequestState, Store};

use crate::{ORACLE, block_hash, checkpoint, insert_job, request};

const JOB: &str = "7c3f0a52-5a07-4d38-9a39-2f6b8f0d4e11";

async fn setup() -> (Store, i64) {
    let store = Store::in_memory().await.unwrap();
    let job = insert_job(&store, JOB).await;
    (store, job.id)
}

#[tokio::test]
async fn stores_pending_requests_and_moves_the_checkpoint() {
    let (store, job) = setup().await;
    assert_eq!(store.checkpoint("l").await.unwrap(), None);

    let batch = [request(job, 1, 5, 0), request(job, 2, 6, 0)];
    let fresh = store
        .record_logs("l", &batch, &[], &checkpoint(8, 0))
        .await
        .unwrap();
    assert_eq!(fresh.len(), 2);
    assert_eq!(fresh[0].0, 0);
    assert_eq!(fresh[1].0, 1);
    assert_eq!(store.checkpoint("l").await.unwrap(), Some(checkpoint(8, 0)));
    // Checkpoints are per listener.
    assert_eq!(store.checkpoint("other").await.unwrap(), None);

    for ((index, id), sent) in fresh.iter().zip(&batch) {
        assert_eq!(&batch[*index].request_id, &sent.request_id);
        let row = store.request(*id).await.unwrap().unwrap();
        assert_eq!(row.job_id, job);
        assert_eq!(row.oracle_address, sent.oracle_address);
        assert_eq!(row.request_id, sent.request_id);
        assert_eq!(row.requester, sent.requester);
        assert_eq!(row.payment, sent.payment);
        assert_eq!(row.cancel_expiration, sent.cancel_expiration);
        assert_eq!(row.block_number, sent.block_number);
        assert_eq!(row.block_hash, sent.block_hash);
        assert_eq!(row.tx_hash, sent.tx_hash);
        assert_eq!(row.log_index, sent.log_index);
        assert_eq!(row.log_topics, sent.log_topics);
        assert_eq!(row.log_data, sent.log_data);
        assert_eq!(row.state, RequestState::Pending);
        assert_eq!(row.reason, None);
        assert!(row.received_at > 0);
    }
    let open: Vec<i64> = store
        .open_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(open, vec![fresh[0].1, fresh[1].1]);
    // list_requests is newest first.
    let listed: Vec<i64> = store
        .list_requests(10)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, vec![fresh[1].1, fresh[0].1]);
    assert_eq!(store.list_requests(1).await.unwrap().len(), 1);

    // An empty batch still moves the checkpoint (blocks without logs).
    let none = store
        .record_logs("l", &[], &[], &checkpoint(20, 0))
        .await
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(
        store.checkpoint("l").await.unwrap(),
        Some(checkpoint(20, 0))
    );
}

#[tokio::test]
async fn a_failing_batch_stores_nothing_and_keeps_the_checkpoint() {
    let (store, job) = setup().await;
    store
        .record_logs("l", &[], &[], &checkpoint(3, 0))
        .await
        .unwrap();
    // The second request names a job that does not exist: the foreign key fails the batch.
    let batch = [request(job, 1, 5, 0), request(job + 1_000, 2, 5, 0)];
    let result = store.record_logs("l", &batch, &[], &checkpoint(9, 0)).await;
    assert!(result.is_err(), "{result:?}");
    assert!(store.list_requests(10).await.unwrap().is_empty());
    assert_eq!(store.checkpoint("l").await.unwrap(), Some(checkpoint(3, 0)));
    // Retrying the good part works.
    let fresh = store
        .record_logs("l", &batch[..1], &[], &checkpoint(9, 0))
        .await
        .unwrap();
    assert_eq!(fresh.len(), 1);
}

#[tokio::test]
async fn recording_the_same_log_again_is_harmless() {
    let (store, job) = setup().await;
    let batch = [request(job, 1, 5, 0)];
    let fresh = store
        .record_logs("l", &batch, &[], &checkpoint(5, 0))
        .await
        .unwrap();
    assert_eq!(fresh.len(), 1);
    let before = store.request(fresh[0].1).await.unwrap().unwrap();

    // A restarted listener re-reads the range: nothing new, no duplicate row.
    let again = store
        .record_logs("l", &batch, &[], &checkpoint(6, 0))
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    let all = store.list_requests(10).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].id, before.id);
    assert_eq!(all[0].received_at, before.received_at);
    assert_eq!(all[0].state, RequestState::Pending);
    assert_eq!(store.checkpoint("l").await.unwrap(), Some(checkpoint(6, 0)));

    // The same request id for another job is another row.
    let job2 = insert_job(&store, "9b0c6ab8-8d4c-4f0b-b7a8-0f3e35f7e1c2").await;
    let other = store
        .record_logs("l", &[request(job2.id, 1, 5, 0)], &[], &checkpoint(6, 0))
        .await
        .unwrap();
    assert_eq!(other.len(), 1);
    assert_ne!(other[0].1, before.id);
}

#[tokio::test]
async fn a_reorg_moves_pending_requests_but_not_started_ones() {
    let (store, job) = setup().await;
    let batch = [
        request(job, 1, 5, 0),
        request(job, 2, 5, 0),
        request(job, 3, 5, 0),
    ];
    let fresh = store
        .record_logs("l", &batch, &[], &checkpoint(5, 0))
        .await
        .unwrap();
    let ids: Vec<i64> = fresh.iter().map(|(_, id)| *id).collect();
    assert!(
        store
            .transition_request(
                ids[1],
                &[RequestState::Pending],
                RequestState::Running,
                None
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .transition_request(
                ids[2],
                &[RequestState::Pending],
                RequestState::Fulfilled,
                None
            )
            .await
            .unwrap()
    );

    // The same logs re-mined one block later on another fork.
    let reorged = [
        request(job, 1, 6, 1),
        request(job, 2, 6, 1),
        request(job, 3, 6, 1),
    ];
    let again = store
        .record_logs("l", &reorged, &[], &checkpoint(6, 1))
        .await
        .unwrap();
    assert!(again.is_empty(), "re-seen requests are not new: {again:?}");

    let pending = store.request(ids[0]).await.unwrap().unwrap();
    assert_eq!(pending.block_number, 6);
    assert_eq!(pending.block_hash, block_hash(6, 1));
    assert_eq!(pending.tx_hash, reorged[0].tx_hash);
    assert_eq!(pending.state, RequestState::Pending);

    for (id, state) in [
        (ids[1], RequestState::Running),
        (ids[2], RequestState::Fulfilled),
    ] {
        let row = store.request(id).await.unwrap().unwrap();
        assert_eq!(row.block_number, 5, "request {id} keeps its block");
        assert_eq!(row.block_hash, block_hash(5, 0));
        assert_eq!(row.state, state);
    }
    assert_eq!(store.list_requests(10).await.unwrap().len(), 3);
    assert_eq!(store.checkpoint("l").await.unwrap(), Some(checkpoint(6, 1)));
}

#[tokio::test]
async fn cancellations_end_open_requests_only() {
    let (store, job) = setup().await;
    let batch = [
        request(job, 1, 5, 0),
        request(job, 2, 5, 0),
        request(job, 3, 5, 0),
        request(job, 4, 5, 0),
    ];
    let ids: Vec<i64> = store
        .record_logs("l", &batch, &[], &checkpoint(5, 0))
        .await
        .unwrap()
        .iter()
        .map(|(_, id)| *id)
        .collect();
    store
        .transition_request(
            ids[1],
            &[RequestState::Pending],
            RequestState::Running,
            None,
        )
        .await
        .unwrap();
    store
        .transition_request(
            ids[2],
            &[RequestState::Pending],
            RequestState::Fulfilled,
            None,
        )
        .await
        .unwrap();

    let cancel = |n: usize| (ORACLE.to_string(), batch[n].request_id.clone());
    let fresh = store
        .record_logs(
            "l",
            &[],
            &[
                cancel(0),
                cancel(1),
                cancel(2),
                // Same request id at another oracle: not ours.
                (
                    "0x00000000000000000000000000000000000000cc".to_string(),
                    batch[3].request_id.clone(),
                ),
            ],
            &checkpoint(7, 0),
        )
        .await
        .unwrap();
    assert!(fresh.is_empty());

    for (id, state) in [
        (ids[0], RequestState::Cancelled),
        (ids[1], RequestState::Cancelled),
        (ids[2], RequestState::Fulfilled),
        (ids[3], RequestState::Pending),
    ] {
        let row = store.request(id).await.unwrap().unwrap();
        assert_eq!(row.state, state, "request {id}");
        if state == RequestState::Cancelled {
            assert_eq!(row.reason.as_deref(), Some("cancelled on chain"));
        }
    }
    assert_eq!(store.checkpoint("l").await.unwrap(), Some(checkpoint(7, 0)));

    // A cancelled request seen again (listener re-reads) stays cancelled.
    let again = store
        .record_logs("l", &batch[..1], &[], &checkpoint(8, 0))
        .await
        .unwrap();
    assert!(again.is_empty());
    assert_eq!(
        store.request_state(ids[0]).await.unwrap(),
        Some(RequestState::Cancelled)
    );
}

#[tokio::test]
async fn a_request_and_its_cancellation_in_one_batch_end_cancelled() {
    let (store, job) = setup().await;
    let r = request(job, 1, 5, 0);
    store
        .record_logs(
            "l",
            std::slice::from_ref(&r),
            &[(ORACLE.to_string(), r.request_id.clone())],
            &checkpoint(9, 0),
        )
        .await
        .unwrap();
    let rows = store.list_requests(10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, RequestState::Cancelled);
    assert!(store.open_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn ignored_requests_are_stored_but_not_fresh() {
    let (store, job) = setup().await;
    let mut ignored = request(job, 1, 5, 0);
    ignored.ignore_reason = Some("payment too low".into());
    let served = request(job, 2, 5, 0);
    let fresh = store
        .record_logs("l", &[ignored.clone(), served], &[], &checkpoint(5, 0))
        .await
        .unwrap();
    assert_eq!(fresh.len(), 1);
    assert_eq!(fresh[0].0, 1, "only the served request is fresh");

    let rows = store.list_requests(10).await.unwrap();
    assert_eq!(rows.len(), 2);
    let row = rows
        .iter()
        .find(|r| r.request_id == ignored.request_id)
        .unwrap();
    assert_eq!(row.state, RequestState::Ignored);
    assert_eq!(row.reason.as_deref(), Some("payment too low"));
    let open: Vec<i64> = store
        .open_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(open, vec![fresh[0].1]);

    // Seen again without the reason (e.g. the job changed): an ignored request stays ignored.
    let again = store
        .record_logs("l", &[request(job, 1, 5, 0)], &[], &checkpoint(6, 0))
        .await
        .unwrap();
    assert!(again.is_empty());
    assert_eq!(
        store.request_state(row.id).await.unwrap(),
        Some(RequestState::Ignored)
    );
}

#[tokio::test]
async fn transitions_only_move_from_the_given_states() {
    let (store, job) = setup().await;
    let fresh = store
        .record_logs("l", &[request(job, 1, 5, 0)], &[], &checkpoint(5, 0))
        .await
        .unwrap();
    let id = fresh[0].1;
    let running = [RequestState::Pending, RequestState::Running];
    assert!(
        store
            .transition_request(id, &running, RequestState::Running, None)
            .await
            .unwrap()
    );
    assert!(
        store
            .transition_request(id, &running, RequestState::Cancelled, Some("by test"))
            .await
            .unwrap()
    );
    // A cancelled request is not resurrected.
    assert!(
        !store
            .transition_request(id, &running, RequestState::Running, None)
            .await
            .unwrap()
    );
    let row = store.request(id).await.unwrap().unwrap();
    assert_eq!(row.state, RequestState::Cancelled);
    assert_eq!(row.reason.as_deref(), Some("by test"));
    assert_eq!(store.request_state(id + 100).await.unwrap(), None);
    assert!(store.request(id + 100).await.unwrap().is_none());
}
