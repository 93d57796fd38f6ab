//! Forward auth details beyond the error table.

use reqwest::StatusCode;

use dcr_testkit::*;

#[tokio::test]
async fn forward_auth_accepts_any_method() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    for method in [
        reqwest::Method::GET,
        reqwest::Method::POST,
        reqwest::Method::HEAD,
        reqwest::Method::DELETE,
    ] {
        let r = app
            .http
            .request(method.clone(), app.url("/o/auth/verify"))
            .bearer_auth(&ready.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{method}");
    }
}

#[tokio::test]
async fn tokens_of_a_revoked_client_are_refused_at_once() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    assert_eq!(app.verify(&ready.token, &[]).await.0, StatusCode::OK);
    app.admin_post(
        &format!("/clients/{}/revoke", ready.client_id),
        serde_json::json!({}),
    )
    .await;
    let (s, v, _) = app.verify(&ready.token, &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["code"], "invalid_access_token_client_application");
}
