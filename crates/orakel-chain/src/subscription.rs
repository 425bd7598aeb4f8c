//! Early delivery of new logs over a WebSocket subscription (`eth_subscribe("logs")`).
//!
//! The polling [`LogListener`](crate::LogListener) stays the source of truth: it alone moves
//! the checkpoint, backfills after a restart and follows reorgs. The subscription only lets a
//! handler act on a log the moment its block is mined instead of at the next poll, and one at a
//! time instead of in the burst a poll returns. It may miss logs (disconnects, a slow reader)
//! and may deliver a log the poll delivers too; handlers must treat it as a head start
//! ([`LogHandler::handle_early`]), never as the record.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use alloy::providers::{Provider, ProviderBuilder, WsConnect};
use alloy::pubsub::Subscription;
use alloy::rpc::types::{Filter, Log};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{EarlyLog, LogHandler, redact_rpc_url};

/// Most logs handed over in one [`LogHandler::handle_early`] call.
const MAX_EARLY_BATCH: usize = 256;

/// Notifications the reader holds for a busy handler before it skips some (the poll delivers
/// what is skipped).
const ARRIVALS_QUEUED: usize = 16 * MAX_EARLY_BATCH;

/// How often the handler's filter is compared with the subscribed one (job changes).
const FILTER_CHECK: Duration = Duration::from_secs(1);

/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Why a subscription ended.
enum Ended {
    Cancelled,
    /// The handler's filter changed: subscribe again with the new one.
    FilterChanged,
    /// Connection lost or refused.
    Failed(String),
}

/// The WebSocket log subscription of one listener.
#[derive(Debug)]
pub struct LogSubscription;

