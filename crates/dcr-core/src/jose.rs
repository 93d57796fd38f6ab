//! Signing and verification of our JWS documents with pinned algorithms (RFC 8725).
//!
//! The algorithm comes from our key record named by `kid`, never from the token. Before
//! any signature work the header is screened: `jku`, `x5u`, `jwk`, `x5c` (keys we would
//! have to fetch or trust from the attacker), `crit` and `b64` (extensions we do not
//! implement) are refused, as is any `typ` other than the one expected, so a statement
//! can never pass as an access token or the other way round. The signature and the
//! registered claims are then checked by `jsonwebtoken` on the aws-lc-rs backend.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dcr_proto::claims::{ACCESS_TOKEN_TYP, AccessTokenClaims, STATEMENT_TYP, StatementClaims};
use dcr_proto::discovery::PublicJwk;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Largest token or statement we look at; anything bigger is refused before decoding.
pub const MAX_JWS_BYTES: usize = 8 * 1024;

/// Header members that are never accepted.
const FORBIDDEN_HEADER_MEMBERS: &[&str] = &["jku", "x5u", "jwk", "x5c", "crit", "b64"];

/// Why a JWS was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    #[error("not a compact JWS")]
    Malformed,
    #[error("token is too large")]
    TooLarge,
    #[error("header member {0:?} is not accepted")]
    ForbiddenHeader(String),
    #[error("unknown signing key")]
    UnknownKey,
    #[error("algorithm does not match the key")]
    AlgorithmMismatch,
    #[error("wrong token type")]
    WrongType,
    #[error("signature does not verify")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token was not issued by this server")]
    WrongIssuer,
    #[error("token claims are malformed")]
    BadClaims,
    #[error("signing failed")]
    Signing,
}

/// The algorithms we can sign with. The JWKS publishes one per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum SigningAlgorithm {
    /// ECDSA P-256 with SHA-256: small, fast tokens. The default.
    #[default]
    #[serde(rename = "ES256")]
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, RSA 2048: what RSA-only gateways (AWS API
    /// Gateway's JWT authorizer) accept.
    #[serde(rename = "RS256")]
    Rs256,
    /// Ed25519.
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl SigningAlgorithm {
    pub const ALL: [Self; 3] = [Self::Es256, Self::Rs256, Self::EdDsa];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
    fn jwt(self) -> Algorithm {
        match self {
            Self::Es256 => Algorithm::ES256,
            Self::Rs256 => Algorithm::RS256,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }
}

/// A freshly generated key pair: the private half to seal, the public half to publish.
pub struct GeneratedKey {
    pub kid: String,
    pub alg: SigningAlgorithm,
    /// PKCS#8 DER. Seal it before it touches storage.
    pub private_pkcs8: Vec<u8>,
    pub public_jwk: PublicJwk,
}

/// Generates a signing key; the `kid` is the RFC 7638 thumbprint of its public JWK.
pub fn generate_key(alg: SigningAlgorithm) -> Result<GeneratedKey, JoseError> {
    let private_pkcs8 = match alg {
        SigningAlgorithm::Es256 => {
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| JoseError::Signing)?
                .as_ref()
                .to_vec()
        }
        SigningAlgorithm::Rs256 => RsaKeyPair::generate(KeySize::Rsa2048)
            .and_then(|pair| pair.as_der())
            .map_err(|_| JoseError::Signing)?
            .as_ref()
            .to_vec(),
        SigningAlgorithm::EdDsa => Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| JoseError::Signing)?
            .as_ref()
            .to_vec(),
    };
    let public_jwk = Signer::from_pkcs8(alg, &private_pkcs8)?.public_jwk()?;
    Ok(GeneratedKey {
        kid: public_jwk.kid.clone(),
        alg,
        private_pkcs8,
        public_jwk,
    })
}

/// RFC 7638: the SHA-256 of the JWK's required members in lexicographic order,
/// base64url. Our `kid`s are these, so a verifier can recompute them.
fn thumbprint(canonical_members: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical_members.as_bytes()))
}

