//! RFC 8725 attacks against every place that verifies a JWS: registration (statements),
//! forward auth, introspection and the guard (access tokens), for each signing
//! algorithm a deployment can use (ES256, RS256, EdDSA): `none`, HMAC keyed with every
//! form of our public key (RS/HS and ES/HS confusion), algorithm substitution, foreign
//! keys under our `kid`, keys offered by the token, tampering and oversize. Every attack
//! is refused, quickly, and none makes the server or the guard open a connection.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use dcr_core::jose::{KeyRing, SigningAlgorithm, generate_key};
use dcr_guard::{Guard, GuardConfig};
use dcr_testkit::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn part(v: &Value) -> String {
    B64.encode(v.to_string())
}

fn parts(jws: &str) -> (Value, Value, String) {
    let mut it = jws.split('.');
    let h = serde_json::from_slice(&B64.decode(it.next().unwrap()).unwrap()).unwrap();
    let p = serde_json::from_slice(&B64.decode(it.next().unwrap()).unwrap()).unwrap();
    (h, p, it.next().unwrap().to_owned())
}

fn with_header(jws: &str, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let (mut h, _, sig) = parts(jws);
    edit(h.as_object_mut().unwrap());
    let payload = jws.split('.').nth(1).unwrap();
    format!("{}.{payload}.{sig}", part(&h))
}

fn hmac_signed(header: &Value, payload: &Value, secret: &[u8]) -> String {
    let alg = match header["alg"].as_str().unwrap() {
        "HS384" => jsonwebtoken::Algorithm::HS384,
        "HS512" => jsonwebtoken::Algorithm::HS512,
        _ => jsonwebtoken::Algorithm::HS256,
    };
    let mut h = jsonwebtoken::Header::new(alg);
    h.kid = header["kid"].as_str().map(str::to_owned);
    h.typ = header["typ"].as_str().map(str::to_owned);
    jsonwebtoken::encode(&h, payload, &jsonwebtoken::EncodingKey::from_secret(secret)).unwrap()
}

/// A key of the attacker's; its public half can ride in `jwk` or a fake JWKS.
fn attacker() -> (KeyRing, dcr_proto::discovery::PublicJwk, Vec<u8>) {
    let g = generate_key(SigningAlgorithm::Es256).unwrap();
    let jwk = g.public_jwk.clone();
    let pkcs8 = g.private_pkcs8.clone();
    let ring = KeyRing::new("attacker".into(), g.into(), vec![]).unwrap();
    (ring, jwk, pkcs8)
}

/// `header.payload` signed with a fresh key of the attacker's, of algorithm `alg`,
/// whatever the header says: a valid signature by the wrong key.
fn signed_by_stranger(alg: SigningAlgorithm, header: &Value, payload: &Value) -> String {
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
    };
    let g = generate_key(alg).unwrap();
    let input = format!("{}.{}", part(header), part(payload));
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let signature = match alg {
        SigningAlgorithm::Es256 => {
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &g.private_pkcs8)
                .unwrap()
                .sign(&rng, input.as_bytes())
                .unwrap()
                .as_ref()
                .to_vec()
        }
        SigningAlgorithm::Rs256 => {
            let pair = RsaKeyPair::from_pkcs8(&g.private_pkcs8).unwrap();
            let mut sig = vec![0u8; pair.public_modulus_len()];
            pair.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig)
                .unwrap();
            sig
        }
        SigningAlgorithm::EdDsa => Ed25519KeyPair::from_pkcs8(&g.private_pkcs8)
            .unwrap()
            .sign(input.as_bytes())
            .as_ref()
            .to_vec(),
    };
    format!("{input}.{}", B64.encode(signature))
}

