//! Nonces, transactions and their attempts.

use std::collections::BTreeMap;

use orakel_store::{EthTxState, NewAttempt, Store};

use crate::{file_store, new_tx, sender};

const CHAIN: u64 = 31337;

fn attempt(n: u8, fee: u64) -> NewAttempt {
    NewAttempt {
        tx_hash: format!("0x{n:064x}"),
        max_fee_per_gas: fee.to_string(),
        max_priority_fee_per_gas: (fee / 10).to_string(),
        raw: vec![0x02, n, 0xff],
    }
}

#[tokio::test]
async fn sync_nonce_keeps_the_maximum() {
    let store = Store::in_memory().await.unwrap();
    let a = sender(1);
    assert_eq!(store.sync_nonce(&a, CHAIN, 5).await.unwrap(), 5);
    assert_eq!(store.sync_nonce(&a, CHAIN, 3).await.unwrap(), 5);
    assert_eq!(store.sync_nonce(&a, CHAIN, 7).await.unwrap(), 7);
    // Per key and per chain.
    assert_eq!(store.sync_nonce(&a, 1, 2).await.unwrap(), 2);
    assert_eq!(store.sync_nonce(&sender(2), CHAIN, 0).await.unwrap(), 0);
    assert_eq!(store.sync_nonce(&a, CHAIN, 0).await.unwrap(), 7);
}

#[tokio::test]
async fn create_needs_a_synced_nonce() {
    let store = Store::in_memory().await.unwrap();
    let err = store
        .create_eth_tx(&new_tx("k", &sender(1)))
        .await
        .unwrap_err();
    assert!(matches!(err, orakel_store::Error::Conflict(_)), "{err:?}");
    assert!(store.eth_tx_by_key("k").await.unwrap().is_none());
}

#[tokio::test]
async fn create_assigns_consecutive_nonces_once_per_key() {
    let store = Store::in_memory().await.unwrap();
    let a = sender(1);
    let b = sender(2);
    store.sync_nonce(&a, CHAIN, 0).await.unwrap();
    store.sync_nonce(&b, CHAIN, 40).await.unwrap();

    let (t0, created0) = store.create_eth_tx(&new_tx("run-1", &a)).await.unwrap();
    let (t1, created1) = store.create_eth_tx(&new_tx("run-2", &a)).await.unwrap();
    let (tb, _) = store.create_eth_tx(&new_tx("run-b", &b)).await.unwrap();
    assert!(created0 && created1);
    assert_eq!((t0.nonce, t1.nonce, tb.nonce), (0, 1, 40));
    assert_eq!(t0.state, EthTxState::Unbroadcast);
    assert_eq!(t0.from_address, a);
    assert_eq!(t0.chain_id, CHAIN);
    assert_eq!(t0.gas_limit, 300_000);
    assert_eq!(t0.data, b"run-1".to_vec());
    assert_eq!(t0.broadcast_at, None);
    assert_eq!(t0.gas_used, None);

    // Same key: the first transaction, and no nonce is used up.
    let mut other_payload = new_tx("run-1", &a);
    other_payload.data = vec![9, 9, 9];
    let (dup, created) = store.create_eth_tx(&other_payload).await.unwrap();
    assert!(!created);
    assert_eq!(dup.id, t0.id);
    assert_eq!(dup.nonce, 0);
    assert_eq!(dup.data, b"run-1".to_vec());
    let (t2, _) = store.create_eth_tx(&new_tx("run-3", &a)).await.unwrap();
    assert_eq!(t2.nonce, 2);

    // The chain moved on (a transaction sent by another tool): new nonces follow it.
    assert_eq!(store.sync_nonce(&a, CHAIN, 10).await.unwrap(), 10);
    let (t3, _) = store.create_eth_tx(&new_tx("run-4", &a)).await.unwrap();
    assert_eq!(t3.nonce, 10);
    assert_eq!(store.sync_nonce(&a, CHAIN, 0).await.unwrap(), 11);

    // What create returned is what is stored.
    let stored = store.eth_tx_by_key("run-4").await.unwrap().unwrap();
    assert_eq!(stored.id, t3.id);
    assert_eq!(stored.nonce, 10);
    assert_eq!(stored.created_at, t3.created_at);
    assert_eq!(stored.to_address, t3.to_address);
}

