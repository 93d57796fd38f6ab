//! Connection and header limits: oversized heads, slow clients, the connection cap.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use dcr_testkit::*;
use reqwest::StatusCode;

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

#[tokio::test]
async fn oversized_headers_are_refused_without_a_server_error() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(app.url("/healthz"))
        .header("x-padding", "a".repeat(40 * 1024))
        .send()
        .await;
    match r {
        Ok(r) => assert_eq!(r.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE),
        // hyper may also just close the connection.
        Err(e) => assert!(!e.is_timeout(), "{e}"),
    }
    // The server is unharmed.
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_client_that_sends_headers_too_slowly_is_cut_off() {
    let app = spawn_app_with(|c| c.limits.header_read_timeout_seconds = 1).await;
    let address = addr(&app);
    let closed = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(address).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let start = Instant::now();
        let mut buf = [0u8; 1024];
        // The server answers 408 or just closes; either way the read ends.
        let _ = s.read(&mut buf);
        start.elapsed()
    })
    .await
    .unwrap();
    assert!(
        closed < Duration::from_secs(5),
        "connection held for {closed:?}"
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_instead_of_failing() {
    let app = spawn_app_with(|c| {
        c.limits.max_connections = 1;
        c.limits.header_read_timeout_seconds = 1;
    })
    .await;
    // An idle connection holds the only slot until the header timeout frees it.
    let idle = TcpStream::connect(addr(&app)).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    let r = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "the cap was not applied"
    );
    drop(idle);
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let app = spawn_app_with(|c| c.limits.header_read_timeout_seconds = 1).await;
    let address = addr(&app);
    let held = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(address).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        let start = Instant::now();
        // Now idle: the server must close the connection rather than keep it forever.
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        start.elapsed()
    })
    .await
    .unwrap();
    assert!(
        held < Duration::from_secs(5),
        "idle connection held for {held:?}"
    );
}

/// Access tokens revoked one by one (RFC 7009) past what a node keeps in memory are
/// still refused: the store answers for them.
#[tokio::test]
async fn revoked_tokens_past_the_memory_cap_are_still_refused() {
    let app = spawn_app_with(|c| c.limits.revoked_tokens_in_memory = 2).await;
    let ready = app.ready_client().await;
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(app.token(&ready.client_id, &ready.secret).await);
    }
    // Each verified once first, so a cached "standing" answer must not outlive the
    // revocation either.
    for t in &tokens {
        assert_eq!(app.verify(t, &[]).await.0, reqwest::StatusCode::OK);
    }
    for t in &tokens[..3] {
        let r = app
            .http
            .post(app.url("/oauth2/revoke"))
            .form(&[
                ("token", t.as_str()),
                ("client_id", &ready.client_id),
                ("client_secret", &ready.secret),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK);
    }
    let (_, key) = app.resource_server_key(None).await;
    for t in &tokens[..3] {
        assert_eq!(
            app.verify(t, &[]).await.0,
            reqwest::StatusCode::UNAUTHORIZED
        );
        assert_eq!(app.introspect(&key, t).await["active"], false);
    }
    assert_eq!(app.verify(&tokens[3], &[]).await.0, reqwest::StatusCode::OK);
}
