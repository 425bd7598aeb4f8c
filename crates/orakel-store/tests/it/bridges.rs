//! Bridges, external initiators and suspended runs: the tables of schema version 2.

use orakel_store::{
    AnswerOutcome, BridgeUpdate, Error, NewBridge, NewExternalInitiator, NewSuspension, NewTaskRun,
    RunState, Store, WaitingTask,
};
use serde_json::json;

use crate::{file_store, insert_job};

fn bridge(name: &str) -> NewBridge {
    NewBridge {
        name: name.to_string(),
        url: format!("http://127.0.0.1:8080/{name}"),
        confirmations: 2,
        minimum_contract_payment: "1000".to_string(),
        incoming_token_hash: "ab".repeat(32),
        outgoing_token: "outgoing-secret".to_string(),
        input_schema: Some(json!({"type": "object", "required": ["pair"]})),
        output_schema: None,
    }
}

#[tokio::test]
async fn bridges_insert_list_update_delete() {
    let store = Store::in_memory().await.unwrap();
    let a = store.insert_bridge(&bridge("price-a")).await.unwrap();
    store.insert_bridge(&bridge("alpha")).await.unwrap();
    assert_eq!(a.confirmations, 2);

    // Names are unique.
    let dup = store.insert_bridge(&bridge("price-a")).await.unwrap_err();
    assert!(
        matches!(&dup, Error::Conflict(m) if m.contains("price-a")),
        "{dup}"
    );

    let all = store.list_bridges().await.unwrap();
    let names: Vec<&str> = all.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["alpha", "price-a"], "listed by name");

    let got = store.bridge("price-a").await.unwrap().unwrap();
    assert_eq!(got, a);
    assert_eq!(got.incoming_token_hash, "ab".repeat(32));
    assert_eq!(got.outgoing_token, "outgoing-secret");
    assert_eq!(
        got.input_schema,
        Some(json!({"type": "object", "required": ["pair"]}))
    );
    assert!(store.bridge("nope").await.unwrap().is_none());

    // The API representation never carries the tokens.
    let shown = serde_json::to_string(&got).unwrap();
    assert!(
        !shown.contains("outgoing-secret") && !shown.contains(&"ab".repeat(32)),
        "{shown}"
    );

    // Partial update: only the given columns change; a schema can be removed or set.
    let updated = store
        .update_bridge(
            "price-a",
            &BridgeUpdate {
                url: Some("https://adapter.example/v2".into()),
                input_schema: Some(None),
                output_schema: Some(Some(json!({"type": "number"}))),
                ..BridgeUpdate::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.url, "https://adapter.example/v2");
    assert_eq!(updated.confirmations, 2);
    assert_eq!(updated.minimum_contract_payment, "1000");
    assert_eq!(updated.input_schema, None);
    assert_eq!(updated.output_schema, Some(json!({"type": "number"})));
    assert!(updated.updated_at >= a.updated_at);
    assert_eq!(store.bridge("price-a").await.unwrap().unwrap(), updated);
    assert!(
        store
            .update_bridge("nope", &BridgeUpdate::default())
            .await
            .unwrap()
            .is_none()
    );

    assert!(store.delete_bridge("price-a").await.unwrap());
    assert!(!store.delete_bridge("price-a").await.unwrap());
    assert!(store.bridge("price-a").await.unwrap().is_none());
    // The name is free again.
    store.insert_bridge(&bridge("price-a")).await.unwrap();
}

#[tokio::test]
async fn bridges_survive_reopening_the_file() {
    let (store, dir) = file_store().await;
    store.insert_bridge(&bridge("durable")).await.unwrap();
    store.close().await;
    let again = Store::open(&crate::file_url(&dir.path().join("node.sqlite")))
        .await
        .unwrap();
    let b = again.bridge("durable").await.unwrap().unwrap();
    assert_eq!(b.outgoing_token, "outgoing-secret");
}

#[tokio::test]
async fn external_initiators_by_name_and_access_key() {
    let store = Store::in_memory().await.unwrap();
    let ei = NewExternalInitiator {
        name: "chain-watcher".into(),
        url: Some("http://127.0.0.1:9000/jobs".into()),
        access_key: "k1".into(),
        secret_hash: "cd".repeat(32),
    };
    let row = store.insert_external_initiator(&ei).await.unwrap();
    let dup = store.insert_external_initiator(&ei).await.unwrap_err();
    assert!(matches!(dup, Error::Conflict(_)));
    assert_eq!(
        store.external_initiator_by_access_key("k1").await.unwrap(),
        Some(row.clone())
    );
    assert_eq!(
        store.external_initiator("chain-watcher").await.unwrap(),
        Some(row.clone())
    );
    assert!(
        store
            .external_initiator_by_access_key("k2")
            .await
            .unwrap()
            .is_none()
    );
    let shown = serde_json::to_string(&row).unwrap();
    assert!(!shown.contains(&"cd".repeat(32)), "{shown}");
    assert_eq!(store.list_external_initiators().await.unwrap(), vec![row]);
    assert!(
        store
            .delete_external_initiator("chain-watcher")
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_external_initiator("chain-watcher")
            .await
            .unwrap()
    );
    assert!(store.list_external_initiators().await.unwrap().is_empty());
}

