//! Platform attestations made in tests: a test root and intermediate stand in for
//! Apple's and Google's, and evidence is built the way devices build it (X.509 from
//! `rcgen`, DER from `yasna`, CBOR from `ciborium`), so verifiers and the server see
//! the same bytes a device would send, signed by a root the test controls. Only with
//! the `testing` feature; never in the `dcr` binary.
#![allow(clippy::expect_used)]

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384,
};
use sha2::{Digest, Sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const KEY_DESCRIPTION_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 11_129, 2, 1, 17];
const APP_ATTEST_NONCE_OID: &[u64] = &[1, 2, 840, 113_635, 100, 8, 2];

/// A root and an intermediate CA, as a vendor has.
pub struct TestAuthority {
    root_pem: String,
    root_der: Vec<u8>,
    intermediate_der: Vec<u8>,
    intermediate: Issuer<'static, KeyPair>,
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2045, 1, 1);
    params
}

impl TestAuthority {
    pub fn new(name: &str) -> Self {
        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).expect("root key");
        let root_params = ca_params(&format!("{name} Root"));
        let root = root_params.self_signed(&root_key).expect("root");
        let root_issuer = Issuer::new(root_params, root_key);
        let intermediate_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let intermediate_params = ca_params(&format!("{name} Intermediate"));
        let intermediate = intermediate_params
            .signed_by(&intermediate_key, &root_issuer)
            .expect("intermediate");
        Self {
            root_pem: root.pem(),
            root_der: root.der().to_vec(),
            intermediate_der: intermediate.der().to_vec(),
            intermediate: Issuer::new(intermediate_params, intermediate_key),
        }
    }

    /// The root, as `attestation.apple_roots` / `attestation.android_roots` take it.
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    fn leaf(&self, key: &KeyPair, extension: CustomExtension) -> Vec<u8> {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, "Attested key");
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2045, 1, 1);
        params.custom_extensions.push(extension);
        params
            .signed_by(key, &self.intermediate)
            .expect("leaf")
            .der()
            .to_vec()
    }

    /// An Android Key Attestation chain (leaf, intermediate, root; DER) for `install_key`.
    pub fn android_key_chain(&self, install_key: &KeyPair, key: &AndroidKey) -> Vec<Vec<u8>> {
        let extension = CustomExtension::from_oid_content(KEY_DESCRIPTION_OID, key.description());
        vec![
            self.leaf(install_key, extension),
            self.intermediate_der.clone(),
            self.root_der.clone(),
        ]
    }

    /// The same chain as the `certificate_chain` of `"format": "android-key"` evidence.
    pub fn android_key_evidence(
        &self,
        install_key: &KeyPair,
        key: &AndroidKey,
        challenge: &str,
    ) -> serde_json::Value {
        let chain: Vec<String> = self
            .android_key_chain(install_key, key)
            .iter()
            .map(|der| B64.encode(der))
            .collect();
        serde_json::json!({"format": "android-key", "certificate_chain": chain, "challenge": challenge})
    }

    /// An App Attest attestation of a new App Attest key for `app_id` (`TEAM.bundle`)
    /// over `client_data_hash`: (key id, base64; attestation object, CBOR).
    pub fn app_attest(
        &self,
        app_id: &str,
        client_data_hash: &[u8],
        development: bool,
    ) -> (String, Vec<u8>) {
        let credential = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let key_id = Sha256::digest(credential.public_key_raw()).to_vec();
        let aaguid: &[u8; 16] = if development {
            b"appattestdevelop"
        } else {
            b"appattest\0\0\0\0\0\0\0"
        };
        let raw = credential.public_key_raw();
        let cose_key = ciborium::Value::Map(vec![
            (1.into(), 2.into()),
            (3.into(), (-7).into()),
            ((-1).into(), 1.into()),
            ((-2).into(), ciborium::Value::Bytes(raw[1..33].to_vec())),
            ((-3).into(), ciborium::Value::Bytes(raw[33..65].to_vec())),
        ]);
        let mut auth_data = Sha256::digest(app_id.as_bytes()).to_vec();
        auth_data.push(0x40);
        auth_data.extend_from_slice(&0u32.to_be_bytes());
        auth_data.extend_from_slice(aaguid);
        auth_data.extend_from_slice(&u16::try_from(key_id.len()).expect("32").to_be_bytes());
        auth_data.extend_from_slice(&key_id);
        ciborium::into_writer(&cose_key, &mut auth_data).expect("COSE key");
        let nonce: Vec<u8> = Sha256::new()
            .chain_update(&auth_data)
            .chain_update(client_data_hash)
            .finalize()
            .to_vec();
        let extension_value = yasna::construct_der(|w| {
            w.write_sequence(|w| {
                w.next()
                    .write_tagged(yasna::Tag::context(1), |w| w.write_bytes(&nonce));
            });
        });
        let extension = CustomExtension::from_oid_content(APP_ATTEST_NONCE_OID, extension_value);
        let leaf = self.leaf(&credential, extension);
        let object = ciborium::Value::Map(vec![
            ("fmt".into(), "apple-appattest".into()),
            (
                "attStmt".into(),
                ciborium::Value::Map(vec![
                    (
                        "x5c".into(),
                        ciborium::Value::Array(vec![
                            ciborium::Value::Bytes(leaf),
                            ciborium::Value::Bytes(self.intermediate_der.clone()),
                        ]),
                    ),
                    ("receipt".into(), ciborium::Value::Bytes(vec![0; 16])),
                ]),
            ),
            ("authData".into(), ciborium::Value::Bytes(auth_data)),
        ]);
        let mut bytes = Vec::new();
        ciborium::into_writer(&object, &mut bytes).expect("CBOR");
        (B64.encode(key_id), bytes)
    }

    /// `"format": "apple-appattest"` evidence for the install key thumbprint `jkt`.
    pub fn app_attest_evidence(
        &self,
        app_id: &str,
        challenge: &str,
        jkt: &str,
    ) -> serde_json::Value {
        let (key_id, object) = self.app_attest(app_id, &client_data_hash(challenge, jkt), false);
        serde_json::json!({"format": "apple-appattest", "key_id": key_id,
            "object": B64.encode(object), "challenge": challenge})
    }
}

