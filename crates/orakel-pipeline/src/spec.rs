//! TOML job specs of the established format: fields, validation, and precise error
//! positions (errors inside the `observationSource` DOT string are mapped back to the line
//! and column of the spec file).

mod schedule;

pub use schedule::{Schedule, ScheduleError};

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::{Address, B256, Bytes, U256};
use toml::Spanned;
use toml::de::{DeTable, DeValue};
use uuid::Uuid;

use crate::pipeline::{self, Pipeline};
use crate::value::{Value, parse_address};

/// Confirmations used when a directrequest spec omits `minIncomingConfirmations` (the
/// established chain default). Nodes should apply `max(spec value, chain floor)`.
pub const DEFAULT_MIN_INCOMING_CONFIRMATIONS: u64 = 3;

/// A job spec problem, located in the spec file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SpecError {
    /// The spec's origin (usually its file name).
    pub origin: String,
    /// 1-based line in the spec file.
    pub line: usize,
    /// 1-based column (in characters) in the spec file.
    pub column: usize,
    /// The field concerned, e.g. `contractAddress` or
    /// `observationSource: task "fetch" attribute "method"`.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.origin, self.line, self.column)?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// The kind of job; the enum grows with the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum JobType {
    /// Runs for each `OracleRequest` log of an operator contract.
    #[serde(rename = "directrequest")]
    DirectRequest,
    /// Runs on a schedule.
    #[serde(rename = "cron")]
    Cron,
    /// Runs when asked through the node's API (by an operator or an external initiator).
    #[serde(rename = "webhook")]
    Webhook,
    /// Bids on SLAs of an SLA market whose `specId` is the job's external id and answers
    /// their rounds with commit–reveal.
    #[serde(rename = "sla")]
    Sla,
}

impl JobType {
    /// The name used in the `type` field.
    pub fn as_str(&self) -> &'static str {
        match self {
            JobType::DirectRequest => "directrequest",
            JobType::Cron => "cron",
            JobType::Webhook => "webhook",
            JobType::Sla => "sla",
        }
    }
}

/// The job types `parse_job_spec` accepts, as listed in error messages.
const SUPPORTED_JOB_TYPES: &str = "directrequest, cron, webhook, sla";

impl fmt::Display for JobType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Job types of the established format that are recognised but not runnable yet.
const PLANNED_JOB_TYPES: &[&str] = &[
    "fluxmonitor",
    "offchainreporting",
    "offchainreporting2",
    "keeper",
    "vrf",
    "blockhashstore",
    "bootstrap",
    "gateway",
];

/// The directrequest-specific part of a spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectRequestSpec {
    /// The operator/oracle contract whose `OracleRequest` logs start runs.
    pub contract_address: Address,
    /// Confirmations to wait for before acting on a request log.
    pub min_incoming_confirmations: u64,
    /// Requesters allowed to start runs; empty means anyone.
    pub requesters: Vec<Address>,
    /// Minimum payment (in juels) a request must carry.
    pub min_contract_payment: U256,
}

/// The cron-specific part of a spec.
#[derive(Clone, Debug)]
pub struct CronSpec {
    /// When the job runs.
    pub schedule: Schedule,
}

/// The sla-specific part of a spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaSpec {
    /// The SLA market whose `SlaProposed` logs with this job's `specId` the node bids on.
    pub market_address: Address,
    /// How often the pipeline runs for the node's active feed SLAs (rounds > 1) to check the
    /// deviation threshold; `None`: no deviation checks (rounds start on heartbeat only).
    pub poll_interval: Option<Duration>,
}

/// An external initiator a webhook job accepts runs from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalInitiatorRef {
    /// The initiator's registered name.
    pub name: String,
    /// Its job-specific parameters: JSON text, when given.
    pub spec: Option<String>,
}

/// The webhook-specific part of a spec.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct WebhookSpec {
    /// External initiators allowed to start runs (besides the node's API token).
    pub external_initiators: Vec<ExternalInitiatorRef>,
}

/// A `bridge` task of the pipeline and the bridge it names, located in the spec file, so the
/// node can reject a spec naming a bridge it does not know with the task's position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeTaskRef {
    /// The task id.
    pub dot_id: String,
    /// The bridge name (the `name` attribute, as written).
    pub name: String,
    /// 1-based line of the `name` value in the spec file.
    pub line: usize,
    /// 1-based column of the `name` value in the spec file.
    pub column: usize,
}

impl BridgeTaskRef {
    /// A spec error located at this task's `name` attribute.
    pub fn error(&self, origin: &str, message: impl Into<String>) -> SpecError {
        SpecError {
            origin: origin.to_owned(),
            line: self.line,
            column: self.column,
            field: Some(format!(
                "observationSource: task {:?} attribute \"name\"",
                self.dot_id
            )),
            message: message.into(),
        }
    }
}

