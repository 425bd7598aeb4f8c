//! SLAs and their commit–reveal rounds: idempotent recording of market logs, the state
//! transitions the node's SLA service relies on, and that a stored commitment survives a
//! reopen (what restart recovery reveals from).

use orakel_store::{
    Checkpoint, DepositOutcome, NewSla, NewSlaRound, RoundStatus, SlaRoundState, SlaState, Store,
};

use crate::{file_store, file_url, insert_job};

const MARKET: &str = "0x00000000000000000000000000000000000000cc";

fn proposal(job_id: i64, sla_id: u64) -> NewSla {
    NewSla {
        market: MARKET.to_string(),
        sla_id: sla_id.to_string(),
        job_id,
        purchaser: "0x00000000000000000000000000000000000000bb".to_string(),
        spec_id: format!("0x{:064x}", 7),
        job_type: format!("0x{:064x}", 1),
        params: vec![0xa0],
        oracles: 3,
        rounds: 5,
        penalty_deposit: "1000000000000000000".to_string(),
        payment_per_oracle: "100000000000000000".to_string(),
        bidding_ends: 1_700_000_100,
        commit_window: 30,
        reveal_window: 30,
        heartbeat: 600,
        deviation_bps: 50,
        terms: serde_json::json!({"oracles": 3, "rounds": 5}),
        block_number: 42,
    }
}

fn round(sla_row: i64, round_id: u64) -> NewSlaRound {
    NewSlaRound {
        sla_row,
        market: MARKET.to_string(),
        round_id: round_id.to_string(),
        oracle_index: 1,
        commit_deadline: 1_700_000_200,
        reveal_deadline: 1_700_000_230,
    }
}

