//! `orakel-adapter`: runs the sample external adapter until interrupted.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

/// A sample external adapter serving prices from the orakel source simulator.
#[derive(Debug, Parser)]
#[command(name = "orakel-adapter", version)]
struct Args {
    /// Listen address.
    #[arg(long, env = "ORAKEL_ADAPTER_LISTEN", default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Base URL of the source simulator (`orakel sim`).
    #[arg(long, env = "ORAKEL_SIM_URL", default_value = "http://127.0.0.1:8081")]
    sim_url: String,
    /// Time budget of one simulator request, e.g. `5s`.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let cfg = orakel_adapter::AdapterConfig {
        sim_url: args.sim_url,
        timeout: args.timeout,
    };
    let handle = match orakel_adapter::serve(&cfg, args.listen).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("orakel-adapter: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("orakel-adapter listening on {}", handle.url());
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown().await;
    std::process::ExitCode::SUCCESS
}
