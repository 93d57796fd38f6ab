//! The client lifecycle over HTTP: effective status in every read, retiring and
//! rotating a leaked statement, registration quotas, bulk revocation by filter,
//! inactivity expiry and activity data.

use dcr_testkit::Fetch as _;
use dcr_testkit::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn every_read_tells_the_effective_status() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let (_, client) = app
        .admin_get(&format!("/clients/{}", ready.client_id))
        .await;
    assert_eq!(client["status"], "active");
    assert!(client.get("revoked_via").is_none());

    // Revoking the statement: the client reads revoked via statement, everywhere.
    app.admin_post(
        &format!("/software-statements/{}/revoke", ready.jti),
        json!({}),
    )
    .await;
    let (_, client) = app
        .admin_get(&format!("/clients/{}", ready.client_id))
        .await;
    assert_eq!(client["status"], "revoked");
    assert_eq!(client["revoked_via"], "statement");
    assert!(client["revoked_at"].as_i64().is_some());
    let (_, list) = app
        .admin_get(&format!("/applications/{}/clients", ready.app_id))
        .await;
    assert_eq!(list["items"][0]["status"], "revoked");
    assert_eq!(list["items"][0]["revoked_via"], "statement");

    // Revoking the application: its statements read revoked via application.
    app.statement(&ready.app_id).await;
    app.admin_post(&format!("/applications/{}/revoke", ready.app_id), json!({}))
        .await;
    let (_, statements) = app
        .admin_get(&format!(
            "/applications/{}/software-statements",
            ready.app_id
        ))
        .await;
    let items = statements["items"].as_array().unwrap();
    assert!(
        items.iter().all(|s| s["status"] == "revoked"),
        "{statements}"
    );
    assert!(
        items.iter().any(|s| s["revoked_via"] == "application"),
        "{statements}"
    );
}