/// A parsed and validated job spec.
#[derive(Clone, Debug)]
pub struct JobSpec {
    /// The job type.
    pub job_type: JobType,
    /// Always 1.
    pub schema_version: u32,
    /// Optional human-readable name.
    pub name: Option<String>,
    /// The external job id (generated when the spec has none).
    pub external_job_id: Uuid,
    /// Default time budget of each task.
    pub max_task_duration: Option<Duration>,
    /// Present for `directrequest` jobs.
    pub direct_request: Option<DirectRequestSpec>,
    /// Present for `cron` jobs.
    pub cron: Option<CronSpec>,
    /// Present for `webhook` jobs.
    pub webhook: Option<WebhookSpec>,
    /// Present for `sla` jobs.
    pub sla: Option<SlaSpec>,
    /// The pipeline's `bridge` tasks whose `name` is a literal (no variables).
    pub bridge_tasks: Vec<BridgeTaskRef>,
    /// The compiled pipeline.
    pub pipeline: Arc<Pipeline>,
    /// The spec text as given.
    pub source: String,
    /// Non-fatal remarks (ignored fields and attributes).
    pub warnings: Vec<String>,
    /// `evmChainID`, when given.
    pub evm_chain_id: Option<u64>,
    /// Spec-level `gasLimit`, when given (default for `ethtx` tasks without one).
    pub gas_limit: Option<u64>,
    /// `forwardingAllowed` (default false).
    pub forwarding_allowed: bool,
}

impl JobSpec {
    /// The `jobSpec.*` variables of a run: `databaseID`, `externalJobID`, `name`,
    /// `evmChainID`.
    pub fn job_spec_vars(&self, database_id: i64) -> Value {
        Value::map([
            ("databaseID", Value::from(database_id)),
            (
                "externalJobID",
                Value::String(self.external_job_id.hyphenated().to_string()),
            ),
            ("name", Value::String(self.name.clone().unwrap_or_default())),
            (
                "evmChainID",
                Value::String(self.evm_chain_id.map(|c| c.to_string()).unwrap_or_default()),
            ),
        ])
    }
}

/// The `jobRun.*` variables the node provides for a directrequest run.
#[allow(clippy::too_many_arguments)]
pub fn direct_request_run_vars(
    log_data: Bytes,
    log_topics: &[B256],
    log_address: Address,
    log_block_hash: B256,
    log_block_number: u64,
    log_tx_hash: B256,
    meta: Value,
) -> Value {
    Value::map([
        ("logData", Value::Bytes(log_data)),
        (
            "logTopics",
            Value::List(log_topics.iter().map(|t| Value::from(*t)).collect()),
        ),
        ("logAddress", Value::Address(log_address)),
        ("logBlockHash", Value::from(log_block_hash)),
        ("logBlockNumber", Value::from(log_block_number)),
        ("logTxHash", Value::from(log_tx_hash)),
        ("meta", meta),
    ])
}

/// The `jobRun.*` variables the node provides for a run of an `sla` job: `slaId` and
/// `roundId` (numbers; `roundId` is 0 for the runs that check a feed's deviation between
/// rounds), `params` (the SLA's CBOR parameters, bytes, for `cborparse`) and
/// `marketAddress`.
pub fn sla_run_vars(sla_id: U256, round_id: U256, params: Bytes, market: Address) -> Value {
    Value::map([
        ("slaId", Value::Decimal(crate::decimal::from_u256(sla_id))),
        (
            "roundId",
            Value::Decimal(crate::decimal::from_u256(round_id)),
        ),
        ("params", Value::Bytes(params)),
        ("marketAddress", Value::Address(market)),
    ])
}

