//! `GET /metrics`: Prometheus text with route templates, outcomes and buckets.

use dcr_testkit::Fetch as _;
use dcr_testkit::*;
use reqwest::StatusCode;

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_outcome() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    app.token_raw(&ready.client_id, "wrong").await;
    app.http
        .get(app.url("/no/such/path/12345"))
        .send()
        .await
        .unwrap();
    let (status, body) = app
        .admin_post(
            &format!("/clients/{}/revoke", ready.client_id),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let r = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    for needle in [
        r#"route="/o/client/register""#,
        r#"route="/admin/v1/clients/{client_id}/revoke""#,
        r#"route="unmatched""#,
        r#"dcr_registrations_total{outcome="issued",attestation="none"}"#,
        r#"dcr_tokens_total{outcome="issued"}"#,
        r#"dcr_tokens_total{outcome="invalid_client"}"#,
        r#"dcr_revocations_total{kind="client"}"#,
        "http_request_duration_seconds_bucket",
        r#"le="0.001""#,
    ] {
        assert!(text.contains(needle), "missing {needle}");
    }
    assert!(
        !text.contains("/no/such/path"),
        "unknown paths must collapse into one label"
    );
    assert!(!text.contains(&ready.client_id), "no ids in labels");
    assert!(!text.contains(&ready.secret));
}

/// Every metric family has `# HELP` and `# TYPE`; the build and the process are there.
#[tokio::test]
async fn every_metric_is_described_with_build_and_process_metrics() {
    let app = spawn_app().await;
    app.ready_client().await;
    let text = app.http.get(app.url("/metrics")).fetch_text().await;
    let typed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(typed.len() > 5, "families:\n{text}");
    for family in &typed {
        assert!(
            text.contains(&format!("# HELP {family} ")),
            "no # HELP for {family}"
        );
    }
    for needle in [
        "dcr_build_info{version=",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
    ] {
        assert!(text.contains(needle), "missing {needle}:\n{text}");
    }
}
