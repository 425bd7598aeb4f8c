//! SLA market end to end: the real contracts on anvil, orakel nodes as separate processes
//! bidding, committing and revealing, an `SlaFeed` as purchaser.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use alloy::primitives::{I256, U256};
use orakel_contracts::SlaMarket;
use orakel_contracts::sla::Market;
use orakel_devnet::sla::{
    self, AggregatorChoice, SlaDevnetConfig, SlaNodeSetup, SlaOrder, SlaRole, find_event,
};
use orakel_devnet::{Devnet, DevnetConfig};

use crate::harness::TestNet;

async fn start_sla(sla_cfg: SlaDevnetConfig, tune: impl FnOnce(&mut DevnetConfig)) -> TestNet {
    assert!(
        orakel_contracts::anvil::locate().is_some(),
        "anvil not found: run `make setup` (or set ORAKEL_ANVIL)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = DevnetConfig::sla(
        dir.path().join("devnet"),
        PathBuf::from(env!("CARGO_BIN_EXE_orakel")),
        sla_cfg,
    );
    cfg.poll_interval = Duration::from_millis(100);
    tune(&mut cfg);
    let devnet = Devnet::start(cfg, |l| eprintln!("{l}"))
        .await
        .expect("SLA devnet starts");
    TestNet::new(devnet, dir)
}

