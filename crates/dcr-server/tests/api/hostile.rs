//! Cheap hostile traffic against the public edge: silent and half-open connections,
//! slow bodies, hostile methods and paths, and the service-wide concurrency cap. Each
//! probe must leave `/healthz` answering within its timeouts.

use dcr_testkit::Fetch as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use dcr_testkit::*;
use reqwest::StatusCode;

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// `/healthz` on a new connection, with its latency.
async fn healthz(app: &TestApp) -> (StatusCode, Duration) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let start = Instant::now();
    let status = http.get(app.url("/healthz")).send().await.unwrap().status();
    (status, start.elapsed())
}

/// Opens `n` connections that each send `prefix` and then go silent.
fn silent_connections(app: &TestApp, n: usize, prefix: &[u8]) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let mut s = TcpStream::connect(addr(app)).unwrap();
            if !prefix.is_empty() {
                s.write_all(prefix).unwrap();
            }
            s
        })
        .collect()
}

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty SETTINGS frame: length 0, type 4, flags 0, stream 0.
const H2_EMPTY_SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];

async fn slots_are_freed_after(prefix: &[u8]) {
    let app = spawn_app_with(|c| {
        c.limits.max_connections = 4;
        c.limits.header_read_timeout_seconds = 1;
    })
    .await;
    let held = silent_connections(&app, 4, prefix);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, took) = healthz(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        took < Duration::from_secs(4),
        "{prefix:?}: /healthz waited {took:?} behind silent connections"
    );
    drop(held);
}

#[tokio::test]
async fn one_byte_of_an_http2_preface_does_not_hold_a_slot() {
    slots_are_freed_after(b"P").await;
}

#[tokio::test]
async fn a_whole_http2_preface_and_settings_do_not_hold_a_slot() {
    let mut probe = H2_PREFACE.to_vec();
    probe.extend_from_slice(H2_EMPTY_SETTINGS);
    slots_are_freed_after(&probe).await;
}

#[tokio::test]
async fn a_partial_http1_request_line_does_not_hold_a_slot() {
    slots_are_freed_after(b"POST /o/client/tok").await;
}

#[tokio::test]
async fn silent_connections_do_not_hold_a_slot() {
    slots_are_freed_after(b"").await;
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed() {
    let app = spawn_app_with(|c| {
        c.limits.header_read_timeout_seconds = 1;
        c.limits.idle_timeout_seconds = 1;
    })
    .await;
    // One request over HTTP/2 (prior knowledge), then silence: the server must close
    // the connection once it is idle.
    let address = addr(&app);
    let held = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(address).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(H2_PREFACE).unwrap();
        s.write_all(H2_EMPTY_SETTINGS).unwrap();
        // HEADERS on stream 1 for GET /healthz, HPACK-encoded with indexed and
        // literal fields: :method GET (2), :scheme http (6), :path (literal), :authority.
        let mut block = vec![0x82, 0x86, 0x04, 0x08];
        block.extend_from_slice(b"/healthz");
        block.extend_from_slice(&[0x01, 0x01, b'x']);
        let mut frame = vec![0, 0, block.len() as u8, 1, 0x05, 0, 0, 0, 1];
        frame.extend_from_slice(&block);
        s.write_all(&frame).unwrap();
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        let mut answered = Vec::new();
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => answered.extend_from_slice(&buf[..n]),
            }
        }
        // A HEADERS frame (type 1) on stream 1 came back before the close.
        let headers_frame = answered
            .windows(9)
            .any(|w| w[3] == 1 && w[5..9] == [0, 0, 0, 1]);
        assert!(headers_frame, "no response on stream 1: {answered:?}");
        start.elapsed()
    })
    .await
    .unwrap();
    assert!(
        held < Duration::from_secs(6),
        "idle HTTP/2 connection held for {held:?}"
    );
}

