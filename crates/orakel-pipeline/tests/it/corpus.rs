//! The job-spec corpus (`tests/specs/*.toml`): every spec runs through [`Runner`] and its
//! results are compared with `name.expected.json` next to it.
//!
//! An expectation file holds the run's world and what must come out of it:
//!
//! ```json
//! {
//!   "about": "what the spec shows",
//!   "runner": {"allowPrivateHttp": false, "defaultHttpTimeout": "2s", "resumeBaseUrl": "…"},
//!   "http": {"/path": {"status": 200, "json": {…}} | {"raw": "text", "delayMs": 0, "headers": {…}}
//!            | [answer, answer, …]   (successive answers; the last one repeats)},
//!   "bridges": {"name": {"url": "{{BASE}}/ea", "inputSchema": {…}, "outputSchema": {…}}},
//!   "chain": {"call": "0x…" | {"error": "…"}, "estimateGas": 21000 | {"error": "…"}},
//!   "ethtx": {"error": "…"},
//!   "jobSpec": {…},            (merged over JobSpec::job_spec_vars(1))
//!   "jobRun": {…},             (the jobRun variables, exact JSON numbers)
//!   "oracleRequest": {"cbor": [["key", "text" | 123 | ["a", "b"]], …]},  (jobRun of an OracleRequest log)
//!   "priorResults": {"task": {"output": …} | {"error": "…"}},
//!   "expect": {
//!     "maxRunMs": 1000,                 (the run must finish within this many milliseconds)
//!     "state": "Completed" | "Errored" | "Suspended",
//!     "outputs": [value | null, …],
//!     "errors": ["fragment", …],        (one fragment per root-cause error, in order)
//!     "suspended": ["task", …],
//!     "tasks": {"id": {"output": value, "type": "bytes", "error": "fragment", "notRun": true}},
//!     "txs": [{"to": "0x…", "data": "0x…", "from": …, "gasLimit": …, "minConfirmations": …,
//!              "evmChainID": …, "failOnRevert": …, "idempotencyKey": "…"}],
//!     "calls": [{"kind": "call" | "estimateGas", "to": "0x…", "data": "0x…", "from": …,
//!                "gas": …, "block": "latest" | "pending" | 123, "evmChainID": …}],
//!     "requests": [{"method": "POST", "path": "/p?q=1", "json": {…} | "raw": "…",
//!                   "headers": {"name": "value"}}]   (compared as a multiset)
//!   }
//! }
//! ```
//!
//! `{{BASE}}` in the spec and in the expectation is replaced by the local HTTP server's base
//! URL (`http://127.0.0.1:PORT`). The expectation file is read with the crate's exact JSON
//! parser, so expected numbers keep every digit. Values are compared through their canonical
//! JSON (bytes as `0x…`, addresses checksummed, decimals in plain notation with every digit
//! and no trailing zeros); `type` pins the value's variant where JSON cannot (bytes vs
//! string).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, Bytes, U256};
use axum::body::Body;
use axum::extract::{Request as HttpRequest, State};
use axum::http::StatusCode;
use axum::response::Response;
use orakel_pipeline::{
    BlockRef, BridgeDef, BridgeParams, BridgeRegistry, ChainCall, ChainReader, EthTxRequest,
    EthTxSink, JobSpec, RunContext, RunOutcome, RunState, Runner, RunnerConfig, TxSubmitted, Value,
    parse_duration, parse_job_spec, parse_json, spec_id_forms,
};

use crate::common::{CborBuf, Request, specs_dir};

/// Fewest specs the corpus must hold.
const MIN_SPECS: usize = 25;

// ---- the local HTTP server ----------------------------------------------------------------

#[derive(Clone, Debug)]
struct Answer {
    status: u16,
    body: String,
    content_type: &'static str,
    delay: Duration,
    headers: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: String,
}

#[derive(Default)]
struct ServerState {
    routes: Mutex<HashMap<String, (Vec<Answer>, usize)>>,
    seen: Mutex<Vec<Seen>>,
}

