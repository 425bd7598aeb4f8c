//! Property: whatever order and repetition of idempotency keys, the nonces handed out form a
//! gap-free range per sender, and each key maps to exactly one transaction.

use std::collections::BTreeMap;

use orakel_store::Store;
use proptest::prelude::*;

use crate::{new_tx, sender};

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn nonces_are_a_gap_free_range(
        start in 0u64..1_000,
        calls in proptest::collection::vec((0u64..12, 0u64..3), 1..40),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let store = Store::in_memory().await.unwrap();
            for s in 0..3 {
                store.sync_nonce(&sender(s), 31337, start + s).await.unwrap();
            }
            // key -> (sender, nonce, id) as first created.
            let mut seen: BTreeMap<u64, (u64, u64, i64)> = BTreeMap::new();
            for (key, from) in &calls {
                // A key seen before returns its first transaction, whoever asks again.
                let (row, created) = store
                    .create_eth_tx(&new_tx(&format!("key-{key}"), &sender(*from)))
                    .await
                    .unwrap();
                match seen.get(key) {
                    Some(&(_, nonce, id)) => {
                        prop_assert!(!created);
                        prop_assert_eq!((row.nonce, row.id), (nonce, id));
                        prop_assert_eq!(&row.from_address, &sender(seen[key].0));
                    }
                    None => {
                        prop_assert!(created);
                        seen.insert(*key, (*from, row.nonce, row.id));
                    }
                }
            }
            for s in 0..3 {
                let mut nonces: Vec<u64> = seen
                    .values()
                    .filter(|(owner, _, _)| *owner == s)
                    .map(|(_, n, _)| *n)
                    .collect();
                nonces.sort_unstable();
                let first = start + s;
                let expected: Vec<u64> = (first..first + nonces.len() as u64).collect();
                prop_assert_eq!(&nonces, &expected);
                // The stored counter is right after the last one handed out.
                prop_assert_eq!(
                    store.sync_nonce(&sender(s), 31337, 0).await.unwrap(),
                    first + nonces.len() as u64
                );
            }
            prop_assert_eq!(store.list_eth_txs(1_000).await.unwrap().len(), seen.len());
            Ok(())
        })?;
    }
}
