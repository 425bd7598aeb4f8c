//! Runs that no chain log starts: cron ticks, webhook calls, and runs continued after their
//! asynchronous bridges answered.
//!
//! A run is stored (`running`, with its `jobRun` variables) before it executes, then executes
//! in the background, and its outcome is stored with every task's result. A run whose async
//! `bridge` task answered "pending" is stored as suspended (`run_suspensions`) and continues
//! when every waiting task has its answer (`resume`).
//!
//! Crash safety: at start, [`JobRuns::resume`] executes again every request-less run a stopped
//! node left `running` (same run id, so `ethtx` tasks reuse their transactions), and continues
//! every suspended run whose answers had all arrived. Suspended runs still waiting stay
//! waiting.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use orakel_pipeline::{
    JobType, RunContext, RunOutcome, RunState as PipelineRunState, Runner, Value,
};
use orakel_store::{NewSuspension, NewTaskRun, RunState, Store, SuspensionRow, WaitingTask};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::registry::{JobRegistry, LoadedJob};

/// Most of these runs executing at once; more wait, already stored.
const MAX_CONCURRENT_RUNS: usize = 256;

/// Results of finished tasks, by DOT id, as the runner takes them back.
pub type PriorResults = HashMap<String, Result<Value, String>>;

/// Continues suspended runs of request-driven jobs, whose outcome also moves their request
/// (implemented by the job type that owns the request, e.g. `directrequest`).
pub trait RequestRunContinuation: Send + Sync {
    /// Executes run `run_id` of request row `request_row` again; `prior` holds the results
    /// of its finished tasks and the answers of the tasks that waited.
    fn continue_request_run(&self, run_id: i64, request_row: i64, prior: PriorResults);
}

/// The executor of request-less runs.
pub struct JobRuns {
    store: Store,
    runner: Arc<Runner>,
    registry: Arc<JobRegistry>,
    permits: Arc<Semaphore>,
    cancel: CancellationToken,
    request_runs: std::sync::OnceLock<Arc<dyn RequestRunContinuation>>,
}

impl std::fmt::Debug for JobRuns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobRuns").finish_non_exhaustive()
    }
}

