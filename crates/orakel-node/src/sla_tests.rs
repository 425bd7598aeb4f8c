//! Unit tests of the SLA service: the commitment, the policy, the deviation rule, and the
//! round state machine against a fake chain (logs are fed in as the listener would).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use alloy::primitives::{Address, B256, Bytes, I256, U256, address, b256, keccak256};
use alloy::sol_types::{SolCall, SolEvent};
use orakel_contracts::sla::{Market, RoundView, SlaTerms};
use orakel_pipeline::{Runner, RunnerConfig};
use orakel_store::{NewJob, RoundStatus, SlaRoundState, SlaState, Store};

use super::*;
use crate::registry::{JobRegistry, LoadedJob};

const MARKET: Address = address!("0x00000000000000000000000000000000000000cc");
const LINK: Address = address!("0x00000000000000000000000000000000000000ee");
const ME: Address = address!("0x000000000000000000000000000000000000a001");
const OTHER: Address = address!("0x000000000000000000000000000000000000b002");
const JOB_ID: &str = "0eec7e1d-d0d2-476c-a1a8-72dfb6633f46";
const T0: u64 = 1_700_000_000;

#[test]
fn commitment_matches_the_contracts_encoding() {
    let market = Address::repeat_byte(0x11);
    let oracle = Address::repeat_byte(0x22);
    let answer = I256::try_from(-1234).unwrap();
    let salt = B256::repeat_byte(0x33);
    let c = commitment_of(market, U256::from(7u8), oracle, answer, salt);
    // Computed independently (js-sha3 over the five 32-byte words of abi.encode).
    assert_eq!(
        c,
        b256!("0xf8f7306720c6602fd60db2005aa956aa3ef48425daa562f1a9617eeea0b89993")
    );
    // The same as hashing the words by hand.
    let mut words = Vec::new();
    words.extend_from_slice(B256::left_padding_from(market.as_slice()).as_slice());
    words.extend_from_slice(&U256::from(7u8).to_be_bytes::<32>());
    words.extend_from_slice(B256::left_padding_from(oracle.as_slice()).as_slice());
    words.extend_from_slice(&answer.into_raw().to_be_bytes::<32>());
    words.extend_from_slice(salt.as_slice());
    assert_eq!(c, keccak256(&words));
    // Binding the oracle: the same answer and salt from another address differ.
    assert_ne!(
        c,
        commitment_of(market, U256::from(7u8), market, answer, salt)
    );
}

#[test]
fn salts_are_random() {
    let a = random_salt().unwrap();
    let b = random_salt().unwrap();
    assert_ne!(a, b);
    assert_ne!(a, B256::ZERO);
}

fn policy() -> BidPolicy {
    BidPolicy {
        enabled: true,
        job_types: vec![B256::repeat_byte(1)],
        min_payment: U256::from(100u64),
        max_penalty: Some(U256::from(1_000u64)),
        max_concurrent: 2,
    }
}

fn context() -> BidContext {
    BidContext {
        job_type: B256::repeat_byte(1),
        payment: U256::from(100u64),
        deposit: U256::from(1_000u64),
        bidding_ends: T0 + 10,
        now: T0,
        concurrent: 1,
        link_balance: Some(U256::from(5_000u64)),
    }
}

