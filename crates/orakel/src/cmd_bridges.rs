//! `orakel bridges …`, `orakel initiators …` and `orakel jobs run`: clients of the node's
//! bridge, external-initiator and webhook API.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use crate::ApiArgs;
use crate::api_client::{Body, Client, print_json, s};

#[derive(Subcommand)]
pub enum BridgesCommand {
    /// Register a bridge from a JSON or TOML file and/or flags (flags win). Prints the
    /// generated tokens, which are shown only once.
    Create(CreateArgs),
    /// List bridges.
    List {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show one bridge with its schemas.
    Show {
        /// Bridge name.
        name: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Change a bridge's URL, confirmations, minimum payment or schemas.
    Update(UpdateArgs),
    /// Delete a bridge (refused while a job uses it).
    Delete {
        /// Bridge name.
        name: String,
        #[command(flatten)]
        api: ApiArgs,
    },
}

/// `orakel bridges create`
#[derive(Args)]
pub struct CreateArgs {
    /// A `.json` or `.toml` file with `name`, `url`, `confirmations`,
    /// `minimumContractPayment`, `inputSchema`, `outputSchema`.
    file: Option<PathBuf>,
    /// Bridge name: letters, digits, '_' or '-' (stored in lower case).
    #[arg(long)]
    name: Option<String>,
    /// The adapter's URL.
    #[arg(long)]
    url: Option<String>,
    /// Confirmations to record for the bridge (informational: shown, not enforced by runs).
    #[arg(long)]
    confirmations: Option<u64>,
    /// Minimum payment in juels to record (informational: shown, not enforced by runs).
    #[arg(long)]
    min_payment: Option<String>,
    /// JSON Schema file (draft 2020-12, JSON or TOML) every request must satisfy.
    #[arg(long)]
    input_schema: Option<PathBuf>,
    /// JSON Schema file (draft 2020-12, JSON or TOML) every response must satisfy.
    #[arg(long)]
    output_schema: Option<PathBuf>,
    #[command(flatten)]
    api: ApiArgs,
}

/// `orakel bridges update`
#[derive(Args)]
pub struct UpdateArgs {
    /// Bridge name.
    name: String,
    /// New URL.
    #[arg(long)]
    url: Option<String>,
    /// New confirmations.
    #[arg(long)]
    confirmations: Option<u64>,
    /// New minimum payment in juels.
    #[arg(long)]
    min_payment: Option<String>,
    /// New input schema file.
    #[arg(long, conflicts_with = "no_input_schema")]
    input_schema: Option<PathBuf>,
    /// New output schema file.
    #[arg(long, conflicts_with = "no_output_schema")]
    output_schema: Option<PathBuf>,
    /// Remove the input schema.
    #[arg(long)]
    no_input_schema: bool,
    /// Remove the output schema.
    #[arg(long)]
    no_output_schema: bool,
    #[command(flatten)]
    api: ApiArgs,
}

#[derive(Subcommand)]
pub enum InitiatorsCommand {
    /// Register an external initiator; prints its access key and secret (shown once).
    Create {
        /// Name, as listed in webhook specs' `externalInitiators`.
        name: String,
        /// Where the initiator can be reached (informational).
        #[arg(long)]
        url: Option<String>,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// List external initiators.
    List {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Delete an external initiator (refused while a job lists it).
    Delete {
        /// Name.
        name: String,
        #[command(flatten)]
        api: ApiArgs,
    },
}

/// `orakel jobs run`
#[derive(Args)]
pub struct RunJobArgs {
    /// Job id or externalJobID.
    id: String,
    /// JSON file sent as the request body (`$(jobRun.requestBody)`).
    #[arg(long)]
    body: Option<PathBuf>,
    /// Wait until the run has finished and print its outcome.
    #[arg(long)]
    wait: bool,
    /// How long `--wait` waits.
    #[arg(long, default_value = "60s", value_parser = crate::parse_duration)]
    timeout: Duration,
    #[command(flatten)]
    api: ApiArgs,
}

/// Reads a JSON or TOML document (by extension; otherwise JSON first, then TOML) as JSON.
fn read_document(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let from_toml = |text: &str| -> anyhow::Result<Value> {
        let table: toml::Table = toml::from_str(text)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), toml_error(text, &e)))?;
        Ok(serde_json::to_value(table)?)
    };
    let from_json = |text: &str| -> anyhow::Result<Value> {
        serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))
    };
    match ext.as_str() {
        "toml" => from_toml(&text),
        "json" => from_json(&text),
        _ => from_json(&text).or_else(|_| from_toml(&text)),
    }
}

