//! The `directrequest` job type: an `OracleRequest` log names a job by its `specId`; after the
//! job's `minIncomingConfirmations` the job's pipeline runs once for it, and its `ethtx` task
//! sends the fulfilment. `CancelOracleRequest` cancels a request that has not been served.
//!
//! Crash safety: a log is stored (with the listener checkpoint) before anything it causes
//! leaves the node or the database (a run may start fetching while its request is written, but
//! sends and records nothing before it is stored); a run keeps one id for its request across
//! restarts, and the transaction manager keys transactions by run id and task, so a request
//! resumed after a crash reuses its transaction.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use alloy::primitives::{Address, B256, Bytes};
use alloy::rpc::types::Log;
use alloy::sol_types::SolEvent;
// The request events as the operator contract (and our `Oracle`) emit them.
use async_trait::async_trait;
use orakel_chain::{EarlyLog, LogBatch, LogHandler, Rpc};
use orakel_contracts::{CancelOracleRequest, OracleRequest};
use orakel_pipeline::{RunContext, RunState as PipelineRunState, Runner, Value};
use orakel_store::{
    FinishedRun, NewRequest, NewTaskRun, RequestRow, RequestState, RunState, StartRun, Store,
};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::jobrun::{self, PriorResults, RequestRunContinuation};
use crate::registry::{JobRegistry, LoadedJob};

/// Most runs executing at once; more wait.
const MAX_CONCURRENT_RUNS: usize = 512;

/// Start instants of runs, shared with the transaction sink for latency measurement and
/// the cancellation check before sending.
#[derive(Default)]
pub struct RunStarts {
    inner: Mutex<HashMap<i64, RunStart>>,
    /// Cancellation logs stored so far (bumped after they are committed).
    cancellations: AtomicU64,
}

/// What the transaction sink needs to know about a running run.
#[derive(Debug, Clone)]
pub struct RunStart {
    /// When its request log was received.
    pub received: Instant,
    /// The request's row id, once its write has stored it.
    pub request: StoredRequest,
    /// The spec-level `gasLimit`, default for `ethtx` tasks without one.
    pub gas_limit: Option<u64>,
    /// [`RunStarts::cancel_epoch`] before the run's request was last read as open. If it is
    /// unchanged when the fulfilment is sent, no cancellation can have arrived since, and the
    /// sink skips the database check.
    pub cancel_epoch: u64,
}

impl RunStart {
    /// Whether the run may send its fulfilment: once its request is stored (a run may start
    /// before), and only if the request is new and not cancelled on chain. `Err` says why not.
    pub async fn clear_to_send(&self, starts: &RunStarts, store: &Store) -> Result<(), String> {
        let Some(request_row) = self.request.row().await else {
            return Err("the request was not stored as new (seen before); not sending".into());
        };
        // A request cancelled on chain while its run was fetching data must not be answered.
        // Only when a cancellation was stored since the run started can that be.
        if self.cancel_epoch != starts.cancel_epoch()
            && store
                .request_state(request_row)
                .await
                .map_err(|e| e.to_string())?
                == Some(RequestState::Cancelled)
        {
            return Err("request was cancelled on chain; not sending".into());
        }
        Ok(())
    }
}

impl RunStarts {
    fn insert(&self, run_id: i64, start: RunStart) {
        if let Ok(mut m) = self.inner.lock() {
            m.insert(run_id, start);
        }
    }
    fn remove(&self, run_id: i64) {
        if let Ok(mut m) = self.inner.lock() {
            m.remove(&run_id);
        }
    }
    /// The run's start record.
    pub fn get(&self, run_id: i64) -> Option<RunStart> {
        self.inner.lock().ok()?.get(&run_id).cloned()
    }
    /// How many cancellation batches have been stored.
    pub fn cancel_epoch(&self) -> u64 {
        self.cancellations.load(Ordering::Acquire)
    }
    fn cancellations_stored(&self) {
        self.cancellations.fetch_add(1, Ordering::AcqRel);
    }
}

/// The row id of a run's request, known at once or when the write that stores the request
/// commits. A request that already has its confirmations when its log arrives starts its run
/// before that write, so the write and the first tasks (the source fetch) overlap; the run
/// waits here before anything that needs the stored request (sending its fulfilment,
/// recording its result). `None` means the write did not store the request as new (a log seen
/// before, or a failed write, after which the log is read again): the run must not act.
#[derive(Debug, Clone)]
pub struct StoredRequest(tokio::sync::watch::Receiver<Option<i64>>);

/// The writer's side of a [`StoredRequest`]. Dropped without [`RequestWrite::stored`], the
/// request counts as not stored.
struct RequestWrite(tokio::sync::watch::Sender<Option<i64>>);

impl StoredRequest {
    /// A request whose row is stored already.
    pub fn known(row: i64) -> Self {
        Self(tokio::sync::watch::channel(Some(row)).1)
    }

    /// One that is being written.
    fn writing() -> (RequestWrite, Self) {
        let (tx, rx) = tokio::sync::watch::channel(None);
        (RequestWrite(tx), Self(rx))
    }

