//! Tenant isolation: every admin operation of the OpenAPI document, called with the
//! keys of another programmer (every role) on this programmer's resources, answers
//! 404 (or 403 for operator-only routes) and never shows the resources.

use dcr_testkit::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn no_role_of_another_programmer_sees_or_changes_foreign_resources() {
    let app = spawn_app().await;
    let acme = app.ready_client().await;
    let (acme_key_id, _) = app.resource_server_key(Some("acme")).await;
    let (s, acme_user) = app
        .admin_post(
            "/programmers/acme/users",
            json!({"email": "ops@acme.example", "password": "correct horse battery", "role": "programmer-admin"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{acme_user}");
    let acme_user_id = acme_user["id"].as_str().unwrap().to_owned();
    app.seed_other_programmer().await;
    let mut keys = Vec::new();
    for (role, channel) in [
        ("programmer-admin", None),
        ("channel-admin", Some("BETATV")),
        ("resource-server", None),
    ] {
        let mut body = json!({"role": role, "name": role});
        if let Some(c) = channel {
            body["channel"] = json!(c);
        }
        let (s, v) = app.admin_post("/programmers/beta/api-keys", body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        keys.push((role, v["key"].as_str().unwrap().to_owned()));
    }
    let secrets = [
        acme.app_id.as_str(),
        acme.jti.as_str(),
        acme.client_id.as_str(),
        acme_key_id.as_str(),
        acme_user_id.as_str(),
        "ops@acme.example",
    ];

    let doc = dcr_server::openapi::document(&app.base);
    let operations: Vec<(String, String)> = dcr_server::openapi::operations(&doc)
        .into_iter()
        .filter(|(_, path)| path.starts_with("/admin/v1/"))
        .collect();
    assert!(operations.len() >= 20);
    let mut failures = Vec::new();
    for (role, key) in &keys {
        for (method, path) in &operations {
            let concrete = path
                .replace("{pid}", "acme")
                .replace("{app_id}", &acme.app_id)
                .replace("{jti}", &acme.jti)
                .replace("{client_id}", &acme.client_id)
                .replace("{key_id}", &acme_key_id)
                .replace("{user_id}", &acme_user_id);
            let names_acme = concrete != *path;
            let mut req = app
                .http
                .request(method.parse().unwrap(), app.url(&concrete))
                .bearer_auth(key);
            // A valid body for each create route, so only authorisation can refuse it.
            let body = match path.as_str() {
                "/admin/v1/programmers" => Some(json!({"id": "x", "name": "x"})),
                "/admin/v1/programmers/{pid}/channels" => Some(json!({"id": "NEWCH", "name": "x"})),
                "/admin/v1/programmers/{pid}/applications" => Some(
                    json!({"name": "x", "level": "programmer", "platforms": ["ios"], "scopes": ["api:client:v2"]}),
                ),
                "/admin/v1/programmers/{pid}/users" => Some(
                    json!({"email": "x@beta.example", "password": "long enough password", "role": "programmer-admin"}),
                ),
                "/admin/v1/programmers/{pid}/api-keys" | "/admin/v1/api-keys" => {
                    Some(json!({"role": "resource-server", "name": "x"}))
                }
                "/admin/v1/applications/{app_id}/clients/revoke" => {
                    Some(json!({"platform": "ios"}))
                }
                "/admin/v1/applications/{app_id}/policy" => {
                    Some(json!({"max_registrations_per_hour": 1}))
                }
                "/admin/v1/applications/{app_id}/attesters" => Some(json!({"attesters": []})),
                "/admin/v1/applications/{app_id}/attestation" => Some(json!({})),
                _ => None,
            };
            if let (true, Some(body)) = (method == "POST" || method == "PUT", body) {
                req = req.json(&body);
            }
            let r = req.send().await.unwrap();
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            let leaked = secrets.iter().any(|s| text.contains(s));
            let acceptable = if *role == "resource-server" {
                // Resource-server keys may only introspect and read the feed.
                status == StatusCode::FORBIDDEN
            } else if names_acme {
                status == StatusCode::NOT_FOUND
            } else {
                // Collections without an id: operator-only (403), or only the caller's own.
                status == StatusCode::FORBIDDEN || status.is_success()
            };
            if !acceptable || leaked {
                failures.push(format!(
                    "{role} {method} {concrete}: {status} leaked={leaked} {text}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));

    // And nothing changed: acme's client still works, its application is active.
    let (_, a) = app
        .admin_get(&format!("/applications/{}", acme.app_id))
        .await;
    assert_eq!(a["status"], "active");
    let token = app.token(&acme.client_id, &acme.secret).await;
    assert_eq!(app.verify(&token, &[]).await.0, StatusCode::OK);
    let (_, users) = app.admin_get("/programmers/acme/users").await;
    assert_eq!(users["items"][0]["disabled_at"], Value::Null);
    let list: Value = app.admin_get("/programmers").await.1;
    assert!(list["items"].as_array().unwrap().len() >= 2);
}