/// A private key, parsed once, of any algorithm we sign with.
///
/// ES256 signs with `ring` (already in the build, through rustls) rather than
/// `aws-lc-rs`: both run the same P-256 assembly, but aws-lc-rs goes through
/// `EVP_DigestSign`, which allocates its contexts and encodes each signature as DER
/// only to decode it back to `r || s`. Alternated on one store over ten pairs, tokens
/// went from a median of 11,346 to 12,204 per second and their p99 from 4.8–27 ms to
/// 2.9–4.6 ms (the commit that made this change has the runs).
enum Signer {
    Es256(ring::signature::EcdsaKeyPair),
    Rs256(RsaKeyPair),
    EdDsa(Ed25519KeyPair),
}

impl Signer {
    fn from_pkcs8(alg: SigningAlgorithm, pkcs8: &[u8]) -> Result<Self, JoseError> {
        Ok(match alg {
            SigningAlgorithm::Es256 => Self::Es256(
                ring::signature::EcdsaKeyPair::from_pkcs8(
                    &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    pkcs8,
                    &ring::rand::SystemRandom::new(),
                )
                .map_err(|_| JoseError::Signing)?,
            ),
            SigningAlgorithm::Rs256 => {
                let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| JoseError::Signing)?;
                // RFC 7518 3.3: 2048 bits or larger.
                if pair.public_modulus_len() < 256 {
                    return Err(JoseError::Signing);
                }
                Self::Rs256(pair)
            }
            SigningAlgorithm::EdDsa => {
                Self::EdDsa(Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| JoseError::Signing)?)
            }
        })
    }

    /// The public half as a JWK with `alg`, `use: "sig"` and a thumbprint `kid`.
    fn public_jwk(&self) -> Result<PublicJwk, JoseError> {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let mut jwk = PublicJwk {
            kty: String::new(),
            kid: String::new(),
            alg: String::new(),
            use_: "sig".into(),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
        };
        match self {
            Self::Es256(pair) => {
                // Uncompressed SEC1 point: 0x04 || x || y.
                let point = ring::signature::KeyPair::public_key(pair).as_ref();
                if point.len() != 65 || point[0] != 4 {
                    return Err(JoseError::Signing);
                }
                let (x, y) = (b64(&point[1..33]), b64(&point[33..65]));
                jwk.kid = thumbprint(&format!(
                    r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#
                ));
                jwk.kty = "EC".into();
                jwk.alg = "ES256".into();
                jwk.crv = Some("P-256".into());
                (jwk.x, jwk.y) = (Some(x), Some(y));
            }
            Self::Rs256(pair) => {
                let public = pair.public_key();
                let n = b64(public.modulus().big_endian_without_leading_zero());
                let e = b64(public.exponent().big_endian_without_leading_zero());
                jwk.kid = thumbprint(&format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#));
                jwk.kty = "RSA".into();
                jwk.alg = "RS256".into();
                (jwk.n, jwk.e) = (Some(n), Some(e));
            }
            Self::EdDsa(pair) => {
                let x = b64(pair.public_key().as_ref());
                jwk.kid = thumbprint(&format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#));
                jwk.kty = "OKP".into();
                jwk.alg = "EdDSA".into();
                jwk.crv = Some("Ed25519".into());
                jwk.x = Some(x);
            }
        }
        Ok(jwk)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        match self {
            // The fixed `r || s` form JWS uses (RFC 7518 3.4).
            Self::Es256(pair) => pair
                .sign(&ring::rand::SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| JoseError::Signing),
            Self::Rs256(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(|_| JoseError::Signing)?;
                Ok(signature)
            }
            Self::EdDsa(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// A key we verify with.
#[derive(Clone)]
struct VerifyingKey {
    alg: SigningAlgorithm,
    key: DecodingKey,
}

/// The key we sign with, parsed once: `jsonwebtoken::encode` would re-parse (and
/// re-validate) the PKCS#8 document on every signature, which costs as much as the
/// signature itself on the token path.
struct ActiveKey {
    kid: String,
    signer: Signer,
    /// `base64url(header)` per `typ`, computed once.
    statement_header: String,
    token_header: String,
}

/// Public keys and the issuer to verify our tokens and statements against: what the
/// server and every verifier outside it (the guard) share, so they cannot disagree.
#[derive(Clone)]
pub struct Verifier {
    issuer: String,
    keys: Arc<HashMap<String, VerifyingKey>>,
    /// Leeway for `nbf`, so a token minted by a node whose clock runs ahead is usable.
    nbf_leeway_seconds: i64,
}

impl Verifier {
    /// From published JWKs. Keys we cannot use (unknown `kty`/`alg`) are skipped: a
    /// token naming them then fails as `UnknownKey`.
    pub fn from_jwks(issuer: impl Into<String>, jwks: &[PublicJwk]) -> Self {
        let keys = jwks
            .iter()
            .filter_map(|jwk| {
                let alg = SigningAlgorithm::parse(&jwk.alg)?;
                let key = decoding_key(jwk, alg).ok()?;
                Some((jwk.kid.clone(), VerifyingKey { alg, key }))
            })
            .collect();
        Self {
            issuer: issuer.into(),
            keys: Arc::new(keys),
            nbf_leeway_seconds: 30,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn knows_kid(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// Verifies a software statement: ours, unaltered, `typ: JWT`. Statements do not
    /// expire; whether it is still approved is the store's question, not this one's.
    pub fn verify_statement(&self, jws: &str, now: i64) -> Result<StatementClaims, JoseError> {
        let (key, header) = self.screen(jws, &[STATEMENT_TYP])?;
        let mut validation = Validation::new(key.alg.jwt());
        validation.validate_exp = false;
        validation.required_spec_claims = ["iss", "sub"].iter().map(|s| s.to_string()).collect();
        let claims: StatementClaims = self.check(jws, key, validation)?;
        if claims.sub != claims.software_id || header.get("kid").is_none() {
            return Err(JoseError::BadClaims);
        }
        if claims.nbf > now + self.nbf_leeway_seconds {
            return Err(JoseError::NotYetValid);
        }
        Ok(claims)
    }

    /// Verifies an access token: ours, unaltered, `typ: at+jwt`, unexpired.
    pub fn verify_access_token(&self, jws: &str, now: i64) -> Result<AccessTokenClaims, JoseError> {
        let (key, _) = self.screen(jws, &[ACCESS_TOKEN_TYP, "application/at+jwt"])?;
        let mut validation = Validation::new(key.alg.jwt());
        // Expiry is checked below against the caller's clock, without leeway: we issued the
        // token, so "expired" means exactly what `exp` says.
        validation.validate_exp = false;
        validation.required_spec_claims = ["iss", "sub", "exp"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let claims: AccessTokenClaims = self.check(jws, key, validation)?;
        if claims.sub != claims.client_id {
            return Err(JoseError::BadClaims);
        }
        if claims.nbf > now + self.nbf_leeway_seconds {
            return Err(JoseError::NotYetValid);
        }
        if claims.exp <= now {
            return Err(JoseError::Expired);
        }
        Ok(claims)
    }

    /// Screens the header and picks our key; no signature work happens before this passes.
    fn screen(
        &self,
        jws: &str,
        typs: &[&str],
    ) -> Result<(&VerifyingKey, serde_json::Map<String, Value>), JoseError> {
        let header = screen_header(jws, typs)?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(JoseError::Malformed)?;
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or(JoseError::UnknownKey)?;
        let key = self.keys.get(kid).ok_or(JoseError::UnknownKey)?;
        if alg != key.alg.as_str() {
            return Err(JoseError::AlgorithmMismatch);
        }
        Ok((key, header))
    }

    fn check<T: DeserializeOwned>(
        &self,
        jws: &str,
        key: &VerifyingKey,
        mut validation: Validation,
    ) -> Result<T, JoseError> {
        validation.set_issuer(&[&self.issuer]);
        validation.validate_aud = false;
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<T>(jws, &key.key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidSignature | ErrorKind::InvalidEcdsaKey => JoseError::BadSignature,
                ErrorKind::InvalidIssuer => JoseError::WrongIssuer,
                ErrorKind::InvalidAlgorithm => JoseError::AlgorithmMismatch,
                ErrorKind::ExpiredSignature => JoseError::Expired,
                ErrorKind::ImmatureSignature => JoseError::NotYetValid,
                ErrorKind::Json(_) | ErrorKind::MissingRequiredClaim(_) | ErrorKind::Utf8(_) => {
                    JoseError::BadClaims
                }
                _ => JoseError::Malformed,
            }
        })?;
        Ok(data.claims)
    }
}

/// The JOSE header of a compact JWS after the policy screen: size, shape, forbidden
/// members and `typ`. Used before any key lookup or signature work.
fn screen_header(jws: &str, typs: &[&str]) -> Result<serde_json::Map<String, Value>, JoseError> {
    if jws.len() > MAX_JWS_BYTES {
        return Err(JoseError::TooLarge);
    }
    let mut parts = jws.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JoseError::Malformed);
    };
    if h.is_empty() || p.is_empty() || s.is_empty() {
        return Err(JoseError::Malformed);
    }
    let header_bytes = URL_SAFE_NO_PAD
        .decode(h)
        .map_err(|_| JoseError::Malformed)?;
    let Value::Object(header) =
        crate::strict_json::from_slice(&header_bytes).map_err(|_| JoseError::Malformed)?
    else {
        return Err(JoseError::Malformed);
    };
    if let Some(member) = FORBIDDEN_HEADER_MEMBERS
        .iter()
        .find(|m| header.contains_key(**m))
    {
        return Err(JoseError::ForbiddenHeader((*member).to_owned()));
    }
    let typ_ok = header
        .get("typ")
        .and_then(Value::as_str)
        .is_some_and(|t| typs.iter().any(|want| want.eq_ignore_ascii_case(t)));
    if !typ_ok {
        return Err(JoseError::WrongType);
    }
    Ok(header)
}

/// The `kid` of an access token whose header passes the screen; lets a verifier decide
/// whether to refetch the JWKS before trying.
pub fn access_token_kid(jws: &str) -> Option<String> {
    let header = screen_header(jws, &[ACCESS_TOKEN_TYP, "application/at+jwt"]).ok()?;
    header.get("kid").and_then(Value::as_str).map(str::to_owned)
}

/// Keys the server signs and verifies with, and the JWKS it publishes.
///
/// Published (and trusted for access tokens): the active key, the `next` key (so
/// verifiers have it before it signs), and retired keys while tokens they signed can
/// still be live. Trusted for software statements, which never expire: every key we
/// ever had.
#[derive(Clone)]
pub struct KeyRing {
    active: Arc<ActiveKey>,
    verifier: Verifier,
    statement_verifier: Verifier,
    published: Arc<Vec<PublicJwk>>,
}

/// One key as loaded from storage (private half already unsealed where present).
pub struct LoadedKey {
    pub kid: String,
    pub alg: SigningAlgorithm,
    pub public_jwk: PublicJwk,
    /// Present for the key that signs.
    pub private_pkcs8: Option<Vec<u8>>,
    /// `true` for `next` keys and retired keys still within the token lifetime.
    pub published: bool,
}

/// A key generated in this process, ready to sign and published: what a test, a
/// benchmark or a one-key ring needs without the seal-and-store round trip.
impl From<GeneratedKey> for LoadedKey {
    fn from(g: GeneratedKey) -> Self {
        Self {
            kid: g.kid,
            alg: g.alg,
            public_jwk: g.public_jwk,
            private_pkcs8: Some(g.private_pkcs8),
            published: true,
        }
    }
}

impl KeyRing {
    /// Builds the ring from the active key and every other key we have.
    pub fn new(
        issuer: String,
        active: LoadedKey,
        others: Vec<LoadedKey>,
    ) -> Result<Self, JoseError> {
        let private = active.private_pkcs8.as_deref().ok_or(JoseError::Signing)?;
        let signer = Signer::from_pkcs8(active.alg, private)?;
        let encoded_header = |typ: &str| -> Result<String, JoseError> {
            let mut header = Header::new(active.alg.jwt());
            header.typ = Some(typ.to_owned());
            header.kid = Some(active.kid.clone());
            let json = serde_json::to_vec(&header).map_err(|_| JoseError::Signing)?;
            Ok(URL_SAFE_NO_PAD.encode(json))
        };
        let active_key = ActiveKey {
            kid: active.kid.clone(),
            statement_header: encoded_header(STATEMENT_TYP)?,
            token_header: encoded_header(ACCESS_TOKEN_TYP)?,
            signer,
        };
        let all: Vec<&LoadedKey> = std::iter::once(&active).chain(others.iter()).collect();
        let published: Vec<PublicJwk> = std::iter::once(&active)
            .chain(others.iter().filter(|k| k.published))
            .map(|k| k.public_jwk.clone())
            .collect();
        let every: Vec<PublicJwk> = all.iter().map(|k| k.public_jwk.clone()).collect();
        let verifier = Verifier::from_jwks(issuer.clone(), &published);
        if !verifier.knows_kid(&active_key.kid) {
            return Err(JoseError::UnknownKey);
        }
        Ok(Self {
            active: Arc::new(active_key),
            verifier,
            statement_verifier: Verifier::from_jwks(issuer, &every),
            published: Arc::new(published),
        })
    }

    pub fn issuer(&self) -> &str {
        self.verifier.issuer()
    }

    pub fn active_kid(&self) -> &str {
        &self.active.kid
    }

    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The public keys for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Vec<PublicJwk> {
        self.published.as_ref().clone()
    }

    pub fn sign_statement(&self, claims: &StatementClaims) -> Result<String, JoseError> {
        let payload = serde_json::to_vec(claims).map_err(|_| JoseError::Signing)?;
        self.sign(&self.active.statement_header, &payload)
    }

    pub fn sign_access_token(&self, claims: &AccessTokenClaims) -> Result<String, JoseError> {
        let payload = claims.to_json().map_err(|_| JoseError::Signing)?;
        self.sign(&self.active.token_header, &payload)
    }

    /// Compact JWS (RFC 7515 7.1): `header.payload.signature`. Every token signed here
    /// is verified by `jsonwebtoken` in the tests, so the format cannot drift unnoticed.
    fn sign(&self, encoded_header: &str, payload: &[u8]) -> Result<String, JoseError> {
        let mut jws = String::with_capacity(encoded_header.len() + payload.len() * 4 / 3 + 100);
        jws.push_str(encoded_header);
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut jws);
        let signature = self.active.signer.sign(jws.as_bytes())?;
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut jws);
        Ok(jws)
    }

    pub fn verify_statement(&self, jws: &str, now: i64) -> Result<StatementClaims, JoseError> {
        self.statement_verifier.verify_statement(jws, now)
    }

    pub fn verify_access_token(&self, jws: &str, now: i64) -> Result<AccessTokenClaims, JoseError> {
        self.verifier.verify_access_token(jws, now)
    }
}

/// The verification key of a published JWK; its `kty` (and curve) must be the one its
/// `alg` needs, so an RSA key can never verify an ES256 signature or the reverse.
fn decoding_key(jwk: &PublicJwk, alg: SigningAlgorithm) -> Result<DecodingKey, JoseError> {
    let unknown = |_| JoseError::UnknownKey;
    match (alg, jwk.kty.as_str(), jwk.crv.as_deref()) {
        (SigningAlgorithm::Es256, "EC", Some("P-256")) => match (&jwk.x, &jwk.y) {
            (Some(x), Some(y)) => DecodingKey::from_ec_components(x, y).map_err(unknown),
            _ => Err(JoseError::UnknownKey),
        },
        (SigningAlgorithm::Rs256, "RSA", None) => match (&jwk.n, &jwk.e) {
            (Some(n), Some(e)) => DecodingKey::from_rsa_components(n, e).map_err(unknown),
            _ => Err(JoseError::UnknownKey),
        },
        (SigningAlgorithm::EdDsa, "OKP", Some("Ed25519")) => match &jwk.x {
            Some(x) => DecodingKey::from_ed_components(x).map_err(unknown),
            None => Err(JoseError::UnknownKey),
        },
        _ => Err(JoseError::UnknownKey),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_ring(issuer: &str) -> Option<(KeyRing, GeneratedKey)> {
        let g = generate_key(SigningAlgorithm::Es256).ok()?;
        let loaded = LoadedKey {
            kid: g.kid.clone(),
            alg: g.alg,
            public_jwk: g.public_jwk.clone(),
            private_pkcs8: Some(g.private_pkcs8.clone()),
            published: true,
        };
        Some((KeyRing::new(issuer.into(), loaded, vec![]).ok()?, g))
    }

    fn statement(iss: &str) -> StatementClaims {
        StatementClaims {
            iss: iss.into(),
            sub: "app".into(),
            software_id: "app".into(),
            software_version: "1.0.0".into(),
            jti: "j".into(),
            iat: 1,
            nbf: 1,
        }
    }

    fn access(iss: &str, exp: i64) -> AccessTokenClaims {
        AccessTokenClaims {
            cnf: None,
            iss: iss.into(),
            sub: "c".into(),
            aud: dcr_proto::claims::Audience(vec!["https://api.example".into()]),
            client_id: "c".into(),
            jti: "t".into(),
            iat: 1,
            nbf: 1,
            exp,
            scopes: "a".into(),
            scope: "a".into(),
            software_id: "app".into(),
            sst: "j".into(),
            programmer: "p".into(),
            channels: None,
        }
    }

    fn forge(header: &str, payload_from: &str) -> String {
        let mut parts = payload_from.split('.');
        let _ = parts.next();
        let payload = parts.next().unwrap_or_default();
        let sig = parts.next().unwrap_or_default();
        format!("{}.{payload}.{sig}", URL_SAFE_NO_PAD.encode(header))
    }

    #[test]
    fn statements_round_trip_and_tampering_fails() {
        let (ring, _) = new_ring("http://iss").expect("key ring");
        let jws = ring
            .sign_statement(&statement("http://iss"))
            .unwrap_or_default();
        assert_eq!(
            ring.verify_statement(&jws, 10).map(|c| c.sub),
            Ok("app".into())
        );
        let mut bytes = jws.clone().into_bytes();
        let mid = bytes.len() / 2;
        bytes[mid] = if bytes[mid] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap_or_default();
        assert!(ring.verify_statement(&tampered, 10).is_err());
    }

    #[test]
    fn foreign_issuer_and_foreign_key_are_refused() {
        let (ring, _) = new_ring("http://iss").expect("key ring");
        let (other, _) = new_ring("http://iss").expect("key ring");
        let foreign = other
            .sign_statement(&statement("http://iss"))
            .unwrap_or_default();
        assert_eq!(
            ring.verify_statement(&foreign, 10),
            Err(JoseError::UnknownKey)
        );
        let wrong_iss = ring
            .sign_statement(&statement("http://evil"))
            .unwrap_or_default();
        assert_eq!(
            ring.verify_statement(&wrong_iss, 10),
            Err(JoseError::WrongIssuer)
        );
    }

    #[test]
    fn typ_confusion_is_refused_both_ways() {
        let (ring, _) = new_ring("http://iss").expect("key ring");
        let st = ring
            .sign_statement(&statement("http://iss"))
            .unwrap_or_default();
        let at = ring
            .sign_access_token(&access("http://iss", 100))
            .unwrap_or_default();
        assert_eq!(ring.verify_access_token(&st, 10), Err(JoseError::WrongType));
        assert_eq!(ring.verify_statement(&at, 10), Err(JoseError::WrongType));
        assert!(ring.verify_access_token(&at, 10).is_ok());
        assert_eq!(ring.verify_access_token(&at, 100), Err(JoseError::Expired));
    }

    #[test]
    fn hostile_headers_are_refused_before_signature_work() {
        let (ring, g) = new_ring("http://iss").expect("key ring");
        let st = ring
            .sign_statement(&statement("http://iss"))
            .unwrap_or_default();
        let kid = g.kid;
        let cases = [
            (
                format!(r#"{{"alg":"none","typ":"JWT","kid":"{kid}"}}"#),
                JoseError::AlgorithmMismatch,
            ),
            (
                format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#),
                JoseError::AlgorithmMismatch,
            ),
            (
                format!(r#"{{"alg":"ES256","typ":"JWT","kid":"{kid}","jku":"http://x"}}"#),
                JoseError::ForbiddenHeader("jku".into()),
            ),
            (
                format!(
                    r#"{{"alg":"ES256","typ":"JWT","kid":"{kid}","crit":["b64"],"b64":false}}"#
                ),
                JoseError::ForbiddenHeader("crit".into()),
            ),
            (
                r#"{"alg":"ES256","typ":"JWT","kid":"../../etc/passwd"}"#.to_string(),
                JoseError::UnknownKey,
            ),
            (
                r#"{"alg":"ES256","typ":"JWT"}"#.to_string(),
                JoseError::UnknownKey,
            ),
            (
                format!(r#"{{"alg":"ES256","typ":"JWT","kid":"{kid}","kid":"{kid}"}}"#),
                JoseError::Malformed,
            ),
        ];
        for (header, want) in cases {
            assert_eq!(
                ring.verify_statement(&forge(&header, &st), 10),
                Err(want),
                "{header}"
            );
        }
        assert_eq!(ring.verify_statement("a.b", 10), Err(JoseError::Malformed));
        assert_eq!(
            ring.verify_statement(&"a".repeat(MAX_JWS_BYTES + 1), 10),
            Err(JoseError::TooLarge)
        );
    }
}
