//! `orakel node …` and `orakel keys …`.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

/// `orakel node init`
#[derive(Args)]
pub struct InitArgs {
    /// Root directory to create (config.toml, keys/, database).
    #[arg(long, env = "ORAKEL_ROOT")]
    root: PathBuf,
    /// JSON-RPC endpoint; repeat for failover endpoints.
    #[arg(long = "rpc-url", required = true)]
    rpc_urls: Vec<String>,
    /// WebSocket endpoint (ws:// or wss://) for log subscriptions: requests are served as soon
    /// as their block is mined instead of at the next poll (polling stays on).
    #[arg(long)]
    ws_url: Option<String>,
    /// Chain id the endpoints must serve.
    #[arg(long)]
    chain_id: u64,
    /// API listen address.
    #[arg(long, default_value = "127.0.0.1:6688")]
    api_listen: SocketAddr,
    /// File holding the keystore password (else $ORAKEL_KEYSTORE_PASSWORD, else a prompt).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Import this private key (hex file) instead of generating one.
    #[arg(long)]
    import_key_file: Option<PathBuf>,
    /// Allow http tasks to reach loopback/private addresses (development only).
    #[arg(long)]
    allow_private_http: bool,
    /// Do not create an API token (the API is then unauthenticated).
    #[arg(long)]
    no_api_token: bool,
    /// Log and receipt poll interval.
    #[arg(long, default_value = "1s", value_parser = crate::parse_duration)]
    poll_interval: Duration,
}

/// `orakel node start`
#[derive(Args)]
pub struct StartArgs {
    /// Node root directory.
    #[arg(long, env = "ORAKEL_ROOT")]
    root: PathBuf,
    /// File holding the keystore password (else $ORAKEL_KEYSTORE_PASSWORD, else a prompt).
    #[arg(long)]
    password_file: Option<PathBuf>,
}

fn read_password(file: Option<&Path>, confirm: bool) -> anyhow::Result<String> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading password file {}", path.display()))?;
        return Ok(text.trim_end_matches(['\n', '\r']).to_string());
    }
    if let Ok(p) = std::env::var("ORAKEL_KEYSTORE_PASSWORD") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no keystore password: use --password-file or ORAKEL_KEYSTORE_PASSWORD");
    }
    let p = rpassword::prompt_password("keystore password: ")?;
    if confirm {
        let again = rpassword::prompt_password("repeat password: ")?;
        if again != p {
            bail!("passwords differ");
        }
    }
    Ok(p)
}

pub fn init(args: InitArgs) -> anyhow::Result<ExitCode> {
    let password = read_password(args.password_file.as_deref(), true)?;
    let import_key = match &args.import_key_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Some(
                text.trim()
                    .parse()
                    .with_context(|| format!("{}: not a hex private key", path.display()))?,
            )
        }
        None => None,
    };
    let done = orakel_node::init::init(
        &orakel_node::init::InitOptions {
            root: args.root.clone(),
            rpc_urls: args.rpc_urls,
            ws_url: args.ws_url,
            chain_id: args.chain_id,
            api_listen: args.api_listen,
            allow_private_http: args.allow_private_http,
            poll_interval: args.poll_interval,
            import_key,
            api_token: !args.no_api_token,
        },
        &password,
    )?;
    println!("node root   {}", args.root.display());
    println!("config      {}", done.config_path.display());
    println!("keystore    {} (encrypted)", done.keystore_path.display());
    if let Some(t) = &done.token_path {
        println!("api token   {}", t.display());
    }
    println!(
        "address     {:#x}  ← fund it with gas money and authorize it on your Oracle",
        done.address
    );
    println!(
        "start with  orakel node start --root {}",
        args.root.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn start(args: StartArgs) -> anyhow::Result<ExitCode> {
    let cfg = orakel_node::NodeConfig::load(&args.root)?;
    let password = read_password(args.password_file.as_deref(), false)?;
    let signer = orakel_chain::keystore::load(&cfg.keystore_path(), &password)?;
    drop(password);
    let mut node = orakel_node::start(cfg, signer).await?;
    let cancel = node.cancel_token();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut failed = false;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupt received; stopping"),
        _ = sigterm.recv() => tracing::info!("SIGTERM received; stopping"),
        () = node.wait() => {
            // A core task ended on its own: exit non-zero so a supervisor restarts the node.
            tracing::error!("a node task ended unexpectedly; stopping");
            failed = true;
        }
    }
    cancel.cancel();
    node.shutdown().await;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub fn address(root: &Path) -> anyhow::Result<ExitCode> {
    let cfg = orakel_node::NodeConfig::load(root)?;
    let addr = orakel_chain::keystore::address(&cfg.keystore_path())?;
    println!("{addr:#x}");
    Ok(ExitCode::SUCCESS)
}
