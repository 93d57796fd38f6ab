//! Tenant boundaries beyond the admin API's 404s: one owner per audience, so another
//! programmer can never mint a token an API accepts by its `aud`; channel ids and user
//! emails scoped per programmer, so no tenant learns or blocks another's names.

use dcr_client::admin::{AdminClient, AdminClientError, PageQuery};
use dcr_proto::admin::{AssignAudience, CreateApplication, CreateChannel, CreateUser};
use dcr_testkit::*;
use reqwest::StatusCode;
use serde_json::Value;

use crate::tab::{PASSWORD, Tab};

const ACME_API: &str = "https://api.acme.example";

/// A key of `programmer` with `role`, as a typed admin client.
async fn key_of(app: &TestApp, programmer: &str, role: &str) -> AdminClient {
    let new = dcr_proto::resource::CreateApiKey {
        role: role.into(),
        channel: None,
        name: Some(format!("{programmer} {role}")),
    };
    let key = app
        .admin()
        .create_api_key(Some(programmer), &new)
        .await
        .unwrap();
    AdminClient::with_http(app.http.clone(), &app.base, &key.key.unwrap()).unwrap()
}

fn application(name: &str, audiences: &[&str]) -> CreateApplication {
    CreateApplication {
        name: name.into(),
        version: None,
        level: "programmer".into(),
        channels: None,
        platforms: vec!["ios".into()],
        scopes: vec!["api:client:v2".into()],
        domains: vec![],
        audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
    }
}

/// A registered client of `app_id`: (client_id, secret).
async fn client_of(app: &TestApp, app_id: &str) -> (String, String) {
    let (_, statement) = app.statement(app_id).await;
    app.register(&statement).await
}

