//! The jobs a node serves, indexed the way requests find them: by the `specId` topic (both
//! encodings of the external job id) and by the contract that emits the requests. Services
//! that follow the set of jobs (the cron scheduler) watch [`JobRegistry::subscribe`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use alloy::primitives::{Address, B256};
use orakel_pipeline::JobSpec;
use orakel_store::JobRow;
use tokio::sync::watch;
use uuid::Uuid;

/// A job loaded for serving.
#[derive(Debug)]
pub struct LoadedJob {
    /// Database row.
    pub row: JobRow,
    /// Parsed spec.
    pub spec: JobSpec,
}

#[derive(Default)]
struct Index {
    by_spec_id: HashMap<B256, Arc<LoadedJob>>,
    by_db_id: HashMap<i64, Arc<LoadedJob>>,
}

/// Thread-safe job index. Reads are frequent (every log), writes rare (job create/delete).
pub struct JobRegistry {
    index: RwLock<Index>,
    // Bumped on every insert and removal.
    changes: watch::Sender<u64>,
}

impl Default for JobRegistry {
    fn default() -> Self {
        Self {
            index: RwLock::default(),
            changes: watch::Sender::new(0),
        }
    }
}

impl std::fmt::Debug for JobRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobRegistry")
            .field("jobs", &self.len())
            .finish()
    }
}

impl JobRegistry {
    /// Adds (or replaces) a job.
    pub fn insert(&self, job: LoadedJob) -> Arc<LoadedJob> {
        let job = Arc::new(job);
        if let Ok(mut idx) = self.index.write() {
            for form in orakel_pipeline::spec_id_forms(&job.spec.external_job_id) {
                idx.by_spec_id.insert(form, job.clone());
            }
            idx.by_db_id.insert(job.row.id, job.clone());
        }
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
        job
    }

    /// Removes a job by database id.
    pub fn remove(&self, id: i64) {
        if let Ok(mut idx) = self.index.write()
            && let Some(job) = idx.by_db_id.remove(&id)
        {
            for form in orakel_pipeline::spec_id_forms(&job.spec.external_job_id) {
                idx.by_spec_id.remove(&form);
            }
        }
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that sees a new value whenever a job is added or removed.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Every loaded job, by database id.
    pub fn jobs(&self) -> Vec<Arc<LoadedJob>> {
        let Ok(idx) = self.index.read() else {
            return Vec::new();
        };
        let mut jobs: Vec<Arc<LoadedJob>> = idx.by_db_id.values().cloned().collect();
        jobs.sort_by_key(|j| j.row.id);
        jobs
    }

    /// A job by its external job id.
    pub fn by_external_id(&self, id: &Uuid) -> Option<Arc<LoadedJob>> {
        let [form, _] = orakel_pipeline::spec_id_forms(id);
        self.index.read().ok()?.by_spec_id.get(&form).cloned()
    }

    /// The job a request's `specId` topic names, if it listens on `oracle`.
    pub fn for_request(&self, spec_id: B256, oracle: Address) -> Option<Arc<LoadedJob>> {
        let idx = self.index.read().ok()?;
        let job = idx.by_spec_id.get(&spec_id)?;
        let dr = job.spec.direct_request.as_ref()?;
        (dr.contract_address == oracle).then(|| job.clone())
    }

    /// The `sla` job an `SlaProposed` log's `specId` names, if it serves `market`.
    pub fn for_sla(&self, spec_id: B256, market: Address) -> Option<Arc<LoadedJob>> {
        let idx = self.index.read().ok()?;
        let job = idx.by_spec_id.get(&spec_id)?;
        let sla = job.spec.sla.as_ref()?;
        (sla.market_address == market).then(|| job.clone())
    }

    /// Every SLA market some `sla` job serves.
    pub fn sla_markets(&self) -> Vec<Address> {
        let Ok(idx) = self.index.read() else {
            return Vec::new();
        };
        let mut out: Vec<Address> = idx
            .by_db_id
            .values()
            .filter_map(|j| j.spec.sla.as_ref().map(|s| s.market_address))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// A job by database id.
    pub fn get(&self, id: i64) -> Option<Arc<LoadedJob>> {
        self.index.read().ok()?.by_db_id.get(&id).cloned()
    }

    /// Every contract some direct-request job listens to.
    pub fn oracle_addresses(&self) -> Vec<Address> {
        let Ok(idx) = self.index.read() else {
            return Vec::new();
        };
        let mut out: Vec<Address> = idx
            .by_db_id
            .values()
            .filter_map(|j| j.spec.direct_request.as_ref().map(|d| d.contract_address))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Number of jobs.
    pub fn len(&self) -> usize {
        self.index.read().map(|i| i.by_db_id.len()).unwrap_or(0)
    }

    /// True when no job is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
