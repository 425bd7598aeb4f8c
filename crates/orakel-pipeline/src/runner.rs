//! The run scheduler.
//!
//! Tasks run in topological order on the caller's task: pure tasks synchronously (no spawn
//! per task), I/O tasks (`http`, `ethtx`) as futures polled concurrently, so independent
//! fetches overlap. Every task start is guarded by `catch_unwind`, so a panic becomes a task
//! error instead of taking the node down.
//!
//! A run can also *suspend*: an async `bridge` task whose adapter answers "pending" leaves
//! its successors waiting, and the run ends in [`RunState::Suspended`] once nothing else can
//! progress. The node resumes it by executing the pipeline again with the finished results
//! (and the adapter's late answer) in [`RunContext::prior_results`]; those tasks are not run
//! again.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use alloy_primitives::{Address, B256, Bytes};
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};

use crate::bridge::{BridgeCache, BridgeRegistry};
use crate::chain::ChainReader;
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::spec::format_duration;
use crate::tasks::{Exec, IoOutcome, TaskCx, TaskEnv};
use crate::template::Scope;
use crate::value::Value;

/// Marker placed in resolver/redirect errors for refused addresses.
pub(crate) const RESTRICTED_MARKER: &str = "orakel-restricted-address";

/// Where `ethtx` tasks send their transactions (the node's transaction manager).
#[async_trait::async_trait]
pub trait EthTxSink: Send + Sync {
    /// Queues a transaction. Must be idempotent on `tx.idempotency_key`: a resumed or
    /// retried run submits the same key again.
    async fn submit(&self, tx: EthTxRequest) -> std::result::Result<TxSubmitted, String>;
}

/// A transaction requested by an `ethtx` task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EthTxRequest {
    /// `"{run_id}/{dot_id}"`.
    pub idempotency_key: String,
    /// Sender chosen by the spec, if any.
    pub from: Option<Address>,
    /// Recipient.
    pub to: Address,
    /// Calldata.
    pub data: Bytes,
    /// Gas limit from the task, if any.
    pub gas_limit: Option<u64>,
    /// Confirmations to wait for (0 = do not wait).
    pub min_confirmations: u64,
    /// Chain from the task, if any.
    pub evm_chain_id: Option<u64>,
    /// Whether a revert should fail the task.
    pub fail_on_revert: bool,
}

/// What the sink answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxSubmitted {
    /// Hash, when already known.
    pub tx_hash: Option<B256>,
    /// The transaction manager's id.
    pub tx_id: i64,
}

/// Limits and defaults of a runner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunnerConfig {
    /// Timeout of an `http` task without a `timeout` attribute.
    pub default_http_timeout: Duration,
    /// Upper bound of every task (a job's `maxTaskDuration` overrides it per run).
    pub max_task_duration: Duration,
    /// Let every `http` task reach private/loopback addresses (development setups).
    pub allow_private_http: bool,
    /// Largest accepted HTTP response body.
    pub max_response_bytes: usize,
    /// Largest HTTP request body.
    pub max_request_bytes: usize,
    /// Base URL of the node's API as adapters reach it (e.g. `http://10.0.0.5:6688`). An
    /// async `bridge` task sends `responseURL = <base>/v2/resume/<run id>/<task id>`; without a base,
    /// async bridge tasks fail.
    pub resume_base_url: Option<String>,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            default_http_timeout: Duration::from_secs(15),
            max_task_duration: Duration::from_secs(60),
            allow_private_http: false,
            max_response_bytes: 1024 * 1024,
            max_request_bytes: 1024 * 1024,
            resume_base_url: None,
        }
    }
}

/// Inputs of one run.
#[derive(Clone, Debug, Default)]
pub struct RunContext {
    /// Identifies the run (used in idempotency keys).
    pub run_id: String,
    /// `jobSpec.*` variables (a map).
    pub job_spec_vars: Value,
    /// `jobRun.*` variables (a map).
    pub job_run_vars: Value,
    /// The job's `maxTaskDuration`, if any.
    pub max_task_duration: Option<Duration>,
    /// Results of tasks (by DOT id) that finished in an earlier execution of this run: a
    /// resumed run passes every finished task plus the resumed task's value or error. These
    /// tasks are not executed again; their results feed their successors as usual.
    pub prior_results: HashMap<String, std::result::Result<Value, String>>,
}

/// Final state of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum RunState {
    /// Every terminal task succeeded.
    Completed,
    /// At least one terminal task failed.
    Errored,
    /// Waiting for asynchronous answers: the tasks in [`RunOutcome::suspended`] are pending
    /// and nothing else can progress until they are resumed. Tasks that have not finished
    /// have neither output nor error.
    Suspended,
}

