//! `ethtx` attributes that change when the task ends: `minConfirmations` makes it wait for
//! the mined transaction, and `failOnRevert` then fails it when the transaction reverted.

use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use crate::async_request::spec_id_of;
use crate::bridges::create_job;
use crate::harness::{self, PAYMENT, TIMES};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ethtx_waits_for_confirmations_and_fails_on_revert_when_asked() {
    let mut net = harness::start(1, false).await;
    let (_, jobs) = net
        .api(&net.nodes[0], reqwest::Method::GET, "/v2/jobs", None)
        .await
        .unwrap();
    let devnet_job = &jobs["jobs"][0];
    let spec = devnet_job["spec_toml"].as_str().unwrap().to_string();
    let devnet_id = devnet_job["external_job_id"].as_str().unwrap().to_string();
    let ethtx = r#"submit_tx    [type="ethtx" "#;
    assert!(spec.contains(ethtx), "{spec}");

    // 60,000 gas is below the Oracle's floor for the consumer callback: the fulfilment is
    // mined and reverts.
    for (attrs, state) in [
        (
            r#"minConfirmations="1" failOnRevert="true" gasLimit="60000" "#,
            "errored",
        ),
        (r#"minConfirmations="1" "#, "completed"),
    ] {
        let external = Uuid::new_v4();
        let text = spec
            .replace(&devnet_id, &external.to_string())
            .replace(ethtx, &format!("{ethtx}{attrs}"));
        let job = create_job(&net, &text).await;
        net.nodes[0].spec_id = spec_id_of(&external);
        net.request_price(0, "ETH-USD", TIMES, PAYMENT)
            .await
            .unwrap();
        let runs = harness::api_until(&net, 0, "/v2/runs", Duration::from_secs(30), |b| {
            b["runs"].as_array().is_some_and(|runs| {
                runs.iter()
                    .any(|r| r["job_id"] == job && r["state"] != "running")
            })
        })
        .await;
        let run = runs["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["job_id"] == job)
            .unwrap()
            .clone();
        assert_eq!(run["state"], state, "{attrs}: {run}");
        // The task ended only once the transaction's outcome was recorded.
        let (_, txs) = net
            .api(&net.nodes[0], reqwest::Method::GET, "/v2/txs", None)
            .await
            .unwrap();
        let tx: Vec<&Value> = txs["txs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["run_id"] == run["id"])
            .collect();
        assert_eq!(tx.len(), 1, "{txs}");
        if state == "errored" {
            assert_eq!(tx[0]["state"], "reverted", "{txs}");
            let errors = run["errors"].to_string();
            assert!(
                errors.contains("reverted on chain (failOnRevert)"),
                "{errors}"
            );
        } else {
            assert_eq!(tx[0]["state"], "confirmed", "{txs}");
        }
    }
    net.devnet.shutdown().await;
}
