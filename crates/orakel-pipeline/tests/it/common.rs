//! Shared helpers: a tiny local HTTP server, a capturing `EthTxSink`, request encoders.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolEvent, sol};
use orakel_pipeline::{EthTxRequest, EthTxSink, TxSubmitted, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

sol! {
    event OracleRequest(
        bytes32 indexed specId,
        address requester,
        bytes32 requestId,
        uint256 payment,
        address callbackAddr,
        bytes4 callbackFunctionId,
        uint256 cancelExpiration,
        uint256 dataVersion,
        bytes data
    );
    function fulfillOracleRequest(
        bytes32 requestId,
        uint256 payment,
        address callbackAddress,
        bytes4 callbackFunctionId,
        uint256 expiration,
        bytes32 data
    ) external returns (bool);
    function fulfillOracleRequest2(
        bytes32 requestId,
        uint256 payment,
        address callbackAddress,
        bytes4 callbackFunctionId,
        uint256 expiration,
        bytes calldata data
    ) external returns (bool);
}

/// A canned response.
#[derive(Clone)]
pub struct Route {
    pub path: &'static str,
    pub status: u16,
    pub body: String,
    pub delay: Duration,
}

impl Route {
    pub fn ok(path: &'static str, body: &str) -> Self {
        Route {
            path,
            status: 200,
            body: body.to_owned(),
            delay: Duration::ZERO,
        }
    }
}

/// A local HTTP/1.1 server on 127.0.0.1 answering canned routes (404 otherwise).
pub struct TestServer {
    pub base: String,
    pub requests: Arc<Mutex<Vec<String>>>,
}

pub async fn serve(routes: Vec<Route>) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    tokio::spawn(async move {
        // Bounded: a test never needs more than this many connections.
        for _ in 0..256 {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let routes = routes.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let header_end = loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break pos + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
                let content_length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                while buf.len() < header_end + content_length {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = String::from_utf8_lossy(&buf[header_end..]).to_string();
                let request_line = head.lines().next().unwrap_or("").to_owned();
                let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
                log.lock()
                    .unwrap()
                    .push(format!("{request_line}\n{head}\n{body}"));
                let route = routes.iter().find(|r| r.path == path);
                let (status, resp_body, delay) = match route {
                    Some(r) => (r.status, r.body.clone(), r.delay),
                    None => (404, "{\"error\":\"not found\"}".to_owned(), Duration::ZERO),
                };
                tokio::time::sleep(delay).await;
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{resp_body}",
                    resp_body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    TestServer { base, requests }
}

/// Captures submitted transactions.
#[derive(Default)]
pub struct CaptureSink {
    pub txs: Mutex<Vec<EthTxRequest>>,
}

#[async_trait::async_trait]
impl EthTxSink for CaptureSink {
    async fn submit(&self, tx: EthTxRequest) -> Result<TxSubmitted, String> {
        let mut txs = self.txs.lock().unwrap();
        txs.push(tx);
        Ok(TxSubmitted {
            tx_hash: Some(B256::repeat_byte(0xab)),
            tx_id: txs.len() as i64,
        })
    }
}

/// Minimal CBOR writer mirroring the client library's request buffer (independent of the
/// crate's encoder).
#[derive(Default)]
pub struct CborBuf(pub Vec<u8>);

impl CborBuf {
    fn head(&mut self, major: u8, n: u64) {
        let m = major << 5;
        if n < 24 {
            self.0.push(m | n as u8);
        } else if n < 256 {
            self.0.extend_from_slice(&[m | 24, n as u8]);
        } else if n < 65536 {
            self.0.push(m | 25);
            self.0.extend_from_slice(&(n as u16).to_be_bytes());
        } else {
            self.0.push(m | 27);
            self.0.extend_from_slice(&n.to_be_bytes());
        }
    }
    pub fn text(&mut self, s: &str) -> &mut Self {
        self.head(3, s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
        self
    }
    pub fn add(&mut self, key: &str, value: &str) -> &mut Self {
        self.text(key).text(value)
    }
    pub fn add_int(&mut self, key: &str, value: i64) -> &mut Self {
        self.text(key);
        if value >= 0 {
            self.head(0, value as u64);
        } else {
            self.head(1, (-1 - value) as u64);
        }
        self
    }
    pub fn add_string_array(&mut self, key: &str, values: &[&str]) -> &mut Self {
        self.text(key);
        self.0.push(0x9f);
        for v in values {
            self.text(v);
        }
        self.0.push(0xff);
        self
    }
}

/// Everything about the on-chain request a test run starts from.
pub struct Request {
    pub spec_id: B256,
    pub requester: Address,
    pub request_id: B256,
    pub payment: U256,
    pub callback: Address,
    pub callback_fn: [u8; 4],
    pub expiration: U256,
    pub data: Vec<u8>,
}

impl Request {
    pub fn new(spec_id: B256, data: Vec<u8>) -> Self {
        Request {
            spec_id,
            requester: Address::repeat_byte(0x11),
            request_id: B256::repeat_byte(0x42),
            payment: U256::from(100_000_000_000_000_000u64),
            callback: Address::repeat_byte(0x22),
            callback_fn: [0xde, 0xad, 0xbe, 0xef],
            expiration: U256::from(1_700_000_300u64),
            data,
        }
    }

    /// The `jobRun` variables for this request's log.
    pub fn job_run_vars(&self, oracle: Address) -> Value {
        let event = OracleRequest {
            specId: self.spec_id,
            requester: self.requester,
            requestId: self.request_id,
            payment: self.payment,
            callbackAddr: self.callback,
            callbackFunctionId: self.callback_fn.into(),
            cancelExpiration: self.expiration,
            dataVersion: U256::from(1u8),
            data: self.data.clone().into(),
        };
        let log = event.encode_log_data();
        orakel_pipeline::direct_request_run_vars(
            log.data.clone(),
            log.topics(),
            oracle,
            B256::repeat_byte(1),
            1234,
            B256::repeat_byte(2),
            Value::map([("oracleRequest", Value::Null)]),
        )
    }
}

/// Reads a spec from `tests/specs`, substituting `{{BASE}}`.
pub fn spec_text(name: &str, base: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/specs")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .replace("{{BASE}}", base)
}

pub fn specs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/specs")
}
