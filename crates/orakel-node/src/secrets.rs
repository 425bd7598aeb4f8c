//! Generated credentials (bridge tokens, external-initiator keys) and their checks. Incoming
//! credentials are stored only as SHA-256 hashes; a presented credential is hashed and the
//! hashes are compared in constant time.

use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};

/// `n` random bytes as lower-case hex.
pub(crate) fn random_hex<const N: usize>() -> String {
    let bytes: [u8; N] = rand::random();
    hex::encode(bytes)
}

/// Hex SHA-256 of a credential, the form in which it is stored.
pub(crate) fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `given` hashes to `stored_hash` (hex). Hashing first makes the comparison's
/// duration independent of the given credential's length and content.
pub(crate) fn matches_hash(given: &str, stored_hash: &str) -> bool {
    constant_time_eq(sha256_hex(given).as_bytes(), stored_hash.as_bytes())
}

/// Compares two byte strings without an early exit on the first difference.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_only_their_secret() {
        let token = random_hex::<24>();
        assert_eq!(token.len(), 48);
        assert_ne!(token, random_hex::<24>());
        let stored = sha256_hex(&token);
        assert_eq!(stored.len(), 64);
        assert!(matches_hash(&token, &stored));
        assert!(!matches_hash(&format!("{token}x"), &stored));
        assert!(!matches_hash("", &stored));
        assert!(!matches_hash(&stored, &stored), "the hash is not the token");
    }
}