/// `SHA-256(challenge + "." + jkt)`: what evidence is made over.
pub fn client_data_hash(challenge: &str, jkt: &str) -> Vec<u8> {
    Sha256::digest(format!("{challenge}.{jkt}").as_bytes()).to_vec()
}

/// What a KeyDescription says.
#[derive(Debug, Clone)]
pub struct AndroidKey {
    pub challenge: Vec<u8>,
    pub package: String,
    pub version: u64,
    pub signer_sha256: Vec<u8>,
    /// 0 software, 1 TEE, 2 StrongBox.
    pub security_level: u32,
    pub verified_boot: bool,
}

impl AndroidKey {
    pub fn new(challenge: &str, jkt: &str, package: &str) -> Self {
        Self {
            challenge: client_data_hash(challenge, jkt),
            package: package.to_owned(),
            version: 42,
            signer_sha256: vec![0xab; 32],
            security_level: 1,
            verified_boot: true,
        }
    }

    /// The KeyDescription's DER: version 200 (KeyMint 2), the two security levels, the
    /// challenge, an empty unique id, softwareEnforced with attestationApplicationId
    /// ([709]), hardwareEnforced with rootOfTrust ([704]).
    pub fn description(&self) -> Vec<u8> {
        let application_id = yasna::construct_der(|w| {
            w.write_sequence(|w| {
                w.next().write_set(|w| {
                    w.next().write_sequence(|w| {
                        w.next().write_bytes(self.package.as_bytes());
                        w.next().write_u64(self.version);
                    });
                });
                w.next()
                    .write_set(|w| w.next().write_bytes(&self.signer_sha256));
            });
        });
        yasna::construct_der(|w| {
            w.write_sequence(|w| {
                w.next().write_u32(200);
                w.next().write_enum(i64::from(self.security_level));
                w.next().write_u32(200);
                w.next().write_enum(i64::from(self.security_level));
                w.next().write_bytes(&self.challenge);
                w.next().write_bytes(&[]);
                w.next().write_sequence(|w| {
                    w.next().write_tagged(yasna::Tag::context(709), |w| {
                        w.write_bytes(&application_id);
                    });
                });
                w.next().write_sequence(|w| {
                    w.next().write_tagged(yasna::Tag::context(704), |w| {
                        w.write_sequence(|w| {
                            w.next().write_bytes(&[0; 32]);
                            w.next().write_bool(self.verified_boot);
                            w.next().write_enum(if self.verified_boot { 0 } else { 2 });
                            w.next().write_bytes(&[0; 32]);
                        });
                    });
                });
            });
        })
    }
}

/// The install key as `rcgen` signs with it (the same PKCS#8 the SDK's key holds).
pub fn rcgen_key(pkcs8: &[u8]) -> KeyPair {
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.to_vec());
    KeyPair::from_pkcs8_der_and_sign_algo(&der, &PKCS_ECDSA_P256_SHA256).expect("P-256 PKCS#8")
}
