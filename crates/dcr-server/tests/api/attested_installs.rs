//! Attested installs: a challenge from `POST /o/client/challenge`, then App Attest or
//! Key Attestation evidence at registration, under each policy. The evidence is built
//! as devices build it and signed by test roots the server is configured to trust
//! (`attestation.apple_roots`, `attestation.android_roots`).

use dcr_client::key::InstallKey;
use dcr_testkit::attest::{AndroidKey, TestAuthority, rcgen_key};
use dcr_testkit::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const PACKAGE: &str = "com.acme.tv";
const APP_ID: &str = "TEAM123456.com.acme.ios";

struct Attested {
    app: TestApp,
    google: TestAuthority,
    apple: TestAuthority,
    app_id: String,
    statement: String,
    _roots: tempfile::TempDir,
}

/// A server trusting two test roots, and an application with App Attest and Key
/// Attestation settings under `policy` (`{"default": "require"}`, say).
async fn attested(policy: Value) -> Attested {
    let google = TestAuthority::new("Test Google");
    let apple = TestAuthority::new("Test Apple");
    let roots = tempfile::tempdir().unwrap();
    let android_roots = roots.path().join("android.pem");
    let apple_roots = roots.path().join("apple.pem");
    std::fs::write(&android_roots, google.root_pem()).unwrap();
    std::fs::write(&apple_roots, apple.root_pem()).unwrap();
    let app = spawn_app_with(|c| {
        c.attestation.android_roots = Some(android_roots);
        c.attestation.apple_roots = Some(apple_roots);
    })
    .await;
    app.seed_programmer().await;
    let created = app.default_app().await;
    let app_id = created["id"].as_str().unwrap().to_owned();
    let (s, settings) = app
        .admin_put(
            &format!("/applications/{app_id}/attestation"),
            json!({"apple": {"team_id": "TEAM123456", "bundle_ids": ["com.acme.ios"]},
                   "android": {"package_names": [PACKAGE], "signing_cert_sha256": ["ab".repeat(32)]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{settings}");
    assert_eq!(
        settings["attestation"]["android"]["min_security_level"],
        "tee"
    );
    let (s, updated) = app
        .admin_put(
            &format!("/applications/{app_id}/policy"),
            json!({ "attestation": policy }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{updated}");
    let (_, statement) = app.statement(&app_id).await;
    Attested {
        app,
        google,
        apple,
        app_id,
        statement,
        _roots: roots,
    }
}

async fn challenge(app: &TestApp, statement: &str) -> String {
    let r = reqwest::Client::new()
        .post(app.url("/o/client/challenge"))
        .json(&json!({ "software_statement": statement }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["expires_in"], 300);
    body["challenge"].as_str().unwrap().to_owned()
}

async fn register(
    app: &TestApp,
    statement: &str,
    key: &InstallKey,
    attestation: Option<Value>,
) -> (StatusCode, Value) {
    let mut extra = json!({"jwks": key.jwks(), "token_endpoint_auth_method": "private_key_jwt"});
    if let Some(evidence) = attestation {
        extra["attestation"] = evidence;
    }
    let r = app.register_raw(statement, extra).await;
    (r.status(), r.json().await.unwrap())
}

fn android_evidence(
    t: &Attested,
    key: &InstallKey,
    challenge: &str,
    change: impl FnOnce(&mut AndroidKey),
) -> Value {
    let mut description = AndroidKey::new(challenge, key.thumbprint(), PACKAGE);
    change(&mut description);
    t.google
        .android_key_evidence(&rcgen_key(key.pkcs8()), &description, challenge)
}

#[tokio::test]
async fn key_attestation_registers_an_install_and_the_client_keeps_the_verdict() {
    let t = attested(json!({"default": "require"})).await;
    let key = InstallKey::generate().unwrap();
    let c = challenge(&t.app, &t.statement).await;
    let evidence = android_evidence(&t, &key, &c, |_| {});
    let (s, registered) = register(&t.app, &t.statement, &key, Some(evidence.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{registered}");
    assert_eq!(registered["attestation"]["format"], "android-key");
    assert_eq!(registered["attestation"]["result"], "pass");
    assert_eq!(registered["attestation"]["security_level"], "tee");
    assert_eq!(registered["attestation"]["app"], PACKAGE);
    assert_eq!(registered["attestation"]["app_version"], "42");

    // RFC 7592: the registration shows its verdict.
    let read: Value = reqwest::Client::new()
        .get(registered["registration_client_uri"].as_str().unwrap())
        .bearer_auth(registered["registration_access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["attestation"], registered["attestation"]);

    // The console's client page says what the attestation established.
    let mut tab =
        crate::console::signed_in(&t.app, "sec@acme.example", "programmer-admin", "acme", None)
            .await;
    let client_id = registered["client_id"].as_str().unwrap();
    let (_, page) = tab.get(&format!("/dashboard/clients/{client_id}")).await;
    assert_eq!(
        crate::console::text_of(&page, "client-attestation"),
        format!("pass: android-key, tee, {PACKAGE}, 42")
    );

    // The same evidence again: the challenge is spent.
    let other = InstallKey::generate().unwrap();
    let (s, refused) = register(&t.app, &t.statement, &key, Some(evidence)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"], "invalid_attestation");
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("used already"),
        "{refused}"
    );

    // No attestation where the application requires one.
    let (s, refused) = register(&t.app, &t.statement, &other, None).await;
    assert_eq!(
        (s, refused["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_attestation"))
    );
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("/o/client/challenge")
    );

    // Metrics count the verdicts.
    let metrics = reqwest::get(t.app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("dcr_registrations_total")
                && l.contains("attestation=\"pass\"")
                && l.contains("outcome=\"issued\"")),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("dcr_registrations_total")
                && l.contains("attestation=\"fail\"")
                && l.contains("outcome=\"invalid_attestation\""))
    );
}

/// Evidence made by a forger, for a challenge.
type Forgery<'a> = Box<dyn Fn(&Attested, &str) -> Value + 'a>;

#[tokio::test]
async fn forged_key_attestations_are_refused_under_require() {
    let t = attested(json!({"default": "require"})).await;
    let key = InstallKey::generate().unwrap();
    let cases: Vec<(&str, Forgery)> = vec![
        (
            "trusted root",
            Box::new(|_: &Attested, c: &str| {
                let attacker = TestAuthority::new("Attacker");
                let description = AndroidKey::new(c, key.thumbprint(), PACKAGE);
                attacker.android_key_evidence(&rcgen_key(key.pkcs8()), &description, c)
            }),
        ),
        (
            "package",
            Box::new(|t: &Attested, c: &str| {
                android_evidence(t, &key, c, |d| d.package = "com.evil.tv".into())
            }),
        ),
        (
            "signed with a certificate",
            Box::new(|t: &Attested, c: &str| {
                android_evidence(t, &key, c, |d| d.signer_sha256 = vec![1; 32])
            }),
        ),
        (
            "lives in software",
            Box::new(|t: &Attested, c: &str| {
                android_evidence(t, &key, c, |d| d.security_level = 0)
            }),
        ),
        (
            "verified boot",
            Box::new(|t: &Attested, c: &str| {
                android_evidence(t, &key, c, |d| d.verified_boot = false)
            }),
        ),
        (
            "this challenge",
            Box::new(|t: &Attested, c: &str| {
                let mut evidence = android_evidence(t, &key, c, |_| {});
                evidence["challenge"] = json!(c);
                let mut d = AndroidKey::new(c, "another-key-thumbprint", PACKAGE);
                d.version = 1;
                evidence["certificate_chain"] =
                    t.google
                        .android_key_evidence(&rcgen_key(key.pkcs8()), &d, c)["certificate_chain"]
                        .clone();
                evidence
            }),
        ),
        (
            "install key",
            Box::new(|t: &Attested, c: &str| {
                let stranger = InstallKey::generate().unwrap();
                let d = AndroidKey::new(c, key.thumbprint(), PACKAGE);
                t.google
                    .android_key_evidence(&rcgen_key(stranger.pkcs8()), &d, c)
            }),
        ),
        (
            "malformed",
            Box::new(|t: &Attested, c: &str| {
                let mut evidence = android_evidence(t, &key, c, |_| {});
                evidence["certificate_chain"][0] = json!("MIIB");
                evidence
            }),
        ),
        (
            "1 to 8",
            Box::new(
                |_: &Attested, c: &str| json!({"format": "android-key", "certificate_chain": vec!["MIIB"; 100], "challenge": c}),
            ),
        ),
    ];
    for (why, evidence) in cases {
        let c = challenge(&t.app, &t.statement).await;
        let (s, refused) = register(&t.app, &t.statement, &key, Some(evidence(&t, &c))).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{why}: {refused}");
        assert_eq!(refused["error"], "invalid_attestation", "{why}");
        let description = refused["error_description"].as_str().unwrap();
        assert!(description.contains(why), "{why}: {description}");
    }
    // A challenge that is not ours, or is another application's.
    for (challenge, why) in [("AAAA", "not one this server issued")] {
        let evidence = android_evidence(&t, &key, challenge, |_| {});
        let (s, refused) = register(&t.app, &t.statement, &key, Some(evidence)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(
            refused["error_description"].as_str().unwrap().contains(why),
            "{refused}"
        );
    }
    let other_app = t
        .app
        .create_app(
            json!({"name": "Acme TV", "level": "programmer", "platforms": ["ios"],
        "scopes": ["api:client:v2"], "domains": ["https://acme.example"]}),
        )
        .await;
    let (_, other_statement) = t.app.statement(other_app["id"].as_str().unwrap()).await;
    let foreign = challenge(&t.app, &other_statement).await;
    let (s, refused) = register(
        &t.app,
        &t.statement,
        &key,
        Some(android_evidence(&t, &key, &foreign, |_| {})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("another application"),
        "{refused}"
    );
    let _ = &t.app_id;
}

#[tokio::test]
async fn app_attest_registers_an_ios_install() {
    let t = attested(json!({"default": "off", "ios": "require"})).await;
    let key = InstallKey::generate().unwrap();
    let c = challenge(&t.app, &t.statement).await;
    let evidence = t.apple.app_attest_evidence(APP_ID, &c, key.thumbprint());
    let (s, registered) = register(&t.app, &t.statement, &key, Some(evidence)).await;
    assert_eq!(s, StatusCode::CREATED, "{registered}");
    assert_eq!(registered["attestation"]["format"], "apple-appattest");
    assert_eq!(registered["attestation"]["result"], "pass");
    assert_eq!(registered["attestation"]["app"], APP_ID);

    // Another app of the same team, and a development attestation, are refused.
    let c = challenge(&t.app, &t.statement).await;
    let evidence = t
        .apple
        .app_attest_evidence("TEAM123456.com.evil", &c, key.thumbprint());
    let (s, refused) = register(&t.app, &t.statement, &key, Some(evidence)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{refused}");
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("another app")
    );
}

#[tokio::test]
async fn report_registers_a_failing_attestation_and_statements_alone_keep_working_where_allowed() {
    let t = attested(json!({"default": "report"})).await;
    let key = InstallKey::generate().unwrap();
    let c = challenge(&t.app, &t.statement).await;
    let evidence = android_evidence(&t, &key, &c, |d| d.package = "com.evil.tv".into());
    let (s, registered) = register(&t.app, &t.statement, &key, Some(evidence)).await;
    assert_eq!(s, StatusCode::CREATED, "{registered}");
    assert_eq!(registered["attestation"]["result"], "fail");
    assert!(
        registered["attestation"]["reason"]
            .as_str()
            .unwrap()
            .contains("package")
    );

    // A Roku-style registration: a statement, no key, no attestation.
    let (client_id, secret) = t.app.register(&t.statement).await;
    assert!(!t.app.token(&client_id, &secret).await.is_empty());
}

#[tokio::test]
async fn challenges_are_for_approved_statements_only_and_attestation_settings_are_checked() {
    let t = attested(json!({"default": "off"})).await;
    for (body, status) in [
        (
            json!({"software_statement": "not.a.jws"}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({}), StatusCode::BAD_REQUEST),
        (
            json!({"software_statement": t.statement, "extra": 1}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let r = reqwest::Client::new()
            .post(t.app.url("/o/client/challenge"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{body}");
        let v: Value = r.json().await.unwrap();
        assert!(v["error"].is_string(), "{v}");
    }
    t.app.admin().revoke_application(&t.app_id).await.unwrap();
    let r = reqwest::Client::new()
        .post(t.app.url("/o/client/challenge"))
        .json(&json!({"software_statement": t.statement}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "unapproved_software_statement");

    let other = t.app.default_app().await;
    let id = other["id"].as_str().unwrap();
    for bad in [
        json!({"apple": {"team_id": "short", "bundle_ids": ["com.acme.ios"]}}),
        json!({"apple": {"team_id": "TEAM123456", "bundle_ids": []}}),
        json!({"android": {"package_names": ["nodots"]}}),
        json!({"android": {"package_names": ["com.acme.tv"], "signing_cert_sha256": ["xyz"]}}),
        json!({"android": {"package_names": ["com.acme.tv"], "min_security_level": "software"}}),
        json!({"windows": {}}),
    ] {
        let (s, v) = t
            .app
            .admin_put(&format!("/applications/{id}/attestation"), bad.clone())
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }
}