async fn answer(State(st): State<Arc<ServerState>>, req: HttpRequest) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    st.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path: path.clone(),
        headers,
        body,
    });
    let picked = {
        let mut routes = st.routes.lock().unwrap();
        let key = if routes.contains_key(&path) {
            Some(path.clone())
        } else {
            Some(parts.uri.path().to_owned()).filter(|p| routes.contains_key(p))
        };
        key.and_then(|k| routes.get_mut(&k))
            .and_then(|(answers, next)| {
                let a = answers.get((*next).min(answers.len().saturating_sub(1)))?;
                *next += 1;
                Some(a.clone())
            })
    };
    let a = picked.unwrap_or(Answer {
        status: 404,
        body: r#"{"error":"no such route in the corpus server"}"#.to_owned(),
        content_type: "application/json",
        delay: Duration::ZERO,
        headers: Vec::new(),
    });
    tokio::time::sleep(a.delay).await;
    let mut resp = Response::builder()
        .status(StatusCode::from_u16(a.status).unwrap())
        .header("content-type", a.content_type);
    for (k, v) in &a.headers {
        resp = resp.header(k.as_str(), v.as_str());
    }
    resp.body(Body::from(a.body)).unwrap()
}

async fn start_server() -> (String, Arc<ServerState>) {
    let st = Arc::new(ServerState::default());
    let app = axum::Router::new()
        .fallback(answer)
        .with_state(Arc::clone(&st));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, st)
}

fn parse_answer(j: &Value) -> Result<Answer, String> {
    let status = j.get("status").and_then(int).unwrap_or(200);
    let (body, content_type) = match (j.get("json"), j.get("raw")) {
        (Some(v), None) => (v.to_json(), "application/json"),
        (None, Some(Value::String(s))) => (s.clone(), "text/plain"),
        (None, None) => (String::new(), "text/plain"),
        _ => {
            return Err(format!(
                "an answer has both json and raw, or a bad raw: {j}"
            ));
        }
    };
    let headers = j
        .get("headers")
        .and_then(map)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    Ok(Answer {
        status: u16::try_from(status).map_err(|e| e.to_string())?,
        body,
        content_type,
        delay: Duration::from_millis(j.get("delayMs").and_then(int).unwrap_or(0)),
        headers,
    })
}

// ---- fakes for the chain side --------------------------------------------------------------

#[derive(Default)]
struct FakeSink {
    error: Option<String>,
    txs: Mutex<Vec<EthTxRequest>>,
}

#[async_trait::async_trait]
impl EthTxSink for FakeSink {
    async fn submit(&self, tx: EthTxRequest) -> Result<TxSubmitted, String> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let mut txs = self.txs.lock().unwrap();
        txs.push(tx);
        Ok(TxSubmitted {
            tx_hash: Some(B256::repeat_byte(0xab)),
            tx_id: i64::try_from(txs.len()).unwrap(),
        })
    }
}

#[derive(Default)]
struct FakeChain {
    call: Option<Result<Bytes, String>>,
    estimate: Option<Result<u64, String>>,
    calls: Mutex<Vec<(&'static str, ChainCall)>>,
}

#[async_trait::async_trait]
impl ChainReader for FakeChain {
    async fn call(&self, call: ChainCall) -> Result<Bytes, String> {
        self.calls.lock().unwrap().push(("call", call));
        self.call
            .clone()
            .unwrap_or_else(|| Err("the corpus chain has no eth_call answer".to_owned()))
    }
    async fn estimate_gas(&self, call: ChainCall) -> Result<u64, String> {
        self.calls.lock().unwrap().push(("estimateGas", call));
        self.estimate
            .clone()
            .unwrap_or_else(|| Err("the corpus chain has no eth_estimateGas answer".to_owned()))
    }
}

struct Bridges(HashMap<String, Arc<BridgeDef>>);

impl BridgeRegistry for Bridges {
    fn bridge(&self, name: &str) -> Option<Arc<BridgeDef>> {
        self.0.get(&name.to_ascii_lowercase()).cloned()
    }
}

// ---- reading the expectation document (parsed exactly, numbers keep every digit) -------

trait Get {
    fn get(&self, key: &str) -> Option<&Value>;
}

impl Get for Value {
    fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().ok().and_then(|m| m.get(key))
    }
}

