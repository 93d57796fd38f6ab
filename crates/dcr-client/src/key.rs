//! The install key: a key pair the SDK creates at an install's first registration and
//! keeps with its credentials. Its public half is registered (RFC 7591 `jwks`); the
//! private half signs the client assertions that replace a client secret (RFC 7523,
//! `private_key_jwt`) and the DPoP proofs that bind access tokens to the install
//! (RFC 9449). Keys are EC P-256 (ES256) or Ed25519 (EdDSA), as dcr accepts.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dcr_proto::pop::{AssertionClaims, DPOP_TYP, DpopClaims};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Value, json};

/// Why a key could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the key is not a PKCS#8 P-256 or Ed25519 private key")]
    Unreadable,
    #[error("no randomness: {0}")]
    Random(String),
    #[error("signing failed: {0}")]
    Signing(String),
}

/// A private install key with its public JWK and RFC 7638 thumbprint.
pub struct InstallKey {
    pkcs8: Vec<u8>,
    encoding: EncodingKey,
    algorithm: Algorithm,
    jwk: Value,
    thumbprint: String,
}

impl std::fmt::Debug for InstallKey {
    /// The public half only: the private key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstallKey")
            .field("jwk", &self.jwk)
            .finish_non_exhaustive()
    }
}

impl InstallKey {
    /// A new EC P-256 key (ES256), the kind every platform's keystore can hold.
    pub fn generate() -> Result<Self, KeyError> {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|e| KeyError::Random(e.to_string()))?;
        Self::from_pkcs8(pkcs8.as_ref())
    }

    /// A new Ed25519 key (EdDSA).
    pub fn generate_ed25519() -> Result<Self, KeyError> {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|e| KeyError::Random(e.to_string()))?;
        Self::from_pkcs8(pkcs8.as_ref())
    }

    /// A key from its PKCS#8 DER form (as [`Self::pkcs8`] gives it).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        if let Ok(pair) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der) {
            // Uncompressed point: 0x04 | x (32) | y (32).
            let point = pair.public_key().as_ref();
            if point.len() != 65 {
                return Err(KeyError::Unreadable);
            }
            let (x, y) = (
                URL_SAFE_NO_PAD.encode(&point[1..33]),
                URL_SAFE_NO_PAD.encode(&point[33..65]),
            );
            // RFC 7638 3.2: the required members, in lexicographic order, no spaces.
            let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
            return Ok(Self {
                pkcs8: der.to_vec(),
                encoding: EncodingKey::from_ec_der(der),
                algorithm: Algorithm::ES256,
                jwk: json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
                thumbprint: thumbprint(&canonical),
            });
        }
        if let Ok(pair) = Ed25519KeyPair::from_pkcs8(der) {
            let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
            let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
            return Ok(Self {
                pkcs8: der.to_vec(),
                encoding: EncodingKey::from_ed_der(der),
                algorithm: Algorithm::EdDSA,
                jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": x}),
                thumbprint: thumbprint(&canonical),
            });
        }
        Err(KeyError::Unreadable)
    }

    /// The private key, PKCS#8 DER: what a credential store keeps.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public key as a JWK.
    pub fn public_jwk(&self) -> &Value {
        &self.jwk
    }

    /// `{"keys": [public JWK]}`: the registration's `jwks`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }

    /// RFC 7638 thumbprint (SHA-256, base64url): a bound token's `cnf.jkt`.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// `ES256` or `EdDSA`.
    pub fn algorithm(&self) -> &'static str {
        match self.algorithm {
            Algorithm::EdDSA => "EdDSA",
            _ => "ES256",
        }
    }

    /// A compact JWS of `claims` with header `typ`, and the public `jwk` in the header
    /// when `embed_jwk` (DPoP proofs carry it; client assertions do not).
    pub fn sign(
        &self,
        typ: &str,
        embed_jwk: bool,
        claims: &impl Serialize,
    ) -> Result<String, KeyError> {
        let mut header = Header::new(self.algorithm);
        header.typ = Some(typ.to_owned());
        if embed_jwk {
            header.jwk = Some(
                serde_json::from_value(self.jwk.clone())
                    .map_err(|e| KeyError::Signing(e.to_string()))?,
            );
        }
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| KeyError::Signing(e.to_string()))
    }

    /// A DPoP proof (RFC 9449 4) for `htm htu`, issued now: with `ath` when it
    /// accompanies `access_token`, with the server's `nonce` when it asked for one.
    /// `htu` loses any query and fragment, as the RFC has it.
    pub fn dpop_proof(
        &self,
        htm: &str,
        htu: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<String, KeyError> {
        let claims = DpopClaims {
            jti: random_id()?,
            htm: htm.to_owned(),
            htu: htu.split(['?', '#']).next().unwrap_or_default().to_owned(),
            iat: unix_now(),
            ath: access_token.map(token_hash),
            nonce: nonce.map(str::to_owned),
        };
        self.sign(DPOP_TYP, true, &claims)
    }

    /// A client assertion (RFC 7523 3) for `client_id` at `audience` (the issuer or
    /// the token endpoint URL), valid for one minute.
    pub fn client_assertion(&self, client_id: &str, audience: &str) -> Result<String, KeyError> {
        let now = unix_now();
        let claims = AssertionClaims {
            iss: client_id.to_owned(),
            sub: client_id.to_owned(),
            aud: dcr_proto::claims::Audience(vec![audience.to_owned()]),
            exp: now + 60,
            jti: random_id()?,
            iat: Some(now),
            nbf: None,
        };
        self.sign("JWT", false, &claims)
    }
}

