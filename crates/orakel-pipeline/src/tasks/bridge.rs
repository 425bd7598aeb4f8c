//! `bridge`: calls an operator-registered external adapter. Output: the adapter's parsed JSON
//! response (numbers exact), so `jsonparse` can walk it directly.
//!
//! Parameters: `name` (required, the bridge), `requestData` (a JSON object; variables become
//! values), `async` (default false), `cacheTTL` (a duration, or seconds; default 0 = off),
//! `headers` (JSON list of alternating names and values), `includeInputAtKey` (puts the
//! first input into the request under that key). `checkRequired` is accepted and ignored.
//!
//! The request body is `requestData`'s keys, plus `id` (the run id, unless `requestData`
//! sets one), `meta` (when `jobRun.meta` is an object) and, for `async=true`, `responseURL`
//! (`<resume_base_url>/v2/resume/<run id>/<task id>`). It is checked against the bridge's input schema
//! before it is sent and `POST`ed with `Authorization: Bearer <outgoing token>`.
//!
//! A response is accepted when [`decode_bridge_response`] accepts it and it satisfies the
//! bridge's output schema. A pending answer (header `X-Chainlink-Pending` or body
//! `{"pending": true}`) suspends the run when the task is `async=true` and fails it
//! otherwise.
//!
//! `cacheTTL`: a good answer is remembered per bridge and question (the body without `id`,
//! `meta` and `responseURL`); when the adapter later fails, an answer at most `cacheTTL` old
//! is used instead of failing.

use std::sync::Arc;
use std::time::Duration;

use super::http::{client_error, display_url, header_pairs, read_body};
use super::{Exec, IoOutcome, ParamError, Params, Task, TaskCx, TaskDef, TaskEnv, eval_opt, named};
use crate::bridge::{BridgeDef, BridgeReply, decode_bridge_response};
use crate::spec::parse_duration;
use crate::template::{JsonTpl, StrTemplate};
use crate::value::{Value, ValueError};

pub(crate) const DEF: TaskDef = TaskDef {
    name: "bridge",
    build,
};

/// Response header by which an adapter says "the answer comes later".
const PENDING_HEADER: &str = "x-chainlink-pending";

#[derive(Debug)]
struct Bridge {
    name: StrTemplate,
    request_data: Option<JsonTpl>,
    is_async: Option<StrTemplate>,
    cache_ttl: Option<StrTemplate>,
    headers: Option<JsonTpl>,
    include_input_at_key: Option<StrTemplate>,
}

/// `cacheTTL`: a duration (`"30s"`) or a number of seconds.
fn ttl_of(v: &Value) -> Result<Duration, ValueError> {
    if let Value::Decimal(_) = v {
        return v.as_u64().map(Duration::from_secs);
    }
    let text = v.to_text();
    let text = text.trim();
    match text.parse::<u64>() {
        Ok(secs) => Ok(Duration::from_secs(secs)),
        Err(_) => parse_duration(text).map_err(ValueError),
    }
}

fn build(p: &mut Params<'_>) -> Result<Box<dyn Task>, ParamError> {
    let name = p.required("name")?;
    let request_data = p.json("requestData")?;
    let is_async = p.string("async")?;
    let cache_ttl = p.string("cacheTTL")?;
    let headers = p.json("headers")?;
    let include_input_at_key = p.string("includeInputAtKey")?;
    p.ignored(
        "checkRequired",
        "use jsonparse without lax, or an output schema on the bridge",
    );
    p.check("async", is_async.as_ref(), Value::as_bool)?;
    p.check("cacheTTL", cache_ttl.as_ref(), ttl_of)?;
    if let Some(JsonTpl::Literal(h)) = &headers {
        header_pairs(h).map_err(|e| ParamError::at("headers", e))?;
    }
    if let Some(JsonTpl::Literal(v)) = &request_data
        && !matches!(v, Value::Map(_) | Value::Null)
    {
        return Err(ParamError::at(
            "requestData",
            format!("expected a JSON object, got {}", v.describe()),
        ));
    }
    Ok(Box::new(Bridge {
        name,
        request_data,
        is_async,
        cache_ttl,
        headers,
        include_input_at_key,
    }))
}