fn text(v: &Value) -> Option<&str> {
    v.as_str().ok()
}

fn int(v: &Value) -> Option<u64> {
    matches!(v, Value::Decimal(_))
        .then(|| v.as_u64().ok())
        .flatten()
}

fn flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

fn list(v: &Value) -> Option<&[Value]> {
    v.as_list().ok()
}

fn map(v: &Value) -> Option<&BTreeMap<String, Value>> {
    v.as_map().ok()
}

/// A JSON Schema from the expectation document, for the bridge definitions.
fn schema(v: &Value) -> Result<serde_json::Value, String> {
    serde_json::from_str(&v.to_json()).map_err(|e| e.to_string())
}

// ---- comparing ------------------------------------------------------------------------------

/// Canonical JSON of a value (exact decimals, bytes as hex, checksummed addresses).
fn canonical(v: &Value) -> String {
    v.to_json()
}

fn check(ok: bool, what: impl FnOnce() -> String, problems: &mut Vec<String>) {
    if !ok {
        problems.push(what());
    }
}

fn opt_u64(j: &Value, key: &str) -> Option<u64> {
    j.get(key).and_then(int)
}

fn compare_outcome(
    expect: &Value,
    outcome: &RunOutcome,
    problems: &mut Vec<String>,
) -> Result<(), String> {
    let state = match outcome.state {
        RunState::Completed => "Completed",
        RunState::Errored => "Errored",
        RunState::Suspended => "Suspended",
    };
    let want_state = expect
        .get("state")
        .and_then(text)
        .ok_or("expect.state is required")?;
    check(
        state == want_state,
        || format!("state: got {state}, want {want_state}"),
        problems,
    );
    if let Some(outputs) = expect.get("outputs").and_then(list) {
        let got: Vec<String> = outcome
            .outputs
            .iter()
            .map(|o| o.as_ref().map(canonical).unwrap_or_else(|| "null".into()))
            .collect();
        let want: Vec<String> = outputs.iter().map(canonical).collect();
        check(
            got == want,
            || format!("outputs: got {got:?}\n      want {want:?}"),
            problems,
        );
    }
    if let Some(errors) = expect.get("errors").and_then(list) {
        let fragments: Vec<&str> = errors.iter().filter_map(text).collect();
        let ok = fragments.len() == outcome.errors.len()
            && fragments
                .iter()
                .zip(&outcome.errors)
                .all(|(f, e)| e.contains(f));
        check(
            ok,
            || {
                format!(
                    "errors: got {:?}\n      want fragments {fragments:?}",
                    outcome.errors
                )
            },
            problems,
        );
    }
    if let Some(suspended) = expect.get("suspended").and_then(list) {
        let want: Vec<&str> = suspended.iter().filter_map(text).collect();
        check(
            outcome.suspended == want,
            || format!("suspended: got {:?}, want {want:?}", outcome.suspended),
            problems,
        );
    }
    if let Some(tasks) = expect.get("tasks").and_then(map) {
        for (id, want) in tasks {
            let Some(t) = outcome.tasks.iter().find(|t| &t.dot_id == id) else {
                problems.push(format!("task {id:?}: not in the run"));
                continue;
            };
            if let Some(w) = want.get("output") {
                let got = t.output.as_ref().map(canonical);
                let w = canonical(w);
                check(
                    got.as_deref() == Some(w.as_str()),
                    || {
                        format!(
                            "task {id:?} output: got {got:?} (error {:?}), want {w}",
                            t.error
                        )
                    },
                    problems,
                );
            }
            if let Some(ty) = want.get("type").and_then(text) {
                let got = t.output.as_ref().map(Value::type_name);
                check(
                    got == Some(ty),
                    || format!("task {id:?} type: got {got:?}, want {ty}"),
                    problems,
                );
            }
            if let Some(frag) = want.get("error").and_then(text) {
                check(
                    t.error.as_deref().is_some_and(|e| e.contains(frag)),
                    || format!("task {id:?} error: got {:?}, want …{frag}…", t.error),
                    problems,
                );
            }
            if want.get("notRun").and_then(flag) == Some(true) {
                check(
                    t.output.is_none() && t.error.is_none(),
                    || format!("task {id:?} should not have finished: {t:?}"),
                    problems,
                );
            }
        }
    }
    Ok(())
}

