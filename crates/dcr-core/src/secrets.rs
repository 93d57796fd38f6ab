//! Client secrets and API keys: generated from the OS CSPRNG, shown once, stored only
//! as HMAC-SHA256 under a server pepper, compared in constant time.
//!
//! Generated secrets carry a prefix and a CRC-32 checksum (`dcrcs_…`, `dcrak_…`), the
//! way GitHub's tokens do, so secret scanners can recognise a leaked one without
//! false positives; the checksum is not a security property.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::crypto::{CryptoError, random_bytes};

/// Prefix of client secrets.
pub const CLIENT_SECRET_PREFIX: &str = "dcrcs_";
/// Prefix of admin API keys.
pub const API_KEY_PREFIX: &str = "dcrak_";
/// Prefix of RFC 7592 registration access tokens.
pub const REGISTRATION_TOKEN_PREFIX: &str = "dcrrt_";

/// A keyed hash as stored.
pub type SecretHash = [u8; 32];

/// Hashes secrets under the deployment's pepper.
#[derive(Clone)]
pub struct SecretHasher {
    /// HMAC keyed with the pepper once: each hash starts from a copy of this state
    /// instead of hashing the key's two pads again (half the work of hashing a secret).
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHasher([redacted])")
    }
}

impl SecretHasher {
    pub fn new(pepper: [u8; 32]) -> Self {
        // A key shorter than SHA-256's 64-byte block is zero-padded to it (RFC 2104 2),
        // so padding it here gives the same HMAC without a fallible length check.
        let mut block = [0u8; 64];
        block[..pepper.len()].copy_from_slice(&pepper);
        Self {
            keyed: <Hmac<Sha256> as KeyInit>::new(&block.into()),
        }
    }

    pub fn hash(&self, secret: &str) -> SecretHash {
        let mut mac = self.keyed.clone();
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Constant-time comparison of `secret`'s hash with a stored one.
    pub fn verify(&self, secret: &str, stored: &[u8]) -> bool {
        let computed = self.hash(secret);
        stored.len() == computed.len() && bool::from(computed.ct_eq(stored))
    }
}

/// A fresh client secret: 256 bits of entropy, URL-safe characters only.
pub fn generate_client_secret() -> Result<String, CryptoError> {
    generate_with_prefix(CLIENT_SECRET_PREFIX)
}

/// A fresh admin API key.
pub fn generate_api_key() -> Result<String, CryptoError> {
    generate_with_prefix(API_KEY_PREFIX)
}

/// A fresh RFC 7592 registration access token.
pub fn generate_registration_token() -> Result<String, CryptoError> {
    generate_with_prefix(REGISTRATION_TOKEN_PREFIX)
}

/// 256 random bits, base64url: session cookies, CSRF tokens.
pub fn random_token() -> Result<String, CryptoError> {
    let mut entropy = [0u8; 32];
    random_bytes(&mut entropy)?;
    Ok(URL_SAFE_NO_PAD.encode(entropy))
}

fn generate_with_prefix(prefix: &str) -> Result<String, CryptoError> {
    let body = random_token()?;
    let checksum = URL_SAFE_NO_PAD.encode(crc32fast::hash(body.as_bytes()).to_be_bytes());
    Ok(format!("{prefix}{body}{checksum}"))
}

/// True when `s` has the shape of a secret we generated (prefix, body, checksum).
pub fn looks_generated(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix(CLIENT_SECRET_PREFIX)
        .or_else(|| s.strip_prefix(API_KEY_PREFIX))
        .or_else(|| s.strip_prefix(REGISTRATION_TOKEN_PREFIX))
    else {
        return false;
    };
    if rest.len() != 43 + 6 || !rest.is_ascii() {
        return false;
    }
    let (body, checksum) = rest.split_at(43);
    URL_SAFE_NO_PAD.encode(crc32fast::hash(body.as_bytes()).to_be_bytes()) == checksum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_unique_url_safe_and_recognisable() {
        let a = generate_client_secret().unwrap_or_default();
        let b = generate_client_secret().unwrap_or_default();
        assert_ne!(a, b);
        assert!(a.starts_with(CLIENT_SECRET_PREFIX));
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert!(looks_generated(&a));
        let mut tampered = a.clone();
        tampered.replace_range(10..11, if &a[10..11] == "A" { "B" } else { "A" });
        assert!(!looks_generated(&tampered));
    }

    #[test]
    fn keyed_hash_verifies_only_the_same_secret_and_pepper() {
        let h = SecretHasher::new([1u8; 32]);
        let stored = h.hash("s3cret");
        assert!(h.verify("s3cret", &stored));
        assert!(!h.verify("s3cret ", &stored));
        assert!(!h.verify("s3cret", &stored[..31]));
        assert!(!SecretHasher::new([2u8; 32]).verify("s3cret", &stored));
    }

    #[test]
    fn the_kept_keyed_state_gives_the_hmac_of_the_pepper() {
        let pepper: [u8; 32] = std::array::from_fn(|i| u8::try_from(i * 7 % 256).unwrap_or(0));
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&pepper).unwrap();
        mac.update(b"dcrcs_secret");
        let expected: SecretHash = mac.finalize().into_bytes().into();
        let hasher = SecretHasher::new(pepper);
        assert_eq!(hasher.hash("dcrcs_secret"), expected);
        // The kept state is copied, not consumed: the next hash starts clean.
        assert_eq!(hasher.hash("dcrcs_secret"), expected);
    }
}