/// Everything a call needs, resolved before the task awaits.
struct Call {
    def: Arc<BridgeDef>,
    body: String,
    headers: Vec<(String, String)>,
    is_async: bool,
    /// Cache key and TTL, when `cacheTTL` is set.
    cache: Option<(String, Duration)>,
}

impl Bridge {
    fn prepare(&self, cx: &TaskCx<'_>, env: &TaskEnv<'_>) -> Result<Call, String> {
        let name_value = super::eval(&self.name, "name", cx)?;
        let name = name_value.to_text();
        let name = name.trim();
        let Some(registry) = env.shared.bridges.as_ref() else {
            return Err("no bridge registry is configured on this runner".to_owned());
        };
        let def = registry
            .bridge(name)
            .ok_or_else(|| format!("bridge {name:?} is not registered"))?;
        let is_async = match eval_opt(self.is_async.as_ref(), "async", cx)? {
            Some(v) => named("async", v.as_bool())?,
            None => false,
        };
        let ttl = match eval_opt(self.cache_ttl.as_ref(), "cacheTTL", cx)? {
            Some(v) => named("cacheTTL", ttl_of(&v))?,
            None => Duration::ZERO,
        };
        let mut body = match &self.request_data {
            Some(t) => match t.eval(cx.scope).map_err(|e| format!("requestData: {e}"))? {
                Value::Map(m) => m,
                Value::Null => Default::default(),
                other => {
                    return Err(format!(
                        "requestData: expected a JSON object, got {}",
                        other.describe()
                    ));
                }
            },
            None => Default::default(),
        };
        if let Some(key) = eval_opt(self.include_input_at_key.as_ref(), "includeInputAtKey", cx)? {
            let key = key.to_text().into_owned();
            match cx.inputs.first() {
                Some(Ok(v)) => {
                    body.insert(key, (*v).clone());
                }
                Some(Err(e)) => return Err(format!("includeInputAtKey: input failed: {e}")),
                None => {}
            }
        }
        let body_value = Value::Map(body);
        let cache =
            (!ttl.is_zero()).then(|| (format!("{}\n{}", def.name(), body_value.to_json()), ttl));
        let Value::Map(mut body) = body_value else {
            return Err("internal error: request body is not an object".to_owned());
        };
        body.entry("id".to_owned())
            .or_insert_with(|| Value::String(env.run_id.to_owned()));
        if let Value::Map(run) = cx.scope.job_run
            && let Some(meta @ Value::Map(_)) = run.get("meta")
        {
            body.insert("meta".to_owned(), meta.clone());
        }
        if is_async {
            let Some(base) = env.shared.cfg.resume_base_url.as_deref() else {
                return Err(
                    "async=true needs the node's resume URL (runner config resume_base_url)"
                        .to_owned(),
                );
            };
            // One URL per waiting task (like the established node's per-task-run URL), so an
            // answer can never land on another task of the same run.
            let mut url = url::Url::parse(base)
                .map_err(|e| format!("the node's resume URL {base:?} is not a URL: {e}"))?;
            url.path_segments_mut()
                .map_err(|()| format!("the node's resume URL {base:?} cannot take a path"))?
                .pop_if_empty()
                .extend(["v2", "resume", env.run_id, env.dot_id]);
            body.insert("responseURL".to_owned(), Value::String(url.to_string()));
        }
        let body = Value::Map(body);
        def.check_input(&body)
            .map_err(|e| format!("bridge {:?}: {e}", def.name()))?;
        let text = body.to_json();
        let limit = env.shared.cfg.max_request_bytes;
        if text.len() > limit {
            return Err(format!(
                "request body of {} bytes exceeds the limit of {limit} bytes",
                text.len()
            ));
        }
        let headers = match &self.headers {
            Some(t) => {
                let v = t.eval(cx.scope).map_err(|e| format!("headers: {e}"))?;
                header_pairs(&v).map_err(|e| format!("headers: {e}"))?
            }
            None => Vec::new(),
        };
        Ok(Call {
            def,
            body: text,
            headers,
            is_async,
            cache,
        })
    }
}

