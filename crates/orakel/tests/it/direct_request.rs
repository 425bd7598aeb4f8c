use std::str::FromStr;
use std::time::{Duration, SystemTime};

use orakel_devnet::spec::{Fulfil, median_price_job};
use uuid::Uuid;

use crate::harness::{self, PAYMENT, TIMES};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_is_fulfilled_with_the_sources_median_and_recorded() {
    let net = harness::start(1, false).await;
    let f = harness::price_answered_with_the_median(&net, 0).await;
    assert_eq!(f.consumer, net.nodes[0].consumer);

    // The node recorded the request, the run with every task, and one mined transaction.
    let runs = harness::api_until(&net, 0, "/v2/runs", Duration::from_secs(10), |b| {
        b["runs"]
            .as_array()
            .is_some_and(|r| r.len() == 1 && r[0]["state"] == "completed")
    })
    .await;
    let run_id = runs["runs"][0]["id"].as_i64().unwrap();
    let (_, run) = net
        .api(
            &net.nodes[0],
            reqwest::Method::GET,
            &format!("/v2/runs/{run_id}"),
            None,
        )
        .await
        .unwrap();
    let tasks = run["run"]["tasks"].as_array().unwrap();
    let ids: Vec<&str> = tasks
        .iter()
        .map(|t| t["dot_id"].as_str().unwrap())
        .collect();
    for id in [
        "decode_log",
        "decode_cbor",
        "fetch_0",
        "parse_4",
        "median",
        "scale",
        "encode_tx",
        "submit_tx",
    ] {
        assert!(ids.contains(&id), "task {id} missing from run: {ids:?}");
    }
    assert!(tasks.iter().all(|t| t["error"].is_null()), "{tasks:?}");
    harness::api_until(&net, 0, "/v2/txs", Duration::from_secs(10), |b| {
        b["txs"]
            .as_array()
            .is_some_and(|t| t.len() == 1 && t[0]["state"] == "confirmed")
    })
    .await;
    harness::api_until(&net, 0, "/v2/requests", Duration::from_secs(5), |b| {
        b["requests"][0]["state"] == "fulfilled"
    })
    .await;
    net.devnet.shutdown().await;
}

/// The bench's chain (ADR 0015): anvil forks a second, idle anvil. Requests are served the same
/// way, and both anvils stop with the devnet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_is_fulfilled_on_a_chain_forked_from_an_idle_base() {
    use alloy::providers::Provider as _;
    let net = harness::start_forked(1).await;
    let pids = net.chain_pids();
    assert_eq!(pids.len(), 2, "the mining anvil and its base: {pids:?}");
    let info: serde_json::Value = net
        .provider
        .raw_request("anvil_nodeInfo".into(), ())
        .await
        .unwrap();
    assert!(
        info["forkConfig"]["forkUrl"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:")),
        "anvil does not fork the base: {info}"
    );
    let f = harness::price_answered_with_the_median(&net, 0).await;
    assert_eq!(f.consumer, net.nodes[0].consumer);
    net.devnet.shutdown().await;
    for pid in pids {
        let gone = (0..50).any(|_| {
            let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|stat| !stat.contains(") Z "));
            if alive {
                std::thread::sleep(Duration::from_millis(100));
            }
            !alive
        });
        assert!(gone, "anvil {pid} still runs after the devnet stopped");
    }
}

