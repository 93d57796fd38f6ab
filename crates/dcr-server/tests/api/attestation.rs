//! Attestation-based client authentication
//! (draft-ietf-oauth-attestation-based-client-auth-10): an attester the application
//! trusts vouches for an instance key, at registration and at both token endpoints.

use dcr_client::key::InstallKey;
use dcr_testkit::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const ATTESTER: &str = "https://attester.acme.example";

/// The attester's attestation that `instance` belongs to `sub`.
fn attestation(attester: &InstallKey, sub: &str, instance: &InstallKey, change: Value) -> String {
    let mut claims = json!({"iss": ATTESTER, "sub": sub, "iat": unix_now(), "exp": unix_now() + 3600,
        "cnf": {"jwk": instance.public_jwk()}});
    if let (Value::Object(c), Value::Object(changes)) = (&mut claims, change) {
        c.extend(changes);
    }
    attester
        .sign("oauth-client-attestation+jwt", false, &claims)
        .unwrap()
}

/// The instance's proof of possession for `issuer`.
fn pop(instance: &InstallKey, issuer: &str, change: Value) -> String {
    let mut claims = json!({"aud": issuer, "jti": unique_jti(), "iat": unix_now()});
    if let (Value::Object(c), Value::Object(changes)) = (&mut claims, change) {
        c.extend(changes);
    }
    instance
        .sign("oauth-client-attestation-pop+jwt", false, &claims)
        .unwrap()
}

async fn register(
    app: &TestApp,
    statement: &str,
    attestation: &str,
    pop: &str,
) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(app.url("/o/client/register"))
        .header("OAuth-Client-Attestation", attestation)
        .header("OAuth-Client-Attestation-PoP", pop)
        .header("X-Device-Info", device_info(r#"{"osName":"Android","model":"Shield","primaryHardwareType":"SetTopBox"}"#))
        .json(&json!({"software_statement": statement, "token_endpoint_auth_method": "attest_jwt_client_auth"}))
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn token(
    app: &TestApp,
    path: &str,
    client_id: &str,
    attestation: &str,
    pop: &str,
) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(app.url(path))
        .header("OAuth-Client-Attestation", attestation)
        .header("OAuth-Client-Attestation-PoP", pop)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
        ])
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_attested_instance_key_registers_and_authenticates() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    let created = app.default_app().await;
    let app_id = created["id"].as_str().unwrap().to_owned();
    let (_, statement) = app.statement(&app_id).await;
    let attester = InstallKey::generate().unwrap();
    let instance = InstallKey::generate().unwrap();
    let issuer = app.base.clone();

    // No attester configured: refused.
    let (s, body) = register(
        &app,
        &statement,
        &attestation(&attester, &app_id, &instance, json!({})),
        &pop(&instance, &issuer, json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client_attestation", "{body}");

    let (s, body) = app
        .admin_put(
            &format!("/applications/{app_id}/attesters"),
            json!({"attesters": [{"issuer": ATTESTER, "jwks": {"keys": [attester.public_jwk()]}}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["attesters"][0]["issuer"], ATTESTER);

    let (s, registered) = register(
        &app,
        &statement,
        &attestation(&attester, &app_id, &instance, json!({})),
        &pop(&instance, &issuer, json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{registered}");
    assert_eq!(
        registered["token_endpoint_auth_method"],
        "attest_jwt_client_auth"
    );
    assert!(registered.get("client_secret").is_none());
    let client_id = registered["client_id"].as_str().unwrap().to_owned();

    for (path, status) in [
        ("/oauth2/token", StatusCode::OK),
        ("/o/client/token", StatusCode::CREATED),
    ] {
        let a = attestation(&attester, &client_id, &instance, json!({}));
        let p = pop(&instance, &issuer, json!({}));
        let (s, body) = token(&app, path, &client_id, &a, &p).await;
        assert_eq!(s, status, "{body}");
        // The same proof of possession again is a replay.
        let (_, body) = token(&app, path, &client_id, &a, &p).await;
        assert_eq!(body["error"], "invalid_client", "{body}");
    }

    // Forgeries: another attester, another instance key, expired, stale or misaddressed
    // PoP, a PoP by a key the attestation does not name, the wrong typ.
    let rogue = InstallKey::generate().unwrap();
    let other_instance = InstallKey::generate().unwrap();
    let forged = [
        (attestation(&rogue, &client_id, &instance, json!({})), pop(&instance, &issuer, json!({}))),
        (attestation(&attester, &client_id, &other_instance, json!({})), pop(&other_instance, &issuer, json!({}))),
        (attestation(&attester, &client_id, &instance, json!({"exp": unix_now() - 1})), pop(&instance, &issuer, json!({}))),
        (attestation(&attester, &client_id, &instance, json!({"iss": "https://other.example"})), pop(&instance, &issuer, json!({}))),
        (attestation(&attester, "someone-else", &instance, json!({})), pop(&instance, &issuer, json!({}))),
        (attestation(&attester, &client_id, &instance, json!({})), pop(&instance, &issuer, json!({"iat": unix_now() - 900}))),
        (attestation(&attester, &client_id, &instance, json!({})), pop(&instance, "https://elsewhere.example", json!({}))),
        (attestation(&attester, &client_id, &instance, json!({})), pop(&other_instance, &issuer, json!({}))),
        (attester.sign("JWT", false, &json!({"iss": ATTESTER, "sub": client_id, "exp": unix_now() + 60, "cnf": {"jwk": instance.public_jwk()}})).unwrap(), pop(&instance, &issuer, json!({}))),
        ("garbage".to_owned(), "garbage".to_owned()),
    ];
    for (i, (a, p)) in forged.iter().enumerate() {
        let (s, body) = token(&app, "/oauth2/token", &client_id, a, p).await;
        assert!(s.is_client_error(), "forgery {i}: {s} {body}");
        assert_eq!(body["error"], "invalid_client", "forgery {i}: {body}");
    }
    // A secret-less client cannot be guessed into with a secret either.
    let r = app.token_raw(&client_id, "guess").await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
}
