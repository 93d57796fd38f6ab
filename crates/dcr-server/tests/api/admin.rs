//! Admin API behaviour beyond bad input: pagination and listing.

use reqwest::StatusCode;
use serde_json::json;

use dcr_testkit::*;

#[tokio::test]
async fn lists_paginate_with_cursors() {
    let app = spawn_app().await;
    for i in 0..5 {
        let (s, _) = app
            .admin_post("/programmers", json!({"id": format!("p{i}"), "name": "P"}))
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, page1) = app.admin_get("/programmers?limit=2").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = app
        .admin_get(&format!("/programmers?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(page2["items"][0]["id"], "p2");
    let cursor = page2["next_cursor"].as_str().unwrap();
    let (_, page3) = app
        .admin_get(&format!("/programmers?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(page3["items"].as_array().unwrap().len(), 1);
    assert!(page3.get("next_cursor").is_none());
}

#[tokio::test]
async fn statements_and_clients_are_listed_without_secrets() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let (s, list) = app
        .admin_get(&format!(
            "/applications/{}/software-statements",
            ready.app_id
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    let item = &list["items"][0];
    assert_eq!(item["jti"], ready.jti.as_str());
    assert!(item.get("software_statement").is_none());
    let (_, clients) = app
        .admin_get(&format!("/applications/{}/clients", ready.app_id))
        .await;
    let text = clients.to_string();
    assert!(text.contains(&ready.client_id));
    assert!(!text.contains(&ready.secret));
}

#[tokio::test]
async fn bootstrap_key_is_created_only_on_an_empty_store() {
    let app = spawn_app().await;
    let (dir, kek) = app.stop().await;
    let mut config = test_config(dir.path(), &kek);
    config.bootstrap_operator_key = Some(secrecy::SecretString::from(
        "a-second-operator-key-0123456789abcdef".to_owned(),
    ));
    let app = start(config, dir, kek).await;
    let r = app
        .http
        .get(app.url("/admin/v1/programmers"))
        .bearer_auth("a-second-operator-key-0123456789abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .http
        .get(app.url("/admin/v1/programmers"))
        .bearer_auth(OPERATOR_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn resource_server_keys_are_refused_on_every_admin_route() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    for programmer in [None, Some("acme")] {
        let (_, key) = app.resource_server_key(programmer).await;
        for path in [
            "/admin/v1/programmers".to_owned(),
            "/admin/v1/programmers/acme".to_owned(),
            format!("/admin/v1/applications/{}", ready.app_id),
            format!("/admin/v1/clients/{}", ready.client_id),
            "/admin/v1/audit".to_owned(),
        ] {
            let r = app
                .http
                .get(app.url(&path))
                .bearer_auth(&key)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{programmer:?} {path}");
        }
        // What it is for still works.
        let token = app.token(&ready.client_id, &ready.secret).await;
        assert_eq!(app.introspect(&key, &token).await["active"], true);
    }
}

#[tokio::test]
async fn failed_authentications_are_limited_per_address() {
    let app = spawn_app_with(|c| c.limits.failed_auth_per_minute = 5).await;
    let mut statuses = Vec::new();
    for i in 0..8 {
        let r = app
            .http
            .get(app.url("/admin/v1/programmers"))
            .bearer_auth(format!("dcrak_guess_{i}"))
            .send()
            .await
            .unwrap();
        statuses.push(r.status());
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().contains_key("retry-after"));
            let v: serde_json::Value = r.json().await.unwrap();
            assert_eq!(v["code"], "too_many_requests");
        }
    }
    assert_eq!(statuses[..5], [StatusCode::UNAUTHORIZED; 5], "{statuses:?}");
    assert_eq!(statuses[7], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    // The same address is refused at introspection and the feed too, before any lookup,
    // even with a valid key.
    let r = app
        .http
        .post(app.url("/o/introspect"))
        .bearer_auth(OPERATOR_KEY)
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"], "too_many_requests");
    let r = app
        .http
        .get(app.url("/o/revocations"))
        .bearer_auth("dcrak_guess")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn introspection_refuses_a_bad_key_before_reading_the_body() {
    use std::io::{Read, Write};
    let app = spawn_app_with(|c| c.limits.body_read_timeout_seconds = 10).await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let (answer, took) = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(address).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(15)))
            .unwrap();
        s.write_all(
            b"POST /o/introspect HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer dcrak_wrong\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ntoken=",
        )
        .unwrap();
        let start = std::time::Instant::now();
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).unwrap_or(0);
        (String::from_utf8_lossy(&buf[..n]).into_owned(), start.elapsed())
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(took < std::time::Duration::from_secs(3), "took {took:?}");
}

#[tokio::test]
async fn a_short_bootstrap_key_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let kek = dcr_core::crypto::KeyEncryptionKey::generate()
        .unwrap()
        .to_base64();
    let mut config = test_config(dir.path(), &kek);
    config.bootstrap_operator_key = Some(secrecy::SecretString::from("x".to_owned()));
    let figment = figment::Figment::from(figment::providers::Serialized::defaults(
        dcr_server::Config::default(),
    ))
    .merge(("bootstrap_operator_key", "short-key"));
    let err = dcr_server::Config::from_figment(&figment).unwrap_err();
    assert!(err.to_string().contains("at least 32"), "{err}");
    assert!(dcr_server::Application::build(config).await.is_err());
}

/// A 404 says what was not found: the kind of resource its path names (not the id:
/// see the isolation test, a foreign id is never echoed).
#[tokio::test]
async fn not_found_names_the_missing_resource() {
    let app = spawn_app().await;
    let missing = "00000000-0000-4000-8000-00000000abcd";
    for (path, what) in [
        (format!("/applications/{missing}"), "application"),
        (format!("/clients/{missing}"), "client"),
        ("/programmers/nobody".to_owned(), "programmer"),
    ] {
        let (s, body) = app.admin_get(&path).await;
        assert_eq!(s, reqwest::StatusCode::NOT_FOUND, "{path}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("no {what} with that id")),
            "{message}"
        );
        assert!(!message.contains("abcd") && !message.contains("nobody"));
    }
    let (s, body) = app
        .admin_post(
            &format!("/software-statements/{missing}/revoke"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::NOT_FOUND);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("no software statement with that id"),
        "{body}"
    );
}

/// A value outside the catalog is refused with the values that are in it.
#[tokio::test]
async fn catalog_errors_list_the_valid_values() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    let (s, body) = app
        .admin_post(
            "/programmers/acme/applications",
            serde_json::json!({"name": "x", "level": "programmer", "platforms": ["toaster"], "scopes": ["api:client:v2"]}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::BAD_REQUEST);
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("\"toaster\""), "{message}");
    assert!(
        message.contains("choose from: ") && message.contains("ios"),
        "{message}"
    );
}

/// A duplicate is a 409 that says what collided, in words (not the database's
/// message, which differs between SQLite and PostgreSQL and names tables).
#[tokio::test]
async fn a_duplicate_says_what_collided() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    let (s, body) = app
        .admin_post(
            "/programmers",
            serde_json::json!({"id": "acme", "name": "Acme again"}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CONFLICT, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("a programmer with this id exists already"),
        "{message}"
    );
    assert!(!message.contains("UNIQUE") && !message.contains("programmers.id"));
}
