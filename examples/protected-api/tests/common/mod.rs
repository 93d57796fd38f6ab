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