#[tokio::test]
async fn a_leaked_statement_is_retired_and_rotated_without_signing_anyone_out() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    // Retire: no new registrations, with a description that says so; clients work.
    let (s, retired) = app
        .admin_post(
            &format!("/software-statements/{}/retire", ready.jti),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{retired}");
    assert_eq!(retired["status"], "retired");
    assert!(retired["retired_at"].as_i64().is_some());
    let r = app.register_raw(&ready.statement, json!({})).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "unapproved_software_statement");
    assert!(
        v["error_description"].as_str().unwrap().contains("retired"),
        "{v}"
    );
    assert_eq!(
        app.token_raw(&ready.client_id, &ready.secret)
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(app.verify(&ready.token, &[]).await.0, StatusCode::OK);
    // Retiring again changes nothing.
    let (s, _) = app
        .admin_post(
            &format!("/software-statements/{}/retire", ready.jti),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // Rotate another statement: retired and a successor in one step.
    let (jti, statement) = app.statement(&ready.app_id).await;
    let (s, rotated) = app
        .admin_post(&format!("/software-statements/{jti}/rotate"), json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{rotated}");
    assert_eq!(rotated["retired"], jti.as_str());
    let successor = rotated["software_statement"].as_str().unwrap();
    assert_eq!(
        app.register_raw(successor, json!({})).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.register_raw(&statement, json!({})).await.status(),
        StatusCode::BAD_REQUEST
    );
    let (_, statements) = app
        .admin_get(&format!(
            "/applications/{}/software-statements",
            ready.app_id
        ))
        .await;
    let old = statements["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["jti"] == jti.as_str())
        .unwrap()
        .clone();
    assert_eq!(old["status"], "retired");
    assert_eq!(old["successor"], rotated["jti"]);

    // A revoked statement cannot be retired or rotated: 409.
    let (revoked, _) = app.statement(&ready.app_id).await;
    app.admin_post(&format!("/software-statements/{revoked}/revoke"), json!({}))
        .await;
    for verb in ["retire", "rotate"] {
        let (s, _) = app
            .admin_post(&format!("/software-statements/{revoked}/{verb}"), json!({}))
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{verb}");
    }
    let (_, log) = app.admin_get("/audit?action=statement.rotated").await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn registration_quotas_hold_per_statement_and_application() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    for bad in [
        json!({"max_registrations_per_hour": 0}),
        json!({"expire_inactive_after_days": 99999}),
        json!({"max_registrations_per_hour": -1}),
        json!({"unknown": 1}),
    ] {
        let (s, v) = app
            .admin_put(
                &format!("/applications/{}/policy", ready.app_id),
                bad.clone(),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        let message = v["message"].as_str().unwrap_or_default().to_owned();
        if bad.as_object().unwrap().keys().any(|k| k != "unknown") && message.contains("must be") {
            assert!(
                bad.as_object()
                    .unwrap()
                    .keys()
                    .any(|k| message.contains(k.as_str())),
                "{message}"
            );
        }
    }
    let (s, updated) = app
        .admin_put(
            &format!("/applications/{}/policy", ready.app_id),
            json!({"max_registrations_per_hour_per_statement": 3, "max_registrations_per_hour": 5}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{updated}");
    assert_eq!(
        updated["policy"]["max_registrations_per_hour_per_statement"],
        3
    );
    // One registration already counted? No: it was made before the policy, but counted.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(app.register_raw(&ready.statement, json!({})).await);
    }
    let codes: Vec<u16> = statuses.iter().map(|r| r.status().as_u16()).collect();
    // ready_client registered once this hour: 2 more pass the statement's quota of 3.
    assert_eq!(codes, [201, 201, 429, 429], "{codes:?}");
    let last = statuses.pop().unwrap();
    let retry: u64 = last.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry));
    let v: Value = last.json().await.unwrap();
    assert_eq!(v["error"], "too_many_requests");
    // Another statement of the same application has its own budget, within the app's 5.
    let (_, other) = app.statement(&ready.app_id).await;
    let codes: Vec<u16> = {
        let mut out = Vec::new();
        for _ in 0..3 {
            out.push(app.register_raw(&other, json!({})).await.status().as_u16());
        }
        out
    };
    assert_eq!(
        codes,
        [201, 201, 429],
        "the application's quota of 5: {codes:?}"
    );
    // Existing clients keep getting tokens.
    assert_eq!(
        app.token_raw(&ready.client_id, &ready.secret)
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn bulk_revocation_cuts_off_what_registered_after_a_leak() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let mut before = vec![(ready.client_id.clone(), ready.secret.clone())];
    for _ in 0..2 {
        before.push(app.register(&ready.statement).await);
    }
    // The leak happens; later registrations are the attacker's.
    app.dcr.clock().advance(120);
    let leak = app.dcr.clock().now() - 60;
    let mut after = Vec::new();
    for _ in 0..5 {
        after.push(app.register(&ready.statement).await);
    }
    let filter = json!({"statement": ready.jti, "registered_after": leak});
    let path = format!("/applications/{}/clients/revoke", ready.app_id);
    let (s, dry) = app
        .admin_post(&format!("{path}?dry_run=true"), filter.clone())
        .await;
    assert_eq!(s, StatusCode::OK, "{dry}");
    assert_eq!(dry["revoked"], 5);
    // The dry run changed nothing.
    assert_eq!(
        app.token_raw(&after[0].0, &after[0].1).await.status(),
        StatusCode::CREATED
    );

    let (_, key) = app.resource_server_key(Some("acme")).await;
    let token = app.token(&after[0].0, &after[0].1).await;
    let (s, done) = app.admin_post(&path, filter.clone()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(done["revoked"], 5);
    for (id, secret) in &after {
        assert_eq!(
            app.token_raw(id, secret).await.status(),
            StatusCode::BAD_REQUEST
        );
        let (_, c) = app.admin_get(&format!("/clients/{id}")).await;
        assert_eq!(
            (c["status"].as_str(), c["revoked_via"].as_str()),
            (Some("revoked"), Some("bulk"))
        );
    }
    for (id, secret) in &before {
        assert_eq!(
            app.token_raw(id, secret).await.status(),
            StatusCode::CREATED
        );
    }
    // Enforced everywhere: forward auth, introspection, the feed.
    assert_eq!(app.verify(&token, &[]).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.introspect(&key, &token).await["active"], false);
    let feed: Value = app
        .http
        .get(app.url("/o/revocations"))
        .bearer_auth(&key)
        .fetch_json()
        .await;
    let revoked: Vec<&Value> = feed["revoked_clients"].as_array().unwrap().iter().collect();
    assert!(
        after.iter().all(|(id, _)| revoked.contains(&&json!(id))),
        "{feed}"
    );
    // Idempotent; one audit event with the filter and the count.
    let (_, again) = app.admin_post(&path, filter).await;
    assert_eq!(again["revoked"], 0);
    let (_, log) = app.admin_get("/audit?action=clients.bulk-revoked").await;
    let events = log["items"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert!(
        events
            .iter()
            .any(|e| e["target_id"].as_str().unwrap().contains("revoked=5"))
    );

    // Bad filters.
    for (body, status) in [
        (json!({}), StatusCode::BAD_REQUEST),
        (json!({"platform": "roku"}), StatusCode::OK),
        (
            json!({"registered_after": "not a time"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"registered_after": "2026-11-30T00:00:00Z", "registered_before": "2026-01-01T00:00:00Z"}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"statement": "not-a-jti"}), StatusCode::BAD_REQUEST),
        (
            json!({"statement": "00000000-0000-4000-8000-000000000000"}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"colour": "red"}), StatusCode::BAD_REQUEST),
    ] {
        let (s, v) = app
            .admin_post(&format!("{path}?dry_run=true"), body.clone())
            .await;
        assert_eq!(s, status, "{body}: {v}");
        if s == StatusCode::OK {
            assert_eq!(v["revoked"], 0);
        }
    }
    // RFC 3339 times work.
    let (s, v) = app
        .admin_post(
            &format!("{path}?dry_run=true"),
            json!({"registered_before": "2100-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!((s, v["revoked"].as_u64()), (StatusCode::OK, Some(3)));
}

#[tokio::test]
async fn inactive_clients_expire_and_must_register_again() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    let idle = app.register(&ready.statement).await;
    let (s, _) = app
        .admin_put(
            &format!("/applications/{}/policy", ready.app_id),
            json!({"expire_inactive_after_days": 30}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // Twenty days later the ready client is used; forty days later the idle one expires.
    app.dcr.clock().advance(20 * 86_400);
    app.token(&ready.client_id, &ready.secret).await;
    app.dcr.clock().advance(20 * 86_400);
    let (s, v) = app.admin_post("/lifecycle/sweep", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["expired"], 1);
    let r = app.token_raw(&idle.0, &idle.1).await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    let (_, c) = app.admin_get(&format!("/clients/{}", idle.0)).await;
    assert_eq!(
        (c["status"].as_str(), c["revoked_via"].as_str()),
        (Some("expired"), Some("inactivity"))
    );
    assert_eq!(
        app.token_raw(&ready.client_id, &ready.secret)
            .await
            .status(),
        StatusCode::CREATED
    );
    // One audit event per run; only operators run it on demand.
    let (_, log) = app
        .admin_get("/audit?action=clients.expired-inactive")
        .await;
    assert_eq!(log["items"][0]["target_id"], "expired=1");
    let (_, key) = app.resource_server_key(Some("acme")).await;
    let r = app
        .http
        .post(app.url("/admin/v1/lifecycle/sweep"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

/// The sweep expires what was unused when its flush of token counts returned, and
/// shutdown closes the store after its own: a flush must not return while another one
/// still holds counts it has not stored.
#[tokio::test]
async fn a_flush_of_token_counts_waits_for_the_one_in_progress() {
    use sqlx::Connection as _;
    let app = spawn_app().await;
    // One token issued and counted, not yet stored.
    let ready = app.ready_client().await;
    let db = test_config(app.data_dir.path(), &app.kek).sqlite_path();
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    // Another writer holds the database: the first flush takes the count, then waits.
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let first = tokio::spawn({
        let dcr = app.dcr.clone();
        async move { dcr.flush_token_counts().await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let second = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        app.dcr.flush_token_counts(),
    )
    .await;
    assert!(
        second.is_err(),
        "a flush returned while the one before it still held the count"
    );
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    first.await.unwrap().unwrap();
    app.dcr.flush_token_counts().await.unwrap();
    let (stored,): (i64,) = sqlx::query_as("SELECT tokens_issued FROM clients WHERE id = ?")
        .bind(&ready.client_id)
        .fetch_one(&mut other)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn activity_counts_days_breakdowns_and_spikes() {
    let app = spawn_app().await;
    let ready = app.ready_client().await;
    for _ in 0..3 {
        let (id, secret) = app.register(&ready.statement).await;
        app.token(&id, &secret).await;
    }
    let r = app
        .http
        .post(app.url("/o/client/register"))
        .header(
            "X-Device-Info",
            device_info(
                r#"{"osName":"Android","model":"Pixel 9","primaryHardwareType":"MobilePhone"}"#,
            ),
        )
        .json(&json!({"software_statement": ready.statement}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (s, a) = app
        .admin_get(&format!("/applications/{}/activity?days=7", ready.app_id))
        .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let daily = a["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 7);
    let today = daily.last().unwrap();
    assert_eq!(today["registrations"], 5);
    assert_eq!(today["tokens"], 4, "unflushed counts included");
    assert_eq!(a["active_clients"], 5);
    let count = |list: &str, value: &str| {
        a[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["value"] == value)
            .map_or(0, |c| c["clients"].as_u64().unwrap())
    };
    assert_eq!(count("by_os", "iOS"), 4);
    assert_eq!(count("by_os", "Android"), 1);
    assert_eq!(count("by_model", "Pixel 9"), 1);
    assert_eq!(a["statements"][0]["jti"], ready.jti.as_str());
    assert_eq!(a["statements"][0]["registrations_last_hour"], 5);
    assert_eq!(a["spike"], false);
    for bad in ["days=0", "days=1000", "days=x"] {
        let (s, _) = app
            .admin_get(&format!("/applications/{}/activity?{bad}", ready.app_id))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    }

    // A spike: more than 100 registrations of one statement in the hour.
    let (jti, leaked) = app.statement(&ready.app_id).await;
    for _ in 0..101 {
        app.register(&leaked).await;
    }
    let (_, a) = app
        .admin_get(&format!("/applications/{}/activity?days=1", ready.app_id))
        .await;
    assert_eq!(a["spike"], true);
    let spiking: Vec<&Value> = a["statements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["spike"] == true)
        .collect();
    assert_eq!(spiking.len(), 1);
    assert_eq!(spiking[0]["jti"], jti.as_str());
    // Detection records it once per statement per day.
    assert_eq!(app.dcr.detect_spikes().await.unwrap().len(), 1);
    assert!(app.dcr.detect_spikes().await.unwrap().is_empty());
    let (_, log) = app
        .admin_get("/audit?action=statement.registration-spike")
        .await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1);
}

/// A bulk revocation that outlasts `limits.long_action_wait_seconds` answers 202 and
/// finishes anyway: neither the answer nor a request timeout stops it half way.
#[tokio::test]
async fn long_bulk_revocations_finish_in_the_background() {
    let app = spawn_app_with(|c| c.limits.long_action_wait_seconds = 0).await;
    let ready = app.ready_client().await;
    for _ in 0..20 {
        app.register(&ready.statement).await;
    }
    let (s, v) = app
        .admin_post(
            &format!("/applications/{}/clients/revoke", ready.app_id),
            json!({"statement": ready.jti}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["status"], "running");
    // A bad filter is still refused at once, not in the background.
    let (s, _) = app
        .admin_post(
            &format!("/applications/{}/clients/revoke", ready.app_id),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, log) = app.admin_get("/audit?action=clients.bulk-revoked").await;
        if let Some(event) = log["items"].as_array().and_then(|items| items.first()) {
            assert!(
                event["target_id"].as_str().unwrap().ends_with("revoked=21"),
                "{event}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never finished");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (_, usage) = app
        .admin_get(&format!("/applications/{}/usage", ready.app_id))
        .await;
    assert_eq!(usage["active_clients"], 0);
}
