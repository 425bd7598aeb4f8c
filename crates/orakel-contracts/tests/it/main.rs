//! End-to-end test against a real `anvil`: deploy the stack, make a request from the example
//! consumer, decode the `OracleRequest` log, fulfil it as an authorized node and read the answer.
//!
//! anvil is found via `$ORAKEL_ANVIL`, `PATH` or `contracts/node_modules/.bin/anvil`
//! (`scripts/setup-foundry.sh` installs it). Without anvil this test FAILS on purpose: CI installs
//! the toolchain first, so a missing binary is a set-up error, not a reason to skip.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::primitives::{Address, B256, I256, U256, keccak256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::{SolCall, SolEvent};
use orakel_contracts::anvil::{self, AnvilProcess};
use orakel_contracts::deploy::{self, ONE_LINK};
use orakel_contracts::{
    LinkToken, ORACLE_REQUEST_DATA_VERSION, ORACLE_REQUEST_TOPIC, Oracle, OracleRequest,
    OracleResponse, PriceConsumer, REQUEST_EXPIRY_SECS, RevertingConsumer,
};

mod pool;
mod sla;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn oracle_request_in(receipt: &TransactionReceipt) -> (Address, OracleRequest) {
    let log = receipt
        .inner
        .logs()
        .iter()
        .find(|log| log.topic0() == Some(&ORACLE_REQUEST_TOPIC))
        .expect("the transaction emitted an OracleRequest log");
    let decoded = OracleRequest::decode_log(&log.inner).expect("the OracleRequest log decodes");
    (decoded.address, decoded.data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_request_and_fulfil_on_anvil() -> TestResult {
    let anvil = AnvilProcess::start(&[]).await?;
    // No wallet: anvil signs for its unlocked dev accounts (eth_sendTransaction with `from`).
    let provider = ProviderBuilder::new().connect_http(anvil.url().parse()?);
    let accounts = provider.get_accounts().await?;
    let (owner, node, stranger) = (accounts[0], accounts[1], accounts[2]);

    let stack = deploy::deploy_stack(&provider, owner, &[node]).await?;
    let link = LinkToken::new(stack.link, &provider);
    let oracle = Oracle::new(stack.oracle, &provider);
    let consumer = PriceConsumer::new(stack.consumer, &provider);

    assert_eq!(oracle.typeAndVersion().call().await?, "Oracle 1.0.0");
    assert_eq!(oracle.owner().call().await?, owner);
    assert_eq!(oracle.getAuthorizedSenders().call().await?, vec![node]);
    assert_eq!(
        link.balanceOf(stack.consumer).call().await?,
        deploy::DEFAULT_CONSUMER_FUNDING
    );
    assert_eq!(consumer.oracleAddress().call().await?, stack.oracle);

    // Request: PriceConsumer -> LINK.transferAndCall -> Oracle, anyone may trigger it.
    let spec_id = keccak256("orakel/spec/eth-usd");
    let payment = ONE_LINK / U256::from(10u64);
    let receipt = consumer
        .requestPrice(spec_id, "ETH/USD".to_owned(), I256::try_from(100)?, payment)
        .from(stranger)
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status(), "requestPrice succeeded");
    let block = provider
        .get_block_by_number(receipt.block_number.unwrap_or_default().into())
        .await?;
    let timestamp = block.expect("the request's block").header.timestamp;

    let (emitter, request) = oracle_request_in(&receipt);
    assert_eq!(emitter, stack.oracle);
    assert_eq!(request.specId, spec_id);
    assert_eq!(request.requester, stack.consumer);
    assert_eq!(request.callbackAddr, stack.consumer);
    assert_eq!(
        request.requestId,
        keccak256([stack.consumer.as_slice(), &B256::with_last_byte(1)[..]].concat())
    );
    assert_eq!(request.payment, payment);
    assert_eq!(
        request.callbackFunctionId,
        PriceConsumer::fulfillCall::SELECTOR
    );
    assert_eq!(
        request.cancelExpiration,
        U256::from(timestamp + REQUEST_EXPIRY_SECS)
    );
    assert_eq!(request.dataVersion, U256::from(ORACLE_REQUEST_DATA_VERSION));
    // CBOR "diet" map: text "pair", text "ETH/USD", text "times", uint 100 (0x18 0x64).
    let expected_cbor = [
        &[0x64][..],
        b"pair",
        &[0x67],
        b"ETH/USD",
        &[0x65],
        b"times",
        &[0x18, 0x64],
    ]
    .concat();
    assert_eq!(request.data.as_ref(), expected_cbor.as_slice());

    // Fulfil as the authorized node; the consumer stores the answer.
    let answer = U256::from(3_000_000_000u64);
    let receipt = oracle
        .fulfillOracleRequest(
            request.requestId,
            request.payment,
            request.callbackAddr,
            request.callbackFunctionId,
            request.cancelExpiration,
            answer.into(),
        )
        .from(node)
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status(), "fulfillOracleRequest succeeded");
    let response = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| log.log_decode::<OracleResponse>().ok())
        .expect("an OracleResponse log");
    assert_eq!(response.inner.data.requestId, request.requestId);
    assert_eq!(consumer.latestRequestId().call().await?, request.requestId);
    assert_eq!(consumer.latestAnswer().call().await?, answer);
    assert_eq!(consumer.fulfilledCount().call().await?, U256::from(1u64));
    assert_eq!(oracle.withdrawable().call().await?, payment);

    // A stranger cannot fulfil: the call reverts already in gas estimation.
    let receipt = consumer
        .requestPriceOperator(spec_id, "BTC/USD".to_owned(), I256::try_from(1)?, payment)
        .from(owner)
        .send()
        .await?
        .get_receipt()
        .await?;
    let (_, request2) = oracle_request_in(&receipt);
    assert_eq!(request2.dataVersion, U256::from(2u64));
    let rejected = oracle
        .fulfillOracleRequest2(
            request2.requestId,
            request2.payment,
            request2.callbackAddr,
            request2.callbackFunctionId,
            request2.cancelExpiration,
            [
                request2.requestId.as_slice(),
                &B256::from(U256::from(7u64))[..],
            ]
            .concat()
            .into(),
        )
        .from(stranger)
        .send()
        .await;
    assert!(rejected.is_err(), "an unauthorized sender cannot fulfil");

    // A reverting consumer: the fulfilment still succeeds and the oracle is paid.
    let reverting_address =
        deploy::deploy_reverting_consumer(&provider, owner, stack.link, stack.oracle).await?;
    deploy::transfer_link(&provider, owner, stack.link, reverting_address, ONE_LINK).await?;
    let reverting = RevertingConsumer::new(reverting_address, &provider);
    let receipt = reverting
        .requestPrice(spec_id, "ETH/USD".to_owned(), I256::try_from(100)?, payment)
        .from(owner)
        .send()
        .await?
        .get_receipt()
        .await?;
    let (_, request3) = oracle_request_in(&receipt);
    let fulfil = oracle.fulfillOracleRequest(
        request3.requestId,
        request3.payment,
        request3.callbackAddr,
        request3.callbackFunctionId,
        request3.cancelExpiration,
        B256::ZERO,
    );
    assert!(
        !fulfil.clone().from(node).call().await?,
        "the callback fails"
    );
    let receipt = fulfil.from(node).send().await?.get_receipt().await?;
    assert!(receipt.status(), "the fulfilment itself succeeds");
    assert_eq!(
        oracle.withdrawable().call().await?,
        payment * U256::from(2u64)
    );
    Ok(())
}

#[test]
fn anvil_lookup_order_is_documented() {
    assert_eq!(anvil::ANVIL_ENV, "ORAKEL_ANVIL");
    assert!(anvil::workspace_root().join("Cargo.toml").is_file());
}
