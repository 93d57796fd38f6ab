//! Standards-clean tokens: `aud` (RFC 9068 2.2) and resource indicators (RFC 8707),
//! RS256 and EdDSA keys with thumbprint `kid`s (RFC 7638), token revocation by the
//! client (RFC 7009) and registration management (RFC 7592).

use dcr_testkit::Fetch as _;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dcr_testkit::*;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

async fn token_with(app: &TestApp, ready: &Ready, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", ready.client_id.as_str()),
        ("client_secret", ready.secret.as_str()),
    ];
    form.extend_from_slice(extra);
    app.http
        .post(app.url("/oauth2/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// A client of an application that lists two audiences (programmer `acme` exists).
async fn client_with_audiences(app: &TestApp) -> Ready {
    let created = app
        .create_app(json!({
            "name": "Acme API app", "level": "programmer", "platforms": ["ios"],
            "scopes": ["api:client:v2"],
            "audiences": ["https://api.acme.example", "https://cdn.acme.example/v2"]
        }))
        .await;
    assert_eq!(
        created["audiences"],
        json!(["https://api.acme.example", "https://cdn.acme.example/v2"])
    );
    app.ready_client_of(&created).await
}

#[tokio::test]
async fn every_token_carries_aud() {
    let app = spawn_app().await;
    // No audiences: the issuer, as a string.
    let plain = app.ready_client().await;
    assert_eq!(claims(&plain.token)["aud"], json!(app.base));

    // Audiences: all of them, or the requested ones.
    let listed = client_with_audiences(&app).await;
    assert_eq!(
        claims(&listed.token)["aud"],
        json!(["https://api.acme.example", "https://cdn.acme.example/v2"])
    );
    let r = token_with(
        &app,
        &listed,
        &[("resource", "https://cdn.acme.example/v2")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let narrowed = v["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        claims(&narrowed)["aud"],
        json!("https://cdn.acme.example/v2")
    );
    // `resource` may repeat (RFC 8707 2).
    let r = token_with(
        &app,
        &listed,
        &[
            ("resource", "https://cdn.acme.example/v2"),
            ("resource", "https://api.acme.example"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);

    for bad in [
        "https://evil.example",
        "api.acme.example",
        "https://api.acme.example#frag",
        "",
    ] {
        let r = token_with(&app, &listed, &[("resource", bad)]).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "invalid_target", "{bad:?}: {v}");
    }
    // The Adobe endpoint takes it too.
    let r = app
        .http
        .post(app.url("/o/client/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", listed.client_id.as_str()),
            ("client_secret", listed.secret.as_str()),
            ("resource", "https://nope.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Introspection returns aud; forward auth checks audience and programmer.
    let (_, key) = app.resource_server_key(Some("acme")).await;
    let v = app.introspect(&key, &narrowed).await;
    assert_eq!(v["aud"], json!("https://cdn.acme.example/v2"));
    let (s, _, _) = app
        .verify(
            &narrowed,
            &[("X-Required-Audience", "https://cdn.acme.example/v2")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v, _) = app
        .verify(
            &narrowed,
            &[("X-Required-Audience", "https://api.acme.example")],
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["code"], "invalid_access_token_client_application");
    let (s, _, _) = app
        .verify(&narrowed, &[("X-Required-Programmer", "acme")])
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v, _) = app
        .verify(&narrowed, &[("X-Required-Programmer", "beta")])
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["code"], "invalid_access_token_client_application");
}

#[tokio::test]
async fn audiences_are_validated_at_creation() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    let many: Vec<String> = (0..11).map(|i| format!("https://a{i}.example")).collect();
    for audiences in [
        json!(["not a uri"]),
        json!(["https://x.example/#f"]),
        json!(many),
        json!([5]),
    ] {
        let (s, v) = app
            .admin_post(
                "/programmers/acme/applications",
                json!({"name": "x", "level": "programmer", "platforms": ["ios"],
                       "scopes": ["api:client:v2"], "audiences": audiences}),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{audiences}: {v}");
    }
}

#[tokio::test]
async fn a_configured_default_audience_is_used() {
    let app = spawn_app_with(|c| {
        c.token.default_audience = Some("https://apis.acme.example".into());
    })
    .await;
    let ready = app.ready_client().await;
    assert_eq!(
        claims(&ready.token)["aud"],
        json!("https://apis.acme.example")
    );
}

/// RFC 7638 thumbprint of a published JWK.
fn thumbprint(jwk: &Value) -> String {
    let canonical = match jwk["kty"].as_str().unwrap() {
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["crv"].as_str().unwrap(),
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        ),
        "RSA" => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            jwk["e"].as_str().unwrap(),
            jwk["n"].as_str().unwrap()
        ),
        "OKP" => format!(
            r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
            jwk["crv"].as_str().unwrap(),
            jwk["x"].as_str().unwrap()
        ),
        other => panic!("unexpected kty {other}"),
    };
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Verifies `token` with `jsonwebtoken`, restricted to `alg`, against the JWKS.
async fn verify_with_jwks(app: &TestApp, token: &str, alg: Algorithm) -> Value {
    let jwks: Value = app.get_json("/.well-known/jwks.json").await;
    let kid = header(token)["kid"].as_str().unwrap().to_owned();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the signing key is published")
        .clone();
    let parsed: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk).unwrap();
    let key = DecodingKey::from_jwk(&parsed).unwrap();
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[app.base.as_str()]);
    validation.set_audience(&[app.base.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims
}

#[tokio::test]
async fn each_signing_algorithm_publishes_a_thumbprint_kid_and_verifies() {
    for (name, alg, kty) in [
        ("ES256", Algorithm::ES256, "EC"),
        ("RS256", Algorithm::RS256, "RSA"),
        ("EdDSA", Algorithm::EdDSA, "OKP"),
    ] {
        let app = spawn_app_with(|c| {
            c.signing.algorithm = dcr_core::jose::SigningAlgorithm::parse(name).unwrap();
        })
        .await;
        let jwks: Value = app.get_json("/.well-known/jwks.json").await;
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2, "{name}: active and next");
        for jwk in keys {
            assert_eq!(jwk["alg"], name);
            assert_eq!(jwk["use"], "sig");
            assert_eq!(jwk["kty"], kty);
            assert_eq!(jwk["kid"].as_str().unwrap(), thumbprint(jwk), "{name}");
        }
        let ready = app.ready_client().await;
        assert_eq!(header(&ready.token)["alg"], name);
        assert_eq!(header(&ready.statement)["alg"], name);
        let verified = verify_with_jwks(&app, &ready.token, alg).await;
        assert_eq!(verified["client_id"], ready.client_id.as_str());
        // Our own verifiers accept it too.
        assert_eq!(
            app.verify(&ready.token, &[]).await.0,
            StatusCode::OK,
            "{name}"
        );
    }
}

#[tokio::test]
async fn changing_the_algorithm_is_a_rotation() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let issuer = app.base.clone();
    let (dir, kek) = app.stop().await;
    let mut config = test_config(dir.path(), &kek);
    // The same issuer as before the restart, as in a deployment (the port is new).
    config.issuer = Some(issuer);
    config.signing.algorithm = dcr_core::jose::SigningAlgorithm::Rs256;
    let app = start(config, dir, kek).await;
    // Published as next first: ES256 still signs.
    let jwks: Value = app.get_json("/.well-known/jwks.json").await;
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert!(
        algs.contains(&"ES256") && algs.contains(&"RS256"),
        "{algs:?}"
    );
    let before = app.token(&ready.client_id, &ready.secret).await;
    assert_eq!(header(&before)["alg"], "ES256");
    // The rotation makes it sign; what was signed before stays valid.
    let (s, _) = app.admin_post("/keys/rotate", json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let after = app.token(&ready.client_id, &ready.secret).await;
    assert_eq!(header(&after)["alg"], "RS256");
    assert_eq!(app.verify(&before, &[]).await.0, StatusCode::OK);
    assert_eq!(app.verify(&after, &[]).await.0, StatusCode::OK);
    let r = app.register_raw(&ready.statement, json!({})).await;
    let status = r.status();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "an ES256 statement still registers: {}",
        r.text().await.unwrap()
    );
    // The new next key is RS256 too.
    let (_, keys) = app.admin_get("/keys").await;
    let next: Vec<&Value> = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["state"] == "next")
        .collect();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0]["alg"], "RS256");
}

