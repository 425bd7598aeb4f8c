//! The RPC pool: chain id check at connect, failover between endpoints, clear errors.

use std::time::{Duration, Instant};

use orakel_chain::{Error, Rpc, redact_rpc_url};

use crate::{Anvil, CHAIN_ID, closed_port};

fn dead_url() -> String {
    format!("http://127.0.0.1:{}", closed_port())
}

#[tokio::test]
async fn connect_refuses_an_endpoint_of_another_chain() {
    let anvil = Anvil::start().await;
    let err = Rpc::connect(std::slice::from_ref(&anvil.url), 1)
        .await
        .unwrap_err();
    match &err {
        Error::WrongChain {
            url,
            expected,
            actual,
        } => {
            assert_eq!(*expected, 1);
            assert_eq!(*actual, CHAIN_ID);
            assert_eq!(url, &redact_rpc_url(&anvil.url));
        }
        other => panic!("expected WrongChain, got {other:?}"),
    }
    assert!(err.to_string().contains("31337"), "{err}");

    // One good endpoint does not excuse a wrong one next to it.
    let other = Anvil::start_with(&["--chain-id", "5"]).await;
    let err = Rpc::connect(&[anvil.url.clone(), other.url.clone()], CHAIN_ID)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::WrongChain { actual: 5, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn connect_rejects_bad_configuration() {
    assert!(matches!(
        Rpc::connect(&[], CHAIN_ID).await,
        Err(Error::NoEndpoints)
    ));
    assert!(matches!(
        Rpc::connect(&["ws://127.0.0.1:8546".to_string()], CHAIN_ID).await,
        Err(Error::BadUrl { .. })
    ));
    assert!(matches!(
        Rpc::connect(&["not a url".to_string()], CHAIN_ID).await,
        Err(Error::BadUrl { .. })
    ));
}

#[tokio::test]
async fn fails_over_from_a_dead_endpoint_to_a_live_one() {
    let anvil = Anvil::start().await;
    let dead = dead_url();
    let rpc = Rpc::connect(&[dead.clone(), anvil.url.clone()], CHAIN_ID)
        .await
        .unwrap();
    assert_eq!(rpc.chain_id(), CHAIN_ID);
    assert_eq!(rpc.active_endpoint(), redact_rpc_url(&dead));

    anvil.mine().await;
    assert_eq!(rpc.block_number().await.unwrap(), 1);
    assert_eq!(rpc.active_endpoint(), redact_rpc_url(&anvil.url));
    // Later calls stay on the live endpoint and keep working.
    let hash = rpc.block_hash(1).await.unwrap();
    assert!(hash.is_some());
    assert_eq!(rpc.block_hash(1_000).await.unwrap(), None);
    assert!(rpc.latest_base_fee().await.unwrap() > 0);
    assert_eq!(rpc.active_endpoint(), redact_rpc_url(&anvil.url));
}

#[tokio::test]
async fn fails_over_when_the_active_endpoint_dies() {
    let mut first = Anvil::start().await;
    let second = Anvil::start().await;
    let rpc = Rpc::connect(&[first.url.clone(), second.url.clone()], CHAIN_ID)
        .await
        .unwrap();
    second.mine().await;
    second.mine().await;
    assert_eq!(rpc.block_number().await.unwrap(), 0, "served by the first");
    assert_eq!(rpc.active_endpoint(), redact_rpc_url(&first.url));

    first.kill();
    assert_eq!(rpc.block_number().await.unwrap(), 2, "served by the second");
    assert_eq!(rpc.active_endpoint(), redact_rpc_url(&second.url));
}

#[tokio::test]
async fn all_endpoints_dead_is_a_clear_error() {
    let err = Rpc::connect(&[dead_url(), dead_url()], CHAIN_ID)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Rpc {
                method: "eth_chainId",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("eth_chainId"), "{err}");

    // Endpoints that die after connect: the error names the failing call.
    let mut anvil = Anvil::start().await;
    let dead = dead_url();
    let rpc = Rpc::connect(&[anvil.url.clone(), dead.clone()], CHAIN_ID)
        .await
        .unwrap();
    anvil.kill();
    let err = rpc.block_number().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Rpc {
                method: "eth_blockNumber",
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("eth_blockNumber"), "{text}");
    assert!(text.contains("every endpoint"), "{text}");
    let err = rpc
        .pending_nonce(alloy::primitives::Address::ZERO)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("eth_getTransactionCount"), "{err}");
}

#[tokio::test]
async fn a_json_rpc_error_is_returned_not_failed_over() {
    let anvil = Anvil::start().await;
    let second = Anvil::start().await;
    let rpc = Rpc::connect(&[anvil.url.clone(), second.url.clone()], CHAIN_ID)
        .await
        .unwrap();
    // Garbage bytes: the node answers with an error, which is the chain's verdict.
    let err = rpc.send_raw(&[0x02, 0x01, 0x02]).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::RpcResponse {
                method: "eth_sendRawTransaction",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        rpc.active_endpoint(),
        redact_rpc_url(&anvil.url),
        "an error answer is not a reason to switch endpoints"
    );
}

#[tokio::test]
async fn connect_with_retry_waits_for_a_starting_chain() {
    // Nothing listens: the retry gives up after the wait with the connect error.
    let started = std::time::Instant::now();
    let err = Rpc::connect_with_retry(
        &[dead_url()],
        CHAIN_ID,
        std::time::Duration::from_millis(600),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Rpc { .. }), "{err:?}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(600));
    // A wrong chain is not retried.
    let anvil = Anvil::start().await;
    let started = std::time::Instant::now();
    let err = Rpc::connect_with_retry(
        std::slice::from_ref(&anvil.url),
        7,
        std::time::Duration::from_secs(30),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::WrongChain { .. }), "{err:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// An endpoint that accepts connections and never answers (a black-holed load balancer).
async fn silent_endpoint() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

#[tokio::test]
async fn a_silent_endpoint_times_out_and_fails_over() {
    let anvil = Anvil::start().await;
    let (silent, server) = silent_endpoint().await;
    let limit = Duration::from_millis(500);
    let urls = [silent.clone(), anvil.url.clone()];
    let started = Instant::now();
    let rpc = tokio::time::timeout(
        Duration::from_secs(20),
        Rpc::connect_with_timeout(&urls, CHAIN_ID, limit),
    )
    .await
    .expect("connect must not hang on a silent endpoint")
    .unwrap();
    assert_eq!(rpc.active_endpoint(), redact_rpc_url(&silent));
    let number = tokio::time::timeout(Duration::from_secs(20), rpc.block_number())
        .await
        .expect("a call must not hang on a silent endpoint")
        .unwrap();
    assert_eq!(number, 0);
    assert_eq!(rpc.active_endpoint(), redact_rpc_url(&anvil.url));
    assert!(started.elapsed() < Duration::from_secs(5));

    // Only silent endpoints: the call fails in time, naming the method and the reason.
    let rpc_silent = tokio::time::timeout(
        Duration::from_secs(20),
        Rpc::connect_with_timeout(std::slice::from_ref(&silent), CHAIN_ID, limit),
    )
    .await
    .expect("connect gives up in time");
    let err = rpc_silent.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Rpc {
                method: "eth_chainId",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("no answer within"), "{err}");
    server.abort();
}
