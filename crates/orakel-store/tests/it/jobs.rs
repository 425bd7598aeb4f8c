//! Jobs: insert, list, look up, delete (soft), re-insert after delete.

use orakel_store::{Error, RequestState, Store};

use crate::{checkpoint, insert_job, new_job, request};

const A: &str = "0eec7e1d-d0d2-476c-a1a8-72dfb6633f46";
const B: &str = "1d7a5f2e-6c0b-4a43-9a57-8c1f5e2b9d10";

#[tokio::test]
async fn insert_list_get_delete() {
    let store = Store::in_memory().await.unwrap();
    assert!(store.list_jobs().await.unwrap().is_empty());

    let a = insert_job(&store, A).await;
    let b = insert_job(&store, B).await;
    assert_ne!(a.id, b.id);
    assert_eq!(a.external_job_id, A);
    assert_eq!(a.name.as_deref(), Some(format!("job {A}").as_str()));
    assert_eq!(a.job_type, "directrequest");
    assert_eq!(a.spec_toml, new_job(A).spec_toml);
    assert!(a.created_at > 0);

    // What insert returned is what is stored.
    assert_eq!(store.list_jobs().await.unwrap(), vec![a.clone(), b.clone()]);
    assert_eq!(store.job(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(store.job_by_external_id(B).await.unwrap(), Some(b.clone()));
    assert_eq!(store.job(a.id + b.id + 100).await.unwrap(), None);
    assert_eq!(store.job_by_external_id("nope").await.unwrap(), None);

    assert!(store.delete_job(a.id).await.unwrap());
    assert_eq!(store.list_jobs().await.unwrap(), vec![b.clone()]);
    assert_eq!(store.job(a.id).await.unwrap(), None);
    assert_eq!(store.job_by_external_id(A).await.unwrap(), None);
    // A second delete finds no live job.
    assert!(!store.delete_job(a.id).await.unwrap());
    assert!(!store.delete_job(9_999).await.unwrap());
}

#[tokio::test]
async fn duplicate_live_external_id_is_a_conflict() {
    let store = Store::in_memory().await.unwrap();
    let first = insert_job(&store, A).await;
    let mut again = new_job(A);
    again.name = Some("another name".into());
    let err = store.insert_job(&again).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert!(err.to_string().contains(A), "{err}");
    // Nothing was stored by the failed insert.
    assert_eq!(store.list_jobs().await.unwrap(), vec![first]);
}

#[tokio::test]
async fn a_deleted_jobs_external_id_can_be_reused() {
    let store = Store::in_memory().await.unwrap();
    let old = insert_job(&store, A).await;
    assert!(store.delete_job(old.id).await.unwrap());
    let new = store.insert_job(&new_job(A)).await.unwrap();
    assert_ne!(new.id, old.id, "a new row, not the deleted one revived");
    assert_eq!(
        store.job_by_external_id(A).await.unwrap(),
        Some(new.clone())
    );
    assert_eq!(store.list_jobs().await.unwrap(), vec![new.clone()]);
    // And it is live again: a third insert conflicts.
    assert!(matches!(
        store.insert_job(&new_job(A)).await,
        Err(Error::Conflict(_))
    ));
}

#[tokio::test]
async fn delete_cancels_the_jobs_pending_requests_only() {
    let store = Store::in_memory().await.unwrap();
    let doomed = insert_job(&store, A).await;
    let other = insert_job(&store, B).await;
    let fresh = store
        .record_logs(
            "l",
            &[
                request(doomed.id, 1, 10, 0),
                request(doomed.id, 2, 10, 0),
                request(other.id, 3, 10, 0),
            ],
            &[],
            &checkpoint(10, 0),
        )
        .await
        .unwrap();
    let ids: Vec<i64> = fresh.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids.len(), 3);
    // Request 2 was already answered.
    assert!(
        store
            .transition_request(
                ids[1],
                &[RequestState::Pending],
                RequestState::Fulfilled,
                None
            )
            .await
            .unwrap()
    );

    assert!(store.delete_job(doomed.id).await.unwrap());

    let r1 = store.request(ids[0]).await.unwrap().unwrap();
    assert_eq!(r1.state, RequestState::Cancelled);
    assert_eq!(r1.reason.as_deref(), Some("job deleted"));
    assert_eq!(
        store.request_state(ids[1]).await.unwrap(),
        Some(RequestState::Fulfilled)
    );
    assert_eq!(
        store.request_state(ids[2]).await.unwrap(),
        Some(RequestState::Pending),
        "another job's request is untouched"
    );
    let open: Vec<i64> = store
        .open_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(open, vec![ids[2]]);
}