impl LogSubscription {
    /// Subscribes at `ws_url` to the handler's filter and hands new logs to
    /// [`LogHandler::handle_early`] until `cancel` fires. Connection failures are logged
    /// (URL redacted) and retried with backoff; the poll covers whatever is missed meanwhile.
    pub async fn run(
        ws_url: String,
        listener: String,
        handler: Arc<dyn LogHandler>,
        cancel: CancellationToken,
    ) {
        let shown = redact_rpc_url(&ws_url);
        let mut backoff = Duration::from_millis(250);
        loop {
            if cancel.is_cancelled() {
                return;
            }
            let (addresses, topics) = handler.filter();
            if handler.idle() || addresses.is_empty() || topics.is_empty() {
                // Nothing to watch; an empty address list would mean every contract.
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(FILTER_CHECK) => continue,
                }
            }
            let started = Instant::now();
            match subscribe_once(
                &ws_url,
                &listener,
                handler.as_ref(),
                addresses,
                topics,
                &cancel,
            )
            .await
            {
                Ended::Cancelled => return,
                Ended::FilterChanged => {
                    tracing::debug!(%listener, "log filter changed; subscribing again");
                    continue;
                }
                Ended::Failed(why) => {
                    metrics::gauge!("orakel_listener_subscribed", "listener" => listener.clone())
                        .set(0.0);
                    // A subscription that lived a while was healthy: start the backoff over.
                    if started.elapsed() > MAX_BACKOFF {
                        backoff = Duration::from_millis(250);
                    }
                    tracing::warn!(%listener, url = %shown, error = %why, retry_in = ?backoff,
                        "log subscription lost; polling alone until it is back");
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

async fn subscribe_once(
    ws_url: &str,
    listener: &str,
    handler: &dyn LogHandler,
    addresses: Vec<Address>,
    topics: Vec<B256>,
    cancel: &CancellationToken,
) -> Ended {
    let provider = match ProviderBuilder::new()
        .connect_ws(WsConnect::new(ws_url))
        .await
    {
        Ok(p) => p,
        Err(e) => return Ended::Failed(format!("connecting: {}", scrub(&e.to_string(), ws_url))),
    };
    let filter = Filter::new()
        .address(addresses.clone())
        .event_signature(topics.clone());
    // What this subscription watches, compared with the handler's filter on every check.
    let subscribed = (addresses, topics);
    let sub = match provider.subscribe_logs(&filter).await {
        Ok(s) => s,
        Err(e) => {
            return Ended::Failed(format!("eth_subscribe: {}", scrub(&e.to_string(), ws_url)));
        }
    };
    tracing::info!(%listener, url = %redact_rpc_url(ws_url), "log subscription open");
    metrics::gauge!("orakel_listener_subscribed", "listener" => listener.to_string()).set(1.0);
    // The reader only takes notifications off the connection and stamps them, so a log's wait
    // while the handler is busy counts in its latency, and a busy handler does not make the
    // connection's small channel overflow. Dropping the set (any return) stops the reader.
    let (arrived, mut arrivals) = mpsc::channel(ARRIVALS_QUEUED);
    let mut reader = JoinSet::new();
    reader.spawn(read_arrivals(sub, arrived));
    let mut check = tokio::time::interval(FILTER_CHECK);
    check.tick().await;
    let mut logs = Vec::new();
    loop {
        let first = tokio::select! {
            () = cancel.cancelled() => return Ended::Cancelled,
            _ = check.tick() => {
                if handler.filter() != subscribed {
                    return Ended::FilterChanged;
                }
                continue;
            }
            first = arrivals.recv() => first,
        };
        let Some(first) = first else {
            return Ended::Failed("subscription closed".into());
        };
        take(listener, first, &mut logs);
        // Whatever else is already waiting goes in the same call (one store write).
        while logs.len() < MAX_EARLY_BATCH {
            match arrivals.try_recv() {
                Ok(next) => take(listener, next, &mut logs),
                Err(_) => break,
            }
        }
        if logs.is_empty() {
            continue;
        }
        metrics::counter!("orakel_listener_early_logs_total").increment(logs.len() as u64);
        if let Err(e) = handler
            .handle_early(listener, std::mem::take(&mut logs))
            .await
        {
            tracing::warn!(%listener, error = %e, "early log handling failed; the poll will deliver them");
        }
    }
}

/// What the reader took off the subscription.
enum Arrival {
    Log(Box<EarlyLog>),
    /// A notification that is not a log; the poll delivers the log.
    Undecodable(String),
    /// Notifications skipped because a channel was full; the poll delivers them.
    Lagged(u64),
}

/// Moves notifications from the subscription to `arrived`, stamped, until either side closes.
async fn read_arrivals(mut sub: Subscription<Log>, arrived: mpsc::Sender<Arrival>) {
    // Notifications skipped since the last report, here or in the connection's channel.
    let mut skipped = 0u64;
    loop {
        let arrival = match sub.recv_result().await {
            Ok(Ok(log)) => Arrival::Log(Box::new(EarlyLog {
                log,
                received: Instant::now(),
            })),
            Ok(Err(e)) => Arrival::Undecodable(e.to_string()),
            Err(RecvError::Lagged(n)) => {
                skipped += n;
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        match arrived.try_send(arrival) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => skipped += 1,
            Err(TrySendError::Closed(_)) => return,
        }
        // Reported in one count once there is room again.
        if skipped > 0 && arrived.try_send(Arrival::Lagged(skipped)).is_ok() {
            skipped = 0;
        }
    }
}

/// Adds an arrival to the batch if it is a log the handler can act on.
fn take(listener: &str, arrival: Arrival, logs: &mut Vec<EarlyLog>) {
    match arrival {
        // A removed log is a reorg: the poll rereads the range and settles it.
        Arrival::Log(early) if early.log.removed || early.log.block_number.is_none() => {}
        Arrival::Log(early) => logs.push(*early),
        Arrival::Undecodable(e) => {
            tracing::warn!(%listener, error = %e, "undecodable log notification skipped");
        }
        Arrival::Lagged(n) => {
            metrics::counter!("orakel_listener_subscription_lagged_total").increment(n);
        }
    }
}

/// Removes the URL (which may carry a key) from an error text.
fn scrub(text: &str, url: &str) -> String {
    text.replace(url, &redact_rpc_url(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival(block: Option<u64>, removed: bool) -> Arrival {
        Arrival::Log(Box::new(EarlyLog {
            log: Log {
                block_number: block,
                removed,
                ..Log::default()
            },
            received: Instant::now(),
        }))
    }

    #[test]
    fn a_batch_takes_mined_logs_only_and_keeps_their_arrival_times() {
        let mut logs = Vec::new();
        let first = arrival(Some(7), false);
        let Arrival::Log(ref kept) = first else {
            unreachable!()
        };
        let stamped = kept.received;
        take("test", first, &mut logs);
        // A reorged-away log and one without a block are the poll's to settle.
        take("test", arrival(Some(8), true), &mut logs);
        take("test", arrival(None, false), &mut logs);
        take("test", Arrival::Undecodable("not a log".into()), &mut logs);
        take("test", Arrival::Lagged(3), &mut logs);
        take("test", arrival(Some(9), false), &mut logs);
        let blocks: Vec<Option<u64>> = logs.iter().map(|e| e.log.block_number).collect();
        assert_eq!(blocks, [Some(7), Some(9)]);
        assert_eq!(logs.first().map(|e| e.received), Some(stamped));
    }
}
