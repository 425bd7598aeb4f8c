//! Job runs: idempotent start per request, finish with task results and request state.

use orakel_store::{NewTaskRun, RequestState, RunState, Store};
use serde_json::json;

use crate::{checkpoint, file_store, insert_job, request};

const JOB: &str = "3a1f2b9e-44a6-4b8e-8d2e-5f0c9a7b6d21";

/// A store with one job and `n` pending requests; returns the job id and request row ids.
async fn with_requests(store: &Store, n: u64) -> (i64, Vec<i64>) {
    let job = insert_job(store, JOB).await;
    let batch: Vec<_> = (1..=n).map(|i| request(job.id, i, 5, 0)).collect();
    let ids = store
        .record_logs("l", &batch, &[], &checkpoint(5, 0))
        .await
        .unwrap()
        .iter()
        .map(|(_, id)| *id)
        .collect();
    (job.id, ids)
}

fn task(dot_id: &str, output: Option<serde_json::Value>, error: Option<&str>) -> NewTaskRun {
    NewTaskRun {
        dot_id: dot_id.to_string(),
        task_type: "http".to_string(),
        output,
        error: error.map(str::to_string),
        started_at: 1_700_000_000_000_000,
        elapsed_us: 1_234,
    }
}

#[tokio::test]
async fn start_run_is_idempotent_per_request() {
    let store = Store::in_memory().await.unwrap();
    let (job, reqs) = with_requests(&store, 2).await;
    let inputs = json!({"logData": "0x01"});

    let first = store.start_run(job, Some(reqs[0]), &inputs).await.unwrap();
    let again = store
        .start_run(job, Some(reqs[0]), &json!({"other": true}))
        .await
        .unwrap();
    assert_eq!(first, again);
    let other = store.start_run(job, Some(reqs[1]), &inputs).await.unwrap();
    assert_ne!(first, other);
    assert_eq!(store.run_for_request(reqs[0]).await.unwrap(), Some(first));
    assert_eq!(store.run_for_request(reqs[1]).await.unwrap(), Some(other));
    assert_eq!(store.run_for_request(reqs[1] + 99).await.unwrap(), None);

    // Runs without a request (cron, webhook) are always new.
    let a = store.start_run(job, None, &inputs).await.unwrap();
    let b = store.start_run(job, None, &inputs).await.unwrap();
    assert_ne!(a, b);

    let run = store.run(first).await.unwrap().unwrap();
    assert_eq!(run.state, RunState::Running);
    assert_eq!(run.inputs, inputs, "the first start's inputs are kept");
    assert_eq!(run.request_id, Some(reqs[0]));
    assert_eq!(run.job_id, job);
    assert_eq!(run.outputs, None);
    assert!(run.errors.is_empty());
    assert_eq!(run.finished_at, None);
    assert_eq!(store.list_runs(Some(job), 10).await.unwrap().len(), 4);
}

