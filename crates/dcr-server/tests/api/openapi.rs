//! `/openapi.json`: valid shape, every documented operation routed, snapshot.

use dcr_testkit::*;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = spawn_app().await;
    let doc: Value = app.get_json("/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    let operations = dcr_server::openapi::operations(&doc);
    assert!(operations.len() >= 35, "{} operations", operations.len());
    for (method, path) in operations {
        let concrete = path
            .replace("{pid}", "acme")
            .replace("{app_id}", "00000000-0000-4000-8000-000000000000")
            .replace("{jti}", "00000000-0000-4000-8000-000000000000")
            .replace("{client_id}", "00000000-0000-4000-8000-000000000000")
            .replace("{key_id}", "00000000-0000-4000-8000-000000000000");
        let r = app
            .http
            .request(method.parse().unwrap(), app.url(&concrete))
            .bearer_auth(OPERATOR_KEY)
            .send()
            .await
            .unwrap();
        assert_ne!(
            r.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} is documented but not routed"
        );
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_ne!(
            body["message"], "no such endpoint",
            "{method} {path} is documented but not routed"
        );
        // Every refusal uses a documented status.
    }
}

#[tokio::test]
async fn the_document_is_stable() {
    let doc = dcr_server::openapi::document("http://127.0.0.1:8080");
    let text = serde_json::to_string_pretty(&doc).unwrap();
    let snapshot =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() || !snapshot.exists() {
        std::fs::create_dir_all(snapshot.parent().unwrap()).unwrap();
        std::fs::write(&snapshot, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot).unwrap();
    assert_eq!(
        text, expected,
        "the OpenAPI document changed: review, then run with UPDATE_SNAPSHOTS=1"
    );
}

/// What client generators and linters need: a unique `operationId` and an explicit
/// security requirement on every operation, and a license.
#[tokio::test]
async fn every_operation_is_named_and_says_how_it_is_authenticated() {
    let app = spawn_app().await;
    let doc: Value = app.get_json("/openapi.json").await;
    assert_eq!(doc["info"]["license"]["identifier"], "Apache-2.0");
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(ids.insert(id.to_owned()), "operationId {id} twice");
            assert!(
                op["security"].is_array(),
                "{method} {path} has no security requirement"
            );
        }
    }
}
