//! Proof of possession, server side: install keys (public JWKs an install registers or
//! an attester vouches for), and the JWTs signed with them: DPoP proofs (RFC 9449),
//! client assertions (RFC 7523, `private_key_jwt`) and attestation-based client
//! authentication (draft-ietf-oauth-attestation-based-client-auth-10). Pure
//! functions: freshness windows, replay and nonces are the caller's
//! (`service::binding`).
//!
//! Every JWT here is screened before any signature work, like our own tokens
//! (`jose.rs`): bounded size, a strict JSON header, no `jku`, `x5u`, `x5c`, `crit` or
//! `b64`, the expected `typ`, and an algorithm that is the key's own (ES256 for
//! P-256, EdDSA for Ed25519; never `none`, HMAC or RSA). The signature and the
//! registered claims are then checked by `jsonwebtoken`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dcr_proto::claims::Audience;
use dcr_proto::pop::{
    ATTESTATION_POP_TYP, ATTESTATION_TYP, AssertionClaims, AttestationClaims, AttestationPopClaims,
    DPOP_TYP, DpopClaims,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::jose::MAX_JWS_BYTES;

/// Header members a proof may never carry: keys fetched from elsewhere, extensions we
/// do not implement.
const FORBIDDEN_HEADER_MEMBERS: &[&str] = &["jku", "x5u", "x5c", "crit", "b64"];
/// Members of a private JWK: a key carrying any of them is refused, never used.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
/// Longest `jti` kept for replay checks.
const MAX_JTI_LEN: usize = 256;

/// Why a proof, an assertion, an attestation or a key was refused. The message names
/// the rule, never the secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("not a compact JWS")]
    Malformed,
    #[error("too large")]
    TooLarge,
    #[error("header member {0:?} is not accepted")]
    ForbiddenHeader(String),
    #[error("typ must be {0:?}")]
    WrongType(&'static str),
    #[error("the algorithm must be ES256 (P-256 key) or EdDSA (Ed25519 key) and match the key")]
    Algorithm,
    #[error("the key is not a public P-256 or Ed25519 JWK: {0}")]
    Key(&'static str),
    #[error("the signature does not verify")]
    Signature,
    #[error("claim {0} is missing or malformed")]
    Claim(&'static str),
    #[error("{0}")]
    Mismatch(&'static str),
    #[error("issued too long ago or in the future")]
    Stale,
    #[error("expired")]
    Expired,
}

/// A public install key: EC P-256 or Ed25519, with nothing private in it. Parsed once
/// (`InstallKey::from_jwk`); the canonical JWK and the RFC 7638 thumbprint come with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallKey {
    kind: KeyKind,
    /// RFC 7638 thumbprint (base64url SHA-256 of the canonical members).
    jkt: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyKind {
    P256 { x: String, y: String },
    Ed25519 { x: String },
}

impl InstallKey {
    /// A public JWK as JSON. Refused: private members, any other key type or curve,
    /// coordinates that are not 32 bytes of base64url.
    pub fn from_jwk(jwk: &Value) -> Result<Self, ProofError> {
        let Value::Object(members) = jwk else {
            return Err(ProofError::Key("not a JSON object"));
        };
        if PRIVATE_MEMBERS.iter().any(|m| members.contains_key(*m)) {
            return Err(ProofError::Key("it holds private key material"));
        }
        let text = |name: &str| members.get(name).and_then(Value::as_str);
        let coordinate = |name: &'static str| -> Result<String, ProofError> {
            let value = text(name).ok_or(ProofError::Key("a coordinate is missing"))?;
            match URL_SAFE_NO_PAD.decode(value) {
                Ok(bytes) if bytes.len() == 32 => Ok(value.to_owned()),
                _ => Err(ProofError::Key("a coordinate is not 32 bytes of base64url")),
            }
        };
        let kind = match (text("kty"), text("crv")) {
            (Some("EC"), Some("P-256")) => KeyKind::P256 {
                x: coordinate("x")?,
                y: coordinate("y")?,
            },
            (Some("OKP"), Some("Ed25519")) => KeyKind::Ed25519 {
                x: coordinate("x")?,
            },
            _ => return Err(ProofError::Key("kty/crv must be EC/P-256 or OKP/Ed25519")),
        };
        // The point must be on the curve (jsonwebtoken would only find out at the
        // first verification).
        on_curve(&kind)?;
        let jkt = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical(&kind).as_bytes()));
        Ok(Self { kind, jkt })
    }

    /// The key as stored and shown: its RFC 7638 required members, nothing else.
    pub fn to_jwk(&self) -> Value {
        match &self.kind {
            KeyKind::P256 { x, y } => {
                serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y})
            }
            KeyKind::Ed25519 { x } => serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x}),
        }
    }

    /// The public key as a certificate's subjectPublicKey holds it: `04 ‖ x ‖ y` for
    /// P-256, the 32 raw bytes for Ed25519.
    pub fn public_key_bits(&self) -> Vec<u8> {
        public_key_bits(&self.kind)
    }

    /// RFC 7638 thumbprint, base64url.
    pub fn thumbprint(&self) -> &str {
        &self.jkt
    }

    fn algorithm(&self) -> (&'static str, Algorithm) {
        match self.kind {
            KeyKind::P256 { .. } => ("ES256", Algorithm::ES256),
            KeyKind::Ed25519 { .. } => ("EdDSA", Algorithm::EdDSA),
        }
    }

    /// Verifies a JWT signed by this key: header screened (`typ` one of `typs`,
    /// `alg` the key's), signature checked, claims decoded. Freshness is the caller's.
    pub fn verify<T: DeserializeOwned>(
        &self,
        jws: &str,
        typ: &'static str,
        typ_optional: bool,
    ) -> Result<(Map<String, Value>, T), ProofError> {
        let header = screen(jws, typ, typ_optional)?;
        let (alg, algorithm) = self.algorithm();
        if header.get("alg").and_then(Value::as_str) != Some(alg) {
            return Err(ProofError::Algorithm);
        }
        let mut validation = Validation::new(algorithm);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let key = decoding_key(&self.kind)?;
        let data = jsonwebtoken::decode::<T>(jws, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidSignature | ErrorKind::InvalidEcdsaKey => ProofError::Signature,
                ErrorKind::Json(_) | ErrorKind::Utf8(_) | ErrorKind::MissingRequiredClaim(_) => {
                    ProofError::Claim("claims")
                }
                ErrorKind::InvalidAlgorithm => ProofError::Algorithm,
                _ => ProofError::Malformed,
            }
        })?;
        Ok((header, data.claims))
    }
}

