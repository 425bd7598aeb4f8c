//! A pool of JSON-RPC endpoints for one chain. Calls go to the endpoint that last worked; a
//! transport failure moves on to the next one. A JSON-RPC error answer is the chain's verdict
//! and is returned as it is, not retried elsewhere.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::types::{Filter, Log, TransactionReceipt};
use alloy::transports::{RpcError, TransportErrorKind};

use crate::{Error, Result};

/// Hides credentials in an RPC URL: user info, and any path segment or query that looks like
/// an API key (long alphanumeric), so URLs can be logged.
pub fn redact_rpc_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return "<unparseable url>".to_string();
    };
    if !url.username().is_empty() || url.password().is_some() {
        let _ = url.set_username("***");
        let _ = url.set_password(None);
    }
    if url.query().is_some() {
        url.set_query(Some("***"));
    }
    let segments: Vec<String> = url
        .path_segments()
        .map(|s| {
            s.map(|seg| {
                let looks_like_key = seg.len() >= 16
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if looks_like_key {
                    "***".to_string()
                } else {
                    seg.to_string()
                }
            })
            .collect()
        })
        .unwrap_or_default();
    if !segments.is_empty() {
        url.set_path(&segments.join("/"));
    }
    url.to_string()
}

/// How long one call may wait for an endpoint's answer before the pool moves on. Without a
/// limit, an endpoint that accepts connections but never answers would stall every caller.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(10);

struct Endpoint {
    redacted: String,
    provider: RootProvider,
}

/// A failover pool of RPC endpoints for one chain. Cheap to clone.
#[derive(Clone)]
pub struct Rpc {
    endpoints: Arc<Vec<Endpoint>>,
    active: Arc<AtomicUsize>,
    chain_id: u64,
    call_timeout: Duration,
}

impl std::fmt::Debug for Rpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let urls: Vec<&str> = self.endpoints.iter().map(|e| e.redacted.as_str()).collect();
        f.debug_struct("Rpc")
            .field("endpoints", &urls)
            .field("chain_id", &self.chain_id)
            .finish()
    }
}

impl Rpc {
    /// Connects to `urls` (HTTP) and checks that every reachable endpoint serves `chain_id`.
    /// Calls wait at most [`DEFAULT_CALL_TIMEOUT`] for an endpoint.
    pub async fn connect(urls: &[String], chain_id: u64) -> Result<Self> {
        Self::connect_with_timeout(urls, chain_id, DEFAULT_CALL_TIMEOUT).await
    }