#[test]
fn the_policy_names_why_it_does_not_bid() {
    assert_eq!(decide_bid(&policy(), &context()), Ok(()));
    let no = |p: BidPolicy, c: BidContext| decide_bid(&p, &c).unwrap_err();
    assert!(
        no(
            BidPolicy {
                enabled: false,
                ..policy()
            },
            context()
        )
        .contains("disabled")
    );
    assert!(
        no(
            policy(),
            BidContext {
                job_type: B256::repeat_byte(2),
                ..context()
            }
        )
        .contains("job_types")
    );
    // An empty allow-list allows every job type.
    let any = BidPolicy {
        job_types: vec![],
        ..policy()
    };
    assert_eq!(
        decide_bid(
            &any,
            &BidContext {
                job_type: B256::repeat_byte(9),
                ..context()
            }
        ),
        Ok(())
    );
    assert!(
        no(
            policy(),
            BidContext {
                payment: U256::from(99u64),
                ..context()
            }
        )
        .contains("min_payment_juels")
    );
    assert!(
        no(
            policy(),
            BidContext {
                deposit: U256::from(1_001u64),
                ..context()
            }
        )
        .contains("max_penalty_juels")
    );
    assert_eq!(
        decide_bid(
            &BidPolicy {
                max_penalty: None,
                ..policy()
            },
            &BidContext {
                deposit: U256::from(4_000u64),
                ..context()
            }
        ),
        Ok(())
    );
    assert!(
        no(
            policy(),
            BidContext {
                concurrent: 2,
                ..context()
            }
        )
        .contains("max_concurrent_slas")
    );
    assert!(
        no(
            policy(),
            BidContext {
                now: T0 + 10,
                ..context()
            }
        )
        .contains("bidding closed")
    );
    assert!(
        no(
            policy(),
            BidContext {
                link_balance: Some(U256::from(999u64)),
                ..context()
            }
        )
        .contains("LINK balance")
    );
    assert!(
        no(
            policy(),
            BidContext {
                link_balance: None,
                ..context()
            }
        )
        .contains("link_address")
    );
}

#[test]
fn deviation_is_relative_to_the_last_answer() {
    let i = |v: i64| I256::try_from(v).unwrap();
    // 50 bps of 10000 is 50.
    assert!(!deviates(i(10_050), Some(i(10_000)), 50));
    assert!(deviates(i(10_051), Some(i(10_000)), 50));
    assert!(deviates(i(9_949), Some(i(10_000)), 50));
    assert!(!deviates(i(-10_050), Some(i(-10_000)), 50));
    assert!(deviates(i(-10_051), Some(i(-10_000)), 50));
    assert!(deviates(i(1), None, 50));
    assert!(deviates(i(1), Some(i(0)), 50));
    assert!(!deviates(i(0), Some(i(0)), 50));
    // No overflow at the extremes.
    assert!(deviates(I256::MAX, Some(I256::MIN), 10_000));
}

/// A chain in memory: answers the views the service reads, records what it sends.
struct FakeChain {
    now: AtomicU64,
    sent: Mutex<Vec<(String, Address, Bytes)>>,
    states: Mutex<HashMap<String, SentTx>>,
    reverting: Mutex<HashSet<[u8; 4]>>,
    view: Mutex<RoundView>,
    latest_round: Mutex<U256>,
    inputs: Mutex<HashMap<B256, Bytes>>,
}

impl FakeChain {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            now: AtomicU64::new(T0),
            sent: Mutex::new(Vec::new()),
            states: Mutex::new(HashMap::new()),
            reverting: Mutex::new(HashSet::new()),
            view: Mutex::new(RoundView {
                slaId: U256::from(1u8),
                status: round_status::OPEN,
                startBlock: 1,
                commitDeadline: T0 + 30,
                revealDeadline: T0 + 60,
                commits: 0,
                reveals: 0,
                revealOpen: false,
                answer: I256::ZERO,
            }),
            latest_round: Mutex::new(U256::from(5u8)),
            inputs: Mutex::new(HashMap::new()),
        })
    }
    fn set_now(&self, t: u64) {
        self.now.store(t, Ordering::SeqCst);
    }
    fn sent_keys(&self) -> Vec<String> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .map(|(k, _, _)| k.clone())
            .collect()
    }
    fn sent_with(&self, suffix: &str) -> Option<(Address, Bytes)> {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .find(|(k, _, _)| k.ends_with(suffix))
            .map(|(_, to, d)| (*to, d.clone()))
    }
}

