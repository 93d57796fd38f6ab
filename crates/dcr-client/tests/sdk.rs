//! The SDK against a real server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use dcr_client::{ClientConfig, DcrClient};
use dcr_testkit::*;
use reqwest::Method;

async fn clients_of(app: &TestApp, app_id: &str) -> usize {
    let (_, list) = app
        .admin_get(&format!("/applications/{app_id}/clients"))
        .await;
    list["items"].as_array().unwrap().len()
}

async fn setup(app: &TestApp) -> (String, String) {
    app.seed_programmer().await;
    let created = app.default_app().await;
    let app_id = created["id"].as_str().unwrap().to_owned();
    let (_, statement) = app.statement(&app_id).await;
    (app_id, statement)
}

#[tokio::test]
async fn credentials_survive_a_restart_without_a_second_registration() {
    let app = spawn_app().await;
    let (app_id, statement) = setup(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("creds.json");
    let first = DcrClient::new(ClientConfig::new(&app.base, &statement, &cache)).unwrap();
    let id = first.client_id().await.unwrap();
    first.access_token().await.unwrap();
    drop(first);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let second = DcrClient::new(ClientConfig::new(&app.base, &statement, &cache)).unwrap();
    assert_eq!(second.client_id().await.unwrap(), id);
    let token = second.access_token().await.unwrap();
    assert_eq!(app.verify(&token, &[]).await.0, 200);
    assert_eq!(clients_of(&app, &app_id).await, 1, "registered once, ever");
}

#[tokio::test]
async fn a_hundred_concurrent_callers_cause_one_token_request() {
    let app = spawn_app().await;
    let (_, statement) = setup(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let client = Arc::new(
        DcrClient::new(ClientConfig::new(
            &app.base,
            &statement,
            dir.path().join("c.json"),
        ))
        .unwrap(),
    );
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.access_token().await.unwrap() })
        })
        .collect();
    let mut tokens = std::collections::HashSet::new();
    for t in tasks {
        tokens.insert(t.await.unwrap());
    }
    // Every token has its own jti: one distinct token means one request.
    assert_eq!(tokens.len(), 1);
}