/// The `int256` answer of an sla run from its final output `value` (of task `task`):
/// integral numbers (or strings holding one) in the `int256` range; booleans as 0 and 1;
/// exactly 32 bytes as the word itself (bytes32 answers). Anything else, in particular a
/// fraction, is an error naming the task: scale prices in the pipeline (`multiply`).
pub fn sla_answer(task: &str, value: &Value) -> Result<alloy_primitives::I256, String> {
    let fail = |why: String| format!("task {task:?} (final output of the sla pipeline): {why}");
    match value {
        Value::Bytes(b) if b.len() == 32 => {
            let word = B256::from_slice(b);
            Ok(alloy_primitives::I256::from_raw(U256::from_be_bytes(
                word.0,
            )))
        }
        Value::Bytes(b) => Err(fail(format!(
            "{} bytes cannot be an int256 answer (only exactly 32 bytes are taken as the answer word)",
            b.len()
        ))),
        Value::Decimal(_) | Value::String(_) | Value::Bool(_) => {
            let d = value.as_decimal().map_err(|e| fail(e.0))?;
            let int = crate::decimal::to_integer(&d).ok_or_else(|| {
                fail(format!(
                    "{} is not an integer; the answer is an int256, so scale it in the pipeline (e.g. a multiply task with times=100000000)",
                    crate::decimal::format_decimal(&d)
                ))
            })?;
            crate::decimal::bigint_to_i256(&int, 256).ok_or_else(|| {
                fail(format!(
                    "{} does not fit in int256",
                    crate::decimal::format_decimal(&d)
                ))
            })
        }
        other => Err(fail(format!("expected a number, got {}", other.describe()))),
    }
}

/// The two encodings of a job id found in the `OracleRequest.specId` topic: (a) the 32
/// ASCII bytes of the UUID's hex digits without dashes; (b) the 16 UUID bytes followed by
/// 16 zero bytes.
pub fn spec_id_forms(id: &Uuid) -> [B256; 2] {
    let mut ascii = [0u8; 32];
    let simple = id.simple().to_string();
    for (dst, src) in ascii.iter_mut().zip(simple.bytes()) {
        *dst = src;
    }
    let mut raw = [0u8; 32];
    for (dst, src) in raw.iter_mut().zip(id.as_bytes().iter()) {
        *dst = *src;
    }
    [B256::from(ascii), B256::from(raw)]
}

/// Decodes a `specId` topic in either form of [`spec_id_forms`].
pub fn job_id_from_spec_id(b: B256) -> Option<Uuid> {
    let bytes = b.as_slice();
    if bytes.iter().all(u8::is_ascii_hexdigit) {
        let text = std::str::from_utf8(bytes).ok()?;
        return Uuid::try_parse(text).ok();
    }
    let (head, tail) = bytes.split_at(16);
    if tail.iter().all(|&x| x == 0) {
        return Uuid::from_slice(head).ok();
    }
    None
}

/// Maps byte offsets to 1-based line and column (in characters).
pub(crate) struct LineIndex<'a> {
    src: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { src, starts }
    }

    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.src.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts.get(line).copied().unwrap_or(0);
        let mut end = offset;
        while end > start && !self.src.is_char_boundary(end) {
            end -= 1;
        }
        let column = self
            .src
            .get(start..end)
            .map(|s| s.chars().count())
            .unwrap_or(0)
            + 1;
        (line + 1, column)
    }
}

/// Parses a duration such as `30s`, `1m30s`, `1.5h`, `250ms`, `0`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "invalid duration {text:?}: expected numbers with units (ns, us, ms, s, m, h), e.g. \"1m30s\""
        )
    };
    let s = text.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = rest.get(..num_len).unwrap_or("");
        rest = rest.get(num_len..).unwrap_or("");
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = rest.get(..unit_len).unwrap_or("");
        rest = rest.get(unit_len..).unwrap_or("");
        let nanos_per: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(bad()),
        };
        let (int_part, frac_part) = match num.split_once('.') {
            Some((i, f)) => (i, f),
            None => (num, ""),
        };
        if (int_part.is_empty() && frac_part.is_empty())
            || frac_part.contains('.')
            || int_part.len() > 20
            || frac_part.len() > 20
        {
            return Err(bad());
        }
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| bad())?
        };
        let mut frac_nanos: u128 = 0;
        if !frac_part.is_empty() {
            let f: u128 = frac_part.parse().map_err(|_| bad())?;
            let scale = 10u128.pow(u32::try_from(frac_part.len()).unwrap_or(20));
            frac_nanos = f.saturating_mul(nanos_per) / scale;
        }
        total = total
            .checked_add(int.checked_mul(nanos_per).ok_or_else(bad)?)
            .and_then(|t| t.checked_add(frac_nanos))
            .ok_or_else(bad)?;
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| bad())?;
    let nanos = u32::try_from(total % 1_000_000_000).map_err(|_| bad())?;
    Ok(Duration::new(secs, nanos))
}

/// Formats a duration compactly: `2s`, `1.5s`, `250ms`, `1m30s`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return format!("{}µs", d.as_micros());
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    if secs >= 60 && d.subsec_millis() == 0 {
        let (m, s) = (secs / 60, secs % 60);
        return if s == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{s}s")
        };
    }
    let millis = d.subsec_millis();
    if millis == 0 {
        format!("{secs}s")
    } else {
        let frac = format!("{millis:03}");
        format!("{secs}.{}s", frac.trim_end_matches('0'))
    }
}

