//! The `cron` job type: one scheduler task per node starts each cron job's runs at the times
//! of its `schedule`.
//!
//! Each tick stores a new run and executes it in the background, so a run still going when
//! the next tick comes blocks neither that tick nor other jobs. Ticks missed while the node
//! was stopped or busy are not made up: after a tick the next time is computed from the
//! current time. `@every` intervals count from when the node starts serving the job (its
//! creation, or the node's start), as established.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::jobrun::JobRuns;
use crate::registry::{JobRegistry, LoadedJob};

/// Longest sleep between checks, so clock changes and new jobs are noticed promptly.
const MAX_SLEEP: Duration = Duration::from_secs(1);

struct Entry {
    job: Arc<LoadedJob>,
    next: Option<SystemTime>,
}

/// Runs the scheduler until `cancel` fires.
pub async fn run(registry: Arc<JobRegistry>, runs: Arc<JobRuns>, cancel: CancellationToken) {
    let mut changes = registry.subscribe();
    let mut entries: HashMap<i64, Entry> = HashMap::new();
    loop {
        sync(&registry, &mut entries, SystemTime::now());
        let now = SystemTime::now();
        for entry in entries.values_mut() {
            let Some(next) = entry.next else { continue };
            if next > now {
                continue;
            }
            fire(&runs, entry.job.clone());
            entry.next = following(&entry.job, next, now);
        }
        let sleep = entries
            .values()
            .filter_map(|e| e.next)
            .min()
            .map(|t| {
                t.duration_since(SystemTime::now())
                    .unwrap_or(Duration::ZERO)
            })
            .unwrap_or(MAX_SLEEP)
            .min(MAX_SLEEP);
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(sleep) => {}
            changed = changes.changed() => {
                if changed.is_err() {
                    // The registry is gone: the node is stopping.
                    cancel.cancelled().await;
                    return;
                }
            }
        }
    }
}

/// Adds newly loaded cron jobs (first time from now) and drops removed ones.
fn sync(registry: &JobRegistry, entries: &mut HashMap<i64, Entry>, now: SystemTime) {
    let jobs: Vec<Arc<LoadedJob>> = registry
        .jobs()
        .into_iter()
        .filter(|j| j.spec.cron.is_some())
        .collect();
    entries.retain(|id, e| {
        jobs.iter()
            .any(|j| j.row.id == *id && Arc::ptr_eq(j, &e.job))
    });
    for job in jobs {
        if entries.contains_key(&job.row.id) {
            continue;
        }
        let next = job
            .spec
            .cron
            .as_ref()
            .and_then(|c| c.schedule.next_after(now));
        if let Some(at) = next {
            tracing::info!(job = job.row.id, schedule = %job.spec.cron.as_ref().map(|c| c.schedule.as_str()).unwrap_or(""), next_in = ?at.duration_since(now).unwrap_or_default(), "cron job scheduled");
        }
        entries.insert(job.row.id, Entry { job, next });
    }
}

/// The time after the tick at `scheduled`, handled at `now`.
fn following(job: &LoadedJob, scheduled: SystemTime, now: SystemTime) -> Option<SystemTime> {
    let schedule = &job.spec.cron.as_ref()?.schedule;
    match schedule.interval() {
        // Keep the cadence; if the node fell behind by more than an interval, restart it.
        Some(d) => scheduled
            .checked_add(d)
            .filter(|t| *t > now)
            .or_else(|| now.checked_add(d)),
        None => schedule.next_after(now),
    }
}

fn fire(runs: &Arc<JobRuns>, job: Arc<LoadedJob>) {
    let runs = runs.clone();
    // Storing the run is a database write; the scheduler does not wait for it.
    tokio::spawn(async move {
        let id = job.row.id;
        match runs.start(job, serde_json::json!({})).await {
            Ok(run) => tracing::debug!(job = id, run, "cron run started"),
            Err(e) => tracing::error!(job = id, error = %e, "starting a cron run failed"),
        }
    });
}