#[tokio::test]
async fn a_slow_body_is_answered_408_in_the_documented_shape() {
    let app = spawn_app_with(|c| c.limits.body_read_timeout_seconds = 1).await;
    for (path, content_type) in [
        ("/o/client/register", "application/json"),
        ("/admin/v1/programmers", "application/json"),
    ] {
        let address = addr(&app);
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {OPERATOR_KEY}\r\n\
             Content-Type: {content_type}\r\nContent-Length: 100\r\n\r\n{{\"soft"
        );
        let (answer, took) = tokio::task::spawn_blocking(move || {
            let mut s = TcpStream::connect(address).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s.write_all(request.as_bytes()).unwrap();
            let start = Instant::now();
            let mut buf = vec![0u8; 8192];
            let n = s.read(&mut buf).unwrap_or(0);
            (
                String::from_utf8_lossy(&buf[..n]).into_owned(),
                start.elapsed(),
            )
        })
        .await
        .unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(took < Duration::from_secs(5), "{path}: took {took:?}");
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        if path.starts_with("/o/") {
            assert!(body.contains(r#""error":"invalid_request""#), "{body}");
        } else {
            assert!(body.contains(r#""code":"request_timeout""#), "{body}");
        }
    }
    let (status, _) = healthz(&app).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_concurrency_cap_covers_the_whole_service() {
    let app = spawn_app_with(|c| {
        c.limits.max_concurrent_requests = 1;
        c.limits.body_read_timeout_seconds = 2;
    })
    .await;
    // A registration whose body never finishes holds the one permit until its body
    // deadline; a request on another route must wait for it.
    let address = addr(&app);
    let slow = std::thread::spawn(move || {
        let mut s = TcpStream::connect(address).unwrap();
        s.write_all(
            b"POST /o/client/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{",
        )
        .unwrap();
        std::thread::sleep(Duration::from_secs(4));
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, took) = healthz(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        took >= Duration::from_millis(1000),
        "/healthz did not wait for the busy permit ({took:?}): the cap is per route"
    );
    slow.join().unwrap();
}

#[tokio::test]
async fn hostile_methods_paths_and_headers_do_not_grow_metrics() {
    let app = spawn_app().await;
    let scrape = || async { app.http.get(app.url("/metrics")).fetch_text().await };
    // The series of this probe's own label values: other tests share the process's
    // recorder and add their own series meanwhile, so the whole text's size says nothing.
    let hostile_series = |text: &str| {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            // Only this test sends methods outside the standard set.
            .filter(|l| l.contains("method=\"other\""))
            .filter_map(|l| l.rsplit_once(' ').map(|(series, _)| series.to_owned()))
            .collect::<std::collections::BTreeSet<String>>()
    };
    // Every route and status this probe can reach, once, so the label sets exist.
    let warm = |i: usize| {
        let base = app.base.clone();
        async move {
            let http = reqwest::Client::new();
            let method = reqwest::Method::from_bytes(format!("X{i}").as_bytes()).unwrap();
            for path in ["/healthz", "/o/client/register", "/no/such/path"] {
                let _ = http
                    .request(method.clone(), format!("{base}{path}"))
                    .send()
                    .await;
            }
            let _ = http
                .get(format!("{base}/admin/v1/applications/{i}"))
                .send()
                .await;
        }
    };
    warm(0).await;
    let before = hostile_series(&scrape().await);
    let http = reqwest::Client::new();
    for i in 0..300 {
        let method =
            reqwest::Method::from_bytes(format!("M{i}{}", "Z".repeat(200)).as_bytes()).unwrap();
        let path = format!("/{i}/{}", "p".repeat(300));
        let _ = http
            .request(method, app.url(&path))
            .header(format!("x-hostile-{i}"), "v".repeat(100))
            .send()
            .await;
        let _ = http
            .get(app.url(&format!("/admin/v1/applications/{i}")))
            .send()
            .await;
    }
    let text = scrape().await;
    let after = hostile_series(&text);
    assert_eq!(before, after, "hostile requests added series to /metrics");
    for needle in ["ZZZZ", "pppp", "x-hostile"] {
        assert!(!text.contains(needle), "{needle} reached /metrics");
    }
}