/// For a TOML string value at `span`, the source offset of each byte of the decoded string
/// (plus one entry for the end). Falls back to the content start when the raw text cannot
/// be re-decoded identically.
fn toml_string_map(source: &str, span: Range<usize>, decoded: &str) -> Vec<usize> {
    let raw = source.get(span.clone()).unwrap_or("");
    let attempt = |normalize_crlf: bool| -> Option<Vec<usize>> {
        let (delim, literal, multi) = if raw.starts_with("\"\"\"") {
            (3, false, true)
        } else if raw.starts_with("'''") {
            (3, true, true)
        } else if raw.starts_with('"') {
            (1, false, false)
        } else if raw.starts_with('\'') {
            (1, true, false)
        } else {
            return None;
        };
        let mut start = span.start + delim;
        let end = span.end.checked_sub(delim)?;
        if multi {
            let content = source.get(start..end)?;
            if content.starts_with("\r\n") {
                start += 2;
            } else if content.starts_with('\n') {
                start += 1;
            }
        }
        let content = source.get(start..end)?;
        let mut out = String::with_capacity(content.len());
        let mut map = Vec::with_capacity(content.len() + 1);
        let mut chars = content.char_indices().peekable();
        let push = |out: &mut String, map: &mut Vec<usize>, c: char, at: usize| {
            out.push(c);
            for _ in 0..c.len_utf8() {
                map.push(at);
            }
        };
        while let Some((i, c)) = chars.next() {
            let at = start + i;
            if c == '\r' && normalize_crlf && chars.peek().map(|p| p.1) == Some('\n') {
                continue;
            }
            if literal || c != '\\' {
                push(&mut out, &mut map, c, at);
                continue;
            }
            let (_, e) = chars.next()?;
            let simple = match e {
                'b' => Some('\u{8}'),
                't' => Some('\t'),
                'n' => Some('\n'),
                'f' => Some('\u{c}'),
                'r' => Some('\r'),
                'e' => Some('\u{1b}'),
                '"' => Some('"'),
                '\\' => Some('\\'),
                _ => None,
            };
            if let Some(ch) = simple {
                push(&mut out, &mut map, ch, at);
                continue;
            }
            let hex_len = match e {
                'x' => 2,
                'u' => 4,
                'U' => 8,
                _ => 0,
            };
            if hex_len > 0 {
                let mut code = 0u32;
                for _ in 0..hex_len {
                    let (_, h) = chars.next()?;
                    code = code.checked_mul(16)?.checked_add(h.to_digit(16)?)?;
                }
                push(&mut out, &mut map, char::from_u32(code)?, at);
                continue;
            }
            if multi && e.is_whitespace() {
                // Line-ending backslash: skip all whitespace and newlines that follow.
                while chars.peek().is_some_and(|p| p.1.is_whitespace()) {
                    chars.next();
                }
                continue;
            }
            return None;
        }
        map.push(end);
        (out == decoded).then_some(map)
    };
    attempt(false)
        .or_else(|| attempt(true))
        .unwrap_or_else(|| vec![span.start; decoded.len() + 1])
}

type Field<'s> = &'s Spanned<DeValue<'s>>;

struct Ctx<'a> {
    origin: &'a str,
    index: LineIndex<'a>,
}

impl Ctx<'_> {
    fn err(&self, offset: usize, field: Option<&str>, message: impl Into<String>) -> SpecError {
        let (line, column) = self.index.position(offset);
        SpecError {
            origin: self.origin.to_owned(),
            line,
            column,
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }

    fn type_err(&self, v: Field<'_>, field: &str, expected: &str) -> SpecError {
        self.err(
            v.span().start,
            Some(field),
            format!("expected {expected}, got {}", v.get_ref().type_str()),
        )
    }

    fn string<'v>(&self, v: Field<'v>, field: &str) -> Result<&'v str, SpecError> {
        match v.get_ref() {
            DeValue::String(s) => Ok(s.as_ref()),
            _ => Err(self.type_err(v, field, "a string")),
        }
    }

    /// An integer written as a TOML integer or a string of digits.
    fn integer_text(&self, v: Field<'_>, field: &str) -> Result<(String, u32), SpecError> {
        match v.get_ref() {
            DeValue::Integer(i) => Ok((i.as_str().replace('_', ""), i.radix())),
            DeValue::String(s) => {
                let t = s.trim();
                match t.strip_prefix("0x") {
                    Some(h) => Ok((h.to_owned(), 16)),
                    None => Ok((t.to_owned(), 10)),
                }
            }
            _ => Err(self.type_err(v, field, "an integer")),
        }
    }

    fn u64(&self, v: Field<'_>, field: &str) -> Result<u64, SpecError> {
        let (text, radix) = self.integer_text(v, field)?;
        let digits = text.strip_prefix('+').unwrap_or(&text);
        u64::from_str_radix(digits, radix).map_err(|_| {
            self.err(
                v.span().start,
                Some(field),
                format!("invalid number {text:?}: expected a non-negative integer"),
            )
        })
    }

    fn u256(&self, v: Field<'_>, field: &str) -> Result<U256, SpecError> {
        let (text, radix) = self.integer_text(v, field)?;
        let digits = text.strip_prefix('+').unwrap_or(&text);
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return Err(self.err(
                v.span().start,
                Some(field),
                format!("invalid number {text:?}: expected a non-negative integer"),
            ));
        }
        U256::from_str_radix(digits, u64::from(radix)).map_err(|_| {
            self.err(
                v.span().start,
                Some(field),
                format!("invalid number {text:?}: does not fit in uint256"),
            )
        })
    }

    fn address(&self, v: Field<'_>, field: &str) -> Result<Address, SpecError> {
        let s = self.string(v, field)?;
        parse_address(s).map_err(|m| self.err(string_content_start(v), Some(field), m))
    }
}

