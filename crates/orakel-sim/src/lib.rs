//! A local data-source simulator: several price sources per asset pair with noise, outliers
//! and faults, served over HTTP on loopback for the demo and the end-to-end tests.
//!
//! # What this crate owns
//!
//! * [`Simulator`]: a pure, I/O-free model. Every value it produces is a deterministic
//!   function of `(seed, pair, source, tick)`, so a test can compute exactly what each source
//!   serves in a tick ([`Simulator::observation`]) and what a median aggregation over all
//!   sources must answer ([`Simulator::expected_median`]).
//! * [`SimServer`]: an axum server that exposes the simulator as many small price APIs
//!   (`GET /sources/{source}/price?pair=ETH-USD`), plus introspection routes (`/sim/info`,
//!   `/sim/expected`) and fixed-behaviour fault routes (`/fixed`, `/fault/...`) for tests.
//!
//! # What it must not touch
//!
//! It has no knowledge of the chain, the pipeline, the store or the node: it only serves data
//! over HTTP. It opens no connection of its own and writes no file. Served prices are
//! computed with [`BigDecimal`] in fixed point; no float ever reaches a served value.
//!
//! # Routes
//!
//! | route | answer |
//! |---|---|
//! | `GET /sources/{source}/price?pair=P[&tick=N]` | `{"pair":P,"source":S,"price":<number>,"tick":N}` or the source's fault |
//! | `GET /sim/info` | configuration summary, current tick, current true prices, stats |
//! | `GET /sim/expected?pair=P[&tick=N]` | `{"pair":P,"tick":N,"median":"<decimal>"\|null,"count":K}` |
//! | `GET /fixed?value=V` | `{"price":V}` with `V` echoed literally |
//! | `GET /fault/garbage` | HTTP 200 with an HTML body |
//! | `GET /fault/status/{code}` | HTTP `code` with a JSON error body |
//! | `GET /fault/slow?ms=N` | `{"price":1}` after `N` milliseconds |
//! | `GET /fault/huge?bytes=N` | a valid JSON body of `N` bytes |
//!
//! Bad input never panics: it yields HTTP 400 with `{"error":..,"parameter":..}`.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod config;
mod server;
mod sim;

pub use bigdecimal::BigDecimal;
pub use config::{MAX_DECIMALS, MAX_NOISE_BPS, PairConfig, SimConfig};
pub use server::{SimHandle, SimServer, SimStats};
pub use sim::{Observation, ObservationKind, Simulator, median};

use std::net::SocketAddr;

/// Errors of the simulator crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is not usable; the message names the offending field.
    #[error("invalid simulator config: {0}")]
    InvalidConfig(String),
    /// The server could not bind its listening socket.
    #[error("cannot bind simulator server to {addr}: {source}")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The bound socket's local address could not be read.
    #[error("cannot read simulator server address: {0}")]
    LocalAddr(std::io::Error),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
