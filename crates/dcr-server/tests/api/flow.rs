//! The whole flow: bootstrap → programmer → app → statement → register → token → verify.

use reqwest::StatusCode;
use serde_json::{Value, json};

use dcr_testkit::*;

#[tokio::test]
async fn full_flow_issues_documented_bodies() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    let created = app.default_app().await;
    let app_id = created["id"].as_str().unwrap();
    assert_eq!(created["status"], "active");
    assert_eq!(created["version"], "1.0.0");
    assert!(
        created["custom_scheme"]
            .as_str()
            .unwrap()
            .starts_with("dcr.")
    );

    // The statement: header alg/kid/typ, claims of docs/api.md, no exp.
    let (jti, statement) = app.statement(app_id).await;
    let h = header(&statement);
    assert_eq!(h["alg"], "ES256");
    assert_eq!(h["typ"], "JWT");
    assert!(h["kid"].is_string());
    let c = claims(&statement);
    assert_eq!(c["iss"], app.base);
    assert_eq!(c["sub"], app_id);
    assert_eq!(c["software_id"], app_id);
    assert_eq!(c["software_version"], "1.0.0");
    assert_eq!(c["jti"], jti.as_str());
    assert!(c["iat"].is_i64() && c["nbf"].is_i64());
    assert!(c.get("exp").is_none());

    // Registration.
    let r = app
        .register_raw(
            &statement,
            json!({"redirect_uri": "https://acme.example/callback"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let reg: Value = r.json().await.unwrap();
    let client_id = reg["client_id"].as_str().unwrap();
    let secret = reg["client_secret"].as_str().unwrap();
    assert_eq!(client_id.len(), 36);
    assert!(secret.len() >= 43, "secret carries at least 256 bits");
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(reg["client_secret_expires_at"], 0);
    assert!(reg["client_id_issued_at"].as_i64().unwrap() > 1_700_000_000);
    assert!(
        reg["client_id_issued_at"].as_i64().unwrap() < 10_000_000_000,
        "seconds, not ms"
    );
    assert_eq!(
        reg["redirect_uris"],
        json!(["https://acme.example/callback"])
    );
    assert_eq!(reg["grant_types"], json!(["client_credentials"]));
    assert_eq!(reg["scopes"], json!(["api:client:v2", "config:client"]));
    assert_eq!(reg["software_id"], app_id);
    assert!(reg["token_endpoint_auth_method"].is_string());

    // Token at the Adobe path: 201.
    let r = app.token_raw(client_id, secret).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    assert_eq!(r.headers()["content-type"], "application/json");
    let tok: Value = r.json().await.unwrap();
    assert_eq!(tok["token_type"], "bearer");
    assert_eq!(tok["expires_in"], 21600);
    assert!(
        tok["created_at"].as_i64().unwrap() > 1_700_000_000_000,
        "milliseconds"
    );
    assert_eq!(tok["scope"], "api:client:v2 config:client");
    assert!(tok.get("refresh_token").is_none());
    let token = tok["access_token"].as_str().unwrap();
    let h = header(token);
    assert_eq!(h["typ"], "at+jwt");
    let c = claims(token);
    assert_eq!(c["iss"], app.base);
    assert_eq!(c["sub"], client_id);
    assert_eq!(c["client_id"], client_id);
    assert_eq!(c["jti"], tok["id"]);
    assert_eq!(c["scopes"], "api:client:v2,config:client");
    assert_eq!(c["scope"], "api:client:v2 config:client");
    assert_eq!(c["software_id"], app_id);
    assert_eq!(c["sst"], jti.as_str());
    assert_eq!(c["programmer"], "acme");
    assert!(
        c.get("channels").is_none(),
        "all-channel apps carry no channel list"
    );
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        21600
    );

    // The standard path: 200, HTTP Basic, narrowed scope.
    let r = app
        .http
        .post(app.url("/oauth2/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "config:client"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let tok: Value = r.json().await.unwrap();
    assert_eq!(tok["scope"], "config:client");

    // Parameters in the query string alone.
    let r = app
        .http
        .post(app.url(&format!(
            "/o/client/token?grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    // Forward auth.
    let (s, body, headers) = app
        .verify(
            token,
            &[
                ("X-Required-Scope", "config:client"),
                ("X-Service-Provider", "ACMETV"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(headers["x-client-id"], client_id);
    assert_eq!(headers["x-software-id"], app_id);
    assert_eq!(headers["x-programmer"], "acme");
    assert_eq!(headers["x-scopes"], "api:client:v2 config:client");
    assert!(headers.contains_key("x-request-id"));

    // The client row is stored with what the device said.
    let (s, client) = app.admin_get(&format!("/clients/{client_id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(client["platform"], "ios");
    assert_eq!(client["device_info"]["osName"], "iOS");
    assert!(client.get("client_secret").is_none());
}

#[tokio::test]
async fn discovery_and_jwks() {
    let app = spawn_app().await;
    let m: Value = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(m["issuer"], app.base);
    assert_eq!(m["registration_endpoint"], app.url("/o/client/register"));
    assert_eq!(m["token_endpoint"], app.url("/oauth2/token"));
    assert_eq!(m["jwks_uri"], app.url("/.well-known/jwks.json"));
    assert_eq!(m["response_types_supported"], json!(["none"]));
    assert_eq!(m["grant_types_supported"], json!(["client_credentials"]));
    let methods = m["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(
        methods.contains(&json!("client_secret_post"))
            && methods.contains(&json!("client_secret_basic"))
    );
    assert!(
        m["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("api:client:v2"))
    );

    let jwks: Value = app.get_json("/.well-known/jwks.json").await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "the active key and the next one");
    assert_eq!(keys[0]["kty"], "EC");
    assert_eq!(keys[0]["crv"], "P-256");
    assert_eq!(keys[0]["alg"], "ES256");
    assert!(keys[0].get("d").is_none(), "never the private half");
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn clients_and_keys_survive_a_restart_and_secrets_are_not_stored_in_clear() {
    // A fixed issuer: the restarted server listens on another port.
    let issuer = Some("https://dcr.example".to_owned());
    let app = spawn_app_with(|c| c.issuer = issuer.clone()).await;
    let ready = app.ready_client().await;
    let (dir, kek) = app.stop().await;

    let db = std::fs::read(dir.path().join("dcr.sqlite3")).unwrap();
    let wal = std::fs::read(dir.path().join("dcr.sqlite3-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains(&ready.secret),
            "client secret stored in clear"
        );
        assert!(!text.contains(OPERATOR_KEY), "admin key stored in clear");
        assert!(!text.contains("BEGIN PRIVATE KEY"));
    }

    let mut config = test_config(dir.path(), &kek);
    config.issuer = issuer;
    let app = start(config, dir, kek).await;
    let token = app.token(&ready.client_id, &ready.secret).await;
    let (s, _, _) = app.verify(&token, &[]).await;
    assert_eq!(s, StatusCode::OK);
    // Tokens signed before the restart still verify: the key was persisted.
    let (s, _, _) = app.verify(&ready.token, &[]).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn a_different_key_encryption_key_is_refused_at_start() {
    let app = spawn_app().await;
    let (dir, _) = app.stop().await;
    let other = dcr_core::crypto::KeyEncryptionKey::generate()
        .unwrap()
        .to_base64();
    let config = test_config(dir.path(), &other);
    let err = dcr_server::Application::build(config)
        .await
        .err()
        .expect("must refuse");
    assert!(format!("{err:#}").contains("key-encryption"), "{err:#}");
}

#[tokio::test]
async fn revoking_a_statement_cuts_off_its_clients_only() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let (_, other_statement) = app.statement(&ready.app_id).await;
    let (other_id, other_secret) = app.register(&other_statement).await;

    let (s, body) = app
        .admin_post(
            &format!("/software-statements/{}/revoke", ready.jti),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["status"], "revoked");
    // Repeating is harmless.
    let (s, _) = app
        .admin_post(
            &format!("/software-statements/{}/revoke", ready.jti),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let r = app.register_raw(&ready.statement, json!({})).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "unapproved_software_statement");

    let r = app.token_raw(&ready.client_id, &ready.secret).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");

    let (s, v, _) = app.verify(&ready.token, &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["code"], "invalid_access_token_client_application");

    // The other statement's client is untouched.
    let token = app.token(&other_id, &other_secret).await;
    assert_eq!(app.verify(&token, &[]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn revoking_an_application_or_a_client() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let (_, statement2) = app.statement(&ready.app_id).await;
    let (c2, s2) = app.register(&statement2).await;
    let t2 = app.token(&c2, &s2).await;

    // Client first: only that client.
    let (s, body) = app
        .admin_post(&format!("/clients/{}/revoke", ready.client_id), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["status"], "revoked");
    assert_eq!(
        app.token_raw(&ready.client_id, &ready.secret)
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.verify(&ready.token, &[]).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.verify(&t2, &[]).await.0, StatusCode::OK);

    // Then the application: everything from it.
    let (s, body) = app
        .admin_post(&format!("/applications/{}/revoke", ready.app_id), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["status"], "revoked");
    assert_eq!(
        app.token_raw(&c2, &s2).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(app.verify(&t2, &[]).await.0, StatusCode::UNAUTHORIZED);
    let r = app.register_raw(&statement2, json!({})).await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unapproved_software_statement"
    );
    // No new statement for a revoked application.
    let r = app
        .http
        .post(app.url(&format!(
            "/admin/v1/applications/{}/software-statements",
            ready.app_id
        )))
        .bearer_auth(OPERATOR_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn channel_limited_applications_carry_their_channels() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    let created = app
        .create_app(json!({
            "name": "Acme TV app", "level": "channel", "channels": ["ACMETV"],
            "platforms": ["roku"], "scopes": ["api:client:v2"]
        }))
        .await;
    let (_, statement) = app.statement(created["id"].as_str().unwrap()).await;
    let (id, secret) = app.register(&statement).await;
    let token = app.token(&id, &secret).await;
    assert_eq!(claims(&token)["channels"], json!(["ACMETV"]));

    assert_eq!(
        app.verify(&token, &[("X-Service-Provider", "ACMETV")])
            .await
            .0,
        StatusCode::OK
    );
    let (s, v, headers) = app
        .verify(&token, &[("X-Service-Provider", "ACMENEWS")])
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["code"], "invalid_access_token_service_provider");
    assert_eq!(v["action"], "application-registration");
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
}

#[tokio::test]
async fn all_channel_applications_cover_only_their_programmers_channels() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    app.admin_post("/programmers", json!({"id": "other", "name": "Other"}))
        .await;
    app.admin_post(
        "/programmers/other/channels",
        json!({"id": "OTHERTV", "name": "Other TV"}),
    )
    .await;
    assert_eq!(
        app.verify(&ready.token, &[("X-Service-Provider", "ACMENEWS")])
            .await
            .0,
        StatusCode::OK
    );
    let (s, v, _) = app
        .verify(&ready.token, &[("X-Service-Provider", "OTHERTV")])
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["code"], "invalid_access_token_service_provider");
    // A channel created after the token was issued is covered too.
    app.admin_post(
        "/programmers/acme/channels",
        json!({"id": "ACMENEW", "name": "New"}),
    )
    .await;
    assert_eq!(
        app.verify(&ready.token, &[("X-Service-Provider", "ACMENEW")])
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn expired_tokens_are_refused_with_their_own_code() {
    let app = spawn_app_with(|c| c.token.ttl_seconds = 1).await;
    let ready = app.ready_client().await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (s, v, _) = app.verify(&ready.token, &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["code"], "access_token_expired");
    assert_eq!(v["action"], "application-registration");
    // The client simply asks again: no re-registration.
    let token = app.token(&ready.client_id, &ready.secret).await;
    assert_eq!(app.verify(&token, &[]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn platform_policy_enforce_refuses_other_platforms() {
    let app =
        spawn_app_with(|c| c.platform_policy = dcr_core::service::PlatformPolicy::Enforce).await;
    app.seed_programmer().await;
    let created = app
        .create_app(json!({"name": "Roku", "level": "programmer", "platforms": ["roku"], "scopes": ["api:client:v2"]}))
        .await;
    let (_, statement) = app.statement(created["id"].as_str().unwrap()).await;
    // register_raw sends an iOS device.
    let r = app.register_raw(&statement, json!({})).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unapproved_software_statement"
    );
    let r = app
        .http
        .post(app.url("/o/client/register"))
        .header(
            "X-Device-Info",
            device_info(r#"{"osName":"Roku OS","model":"Ultra"}"#),
        )
        .json(&json!({"software_statement": statement}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn redirect_uris_follow_the_application_domains() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let (s, created) = app
        .admin_get(&format!("/applications/{}", ready.app_id))
        .await;
    assert_eq!(s, StatusCode::OK);
    let scheme = created["custom_scheme"]
        .as_str()
        .unwrap()
        .trim_end_matches("://")
        .to_owned();
    for uri in [
        "https://acme.example/cb".to_owned(),
        "com.acme.app:/cb".to_owned(),
        "com.acme.app://cb".to_owned(),
        format!("{scheme}://callback"),
        "http://localhost:3000/cb".to_owned(),
    ] {
        let r = app
            .register_raw(&ready.statement, json!({"redirect_uri": uri}))
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{uri}");
    }
    let r = app
        .register_raw(
            &ready.statement,
            json!({"redirect_uris": ["https://acme.example/a", "com.acme.app:/b"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        r.json::<Value>().await.unwrap()["redirect_uris"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    for uri in [
        "https://evil.example/cb",
        "https://sub.acme.example/cb",
        "https://user@acme.example/cb",
        "http://acme.example/cb",
        "javascript:alert(1)",
        "data:text/html,x",
        "https://acme.example/cb#frag",
        "/relative",
        "com.evil.app:/cb",
        // Parsers disagree on these: refused, never stored as sent.
        "https://acme.example\\@evil.example/cb",
        "https://acme.example/cb\t",
        " https://acme.example/cb",
        "https://acme.example/c\nb",
        "https://acme.example/c\u{7f}b",
    ] {
        let r = app
            .register_raw(&ready.statement, json!({"redirect_uri": uri}))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{uri:?}");
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"],
            "invalid_redirect_uri",
            "{uri:?}"
        );
    }
}

#[tokio::test]
async fn redirect_uris_are_stored_normalised_and_capped_before_any_work() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let r = app
        .register_raw(
            &ready.statement,
            json!({"redirect_uris": [
                "HTTPS://ACME.example:443/a/../cb",
                "https://acme.example/cb",
                "com.acme.app:/b"
            ]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let reg: Value = r.json().await.unwrap();
    assert_eq!(
        reg["redirect_uris"],
        json!(["https://acme.example/cb", "com.acme.app:/b"])
    );
    let (_, stored) = app
        .admin_get(&format!("/clients/{}", reg["client_id"].as_str().unwrap()))
        .await;
    assert_eq!(stored["redirect_uris"], reg["redirect_uris"]);

    // 33 URIs, even all the same, are refused as a whole.
    let many: Vec<String> = (0..33)
        .map(|_| "https://acme.example/cb".to_owned())
        .collect();
    let r = app
        .register_raw(&ready.statement, json!({"redirect_uris": many}))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_request", "{v}");
}
