//! Job specs the devnet registers: the established direct-request shape, written as an
//! operator would write it.

use alloy::primitives::Address;
use uuid::Uuid;

/// The `OracleRequest` event signature as `ethabidecodelog` wants it.
pub const ORACLE_REQUEST_ABI: &str = "OracleRequest(bytes32 indexed specId, address requester, bytes32 requestId, uint256 payment, address callbackAddr, bytes4 callbackFunctionId, uint256 cancelExpiration, uint256 dataVersion, bytes data)";

const FULFIL_ABI: &str = "fulfillOracleRequest(bytes32 requestId, uint256 payment, address callbackAddress, bytes4 callbackFunctionId, uint256 expiration, bytes32 data)";

/// A direct-request job that asks `sources` price sources of the simulator at `sim_base` for
/// the requested `pair`, takes the median (tolerating `allowed_faults` failed sources), scales
/// it by the request's `times` and fulfils with `fulfillOracleRequest`.
pub fn median_price_job(
    name: &str,
    job_id: Uuid,
    oracle: Address,
    sim_base: &str,
    sources: usize,
    allowed_faults: usize,
    http_timeout: &str,
) -> String {
    let mut fetches = String::new();
    let mut edges = String::new();
    for i in 0..sources {
        fetches.push_str(&format!(
            "    fetch_{i}  [type=\"http\" method=GET url=\"{sim_base}/sources/{i}/price?pair=$(decode_cbor.pair)\" timeout=\"{http_timeout}\"]\n    parse_{i}  [type=\"jsonparse\" path=\"price\" data=\"$(fetch_{i})\"]\n"
        ));
        edges.push_str(&format!("    decode_cbor -> fetch_{i} -> parse_{i} -> median\n"));
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
    encode_data  [type="ethabiencode" abi="(uint256 value)" data=<{{ "value": $(scale) }}>]
    encode_tx    [type="ethabiencode"
                  abi="{FULFIL_ABI}"
                  data=<{{
                      "requestId": $(decode_log.requestId),
                      "payment": $(decode_log.payment),
                      "callbackAddress": $(decode_log.callbackAddr),
                      "callbackFunctionId": $(decode_log.callbackFunctionId),
                      "expiration": $(decode_log.cancelExpiration),
                      "data": $(encode_data)
                  }}>]
    submit_tx    [type="ethtx" to="{oracle:#x}" data="$(encode_tx)"]

    decode_log -> decode_cbor
{edges}    median -> scale -> encode_data -> encode_tx -> submit_tx
"""
"#
    )
}

/// The classic single-source direct-request job: fetch the URL the request names (`get`),
/// extract `path`, multiply by `times`, fulfil. With `operator = true` it answers through
/// `fulfillOracleRequest2` (requests made with `operatorRequest`).
pub fn url_job(name: &str, job_id: Uuid, oracle: Address, operator: bool) -> String {
    let (encode_data, encode_tx) = if operator {
        (
            r#"encode_data  [type="ethabiencode" abi="(bytes32 requestId, uint256 value)" data=<{ "requestId": $(decode_log.requestId), "value": $(scale) }>]"#,
            r#"encode_tx    [type="ethabiencode" abi="fulfillOracleRequest2(bytes32 requestId, uint256 payment, address callbackAddress, bytes4 callbackFunctionId, uint256 expiration, bytes data)" data=<{ "requestId": $(decode_log.requestId), "payment": $(decode_log.payment), "callbackAddress": $(decode_log.callbackAddr), "callbackFunctionId": $(decode_log.callbackFunctionId), "expiration": $(decode_log.cancelExpiration), "data": $(encode_data) }>]"#,
        )
    } else {
        (
            r#"encode_data  [type="ethabiencode" abi="(uint256 value)" data=<{ "value": $(scale) }>]"#,
            r#"encode_tx    [type="ethabiencode" abi="fulfillOracleRequest(bytes32 requestId, uint256 payment, address callbackAddress, bytes4 callbackFunctionId, uint256 expiration, bytes32 data)" data=<{ "requestId": $(decode_log.requestId), "payment": $(decode_log.payment), "callbackAddress": $(decode_log.callbackAddr), "callbackFunctionId": $(decode_log.callbackFunctionId), "expiration": $(decode_log.cancelExpiration), "data": $(encode_data) }>]"#,
        )
    };
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
    {encode_data}
    {encode_tx}
    submit_tx    [type="ethtx" to="{oracle:#x}" data="$(encode_tx)"]
    decode_log -> decode_cbor -> fetch -> parse -> scale -> encode_data -> encode_tx -> submit_tx
"""
"#
    )
}
