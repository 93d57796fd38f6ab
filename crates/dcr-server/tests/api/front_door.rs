//! One route table: forward auth and the token endpoints are answered by the same
//! service values whether a request takes the fast path or goes through the router.
//! The same requests (valid, refused, preflight, throttled, oversized) are sent each
//! way, each way to its own fresh server (throttling keeps count), and the answers
//! compared byte for byte (status, headers, body); where an answer holds a fresh token
//! its shape is compared instead.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request};
use dcr_server::config::ThrottleConfig;
use dcr_testkit::*;
use serde_json::{Value, json};

const ORIGIN: &str = "https://app.example";

/// One answer: status, headers, body. Left out: `x-request-id`, and `content-length`,
/// which hyper writes from the body's size on the wire whether or not a layer set it.
/// A `trace` member of an error body is per request and is blanked.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    /// For answers that carry a fresh token or time: status, header names and the
    /// JSON members, not their values.
    fn shape(&self) -> (u16, Vec<String>, Vec<String>) {
        let body: Value = serde_json::from_slice(&self.body).unwrap_or(Value::Null);
        let members = body
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        (
            self.status,
            self.headers.iter().map(|(k, _)| k.clone()).collect(),
            members,
        )
    }
}

#[derive(Clone, Copy)]
enum Way {
    Fast,
    Router,
}

async fn send(app: &dcr_server::startup::Application, way: Way, request: Request<Body>) -> Answer {
    let (mut parts, body) = request.into_parts();
    let peer: SocketAddr = "192.0.2.7:40000".parse().unwrap();
    parts.extensions.insert(ConnectInfo(peer));
    let request = Request::from_parts(parts, body);
    let response = match way {
        Way::Fast => app.routes().answer(request).await,
        Way::Router => app.routes().through_router(request).await,
    };
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter(|(k, _)| *k != "x-request-id" && *k != "content-length")
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("?").to_owned()))
        .collect();
    let mut body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec();
    if let Ok(Value::Object(mut error)) = serde_json::from_slice::<Value>(&body)
        && error.contains_key("trace")
    {
        error.insert("trace".into(), Value::Null);
        body = serde_json::to_vec(&error).unwrap();
    }
    Answer {
        status,
        headers,
        body,
    }
}

