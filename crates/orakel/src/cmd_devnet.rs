//! `orakel devnet`, `orakel bench`, `orakel sim`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use orakel_devnet::demo::{DemoOptions, summary_lines};
use orakel_devnet::process::ChainState;
use orakel_devnet::{Devnet, DevnetConfig};
use tokio_util::sync::CancellationToken;

/// `orakel devnet`
#[derive(Args)]
pub struct DevnetArgs {
    /// Number of nodes (each with its own key, database, Oracle contract and consumer).
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Price requests to send, round-robin over nodes and pairs.
    #[arg(long, default_value_t = 24)]
    requests: usize,
    /// Pause between requests.
    #[arg(long, default_value = "400ms", value_parser = crate::parse_duration)]
    interval: Duration,
    /// Use this chain instead of starting anvil (needs --deployer-key unless it is an anvil).
    #[arg(long)]
    rpc_url: Option<String>,
    /// Chain id (anvil is started with it; must match --rpc-url's chain).
    #[arg(long, default_value_t = 31337)]
    chain_id: u64,
    /// Hex private key that deploys and funds (default: anvil's first dev account).
    #[arg(long, env = "ORAKEL_DEPLOYER_KEY", hide_env_values = true)]
    deployer_key: Option<String>,
    /// Working directory for node roots and logs (wiped at start unless --keep).
    #[arg(long, default_value = ".devnet")]
    root: PathBuf,
    /// Keep the working directory from a previous run.
    #[arg(long)]
    keep: bool,
    /// Sources each job asks directly over HTTP. The simulator serves one more, which the
    /// jobs ask through the sample external adapter (unless --no-adapter).
    #[arg(long, default_value_t = 5)]
    sources: usize,
    /// Do not run the sample adapter; the jobs ask only the HTTP sources.
    #[arg(long)]
    no_adapter: bool,
    /// Seed of the simulated sources' noise and faults.
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated sources never fail or lie.
    #[arg(long)]
    no_faults: bool,
    /// Keep nodes running after the requests, until Ctrl-C.
    #[arg(long)]
    stay: bool,
    /// Run the SLA market scenario instead of direct requests: 7 nodes (3 honest, a far and
    /// a slight liar, a silent oracle, a freeloader) serve one commit–reveal SLA bought by a
    /// feed contract; prints each oracle's answer, acceptance, payment, slashing and
    /// reputation. --nodes, --requests, --interval, --sources and --no-adapter do not apply.
    #[arg(long)]
    sla: bool,
    /// With --sla: the first honest node, the silent node and the freeloader serve as
    /// staking-pool nodes; stakers back them before the SLA opens, and the summary shows how
    /// payments reached the honest node's stakers and the slashes cut the others' stakes.
    #[arg(long, requires = "sla")]
    pool: bool,
}

/// `orakel bench`
#[derive(Args)]
pub struct BenchArgs {
    /// Requests per second offered to the node.
    #[arg(long, default_value_t = 250)]
    rate: u32,
    /// How long to offer them.
    #[arg(long, default_value = "60s", value_parser = crate::parse_duration)]
    duration: Duration,
    /// Start of the window not counted in the sustained rate.
    #[arg(long, default_value = "5s", value_parser = crate::parse_duration)]
    warmup: Duration,
    /// Write the figures as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Working directory.
    #[arg(long, default_value = ".devnet-bench")]
    root: PathBuf,
    /// Start anvil at this nice value (0–19), so that on a small machine the node under test
    /// gets a core before the chain does. 0 shares the CPU equally.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=19))]
    chain_nice: u8,
    /// Start anvil and the node in this process's session, one scheduling group whose threads
    /// all compete with each other, instead of each in a session of its own as separate
    /// services are scheduled (ADR 0012). A reference for how much of the latency is waiting
    /// for a core the chain holds.
    #[arg(long)]
    one_session: bool,
    /// Run anvil on its own full state, as a plain anvil does, instead of forking an idle base
    /// anvil. A plain anvil rebuilds each block's state root from every storage slot it ever
    /// wrote, so every request served makes the blocks after it dearer (ADR 0015). A reference
    /// for how much the chain's growing cost adds.
    #[arg(long)]
    full_state_root: bool,
}

/// `orakel bench-sla`
#[derive(Args)]
pub struct BenchSlaArgs {
    /// Rounds to measure (after a first round that is not counted).
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Honest oracles serving the SLA.
    #[arg(long, default_value_t = 7)]
    nodes: usize,
    /// Node log/receipt poll interval.
    #[arg(long, default_value = "50ms", value_parser = crate::parse_duration)]
    poll_interval: Duration,
    /// Write the figures as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Working directory.
    #[arg(long, default_value = ".devnet-bench/sla")]
    root: PathBuf,
}

