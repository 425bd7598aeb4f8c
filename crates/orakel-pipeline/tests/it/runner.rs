//! Runner behaviour: error messages, propagation, timeouts, SSRF protection, limits,
//! retries, failEarly, output ordering, the non-mandatory task catalogue.

use std::time::Duration;

use orakel_pipeline::{Pipeline, RunContext, RunOutcome, RunState, Runner, RunnerConfig, Value};

use crate::common::{Route, serve};

async fn run_with(cfg: RunnerConfig, dot: &str, job_run: Value) -> RunOutcome {
    let pipeline = Pipeline::parse(dot, "test.dot").unwrap_or_else(|e| panic!("{e}"));
    Runner::new(cfg, None)
        .unwrap()
        .execute(
            &pipeline,
            RunContext {
                run_id: "r".into(),
                job_spec_vars: Value::map([("name", Value::from("job"))]),
                job_run_vars: job_run,
                max_task_duration: None,
                ..Default::default()
            },
        )
        .await
}

/// The test servers listen on loopback, which a default runner refuses (SSRF guard).
fn local() -> RunnerConfig {
    RunnerConfig {
        allow_private_http: true,
        ..RunnerConfig::default()
    }
}

async fn run(dot: &str) -> RunOutcome {
    run_with(local(), dot, Value::Null).await
}

fn error_of<'a>(o: &'a RunOutcome, id: &str) -> &'a str {
    o.tasks
        .iter()
        .find(|t| t.dot_id == id)
        .and_then(|t| t.error.as_deref())
        .unwrap_or_else(|| panic!("task {id} did not fail: {o:?}"))
}

fn output_of<'a>(o: &'a RunOutcome, id: &str) -> &'a Value {
    o.tasks
        .iter()
        .find(|t| t.dot_id == id)
        .and_then(|t| t.output.as_ref())
        .unwrap_or_else(|| panic!("task {id} has no output: {o:?}"))
}

