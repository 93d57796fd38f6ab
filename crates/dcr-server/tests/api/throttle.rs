//! Throttling (docs/api.md, Register and Throttling): burst, refill, one bucket per device across endpoints, trusted
//! proxies, exemptions, and one budget across nodes through Redis.

use dcr_testkit::Fetch as _;
use std::time::{Duration, Instant};

use dcr_server::config::{EndpointThrottle, ThrottleConfig};
use dcr_testkit::*;
use reqwest::StatusCode;
use serde_json::Value;

fn throttling(capacity: u32, refill: f64, proxies: &[&str]) -> ThrottleConfig {
    ThrottleConfig {
        enabled: true,
        capacity,
        refill_per_second: refill,
        trusted_proxies: proxies.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

async fn token_status(app: &TestApp, xff: Option<&str>) -> reqwest::Response {
    let mut req = app.http.post(app.url("/o/client/token")).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", "nobody"),
        ("client_secret", "x"),
    ]);
    if let Some(x) = xff {
        req = req.header("x-forwarded-for", x);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_device_gets_its_burst_then_429_with_retry_after_then_refills() {
    let app = spawn_app_with(|c| c.throttle = throttling(10, 1.0, &[])).await;
    for i in 0..10 {
        assert_eq!(
            token_status(&app, None).await.status(),
            StatusCode::BAD_REQUEST,
            "request {i} is within the burst"
        );
    }
    let r = token_status(&app, None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "too_many_requests");
    assert_eq!(v["action"], "retry");
    assert_eq!(v["status"], 429);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        token_status(&app, None).await.status(),
        StatusCode::BAD_REQUEST,
        "one token refilled"
    );
    assert_eq!(
        token_status(&app, None).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Endpoints outside /o/client/* are not throttled.
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn one_bucket_covers_registration_and_token_together() {
    let app = spawn_app_with(|c| c.throttle = throttling(4, 0.1, &[])).await;
    for _ in 0..2 {
        assert_eq!(
            token_status(&app, None).await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    for _ in 0..2 {
        let r = app
            .http
            .post(app.url("/o/client/register"))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
    let r = app
        .http
        .post(app.url("/oauth2/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    // Untrusted peer: spoofing X-Forwarded-For buys nothing.
    let app = spawn_app_with(|c| c.throttle = throttling(2, 0.1, &[])).await;
    for i in 0..2 {
        assert_eq!(
            token_status(&app, Some(&format!("198.51.100.{i}")))
                .await
                .status(),
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(
        token_status(&app, Some("198.51.100.99")).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // Trusted proxy (the loopback peer): the right-most untrusted hop is the device.
    let app =
        spawn_app_with(|c| c.throttle = throttling(2, 0.1, &["127.0.0.0/8", "10.0.0.0/8"])).await;
    for _ in 0..2 {
        assert_eq!(
            token_status(&app, Some("6.6.6.6, 198.51.100.1, 10.0.0.7"))
                .await
                .status(),
            StatusCode::BAD_REQUEST
        );
    }
    // Same device, whatever it claims further left.
    assert_eq!(
        token_status(&app, Some("7.7.7.7, 198.51.100.1, 10.0.0.7"))
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another device behind the same proxy has its own bucket.
    assert_eq!(
        token_status(&app, Some("198.51.100.2, 10.0.0.7"))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn endpoints_can_be_exempted_or_given_their_own_bucket() {
    let app = spawn_app_with(|c| {
        c.throttle = throttling(1, 0.1, &[]);
        c.throttle.endpoints.insert(
            "token".into(),
            EndpointThrottle {
                enabled: false,
                ..Default::default()
            },
        );
        c.throttle.endpoints.insert(
            "register".into(),
            EndpointThrottle {
                enabled: true,
                capacity: Some(3),
                refill_per_second: None,
            },
        );
    })
    .await;
    for _ in 0..20 {
        assert_eq!(
            token_status(&app, None).await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    let register = || {
        app.http
            .post(app.url("/o/client/register"))
            .json(&serde_json::json!({}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(register().await.unwrap().status(), StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        register().await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn nodes_share_one_budget_through_redis_and_fall_back_when_it_is_down() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let url = redis.url();
    let node = |url: String| {
        spawn_app_with(move |c| {
            c.throttle = throttling(6, 0.1, &[]);
            c.redis_url = Some(url);
        })
    };
    let a = node(url.clone()).await;
    let b = node(url.clone()).await;
    for i in 0..6 {
        let app = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            token_status(app, None).await.status(),
            StatusCode::BAD_REQUEST,
            "request {i}"
        );
    }
    assert_eq!(
        token_status(&a, None).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        token_status(&b, None).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // Redis gone: each node keeps serving with its own local buckets.
    drop(redis);
    let c = node(url).await;
    let start = Instant::now();
    for _ in 0..6 {
        assert_eq!(
            token_status(&c, None).await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(
        token_status(&c, None).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "fallback must be fast"
    );
}

#[tokio::test]
async fn ipv6_addresses_of_one_prefix_share_one_bucket() {
    let app = spawn_app_with(|c| c.throttle = throttling(5, 0.01, &["127.0.0.1"])).await;
    // Thirty addresses of one /64, as one host can pick: five pass, the rest wait.
    let mut refused = 0;
    for i in 0..30 {
        let ip = format!("2001:db8:1:2:{i:x}:{:x}::1", (i * 7919) % 65536);
        if token_status(&app, Some(&ip)).await.status() == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert_eq!(refused, 25, "one /64 must be one device");
    // Another /64 is another device.
    assert_eq!(
        token_status(&app, Some("2001:db8:1:3::1")).await.status(),
        StatusCode::BAD_REQUEST
    );

    // A configured prefix: /48.
    let app = spawn_app_with(|c| {
        c.throttle = throttling(2, 0.01, &["127.0.0.1"]);
        c.throttle.ipv6_prefix_length = 48;
    })
    .await;
    for ip in ["2001:db8:7:1::1", "2001:db8:7:2::1"] {
        assert_eq!(
            token_status(&app, Some(ip)).await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(
        token_status(&app, Some("2001:db8:7:ffff::1"))
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// A Redis that accepts connections and never answers: requests must not wait for it.
#[tokio::test]
async fn a_silent_redis_does_not_slow_requests_down() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", silent.local_addr().unwrap());
    // Accept and hold every connection without a word.
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    {
        let held = held.clone();
        std::thread::spawn(move || {
            for stream in silent.incoming().flatten() {
                held.lock().unwrap().push(stream);
            }
        });
    }
    let app = spawn_app_with(|c| {
        c.throttle = throttling(1000, 100.0, &[]);
        c.redis_url = Some(url);
    })
    .await;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let http = app.http.clone();
        let url = app.url("/o/client/token");
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let r = http
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", "nobody"),
                    ("client_secret", "x"),
                ])
                .send()
                .await
                .unwrap();
            (r.status(), t.elapsed())
        }));
    }
    let mut slowest = Duration::ZERO;
    for t in tasks {
        let (status, took) = t.await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST);
        slowest = slowest.max(took);
    }
    assert!(
        slowest < Duration::from_millis(800),
        "slowest request took {slowest:?} (all: {:?})",
        start.elapsed()
    );
    // The breaker counted the outage (the recorder is shared by every test of this
    // process, so only "at least once" can be asserted here).
    let metrics = app.http.get(app.url("/metrics")).fetch_text().await;
    let outages: f64 = metrics
        .lines()
        .find(|l| l.starts_with("dcr_throttle_redis_outages_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(outages >= 1.0, "{metrics}");
}

/// With Redis, failed authentications are counted once for every node: an address
/// that spent its failures on one node is refused on the others at its next failure.
#[tokio::test]
async fn failed_authentications_are_counted_across_nodes_through_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let node = |url: String| {
        spawn_app_with(move |c| {
            c.limits.failed_auth_per_minute = 4;
            c.redis_url = Some(url);
        })
    };
    let a = node(redis.url()).await;
    let b = node(redis.url()).await;
    let wrong_key = |app: &TestApp| {
        app.http
            .get(app.url("/admin/v1/programmers"))
            .bearer_auth("dcrak_not-a-key")
            .send()
    };
    // Four failures, two on each node: the shared burst is spent.
    for app in [&a, &b, &a, &b] {
        assert_eq!(
            wrong_key(app).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // One more anywhere and the address is blocked there at once, though that node
    // has seen only two of its failures.
    assert_eq!(
        wrong_key(&b).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let r = wrong_key(&b).await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
}