    /// Waits for the write: the request's row id, or `None` if it was not stored as new.
    pub async fn row(&self) -> Option<i64> {
        let mut rx = self.0.clone();
        *rx.wait_for(Option::is_some).await.ok()?
    }
}

impl RequestWrite {
    fn stored(self, row: i64) {
        // Nobody waiting is fine: the run may have ended (or failed) already.
        let _ = self.0.send(Some(row));
    }
}

/// One execution of a request's run.
struct RunInput {
    run_id: i64,
    /// Its request's row.
    request: StoredRequest,
    /// `jobRun.*` variables.
    vars: Value,
    /// When the request's log was received (latency metrics).
    received: Instant,
    /// See [`RunStart::cancel_epoch`].
    cancel_epoch: u64,
    /// Results a resumed run already has.
    prior: PriorResults,
}

#[derive(Clone, Copy)]
struct Waiting {
    block_number: u64,
    min_confirmations: u64,
    received: Instant,
}

/// The direct-request service: log handler, confirmation queue and run starter.
pub struct DirectRequests {
    store: Store,
    rpc: Rpc,
    registry: Arc<JobRegistry>,
    runner: Arc<Runner>,
    starts: Arc<RunStarts>,
    cancel: CancellationToken,
    head: AtomicU64,
    reorg_depth: u64,
    waiting: Mutex<BTreeMap<i64, Waiting>>,
    running: Mutex<HashMap<i64, ()>>,
    permits: Arc<Semaphore>,
    wake: Notify,
    /// Itself, for spawning runs from the log handler (which only gets `&self`).
    me: std::sync::Weak<Self>,
    /// Finished runs on their way to the database (written behind the answer).
    results: tokio::sync::mpsc::UnboundedSender<(FinishedRun, bool)>,
    /// Logs stored ahead of the poll (subscription), until the poll passes their block.
    early: EarlyLogs,
}

/// Logs the subscription stored, by `(block hash, log index)`, with their block number. The
/// poll that reads the same log at the same position skips it (it is stored; a reorged log
/// has another block hash and is stored again). Entries go once the checkpoint passes their
/// block, delivered or reorged away.
#[derive(Default)]
struct EarlyLogs(Mutex<HashMap<(B256, u64), u64>>);

impl EarlyLogs {
    fn key(log: &Log) -> Option<((B256, u64), u64)> {
        Some(((log.block_hash?, log.log_index?), log.block_number?))
    }

    fn stored<'a>(&self, logs: impl IntoIterator<Item = &'a Log>) {
        if let Ok(mut seen) = self.0.lock() {
            seen.extend(logs.into_iter().filter_map(Self::key));
        }
    }

    /// The logs of a polled batch that were not stored early.
    fn take_unseen<'a>(&self, logs: &'a [Log]) -> Vec<&'a Log> {
        let Ok(mut seen) = self.0.lock() else {
            return logs.iter().collect();
        };
        if seen.is_empty() {
            return logs.iter().collect();
        }
        logs.iter()
            .filter(|l| Self::key(l).is_none_or(|(k, _)| seen.remove(&k).is_none()))
            .collect()
    }

    fn forget_through(&self, block: u64) {
        if let Ok(mut seen) = self.0.lock() {
            seen.retain(|_, b| *b > block);
        }
    }
}

impl std::fmt::Debug for DirectRequests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectRequests").finish_non_exhaustive()
    }
}

