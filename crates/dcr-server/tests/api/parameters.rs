//! Parameters that cannot mean two things: a singular parameter given twice is 400
//! everywhere (the last value must not win: `?dry_run=true&dry_run=false` used to
//! revoke), RFC 7009 revocation takes nothing from the URL, and a dashboard message
//! after an action cannot be forged with a link.

use dcr_testkit::*;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

use crate::tab::{PASSWORD, Tab, hidden_csrf, user};

#[tokio::test]
async fn a_repeated_query_parameter_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let bulk = format!("/applications/{}/clients/revoke", ready.app_id);
    for query in ["dry_run=true&dry_run=false", "dry_run=false&dry_run=true"] {
        let (status, body) = app
            .admin_post(&format!("{bulk}?{query}"), json!({"platform": "ios"}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body["message"].as_str().unwrap().contains("dry_run"));
    }
    // Nothing was revoked.
    assert_eq!(app.verify(&ready.token, &[]).await.0, StatusCode::OK);
    for path in [
        "/programmers?limit=1&limit=2".to_owned(),
        "/programmers?cursor=1&cursor=2".to_owned(),
        format!("/applications/{}/activity?days=1&days=2", ready.app_id),
        "/audit?format=json&format=csv".to_owned(),
        "/audiences?contested=true&contested=false".to_owned(),
    ] {
        let (status, body) = app.admin_get(&path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
    }
    let (_, key) = app.resource_server_key(None).await;
    let r = app
        .http
        .get(app.url("/o/revocations?since=0&since=5"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn token_revocation_takes_nothing_from_the_url() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("token", &ready.token)
        .append_pair("client_id", &ready.client_id)
        .append_pair("client_secret", &ready.secret)
        .finish();
    // All in the URL, or only the credentials there: refused either way.
    for (url_part, body) in [
        (query.clone(), vec![]),
        (
            format!(
                "client_id={}&client_secret={}",
                ready.client_id, ready.secret
            ),
            vec![("token", ready.token.as_str())],
        ),
    ] {
        let r = app
            .http
            .post(app.url(&format!("/oauth2/revoke?{url_part}")))
            .form(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "invalid_request");
    }
    // The token still works: nothing was revoked.
    assert_eq!(app.verify(&ready.token, &[]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn dashboard_fields_given_twice_are_refused() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    user(&app, "acme", "ops@acme.example", "programmer-admin", None).await;
    let mut tab = Tab::new(&app);
    assert_eq!(
        tab.sign_in("ops@acme.example", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let path = format!(
        "/dashboard/applications/{}/clients/{}/revoke",
        ready.app_id, ready.client_id
    );
    let (_, confirm) = tab.get(&path).await;
    let csrf = hidden_csrf(&confirm);
    let r = tab
        .post(&path, &[("csrf", csrf.as_str()), ("csrf", csrf.as_str())])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.verify(&ready.token, &[]).await.0, StatusCode::OK);
    let (status, _) = tab.get("/dashboard/audit?action=a&action=b").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_message_after_an_action_cannot_be_forged_with_a_link() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    user(&app, "acme", "ops@acme.example", "programmer-admin", None).await;
    let mut tab = Tab::new(&app);
    assert_eq!(
        tab.sign_in("ops@acme.example", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let page = format!("/dashboard/applications/{}", ready.app_id);
    // A made-up link on a live application says nothing.
    let (_, forged) = tab
        .get(&format!("{page}?done=application-revoked&n=48213"))
        .await;
    assert!(!forged.contains("48213"), "{forged}");
    assert!(!forged.contains("id=\"flash\""));
    // A real one does, for this session only, and only as it was made.
    let revoke = format!(
        "/dashboard/applications/{}/clients/{}/revoke",
        ready.app_id, ready.client_id
    );
    let (_, confirm) = tab.get(&revoke).await;
    let r = tab
        .post(&revoke, &[("csrf", hidden_csrf(&confirm).as_str())])
        .await;
    let to = r.headers()[LOCATION].to_str().unwrap().to_owned();
    let (_, after) = tab.get(&to).await;
    assert!(after.contains("Client revoked"), "{after}");
    let (_, altered) = tab.get(&to.replace("n=1", "n=48213")).await;
    assert!(!altered.contains("48213") && !altered.contains("Client revoked"));
    let mut other = Tab::new(&app);
    assert_eq!(
        other.sign_in("ops@acme.example", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, elsewhere) = other.get(&to).await;
    assert!(!elsewhere.contains("Client revoked"));
}
