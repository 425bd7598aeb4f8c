//! The demo: consumers ask the nodes for prices, the nodes fetch several simulated sources
//! (directly over HTTP, and one through the sample external adapter when the devnet runs it),
//! take the median and fulfil on chain; every answer is checked against what the sources
//! served, and the nodes' runs show how often the adapter's price went into the median.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime};

use alloy::primitives::{B256, U256};
use bigdecimal::BigDecimal;
use tokio_util::sync::CancellationToken;

use crate::{Devnet, Result};

/// Scale of answers: price × 10^18, so any median (even counts add a decimal) is an integer.
pub const TIMES: i64 = 1_000_000_000_000_000_000;

/// Demo settings.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Requests to send (spread round-robin over nodes and pairs).
    pub requests: usize,
    /// Pause between requests.
    pub interval: Duration,
    /// How long to wait for the last answers.
    pub settle: Duration,
    /// Payment per request, in juels.
    pub payment: U256,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            requests: 24,
            interval: Duration::from_millis(500),
            settle: Duration::from_secs(30),
            payment: U256::from(100_000_000_000_000_000u64),
        }
    }
}

/// One request's fate.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// Sequence number (1-based).
    pub n: usize,
    /// Node asked.
    pub node: usize,
    /// Pair asked for.
    pub pair: String,
    /// Request id.
    pub request_id: B256,
    sent: Instant,
    sent_at: SystemTime,
    /// Answer stored by the consumer, and latency from send to seeing it on chain.
    pub answer: Option<(U256, Duration)>,
    /// Whether the answer equals the simulator's median for the request's tick.
    pub correct: Option<bool>,
}

/// How the nodes' runs used the sample adapter (read from their run records).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdapterUse {
    /// Finished runs of the demo's jobs, over every node.
    pub runs: usize,
    /// Runs in which the adapter answered and its price was parsed into the median.
    pub answered: usize,
}

/// Demo outcome.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    /// Every request.
    pub requests: Vec<Tracked>,
    /// Stopped by the user.
    pub interrupted: bool,
    /// The adapter's part, when the devnet runs it.
    pub adapter: Option<AdapterUse>,
}

impl DemoSummary {
    /// Requests answered on chain.
    pub fn fulfilled(&self) -> usize {
        self.requests.iter().filter(|r| r.answer.is_some()).count()
    }
    /// Answers equal to the sources' median.
    pub fn correct(&self) -> usize {
        self.requests
            .iter()
            .filter(|r| r.correct == Some(true))
            .count()
    }
    /// True when every request was answered correctly and, when the devnet runs the
    /// adapter, its price was part of at least one answer (a failing adapter would otherwise
    /// go unnoticed: the median tolerates a missing input).
    pub fn success(&self) -> bool {
        !self.requests.is_empty()
            && self.correct() == self.requests.len()
            && self.adapter.is_none_or(|a| a.answered > 0)
    }
}

/// Formats a value scaled by [`TIMES`] as a decimal.
pub fn unscale(v: U256) -> String {
    let s = BigDecimal::from_str(&v.to_string()).unwrap_or_default() / BigDecimal::from(TIMES);
    s.normalized().to_string()
}

/// The simulator's median for `pair` in `tick`, scaled by [`TIMES`].
pub fn expected_scaled(devnet: &Devnet, pair: &str, tick: u64) -> Option<U256> {
    let median = devnet.sim.simulator().expected_median(pair, tick)?;
    let scaled = (median * BigDecimal::from(TIMES)).with_scale(0);
    U256::from_str(&scaled.to_string()).ok()
}

