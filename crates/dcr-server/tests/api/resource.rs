//! Introspection (RFC 7662) and the revocation feed.

use dcr_testkit::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn introspection_answers_active_tokens_with_the_documented_fields() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let (key_id, key) = app.resource_server_key(Some("acme")).await;

    let v = app.introspect(&key, &ready.token).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["sub"], ready.client_id.as_str());
    assert_eq!(v["client_id"], ready.client_id.as_str());
    assert_eq!(v["scope"], "api:client:v2 config:client");
    assert_eq!(v["software_id"], ready.app_id.as_str());
    assert!(v["exp"].is_i64() && v["iat"].is_i64());
    assert!(v["token_type"].is_string());

    // The ways standard introspection clients authenticate: Basic and form, key id as
    // client id.
    let basic = app
        .http
        .post(app.url("/o/introspect"))
        .basic_auth(&key_id, Some(&key))
        .form(&[("token", ready.token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(basic.json::<Value>().await.unwrap()["active"], true);
    let form = app
        .http
        .post(app.url("/o/introspect"))
        .form(&[
            ("token", ready.token.as_str()),
            ("client_id", &key_id),
            ("client_secret", &key),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.json::<Value>().await.unwrap()["active"], true);

    // Anything not currently valid is just inactive.
    for token in [
        "garbage",
        ready.statement.as_str(),
        &format!("{}x", ready.token),
    ] {
        assert_eq!(
            app.introspect(&key, token).await,
            json!({"active": false}),
            "{token}"
        );
    }
    app.admin_post(&format!("/clients/{}/revoke", ready.client_id), json!({}))
        .await;
    assert_eq!(
        app.introspect(&key, &ready.token).await,
        json!({"active": false})
    );
}

#[tokio::test]
async fn introspection_needs_a_resource_server_key_and_respects_tenants() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    app.admin_post("/programmers", json!({"id": "other", "name": "Other"}))
        .await;
    let (_, other_key) = app.resource_server_key(Some("other")).await;
    let (_, global_key) = app.resource_server_key(None).await;
    assert_eq!(
        app.introspect(&other_key, &ready.token).await,
        json!({"active": false})
    );
    assert_eq!(
        app.introspect(&global_key, &ready.token).await["active"],
        true
    );

    let (s, admin) = app
        .admin_post(
            "/programmers/acme/api-keys",
            json!({"role": "programmer-admin", "name": "adm"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "no key",
            app.http
                .post(app.url("/o/introspect"))
                .form(&[("token", "x")]),
        ),
        (
            "wrong key",
            app.http
                .post(app.url("/o/introspect"))
                .bearer_auth("nope")
                .form(&[("token", "x")]),
        ),
        (
            "admin key",
            app.http
                .post(app.url("/o/introspect"))
                .bearer_auth(admin["key"].as_str().unwrap())
                .form(&[("token", "x")]),
        ),
        (
            "basic with wrong id",
            app.http
                .post(app.url("/o/introspect"))
                .basic_auth("someone", Some(&global_key))
                .form(&[("token", "x")]),
        ),
    ];
    for (name, req) in cases {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"],
            "invalid_client",
            "{name}"
        );
    }
    let r = app
        .http
        .post(app.url("/o/introspect"))
        .bearer_auth(&global_key)
        .form(&[("nottoken", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
}

#[tokio::test]
async fn the_revocation_feed_lists_revocations_after_a_cursor() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let (_, key) = app.resource_server_key(Some("acme")).await;
    let feed = |since: String| {
        let app = &app;
        let key = key.clone();
        async move {
            let r = app
                .http
                .get(app.url(&format!("/o/revocations?since={since}")))
                .bearer_auth(key)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()
        }
    };
    let empty = feed("0".into()).await;
    assert_eq!(empty["entries"], json!([]));
    assert_eq!(empty["channels"]["ACMETV"], "acme");

    app.admin_post(&format!("/clients/{}/revoke", ready.client_id), json!({}))
        .await;
    app.admin_post(
        &format!("/software-statements/{}/revoke", ready.jti),
        json!({}),
    )
    .await;
    app.admin_post(&format!("/applications/{}/revoke", ready.app_id), json!({}))
        .await;
    let all = feed(empty["cursor"].as_str().unwrap().into()).await;
    assert_eq!(all["revoked_clients"], json!([ready.client_id]));
    assert_eq!(all["revoked_statements"], json!([ready.jti]));
    assert_eq!(all["revoked_applications"], json!([ready.app_id]));
    assert_eq!(all["entries"].as_array().unwrap().len(), 3);
    let after = feed(all["cursor"].as_str().unwrap().into()).await;
    assert_eq!(after["entries"], json!([]));

    // Another programmer's key sees none of it; a bad cursor is a 400; no key is a 401.
    app.admin_post("/programmers", json!({"id": "other", "name": "Other"}))
        .await;
    let (_, other) = app.resource_server_key(Some("other")).await;
    let r = app
        .http
        .get(app.url("/o/revocations?since=0"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["entries"], json!([]));
    assert!(v["channels"].get("ACMETV").is_none());
    let r = app
        .http
        .get(app.url("/o/revocations?since=abc"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .http
        .get(app.url("/o/revocations"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn api_keys_are_shown_once_listed_without_secrets_and_revocable() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    let (id, key) = app.resource_server_key(Some("acme")).await;
    assert!(key.starts_with("dcrak_"));
    let (s, list) = app.admin_get("/programmers/acme/api-keys").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!list.to_string().contains(&key));
    assert_eq!(list["items"][0]["id"], id.as_str());
    let r = app
        .http
        .delete(app.url(&format!("/admin/v1/api-keys/{id}")))
        .bearer_auth(OPERATOR_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .http
        .get(app.url("/o/revocations"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (s, _) = app
        .admin_post(
            "/programmers/acme/api-keys",
            json!({"role": "channel-admin", "name": "x"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "a channel-admin key names its channel"
    );
    let (s, _) = app
        .admin_post(
            "/programmers/acme/api-keys",
            json!({"role": "root", "name": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}