fn compare_txs(
    expect: &Value,
    txs: &[EthTxRequest],
    problems: &mut Vec<String>,
) -> Result<(), String> {
    let Some(want) = expect.get("txs").and_then(list) else {
        return Ok(());
    };
    if want.len() != txs.len() {
        problems.push(format!(
            "txs: got {} transactions, want {}: {txs:?}",
            txs.len(),
            want.len()
        ));
        return Ok(());
    }
    for (i, (w, tx)) in want.iter().zip(txs).enumerate() {
        let mut fields: Vec<(&str, String, String)> = Vec::new();
        if let Some(to) = w.get("to").and_then(text) {
            fields.push(("to", tx.to.to_checksum(None), to.to_owned()));
        }
        if let Some(data) = w.get("data").and_then(text) {
            fields.push(("data", tx.data.to_string(), data.to_lowercase()));
        }
        if let Some(from) = w.get("from") {
            let got = tx
                .from
                .map(|a| a.to_checksum(None))
                .unwrap_or_else(|| "null".into());
            fields.push(("from", got, from.as_str().unwrap_or("null").to_owned()));
        }
        if let Some(g) = w.get("gasLimit") {
            fields.push((
                "gasLimit",
                format!("{:?}", tx.gas_limit),
                format!("{:?}", int(g)),
            ));
        }
        if let Some(c) = opt_u64(w, "minConfirmations") {
            fields.push((
                "minConfirmations",
                tx.min_confirmations.to_string(),
                c.to_string(),
            ));
        }
        if let Some(c) = w.get("evmChainID") {
            fields.push((
                "evmChainID",
                format!("{:?}", tx.evm_chain_id),
                format!("{:?}", int(c)),
            ));
        }
        if let Some(f) = w.get("failOnRevert").and_then(flag) {
            fields.push(("failOnRevert", tx.fail_on_revert.to_string(), f.to_string()));
        }
        if let Some(k) = w.get("idempotencyKey").and_then(text) {
            fields.push(("idempotencyKey", tx.idempotency_key.clone(), k.to_owned()));
        }
        for (name, got, want) in fields {
            check(
                got == want,
                || format!("tx {i} {name}: got {got}, want {want}"),
                problems,
            );
        }
    }
    Ok(())
}

fn block_text(b: BlockRef) -> String {
    match b {
        BlockRef::Latest => "latest".to_owned(),
        BlockRef::Pending => "pending".to_owned(),
        BlockRef::Number(n) => n.to_string(),
    }
}

