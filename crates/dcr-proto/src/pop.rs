//! Proof of possession on the wire: what a client sends to show it holds its install
//! key, and what a bound token carries. Shared by the server (which verifies), the SDKs
//! (which sign) and the guards.
//!
//! - DPoP proofs (RFC 9449): header `typ: dpop+jwt` with the public `jwk`, claims
//!   [`DpopClaims`]; a token bound to the key carries [`Confirmation`] (`cnf.jkt`).
//! - Client assertions (RFC 7523, `private_key_jwt`): claims [`AssertionClaims`].
//! - Attestation-based client authentication
//!   (draft-ietf-oauth-attestation-based-client-auth-10): the attester's
//!   [`AttestationClaims`] in `OAuth-Client-Attestation`, the instance's
//!   [`AttestationPopClaims`] in `OAuth-Client-Attestation-PoP`.

use serde::{Deserialize, Serialize};

use crate::claims::Audience;

/// `typ` of a DPoP proof.
pub const DPOP_TYP: &str = "dpop+jwt";
/// The request header carrying a DPoP proof, and the answer header carrying a nonce.
pub const DPOP_HEADER: &str = "dpop";
pub const DPOP_NONCE_HEADER: &str = "dpop-nonce";
/// `token_type` of a DPoP-bound access token, and the `Authorization` scheme it is
/// presented with.
pub const DPOP_TOKEN_TYPE: &str = "DPoP";
/// `client_assertion_type` of a JWT client assertion (RFC 7523 2.2).
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// `token_endpoint_auth_method` values.
pub const PRIVATE_KEY_JWT: &str = "private_key_jwt";
pub const ATTEST_JWT_CLIENT_AUTH: &str = "attest_jwt_client_auth";
/// `typ` of a client attestation and of its proof of possession.
pub const ATTESTATION_TYP: &str = "oauth-client-attestation+jwt";
pub const ATTESTATION_POP_TYP: &str = "oauth-client-attestation-pop+jwt";
/// The request headers of attestation-based client authentication.
pub const ATTESTATION_HEADER: &str = "oauth-client-attestation";
pub const ATTESTATION_POP_HEADER: &str = "oauth-client-attestation-pop";
/// The answer header carrying a fresh attestation challenge.
pub const ATTESTATION_CHALLENGE_HEADER: &str = "oauth-client-attestation-challenge";
/// The algorithms an install key may sign with: ES256 (P-256) and EdDSA (Ed25519).
pub const INSTALL_KEY_ALGORITHMS: [&str; 2] = ["ES256", "EdDSA"];

/// The claims of a DPoP proof (RFC 9449 4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DpopClaims {
    pub jti: String,
    /// The HTTP method of the request.
    pub htm: String,
    /// The request's URI without query and fragment.
    pub htu: String,
    pub iat: i64,
    /// base64url(SHA-256(access token)), when the proof accompanies a token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ath: Option<String>,
    /// The server's last `DPoP-Nonce`, when it asked for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// The `cnf` claim of a bound access token (RFC 9449 6.1): the RFC 7638 thumbprint of
/// the key it is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

/// The claims of a client assertion (RFC 7523 3): `iss` = `sub` = the client id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssertionClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// The `cnf` of a client attestation: the instance's public key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyConfirmation {
    pub jwk: serde_json::Value,
}

/// The claims of a client attestation, signed by the client attester.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttestationClaims {
    /// The attester; dcr looks its keys up among the application's attesters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The client id (at the token endpoints), or the application's `software_id`
    /// (an attestation made before the install registered).
    pub sub: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    pub cnf: KeyConfirmation,
}

/// The claims of an attestation's proof of possession, signed by the instance key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationPopClaims {
    /// The authorization server's issuer identifier.
    pub aud: Audience,
    pub jti: String,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
}