fn toml_error(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let (line, col) = orakel_node::config::line_col(text, span.start);
            format!("{line}:{col}: {}", e.message())
        }
        None => e.message().to_string(),
    }
}

/// The flags `bridges create` and `bridges update` share, borrowed from either.
struct FieldFlags<'a> {
    url: Option<&'a str>,
    confirmations: Option<u64>,
    min_payment: Option<&'a str>,
    input_schema: Option<&'a Path>,
    output_schema: Option<&'a Path>,
}

impl FieldFlags<'_> {
    /// Writes the flags given into `body` under the API's field names, replacing what is
    /// there (flags win over a file); the schema files are read here.
    fn write(&self, body: &mut Map<String, Value>) -> anyhow::Result<()> {
        if let Some(u) = self.url {
            body.insert("url".into(), json!(u));
        }
        if let Some(c) = self.confirmations {
            body.insert("confirmations".into(), json!(c));
        }
        if let Some(p) = self.min_payment {
            body.insert(
                "minimumContractPayment".into(),
                Value::String(p.trim().to_string()),
            );
        }
        if let Some(path) = self.input_schema {
            body.insert("inputSchema".into(), read_document(path)?);
        }
        if let Some(path) = self.output_schema {
            body.insert("outputSchema".into(), read_document(path)?);
        }
        Ok(())
    }
}

fn print_tokens(out: &Value) {
    let b = &out["bridge"];
    println!("created bridge {} -> {}", s(b, "name"), s(b, "url"));
    println!(
        "incoming token: {}  (the adapter sends it to resume runs: Authorization: Bearer …)",
        s(out, "incomingToken")
    );
    println!(
        "outgoing token: {}  (the node sends it to the adapter)",
        s(out, "outgoingToken")
    );
    println!("Both are shown only now; store them with the adapter's configuration.");
}

fn print_bridge(b: &Value) {
    println!("bridge {}", s(b, "name"));
    println!("  url                       {}", s(b, "url"));
    println!("  confirmations             {}", s(b, "confirmations"));
    println!(
        "  minimum contract payment  {}",
        s(b, "minimum_contract_payment")
    );
    for (label, key) in [
        ("input schema", "input_schema"),
        ("output schema", "output_schema"),
    ] {
        match b.get(key) {
            Some(Value::Null) | None => println!("  {label:<25} none"),
            Some(schema) => println!(
                "  {label:<25} {}",
                serde_json::to_string(schema).unwrap_or_default()
            ),
        }
    }
}

