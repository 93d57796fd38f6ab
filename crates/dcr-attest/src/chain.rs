//! Certificate chains: parsed with `x509-parser`, signatures checked with `aws-lc-rs`,
//! trusted when they reach the public key of a pinned root.

use std::collections::HashSet;

use x509_parser::prelude::{ASN1Time, FromDer, X509Certificate};

use crate::{AttestError, MAX_CERTIFICATE_BYTES, MAX_CHAIN, malformed};

const APPLE_APP_ATTESTATION_ROOT: &str = include_str!("roots/apple-app-attestation-root-ca.pem");
const GOOGLE_HARDWARE_ATTESTATION_ROOTS: &str =
    include_str!("roots/google-hardware-attestation-roots.pem");

/// Root certificates (DER). A chain is trusted when one of its certificates carries
/// the public key of one of them, or is signed by one: Google has reissued its RSA
/// root with the same key, and real chains end at any of those certificates.
#[derive(Debug, Clone)]
pub struct TrustAnchors {
    roots: Vec<Vec<u8>>,
}

impl TrustAnchors {
    /// The Apple App Attestation Root CA (SHA-256
    /// `1cb9823ba28ba6ad2d33a006941de2ae4f513ef1d4e831b9f7e0fa7b6242c932`).
    pub fn apple_app_attest() -> Self {
        Self::pinned(APPLE_APP_ATTESTATION_ROOT)
    }

    /// Google's hardware attestation roots: the RSA key (2016 and 2022 certificates)
    /// and the ECDSA P-384 Key Attestation CA1 (2025).
    pub fn google_key_attestation() -> Self {
        Self::pinned(GOOGLE_HARDWARE_ATTESTATION_ROOTS)
    }

    fn pinned(pem: &str) -> Self {
        // The pinned files are part of this crate and parsed by its tests.
        Self::from_pem(pem).unwrap_or(Self { roots: Vec::new() })
    }

    /// Roots from PEM text (`attestation.apple_roots`, `attestation.android_roots`).
    pub fn from_pem(pem: &str) -> Result<Self, AttestError> {
        let mut roots = Vec::new();
        for block in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
            let block = block.map_err(|e| malformed(format!("PEM: {e}")))?;
            if block.label != "CERTIFICATE" {
                continue;
            }
            X509Certificate::from_der(&block.contents)
                .map_err(|e| malformed(format!("root certificate: {e}")))?;
            roots.push(block.contents);
        }
        if roots.is_empty() {
            return Err(malformed("no CERTIFICATE in the PEM text"));
        }
        Ok(Self { roots })
    }

    pub fn len(&self) -> usize {
        self.roots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    fn parsed(&self) -> impl Iterator<Item = X509Certificate<'_>> {
        self.roots
            .iter()
            .filter_map(|der| X509Certificate::from_der(der).ok().map(|(_, c)| c))
    }
}

/// Serial numbers (lowercase hex, no leading zeros) of certificates the vendor has
/// revoked: Google's attestation status list.
#[derive(Debug, Clone, Default)]
pub struct RevokedSerials(HashSet<String>);

impl RevokedSerials {
    pub fn new(serials: impl IntoIterator<Item = String>) -> Self {
        Self(
            serials
                .into_iter()
                .map(|s| normalise_serial(&s.to_ascii_lowercase()))
                .collect(),
        )
    }