fn string_content_start(v: Field<'_>) -> usize {
    v.span().start + 1
}

/// Parses and validates a job spec. `origin` names the spec in error messages.
pub fn parse_job_spec(source: &str, origin: &str) -> Result<JobSpec, SpecError> {
    let ctx = Ctx {
        origin,
        index: LineIndex::new(source),
    };
    let doc = DeTable::parse(source).map_err(|e| {
        ctx.err(
            e.span().map(|s| s.start).unwrap_or(0),
            None,
            format!("TOML syntax error: {}", e.message()),
        )
    })?;
    let mut fields: BTreeMap<&str, Field<'_>> = BTreeMap::new();
    let mut warnings = Vec::new();
    for (k, v) in doc.get_ref().iter() {
        fields.insert(k.get_ref().as_ref(), v);
    }
    let missing = |name: &str| ctx.err(0, Some(name), "missing required field");

    // type
    let type_field = fields.get("type").copied().ok_or_else(|| missing("type"))?;
    let type_name = ctx.string(type_field, "type")?;
    let job_type = match type_name {
        "directrequest" => JobType::DirectRequest,
        "cron" => JobType::Cron,
        "webhook" => JobType::Webhook,
        "sla" => JobType::Sla,
        other if PLANNED_JOB_TYPES.contains(&other) => {
            return Err(ctx.err(
                string_content_start(type_field),
                Some("type"),
                format!(
                    "job type {other:?} is not supported yet (supported: {SUPPORTED_JOB_TYPES})"
                ),
            ));
        }
        other => {
            return Err(ctx.err(
                string_content_start(type_field),
                Some("type"),
                format!("unknown job type {other:?} (supported: {SUPPORTED_JOB_TYPES})"),
            ));
        }
    };

    // schemaVersion
    let sv = fields
        .get("schemaVersion")
        .copied()
        .ok_or_else(|| missing("schemaVersion"))?;
    let schema_version = ctx.u64(sv, "schemaVersion")?;
    if schema_version != 1 {
        return Err(ctx.err(
            sv.span().start,
            Some("schemaVersion"),
            format!("unsupported schema version {schema_version} (expected 1)"),
        ));
    }

    let name = match fields.get("name") {
        Some(v) => Some(ctx.string(v, "name")?.to_owned()),
        None => None,
    };

    let external_job_id = match fields.get("externalJobID") {
        Some(v) => {
            let s = ctx.string(v, "externalJobID")?;
            Uuid::try_parse(s.trim()).map_err(|e| {
                ctx.err(
                    string_content_start(v),
                    Some("externalJobID"),
                    format!("invalid UUID {s:?}: {e}"),
                )
            })?
        }
        None => Uuid::new_v4(),
    };

    let max_task_duration = match fields.get("maxTaskDuration") {
        Some(v) => {
            let s = ctx.string(v, "maxTaskDuration")?;
            let d = parse_duration(s)
                .map_err(|m| ctx.err(string_content_start(v), Some("maxTaskDuration"), m))?;
            (!d.is_zero()).then_some(d)
        }
        None => None,
    };

    let evm_chain_id = match fields.get("evmChainID") {
        Some(v) => Some(ctx.u64(v, "evmChainID")?),
        None => None,
    };
    let gas_limit = match fields.get("gasLimit") {
        Some(v) => Some(ctx.u64(v, "gasLimit")?),
        None => None,
    };
    let forwarding_allowed = match fields.get("forwardingAllowed") {
        Some(v) => match v.get_ref() {
            DeValue::Boolean(b) => *b,
            _ => return Err(ctx.type_err(v, "forwardingAllowed", "a boolean")),
        },
        None => false,
    };

    let direct_request = match job_type {
        JobType::DirectRequest => Some(parse_direct_request(&ctx, &fields)?),
        JobType::Cron | JobType::Webhook | JobType::Sla => None,
    };
    let cron = match job_type {
        JobType::Cron => Some(parse_cron(&ctx, &fields, source, &mut warnings)?),
        JobType::DirectRequest | JobType::Webhook | JobType::Sla => None,
    };
    let webhook = match job_type {
        JobType::Webhook => Some(parse_webhook(&ctx, &fields, &mut warnings)?),
        JobType::DirectRequest | JobType::Cron | JobType::Sla => None,
    };
    let sla = match job_type {
        JobType::Sla => Some(parse_sla(&ctx, &fields)?),
        JobType::DirectRequest | JobType::Cron | JobType::Webhook => None,
    };

    // observationSource
    let os = fields
        .get("observationSource")
        .copied()
        .ok_or_else(|| missing("observationSource"))?;
    let dot = ctx.string(os, "observationSource")?;
    let map = toml_string_map(source, os.span(), dot);
    let pipeline = pipeline::build(dot).map_err(|e| {
        let file_offset = map
            .get(e.offset)
            .or_else(|| map.last())
            .copied()
            .unwrap_or(0);
        ctx.err(file_offset, Some(&e.field), e.message)
    })?;
    warnings.extend(pipeline.warnings.iter().cloned());
    let bridge_tasks = bridge_task_refs(&ctx, dot, &map);
    if job_type == JobType::Sla {
        check_sla_pipeline(&ctx, os, dot, &map, &pipeline)?;
    }

    const KNOWN: &[&str] = &[
        "type",
        "schemaVersion",
        "name",
        "externalJobID",
        "maxTaskDuration",
        "observationSource",
        "evmChainID",
        "gasLimit",
        "forwardingAllowed",
    ];
    const DIRECT_REQUEST: &[&str] = &[
        "contractAddress",
        "minIncomingConfirmations",
        "requesters",
        "minContractPaymentLinkJuels",
    ];
    const CRON: &[&str] = &["schedule"];
    const WEBHOOK: &[&str] = &["externalInitiators"];
    const SLA: &[&str] = &["marketAddress", "pollInterval"];
    let own: &[&str] = match job_type {
        JobType::DirectRequest => DIRECT_REQUEST,
        JobType::Cron => CRON,
        JobType::Webhook => WEBHOOK,
        JobType::Sla => SLA,
    };
    for key in fields.keys() {
        if KNOWN.contains(key) || own.contains(key) {
            continue;
        }
        if DIRECT_REQUEST.contains(key)
            || CRON.contains(key)
            || WEBHOOK.contains(key)
            || SLA.contains(key)
        {
            warnings.push(format!(
                "field `{key}` is not used by {job_type} jobs and was ignored"
            ));
        } else {
            warnings.push(format!(
                "field `{key}` is not used by orakel and was ignored"
            ));
        }
    }

    Ok(JobSpec {
        job_type,
        schema_version: 1,
        name,
        external_job_id,
        max_task_duration,
        direct_request,
        cron,
        webhook,
        sla,
        bridge_tasks,
        pipeline: Arc::new(pipeline),
        source: source.to_owned(),
        warnings,
        evm_chain_id,
        gas_limit,
        forwarding_allowed,
    })
}