/// Seven oracles, one one-shot SLA: 3 honest, a far and a slight liar, a silent oracle and a
/// freeloader. The trimmed mean (k = 1) delivers an answer within the honest answers, the
/// liars are revealed but rejected and unpaid, the silent and the freeloader are slashed, the
/// honest are paid, and reputation records all of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seven_oracles_honest_liars_silent_freeloader() {
    let t0 = Instant::now();
    let net = start_sla(SlaDevnetConfig::scenario(), |_| {}).await;
    eprintln!("devnet up after {:.1} s", t0.elapsed().as_secs_f64());
    let order = SlaOrder::one_shot(7);
    let from = net.block_number().await.unwrap();
    let report = sla::run_scenario(&net, &order, |l| eprintln!("{l}"))
        .await
        .expect("the scenario runs");
    for line in sla::summary_lines(&report) {
        eprintln!("{line}");
    }
    eprintln!(
        "scenario done after {:.1} s (round {:.1} s from opening)",
        t0.elapsed().as_secs_f64(),
        report.elapsed.as_secs_f64()
    );

    assert_eq!(report.oracles.len(), 7, "all seven selected");
    let answer = report.answer.expect("the round was answered");
    let (lo, hi) = report.honest_range.expect("honest oracles revealed");
    assert!(
        lo <= answer && answer <= hi,
        "answer {answer} outside the honest range {lo}..{hi}"
    );
    assert_eq!(
        report.feed_answer,
        Some(answer),
        "the feed's latestRoundData"
    );
    // The RoundAnswered event carries it too.
    let logs = net.market_logs(from).await.unwrap();
    let answered = find_event::<Market::RoundAnswered>(&logs, |e| e.roundId == report.round_id)
        .expect("RoundAnswered");
    assert_eq!(answered.answer, answer);
    assert_eq!(answered.slaId, report.opened.sla.sla_id);

    let deposit = U256::from(report.opened.terms.penaltyDeposit);
    let pay = U256::from(report.opened.terms.paymentPerOracle);
    let reputation = orakel_contracts::Reputation::new(
        net.sla_network().unwrap().stack.reputation,
        &net.provider,
    );
    let job_type = net.sla_network().unwrap().job_type;
    for o in &report.oracles {
        let accepted_bit = answered.acceptedMask.bit(o.index);
        assert_eq!(accepted_bit, o.accepted);
        let record = reputation
            .recordOf(o.address, job_type)
            .call()
            .await
            .unwrap();
        assert_eq!(record.assigned, 1, "{o:?}");
        assert_eq!(o.score_before, U256::from(5000u64), "newcomers score 5000");
        match o.role {
            SlaRole::Honest => {
                assert!(o.accepted, "honest accepted: {o:?}");
                assert_eq!(o.paid, Some(pay), "{o:?}");
                assert!(o.slashed.is_none(), "{o:?}");
                assert_eq!(o.withdrawable, pay + deposit, "payment + deposit back");
                assert_eq!((record.completed, record.accepted), (1, 1));
                assert!(o.score_after > o.score_before, "{o:?}");
            }
            SlaRole::FarLiar | SlaRole::SlightLiar => {
                let revealed = o.revealed.expect("liars reveal");
                assert!(
                    revealed < lo || revealed > hi,
                    "a lie lies outside the honest range"
                );
                assert!(!o.accepted, "liar not in the accepted mask: {o:?}");
                assert!(o.paid.is_none() && o.slashed.is_none(), "{o:?}");
                assert_eq!(o.withdrawable, deposit, "deposit back, no payment");
                assert_eq!((record.completed, record.accepted), (1, 0));
                assert!(o.score_after < o.score_before, "{o:?}");
            }
            SlaRole::Silent | SlaRole::Freeloader => {
                assert!(o.revealed.is_none(), "no valid reveal: {o:?}");
                assert_eq!(o.slashed, Some(deposit), "OracleSlashed: {o:?}");
                assert!(o.paid.is_none(), "{o:?}");
                assert!(o.withdrawable.is_zero(), "{o:?}");
                assert_eq!((record.completed, record.accepted), (0, 0));
                assert_eq!(U256::from(record.penalties), deposit);
                assert!(o.score_after < o.score_before, "{o:?}");
            }
        }
    }
    // The silent oracle committed; the freeloader's reveal reverted (it copied a commitment).
    let silent = report
        .oracles
        .iter()
        .find(|o| o.role == SlaRole::Silent)
        .unwrap();
    assert!(silent.committed);
    // The purchaser got both forfeited deposits and the unspent payment of the 4 rejected or
    // missing answers.
    assert_eq!(
        report.purchaser_credit,
        deposit * U256::from(2u64) + pay * U256::from(4u64)
    );
    assert!(report.success(), "{:?}", report.checks());

    // The node side saw it too: an honest node's round is answered, accepted and paid.
    let honest = report
        .oracles
        .iter()
        .find(|o| o.role == SlaRole::Honest)
        .unwrap();
    let path = format!("/v2/sla/{}/rounds", report.opened.sla.sla_id);
    let body = crate::harness::api_until(&net, honest.node, &path, Duration::from_secs(20), |b| {
        b.to_string().contains("answered")
    })
    .await;
    let round = &body["rounds"][0];
    assert_eq!(round["accepted"], true, "{body}");
    assert_eq!(round["paid"], pay.to_string(), "{body}");
    // The freeloader's node recorded whose commitment it copied.
    let freeloader = report
        .oracles
        .iter()
        .find(|o| o.role == SlaRole::Freeloader)
        .unwrap();
    let body =
        crate::harness::api_until(&net, freeloader.node, &path, Duration::from_secs(20), |b| {
            b["rounds"][0]["slashed"].is_string()
        })
        .await;
    let copied = body["rounds"][0]["copied_from"]
        .as_str()
        .unwrap_or_default();
    assert!(
        report
            .oracles
            .iter()
            .any(|o| format!("{:#x}", o.address) == copied && o.address != freeloader.address),
        "copied another selected oracle's commitment: {body}"
    );
    eprintln!(
        "freeloader copied {copied}; its round: {}",
        body["rounds"][0]["state"]
    );
    eprintln!("total {:.1} s", t0.elapsed().as_secs_f64());
    net.devnet.shutdown().await;
}

