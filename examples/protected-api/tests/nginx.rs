//! A real nginx protects an API with `auth_request` pointed at dcr's `/o/auth/verify`.
//! nginx comes from the Debian package (scripts/test installs it). Without it the test
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
use serde_json::json;

fn config(dir: &std::path::Path, port: u16, backend: u16, dcr: u16) -> String {
    let d = dir.display();
    format!(
        r#"
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    map $request_uri $dcr_channel {{
        ~^/api/v2/(?<ch>[^/?]+)/ $ch;
        default "";
    }}
    server {{
        listen 127.0.0.1:{port};
        location /api/ {{
            auth_request /_dcr_verify;
            auth_request_set $dcr_client $upstream_http_x_client_id;
            proxy_set_header X-Client-Id $dcr_client;
            proxy_pass http://127.0.0.1:{backend};
        }}
        location = /_dcr_verify {{
            internal;
            proxy_pass http://127.0.0.1:{dcr}/o/auth/verify;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Required-Programmer "acme";
            proxy_set_header X-Required-Scope "api:client:v2";
            proxy_set_header X-Service-Provider $dcr_channel;
            # What a DPoP proof must name: the original method and URL.
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
        }}
    }}
}}
"#
    )
}

#[tokio::test]
async fn nginx_auth_request_protects_an_api_with_forward_auth() {
    let Some(nginx) = common::binary(
        "nginx (apt-get install nginx-light)",
        &["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"],
    ) else {
        return;
    };
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let dcr_port: u16 = app.base.rsplit(':').next().unwrap().parse().unwrap();
    let backend = start_backend().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, config(dir.path(), port, backend, dcr_port)).unwrap();
    let child = Command::new(&nginx)
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _nginx = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    wait_for(
        &format!("{base}/api/v2/ACMETV/configuration"),
        &dir.path().join("error.log"),
    )
    .await;
    let get = |channel: &str, token: Option<&str>| {
        let mut req = app
            .http
            .get(format!("{base}/api/v2/{channel}/configuration"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };

    let r = get("ACMETV", Some(&ready.token)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["client_id"],
        ready.client_id.as_str()
    );
    assert_eq!(
        get("ACMETV", None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get("ACMETV", Some("garbage")).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    // DPoP-bound tokens: only with a fresh proof of their key for this request.
    dpop_is_enforced(&app, &ready, &format!("{base}/api/v2/ACMETV/configuration")).await;

    // Another programmer's token, for the same scope and a channel of beta's of the
    // same id: refused, because the configuration pins the programmer.
    let foreign = other_programmers_token(&app).await;
    assert_eq!(
        get("ACMETV", Some(&foreign)).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    let limited = app.create_app(json!({"name": "tv", "level": "channel", "channels": ["ACMETV"], "platforms": ["ios"], "scopes": ["config:client"]})).await;
    let (_, statement) = app.statement(limited["id"].as_str().unwrap()).await;
    let (id, secret) = app.register(&statement).await;
    let no_scope = app.token(&id, &secret).await;
    assert_eq!(
        get("ACMETV", Some(&no_scope)).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );

    app.admin_post(
        &format!("/software-statements/{}/revoke", ready.jti),
        json!({}),
    )
    .await;
    assert_eq!(
        get("ACMETV", Some(&ready.token)).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}