fn parse_sla(ctx: &Ctx<'_>, fields: &BTreeMap<&str, Field<'_>>) -> Result<SlaSpec, SpecError> {
    // The purchaser names the job by its specId: a generated id could never be asked for.
    if !fields.contains_key("externalJobID") {
        return Err(ctx.err(
            0,
            Some("externalJobID"),
            "missing required field: sla jobs are found by their externalJobID (the SLA's specId)",
        ));
    }
    let ma = fields
        .get("marketAddress")
        .copied()
        .ok_or_else(|| ctx.err(0, Some("marketAddress"), "missing required field"))?;
    let market_address = ctx.address(ma, "marketAddress")?;
    let poll_interval = match fields.get("pollInterval") {
        Some(v) => {
            let text = ctx.string(v, "pollInterval")?;
            let d = parse_duration(text)
                .map_err(|m| ctx.err(string_content_start(v), Some("pollInterval"), m))?;
            if !d.is_zero() && d < Duration::from_secs(1) {
                return Err(ctx.err(
                    string_content_start(v),
                    Some("pollInterval"),
                    format!("{text:?} is too short: at least 1s (or 0 for no deviation checks)"),
                ));
            }
            (!d.is_zero()).then_some(d)
        }
        None => None,
    };
    Ok(SlaSpec {
        market_address,
        poll_interval,
    })
}