#[async_trait]
impl SlaChain for FakeChain {
    fn address(&self) -> Address {
        ME
    }
    async fn now(&self) -> SlaResult<u64> {
        Ok(self.now.load(Ordering::SeqCst))
    }
    async fn call(&self, _to: Address, data: Bytes) -> SlaResult<Bytes> {
        let selector: [u8; 4] = data
            .get(..4)
            .and_then(|s| s.try_into().ok())
            .unwrap_or_default();
        if self.reverting.lock().unwrap().contains(&selector) {
            return Err(SlaError::Reverted("execution reverted".into()));
        }
        Ok(match selector {
            LinkToken::balanceOfCall::SELECTOR => LinkToken::balanceOfCall::abi_encode_returns(
                &U256::from(10u64).pow(U256::from(21u64)),
            )
            .into(),
            Market::roundOfCall::SELECTOR => {
                Market::roundOfCall::abi_encode_returns(&self.view.lock().unwrap().clone()).into()
            }
            Market::latestRoundOfCall::SELECTOR => {
                Market::latestRoundOfCall::abi_encode_returns(&*self.latest_round.lock().unwrap())
                    .into()
            }
            _ => Bytes::new(),
        })
    }
    async fn send(&self, key: &str, to: Address, data: Bytes, _gas: Option<u64>) -> SlaResult<()> {
        let mut states = self.states.lock().unwrap();
        if states.contains_key(key) {
            return Ok(()); // like the transaction manager: one transaction per key
        }
        states.insert(key.to_string(), SentTx::Pending);
        self.sent.lock().unwrap().push((key.to_string(), to, data));
        Ok(())
    }
    async fn sent(&self, key: &str) -> SlaResult<Option<SentTx>> {
        Ok(self.states.lock().unwrap().get(key).copied())
    }
    async fn tx_input(&self, hash: B256) -> SlaResult<Option<Bytes>> {
        Ok(self.inputs.lock().unwrap().get(&hash).cloned())
    }
}

const SPEC: &str = r#"type = "sla"
schemaVersion = 1
externalJobID = "0eec7e1d-d0d2-476c-a1a8-72dfb6633f46"
marketAddress = "0x00000000000000000000000000000000000000cc"
observationSource = """
    price [type=median values=<[1.5, 2.5]>]
    scale [type=multiply input="$(price)" times=100]
    price -> scale
"""
"#;

struct Setup {
    store: Store,
    chain: Arc<FakeChain>,
    service: Arc<SlaService>,
    registry: Arc<JobRegistry>,
}

async fn setup(faults: SlaFaultConfig) -> Setup {
    let store = Store::in_memory().await.unwrap();
    let spec = orakel_pipeline::parse_job_spec(SPEC, "sla.toml").unwrap();
    let row = store
        .insert_job(&NewJob {
            external_job_id: JOB_ID.into(),
            name: None,
            job_type: "sla".into(),
            spec_toml: SPEC.into(),
        })
        .await
        .unwrap();
    let registry = Arc::new(JobRegistry::default());
    registry.insert(LoadedJob { row, spec });
    let chain = FakeChain::new();
    let service = service_on(&store, &registry, chain.clone(), faults);
    Setup {
        store,
        chain,
        service,
        registry,
    }
}

fn service_on(
    store: &Store,
    registry: &Arc<JobRegistry>,
    chain: Arc<FakeChain>,
    faults: SlaFaultConfig,
) -> Arc<SlaService> {
    let runner = Arc::new(Runner::new(RunnerConfig::default(), None).unwrap());
    SlaService::new(
        store.clone(),
        registry.clone(),
        runner,
        chain,
        SlaServiceConfig {
            policy: BidPolicy {
                enabled: true,
                job_types: vec![],
                min_payment: U256::ZERO,
                max_penalty: None,
                max_concurrent: 5,
            },
            link: Some(LINK),
            gas_limit: None,
            faults,
        },
        CancellationToken::new(),
    )
}

fn log<E: SolEvent>(event: &E, tx: u8) -> Log {
    Log {
        inner: alloy::primitives::Log {
            address: MARKET,
            data: event.encode_log_data(),
        },
        block_number: Some(10),
        transaction_hash: Some(B256::repeat_byte(tx)),
        ..Default::default()
    }
}