fn canonical(kind: &KeyKind) -> String {
    match kind {
        KeyKind::P256 { x, y } => format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#),
        KeyKind::Ed25519 { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
    }
}

/// Whether the key is a valid public key of its curve, parsed by aws-lc-rs.
fn on_curve(kind: &KeyKind) -> Result<(), ProofError> {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey};
    let bits = public_key_bits(kind);
    let parsed = match kind {
        KeyKind::P256 { .. } => ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, bits),
        KeyKind::Ed25519 { .. } => ParsedPublicKey::new(&ED25519, bits),
    };
    parsed
        .map(|_| ())
        .map_err(|_| ProofError::Key("not a valid point of its curve"))
}

/// See [`InstallKey::public_key_bits`]; coordinates that are not base64url give
/// empty parts (which no curve accepts).
fn public_key_bits(kind: &KeyKind) -> Vec<u8> {
    let bytes = |b64: &str| URL_SAFE_NO_PAD.decode(b64).unwrap_or_default();
    match kind {
        KeyKind::P256 { x, y } => [vec![4u8], bytes(x), bytes(y)].concat(),
        KeyKind::Ed25519 { x } => bytes(x),
    }
}

fn decoding_key(kind: &KeyKind) -> Result<DecodingKey, ProofError> {
    let bad = |_| ProofError::Key("not a valid point");
    match kind {
        KeyKind::P256 { x, y } => DecodingKey::from_ec_components(x, y).map_err(bad),
        KeyKind::Ed25519 { x } => DecodingKey::from_ed_components(x).map_err(bad),
    }
}