async fn revoke(app: &TestApp, ready: &Ready, token: &str) -> reqwest::Response {
    app.http
        .post(app.url("/oauth2/revoke"))
        .basic_auth(&ready.client_id, Some(&ready.secret))
        .form(&[("token", token), ("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_client_revokes_its_own_token_and_nothing_else() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let other_token = app.token(&ready.client_id, &ready.secret).await;
    let (_, key) = app.resource_server_key(None).await;

    let r = revoke(&app, &ready, &ready.token).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "");
    // Refused at once by forward auth and introspection.
    assert_eq!(
        app.verify(&ready.token, &[]).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.introspect(&key, &ready.token).await["active"], false);
    // The feed names it, for guards.
    let feed: Value = app
        .http
        .get(app.url("/o/revocations"))
        .bearer_auth(&key)
        .fetch_json()
        .await;
    let jti = claims(&ready.token)["jti"].as_str().unwrap().to_owned();
    assert!(
        feed["revoked_tokens"]
            .as_array()
            .unwrap()
            .contains(&json!(jti)),
        "{feed}"
    );
    // The client's other tokens and the client itself are untouched.
    assert_eq!(app.verify(&other_token, &[]).await.0, StatusCode::OK);
    assert_eq!(
        app.token_raw(&ready.client_id, &ready.secret)
            .await
            .status(),
        StatusCode::CREATED
    );

    // Unknown, malformed and foreign tokens: 200, nothing happens (RFC 7009 2.2).
    let stranger = {
        let (id, secret) = app.register(&ready.statement).await;
        let token = app.token(&id, &secret).await;
        (id, secret, token)
    };
    for token in ["not-a-token", "a.b.c", stranger.2.as_str()] {
        let r = revoke(&app, &ready, token).await;
        assert_eq!(r.status(), StatusCode::OK, "{token}");
    }
    assert_eq!(app.verify(&stranger.2, &[]).await.0, StatusCode::OK);

    // Client authentication is required and checked.
    let r = app
        .http
        .post(app.url("/oauth2/revoke"))
        .basic_auth(&ready.client_id, Some("wrong"))
        .form(&[("token", other_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .http
        .post(app.url("/oauth2/revoke"))
        .form(&[("token", other_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .http
        .post(app.url("/oauth2/revoke"))
        .basic_auth(&ready.client_id, Some(&ready.secret))
        .form(&[("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.verify(&other_token, &[]).await.0, StatusCode::OK);

    let discovery: Value = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(
        discovery["revocation_endpoint"],
        format!("{}/oauth2/revoke", app.base)
    );
}

#[tokio::test]
async fn a_token_revoked_on_one_node_is_refused_by_another_within_seconds() {
    let a = spawn_app().await;
    let ready = a.ready_client().await;
    // A second node on the same store: the same data directory and KEK.
    let b = {
        let mut config = test_config(a.data_dir.path(), &a.kek);
        config.issuer = Some(a.base.clone());
        let app = dcr_server::Application::build(config).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until(std::future::pending()));
        base
    };
    let verify_on_b = || async {
        a.http
            .get(format!("{b}/o/auth/verify"))
            .bearer_auth(&ready.token)
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(verify_on_b().await, StatusCode::OK);
    assert_eq!(
        revoke(&a, &ready, &ready.token).await.status(),
        StatusCode::OK
    );
    let start = std::time::Instant::now();
    while verify_on_b().await == StatusCode::OK {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "not refused within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_client_reads_and_deletes_its_registration() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let r = app
        .register_raw(
            &ready.statement,
            json!({"redirect_uri": "com.acme.app:/cb"}),
        )
        .await;
    let reg: Value = r.json().await.unwrap();
    let id = reg["client_id"].as_str().unwrap().to_owned();
    let secret = reg["client_secret"].as_str().unwrap().to_owned();
    let rat = reg["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = reg["registration_client_uri"].as_str().unwrap().to_owned();
    assert_eq!(uri, format!("{}/o/client/register/{id}", app.base));
    assert!(rat.starts_with("dcrrt_"));
    let token = app.token(&id, &secret).await;

    let get = |bearer: String| {
        let http = app.http.clone();
        let uri = uri.clone();
        async move { http.get(uri).bearer_auth(bearer).send().await.unwrap() }
    };
    let r = get(rat.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let read: Value = r.json().await.unwrap();
    assert_eq!(read["client_id"], id.as_str());
    assert_eq!(read["redirect_uris"], json!(["com.acme.app:/cb"]));
    assert!(read.get("client_secret").is_none() && read.get("registration_access_token").is_none());

    // Wrong token, another client's token, a malformed id: the same 401.
    for (path, bearer) in [
        (uri.clone(), "dcrrt_wrong".to_owned()),
        (uri.clone(), ready.secret.clone()),
        (
            format!("{}/o/client/register/not-a-uuid", app.base),
            rat.clone(),
        ),
        (
            format!("{}/o/client/register/{}", app.base, ready.client_id),
            rat.clone(),
        ),
    ] {
        let r = app
            .http
            .get(&path)
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(
            r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "invalid_token");
    }
    let r = app.http.get(&uri).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Uninstall.
    let r = app
        .http
        .delete(&uri)
        .bearer_auth(&rat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.verify(&token, &[]).await.0, StatusCode::UNAUTHORIZED);
    let r = app.token_raw(&id, &secret).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    // Gone for the token holder too, with no oracle; a second delete is the same 401.
    assert_eq!(get(rat.clone()).await.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .http
        .delete(&uri)
        .bearer_auth(&rat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The audit log and the client's record say what happened.
    let (_, log) = app
        .admin_get(&format!("/audit?action=client.deleted&target={id}"))
        .await;
    assert_eq!(log["items"][0]["actor"], format!("client:{id}"));
    let (_, client) = app.admin_get(&format!("/clients/{id}")).await;
    assert_eq!(client["status"], "revoked", "{client}");
    // Other clients of the statement are untouched.
    assert_eq!(app.verify(&ready.token, &[]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn gateways_find_what_they_look_for() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    // AWS API Gateway reads jwks_uri from OpenID Connect discovery.
    let oauth: Value = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    let oidc: Value = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(oauth, oidc);
    assert_eq!(
        oidc["jwks_uri"],
        format!("{}/.well-known/jwks.json", app.base)
    );
    // Envoy's ext_authz appends the original path to the configured prefix.
    let r = app
        .http
        .post(app.url("/o/auth/verify/api/v2/ACMETV/configuration?x=1"))
        .bearer_auth(&ready.token)
        .header("X-Required-Scope", "api:client:v2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-client-id"], ready.client_id.as_str());
}

#[tokio::test]
async fn cors_covers_the_public_endpoints_only() {
    let preflight = |app: &TestApp, path: &str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("Origin", "https://tv.example")
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "content-type,x-device-info",
            )
            .send()
    };
    let app = spawn_app_with(|c| c.cors.allowed_origins = vec!["https://tv.example".into()]).await;
    for path in [
        "/o/client/register",
        "/o/client/token",
        "/oauth2/token",
        "/oauth2/revoke",
        "/o/client/register/00000000-0000-4000-8000-000000000000",
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
    ] {
        let r = preflight(&app, path).await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        assert_eq!(
            r.headers()["access-control-allow-origin"],
            "https://tv.example",
            "{path}"
        );
        let allowed = r.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap();
        assert!(allowed.contains("x-device-info"), "{path}: {allowed}");
        // A browser app's proofs of possession may cross too.
        for proof in [
            "dpop",
            "oauth-client-attestation",
            "oauth-client-attestation-pop",
        ] {
            assert!(allowed.contains(proof), "{path}: {allowed}");
        }
    }
    // The actual request carries the header too, errors included, on the token
    // endpoints (which the edge answers without the router) as on the others.
    let r = app
        .http
        .post(app.url("/o/client/register"))
        .header("Origin", "https://tv.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://tv.example"
    );
    for path in ["/o/client/token", "/oauth2/token"] {
        let r = app
            .http
            .post(app.url(path))
            .header("Origin", "https://tv.example")
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            r.headers()["access-control-allow-origin"],
            "https://tv.example",
            "{path}"
        );
        let exposed = r.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap();
        assert!(exposed.contains("x-request-id"), "{path}");
        assert!(
            exposed.contains("dpop-nonce"),
            "{path}: a nonce the app must read"
        );
    }
    // Never on admin routes, the dashboard, or for another origin.
    for path in ["/admin/v1/programmers", "/dashboard/login", "/o/introspect"] {
        let r = preflight(&app, path).await.unwrap();
        assert!(
            !r.headers().contains_key("access-control-allow-origin"),
            "{path}"
        );
    }
    let r = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/oauth2/token"))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(!r.headers().contains_key("access-control-allow-origin"));
    // Off by default.
    let plain = spawn_app().await;
    let r = preflight(&plain, "/oauth2/token").await.unwrap();
    assert!(!r.headers().contains_key("access-control-allow-origin"));
}