impl DirectRequests {
    /// Creates the service.
    pub fn new(
        store: Store,
        rpc: Rpc,
        registry: Arc<JobRegistry>,
        runner: Arc<Runner>,
        starts: Arc<RunStarts>,
        reorg_depth: u64,
        cancel: CancellationToken,
    ) -> Arc<Self> {
        let (results, results_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(write_results(store.clone(), results_rx));
        Arc::new_cyclic(|me| Self {
            me: me.clone(),
            results,
            store,
            rpc,
            registry,
            runner,
            starts,
            cancel,
            head: AtomicU64::new(0),
            reorg_depth,
            waiting: Mutex::new(BTreeMap::new()),
            running: Mutex::new(HashMap::new()),
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_RUNS)),
            wake: Notify::new(),
            early: EarlyLogs::default(),
        })
    }

    /// Picks up what a previous process left open: running requests restart at once,
    /// pending ones wait for their confirmations again.
    pub async fn resume(self: &Arc<Self>) -> crate::Result<usize> {
        let open = self.store.open_requests().await?;
        let mut n = 0;
        for row in open {
            let Some(job) = self.registry.get(row.job_id) else {
                self.store
                    .transition_request(
                        row.id,
                        &[RequestState::Pending, RequestState::Running],
                        RequestState::Cancelled,
                        Some("job deleted"),
                    )
                    .await?;
                continue;
            };
            // A run waiting for an asynchronous adapter continues when it answers.
            if let Some(run_id) = self.store.run_for_request(row.id).await?
                && self.store.suspension(run_id).await?.is_some()
            {
                continue;
            }
            let min_conf = min_confirmations(&job);
            self.enqueue(row.id, row.block_number, min_conf, Instant::now());
            n += 1;
        }
        if n > 0 {
            tracing::info!(requests = n, "resuming open requests");
        }
        self.wake.notify_one();
        Ok(n)
    }

    fn enqueue(&self, row_id: i64, block_number: u64, min_confirmations: u64, received: Instant) {
        if let Ok(mut w) = self.waiting.lock() {
            w.insert(
                row_id,
                Waiting {
                    block_number,
                    min_confirmations,
                    received,
                },
            );
        }
    }

    /// Runs the confirmation queue until cancelled: whenever the head moves, requests with
    /// enough confirmations start.
    pub async fn schedule_loop(self: Arc<Self>) {
        loop {
            self.start_confirmed();
            tokio::select! {
                () = self.cancel.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            }
        }
    }

    fn start_confirmed(self: &Arc<Self>) {
        let head = self.head.load(Ordering::Relaxed);
        let ready: Vec<(i64, Waiting)> = match self.waiting.lock() {
            Ok(mut w) => {
                let ids: Vec<i64> = w
                    .iter()
                    .filter(|(_, r)| head >= r.block_number + r.min_confirmations.max(1) - 1)
                    .map(|(id, _)| *id)
                    .collect();
                ids.into_iter()
                    .filter_map(|id| w.remove(&id).map(|r| (id, r)))
                    .collect()
            }
            Err(_) => Vec::new(),
        };
        for (row_id, waiting) in ready {
            self.spawn_run(row_id, waiting);
        }
    }

    /// Serves queued request `row_id` on its own task: at most one task per request, within
    /// the run permits.
    fn spawn_run(&self, row_id: i64, waiting: Waiting) {
        if let Ok(mut r) = self.running.lock()
            && r.insert(row_id, ()).is_some()
        {
            return; // already being served
        }
        self.spawn_permitted(move |this| async move {
            if let Err(e) = this.serve(row_id, &waiting).await {
                this.retry_later(row_id, waiting, &e);
            }
            if let Ok(mut r) = this.running.lock() {
                r.remove(&row_id);
            }
        });
    }

    /// Runs `work` on a task of its own once it has a run permit.
    fn spawn_permitted<F, Fut>(&self, work: F)
    where
        F: FnOnce(Arc<Self>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let Some(this) = self.me.upgrade() else {
            return;
        };
        tokio::spawn(async move {
            let Ok(_permit) = this.permits.clone().acquire_owned().await else {
                return;
            };
            work(this).await;
        });
    }

    /// A request whose serving failed (database, RPC) is queued again, to be retried after the
    /// next head.
    fn retry_later(&self, row_id: i64, waiting: Waiting, error: &crate::Error) {
        tracing::error!(request = row_id, error = %error, "serving request failed; will retry");
        self.enqueue(
            row_id,
            waiting.block_number,
            waiting.min_confirmations,
            waiting.received,
        );
    }

    async fn serve(&self, row_id: i64, waiting: &Waiting) -> crate::Result<()> {
        let Some(row) = self.store.request(row_id).await? else {
            return Ok(());
        };
        if !matches!(row.state, RequestState::Pending | RequestState::Running) {
            return Ok(());
        }
        let Some(job) = self.registry.get(row.job_id) else {
            self.store
                .transition_request(
                    row_id,
                    &[RequestState::Pending, RequestState::Running],
                    RequestState::Cancelled,
                    Some("job deleted"),
                )
                .await?;
            return Ok(());
        };
        // A reorg may have moved the log to a later block since it was queued: count
        // confirmations from where it is now.
        let head = self.head.load(Ordering::Relaxed);
        if row.state == RequestState::Pending
            && head + 1 < row.block_number + waiting.min_confirmations.max(1)
        {
            self.enqueue(
                row_id,
                row.block_number,
                waiting.min_confirmations,
                waiting.received,
            );
            return Ok(());
        }
        // With more than one confirmation required, make sure the log's block is still canonical.
        if waiting.min_confirmations > 1 && row.state == RequestState::Pending {
            let canonical = self
                .rpc
                .block_hash(row.block_number)
                .await?
                .map(|h| format!("{h:#x}"));
            if canonical.as_deref() != Some(row.block_hash.as_str()) {
                let head = self.head.load(Ordering::Relaxed);
                if head > row.block_number + self.reorg_depth {
                    self.store
                        .transition_request(
                            row_id,
                            &[RequestState::Pending],
                            RequestState::Ignored,
                            Some("request log was reorged out"),
                        )
                        .await?;
                } else {
                    // Wait for the listener to re-read the reorged range.
                    self.enqueue(
                        row_id,
                        row.block_number,
                        waiting.min_confirmations,
                        waiting.received,
                    );
                }
                return Ok(());
            }
        }
        self.execute(&job, &row, waiting.received).await
    }

    async fn execute(
        &self,
        job: &LoadedJob,
        row: &RequestRow,
        received: Instant,
    ) -> crate::Result<()> {
        let run_vars = run_vars(row);
        let inputs = serde_json::to_value(&run_vars).unwrap_or(serde_json::Value::Null);
        let cancel_epoch = self.starts.cancel_epoch();
        // One write moves the request to running and creates (or finds) its run.
        let Some(run_id) = self
            .store
            .begin_request_run(job.row.id, row.id, &inputs)
            .await?
        else {
            return Ok(()); // cancelled meanwhile
        };
        let run = RunInput {
            run_id,
            request: StoredRequest::known(row.id),
            vars: run_vars,
            received,
            cancel_epoch,
            prior: PriorResults::new(),
        };
        self.run_pipeline(job, row, run).await
    }

    /// Starts the run of a request whose log arrived with its confirmations, ahead of the
    /// write that stores the request and creates the run ([`StoredRequest`]). Nothing else
    /// can serve a request that is not stored yet; a run that fails is queued again once its
    /// request is known to be stored.
    fn spawn_early(&self, row: RequestRow, run: RunInput, min_confirmations: u64) {
        let waiting = Waiting {
            block_number: row.block_number,
            min_confirmations,
            received: run.received,
        };
        self.spawn_permitted(move |this| async move {
            let request = run.request.clone();
            let served = match this.registry.get(row.job_id) {
                Some(job) => this.run_pipeline(&job, &row, run).await,
                // Deleted meanwhile: the queue path cancels the request.
                None => Err(crate::Error::Unsupported("job deleted".into())),
            };
            if let Err(e) = served
                && let Some(row_id) = request.row().await
            {
                this.retry_later(row_id, waiting, &e);
            }
        });
    }

    async fn run_pipeline(
        &self,
        job: &LoadedJob,
        row: &RequestRow,
        run: RunInput,
    ) -> crate::Result<()> {
        let RunInput {
            run_id,
            request,
            vars: run_vars,
            received,
            cancel_epoch,
            prior,
        } = run;
        metrics::histogram!("orakel_request_to_run_start_seconds")
            .record(received.elapsed().as_secs_f64());
        self.starts.insert(
            run_id,
            RunStart {
                received,
                request: request.clone(),
                gas_limit: job.spec.gas_limit,
                cancel_epoch,
            },
        );
        let ctx = RunContext {
            run_id: run_id.to_string(),
            job_spec_vars: job.spec.job_spec_vars(job.row.id),
            job_run_vars: run_vars,
            max_task_duration: job.spec.max_task_duration,
            prior_results: prior,
        };
        let continued = !ctx.prior_results.is_empty();
        let outcome = self.runner.execute(&job.spec.pipeline, ctx).await;
        self.starts.remove(run_id);
        // A run that started ahead of its request's write records nothing unless that write
        // stored the request as new (the sink sent nothing either).
        let Some(request_row) = request.row().await else {
            tracing::debug!(run = run_id, request = %row.request_id, "request not stored as new; run dropped");
            return Ok(());
        };
        let tasks: Vec<NewTaskRun> = outcome
            .tasks
            .iter()
            .map(|t| NewTaskRun {
                dot_id: t.dot_id.clone(),
                task_type: t.task_type.clone(),
                output: t.output.as_ref().and_then(|v| serde_json::to_value(v).ok()),
                error: t.error.clone(),
                started_at: t
                    .started_at
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
                    .unwrap_or(0),
                elapsed_us: i64::try_from(t.elapsed.as_micros()).unwrap_or(i64::MAX),
            })
            .collect();
        let outputs = serde_json::to_value(&outcome.outputs).unwrap_or(serde_json::Value::Null);
        let mut errors = outcome.errors.clone();
        let (run_state, req_state, reason) = match outcome.state {
            PipelineRunState::Suspended => match jobrun::suspension_of(job, &outcome) {
                Ok(suspension) => {
                    // Waiting for an asynchronous adapter answer: the run and its request stay
                    // open; the answer continues it (`PATCH /v2/resume/{run}`).
                    self.store
                        .suspend_run(run_id, &suspension, &jobrun::finished_task_rows(&outcome))
                        .await?;
                    tracing::info!(run = run_id, request = %row.request_id, "run suspended until its adapter answers");
                    metrics::counter!("orakel_runs_suspended_total", "job_type" => "directrequest")
                        .increment(1);
                    return Ok(());
                }
                Err(why) => {
                    errors.push(why);
                    (
                        RunState::Errored,
                        RequestState::Errored,
                        Some(errors.join("; ")),
                    )
                }
            },
            PipelineRunState::Completed => (RunState::Completed, RequestState::Fulfilled, None),
            PipelineRunState::Errored => (
                RunState::Errored,
                RequestState::Errored,
                Some(errors.join("; ")),
            ),
        };
        match run_state {
            RunState::Completed => {
                metrics::counter!("orakel_runs_total", "job_type" => "directrequest", "state" => "completed").increment(1)
            }
            _ => {
                tracing::warn!(run = run_id, request = %row.request_id, errors = ?errors, "run errored");
                metrics::counter!("orakel_runs_total", "job_type" => "directrequest", "state" => "errored").increment(1)
            }
        }
        // Written behind the answer: the fulfilment is already with the transaction manager
        // (keyed by this run), so if the process dies first the request is simply run again
        // at start-up and finds its transaction.
        let finished = FinishedRun {
            run_id,
            state: run_state,
            outputs,
            errors,
            tasks,
            request: Some((request_row, req_state, reason)),
        };
        // A continued run's suspension goes only once its end is stored (by the writer):
        // until then a restart must still see it waiting for nothing but its stored answer.
        if let Err(unsent) = self.results.send((finished, continued)) {
            let (run, continued) = unsent.0;
            self.store.finish_runs(std::slice::from_ref(&run)).await?;
            if continued {
                self.store.clear_suspension(run.run_id).await?;
            }
        }
        Ok(())
    }

    fn decode_request(&self, log: &Log, now_reason: &mut Vec<String>) -> Option<NewRequest> {
        let spec_id = *log.topics().get(1)?;
        let oracle = log.address();
        let job = self.registry.for_request(spec_id, oracle)?;
        let event = match OracleRequest::decode_log_data(log.data()) {
            Ok(ev) => ev,
            Err(e) => {
                now_reason.push(format!(
                    "undecodable OracleRequest in tx {:?}: {e}",
                    log.transaction_hash
                ));
                return None;
            }
        };
        let dr = job.spec.direct_request.as_ref()?;
        let ignore_reason =
            if !dr.requesters.is_empty() && !dr.requesters.contains(&event.requester) {
                Some(format!(
                    "requester {:#x} is not in the job's requesters",
                    event.requester
                ))
            } else if event.payment < dr.min_contract_payment {
                Some(format!(
                    "payment {} is below minContractPaymentLinkJuels {}",
                    event.payment, dr.min_contract_payment
                ))
            } else {
                None
            };
        Some(NewRequest {
            job_id: job.row.id,
            oracle_address: format!("{oracle:#x}"),
            request_id: format!("{:#x}", event.requestId),
            requester: format!("{:#x}", event.requester),
            payment: event.payment.to_string(),
            cancel_expiration: i64::try_from(event.cancelExpiration).unwrap_or(i64::MAX),
            block_number: log.block_number.unwrap_or(0),
            block_hash: format!("{:#x}", log.block_hash.unwrap_or_default()),
            tx_hash: format!("{:#x}", log.transaction_hash.unwrap_or_default()),
            log_index: log.log_index.unwrap_or(0),
            log_topics: log.topics().iter().map(|t| format!("{t:#x}")).collect(),
            log_data: log.data().data.to_vec(),
            ignore_reason,
            start: None,
        })
    }
}