/// Result of one task in a run.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TaskResult {
    /// The task id.
    pub dot_id: String,
    /// The task type.
    pub task_type: String,
    /// Output, when it succeeded.
    pub output: Option<Value>,
    /// Error, when it failed (`task "id" (type): cause`).
    pub error: Option<String>,
    /// When it started.
    pub started_at: SystemTime,
    /// How long it took.
    pub elapsed: Duration,
}

/// Result of a run.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RunOutcome {
    /// Completed or Errored.
    pub state: RunState,
    /// Every task, in declaration order.
    pub tasks: Vec<TaskResult>,
    /// Outputs of the terminal tasks ordered by their `index` attribute (`None` = failed).
    pub outputs: Vec<Option<Value>>,
    /// Root-cause errors (failures not merely caused by a failed upstream task).
    pub errors: Vec<String>,
    /// Tasks waiting for an asynchronous answer (only when `state` is `Suspended`).
    pub suspended: Vec<String>,
}

/// Services shared by all runs of a runner.
pub(crate) struct Shared {
    pub cfg: RunnerConfig,
    pub http_restricted: reqwest::Client,
    pub http_open: reqwest::Client,
    pub eth: Option<Arc<dyn EthTxSink>>,
    pub bridges: Option<Arc<dyn BridgeRegistry>>,
    pub bridge_cache: BridgeCache,
    pub chain: Option<Arc<dyn ChainReader>>,
}

/// Executes pipelines. Cheap to share (`&Runner` is all a run needs).
pub struct Runner {
    shared: Shared,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("cfg", &self.shared.cfg)
            .field("eth", &self.shared.eth.is_some())
            .field("bridges", &self.shared.bridges.is_some())
            .field("chain", &self.shared.chain.is_some())
            .finish()
    }
}

struct RestrictedResolver;

impl reqwest::dns::Resolve for RestrictedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) })?;
            let allowed: Vec<SocketAddr> = addrs
                .filter(|a| !crate::tasks::is_restricted_ip(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(format!("{RESTRICTED_MARKER}: {host}").into());
            }
            let iter: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(iter)
        })
    }
}

fn restricted_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= 10 {
            return attempt.error("too many redirects");
        }
        let blocked = match attempt.url().host() {
            Some(url::Host::Ipv4(ip)) => crate::tasks::is_restricted_ip(ip.into()),
            Some(url::Host::Ipv6(ip)) => crate::tasks::is_restricted_ip(ip.into()),
            _ => false,
        };
        if blocked {
            attempt.error(RESTRICTED_MARKER)
        } else {
            attempt.follow()
        }
    })
}

enum Event {
    Done(usize, std::result::Result<Value, String>),
    Suspended(usize),
    Retry(usize),
}

struct RunState_ {
    results: Vec<Option<std::result::Result<Value, String>>>,
    /// Whether a failure only propagated an upstream failure.
    propagated: Vec<bool>,
    started: Vec<Option<(SystemTime, Instant)>>,
    elapsed: Vec<Duration>,
    remaining: Vec<usize>,
    attempts: Vec<u32>,
    /// Tasks whose adapter answered "pending".
    suspended: Vec<bool>,
    ready: VecDeque<usize>,
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    format!("internal error: the task panicked: {text}")
}