/// Runs the demo; `say` receives each line to print.
pub async fn run(
    devnet: &Devnet,
    opts: &DemoOptions,
    cancel: &CancellationToken,
    mut say: impl FnMut(&str),
) -> Result<DemoSummary> {
    let pairs: Vec<String> = devnet.sim.simulator().pairs().map(str::to_string).collect();
    let mut tracked: Vec<Tracked> = Vec::new();
    let mut by_id: HashMap<B256, usize> = HashMap::new();
    let start_block = devnet.block_number().await?;
    let mut scanned = start_block;
    let mut next_send = Instant::now();
    let mut last_sent: Option<Instant> = None;
    let mut interrupted = false;

    loop {
        if cancel.is_cancelled() {
            interrupted = true;
            break;
        }
        // Send the next request when due.
        if tracked.len() < opts.requests && Instant::now() >= next_send {
            let n = tracked.len() + 1;
            let node = (n - 1) % devnet.nodes.len().max(1);
            let pair = pairs
                .get((n - 1) % pairs.len().max(1))
                .cloned()
                .unwrap_or_default();
            let sent = Instant::now();
            let sent_at = SystemTime::now();
            match devnet.request_price(node, &pair, TIMES, opts.payment).await {
                Ok(req) => {
                    say(&format!(
                        "→ #{n:<3} {pair:<9} asked node-{node}  request {}…",
                        &format!("{:#x}", req.request_id)[..12]
                    ));
                    by_id.insert(req.request_id, tracked.len());
                    tracked.push(Tracked {
                        n,
                        node,
                        pair,
                        request_id: req.request_id,
                        sent,
                        sent_at,
                        answer: None,
                        correct: None,
                    });
                }
                Err(e) => say(&format!("✗ #{n:<3} {pair:<9} request failed: {e}")),
            }
            next_send += opts.interval;
            last_sent = Some(Instant::now());
        }
        // Look for answers.
        let head = devnet.block_number().await?;
        if head >= scanned {
            for f in devnet.fulfilments(scanned, Some(head)).await? {
                let Some(&i) = by_id.get(&f.request_id) else {
                    continue;
                };
                let Some(t) = tracked.get_mut(i) else {
                    continue;
                };
                if t.answer.is_some() {
                    continue;
                }
                let latency = t.sent.elapsed();
                let sim = devnet.sim.simulator();
                let first = sim.tick_at(t.sent_at).saturating_sub(1);
                let last = sim.tick_at(SystemTime::now());
                let expected: Vec<U256> = (first..=last)
                    .filter_map(|tick| expected_scaled(devnet, &t.pair, tick))
                    .collect();
                let correct = expected.contains(&f.value);
                t.answer = Some((f.value, latency));
                t.correct = Some(correct);
                let verdict = if correct {
                    "= median of the sources ✓".to_string()
                } else {
                    format!(
                        "≠ sources' median {} ✗",
                        expected
                            .last()
                            .map(|v| unscale(*v))
                            .unwrap_or_else(|| "?".into())
                    )
                };
                say(&format!(
                    "✓ #{:<3} {:<9} node-{} answered {:>16}  {verdict}  {:>5} ms (block {})",
                    t.n,
                    t.pair,
                    t.node,
                    unscale(f.value),
                    latency.as_millis(),
                    f.block
                ));
            }
            scanned = head + 1;
        }
        let all_sent = tracked.len() >= opts.requests;
        let all_answered = tracked.iter().all(|t| t.answer.is_some());
        if all_sent && all_answered {
            break;
        }
        if all_sent && last_sent.is_some_and(|l| l.elapsed() > opts.settle) {
            say("… gave up waiting for the remaining answers");
            break;
        }
        tokio::select! {
            () = cancel.cancelled() => {}
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    let adapter = match &devnet.adapter {
        Some(_) if !interrupted => Some(adapter_use(devnet).await?),
        _ => None,
    };
    Ok(DemoSummary {
        requests: tracked,
        interrupted,
        adapter,
    })
}

/// Counts, from every node's run records, the runs in which the adapter's price reached the
/// median (`parse_adapter` succeeded). Waits up to 5 s for runs still being recorded: a
/// fulfilment can be mined before its run's results are written.
async fn adapter_use(devnet: &Devnet) -> Result<AdapterUse> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut finished = Vec::new();
    for node in &devnet.nodes {
        let runs = loop {
            let (_, body) = devnet
                .api(node, reqwest::Method::GET, "/v2/runs?limit=1000", None)
                .await?;
            let runs = body
                .get("runs")
                .and_then(serde_json::Value::as_array)
                .cloned()
                .unwrap_or_default();
            let running = runs
                .iter()
                .any(|r| r.get("state").and_then(|s| s.as_str()) == Some("running"));
            if !running || Instant::now() >= deadline {
                break runs;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        for run in runs {
            if run.get("state").and_then(|s| s.as_str()) == Some("running") {
                continue;
            }
            if let Some(id) = run.get("id").and_then(serde_json::Value::as_i64) {
                finished.push((node, id));
            }
        }
    }
    let mut usage = AdapterUse::default();
    for (node, id) in finished {
        let (_, body) = devnet
            .api(node, reqwest::Method::GET, &format!("/v2/runs/{id}"), None)
            .await?;
        usage.runs += 1;
        let tasks = body
            .pointer("/run/tasks")
            .and_then(serde_json::Value::as_array);
        let parsed = tasks.is_some_and(|tasks| {
            tasks.iter().any(|t| {
                t.get("dot_id").and_then(|d| d.as_str()) == Some("parse_adapter")
                    && t.get("error").is_none_or(serde_json::Value::is_null)
                    && t.get("output").is_some_and(|o| !o.is_null())
            })
        });
        usage.answered += usize::from(parsed);
    }
    Ok(usage)
}

/// Summary lines for a finished demo.
pub fn summary_lines(devnet: &Devnet, summary: &DemoSummary) -> Vec<String> {
    let mut lines = Vec::new();
    let total = summary.requests.len();
    let mut lat: Vec<u128> = summary
        .requests
        .iter()
        .filter_map(|r| r.answer.map(|(_, l)| l.as_millis()))
        .collect();
    lat.sort_unstable();
    let pct = |p: f64| -> u128 {
        if lat.is_empty() {
            return 0;
        }
        let idx = ((lat.len() as f64 - 1.0) * p).round() as usize;
        lat.get(idx).copied().unwrap_or(0)
    };
    lines.push(String::new());
    lines.push("── summary ─────────────────────────────────────────────".into());
    lines.push(format!(
        "requests {total}   fulfilled on chain {}   equal to the sources' median {}",
        summary.fulfilled(),
        summary.correct()
    ));
    lines.push(format!(
        "latency request → answer on chain: p50 {} ms, p95 {} ms, max {} ms",
        pct(0.5),
        pct(0.95),
        pct(1.0)
    ));
    for node in &devnet.nodes {
        let answered = summary
            .requests
            .iter()
            .filter(|r| r.node == node.index && r.answer.is_some())
            .count();
        lines.push(format!(
            "node-{}  {:#x}  answered {answered}",
            node.index, node.process.address
        ));
    }
    if let Some(a) = summary.adapter {
        lines.push(format!(
            "sample adapter (bridge {:?}, schemas checked by the nodes): its price went into the median in {} of {} runs",
            crate::ADAPTER_BRIDGE,
            a.answered,
            a.runs
        ));
    }
    let s = devnet.sim.stats();
    lines.push(format!(
        "sources served {} answers: {} prices, {} outliers, {} garbage, {} timeouts, {} HTTP 503 — the median absorbed them",
        s.total(),
        s.price,
        s.outlier,
        s.garbage,
        s.timeout,
        s.server_error
    ));
    if summary.interrupted {
        lines.push("interrupted by Ctrl-C".into());
    }
    lines.push(if summary.success() {
        "RESULT: ok".into()
    } else {
        "RESULT: FAILED".into()
    });
    lines
}
