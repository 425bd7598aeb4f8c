//! The end-to-end load driver behind `make bench`: one node, a steady stream of price requests
//! sent as pre-signed raw transactions at a fixed rate, fulfilments counted on chain, the
//! node's own latency histogram read from its `/metrics`, its memory read from `/proc`.

use std::time::{Duration, Instant};

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Bytes, I256, TxKind, U256};
use alloy::providers::Provider;
use alloy::sol_types::SolCall;
use alloy_signer_local::PrivateKeySigner;
use orakel_contracts::PriceConsumer;
use serde::Serialize;

use crate::process::{ChainState, cpu_seconds, rss_mib};
use crate::{Devnet, Error, Result};

/// anvil's second default account: the load generator's key (development only).
pub const ANVIL_SECOND_KEY: &str =
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/// Load settings.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Requests per second offered.
    pub rate: u32,
    /// How long to offer them.
    pub duration: Duration,
    /// Seconds at the start not counted in the sustained rate.
    pub warmup: Duration,
}

/// Measured figures.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Requests offered per second.
    pub offered_per_s: f64,
    /// Nice value anvil ran at (0: the same priority as the node).
    pub chain_nice: u8,
    /// Whether anvil and the node ran in sessions of their own (separate scheduling groups,
    /// ADR 0012) or in the bench's.
    pub own_sessions: bool,
    /// Whether anvil forked an idle base anvil, so that it computed no state roots (ADR 0015),
    /// or held its own full state.
    pub forked_chain: bool,
    /// Requests sent.
    pub sent: usize,
    /// Fulfilments mined per second between warm-up and the end of the window.
    pub fulfilments_per_s: f64,
    /// Fulfilments mined by the end of the drain.
    pub fulfilled_total: usize,
    /// Node-side latency, log received → fulfilment broadcast, p50 (ms).
    pub latency_p50_ms: f64,
    /// Same, p99 (ms).
    pub latency_p99_ms: f64,
    /// Node RSS before load (MiB).
    pub rss_idle_mb: f64,
    /// Highest node RSS under load (MiB).
    pub rss_loaded_mb: f64,
    /// Window length (s).
    pub duration_s: f64,
    /// Cores anvil used between warm-up and the end of the window (with its base, if forked).
    pub chain_cores: Option<f64>,
    /// Blocks anvil mined per second between warm-up and the end of the window.
    pub blocks_per_s: f64,
    /// Node cores used between warm-up and the end of the window.
    pub node_cores: Option<f64>,
    /// Node-side stages under load, `(metric, p50, p99)` in seconds (batch size in items).
    pub stages: Vec<(String, f64, f64)>,
}

fn chain_err(e: impl std::fmt::Display) -> Error {
    Error::Chain(e.to_string())
}

/// Cumulative bucket counts `(upper bound, count)` of a Prometheus histogram.
pub fn histogram_buckets(text: &str, metric: &str) -> Vec<(f64, f64)> {
    let prefix = format!("{metric}_bucket{{le=\"");
    let mut out: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(&prefix)?;
            let (le, count) = rest.split_once("\"}")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, count.trim().parse().ok()?))
        })
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// The `q` quantile of the observations made between two scrapes of a histogram, interpolated
/// linearly inside its bucket.
pub fn window_quantile(before: &[(f64, f64)], after: &[(f64, f64)], q: f64) -> Option<f64> {
    let counts: Vec<(f64, f64)> = after
        .iter()
        .map(|(le, n)| {
            let old = before
                .iter()
                .find(|(b, _)| b == le)
                .map(|(_, c)| *c)
                .unwrap_or(0.0);
            (*le, n - old)
        })
        .collect();
    let total = counts.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower = 0.0;
    let mut below = 0.0;
    for (le, cum) in counts {
        if cum >= rank {
            if le.is_infinite() {
                return Some(lower);
            }
            let inside = cum - below;
            let frac = if inside > 0.0 {
                (rank - below) / inside
            } else {
                0.0
            };
            return Some(lower + frac * (le - lower));
        }
        lower = le;
        below = cum;
    }
    None
}

