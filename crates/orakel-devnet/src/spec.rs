//! Job specs the devnet registers: the established direct-request shape, written as an
//! operator would write it, optionally with a `bridge` task asking the sample adapter.

use alloy::primitives::Address;
use uuid::Uuid;

/// The `OracleRequest` event signature as `ethabidecodelog` wants it.
pub const ORACLE_REQUEST_ABI: &str = "OracleRequest(bytes32 indexed specId, address requester, bytes32 requestId, uint256 payment, address callbackAddr, bytes4 callbackFunctionId, uint256 cancelExpiration, uint256 dataVersion, bytes data)";

const FULFIL_ABI: &str = "fulfillOracleRequest(bytes32 requestId, uint256 payment, address callbackAddress, bytes4 callbackFunctionId, uint256 expiration, bytes32 data)";

const FULFIL2_ABI: &str = "fulfillOracleRequest2(bytes32 requestId, uint256 payment, address callbackAddress, bytes4 callbackFunctionId, uint256 expiration, bytes data)";

/// How a job answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fulfil {
    /// `fulfillOracleRequest` with one `bytes32` word (requests made with `oracleRequest`).
    Word,
    /// `fulfillOracleRequest2` with ABI-encoded `(requestId, value)` (requests made with
    /// `operatorRequest`).
    Bytes,
}

/// The `encode_data` and `encode_tx` tasks that turn task `value`'s output into the
/// fulfilment calldata (`submit_tx` sends `$(encode_tx)`).
pub fn fulfil_tasks(fulfil: Fulfil, value: &str) -> String {
    let (data_abi, data_json, tx_abi) = match fulfil {
        Fulfil::Word => (
            "(uint256 value)",
            format!("{{ \"value\": $({value}) }}"),
            FULFIL_ABI,
        ),
        Fulfil::Bytes => (
            "(bytes32 requestId, uint256 value)",
            format!("{{ \"requestId\": $(decode_log.requestId), \"value\": $({value}) }}"),
            FULFIL2_ABI,
        ),
    };
    format!(
        r#"    encode_data  [type="ethabiencode" abi="{data_abi}" data=<{data_json}>]
    encode_tx    [type="ethabiencode"
                  abi="{tx_abi}"
                  data=<{{
                      "requestId": $(decode_log.requestId),
                      "payment": $(decode_log.payment),
                      "callbackAddress": $(decode_log.callbackAddr),
                      "callbackFunctionId": $(decode_log.callbackFunctionId),
                      "expiration": $(decode_log.cancelExpiration),
                      "data": $(encode_data)
                  }}>]
"#
    )
}

/// A direct-request job that asks `sources` price sources of the simulator at `sim_base` for
/// the requested `pair`, takes the median (tolerating `allowed_faults` failed sources), scales
/// it by the request's `times` and fulfils as `fulfil` says.
#[allow(clippy::too_many_arguments)]
pub fn median_price_job(
    name: &str,
    job_id: Uuid,
    oracle: Address,
    sim_base: &str,
    sources: usize,
    allowed_faults: usize,
    http_timeout: &str,
    fulfil: Fulfil,
) -> String {
    MedianJob {
        name,
        job_id,
        oracle,
        sim_base,
        sources,
        allowed_faults,
        http_timeout,
        fulfil,
        adapter_bridge: None,
    }
    .spec()
}

/// The median price job in full: [`median_price_job`], optionally with one more source that
/// is asked through an external adapter.
#[derive(Debug, Clone)]
pub struct MedianJob<'a> {
    /// Job name.
    pub name: &'a str,
    /// External job id.
    pub job_id: Uuid,
    /// The Oracle contract whose requests it serves.
    pub oracle: Address,
    /// Base URL of the simulator.
    pub sim_base: &'a str,
    /// Sources asked directly with `http` tasks: indices `0..sources`.
    pub sources: usize,
    /// Failed inputs the median tolerates.
    pub allowed_faults: usize,
    /// Timeout of each `http` and `bridge` task.
    pub http_timeout: &'a str,
    /// How the job answers.
    pub fulfil: Fulfil,
    /// A registered bridge to the sample adapter (`orakel-adapter`). When set, the job also
    /// asks simulator source number `sources` through it with a `bridge` task, and its
    /// `data.result` is one more input of the median.
    pub adapter_bridge: Option<&'a str>,
}

impl MedianJob<'_> {
    /// The job spec (TOML with a DOT `observationSource`).
    pub fn spec(&self) -> String {
        let MedianJob {
            name,
            job_id,
            oracle,
            sim_base,
            sources,
            allowed_faults,
            http_timeout,
            fulfil,
            adapter_bridge,
        } = *self;
        let fulfil_tasks = fulfil_tasks(fulfil, "scale");
        let mut fetches = String::new();
        let mut edges = String::new();
        for i in 0..sources {
            fetches.push_str(&format!(
                "    fetch_{i}  [type=\"http\" method=GET url=\"{sim_base}/sources/{i}/price?pair=$(decode_cbor.pair)\" timeout=\"{http_timeout}\"]\n    parse_{i}  [type=\"jsonparse\" path=\"price\" data=\"$(fetch_{i})\"]\n"
            ));
            edges.push_str(&format!(
                "    decode_cbor -> fetch_{i} -> parse_{i} -> median\n"
            ));
        }
        if let Some(bridge) = adapter_bridge {
            // The adapter reads the next simulator source, so together the tasks ask every
            // source once and the median stays the simulator's median.
            fetches.push_str(&format!(
                r#"    ask_adapter    [type="bridge" name="{bridge}" timeout="{http_timeout}"
                    requestData=<{{"data": {{"pair": $(decode_cbor.pair), "source": {sources}}}}}>]
    parse_adapter  [type="jsonparse" path="data,result" data="$(ask_adapter)"]
"#
            ));
            edges.push_str("    decode_cbor -> ask_adapter -> parse_adapter -> median\n");
        }
        format!(
            r#"type = "directrequest"
schemaVersion = 1
name = "{name}"
externalJobID = "{job_id}"
contractAddress = "{oracle:#x}"
minIncomingConfirmations = 1
maxTaskDuration = "10s"
observationSource = """
    decode_log   [type="ethabidecodelog"
                  abi="{ORACLE_REQUEST_ABI}"
                  data="$(jobRun.logData)"
                  topics="$(jobRun.logTopics)"]
    decode_cbor  [type="cborparse" data="$(decode_log.data)"]
{fetches}    median       [type="median" allowedFaults={allowed_faults}]
    scale        [type="multiply" input="$(median)" times="$(decode_cbor.times)"]
{fulfil_tasks}    submit_tx    [type="ethtx" to="{oracle:#x}" data="$(encode_tx)"]

    decode_log -> decode_cbor
{edges}    median -> scale -> encode_data -> encode_tx -> submit_tx
"""
"#
        )
    }
}