/// `orakel sim`
#[derive(Args)]
pub struct SimArgs {
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Seed of noise and faults.
    #[arg(long)]
    seed: Option<u64>,
    /// Never fail or lie.
    #[arg(long)]
    no_faults: bool,
}

fn sim_config(seed: Option<u64>, no_faults: bool, sources: usize) -> orakel_sim::SimConfig {
    let mut sim = orakel_sim::SimConfig::default();
    if let Some(seed) = seed {
        sim.seed = seed;
    }
    sim.sources_per_pair = sources;
    if no_faults { sim.without_faults() } else { sim }
}

/// Cancelled on Ctrl-C or SIGTERM. The devnet's services run in sessions of their own (ADR
/// 0012), so a terminal's Ctrl-C reaches only the devnet, which then stops them.
fn interrupt_token() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut sigterm) => {
                    sigterm.recv().await;
                }
                // Without a SIGTERM handler its default action ends the devnet, and the
                // kernel then kills the services (`PR_SET_PDEATHSIG`).
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminate => {}
        }
        t.cancel();
    });
    token
}

pub async fn devnet(args: DevnetArgs) -> anyhow::Result<ExitCode> {
    if args.sla {
        return devnet_sla(args).await;
    }
    let exe = std::env::current_exe().context("locating the orakel binary")?;
    let mut cfg = DevnetConfig::new(args.root.clone(), exe, args.nodes.max(1));
    cfg.rpc_url = args.rpc_url;
    cfg.chain_id = args.chain_id;
    cfg.deployer_key = args.deployer_key;
    cfg.keep = args.keep;
    let direct = args.sources.max(1);
    let asked = direct + usize::from(!args.no_adapter);
    cfg.sim = sim_config(args.seed, args.no_faults, asked);
    cfg.sources_per_job = direct;
    cfg.adapter_source = !args.no_adapter;
    // A strict majority of the median's inputs must answer.
    cfg.allowed_faults = (asked - 1) / 2;
    let cancel = interrupt_token();
    println!(
        "orakel devnet: {} nodes, {} requests — Ctrl-C stops everything\n",
        cfg.nodes, args.requests
    );
    let devnet = tokio::select! {
        d = Devnet::start(cfg, |line| println!("{line}")) => d?,
        () = cancel.cancelled() => { println!("interrupted during start-up"); return Ok(ExitCode::FAILURE) }
    };
    println!(
        "\nsending requests (answers are price × 10^18, checked against the simulated sources):\n"
    );
    let opts = DemoOptions {
        requests: args.requests,
        interval: args.interval,
        ..DemoOptions::default()
    };
    let summary =
        orakel_devnet::demo::run(&devnet, &opts, &cancel, |line| println!("{line}")).await;
    let ok = match &summary {
        Ok(summary) => {
            for line in summary_lines(&devnet, summary) {
                println!("{line}");
            }
            summary.success()
        }
        Err(e) => {
            eprintln!("demo failed: {e}");
            false
        }
    };
    if args.stay && !cancel.is_cancelled() {
        println!(
            "\nnodes keep running (logs in {}/node-*/node.log); Ctrl-C to stop",
            devnet.root().display()
        );
        cancel.cancelled().await;
    }
    println!("stopping nodes, simulator and chain …");
    devnet.shutdown().await;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Waits for the pool nodes to settle and prints what their stakers have.
async fn pool_summary(devnet: &Devnet, stakes: &[orakel_devnet::pool::PoolNodeStakes]) -> bool {
    println!();
    println!("waiting for the pool nodes to settle their deposits and distribute …");
    let settled =
        orakel_devnet::pool::wait_for_settlement(devnet, stakes, Duration::from_secs(60)).await;
    if let Err(e) = &settled {
        eprintln!("{e}");
    }
    match orakel_devnet::pool::summary_lines(devnet, stakes).await {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
        }
        Err(e) => eprintln!("reading the pool failed: {e}"),
    }
    settled.is_ok()
}