impl Runner {
    /// Creates a runner. `eth` receives the transactions of `ethtx` tasks (without one,
    /// `ethtx` tasks fail).
    pub fn new(cfg: RunnerConfig, eth: Option<Arc<dyn EthTxSink>>) -> Result<Self> {
        let http_open = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::limited(10))
            .build()
            .map_err(|e| Error::HttpClient(e.to_string()))?;
        let http_restricted = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(Arc::new(RestrictedResolver))
            .redirect(restricted_redirects())
            .build()
            .map_err(|e| Error::HttpClient(e.to_string()))?;
        if cfg.max_task_duration.is_zero() {
            return Err(Error::Config(
                "max_task_duration must be positive".to_owned(),
            ));
        }
        Ok(Runner {
            shared: Shared {
                cfg,
                http_restricted,
                http_open,
                eth,
                bridges: None,
                bridge_cache: BridgeCache::default(),
                chain: None,
            },
        })
    }

    /// Lets `bridge` tasks find their adapters (without a registry they fail).
    pub fn with_bridges(mut self, bridges: Arc<dyn BridgeRegistry>) -> Self {
        self.shared.bridges = Some(bridges);
        self
    }

    /// Lets `ethcall` and `estimategaslimit` tasks read the chain (without a reader they
    /// fail).
    pub fn with_chain_reader(mut self, chain: Arc<dyn ChainReader>) -> Self {
        self.shared.chain = Some(chain);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &RunnerConfig {
        &self.shared.cfg
    }

    /// Runs a pipeline to the end and reports every task.
    pub async fn execute(&self, pipeline: &Pipeline, ctx: RunContext) -> RunOutcome {
        let n = pipeline.tasks.len();
        let mut st = RunState_ {
            results: vec![None; n],
            propagated: vec![false; n],
            started: vec![None; n],
            elapsed: vec![Duration::ZERO; n],
            remaining: pipeline.tasks.iter().map(|t| t.preds.len()).collect(),
            attempts: vec![0; n],
            suspended: vec![false; n],
            ready: pipeline
                .order
                .iter()
                .copied()
                .filter(|&i| pipeline.tasks.get(i).is_some_and(|t| t.preds.is_empty()))
                .collect(),
        };
        let max_duration = ctx
            .max_task_duration
            .filter(|d| !d.is_zero())
            .unwrap_or(self.shared.cfg.max_task_duration);
        let mut inflight: FuturesUnordered<BoxFuture<'_, Event>> = FuturesUnordered::new();
        let mut abort: Option<String> = None;
        if !ctx.prior_results.is_empty() {
            // Topological order, so each prior result is in place before its successors
            // are considered.
            for &i in &pipeline.order {
                if let Some(prior) = pipeline
                    .tasks
                    .get(i)
                    .and_then(|node| ctx.prior_results.get(&node.dot_id))
                {
                    st.finish(pipeline, i, prior.clone(), false);
                }
            }
        }

        loop {
            while let Some(i) = st.ready.pop_front() {
                let Some(node) = pipeline.tasks.get(i) else {
                    continue;
                };
                if st.results.get(i).is_some_and(Option::is_some) {
                    continue; // finished in an earlier execution of this run
                }
                if let Some(reason) = &abort {
                    st.finish(pipeline, i, Err(reason.clone()), true);
                    continue;
                }
                if !node.task.tolerates_failed_inputs()
                    && let Some(&failed) = node
                        .preds
                        .iter()
                        .find(|&&p| matches!(st.results.get(p), Some(Some(Err(_)))))
                {
                    let name = pipeline
                        .tasks
                        .get(failed)
                        .map(|t| t.dot_id.as_str())
                        .unwrap_or("");
                    let msg = format!(
                        "task {:?} ({}): upstream task {name:?} failed",
                        node.dot_id, node.type_name
                    );
                    st.finish(pipeline, i, Err(msg), true);
                    continue;
                }
                let timeout = node
                    .timeout
                    .or_else(|| {
                        matches!(node.type_name, "http" | "bridge")
                            .then_some(self.shared.cfg.default_http_timeout)
                    })
                    .unwrap_or(max_duration)
                    .min(max_duration);
                if st.started.get(i).is_some_and(Option::is_none)
                    && let Some(s) = st.started.get_mut(i)
                {
                    *s = Some((SystemTime::now(), Instant::now()));
                }
                let exec = {
                    let inputs: Vec<std::result::Result<&Value, &str>> = node
                        .preds
                        .iter()
                        .map(|&p| match st.results.get(p) {
                            Some(Some(Ok(v))) => Ok(v),
                            Some(Some(Err(e))) => Err(e.as_str()),
                            _ => Err("not run"),
                        })
                        .collect();
                    let scope = Scope {
                        outputs: &st.results,
                        job_spec: &ctx.job_spec_vars,
                        job_run: &ctx.job_run_vars,
                    };
                    let cx = TaskCx {
                        scope: &scope,
                        inputs: &inputs,
                    };
                    let env = TaskEnv {
                        shared: &self.shared,
                        run_id: &ctx.run_id,
                        dot_id: &node.dot_id,
                        timeout,
                    };
                    std::panic::catch_unwind(AssertUnwindSafe(|| node.task.run(&cx, env)))
                };
                match exec {
                    Ok(Exec::Ready(res)) => {
                        let res = res.map_err(|e| prefix(node, &e));
                        self.after(pipeline, &mut st, &mut inflight, &mut abort, i, res);
                    }
                    Ok(Exec::Pending(fut)) => {
                        let fut = fut.map(|r| r.map(IoOutcome::Done));
                        inflight.push(await_io(i, timeout, Box::pin(fut)));
                    }
                    Ok(Exec::Suspendable(fut)) => inflight.push(await_io(i, timeout, fut)),
                    Err(panic) => {
                        let res = Err(prefix(node, &panic_message(panic)));
                        self.after(pipeline, &mut st, &mut inflight, &mut abort, i, res);
                    }
                }
            }
            match inflight.next().await {
                None => break,
                Some(Event::Retry(i)) => st.ready.push_back(i),
                Some(Event::Suspended(i)) => {
                    if let Some(s) = st.suspended.get_mut(i) {
                        *s = true;
                    }
                    if let Some(Some((_, at))) = st.started.get(i)
                        && let Some(e) = st.elapsed.get_mut(i)
                    {
                        *e = at.elapsed();
                    }
                }
                Some(Event::Done(i, res)) => {
                    let Some(node) = pipeline.tasks.get(i) else {
                        continue;
                    };
                    let res = res.map_err(|e| prefix(node, &e));
                    self.after(pipeline, &mut st, &mut inflight, &mut abort, i, res);
                }
            }
        }
        st.outcome(pipeline)
    }

    /// Records a task result, scheduling a retry or aborting the run when configured.
    fn after<'a>(
        &'a self,
        pipeline: &'a Pipeline,
        st: &mut RunState_,
        inflight: &mut FuturesUnordered<BoxFuture<'a, Event>>,
        abort: &mut Option<String>,
        i: usize,
        res: std::result::Result<Value, String>,
    ) {
        let Some(node) = pipeline.tasks.get(i) else {
            return;
        };
        if res.is_err() && node.task.is_io() {
            let attempt = st.attempts.get(i).copied().unwrap_or(0);
            if attempt < node.retries {
                if let Some(a) = st.attempts.get_mut(i) {
                    *a += 1;
                }
                let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
                let delay = node
                    .min_backoff
                    .saturating_mul(factor)
                    .min(node.max_backoff);
                tracing::debug!(task = %node.dot_id, attempt, ?delay, "retrying task");
                inflight.push(Box::pin(async move {
                    tokio::time::sleep(delay).await;
                    Event::Retry(i)
                }));
                return;
            }
        }
        let failed_early = res.is_err() && node.fail_early;
        st.finish(pipeline, i, res, false);
        if failed_early && abort.is_none() {
            let reason = format!(
                "run aborted: task {:?} failed and has failEarly set",
                node.dot_id
            );
            inflight.clear();
            for j in 0..pipeline.tasks.len() {
                if st.results.get(j).is_some_and(Option::is_none) {
                    st.finish(pipeline, j, Err(reason.clone()), true);
                }
            }
            st.ready.clear();
            *abort = Some(reason);
        }
    }
}

