//! The keystore writes Ethereum v3 files other tools read, and reads them back.

use alloy_signer_local::PrivateKeySigner;
use orakel_chain::{Error, keystore};

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_created_keystore_is_a_standard_v3_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys").join("node.json");
    let signer = keystore::create(&path, "correct horse battery").unwrap();

    let json = read_json(&path);
    assert_eq!(json["version"], 3, "{json}");
    let id = json["id"].as_str().expect("a uuid id");
    assert_eq!(id.len(), 36, "{id}");
    let crypto = &json["crypto"];
    assert_eq!(crypto["kdf"], "scrypt", "{json}");
    assert_eq!(crypto["cipher"], "aes-128-ctr", "{json}");
    for field in ["ciphertext", "mac"] {
        let hex = crypto[field]
            .as_str()
            .unwrap_or_else(|| panic!("crypto.{field}"));
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()), "{field}: {hex}");
    }
    assert_eq!(crypto["ciphertext"].as_str().unwrap().len(), 64);
    assert_eq!(crypto["mac"].as_str().unwrap().len(), 64);
    assert_eq!(crypto["cipherparams"]["iv"].as_str().unwrap().len(), 32);
    let kdf = &crypto["kdfparams"];
    for field in ["n", "r", "p", "dklen"] {
        assert!(kdf[field].as_u64().unwrap() > 0, "kdfparams.{field}: {kdf}");
    }
    assert_eq!(kdf["dklen"], 32);
    assert_eq!(kdf["salt"].as_str().unwrap().len(), 64);

    // geth and friends list keys by the plain-hex address field.
    let address = json["address"].as_str().expect("an address field");
    let plain = address.trim_start_matches("0x").to_ascii_lowercase();
    assert_eq!(plain, hex_lower(signer.address().as_slice()));
    assert_eq!(keystore::address(&path).unwrap(), signer.address());

    let loaded = keystore::load(&path, "correct horse battery").unwrap();
    assert_eq!(loaded.address(), signer.address());
    assert_eq!(loaded.to_bytes(), signer.to_bytes());

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the owner may read the key");
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn an_imported_key_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imported.json");
    let original = PrivateKeySigner::random();
    keystore::write(&path, &original, "pw").unwrap();
    let loaded = keystore::load(&path, "pw").unwrap();
    assert_eq!(loaded.to_bytes(), original.to_bytes());
    assert_eq!(loaded.address(), original.address());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(&hex_lower(original.to_bytes().as_slice())));
    // Never overwritten.
    let other = PrivateKeySigner::random();
    assert!(matches!(
        keystore::write(&path, &other, "pw"),
        Err(Error::Keystore { .. })
    ));
    assert_eq!(
        keystore::load(&path, "pw").unwrap().address(),
        original.address()
    );
}

#[test]
fn errors_are_plain_and_never_show_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.json");
    keystore::create(&path, "s3cret-pass").unwrap();

    let wrong = keystore::load(&path, "not-it").unwrap_err().to_string();
    assert!(wrong.contains("wrong password"), "{wrong}");
    assert!(
        !wrong.contains("not-it") && !wrong.contains("s3cret"),
        "{wrong}"
    );

    let missing = keystore::load(&dir.path().join("none.json"), "x")
        .unwrap_err()
        .to_string();
    assert!(missing.contains("file not found"), "{missing}");
    assert!(missing.contains("none.json"), "{missing}");

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{not json").unwrap();
    assert!(keystore::address(&garbage).is_err());
    assert!(keystore::load(&garbage, "x").is_err());
}
