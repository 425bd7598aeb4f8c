//! Cron jobs end to end: `@every 1s` and a six-field schedule with `CRON_TZ` produce stored
//! runs; a bad schedule is refused at its line and field; deleting the job stops its runs.

use std::time::Duration;

use serde_json::{Value, json};

use crate::bridges::{create_job, op};
use crate::harness;

fn spec(schedule: &str, values: &str) -> String {
    format!(
        r#"type = "cron"
schemaVersion = 1
name = "cron {schedule}"
schedule = "{schedule}"
observationSource = """
    total [type="sum" values=<{values}>]
"""
"#
    )
}

async fn runs_of(net: &harness::TestNet, job: i64) -> Vec<Value> {
    let (status, body) = op(
        net,
        reqwest::Method::GET,
        &format!("/v2/runs?jobId={job}&limit=1000"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["runs"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_jobs_run_on_schedule() {
    let net = harness::start(1, false).await;

    // A bad field is refused with its line and column in the spec.
    let bad = spec("CRON_TZ=Europe/Berlin 0 */5 25 * * *", "[1]");
    let (status, body) = net
        .api(
            &net.nodes[0],
            reqwest::Method::POST,
            "/v2/jobs",
            Some(bad.clone()),
        )
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "schedule", "{body}");
    assert_eq!(body["line"], 4, "{body}");
    let column = bad.lines().nth(3).unwrap().find("25").unwrap() + 1;
    assert_eq!(body["column"].as_u64(), Some(column as u64), "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("invalid hour field"),
        "{body}"
    );

    let every = create_job(&net, &spec("@every 1s", "[1, 2, 3.5]")).await;
    let six = create_job(&net, &spec("CRON_TZ=Europe/Berlin */2 * * * * *", "[10]")).await;
    tokio::time::sleep(Duration::from_millis(4_500)).await;

    let runs = runs_of(&net, every).await;
    assert!(
        (3..=6).contains(&runs.len()),
        "{} runs of @every 1s in 4.5 s: {runs:?}",
        runs.len()
    );
    let done: Vec<&Value> = runs.iter().filter(|r| r["state"] == "completed").collect();
    assert!(done.len() >= 2, "{runs:?}");
    for r in &done {
        assert_eq!(r["outputs"], json!(["6.5"]), "{r}");
    }
    let runs = runs_of(&net, six).await;
    assert!(
        (1..=3).contains(&runs.len()),
        "{} runs of */2 in 4.5 s: {runs:?}",
        runs.len()
    );

    // Deleting the job stops its runs.
    let (status, _) = op(
        &net,
        reqwest::Method::DELETE,
        &format!("/v2/jobs/{every}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = runs_of(&net, every).await.len();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(runs_of(&net, every).await.len(), before);
    net.devnet.shutdown().await;
}