/// Awaits an I/O task under its timeout, turning a panic into an error.
fn await_io<'a>(
    i: usize,
    timeout: Duration,
    fut: BoxFuture<'a, std::result::Result<IoOutcome, String>>,
) -> BoxFuture<'a, Event> {
    Box::pin(async move {
        match tokio::time::timeout(timeout, AssertUnwindSafe(fut).catch_unwind()).await {
            Ok(Ok(Ok(IoOutcome::Done(v)))) => Event::Done(i, Ok(v)),
            Ok(Ok(Ok(IoOutcome::Suspend))) => Event::Suspended(i),
            Ok(Ok(Err(e))) => Event::Done(i, Err(e)),
            Ok(Err(panic)) => Event::Done(i, Err(panic_message(panic))),
            Err(_) => Event::Done(
                i,
                Err(format!("timed out after {}", format_duration(timeout))),
            ),
        }
    })
}

fn prefix(node: &crate::pipeline::TaskNode, e: &str) -> String {
    format!("task {:?} ({}): {e}", node.dot_id, node.type_name)
}

impl RunState_ {
    fn finish(
        &mut self,
        pipeline: &Pipeline,
        i: usize,
        res: std::result::Result<Value, String>,
        propagated: bool,
    ) {
        if self.results.get(i).is_some_and(Option::is_some) {
            return;
        }
        if let Some(Some((_, at))) = self.started.get(i)
            && let Some(e) = self.elapsed.get_mut(i)
        {
            *e = at.elapsed();
            if let Some(node) = pipeline.tasks.get(i) {
                metrics::histogram!("orakel_pipeline_task_seconds", "task_type" => node.type_name)
                    .record(e.as_secs_f64());
            }
        }
        if let Some(slot) = self.results.get_mut(i) {
            *slot = Some(res);
        }
        if let Some(p) = self.propagated.get_mut(i) {
            *p = propagated;
        }
        if let Some(node) = pipeline.tasks.get(i) {
            for &s in &node.succs {
                if let Some(r) = self.remaining.get_mut(s) {
                    *r = r.saturating_sub(1);
                    if *r == 0 && self.results.get(s).is_some_and(Option::is_none) {
                        self.ready.push_back(s);
                    }
                }
            }
        }
    }