async fn token_for(app: &TestApp, id: &str, secret: &str, resource: &str) -> (StatusCode, Value) {
    let r = app
        .http
        .post(app.url("/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("resource", resource),
        ])
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

fn conflict_message(e: AdminClientError) -> String {
    match e {
        AdminClientError::Api {
            status, message, ..
        } => {
            assert_eq!(status, StatusCode::CONFLICT, "{message}");
            message
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn an_audience_has_one_owner_and_no_other_programmer_can_name_it() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    app.seed_other_programmer().await;
    let acme = key_of(&app, "acme", "programmer-admin").await;
    let evil = key_of(&app, "beta", "programmer-admin").await;

    let api = acme
        .create_application("acme", &application("Acme API", &[ACME_API]))
        .await
        .unwrap();
    // The other tenant cannot name it: 409 that does not say who owns it.
    let refused = evil
        .create_application("beta", &application("Evil", &[ACME_API]))
        .await
        .unwrap_err();
    let message = conflict_message(refused);
    assert!(message.contains(ACME_API), "{message}");
    assert!(!message.contains("acme\""), "{message}");
    assert!(!message.to_lowercase().contains("acme media"), "{message}");
    // Nor with the audience among others, and nothing of the refused one is kept.
    let mixed = application("Evil 2", &["https://api.beta.example", ACME_API]);
    conflict_message(evil.create_application("beta", &mixed).await.unwrap_err());
    let own = evil
        .create_application("beta", &application("Beta", &["https://api.beta.example"]))
        .await
        .unwrap();
    // So a beta client cannot get a token for acme's API.
    let (id, secret) = client_of(&app, &own.id).await;
    let (status, body) = token_for(&app, &id, &secret, ACME_API).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_target");
    // Acme's own clients get it.
    let (id, secret) = client_of(&app, &api.id).await;
    let (status, body) = token_for(&app, &id, &secret, ACME_API).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["aud"],
        ACME_API
    );

    // Each tenant lists its own audiences; the operator sees every owner, and the
    // refused attempts, which the tenants' audit logs do not show.
    let mine = evil
        .list_audiences(false, &PageQuery::default())
        .await
        .unwrap();
    let names: Vec<&str> = mine.items.iter().map(|a| a.audience.as_str()).collect();
    assert_eq!(names, ["https://api.beta.example"]);
    let all = app
        .admin()
        .list_audiences(false, &PageQuery::default())
        .await
        .unwrap();
    let owner = all.items.iter().find(|a| a.audience == ACME_API).unwrap();
    assert_eq!(owner.programmer.as_deref(), Some("acme"));
    assert_eq!(owner.how, "claimed");
    let refusals = |page: dcr_proto::admin::Page<dcr_proto::admin::AuditEvent>| {
        page.items
            .iter()
            .filter(|e| e.action == "audience.claim-refused")
            .count()
    };
    let query = dcr_client::admin::AuditQuery::default();
    assert_eq!(refusals(app.admin().audit(&query).await.unwrap()), 2);
    assert_eq!(refusals(evil.audit(&query).await.unwrap()), 0);
    assert_eq!(refusals(acme.audit(&query).await.unwrap()), 0);
    // Only an operator assigns owners.
    let assign = AssignAudience {
        audience: ACME_API.into(),
        programmer: "beta".into(),
    };
    match evil.assign_audience(&assign, false).await.unwrap_err() {
        AdminClientError::Api { status, .. } => assert_eq!(status, StatusCode::FORBIDDEN),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn an_operator_assigns_an_audience_and_the_others_tokens_stop_carrying_it() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    app.seed_other_programmer().await;
    let admin = app.admin();
    let api = admin
        .create_application("acme", &application("Acme API", &[ACME_API, "urn:acme:x"]))
        .await
        .unwrap();
    let (id, secret) = client_of(&app, &api.id).await;
    let assign = AssignAudience {
        audience: ACME_API.into(),
        programmer: "beta".into(),
    };
    // The impact first: which applications would stop naming it. Nothing changes.
    let preview = admin.assign_audience(&assign, true).await.unwrap();
    assert!(preview.dry_run);
    assert_eq!(preview.removed_from.len(), 1);
    assert_eq!(preview.removed_from[0].application, api.id);
    assert_eq!(admin.application(&api.id).await.unwrap().audiences.len(), 2);

    let done = admin.assign_audience(&assign, false).await.unwrap();
    assert_eq!(done.audience.programmer.as_deref(), Some("beta"));
    assert_eq!(done.audience.how, "assigned");
    let after = admin.application(&api.id).await.unwrap();
    assert_eq!(after.audiences, ["urn:acme:x"]);
    // Acme's clients can no longer get a token for it; beta's application may name it.
    let (status, body) = token_for(&app, &id, &secret, ACME_API).await;
    assert_eq!(body["error"], "invalid_target", "{status} {body}");
    let token = app.token(&id, &secret).await;
    assert_eq!(claims(&token)["aud"], "urn:acme:x");
    admin
        .create_application("beta", &application("Beta API", &[ACME_API]))
        .await
        .unwrap();
    conflict_message(
        admin
            .create_application("acme", &application("Again", &[ACME_API]))
            .await
            .unwrap_err(),
    );
    // Acme's log says its application lost the audience.
    let acme = key_of(&app, "acme", "programmer-admin").await;
    let events = acme
        .audit(&dcr_client::admin::AuditQuery::default())
        .await
        .unwrap();
    assert!(
        events
            .items
            .iter()
            .any(|e| e.action == "application.audience-removed" && e.target_id == api.id)
    );
}

#[tokio::test]
async fn channel_ids_are_per_programmer_so_none_is_learned_or_blocked() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    app.seed_other_programmer().await;
    let evil = key_of(&app, "beta", "programmer-admin").await;
    let acme = key_of(&app, "acme", "programmer-admin").await;
    let channel = |id: &str| CreateChannel {
        id: id.into(),
        name: id.into(),
    };
    // Acme's channel id is no oracle: beta gets its own channel of that id.
    let twin = evil
        .create_channel("beta", &channel("ACMETV"))
        .await
        .unwrap();
    assert_eq!(twin.programmer_id, "beta");
    // And taking a name first blocks no one.
    evil.create_channel("beta", &channel("NEXTTV"))
        .await
        .unwrap();
    acme.create_channel("acme", &channel("NEXTTV"))
        .await
        .unwrap();
    // Within one programmer an id is still unique.
    conflict_message(
        acme.create_channel("acme", &channel("NEXTTV"))
            .await
            .unwrap_err(),
    );

    // A programmer-wide token covers its own programmer's channel of that id only.
    let acme_app = app.default_app().await;
    let acme_client = app.ready_client_of(&acme_app).await;
    let beta_app = evil
        .create_application("beta", &application("Beta", &[]))
        .await
        .unwrap();
    let (id, secret) = client_of(&app, &beta_app.id).await;
    let beta_token = app.token(&id, &secret).await;
    let on_acme_tv = [
        ("X-Service-Provider", "ACMETV"),
        ("X-Required-Programmer", "acme"),
    ];
    assert_eq!(
        app.verify(&acme_client.token, &on_acme_tv).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.verify(&beta_token, &on_acme_tv).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Beta's token is for beta's ACMETV, which is all a channel id alone can say.
    assert_eq!(
        app.verify(&beta_token, &[("X-Service-Provider", "ACMETV")])
            .await
            .0,
        StatusCode::OK
    );
    // The feed lists both directories, by programmer.
    let (_, key) = app.resource_server_key(None).await;
    let feed: Value = app
        .http
        .get(app.url("/o/revocations"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let has = |p: &str| {
        feed["programmer_channels"][p]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "ACMETV")
    };
    assert!(has("acme") && has("beta"), "{feed}");
}

#[tokio::test]
async fn user_emails_are_per_programmer_so_none_is_learned_or_blocked() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    app.seed_other_programmer().await;
    let evil = key_of(&app, "beta", "programmer-admin").await;
    let acme = key_of(&app, "acme", "programmer-admin").await;
    let user = |password: &str| CreateUser {
        email: "ops@acme.example".into(),
        password: password.into(),
        role: "programmer-admin".into(),
        channel: None,
    };
    // Beta learns nothing (201, not 409) and blocks nothing.
    evil.create_user("beta", &user("evil's own password"))
        .await
        .unwrap();
    acme.create_user("acme", &user(PASSWORD)).await.unwrap();
    conflict_message(acme.create_user("acme", &user(PASSWORD)).await.unwrap_err());
    // Acme's person signs in to acme with acme's password.
    let mut tab = Tab::new(&app);
    let r = tab.sign_in("ops@acme.example", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = tab.get("/dashboard/applications").await;
    assert!(page.contains("acme"), "{page}");
    assert!(!page.contains(">beta<"), "{page}");
    // A failed sign-in for an email several programmers have is the operator's to
    // see: neither tenant learns that the other's user tried.
    let mut other = Tab::new(&app);
    assert_eq!(
        other
            .sign_in("ops@acme.example", "a wrong password here")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let query = dcr_client::admin::AuditQuery::default();
    let failed = |page: dcr_proto::admin::Page<dcr_proto::admin::AuditEvent>| {
        page.items
            .iter()
            .filter(|e| e.action == "user.sign-in-failed")
            .count()
    };
    assert_eq!(failed(evil.audit(&query).await.unwrap()), 0);
    assert_eq!(failed(acme.audit(&query).await.unwrap()), 0);
    assert_eq!(failed(app.admin().audit(&query).await.unwrap()), 1);
}