/// The classic single-source direct-request job: fetch the URL the request names (`get`),
/// extract `path`, multiply by `times`, fulfil.
pub fn url_job(name: &str, job_id: Uuid, oracle: Address, fulfil: Fulfil) -> String {
    let fulfil_tasks = fulfil_tasks(fulfil, "scale");
    format!(
        r#"type = "directrequest"
schemaVersion = 1
name = "{name}"
externalJobID = "{job_id}"
contractAddress = "{oracle:#x}"
minIncomingConfirmations = 1
observationSource = """
    decode_log   [type="ethabidecodelog" abi="{ORACLE_REQUEST_ABI}" data="$(jobRun.logData)" topics="$(jobRun.logTopics)"]
    decode_cbor  [type="cborparse" data="$(decode_log.data)"]
    fetch        [type="http" method=GET url="$(decode_cbor.get)" timeout="2s"]
    parse        [type="jsonparse" path="$(decode_cbor.path)" data="$(fetch)"]
    scale        [type="multiply" input="$(parse)" times="$(decode_cbor.times)"]
{fulfil_tasks}    submit_tx    [type="ethtx" to="{oracle:#x}" data="$(encode_tx)"]
    decode_log -> decode_cbor -> fetch -> parse -> scale -> encode_data -> encode_tx -> submit_tx
"""
"#
    )
}

/// An `sla` job: answers every round of SLAs of `market` whose `specId` is `job_id` with the
/// median of `sources` simulator sources for the SLA's `pair` parameter, scaled by its `times`
/// parameter (the SLA's `params` are diet CBOR `{pair, times}`, like a direct request's data).
#[derive(Debug, Clone)]
pub struct SlaJob<'a> {
    /// Job name.
    pub name: &'a str,
    /// External job id: the SLA's `specId`.
    pub job_id: Uuid,
    /// The SLA market.
    pub market: Address,
    /// Base URL of the simulator.
    pub sim_base: &'a str,
    /// Sources asked: indices `0..sources`.
    pub sources: usize,
    /// Failed inputs the median tolerates.
    pub allowed_faults: usize,
    /// Timeout of each `http` task.
    pub http_timeout: &'a str,
    /// A final `multiply` by this factor after scaling (a lying oracle: `"10"`, `"0.97"`).
    pub lie_factor: Option<&'a str>,
    /// Wait this many milliseconds before fetching (the simulator's `/fault/slow` route), so a
    /// test can order the oracles' commits.
    pub delay_ms: Option<u64>,
}

impl SlaJob<'_> {
    /// The job spec (TOML with a DOT `observationSource`).
    pub fn spec(&self) -> String {
        let SlaJob {
            name,
            job_id,
            market,
            sim_base,
            sources,
            allowed_faults,
            http_timeout,
            lie_factor,
            delay_ms,
        } = *self;
        let mut tasks = String::new();
        let mut edges = String::new();
        if let Some(ms) = delay_ms {
            tasks.push_str(&format!(
                "    delay   [type=\"http\" method=GET url=\"{sim_base}/fault/slow?ms={ms}\" timeout=\"{}ms\"]\n",
                ms + 5_000
            ));
            edges.push_str("    delay -> params\n");
        }
        tasks.push_str("    params  [type=\"cborparse\" data=\"$(jobRun.params)\"]\n");
        for i in 0..sources {
            tasks.push_str(&format!(
                "    fetch_{i} [type=\"http\" method=GET url=\"{sim_base}/sources/{i}/price?pair=$(params.pair)\" timeout=\"{http_timeout}\"]\n    parse_{i} [type=\"jsonparse\" path=\"price\" data=\"$(fetch_{i})\"]\n"
            ));
            edges.push_str(&format!("    params -> fetch_{i} -> parse_{i} -> median\n"));
        }
        tasks.push_str(&format!(
            "    median  [type=\"median\" allowedFaults={allowed_faults}]\n    scale   [type=\"multiply\" input=\"$(median)\" times=\"$(params.times)\"]\n"
        ));
        edges.push_str("    median -> scale\n");
        if let Some(factor) = lie_factor {
            tasks.push_str(&format!(
                "    lie     [type=\"multiply\" input=\"$(scale)\" times=\"{factor}\"]\n"
            ));
            edges.push_str("    scale -> lie\n");
        }
        let max_task = delay_ms.map_or(10_000, |ms| ms + 10_000);
        format!(
            r#"type = "sla"
schemaVersion = 1
name = "{name}"
externalJobID = "{job_id}"
marketAddress = "{market:#x}"
maxTaskDuration = "{max_task}ms"
observationSource = """
{tasks}
{edges}"""
"#
        )
    }
}