    fn outcome(mut self, pipeline: &Pipeline) -> RunOutcome {
        let mut tasks = Vec::with_capacity(pipeline.tasks.len());
        let mut errors = Vec::new();
        let pending: Vec<usize> = (0..pipeline.tasks.len())
            .filter(|&i| {
                self.suspended.get(i).copied().unwrap_or(false)
                    && self.results.get(i).is_some_and(Option::is_none)
            })
            .collect();
        let terminal_failed = pipeline
            .terminals
            .iter()
            .any(|&i| matches!(self.results.get(i), Some(Some(Err(_)))));
        // A failed terminal task is final, so a run with one does not wait for adapters.
        let waiting = !pending.is_empty() && !terminal_failed;
        for (i, node) in pipeline.tasks.iter().enumerate() {
            let (output, error) = match self.results.get_mut(i).and_then(Option::take) {
                Some(Ok(v)) => (Some(v), None),
                Some(Err(e)) => {
                    if !self.propagated.get(i).copied().unwrap_or(false) {
                        errors.push(e.clone());
                    }
                    (None, Some(e))
                }
                None if waiting => (None, None),
                None if pending.contains(&i) => (
                    None,
                    Some(prefix(
                        node,
                        "the run failed while waiting for the asynchronous answer",
                    )),
                ),
                None => (None, Some(prefix(node, "not run"))),
            };
            tasks.push(TaskResult {
                dot_id: node.dot_id.clone(),
                task_type: node.type_name.to_owned(),
                output,
                error,
                started_at: self
                    .started
                    .get(i)
                    .and_then(|s| s.map(|(t, _)| t))
                    .unwrap_or_else(SystemTime::now),
                elapsed: self.elapsed.get(i).copied().unwrap_or_default(),
            });
        }
        let outputs: Vec<Option<Value>> = pipeline
            .terminals
            .iter()
            .map(|&i| tasks.get(i).and_then(|t| t.output.clone()))
            .collect();
        let state = if outputs.iter().all(Option::is_some) {
            RunState::Completed
        } else if waiting {
            RunState::Suspended
        } else {
            RunState::Errored
        };
        let suspended = if state == RunState::Suspended {
            pending
                .iter()
                .filter_map(|&i| pipeline.tasks.get(i).map(|t| t.dot_id.clone()))
                .collect()
        } else {
            Vec::new()
        };
        if state == RunState::Errored && errors.is_empty() {
            errors.extend(tasks.iter().filter_map(|t| t.error.clone()));
        }
        RunOutcome {
            state,
            tasks,
            outputs,
            errors,
            suspended,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::TaskNode;
    use crate::tasks::{PureTask, Task};

    #[derive(Debug)]
    struct Boom;

    impl PureTask for Boom {
        fn eval(&self, _cx: &TaskCx<'_>) -> std::result::Result<Value, String> {
            panic!("boom")
        }
    }

    #[derive(Debug)]
    struct AsyncBoom;

    impl Task for AsyncBoom {
        fn run<'a>(&'a self, _cx: &TaskCx<'_>, _env: TaskEnv<'a>) -> Exec<'a> {
            Exec::Pending(Box::pin(async { panic!("async boom") }))
        }
    }

    fn node(id: &str, task: Box<dyn Task>) -> TaskNode {
        TaskNode {
            dot_id: id.to_owned(),
            type_name: "boom",
            task,
            preds: Vec::new(),
            succs: Vec::new(),
            index: 0,
            timeout: None,
            fail_early: false,
            retries: 0,
            min_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
        }
    }

    #[test]
    fn panics_become_task_errors() {
        let pipeline = Pipeline {
            tasks: vec![node("x", Box::new(Boom)), node("y", Box::new(AsyncBoom))],
            order: vec![0, 1],
            terminals: vec![0, 1],
            warnings: Vec::new(),
        };
        let runner = Runner::new(RunnerConfig::default(), None).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let out = rt.block_on(runner.execute(&pipeline, RunContext::default()));
        assert_eq!(out.state, RunState::Errored);
        assert_eq!(
            out.tasks[0].error.as_deref(),
            Some("task \"x\" (boom): internal error: the task panicked: boom")
        );
        assert_eq!(
            out.tasks[1].error.as_deref(),
            Some("task \"y\" (boom): internal error: the task panicked: async boom")
        );
        assert_eq!(out.errors.len(), 2);
    }
}