fn task(dot_id: &str, output: serde_json::Value) -> NewTaskRun {
    NewTaskRun {
        dot_id: dot_id.into(),
        task_type: "jsonparse".into(),
        output: Some(output),
        error: None,
        started_at: 1_700_000_000_000_000,
        elapsed_us: 5,
    }
}

fn waiting(dot_id: &str, bridge: &str) -> WaitingTask {
    WaitingTask {
        dot_id: dot_id.into(),
        bridge_name: bridge.into(),
    }
}

#[tokio::test]
async fn suspended_run_continues_once_all_answers_are_in_and_survives_a_restart() {
    let (store, dir) = file_store().await;
    let job = insert_job(&store, "0eec7e1d-d0d2-476c-a1a8-72dfb6633f46").await;
    let run = store.start_run(job.id, None, &json!({})).await.unwrap();
    let other = store
        .start_run(job.id, None, &json!({"requestBody": "{}"}))
        .await
        .unwrap();

    // Both are interrupted runs until one suspends.
    let ids: Vec<i64> = store
        .interrupted_runs()
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, [run, other]);

    store
        .suspend_run(
            run,
            &NewSuspension {
                results: json!({"fetch": {"ok": "1"}}),
                waiting: vec![waiting("ask_a", "slow"), waiting("ask_b", "slower")],
            },
            &[task("fetch", json!("1"))],
        )
        .await
        .unwrap();
    let interrupted = store.interrupted_runs().await.unwrap();
    assert_eq!(interrupted.len(), 1);
    assert_eq!(interrupted[0].id, other);
    assert_eq!(interrupted[0].inputs, json!({"requestBody": "{}"}));

    // The finished task is visible on the run, which is still running.
    let shown = store.run(run).await.unwrap().unwrap();
    assert_eq!(shown.state, RunState::Running);
    assert_eq!(shown.tasks.len(), 1);
    let s = store.suspension(run).await.unwrap().unwrap();
    assert_eq!(s.job_id, job.id);
    let names: Vec<(&str, &str)> = s
        .tasks
        .iter()
        .map(|t| (t.dot_id.as_str(), t.bridge_name.as_str()))
        .collect();
    assert_eq!(names, [("ask_a", "slow"), ("ask_b", "slower")]);
    assert!(!s.all_answered());
    assert_eq!(store.waiting_suspensions(10).await.unwrap().len(), 1);
    assert!(store.suspension(other).await.unwrap().is_none());

    // The first answer is stored but the run still waits for the second task.
    let a = json!({"value": {"price": "12.5"}});
    assert_eq!(
        store.answer_suspended_task(run, "ask_a", &a).await.unwrap(),
        AnswerOutcome::Waiting
    );
    assert_eq!(
        store
            .answer_suspended_task(run, "ask_a", &json!({"error": "late"}))
            .await
            .unwrap(),
        AnswerOutcome::AlreadyAnswered
    );
    assert_eq!(
        store.answer_suspended_task(run, "nope", &a).await.unwrap(),
        AnswerOutcome::NotSuspended
    );
    assert_eq!(
        store
            .answer_suspended_task(other, "ask_a", &a)
            .await
            .unwrap(),
        AnswerOutcome::NotSuspended
    );
    assert!(store.ready_suspensions().await.unwrap().is_empty());

    // The last answer makes it ready, exactly once.
    let b = json!({"error": "adapter failed"});
    let ready = store.answer_suspended_task(run, "ask_b", &b).await.unwrap();
    let AnswerOutcome::Ready(row) = ready else {
        panic!("{ready:?}")
    };
    assert_eq!(row.tasks[0].answer, Some(a.clone()));
    assert_eq!(row.tasks[1].answer, Some(b.clone()));
    assert!(store.waiting_suspensions(10).await.unwrap().is_empty());

    // The node stops before finishing the run: after reopening, the answers are there.
    store.close().await;
    let store = Store::open(&crate::file_url(&dir.path().join("node.sqlite")))
        .await
        .unwrap();
    let ready = store.ready_suspensions().await.unwrap();
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].results, json!({"fetch": {"ok": "1"}}));
    assert_eq!(ready[0].tasks[1].answer, Some(b));

    // It suspends again at a later task: the new suspension replaces the old one.
    store
        .suspend_run(
            run,
            &NewSuspension {
                results: json!({}),
                waiting: vec![waiting("ask_c", "slow")],
            },
            &[task("fetch", json!("1")), task("ask_a", json!("12.5"))],
        )
        .await
        .unwrap();
    let s = store.suspension(run).await.unwrap().unwrap();
    assert_eq!(s.tasks.len(), 1);
    assert_eq!(s.tasks[0].dot_id, "ask_c");
    assert!(s.tasks[0].answer.is_none());
    assert_eq!(store.run(run).await.unwrap().unwrap().tasks.len(), 2);
    assert!(store.ready_suspensions().await.unwrap().is_empty());

    // Once the run finished, nothing can answer it and clearing removes it.
    store
        .finish_run(run, RunState::Completed, &json!(["12.5"]), &[], &[], None)
        .await
        .unwrap();
    assert!(store.suspension(run).await.unwrap().is_none());
    assert_eq!(
        store
            .answer_suspended_task(run, "ask_c", &json!({"value": 1}))
            .await
            .unwrap(),
        AnswerOutcome::NotSuspended
    );
    store.clear_suspension(run).await.unwrap();
    assert!(store.waiting_suspensions(10).await.unwrap().is_empty());
}
