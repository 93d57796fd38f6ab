//! `GET /metrics`: Prometheus text with route templates, outcomes and buckets.

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
    app.admin_post(
        &format!("/clients/{}/revoke", ready.client_id),
        serde_json::json!({}),
    )
    .await;

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
        r#"dcr_registrations_total{outcome="issued"}"#,
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