impl JobRuns {
    /// Creates the executor.
    pub fn new(
        store: Store,
        runner: Arc<Runner>,
        registry: Arc<JobRegistry>,
        cancel: CancellationToken,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            runner,
            registry,
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_RUNS)),
            cancel,
            request_runs: std::sync::OnceLock::new(),
        })
    }

    /// Sets who continues suspended request-driven runs (once; later calls are ignored).
    pub fn set_request_runs(&self, continuation: Arc<dyn RequestRunContinuation>) {
        let _ = self.request_runs.set(continuation);
    }

    /// Stores a new run of `job` whose `jobRun` variables are `inputs` (a JSON object) and
    /// executes it in the background. Returns the run id once the run is stored.
    pub async fn start(
        self: &Arc<Self>,
        job: Arc<LoadedJob>,
        inputs: serde_json::Value,
    ) -> crate::Result<i64> {
        let run_id = self.store.start_run(job.row.id, None, &inputs).await?;
        self.spawn(job, run_id, run_vars(&inputs), PriorResults::new());
        Ok(run_id)
    }

    fn spawn(self: &Arc<Self>, job: Arc<LoadedJob>, run_id: i64, vars: Value, prior: PriorResults) {
        let this = self.clone();
        tokio::spawn(async move {
            let Ok(_permit) = this.permits.clone().acquire_owned().await else {
                return;
            };
            if this.cancel.is_cancelled() {
                return; // stays running; the next start executes it
            }
            if let Err(e) = this.execute(&job, run_id, vars, prior).await {
                tracing::error!(run = run_id, job = job.row.id, error = %e, "storing the run's outcome failed; the run executes again at the next start");
            }
        });
    }

    async fn execute(
        &self,
        job: &LoadedJob,
        run_id: i64,
        vars: Value,
        prior: PriorResults,
    ) -> crate::Result<()> {
        let ctx = RunContext {
            run_id: run_id.to_string(),
            job_spec_vars: job.spec.job_spec_vars(job.row.id),
            job_run_vars: vars,
            max_task_duration: job.spec.max_task_duration,
            prior_results: prior,
        };
        let outcome = self.runner.execute(&job.spec.pipeline, ctx).await;
        let job_type = job.spec.job_type.as_str();
        let mut errors = outcome.errors.clone();
        let state = match outcome.state {
            PipelineRunState::Completed => RunState::Completed,
            PipelineRunState::Errored => RunState::Errored,
            PipelineRunState::Suspended => match suspension_of(job, &outcome) {
                Ok(s) => {
                    self.store
                        .suspend_run(run_id, &s, &finished_task_rows(&outcome))
                        .await?;
                    let waiting: Vec<&str> = s.waiting.iter().map(|w| w.dot_id.as_str()).collect();
                    tracing::info!(run = run_id, job = job.row.id, tasks = ?waiting, "run suspended; waiting for asynchronous bridges");
                    metrics::counter!("orakel_runs_suspended_total", "job_type" => job_type)
                        .increment(1);
                    return Ok(());
                }
                Err(why) => {
                    errors.push(why);
                    RunState::Errored
                }
            },
        };
        if state == RunState::Errored {
            tracing::warn!(run = run_id, job = job.row.id, errors = ?errors, "run errored");
        }
        let outputs = serde_json::to_value(&outcome.outputs).unwrap_or(serde_json::Value::Null);
        self.store
            .finish_run(run_id, state, &outputs, &errors, &task_rows(&outcome), None)
            .await?;
        self.store.clear_suspension(run_id).await?;
        metrics::counter!("orakel_runs_total", "job_type" => job_type, "state" => state.as_str())
            .increment(1);
        Ok(())
    }

    /// Continues a suspended run whose waiting tasks all have their answers.
    pub(crate) async fn continue_suspended(
        self: &Arc<Self>,
        s: SuspensionRow,
    ) -> crate::Result<()> {
        let Some(job) = self.registry.get(s.job_id) else {
            return self.end_orphan(s.run_id).await;
        };
        let run = self.store.run(s.run_id).await?;
        let request = run.as_ref().and_then(|r| r.request_id);
        let inputs = run.map(|r| r.inputs).unwrap_or(serde_json::Value::Null);
        let mut prior = match decode_results(&s.results) {
            Ok(p) => p,
            Err(e) => {
                let why = format!("stored results of the suspended run are unreadable: {e}");
                self.store
                    .finish_run(
                        s.run_id,
                        RunState::Errored,
                        &serde_json::Value::Null,
                        &[why],
                        &[],
                        None,
                    )
                    .await?;
                return self
                    .store
                    .clear_suspension(s.run_id)
                    .await
                    .map_err(Into::into);
            }
        };
        for task in &s.tasks {
            let answer = task
                .answer
                .as_ref()
                .map(decode_answer)
                .unwrap_or_else(|| Err("no answer".to_owned()));
            prior.insert(task.dot_id.clone(), answer);
        }
        if let Some(request_row) = request {
            match self.request_runs.get() {
                Some(hook) => {
                    tracing::info!(
                        run = s.run_id,
                        job = s.job_id,
                        "continuing resumed request run"
                    );
                    hook.continue_request_run(s.run_id, request_row, prior);
                }
                None => tracing::error!(
                    run = s.run_id,
                    job = s.job_id,
                    "a resumed run serves a request, but no service continues request runs; it stays suspended"
                ),
            }
            return Ok(());
        }
        tracing::info!(run = s.run_id, job = s.job_id, "continuing resumed run");
        self.spawn(job, s.run_id, run_vars(&inputs), prior);
        Ok(())
    }

    /// A run whose job was deleted meanwhile ends as cancelled.
    async fn end_orphan(&self, run_id: i64) -> crate::Result<()> {
        self.store
            .finish_run(
                run_id,
                RunState::Cancelled,
                &serde_json::Value::Null,
                &["job deleted".to_owned()],
                &[],
                None,
            )
            .await?;
        self.store.clear_suspension(run_id).await?;
        Ok(())
    }

    /// Picks up what a previous process left: runs interrupted mid-execution execute again
    /// (same id), and suspended runs whose answers all arrived continue. Returns how many.
    pub async fn resume(self: &Arc<Self>) -> crate::Result<usize> {
        let mut n = 0;
        for s in self.store.ready_suspensions().await? {
            self.continue_suspended(s).await?;
            n += 1;
        }
        for run in self.store.interrupted_runs().await? {
            match self.registry.get(run.job_id) {
                Some(job) if matches!(job.spec.job_type, JobType::Cron | JobType::Webhook) => {
                    self.spawn(job, run.id, run_vars(&run.inputs), PriorResults::new());
                    n += 1;
                }
                Some(_) => {} // another job type's run; not this executor's
                None => self.end_orphan(run.id).await?,
            }
        }
        if n > 0 {
            tracing::info!(runs = n, "resuming cron, webhook and resumed runs");
        }
        Ok(n)
    }
}