async fn concurrent_starts(store: Store) {
    let (job, reqs) = with_requests(&store, 1).await;
    let request = reqs[0];
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .start_run(job, Some(request), &json!({ "starter": i }))
                .await
                .unwrap()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1, "every starter got the same run: {ids:?}");
    let runs = store.list_runs(None, 100).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, ids[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_start_run_creates_one_run_in_memory() {
    concurrent_starts(Store::in_memory().await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_start_run_creates_one_run_on_file() {
    let (store, _dir) = file_store().await;
    concurrent_starts(store).await;
}

#[tokio::test]
async fn finish_run_stores_tasks_and_moves_the_request() {
    let store = Store::in_memory().await.unwrap();
    let (job, reqs) = with_requests(&store, 2).await;
    store
        .transition_request(
            reqs[0],
            &[RequestState::Pending],
            RequestState::Running,
            None,
        )
        .await
        .unwrap();
    let run = store
        .start_run(job, Some(reqs[0]), &json!({}))
        .await
        .unwrap();
    let tasks = [
        task("fetch", Some(json!({"price": "3000.5"})), None),
        task("parse", Some(json!(3000.5)), None),
        task("submit", None, Some("gas too low")),
    ];
    store
        .finish_run(
            run,
            RunState::Completed,
            &json!(["0xabc"]),
            &["warning one".to_string()],
            &tasks,
            Some((reqs[0], RequestState::Fulfilled, None)),
        )
        .await
        .unwrap();

    let stored = store.run(run).await.unwrap().unwrap();
    assert_eq!(stored.state, RunState::Completed);
    assert_eq!(stored.outputs, Some(json!(["0xabc"])));
    assert_eq!(stored.errors, vec!["warning one".to_string()]);
    assert!(stored.finished_at.is_some());
    let dots: Vec<&str> = stored.tasks.iter().map(|t| t.dot_id.as_str()).collect();
    assert_eq!(dots, ["fetch", "parse", "submit"]);
    assert_eq!(stored.tasks[0].output, Some(json!({"price": "3000.5"})));
    assert_eq!(stored.tasks[1].output, Some(json!(3000.5)));
    assert_eq!(stored.tasks[2].output, None);
    assert_eq!(stored.tasks[2].error.as_deref(), Some("gas too low"));
    assert_eq!(stored.tasks[2].task_type, "http");
    assert_eq!(stored.tasks[0].elapsed_us, 1_234);
    assert_eq!(stored.tasks[0].started_at, 1_700_000_000_000_000);
    assert_eq!(
        store.request_state(reqs[0]).await.unwrap(),
        Some(RequestState::Fulfilled)
    );
    assert_eq!(
        store.request_state(reqs[1]).await.unwrap(),
        Some(RequestState::Pending)
    );

    // Finishing again (a resumed run) replaces the task results instead of adding to them,
    // and a finished request does not move back.
    store
        .finish_run(
            run,
            RunState::Errored,
            &json!(null),
            &["boom".to_string()],
            &tasks[..1],
            Some((reqs[0], RequestState::Errored, Some("boom"))),
        )
        .await
        .unwrap();
    let stored = store.run(run).await.unwrap().unwrap();
    assert_eq!(stored.state, RunState::Errored);
    assert_eq!(stored.tasks.len(), 1);
    assert_eq!(
        store.request_state(reqs[0]).await.unwrap(),
        Some(RequestState::Fulfilled)
    );

    // list_runs carries no task details and is newest first.
    let other = store.start_run(job, None, &json!({})).await.unwrap();
    let listed = store.list_runs(Some(job), 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![other, run]
    );
    assert!(listed.iter().all(|r| r.tasks.is_empty()));
    assert!(store.list_runs(Some(job + 1), 10).await.unwrap().is_empty());
    assert!(store.run(other + 100).await.unwrap().is_none());
}

#[tokio::test]
async fn finish_run_never_uncancels_a_request() {
    let store = Store::in_memory().await.unwrap();
    let (job, reqs) = with_requests(&store, 1).await;
    store
        .transition_request(
            reqs[0],
            &[RequestState::Pending],
            RequestState::Running,
            None,
        )
        .await
        .unwrap();
    let run = store
        .start_run(job, Some(reqs[0]), &json!({}))
        .await
        .unwrap();
    // Cancelled on chain while the run was executing.
    let batch = [request(job, 1, 5, 0)];
    store
        .record_logs(
            "l",
            &[],
            &[(batch[0].oracle_address.clone(), batch[0].request_id.clone())],
            &checkpoint(6, 0),
        )
        .await
        .unwrap();
    store
        .finish_run(
            run,
            RunState::Completed,
            &json!([1]),
            &[],
            &[task("fetch", Some(json!(1)), None)],
            Some((reqs[0], RequestState::Fulfilled, None)),
        )
        .await
        .unwrap();
    let row = store.request(reqs[0]).await.unwrap().unwrap();
    assert_eq!(row.state, RequestState::Cancelled);
    assert_eq!(row.reason.as_deref(), Some("cancelled on chain"));
    // The run itself is still recorded.
    let stored = store.run(run).await.unwrap().unwrap();
    assert_eq!(stored.state, RunState::Completed);
    assert_eq!(stored.tasks.len(), 1);
}