impl RequestRunContinuation for DirectRequests {
    fn continue_request_run(&self, run_id: i64, request_row: i64, prior: PriorResults) {
        self.spawn_permitted(move |this| async move {
            if let Err(e) = this.continue_run(run_id, request_row, prior).await {
                tracing::error!(run = run_id, request = request_row, error = %e, "continuing a resumed request run failed");
            }
        });
    }
}

impl DirectRequests {
    async fn continue_run(
        &self,
        run_id: i64,
        request_row: i64,
        prior: PriorResults,
    ) -> crate::Result<()> {
        let Some(row) = self.store.request(request_row).await? else {
            return Ok(());
        };
        if row.state != RequestState::Running {
            // Cancelled on chain (or otherwise closed) while the adapter worked.
            self.store.clear_suspension(run_id).await?;
            return Ok(());
        }
        let Some(job) = self.registry.get(row.job_id) else {
            self.store.clear_suspension(run_id).await?;
            return Ok(());
        };
        let epoch = self.starts.cancel_epoch();
        let vars = run_vars(&row);
        let run = RunInput {
            run_id,
            request: StoredRequest::known(row.id),
            vars,
            received: Instant::now(),
            cancel_epoch: epoch,
            prior,
        };
        self.run_pipeline(&job, &row, run).await
    }
}

