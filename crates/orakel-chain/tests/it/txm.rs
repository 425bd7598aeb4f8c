//! The transaction manager against anvil: send and confirm, idempotency, restart, fee bumps.

use std::time::Duration;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::providers::Provider;
use alloy_signer_local::PrivateKeySigner;
use orakel_chain::{TxManager, TxManagerConfig, TxRequest};
use orakel_store::{EthTxRow, EthTxState, NewAttempt, NewEthTx, Store};
use tokio_util::sync::CancellationToken;

use crate::{Anvil, CHAIN_ID, eventually};

/// Fast loop, no bump unless a test asks for one.
fn config() -> TxManagerConfig {
    TxManagerConfig {
        poll_interval: Duration::from_millis(100),
        bump_after: Duration::from_secs(3_600),
        ..TxManagerConfig::default()
    }
}

fn payment(key: &str, to: Address) -> TxRequest {
    TxRequest {
        idempotency_key: key.to_string(),
        to,
        data: Bytes::new(),
        gas_limit: Some(21_000),
        run_id: None,
    }
}

async fn wait_mined(store: &Store, key: &str) -> EthTxRow {
    eventually(&format!("transaction {key} to be mined"), 20, || async {
        store
            .eth_tx_by_key(key)
            .await
            .unwrap()
            .filter(|t| matches!(t.state, EthTxState::Confirmed | EthTxState::Reverted))
    })
    .await
}

