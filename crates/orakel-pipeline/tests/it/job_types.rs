//! The `cron` and `webhook` job types, and the bridge references the node checks.

use std::time::Duration;

use orakel_pipeline::{JobType, parse_job_spec};

const SOURCE: &str = r#"observationSource = """
    fetch [type="http" method=GET url="https://example.com/price"]
    parse [type="jsonparse" path="price" data="$(fetch)"]
    fetch -> parse
""""#;

#[test]
fn cron_spec_with_zone() {
    let text = format!(
        "type = \"cron\"\nschemaVersion = 1\nschedule = \"CRON_TZ=Europe/Berlin 0 */5 * * * *\"\n{SOURCE}\n"
    );
    let spec = parse_job_spec(&text, "cron.toml").unwrap();
    assert_eq!(spec.job_type, JobType::Cron);
    let cron = spec.cron.as_ref().unwrap();
    assert_eq!(
        cron.schedule.as_str(),
        "CRON_TZ=Europe/Berlin 0 */5 * * * *"
    );
    assert!(cron.schedule.interval().is_none());
    assert!(spec.direct_request.is_none() && spec.webhook.is_none());
    assert!(spec.warnings.is_empty(), "{:?}", spec.warnings);
}

#[test]
fn cron_every_and_ignored_fields() {
    let text = format!(
        "type = \"cron\"\nschemaVersion = 1\nschedule = \"@every 30s\"\ncontractAddress = \"0x0000000000000000000000000000000000000001\"\n{SOURCE}\n"
    );
    let spec = parse_job_spec(&text, "cron.toml").unwrap();
    assert_eq!(
        spec.cron.unwrap().schedule.interval(),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        spec.warnings,
        ["field `contractAddress` is not used by cron jobs and was ignored"]
    );
}

#[test]
fn cron_schedule_errors_name_field_line_and_column() {
    // The minute field `61` is on line 3; its column is counted in the file.
    let text = format!(
        "type = \"cron\"\nschemaVersion = 1\nschedule = \"CRON_TZ=UTC 0 61 * * * *\"\n{SOURCE}\n"
    );
    let err = parse_job_spec(&text, "cron.toml").unwrap_err();
    let col = "schedule = \"CRON_TZ=UTC 0 ".len() + 1;
    assert_eq!((err.line, err.column), (3, col), "{err}");
    assert_eq!(err.field.as_deref(), Some("schedule"));
    assert!(
        err.to_string().starts_with(&format!(
            "cron.toml:3:{col}: field `schedule`: invalid minute field \"61\""
        )),
        "{err}"
    );

    let text = format!(
        "type = \"cron\"\nschemaVersion = 1\n\nschedule = \"CRON_TZ=Mars/Olympus @hourly\"\n{SOURCE}\n"
    );
    let err = parse_job_spec(&text, "c.toml").unwrap_err();
    assert_eq!((err.line, err.column), (4, 21), "{err}");
    assert!(
        err.message.contains("unknown time zone \"Mars/Olympus\""),
        "{err}"
    );

    let text = format!("type = \"cron\"\nschemaVersion = 1\n{SOURCE}\n");
    let err = parse_job_spec(&text, "c.toml").unwrap_err();
    assert_eq!(err.field.as_deref(), Some("schedule"));
    assert!(err.message.contains("missing"), "{err}");

    let text = format!("type = \"cron\"\nschemaVersion = 1\nschedule = 5\n{SOURCE}\n");
    let err = parse_job_spec(&text, "c.toml").unwrap_err();
    assert_eq!((err.line, err.column), (3, 12), "{err}");
}

#[test]
fn webhook_spec_with_external_initiators() {
    let text = format!(
        r#"type = "webhook"
schemaVersion = 1
externalJobID = "0eec7e1d-d0d2-476c-a1a8-72dfb6633f46"
externalInitiators = [
    {{ name = "chain-watcher", spec = "{{\"chain\": \"a\"}}" }},
    {{ name = "other" }},
]
{SOURCE}
"#
    );
    let spec = parse_job_spec(&text, "webhook.toml").unwrap();
    assert_eq!(spec.job_type, JobType::Webhook);
    let eis = &spec.webhook.as_ref().unwrap().external_initiators;
    assert_eq!(eis.len(), 2);
    assert_eq!(eis[0].name, "chain-watcher");
    assert_eq!(eis[0].spec.as_deref(), Some("{\"chain\": \"a\"}"));
    assert_eq!(eis[1].spec, None);

    // Without external initiators only the node's API token can run it.
    let text = format!("type = \"webhook\"\nschemaVersion = 1\n{SOURCE}\n");
    let spec = parse_job_spec(&text, "w.toml").unwrap();
    assert!(spec.webhook.unwrap().external_initiators.is_empty());
}

#[test]
fn webhook_errors_are_located() {
    let text = format!(
        "type = \"webhook\"\nschemaVersion = 1\nexternalInitiators = [{{ name = \"a\", spec = \"{{oops\" }}]\n{SOURCE}\n"
    );
    let err = parse_job_spec(&text, "w.toml").unwrap_err();
    assert_eq!(err.line, 3, "{err}");
    assert_eq!(err.field.as_deref(), Some("externalInitiators.spec"));
    assert!(err.message.contains("not valid JSON"), "{err}");

    let text = format!(
        "type = \"webhook\"\nschemaVersion = 1\nexternalInitiators = [{{ name = \"a\" }}, {{ name = \"a\" }}]\n{SOURCE}\n"
    );
    let err = parse_job_spec(&text, "w.toml").unwrap_err();
    assert!(err.message.contains("listed twice"), "{err}");

    let text = format!(
        "type = \"webhook\"\nschemaVersion = 1\nexternalInitiators = [{{ spec = \"{{}}\" }}]\n{SOURCE}\n"
    );
    let err = parse_job_spec(&text, "w.toml").unwrap_err();
    assert_eq!(err.field.as_deref(), Some("externalInitiators.name"));

    let text =
        format!("type = \"webhook\"\nschemaVersion = 1\nexternalInitiators = \"a\"\n{SOURCE}\n");
    let err = parse_job_spec(&text, "w.toml").unwrap_err();
    assert_eq!(
        (err.line, err.field.as_deref()),
        (3, Some("externalInitiators"))
    );
}

#[test]
fn bridge_tasks_are_located_in_the_file() {
    let text = r#"type = "webhook"
schemaVersion = 1
observationSource = """
    ask   [type="bridge" name="price-adapter" requestData="{}"]
    other [type="bridge" name="$(jobRun.requestBody)"]
    ask -> other