/// Re-signs `payload` with the attacker's key under an arbitrary header.
fn attacker_signed(
    header: serde_json::Map<String, Value>,
    payload: &Value,
    pkcs8: &[u8],
) -> String {
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    h.kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    h.typ = header.get("typ").and_then(Value::as_str).map(str::to_owned);
    h.jku = header.get("jku").and_then(Value::as_str).map(str::to_owned);
    h.x5u = header.get("x5u").and_then(Value::as_str).map(str::to_owned);
    h.jwk = header
        .get("jwk")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    jsonwebtoken::encode(&h, payload, &jsonwebtoken::EncodingKey::from_ec_der(pkcs8)).unwrap()
}

/// Attacks derived from one genuine JWS of ours, signed with `alg`.
fn corpus(alg: SigningAlgorithm, genuine: &str, jwks: &Value, trap: &str) -> Vec<(String, String)> {
    let (header, payload, signature) = parts(genuine);
    let our_kid = header["kid"].as_str().unwrap().to_owned();
    let typ = header["typ"].as_str().unwrap().to_owned();
    let (_, attacker_jwk, attacker_key) = attacker();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |name: &str, token: String| out.push((name.to_owned(), token));

    for none in ["none", "None", "NONE", "nOnE"] {
        let h = json!({"alg": none, "typ": typ, "kid": our_kid});
        add(
            &format!("alg {none}, no signature"),
            format!("{}.{}.", part(&h), part(&payload)),
        );
        add(
            &format!("alg {none}, original signature"),
            format!("{}.{}.{signature}", part(&h), part(&payload)),
        );
    }
    // HMAC keyed with what a verifier could mistake for a shared secret: our public key
    // in every form it is published in (RS/HS and ES/HS confusion).
    let public = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == our_kid.as_str())
        .unwrap()
        .clone();
    let mut materials: Vec<(String, Vec<u8>)> = vec![
        ("JWKS document".into(), jwks.to_string().into_bytes()),
        ("public JWK".into(), public.to_string().into_bytes()),
    ];
    let mut all_fields = Vec::new();
    for field in ["x", "y", "n", "e"] {
        if let Some(value) = public[field].as_str() {
            let bytes = B64.decode(value).unwrap();
            materials.push((format!("{field} member"), bytes.clone()));
            materials.push((format!("{field} member as text"), value.as_bytes().to_vec()));
            all_fields.extend(bytes);
        }
    }
    materials.push(("all key members".into(), all_fields));
    for alg in ["HS256", "HS384", "HS512"] {
        for (what, secret) in &materials {
            let h = json!({"alg": alg, "typ": typ, "kid": our_kid});
            add(
                &format!("{alg} keyed with our {what}"),
                hmac_signed(&h, &payload, secret),
            );
        }
    }
    for other in [
        "ES256", "ES384", "ES512", "RS256", "RS384", "PS256", "EdDSA", "Ed25519", "es256", "rs256",
        "",
    ] {
        if other == alg.as_str() {
            continue;
        }
        add(
            &format!("alg {other:?} with our kid and signature"),
            with_header(genuine, |h| {
                h.insert("alg".into(), json!(other));
            }),
        );
    }
    // A valid signature by a stranger's key of every algorithm, under our kid.
    for stranger in SigningAlgorithm::ALL {
        let h = json!({"alg": stranger.as_str(), "typ": typ, "kid": our_kid});
        add(
            &format!(
                "{} signature by a stranger's key, our kid",
                stranger.as_str()
            ),
            signed_by_stranger(stranger, &h, &payload),
        );
    }
    add(
        "alg missing",
        with_header(genuine, |h| {
            h.remove("alg");
        }),
    );
    for kid in [
        "../../../../etc/passwd",
        "' OR '1'='1",
        "x\u{0}y",
        "/dev/null",
        "",
        &"k".repeat(5000),
    ] {
        add(
            &format!("kid {:?}", kid.chars().take(20).collect::<String>()),
            with_header(genuine, |h| {
                h.insert("kid".into(), json!(kid));
            }),
        );
    }
    add(
        "kid missing",
        with_header(genuine, |h| {
            h.remove("kid");
        }),
    );
    add(
        "kid as number",
        with_header(genuine, |h| {
            h.insert("kid".into(), json!(1));
        }),
    );
    // Keys offered by the token itself: never fetched, never trusted.
    let h = |extra: Value| {
        let mut m = json!({"alg": "ES256", "typ": typ, "kid": attacker_jwk.kid})
            .as_object()
            .unwrap()
            .clone();
        m.extend(extra.as_object().unwrap().clone());
        m
    };
    add(
        "jku to the attacker",
        attacker_signed(
            h(json!({"jku": format!("{trap}/jwks.json")})),
            &payload,
            &attacker_key,
        ),
    );
    add(
        "x5u to the attacker",
        attacker_signed(
            h(json!({"x5u": format!("{trap}/cert.pem")})),
            &payload,
            &attacker_key,
        ),
    );
    add(
        "embedded jwk",
        attacker_signed(h(json!({"jwk": attacker_jwk})), &payload, &attacker_key),
    );
    add(
        "jku with our kid",
        with_header(genuine, |m| {
            m.insert("jku".into(), json!(format!("{trap}/jwks.json")));
        }),
    );
    add(
        "x5c chain",
        with_header(genuine, |m| {
            m.insert(
                "x5c".into(),
                json!(["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]),
            );
        }),
    );
    add(
        "unknown crit",
        with_header(genuine, |m| {
            m.insert("crit".into(), json!(["exp"]));
        }),
    );
    add(
        "crit b64 false",
        with_header(genuine, |m| {
            m.insert("crit".into(), json!(["b64"]));
            m.insert("b64".into(), json!(false));
        }),
    );
    add(
        "foreign key, foreign kid",
        attacker_signed(h(json!({})), &payload, &attacker_key),
    );
    add(
        "foreign key, our kid",
        attacker_signed(
            json!({"alg": "ES256", "typ": typ, "kid": our_kid})
                .as_object()
                .unwrap()
                .clone(),
            &payload,
            &attacker_key,
        ),
    );
    // Tampering.
    let mut p = payload.clone();
    p["sub"] = json!("00000000-0000-4000-8000-000000000000");
    add(
        "tampered payload",
        format!(
            "{}.{}.{signature}",
            genuine.split('.').next().unwrap(),
            part(&p)
        ),
    );
    add(
        "tampered header",
        with_header(genuine, |m| {
            m.insert("x-extra".into(), json!(1));
        }),
    );
    let mut sig = B64.decode(&signature).unwrap();
    sig[0] ^= 1;
    add(
        "tampered signature",
        format!(
            "{}.{}",
            genuine.rsplit_once('.').unwrap().0,
            B64.encode(&sig)
        ),
    );
    add(
        "truncated signature",
        format!(
            "{}.{}",
            genuine.rsplit_once('.').unwrap().0,
            B64.encode(&sig[..32])
        ),
    );
    if alg == SigningAlgorithm::Es256 {
        add(
            "DER signature",
            format!(
                "{}.{}",
                genuine.rsplit_once('.').unwrap().0,
                B64.encode(
                    [
                        &[0x30u8, 0x44, 0x02, 0x20][..],
                        &sig[..32],
                        &[0x02, 0x20],
                        &sig[32..]
                    ]
                    .concat()
                )
            ),
        );
    }
    add(
        "empty signature",
        format!("{}.", genuine.rsplit_once('.').unwrap().0),
    );
    add("four segments", format!("{genuine}.x"));
    add("JWE shape", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d".to_owned());
    add("padded base64", format!("{genuine}="));
    add("whitespace", genuine.replacen('.', " .", 1));
    for size in [8 * 1024, 64 * 1024, 1024 * 1024] {
        let mut p = payload.clone();
        p["pad"] = json!("A".repeat(size));
        add(
            &format!("oversized {} KiB", size / 1024),
            format!(
                "{}.{}.{signature}",
                genuine.split('.').next().unwrap(),
                part(&p)
            ),
        );
    }
    out
}

#[tokio::test]
async fn es256_deployments_refuse_the_rfc8725_corpus() {
    refuses_the_corpus(SigningAlgorithm::Es256).await;
}

#[tokio::test]
async fn rs256_deployments_refuse_the_rfc8725_corpus() {
    refuses_the_corpus(SigningAlgorithm::Rs256).await;
}

#[tokio::test]
async fn eddsa_deployments_refuse_the_rfc8725_corpus() {
    refuses_the_corpus(SigningAlgorithm::EdDsa).await;
}

/// Every verifier of a deployment signing with `alg` refuses the whole corpus, without
/// an outbound connection, and still accepts the genuine documents.
async fn refuses_the_corpus(alg: SigningAlgorithm) {
    // A trap: any connection to it means a header-supplied URL was fetched.
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let trap_url = format!("http://{}", trap.local_addr().unwrap());

    let app = spawn_app_with(|c| c.signing.algorithm = alg).await;
    let ready = app.ready_client().await;
    let jwks: Value = app.get_json("/.well-known/jwks.json").await;
    let (_, rs_key) = app.resource_server_key(Some("acme")).await;
    let guard = Guard::connect(GuardConfig::new(&app.base, rs_key.clone()))
        .await
        .unwrap();

    assert_eq!(header(&ready.token)["alg"], alg.as_str());
    let mut statements = corpus(alg, &ready.statement, &jwks, &trap_url);
    statements.push(("access token as statement".into(), ready.token.clone()));
    let mut tokens = corpus(alg, &ready.token, &jwks, &trap_url);
    tokens.push(("statement as access token".into(), ready.statement.clone()));
    assert!(statements.len() > 50 && tokens.len() > 50);

    let mut failures = Vec::new();
    for (name, statement) in &statements {
        let start = Instant::now();
        let r = app
            .http
            .post(app.url("/o/client/register"))
            .json(&json!({"software_statement": statement}))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        let error = body["error"].as_str().unwrap_or_default();
        let ok = status == StatusCode::BAD_REQUEST
            && (error == "invalid_software_statement" || error == "invalid_request");
        if !ok || start.elapsed() > Duration::from_secs(1) {
            failures.push(format!(
                "register / {name}: {status} {error} in {:?}",
                start.elapsed()
            ));
        }
    }
    for (name, token) in &tokens {
        // Forward auth. Tokens too large for a header are refused by the HTTP layer (431).
        let start = Instant::now();
        let status = match app
            .http
            .get(app.url("/o/auth/verify"))
            .bearer_auth(token)
            .send()
            .await
        {
            Ok(r) => r.status(),
            Err(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        };
        if !matches!(status.as_u16(), 401 | 431) || start.elapsed() > Duration::from_secs(1) {
            failures.push(format!(
                "verify / {name}: {status} in {:?}",
                start.elapsed()
            ));
        }
        // Introspection: inactive, or a 400 for a body over the limit.
        let r = app
            .http
            .post(app.url("/o/introspect"))
            .bearer_auth(&rs_key)
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        let refused = (status == StatusCode::OK && body == json!({"active": false}))
            || status == StatusCode::BAD_REQUEST;
        if !refused {
            failures.push(format!("introspect / {name}: {status} {body}"));
        }
        // The guard, directly.
        if guard.verify(token, None, None).await.is_ok() {
            failures.push(format!("guard / {name}: accepted"));
        }
    }
    assert!(
        failures.is_empty(),
        "{}:\n{}",
        alg.as_str(),
        failures.join("\n")
    );

    // The genuine ones still pass, so the refusals above are not a broken verifier.
    assert!(guard.verify(&ready.token, None, None).await.is_ok());
    assert_eq!(app.verify(&ready.token, &[]).await.0, StatusCode::OK);
    assert!(
        matches!(trap.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "something connected to a URL taken from a token header"
    );
}