/// The `jobRun` variables from the JSON stored with the run (numbers stay exact).
fn run_vars(inputs: &serde_json::Value) -> Value {
    match inputs {
        serde_json::Value::Object(_) => orakel_pipeline::parse_json(inputs.to_string().as_bytes())
            .unwrap_or_else(|_| Value::map(Vec::<(String, Value)>::new())),
        _ => Value::map(Vec::<(String, Value)>::new()),
    }
}

/// What to store for a suspended outcome: the finished tasks' results and each waiting task
/// with the bridge that may answer it. A bridge task whose name is not literal cannot be
/// authenticated, so such a suspension is refused (the error fails the run).
pub fn suspension_of(job: &LoadedJob, outcome: &RunOutcome) -> Result<NewSuspension, String> {
    let mut waiting = Vec::with_capacity(outcome.suspended.len());
    for dot_id in &outcome.suspended {
        let Some(task) = job.spec.bridge_tasks.iter().find(|t| &t.dot_id == dot_id) else {
            return Err(format!(
                "task {dot_id:?} (bridge): waits for an asynchronous answer, but its bridge `name` is not literal, so the answer could not be authenticated; write the bridge name in the spec"
            ));
        };
        waiting.push(WaitingTask {
            dot_id: dot_id.clone(),
            bridge_name: task.name.to_ascii_lowercase(),
        });
    }
    let mut results = serde_json::Map::new();
    for t in &outcome.tasks {
        let entry = match (&t.output, &t.error) {
            (Some(v), _) => serde_json::json!({ "ok": encode_value(v) }),
            (None, Some(e)) => serde_json::json!({ "err": e }),
            (None, None) => continue, // waiting or not reached
        };
        results.insert(t.dot_id.clone(), entry);
    }
    Ok(NewSuspension {
        results: serde_json::Value::Object(results),
        waiting,
    })
}

fn micros(t: std::time::SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn task_row(t: &orakel_pipeline::TaskResult) -> NewTaskRun {
    NewTaskRun {
        dot_id: t.dot_id.clone(),
        task_type: t.task_type.clone(),
        output: t.output.as_ref().and_then(|v| serde_json::to_value(v).ok()),
        error: t.error.clone(),
        started_at: micros(t.started_at),
        elapsed_us: i64::try_from(t.elapsed.as_micros()).unwrap_or(i64::MAX),
    }
}

pub(crate) fn task_rows(outcome: &RunOutcome) -> Vec<NewTaskRun> {
    outcome.tasks.iter().map(task_row).collect()
}

/// The task rows of a suspended run that have a result (waiting ones have none yet).
pub fn finished_task_rows(outcome: &RunOutcome) -> Vec<NewTaskRun> {
    outcome
        .tasks
        .iter()
        .filter(|t| t.output.is_some() || t.error.is_some())
        .map(task_row)
        .collect()
}

/// Encodes a pipeline value losslessly as JSON: strings, booleans, null and lists as they
/// are; decimals, bytes, addresses and maps tagged, so they come back with their type.
pub(crate) fn encode_value(v: &Value) -> serde_json::Value {
    use serde_json::json;
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Decimal(_) => json!({ "$dec": v.to_string() }),
        Value::Bytes(b) => json!({ "$bytes": format!("0x{}", hex::encode(b)) }),
        Value::Address(a) => json!({ "$addr": format!("{a:#x}") }),
        Value::List(items) => serde_json::Value::Array(items.iter().map(encode_value).collect()),
        Value::Map(m) => {
            let inner: serde_json::Map<String, serde_json::Value> = m
                .iter()
                .map(|(k, v)| (k.clone(), encode_value(v)))
                .collect();
            json!({ "$map": inner })
        }
    }
}