/// The demo's job: five sources over `http` and a sixth through the sample adapter's bridge,
/// registered with the schemas the adapter publishes. The answer is the median of all six.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_answered_with_the_sample_adapter_in_the_median() {
    let net = harness::start_with_adapter(1).await;
    let adapter = net.adapter.as_ref().expect("the devnet runs the adapter");
    let (status, bridge) = net
        .api(
            &net.nodes[0],
            reqwest::Method::GET,
            &format!("/v2/bridge_types/{}", orakel_devnet::ADAPTER_BRIDGE),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{bridge}");
    assert_eq!(
        bridge["bridge"]["url"],
        format!("{}/", adapter.handle.url())
    );
    assert_eq!(bridge["bridge"]["input_schema"], adapter.schemas["input"]);
    assert_eq!(bridge["bridge"]["output_schema"], adapter.schemas["output"]);

    let from = net.block_number().await.unwrap();
    let asked = SystemTime::now();
    let req = net
        .request_price(0, "LINK-USD", TIMES, PAYMENT)
        .await
        .unwrap();
    let f = harness::fulfilled(&net, req.request_id, from).await;
    let expected = harness::expected_answers(&net, "LINK-USD", asked);
    assert!(
        expected.contains(&f.value),
        "answer {} not among the six sources' medians {expected:?}",
        f.value
    );

    // The adapter answered source 5's price, and it was an input of the median.
    let runs = harness::api_until(&net, 0, "/v2/runs", Duration::from_secs(10), |b| {
        b["runs"][0]["state"] == "completed"
    })
    .await;
    let run_id = runs["runs"][0]["id"].as_i64().unwrap();
    let (_, run) = net
        .api(
            &net.nodes[0],
            reqwest::Method::GET,
            &format!("/v2/runs/{run_id}"),
            None,
        )
        .await
        .unwrap();
    let tasks = run["run"]["tasks"].as_array().unwrap();
    let task = |id: &str| {
        tasks
            .iter()
            .find(|t| t["dot_id"] == id)
            .unwrap_or_else(|| panic!("no task {id} in {run}"))
    };
    assert!(task("ask_adapter")["error"].is_null(), "{run}");
    // Stored outputs hold numbers as exact decimal strings.
    let answer = &task("ask_adapter")["output"]["data"];
    assert_eq!(answer["source"], "5", "{run}");
    let tick: u64 = answer["tick"].as_str().unwrap().parse().unwrap();
    let price = task("parse_adapter")["output"].as_str().unwrap();
    assert_eq!(
        bigdecimal::BigDecimal::from_str(price).unwrap(),
        net.sim
            .simulator()
            .source_price("LINK-USD", 5, tick)
            .unwrap(),
        "{run}"
    );
    assert!(tasks.iter().all(|t| t["error"].is_null()), "{run}");
    net.devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_request_is_answered_through_fulfill_oracle_request2() {
    let mut net = harness::start(1, false).await;
    let job_id = Uuid::new_v4();
    let spec = median_price_job(
        "v2",
        job_id,
        net.nodes[0].oracle,
        &net.sim.base_url(),
        3,
        1,
        "2s",
        Fulfil::Bytes,
    );
    net.create_job(&net.nodes[0], &spec).await.unwrap();
    // Requests for this job carry its id in the 16-bytes-padded form this time.
    let mut spec_id = [0u8; 32];
    spec_id[..16].copy_from_slice(job_id.as_bytes());
    net.nodes[0].spec_id = spec_id.into();

    let from = net.block_number().await.unwrap();
    let asked = SystemTime::now();
    let consumer = orakel_contracts::PriceConsumer::new(net.nodes[0].consumer, &net.provider);
    let receipt = consumer
        .requestPriceOperator(
            net.nodes[0].spec_id,
            "BTC-USD".into(),
            alloy::primitives::I256::try_from(TIMES).unwrap(),
            PAYMENT,
        )
        .from(net.deployer)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    let request_id = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| {
            use alloy::sol_types::SolEvent;
            orakel_contracts::PriceConsumer::PriceRequested::decode_log_data(l.data())
                .ok()
                .map(|e| e.requestId)
        })
        .unwrap();
    let f = harness::fulfilled(&net, request_id, from).await;
    // Three sources: the median is the middle one of the same tick.
    let sim = net.sim.simulator();
    let candidates: Vec<_> = (sim.tick_at(asked).saturating_sub(1)
        ..=sim.tick_at(SystemTime::now()))
        .filter_map(|t| {
            let obs = sim.observations("BTC-USD", t)?;
            let mut v: Vec<_> = obs
                .iter()
                .take(3)
                .filter_map(|o| o.value().cloned())
                .collect();
            v.sort();
            let m = orakel_sim::median(&v)? * bigdecimal::BigDecimal::from(TIMES);
            m.with_scale(0)
                .to_string()
                .parse::<alloy::primitives::U256>()
                .ok()
        })
        .collect();
    assert!(
        candidates.contains(&f.value),
        "answer {} not the 3-source median {candidates:?}",
        f.value
    );
    net.devnet.shutdown().await;
}