/// Most finished runs written in one commit.
const RESULT_BATCH: usize = 256;

/// How long the result writer gathers finished runs before a commit.
const RESULT_LINGER: std::time::Duration = std::time::Duration::from_millis(50);

/// Writes finished runs in batches (group commit) until every sender is gone. A failed write
/// is retried: the results are the node's record of what it answered.
async fn write_results(
    store: Store,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<(FinishedRun, bool)>,
) {
    while let Some(first) = rx.recv().await {
        // Nothing waits for these writes; gathering for a moment means fewer, larger commits
        // and more room on the single writer for the writes a fulfilment does wait for.
        tokio::time::sleep(RESULT_LINGER).await;
        let mut batch = vec![first];
        while batch.len() < RESULT_BATCH {
            match rx.try_recv() {
                Ok(run) => batch.push(run),
                Err(_) => break,
            }
        }
        let (runs, continued): (Vec<FinishedRun>, Vec<bool>) = batch.into_iter().unzip();
        let mut delay = std::time::Duration::from_millis(50);
        while let Err(e) = store.finish_runs(&runs).await {
            tracing::error!(error = %e, runs = runs.len(), "cannot store finished runs; retrying");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(std::time::Duration::from_secs(5));
        }
        // Suspensions of continued runs end with them (one delete removes every suspension
        // whose run is no longer running).
        if let Some(run) = runs
            .iter()
            .zip(&continued)
            .find(|(_, c)| **c)
            .map(|(r, _)| r)
            && let Err(e) = store.clear_suspension(run.run_id).await
        {
            tracing::warn!(error = %e, "cannot remove answered suspensions; they are removed with the next");
        }
    }
}

fn min_confirmations(job: &LoadedJob) -> u64 {
    job.spec
        .direct_request
        .as_ref()
        .map(|d| d.min_incoming_confirmations)
        .unwrap_or(1)
        .max(1)
}