#[tokio::test]
async fn proposals_are_stored_once_and_move_through_their_states() {
    let store = Store::in_memory().await.unwrap();
    let job = insert_job(&store, "0eec7e1d-d0d2-476c-a1a8-72dfb6633f46").await;
    let id = store
        .insert_sla(&proposal(job.id, 1))
        .await
        .unwrap()
        .unwrap();
    // The same log read again (restart, reorg re-read): nothing new.
    assert_eq!(store.insert_sla(&proposal(job.id, 1)).await.unwrap(), None);
    let row = store.sla(MARKET, "1").await.unwrap().unwrap();
    assert_eq!(row.id, id);
    assert_eq!(row.state, SlaState::Proposed);
    assert_eq!((row.oracles, row.rounds, row.heartbeat), (3, 5, 600));
    assert_eq!(row.params, vec![0xa0]);
    assert_eq!(row.terms["rounds"], 5);

    // proposed -> bid; a second transition from proposed no longer applies.
    assert!(
        store
            .transition_sla(id, &[SlaState::Proposed], SlaState::Bid, None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .transition_sla(id, &[SlaState::Proposed], SlaState::Skipped, Some("x"))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .count_slas_in(&[SlaState::Bid, SlaState::Active])
            .await
            .unwrap(),
        1
    );
    store.set_sla_bid_score(id, "8000").await.unwrap();

    // Selected at index 2.
    assert!(store.set_sla_selected(id, 2).await.unwrap());
    let row = store.sla_by_row(id).await.unwrap().unwrap();
    assert_eq!((row.state, row.oracle_index), (SlaState::Active, Some(2)));
    assert_eq!(row.bid_score.as_deref(), Some("8000"));
    // Finalized twice (log re-read): no change.
    assert!(!store.set_sla_selected(id, 2).await.unwrap());

    // Round bookkeeping only moves forward.
    store
        .set_sla_round_started(id, "4", 1_700_000_170)
        .await
        .unwrap();
    store
        .set_sla_round_started(id, "3", 1_700_000_160)
        .await
        .unwrap();
    store.set_sla_last_answer(id, "-12").await.unwrap();
    let row = store.sla_by_row(id).await.unwrap().unwrap();
    assert_eq!(row.last_round_id.as_deref(), Some("4"));
    assert_eq!(row.last_round_started, Some(1_700_000_170));
    assert_eq!(row.last_answer.as_deref(), Some("-12"));

    // A skipped one, listed newest first.
    let other = store
        .insert_sla(&proposal(job.id, 2))
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .transition_sla(
                other,
                &[SlaState::Proposed],
                SlaState::Skipped,
                Some("payment too low")
            )
            .await
            .unwrap()
    );
    let all = store.list_slas(10).await.unwrap();
    assert_eq!(
        all.iter().map(|s| s.sla_id.as_str()).collect::<Vec<_>>(),
        ["2", "1"]
    );
    assert_eq!(all[0].reason.as_deref(), Some("payment too low"));
    assert_eq!(store.slas_in(&[SlaState::Active]).await.unwrap().len(), 1);
    assert!(store.slas_in(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn rounds_commit_reveal_and_finish() {
    let store = Store::in_memory().await.unwrap();
    let job = insert_job(&store, "0eec7e1d-d0d2-476c-a1a8-72dfb6633f46").await;
    let sla = store
        .insert_sla(&proposal(job.id, 1))
        .await
        .unwrap()
        .unwrap();
    let id = store
        .insert_sla_round(&round(sla, 9))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.insert_sla_round(&round(sla, 9)).await.unwrap(), None);
    let r = store.sla_round(MARKET, "9").await.unwrap().unwrap();
    assert_eq!(
        (r.state, r.round_status, r.reveal_open),
        (SlaRoundState::Started, RoundStatus::Open, false)
    );

    let salt = format!("0x{}", "ab".repeat(32));
    let commitment = format!("0x{}", "cd".repeat(32));
    assert!(
        store
            .store_sla_commitment(id, Some("-5"), Some(&salt), &commitment, None, None)
            .await
            .unwrap()
    );
    // Only once: a second commitment for the same round is refused.
    assert!(
        !store
            .store_sla_commitment(id, Some("6"), Some(&salt), &commitment, None, None)
            .await
            .unwrap()
    );
    assert!(
        store
            .transition_sla_round(
                id,
                &[SlaRoundState::Committing],
                SlaRoundState::Committed,
                None
            )
            .await
            .unwrap()
    );
    store
        .set_sla_round_reveal_open(MARKET, "9", 1_700_000_215)
        .await
        .unwrap();
    assert!(
        store
            .transition_sla_round(
                id,
                &[SlaRoundState::Committed],
                SlaRoundState::Revealed,
                None
            )
            .await
            .unwrap()
    );
    assert_eq!(store.open_sla_rounds().await.unwrap().len(), 1);

    assert!(
        store
            .finish_sla_round(
                MARKET,
                "9",
                RoundStatus::Answered,
                Some("-5"),
                Some(true),
                None
            )
            .await
            .unwrap()
    );
    // Written once.
    assert!(
        !store
            .finish_sla_round(
                MARKET,
                "9",
                RoundStatus::Failed,
                None,
                None,
                Some("TooFewReveals")
            )
            .await
            .unwrap()
    );
    store
        .set_sla_round_settlement(MARKET, "9", Some("100"), None)
        .await
        .unwrap();
    let r = store.sla_round_by_row(id).await.unwrap().unwrap();
    assert_eq!(r.answer.as_deref(), Some("-5"));
    assert_eq!(r.salt.as_deref(), Some(salt.as_str()));
    assert_eq!(r.reveal_deadline, 1_700_000_215);
    assert!(r.reveal_open);
    assert_eq!(
        (r.round_status, r.accepted),
        (RoundStatus::Answered, Some(true))
    );
    assert_eq!(r.aggregate.as_deref(), Some("-5"));
    assert_eq!(
        (r.paid.as_deref(), r.slashed.as_deref()),
        (Some("100"), None)
    );
    assert!(store.open_sla_rounds().await.unwrap().is_empty());
    assert_eq!(store.sla_rounds_of(sla, 10).await.unwrap().len(), 1);

    // The freeloader fault copies a commitment and learns answer and salt later.
    let copier = store
        .insert_sla_round(&round(sla, 10))
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .store_sla_commitment(
                copier,
                None,
                None,
                &commitment,
                None,
                Some("0x00000000000000000000000000000000000000dd")
            )
            .await
            .unwrap()
    );
    store
        .set_sla_round_reveal_data(copier, "7", &salt)
        .await
        .unwrap();
    store.note_sla_round(copier, "waiting").await.unwrap();
    let r = store.sla_round_by_row(copier).await.unwrap().unwrap();
    assert_eq!(r.answer.as_deref(), Some("7"));
    assert_eq!(
        r.copied_from.as_deref(),
        Some("0x00000000000000000000000000000000000000dd")
    );
    assert_eq!(r.reason.as_deref(), Some("waiting"));
}

#[tokio::test]
async fn a_stored_commitment_and_checkpoint_survive_a_reopen() {
    let (store, dir) = file_store().await;
    let job = insert_job(&store, "0eec7e1d-d0d2-476c-a1a8-72dfb6633f46").await;
    let sla = store
        .insert_sla(&proposal(job.id, 1))
        .await
        .unwrap()
        .unwrap();
    let id = store
        .insert_sla_round(&round(sla, 3))
        .await
        .unwrap()
        .unwrap();
    let salt = format!("0x{}", "11".repeat(32));
    assert!(
        store
            .store_sla_commitment(id, Some("1234"), Some(&salt), "0xfeed", None, None)
            .await
            .unwrap()
    );
    let cp = Checkpoint {
        block_number: 77,
        block_hash: "0x77".into(),
    };
    store.save_checkpoint("sla-markets", &cp).await.unwrap();
    store.close().await;

    let store = Store::open(&file_url(&dir.path().join("node.sqlite")))
        .await
        .unwrap();
    let open = store.open_sla_rounds().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].state, SlaRoundState::Committing);
    assert_eq!(open[0].answer.as_deref(), Some("1234"));
    assert_eq!(open[0].salt.as_deref(), Some(salt.as_str()));
    assert_eq!(store.checkpoint("sla-markets").await.unwrap(), Some(cp));
}

