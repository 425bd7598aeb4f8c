//! Integration tests of orakel-pipeline: spec corpus, end-to-end direct request runs
//! against a local HTTP server and a capturing transaction sink, runner behaviour and
//! property tests.

// Test helpers may fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bridge;
mod chain_read;
mod common;
mod corpus;
mod direct_request;
mod doc_examples;
mod job_types;
mod limits;
mod malformed;
mod props;
mod runner;
