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
        "a-second-operator-key".to_owned(),
    ));
    let app = start(config, dir, kek).await;
    let r = app
        .http
        .get(app.url("/admin/v1/programmers"))
        .bearer_auth("a-second-operator-key")
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