#[tokio::test]
async fn jsonparse_errors_are_readable() {
    let o = run(r#"
        src   [type=memo value=<{"other": 1}>]
        parse [type=jsonparse path="data,price"]
        src -> parse
    "#)
    .await;
    assert_eq!(
        error_of(&o, "parse"),
        r#"task "parse" (jsonparse): path "data,price": key "data" not found"#
    );
    let o = run(r#"
        src   [type=memo value="<html>"]
        parse [type=jsonparse path="a" data="$(src)"]
        src -> parse
    "#)
    .await;
    assert_eq!(
        error_of(&o, "parse"),
        r#"task "parse" (jsonparse): data is not valid JSON at byte 0: expected value, got '<'"#
    );
    let o = run(r#"
        src   [type=memo value=<{"a": [1, 2, {"b": "x"}]}>]
        p1    [type=jsonparse path="a,-1,b"]
        p2    [type=jsonparse path="a|0" separator="|"]
        p3    [type=jsonparse path="a,9" lax=true]
        src -> p1
        src -> p2
        src -> p3
    "#)
    .await;
    assert_eq!(o.state, RunState::Completed, "{:?}", o.errors);
    assert_eq!(output_of(&o, "p1"), &Value::from("x"));
    assert_eq!(output_of(&o, "p2").to_string(), "1");
    assert_eq!(output_of(&o, "p3"), &Value::Null);
}

#[tokio::test]
async fn upstream_failures_propagate_and_outputs_follow_index() {
    let o = run(r#"
        a [type=divide input=1 divisor=0]
        b [type=multiply times=2]
        c [type=multiply input=3 times=2 index=1]
        d [type=multiply input=1 times=1 index=0]
        a -> b
    "#)
    .await;
    assert_eq!(o.state, RunState::Errored);
    assert_eq!(
        error_of(&o, "a"),
        r#"task "a" (divide): divisor: division by zero"#
    );
    assert_eq!(
        error_of(&o, "b"),
        r#"task "b" (multiply): upstream task "a" failed"#
    );
    assert_eq!(
        o.errors,
        vec![r#"task "a" (divide): divisor: division by zero"#.to_owned()]
    );
    // Terminals: b (index 0, declared first), d (index 0), c (index 1).
    assert_eq!(o.outputs.len(), 3);
    assert_eq!(o.outputs[0], None);
    assert_eq!(o.outputs[1].as_ref().unwrap().to_string(), "1");
    assert_eq!(o.outputs[2].as_ref().unwrap().to_string(), "6");
    let json = serde_json::to_value(&o).unwrap();
    assert_eq!(json["state"], "Errored");
}

#[tokio::test]
async fn arithmetic_is_exact() {
    let o = run(r#"
        a [type=multiply input="0.1" times="0.2"]
        b [type=divide input=1 divisor=3]
        c [type=divide input=2 divisor=3 precision=2]
        d [type=divide input="123456789012345678901234567890" divisor="0.5" precision=0]
        e [type=median values=<[1, "2", 4, 3]>]
        f [type=sum values=<[1.5, 2.25]>]
        g [type=mean values=<[1, 2]> precision=3]
    "#)
    .await;
    assert_eq!(o.state, RunState::Completed, "{:?}", o.errors);
    assert_eq!(output_of(&o, "a").to_string(), "0.02");
    assert_eq!(output_of(&o, "b").to_string(), "0.3333333333333333");
    assert_eq!(output_of(&o, "c").to_string(), "0.67");
    assert_eq!(
        output_of(&o, "d").to_string(),
        "246913578024691357802469135780"
    );
    assert_eq!(output_of(&o, "e").to_string(), "2.5");
    assert_eq!(output_of(&o, "f").to_string(), "3.75");
    assert_eq!(output_of(&o, "g").to_string(), "1.5");
}

#[tokio::test]
async fn http_timeout_is_reported() {
    let server = serve(vec![Route {
        delay: Duration::from_secs(3),
        ..Route::ok("/slow", "{}")
    }])
    .await;
    let o = run(&format!(
        r#"fetch [type=http url="{}/slow" timeout="200ms"]"#,
        server.base
    ))
    .await;
    assert_eq!(
        error_of(&o, "fetch"),
        r#"task "fetch" (http): timed out after 200ms"#
    );
    // The runner's default HTTP timeout applies without a timeout attribute.
    let cfg = RunnerConfig {
        default_http_timeout: Duration::from_secs(2),
        ..local()
    };
    let o = run_with(
        cfg,
        &format!(r#"fetch [type=http url="{}/slow"]"#, server.base),
        Value::Null,
    )
    .await;
    assert_eq!(
        error_of(&o, "fetch"),
        r#"task "fetch" (http): timed out after 2s"#
    );
}

#[tokio::test]
async fn http_cannot_reach_private_addresses_unless_allowed() {
    let server = serve(vec![Route::ok("/x", r#"{"ok": true}"#)]).await;
    let dot = r#"fetch [type=http url="$(jobRun.url)"]"#;
    for url in [
        format!("{}/x", server.base),
        server.base.replace("127.0.0.1", "localhost") + "/x",
    ] {
        let vars = Value::map([("url", Value::from(url.as_str()))]);
        let o = run_with(RunnerConfig::default(), dot, vars).await;
        let err = error_of(&o, "fetch");
        assert!(
            err.contains("connections to local or private addresses are refused"),
            "{url}: {err}"
        );
    }
    // A URL written literally in the spec is refused too (unlike the established node).
    let o = run_with(
        RunnerConfig::default(),
        &format!(r#"fetch [type=http url="{}/x"]"#, server.base),
        Value::Null,
    )
    .await;
    assert!(
        error_of(&o, "fetch").contains("connections to local or private addresses are refused"),
        "{:?}",
        o.errors
    );
    assert!(server.requests.lock().unwrap().is_empty());

    // Allowed by the task attribute…
    let vars = Value::map([("url", Value::from(format!("{}/x", server.base)))]);
    let o = run_with(
        RunnerConfig::default(),
        r#"fetch [type=http url="$(jobRun.url)" allowUnrestrictedNetworkAccess=true]"#,
        vars.clone(),
    )
    .await;
    assert_eq!(output_of(&o, "fetch"), &Value::from(r#"{"ok": true}"#));
    // …or by the runner config.
    let cfg = RunnerConfig {
        allow_private_http: true,
        ..local()
    };
    let o = run_with(cfg, dot, vars).await;
    assert_eq!(o.state, RunState::Completed, "{:?}", o.errors);
}

#[tokio::test]
async fn http_sends_body_and_headers_and_limits_responses() {
    let big = "x".repeat(10_000);
    let server = serve(vec![
        Route::ok("/echo", r#"{"result": 42}"#),
        Route::ok("/big", &big),
    ])
    .await;
    let o = run(&format!(
        r#"
        fetch [type=http method=POST url="{}/echo"
               requestData=<{{"id": $(jobSpec.name), "n": 1.50}}>
               headers=<["X-Api-Key", "secret"]>]
        "#,
        server.base
    ))
    .await;
    assert_eq!(o.state, RunState::Completed, "{:?}", o.errors);
    let requests = server.requests.lock().unwrap().clone();
    let req = &requests[0];
    assert!(req.starts_with("POST /echo"), "{req}");
    assert!(
        req.to_ascii_lowercase().contains("x-api-key: secret"),
        "{req}"
    );
    assert!(
        req.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{req}"
    );
    assert!(req.ends_with(r#"{"id":"job","n":1.5}"#), "{req}");

    let cfg = RunnerConfig {
        max_response_bytes: 1000,
        ..local()
    };
    let o = run_with(
        cfg,
        &format!(r#"fetch [type=http url="{}/big"]"#, server.base),
        Value::Null,
    )
    .await;
    assert!(
        error_of(&o, "fetch").contains("more than the limit of 1000 bytes"),
        "{o:?}"
    );
}

#[tokio::test]
async fn retries_and_fail_early() {
    let server = serve(vec![Route {
        status: 503,
        ..Route::ok("/flaky", "{}")
    }])
    .await;
    let o = run(&format!(
        r#"fetch [type=http url="{}/flaky" retries=2 minBackoff="10ms" maxBackoff="20ms"]"#,
        server.base
    ))
    .await;
    assert!(error_of(&o, "fetch").contains("returned status 503"));
    assert_eq!(server.requests.lock().unwrap().len(), 3);

    let slow = serve(vec![Route {
        delay: Duration::from_secs(5),
        ..Route::ok("/slow", "1")
    }])
    .await;
    let started = std::time::Instant::now();
    let o = run(&format!(
        r#"
        bad  [type=divide input=1 divisor=0 failEarly=true]
        slow [type=http url="{}/slow"]
        "#,
        slow.base
    ))
    .await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(o.state, RunState::Errored);
    assert_eq!(
        error_of(&o, "slow"),
        r#"run aborted: task "bad" failed and has failEarly set"#
    );
}

#[tokio::test]
async fn catalogue_tasks() {
    let o = run(r#"
        s   [type=memo value="Hello"]
        lo  [type=lowercase input="$(s)"]
        up  [type=uppercase]
        hx  [type=hexencode input="$(s)"]
        hd  [type=hexdecode input="$(hx)"]
        b64 [type=base64encode input="$(s)"]
        bd  [type=base64decode input="$(b64)"]
        len [type=length input="$(s)"]
        lt  [type=lessthan left=1 right="1.5"]
        ok  [type=conditional data="$(lt)"]
        m   [type=memo value=<{"a": 1, "b": [true]}>]
        lk  [type=lookup key="a"]
        mg  [type=merge left="$(m)" right=<{"c": $(len)}>]
        md  [type=mode values=<[1, 2, 2, "x", "x"]>]
        an  [type=any]
        ad  [type=ethabidecode abi="uint256 v, address who" data="0x000000000000000000000000000000000000000000000000000000000000002a0000000000000000000000001111111111111111111111111111111111111111"]
        n   [type=multiply input=255 times=1]
        ic  [type=hexencode]
        n -> ic
        s -> up
        s -> lo -> an
        s -> hx -> hd
        s -> b64 -> bd
        s -> len -> mg
        lt -> ok
        m -> lk
        m -> mg
        s -> an
    "#)
    .await;
    assert_eq!(o.state, RunState::Completed, "{:?}", o.errors);
    assert_eq!(output_of(&o, "lo"), &Value::from("hello"));
    assert_eq!(output_of(&o, "up"), &Value::from("HELLO"));
    assert_eq!(output_of(&o, "hx"), &Value::from("0x48656c6c6f"));
    assert_eq!(output_of(&o, "hd"), &Value::from(b"Hello".to_vec()));
    assert_eq!(output_of(&o, "b64"), &Value::from("SGVsbG8="));
    assert_eq!(output_of(&o, "bd"), &Value::from(b"Hello".to_vec()));
    assert_eq!(output_of(&o, "len").to_string(), "5");
    assert_eq!(output_of(&o, "ok"), &Value::Bool(true));
    assert_eq!(output_of(&o, "lk").to_string(), "1");
    assert_eq!(
        output_of(&o, "mg").to_string(),
        r#"{"a":1,"b":[true],"c":5}"#
    );
    assert_eq!(
        output_of(&o, "md").to_string(),
        r#"{"occurrences":2,"results":[2,"x"]}"#
    );
    assert_eq!(output_of(&o, "an"), &Value::from("hello"));
    assert_eq!(
        output_of(&o, "ad").to_string(),
        r#"{"v":42,"who":"0x1111111111111111111111111111111111111111"}"#
    );
    assert_eq!(output_of(&o, "ic"), &Value::from("0xff"));

    let o = run(r#"c [type=conditional data=false]"#).await;
    assert_eq!(
        error_of(&o, "c"),
        r#"task "c" (conditional): condition is false"#
    );
}

#[tokio::test]
async fn ethtx_without_sink_fails_cleanly() {
    let o =
        run(r#"tx [type=ethtx to="0x1111111111111111111111111111111111111111" data="0x01"]"#).await;
    assert_eq!(
        error_of(&o, "tx"),
        r#"task "tx" (ethtx): no transaction sink is configured on this runner"#
    );
}

#[tokio::test]
async fn failed_requests_never_show_the_query_of_their_url() {
    // Port 1 refuses connections; the key in the query must not reach the stored error.
    let o = run(r#"fetch [type=http url="http://127.0.0.1:1/price?apikey=SECRET123&x=1"]"#).await;
    let err = error_of(&o, "fetch");
    assert!(err.contains("http://127.0.0.1:1/price"), "{err}");
    assert!(!err.contains("SECRET123"), "{err}");
    assert!(!err.contains("apikey"), "{err}");
}

#[tokio::test]
async fn inputs_follow_the_index_of_their_tasks_not_the_edge_order() {
    // `any` takes its first successful input: the one with the lowest index, although its
    // edge comes last.
    let o = run(r#"
        a [type=memo value="from a" index=2]
        b [type=memo value="from b" index=1]
        c [type=memo value="from c"]
        pick [type=any]
        a -> pick
        b -> pick
        c -> pick
        "#)
    .await;
    assert_eq!(output_of(&o, "pick"), &Value::from("from c"));
    let o = run(r#"
        a [type=memo value="from a" index=2]
        b [type=memo value="from b" index=1]
        pick [type=any]
        a -> pick
        b -> pick
        "#)
    .await;
    assert_eq!(output_of(&o, "pick"), &Value::from("from b"));
}