"""
"#;
    let spec = parse_job_spec(text, "b.toml").unwrap();
    assert_eq!(
        spec.bridge_tasks.len(),
        1,
        "names with variables are not checked"
    );
    let r = &spec.bridge_tasks[0];
    assert_eq!(
        (r.dot_id.as_str(), r.name.as_str()),
        ("ask", "price-adapter")
    );
    let line4 = text.lines().nth(3).unwrap();
    assert_eq!(
        (r.line, r.column),
        (4, line4.find("price-adapter").unwrap() + 1)
    );
    let err = r.error("b.toml", "no bridge named \"price-adapter\"");
    assert_eq!(
        err.to_string(),
        format!(
            "b.toml:4:{}: field `observationSource: task \"ask\" attribute \"name\"`: no bridge named \"price-adapter\"",
            r.column
        )
    );
}

const SLA_SPEC: &str = r#"type = "sla"
schemaVersion = 1
name = "eth-usd sla"
externalJobID = "0eec7e1d-d0d2-476c-a1a8-72dfb6633f46"
marketAddress = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
pollInterval = "15s"
observationSource = """
    decode [type=cborparse data="$(jobRun.params)"]
    price  [type=median values=<[1.5, 2.5, 3.5]>]
    scale  [type=multiply input="$(price)" times=100]
    decode -> price -> scale
