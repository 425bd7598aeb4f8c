//! `http`: fetches a URL. Output: the response body as a string.
//!
//! Parameters: `method` (default GET), `url` (required), `requestData` (JSON, sent as an
//! `application/json` body; variables become values), `headers` (JSON list of alternating
//! names and values, e.g. `["X-Key", "abc"]`), `allowUnrestrictedNetworkAccess`.
//!
//! Network restriction (SSRF): no `http` task reaches loopback, private, link-local, CGNAT or
//! other non-public addresses — whether its URL is written literally or built from variables
//! (e.g. taken from an on-chain request) — unless the task sets
//! `allowUnrestrictedNetworkAccess="true"` or the runner config sets `allow_private_http`.
//! (The established node trusts every literal URL; a spec copied from elsewhere should not
//! open the operator's internal network by default.) The check covers literal IPs, every
//! DNS answer (only allowed addresses are dialled) and redirects. External adapters on
//! private addresses are reached through `bridge` tasks, whose URLs the operator registers.
//!
//! A status >= 400 is an error naming the status. Bodies larger than the runner's
//! `max_response_bytes` are an error.

use std::net::{IpAddr, Ipv4Addr};

use reqwest::Method;

use super::{Exec, ParamError, Params, Task, TaskCx, TaskDef, TaskEnv, eval, eval_opt, named};
use crate::json::parse_json;
use crate::runner::RunnerConfig;
use crate::template::{JsonTpl, StrTemplate};
use crate::value::Value;

pub(crate) const DEF: TaskDef = TaskDef {
    name: "http",
    build,
};

#[derive(Debug)]
struct Http {
    method: Option<StrTemplate>,
    url: StrTemplate,
    request_data: Option<JsonTpl>,
    headers: Option<JsonTpl>,
    allow_unrestricted: Option<StrTemplate>,
}

fn method_of(v: &Value) -> Result<Method, crate::value::ValueError> {
    let s = v.to_text().trim().to_ascii_uppercase();
    Method::from_bytes(s.as_bytes())
        .map_err(|_| crate::value::ValueError(format!("invalid HTTP method {s:?}")))
}

fn url_of(v: &Value) -> Result<url::Url, crate::value::ValueError> {
    let text = v.to_text();
    let url = url::Url::parse(text.trim())
        .map_err(|e| crate::value::ValueError(format!("invalid URL {:?}: {e}", text.trim())))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(crate::value::ValueError(format!(
            "unsupported URL scheme {:?} (expected http or https)",
            url.scheme()
        )));
    }
    Ok(url)
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let method = p.string("method")?;
    let url = p.required("url")?;
    let request_data = p.json("requestData")?;
    let headers = p.json("headers")?;
    let allow_unrestricted = p.string("allowUnrestrictedNetworkAccess")?;
    p.check("method", method.as_ref(), method_of)?;
    p.check("url", Some(&url), url_of)?;
    p.check(
        "allowUnrestrictedNetworkAccess",
        allow_unrestricted.as_ref(),
        Value::as_bool,
    )?;
    if let Some(JsonTpl::Literal(h)) = &headers {
        header_pairs(h).map_err(|e| ParamError::at("headers", e))?;
    }
    Ok(Box::new(Http {
        method,
        url,
        request_data,
        headers,
        allow_unrestricted,
    }))
}

pub(crate) fn header_pairs(v: &Value) -> Result<Vec<(String, String)>, String> {
    let items = match v {
        Value::List(items) => items,
        Value::Null => return Ok(Vec::new()),
        other => {
            return Err(format!(
                "expected a list of alternating header names and values, got {}",
                other.describe()
            ));
        }
    };
    if items.len() % 2 != 0 {
        return Err("headers must have an even number of elements".to_owned());
    }
    Ok(items
        .chunks(2)
        .map(|pair| {
            let name = pair
                .first()
                .map(|v| v.to_text().into_owned())
                .unwrap_or_default();
            let value = pair
                .get(1)
                .map(|v| v.to_text().into_owned())
                .unwrap_or_default();
            (name, value)
        })
        .collect())
}