/// The header of a compact JWS after the screen: size, shape, forbidden members, `typ`.
fn screen(
    jws: &str,
    typ: &'static str,
    typ_optional: bool,
) -> Result<Map<String, Value>, ProofError> {
    if jws.len() > MAX_JWS_BYTES {
        return Err(ProofError::TooLarge);
    }
    let mut parts = jws.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProofError::Malformed);
    };
    if h.is_empty() || p.is_empty() || s.is_empty() {
        return Err(ProofError::Malformed);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(h)
        .map_err(|_| ProofError::Malformed)?;
    let Ok(Value::Object(header)) = crate::strict_json::from_slice(&bytes) else {
        return Err(ProofError::Malformed);
    };
    if let Some(member) = FORBIDDEN_HEADER_MEMBERS
        .iter()
        .find(|m| header.contains_key(**m))
    {
        return Err(ProofError::ForbiddenHeader((*member).to_owned()));
    }
    match header.get("typ").and_then(Value::as_str) {
        Some(t) if t.eq_ignore_ascii_case(typ) => {}
        None if typ_optional => {}
        _ => return Err(ProofError::WrongType(typ)),
    }
    Ok(header)
}

/// base64url(SHA-256(access token)): the `ath` of a proof that presents the token.
pub fn token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

fn check_jti(jti: &str) -> Result<(), ProofError> {
    if jti.is_empty() || jti.len() > MAX_JTI_LEN {
        return Err(ProofError::Claim("jti"));
    }
    Ok(())
}

/// How fresh a proof must be: issued at most `max_age` seconds before now, at most
/// `max_future` seconds after (clock skew).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    pub max_age: i64,
    pub max_future: i64,
}

impl Freshness {
    fn check(&self, iat: i64, now: i64) -> Result<(), ProofError> {
        if iat < now.saturating_sub(self.max_age) || iat > now.saturating_add(self.max_future) {
            return Err(ProofError::Stale);
        }
        Ok(())
    }
}

/// What a DPoP proof must match.
#[derive(Debug, Clone, Copy)]
pub struct DpopExpectations<'a> {
    /// The request's method.
    pub htm: &'a str,
    /// The request's URI without query and fragment (scheme, host and path compared
    /// as RFC 9449 4.3 says, after normalisation).
    pub htu: &'a str,
    /// The access token the request presents (its hash must be `ath`), if any.
    pub access_token: Option<&'a str>,
    pub now: i64,
    pub freshness: Freshness,
}

/// A DPoP proof that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDpop {
    pub key: InstallKey,
    pub jti: String,
    pub iat: i64,
    pub nonce: Option<String>,
}

/// Verifies a DPoP proof (RFC 9449 4.3, all but replay and nonce, which need state).
pub fn verify_dpop(proof: &str, want: &DpopExpectations<'_>) -> Result<VerifiedDpop, ProofError> {
    let header = screen(proof, DPOP_TYP, false)?;
    let jwk = header
        .get("jwk")
        .ok_or(ProofError::Key("the header has no jwk"))?;
    let key = InstallKey::from_jwk(jwk)?;
    let (_, claims): (_, DpopClaims) = key.verify(proof, DPOP_TYP, false)?;
    check_jti(&claims.jti)?;
    if !claims.htm.eq_ignore_ascii_case(want.htm) || claims.htm != claims.htm.to_ascii_uppercase() {
        return Err(ProofError::Mismatch("htm is not the request's method"));
    }
    if !same_uri(&claims.htu, want.htu) {
        return Err(ProofError::Mismatch("htu is not the request's URI"));
    }
    want.freshness.check(claims.iat, want.now)?;
    match (want.access_token, &claims.ath) {
        (Some(token), Some(ath)) if *ath == token_hash(token) => {}
        (Some(_), _) => {
            return Err(ProofError::Mismatch(
                "ath is not the hash of the access token",
            ));
        }
        (None, _) => {}
    }
    Ok(VerifiedDpop {
        key,
        jti: claims.jti,
        iat: claims.iat,
        nonce: claims.nonce,
    })
}

