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
