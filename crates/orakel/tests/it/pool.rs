//! Staking pool end to end (issue 5, ADR 0006): stakers back two pool nodes, both win an SLA
//! on the real market; the honest one answers, is paid and its stakers share the payment;
//! the other claims an answer it did not compute (it copies another oracle's commitment), is
//! slashed, and its stakers lose the deposit in proportion to their stakes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use orakel_contracts::deploy::{self, ONE_LINK};
use orakel_contracts::pool;
use orakel_contracts::staking::LinkPool;
use orakel_devnet::sla::{
    self, AggregatorChoice, POOL_OPERATOR_FEE_BPS, POOL_OWNERS_BPS, SlaDevnetConfig, SlaNodeSetup,
    SlaOrder, SlaRole,
};
use orakel_devnet::{Devnet, DevnetConfig};

use crate::harness::TestNet;

fn link(n: u64) -> U256 {
    ONE_LINK * U256::from(n)
}

/// |a - b| ≤ 1 juel: the accumulator and share maths round down once.
fn assert_juel_close(actual: U256, expected: U256, what: &str) {
    let diff = if actual > expected {
        actual - expected
    } else {
        expected - actual
    };
    assert!(
        diff <= U256::from(1u8) && actual <= expected,
        "{what}: {actual} juels, expected {expected} (rounded down by at most 1)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_nodes_earn_for_their_stakers_and_a_slash_hits_them_proportionally() {
    let t0 = Instant::now();
    assert!(
        orakel_contracts::anvil::locate().is_some(),
        "anvil not found: run `make setup` (or set ORAKEL_ANVIL)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let sla_cfg = SlaDevnetConfig {
        nodes: vec![
            SlaNodeSetup::pool(SlaRole::Honest),
            SlaNodeSetup::from(SlaRole::Honest),
            SlaNodeSetup::pool(SlaRole::Freeloader),
        ],
        ..SlaDevnetConfig::with_roles(&[])
    };
    let mut cfg = DevnetConfig::sla(
        dir.path().join("devnet"),
        PathBuf::from(env!("CARGO_BIN_EXE_orakel")),
        sla_cfg,
    );
    cfg.poll_interval = Duration::from_millis(100);
    // One simulator tick for the whole test: honest oracles answer the same, so the median
    // accepts (and pays) both.
    cfg.sim.tick = Duration::from_secs(3600);
    let devnet = Devnet::start(cfg, |l| eprintln!("{l}"))
        .await
        .expect("SLA devnet with pool nodes starts");
    let net = TestNet::new(devnet, dir);
    let stack = net
        .sla_network()
        .unwrap()
        .pool
        .expect("the devnet deployed a pool");
    let honest = net.nodes[0].pool_node.expect("node-0 is a pool node");
    let liar = net.nodes[2].pool_node.expect("node-2 is a pool node");
    assert!(net.nodes[1].pool_node.is_none());

    // Uneven stakes: 30 + 10 LINK behind the honest node, 25 + 15 behind the liar.
    // The devnet's provider signs for the deployer only; stakers are anvil's unlocked accounts.
    let unlocked = ProviderBuilder::new().connect_http(net.rpc_url.parse().unwrap());
    let accounts = unlocked.get_accounts().await.unwrap();
    let (alice, bob, carol, dave) = (accounts[5], accounts[6], accounts[7], accounts[8]);
    for (staker, node, amount) in [
        (alice, honest, link(30)),
        (bob, honest, link(10)),
        (carol, liar, link(25)),
        (dave, liar, link(15)),
    ] {
        deploy::transfer_link(&net.provider, net.deployer, net.link, staker, amount)
            .await
            .unwrap();
        pool::stake(&unlocked, staker, net.link, node, amount)
            .await
            .unwrap();
    }
    let link_pool = LinkPool::new(stack.link_pool, &net.provider);
    assert_eq!(
        link_pool.totalStaked(honest).call().await.unwrap(),
        link(40)
    );
    assert_eq!(link_pool.totalStaked(liar).call().await.unwrap(), link(40));

    let mut order = SlaOrder::one_shot(3);
    order.min_responses = 2;
    order.aggregator = AggregatorChoice::Median;
    let report = sla::run_scenario(&net, &order, |l| eprintln!("{l}"))
        .await
        .expect("the SLA runs");
    for line in sla::summary_lines(&report) {
        eprintln!("{line}");
    }
    let deposit = U256::from(report.opened.terms.penaltyDeposit);
    let pay = U256::from(report.opened.terms.paymentPerOracle);
    assert!(report.answer.is_some(), "the round was answered");

    // The market saw the pool nodes themselves as oracles.
    let by_address = |a: Address| {
        report
            .oracles
            .iter()
            .find(|o| o.address == a)
            .unwrap_or_else(|| panic!("{a:#x} was not selected: {:?}", report.oracles))
    };
    let h = by_address(honest);
    assert!(h.accepted, "{h:?}");
    assert_eq!(h.paid, Some(pay), "{h:?}");
    assert!(h.slashed.is_none(), "{h:?}");
    let l = by_address(liar);
    assert_eq!(l.role, SlaRole::Freeloader);
    assert!(l.committed && l.revealed.is_none(), "{l:?}");
    assert_eq!(l.slashed, Some(deposit), "{l:?}");
    let plain = by_address(net.nodes[1].process.address);
    assert_eq!(plain.paid, Some(pay), "{plain:?}");

    // The nodes collect, settle their deposits with the pool and distribute.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (hi, li) = loop {
        let hi = link_pool.nodeInfo(honest).call().await.unwrap();
        let li = link_pool.nodeInfo(liar).call().await.unwrap();
        let settled = hi.locked.is_zero()
            && li.locked.is_zero()
            && hi.totalDistributed == pay
            && li.totalSlashed == deposit;
        if settled {
            break (hi, li);
        }
        assert!(
            Instant::now() < deadline,
            "deposits not settled with the pool within 60 s: honest {hi:?}, liar {li:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let market_address = net.sla_network().unwrap().stack.market;
    let market = orakel_contracts::SlaMarket::new(market_address, &net.provider);
    assert!(
        market.withdrawable(honest).call().await.unwrap().is_zero(),
        "the honest pool node collected its payment and deposit"
    );

    // Honest node: the stake is whole, the payment is split fee / owners / stakers 3:1.
    assert_eq!(hi.totalStaked, link(40));
    assert_eq!(
        link_pool.stakeOf(honest, alice).call().await.unwrap(),
        link(30)
    );
    assert_eq!(
        link_pool.stakeOf(honest, bob).call().await.unwrap(),
        link(10)
    );
    let fee = pay * U256::from(POOL_OPERATOR_FEE_BPS) / U256::from(10_000u64);
    let owners = pay * U256::from(POOL_OWNERS_BPS) / U256::from(10_000u64);
    let stakers = pay - fee - owners;
    assert_eq!(hi.operatorOwed, fee);
    assert_eq!(hi.ownersOwed, owners);
    let alice_rewards = link_pool.rewardsOf(honest, alice).call().await.unwrap();
    let bob_rewards = link_pool.rewardsOf(honest, bob).call().await.unwrap();
    assert_juel_close(
        alice_rewards,
        stakers * U256::from(3u8) / U256::from(4u8),
        "alice",
    );
    assert_juel_close(bob_rewards, stakers / U256::from(4u8), "bob");
    assert!(alice_rewards + bob_rewards <= stakers);
    assert_eq!(
        hi.balance,
        link(40) + pay,
        "the node holds the stake and the payment"
    );

    // Lying node: the 5 LINK deposit is gone, each staker lost the same fraction.
    assert_eq!(li.totalStaked, link(40) - deposit);
    assert_eq!(li.totalDistributed, U256::ZERO, "nothing earned");
    assert_eq!(li.balance, link(40) - deposit);
    let carol_stake = link_pool.stakeOf(liar, carol).call().await.unwrap();
    let dave_stake = link_pool.stakeOf(liar, dave).call().await.unwrap();
    assert_juel_close(
        carol_stake,
        (link(40) - deposit) * U256::from(25u8) / U256::from(40u8),
        "carol",
    );
    assert_juel_close(
        dave_stake,
        (link(40) - deposit) * U256::from(15u8) / U256::from(40u8),
        "dave",
    );
    assert!(
        link_pool
            .rewardsOf(liar, carol)
            .call()
            .await
            .unwrap()
            .is_zero()
    );

    // A staker of the honest node leaves with stake and rewards.
    let before = orakel_contracts::LinkToken::new(net.link, &net.provider)
        .balanceOf(bob)
        .call()
        .await
        .unwrap();
    let node_logic = orakel_contracts::staking::Node::new(stack.node_logic, &unlocked);
    let receipt = node_logic
        .withdrawAll(honest)
        .from(bob)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    let after = orakel_contracts::LinkToken::new(net.link, &net.provider)
        .balanceOf(bob)
        .call()
        .await
        .unwrap();
    assert_eq!(after - before, link(10) + bob_rewards);
    eprintln!("total {:.1} s", t0.elapsed().as_secs_f64());
    net.devnet.shutdown().await;
}