    /// Reads Google's status list (`{"entries": {"<serial>": {"status": "REVOKED"}}}`):
    /// every entry whose status is `REVOKED` (`SUSPENDED` counts as revoked too).
    pub fn from_google_status_json(json: &str) -> Result<Self, AttestError> {
        #[derive(serde::Deserialize)]
        struct StatusList {
            entries: std::collections::HashMap<String, Entry>,
        }
        #[derive(serde::Deserialize)]
        struct Entry {
            status: String,
        }
        let list: StatusList =
            serde_json::from_str(json).map_err(|e| malformed(format!("status list: {e}")))?;
        Ok(Self::new(list.entries.into_iter().filter_map(
            |(serial, e)| matches!(e.status.as_str(), "REVOKED" | "SUSPENDED").then_some(serial),
        )))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn contains(&self, cert: &X509Certificate<'_>) -> bool {
        let hex: String = cert
            .raw_serial()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.0.contains(&normalise_serial(&hex))
    }
}

fn normalise_serial(hex: &str) -> String {
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Parses `ders` (leaf first) and checks that each is valid at `at` (Unix seconds),
/// each is signed by the next, which is a CA, up to a certificate carrying a root's
/// key or signed by a root. Answers the parsed chain, leaf first.
pub(crate) fn verify_chain<'a>(
    ders: &'a [Vec<u8>],
    anchors: &TrustAnchors,
    revoked: &RevokedSerials,
    at: i64,
) -> Result<Vec<X509Certificate<'a>>, AttestError> {
    let untrusted = |m: String| AttestError::Chain(m);
    if ders.is_empty() || ders.len() > MAX_CHAIN {
        return Err(malformed(format!(
            "a certificate chain has 1 to {MAX_CHAIN} certificates"
        )));
    }
    let when = ASN1Time::from_timestamp(at).map_err(|_| malformed("verification time"))?;
    let mut chain = Vec::with_capacity(ders.len());
    for (i, der) in ders.iter().enumerate() {
        if der.len() > MAX_CERTIFICATE_BYTES {
            return Err(malformed(format!("certificate {i} is too large")));
        }
        let (rest, cert) = X509Certificate::from_der(der)
            .map_err(|e| malformed(format!("certificate {i}: {e}")))?;
        if !rest.is_empty() {
            return Err(malformed(format!("certificate {i}: bytes after the DER")));
        }
        if !cert.validity().is_valid_at(when) {
            return Err(untrusted(format!(
                "certificate {i} ({}) is not valid at the verification time \
                 (valid {} to {})",
                cert.subject(),
                cert.validity().not_before,
                cert.validity().not_after
            )));
        }
        if revoked.contains(&cert) {
            return Err(untrusted(format!(
                "certificate {i} ({}) is revoked",
                cert.subject()
            )));
        }
        chain.push(cert);
    }
    let roots: Vec<X509Certificate<'_>> = anchors.parsed().collect();
    for i in 0..chain.len() {
        let cert = &chain[i];
        if roots
            .iter()
            .any(|root| root.public_key().raw == cert.public_key().raw)
        {
            return Ok(chain);
        }
        match chain.get(i + 1) {
            Some(issuer) => {
                if !issuer.is_ca() {
                    return Err(untrusted(format!(
                        "certificate {} ({}) signs certificate {i} but is not a CA",
                        i + 1,
                        issuer.subject()
                    )));
                }
                cert.verify_signature(Some(issuer.public_key()))
                    .map_err(|_| {
                        untrusted(format!(
                            "certificate {i} ({}) is not signed by certificate {}",
                            cert.subject(),
                            i + 1
                        ))
                    })?;
            }
            None => {
                if roots
                    .iter()
                    .any(|root| cert.verify_signature(Some(root.public_key())).is_ok())
                {
                    return Ok(chain);
                }
            }
        }
    }
    Err(untrusted(
        "the chain does not lead to a trusted root".to_owned(),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_roots_parse() {
        assert_eq!(TrustAnchors::apple_app_attest().len(), 1);
        assert_eq!(TrustAnchors::google_key_attestation().len(), 3);
    }

    #[test]
    fn serials_compare_without_leading_zeros() {
        let revoked = RevokedSerials::from_google_status_json(
            r#"{"entries": {"00C35747A084470C3135AEEFE2B8D40CD6": {"status": "REVOKED", "reason": "KEY_COMPROMISE"},
                            "abc": {"status": "OK"}}}"#,
        )
        .unwrap();
        assert_eq!(revoked.len(), 1);
        assert!(revoked.0.contains("c35747a084470c3135aeefe2b8d40cd6"));
    }

    #[test]
    fn empty_long_and_garbage_chains_are_refused() {
        let anchors = TrustAnchors::apple_app_attest();
        let none = RevokedSerials::default();
        assert!(matches!(
            verify_chain(&[], &anchors, &none, 0),
            Err(AttestError::Malformed(_))
        ));
        let many = vec![vec![0x30, 0x00]; MAX_CHAIN + 1];
        assert!(matches!(
            verify_chain(&many, &anchors, &none, 0),
            Err(AttestError::Malformed(_))
        ));
        assert!(matches!(
            verify_chain(&[vec![0xff; 40]], &anchors, &none, 0),
            Err(AttestError::Malformed(_))
        ));
    }
}
