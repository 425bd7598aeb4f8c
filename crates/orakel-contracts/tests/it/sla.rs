//! The SLA stack on a real anvil: the deploy helpers wire it, the Rust commitment equals the
//! market's `commitmentOf`, and one full one-oracle round through an `SlaFeed` (bid, finalize,
//! commit with the Rust commitment, reveal, answer in the feed) works with the bindings.

use alloy::primitives::aliases::{U80, U96};
use alloy::primitives::{Address, B256, I256, U256, keccak256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::sol_types::{SolCall, SolEvent};
use orakel_contracts::deploy::{self, ONE_LINK};
use orakel_contracts::sla::{self, Market, SlaTerms, round_status, sla_status};
use orakel_contracts::{LinkToken, Reputation, SlaFeed, SlaMarket, TrimmedMeanAggregator};

use orakel_contracts::anvil::AnvilProcess;

use crate::TestResult;

fn terms(stack: &deploy::SlaStack, bidding_ends: u64, aggregator: Address) -> SlaTerms {
    SlaTerms {
        specId: keccak256("orakel/spec/sla-eth-usd"),
        jobType: keccak256("price:ETH/USD"),
        params: Default::default(),
        oracles: 1,
        minResponses: 1,
        minReputation: 0,
        // 2 LINK deposit, 0.1 LINK per round.
        penaltyDeposit: U96::from(2_000_000_000_000_000_000u128),
        paymentPerOracle: U96::from(100_000_000_000_000_000u128),
        rounds: 1,
        biddingEnds: bidding_ends,
        commitWindow: 60,
        revealWindow: 60,
        heartbeat: 0,
        deviationBps: 0,
        aggregator,
        reputation: stack.reputation,
        callback: Address::ZERO,
        callbackSelector: Default::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_stack_commitment_and_one_round_on_anvil() -> TestResult {
    let anvil = AnvilProcess::start(&[]).await?;
    let provider = ProviderBuilder::new().connect_http(anvil.url().parse()?);
    let accounts = provider.get_accounts().await?;
    let (owner, oracle) = (accounts[0], accounts[1]);

    let link = deploy::deploy_link_token(&provider, owner, owner).await?;
    let stack = deploy::deploy_sla_stack(&provider, owner, link).await?;
    let market = SlaMarket::new(stack.market, &provider);
    let reputation = Reputation::new(stack.reputation, &provider);
    assert_eq!(market.linkToken().call().await?, link);
    assert!(reputation.isWriter(stack.market).call().await?);
    assert_eq!(
        TrimmedMeanAggregator::new(stack.trimmed_mean, &provider)
            .k()
            .call()
            .await?,
        U256::from(1u64)
    );
    let job_type = keccak256("price:ETH/USD");
    assert_eq!(
        reputation.score_1(oracle, job_type).call().await?,
        U256::from(5000u64),
        "a newcomer scores 5000"
    );

    // The Rust commitment is the contract's, for any round, oracle, sign of answer and salt.
    let cases = [
        (
            U256::from(1u64),
            oracle,
            I256::try_from(3_000_000_000_000i64)?,
            B256::repeat_byte(0x5a),
        ),
        (
            U256::from(7u64),
            owner,
            I256::try_from(-42i64)?,
            keccak256("salt"),
        ),
        (U256::MAX, Address::repeat_byte(0xee), I256::MIN, B256::ZERO),
        (
            U256::ZERO,
            Address::ZERO,
            I256::MAX,
            B256::repeat_byte(0xff),
        ),
    ];
    for (round, who, answer, salt) in cases {
        assert_eq!(
            market.commitmentOf(round, who, answer, salt).call().await?,
            sla::commitment_of(stack.market, round, who, answer, salt),
            "round {round}, oracle {who}, answer {answer}"
        );
    }

    // One full round through a feed: the feed proposes, the oracle bids, anyone finalizes.
    let feed_address =
        deploy::deploy_sla_feed(&provider, owner, link, stack.market, 8, "ETH / USD").await?;
    let feed = SlaFeed::new(feed_address, &provider);
    let now = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .expect("latest block")
        .header
        .timestamp;
    let t = terms(&stack, now + 30, stack.median);
    let opened = deploy::fund_and_open_sla_feed(&provider, owner, link, feed_address, &t).await?;
    assert_eq!(opened.sla_id, U256::from(1u64));
    assert_eq!(market.slaCount().call().await?, U256::from(1u64));
    let view = market.slaOf(opened.sla_id).call().await?;
    assert_eq!(view.purchaser, feed_address);
    assert_eq!(view.status, sla_status::BIDDING);
    assert_eq!(
        view.terms.callback, feed_address,
        "the feed is the callback"
    );

    deploy::transfer_link(&provider, owner, link, oracle, ONE_LINK * U256::from(10u64)).await?;
    let bid = Market::bidCall::new((opened.sla_id,)).abi_encode();
    let receipt = LinkToken::new(link, &provider)
        .transferAndCall(stack.market, U256::from(t.penaltyDeposit), bid.into())
        .from(oracle)
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status(), "bid accepted");

    provider
        .raw_request::<_, serde_json::Value>("evm_increaseTime".into(), (31u64,))
        .await?;
    let receipt = market
        .finalize(opened.sla_id)
        .from(owner)
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status(), "finalized");
    let started = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| l.log_decode::<Market::RoundStarted>().ok())
        .expect("RoundStarted");
    let round = started.inner.data.roundId;
    assert_eq!(market.oraclesOf(opened.sla_id).call().await?, vec![oracle]);

    // Commit with the commitment computed in Rust; reveal; the round answers into the feed.
    let answer = I256::try_from(312_345_678_901i64)?;
    let salt = keccak256("a random salt");
    let commitment = sla::commitment_of(stack.market, round, oracle, answer, salt);
    let receipt = market
        .commit(round, U256::ZERO, commitment)
        .from(oracle)
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status(), "commit accepted");
    assert!(
        receipt
            .inner
            .logs()
            .iter()
            .any(|l| l.topic0() == Some(&Market::RevealOpened::SIGNATURE_HASH)),
        "the only oracle committed: reveals open"
    );
    let receipt = market
        .reveal(round, U256::ZERO, answer, salt)
        .from(oracle)
        .gas(3_000_000)
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status(), "reveal matches the Rust commitment");
    let answered = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| l.log_decode::<Market::RoundAnswered>().ok())
        .expect("RoundAnswered");
    assert_eq!(answered.inner.data.answer, answer);
    assert_eq!(answered.inner.data.acceptedMask, U256::from(1u64));
    assert_eq!(
        market.roundOf(round).call().await?.status,
        round_status::ANSWERED
    );
    let latest = feed.latestRoundData().call().await?;
    assert_eq!(latest.answer, answer);
    assert_eq!(latest.roundId, U80::from(1u64));
    assert_eq!(feed.currentSlaId().call().await?, opened.sla_id);
    // Paid: payment plus the returned deposit (the single round was the last one).
    assert_eq!(
        market.withdrawable(oracle).call().await?,
        U256::from(t.paymentPerOracle) + U256::from(t.penaltyDeposit)
    );
    let record = reputation.recordOf(oracle, job_type).call().await?;
    assert_eq!(
        (record.assigned, record.completed, record.accepted),
        (1, 1, 1)
    );
    assert!(reputation.score_1(oracle, job_type).call().await? > U256::from(5000u64));
    Ok(())
}