#[tokio::test]
async fn tokens_are_renewed_before_they_expire() {
    let app = spawn_app_with(|c| c.token.ttl_seconds = 4).await;
    let (_, statement) = setup(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = ClientConfig::new(&app.base, &statement, dir.path().join("c.json"));
    config.renew_skew = Duration::from_secs(2);
    config.renew_jitter = Duration::ZERO;
    let client = DcrClient::new(config).unwrap();
    let first = client.access_token().await.unwrap();
    assert_eq!(
        client.access_token().await.unwrap(),
        first,
        "fresh tokens are reused"
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let second = client.access_token().await.unwrap();
    assert_ne!(second, first, "renewed while the old one was still valid");
    assert_eq!(
        app.verify(&first, &[]).await.0,
        200,
        "the old token had not expired yet"
    );
}

#[tokio::test]
async fn a_401_renews_once_and_retries() {
    let app = spawn_app().await;
    let (_, statement) = setup(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c.json");
    let client = DcrClient::new(ClientConfig::new(&app.base, &statement, &cache)).unwrap();
    client.access_token().await.unwrap();
    drop(client);
    // Spoil the cached token: still "valid" by its expiry, refused by the server.
    let mut saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
    saved["token"]["access_token"] = "eyJhbGciOiJFUzI1NiJ9.e30.AAAA".into();
    std::fs::write(&cache, serde_json::to_vec(&saved).unwrap()).unwrap();
    let client = DcrClient::new(ClientConfig::new(&app.base, &statement, &cache)).unwrap();
    let r = client
        .call(Method::GET, &app.url("/o/auth/verify"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        !client.take_reregistration(),
        "a 401 is not a reason to register again"
    );
}

#[tokio::test]
async fn invalid_client_causes_a_reregistration_that_is_reported() {
    let app = spawn_app().await;
    let (app_id, statement) = setup(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = ClientConfig::new(&app.base, &statement, dir.path().join("c.json"));
    config.renew_skew = Duration::from_secs(30_000);
    config.renew_jitter = Duration::ZERO;
    let client = DcrClient::new(config).unwrap();
    let old = client.client_id().await.unwrap();
    client.access_token().await.unwrap();
    app.admin_post(&format!("/clients/{old}/revoke"), serde_json::json!({}))
        .await;
    // The skew makes every token stale, so this asks the token endpoint again.
    let token = client.access_token().await.unwrap();
    assert!(client.take_reregistration());
    assert!(!client.take_reregistration(), "reported once");
    assert_ne!(client.client_id().await.unwrap(), old);
    assert_eq!(app.verify(&token, &[]).await.0, 200);
    assert_eq!(clients_of(&app, &app_id).await, 2);
}

#[tokio::test]
async fn throttling_is_waited_out_as_told() {
    let app = spawn_app_with(|c| {
        c.throttle = dcr_server::config::ThrottleConfig {
            enabled: true,
            capacity: 1,
            refill_per_second: 1.0,
            ..Default::default()
        };
    })
    .await;
    let (_, statement) = setup(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let client = DcrClient::new(ClientConfig::new(
        &app.base,
        &statement,
        dir.path().join("c.json"),
    ))
    .unwrap();
    let start = std::time::Instant::now();
    // Registration spends the one token; the token request is throttled, waits ~1 s, succeeds.
    let token = client.access_token().await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "did not wait for Retry-After"
    );
    assert!(!token.is_empty());
}

#[tokio::test]
async fn unregister_deletes_the_registration_and_the_cache() {
    let app = spawn_app().await;
    let (_, statement) = setup(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("creds.json");
    let client = DcrClient::new(ClientConfig::new(&app.base, &statement, &cache)).unwrap();
    let id = client.client_id().await.unwrap();
    let token = client.access_token().await.unwrap();
    client.unregister().await.unwrap();
    assert!(!cache.exists(), "the cache is gone");
    assert_eq!(
        app.verify(&token, &[]).await.0,
        401,
        "its tokens are refused"
    );
    let (_, record) = app.admin_get(&format!("/clients/{id}")).await;
    assert_eq!(record["status"], "revoked");
    // Idempotent; and the next use registers a new client.
    client.unregister().await.unwrap();
    assert_ne!(client.client_id().await.unwrap(), id);
}

/// A store holds one server's credentials for one application: another server, or a
/// statement of another application, is a clear error and not a wrong token. A new
/// statement of the same application (a rotated build) keeps the credentials.
#[tokio::test]
async fn the_store_is_bound_to_its_server_and_application() {
    let app = spawn_app().await;
    let (app_id, statement) = setup(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("creds.json");
    let first = DcrClient::new(ClientConfig::new(&app.base, &statement, &cache)).unwrap();
    let id = first.client_id().await.unwrap();
    drop(first);

    let (_, rotated) = app.statement(&app_id).await;
    let same_app = DcrClient::new(ClientConfig::new(&app.base, &rotated, &cache)).unwrap();
    assert_eq!(same_app.client_id().await.unwrap(), id, "credentials kept");

    let elsewhere = DcrClient::new(ClientConfig::new("http://127.0.0.1:9", &statement, &cache));
    let message = elsewhere
        .err()
        .expect("another server is refused")
        .to_string();
    assert!(message.contains("http://127.0.0.1:9"), "{message}");

    let other = app
        .create_app(serde_json::json!({"name": "Other", "level": "programmer", "platforms": ["web"], "scopes": ["config:client"]}))
        .await;
    let (_, foreign) = app.statement(other["id"].as_str().unwrap()).await;
    let wrong_app = DcrClient::new(ClientConfig::new(&app.base, &foreign, &cache));
    let message = wrong_app
        .err()
        .expect("another application is refused")
        .to_string();
    assert!(message.contains("application"), "{message}");
}

#[tokio::test]
async fn an_install_holds_a_key_not_a_secret_and_binds_tokens_when_the_policy_asks() {
    let app = spawn_app().await;
    let (app_id, statement) = setup(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("c.json");
    let mut config = ClientConfig::new(&app.base, &statement, &cache);
    config.renew_skew = Duration::from_secs(30_000); // every token is stale at once
    config.renew_jitter = Duration::ZERO;
    let client = DcrClient::new(config.clone()).unwrap();
    let token = client.access_token().await.unwrap();
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
    assert!(
        saved.get("client_secret").is_none(),
        "no secret on the device: {saved}"
    );
    assert!(saved["install_key"].is_string());
    assert!(
        claims(&token).get("cnf").is_none(),
        "the policy is off: a bearer token"
    );
    assert_eq!(app.verify(&token, &[]).await.0, 200);

    // The application starts requiring bound tokens: the next token is bound, with no
    // new registration, and stays so after a restart.
    let (s, _) = app
        .admin_put(
            &format!("/applications/{app_id}/policy"),
            serde_json::json!({"bound_credentials": {"default": "require"}}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::OK);
    let bound = client.access_token().await.unwrap();
    assert!(claims(&bound)["cnf"]["jkt"].is_string());
    assert!(!client.take_reregistration());
    drop(client);
    let again = DcrClient::new(config).unwrap();
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
    assert_eq!(saved["dpop"], true);
    assert!(claims(&again.access_token().await.unwrap())["cnf"]["jkt"].is_string());
    assert_eq!(clients_of(&app, &app_id).await, 1, "one install throughout");

    // `never` keeps the Adobe-style secret (where the policy allows it).
    let (s, _) = app
        .admin_put(
            &format!("/applications/{app_id}/policy"),
            serde_json::json!({"bound_credentials": {"default": "off"}}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::OK);
    let mut never = ClientConfig::new(&app.base, &statement, dir.path().join("never.json"));
    never.binding = dcr_client::Binding::Never;
    let plain = DcrClient::new(never).unwrap();
    plain.access_token().await.unwrap();
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("never.json")).unwrap()).unwrap();
    assert!(saved["client_secret"].is_string());
    assert!(saved.get("install_key").is_none());
}

/// Key Attestation made under a test root, as an Android app's provider would send it.
struct TestKeyAttestation(dcr_testkit::attest::TestAuthority);

impl dcr_client::AttestationProvider for TestKeyAttestation {
    fn attest(
        &self,
        key: &dcr_client::key::InstallKey,
        challenge: &str,
        client_data_hash: &[u8; 32],
    ) -> Result<Option<serde_json::Value>, String> {
        let mut description =
            dcr_testkit::attest::AndroidKey::new(challenge, key.thumbprint(), "com.acme.tv");
        assert_eq!(description.challenge, client_data_hash.to_vec());
        description.challenge = client_data_hash.to_vec();
        let install = dcr_testkit::attest::rcgen_key(key.pkcs8());
        Ok(Some(self.0.android_key_evidence(
            &install,
            &description,
            challenge,
        )))
    }
}

#[tokio::test]
async fn an_attestation_provider_attests_the_install_key_at_registration() {
    let google = dcr_testkit::attest::TestAuthority::new("Test Google");
    let roots = tempfile::tempdir().unwrap();
    let pem = roots.path().join("android.pem");
    std::fs::write(&pem, google.root_pem()).unwrap();
    let app = spawn_app_with(|c| c.attestation.android_roots = Some(pem)).await;
    let (app_id, statement) = setup(&app).await;
    for (path, body) in [
        (
            "attestation",
            serde_json::json!({"android": {"package_names": ["com.acme.tv"]}}),
        ),
        (
            "policy",
            serde_json::json!({"attestation": {"default": "require"}}),
        ),
    ] {
        let (s, v) = app
            .admin_put(&format!("/applications/{app_id}/{path}"), body)
            .await;
        assert_eq!(s, reqwest::StatusCode::OK, "{v}");
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = ClientConfig::new(&app.base, &statement, dir.path().join("c.json"));
    // Without a provider the application refuses the install.
    let refused = DcrClient::new(config.clone()).unwrap().access_token().await;
    assert!(format!("{:?}", refused.unwrap_err()).contains("invalid_attestation"));
    config.attestation = Some(Arc::new(TestKeyAttestation(google)));
    let client = DcrClient::new(config).unwrap();
    let token = client.access_token().await.unwrap();
    assert_eq!(app.verify(&token, &[]).await.0, 200);
    let (_, list) = app
        .admin_get(&format!("/applications/{app_id}/clients"))
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
}
