//! Webhook jobs end to end: runs started with the API token and by a registered external
//! initiator (over the API and the CLI), the request body as `$(jobRun.requestBody)`, and the
//! refusals (wrong secret, unlisted initiator, bad body, non-webhook job).

use serde_json::{Value, json};

use crate::bridges::{call, cli, create_job, finished_run, op};
use crate::harness;

fn spec(initiators: &str) -> String {
    format!(
        r#"type = "webhook"
schemaVersion = 1
name = "echo"
externalJobID = "{}"
maxTaskDuration = "5s"
{initiators}
observationSource = """
    parse [type="jsonparse" path="value" data="$(jobRun.requestBody)"]
    double [type="multiply" input="$(parse)" times=2]
    parse -> double
"""
"#,
        uuid::Uuid::new_v4()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_runs_by_api_token_and_external_initiator() {
    let net = harness::start(1, false).await;
    let node = &net.nodes[0];
    let post = reqwest::Method::POST;

    // An initiator must exist before a job lists it.
    let (status, body) = net
        .api(
            node,
            post.clone(),
            "/v2/jobs",
            Some(spec("externalInitiators = [{ name = \"watcher\" }]")),
        )
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("watcher"),
        "{body}"
    );

    let (status, ei) = op(
        &net,
        post.clone(),
        "/v2/external_initiators",
        Some(json!({"name": "watcher", "url": "http://127.0.0.1:9/jobs"})),
    )
    .await;
    assert_eq!(status, 201, "{ei}");
    let access_key = ei["accessKey"].as_str().unwrap().to_string();
    let secret = ei["secret"].as_str().unwrap().to_string();
    let (_, list) = op(&net, reqwest::Method::GET, "/v2/external_initiators", None).await;
    assert!(!list.to_string().contains(&secret), "{list}");
    assert_eq!(
        list["externalInitiators"][0]["access_key"],
        access_key.as_str()
    );

    // A second initiator made with the CLI, listed by no job.
    let (ok, out, err) = cli(&net, &["initiators", "create", "stranger"]);
    assert!(ok, "{out}{err}");
    let stranger_key = out
        .lines()
        .find_map(|l| l.strip_prefix("access key: "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .unwrap();
    let stranger_secret = out
        .lines()
        .find_map(|l| l.strip_prefix("secret:     "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .unwrap();

    let text = spec(
        "externalInitiators = [{ name = \"watcher\", spec = \"{\\\"chain\\\": \\\"a\\\"}\" }]",
    );
    let external_id = text
        .lines()
        .find_map(|l| l.strip_prefix("externalJobID = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    let job = create_job(&net, &text).await;

    // The operator runs it with the API token; the body becomes $(jobRun.requestBody).
    let token = net.api_token(node);
    let (status, started) = call(
        node,
        post.clone(),
        &format!("/v2/jobs/{job}/runs"),
        Some(json!({"value": 21.25})),
        Some(&token),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let run = finished_run(&net, started["run"]["id"].as_i64().unwrap()).await;
    assert_eq!(run["state"], "completed", "{run}");
    assert_eq!(run["outputs"], json!(["42.5"]), "{run}");
    assert_eq!(run["inputs"]["requestBody"], "{\"value\":21.25}", "{run}");

    // The external initiator runs it by externalJobID with its credentials.
    let ei_run = |key: String, secret: String, path: String, body: &'static str| {
        let url = format!("{}{path}", node.process.api_url);
        async move {
            let resp = reqwest::Client::new()
                .post(url)
                .header("X-Chainlink-EA-AccessKey", key)
                .header("X-Chainlink-EA-Secret", secret)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            (status, body)
        }
    };
    let by_ei = format!("/v2/jobs/{external_id}/runs");
    let (status, started) = ei_run(
        access_key.clone(),
        secret.clone(),
        by_ei.clone(),
        r#"{"value": 1}"#,
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let run = finished_run(&net, started["run"]["id"].as_i64().unwrap()).await;
    assert_eq!(run["outputs"], json!(["2"]), "{run}");

    // Refusals.
    let (status, body) = ei_run(
        access_key.clone(),
        format!("{secret}0"),
        by_ei.clone(),
        "{}",
    )
    .await;
    assert_eq!(status, 401, "wrong secret: {body}");
    let (status, body) = ei_run("nope".into(), secret.clone(), by_ei.clone(), "{}").await;
    assert_eq!(status, 401, "unknown access key: {body}");
    let (status, body) = ei_run(stranger_key, stranger_secret, by_ei.clone(), "{}").await;
    assert_eq!(status, 403, "initiator not listed by the job: {body}");
    let (status, body) = call(node, post.clone(), &by_ei, None, None).await;
    assert_eq!(status, 401, "no credentials: {body}");
    let (status, body) = call(node, post.clone(), &by_ei, None, Some("wrong")).await;
    assert_eq!(status, 401, "wrong API token: {body}");
    let (status, body) = ei_run(
        access_key.clone(),
        secret.clone(),
        by_ei.clone(),
        "{not json",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("not valid JSON"),
        "{body}"
    );
    let (status, body) = call(
        node,
        post.clone(),
        "/v2/jobs/424242/runs",
        None,
        Some(&token),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    // The devnet's direct-request job is not a webhook job.
    let (_, jobs) = op(&net, reqwest::Method::GET, "/v2/jobs", None).await;
    let dr = jobs["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job_type"] == "directrequest")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, body) = call(
        node,
        post.clone(),
        &format!("/v2/jobs/{dr}/runs"),
        None,
        Some(&token),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("only webhook jobs"),
        "{body}"
    );

    // Deleting an initiator a job lists is refused.
    let (status, body) = op(
        &net,
        reqwest::Method::DELETE,
        "/v2/external_initiators/watcher",
        None,
    )
    .await;
    assert_eq!(status, 409, "{body}");

    // The CLI runs it and waits for the outcome.
    let body_file = net.root().join("body.json");
    std::fs::write(&body_file, r#"{"value": "0.5"}"#).unwrap();
    let (ok, out, err) = cli(
        &net,
        &[
            "jobs",
            "run",
            &job.to_string(),
            "--body",
            body_file.to_str().unwrap(),
            "--wait",
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(
        out.contains(": completed") && out.contains("\"1\""),
        "{out}"
    );
    let (ok, _, err) = cli(&net, &["jobs", "run", &dr.to_string()]);
    assert!(!ok && err.contains("only webhook jobs"), "{err}");
    net.devnet.shutdown().await;
}