fn terms(rounds: u32) -> SlaTerms {
    SlaTerms {
        specId: orakel_pipeline::spec_id_forms(&uuid::Uuid::parse_str(JOB_ID).unwrap())[0],
        jobType: B256::repeat_byte(1),
        params: Bytes::from(vec![0xa0]),
        oracles: 2,
        minResponses: 1,
        minReputation: 0,
        penaltyDeposit: alloy::primitives::Uint::from(1_000u64),
        paymentPerOracle: alloy::primitives::Uint::from(100u64),
        rounds,
        biddingEnds: T0 + 10,
        commitWindow: 30,
        revealWindow: 30,
        heartbeat: 0,
        deviationBps: 50,
        aggregator: Address::repeat_byte(0xa),
        reputation: Address::repeat_byte(0xb),
        callback: Address::ZERO,
        callbackSelector: Default::default(),
    }
}

async fn step(s: &Setup) {
    s.service.tick().await.unwrap();
    s.service.idle().await;
}

/// Proposal, bid, selection at index 1, round 5 started.
async fn selected_with_round(s: &Setup) {
    let sla = U256::from(1u8);
    s.service
        .apply_log(&log(
            &Market::SlaProposed {
                slaId: sla,
                purchaser: OTHER,
                specId: terms(1).specId,
                terms: terms(1),
            },
            1,
        ))
        .await
        .unwrap();
    step(s).await;
    s.service
        .apply_log(&log(
            &Market::SlaFinalized {
                slaId: sla,
                oracles: vec![OTHER, ME],
            },
            2,
        ))
        .await
        .unwrap();
    s.service
        .apply_log(&log(
            &Market::RoundStarted {
                slaId: sla,
                roundId: U256::from(5u8),
                commitDeadline: T0 + 30,
                revealDeadline: T0 + 60,
            },
            3,
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_round_goes_from_proposal_to_answer() {
    let s = setup(SlaFaultConfig::default()).await;
    let sla = U256::from(1u8);
    // A proposal for another job is not recorded.
    let mut foreign = terms(1);
    foreign.specId = B256::repeat_byte(0x77);
    s.service
        .apply_log(&log(
            &Market::SlaProposed {
                slaId: U256::from(9u8),
                purchaser: OTHER,
                specId: foreign.specId,
                terms: foreign,
            },
            9,
        ))
        .await
        .unwrap();
    assert!(s.store.sla(&hex_addr(MARKET), "9").await.unwrap().is_none());

    selected_with_round(&s).await;
    // The bid: LINK transferAndCall(market, deposit, bid(1)).
    let (to, data) = s.chain.sent_with("/1/bid").unwrap();
    assert_eq!(to, LINK);
    let call = LinkToken::transferAndCallCall::abi_decode(&data).unwrap();
    assert_eq!((call.to, call.value), (MARKET, U256::from(1_000u64)));
    assert_eq!(Market::bidCall::abi_decode(&call.data).unwrap().0, sla);
    let row = s.store.sla(&hex_addr(MARKET), "1").await.unwrap().unwrap();
    assert_eq!((row.state, row.oracle_index), (SlaState::Active, Some(1)));

    // Round 5: the pipeline answers 200; the commitment is stored, then sent.
    step(&s).await;
    let round = s
        .store
        .sla_round(&hex_addr(MARKET), "5")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(round.state, SlaRoundState::Committed);
    assert_eq!(round.answer.as_deref(), Some("200"));
    let salt: B256 = round.salt.as_deref().unwrap().parse().unwrap();
    let expected = commitment_of(
        MARKET,
        U256::from(5u8),
        ME,
        I256::try_from(200).unwrap(),
        salt,
    );
    let (to, data) = s.chain.sent_with("/round/5/commit").unwrap();
    assert_eq!(to, MARKET);
    let commit = Market::commitCall::abi_decode(&data).unwrap();
    assert_eq!(
        (commit.roundId, commit.index, commit.commitment),
        (U256::from(5u8), U256::from(1u8), expected)
    );
    assert!(round.run_id.is_some());

    // Reveals not open yet: nothing more.
    step(&s).await;
    assert!(s.chain.sent_with("/reveal").is_none());

    // Everyone committed: reveal with the stored answer and salt.
    s.service
        .apply_log(&log(
            &Market::RevealOpened {
                roundId: U256::from(5u8),
                revealDeadline: T0 + 40,
            },
            4,
        ))
        .await
        .unwrap();
    s.chain.view.lock().unwrap().revealOpen = true;
    step(&s).await;
    let reveal =
        Market::revealCall::abi_decode(&s.chain.sent_with("/round/5/reveal").unwrap().1).unwrap();
    assert_eq!(
        (reveal.answer, reveal.salt),
        (I256::try_from(200).unwrap(), salt)
    );
    assert_eq!(
        s.store
            .sla_round(&hex_addr(MARKET), "5")
            .await
            .unwrap()
            .unwrap()
            .state,
        SlaRoundState::Revealed
    );

    // After the reveal deadline a round still open is closed; a revert means someone else did.
    s.chain.set_now(T0 + 61);
    s.chain.view.lock().unwrap().revealDeadline = T0 + 40;
    s.chain
        .reverting
        .lock()
        .unwrap()
        .insert(Market::closeRoundCall::SELECTOR);
    step(&s).await;
    assert!(s.chain.sent_with("/close").is_none());
    s.chain.reverting.lock().unwrap().clear();
    step(&s).await;
    step(&s).await;
    assert_eq!(
        s.chain
            .sent_keys()
            .iter()
            .filter(|k| k.ends_with("/close"))
            .count(),
        1
    );

    // The result.
    s.service
        .apply_log(&log(
            &Market::RoundAnswered {
                slaId: sla,
                roundId: U256::from(5u8),
                answer: I256::try_from(199).unwrap(),
                acceptedMask: U256::from(0b10u8),
            },
            5,
        ))
        .await
        .unwrap();
    s.service
        .apply_log(&log(
            &Market::OraclePaid {
                roundId: U256::from(5u8),
                oracle: ME,
                amount: U256::from(100u8),
            },
            5,
        ))
        .await
        .unwrap();
    let round = s
        .store
        .sla_round(&hex_addr(MARKET), "5")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (round.round_status, round.accepted),
        (RoundStatus::Answered, Some(true))
    );
    assert_eq!(
        (round.aggregate.as_deref(), round.paid.as_deref()),
        (Some("199"), Some("100"))
    );
    let row = s.store.sla(&hex_addr(MARKET), "1").await.unwrap().unwrap();
    assert_eq!(row.last_answer.as_deref(), Some("199"));
    s.service
        .apply_log(&log(
            &Market::SlaEnded {
                slaId: sla,
                refund: U256::ZERO,
            },
            6,
        ))
        .await
        .unwrap();
    assert_eq!(
        s.store
            .sla(&hex_addr(MARKET), "1")
            .await
            .unwrap()
            .unwrap()
            .state,
        SlaState::Ended
    );
}

#[tokio::test]
async fn a_restarted_node_reveals_what_it_committed() {
    let s = setup(SlaFaultConfig::default()).await;
    selected_with_round(&s).await;
    step(&s).await;
    let before = s
        .store
        .sla_round(&hex_addr(MARKET), "5")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.state, SlaRoundState::Committed);

    // A new process: same store, fresh service; the chain says reveals are open.
    let chain = FakeChain::new();
    chain.set_now(T0 + 31);
    chain.view.lock().unwrap().revealOpen = true;
    // (The commit is known to the transaction manager.)
    chain.states.lock().unwrap().insert(
        format!("sla/{}/round/5/commit", hex_addr(MARKET)),
        SentTx::Confirmed,
    );
    let service = service_on(
        &s.store,
        &s.registry,
        chain.clone(),
        SlaFaultConfig::default(),
    );
    assert_eq!(service.resume().await.unwrap(), 1);
    service.tick().await.unwrap();
    service.idle().await;
    let reveal =
        Market::revealCall::abi_decode(&chain.sent_with("/round/5/reveal").unwrap().1).unwrap();
    assert_eq!(reveal.answer.to_string(), before.answer.unwrap());
    assert_eq!(format!("{:#x}", reveal.salt), before.salt.unwrap());
    // No second commit.
    assert!(chain.sent_with("/commit").is_none());
}

#[tokio::test]
async fn a_round_stored_as_committing_is_committed_after_a_restart() {
    let s = setup(SlaFaultConfig::default()).await;
    selected_with_round(&s).await;
    let round = s
        .store
        .sla_round(&hex_addr(MARKET), "5")
        .await
        .unwrap()
        .unwrap();
    let c = format!("{:#x}", B256::repeat_byte(0x42));
    assert!(
        s.store
            .store_sla_commitment(
                round.id,
                Some("7"),
                Some(&format!("{:#x}", B256::repeat_byte(1))),
                &c,
                None,
                None
            )
            .await
            .unwrap()
    );
    step(&s).await;
    let commit =
        Market::commitCall::abi_decode(&s.chain.sent_with("/round/5/commit").unwrap().1).unwrap();
    assert_eq!(format!("{:#x}", commit.commitment), c);
}

#[tokio::test]
async fn missed_deadlines_and_reverted_commits_end_our_part() {
    let s = setup(SlaFaultConfig::default()).await;
    selected_with_round(&s).await;
    s.chain.set_now(T0 + 31);
    step(&s).await;
    let round = s
        .store
        .sla_round(&hex_addr(MARKET), "5")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(round.state, SlaRoundState::Missed);
    assert!(s.chain.sent_with("/commit").is_none());

    let s = setup(SlaFaultConfig::default()).await;
    selected_with_round(&s).await;
    step(&s).await;
    s.chain.states.lock().unwrap().insert(
        format!("sla/{}/round/5/commit", hex_addr(MARKET)),
        SentTx::Reverted,
    );
    step(&s).await;
    let round = s
        .store
        .sla_round(&hex_addr(MARKET), "5")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(round.state, SlaRoundState::Errored);
    assert!(round.reason.unwrap().contains("reverted"));
}

#[tokio::test]
async fn finalize_is_sent_once_after_bidding_and_losing_the_race_is_fine() {
    let s = setup(SlaFaultConfig::default()).await;
    s.service
        .apply_log(&log(
            &Market::SlaProposed {
                slaId: U256::from(1u8),
                purchaser: OTHER,
                specId: terms(1).specId,
                terms: terms(1),
            },
            1,
        ))
        .await
        .unwrap();
    step(&s).await;
    assert!(
        s.chain.sent_with("/finalize").is_none(),
        "not before biddingEnds"
    );
    s.chain.set_now(T0 + 11);
    s.chain
        .reverting
        .lock()
        .unwrap()
        .insert(Market::finalizeCall::SELECTOR);
    step(&s).await;
    assert!(
        s.chain.sent_with("/finalize").is_none(),
        "would revert: someone finalized"
    );
    s.chain.reverting.lock().unwrap().clear();
    step(&s).await;
    step(&s).await;
    assert_eq!(
        s.chain
            .sent_keys()
            .iter()
            .filter(|k| k.ends_with("/finalize"))
            .count(),
        1
    );
    // Not selected.
    s.service
        .apply_log(&log(
            &Market::SlaFinalized {
                slaId: U256::from(1u8),
                oracles: vec![OTHER],
            },
            2,
        ))
        .await
        .unwrap();
    assert_eq!(
        s.store
            .sla(&hex_addr(MARKET), "1")
            .await
            .unwrap()
            .unwrap()
            .state,
        SlaState::NotSelected
    );
}

#[tokio::test]
async fn proposals_outside_the_policy_are_skipped_with_a_reason() {
    let s = setup(SlaFaultConfig::default()).await;
    s.chain.set_now(T0 + 10); // bidding already closed
    s.service
        .apply_log(&log(
            &Market::SlaProposed {
                slaId: U256::from(1u8),
                purchaser: OTHER,
                specId: terms(1).specId,
                terms: terms(1),
            },
            1,
        ))
        .await
        .unwrap();
    step(&s).await;
    let row = s.store.sla(&hex_addr(MARKET), "1").await.unwrap().unwrap();
    assert_eq!(row.state, SlaState::Skipped);
    assert!(row.reason.unwrap().contains("bidding closed"));
    assert!(s.chain.sent_keys().is_empty());
}

#[tokio::test]
async fn skip_reveal_commits_and_goes_silent() {
    let s = setup(SlaFaultConfig {
        skip_reveal: true,
        copy_commitment: false,
    })
    .await;
    selected_with_round(&s).await;
    step(&s).await;
    assert!(s.chain.sent_with("/commit").is_some());
    s.chain.view.lock().unwrap().revealOpen = true;
    s.service
        .apply_log(&log(
            &Market::RevealOpened {
                roundId: U256::from(5u8),
                revealDeadline: T0 + 40,
            },
            4,
        ))
        .await
        .unwrap();
    step(&s).await;
    assert!(s.chain.sent_with("/reveal").is_none());
}

#[tokio::test]
async fn a_freeloader_copies_a_commitment_and_reveals_the_copied_answer() {
    let s = setup(SlaFaultConfig {
        skip_reveal: false,
        copy_commitment: true,
    })
    .await;
    selected_with_round(&s).await;
    step(&s).await;
    assert!(
        s.chain.sent_with("/commit").is_none(),
        "no pipeline, nothing to commit yet"
    );

    // The other oracle commits; its transaction's calldata holds the commitment.
    let theirs = B256::repeat_byte(0x5e);
    let commit_tx = B256::repeat_byte(0x21);
    s.chain.inputs.lock().unwrap().insert(
        commit_tx,
        Market::commitCall {
            roundId: U256::from(5u8),
            index: U256::ZERO,
            commitment: theirs,
        }
        .abi_encode()
        .into(),
    );
    s.service
        .apply_log(&log(
            &Market::Committed {
                roundId: U256::from(5u8),
                oracle: OTHER,
            },
            0x21,
        ))
        .await
        .unwrap();
    step(&s).await;
    let commit = Market::commitCall::abi_decode(&s.chain.sent_with("/commit").unwrap().1).unwrap();
    assert_eq!((commit.commitment, commit.index), (theirs, U256::from(1u8)));

    // It reveals; the freeloader sends the same answer and salt (the market will refuse it).
    let reveal_tx = B256::repeat_byte(0x22);
    let salt = B256::repeat_byte(0x99);
    s.chain.inputs.lock().unwrap().insert(
        reveal_tx,
        Market::revealCall {
            roundId: U256::from(5u8),
            index: U256::ZERO,
            answer: I256::try_from(314).unwrap(),
            salt,
        }
        .abi_encode()
        .into(),
    );
    s.chain.view.lock().unwrap().revealOpen = true;
    s.service
        .apply_log(&log(
            &Market::RevealOpened {
                roundId: U256::from(5u8),
                revealDeadline: T0 + 40,
            },
            4,
        ))
        .await
        .unwrap();
    s.service
        .apply_log(&log(
            &Market::Revealed {
                roundId: U256::from(5u8),
                oracle: OTHER,
                answer: I256::try_from(314).unwrap(),
            },
            0x22,
        ))
        .await
        .unwrap();
    step(&s).await;
    let reveal = Market::revealCall::abi_decode(&s.chain.sent_with("/reveal").unwrap().1).unwrap();
    assert_eq!(
        (reveal.answer, reveal.salt),
        (I256::try_from(314).unwrap(), salt)
    );
    let round = s
        .store
        .sla_round(&hex_addr(MARKET), "5")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(round.copied_from.as_deref(), Some(hex_addr(OTHER).as_str()));
    // The reveal reverts on chain: the round records it.
    s.chain.states.lock().unwrap().insert(
        format!("sla/{}/round/5/reveal", hex_addr(MARKET)),
        SentTx::Reverted,
    );
    step(&s).await;
    assert_eq!(
        s.store
            .sla_round(&hex_addr(MARKET), "5")
            .await
            .unwrap()
            .unwrap()
            .state,
        SlaRoundState::Errored
    );
}

#[tokio::test]
async fn feeds_start_rounds_on_deviation() {
    let s = setup(SlaFaultConfig::default()).await;
    // A feed (3 rounds) with a poll interval.
    let spec_text = SPEC.replace(
        "observationSource",
        "pollInterval = \"1s\"\nobservationSource",
    );
    let job = s.registry.jobs().into_iter().next().unwrap();
    s.registry.insert(LoadedJob {
        row: job.row.clone(),
        spec: orakel_pipeline::parse_job_spec(&spec_text, "sla.toml").unwrap(),
    });
    let sla = U256::from(1u8);
    s.service
        .apply_log(&log(
            &Market::SlaProposed {
                slaId: sla,
                purchaser: OTHER,
                specId: terms(3).specId,
                terms: terms(3),
            },
            1,
        ))
        .await
        .unwrap();
    step(&s).await;
    s.service
        .apply_log(&log(
            &Market::SlaFinalized {
                slaId: sla,
                oracles: vec![ME, OTHER],
            },
            2,
        ))
        .await
        .unwrap();
    // The last answer was 200, the pipeline says 200: no deviation.
    let row = s.store.sla(&hex_addr(MARKET), "1").await.unwrap().unwrap();
    s.store.set_sla_last_answer(row.id, "200").await.unwrap();
    s.chain.set_now(T0 + 31); // the latest round's commit phase is over
    step(&s).await;
    assert!(s.chain.sent_with("start-after/5").is_none());
    // The last answer was 150: 33% off, start a round (once).
    s.store.set_sla_last_answer(row.id, "150").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    step(&s).await;
    let (to, data) = s.chain.sent_with("start-after/5").unwrap();
    assert_eq!(to, MARKET);
    assert_eq!(
        Market::startRoundCall::abi_decode(&data).unwrap().slaId,
        sla
    );
}

/// The TOML blocks after each `<!-- sla-spec-example -->` marker of a doc page.
fn spec_examples(page: &str) -> Vec<(usize, String)> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(page);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if !line.starts_with("<!-- sla-spec-example") {
            continue;
        }
        let (_, fence) = lines.next().unwrap();
        assert_eq!(fence, "```toml", "{page}:{}", n + 2);
        let block: Vec<&str> = lines
            .by_ref()
            .map(|(_, l)| l)
            .take_while(|l| *l != "```")
            .collect();
        out.push((n + 3, block.join("\n") + "\n"));
    }
    out
}

#[test]
fn the_documented_sla_specs_parse() {
    let mut seen = 0;
    for page in ["sla.md", "operating-a-node.md"] {
        for (line, toml) in spec_examples(page) {
            let spec = orakel_pipeline::parse_job_spec(&toml, &format!("docs/{page}:{line}"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(spec.job_type, JobType::Sla);
            assert!(
                spec.warnings.is_empty(),
                "docs/{page}:{line}: {:?}",
                spec.warnings
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 2);
}

#[test]
fn the_documented_sla_config_parses() {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/sla.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut blocks = text
        .split("```toml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap_or(""));
    let _spec = blocks.next();
    let sla = blocks.next().unwrap();
    let fault = blocks.next().unwrap();
    let base = "[chain]\nrpc_urls = [\"http://127.0.0.1:8545\"]\nchain_id = 31337\n";
    let cfg = crate::NodeConfig::parse(
        &format!("{base}{sla}{fault}"),
        std::path::Path::new("docs/sla.md"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(cfg.sla.enabled && cfg.sla.fault.skip_reveal && cfg.sla.fault.copy_commitment);
    assert_eq!(cfg.sla.max_concurrent_slas, 4);
    cfg.validate().unwrap();
}