"""
"#;

#[test]
fn sla_spec_parses() {
    let spec = parse_job_spec(SLA_SPEC, "sla.toml").unwrap();
    assert_eq!(spec.job_type, JobType::Sla);
    assert_eq!(spec.job_type.as_str(), "sla");
    let sla = spec.sla.as_ref().unwrap();
    assert_eq!(
        format!("{:#x}", sla.market_address),
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
    );
    assert_eq!(sla.poll_interval, Some(Duration::from_secs(15)));
    assert!(spec.direct_request.is_none() && spec.cron.is_none() && spec.webhook.is_none());
    assert!(spec.warnings.is_empty(), "{:?}", spec.warnings);

    // pollInterval is optional; "0" means no deviation checks too.
    let text = SLA_SPEC.replace("pollInterval = \"15s\"\n", "");
    assert_eq!(
        parse_job_spec(&text, "sla.toml")
            .unwrap()
            .sla
            .unwrap()
            .poll_interval,
        None
    );
    let text = SLA_SPEC.replace("\"15s\"", "\"0\"");
    assert_eq!(
        parse_job_spec(&text, "sla.toml")
            .unwrap()
            .sla
            .unwrap()
            .poll_interval,
        None
    );
    // Fields of other job types are ignored with a warning.
    let text = SLA_SPEC.replace("name =", "schedule = \"@every 1m\"\nname =");
    let spec = parse_job_spec(&text, "sla.toml").unwrap();
    assert_eq!(
        spec.warnings,
        ["field `schedule` is not used by sla jobs and was ignored"]
    );
}

#[test]
fn sla_spec_errors_are_located() {
    let text = SLA_SPEC.replace("\"15s\"", "\"500ms\"");
    let err = parse_job_spec(&text, "sla.toml").unwrap_err();
    assert_eq!((err.line, err.column), (6, 17), "{err}");
    assert_eq!(err.field.as_deref(), Some("pollInterval"));
    assert!(err.message.contains("too short"), "{err}");

    let text = SLA_SPEC.replace(
        "marketAddress = \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\"",
        "marketAddress = 7",
    );
    let err = parse_job_spec(&text, "sla.toml").unwrap_err();
    assert_eq!((err.line, err.column), (5, 17), "{err}");
    assert_eq!(err.field.as_deref(), Some("marketAddress"));

    // Two final tasks: which output would be the answer?
    let text = SLA_SPEC.replace(
        "decode -> price -> scale",
        "decode -> price -> scale\n    other [type=median values=<[1]>]",
    );
    let err = parse_job_spec(&text, "sla.toml").unwrap_err();
    assert_eq!(err.field.as_deref(), Some("observationSource"));
    assert_eq!((err.line, err.column), (7, 21), "{err}");
    assert!(err.message.contains("ends in 2 (scale, other)"), "{err}");
}

#[test]
fn sla_answers_are_int256() {
    use alloy_primitives::I256;
    use orakel_pipeline::{Value, parse_json, sla_answer};
    let num = |t: &str| parse_json(t.as_bytes()).unwrap();
    assert_eq!(
        sla_answer("t", &num("123400")),
        Ok(I256::try_from(123_400).unwrap())
    );
    assert_eq!(sla_answer("t", &num("-5")), Ok(I256::try_from(-5).unwrap()));
    // Trailing zero decimals are still integers.
    assert_eq!(
        sla_answer("t", &num("7.000")),
        Ok(I256::try_from(7).unwrap())
    );
    assert_eq!(
        sla_answer("t", &Value::String("42".into())),
        Ok(I256::try_from(42).unwrap())
    );
    assert_eq!(sla_answer("t", &Value::Bool(true)), Ok(I256::ONE));
    let err = sla_answer("scale", &num("1234.5")).unwrap_err();
    assert!(
        err.starts_with(
            "task \"scale\" (final output of the sla pipeline): 1234.5 is not an integer"
        ),
        "{err}"
    );
    let max = "57896044618658097711785492504343953926634992332820282019728792003956564819967";
    assert_eq!(sla_answer("t", &num(max)), Ok(I256::MAX));
    let too_big = "57896044618658097711785492504343953926634992332820282019728792003956564819968";
    assert!(
        sla_answer("t", &num(too_big))
            .unwrap_err()
            .contains("does not fit in int256")
    );
    // A bytes32 answer is the word itself.
    let mut word = [0u8; 32];
    word[31] = 9;
    assert_eq!(
        sla_answer("t", &Value::Bytes(word.to_vec().into())),
        Ok(I256::try_from(9).unwrap())
    );
    assert_eq!(
        sla_answer("t", &Value::Bytes(vec![0xff; 32].into())),
        Ok(I256::MINUS_ONE)
    );
    assert!(sla_answer("t", &Value::Bytes(vec![1, 2].into())).is_err());
    assert!(
        sla_answer("t", &Value::Null)
            .unwrap_err()
            .contains("expected a number")
    );
    assert!(sla_answer("t", &Value::String("abc".into())).is_err());
}

#[test]
fn sla_run_vars_are_numbers_bytes_and_an_address() {
    use alloy_primitives::{Address, U256};
    use orakel_pipeline::{Value, sla_run_vars};
    let vars = sla_run_vars(
        U256::from(3u8),
        U256::from(17u8),
        vec![0xa0].into(),
        Address::repeat_byte(1),
    );
    let Value::Map(m) = vars else {
        panic!("not a map")
    };
    assert_eq!(m.get("slaId").map(|v| v.to_string()), Some("3".to_owned()));
    assert_eq!(
        m.get("roundId").map(|v| v.to_string()),
        Some("17".to_owned())
    );
    assert_eq!(m.get("params"), Some(&Value::Bytes(vec![0xa0].into())));
    assert_eq!(
        m.get("marketAddress"),
        Some(&Value::Address(Address::repeat_byte(1)))
    );
}
