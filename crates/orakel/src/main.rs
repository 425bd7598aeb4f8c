//! `orakel`: the one command line of the orakel oracle network — run a node, manage its jobs
//! and runs over the REST API, and start a whole local devnet.

mod api_client;
mod cmd_bridges;
mod cmd_devnet;
mod cmd_node;
mod cmd_pool;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "orakel",
    version,
    about = "orakel — a decentralized oracle network node and tools"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run or set up an orakel node.
    #[command(subcommand)]
    Node(NodeCommand),
    /// Manage a node's jobs (over its REST API).
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Inspect a node's job runs (over its REST API).
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Manage a node's bridges: external adapters for `bridge` tasks (over its REST API).
    #[command(subcommand)]
    Bridges(cmd_bridges::BridgesCommand),
    /// Manage the external initiators allowed to run webhook jobs (over the REST API).
    #[command(subcommand)]
    Initiators(cmd_bridges::InitiatorsCommand),
    /// SLAs the node bid on or serves, their rounds, and withdrawals (over its REST API).
    #[command(subcommand)]
    Sla(SlaCommand),
    /// Inspect a node's key.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Start a local devnet: anvil, contracts, a source simulator and several nodes, then send
    /// price requests and show every answer as it lands on chain.
    Devnet(cmd_devnet::DevnetArgs),
    /// Measure a node end to end under load (what `make bench` runs).
    Bench(cmd_devnet::BenchArgs),
    /// Measure SLA commit–reveal latency on anvil: n honest nodes, rounds one after another.
    BenchSla(cmd_devnet::BenchSlaArgs),
    /// Serve the price-source simulator on its own.
    Sim(cmd_devnet::SimArgs),
    /// The staking pool on chain: deploy it, create nodes, stake, withdraw, distribute,
    /// change a node's settings and show every figure (amounts in LINK).
    #[command(subcommand)]
    Pool(cmd_pool::PoolCommand),
}

#[derive(Subcommand)]
enum NodeCommand {
    /// Create a node root: config.toml, an encrypted key, an API token.
    Init(cmd_node::InitArgs),
    /// Run the node in the foreground until Ctrl-C / SIGTERM.
    Start(cmd_node::StartArgs),
}

/// Where the node API is and how to authenticate.
#[derive(Args, Clone)]
pub struct ApiArgs {
    /// Node API base URL (default: from --root's config, else http://127.0.0.1:6688).
    #[arg(long, env = "ORAKEL_NODE_URL")]
    node: Option<String>,
    /// Bearer token (default: --root's api-token file).
    #[arg(long, env = "ORAKEL_API_TOKEN", hide_env_values = true)]
    api_token: Option<String>,
    /// Node root directory to read the API address and token from.
    #[arg(long, env = "ORAKEL_ROOT")]
    root: Option<PathBuf>,
    /// Print raw JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Add a job from a TOML spec file.
    Create {
        /// Spec file.
        file: PathBuf,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// List jobs.
    List {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show one job with its spec.
    Show {
        /// Job id.
        id: i64,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Delete a job (its runs stay readable).
    Delete {
        /// Job id.
        id: i64,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Run a webhook job now; prints the run id.
    Run(cmd_bridges::RunJobArgs),
}

#[derive(Subcommand)]
enum SlaCommand {
    /// List SLAs proposed for this node's sla jobs, newest first, with the node's state.
    List {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show one SLA (by its on-chain id) and the rounds the node took part in.
    Rounds {
        /// The SLA id.
        id: String,
        /// The market, when several markets have an SLA with this id.
        #[arg(long)]
        market: Option<String>,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Withdraw the LINK a market credited to the node (payments, returned deposits).
    Withdraw {
        /// The SLA market.
        market: String,
        #[command(flatten)]
        api: ApiArgs,
    },
}

#[derive(Subcommand)]
enum RunsCommand {
    /// List recent runs.
    List {
        /// Only runs of this job.
        #[arg(long)]
        job: Option<i64>,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show one run with every task's output or error.
    Show {
        /// Run id.
        id: i64,
        #[command(flatten)]
        api: ApiArgs,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print the node's address (reads the keystore without decrypting it).
    Address {
        /// Node root directory.
        #[arg(long, env = "ORAKEL_ROOT")]
        root: PathBuf,
    },
}

/// Parses durations like `500ms`, `2s`, `1m30s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e}"))
}

fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,sqlx=warn,hyper=warn,reqwest=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Node(NodeCommand::Init(args)) => cmd_node::init(args),
        Command::Node(NodeCommand::Start(args)) => {
            init_tracing(&cli.log_format);
            cmd_node::start(args).await
        }
        Command::Jobs(cmd) => api_client::jobs(cmd).await,
        Command::Runs(cmd) => api_client::runs(cmd).await,
        Command::Sla(cmd) => api_client::sla(cmd).await,
        Command::Bridges(cmd) => cmd_bridges::bridges(cmd).await,
        Command::Initiators(cmd) => cmd_bridges::initiators(cmd).await,
        Command::Keys(KeysCommand::Address { root }) => cmd_node::address(&root),
        Command::Devnet(args) => {
            if std::env::var_os("RUST_LOG").is_some() {
                init_tracing(&cli.log_format);
            }
            cmd_devnet::devnet(args).await
        }
        Command::Bench(args) => cmd_devnet::bench(args).await,
        Command::BenchSla(args) => cmd_devnet::bench_sla(args).await,
        Command::Sim(args) => {
            init_tracing(&cli.log_format);
            cmd_devnet::sim(args).await
        }
        Command::Pool(cmd) => cmd_pool::pool(cmd).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