/// RFC 9449 4.3 step 9: `htu` and the request URI are compared without query and
/// fragment, after RFC 3986 normalisation (scheme and host case, default port, dot
/// segments). A query or fragment in `htu` does not match.
fn same_uri(htu: &str, expected: &str) -> bool {
    let (Ok(a), Ok(b)) = (url::Url::parse(htu), url::Url::parse(expected)) else {
        return false;
    };
    if a.query().is_some()
        || a.fragment().is_some()
        || !a.username().is_empty()
        || a.password().is_some()
    {
        return false;
    }
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
        && a.path() == b.path()
}

/// A client assertion that verified (RFC 7523 3, `private_key_jwt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub jti: String,
    pub exp: i64,
}

/// Verifies a client assertion signed by `key` for `client_id`: `iss` = `sub` =
/// `client_id`, `aud` one of `audiences`, unexpired and expiring within
/// `max_lifetime` seconds, `nbf` (if any) passed.
pub fn verify_assertion(
    assertion: &str,
    key: &InstallKey,
    client_id: &str,
    audiences: &[&str],
    now: i64,
    max_lifetime: i64,
) -> Result<VerifiedAssertion, ProofError> {
    // RFC 7523 sets no typ; a `JWT` one is accepted.
    let (_, claims): (_, AssertionClaims) = key.verify(assertion, "JWT", true)?;
    if claims.iss != client_id || claims.sub != client_id {
        return Err(ProofError::Mismatch("iss and sub must be the client id"));
    }
    if !audiences.iter().any(|a| claims.aud.contains(a)) {
        return Err(ProofError::Mismatch(
            "aud must be the issuer or the token endpoint URL",
        ));
    }
    check_jti(&claims.jti)?;
    if claims.exp <= now {
        return Err(ProofError::Expired);
    }
    if claims.exp > now.saturating_add(max_lifetime) {
        return Err(ProofError::Mismatch("exp must be at most 5 minutes ahead"));
    }
    if claims.nbf.is_some_and(|nbf| nbf > now + 5) || claims.iat.is_some_and(|iat| iat > now + 60) {
        return Err(ProofError::Stale);
    }
    Ok(VerifiedAssertion {
        jti: claims.jti,
        exp: claims.exp,
    })
}

/// A client attester: whom the application trusts to vouch for install keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attester {
    /// `iss` of its attestations; `None` matches an attestation without one.
    pub issuer: Option<String>,
    pub keys: Vec<InstallKey>,
}

/// A client attestation and its proof of possession that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAttestation {
    /// The attestation's `sub`.
    pub subject: String,
    /// The instance key it vouches for.
    pub key: InstallKey,
    /// The PoP's `jti` (for replay checks) and challenge.
    pub pop_jti: String,
    pub challenge: Option<String>,
    pub exp: i64,
}

/// Verifies `OAuth-Client-Attestation` against the `attesters` and
/// `OAuth-Client-Attestation-PoP` against the key it vouches for (draft -10, 5.1 and
/// 5.2): `aud` of the PoP is `issuer`.
pub fn verify_attestation(
    attestation: &str,
    pop: &str,
    attesters: &[Attester],
    issuer: &str,
    now: i64,
    freshness: Freshness,
) -> Result<VerifiedAttestation, ProofError> {
    let header = screen(attestation, ATTESTATION_TYP, false)?;
    if header.contains_key("jwk") {
        return Err(ProofError::ForbiddenHeader("jwk".into()));
    }
    let claimed_issuer = unverified_issuer(attestation)?;
    let mut verified = None;
    for attester in attesters
        .iter()
        .filter(|a| a.issuer.is_none() || a.issuer == claimed_issuer)
    {
        for key in &attester.keys {
            match key.verify::<AttestationClaims>(attestation, ATTESTATION_TYP, false) {
                Ok((_, claims)) => {
                    verified = Some(claims);
                    break;
                }
                Err(ProofError::Signature | ProofError::Algorithm) => continue,
                Err(e) => return Err(e),
            }
        }
        if verified.is_some() {
            break;
        }
    }
    let claims = verified.ok_or(ProofError::Mismatch(
        "the attestation is not signed by one of the application's attesters",
    ))?;
    if claims.exp <= now {
        return Err(ProofError::Expired);
    }
    let key = InstallKey::from_jwk(&claims.cnf.jwk)?;
    let (_, proof): (_, AttestationPopClaims) = key.verify(pop, ATTESTATION_POP_TYP, false)?;
    if !proof.aud.contains(issuer) {
        return Err(ProofError::Mismatch("the PoP's aud must be the issuer"));
    }
    check_jti(&proof.jti)?;
    freshness.check(proof.iat, now)?;
    Ok(VerifiedAttestation {
        subject: claims.sub,
        key,
        pop_jti: proof.jti,
        challenge: proof.challenge,
        exp: claims.exp,
    })
}