/// The row a stored request has, built from what was stored (no read back).
fn request_row(req: &NewRequest, id: i64) -> RequestRow {
    RequestRow {
        id,
        job_id: req.job_id,
        oracle_address: req.oracle_address.clone(),
        request_id: req.request_id.clone(),
        requester: req.requester.clone(),
        payment: req.payment.clone(),
        cancel_expiration: req.cancel_expiration,
        block_number: req.block_number,
        block_hash: req.block_hash.clone(),
        tx_hash: req.tx_hash.clone(),
        log_index: req.log_index,
        log_topics: req.log_topics.clone(),
        log_data: req.log_data.clone(),
        state: RequestState::Pending,
        reason: None,
        received_at: orakel_store::now_micros(),
    }
}

/// The `jobRun.*` variables of a request: the raw log, and `meta.oracleRequest` with the
/// decoded event fields.
fn run_vars(row: &RequestRow) -> Value {
    let topics: Vec<B256> = row
        .log_topics
        .iter()
        .filter_map(|t| t.parse().ok())
        .collect();
    let address: Address = row.oracle_address.parse().unwrap_or_default();
    let block_hash: B256 = row.block_hash.parse().unwrap_or_default();
    let tx_hash: B256 = row.tx_hash.parse().unwrap_or_default();
    // Every field of the event, as text (hex for bytes and addresses, decimal for numbers),
    // the way adapters of the established node read `meta.oracleRequest`.
    let mut fields: Vec<(&str, Value)> = vec![
        ("requestId", Value::String(row.request_id.clone())),
        ("requester", Value::String(row.requester.clone())),
        ("payment", Value::String(row.payment.clone())),
        (
            "cancelExpiration",
            Value::String(row.cancel_expiration.to_string()),
        ),
    ];
    let log = alloy::primitives::LogData::new_unchecked(
        topics.clone(),
        Bytes::from(row.log_data.clone()),
    );
    if let Ok(event) = OracleRequest::decode_log_data(&log) {
        fields.extend([
            ("specId", Value::String(format!("{:#x}", event.specId))),
            (
                "callbackAddr",
                Value::String(format!("{:#x}", event.callbackAddr)),
            ),
            (
                "callbackFunctionId",
                Value::String(format!("{:#x}", event.callbackFunctionId)),
            ),
            ("dataVersion", Value::String(event.dataVersion.to_string())),
            ("data", Value::String(format!("{:#x}", event.data))),
        ]);
    }
    let meta = Value::map([("oracleRequest", Value::map(fields))]);
    orakel_pipeline::direct_request_run_vars(
        Bytes::from(row.log_data.clone()),
        &topics,
        address,
        block_hash,
        row.block_number,
        tx_hash,
        meta,
    )
}

#[async_trait]
impl LogHandler for DirectRequests {
    fn filter(&self) -> (Vec<Address>, Vec<B256>) {
        (
            self.registry.oracle_addresses(),
            vec![
                OracleRequest::SIGNATURE_HASH,
                CancelOracleRequest::SIGNATURE_HASH,
            ],
        )
    }

    async fn handle(&self, listener: &str, batch: LogBatch) -> orakel_chain::Result<()> {
        // A poll re-delivers what the subscription stored already: only its checkpoint is new.
        let received = Instant::now();
        let logs: Vec<(&Log, Instant)> = self
            .early
            .take_unseen(&batch.logs)
            .into_iter()
            .map(|log| (log, received))
            .collect();
        self.record(listener, &logs, batch.head, Some(&batch.checkpoint))
            .await
    }

    async fn handle_early(&self, listener: &str, logs: Vec<EarlyLog>) -> orakel_chain::Result<()> {
        // A subscribed log's block is mined: the chain is at least there.
        let head = logs
            .iter()
            .filter_map(|e| e.log.block_number)
            .max()
            .unwrap_or(0);
        let logs: Vec<(&Log, Instant)> = logs.iter().map(|e| (&e.log, e.received)).collect();
        self.record(listener, &logs, head, None).await
    }

    async fn on_head(&self, head: u64) {
        self.head.fetch_max(head, Ordering::Relaxed);
        self.wake.notify_one();
    }
}

/// What [`DirectRequests::record`] keeps for each request of a batch until its write answers.
struct Arrived {
    /// When its log was received.
    received: Instant,
    min_conf: u64,
    /// Set when its run started ahead of the write: tells the run whether it was stored.
    write: Option<RequestWrite>,
}

impl DirectRequests {
    /// Starts the run of confirmed request `req` ahead of the write that stores it: takes a run
    /// id, sets [`NewRequest::start`] so the write creates the run, and spawns it. `None` when
    /// the run's inputs cannot be built (the request then waits in the queue as pending).
    fn start_early(
        &self,
        req: &mut NewRequest,
        received: Instant,
        min_conf: u64,
        cancel_epoch: u64,
    ) -> Option<RequestWrite> {
        let mut row = request_row(req, 0);
        row.state = RequestState::Running;
        let vars = run_vars(&row);
        let inputs = serde_json::to_value(&vars).ok()?;
        let run_id = self.store.next_run_id();
        req.start = Some(StartRun { run_id, inputs });
        let (write, request) = StoredRequest::writing();
        let run = RunInput {
            run_id,
            request,
            vars,
            received,
            cancel_epoch,
            prior: PriorResults::new(),
        };
        self.spawn_early(row, run, min_conf);
        Some(write)
    }