/// `orakel devnet --sla`: the 7-oracle SLA scenario.
async fn devnet_sla(args: DevnetArgs) -> anyhow::Result<ExitCode> {
    use orakel_devnet::sla::{self, SlaDevnetConfig, SlaOrder};
    let exe = std::env::current_exe().context("locating the orakel binary")?;
    let scenario = if args.pool {
        SlaDevnetConfig::pool_scenario()
    } else {
        SlaDevnetConfig::scenario()
    };
    let mut cfg = DevnetConfig::sla(args.root.clone(), exe, scenario);
    cfg.rpc_url = args.rpc_url;
    cfg.chain_id = args.chain_id;
    cfg.deployer_key = args.deployer_key;
    cfg.keep = args.keep;
    if let Some(seed) = args.seed {
        cfg.sim.seed = seed;
    }
    let cancel = interrupt_token();
    println!(
        "orakel devnet --sla: {} oracles serve one commit–reveal SLA — Ctrl-C stops everything\n",
        cfg.nodes
    );
    let devnet = tokio::select! {
        d = Devnet::start(cfg, |line| println!("{line}")) => d?,
        () = cancel.cancelled() => { println!("interrupted during start-up"); return Ok(ExitCode::FAILURE) }
    };
    let stakes = if args.pool {
        let stakes = tokio::select! {
            s = orakel_devnet::pool::stake_into_pool_nodes(&devnet) => s,
            () = cancel.cancelled() => { devnet.shutdown().await; return Ok(ExitCode::FAILURE) }
        };
        match stakes {
            Ok(stakes) => {
                for s in &stakes {
                    let amounts: Vec<String> = s
                        .stakers
                        .iter()
                        .map(|(_, a)| sla::link_amount(*a))
                        .collect();
                    println!(
                        "stakers   {} behind pool node {:#x} (node-{})",
                        amounts.join(" + "),
                        s.node,
                        s.devnet_node
                    );
                }
                stakes
            }
            Err(e) => {
                eprintln!("staking into the pool nodes failed: {e}");
                devnet.shutdown().await;
                return Ok(ExitCode::FAILURE);
            }
        }
    } else {
        Vec::new()
    };
    println!();
    let order = SlaOrder::one_shot(u8::try_from(devnet.nodes.len()).unwrap_or(u8::MAX));
    let report = tokio::select! {
        r = sla::run_scenario(&devnet, &order, |line| println!("{line}")) => Some(r),
        () = cancel.cancelled() => None,
    };
    let ok = match report {
        Some(Ok(report)) => {
            println!();
            for line in sla::summary_lines(&report) {
                println!("{line}");
            }
            let pool_ok = if stakes.is_empty() {
                true
            } else {
                pool_summary(&devnet, &stakes).await
            };
            report.success() && pool_ok
        }
        Some(Err(e)) => {
            eprintln!(
                "SLA scenario failed: {e} (node logs in {}/node-*/node.log)",
                devnet.root().display()
            );
            false
        }
        None => {
            println!("interrupted");
            false
        }
    };
    if args.stay && !cancel.is_cancelled() {
        println!(
            "\nnodes keep running (logs in {}/node-*/node.log; `orakel sla list --root {}/node-0`); Ctrl-C to stop",
            devnet.root().display(),
            devnet.root().display()
        );
        cancel.cancelled().await;
    }
    println!("stopping nodes, simulator and chain …");
    devnet.shutdown().await;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub async fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe().context("locating the orakel binary")?;
    let mut cfg = DevnetConfig::new(args.root.clone(), exe, 1);
    cfg.sim = sim_config(None, true, 1);
    cfg.sources_per_job = 1;
    cfg.allowed_faults = 0;
    cfg.poll_interval = Duration::from_millis(50);
    cfg.chain_nice = args.chain_nice;
    cfg.own_sessions = !args.one_session;
    cfg.chain_state = if args.full_state_root {
        ChainState::Full
    } else {
        ChainState::ForkedFromIdleBase
    };
    let devnet = Devnet::start(cfg, |line| eprintln!("{line}")).await?;
    let report = orakel_devnet::bench::run(
        &devnet,
        &orakel_devnet::bench::BenchOptions {
            rate: args.rate,
            duration: args.duration,
            warmup: args.warmup,
        },
        |line| eprintln!("{line}"),
    )
    .await;
    devnet.shutdown().await;
    let report = report?;
    let json = serde_json::to_string_pretty(&report)?;
    println!("{json}");
    if let Some(path) = args.json {
        std::fs::write(&path, &json).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn bench_sla(args: BenchSlaArgs) -> anyhow::Result<ExitCode> {
    use orakel_devnet::sla::{SlaDevnetConfig, SlaRole};
    let exe = std::env::current_exe().context("locating the orakel binary")?;
    let roles = vec![SlaRole::Honest; args.nodes.clamp(1, 64)];
    let mut cfg = DevnetConfig::sla(args.root.clone(), exe, SlaDevnetConfig::with_roles(&roles));
    cfg.poll_interval = args.poll_interval;
    let devnet = Devnet::start(cfg, |line| eprintln!("{line}")).await?;
    let report = orakel_devnet::sla::run_latency_bench(&devnet, args.rounds.max(1), |line| {
        eprintln!("{line}")
    })
    .await;
    devnet.shutdown().await;
    let report = report?;
    let json = serde_json::to_string_pretty(&report)?;
    println!("{json}");
    if let Some(path) = args.json {
        std::fs::write(&path, &json).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn sim(args: SimArgs) -> anyhow::Result<ExitCode> {
    let handle =
        orakel_sim::SimServer::start(sim_config(args.seed, args.no_faults, 5), args.listen).await?;
    println!(
        "source simulator at {} — e.g. {}",
        handle.base_url(),
        handle.source_url(0, "ETH-USD")
    );
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
