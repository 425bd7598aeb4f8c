//! The simulator client: one price route, `GET {base}/sources/{source}/price?pair=P[&tick=N]`.

use std::str::FromStr;
use std::time::Duration;

use bigdecimal::{BigDecimal, Signed};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::protocol::{AdapterError, ErrorKind, PriceQuery, Quote};
use crate::{Error, Result};

/// Largest simulator answer read (a price answer is well under 1 KiB).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Reads prices from a simulator (or anything answering its price route).
#[derive(Clone, Debug)]
pub(crate) struct SimSource {
    base: url::Url,
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct SimAnswer {
    pair: String,
    source: u64,
    price: Box<RawValue>,
    tick: u64,
}

impl SimSource {
    /// A client of the simulator at `base` with a per-request `timeout`.
    pub(crate) fn new(base: &str, timeout: Duration) -> Result<Self> {
        let bad = |reason: String| Error::SimUrl {
            url: base.to_owned(),
            reason,
        };
        let mut url = url::Url::parse(base.trim()).map_err(|e| bad(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("expected an http or https URL".to_owned()));
        }
        if url.cannot_be_a_base() {
            return Err(bad("not a base URL".to_owned()));
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .no_proxy()
            .build()
            .map_err(|e| Error::Client(e.to_string()))?;
        Ok(SimSource { base: url, client })
    }

    /// The URL of one price request.
    fn url(&self, q: &PriceQuery) -> std::result::Result<url::Url, AdapterError> {
        let mut url = self
            .base
            .join(&format!("sources/{}/price", q.source))
            .map_err(|e| AdapterError::new(ErrorKind::Input, format!("bad source: {e}")))?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("pair", &q.pair);
            if let Some(tick) = q.tick {
                query.append_pair("tick", &tick.to_string());
            }
        }
        Ok(url)
    }

    /// Fetches one price.
    pub(crate) async fn fetch(&self, q: &PriceQuery) -> std::result::Result<Quote, AdapterError> {
        let url = self.url(q)?;
        let response = self.client.get(url).send().await.map_err(|e| {
            if e.is_timeout() {
                AdapterError::new(
                    ErrorKind::Timeout,
                    "the price source did not answer in time",
                )
            } else {
                AdapterError::new(
                    ErrorKind::Connection,
                    format!("cannot reach the price source: {e}"),
                )
            }
        })?;
        let status = response.status();
        let body = read_limited(response).await?;
        if !status.is_success() {
            let detail = String::from_utf8_lossy(&body)
                .chars()
                .take(200)
                .collect::<String>();
            return Err(AdapterError {
                kind: ErrorKind::Provider,
                message: format!(
                    "the price source answered HTTP {}: {detail}",
                    status.as_u16()
                ),
                provider_status: Some(status.as_u16()),
            });
        }
        let answer: SimAnswer = serde_json::from_slice(&body).map_err(|e| AdapterError {
            kind: ErrorKind::Provider,
            message: format!("the price source answered something that is not a price: {e}"),
            provider_status: Some(status.as_u16()),
        })?;
        let text = answer.price.get();
        let valid = text.starts_with(|c: char| c.is_ascii_digit() || c == '-')
            && BigDecimal::from_str(text).is_ok_and(|d| d.is_positive());
        if !valid {
            return Err(AdapterError {
                kind: ErrorKind::Provider,
                message: format!(
                    "the price source answered a price that is not a positive number: {text}"
                ),
                provider_status: Some(status.as_u16()),
            });
        }
        Ok(Quote {
            pair: answer.pair,
            source: answer.source,
            tick: answer.tick,
            price: answer.price,
        })
    }
}

async fn read_limited(
    mut response: reqwest::Response,
) -> std::result::Result<Vec<u8>, AdapterError> {
    let mut body = Vec::new();
    loop {
        let chunk = response.chunk().await.map_err(|e| {
            let kind = if e.is_timeout() {
                ErrorKind::Timeout
            } else {
                ErrorKind::Connection
            };
            AdapterError::new(
                kind,
                format!("reading the price source's answer failed: {e}"),
            )
        })?;
        let Some(chunk) = chunk else {
            return Ok(body);
        };
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(AdapterError::new(
                ErrorKind::Provider,
                format!("the price source's answer is larger than {MAX_ANSWER_BYTES} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
}
