//! The node's sending key, kept in an Ethereum keystore v3 file (scrypt + AES-128-CTR), the
//! format every Ethereum tool reads. The password comes from the operator, never from config.

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use alloy_signer_local::PrivateKeySigner;

use crate::{Error, Result};

/// Creates a new random key encrypted with `password` at `path` (the file must not exist).
pub fn create(path: &Path, password: &str) -> Result<PrivateKeySigner> {
    let signer = PrivateKeySigner::random();
    write(path, &signer, password)?;
    Ok(signer)
}

/// Encrypts an existing key (e.g. imported) to `path` (the file must not exist).
pub fn write(path: &Path, signer: &PrivateKeySigner, password: &str) -> Result<()> {
    let err = |reason: String| Error::Keystore {
        path: path.display().to_string(),
        reason,
    };
    if path.exists() {
        return Err(err(
            "file exists already; refusing to overwrite a key".into()
        ));
    }
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir).map_err(|e| err(format!("cannot create directory: {e}")))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| err("path has no file name".into()))?;
    let mut rng = rand08::thread_rng();
    PrivateKeySigner::encrypt_keystore(&dir, &mut rng, signer.to_bytes(), password, Some(name))
        .map_err(|e| err(format!("cannot encrypt: {e}")))?;
    restrict_permissions(path);
    Ok(())
}

/// Decrypts the key at `path`.
pub fn load(path: &Path, password: &str) -> Result<PrivateKeySigner> {
    if !path.exists() {
        return Err(Error::Keystore {
            path: path.display().to_string(),
            reason: "file not found".into(),
        });
    }
    PrivateKeySigner::decrypt_keystore(path, password).map_err(|e| Error::Keystore {
        path: path.display().to_string(),
        // eth-keystore says "Mac Mismatch" for a wrong password; say it plainly.
        reason: match e.to_string() {
            s if s.to_ascii_lowercase().contains("mac") => "wrong password (MAC mismatch)".into(),
            s => s,
        },
    })
}

/// Reads the address from a keystore file without decrypting it.
pub fn address(path: &Path) -> Result<Address> {
    let err = |reason: String| Error::Keystore {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| err(format!("not JSON: {e}")))?;
    let hex = json
        .get("address")
        .and_then(|a| a.as_str())
        .ok_or_else(|| err("no \"address\" field".into()))?;
    let hex = if hex.starts_with("0x") {
        hex.to_string()
    } else {
        format!("0x{hex}")
    };
    hex.parse().map_err(|e| err(format!("bad address: {e}")))
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_password() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::Signing(e.to_string()))?;
        let path = dir.path().join("keys").join("node.json");
        let created = create(&path, "correct horse")?;
        let loaded = load(&path, "correct horse")?;
        assert_eq!(created.address(), loaded.address());
        let wrong = load(&path, "wrong")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(wrong.contains("wrong password"), "{wrong}");
        assert!(create(&path, "x").is_err(), "must not overwrite");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            text.contains("\"crypto\"") || text.contains("\"Crypto\""),
            "keystore v3 JSON: {text}"
        );
        assert!(
            !text.contains(&format!("{:x}", created.to_bytes())),
            "key must not be stored in clear"
        );
        Ok(())
    }
}