/// The inverse of [`encode_value`].
pub(crate) fn decode_value(j: &serde_json::Value) -> Result<Value, String> {
    Ok(match j {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Number(n) => {
            orakel_pipeline::parse_json(n.to_string().as_bytes()).map_err(|e| e.to_string())?
        }
        serde_json::Value::Array(items) => {
            Value::List(items.iter().map(decode_value).collect::<Result<_, _>>()?)
        }
        serde_json::Value::Object(o) => {
            let (tag, inner) = o
                .iter()
                .next()
                .filter(|_| o.len() == 1)
                .ok_or_else(|| format!("untagged object {j}"))?;
            match (tag.as_str(), inner) {
                ("$dec", serde_json::Value::String(s)) => {
                    match orakel_pipeline::parse_json(s.as_bytes()).map_err(|e| e.to_string())? {
                        d @ Value::Decimal(_) => d,
                        _ => return Err(format!("not a decimal: {s:?}")),
                    }
                }
                ("$bytes", serde_json::Value::String(s)) => Value::Bytes(
                    orakel_pipeline::parse_hex(s)
                        .ok_or_else(|| format!("not hex: {s:?}"))?
                        .into(),
                ),
                ("$addr", serde_json::Value::String(s)) => {
                    Value::Address(orakel_pipeline::parse_address(s)?)
                }
                ("$map", serde_json::Value::Object(m)) => Value::Map(
                    m.iter()
                        .map(|(k, v)| decode_value(v).map(|v| (k.clone(), v)))
                        .collect::<Result<_, _>>()?,
                ),
                _ => return Err(format!("unknown tag in {j}")),
            }
        }
    })
}

fn decode_results(results: &serde_json::Value) -> Result<PriorResults, String> {
    let Some(map) = results.as_object() else {
        return Err("not an object".to_owned());
    };
    let mut out = PriorResults::new();
    for (dot_id, entry) in map {
        let r = match (entry.get("ok"), entry.get("err").and_then(|e| e.as_str())) {
            (Some(v), _) => Ok(decode_value(v)?),
            (None, Some(e)) => Err(e.to_owned()),
            (None, None) => return Err(format!("task {dot_id:?}: neither ok nor err")),
        };
        out.insert(dot_id.clone(), r);
    }
    Ok(out)
}

/// A stored answer (`{"value": …}` in [`encode_value`] form, or `{"error": "…"}`) as the
/// task's result.
fn decode_answer(answer: &serde_json::Value) -> Result<Value, String> {
    if let Some(e) = answer.get("error").and_then(|e| e.as_str()) {
        return Err(e.to_owned());
    }
    match answer.get("value") {
        Some(v) => decode_value(v).map_err(|e| format!("stored answer unreadable: {e}")),
        None => Err("stored answer has neither value nor error".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use alloy::primitives::{Address, Bytes};

    #[test]
    fn values_survive_the_encoding_with_their_types() {
        let exact = orakel_pipeline::parse_json(b"123456789012345678901234567890.000000000001")
            .unwrap_or(Value::Null);
        let v = Value::map([
            ("price", exact),
            ("name", Value::String("0xdeadbeef".into())),
            (
                "raw",
                Value::Bytes(Bytes::from(vec![0xde, 0xad, 0xbe, 0xef])),
            ),
            ("who", Value::Address(Address::repeat_byte(0x11))),
            (
                "list",
                Value::List(vec![
                    Value::Null,
                    Value::Bool(true),
                    Value::String("$dec".into()),
                ]),
            ),
            ("nested", Value::map([("$dec", Value::String("x".into()))])),
        ]);
        let encoded = encode_value(&v);
        let text = encoded.to_string();
        let back = serde_json::from_str(&text)
            .map_err(|e| e.to_string())
            .and_then(|j| decode_value(&j));
        assert_eq!(back, Ok(v));
    }

    #[test]
    fn results_and_answers_decode() {
        let results = serde_json::json!({
            "a": {"ok": {"$dec": "1.5"}},
            "b": {"err": "task \"b\" (http): timed out"},
        });
        let prior = decode_results(&results).unwrap_or_default();
        assert_eq!(prior.len(), 2);
        assert!(matches!(prior.get("a"), Some(Ok(Value::Decimal(_)))));
        assert_eq!(
            prior.get("b"),
            Some(&Err("task \"b\" (http): timed out".to_owned()))
        );
        assert_eq!(
            decode_answer(&serde_json::json!({"value": "x"})),
            Ok(Value::String("x".into()))
        );
        assert_eq!(
            decode_answer(&serde_json::json!({"error": "nope"})),
            Err("nope".to_owned())
        );
        assert!(decode_results(&serde_json::json!({"a": {}})).is_err());
        assert!(decode_value(&serde_json::json!({"$what": 1})).is_err());
    }

    #[test]
    fn run_vars_keep_strings() {
        let vars = run_vars(&serde_json::json!({"requestBody": "{\"a\": 1.10}"}));
        let Value::Map(m) = vars else {
            panic!("not a map")
        };
        assert_eq!(
            m.get("requestBody"),
            Some(&Value::String("{\"a\": 1.10}".into()))
        );
    }
}
