//! The guard in front of a real API, against a real dcr server: the table of docs/errors.md, and
//! revocation reaching every protected path within 5 s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dcr_testkit::Fetch as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dcr_guard::{Guard, GuardConfig};
use dcr_testkit::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Api {
    base: String,
}

async fn start_api(guard: Guard) -> Api {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, protected_api::router(guard))
            .await
            .unwrap();
    });
    Api { base }
}

async fn guard_for(app: &TestApp, tweak: impl FnOnce(&mut GuardConfig)) -> Guard {
    let (_, key) = app.resource_server_key(Some("acme")).await;
    let mut config = GuardConfig::new(&app.base, key);
    config.poll_interval = Duration::from_millis(500);
    tweak(&mut config);
    Guard::connect(config).await.unwrap()
}

async fn call(
    app: &TestApp,
    api: &Api,
    channel: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut req = app
        .http
        .get(format!("{}/api/v2/{channel}/configuration", api.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        assert!(r.headers().contains_key("www-authenticate"));
    }
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn client_of(app: &TestApp, body: Value) -> String {
    let created = app.create_app(body).await;
    let (_, statement) = app.statement(created["id"].as_str().unwrap()).await;
    let (id, secret) = app.register(&statement).await;
    app.token(&id, &secret).await
}

/// name, channel, token, extra headers, expected status, expected code.
type Case<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    Vec<(&'a str, &'a str)>,
    StatusCode,
    &'a str,
);

mod common;

/// The guard admits a DPoP-bound token only with a fresh proof of its key for the
/// request (the URL from the Host header here; `public_origin` behind a proxy).
#[tokio::test]
async fn the_guard_enforces_dpop_bound_tokens() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let api = start_api(guard_for(&app, |_| {}).await).await;
    let url = format!("{}/api/v2/ACMETV/configuration", api.base);
    common::dpop_is_enforced(&app, &ready, &url).await;

    // Behind a proxy, the configured public origin is what proofs name.
    let public = start_api(
        guard_for(&app, |c| {
            *c = c.clone().public_origin("https://api.acme.example")
        })
        .await,
    )
    .await;
    let key = dcr_client::InstallKey::generate().unwrap();
    let token = common::bound_token(&app, &ready, &key).await;
    let path = "/api/v2/ACMETV/configuration";
    for (htu, status) in [
        (format!("{}{path}", public.base), StatusCode::UNAUTHORIZED),
        (format!("https://api.acme.example{path}"), StatusCode::OK),
    ] {
        let r = app
            .http
            .get(format!("{}{path}", public.base))
            .header("Authorization", format!("DPoP {token}"))
            .header(
                "DPoP",
                key.dpop_proof("GET", &htu, Some(&token), None).unwrap(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{htu}");
        if status == StatusCode::UNAUTHORIZED {
            let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
            assert!(challenge.starts_with("DPoP "), "{challenge}");
        }
    }
}

#[tokio::test]
async fn the_guard_answers_with_the_spec_table() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let api = start_api(guard_for(&app, |_| {}).await).await;

    let (s, v) = call(&app, &api, "ACMETV", Some(&ready.token), &[]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["client_id"], ready.client_id.as_str());
    assert_eq!(v["programmer"], "acme");

    let config_only = client_of(&app, json!({"name": "cfg", "level": "programmer", "platforms": ["ios"], "scopes": ["config:client"]})).await;
    let tv_only = client_of(&app, json!({"name": "tv", "level": "channel", "channels": ["ACMETV"], "platforms": ["ios"], "scopes": ["api:client:v2"]})).await;
    app.admin_post("/programmers", json!({"id": "other", "name": "Other"}))
        .await;
    app.admin_post(
        "/programmers/other/channels",
        json!({"id": "OTHERTV", "name": "Other TV"}),
    )
    .await;
    let guard = guard_for(&app, |_| {}).await; // a fresh guard knows the new channel
    let api = start_api(guard).await;

    let bad = "invalid_access_token_client_application";
    let cases: Vec<Case> = vec![
        (
            "no token",
            "ACMETV",
            None,
            vec![],
            StatusCode::UNAUTHORIZED,
            bad,
        ),
        (
            "garbage",
            "ACMETV",
            Some("abc.def.ghi"),
            vec![],
            StatusCode::UNAUTHORIZED,
            bad,
        ),
        (
            "statement as token",
            "ACMETV",
            Some(&ready.statement),
            vec![],
            StatusCode::UNAUTHORIZED,
            bad,
        ),
        (
            "missing scope",
            "ACMETV",
            Some(&config_only),
            vec![],
            StatusCode::FORBIDDEN,
            "insufficient_scope",
        ),
        (
            "other channel",
            "ACMENEWS",
            Some(&tv_only),
            vec![],
            StatusCode::UNAUTHORIZED,
            "invalid_access_token_service_provider",
        ),
        (
            "foreign programmer's channel",
            "OTHERTV",
            Some(&ready.token),
            vec![],
            StatusCode::UNAUTHORIZED,
            "invalid_access_token_service_provider",
        ),
        (
            "bad device info",
            "ACMETV",
            Some(&ready.token),
            vec![("x-device-info", "@@@")],
            StatusCode::BAD_REQUEST,
            "invalid_header_device_info",
        ),
    ];
    for (name, channel, token, headers, status, code) in cases {
        let (s, v) = call(&app, &api, channel, token, &headers).await;
        assert_eq!(
            (s, v["code"].as_str().unwrap_or_default()),
            (status, code),
            "{name}: {v}"
        );
        assert!(v["trace"].is_string() && v["action"].is_string(), "{name}");
    }
    assert_eq!(
        call(&app, &api, "ACMETV", Some(&tv_only), &[]).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, &api, "ACMENEWS", Some(&ready.token), &[])
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn expired_tokens_are_refused_by_the_guard() {
    let app = spawn_app_with(|c| c.token.ttl_seconds = 1).await;
    let ready = app.ready_client().await;
    let api = start_api(guard_for(&app, |_| {}).await).await;
    // Verify once so the token sits in the guard's cache: expiry must still apply.
    assert_eq!(
        call(&app, &api, "ACMETV", Some(&ready.token), &[]).await.0,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (s, v) = call(&app, &api, "ACMETV", Some(&ready.token), &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["code"], "access_token_expired");
}

/// Waits until `check` is true, returning how long that took; fails after 5 s.
async fn within_five_seconds<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if check().await {
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} still accepted the revoked token after 5 s");
}

#[derive(Clone, Copy, Debug)]
enum Revoke {
    Statement,
    Application,
    Client,
}

async fn revocation_reaches_every_path(kind: Revoke) {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    // A second client of the same application, through another statement.
    let (_, statement2) = app.statement(&ready.app_id).await;
    let (c2, s2) = app.register(&statement2).await;
    let t2 = app.token(&c2, &s2).await;
    // A client of another application, which must keep working in every case.
    let other = client_of(&app, json!({"name": "other", "level": "programmer", "platforms": ["ios"], "scopes": ["api:client:v2"]})).await;
    let (_, rs_key) = app.resource_server_key(Some("acme")).await;
    let api = start_api(guard_for(&app, |_| {}).await).await;
    for t in [&ready.token, &t2, &other] {
        assert_eq!(
            call(&app, &api, "ACMETV", Some(t), &[]).await.0,
            StatusCode::OK
        );
    }

    let path = match kind {
        Revoke::Statement => format!("/software-statements/{}/revoke", ready.jti),
        Revoke::Application => format!("/applications/{}/revoke", ready.app_id),
        Revoke::Client => format!("/clients/{}/revoke", ready.client_id),
    };
    let (s, _) = app.admin_post(&path, json!({})).await;
    assert_eq!(s, StatusCode::OK);

    let guard_took = within_five_seconds("the guard", || async {
        call(&app, &api, "ACMETV", Some(&ready.token), &[]).await.0 == StatusCode::UNAUTHORIZED
    })
    .await;
    within_five_seconds("forward auth", || async {
        app.verify(&ready.token, &[]).await.0 == StatusCode::UNAUTHORIZED
    })
    .await;
    within_five_seconds("introspection", || async {
        app.introspect(&rs_key, &ready.token).await["active"] == false
    })
    .await;
    within_five_seconds("the token endpoint", || async {
        app.token_raw(&ready.client_id, &ready.secret)
            .await
            .status()
            == StatusCode::BAD_REQUEST
    })
    .await;
    eprintln!("{kind:?}: the guard refused the revoked token after {guard_took:?}");

    // Collateral: the other statement's client survives unless the whole app went.
    let second = call(&app, &api, "ACMETV", Some(&t2), &[]).await.0;
    match kind {
        Revoke::Application => assert_eq!(second, StatusCode::UNAUTHORIZED),
        Revoke::Statement | Revoke::Client => assert_eq!(second, StatusCode::OK),
    }
    assert_eq!(
        call(&app, &api, "ACMETV", Some(&other), &[]).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn revoking_a_statement_reaches_every_path_within_5s() {
    revocation_reaches_every_path(Revoke::Statement).await;
}

#[tokio::test]
async fn revoking_an_application_reaches_every_path_within_5s() {
    revocation_reaches_every_path(Revoke::Application).await;
}

#[tokio::test]
async fn revoking_a_client_reaches_every_path_within_5s() {
    revocation_reaches_every_path(Revoke::Client).await;
}

#[tokio::test]
async fn the_guard_fails_closed_when_dcr_stays_unreachable() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let guard = guard_for(&app, |c| {
        c.poll_interval = Duration::from_millis(100);
        c.max_staleness = Duration::from_millis(800);
    })
    .await;
    let api = start_api(guard).await;
    assert_eq!(
        call(&app, &api, "ACMETV", Some(&ready.token), &[]).await.0,
        StatusCode::OK
    );
    let http = app.http.clone();
    let _ = app.stop().await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let r = http
        .get(format!("{}/api/v2/ACMETV/configuration", api.base))
        .bearer_auth(&ready.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "temporarily_unavailable");
    assert_eq!(v["action"], "retry");
}

/// Serves dcr's JWKS and counts how often it is fetched.
async fn counting_jwks(app: &TestApp) -> (String, Arc<AtomicUsize>) {
    let jwks: Value = app.get_json("/.well-known/jwks.json").await;
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let jwks = jwks.clone();
            async move { axum::Json(jwks) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, hits)
}

#[tokio::test]
async fn the_guard_refetches_the_jwks_for_an_unknown_kid_at_most_once_per_interval() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let (_, key) = app.resource_server_key(Some("acme")).await;
    let feed: dcr_proto::resource::RevocationFeed = app
        .http
        .get(app.url("/o/revocations"))
        .bearer_auth(&key)
        .fetch_json()
        .await;
    let (jwks_server, hits) = counting_jwks(&app).await;
    // A guard that starts knowing no key at all.
    let mut config = GuardConfig::new(&jwks_server, key);
    config.issuer = Some(app.base.clone());
    config.jwks_refetch_interval = Duration::from_millis(300);
    let guard = Guard::with_keys(config, &[], feed).unwrap();

    let forged_kid = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut parts: Vec<String> = ready.token.split('.').map(str::to_owned).collect();
        parts[0] = b64.encode(r#"{"alg":"ES256","typ":"at+jwt","kid":"unknown-kid"}"#);
        parts.join(".")
    };
    // The first unknown kid causes a fetch; more unknown kids within the interval do not.
    for _ in 0..5 {
        assert!(guard.verify(&forged_kid, None, None).await.is_err());
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // That fetch brought the real key.
    assert!(guard.verify(&ready.token, None, None).await.is_ok());
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(guard.verify(&forged_kid, None, None).await.is_err());
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_guard_can_throttle_per_device_like_the_server() {
    use dcr_core::throttle::{BucketSpec, TrustedProxies};
    use dcr_guard::{GuardLayer, VerifiedClient};
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let guard = guard_for(&app, |_| {}).await;
    let router = axum::Router::new()
        .route(
            "/x",
            axum::routing::get(|c: VerifiedClient| async move { c.client_id }),
        )
        .route_layer(GuardLayer::new(guard).throttle(
            BucketSpec {
                capacity: 2,
                refill_per_second: 0.1,
            },
            TrustedProxies::default(),
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
    for _ in 0..2 {
        let r = app
            .http
            .get(format!("{base}/x"))
            .bearer_auth(&ready.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = app
        .http
        .get(format!("{base}/x"))
        .bearer_auth(&ready.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "too_many_requests"
    );
}

/// A guard holding one programmer's key only hears that programmer's revocations, so
/// it must refuse every other programmer's tokens, also on routes naming no channel.
#[tokio::test]
async fn a_guard_refuses_other_programmers_tokens() {
    let app = spawn_app().await;
    let acme = app.ready_client().await;
    app.admin_post("/programmers", json!({"id": "beta", "name": "Beta"}))
        .await;
    let (s, beta_app) = app
        .admin_post(
            "/programmers/beta/applications",
            json!({"name": "b", "level": "programmer", "platforms": ["ios"], "scopes": ["api:client:v2"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{beta_app}");
    let (_, statement) = app.statement(beta_app["id"].as_str().unwrap()).await;
    let (id, secret) = app.register(&statement).await;
    let beta_token = app.token(&id, &secret).await;

    let guard = guard_for(&app, |_| {}).await;
    assert!(guard.verify(&acme.token, None, None).await.is_ok());
    let refused = guard.verify(&beta_token, None, None).await.unwrap_err();
    let (status, code, _) = refused.rejection();
    assert_eq!(status, 401);
    assert_eq!(code.as_str(), "invalid_access_token_client_application");

    // A deployment-wide key hears every programmer and accepts both...
    let (s, _) = app
        .admin_post(
            "/programmers/beta/channels",
            json!({"id": "ACMETV", "name": "Beta's ACMETV"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, key) = app.resource_server_key(None).await;
    let wide = Guard::connect(GuardConfig::new(&app.base, key.clone()))
        .await
        .unwrap();
    assert!(wide.verify(&acme.token, None, None).await.is_ok());
    assert!(wide.verify(&beta_token, None, None).await.is_ok());
    // ...unless the programmer is pinned, as docs/protecting-apis.md shows: then beta's
    // token for the same scope (and beta's channel named like acme's) is refused.
    let pinned = Guard::connect(GuardConfig::new(&app.base, key).programmer("acme"))
        .await
        .unwrap();
    assert!(
        pinned
            .verify(&acme.token, Some("api:client:v2"), Some("ACMETV"))
            .await
            .is_ok()
    );
    assert!(
        wide.verify(&beta_token, Some("api:client:v2"), Some("ACMETV"))
            .await
            .is_ok()
    );
    let refused = pinned
        .verify(&beta_token, Some("api:client:v2"), Some("ACMETV"))
        .await
        .unwrap_err();
    assert_eq!(refused.rejection().0, 401);
    // A pin that contradicts the key's programmer admits no one.
    let (_, acme_key) = app.resource_server_key(Some("acme")).await;
    let contradictory = Guard::connect(GuardConfig::new(&app.base, acme_key).programmer("beta"))
        .await
        .unwrap();
    assert!(contradictory.verify(&acme.token, None, None).await.is_err());
}

/// A guard configured with an audience refuses tokens for other APIs; a token its
/// client revoked (RFC 7009) is refused within a poll.
#[tokio::test]
async fn the_guard_checks_the_audience_and_hears_revoked_tokens() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let created = app
        .create_app(
            json!({"name": "api app", "level": "programmer", "platforms": ["ios"],
            "scopes": ["api:client:v2"], "audiences": ["https://api.acme.example"]}),
        )
        .await;
    let (_, statement) = app.statement(created["id"].as_str().unwrap()).await;
    let (id, secret) = app.register(&statement).await;
    let for_api = app.token(&id, &secret).await;

    let guard = guard_for(&app, |c| {
        c.audience = Some("https://api.acme.example".into())
    })
    .await;
    assert!(guard.verify(&for_api, None, None).await.is_ok());
    // The default app's tokens are for the issuer, not this API.
    let refused = guard.verify(&ready.token, None, None).await.unwrap_err();
    let (status, code, _) = refused.rejection();
    assert_eq!(
        (status, code.as_str()),
        (401, "invalid_access_token_client_application")
    );

    // The client revokes its token; the guard refuses it within one poll.
    let r = app
        .http
        .post(app.url("/oauth2/revoke"))
        .form(&[
            ("token", for_api.as_str()),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let start = Instant::now();
    while guard.verify(&for_api, None, None).await.is_ok() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "still accepted after 5 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A fresh token of the same client still passes.
    let fresh = app.token(&id, &secret).await;
    assert!(guard.verify(&fresh, None, None).await.is_ok());
}