fn compare_calls(expect: &Value, calls: &[(&'static str, ChainCall)], problems: &mut Vec<String>) {
    let Some(want) = expect.get("calls").and_then(list) else {
        return;
    };
    if want.len() != calls.len() {
        problems.push(format!("calls: got {calls:?}, want {} calls", want.len()));
        return;
    }
    for (i, (w, (kind, call))) in want.iter().zip(calls).enumerate() {
        let mut fields: Vec<(&str, String, String)> = Vec::new();
        if let Some(k) = w.get("kind").and_then(text) {
            fields.push(("kind", (*kind).to_owned(), k.to_owned()));
        }
        if let Some(to) = w.get("to").and_then(text) {
            fields.push(("to", call.to.to_checksum(None), to.to_owned()));
        }
        if let Some(data) = w.get("data").and_then(text) {
            fields.push(("data", call.data.to_string(), data.to_lowercase()));
        }
        if let Some(from) = w.get("from") {
            let got = call
                .from
                .map(|a| a.to_checksum(None))
                .unwrap_or_else(|| "null".into());
            fields.push(("from", got, from.as_str().unwrap_or("null").to_owned()));
        }
        if let Some(g) = w.get("gas") {
            fields.push(("gas", format!("{:?}", call.gas), format!("{:?}", int(g))));
        }
        if let Some(b) = w.get("block") {
            let want = b.to_text().into_owned();
            fields.push(("block", block_text(call.block), want));
        }
        if let Some(c) = w.get("evmChainID") {
            fields.push((
                "evmChainID",
                format!("{:?}", call.evm_chain_id),
                format!("{:?}", int(c)),
            ));
        }
        for (name, got, want) in fields {
            check(
                got == want,
                || format!("call {i} {name}: got {got}, want {want}"),
                problems,
            );
        }
    }
}

fn request_matches(w: &Value, seen: &Seen) -> bool {
    if let Some(m) = w.get("method").and_then(text)
        && !seen.method.eq_ignore_ascii_case(m)
    {
        return false;
    }
    if let Some(p) = w.get("path").and_then(text)
        && seen.path != p
    {
        return false;
    }
    if let Some(j) = w.get("json") {
        let got = parse_json(seen.body.as_bytes()).map(|v| v.to_json());
        if got != Ok(canonical(j)) {
            return false;
        }
    }
    if let Some(raw) = w.get("raw").and_then(text)
        && seen.body != raw
    {
        return false;
    }
    if let Some(h) = w.get("headers").and_then(map) {
        for (k, v) in h {
            let got = seen.headers.get(&k.to_ascii_lowercase());
            let ok = match v {
                Value::Null => got.is_none(),
                Value::String(s) => got == Some(s),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

fn compare_requests(expect: &Value, seen: &[Seen], problems: &mut Vec<String>) {
    let Some(want) = expect.get("requests").and_then(list) else {
        return;
    };
    let mut unmatched: Vec<&Seen> = seen.iter().collect();
    for w in want {
        match unmatched.iter().position(|s| request_matches(w, s)) {
            Some(i) => {
                unmatched.remove(i);
            }
            None => problems.push(format!("no request matches {w}; seen: {seen:#?}")),
        }
    }
    if !unmatched.is_empty() {
        problems.push(format!("unexpected requests: {unmatched:#?}"));
    }
}

// ---- running one spec ------------------------------------------------------------------------

fn cbor_request(items: &Value) -> Result<Vec<u8>, String> {
    let mut cbor = CborBuf::default();
    for item in list(items).ok_or("oracleRequest.cbor must be a list")? {
        let pair = list(item).ok_or("cbor items are [key, value]")?;
        let (Some(Value::String(k)), Some(v)) = (pair.first(), pair.get(1)) else {
            return Err(format!("bad cbor item {item}"));
        };
        match v {
            Value::String(s) => {
                cbor.add(k, s);
            }
            n @ Value::Decimal(_) => {
                cbor.add_int(k, n.as_i64().map_err(|e| e.to_string())?);
            }
            Value::List(a) => {
                let texts: Vec<&str> = a.iter().filter_map(text).collect();
                cbor.add_string_array(k, &texts);
            }
            other => return Err(format!("unsupported cbor value {other}")),
        }
    }
    Ok(cbor.0)
}

fn merge_maps(base: Value, extra: Value) -> Value {
    match (base, extra) {
        (Value::Map(mut a), Value::Map(b)) => {
            a.extend(b);
            Value::Map(a)
        }
        (a, _) => a,
    }
}

fn job_run_vars(exp: &Value, spec: &JobSpec) -> Result<Value, String> {
    let mut vars = match exp.get("oracleRequest") {
        Some(req) => {
            let data = cbor_request(req.get("cbor").unwrap_or(&Value::List(Vec::new())))?;
            let [ascii_id, _] = spec_id_forms(&spec.external_job_id);
            let oracle = spec
                .direct_request
                .as_ref()
                .map(|d| d.contract_address)
                .unwrap_or(Address::ZERO);
            let mut request = Request::new(ascii_id, data);
            if let Some(p) = req.get("payment").and_then(text) {
                request.payment = p.parse::<U256>().map_err(|e| e.to_string())?;
            }
            request.job_run_vars(oracle)
        }
        None => Value::map(Vec::<(String, Value)>::new()),
    };
    if let Some(extra) = exp.get("jobRun") {
        vars = merge_maps(vars, extra.clone());
    }
    Ok(vars)
}

async fn run_case(name: &str, spec_text: &str, exp_text: &str) -> Result<Vec<String>, String> {
    let (base, server) = start_server().await;
    let spec_text = spec_text.replace("{{BASE}}", &base);
    let exp: Value = parse_json(exp_text.replace("{{BASE}}", &base).as_bytes())
        .map_err(|e| format!("{name}.expected.json: at byte {}: {}", e.offset, e.message))?;
    let spec = parse_job_spec(&spec_text, name).map_err(|e| format!("spec does not parse: {e}"))?;

    if let Some(routes) = exp.get("http").and_then(map) {
        let mut table = server.routes.lock().unwrap();
        for (path, a) in routes {
            let answers = match a {
                Value::List(list) => list
                    .iter()
                    .map(parse_answer)
                    .collect::<Result<Vec<_>, _>>()?,
                one => vec![parse_answer(one)?],
            };
            table.insert(path.clone(), (answers, 0));
        }
    }

    let runner_cfg = exp.get("runner").cloned().unwrap_or(Value::Null);
    let mut cfg = RunnerConfig {
        allow_private_http: runner_cfg
            .get("allowPrivateHttp")
            .and_then(flag)
            // The corpus's sources listen on loopback; `ssrf_guard` turns this off.
            .unwrap_or(true),
        resume_base_url: runner_cfg
            .get("resumeBaseUrl")
            .and_then(text)
            .map(str::to_owned),
        ..RunnerConfig::default()
    };
    if let Some(t) = runner_cfg.get("defaultHttpTimeout").and_then(text) {
        cfg.default_http_timeout = parse_duration(t)?;
    }
    let sink = Arc::new(FakeSink {
        error: exp
            .get("ethtx")
            .and_then(|e| e.get("error"))
            .and_then(text)
            .map(str::to_owned),
        ..FakeSink::default()
    });
    let chain_cfg = exp.get("chain").cloned().unwrap_or(Value::Null);
    let chain = Arc::new(FakeChain {
        call: chain_cfg.get("call").map(|c| match c {
            Value::String(hex) => orakel_pipeline::parse_hex(hex)
                .map(Bytes::from)
                .ok_or_else(|| format!("bad call answer {hex}")),
            other => Err(other
                .get("error")
                .and_then(text)
                .unwrap_or("error")
                .to_owned()),
        }),
        estimate: chain_cfg.get("estimateGas").map(|c| {
            int(c).ok_or_else(|| c.get("error").and_then(text).unwrap_or("error").to_owned())
        }),
        ..FakeChain::default()
    });
    let mut bridges = HashMap::new();
    if let Some(defs) = exp.get("bridges").and_then(map) {
        for (bname, d) in defs {
            let def = BridgeDef::new(BridgeParams {
                name: bname.clone(),
                url: d.get("url").and_then(text).unwrap_or_default().to_owned(),
                outgoing_token: d
                    .get("outgoingToken")
                    .and_then(text)
                    .unwrap_or_default()
                    .to_owned(),
                input_schema: d.get("inputSchema").map(schema).transpose()?,
                output_schema: d.get("outputSchema").map(schema).transpose()?,
                ..BridgeParams::default()
            })
            .map_err(|e| format!("bridge {bname}: {e}"))?;
            bridges.insert(bname.to_ascii_lowercase(), Arc::new(def));
        }
    }
    let runner = Runner::new(cfg, Some(sink.clone()))
        .map_err(|e| e.to_string())?
        .with_bridges(Arc::new(Bridges(bridges)))
        .with_chain_reader(chain.clone());

    let job_spec_vars = match exp.get("jobSpec") {
        Some(extra) => merge_maps(spec.job_spec_vars(1), extra.clone()),
        None => spec.job_spec_vars(1),
    };
    let mut prior_results = HashMap::new();
    if let Some(prior) = exp.get("priorResults").and_then(map) {
        for (task, r) in prior {
            let res = match (r.get("output"), r.get("error").and_then(text)) {
                (Some(v), None) => Ok(v.clone()),
                (None, Some(e)) => Err(e.to_owned()),
                _ => return Err(format!("priorResults.{task}: give output or error")),
            };
            prior_results.insert(task.clone(), res);
        }
    }
    let ctx = RunContext {
        run_id: "corpus-run".to_owned(),
        job_spec_vars,
        job_run_vars: job_run_vars(&exp, &spec)?,
        max_task_duration: spec.max_task_duration,
        prior_results,
    };
    let started = Instant::now();
    let outcome = runner.execute(&spec.pipeline, ctx).await;
    let took = started.elapsed();

    let expect = exp.get("expect").ok_or("expect is required")?;
    let mut problems = Vec::new();
    if let Some(ms) = opt_u64(expect, "maxRunMs") {
        check(
            took <= Duration::from_millis(ms),
            || format!("the run took {took:?}, want at most {ms}ms"),
            &mut problems,
        );
    }
    compare_outcome(expect, &outcome, &mut problems)?;
    compare_txs(expect, &sink.txs.lock().unwrap(), &mut problems)?;
    compare_calls(expect, &chain.calls.lock().unwrap(), &mut problems);
    compare_requests(expect, &server.seen.lock().unwrap(), &mut problems);
    if !problems.is_empty() {
        problems.push(format!(
            "task results: {:#?}",
            outcome
                .tasks
                .iter()
                .map(|t| (
                    t.dot_id.as_str(),
                    t.output.as_ref().map(canonical),
                    t.error.as_deref()
                ))
                .collect::<Vec<_>>()
        ));
    }
    Ok(problems)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_spec_runs_to_its_expected_outputs() {
    let dir = specs_dir();
    let mut specs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    specs.sort();
    let only = std::env::var("CORPUS_ONLY").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    for path in &specs {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        if only.as_deref().is_some_and(|o| o != stem) {
            continue;
        }
        let name = format!("{stem}.toml");
        let exp_path = dir.join(format!("{stem}.expected.json"));
        let Ok(exp_text) = std::fs::read_to_string(&exp_path) else {
            failures.push(format!("{name}: no {stem}.expected.json next to it"));
            continue;
        };
        let spec_text = std::fs::read_to_string(path).unwrap();
        ran += 1;
        match tokio::time::timeout(
            Duration::from_secs(30),
            run_case(&name, &spec_text, &exp_text),
        )
        .await
        {
            Ok(Ok(problems)) if problems.is_empty() => {}
            Ok(Ok(problems)) => failures.push(format!("{name}:\n  {}", problems.join("\n  "))),
            Ok(Err(e)) => failures.push(format!("{name}: {e}")),
            Err(_) => failures.push(format!("{name}: did not finish within 30 s")),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
    if only.is_none() {
        assert!(ran >= MIN_SPECS, "only {ran} specs in the corpus");
    }
    // Every expectation file belongs to a spec.
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let n = p.file_name().unwrap().to_string_lossy().to_string();
        if let Some(stem) = n.strip_suffix(".expected.json") {
            assert!(dir.join(format!("{stem}.toml")).exists(), "{n} has no spec");
        }
    }
}

#[test]
fn the_corpus_uses_every_task_type() {
    let dir = specs_dir();
    let mut used = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replace("{{BASE}}", "http://127.0.0.1:1");
        let spec = parse_job_spec(&text, "x.toml").unwrap();
        for t in spec.pipeline.tasks() {
            used.insert(t.task_type.to_owned());
        }
    }
    let missing: Vec<&str> = orakel_pipeline::task_types()
        .filter(|t| !used.contains(*t))
        .collect();
    assert!(
        missing.is_empty(),
        "task types without a corpus spec: {missing:?}"
    );
}