    /// Stores request and cancellation logs, each with when it was received (with the
    /// listener's checkpoint when they come from a poll), and starts the runs of requests that
    /// are new and already confirmed. A log stored before (the poll re-delivering a subscribed
    /// log, or a re-read) starts nothing.
    async fn record(
        &self,
        listener: &str,
        logs: &[(&Log, Instant)],
        batch_head: u64,
        checkpoint: Option<&orakel_store::Checkpoint>,
    ) -> orakel_chain::Result<()> {
        let mut requests = Vec::new();
        // When each of `requests` was received (latency metrics).
        let mut received_at = Vec::new();
        let mut cancellations = Vec::new();
        let mut problems = Vec::new();
        for &(log, at) in logs {
            match log.topic0() {
                Some(t) if *t == OracleRequest::SIGNATURE_HASH => {
                    if let Some(req) = self.decode_request(log, &mut problems) {
                        requests.push(req);
                        received_at.push(at);
                    }
                }
                Some(t) if *t == CancelOracleRequest::SIGNATURE_HASH => {
                    if let Some(id) = log.topics().get(1) {
                        cancellations.push((format!("{:#x}", log.address()), format!("{id:#x}")));
                    }
                }
                _ => {}
            }
        }
        for p in problems {
            tracing::warn!("{p}");
        }
        // Requests that already have their confirmations start now, and their runs are created
        // in the write that stores them; the others wait in the confirmation queue.
        let head = self.head.load(Ordering::Relaxed).max(batch_head);
        let cancel_epoch = self.starts.cancel_epoch();
        let mut arrived: Vec<Arrived> = Vec::with_capacity(requests.len());
        for (req, received) in requests.iter_mut().zip(received_at) {
            let min_conf = self
                .registry
                .get(req.job_id)
                .map(|j| min_confirmations(&j))
                .unwrap_or(1);
            // Cancelled in this very batch: stored as pending and cancelled in the same write;
            // the queue path reads that and leaves it.
            let cancelled = cancellations
                .iter()
                .any(|(o, id)| *o == req.oracle_address && *id == req.request_id);
            let ready = req.ignore_reason.is_none()
                && !cancelled
                && head + 1 >= req.block_number + min_conf;
            let write = if ready {
                self.start_early(req, received, min_conf, cancel_epoch)
            } else {
                None
            };
            arrived.push(Arrived {
                received,
                min_conf,
                write,
            });
        }
        if arrived.iter().any(|a| a.write.is_some()) {
            // A spawned task waits in this thread's next-task slot, which no other thread
            // takes: let the runs reach their first wait (a source fetch) before this thread
            // spends its time on the write.
            tokio::task::yield_now().await;
        }
        let recording = Instant::now();
        // On failure the runs started above see their requests as not stored and stop; the
        // logs are read again (the poll did not pass them).
        let fresh = self
            .store
            .record_logs_starting(listener, &requests, &cancellations, checkpoint)
            .await?;
        metrics::histogram!("orakel_listener_record_seconds")
            .record(recording.elapsed().as_secs_f64());
        match checkpoint {
            None => self.early.stored(logs.iter().map(|&(log, _)| log)),
            Some(cp) => self.early.forget_through(cp.block_number),
        }
        metrics::histogram!("orakel_listener_batch_logs").record(logs.len() as f64);
        metrics::counter!("orakel_oracle_requests_total").increment(fresh.len() as u64);
        self.head.fetch_max(batch_head, Ordering::Relaxed);
        if !cancellations.is_empty() {
            self.starts.cancellations_stored();
        }
        for (index, row_id, run_id) in fresh {
            let (Some(req), Some(arrival)) = (requests.get(index), arrived.get_mut(index)) else {
                continue;
            };
            tracing::debug!(request = %req.request_id, block = req.block_number, "oracle request stored");
            match (run_id, arrival.write.take()) {
                (Some(_), Some(write)) => write.stored(row_id),
                _ => self.enqueue(row_id, req.block_number, arrival.min_conf, arrival.received),
            }
        }
        // The runs of requests that were stored before (writes left in `arrived`) stop as it
        // drops.
        if !cancellations.is_empty() {
            tracing::info!(count = cancellations.len(), "requests cancelled on chain");
        }
        self.wake.notify_one();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(block: u64, fork: u8, index: u64) -> Log {
        Log {
            block_hash: Some(B256::repeat_byte(fork)),
            block_number: Some(block),
            log_index: Some(index),
            ..Default::default()
        }
    }

    fn positions(logs: &[&Log]) -> Vec<(u64, u64)> {
        logs.iter()
            .map(|l| (l.block_number.unwrap_or(0), l.log_index.unwrap_or(0)))
            .collect()
    }

    #[tokio::test]
    async fn a_run_learns_whether_its_request_was_stored_as_new() {
        assert_eq!(StoredRequest::known(7).row().await, Some(7));

        let (write, request) = StoredRequest::writing();
        let waiter = tokio::spawn({
            let request = request.clone();
            async move { request.row().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "waits while the write is under way");
        write.stored(42);
        assert_eq!(waiter.await.ok().flatten(), Some(42));
        // The writer is gone by now; the answer stays.
        assert_eq!(request.row().await, Some(42));

        // A write that did not store the request (seen before, or failed) ends the wait too.
        let (write, request) = StoredRequest::writing();
        drop(write);
        assert_eq!(request.row().await, None);
    }

    /// A request of job `job_id` with request id `n`, as the listener would build it.
    fn new_request(job_id: i64, n: u8) -> NewRequest {
        NewRequest {
            job_id,
            oracle_address: format!("{:#x}", Address::repeat_byte(0xaa)),
            request_id: format!("{:#x}", B256::repeat_byte(n)),
            requester: format!("{:#x}", Address::repeat_byte(0xbb)),
            payment: "1".into(),
            cancel_expiration: 0,
            block_number: 5,
            block_hash: format!("{:#x}", B256::repeat_byte(5)),
            tx_hash: format!("{:#x}", B256::repeat_byte(n)),
            log_index: u64::from(n),
            log_topics: Vec::new(),
            log_data: Vec::new(),
            ignore_reason: None,
            start: None,
        }
    }

    #[tokio::test]
    async fn a_fulfilment_goes_only_for_a_request_stored_as_new_and_not_cancelled() {
        let store = Store::in_memory().await.unwrap();
        let job = store
            .insert_job(&orakel_store::NewJob {
                external_job_id: "0eec7e1d-d0d2-476c-a1a8-72dfb6633f46".into(),
                name: None,
                job_type: "directrequest".into(),
                spec_toml: String::new(),
            })
            .await
            .unwrap();
        let starts = RunStarts::default();
        let start = |request: StoredRequest| RunStart {
            received: Instant::now(),
            request,
            gas_limit: None,
            cancel_epoch: starts.cancel_epoch(),
        };

        // The run asks while its request is still being written: it waits for the write.
        let (write, request) = StoredRequest::writing();
        let mut req = new_request(job.id, 1);
        req.start = Some(StartRun {
            run_id: store.next_run_id(),
            inputs: serde_json::json!({}),
        });
        let run = start(request);
        let asking = run.clear_to_send(&starts, &store);
        tokio::pin!(asking);
        tokio::select! {
            biased;
            r = &mut asking => panic!("cleared to send before the write: {r:?}"),
            () = tokio::task::yield_now() => {}
        }
        let fresh = store
            .record_logs_starting("l", std::slice::from_ref(&req), &[], None)
            .await
            .unwrap();
        let [(0, row, Some(_))] = fresh.as_slice() else {
            panic!("one started request expected: {fresh:?}");
        };
        write.stored(*row);
        assert_eq!(asking.await, Ok(()));

        // The same log again (the poll after the subscription): not new, so its run stops.
        let (write, request) = StoredRequest::writing();
        let again = store
            .record_logs_starting("l", std::slice::from_ref(&req), &[], None)
            .await
            .unwrap();
        assert!(again.is_empty(), "{again:?}");
        drop(write);
        let refused = start(request).clear_to_send(&starts, &store).await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.contains("not stored as new")),
            "{refused:?}"
        );

        // Cancelled on chain after the run started: refused.
        store
            .record_logs_starting(
                "l",
                &[],
                &[(req.oracle_address.clone(), req.request_id.clone())],
                None,
            )
            .await
            .unwrap();
        starts.cancellations_stored();
        let refused = run.clear_to_send(&starts, &store).await;
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("cancelled")),
            "{refused:?}"
        );
        // A cancellation of another request moves the epoch too; this one may still send.
        let other = store
            .record_logs_starting("l", &[new_request(job.id, 2)], &[], None)
            .await
            .unwrap();
        let other_run = start(StoredRequest::known(other[0].1));
        store
            .record_logs_starting(
                "l",
                &[],
                &[(
                    req.oracle_address.clone(),
                    format!("{:#x}", B256::repeat_byte(9)),
                )],
                None,
            )
            .await
            .unwrap();
        starts.cancellations_stored();
        assert_eq!(other_run.clear_to_send(&starts, &store).await, Ok(()));
    }

    #[test]
    fn polls_skip_logs_stored_early_at_the_same_position_only() {
        let early = EarlyLogs::default();
        let (a, b) = (log(5, 1, 0), log(6, 2, 0));
        early.stored([&a, &b]);
        // The poll reads block 5 as it was, block 6 re-mined in another block (reorg), and a
        // log the subscription missed.
        let polled = [log(5, 1, 0), log(6, 3, 0), log(7, 4, 1)];
        assert_eq!(positions(&early.take_unseen(&polled)), vec![(6, 0), (7, 1)]);
        // Once the checkpoint passes block 6, the reorged-away entry is forgotten too.
        early.forget_through(6);
        assert_eq!(
            positions(&early.take_unseen(std::slice::from_ref(&b))),
            vec![(6, 0)]
        );
        // A later early log stays until its block is passed.
        early.stored([&log(9, 5, 2)]);
        early.forget_through(8);
        assert!(early.take_unseen(&[log(9, 5, 2)]).is_empty());
    }
}