pub async fn bridges(cmd: BridgesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BridgesCommand::Create(args) => {
            let mut body = match &args.file {
                Some(path) => match read_document(path)? {
                    Value::Object(m) => m,
                    _ => bail!("{}: expected a table of bridge fields", path.display()),
                },
                None => Map::new(),
            };
            if let Some(n) = args.name {
                body.insert("name".into(), json!(n));
            }
            FieldFlags {
                url: args.url.as_deref(),
                confirmations: args.confirmations,
                min_payment: args.min_payment.as_deref(),
                input_schema: args.input_schema.as_deref(),
                output_schema: args.output_schema.as_deref(),
            }
            .write(&mut body)?;
            for required in ["name", "url"] {
                if !body.contains_key(required) {
                    bail!(
                        "the bridge's `{required}` is missing: give --{required} or a file with it"
                    );
                }
            }
            let out = Client::new(&args.api)?
                .call(
                    reqwest::Method::POST,
                    "/v2/bridge_types",
                    Some(Body::Json(Value::Object(body).to_string())),
                )
                .await?;
            if args.api.json {
                print_json(&out);
            } else {
                print_tokens(&out);
            }
        }
        BridgesCommand::List { api } => {
            let out = Client::new(&api)?
                .call(reqwest::Method::GET, "/v2/bridge_types", None)
                .await?;
            if api.json {
                print_json(&out);
            } else {
                println!(
                    "{:<24} {:<6} {:<22} {:<7} url",
                    "name", "confs", "min payment", "schemas"
                );
                for b in out["bridges"].as_array().into_iter().flatten() {
                    let schemas = match (b["input_schema"].is_null(), b["output_schema"].is_null())
                    {
                        (true, true) => "-",
                        (false, true) => "in",
                        (true, false) => "out",
                        (false, false) => "in+out",
                    };
                    println!(
                        "{:<24} {:<6} {:<22} {:<7} {}",
                        s(b, "name"),
                        s(b, "confirmations"),
                        s(b, "minimum_contract_payment"),
                        schemas,
                        s(b, "url")
                    );
                }
            }
        }
        BridgesCommand::Show { name, api } => {
            let out = Client::new(&api)?
                .call(
                    reqwest::Method::GET,
                    &format!("/v2/bridge_types/{name}"),
                    None,
                )
                .await?;
            if api.json {
                print_json(&out);
            } else {
                print_bridge(&out["bridge"]);
            }
        }
        BridgesCommand::Update(args) => {
            let mut body = Map::new();
            FieldFlags {
                url: args.url.as_deref(),
                confirmations: args.confirmations,
                min_payment: args.min_payment.as_deref(),
                input_schema: args.input_schema.as_deref(),
                output_schema: args.output_schema.as_deref(),
            }
            .write(&mut body)?;
            if args.no_input_schema {
                body.insert("inputSchema".into(), Value::Null);
            }
            if args.no_output_schema {
                body.insert("outputSchema".into(), Value::Null);
            }
            if body.is_empty() {
                bail!(
                    "nothing to change: give --url, --confirmations, --min-payment or a schema option"
                );
            }
            let out = Client::new(&args.api)?
                .call(
                    reqwest::Method::PATCH,
                    &format!("/v2/bridge_types/{}", args.name),
                    Some(Body::Json(Value::Object(body).to_string())),
                )
                .await?;
            if args.api.json {
                print_json(&out);
            } else {
                print_bridge(&out["bridge"]);
            }
        }
        BridgesCommand::Delete { name, api } => {
            Client::new(&api)?
                .call(
                    reqwest::Method::DELETE,
                    &format!("/v2/bridge_types/{name}"),
                    None,
                )
                .await?;
            println!("deleted bridge {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn initiators(cmd: InitiatorsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        InitiatorsCommand::Create { name, url, api } => {
            let out = Client::new(&api)?
                .call(
                    reqwest::Method::POST,
                    "/v2/external_initiators",
                    Some(Body::Json(json!({ "name": name, "url": url }).to_string())),
                )
                .await?;
            if api.json {
                print_json(&out);
            } else {
                println!(
                    "created external initiator {}",
                    s(&out["externalInitiator"], "name")
                );
                println!(
                    "access key: {}  (X-Chainlink-EA-AccessKey)",
                    s(&out, "accessKey")
                );
                println!("secret:     {}  (X-Chainlink-EA-Secret)", s(&out, "secret"));
                println!("The secret is shown only now.");
            }
        }
        InitiatorsCommand::List { api } => {
            let out = Client::new(&api)?
                .call(reqwest::Method::GET, "/v2/external_initiators", None)
                .await?;
            if api.json {
                print_json(&out);
            } else {
                println!("{:<24} {:<34} url", "name", "access key");
                for e in out["externalInitiators"].as_array().into_iter().flatten() {
                    println!(
                        "{:<24} {:<34} {}",
                        s(e, "name"),
                        s(e, "access_key"),
                        s(e, "url")
                    );
                }
            }
        }
        InitiatorsCommand::Delete { name, api } => {
            Client::new(&api)?
                .call(
                    reqwest::Method::DELETE,
                    &format!("/v2/external_initiators/{name}"),
                    None,
                )
                .await?;
            println!("deleted external initiator {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run_job(args: RunJobArgs) -> anyhow::Result<ExitCode> {
    let body = match &args.body {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            if let Err(e) = serde_json::from_str::<Value>(&text) {
                bail!(
                    "{}:{}:{}: not valid JSON: {e}",
                    path.display(),
                    e.line(),
                    e.column()
                );
            }
            Some(text)
        }
        None => None,
    };
    let client = Client::new(&args.api)?;
    let out = client
        .call(
            reqwest::Method::POST,
            &format!("/v2/jobs/{}/runs", args.id),
            body.map(Body::Json),
        )
        .await?;
    let run_id = out["run"]["id"].as_i64().unwrap_or_default();
    if !args.wait {
        if args.api.json {
            print_json(&out);
        } else {
            println!("started run {run_id} of job {}", s(&out["run"], "job_id"));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let deadline = tokio::time::Instant::now() + args.timeout;
    loop {
        let run = client
            .call(reqwest::Method::GET, &format!("/v2/runs/{run_id}"), None)
            .await?;
        let state = run["run"]["state"].as_str().unwrap_or("").to_string();
        if state != "running" {
            if args.api.json {
                print_json(&run);
            } else {
                let r = &run["run"];
                println!("run {run_id} of job {}: {state}", s(r, "job_id"));
                println!("  outputs: {}", r["outputs"]);
                for e in r["errors"].as_array().into_iter().flatten() {
                    println!("  error: {}", e.as_str().unwrap_or_default());
                }
            }
            return Ok(if state == "completed" {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "run {run_id} still running after {} (it may wait for an asynchronous bridge: see GET /v2/suspended_runs)",
                humantime::format_duration(args.timeout)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