    /// Like [`Rpc::connect`], with another limit on how long one call waits for an endpoint.
    pub async fn connect_with_timeout(
        urls: &[String],
        chain_id: u64,
        call_timeout: Duration,
    ) -> Result<Self> {
        if urls.is_empty() {
            return Err(Error::NoEndpoints);
        }
        let mut endpoints = Vec::with_capacity(urls.len());
        for raw in urls {
            let redacted = redact_rpc_url(raw);
            let url: url::Url = raw.parse().map_err(|e: url::ParseError| Error::BadUrl {
                url: redacted.clone(),
                reason: e.to_string(),
            })?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(Error::BadUrl {
                    url: redacted,
                    reason: "only http(s) endpoints are supported".into(),
                });
            }
            endpoints.push(Endpoint {
                redacted,
                provider: RootProvider::new_http(url),
            });
        }
        let rpc = Self {
            endpoints: Arc::new(endpoints),
            active: Arc::new(AtomicUsize::new(0)),
            chain_id,
            call_timeout,
        };
        let mut any_ok = false;
        let mut last = String::new();
        for ep in rpc.endpoints.iter() {
            match with_timeout(call_timeout, ep.provider.get_chain_id()).await {
                Ok(actual) if actual == chain_id => any_ok = true,
                Ok(actual) => {
                    return Err(Error::WrongChain {
                        url: ep.redacted.clone(),
                        expected: chain_id,
                        actual,
                    });
                }
                Err(e) => {
                    tracing::warn!(endpoint = %ep.redacted, error = %e, "rpc endpoint unreachable at start");
                    last = e.to_string();
                }
            }
        }
        if !any_ok {
            return Err(Error::Rpc {
                method: "eth_chainId",
                last,
            });
        }
        Ok(rpc)
    }

    /// Connects, retrying for up to `wait` while no endpoint answers (a chain still starting).
    pub async fn connect_with_retry(
        urls: &[String],
        chain_id: u64,
        wait: Duration,
    ) -> Result<Self> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match Self::connect(urls, chain_id).await {
                Err(Error::Rpc { .. }) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                other => return other,
            }
        }
    }

    /// The configured chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The endpoint calls currently go to (redacted).
    pub fn active_endpoint(&self) -> &str {
        let i = self.active.load(Ordering::Relaxed) % self.endpoints.len().max(1);
        self.endpoints
            .get(i)
            .map(|e| e.redacted.as_str())
            .unwrap_or("")
    }

    /// Runs one call with failover (also used by `rpc_read`).
    pub(crate) async fn call<T, F, Fut>(&self, method: &'static str, f: F) -> Result<T>
    where
        F: Fn(RootProvider) -> Fut,
        Fut: Future<Output = std::result::Result<T, RpcError<TransportErrorKind>>>,
    {
        let n = self.endpoints.len();
        let start = self.active.load(Ordering::Relaxed);
        let mut last = String::new();
        for k in 0..n {
            let i = (start + k) % n;
            let Some(ep) = self.endpoints.get(i) else {
                continue;
            };
            match with_timeout(self.call_timeout, f(ep.provider.clone())).await {
                Ok(v) => {
                    if k != 0 {
                        tracing::warn!(endpoint = %ep.redacted, "rpc failed over to endpoint");
                        self.active.store(i, Ordering::Relaxed);
                    }
                    return Ok(v);
                }
                Err(RpcError::ErrorResp(payload)) => {
                    return Err(Error::RpcResponse {
                        method,
                        code: payload.code,
                        message: payload.message.to_string(),
                    });
                }
                Err(e) => {
                    metrics::counter!("orakel_rpc_errors_total", "method" => method).increment(1);
                    last = format!("{}: {e}", ep.redacted);
                }
            }
        }
        Err(Error::Rpc { method, last })
    }

    /// `eth_blockNumber`.
    pub async fn block_number(&self) -> Result<u64> {
        self.call(
            "eth_blockNumber",
            |p| async move { p.get_block_number().await },
        )
        .await
    }

    /// Hash of the canonical block at `number`, if it exists.
    pub async fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        let block = self
            .call("eth_getBlockByNumber", |p| async move {
                p.get_block_by_number(BlockNumberOrTag::Number(number))
                    .await
            })
            .await?;
        Ok(block.map(|b| b.header.hash))
    }

    /// Base fee of the latest block (0 before London).
    pub async fn latest_base_fee(&self) -> Result<u128> {
        let block = self
            .call("eth_getBlockByNumber", |p| async move {
                p.get_block_by_number(BlockNumberOrTag::Latest).await
            })
            .await?;
        Ok(block
            .and_then(|b| b.header.base_fee_per_gas)
            .map(u128::from)
            .unwrap_or(0))
    }

    /// Number and timestamp (unix seconds) of the latest block.
    pub async fn latest_block_time(&self) -> Result<(u64, u64)> {
        let block = self
            .call("eth_getBlockByNumber", |p| async move {
                p.get_block_by_number(BlockNumberOrTag::Latest).await
            })
            .await?;
        block
            .map(|b| (b.header.number, b.header.timestamp))
            .ok_or(Error::Rpc {
                method: "eth_getBlockByNumber",
                last: "no latest block".into(),
            })
    }

    /// The calldata of transaction `hash`, if the endpoint knows it.
    pub async fn transaction_input(&self, hash: B256) -> Result<Option<Bytes>> {
        use alloy::consensus::Transaction as _;
        let tx = self
            .call("eth_getTransactionByHash", |p| async move {
                p.get_transaction_by_hash(hash).await
            })
            .await?;
        Ok(tx.map(|t| t.input().clone()))
    }

    /// `eth_maxPriorityFeePerGas`.
    pub async fn max_priority_fee(&self) -> Result<u128> {
        self.call("eth_maxPriorityFeePerGas", |p| async move {
            p.get_max_priority_fee_per_gas().await
        })
        .await
    }

    /// `eth_getLogs`.
    pub async fn logs(&self, filter: &Filter) -> Result<Vec<Log>> {
        self.call("eth_getLogs", |p| {
            let filter = filter.clone();
            async move { p.get_logs(&filter).await }
        })
        .await
    }

    /// Nonce count of `address` including pending transactions.
    pub async fn pending_nonce(&self, address: Address) -> Result<u64> {
        self.call("eth_getTransactionCount", |p| async move {
            p.get_transaction_count(address).pending().await
        })
        .await
    }

    /// Nonce count of `address` in the latest block (mined transactions only).
    pub async fn mined_nonce(&self, address: Address) -> Result<u64> {
        self.call("eth_getTransactionCount", |p| async move {
            p.get_transaction_count(address).latest().await
        })
        .await
    }

    /// `eth_sendRawTransaction`; returns the hash.
    pub async fn send_raw(&self, raw: &[u8]) -> Result<B256> {
        let raw = Bytes::copy_from_slice(raw);
        self.call("eth_sendRawTransaction", |p| {
            let raw = raw.clone();
            async move {
                p.raw_request::<_, B256>("eth_sendRawTransaction".into(), (raw,))
                    .await
            }
        })
        .await
    }

    /// Sends several signed transactions in one JSON-RPC batch, in the given order (use nonce
    /// order). Returns one result per transaction; a transport failure of the whole batch fails
    /// over to the next endpoint like any call.
    pub async fn send_raw_batch(&self, raws: &[Vec<u8>]) -> Result<Vec<Result<B256>>> {
        let answers = self
            .call("eth_sendRawTransaction", |p| async move {
                let client = p.client();
                let mut batch = alloy::rpc::client::BatchRequest::new(client);
                let mut waiters = Vec::with_capacity(raws.len());
                for raw in raws {
                    let raw = Bytes::copy_from_slice(raw);
                    waiters.push(batch.add_call::<_, B256>("eth_sendRawTransaction", &(raw,))?);
                }
                batch.send().await?;
                let mut out = Vec::with_capacity(waiters.len());
                for w in waiters {
                    out.push(w.await);
                }
                Ok(out)
            })
            .await?;
        Ok(answers
            .into_iter()
            .map(|r| {
                r.map_err(|e| match e {
                    RpcError::ErrorResp(payload) => Error::RpcResponse {
                        method: "eth_sendRawTransaction",
                        code: payload.code,
                        message: payload.message.to_string(),
                    },
                    other => Error::Rpc {
                        method: "eth_sendRawTransaction",
                        last: other.to_string(),
                    },
                })
            })
            .collect())
    }

    /// Receipts of several transactions in one JSON-RPC batch (`None` where not mined).
    pub async fn receipts_batch(&self, hashes: &[B256]) -> Result<Vec<Option<TransactionReceipt>>> {
        let answers = self
            .call("eth_getTransactionReceipt", |p| async move {
                let client = p.client();
                let mut batch = alloy::rpc::client::BatchRequest::new(client);
                let mut waiters = Vec::with_capacity(hashes.len());
                for h in hashes {
                    waiters.push(batch.add_call::<_, Option<TransactionReceipt>>(
                        "eth_getTransactionReceipt",
                        &(h,),
                    )?);
                }
                batch.send().await?;
                let mut out = Vec::with_capacity(waiters.len());
                for w in waiters {
                    out.push(w.await?);
                }
                Ok(out)
            })
            .await?;
        Ok(answers)
    }

    /// `eth_getTransactionReceipt`.
    pub async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>> {
        self.call("eth_getTransactionReceipt", |p| async move {
            p.get_transaction_receipt(hash).await
        })
        .await
    }
}

/// Runs an RPC future, turning "no answer in time" into a transport error (so the pool fails
/// over as for a refused connection).
async fn with_timeout<T>(
    limit: Duration,
    call: impl Future<Output = std::result::Result<T, RpcError<TransportErrorKind>>>,
) -> std::result::Result<T, RpcError<TransportErrorKind>> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result,
        Err(_) => Err(TransportErrorKind::custom_str(&format!(
            "no answer within {limit:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_keys_in_urls() {
        assert_eq!(
            redact_rpc_url("https://mainnet.example.io/v3/0123456789abcdef0123"),
            "https://mainnet.example.io/v3/***"
        );
        assert_eq!(
            redact_rpc_url("http://user:pw@host:8545/"),
            "http://***@host:8545/"
        );
        assert_eq!(
            redact_rpc_url("https://rpc.example/?apikey=secret"),
            "https://rpc.example/?***"
        );
        assert_eq!(
            redact_rpc_url("http://127.0.0.1:8545"),
            "http://127.0.0.1:8545/"
        );
        assert_eq!(redact_rpc_url("not a url"), "<unparseable url>");
    }
}