async fn concurrent_creators(store: Store) {
    let from = sender(7);
    store.sync_nonce(&from, CHAIN, 0).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = store.clone();
        let from = from.clone();
        tasks.push(tokio::spawn(async move {
            let key = format!("fulfil-{}", i % 10);
            let (row, created) = store.create_eth_tx(&new_tx(&key, &from)).await.unwrap();
            (key, row.id, row.nonce, created)
        }));
    }
    let mut by_key: BTreeMap<String, (i64, u64)> = BTreeMap::new();
    let mut created = 0;
    for t in tasks {
        let (key, id, nonce, new) = t.await.unwrap();
        if new {
            created += 1;
        }
        let first = *by_key.entry(key.clone()).or_insert((id, nonce));
        assert_eq!(
            first,
            (id, nonce),
            "every creator of {key} sees the same tx"
        );
    }
    assert_eq!(created, 10, "exactly one creator per key created");
    let txs = store.list_eth_txs(100).await.unwrap();
    assert_eq!(txs.len(), 10);
    let mut nonces: Vec<u64> = txs.iter().map(|t| t.nonce).collect();
    nonces.sort_unstable();
    assert_eq!(nonces, (0..10).collect::<Vec<_>>());
    // The next nonce continues without a gap.
    assert_eq!(store.sync_nonce(&from, CHAIN, 0).await.unwrap(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creators_in_memory() {
    concurrent_creators(Store::in_memory().await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creators_on_file() {
    let (store, _dir) = file_store().await;
    concurrent_creators(store).await;
}

#[tokio::test]
async fn attempts_and_the_transaction_life_cycle() {
    let store = Store::in_memory().await.unwrap();
    let a = sender(1);
    store.sync_nonce(&a, CHAIN, 0).await.unwrap();
    let (t0, _) = store.create_eth_tx(&new_tx("t0", &a)).await.unwrap();
    let (t1, _) = store.create_eth_tx(&new_tx("t1", &a)).await.unwrap();
    let (t2, _) = store.create_eth_tx(&new_tx("t2", &a)).await.unwrap();
    assert!(store.attempts(t0.id).await.unwrap().is_empty());

    store.insert_attempt(t0.id, &attempt(1, 100)).await.unwrap();
    store.insert_attempt(t0.id, &attempt(2, 121)).await.unwrap();
    // The same signed bytes stored twice (a retry) are one attempt.
    store.insert_attempt(t0.id, &attempt(1, 100)).await.unwrap();
    let attempts = store.attempts(t0.id).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].tx_hash, attempt(1, 100).tx_hash);
    assert_eq!(attempts[0].max_fee_per_gas, "100");
    assert_eq!(attempts[0].max_priority_fee_per_gas, "10");
    assert_eq!(attempts[0].raw, vec![0x02, 1, 0xff]);
    assert_eq!(attempts[1].max_fee_per_gas, "121");
    assert!(store.attempts(t1.id).await.unwrap().is_empty());

    // Broadcast: keeps the first time, clears a noted error.
    store
        .note_tx_error(t0.id, "connection refused")
        .await
        .unwrap();
    let row = store.eth_tx_by_key("t0").await.unwrap().unwrap();
    assert_eq!(row.state, EthTxState::Unbroadcast);
    assert_eq!(row.error.as_deref(), Some("connection refused"));
    store.mark_broadcast(t0.id).await.unwrap();
    let first = store.eth_tx_by_key("t0").await.unwrap().unwrap();
    assert_eq!(first.state, EthTxState::Broadcast);
    assert_eq!(first.error, None);
    let first_at = first.broadcast_at.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    store.mark_broadcast(t0.id).await.unwrap();
    let again = store.eth_tx_by_key("t0").await.unwrap().unwrap();
    assert_eq!(again.broadcast_at, Some(first_at));

    let open: Vec<u64> = store
        .open_eth_txs()
        .await
        .unwrap()
        .iter()
        .map(|t| t.nonce)
        .collect();
    assert_eq!(open, vec![0, 1, 2]);

    // Mined.
    let hash = attempts[1].tx_hash.clone();
    store
        .mark_mined(t0.id, &hash, 42, 21_000, true)
        .await
        .unwrap();
    let mined = store.eth_tx_by_key("t0").await.unwrap().unwrap();
    assert_eq!(mined.state, EthTxState::Confirmed);
    assert_eq!(mined.mined_tx_hash.as_deref(), Some(hash.as_str()));
    assert_eq!(mined.mined_block, Some(42));
    assert_eq!(mined.gas_used, Some(21_000));
    // A late broadcast report does not move a mined transaction back.
    store.mark_broadcast(t0.id).await.unwrap();
    assert_eq!(
        store.eth_tx_by_key("t0").await.unwrap().unwrap().state,
        EthTxState::Confirmed
    );

    store
        .mark_mined(t1.id, "0x01", 43, 50_000, false)
        .await
        .unwrap();
    assert_eq!(
        store.eth_tx_by_key("t1").await.unwrap().unwrap().state,
        EthTxState::Reverted
    );
    store.mark_fatal(t2.id, "nonce taken").await.unwrap();
    let fatal = store.eth_tx_by_key("t2").await.unwrap().unwrap();
    assert_eq!(fatal.state, EthTxState::Fatal);
    assert_eq!(fatal.error.as_deref(), Some("nonce taken"));
    assert!(store.open_eth_txs().await.unwrap().is_empty());

    let listed: Vec<i64> = store
        .list_eth_txs(2)
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(listed, vec![t2.id, t1.id], "newest first, limited");
}

#[tokio::test]
async fn open_transactions_are_ordered_by_sender_then_nonce() {
    let store = Store::in_memory().await.unwrap();
    let (a, b) = (sender(0xb), sender(0xa));
    store.sync_nonce(&a, CHAIN, 3).await.unwrap();
    store.sync_nonce(&b, CHAIN, 0).await.unwrap();
    for key in ["a1", "b1", "a2", "b2"] {
        let from = if key.starts_with('a') { &a } else { &b };
        store.create_eth_tx(&new_tx(key, from)).await.unwrap();
    }
    let open: Vec<(String, u64)> = store
        .open_eth_txs()
        .await
        .unwrap()
        .iter()
        .map(|t| (t.idempotency_key.clone(), t.nonce))
        .collect();
    assert_eq!(
        open,
        vec![
            ("b1".to_string(), 0),
            ("b2".to_string(), 1),
            ("a1".to_string(), 3),
            ("a2".to_string(), 4)
        ]
    );
}

#[tokio::test]
async fn counts_transactions_by_key_prefix_literally() {
    let store = Store::in_memory().await.unwrap();
    let a = sender(1);
    store.sync_nonce(&a, CHAIN, 0).await.unwrap();
    for key in ["run_1/a", "run_1/b", "run_10/a", "runX1/a"] {
        store.create_eth_tx(&new_tx(key, &a)).await.unwrap();
    }
    assert_eq!(
        store.count_eth_txs_for_key_prefix("run_1/").await.unwrap(),
        2
    );
    assert_eq!(
        store.count_eth_txs_for_key_prefix("run_1").await.unwrap(),
        3
    );
    // `_` and `%` are not wildcards.
    assert_eq!(store.count_eth_txs_for_key_prefix("run%").await.unwrap(), 0);
    assert_eq!(store.count_eth_txs_for_key_prefix("run_").await.unwrap(), 3);
    assert_eq!(store.count_eth_txs_for_key_prefix("").await.unwrap(), 4);
}
