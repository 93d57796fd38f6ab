//! What the reverse-proxy tests share: a server process stopped with the test, the
//! unprotected backend, and the tokens they present (acme's, and another
//! programmer's for the same scope and a channel of the same id).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::routing::get;
use dcr_testkit::*;
use serde_json::json;

/// The first of `paths` that exists, or `None` after saying why the test is skipped
/// (a failure when `DCR_REQUIRE_SERVERS` is set, as scripts/test sets it).
pub fn binary(what: &str, paths: &[&str]) -> Option<PathBuf> {
    let found = paths.iter().map(PathBuf::from).find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("DCR_REQUIRE_SERVERS").is_none(),
            "{what} is required but not installed"
        );
        eprintln!("skipped: {what} is not installed");
    }
    found
}

/// A child process stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM lets a master stop its workers; SIGKILL would orphan them.
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The unprotected backend: the proxy forwards only authorised calls, with the
/// client id dcr answered.
pub async fn start_backend() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().route(
        "/api/v2/{sp}/configuration",
        get(|headers: HeaderMap| async move {
            let client = headers
                .get("x-client-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            axum::Json(json!({"client_id": client}))
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

/// Waits until `url` answers at all, or fails with the server's `log`.
pub async fn wait_for(url: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while reqwest::get(url).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the proxy did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A token of another programmer, `beta`, for the same scope as acme's, from a
/// programmer-wide application, and a channel of beta's named `ACMETV` too (channel
/// ids are per programmer): everything a forward-auth check of scope and channel
/// alone would admit.
pub async fn other_programmers_token(app: &TestApp) -> String {
    app.seed_other_programmer().await;
    let (s, _) = app
        .admin_post(
            "/programmers/beta/channels",
            json!({"id": "ACMETV", "name": "Beta's own ACMETV"}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED);
    let (s, other) = app
        .admin_post(
            "/programmers/beta/applications",
            json!({"name": "Beta", "level": "programmer", "platforms": ["ios"], "scopes": ["api:client:v2"]}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{other}");
    let (_, statement) = app.statement(other["id"].as_str().unwrap()).await;
    let (id, secret) = app.register(&statement).await;
    app.token(&id, &secret).await
}

/// A DPoP-bound token of `ready`'s client, bound to `key`.
pub async fn bound_token(app: &TestApp, ready: &Ready, key: &dcr_client::InstallKey) -> String {
    let url = app.url("/oauth2/token");
    let r = app
        .http
        .post(&url)
        .header("DPoP", key.dpop_proof("POST", &url, None, None).unwrap())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", ready.client_id.as_str()),
            ("client_secret", ready.secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    body["access_token"].as_str().unwrap().to_owned()
}

/// What every enforcement point must do with a DPoP-bound token at `url` (a
/// protected route): admit it with a fresh proof of its key for this request, and
/// refuse it replayed, as a bearer token, without a proof, with a proof for another
/// method or URL, or signed by another key. Also admits the SDK's calls when it binds
/// its tokens.
pub async fn dpop_is_enforced(app: &TestApp, ready: &Ready, url: &str) {
    use reqwest::StatusCode;
    let key = dcr_client::InstallKey::generate().unwrap();
    let token = bound_token(app, ready, &key).await;
    let send = |scheme: &str, proof: Option<String>| {
        let mut request = app
            .http
            .get(url)
            .header("Authorization", format!("{scheme} {token}"));
        if let Some(proof) = proof {
            request = request.header("DPoP", proof);
        }
        request.send()
    };
    let proof = key.dpop_proof("GET", url, Some(&token), None).unwrap();
    let ok = send("DPoP", Some(proof.clone())).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK, "{}", ok.text().await.unwrap());
    let other_key = dcr_client::InstallKey::generate().unwrap();
    let other_url = url.replace("/configuration", "/other");
    let refused = [
        ("replayed", "DPoP", Some(proof)),
        ("as a bearer token", "Bearer", None),
        ("without a proof", "DPoP", None),
        (
            "another method",
            "DPoP",
            Some(key.dpop_proof("POST", url, Some(&token), None).unwrap()),
        ),
        (
            "another URL",
            "DPoP",
            Some(
                key.dpop_proof("GET", &other_url, Some(&token), None)
                    .unwrap(),
            ),
        ),
        (
            "another key",
            "DPoP",
            Some(
                other_key
                    .dpop_proof("GET", url, Some(&token), None)
                    .unwrap(),
            ),
        ),
        ("stale", "DPoP", Some(stale_proof(&key, url, &token))),
    ];
    for (why, scheme, proof) in refused {
        let r = send(scheme, proof).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{why}");
    }

    // The SDK, binding its tokens, calls the same route.
    let dir = tempfile::tempdir().unwrap();
    let mut config =
        dcr_client::ClientConfig::new(&app.base, &ready.statement, dir.path().join("c.json"));
    config.binding = dcr_client::Binding::Always;
    let sdk = dcr_client::DcrClient::new(config).unwrap();
    for _ in 0..2 {
        let r = sdk.call(reqwest::Method::GET, url).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    }
}

fn stale_proof(key: &dcr_client::InstallKey, url: &str, token: &str) -> String {
    let iat = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 600;
    let claims = json!({"jti": format!("stale-{iat}"), "htm": "GET", "htu": url, "iat": iat,
        "ath": dcr_client::key::token_hash(token)});
    key.sign("dpop+jwt", true, &claims).unwrap()
}