#[tokio::test]
async fn deposit_outcomes_are_recorded_once_and_settled_with_the_pool() {
    let store = Store::in_memory().await.unwrap();
    let job = insert_job(&store, "0eec7e1d-d0d2-476c-a1a8-72dfb6633f46").await;
    let a = store
        .insert_sla(&proposal(job.id, 1))
        .await
        .unwrap()
        .unwrap();
    let b = store
        .insert_sla(&proposal(job.id, 2))
        .await
        .unwrap()
        .unwrap();
    store
        .insert_sla(&proposal(job.id, 3))
        .await
        .unwrap()
        .unwrap();
    assert!(store.unsettled_pool_deposits().await.unwrap().is_empty());

    assert!(
        store
            .set_sla_deposit_outcome(b, DepositOutcome::Forfeited)
            .await
            .unwrap()
    );
    assert!(
        store
            .set_sla_deposit_outcome(a, DepositOutcome::Returned)
            .await
            .unwrap()
    );
    // The market settles a deposit once: a later (or re-read) log changes nothing.
    assert!(
        !store
            .set_sla_deposit_outcome(b, DepositOutcome::Returned)
            .await
            .unwrap()
    );
    let unsettled = store.unsettled_pool_deposits().await.unwrap();
    let ids: Vec<i64> = unsettled.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![a, b], "oldest first, only those with an outcome");
    assert_eq!(
        unsettled[1].deposit_outcome,
        Some(DepositOutcome::Forfeited)
    );
    assert!(!unsettled[1].pool_settled);

    store
        .set_sla_pool_settle_key(a, Some("sla/m/1/pool-settle/4"))
        .await
        .unwrap();
    let row = store.sla_by_row(a).await.unwrap().unwrap();
    assert_eq!(
        row.pool_settle_key.as_deref(),
        Some("sla/m/1/pool-settle/4")
    );
    store.set_sla_pool_settle_key(a, None).await.unwrap();
    assert_eq!(
        store.sla_by_row(a).await.unwrap().unwrap().pool_settle_key,
        None
    );
    store.set_sla_pool_settled(a).await.unwrap();
    let left: Vec<i64> = store
        .unsettled_pool_deposits()
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, vec![b]);
    assert!(store.sla_by_row(a).await.unwrap().unwrap().pool_settled);
}