/// base64url(SHA-256(access token)): a proof's `ath` (RFC 9449 4.2).
pub fn token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        access_token.as_bytes(),
    ))
}

fn thumbprint(canonical: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        canonical.as_bytes(),
    ))
}

/// 128 random bits, base64url: a `jti`.
fn random_id() -> Result<String, KeyError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn payload(jws: &str) -> Value {
        let part = jws.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    fn header(jws: &str) -> Value {
        let part = jws.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn a_key_survives_its_stored_form_and_signs_what_rfc_9449_asks() {
        for key in [
            InstallKey::generate().unwrap(),
            InstallKey::generate_ed25519().unwrap(),
        ] {
            let again = InstallKey::from_pkcs8(key.pkcs8()).unwrap();
            assert_eq!(again.public_jwk(), key.public_jwk());
            assert_eq!(again.thumbprint(), key.thumbprint());
            assert!(key.public_jwk().get("d").is_none(), "the public half only");

            let proof = key
                .dpop_proof(
                    "GET",
                    "https://api.example/v1/x?q=1#f",
                    Some("tok"),
                    Some("n"),
                )
                .unwrap();
            let (h, p) = (header(&proof), payload(&proof));
            assert_eq!(h["typ"], "dpop+jwt");
            assert_eq!(h["alg"], key.algorithm());
            assert_eq!(&h["jwk"], key.public_jwk());
            assert_eq!(p["htu"], "https://api.example/v1/x");
            assert_eq!(p["htm"], "GET");
            assert_eq!(p["ath"], token_hash("tok"));
            assert_eq!(p["nonce"], "n");
            let other = key
                .dpop_proof("GET", "https://api.example/", None, None)
                .unwrap();
            assert_ne!(payload(&other)["jti"], p["jti"], "a fresh jti each time");
            assert!(payload(&other).get("ath").is_none());

            let assertion = key.client_assertion("cid", "https://dcr.example").unwrap();
            let p = payload(&assertion);
            assert_eq!((&p["iss"], &p["sub"]), (&json!("cid"), &json!("cid")));
            assert_eq!(p["aud"], "https://dcr.example");
            assert!(header(&assertion).get("jwk").is_none());
        }
        assert!(InstallKey::from_pkcs8(b"not a key").is_err());
    }

    #[test]
    fn the_thumbprint_is_rfc_7638s() {
        // RFC 7638 3.1's canonical form for an EC key, hashed as the RFC says.
        let canonical = r#"{"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
        assert_eq!(
            thumbprint(canonical),
            "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U"
        );
    }
}
