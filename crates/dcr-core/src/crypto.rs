//! The key-encryption key (docs/security.md): seals signing keys at rest and derives the pepper
//! for keyed secret hashes, so every node given the same KEK shares both.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Errors of the key-encryption layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the key-encryption key must be 32 bytes in base64")]
    BadKeyEncryptionKey,
    #[error("sealed data is corrupt or was sealed under another key-encryption key")]
    Unseal,
    #[error("the operating system's random generator failed")]
    Random,
}

/// 32 bytes, shared by every node of a deployment.
#[derive(Clone)]
pub struct KeyEncryptionKey([u8; 32]);

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyEncryptionKey([redacted])")
    }
}

impl KeyEncryptionKey {
    /// Parses the base64 form (standard alphabet; surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| CryptoError::BadKeyEncryptionKey)?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::BadKeyEncryptionKey)?;
        Ok(Self(key))
    }

    /// A fresh random key (first start of a development install).
    pub fn generate() -> Result<Self, CryptoError> {
        let mut key = [0u8; 32];
        random_bytes(&mut key)?;
        Ok(Self(key))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// AES-256-GCM; output is `nonce || ciphertext || tag`. `context` is bound as
    /// associated data so a sealed blob cannot be moved to another row.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = self.aead_key()?;
        let mut nonce = [0u8; NONCE_LEN];
        random_bytes(&mut nonce)?;
        let mut in_out = plaintext.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context),
            &mut in_out,
        )
        .map_err(|_| CryptoError::Unseal)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&in_out);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Unseal);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Unseal)?;
        let key = self.aead_key()?;
        let mut in_out = ciphertext.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(context), &mut in_out)
            .map_err(|_| CryptoError::Unseal)?;
        Ok(plain.to_vec())
    }

    /// The pepper of keyed secret hashes, derived so that it never needs storing.
    pub fn derive_pepper(&self) -> [u8; 32] {
        derive(&self.0, b"dcr/secret-hash-pepper/v1")
    }

    fn aead_key(&self) -> Result<LessSafeKey, CryptoError> {
        let unbound = UnboundKey::new(&AES_256_GCM, &self.0).map_err(|_| CryptoError::Unseal)?;
        Ok(LessSafeKey::new(unbound))
    }
}

fn derive(key: &[u8], label: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0u8; 32],
    };
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// Fills `buf` from the operating system's CSPRNG.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|_| CryptoError::Random)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trips_and_binds_context() {
        let kek = KeyEncryptionKey::generate().ok();
        let kek = kek.as_ref();
        let sealed = kek.and_then(|k| k.seal(b"secret", b"kid-1").ok());
        let sealed = sealed.as_deref().unwrap_or_default();
        assert_ne!(sealed, b"secret");
        assert_eq!(
            kek.and_then(|k| k.open(sealed, b"kid-1").ok()),
            Some(b"secret".to_vec())
        );
        assert_eq!(
            kek.map(|k| k.open(sealed, b"kid-2")),
            Some(Err(CryptoError::Unseal))
        );
        let other = KeyEncryptionKey::generate().ok();
        assert_eq!(
            other.map(|k| k.open(sealed, b"kid-1")),
            Some(Err(CryptoError::Unseal))
        );
    }

    #[test]
    fn kek_parses_only_32_bytes() {
        assert!(KeyEncryptionKey::from_base64(&STANDARD.encode([7u8; 32])).is_ok());
        assert!(KeyEncryptionKey::from_base64(&STANDARD.encode([7u8; 31])).is_err());
        assert!(KeyEncryptionKey::from_base64("not base64!").is_err());
    }
}
