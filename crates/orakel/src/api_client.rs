//! `orakel jobs …`, `orakel runs …` and `orakel sla …`: thin clients of the node's REST API.

use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::{ApiArgs, JobsCommand, RunsCommand, SlaCommand};

/// A request body with the headers that describe it.
pub(crate) enum Body<'a> {
    /// A TOML job spec and where it was read from (sent as `x-orakel-spec-origin`).
    Toml {
        /// The spec.
        text: String,
        /// The file it came from.
        origin: &'a str,
    },
    /// A JSON document.
    Json(String),
}

/// A client of the node's REST API: its base URL and the API token, if any.
pub(crate) struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    pub(crate) fn new(api: &ApiArgs) -> anyhow::Result<Self> {
        let mut base = api.node.clone();
        let mut token = api.api_token.clone();
        if let Some(root) = &api.root {
            let cfg = orakel_node::NodeConfig::load(root)?;
            base.get_or_insert_with(|| format!("http://{}", cfg.api.listen));
            if token.is_none()
                && let Some(path) = cfg.token_path()
            {
                token = Some(
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("reading API token {}", path.display()))?
                        .trim()
                        .to_string(),
                );
            }
        }
        Ok(Self {
            base: base
                .unwrap_or_else(|| "http://127.0.0.1:6688".into())
                .trim_end_matches('/')
                .to_string(),
            token,
            http: reqwest::Client::new(),
        })
    }

    /// Calls the API with an optional body; fails with the node's error message (its
    /// `error` field, or the whole answer when it has none).
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Body<'_>>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        match body {
            Some(Body::Toml { text, origin }) => {
                req = req
                    .header("content-type", "application/toml")
                    .header("x-orakel-spec-origin", origin)
                    .body(text);
            }
            Some(Body::Json(text)) => {
                req = req.header("content-type", "application/json").body(text);
            }
            None => {}
        }
        let resp = req.send().await.with_context(|| format!("calling {url}"))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let json: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if !status.is_success() {
            let msg = json
                .get("error")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| json.to_string());
            bail!("{msg}");
        }
        Ok(json)
    }
}

pub(crate) fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

pub(crate) fn s(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(other) => other.to_string(),
    }
}