/// The `iss` a JWT claims, read before its signature (only to pick the attester whose
/// keys to try; the signature decides).
fn unverified_issuer(jws: &str) -> Result<Option<String>, ProofError> {
    let payload = jws.split('.').nth(1).ok_or(ProofError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| ProofError::Malformed)?;
    let Ok(Value::Object(claims)) = crate::strict_json::from_slice(&bytes) else {
        return Err(ProofError::Malformed);
    };
    Ok(claims.get("iss").and_then(Value::as_str).map(str::to_owned))
}

/// An audience value the assertion's `aud` may be: used by callers that have the
/// deployment's URLs.
pub fn audience(values: &[String]) -> Audience {
    Audience(values.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
    };
    use jsonwebtoken::{EncodingKey, Header};

    /// A test install key: its private half as a signer, its public JWK.
    pub(crate) struct TestKey {
        pub encoding: EncodingKey,
        pub jwk: Value,
        pub alg: Algorithm,
    }

    pub(crate) fn p256() -> TestKey {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        let jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        TestKey {
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk,
            alg: Algorithm::ES256,
        }
    }

    pub(crate) fn ed25519() -> TestKey {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let jwk = serde_json::json!({
            "kty": "OKP", "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
        });
        TestKey {
            encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk,
            alg: Algorithm::EdDSA,
        }
    }

    fn sign(key: &TestKey, typ: &str, with_jwk: bool, claims: &Value) -> String {
        let mut header = Header::new(key.alg);
        header.typ = Some(typ.into());
        if with_jwk {
            header.jwk = Some(serde_json::from_value(key.jwk.clone()).unwrap());
        }
        jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
    }

    const NOW: i64 = 1_800_000_000;
    const FRESH: Freshness = Freshness {
        max_age: 60,
        max_future: 5,
    };

    fn expect<'a>(htm: &'a str, htu: &'a str, token: Option<&'a str>) -> DpopExpectations<'a> {
        DpopExpectations {
            htm,
            htu,
            access_token: token,
            now: NOW,
            freshness: FRESH,
        }
    }

    #[test]
    fn keys_are_public_p256_or_ed25519_with_rfc7638_thumbprints() {
        // The thumbprint of this widely used P-256 example key, as RFC 7638 computes it.
        let key = InstallKey::from_jwk(&serde_json::json!({
            "kty": "EC", "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        }))
        .unwrap();
        assert_eq!(
            key.thumbprint(),
            "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U"
        );
        let mut private = p256().jwk;
        private["d"] = Value::String(URL_SAFE_NO_PAD.encode([1u8; 32]));
        assert_eq!(
            InstallKey::from_jwk(&private),
            Err(ProofError::Key("it holds private key material"))
        );
        for bad in [
            serde_json::json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
            serde_json::json!({"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}),
            serde_json::json!({"kty": "oct", "k": "AAAA"}),
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}),
            serde_json::json!("a string"),
        ] {
            assert!(InstallKey::from_jwk(&bad).is_err(), "{bad}");
        }
        // Not on the curve.
        let off = serde_json::json!({"kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode([7u8; 32]), "y": URL_SAFE_NO_PAD.encode([9u8; 32])});
        assert!(InstallKey::from_jwk(&off).is_err());
        let ed = ed25519();
        assert!(InstallKey::from_jwk(&ed.jwk).is_ok());
    }

    #[test]
    fn a_dpop_proof_binds_method_uri_time_and_token() {
        for key in [p256(), ed25519()] {
            let proof = |claims: Value| sign(&key, DPOP_TYP, true, &claims);
            let good = serde_json::json!({"jti": "j1", "htm": "POST",
                "htu": "https://dcr.example/oauth2/token", "iat": NOW});
            let verified = verify_dpop(
                &proof(good.clone()),
                &expect("POST", "https://dcr.example/oauth2/token", None),
            )
            .unwrap();
            assert_eq!(verified.jti, "j1");
            assert_eq!(
                verified.key.thumbprint(),
                InstallKey::from_jwk(&key.jwk).unwrap().thumbprint()
            );
            // Normalised comparison: case of scheme and host, default port.
            assert!(
                verify_dpop(
                    &proof(good.clone()),
                    &expect("POST", "HTTPS://DCR.example:443/oauth2/token", None)
                )
                .is_ok()
            );
            for (what, want) in [
                (
                    "method",
                    expect("GET", "https://dcr.example/oauth2/token", None),
                ),
                (
                    "path",
                    expect("POST", "https://dcr.example/o/client/token", None),
                ),
                (
                    "host",
                    expect("POST", "https://evil.example/oauth2/token", None),
                ),
                (
                    "scheme",
                    expect("POST", "http://dcr.example/oauth2/token", None),
                ),
                (
                    "ath missing",
                    expect("POST", "https://dcr.example/oauth2/token", Some("tok")),
                ),
            ] {
                assert!(verify_dpop(&proof(good.clone()), &want).is_err(), "{what}");
            }
            let mut with_query = good.clone();
            with_query["htu"] = "https://dcr.example/oauth2/token?x=1".into();
            assert!(
                verify_dpop(
                    &proof(with_query),
                    &expect("POST", "https://dcr.example/oauth2/token", None)
                )
                .is_err()
            );
            for iat in [NOW - 61, NOW + 6] {
                let mut stale = good.clone();
                stale["iat"] = iat.into();
                assert_eq!(
                    verify_dpop(
                        &proof(stale),
                        &expect("POST", "https://dcr.example/oauth2/token", None)
                    ),
                    Err(ProofError::Stale)
                );
            }
            let mut bound = good.clone();
            bound["ath"] = token_hash("tok").into();
            assert!(
                verify_dpop(
                    &proof(bound.clone()),
                    &expect("POST", "https://dcr.example/oauth2/token", Some("tok"))
                )
                .is_ok()
            );
            assert!(
                verify_dpop(
                    &proof(bound),
                    &expect("POST", "https://dcr.example/oauth2/token", Some("other"))
                )
                .is_err()
            );
            // Wrong typ, no jwk, a key with private members, another key's signature.
            assert!(
                verify_dpop(
                    &sign(&key, "JWT", true, &good),
                    &expect("POST", "https://dcr.example/oauth2/token", None)
                )
                .is_err()
            );
            assert!(
                verify_dpop(
                    &sign(&key, DPOP_TYP, false, &good),
                    &expect("POST", "https://dcr.example/oauth2/token", None)
                )
                .is_err()
            );
        }
        // Signed by one key, another key in the header.
        let (a, b) = (p256(), p256());
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(DPOP_TYP.into());
        header.jwk = Some(serde_json::from_value(b.jwk.clone()).unwrap());
        let swapped = jsonwebtoken::encode(
            &header,
            &serde_json::json!({"jti": "j", "htm": "POST", "htu": "https://dcr.example/t", "iat": NOW}),
            &a.encoding,
        )
        .unwrap();
        assert_eq!(
            verify_dpop(&swapped, &expect("POST", "https://dcr.example/t", None)),
            Err(ProofError::Signature)
        );
        // alg: none and HS256 never pass the screen's algorithm rule.
        for header in [
            r#"{"typ":"dpop+jwt","alg":"none"}"#,
            r#"{"typ":"dpop+jwt","alg":"HS256"}"#,
        ] {
            let forged = format!(
                "{}.{}.c2ln",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(
                    r#"{"jti":"j","htm":"POST","htu":"https://dcr.example/t","iat":1800000000}"#
                )
            );
            assert!(verify_dpop(&forged, &expect("POST", "https://dcr.example/t", None)).is_err());
        }
    }

    #[test]
    fn a_client_assertion_names_the_client_and_the_server() {
        let key = p256();
        let install = InstallKey::from_jwk(&key.jwk).unwrap();
        let assertion = |claims: Value| sign(&key, "JWT", false, &claims);
        let good = serde_json::json!({"iss": "c1", "sub": "c1", "aud": "https://dcr.example",
            "exp": NOW + 60, "jti": "a1"});
        let auds = ["https://dcr.example", "https://dcr.example/oauth2/token"];
        let ok =
            verify_assertion(&assertion(good.clone()), &install, "c1", &auds, NOW, 300).unwrap();
        assert_eq!(ok.jti, "a1");
        for (what, patch) in [
            (
                "another client",
                serde_json::json!({"iss": "c2", "sub": "c2"}),
            ),
            (
                "another audience",
                serde_json::json!({"aud": "https://evil.example"}),
            ),
            ("expired", serde_json::json!({"exp": NOW - 1})),
            ("too long", serde_json::json!({"exp": NOW + 301})),
            ("no jti", serde_json::json!({"jti": ""})),
        ] {
            let mut claims = good.clone();
            for (k, v) in patch.as_object().unwrap() {
                claims[k] = v.clone();
            }
            assert!(
                verify_assertion(&assertion(claims), &install, "c1", &auds, NOW, 300).is_err(),
                "{what}"
            );
        }
        let other = InstallKey::from_jwk(&p256().jwk).unwrap();
        assert_eq!(
            verify_assertion(&assertion(good), &other, "c1", &auds, NOW, 300),
            Err(ProofError::Signature)
        );
    }

    #[test]
    fn an_attestation_vouches_for_the_key_that_signs_its_pop() {
        let attester_key = p256();
        let attester = Attester {
            issuer: Some("https://attester.acme.example".into()),
            keys: vec![InstallKey::from_jwk(&attester_key.jwk).unwrap()],
        };
        let instance = ed25519();
        let attestation = sign(
            &attester_key,
            ATTESTATION_TYP,
            false,
            &serde_json::json!({"iss": "https://attester.acme.example", "sub": "app-1",
                "exp": NOW + 3600, "cnf": {"jwk": instance.jwk}}),
        );
        let pop = |aud: &str, iat: i64| {
            sign(
                &instance,
                ATTESTATION_POP_TYP,
                false,
                &serde_json::json!({"aud": aud, "jti": "p1", "iat": iat}),
            )
        };
        let ok = verify_attestation(
            &attestation,
            &pop("https://dcr.example", NOW),
            std::slice::from_ref(&attester),
            "https://dcr.example",
            NOW,
            FRESH,
        )
        .unwrap();
        assert_eq!(ok.subject, "app-1");
        assert_eq!(ok.key, InstallKey::from_jwk(&instance.jwk).unwrap());
        assert!(
            verify_attestation(
                &attestation,
                &pop("https://other.example", NOW),
                std::slice::from_ref(&attester),
                "https://dcr.example",
                NOW,
                FRESH
            )
            .is_err()
        );
        assert_eq!(
            verify_attestation(
                &attestation,
                &pop("https://dcr.example", NOW - 600),
                std::slice::from_ref(&attester),
                "https://dcr.example",
                NOW,
                FRESH
            ),
            Err(ProofError::Stale)
        );
        // An attester the application does not trust.
        let stranger = Attester {
            issuer: None,
            keys: vec![InstallKey::from_jwk(&p256().jwk).unwrap()],
        };
        assert!(
            verify_attestation(
                &attestation,
                &pop("https://dcr.example", NOW),
                &[stranger],
                "https://dcr.example",
                NOW,
                FRESH
            )
            .is_err()
        );
        // A PoP signed by another key than the attested one.
        let imposter = sign(
            &p256(),
            ATTESTATION_POP_TYP,
            false,
            &serde_json::json!({"aud": "https://dcr.example", "jti": "p2", "iat": NOW}),
        );
        assert!(
            verify_attestation(
                &attestation,
                &imposter,
                std::slice::from_ref(&attester),
                "https://dcr.example",
                NOW,
                FRESH
            )
            .is_err()
        );
        // Expired attestation.
        assert_eq!(
            verify_attestation(
                &attestation,
                &pop("https://dcr.example", NOW),
                &[attester],
                "https://dcr.example",
                NOW + 3601,
                FRESH
            ),
            Err(ProofError::Expired)
        );
    }
}
