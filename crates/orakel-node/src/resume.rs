//! Resuming runs suspended by asynchronous bridges: `PATCH /v2/resume/{run_id}`.
//!
//! The adapter answers the `responseURL` it was given with `{"value": …}` or
//! `{"error": "…"}`. Unlike the established node, which accepts the token of *any* bridge
//! for *any* run, a resume is bound to its run and its bridge: the bearer token must be the
//! incoming token of a bridge that a waiting task of *that* run names, and the answer goes to
//! that task (tasks of one bridge are answered in pipeline order). Any other token — another
//! bridge's, the node's API token — is refused with 401. An answered task cannot be answered
//! again (409).
//!
//! A value is checked against the bridge's output schema; a violation fails the task with the
//! schema path. The answer is stored before the run continues, and the run continues once
//! every waiting task has its answer.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use orakel_pipeline::{BridgeRegistry, Value};
use orakel_store::AnswerOutcome;
use serde_json::json;

use crate::NodeShared;
use crate::jobrun::encode_value;
use crate::routes::{HttpError, HttpResult};
use crate::secrets::{bearer, matches_hash};

/// What the adapter sent.
enum Answer {
    Value(Value),
    Error(String),
}

fn parse_answer(body: &[u8]) -> HttpResult<Answer> {
    let usage = "expected {\"value\": …} or {\"error\": \"…\"}";
    let parsed = orakel_pipeline::parse_json(body)
        .map_err(|e| HttpError::bad_request(format!("body: not valid JSON ({e}); {usage}")))?;
    let Value::Map(mut map) = parsed else {
        return Err(HttpError::bad_request(format!("body: {usage}")));
    };
    // Adapters often send their whole response shape along (`data`, `statusCode`, …); like
    // the established node, only `value` and `error` count.
    if let Some(other) = map.keys().find(|k| *k != "value" && *k != "error") {
        tracing::debug!(field = %other, "ignoring an extra field of a resume body");
    }
    match (map.remove("error"), map.remove("value")) {
        (Some(Value::Null) | None, Some(v)) => Ok(Answer::Value(v)),
        (Some(Value::String(e)), _) => Ok(Answer::Error(e)),
        (Some(Value::Null) | None, None) => Err(HttpError::bad_request(format!("body: {usage}"))),
        (Some(other), _) => Err(HttpError::field(
            "error",
            format!("expected a string, got {}", other.describe()),
        )),
    }
}

