//! The malformed spec corpus (`tests/specs/invalid/*.toml`): each file ends with a comment
//! `# expect: LINE:COLUMN | FIELD | MESSAGE-FRAGMENT` stating where the error must point.

use orakel_pipeline::{SpecError, parse_job_spec};

struct Expect {
    line: usize,
    column: usize,
    field: String,
    message: String,
}

fn expectation(text: &str) -> Expect {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("# expect: "))
        .expect("every invalid spec states its expectation");
    let mut parts = line.splitn(3, " | ");
    let pos = parts.next().unwrap();
    let field = parts.next().unwrap().to_owned();
    let message = parts.next().unwrap().to_owned();
    let (l, c) = pos.split_once(':').unwrap();
    Expect {
        line: l.parse().unwrap(),
        column: c.parse().unwrap(),
        field,
        message,
    }
}

#[test]
fn every_invalid_spec_reports_line_column_and_field() {
    let dir = crate::common::specs_dir().join("invalid");
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let want = expectation(&text);
        let err: SpecError = match parse_job_spec(&text, &name) {
            Ok(_) => {
                failures.push(format!("{name}: parsed without error"));
                continue;
            }
            Err(e) => e,
        };
        checked += 1;
        let ok = err.origin == name
            && err.line == want.line
            && err.column == want.column
            && err.field.as_deref().unwrap_or("") == want.field
            && err.message.contains(&want.message);
        if !ok {
            failures.push(format!(
                "{name}: got {err}\n   want {}:{}: field `{}`: …{}…",
                want.line, want.column, want.field, want.message
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert!(checked >= 20, "only {checked} invalid specs");
}

#[test]
fn display_names_file_position_and_field() {
    let text = "type = \"directrequest\"\nschemaVersion = 1\ncontractAddress = \"0x12\"\nobservationSource = \"a [type=median]\"\n";
    let err = parse_job_spec(text, "spec.toml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.toml:3:20: field `contractAddress`: invalid address \"0x12\": expected 40 hex digits"
    );
}

#[test]
fn toml_syntax_errors_are_located() {
    let text = "type = \"directrequest\"\nschemaVersion = = 1\n";
    let err = parse_job_spec(text, "s.toml").unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.column >= 15, "{err}");
    assert!(err.message.starts_with("TOML syntax error"), "{err}");
    assert_eq!(err.field, None);
}

#[test]
fn unknown_fields_and_ignored_parameters_become_warnings() {
    let text = r#"
type = "directrequest"
schemaVersion = 1
contractAddress = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
evmChainID = "1"
forwardingAllowed = true
someFutureField = "x"
observationSource = """
tx [type=ethtx to="0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed" data="0x" txMeta=<{"a": 1}>]
"""
"#;
    let spec = parse_job_spec(text, "w.toml").unwrap();
    assert!(spec.forwarding_allowed);
    assert_eq!(spec.evm_chain_id, Some(1));
    assert_eq!(spec.warnings.len(), 2, "{:?}", spec.warnings);
    assert!(spec.warnings.iter().any(|w| w.contains("someFutureField")));
    assert!(spec.warnings.iter().any(|w| w.contains("txMeta")));
    // No externalJobID: a fresh v4 id.
    assert_eq!(spec.external_job_id.get_version_num(), 4);
}

#[test]
fn planned_job_types_are_named_as_unsupported() {
    let err = parse_job_spec("type = \"fluxmonitor\"\nschemaVersion = 1\n", "c.toml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "c.toml:1:9: field `type`: job type \"fluxmonitor\" is not supported yet (supported: directrequest, cron, webhook, sla)"
    );
}