impl Task for Bridge {
    fn run<'a>(&'a self, cx: &TaskCx<'_>, env: TaskEnv<'a>) -> Exec<'a> {
        match self.prepare(cx, &env) {
            Ok(call) => Exec::Suspendable(Box::pin(call.run(env))),
            Err(e) => Exec::Ready(Err(e)),
        }
    }

    fn is_io(&self) -> bool {
        true
    }
}

impl Call {
    async fn run(mut self, env: TaskEnv<'_>) -> Result<IoOutcome, String> {
        let body = std::mem::take(&mut self.body);
        let name = self.def.name();
        let answer = if self.cache.is_some() {
            // Give up a little before the runner's limit so a hanging adapter can still be
            // answered from the cache.
            let limit = env.timeout.saturating_sub(env.timeout / 10);
            match tokio::time::timeout(limit, self.exchange(&env, body)).await {
                Ok(answer) => answer,
                Err(_) => Err(format!(
                    "no answer within {}",
                    crate::spec::format_duration(limit)
                )),
            }
        } else {
            self.exchange(&env, body).await
        };
        match answer {
            Ok(BridgeReply::Done(v)) => {
                if let Some((key, _)) = self.cache.take() {
                    env.shared.bridge_cache.put(key, v.clone());
                }
                Ok(IoOutcome::Done(v))
            }
            Ok(BridgeReply::Pending) if self.is_async => Ok(IoOutcome::Suspend),
            Ok(BridgeReply::Pending) => Err(format!(
                "bridge {name:?}: the adapter answered \"pending\" but the task is not async=true"
            )),
            Err(e) => {
                if let Some((key, ttl)) = &self.cache
                    && let Some(cached) = env.shared.bridge_cache.get(key, *ttl)
                {
                    tracing::warn!(bridge = name, error = %e, "bridge failed; using its cached answer");
                    return Ok(IoOutcome::Done(cached));
                }
                Err(format!("bridge {name:?}: {e}"))
            }
        }
    }

    /// One request/response with the adapter; any failure is an `Err`.
    async fn exchange(&self, env: &TaskEnv<'_>, body: String) -> Result<BridgeReply, String> {
        // Bridge URLs come from the operator's registry, never from a job spec or an on-chain
        // request, so like literal `http` URLs they are trusted: adapters usually run next to
        // the node on private addresses. Hence the unrestricted client.
        let client = &env.shared.http_open;
        let url = self.def.url();
        let shown = display_url(url);
        let mut req = client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        let custom_auth = self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("authorization"));
        if !self.def.outgoing_token().is_empty() && !custom_auth {
            req = req.bearer_auth(self.def.outgoing_token());
        }
        for (name, value) in &self.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let mut resp = req
            .body(body)
            .send()
            .await
            .map_err(|e| format!("POST {shown} failed: {}", client_error(e)))?;
        let status = resp.status().as_u16();
        let pending = resp
            .headers()
            .get(PENDING_HEADER)
            .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"false"));
        let bytes = read_body(&mut resp, env.shared.cfg.max_response_bytes, &shown).await?;
        let reply = decode_bridge_response(status, pending, &bytes)?;
        if let BridgeReply::Done(v) = &reply {
            self.def.check_output(v)?;
        }
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_ttl_forms() {
        assert_eq!(
            ttl_of(&Value::from("30s")).unwrap(),
            Duration::from_secs(30)
        );
        assert_eq!(ttl_of(&Value::from("90")).unwrap(), Duration::from_secs(90));
        assert_eq!(ttl_of(&Value::from(5u64)).unwrap(), Duration::from_secs(5));
        assert!(ttl_of(&Value::from("soon")).is_err());
    }
}
