//! Job specs (TOML + DOT), pipeline variables, task types and the run engine.
//!
//! This crate owns everything between a job spec's text and the outputs of a run:
//!
//! - [`parse_job_spec`]: TOML job specs of the established format (`type`,
//!   `schemaVersion`, `externalJobID`, `observationSource`, directrequest fields…) with
//!   errors located at the spec file's line and column — including errors inside the DOT
//!   pipeline string;
//! - the DOT dialect of `observationSource` ([`parse_dot`]), compiled into a [`Pipeline`]
//!   whose parameters are pre-compiled templates (`$(task.path)` variables);
//! - [`Value`]: exact decimals (never `f64`), bytes, addresses, strings, lists and maps;
//! - the task types (`http`, `jsonparse`, `cborparse`, `ethabidecodelog`, `ethabiencode`,
//!   `multiply`, `divide`, `median`, `ethtx`, … see [`task_types`]), one module each;
//! - [`Runner`]: executes a pipeline, pure tasks synchronously in topological order and
//!   I/O tasks concurrently, containing panics; a run with an async `bridge` task can
//!   suspend ([`RunState::Suspended`]) and be resumed with [`RunContext::prior_results`];
//! - bridges (external adapters): [`BridgeDef`] with JSON Schema contracts compiled once,
//!   looked up through the injected [`BridgeRegistry`], and [`decode_bridge_response`].
//!
//! It must not touch anything else: no database (the caller stores [`RunOutcome`]s), no
//! chain RPC — the ways to the chain are the injected [`EthTxSink`] (the node's transaction
//! manager) and [`ChainReader`] (`ethcall`, `estimategaslimit`). The only network access is
//! the `http` and `bridge` tasks'. Each task's duration goes to the `metrics` facade
//! (`orakel_pipeline_task_seconds{task_type}`); whoever installs a recorder decides where.

mod abi;
mod bridge;
pub mod cbor;
mod chain;
mod decimal;
mod dot;
mod error;
pub mod json;
mod pipeline;
mod runner;
mod spec;
mod tasks;
mod template;
mod value;

pub use bridge::{
    BridgeDef, BridgeError, BridgeParams, BridgeRegistry, BridgeReply, decode_bridge_response,
};
pub use cbor::{CborError, decode_cbor, decode_diet_cbor, encode_cbor, encode_diet_cbor};
pub use chain::{BlockRef, ChainCall, ChainReader};
pub use dot::{DotAttr, DotEdge, DotError, DotGraph, DotNode, parse_dot};
pub use error::{Error, Result};
pub use json::{JsonError, JsonTemplate, parse_json, parse_template as parse_json_template};
pub use pipeline::{Pipeline, TaskInfo};
pub use runner::{
    EthTxRequest, EthTxSink, RunContext, RunOutcome, RunState, Runner, RunnerConfig, TaskResult,
    TxSubmitted,
};
pub use spec::{
    BridgeTaskRef, CronSpec, ExternalInitiatorRef, Schedule, ScheduleError, SlaSpec, WebhookSpec,
    sla_answer, sla_run_vars,
}; // cron/webhook/sla job types
pub use spec::{
    DEFAULT_MIN_INCOMING_CONFIRMATIONS, DirectRequestSpec, JobSpec, JobType, SpecError,
    direct_request_run_vars, format_duration, job_id_from_spec_id, parse_duration, parse_job_spec,
    spec_id_forms,
};
pub use tasks::task_types;
pub use value::{Value, ValueError, parse_address, parse_hex};