struct Running {
    anvil: Anvil,
    store: Store,
    key: PrivateKeySigner,
    txm: TxManager,
    cancel: CancellationToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

async fn start(cfg: TxManagerConfig) -> Running {
    let anvil = Anvil::start().await;
    let store = Store::in_memory().await.unwrap();
    let key = anvil.funded_key().await;
    let cancel = CancellationToken::new();
    let txm = TxManager::start(
        anvil.rpc_pool().await,
        store.clone(),
        key.clone(),
        cfg,
        cancel.clone(),
    )
    .await
    .unwrap();
    Running {
        anvil,
        store,
        key,
        txm,
        cancel,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_sends_and_the_loop_records_the_receipt() {
    let t = start(config()).await;
    assert_eq!(t.txm.address(), t.key.address());
    let to = Address::repeat_byte(0x42);
    let sub = t.txm.submit(payment("fulfil/1", to)).await.unwrap();
    assert!(sub.created);
    assert_eq!(sub.nonce, 0);
    let hash = sub.tx_hash.unwrap();

    let row = wait_mined(&t.store, "fulfil/1").await;
    assert_eq!(row.id, sub.tx_id);
    assert_eq!(row.state, EthTxState::Confirmed);
    let receipt = t
        .anvil
        .provider
        .get_transaction_receipt(hash)
        .await
        .unwrap()
        .expect("the submitted hash was mined");
    assert!(receipt.status());
    assert_eq!(row.mined_tx_hash, Some(format!("{hash:#x}")));
    assert_eq!(row.mined_block, receipt.block_number);
    assert_eq!(row.gas_used, Some(21_000));
    assert_eq!(row.gas_used, Some(receipt.gas_used));
    assert!(row.broadcast_at.is_some());
    assert_eq!(row.from_address, format!("{:#x}", t.key.address()));
    let tx = t
        .anvil
        .provider
        .get_transaction_by_hash(hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alloy::consensus::Transaction::to(&tx), Some(to));
    assert_eq!(
        t.anvil
            .provider
            .get_transaction_count(t.key.address())
            .await
            .unwrap(),
        1
    );

    // The next transaction takes the next nonce; a reverting call ends as reverted.
    let link = orakel_contracts::deploy::deploy_link_token(
        &t.anvil.provider,
        t.anvil.owner().await,
        t.anvil.owner().await,
    )
    .await
    .unwrap();
    let transfer =
        alloy::sol_types::SolCall::abi_encode(&orakel_contracts::LinkToken::transferCall {
            to,
            value: U256::from(1u64),
        });
    let sub = t
        .txm
        .submit(TxRequest {
            idempotency_key: "fulfil/2".into(),
            to: link,
            data: transfer.into(),
            gas_limit: Some(100_000),
            run_id: Some(7),
        })
        .await
        .unwrap();
    assert_eq!(sub.nonce, 1);
    let row = wait_mined(&t.store, "fulfil/2").await;
    assert_eq!(row.state, EthTxState::Reverted, "our key holds no LINK");
    assert_eq!(row.run_id, Some(7));
    assert!(row.gas_used.unwrap() > 21_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_idempotency_key_sends_one_transaction() {
    let t = start(config()).await;
    let to = Address::repeat_byte(0x42);
    let first = t.txm.submit(payment("fulfil/once", to)).await.unwrap();
    let second = t.txm.submit(payment("fulfil/once", to)).await.unwrap();
    assert!(first.created);
    assert!(!second.created);
    assert_eq!(second.tx_id, first.tx_id);
    assert_eq!(second.tx_hash, first.tx_hash);
    assert_eq!(second.nonce, first.nonce);

    // Concurrent submits of one new key: one creates, all agree.
    let mut handles = Vec::new();
    for _ in 0..8 {
        let txm = t.txm.clone();
        handles.push(tokio::spawn(async move {
            txm.submit(payment("fulfil/race", to)).await.unwrap()
        }));
    }
    let mut subs = Vec::new();
    for h in handles {
        subs.push(h.await.unwrap());
    }
    assert_eq!(subs.iter().filter(|s| s.created).count(), 1);
    assert!(
        subs.iter()
            .all(|s| s.tx_id == subs[0].tx_id && s.nonce == 1)
    );

    wait_mined(&t.store, "fulfil/once").await;
    wait_mined(&t.store, "fulfil/race").await;
    // After mining, the key still returns the first transaction, and nothing else was sent.
    let again = t.txm.submit(payment("fulfil/once", to)).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.tx_id, first.tx_id);
    assert_eq!(t.store.list_eth_txs(10).await.unwrap().len(), 2);
    assert_eq!(t.store.attempts(first.tx_id).await.unwrap().len(), 1);
    assert_eq!(
        t.anvil
            .provider
            .get_transaction_count(t.key.address())
            .await
            .unwrap(),
        2
    );
}

/// Signs like a node would have before it was killed: EIP-1559, fees from the latest block.
async fn sign_attempt(anvil: &Anvil, key: &PrivateKeySigner, row: &EthTxRow) -> NewAttempt {
    let block = anvil
        .provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap();
    let base = u128::from(block.header.base_fee_per_gas.unwrap());
    let tip = 1_000_000_000u128;
    let mut tx = TxEip1559 {
        chain_id: row.chain_id,
        nonce: row.nonce,
        gas_limit: row.gas_limit,
        max_fee_per_gas: base * 2 + tip,
        max_priority_fee_per_gas: tip,
        to: TxKind::Call(row.to_address.parse().unwrap()),
        value: U256::ZERO,
        access_list: Default::default(),
        input: Bytes::from(row.data.clone()),
    };
    let sig = key.sign_transaction_sync(&mut tx).unwrap();
    let signed = tx.into_signed(sig);
    NewAttempt {
        tx_hash: format!("{:#x}", signed.hash()),
        max_fee_per_gas: (base * 2 + tip).to_string(),
        max_priority_fee_per_gas: tip.to_string(),
        raw: TxEnvelope::from(signed).encoded_2718(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_sends_what_the_previous_process_stored() {
    let anvil = Anvil::start().await;
    let key = anvil.funded_key().await;
    let from = format!("{:#x}", key.address());
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("node.sqlite").display());

    // The previous process: created two transactions; signed and stored an attempt of the
    // first, then died before broadcasting it; died before even signing the second.
    let (stored_hash, first_id, second_id) = {
        let store = Store::open(&url).await.unwrap();
        store.sync_nonce(&from, CHAIN_ID, 0).await.unwrap();
        let new = |k: &str| NewEthTx {
            idempotency_key: k.to_string(),
            chain_id: CHAIN_ID,
            from_address: from.clone(),
            to_address: format!("{:#x}", Address::repeat_byte(0x42)),
            data: vec![],
            gas_limit: 21_000,
            run_id: None,
        };
        let (first, _) = store.create_eth_tx(&new("fulfil/a")).await.unwrap();
        let (second, _) = store.create_eth_tx(&new("fulfil/b")).await.unwrap();
        let attempt = sign_attempt(&anvil, &key, &first).await;
        store.insert_attempt(first.id, &attempt).await.unwrap();
        store.close().await;
        (attempt.tx_hash, first.id, second.id)
    };
    assert_eq!(
        anvil
            .provider
            .get_transaction_count(key.address())
            .await
            .unwrap(),
        0,
        "nothing reached the chain"
    );

    let store = Store::open(&url).await.unwrap();
    let cancel = CancellationToken::new();
    let txm = TxManager::start(
        anvil.rpc_pool().await,
        store.clone(),
        key.clone(),
        config(),
        cancel.clone(),
    )
    .await
    .unwrap();
    let a = wait_mined(&store, "fulfil/a").await;
    let b = wait_mined(&store, "fulfil/b").await;
    assert_eq!(a.state, EthTxState::Confirmed);
    assert_eq!(b.state, EthTxState::Confirmed);
    assert_eq!(
        a.mined_tx_hash.as_deref(),
        Some(stored_hash.as_str()),
        "the stored attempt itself was sent, not a new one"
    );
    assert_eq!(store.attempts(first_id).await.unwrap().len(), 1);
    assert_eq!(store.attempts(second_id).await.unwrap().len(), 1);
    assert_eq!((a.nonce, b.nonce), (0, 1));
    assert_eq!(
        anvil
            .provider
            .get_transaction_count(key.address())
            .await
            .unwrap(),
        2
    );
    // A new submit continues after the recovered nonces.
    let sub = txm
        .submit(payment("fulfil/c", Address::repeat_byte(1)))
        .await
        .unwrap();
    assert_eq!(sub.nonce, 2);
    wait_mined(&store, "fulfil/c").await;
    cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_transaction_is_bumped_and_mined_once() {
    let t = start(TxManagerConfig {
        // Longer than the 1 s fee cache, so the bump sees the new base fee.
        bump_after: Duration::from_millis(1_500),
        ..config()
    })
    .await;
    t.anvil.set_automine(false).await;
    let sub = t
        .txm
        .submit(payment("fulfil/stuck", Address::repeat_byte(0x42)))
        .await
        .unwrap();
    let first = t.store.attempts(sub.tx_id).await.unwrap();
    assert_eq!(first.len(), 1);
    let first_fee: u128 = first[0].max_fee_per_gas.parse().unwrap();

    // The base fee jumps above what the transaction offers: it cannot be included.
    let base: u128 = 100_000_000_000;
    assert!(first_fee < base, "first attempt offers {first_fee}");
    t.anvil.mine_at_base_fee(base).await;
    let block = t.anvil.provider.get_block_number().await.unwrap();
    let receipt = t
        .anvil
        .provider
        .get_transaction_receipt(sub.tx_hash.unwrap())
        .await
        .unwrap();
    assert!(receipt.is_none(), "underpriced attempt must not be mined");

    // After bump_after the manager signs a replacement with a higher fee.
    let attempts = eventually("a fee bump", 20, || async {
        let a = t.store.attempts(sub.tx_id).await.unwrap();
        (a.len() >= 2).then_some(a)
    })
    .await;
    let bumped: u128 = attempts[1].max_fee_per_gas.parse().unwrap();
    assert!(
        bumped > base,
        "bumped fee {bumped} must beat the base fee {base}"
    );
    assert!(bumped >= first_fee * 110 / 100);
    let first_tip: u128 = attempts[0].max_priority_fee_per_gas.parse().unwrap();
    let bumped_tip: u128 = attempts[1].max_priority_fee_per_gas.parse().unwrap();
    assert!(bumped_tip >= first_tip * 110 / 100);

    t.anvil.set_automine(true).await;
    t.anvil.mine().await;
    let row = wait_mined(&t.store, "fulfil/stuck").await;
    assert_eq!(row.state, EthTxState::Confirmed);
    assert!(row.mined_block.unwrap() > block);

    // Exactly one attempt made it, with the one nonce.
    let attempts = t.store.attempts(sub.tx_id).await.unwrap();
    let mut mined = Vec::new();
    for a in &attempts {
        let hash: B256 = a.tx_hash.parse().unwrap();
        if let Some(r) = t
            .anvil
            .provider
            .get_transaction_receipt(hash)
            .await
            .unwrap()
        {
            assert!(r.status());
            mined.push(a.tx_hash.clone());
        }
        let envelope: TxEnvelope =
            alloy::eips::eip2718::Decodable2718::decode_2718(&mut a.raw.as_slice()).unwrap();
        assert_eq!(alloy::consensus::Transaction::nonce(&envelope), sub.nonce);
    }
    assert_eq!(mined.len(), 1, "{attempts:?}");
    assert_eq!(row.mined_tx_hash.as_ref(), Some(&mined[0]));
    assert_ne!(
        mined[0], attempts[0].tx_hash,
        "the bumped attempt was mined"
    );
    assert_eq!(
        t.anvil
            .provider
            .get_transaction_count(t.key.address())
            .await
            .unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_of_line_transaction_passed_over_for_blocks_is_replaced() {
    // No time-based bump during the test: only blocks passing it over may trigger one.
    let t = start(config()).await;
    t.anvil.set_automine(false).await;
    let sub = t
        .txm
        .submit(payment("fulfil/passed-over", Address::repeat_byte(0x43)))
        .await
        .unwrap();
    let first = t.store.attempts(sub.tx_id).await.unwrap();
    let first_fee: u128 = first[0].max_fee_per_gas.parse().unwrap();
    // The endpoint has the transaction but every block leaves it out (its fee is below the
    // base fee), as a pool that lost track of its nonce would.
    let base: u128 = 100_000_000_000;
    assert!(first_fee < base, "first attempt offers {first_fee}");
    let attempts = eventually(
        "a replacement of the passed-over transaction",
        20,
        || async {
            t.anvil.mine_at_base_fee(base).await;
            let a = t.store.attempts(sub.tx_id).await.unwrap();
            (a.len() >= 2).then_some(a)
        },
    )
    .await;
    let bumped: u128 = attempts[1].max_fee_per_gas.parse().unwrap();
    assert!(bumped >= first_fee * 110 / 100, "{first_fee} -> {bumped}");
    assert_ne!(attempts[1].tx_hash, attempts[0].tx_hash, "a new attempt");
    // Blocks at a normal base fee include it.
    t.anvil.set_automine(true).await;
    t.anvil.mine().await;
    let row = wait_mined(&t.store, "fulfil/passed-over").await;
    assert_eq!(row.state, EthTxState::Confirmed);
}