/// An sla pipeline computes one answer and sends nothing itself (the node commits and
/// reveals): exactly one final task, and no `ethtx` task.
fn check_sla_pipeline(
    ctx: &Ctx<'_>,
    os: Field<'_>,
    dot: &str,
    map: &[usize],
    pipeline: &Pipeline,
) -> Result<(), SpecError> {
    const FIELD: &str = "observationSource";
    if let Ok(graph) = crate::dot::parse_dot(dot) {
        for node in &graph.nodes {
            if let Some(ty) = node
                .attrs
                .iter()
                .find(|a| a.key == "type" && a.value.trim() == "ethtx")
            {
                let at = map
                    .get(ty.source_offset(0))
                    .or_else(|| map.last())
                    .copied()
                    .unwrap_or(0);
                return Err(ctx.err(
                    at,
                    Some(&format!("{FIELD}: task {:?} attribute \"type\"", node.id)),
                    "ethtx tasks are not allowed in sla jobs: the node commits and reveals the answer itself",
                ));
            }
        }
    }
    let terminals = pipeline.terminal_ids();
    if terminals.len() != 1 {
        return Err(ctx.err(
            os.span().start,
            Some(FIELD),
            format!(
                "an sla pipeline must end in exactly one task, whose output is the answer; it ends in {} ({})",
                terminals.len(),
                terminals.join(", ")
            ),
        ));
    }
    Ok(())
}

fn parse_cron(
    ctx: &Ctx<'_>,
    fields: &BTreeMap<&str, Field<'_>>,
    source: &str,
    warnings: &mut Vec<String>,
) -> Result<CronSpec, SpecError> {
    let v = fields
        .get("schedule")
        .copied()
        .ok_or_else(|| ctx.err(0, Some("schedule"), "missing required field"))?;
    let text = ctx.string(v, "schedule")?;
    let map = toml_string_map(source, v.span(), text);
    let (schedule, remarks) = Schedule::parse_with_warnings(text).map_err(|e| {
        let at = map
            .get(e.offset)
            .or_else(|| map.last())
            .copied()
            .unwrap_or(0);
        ctx.err(at, Some("schedule"), e.message)
    })?;
    warnings.extend(remarks);
    Ok(CronSpec { schedule })
}

fn parse_webhook(
    ctx: &Ctx<'_>,
    fields: &BTreeMap<&str, Field<'_>>,
    warnings: &mut Vec<String>,
) -> Result<WebhookSpec, SpecError> {
    const FIELD: &str = "externalInitiators";
    let Some(v) = fields.get(FIELD).copied() else {
        return Ok(WebhookSpec::default());
    };
    let DeValue::Array(items) = v.get_ref() else {
        return Err(ctx.type_err(
            v,
            FIELD,
            "a list of tables, e.g. [{ name = \"my-ei\", spec = \"{}\" }]",
        ));
    };
    let mut out: Vec<ExternalInitiatorRef> = Vec::with_capacity(items.len());
    for item in items.iter() {
        let DeValue::Table(table) = item.get_ref() else {
            return Err(ctx.type_err(item, FIELD, "a table with `name` and `spec`"));
        };
        let mut name = None;
        let mut spec = None;
        for (k, val) in table.iter() {
            match k.get_ref().as_ref() {
                "name" => {
                    let n = ctx.string(val, "externalInitiators.name")?.trim();
                    if n.is_empty() {
                        return Err(ctx.err(
                            val.span().start,
                            Some("externalInitiators.name"),
                            "the name is empty",
                        ));
                    }
                    if out.iter().any(|e| e.name == n) {
                        return Err(ctx.err(
                            val.span().start,
                            Some("externalInitiators.name"),
                            format!("external initiator {n:?} is listed twice"),
                        ));
                    }
                    name = Some(n.to_owned());
                }
                "spec" => {
                    let s = ctx.string(val, "externalInitiators.spec")?;
                    if let Err(e) = serde_json::from_str::<serde_json::Value>(s) {
                        return Err(ctx.err(
                            string_content_start(val),
                            Some("externalInitiators.spec"),
                            format!("not valid JSON: {e}"),
                        ));
                    }
                    spec = Some(s.to_owned());
                }
                other => warnings.push(format!(
                    "field `externalInitiators.{other}` is not used by orakel and was ignored"
                )),
            }
        }
        let name = name.ok_or_else(|| {
            ctx.err(
                item.span().start,
                Some("externalInitiators.name"),
                "missing required field",
            )
        })?;
        out.push(ExternalInitiatorRef { name, spec });
    }
    Ok(WebhookSpec {
        external_initiators: out,
    })
}