/// Whether an address is off limits for restricted requests.
pub(crate) fn is_restricted_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_restricted_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_restricted_v4(v4);
            }
            let seg = v6.segments();
            let embedded_v4 = |hi: u16, lo: u16| {
                let [a, b] = hi.to_be_bytes();
                let [c, d] = lo.to_be_bytes();
                is_restricted_v4(Ipv4Addr::new(a, b, c, d))
            };
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local
                || (seg[0] & 0xffc0) == 0xfe80 // link local
                || (seg[0] & 0xffc0) == 0xfec0 // site local (deprecated)
                || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
                || (seg[0] == 0x0064 && seg[1] == 0xff9b && seg[2] == 0x0001) // local-use NAT64
                // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address that a
                // gateway dials: judge that address.
                || (seg[..6] == [0x0064, 0xff9b, 0, 0, 0, 0] && embedded_v4(seg[6], seg[7]))
                || (seg[0] == 0x2002 && embedded_v4(seg[1], seg[2]))
                // IPv4-compatible (deprecated) ::a.b.c.d
                || (seg[..6] == [0; 6] && embedded_v4(seg[6], seg[7]))
        }
    }
}

fn is_restricted_v4(ip: Ipv4Addr) -> bool {
    let [a, b, _, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && ip.octets().get(2) == Some(&0)) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240
}

/// The error text for a refused address.
pub(crate) fn restricted_message(target: &str) -> String {
    format!(
        "connections to local or private addresses are refused ({target}); if this is safe, set \
         allowUnrestrictedNetworkAccess=\"true\" on the task"
    )
}

/// The URL without query and fragment, for messages (queries often carry API keys).
pub(crate) fn display_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    let _ = shown.set_password(None);
    shown.to_string()
}

/// The cause chain of a client error, without the URL reqwest appends to it: the URL may
/// carry an API key in its query, and task errors are stored, logged and shown by the API.
/// Callers name the target themselves with [`display_url`].
pub(crate) fn client_error(e: reqwest::Error) -> String {
    error_chain(&e.without_url())
}

pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// Extracts a readable message from an error response body.
fn error_detail(body: &[u8]) -> String {
    if let Ok(Value::Map(m)) = parse_json(body) {
        for key in ["error", "errorMessage", "message"] {
            if let Some(v) = m.get(key) {
                return v.to_text().chars().take(200).collect();
            }
        }
    }
    String::from_utf8_lossy(body).chars().take(200).collect()
}

struct Prepared {
    method: Method,
    url: url::Url,
    body: Option<String>,
    headers: Vec<(String, String)>,
    restricted: bool,
}

impl Http {
    fn prepare(&self, cx: &TaskCx<'_>, cfg: &RunnerConfig) -> Result<Prepared, String> {
        let method = match eval_opt(self.method.as_ref(), "method", cx)? {
            Some(v) => named("method", method_of(&v))?,
            None => Method::GET,
        };
        let url_value = eval(&self.url, "url", cx)?;
        let url = named("url", url_of(&url_value))?;
        let body = match &self.request_data {
            Some(t) => {
                let v = t.eval(cx.scope).map_err(|e| format!("requestData: {e}"))?;
                let text = v.to_json();
                if text.len() > cfg.max_request_bytes {
                    return Err(format!(
                        "requestData: body of {} bytes exceeds the limit of {} bytes",
                        text.len(),
                        cfg.max_request_bytes
                    ));
                }
                Some(text)
            }
            None => None,
        };
        let headers = match &self.headers {
            Some(t) => {
                let v = t.eval(cx.scope).map_err(|e| format!("headers: {e}"))?;
                header_pairs(&v).map_err(|e| format!("headers: {e}"))?
            }
            None => Vec::new(),
        };
        let allow_attr = match eval_opt(
            self.allow_unrestricted.as_ref(),
            "allowUnrestrictedNetworkAccess",
            cx,
        )? {
            Some(v) => named("allowUnrestrictedNetworkAccess", v.as_bool())?,
            None => false,
        };
        let restricted = !(allow_attr || cfg.allow_private_http);
        if restricted {
            let literal_ip = match url.host() {
                Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                _ => None,
            };
            if let Some(ip) = literal_ip
                && is_restricted_ip(ip)
            {
                return Err(restricted_message(&ip.to_string()));
            }
        }
        Ok(Prepared {
            method,
            url,
            body,
            headers,
            restricted,
        })
    }
}

