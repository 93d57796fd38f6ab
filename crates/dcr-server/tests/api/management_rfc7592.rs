//! RFC 7592 read and delete of a registration: throttled per device in a bucket of
//! its own, and a client cut off through its statement or application answered like an
//! unknown one (so it can neither read its registration nor rewrite why it was cut off).

use dcr_server::config::ThrottleConfig;
use dcr_testkit::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A registration with its management credentials: (client_id, secret, RAT, URI).
async fn registration(app: &TestApp, statement: &str) -> (String, String, String, String) {
    let r = app.register_raw(statement, json!({})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let reg: Value = r.json().await.unwrap();
    let text = |k: &str| reg[k].as_str().unwrap().to_owned();
    (
        text("client_id"),
        text("client_secret"),
        text("registration_access_token"),
        text("registration_client_uri"),
    )
}

#[tokio::test]
async fn management_is_throttled_per_device_in_its_own_bucket() {
    let app = spawn_app_with(|c| {
        c.throttle = ThrottleConfig {
            enabled: true,
            capacity: 3,
            refill_per_second: 0.01,
            ..Default::default()
        }
    })
    .await;
    app.seed_programmer().await;
    let application = app.default_app().await;
    let (_, statement) = app.statement(application["id"].as_str().unwrap()).await;
    let (a, secret, a_token, a_uri) = registration(&app, &statement).await;
    let (_, _, b_token, b_uri) = registration(&app, &statement).await;
    // The device spends the rest of its shared bucket.
    assert_eq!(
        app.token_raw(&a, &secret).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.token_raw(&a, &secret).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Management has a bucket of its own: reads and the uninstall get through.
    for _ in 0..2 {
        let r = app
            .http
            .get(&a_uri)
            .bearer_auth(&a_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = app
        .http
        .delete(&b_uri)
        .bearer_auth(&b_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // And it is bounded too.
    let r = app
        .http
        .get(&a_uri)
        .bearer_auth(&a_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn a_client_cut_off_through_its_statement_is_answered_like_an_unknown_one() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    let application = app.default_app().await;
    let (jti, statement) = app.statement(application["id"].as_str().unwrap()).await;
    let (id, _, token, uri) = registration(&app, &statement).await;
    app.admin().revoke_statement(&jti).await.unwrap();

    let unknown = format!(
        "{}/o/client/register/00000000-0000-7000-8000-000000000000",
        app.base
    );
    let refusal = |r: reqwest::Response| async move {
        let status = r.status();
        let www = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        (status, www, r.text().await.unwrap())
    };
    let expected = refusal(
        app.http
            .get(&unknown)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(expected.0, StatusCode::UNAUTHORIZED);
    let read = refusal(app.http.get(&uri).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(read, expected);
    let delete = refusal(
        app.http
            .delete(&uri)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(delete, expected);

    // Why it was cut off is not rewritten, and no deletion is recorded.
    let client = app.admin().client(&id).await.unwrap();
    assert_eq!(client.revoked_via.as_deref(), Some("statement"));
    let events = app
        .admin()
        .audit(&dcr_client::admin::AuditQuery::default())
        .await
        .unwrap();
    assert!(!events.items.iter().any(|e| e.action == "client.deleted"));

    // The same through its application.
    let (_, statement) = app.statement(application["id"].as_str().unwrap()).await;
    let (id, _, token, uri) = registration(&app, &statement).await;
    app.admin()
        .revoke_application(application["id"].as_str().unwrap())
        .await
        .unwrap();
    let r = app
        .http
        .delete(&uri)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let client = app.admin().client(&id).await.unwrap();
    assert_eq!(client.revoked_via.as_deref(), Some("application"));
}
