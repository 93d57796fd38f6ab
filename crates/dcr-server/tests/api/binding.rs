//! Credentials bound to the install: per-install keys (`private_key_jwt`), DPoP-bound
//! tokens at both token endpoints and at forward auth, and what a copy or a forgery
//! gets at each of them.

use dcr_client::key::{InstallKey, token_hash};
use dcr_testkit::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client registered with `key` (`private_key_jwt`): its id.
async fn register_with_key(app: &TestApp, statement: &str, key: &InstallKey) -> Value {
    let r = app
        .register_raw(
            statement,
            json!({"jwks": key.jwks(), "token_endpoint_auth_method": "private_key_jwt"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

/// POST to a token endpoint with `form` and optional `DPoP` header.
async fn token_request(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    dpop: Option<&str>,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut request = reqwest::Client::new().post(app.url(path)).form(form);
    if let Some(proof) = dpop {
        request = request.header("DPoP", proof);
    }
    let r = request.send().await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

async fn assertion_token(app: &TestApp, path: &str, assertion: &str) -> (StatusCode, Value) {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    let (s, v, _) = token_request(app, path, &form, None).await;
    (s, v)
}

#[tokio::test]
async fn an_install_key_replaces_the_secret_at_both_token_endpoints() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    let created = app.default_app().await;
    let (_, statement) = app.statement(created["id"].as_str().unwrap()).await;
    let key = InstallKey::generate().unwrap();
    let registered = register_with_key(&app, &statement, &key).await;
    assert!(registered.get("client_secret").is_none(), "{registered}");
    assert_eq!(registered["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(registered["jwks"], key.jwks());
    let client_id = registered["client_id"].as_str().unwrap();

    // RFC 7592: the registration shows its key.
    let read = reqwest::Client::new()
        .get(registered["registration_client_uri"].as_str().unwrap())
        .bearer_auth(registered["registration_access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let read: Value = read.json().await.unwrap();
    assert_eq!(read["jwks"], key.jwks());
    assert_eq!(read["token_endpoint_auth_method"], "private_key_jwt");

    // `aud` may be the issuer or the endpoint's URL, at either endpoint.
    for (path, aud, status) in [
        ("/oauth2/token", app.base.clone(), StatusCode::OK),
        (
            "/o/client/token",
            app.url("/o/client/token"),
            StatusCode::CREATED,
        ),
        ("/oauth2/token", app.url("/oauth2/token"), StatusCode::OK),
    ] {
        let assertion = key.client_assertion(client_id, &aud).unwrap();
        let (s, body) = assertion_token(&app, path, &assertion).await;
        assert_eq!(s, status, "{path} {aud}: {body}");
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(
            claims(body["access_token"].as_str().unwrap())["sub"],
            client_id
        );
        // The same assertion twice: used once across the deployment.
        let (s, body) = assertion_token(&app, path, &assertion).await;
        assert_eq!(body["error"], "invalid_client", "{s} {body}");
    }

    // Signed by another key, or claiming too much: invalid_client, never 5xx.
    let other = InstallKey::generate().unwrap();
    let issuer = app.base.clone();
    let good = |exp: i64| json!({"iss": client_id, "sub": client_id, "aud": issuer, "exp": exp, "jti": unique_jti()});
    let mut forged = vec![
        other.client_assertion(client_id, &issuer).unwrap(),
        key.sign("JWT", false, &good(unix_now() + 3_600)).unwrap(),
        key.sign("JWT", false, &good(unix_now() - 10)).unwrap(),
        "not.a.jwt".to_owned(),
        "x".repeat(12_000),
    ];
    for (member, value) in [
        ("aud", json!("https://elsewhere.example")),
        ("iss", json!("another-client")),
        ("jti", Value::Null),
    ] {
        let mut claims = good(unix_now() + 60);
        claims[member] = value;
        forged.push(key.sign("JWT", false, &claims).unwrap());
    }
    // alg none and HS256 (keyed with the public JWK's text, the classic confusion).
    let payload = base64url(&good(unix_now() + 60).to_string());
    forged.push(format!("{}.{payload}.", base64url(r#"{"alg":"none"}"#)));
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &good(unix_now() + 60),
        &jsonwebtoken::EncodingKey::from_secret(key.public_jwk().to_string().as_bytes()),
    )
    .unwrap();
    forged.push(hs);
    for assertion in &forged {
        let (s, body) = assertion_token(&app, "/oauth2/token", assertion).await;
        assert!(s.is_client_error(), "{s} {body}");
        assert_eq!(body["error"], "invalid_client", "{assertion:.60}: {body}");
    }

    // A key-bound client has no secret to send; a secret client cannot send a key.
    let (s, body, _) = token_request(
        &app,
        "/oauth2/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", "guess"),
        ],
        None,
    )
    .await;
    assert!(s.is_client_error());
    assert_eq!(body["error"], "invalid_client");
    let (secret_client, _) = app.register(&statement).await;
    let assertion = key.client_assertion(&secret_client, &issuer).unwrap();
    let (_, body) = assertion_token(&app, "/oauth2/token", &assertion).await;
    assert_eq!(body["error"], "invalid_client");
    // The wrong assertion type, or credentials two ways: invalid_request.
    let (s, body, _) = token_request(
        &app,
        "/oauth2/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:example:other"),
            (
                "client_assertion",
                &key.client_assertion(client_id, &issuer).unwrap(),
            ),
        ],
        None,
    )
    .await;
    assert_eq!(
        (s, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_request"))
    );
}

fn base64url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn registration_takes_exactly_one_public_key_it_can_use() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    let created = app.default_app().await;
    let (_, statement) = app.statement(created["id"].as_str().unwrap()).await;
    let key = InstallKey::generate().unwrap();
    let mut private = key.public_jwk().clone();
    private["d"] = json!("jTZYr7uWbwyq_mJD2EZ2FxQ0tO0ZwXM5sRbxJqo5n2Y");
    let p384 = json!({"kty": "EC", "crv": "P-384",
        "x": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "y": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"});
    let rsa = json!({"kty": "RSA", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"});
    for (extra, why) in [
        (json!({"jwks": {"keys": [private]}}), "a private key"),
        (
            json!({"jwks": {"keys": [key.public_jwk(), InstallKey::generate().unwrap().public_jwk()]}}),
            "two keys",
        ),
        (json!({"jwks": {"keys": []}}), "no key"),
        (json!({"jwks": {"keys": [p384]}}), "P-384"),
        (json!({"jwks": {"keys": [rsa]}}), "RSA"),
        (json!({"jwks": key.public_jwk()}), "a JWK, not a JWKS"),
        (
            json!({"jwks": key.jwks(), "token_endpoint_auth_method": "client_secret_post"}),
            "a key with a secret method",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt"}),
            "private_key_jwt without a key",
        ),
        (
            json!({"token_endpoint_auth_method": "tls_client_auth"}),
            "an unsupported method",
        ),
    ] {
        let r = app.register_raw(&statement, extra).await;
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {body}");
        assert_eq!(body["error"], "invalid_client_metadata", "{why}: {body}");
    }
    // Ed25519 is accepted as well as P-256.
    let ed = InstallKey::generate_ed25519().unwrap();
    let registered = register_with_key(&app, &statement, &ed).await;
    let client_id = registered["client_id"].as_str().unwrap();
    let assertion = ed.client_assertion(client_id, &app.base).unwrap();
    let (s, body) = assertion_token(&app, "/oauth2/token", &assertion).await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// A proof for `htm htu` with arbitrary claims changed.
fn proof_with(
    key: &InstallKey,
    htm: &str,
    htu: &str,
    token: Option<&str>,
    change: Value,
) -> String {
    let mut claims = json!({"jti": unique_jti(), "htm": htm, "htu": htu, "iat": unix_now()});
    if let Some(token) = token {
        claims["ath"] = token_hash(token).into();
    }
    if let (Value::Object(c), Value::Object(changes)) = (&mut claims, change) {
        for (k, v) in changes {
            if v.is_null() {
                c.remove(&k);
            } else {
                c.insert(k, v);
            }
        }
    }
    key.sign("dpop+jwt", true, &claims).unwrap()
}

/// The headers nginx sends with `auth_request` for `GET https://api.example/v1/x?q=1`.
fn forwarded(scheme: &str, token: &str, proof: Option<&str>) -> Vec<(String, String)> {
    let mut h = vec![
        ("Authorization".to_owned(), format!("{scheme} {token}")),
        ("X-Forwarded-Method".to_owned(), "GET".to_owned()),
        ("X-Forwarded-Proto".to_owned(), "https".to_owned()),
        ("X-Forwarded-Host".to_owned(), "api.example".to_owned()),
        ("X-Forwarded-Uri".to_owned(), "/v1/x?q=1".to_owned()),
    ];
    if let Some(p) = proof {
        h.push(("DPoP".to_owned(), p.to_owned()));
    }
    h
}

async fn verify_with(app: &TestApp, headers: &[(String, String)]) -> (StatusCode, Value, String) {
    let mut request = reqwest::Client::new().get(app.url("/o/auth/verify"));
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let r = request.send().await.unwrap();
    let status = r.status();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, r.json().await.unwrap_or(Value::Null), challenge)
}

const API: &str = "https://api.example/v1/x";

#[tokio::test]
async fn a_dpop_bound_token_works_only_with_a_fresh_proof_of_its_key() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let key = InstallKey::generate().unwrap();

    // Both endpoints bind the token to the proof's key.
    for (path, status) in [
        ("/oauth2/token", StatusCode::OK),
        ("/o/client/token", StatusCode::CREATED),
    ] {
        let proof = key.dpop_proof("POST", &app.url(path), None, None).unwrap();
        let (s, body, _) = token_request(
            &app,
            path,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &ready.client_id),
                ("client_secret", &ready.secret),
            ],
            Some(&proof),
        )
        .await;
        assert_eq!(s, status, "{body}");
        assert_eq!(body["token_type"], "DPoP");
        let token = body["access_token"].as_str().unwrap();
        assert_eq!(claims(token)["cnf"], json!({"jkt": key.thumbprint()}));
    }
    let proof = key
        .dpop_proof("POST", &app.url("/oauth2/token"), None, None)
        .unwrap();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", ready.client_id.as_str()),
        ("client_secret", ready.secret.as_str()),
    ];
    let (_, body, _) = token_request(&app, "/oauth2/token", &form, Some(&proof)).await;
    let token = body["access_token"].as_str().unwrap().to_owned();

    // Proofs the token endpoint refuses: replayed, for another URL or method, stale,
    // from the future, unsigned, with a private key in the header, garbage.
    let token_url = app.url("/oauth2/token");
    let mut private = key.public_jwk().clone();
    private["d"] = json!("jTZYr7uWbwyq_mJD2EZ2FxQ0tO0ZwXM5sRbxJqo5n2Y");
    let with_private_jwk = {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = serde_json::from_value(private).ok();
        jsonwebtoken::encode(
            &header,
            &json!({"jti": unique_jti(), "htm": "POST", "htu": token_url, "iat": unix_now()}),
            &jsonwebtoken::EncodingKey::from_secret(b"k"),
        )
        .unwrap()
    };
    let refused_at_token = [
        proof.clone(),
        proof_with(&key, "POST", &app.url("/o/client/token"), None, json!({})),
        proof_with(&key, "GET", &token_url, None, json!({})),
        proof_with(
            &key,
            "POST",
            &token_url.replace("http://", "https://"),
            None,
            json!({}),
        ),
        proof_with(&key, "POST", &format!("{token_url}?a=b"), None, json!({})),
        proof_with(
            &key,
            "POST",
            &token_url,
            None,
            json!({"iat": unix_now() - 600}),
        ),
        proof_with(
            &key,
            "POST",
            &token_url,
            None,
            json!({"iat": unix_now() + 600}),
        ),
        proof_with(&key, "POST", &token_url, None, json!({"jti": null})),
        key.sign(
            "JWT",
            true,
            &json!({"jti": unique_jti(), "htm": "POST", "htu": token_url, "iat": unix_now()}),
        )
        .unwrap(),
        key.sign(
            "dpop+jwt",
            false,
            &json!({"jti": unique_jti(), "htm": "POST", "htu": token_url, "iat": unix_now()}),
        )
        .unwrap(),
        format!(
            "{}.{}.",
            base64url(r#"{"alg":"none","typ":"dpop+jwt"}"#),
            base64url("{}")
        ),
        with_private_jwk,
        "garbage".to_owned(),
        format!("a.{}.c", "b".repeat(12_000)),
    ];
    for bad in &refused_at_token {
        let (s, body, _) = token_request(&app, "/oauth2/token", &form, Some(bad)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad:.80}: {body}");
        assert_eq!(body["error"], "invalid_dpop_proof", "{bad:.80}: {body}");
    }

    // Forward auth: the DPoP scheme with a proof for the original request.
    let good = key.dpop_proof("GET", API, Some(&token), None).unwrap();
    let (s, body, _) = verify_with(&app, &forwarded("DPoP", &token, Some(&good))).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["client_id"], ready.client_id);
    // nginx's names for the same, and an absolute original URI.
    let other_names = vec![
        ("Authorization".to_owned(), format!("DPoP {token}")),
        ("X-Original-Method".to_owned(), "GET".to_owned()),
        ("X-Original-URI".to_owned(), format!("{API}?page=2")),
        (
            "DPoP".to_owned(),
            key.dpop_proof("GET", API, Some(&token), None).unwrap(),
        ),
    ];
    assert_eq!(verify_with(&app, &other_names).await.0, StatusCode::OK);

    let other_key = InstallKey::generate().unwrap();
    let refused_at_verify = [
        ("replayed", forwarded("DPoP", &token, Some(&good))),
        ("as a bearer token", forwarded("Bearer", &token, None)),
        (
            "as a bearer token, with a proof",
            forwarded(
                "Bearer",
                &token,
                Some(&key.dpop_proof("GET", API, Some(&token), None).unwrap()),
            ),
        ),
        ("no proof", forwarded("DPoP", &token, None)),
        (
            "another key",
            forwarded(
                "DPoP",
                &token,
                Some(
                    &other_key
                        .dpop_proof("GET", API, Some(&token), None)
                        .unwrap(),
                ),
            ),
        ),
        (
            "another method",
            forwarded(
                "DPoP",
                &token,
                Some(&key.dpop_proof("POST", API, Some(&token), None).unwrap()),
            ),
        ),
        (
            "another path",
            forwarded(
                "DPoP",
                &token,
                Some(
                    &key.dpop_proof("GET", "https://api.example/v1/y", Some(&token), None)
                        .unwrap(),
                ),
            ),
        ),
        (
            "another host",
            forwarded(
                "DPoP",
                &token,
                Some(
                    &key.dpop_proof("GET", "https://evil.example/v1/x", Some(&token), None)
                        .unwrap(),
                ),
            ),
        ),
        (
            "another scheme",
            forwarded(
                "DPoP",
                &token,
                Some(
                    &key.dpop_proof("GET", "http://api.example/v1/x", Some(&token), None)
                        .unwrap(),
                ),
            ),
        ),
        (
            "a query in htu",
            forwarded(
                "DPoP",
                &token,
                Some(&proof_with(
                    &key,
                    "GET",
                    &format!("{API}?q=1"),
                    Some(&token),
                    json!({}),
                )),
            ),
        ),
        (
            "no ath",
            forwarded(
                "DPoP",
                &token,
                Some(&proof_with(&key, "GET", API, None, json!({}))),
            ),
        ),
        (
            "another token's ath",
            forwarded(
                "DPoP",
                &token,
                Some(&key.dpop_proof("GET", API, Some("other"), None).unwrap()),
            ),
        ),
        (
            "stale",
            forwarded(
                "DPoP",
                &token,
                Some(&proof_with(
                    &key,
                    "GET",
                    API,
                    Some(&token),
                    json!({"iat": unix_now() - 600}),
                )),
            ),
        ),
        (
            "from the future",
            forwarded(
                "DPoP",
                &token,
                Some(&proof_with(
                    &key,
                    "GET",
                    API,
                    Some(&token),
                    json!({"iat": unix_now() + 600}),
                )),
            ),
        ),
        ("garbage", forwarded("DPoP", &token, Some("garbage"))),
    ];
    for (why, headers) in &refused_at_verify {
        let (s, body, challenge) = verify_with(&app, headers).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{why}: {body}");
        assert_eq!(body["code"], "invalid_dpop_proof", "{why}: {body}");
        assert!(challenge.starts_with("DPoP "), "{why}: {challenge}");
        assert!(
            challenge.contains("invalid_dpop_proof"),
            "{why}: {challenge}"
        );
    }
    // Without the original URI the proof cannot be judged: refused, not waved through.
    let no_uri: Vec<_> = forwarded(
        "DPoP",
        &token,
        Some(&key.dpop_proof("GET", API, Some(&token), None).unwrap()),
    )
    .into_iter()
    .filter(|(k, _)| k != "X-Forwarded-Uri")
    .collect();
    assert_eq!(verify_with(&app, &no_uri).await.0, StatusCode::UNAUTHORIZED);
    // An unbound token stays a bearer token.
    let (s, _, _) = verify_with(&app, &forwarded("Bearer", &ready.token, None)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, body, _) = verify_with(
        &app,
        &forwarded(
            "DPoP",
            &ready.token,
            Some(
                &key.dpop_proof("GET", API, Some(&ready.token), None)
                    .unwrap(),
            ),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");

    // Introspection says what the token is bound to.
    let (_, rs_key) = app.resource_server_key(Some("acme")).await;
    let answer = app.introspect(&rs_key, &token).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_type"], "DPoP");
    assert_eq!(answer["cnf"], json!({"jkt": key.thumbprint()}));
    assert!(
        app.introspect(&rs_key, &ready.token)
            .await
            .get("cnf")
            .is_none()
    );

    // Discovery advertises it all.
    let metadata = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(
        metadata["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA"])
    );
    let methods = metadata["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&json!("private_key_jwt")));
    assert!(methods.contains(&json!("attest_jwt_client_auth")));
}

#[tokio::test]
async fn a_server_nonce_is_asked_for_and_then_accepted() {
    let app = spawn_app_with(|c| c.dpop.require_nonce = true).await;
    let ready = app.ready_client().await;
    let key = InstallKey::generate().unwrap();
    let url = app.url("/oauth2/token");
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", ready.client_id.as_str()),
        ("client_secret", ready.secret.as_str()),
    ];
    let proof = key.dpop_proof("POST", &url, None, None).unwrap();
    let (s, body, headers) = token_request(&app, "/oauth2/token", &form, Some(&proof)).await;
    assert_eq!(
        (s, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("use_dpop_nonce"))
    );
    let nonce = headers["dpop-nonce"].to_str().unwrap().to_owned();
    for bogus in ["1.AAAA", "nonsense", ""] {
        let proof = key.dpop_proof("POST", &url, None, Some(bogus)).unwrap();
        let (_, body, headers) = token_request(&app, "/oauth2/token", &form, Some(&proof)).await;
        assert_eq!(body["error"], "use_dpop_nonce", "{bogus}");
        assert!(headers.contains_key("dpop-nonce"));
    }
    let proof = key.dpop_proof("POST", &url, None, Some(&nonce)).unwrap();
    let (s, body, _) = token_request(&app, "/oauth2/token", &form, Some(&proof)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");
}

#[tokio::test]
async fn require_refuses_unbound_installs_per_platform_and_report_lets_them_in() {
    let app = spawn_app().await;
    app.seed_programmer().await;
    let created = app.default_app().await;
    let app_id = created["id"].as_str().unwrap();
    let (_, statement) = app.statement(app_id).await;
    // Live clients on iOS (the test kit's device) before the change.
    let (ios_client, ios_secret) = app.register(&statement).await;
    // It has a token already: what the server remembers of it must not outlive the change.
    assert_eq!(
        app.token_raw(&ios_client, &ios_secret).await.status(),
        StatusCode::CREATED
    );

    let change = json!({"bound_credentials": {"ios": "require"}});
    let (s, impact) = app
        .admin_put(
            &format!("/applications/{app_id}/policy?dry_run=true"),
            change.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{impact}");
    assert_eq!(impact["dry_run"], true);
    assert_eq!(impact["clients_without_dpop"], json!({"ios": 1}));
    assert_eq!(
        impact["application"]["policy"]["bound_credentials"]["ios"],
        "require"
    );
    let (_, unchanged) = app.admin_get(&format!("/applications/{app_id}")).await;
    assert_eq!(
        unchanged["policy"]["bound_credentials"],
        json!({"default": "off"})
    );

    let (s, updated) = app
        .admin_put(&format!("/applications/{app_id}/policy"), change)
        .await;
    assert_eq!(s, StatusCode::OK, "{updated}");
    assert_eq!(
        updated["policy"]["bound_credentials"],
        json!({"default": "off", "ios": "require"})
    );

    // iOS: no registration without a key, no token without a proof.
    let r = app.register_raw(&statement, json!({})).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client_metadata");
    let r = app.token_raw(&ios_client, &ios_secret).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_dpop_proof", "{body}");
    let key = InstallKey::generate().unwrap();
    let registered = register_with_key(&app, &statement, &key).await;
    assert_eq!(registered["dpop_bound_access_tokens"], true);
    let client_id = registered["client_id"].as_str().unwrap();
    let url = app.url("/oauth2/token");
    let form = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        (
            "client_assertion",
            &key.client_assertion(client_id, &url).unwrap(),
        ),
    ];
    let (s, body, _) = token_request(&app, "/oauth2/token", &form, None).await;
    assert_eq!(
        (s, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_dpop_proof"))
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        (
            "client_assertion",
            &key.client_assertion(client_id, &url).unwrap(),
        ),
    ];
    let proof = key.dpop_proof("POST", &url, None, None).unwrap();
    let (s, body, _) = token_request(&app, "/oauth2/token", &form, Some(&proof)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");

    // Another platform is not asked; `report` accepts and says so.
    let tvos = reqwest::Client::new()
        .post(app.url("/o/client/register"))
        .header(
            "X-Device-Info",
            device_info(r#"{"osName":"tvOS","model":"AppleTV","primaryHardwareType":"SetTopBox"}"#),
        )
        .json(&json!({"software_statement": statement}))
        .send()
        .await
        .unwrap();
    assert_eq!(tvos.status(), StatusCode::CREATED);
    let tvos: Value = tvos.json().await.unwrap();
    assert!(tvos.get("dpop_bound_access_tokens").is_none(), "{tvos}");
    let (s, _) = app
        .admin_put(
            &format!("/applications/{app_id}/policy"),
            json!({"bound_credentials": {"ios": "report", "default": "report"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let r = app.register_raw(&statement, json!({})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["dpop_bound_access_tokens"], true);
    assert_eq!(
        app.token_raw(&ios_client, &ios_secret).await.status(),
        StatusCode::CREATED
    );

    // Bad modes are refused whole.
    for bad in [
        json!({"bound_credentials": {"ios": "strict"}}),
        json!({"bound_credentials": "require"}),
    ] {
        let (s, body) = app
            .admin_put(&format!("/applications/{app_id}/policy"), bad)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    }
}