impl Task for Http {
    fn run<'a>(&'a self, cx: &TaskCx<'_>, env: TaskEnv<'a>) -> Exec<'a> {
        let prepared = match self.prepare(cx, &env.shared.cfg) {
            Ok(p) => p,
            Err(e) => return Exec::Ready(Err(e)),
        };
        Exec::Pending(Box::pin(fetch(env, prepared)))
    }

    fn is_io(&self) -> bool {
        true
    }
}

async fn fetch(env: TaskEnv<'_>, p: Prepared) -> Result<Value, String> {
    let client = if p.restricted {
        &env.shared.http_restricted
    } else {
        &env.shared.http_open
    };
    let shown = display_url(&p.url);
    let mut req = client.request(p.method.clone(), p.url);
    req = req.header(reqwest::header::CONTENT_TYPE, "application/json");
    for (name, value) in &p.headers {
        req = req.header(name.as_str(), value.as_str());
    }
    if let Some(body) = p.body {
        req = req.body(body);
    }
    let mut resp = req.send().await.map_err(|e| {
        let chain = client_error(e);
        if chain.contains(crate::runner::RESTRICTED_MARKER) {
            restricted_message(&shown)
        } else {
            format!("{} {shown} failed: {chain}", p.method)
        }
    })?;
    let status = resp.status();
    let body = read_body(&mut resp, env.shared.cfg.max_response_bytes, &shown).await?;
    if status.as_u16() >= 400 {
        let detail = error_detail(&body);
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!(": {detail}")
        };
        return Err(format!(
            "{} {shown} returned status {}{detail}",
            p.method,
            status.as_u16()
        ));
    }
    Ok(Value::String(match String::from_utf8(body) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }))
}

/// Reads a response body, refusing one larger than `limit` bytes.
pub(crate) async fn read_body(
    resp: &mut reqwest::Response,
    limit: usize,
    shown: &str,
) -> Result<Vec<u8>, String> {
    if let Some(len) = resp.content_length()
        && len > limit as u64
    {
        return Err(format!(
            "response from {shown} is {len} bytes, more than the limit of {limit} bytes"
        ));
    }
    let mut body: Vec<u8> = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| {
        format!(
            "reading the response from {shown} failed: {}",
            client_error(e)
        )
    })? {
        if body.len() + chunk.len() > limit {
            return Err(format!(
                "response from {shown} exceeds the limit of {limit} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restricted_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2002:c0a8:0101::1", // 6to4 of 192.168.1.1
            "2002:7f00:0001::",
            "::127.0.0.1",
            "fec0::1",
            "2001:db8::1",
        ] {
            assert!(is_restricted_ip(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "2606:4700::1111",
            "64:ff9b::808:808", // NAT64 of 8.8.8.8
            "2002:0808:0808::1",
        ] {
            assert!(!is_restricted_ip(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn headers_and_urls() {
        let h = Value::List(vec![Value::from("X-A"), Value::from("1")]);
        assert_eq!(header_pairs(&h).unwrap(), vec![("X-A".into(), "1".into())]);
        assert!(header_pairs(&Value::List(vec![Value::from("X")])).is_err());
        let u = url::Url::parse("https://u:p@api.example/x?key=secret#f").unwrap();
        assert_eq!(display_url(&u), "https://u@api.example/x");
        assert!(url_of(&Value::from("ftp://x")).is_err());
        assert_eq!(error_detail(br#"{"error":"bad key"}"#), "bad key");
    }
}
