//! End-to-end tests of the direct-request loop: a real anvil, the real contracts, the source
//! simulator and orakel nodes running as separate processes of the built `orakel` binary.
//! They need anvil (`make setup` installs it); without it they fail and say so.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod adapters;
mod async_request;
mod bridges;
mod cancel;
mod cron;
mod direct_request;
mod ethtx;
mod faults;
mod pool;
mod pool_cli;
mod restart;
mod sla;
mod specs;
mod webhook;