/// A node killed (SIGKILL) right after its commit was mined, while reveals are not open yet,
/// reveals after a restart and is paid. The other two oracles' pipelines wait 4 s, so the
/// victim commits first and reveals open only once they commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_killed_after_commit_reveals_after_restart() {
    let t0 = Instant::now();
    let mut sla_cfg = SlaDevnetConfig::with_roles(&[SlaRole::Honest; 3]);
    for n in &mut sla_cfg.nodes[1..] {
        *n = SlaNodeSetup {
            pipeline_delay: Some(Duration::from_secs(4)),
            ..SlaNodeSetup::from(SlaRole::Honest)
        };
    }
    // One simulator tick for the whole test: every oracle answers the same, so the median
    // accepts (and pays) all three.
    let mut net = start_sla(sla_cfg, |cfg| cfg.sim.tick = Duration::from_secs(3600)).await;
    let victim = net.nodes[0].process.address;
    let mut order = SlaOrder::one_shot(3);
    order.min_responses = 3;
    order.bidding = Duration::from_secs(5);
    order.commit_window = 40;
    order.reveal_window = 40;
    order.aggregator = AggregatorChoice::Median;
    let from = net.block_number().await.unwrap();
    let opened = net.open_sla_feed(&order, "restart").await.unwrap();
    let sla_id = opened.sla.sla_id;

    let round_id = net
        .wait_for_market(from, Duration::from_secs(60), "RoundStarted", |logs| {
            find_event::<Market::RoundStarted>(logs, |e| e.slaId == sla_id).map(|e| e.roundId)
        })
        .await
        .unwrap();
    net.wait_for_market(from, Duration::from_secs(30), "victim's commit", |logs| {
        find_event::<Market::Committed>(logs, |e| e.roundId == round_id && e.oracle == victim)
    })
    .await
    .unwrap();
    net.nodes[0].process.kill().await;
    let logs = net.market_logs(from).await.unwrap();
    assert!(
        find_event::<Market::RevealOpened>(&logs, |e| e.roundId == round_id).is_none(),
        "reveals opened before the victim was killed (the others' 4 s delay should prevent that)"
    );
    eprintln!(
        "killed node-0 after its commit ({:.1} s)",
        t0.elapsed().as_secs_f64()
    );

    // The others commit (reveals open) and reveal; the round waits for the victim.
    net.wait_for_market(
        from,
        Duration::from_secs(30),
        "the others' reveals",
        |logs| {
            let opened = find_event::<Market::RevealOpened>(logs, |e| e.roundId == round_id);
            let reveals = sla::events::<Market::Revealed>(logs, |e| e.roundId == round_id);
            (opened.is_some() && reveals.len() == 2).then_some(())
        },
    )
    .await
    .unwrap();
    let logs = net.market_logs(from).await.unwrap();
    assert!(find_event::<Market::RoundAnswered>(&logs, |e| e.roundId == round_id).is_none());

    net.nodes[0].process.start().await.expect("node-0 restarts");
    eprintln!("restarted node-0 ({:.1} s)", t0.elapsed().as_secs_f64());
    let answered = net
        .wait_for_market(from, Duration::from_secs(40), "RoundAnswered", |logs| {
            find_event::<Market::RoundAnswered>(logs, |e| e.roundId == round_id)
        })
        .await
        .unwrap();
    let logs = net.market_logs(from).await.unwrap();
    let revealed =
        find_event::<Market::Revealed>(&logs, |e| e.roundId == round_id && e.oracle == victim)
            .expect("the victim revealed after the restart");
    assert_eq!(revealed.answer, answered.answer);
    assert!(answered.answer > I256::ZERO);
    assert!(
        find_event::<Market::OraclePaid>(&logs, |e| e.roundId == round_id && e.oracle == victim)
            .is_some(),
        "the victim is paid"
    );
    assert!(
        sla::events::<Market::OracleSlashed>(&logs, |_| true).is_empty(),
        "nobody slashed"
    );
    let market = SlaMarket::new(net.sla_network().unwrap().stack.market, &net.provider);
    assert_eq!(
        market.withdrawable(victim).call().await.unwrap(),
        U256::from(opened.terms.paymentPerOracle) + U256::from(opened.terms.penaltyDeposit)
    );
    eprintln!("total {:.1} s", t0.elapsed().as_secs_f64());
    net.devnet.shutdown().await;
}