/// The `bridge` tasks of a pipeline with a literal `name`, located in the spec file (`map`
/// maps offsets in the DOT text to offsets in the file). The pipeline already compiled, so
/// the DOT parses.
fn bridge_task_refs(ctx: &Ctx<'_>, dot: &str, map: &[usize]) -> Vec<BridgeTaskRef> {
    let Ok(graph) = crate::dot::parse_dot(dot) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for node in &graph.nodes {
        let is_bridge = node
            .attrs
            .iter()
            .any(|a| a.key == "type" && a.value == "bridge");
        if !is_bridge {
            continue;
        }
        let Some(name) = node.attrs.iter().find(|a| a.key == "name") else {
            continue;
        };
        if name.value.contains("$(") {
            continue;
        }
        let at = map
            .get(name.source_offset(0))
            .or_else(|| map.last())
            .copied()
            .unwrap_or(0);
        let (line, column) = ctx.index.position(at);
        out.push(BridgeTaskRef {
            dot_id: node.id.clone(),
            name: name.value.clone(),
            line,
            column,
        });
    }
    out
}

fn parse_direct_request(
    ctx: &Ctx<'_>,
    fields: &BTreeMap<&str, Field<'_>>,
) -> Result<DirectRequestSpec, SpecError> {
    let ca = fields
        .get("contractAddress")
        .copied()
        .ok_or_else(|| ctx.err(0, Some("contractAddress"), "missing required field"))?;
    let contract_address = ctx.address(ca, "contractAddress")?;
    let min_incoming_confirmations = match fields.get("minIncomingConfirmations") {
        Some(v) => ctx.u64(v, "minIncomingConfirmations")?,
        None => DEFAULT_MIN_INCOMING_CONFIRMATIONS,
    };
    let requesters = match fields.get("requesters") {
        None => Vec::new(),
        Some(v) => match v.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .map(|item| ctx.address(item, "requesters"))
                .collect::<Result<Vec<_>, _>>()?,
            DeValue::String(s) => {
                // The established format also accepts a comma-separated string.
                let mut out = Vec::new();
                let mut offset = string_content_start(v);
                for part in s.split(',') {
                    let lead = part.len() - part.trim_start().len();
                    if !part.trim().is_empty() {
                        out.push(
                            parse_address(part)
                                .map_err(|m| ctx.err(offset + lead, Some("requesters"), m))?,
                        );
                    }
                    offset += part.len() + 1;
                }
                out
            }
            _ => return Err(ctx.type_err(v, "requesters", "a list of addresses")),
        },
    };
    let min_contract_payment = match fields.get("minContractPaymentLinkJuels") {
        Some(v) => ctx.u256(v, "minContractPaymentLinkJuels")?,
        None => U256::ZERO,
    };
    Ok(DirectRequestSpec {
        contract_address,
        min_incoming_confirmations,
        requesters,
        min_contract_payment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_ids_roundtrip() {
        let id = Uuid::parse_str("0eec7e1d-d0d2-476c-a1a8-72dfb6633f46").unwrap();
        let [ascii, raw] = spec_id_forms(&id);
        assert_eq!(&ascii.as_slice()[..4], b"0eec");
        assert_eq!(&raw.as_slice()[..2], &[0x0e, 0xec]);
        assert_eq!(job_id_from_spec_id(ascii), Some(id));
        assert_eq!(job_id_from_spec_id(raw), Some(id));
        assert_eq!(job_id_from_spec_id(B256::repeat_byte(0xff)), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("s").is_err());
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
    }

    #[test]
    fn line_index() {
        let idx = LineIndex::new("ab\ncdé\nx");
        assert_eq!(idx.position(0), (1, 1));
        assert_eq!(idx.position(3), (2, 1));
        assert_eq!(idx.position(7), (2, 4));
        assert_eq!(idx.position(8), (3, 1));
        assert_eq!(idx.position(9), (3, 2));
    }

    #[test]
    fn string_maps() {
        let src = "a = \"\"\"\nx\\\"y\\n\"\"\"";
        let doc = DeTable::parse(src).unwrap();
        let (_, v) = doc.get_ref().iter().next().unwrap();
        let DeValue::String(s) = v.get_ref() else {
            panic!()
        };
        let map = toml_string_map(src, v.span(), s);
        assert_eq!(s.as_ref(), "x\"y\n");
        assert_eq!(map[0], 8);
        assert_eq!(map[1], 9);
        assert_eq!(map[2], 11);
    }
}