fn form(path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn admin(method: Method, path: &str, body: Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(format!("/admin/v1{path}"))
        .header("authorization", format!("Bearer {OPERATOR_KEY}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn json_of(app: &dcr_server::startup::Application, request: Request<Body>) -> Value {
    let answer = send(app, Way::Router, request).await;
    assert!(answer.status < 300, "{answer:?}");
    serde_json::from_slice(&answer.body).unwrap()
}

/// A fresh server with a client; then every request of the list, one way.
async fn run(way: Way) -> Vec<Answer> {
    let dir = tempfile::tempdir().unwrap();
    let kek = dcr_core::crypto::KeyEncryptionKey::generate()
        .unwrap()
        .to_base64();
    let mut config = test_config(dir.path(), &kek);
    config.cors.allowed_origins = vec![ORIGIN.into()];
    let app = dcr_server::startup::Application::build(config)
        .await
        .unwrap();
    json_of(
        &app,
        admin(
            Method::POST,
            "/programmers",
            json!({"id": "acme", "name": "Acme"}),
        ),
    )
    .await;
    let application = json_of(
        &app,
        admin(
            Method::POST,
            "/programmers/acme/applications",
            json!({"name": "a", "level": "programmer", "platforms": ["web"], "scopes": ["api:client:v2"]}),
        ),
    )
    .await;
    let issued = json_of(
        &app,
        admin(
            Method::POST,
            &format!(
                "/applications/{}/software-statements",
                application["id"].as_str().unwrap()
            ),
            json!({}),
        ),
    )
    .await;
    let registration = Request::post("/o/client/register")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"software_statement": issued["software_statement"]}).to_string(),
        ))
        .unwrap();
    let client = json_of(&app, registration).await;
    let (id, secret) = (
        client["client_id"].as_str().unwrap().to_owned(),
        client["client_secret"].as_str().unwrap().to_owned(),
    );
    let credentials =
        format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let token_answer = send(&app, Way::Router, form("/oauth2/token", &credentials)).await;
    let token: Value = serde_json::from_slice(&token_answer.body).unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();

    let mut requests: Vec<Request<Body>> = vec![
        form("/o/client/token", &credentials),
        form("/oauth2/token", &credentials),
        form(
            "/oauth2/token",
            "grant_type=client_credentials&client_id=x&client_id=y",
        ),
        form(
            "/oauth2/token",
            &format!("grant_type=client_credentials&client_id={id}&client_secret=wrong"),
        ),
        Request::post("/oauth2/token")
            .header("authorization", "Basic bm9ib2R5Om5vdGhpbmc=")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("grant_type=client_credentials"))
            .unwrap(),
        Request::post("/o/client/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", ORIGIN)
            .body(Body::from("grant_type=password"))
            .unwrap(),
        Request::post("/o/client/token")
            .header("content-type", "text/plain")
            .body(Body::from("x"))
            .unwrap(),
        form("/oauth2/token", &"a".repeat(17 * 1024)),
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/o/client/token")
            .header("origin", ORIGIN)
            .header("access-control-request-method", "POST")
            .body(Body::empty())
            .unwrap(),
        Request::get("/o/auth/verify").body(Body::empty()).unwrap(),
        Request::post("/o/auth/verify")
            .header("authorization", "Bearer not-a-token")
            .body(Body::empty())
            .unwrap(),
        Request::get("/o/auth/verify")
            .header("authorization", format!("Bearer {token}"))
            .header("x-required-scope", "api:client:v2")
            .header("x-required-programmer", "acme")
            .body(Body::empty())
            .unwrap(),
        Request::get("/o/auth/verify")
            .header("authorization", format!("Bearer {token}"))
            .header("x-required-programmer", "beta")
            .body(Body::empty())
            .unwrap(),
    ];
    let mut answers = Vec::new();
    for request in requests.drain(..) {
        answers.push(send(&app, way, request).await);
    }
    answers
}

#[tokio::test]
async fn both_entrances_answer_alike() {
    let fast = run(Way::Fast).await;
    let router = run(Way::Router).await;
    assert_eq!(fast.len(), router.len());
    for (i, (a, b)) in fast.iter().zip(&router).enumerate() {
        // Answers that hold a fresh token or its claims: their shape.
        if matches!(i, 0 | 1 | 11) {
            assert_eq!(a.shape(), b.shape(), "request {i}");
            assert!(a.status < 300, "request {i}: {a:?}");
        } else {
            assert_eq!(a, b, "request {i}");
        }
    }
}

#[tokio::test]
async fn both_entrances_throttle_alike() {
    async fn run_throttled(way: Way) -> Vec<Answer> {
        let dir = tempfile::tempdir().unwrap();
        let kek = dcr_core::crypto::KeyEncryptionKey::generate()
            .unwrap()
            .to_base64();
        let mut config = test_config(dir.path(), &kek);
        config.throttle = ThrottleConfig {
            enabled: true,
            capacity: 2,
            refill_per_second: 0.01,
            ..Default::default()
        };
        let app = dcr_server::startup::Application::build(config)
            .await
            .unwrap();
        let mut answers = Vec::new();
        for _ in 0..3 {
            let request = form(
                "/o/client/token",
                "grant_type=client_credentials&client_id=a&client_secret=b",
            );
            answers.push(send(&app, way, request).await);
        }
        answers
    }
    let fast = run_throttled(Way::Fast).await;
    let router = run_throttled(Way::Router).await;
    assert_eq!(fast[2].status, 429);
    assert_eq!(fast, router);
}