/// `PATCH /v2/resume/{run_id}`: answers the run's first waiting task of the caller's bridge.
pub(crate) async fn resume_run(
    State(shared): State<Arc<NodeShared>>,
    Path(run_id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> HttpResult<Json<serde_json::Value>> {
    resume(shared, run_id, None, headers, body).await
}

/// `PATCH /v2/resume/{run_id}/{task}`: answers that waiting task (the `responseURL` the
/// bridge task sends).
pub(crate) async fn resume_task(
    State(shared): State<Arc<NodeShared>>,
    Path((run_id, task)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> HttpResult<Json<serde_json::Value>> {
    resume(shared, run_id, Some(task), headers, body).await
}

async fn resume(
    shared: Arc<NodeShared>,
    run_id: String,
    task_id: Option<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> HttpResult<Json<serde_json::Value>> {
    let unauthorized = || {
        HttpError::unauthorized(format!(
            "missing or wrong token: resuming run {run_id} needs the incoming token of the bridge it waits for (Authorization: Bearer …)"
        ))
    };
    let given = bearer(&headers).unwrap_or("");
    // The caller is the bridge whose incoming token this is (tokens are random, so at most
    // one). Nothing about the run is revealed to a caller that holds no bridge's token.
    let Some(bridge) = shared
        .store
        .list_bridges()
        .await?
        .into_iter()
        .find(|row| matches_hash(given, &row.incoming_token_hash))
        .map(|row| row.name)
    else {
        return Err(unauthorized());
    };
    let not_found = || HttpError::not_found(format!("no run with id {run_id:?}"));
    let id: i64 = run_id.trim().parse().map_err(|_| not_found())?;
    let Some(run) = shared.store.run(id).await? else {
        return Err(not_found());
    };
    let Some(suspension) = shared.store.suspension(id).await? else {
        return Err(HttpError::conflict(format!(
            "run {id} is not waiting for an asynchronous bridge (state {})",
            run.state.as_str()
        )));
    };

    // The token must belong to a bridge this run waits for.
    if !suspension.tasks.iter().any(|t| t.bridge_name == bridge) {
        return Err(unauthorized());
    }
    let task = match &task_id {
        Some(wanted) => {
            let Some(task) = suspension.tasks.iter().find(|t| &t.dot_id == wanted) else {
                return Err(HttpError::not_found(format!(
                    "run {id} has no task {wanted:?} waiting for an asynchronous bridge"
                )));
            };
            if task.bridge_name != bridge {
                return Err(unauthorized());
            }
            if task.answer.is_some() {
                return Err(HttpError::conflict(format!(
                    "task {wanted:?} of run {id} was already answered"
                )));
            }
            task
        }
        None => {
            let Some(task) = suspension
                .tasks
                .iter()
                .find(|t| t.answer.is_none() && t.bridge_name == bridge)
            else {
                return Err(HttpError::conflict(format!(
                    "run {id} was already resumed by bridge {bridge:?}"
                )));
            };
            task
        }
    };

    let prefix = format!("task {:?} (bridge)", task.dot_id);
    let stored = match parse_answer(&body)? {
        Answer::Value(v) => {
            let checked = shared
                .bridges
                .bridge(&bridge)
                .map(|def| def.check_output(&v))
                .unwrap_or(Ok(()));
            match checked {
                Ok(()) => json!({ "value": encode_value(&v) }),
                Err(violation) => json!({ "error": format!("{prefix}: {violation}") }),
            }
        }
        Answer::Error(e) => {
            json!({ "error": format!("{prefix}: the adapter answered with an error: {e}") })
        }
    };
    let task_id = task.dot_id.clone();
    match shared
        .store
        .answer_suspended_task(id, &task_id, &stored)
        .await?
    {
        AnswerOutcome::Ready(s) => {
            tracing::info!(run = id, task = %task_id, bridge = %bridge, "run resumed");
            shared.runs.continue_suspended(s).await?;
            Ok(Json(json!({
                "run": { "id": id, "state": "running" },
                "task": task_id,
                "continued": true,
                "accepted": stored,
            })))
        }
        AnswerOutcome::Waiting => {
            tracing::info!(run = id, task = %task_id, bridge = %bridge, "answer stored; the run waits for its other bridges");
            Ok(Json(json!({
                "run": { "id": id, "state": "running" },
                "task": task_id,
                "continued": false,
                "accepted": stored,
            })))
        }
        AnswerOutcome::AlreadyAnswered => Err(HttpError::conflict(format!(
            "task {task_id:?} of run {id} was already answered"
        ))),
        AnswerOutcome::NotSuspended => Err(HttpError::conflict(format!(
            "run {id} is not waiting for an asynchronous bridge"
        ))),
    }
}

/// `GET /v2/suspended_runs`: runs waiting for asynchronous bridges, oldest first.
pub(crate) async fn list_suspended(
    State(shared): State<Arc<NodeShared>>,
) -> HttpResult<Json<serde_json::Value>> {
    let runs: Vec<serde_json::Value> = shared
        .store
        .waiting_suspensions(1000)
        .await?
        .iter()
        .map(|s| {
            json!({
                "run_id": s.run_id,
                "job_id": s.job_id,
                "suspended_at": s.suspended_at,
                "tasks": s.tasks.iter().map(|t| json!({
                    "dot_id": t.dot_id,
                    "bridge": t.bridge_name,
                    "answered": t.answer.is_some(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({ "runs": runs })))
}
