use std::time::Duration;

use crate::harness;

/// A spec with an error is rejected with the line and field named — through the API and the
/// CLI — and nothing already stored is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_spec_errors_name_line_and_field() {
    let net = harness::start(1, false).await;
    let node = &net.nodes[0];

    // Wrong address on line 5.
    let bad_address = net.nodes[0].job_spec.replace(
        &format!("contractAddress = \"{:#x}\"", node.oracle),
        "contractAddress = \"0x1234\"",
    );
    let bad_address =
        bad_address.replace(&node.job_id.to_string(), &uuid::Uuid::new_v4().to_string());
    let line = bad_address
        .lines()
        .position(|l| l.starts_with("contractAddress"))
        .unwrap()
        + 1;
    let (status, body) = net
        .api(
            node,
            reqwest::Method::POST,
            "/v2/jobs",
            Some(bad_address.clone()),
        )
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["line"], line, "{body}");
    assert_eq!(body["field"], "contractAddress", "{body}");

    // An unknown task type deep inside the DOT: the line is the spec file's line.
    let bad_task = bad_address
        .replace(
            "contractAddress = \"0x1234\"",
            &format!("contractAddress = \"{:#x}\"", node.oracle),
        )
        .replace("type=\"median\"", "type=\"meadian\"");
    let task_line = bad_task
        .lines()
        .position(|l| l.contains("meadian"))
        .unwrap()
        + 1;
    let (status, body) = net
        .api(
            node,
            reqwest::Method::POST,
            "/v2/jobs",
            Some(bad_task.clone()),
        )
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["line"], task_line, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("meadian"),
        "{body}"
    );

    // The CLI prints file:line:column and fails.
    let file = net.root().join("bad.toml");
    std::fs::write(&file, &bad_address).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orakel"))
        .args(["jobs", "create"])
        .arg(&file)
        .arg("--root")
        .arg(&node.process.root)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("bad.toml:{line}:")) && stderr.contains("contractAddress"),
        "{stderr}"
    );

    // A duplicate external job id is a conflict; the existing job is untouched and still served.
    let (status, _) = net
        .api(
            node,
            reqwest::Method::POST,
            "/v2/jobs",
            Some(node.job_spec.clone()),
        )
        .await
        .unwrap();
    assert_eq!(status, 409);
    let jobs = harness::api_until(&net, 0, "/v2/jobs", Duration::from_secs(2), |_| true).await;
    assert_eq!(jobs["jobs"].as_array().unwrap().len(), 1);
    let from = net.block_number().await.unwrap();
    let req = net
        .request_price(0, "LINK-USD", harness::TIMES, harness::PAYMENT)
        .await
        .unwrap();
    harness::fulfilled(&net, req.request_id, from).await;
    net.devnet.shutdown().await;
}