pub async fn jobs(cmd: JobsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        JobsCommand::Create { file, api } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let client = Client::new(&api)?;
            let origin = file.display().to_string();
            let out = client
                .call(
                    reqwest::Method::POST,
                    "/v2/jobs",
                    Some(Body::Toml {
                        text,
                        origin: &origin,
                    }),
                )
                .await?;
            if api.json {
                print_json(&out);
            } else {
                let job = &out["job"];
                println!(
                    "created job {} ({}) externalJobID {}",
                    s(job, "id"),
                    s(job, "name"),
                    s(job, "external_job_id")
                );
                for w in out["warnings"].as_array().into_iter().flatten() {
                    println!("warning: {}", w.as_str().unwrap_or_default());
                }
            }
        }
        JobsCommand::List { api } => {
            let out = Client::new(&api)?
                .call(reqwest::Method::GET, "/v2/jobs", None)
                .await?;
            if api.json {
                print_json(&out);
            } else {
                println!("{:<5} {:<14} {:<38} name", "id", "type", "externalJobID");
                for j in out["jobs"].as_array().into_iter().flatten() {
                    println!(
                        "{:<5} {:<14} {:<38} {}",
                        s(j, "id"),
                        s(j, "job_type"),
                        s(j, "external_job_id"),
                        s(j, "name")
                    );
                }
            }
        }
        JobsCommand::Show { id, api } => {
            let out = Client::new(&api)?
                .call(reqwest::Method::GET, &format!("/v2/jobs/{id}"), None)
                .await?;
            if api.json {
                print_json(&out);
            } else {
                let j = &out["job"];
                println!(
                    "job {} ({}) type {} externalJobID {}\n",
                    s(j, "id"),
                    s(j, "name"),
                    s(j, "job_type"),
                    s(j, "external_job_id")
                );
                println!("{}", j["spec_toml"].as_str().unwrap_or_default());
            }
        }
        JobsCommand::Delete { id, api } => {
            Client::new(&api)?
                .call(reqwest::Method::DELETE, &format!("/v2/jobs/{id}"), None)
                .await?;
            println!("deleted job {id}");
        }
        JobsCommand::Run(args) => return crate::cmd_bridges::run_job(args).await,
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn runs(cmd: RunsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RunsCommand::List { job, limit, api } => {
            let mut path = format!("/v2/runs?limit={limit}");
            if let Some(job) = job {
                path.push_str(&format!("&jobId={job}"));
            }
            let out = Client::new(&api)?
                .call(reqwest::Method::GET, &path, None)
                .await?;
            if api.json {
                print_json(&out);
            } else {
                println!("{:<6} {:<5} {:<10} errors", "run", "job", "state");
                for r in out["runs"].as_array().into_iter().flatten() {
                    let errors: Vec<&str> = r["errors"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    println!(
                        "{:<6} {:<5} {:<10} {}",
                        s(r, "id"),
                        s(r, "job_id"),
                        s(r, "state"),
                        errors.join("; ")
                    );
                }
            }
        }
        RunsCommand::Show { id, api } => {
            let out = Client::new(&api)?
                .call(reqwest::Method::GET, &format!("/v2/runs/{id}"), None)
                .await?;
            if api.json {
                print_json(&out);
            } else {
                let r = &out["run"];
                println!(
                    "run {} of job {}: {}",
                    s(r, "id"),
                    s(r, "job_id"),
                    s(r, "state")
                );
                for t in r["tasks"].as_array().into_iter().flatten() {
                    let result = match t.get("error").and_then(Value::as_str) {
                        Some(e) => format!("ERROR {e}"),
                        None => t.get("output").map(|o| o.to_string()).unwrap_or_default(),
                    };
                    let result: String = result.chars().take(160).collect();
                    println!(
                        "  {:<14} {:<16} {:>7} µs  {result}",
                        s(t, "dot_id"),
                        s(t, "task_type"),
                        s(t, "elapsed_us")
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn sla(cmd: SlaCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SlaCommand::List { limit, api } => {
            let out = Client::new(&api)?
                .call(
                    reqwest::Method::GET,
                    &format!("/v2/sla?limit={limit}"),
                    None,
                )
                .await?;
            if api.json {
                print_json(&out);
            } else {
                println!(
                    "{:<6} {:<42} {:<4} {:<13} {:<6} {:<8} reason",
                    "sla", "market", "job", "state", "index", "rounds"
                );
                for r in out["slas"].as_array().into_iter().flatten() {
                    println!(
                        "{:<6} {:<42} {:<4} {:<13} {:<6} {:<8} {}",
                        s(r, "sla_id"),
                        s(r, "market"),
                        s(r, "job_id"),
                        s(r, "state"),
                        s(r, "oracle_index"),
                        s(r, "rounds"),
                        s(r, "reason")
                    );
                }
            }
        }
        SlaCommand::Rounds { id, market, api } => {
            let mut path = format!("/v2/sla/{id}/rounds");
            if let Some(m) = market {
                path.push_str(&format!("?market={m}"));
            }
            let out = Client::new(&api)?
                .call(reqwest::Method::GET, &path, None)
                .await?;
            if api.json {
                print_json(&out);
            } else {
                let sla = &out["sla"];
                println!(
                    "SLA {} on {}: {} (index {}), last answer {}",
                    s(sla, "sla_id"),
                    s(sla, "market"),
                    s(sla, "state"),
                    s(sla, "oracle_index"),
                    s(sla, "last_answer")
                );
                println!(
                    "{:<8} {:<11} {:<9} {:<24} {:<24} {:<8} {:<6} reason",
                    "round", "ours", "result", "answer", "aggregate", "accepted", "paid"
                );
                for r in out["rounds"].as_array().into_iter().flatten() {
                    println!(
                        "{:<8} {:<11} {:<9} {:<24} {:<24} {:<8} {:<6} {}",
                        s(r, "round_id"),
                        s(r, "state"),
                        s(r, "round_status"),
                        s(r, "answer"),
                        s(r, "aggregate"),
                        s(r, "accepted"),
                        s(r, "paid"),
                        s(r, "reason")
                    );
                }
            }
        }
        SlaCommand::Withdraw { market, api } => {
            let body = serde_json::json!({ "market": market }).to_string();
            let out = Client::new(&api)?
                .call(
                    reqwest::Method::POST,
                    "/v2/sla/withdraw",
                    Some(Body::Json(body)),
                )
                .await?;
            if api.json {
                print_json(&out);
            } else {
                println!("withdrawal sent ({})", s(&out, "idempotencyKey"));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
