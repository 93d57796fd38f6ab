//! A real Caddy protects an API with `forward_auth` pointed at dcr's `/o/auth/verify`,
//! configured as docs/protecting-apis.md shows (programmer, scope and audience pinned).
//! Caddy comes from the Debian package (scripts/test installs it). Without it the test
//! is skipped, unless `DCR_REQUIRE_SERVERS=1` (set by scripts/test and CI) makes that a
//! failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Stdio};

use common::{
    Server, dpop_is_enforced, free_port, other_programmers_token, start_backend, wait_for,
};
use dcr_testkit::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const AUDIENCE: &str = "https://api.acme.example";

fn caddyfile(port: u16, backend: u16, dcr: u16) -> String {
    format!(
        r#"{{
    admin off
    auto_https off
}}

http://127.0.0.1:{port} {{
    forward_auth 127.0.0.1:{dcr} {{
        uri /o/auth/verify
        header_up X-Required-Programmer acme
        header_up X-Required-Scope api:client:v2
        header_up X-Required-Audience {AUDIENCE}
        copy_headers X-Client-Id X-Software-Id X-Programmer X-Scopes
    }}
    reverse_proxy 127.0.0.1:{backend}
}}
"#
    )
}

#[tokio::test]
async fn caddy_forward_auth_protects_an_api_and_pins_the_programmer() {
    let Some(caddy) = common::binary("caddy (apt-get install caddy)", &["/usr/bin/caddy"]) else {
        return;
    };
    let app = spawn_app().await;
    app.seed_programmer().await;
    let api = app
        .create_app(json!({
            "name": "Acme API client", "level": "programmer", "platforms": ["ios"],
            "scopes": ["api:client:v2"], "audiences": [AUDIENCE]
        }))
        .await;
    let ready = app.ready_client_of(&api).await;
    let dcr_port: u16 = app.base.rsplit(':').next().unwrap().parse().unwrap();
    let backend = start_backend().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let file = dir.path().join("Caddyfile");
    std::fs::write(&file, caddyfile(port, backend, dcr_port)).unwrap();
    let log = dir.path().join("caddy.log");
    let child = Command::new(&caddy)
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&file)
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let _caddy = Server(child);
    let url = format!("http://127.0.0.1:{port}/api/v2/ACMETV/configuration");
    wait_for(&url, &log).await;
    let get = |token: Option<&str>| {
        let mut req = app.http.get(&url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };

    let r = get(Some(&ready.token)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap()["client_id"],
        ready.client_id.as_str()
    );
    // Refusals reach the client as dcr wrote them.
    let r = get(None).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("www-authenticate"));
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "invalid_access_token_client_application"
    );
    // Another programmer's token, same scope: refused.
    let foreign = other_programmers_token(&app).await;
    assert_eq!(
        get(Some(&foreign)).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    // DPoP-bound tokens: Caddy sends X-Forwarded-Method/-Uri/-Proto/-Host itself.
    dpop_is_enforced(&app, &ready, &url).await;
    // Revocation takes effect at once.
    app.admin().revoke_statement(&ready.jti).await.unwrap();
    assert_eq!(
        get(Some(&ready.token)).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}
