//! Signing-key rotation: next → active → retired.

use dcr_testkit::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let v: Value = app.get_json("/.well-known/jwks.json").await;
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn keys(app: &TestApp) -> Vec<(String, String)> {
    let (s, v) = app.admin_get("/keys").await;
    assert_eq!(s, StatusCode::OK);
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().to_owned(),
                k["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn kid_in(states: &[(String, String)], state: &str) -> String {
    states.iter().find(|(_, s)| s == state).unwrap().0.clone()
}

#[tokio::test]
async fn rotation_promotes_next_and_keeps_old_tokens_and_statements_valid() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let before = keys(&app).await;
    assert_eq!(
        before.len(),
        2,
        "an active key and a next key from the first start"
    );
    let (active, next) = (kid_in(&before, "active"), kid_in(&before, "next"));
    assert_eq!(header(&ready.token)["kid"], active.as_str());
    // The next key is published before it signs anything.
    let published = jwks_kids(&app).await;
    assert!(published.contains(&active) && published.contains(&next));

    let (s, _) = app.admin_post("/keys/rotate", json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let after = keys(&app).await;
    assert_eq!(kid_in(&after, "active"), next);
    assert!(after.contains(&(active.clone(), "retired".to_owned())));
    let new_next = kid_in(&after, "next");
    let published = jwks_kids(&app).await;
    for kid in [&active, &next, &new_next] {
        assert!(published.contains(kid), "{kid} must stay published");
    }

    // New tokens and statements use the new key; old ones still verify.
    let token = app.token(&ready.client_id, &ready.secret).await;
    assert_eq!(header(&token)["kid"], next.as_str());
    assert_eq!(app.verify(&ready.token, &[]).await.0, StatusCode::OK);
    assert_eq!(app.verify(&token, &[]).await.0, StatusCode::OK);
    let (_, statement) = app.statement(&ready.app_id).await;
    assert_eq!(header(&statement)["kid"], next.as_str());

    // Two more rotations: the first statement, signed by a long-retired key, still
    // registers clients (statements never expire).
    for _ in 0..2 {
        let (s, _) = app.admin_post("/keys/rotate", json!({})).await;
        assert_eq!(s, StatusCode::OK);
    }
    let r = app.register_raw(&ready.statement, json!({})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(app.verify(&ready.token, &[]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn only_operators_rotate_or_list_keys() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    let (_, v) = app
        .admin_post(
            "/programmers/acme/api-keys",
            json!({"role": "programmer-admin", "name": "a"}),
        )
        .await;
    let key = v["key"].as_str().unwrap();
    let r = app
        .http
        .post(app.url("/admin/v1/keys/rotate"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .http
        .get(app.url("/admin/v1/keys"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