/// Reads a quantile of a Prometheus summary from exposition text; `metric` may carry labels
/// (`name{label="value"}`), which the exporter writes before the quantile.
pub fn summary_quantile(text: &str, metric: &str, quantile: &str) -> Option<f64> {
    let prefix = match metric.strip_suffix('}') {
        Some(labelled) => format!("{labelled},quantile=\"{quantile}\"}}"),
        None => format!("{metric}{{quantile=\"{quantile}\"}}"),
    };
    text.lines().find_map(|l| {
        l.strip_prefix(&prefix)
            .and_then(|rest| rest.trim().parse().ok())
    })
}

async fn scrape(devnet: &Devnet, node: &crate::DevnetNode) -> Result<String> {
    let metrics_url = format!("{}/metrics", node.process.api_url);
    reqwest::Client::new()
        .get(&metrics_url)
        .bearer_auth(devnet.api_token(node))
        .send()
        .await
        .map_err(|e| Error::Api {
            url: metrics_url.clone(),
            message: e.to_string(),
        })?
        .text()
        .await
        .map_err(|e| Error::Api {
            url: metrics_url.clone(),
            message: e.to_string(),
        })
}

/// Runs the load against node 0 of `devnet`.
pub async fn run(
    devnet: &Devnet,
    opts: &BenchOptions,
    mut say: impl FnMut(&str),
) -> Result<BenchReport> {
    let node = devnet
        .nodes
        .first()
        .ok_or_else(|| Error::Setup("bench needs one node".into()))?;
    let pid = node
        .process
        .pid()
        .ok_or_else(|| Error::Setup("node not running".into()))?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = rss_mib(pid).unwrap_or(0.0);
    say(&format!("idle node RSS {rss_idle:.1} MiB"));

    let signer: PrivateKeySigner = ANVIL_SECOND_KEY
        .parse()
        .map_err(|e| Error::Setup(format!("load key: {e}")))?;
    let from = signer.address();
    let chain_id = devnet.provider.get_chain_id().await.map_err(chain_err)?;
    let mut nonce = devnet
        .provider
        .get_transaction_count(from)
        .pending()
        .await
        .map_err(chain_err)?;
    let total = (f64::from(opts.rate) * opts.duration.as_secs_f64()).round() as usize;
    let pairs = ["ETH-USD", "BTC-USD", "LINK-USD"];
    let mut raws = Vec::with_capacity(total);
    for i in 0..total {
        let call = PriceConsumer::requestPriceCall {
            specId: node.spec_id,
            pair: pairs[i % pairs.len()].to_string(),
            times: I256::try_from(crate::demo::TIMES).unwrap_or_default(),
            payment: U256::from(100_000_000_000_000_000u64),
        };
        let mut tx = TxEip1559 {
            chain_id,
            nonce,
            gas_limit: 400_000,
            max_fee_per_gas: 100_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(node.consumer),
            value: U256::ZERO,
            access_list: Default::default(),
            input: Bytes::from(call.abi_encode()),
        };
        let sig = signer
            .sign_transaction_sync(&mut tx)
            .map_err(|e| Error::Setup(e.to_string()))?;
        raws.push(Bytes::from(
            TxEnvelope::from(tx.into_signed(sig)).encoded_2718(),
        ));
        nonce += 1;
    }
    say(&format!(
        "offering {} requests/s for {:?} ({total} pre-signed requests)",
        opts.rate, opts.duration
    ));

    let start_block = devnet.block_number().await?;
    let provider = devnet.provider.clone();
    let t0 = Instant::now();
    // One sender, strictly in nonce order (anvil's automine can leave transactions that
    // arrive out of order unmined): every 10 ms, whatever is due goes out as one batch.
    let sender = {
        let provider = provider.clone();
        let rate = f64::from(opts.rate);
        tokio::spawn(async move {
            let mut next = 0usize;
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            while next < raws.len() {
                tick.tick().await;
                let due = ((t0.elapsed().as_secs_f64() * rate) as usize + 1).min(raws.len());
                if due <= next {
                    continue;
                }
                let client = provider.client();
                let mut batch = alloy::rpc::client::BatchRequest::new(client);
                let mut waiters = Vec::new();
                for raw in raws.get(next..due).unwrap_or_default() {
                    if let Ok(w) = batch
                        .add_call::<_, serde_json::Value>("eth_sendRawTransaction", &(raw.clone(),))
                    {
                        waiters.push(w);
                    }
                }
                let _ = batch.send().await;
                for w in waiters {
                    let _ = w.await;
                }
                next = due;
            }
        })
    };

    let mut rss_loaded = rss_idle;
    let mut metrics_text = String::new();
    let mut metrics_at_warmup = String::new();
    let mut fulfilled_at_warmup = None;
    let mut fulfilled_at_end = None;
    // (block, anvil CPU s, node CPU s) at the end of the warm-up and of the window.
    let mut usage_at_warmup = None;
    let mut usage_at_end = None;
    let chain_pids = devnet.chain_pids();
    let chain_cpu = || -> Option<f64> {
        let used: Option<Vec<f64>> = chain_pids.iter().map(|&p| cpu_seconds(p)).collect();
        used.filter(|u| !u.is_empty()).map(|u| u.iter().sum())
    };
    let usage = |head: u64| (head, chain_cpu(), cpu_seconds(pid));
    let mut scanned = start_block;
    let mut fulfilled = 0usize;
    let drain_limit = opts.duration + Duration::from_secs(30);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if let Some(rss) = rss_mib(pid) {
            rss_loaded = rss_loaded.max(rss);
        }
        let head = devnet.block_number().await?;
        if head >= scanned {
            fulfilled += devnet.fulfilments(scanned, Some(head)).await?.len();
            scanned = head + 1;
        }
        let elapsed = t0.elapsed();
        if fulfilled_at_warmup.is_none() && elapsed >= opts.warmup {
            fulfilled_at_warmup = Some((fulfilled, elapsed));
            usage_at_warmup = Some(usage(head));
            metrics_at_warmup = scrape(devnet, node).await?;
        }
        if fulfilled_at_end.is_none() && elapsed >= opts.duration {
            fulfilled_at_end = Some((fulfilled, elapsed));
            usage_at_end = Some(usage(head));
            // The node's summaries cover a rolling window: read them while under load.
            metrics_text = scrape(devnet, node).await?;
            say(&format!(
                "window over: {fulfilled} fulfilled so far; draining"
            ));
        }
        if fulfilled_at_end.is_some() && (fulfilled >= total || elapsed >= drain_limit) {
            break;
        }
    }
    let _ = sender.await;
    let (w_count, w_at) = fulfilled_at_warmup.unwrap_or((0, Duration::ZERO));
    let (e_count, e_at) = fulfilled_at_end.unwrap_or((fulfilled, t0.elapsed()));
    let window = (e_at - w_at).as_secs_f64().max(0.001);
    let rate = (e_count.saturating_sub(w_count)) as f64 / window;
    let per_s = |from: Option<f64>, to: Option<f64>| from.zip(to).map(|(a, b)| (b - a) / window);
    let (blocks_per_s, chain_cores, node_cores) = match (usage_at_warmup, usage_at_end) {
        (Some((b0, c0, n0)), Some((b1, c1, n1))) => (
            b1.saturating_sub(b0) as f64 / window,
            per_s(c0, c1),
            per_s(n0, n1),
        ),
        _ => (0.0, None, None),
    };
    let cores = |c: Option<f64>| c.map_or("?".to_string(), |c| format!("{c:.2}"));
    say(&format!(
        "in the window: {blocks_per_s:.0} blocks/s; anvil {} cores, node {} cores",
        cores(chain_cores),
        cores(node_cores)
    ));

    let mut stages = Vec::new();
    for stage in [
        "orakel_listener_batch_logs",
        "orakel_listener_record_seconds",
        "orakel_request_to_run_start_seconds",
        "orakel_request_to_tx_submit_seconds",
        "orakel_txm_create_wait_seconds",
        "orakel_txm_create_commit_seconds",
        "orakel_txm_create_batch_size",
        "orakel_txm_outbox_wait_seconds",
        "orakel_txm_broadcast_rpc_seconds",
        "orakel_txm_broadcast_batch_size",
        "orakel_pipeline_task_seconds{task_type=\"http\"}",
    ] {
        let q = |p| summary_quantile(&metrics_text, stage, p).unwrap_or(f64::NAN);
        say(&format!(
            "{stage}: p50 {:.4} p99 {:.4}",
            q("0.5"),
            q("0.99")
        ));
        stages.push((stage.to_string(), q("0.5"), q("0.99")));
    }
    // Exact (to a bucket) quantiles of the latency observed inside the measured window.
    let metric = "orakel_request_to_broadcast_seconds";
    let before = histogram_buckets(&metrics_at_warmup, metric);
    let after = histogram_buckets(&metrics_text, metric);
    let p50 = window_quantile(&before, &after, 0.5).unwrap_or(f64::NAN) * 1000.0;
    let p99 = window_quantile(&before, &after, 0.99).unwrap_or(f64::NAN) * 1000.0;
    Ok(BenchReport {
        offered_per_s: f64::from(opts.rate),
        chain_nice: devnet.cfg.chain_nice,
        own_sessions: devnet.cfg.own_sessions,
        forked_chain: devnet.cfg.chain_state == ChainState::ForkedFromIdleBase,
        sent: total,
        fulfilments_per_s: rate,
        fulfilled_total: fulfilled,
        latency_p50_ms: p50,
        latency_p99_ms: p99,
        rss_idle_mb: rss_idle,
        rss_loaded_mb: rss_loaded,
        duration_s: opts.duration.as_secs_f64(),
        chain_cores,
        blocks_per_s,
        node_cores,
        stages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_quantiles_from_histogram_scrapes() {
        let before =
            "x_bucket{le=\"0.001\"} 10\nx_bucket{le=\"0.002\"} 10\nx_bucket{le=\"+Inf\"} 10\n";
        let after =
            "x_bucket{le=\"0.001\"} 10\nx_bucket{le=\"0.002\"} 110\nx_bucket{le=\"+Inf\"} 110\n";
        let (b, a) = (
            histogram_buckets(before, "x"),
            histogram_buckets(after, "x"),
        );
        assert_eq!(a.len(), 3);
        // The 100 new observations all lie in (1 ms, 2 ms]: the median interpolates to 1.5 ms.
        let p50 = window_quantile(&b, &a, 0.5).unwrap_or_default();
        assert!((p50 - 0.0015).abs() < 1e-9, "{p50}");
        assert_eq!(
            window_quantile(&a, &a, 0.5),
            None,
            "no observations in the window"
        );
    }

    #[test]
    fn reads_summary_quantiles() {
        let text =
            "# TYPE x summary\nx{quantile=\"0.5\"} 0.0021\nx{quantile=\"0.99\"} 0.0105\nx_sum 1\n";
        assert_eq!(summary_quantile(text, "x", "0.5"), Some(0.0021));
        assert_eq!(summary_quantile(text, "x", "0.99"), Some(0.0105));
        assert_eq!(summary_quantile(text, "x", "0.9"), None);
        let labelled = "y{task_type=\"http\",quantile=\"0.5\"} 0.0014\n\
                        y{task_type=\"jsonparse\",quantile=\"0.5\"} 0.00001\n";
        assert_eq!(
            summary_quantile(labelled, "y{task_type=\"http\"}", "0.5"),
            Some(0.0014)
        );
        assert_eq!(summary_quantile(labelled, "y", "0.5"), None);
    }
}
